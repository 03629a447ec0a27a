// Push delivery: Errand POSTs each job of a push queue to your function.
// verifySignature() checks the Errand-Signature header; pushHandler() turns
// an async step function into a `Request -> Response` handler (Next.js route
// handlers, Vercel and Netlify functions, Hono, Deno, Cloudflare Workers)
// with durable steps on top of push continuations:
//   step.run(name, fn)   runs fn once: its result is kept in the job's
//                        continuation state, and a later call (a retry, the
//                        next continuation) gets the kept result instead.
//   step.sleep(name, d)  the job comes back after d (a duration: "10s").
//   step.waitForSignal(name, {timeout}, send)
//                        the job waits for a signal, at most `timeout`, and
//                        the step returns the signal's body (null: timed
//                        out). send(url) runs in the waiting call, once, with
//                        the URL that resumes the job: hand it out there.
//   step.progress(...)   the job's progress, shown at once.
// Each new step ends the call with 202 `continue`, so a step that succeeded is
// never run again, even when a later step fails and the call is retried.
import { NoRetry } from "./errors.js";
import { urlList } from "./http.js";

const encoder = new TextEncoder();

function bytesOf(body) {
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("rawBody must be a string, an ArrayBuffer or a Uint8Array: the exact bytes received");
}

async function hmacHex(secret, message) {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

// Whether `header` (Errand-Signature: t=<unix s>,v1=<hex>[,v1=<hex>]) signs
// rawBody (the exact bytes received) with one of `secrets` (a string or a
// list: the current and previous secret), made within `tolerance` seconds
// (default 300) of `now` (seconds; default the clock).
export async function verifySignature(rawBody, header, secrets, { tolerance = 300, now } = {}) {
  if (!header || !secrets) return false;
  let t = null;
  const signatures = [];
  for (const part of String(header).split(",")) {
    const [k, v] = part.trim().split("=", 2);
    if (k === "t" && /^\d+$/.test(v || "")) t = Number(v);
    else if (k === "v1" && v) signatures.push(v.toLowerCase());
  }
  if (t === null || !signatures.length) return false;
  const at = now ?? Date.now() / 1000;
  if (Math.abs(at - t) > tolerance) return false;
  const body = bytesOf(rawBody);
  const prefix = encoder.encode(`${t}.`);
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix);
  message.set(body, prefix.length);
  let ok = false;
  for (const secret of [].concat(secrets).filter(Boolean)) {
    const expected = await hmacHex(secret, message);
    for (const s of signatures) ok = sameText(expected, s) || ok; // no early exit: constant time
  }
  return ok;
}

const SUSPEND = Symbol("errand.suspend");

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body === undefined ? null : body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

// The call after a wait for a signal carries the signal's body (null: the
// wait timed out): it becomes the waiting step's value.
function receiveSignal(steps, call) {
  if (!Object.prototype.hasOwnProperty.call(call, "signal")) return;
  for (const [name, s] of Object.entries(steps)) {
    if (s?.waiting) steps[name] = { value: call.signal };
  }
}

// fn(job, step) -> the job's result. options: secret (string or list;
// default the environment's ERRAND_PUSH_SECRET), tolerance (seconds), url
// and key (for step.progress to report at once; default ERRAND_URL; the
// call's lease authorizes it, so no key is needed).
export function pushHandler(fn, options = {}) {
  const env = globalThis.process?.env || {};
  return async function handle(request) {
    const raw = new Uint8Array(await request.arrayBuffer());
    const secret = options.secret ?? env.ERRAND_PUSH_SECRET;
    if (!secret) return json(500, { error: "no push secret: set ERRAND_PUSH_SECRET or pass {secret}" });
    if (!(await verifySignature(raw, request.headers.get("errand-signature"), secret, options))) {
      return json(401, { error: "the Errand-Signature does not match" });
    }
    const call = JSON.parse(new TextDecoder().decode(raw));
    const state = call.state && typeof call.state === "object" ? call.state : {};
    const steps = { ...(state.steps || {}) };
    const servers = options.url ?? env.ERRAND_URL;
    const url = servers ? urlList(servers)[0] : undefined;
    receiveSignal(steps, call);
    let progress;
    let suspend = null;
    const step = {
      async run(name, body) {
        if (Object.prototype.hasOwnProperty.call(steps, name)) return steps[name].value;
        if (suspend) throw SUSPEND;
        const value = await body();
        steps[name] = { value: value === undefined ? null : value };
        suspend = {};
        throw SUSPEND;
      },
      async sleep(name, duration) {
        if (Object.prototype.hasOwnProperty.call(steps, name)) return;
        if (suspend) throw SUSPEND;
        steps[name] = { value: null };
        suspend = { delay: typeof duration === "number" ? `${Math.round(duration)}ms` : duration };
        throw SUSPEND;
      },
      async waitForSignal(name, { timeout } = {}, send) {
        if (Object.prototype.hasOwnProperty.call(steps, name)) {
          if (steps[name].waiting) throw new Error(`step ${name}: the call carries no signal for its wait`);
          return steps[name].value;
        }
        if (suspend) throw SUSPEND;
        if (!timeout) throw new TypeError(`step ${name}: waitForSignal needs a timeout ("7d")`);
        if (!call.signal_url) throw new Error("this Errand gives no signal URLs: it cannot wait for a signal");
        await send?.(url ? `${url.replace(/\/+$/, "")}${call.signal_url}` : call.signal_url);
        steps[name] = { waiting: true };
        suspend = { signal: { timeout: typeof timeout === "number" ? `${Math.round(timeout)}ms` : timeout } };
        throw SUSPEND;
      },
      async progress(percent, message, data) {
        progress = { percent, message, data };
        if (!url) return;
        await fetch(`${url.replace(/\/+$/, "")}/v1/jobs/${encodeURIComponent(call.job.id)}/progress`, {
          method: "POST",
          headers: { "Content-Type": "application/json", ...(options.key ? { Authorization: `Bearer ${options.key}` } : {}) },
          body: JSON.stringify({ lease_id: call.lease_id, percent, message, data }),
        }).catch(() => {});
      },
    };
    const job = { ...call.job, attempt: call.attempt, continuation: call.continuation, leaseId: call.lease_id };
    if (call.parents) job.parents = call.parents;
    try {
      const result = await fn(job, step);
      return json(200, result);
    } catch (err) {
      if (err === SUSPEND) {
        const next = { state: { ...state, steps }, ...(suspend?.delay ? { delay: suspend.delay } : {}) };
        if (suspend?.signal) next.signal = suspend.signal;
        if (progress) next.progress = progress;
        return json(202, { continue: next });
      }
      const message = err?.message || String(err);
      return json(500, { error: message }, err instanceof NoRetry ? { "Errand-No-Retry": "true" } : {});
    }
  };
}

// A Node `http` listener (req, res) for a Request -> Response handler, for
// plain Node servers and Express: http.createServer(nodeListener(handler)).
export function nodeListener(handler) {
  return async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? new Uint8Array(Buffer.concat(chunks)) : undefined;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, [].concat(v).join(", "));
    const request = new Request(`http://${req.headers.host || "localhost"}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  };
}
