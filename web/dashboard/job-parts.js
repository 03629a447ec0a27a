// job-parts.js: pieces of the job page: the timeline of state changes, the
// attempts with their errors and logs, and the curl command that enqueues the
// same job again.

import { h } from "./dom.js";
import { absolute, compactTime, parseTime, relative, shellQuote } from "./format.js";
import { stateBadge } from "./ui.js";

// Where a state falls within an attempt, to order the timeline by the job's
// life rather than by clocks (live events carry the browser's time of receipt).
const PHASE = {
  created: 0, blocked: 0.5, running: 1, continued: 1.5, waiting: 1.6, failed: 2, queued: 3, scheduled: 3,
  succeeded: 4, dead: 4, cancelled: 4,
};
function phaseOf(state) {
  return PHASE[state] ?? 3;
}

// Timeline entries {at, state, attempt, text, future} from the job's times
// plus the live state events seen (those the job's own times already show are
// left out). `generation` counts the times the job was queued again after it
// had finished (a retry) while the page was open; each live event carries the
// generation it came in, so a retry's events follow the end they undo.
export function timelineEntries(job, liveEvents, generation) {
  const entries = [];
  const add = (at, state, attempt, text, future = false, gen = 0) => {
    if (parseTime(at) !== null) entries.push({ at, state, attempt, text, future, gen, phase: phaseOf(state) });
  };
  add(job.created_at, "created", 0, "Enqueued");
  const errors = Array.isArray(job.errors) ? job.errors : [];
  for (const e of errors) add(e.at, "failed", e.attempt, `Attempt ${e.attempt} failed: ${e.message || "no message"}`);
  // started_at is when the job first started (attempt 1); later starts come from live events.
  if (job.started_at) add(job.started_at, "running", 1, "Attempt 1 started");
  if (job.finished_at) add(job.finished_at, job.state, job.attempt, finalText(job), false, generation);
  // Attempts that ended with "continue" (a push call's answer, or a pull
  // worker's POST /continue): each next one got the state the one before
  // saved (the job JSON has their count).
  const continuations = job.push && typeof job.push.continuations === "number" ? job.push.continuations : 0;
  if (continuations > 0) {
    const at = (job.progress && job.progress.updated_at) || job.started_at;
    const size = typeof job.push.state_bytes === "number" ? ` (last state ${job.push.state_bytes} bytes)` : "";
    add(at, "continued", job.attempt,
      `Continued ${continuations} ${continuations === 1 ? "time" : "times"}: run again with the state it saved${size}`);
  }
  // A step of a workflow waits for its parents first.
  if (job.state === "blocked" && Array.isArray(job.parents)) {
    const waiting = job.parents.filter((p) => p.state !== "succeeded").length;
    add(job.created_at, "blocked", 0, `Waits for ${waiting} of ${job.parents.length} ${job.parents.length === 1 ? "parent" : "parents"} to succeed`);
  }
  const runAt = parseTime(job.run_at);
  if (job.state === "waiting" && runAt !== null) {
    add(job.run_at, "waiting", job.attempt, "The wait for a signal times out", runAt > Date.now(), generation);
  }
  // Queued after a wait for a signal: the same attempt goes on (a continue is not an attempt).
  const resumed = job.state === "queued" && job.signal && job.signal.status !== "waiting";
  if (resumed && runAt !== null) {
    add(job.run_at, "queued", job.attempt, job.signal.status === "received"
      ? "Resumed by its signal" : "Resumed without a signal: the wait timed out", false, generation);
  }
  // Queued after an attempt: a retry (by hand, or a failed attempt's wait over).
  if (job.state === "queued" && job.attempt > 0 && runAt !== null && !resumed) {
    add(job.run_at, "queued", job.attempt, `Queued again for attempt ${job.attempt + 1}`, false, generation);
  }
  if ((job.state === "scheduled" || job.state === "failed") && runAt !== null) {
    add(job.run_at, job.state === "failed" ? "queued" : "scheduled", job.attempt,
      job.state === "failed" ? `Retry (attempt ${job.attempt + 1}) due` : "Due to run", runAt > Date.now(), generation);
  }
  const known = new Set(entries.map((e) => `${e.state}:${e.attempt}:${e.gen}`));
  for (const ev of liveEvents) {
    const key = `${ev.state}:${ev.attempt}:${ev.gen}`;
    if (known.has(key)) continue;
    known.add(key);
    entries.push({ at: ev.at, state: ev.state, attempt: ev.attempt, text: liveText(ev), future: false, gen: ev.gen, phase: phaseOf(ev.state) });
  }
  entries.sort((a, b) => (a.attempt - b.attempt) || (a.gen - b.gen) || (a.phase - b.phase) || (parseTime(a.at) - parseTime(b.at)));
  return entries;
}

