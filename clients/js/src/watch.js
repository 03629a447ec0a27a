// A job's events (GET /v1/jobs/{id}/events, Server-Sent Events) read with
// fetch, as an async iterator of {event, id, data}. A dropped connection, or
// a server that restarts, is reconnected with backoff and the last event's
// id as Last-Event-ID: the server sends exactly the events after it, or a
// fresh snapshot when it no longer holds them. Ends after the final event
// (succeeded, dead or cancelled), or when the signal aborts.
import { ErrandError } from "./errors.js";
import { currentUrl, errorFromResponse, failover, joinUrl, query } from "./http.js";

export const FINAL_EVENTS = new Set(["succeeded", "dead", "cancelled"]);

// Splits an event stream's text into events; returns the events and the
// unfinished rest.
export function parseEvents(text) {
  const events = [];
  const blocks = text.split(/\r\n\r\n|\n\n|\r\r/);
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = "message";
    let id;
    const data = [];
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length && id === undefined) continue;
    const raw = data.join("\n");
    let parsed = raw;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // not JSON: kept as text
    }
    events.push({ event, id, data: parsed });
  }
  return { events, rest };
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

// options: token (read with the job's token instead of the key),
// lastEventId (resume after it), signal (AbortSignal), maxBackoff (ms),
// onReconnect(error) (called before each reconnect).
export async function* watch(clientOptions, id, options = {}) {
  const fetchImpl = clientOptions.fetch || globalThis.fetch;
  const { token, signal, maxBackoff = 5000, onReconnect } = options;
  let lastEventId = options.lastEventId;
  let backoff = 100;
  while (!signal?.aborted) {
    const headers = { Accept: "text/event-stream" };
    if (!token && clientOptions.key) headers.Authorization = `Bearer ${clientOptions.key}`;
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    let failure;
    try {
      const url = joinUrl(currentUrl(clientOptions), `/v1/jobs/${encodeURIComponent(id)}/events${query({ token })}`);
      const response = await fetchImpl(url, { headers, signal });
      if (response.status === 204) return; // the final event was seen already
      if (response.status >= 400 && response.status !== 503 && response.status !== 429) {
        throw await errorFromResponse(response); // a refused token, an unknown job: no retry helps
      }
      if (response.status !== 200) {
        failure = await errorFromResponse(response);
      } else {
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          const { events, rest } = parseEvents(buffer);
          buffer = rest;
          for (const e of events) {
            if (e.id !== undefined) lastEventId = e.id;
            backoff = 100;
            yield e;
            // A finished job's stream ends after its snapshot.
            if (FINAL_EVENTS.has(e.event) || (e.event === "snapshot" && FINAL_EVENTS.has(e.data?.state))) {
              reader.cancel().catch(() => {});
              return;
            }
          }
        }
        failure = new ErrandError("the event stream ended before the job did", { code: "unavailable" });
      }
    } catch (err) {
      if (signal?.aborted || err?.name === "AbortError") return;
      if (err instanceof ErrandError && err.status >= 400 && err.status !== 503 && err.status !== 429) throw err;
      failure = err;
      failover(clientOptions, err?.cause?.code || err?.message || String(err));
    }
    onReconnect?.(failure);
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, maxBackoff);
  }
}
