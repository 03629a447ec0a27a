// pages-queues.js: every queue with its job counts by state, throughput and
// paused flag, and a Pause / Resume button; a queue's name opens its page
// (pages-queue.js). GET /v1/queues and
// GET /v1/stats?window=5m every 5 s; POST /v1/queues/{q}/pause|resume.

import { allQueues, api, describeError, seg, withQuery } from "./api.js";
import { h, setText } from "./dom.js";
import { STATES, count, rate } from "./format.js";
import { keyedRows } from "./tables.js";
import { showError } from "./ui.js";
import { firstStepRow } from "./empty.js";

const REFRESH_MS = 5000;

export function queuesPage(main, ctx) {
  const tbody = h("tbody");
  const columns = 5 + STATES.length;
  const table = h("table", { id: "queues-table", class: "data" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Queue"),
      STATES.map((s) => h("th", { scope: "col", class: "num" }, s)),
      h("th", { scope: "col", class: "num", title: "Processed per second, last 5 minutes" }, "Processed/s"),
      h("th", { scope: "col", class: "num", title: "Failed per second, last 5 minutes" }, "Failed/s"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tbody);
  const empty = firstStepRow(columns, "queues-first-step");
  let throughput = new Map(); // name -> {processed_per_s, failed_per_s}

  const rows = keyedRows(tbody, {
    key: (q) => q.name,
    create: (q) => queueRow(q, {
      throughputOf: (name) => throughput.get(name),
      async toggle(queue, button) {
        const action = queue.paused ? "resume" : "pause";
        button.disabled = true;
        try {
          const answer = await api("POST", `/v1/queues/${seg(queue.name)}/${action}`, { signal: ctx.signal });
          if (answer && answer.name) rows.get(answer.name).update(answer);
          else poller.now();
        } catch (err) {
          if (err.name !== "AbortError") showError(err);
        } finally {
          button.disabled = false;
        }
      },
    }),
  });

  main.append(
    h("div", { class: "page-head" }, h("h1", { id: "page-title", tabindex: "-1" }, "Queues")),
    h("section", { class: "card" }, h("div", { class: "table-wrap" }, table)));

  async function refresh() {
    const [queues, stats] = await Promise.allSettled([
      allQueues({ signal: ctx.signal }),
      api("GET", withQuery("/v1/stats", { window: "5m" }), { signal: ctx.signal }),
    ]);
    if (!ctx.alive) return;
    if (stats.status === "fulfilled") {
      ctx.clearError("stats");
      throughput = new Map((stats.value.queues || []).map((q) => [q.name, q]));
    } else if (stats.reason.name !== "AbortError" && stats.reason.status !== 401) {
      throughput = new Map();
      ctx.error(`Throughput is unavailable: ${describeError(stats.reason)}`, "stats");
    }
    if (queues.status === "rejected") throw queues.reason;
    const list = Array.isArray(queues.value.queues) ? queues.value.queues : [];
    rows.update(list);
    if (list.length === 0) {
      if (!empty.isConnected) tbody.append(empty);
    } else empty.remove();
  }

  const poller = ctx.poll(refresh, REFRESH_MS);
  return null;
}

function queueRow(initial, { throughputOf, toggle }) {
  let queue = initial;
  const name = h("a", { href: `#/queues/${seg(initial.name)}`, "data-testid": "queue-link" }, initial.name);
  // Push queues are delivered by the server: no worker claims their jobs.
  const mode = h("span", { class: "tag queue-mode", "data-testid": "queue-mode", hidden: true }, "push");
  const countCells = STATES.map((s) => h("td", { class: "num tabular", "data-testid": `queue-count-${s}` }));
  const processed = h("td", { class: "num tabular", "data-testid": "queue-processed" });
  const failed = h("td", { class: "num tabular", "data-testid": "queue-failed" });
  const paused = h("span", { "data-testid": "queue-paused" });
  const button = h("button", { type: "button", "data-testid": "queue-toggle", class: "small" });
  button.addEventListener("click", () => toggle(queue, button));
  const row = h("tr", { "data-testid": "queue-row", "data-queue": initial.name },
    h("th", { scope: "row" }, name, mode), countCells, processed, failed, h("td", null, paused), h("td", null, button));
  return {
    row,
    update(q) {
      queue = q;
      const push = q.config && q.config.push;
      mode.hidden = !push;
      mode.title = push ? `Push queue: the server delivers its jobs to ${push.url}; workers never claim them` : "";
      row.dataset.mode = push ? "push" : "pull";
      STATES.forEach((s, i) => setText(countCells[i], count(q.counts ? q.counts[s] : null)));
      const t = throughputOf(q.name);
      setText(processed, t ? rate(t.processed_per_s) : "—");
      setText(failed, t ? rate(t.failed_per_s) : "—");
      setText(paused, q.paused ? "paused" : "active");
      paused.className = q.paused ? "status-paused" : "status-active";
      row.dataset.paused = String(Boolean(q.paused));
      setText(button, q.paused ? "Resume" : "Pause");
      button.setAttribute("aria-label", `${q.paused ? "Resume" : "Pause"} queue ${q.name}`);
    },
  };
}
