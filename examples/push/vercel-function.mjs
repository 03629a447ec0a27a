// An Errand push handler: a Vercel Node function (any Node 18+ server works),
// no dependencies. Errand POSTs each job of a push queue here, signed; the
// handler checks the signature, does a slice of the job, and answers.
//
// It spells out the push protocol (signature, continuation state) on purpose.
// The errand-client package (clients/js) does the same in a few lines:
// `export const POST = pushHandler(async (job, step) => …)` with durable
// steps (its README; docs/guide-ai.md recipe 1).
//
//   ERRAND_PUSH_SECRET=whsec_… ERRAND_URL=http://127.0.0.1:8740 PORT=3000 node vercel-function.mjs
//
// serves it on 127.0.0.1:PORT for local use. To deploy, copy it to
// api/errand.mjs, set ERRAND_PUSH_SECRET to the queue's secret (GET
// /v1/queues/{q}/push-secret) and point the queue at the function:
//   curl -X PUT $ERRAND_URL/v1/queues/imports -d '{"push": {"url": "https://my-app.vercel.app/api/errand"}}'
// ERRAND_URL is optional: without it the handler sends no progress from
// inside a call. It may list several servers, comma-separated: progress goes
// to the first that takes it.
//
// Next.js API routes parse the body first, and a parsed body cannot be
// verified: add this to the route's file.
//   export const config = { api: { bodyParser: false } };
//
// The demo job imports payload.rows rows, payload.rows_per_call (default 100)
// per call. Each call answers 202 {"continue": {"state": {"offset": …}}} until
// the last one answers 200 with the result, so no call has to outlive the
// function's time limit; Errand calls again at once with that state.
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { pathToFileURL } from "node:url";

const SECRET = process.env.ERRAND_PUSH_SECRET ?? "";
const ERRAND_URLS = (process.env.ERRAND_URL ?? "").split(",").map((u) => u.trim().replace(/\/$/, "")).filter(Boolean);
const MAX_SKEW_SECONDS = 5 * 60;

// True if the Errand-Signature header ("t=<unix>,v1=<hex>[,v1=<hex>]") holds a
// v1 that is the HMAC-SHA256 of `${t}.${body}` under `secret`, and t is within
// 5 minutes of now. A rotation sends two v1: either may match.
export function verify(header, body, secret, now = Date.now() / 1000) {
  let t = "";
  const signatures = [];
  for (const part of (header ?? "").split(",")) {
    const [key, value = ""] = part.trim().split("=");
    if (key === "t") t = value;
    if (key === "v1" && /^[0-9a-f]{64}$/.test(value)) signatures.push(Buffer.from(value, "hex"));
  }
  if (!/^\d+$/.test(t) || Math.abs(now - Number(t)) > MAX_SKEW_SECONDS) return false;
  const expected = createHmac("sha256", secret).update(`${t}.`).update(body).digest();
  return signatures.some((signature) => timingSafeEqual(signature, expected));
}

function importRow(row) {
  // Your work goes here: one row, idempotent (a call may be repeated).
}

// One call's share of the job → [status, body, headers]. `call.state` is the
// state the previous call answered with (null on the first call).
async function work(call) {
  const { rows, rows_per_call: perCall = 100 } = call.job.payload ?? {};
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(perCall) || perCall < 1) {
    // A bad payload stays bad: no retries.
    return [422, { error: 'expected a payload like {"rows": 500}' }, { "Errand-No-Retry": "true" }];
  }
  const offset = call.state?.offset ?? 0;
  const end = Math.min(rows, offset + perCall);
  for (let row = offset; row < end; row++) importRow(row);
  const percent = rows ? Math.floor((end * 100) / rows) : 100;
  const message = `imported ${end}/${rows} rows`;
  if (end >= rows) {
    await reportProgress(call, percent, message); // the final answer carries no progress
    return [200, { imported: rows }];
  }
  return [202, { continue: { state: { offset: end }, progress: { percent, message } } }];
}

// Progress from inside a call (a long call may report as often as it likes):
// no API key, the call's lease_id authorizes it. A failure here is not the job's.
async function reportProgress(call, percent, message) {
  for (const url of ERRAND_URLS) { // the next only when one cannot be reached or answers 503
    try {
      const res = await fetch(`${url}/v1/jobs/${call.job.id}/progress`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ lease_id: call.lease_id, percent, message }),
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      if (res.ok) return;
      console.error(`progress not recorded by ${url}: HTTP ${res.status} ${text}`);
      if (res.status !== 503) return;
    } catch (e) {
      console.error(`progress not sent to ${url}: ${e.cause?.message ?? e.message}`);
    }
  }
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function send(res, status, body, headers = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data), ...headers });
  res.end(data);
}

export default async function handler(req, res) {
  if (req.method !== "POST") return send(res, 405, { error: "POST only" });
  if (!SECRET) return send(res, 500, { error: "ERRAND_PUSH_SECRET is not set" });
  try {
    const body = await readBody(req);
    if (!verify(req.headers["errand-signature"], body, SECRET)) {
      return send(res, 401, { error: "bad or expired signature" });
    }
    const [status, answer, headers] = await work(JSON.parse(body.toString("utf8")));
    send(res, status, answer, headers);
  } catch (e) {
    send(res, 500, { error: e.message }); // Errand retries the call with backoff
  }
}

// `node vercel-function.mjs`: serve the handler locally.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!SECRET) {
    console.error("set ERRAND_PUSH_SECRET to the queue's secret (GET /v1/queues/{q}/push-secret)");
    process.exit(2);
  }
  const port = Number(process.env.PORT ?? 3000);
  http.createServer(handler).listen(port, "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${port}`);
  });
}