function finalText(job) {
  switch (job.state) {
    case "succeeded": return `Succeeded on attempt ${job.attempt}`;
    case "dead": return `Dead after attempt ${job.attempt}`;
    case "cancelled": return "Cancelled";
    default: return `Finished (${job.state})`;
  }
}

function liveText(ev) {
  switch (ev.state) {
    case "running": return `Attempt ${ev.attempt} started`;
    case "queued": return "Queued";
    case "scheduled": return "Scheduled";
    case "blocked": return "Waits for its parents";
    case "waiting": return "Waits for a signal";
    case "failed": return `Attempt ${ev.attempt} failed${ev.error ? `: ${ev.error}` : ""}`;
    case "succeeded": return `Succeeded on attempt ${ev.attempt}`;
    case "dead": return `Dead${ev.error ? `: ${ev.error}` : ""}`;
    case "cancelled": return "Cancelled";
    default: return ev.state;
  }
}

export function renderTimeline(list, entries) {
  list.replaceChildren(...entries.map((e) => h("li", {
    "data-testid": "timeline-entry", "data-state": e.state, class: e.future ? "future" : "",
  },
  h("time", { datetime: e.at, title: absolute(e.at), class: "tabular" }, compactTime(e.at)),
  h("span", { class: `dot state-${e.state}`, "aria-hidden": "true" }),
  h("span", { class: "timeline-text" }, e.text, e.future ? ` (${relative(e.at)})` : ""))));
}

// Attempts 1…n, each with its error and its log.
export function renderAttempts(container, job, logs) {
  const errors = new Map((job.errors || []).map((e) => [e.attempt, e]));
  const logMap = new Map((logs || []).map((l) => [l.attempt, l]));
  let n = job.attempt || 0;
  for (const k of [...errors.keys(), ...logMap.keys()]) n = Math.max(n, k);
  if (n === 0) {
    container.replaceChildren(h("p", { class: "muted" }, "No attempt yet."));
    return;
  }
  const items = [];
  for (let i = n; i >= 1; i--) {
    const error = errors.get(i);
    const logEntry = logMap.get(i);
    const log = logEntry ? logEntry.log : i === job.attempt && job.log ? job.log : null;
    let outcome;
    if (error) outcome = h("span", { class: "attempt-outcome" }, stateBadge("failed"), " ", h("span", { class: "error-text" }, error.message || "no message"));
    else if (i === job.attempt) outcome = h("span", { class: "attempt-outcome" }, stateBadge(job.state));
    else outcome = h("span", { class: "attempt-outcome muted" }, "ended");
    items.push(h("article", { class: "attempt", "data-testid": "attempt", "data-attempt": String(i) },
      h("header", null,
        h("h3", null, `Attempt ${i}`),
        outcome,
        error ? h("time", { class: "muted small", datetime: error.at }, absolute(error.at)) : null),
      log ? h("pre", { class: "log", tabindex: "0", "aria-label": `Log of attempt ${i}` }, log) : h("p", { class: "muted small" }, "No log.")));
  }
  container.replaceChildren(...items);
}

// curl -X POST <origin>/v1/jobs … -d '<the job's enqueue fields>'
export function curlCommand(job, origin) {
  const body = { queue: job.queue };
  if (job.type) body.type = job.type;
  body.payload = job.payload === undefined ? null : job.payload;
  if (typeof job.priority === "number") body.priority = job.priority;
  if (typeof job.max_attempts === "number") body.max_attempts = job.max_attempts;
  if (job.key) body.key = job.key;
  body.tags = Array.isArray(job.tags) ? job.tags : [];
  return `curl -X POST ${origin}/v1/jobs -H "Authorization: Bearer $ERRAND_KEY" -H "Content-Type: application/json" -d ${shellQuote(JSON.stringify(body))}`;
}
