// One HTTP call to the server with fetch: JSON in, JSON out, errors as
// ErrandError. Works wherever fetch does (Node 18+, Deno, edge runtimes,
// browsers).
import { ErrandError } from "./errors.js";

export function joinUrl(base, path) {
  return base.replace(/\/+$/, "") + path;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function errorFromResponse(response) {
  let body = null;
  const text = await response.text().catch(() => "");
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const e = body && typeof body === "object" && body.error ? body.error : null;
  const message = e?.message || `errand answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
  return new ErrandError(message, { code: e?.code || "internal", status: response.status, field: e?.field });
}

// The URLs of a client: "http://a:8740,http://b:8740" or a list.
export function urlList(url) {
  const list = (Array.isArray(url) ? url : String(url).split(","))
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter(Boolean);
  if (!list.length) throw new TypeError("no server URL");
  return list;
}

export function currentUrl(options) {
  return options.urls[options.current || 0];
}

// Moves on to the next URL (servers sharing one PostgreSQL database serve
// any call alike), telling options.onFailover.
export function failover(options, reason) {
  if (options.urls.length < 2) return;
  const from = currentUrl(options);
  options.current = ((options.current || 0) + 1) % options.urls.length;
  options.onFailover?.(from, currentUrl(options), reason);
}

// Errors of a connection that never opened: the server saw nothing.
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

// Calls that may be sent again when a connection broke after they were sent.
function harmlessToRepeat(method, path, body) {
  if (method === "GET" || method === "PUT") return true;
  if (/^\/v1\/(claim|jobs\/[^/]+\/(heartbeat|progress)|queues\/[^/]+\/(pause|resume))$/.test(path.split("?")[0])) return true;
  if (path === "/v1/jobs") return Boolean(body?.idempotency_key);
  if (path === "/v1/jobs/batch") return Boolean(body?.jobs?.every((j) => j.idempotency_key));
  return false;
}

// Sends one request; returns { status, body } (body parsed as JSON, or null).
// With several URLs, a call the server cannot have acted on (no connection,
// a 503 that changed nothing) goes to the next URL at once; one that may
// have been acted on (the connection broke after it was sent) only when
// repeating it is harmless, else it fails with "unavailable".
export async function call(options, method, path, body, { signal, key, headers } = {}) {
  const fetchImpl = options.fetch || globalThis.fetch;
  const h = { ...(options.headers || {}), ...(headers || {}) };
  const k = key === undefined ? options.key : key;
  if (k) h.Authorization = `Bearer ${k}`;
  let payload;
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const reasons = [];
  for (let tried = 0; tried < options.urls.length; tried++) {
    const url = currentUrl(options);
    let response;
    try {
      response = await fetchImpl(joinUrl(url, path), { method, headers: h, body: payload, signal });
    } catch (err) {
      if (err?.name === "AbortError") throw err;
      const code = err?.cause?.code || "";
      const reason = code || err?.cause?.message || err?.message || String(err);
      reasons.push(`${url}: ${reason}`);
      failover(options, reason);
      if (NOT_SENT.has(code) || harmlessToRepeat(method, path, body)) continue;
      break;
    }
    if (response.status === 503 && options.urls.length > 1) {
      const e = await errorFromResponse(response);
      if (/may or may not/.test(e.message)) throw e;
      reasons.push(`${url}: answered 503: ${e.message}`);
      failover(options, e.message);
      continue;
    }
    if (response.status >= 400) throw await errorFromResponse(response);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
  const message =
    options.urls.length > 1
      ? `cannot reach errand at any of its ${options.urls.length} URLs: ${reasons.join("; ")}`
      : `cannot reach errand at ${reasons[0] || options.urls[0]}`;
  throw new ErrandError(message, { code: "unavailable", status: 0 });
}
