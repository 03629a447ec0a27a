// What a page shows of a job, folded from its events: {state, progress,
// message, data, result, error}. `state` is "connecting" until the first
// event, then the job's; `error` is the last attempt's error (or, with
// state "error", why the events cannot be read).
import { watch } from "./watch.js";

export const INITIAL_JOB_VIEW = Object.freeze({
  state: "connecting",
  progress: null,
  message: null,
  data: null,
  result: null,
  error: null,
});

export function reduceJob(view, { event, data }) {
  switch (event) {
    case "snapshot": {
      const p = data.progress || {};
      const lastError = data.errors?.length ? data.errors[data.errors.length - 1].message : null;
      return {
        state: data.state,
        progress: p.percent ?? null,
        message: p.message ?? null,
        data: p.data ?? null,
        result: data.result ?? null,
        error: lastError,
      };
    }
    case "state":
      return { ...view, state: data.state, error: data.error ?? view.error };
    case "progress":
      return { ...view, progress: data.percent ?? null, message: data.message ?? null, data: data.data ?? null };
    case "succeeded":
      return { ...view, state: "succeeded", result: data.result ?? null, progress: view.progress ?? 100 };
    case "dead":
    case "cancelled":
      return { ...view, state: event, error: data.error ?? view.error };
    case "error":
      return { ...view, state: "error", error: data?.message || String(data) };
    default:
      return view;
  }
}

// "https://errand.example.com/v1/jobs/ID?token=T" -> {url, id, token}.
export function parseJobUrl(jobUrl) {
  const u = new URL(jobUrl, globalThis.location?.href);
  const m = u.pathname.match(/^(.*)\/v1\/jobs\/([^/]+)\/?$/);
  if (!m) throw new TypeError(`not a job URL: ${jobUrl} (expected …/v1/jobs/ID?token=TOKEN)`);
  return { url: u.origin + m[1], id: decodeURIComponent(m[2]), token: u.searchParams.get("token") || undefined };
}

// The job's events from its URL with token, as watch() yields them.
export function watchJobUrl(jobUrl, options = {}) {
  const { url, id, token } = parseJobUrl(jobUrl);
  return watch({ urls: [url], current: 0, fetch: options.fetch }, id, { ...options, token });
}
