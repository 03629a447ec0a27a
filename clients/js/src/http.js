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

// Sends one request; returns { status, body } (body parsed as JSON, or null).
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
  let response;
  try {
    response = await fetchImpl(joinUrl(options.url, path), { method, headers: h, body: payload, signal });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ErrandError(`cannot reach errand at ${options.url}: ${err?.cause?.code || err?.message || err}`, {
      code: "unavailable",
      status: 0,
      cause: err,
    });
  }
  if (response.status >= 400) throw await errorFromResponse(response);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
