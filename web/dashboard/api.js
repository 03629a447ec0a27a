// api.js: the dashboard's HTTP client for the Errand API: same-origin fetch
// with the session cookie, the CSRF header on every state-changing request,
// the API's JSON errors as ApiError, and a hook for an expired session (401).

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export function isAbort(err) {
  return err && err.name === "AbortError";
}

// Builds "/v1/jobs?state=dead&queue=emails", leaving out empty values.
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

// Path segment escaping for ids, queue and schedule names.
export const seg = encodeURIComponent;

// api("GET", "/v1/queues") -> parsed JSON body. Options: body (JSON), signal,
// auth: false for the login request (a 401 there is a wrong key, not an expiry).
export async function api(method, path, options = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal: options.signal };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;

  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, "network", `Cannot reach the server (${method} ${path}).`);
  }
  const text = await response.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (response.ok) return body;

  const e = body && typeof body.error === "object" && body.error ? body.error : {};
  const error = new ApiError(
    response.status,
    e.code || `http_${response.status}`,
    e.message || `${method} ${path} answered HTTP ${response.status}.`,
    e.field,
  );
  if (response.status === 401 && options.auth !== false) onUnauthorized(error);
  throw error;
}

// Every queue, sorted by name: GET /v1/queues page after page (following
// next_cursor), answered as one {"queues": [...]}. Options as api()'s.
export async function allQueues(options = {}) {
  const queues = [];
  let cursor = "";
  for (;;) {
    const answer = await api("GET", withQuery("/v1/queues", { limit: 1000, cursor }), options);
    if (answer && Array.isArray(answer.queues)) queues.push(...answer.queues);
    const next = answer && typeof answer.next_cursor === "string" ? answer.next_cursor : "";
    if (!next || next <= cursor) return { queues }; // a cursor that does not move on ends the list
    cursor = next;
  }
}

// The API's error as one line: "message (field: x)".
export function describeError(err) {
  if (!err) return "Unknown error.";
  if (err instanceof ApiError) {
    const where = err.field ? ` (field: ${err.field})` : "";
    return `${err.message}${where}`;
  }
  return err.message || String(err);
}
