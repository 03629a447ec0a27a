// pages-batch.js: one batch (#/batches/{id}): its state, how far its jobs got
// (a bar of succeeded, dead and cancelled out of the total, and the counts),
// its callbacks with the jobs they enqueued, and its jobs, newest first, 50 a
// page. GET /v1/batches/{id} and GET /v1/jobs?batch={id} every 5 s.

import { api, seg, withQuery } from "./api.js";
import { h, setText } from "./dom.js";
import { absolute, count, relative } from "./format.js";
import { jobRow } from "./job-row.js";
import { keyedRows, messageRow } from "./tables.js";

const REFRESH_MS = 5000;
const PAGE_SIZE = 50;
const COUNTS = ["total", "succeeded", "dead", "cancelled", "pending"];
const ENDS = ["succeeded", "dead", "cancelled"]; // the bar's parts, in order
const CALLBACKS = [
  ["success", "On success", "when every job succeeded"],
  ["complete", "On complete", "when every job ended"],
  ["death", "On death", "when the first job ends dead"],
];

export function batchPage(main, ctx, params, id) {
  let batch = null;
  let cursors = [null]; // the cursor of each page seen, first page first
  let nextCursor = null;
  let sequence = 0;

  const title = h("h1", { id: "page-title", tabindex: "-1" }, "Batch ", h("span", { id: "batch-id", class: "mono" }, id));
  const state = h("span", { id: "batch-state", class: "badge batch-state" }, "—");
  const jobsLink = h("a", { id: "batch-jobs-link", class: "button", href: `#/jobs?${new URLSearchParams({ batch: id })}` },
    "Open in the job list");

  const segments = Object.fromEntries(ENDS.map((end) => [end, h("div", { class: `batch-bar-part state-${end}`, "data-part": end })]));
  const bar = h("div", {
    id: "batch-progress", class: "progress batch-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": "0", "aria-label": "Jobs of the batch that ended",
  }, ENDS.map((end) => segments[end]));
  const barText = h("span", { id: "batch-progress-text", class: "progress-percent tabular" }, "0%");
  const countValues = Object.fromEntries(COUNTS.map((name) => [name, h("span", { class: "tile-value tabular", "data-testid": `batch-count-${name}` }, "—")]));
  const tiles = COUNTS.map((name) => h("div", { class: `tile state-tile state-${name}` }, h("span", { class: "tile-label" }, name), countValues[name]));
  const details = h("dl", { class: "details", id: "batch-details" });
  const callbacks = h("dl", { class: "details", id: "batch-callbacks" });

  const tbody = h("tbody");
  const table = h("table", { id: "batch-jobs", class: "data jobs" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Job"),
      h("th", { scope: "col" }, "State"),
      h("th", { scope: "col" }, "Queue"),
      h("th", { scope: "col", class: "optional" }, "Type"),
      h("th", { scope: "col", class: "num" }, "Attempts"),
      h("th", { scope: "col" }, "Created"),
      h("th", { scope: "col", class: "optional" }, "When"),
      h("th", { scope: "col", class: "optional" }, "Last error"),
      h("th", { scope: "col", class: "optional" }, "Tags"))),
    tbody);
  const rows = keyedRows(tbody, { key: (job) => job.id, create: (job) => jobRow(job) });
  const empty = messageRow(9, "No jobs in this batch yet.", { id: "batch-jobs-empty" });
  const newer = h("button", { type: "button", id: "batch-page-newer", disabled: true, onclick: () => page(-1) }, "← Newer");
  const next = h("button", { type: "button", id: "batch-page-next", disabled: true, onclick: () => page(1) }, "Next →");
  const pageLabel = h("span", { class: "muted tabular", id: "batch-page-number" }, "Page 1");

  const body = h("div", { id: "batch-body", hidden: true },
    h("section", { class: "card", "aria-labelledby": "batch-progress-title" },
      h("h2", { id: "batch-progress-title" }, "Progress"),
      h("div", { class: "progress-row" }, bar, barText),
      h("div", { class: "tiles batch-tiles" }, tiles)),
    h("div", { class: "card-row" },
      h("section", { class: "card", "aria-labelledby": "batch-details-title" },
        h("h2", { id: "batch-details-title" }, "Details"), details),
      h("section", { class: "card", "aria-labelledby": "batch-callbacks-title" },
        h("h2", { id: "batch-callbacks-title" }, "Callbacks"), callbacks)),
    h("section", { class: "card", "aria-labelledby": "batch-jobs-title" },
      h("h2", { id: "batch-jobs-title" }, "Jobs"),
      h("div", { class: "table-wrap" }, table),
      h("div", { class: "pager" }, newer, pageLabel, next)));

  main.append(
    h("p", { class: "breadcrumb" }, h("a", { href: "#/jobs" }, "← Jobs")),
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, title, state),
      h("div", { class: "head-tools actions" }, jobsLink)),
    body);

  function render() {
    body.hidden = false;
    setText(state, batch.state || "—");
    state.dataset.state = batch.state || "";
    const c = batch.counts || {};
    for (const name of COUNTS) setText(countValues[name], count(c[name]));
    const total = c.total || 0;
    const ended = ENDS.reduce((sum, end) => sum + (c[end] || 0), 0);
    const percent = total ? Math.round((100 * ended) / total) : batch.state === "done" ? 100 : 0;
    for (const end of ENDS) segments[end].style.width = total ? `${(100 * (c[end] || 0)) / total}%` : "0";
    bar.setAttribute("aria-valuenow", String(percent));
    bar.setAttribute("aria-valuetext",
      `${percent}%: ${count(c.succeeded)} succeeded, ${count(c.dead)} dead, ${count(c.cancelled)} cancelled, ${count(c.pending)} pending`);
    setText(barText, `${percent}%`);
    details.replaceChildren(...[
      ["State", stateText(batch.state)],
      ["Created", timeCell(batch.created_at)],
      ["Finished", timeCell(batch.finished_at)],
    ].flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
    renderCallbacks(batch.callbacks || {});
  }

  function renderCallbacks(given) {
    const items = CALLBACKS.filter(([name]) => given[name]);
    if (!items.length) {
      callbacks.replaceChildren(h("dt", null, "None"), h("dd", { class: "muted" }, "This batch enqueues nothing when it ends."));
      return;
    }
    callbacks.replaceChildren(...items.flatMap(([name, label, when]) => {
      const cb = given[name];
      const fired = cb.job_id
        ? h("a", { href: `#/jobs/${seg(cb.job_id)}`, class: "mono", "data-testid": "callback-job" }, cb.job_id)
        : h("span", { class: "muted" }, `not yet: ${when}`);
      return [h("dt", null, label),
        h("dd", { "data-testid": `callback-${name}`, "data-fired": String(Boolean(cb.job_id)) },
          "queue ", h("a", { href: `#/queues/${seg(cb.queue)}` }, cb.queue), " · ", fired)];
    }));
  }

  function stateText(s) {
    switch (s) {
      case "open": return "open: more jobs may be added until it is sealed";
      case "sealed": return "sealed: its jobs are running";
      case "done": return "done: every job ended";
      default: return s || "—";
    }
  }

  function timeCell(iso) {
    if (!iso) return "—";
    return h("time", { datetime: iso, title: iso }, `${absolute(iso)} (${relative(iso)})`);
  }

  function notFound() {
    body.hidden = true;
    if (!document.getElementById("batch-not-found")) {
      main.append(h("p", { id: "batch-not-found", class: "empty-state", role: "status" },
        "No such batch. ", h("a", { href: "#/jobs" }, "Back to the jobs"), "."));
    }
  }

  function page(direction) {
    if (direction > 0 && nextCursor) cursors.push(nextCursor);
    else if (direction < 0 && cursors.length > 1) cursors.pop();
    else return;
    loadJobs().then(() => table.scrollIntoView({ block: "nearest" })).catch((err) => ctx.error(err, "batch-jobs"));
  }

  async function loadJobs() {
    const mine = ++sequence;
    const query = { batch: id, limit: PAGE_SIZE, cursor: cursors[cursors.length - 1] };
    table.setAttribute("aria-busy", "true");
    try {
      const answer = await api("GET", withQuery("/v1/jobs", query), { signal: ctx.signal });
      if (mine !== sequence || !ctx.alive) return;
      ctx.clearError("batch-jobs");
      const jobs = Array.isArray(answer && answer.jobs) ? answer.jobs : [];
      nextCursor = (answer && answer.next_cursor) || null;
      rows.update(jobs);
      if (jobs.length) empty.remove();
      else if (!empty.isConnected) tbody.append(empty);
    } finally {
      if (mine === sequence) {
        table.removeAttribute("aria-busy");
        newer.disabled = cursors.length <= 1;
        next.disabled = !nextCursor;
        setText(pageLabel, `Page ${cursors.length}`);
      }
    }
  }

  // The counts and the page of jobs shown follow the batch (a job retried
  // after it ended changes them even once the batch is done).
  ctx.poll(async () => {
    try {
      batch = await api("GET", `/v1/batches/${seg(id)}`, { signal: ctx.signal });
    } catch (err) {
      if (err.status === 404) {
        notFound();
        return;
      }
      throw err;
    }
    if (!ctx.alive) return;
    document.getElementById("batch-not-found")?.remove();
    render();
    await loadJobs();
  }, REFRESH_MS);

  return null;
}
