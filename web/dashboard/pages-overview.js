// pages-overview.js: the overview: throughput chart, jobs by state, queue
// depth and age, enqueue-to-start latency, workers and the nodes, refreshed
// every 5 s from GET /v1/stats (falling back to GET /v1/queues for the
// counts) and GET /v1/nodes.

import { allQueues, api, describeError, seg, withQuery } from "./api.js";
import { h, setText } from "./dom.js";
import { STATES, count, duration, rate } from "./format.js";
import { throughputChart } from "./chart.js";
import { keyedRows, messageRow } from "./tables.js";
import { firstStep } from "./empty.js";
import { nodesCard } from "./nodes.js";

const WINDOWS = ["5m", "15m", "1h"];
const REFRESH_MS = 5000;

export function overviewPage(main, ctx) {
  let windowName = "1h";

  const updated = h("span", { id: "stats-updated", class: "muted tabular" }, "");
  const windowButtons = WINDOWS.map((w) => h("button", {
    type: "button", id: `stats-window-${w}`, "aria-pressed": String(w === windowName),
    onclick: () => {
      windowName = w;
      for (const b of windowButtons) b.setAttribute("aria-pressed", String(b.id === `stats-window-${w}`));
      setText(chartTitle, `Throughput, last ${label(w)}`);
      poller.now();
    },
  }, w));

  const chartTitle = h("h2", null, `Throughput, last ${label(windowName)}`);
  const chartBox = h("div", { id: "throughput-chart", class: "chart" });
  const chartNote = h("p", { id: "chart-note", class: "muted small chart-axis-note" },
    "Attempts finished per second, in 10-second steps, by local time; kept across restarts.");
  const firstStepCard = h("section", { class: "card", id: "overview-first-step", hidden: true, "aria-label": "Getting started" },
    firstStep("overview-first-step-body"));

  const stateCounts = {};
  const stateTiles = STATES.map((state) => {
    const value = h("span", { class: "tile-value tabular", "data-testid": `state-count-${state}` }, "—");
    stateCounts[state] = value;
    return h("a", { class: `tile state-tile state-${state}`, href: `#/jobs?state=${state}` },
      h("span", { class: "tile-label" }, state), value);
  });

  const p50 = h("span", { id: "latency-p50", class: "tile-value tabular" }, "—");
  const p95 = h("span", { id: "latency-p95", class: "tile-value tabular" }, "—");
  const samples = h("span", { id: "latency-samples", class: "tabular" }, "—");
  const connected = h("span", { id: "workers-connected", class: "tile-value tabular" }, "—");
  const waiting = h("span", { id: "workers-waiting", class: "tile-value tabular" }, "—");
  const workersNote = h("p", { id: "workers-note", class: "muted small" }, "");
  const nodes = nodesCard(ctx);

  const tbody = h("tbody");
  const table = h("table", { id: "overview-queues", class: "data" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Queue"),
      h("th", { scope: "col", class: "num" }, "Depth"),
      h("th", { scope: "col", class: "num" }, "Oldest waiting"),
      h("th", { scope: "col", class: "num" }, "Processed"),
      h("th", { scope: "col", class: "num" }, "Failed"),
      h("th", { scope: "col" }, "Status"))),
    tbody);
  const queueRows = keyedRows(tbody, { key: (q) => q.name, create: queueRow });
  const emptyQueues = messageRow(6, "No queues yet.", { id: "overview-queues-empty" });

  main.append(
    h("div", { class: "page-head" },
      h("h1", { id: "page-title", tabindex: "-1" }, "Overview"),
      h("div", { class: "head-tools" },
        h("div", { class: "segmented-buttons", role: "group", "aria-label": "Time window" }, windowButtons),
        updated)),
    firstStepCard,
    h("section", { class: "card", "aria-labelledby": "chart-title" },
      Object.assign(chartTitle, { id: "chart-title" }), chartBox, chartNote),
    h("section", { class: "card", "aria-labelledby": "states-title" },
      h("h2", { id: "states-title" }, "Jobs by state"),
      h("div", { class: "tiles" }, stateTiles)),
    h("div", { class: "card-row" },
      h("section", { class: "card", "aria-labelledby": "latency-title" },
        h("h2", { id: "latency-title" }, "Enqueue → start latency"),
        h("div", { class: "tiles" },
          h("div", { class: "tile" }, h("span", { class: "tile-label" }, "p50"), p50),
          h("div", { class: "tile" }, h("span", { class: "tile-label" }, "p95"), p95)),
        h("p", { class: "muted small" }, "Samples in the window: ", samples)),
      h("section", { class: "card", "aria-labelledby": "workers-title" },
        h("h2", { id: "workers-title" }, "Workers"),
        h("div", { class: "tiles" },
          h("div", { class: "tile" }, h("span", { class: "tile-label" }, "connected"), connected),
          h("div", { class: "tile" }, h("span", { class: "tile-label" }, "waiting for jobs"), waiting)),
        workersNote)),
    h("section", { class: "card", "aria-labelledby": "queues-title" },
      h("h2", { id: "queues-title" }, "Queues"),
      h("div", { class: "table-wrap" }, table)),
    nodes.card);

  const chart = throughputChart(chartBox);
  ctx.onDispose(() => chart.destroy());

  function showQueues(queues) {
    firstStepCard.hidden = queues.length !== 0;
    queueRows.update(queues);
    if (queues.length === 0) {
      if (!emptyQueues.isConnected) tbody.append(emptyQueues);
    } else emptyQueues.remove();
  }

  async function refresh() {
    try {
      const stats = await api("GET", withQuery("/v1/stats", { window: windowName }), { signal: ctx.signal });
      ctx.clearError("stats");
      const to = Date.parse(stats.at) / 1000;
      const seconds = { "5m": 300, "15m": 900, "1h": 3600 }[windowName];
      chart.setData(stats.series || {}, Number.isFinite(to) && seconds ? [to - seconds, to] : null);
      for (const state of STATES) setText(stateCounts[state], count(stats.states && stats.states[state]));
      const latency = stats.latency || {};
      setText(p50, latency.p50_ms === null || latency.p50_ms === undefined ? "—" : duration(latency.p50_ms));
      setText(p95, latency.p95_ms === null || latency.p95_ms === undefined ? "—" : duration(latency.p95_ms));
      setText(samples, count(latency.samples));
      const workers = stats.workers || {};
      setText(connected, count(workers.connected));
      setText(waiting, count(workers.waiting));
      const mine = workers.this_node;
      const upNodes = stats.nodes ? stats.nodes.up : 1;
      setText(workersNote, mine && upNodes > 1
        ? `All ${count(upNodes)} nodes; this node: ${count(mine.connected)} connected, ${count(mine.waiting)} waiting.`
        : "");
      showQueues(Array.isArray(stats.queues) ? stats.queues : []);
      setText(updated, `Updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      if (err.name === "AbortError" || err.status === 401) return;
      ctx.error(`Statistics are unavailable: ${describeError(err)}`, "stats");
      await fallback();
    }
  }

  // Without /v1/stats: counts and depth from GET /v1/queues.
  async function fallback() {
    const answer = await allQueues({ signal: ctx.signal });
    const queues = Array.isArray(answer.queues) ? answer.queues : [];
    for (const state of STATES) {
      setText(stateCounts[state], count(queues.reduce((sum, q) => sum + ((q.counts && q.counts[state]) || 0), 0)));
    }
    showQueues(queues.map((q) => ({ name: q.name, paused: q.paused, depth: q.counts ? q.counts.queued : null })));
    setText(updated, `Updated ${new Date().toLocaleTimeString()}`);
  }

  const poller = ctx.poll(() => Promise.all([refresh(), nodes.refresh()]), REFRESH_MS);
  return null;
}

function label(w) {
  return { "5m": "5 minutes", "15m": "15 minutes", "1h": "hour" }[w] || w;
}

function queueRow() {
  const name = h("a", { href: "" });
  const cells = {
    depth: h("td", { class: "num tabular" }),
    oldest: h("td", { class: "num tabular" }),
    processed: h("td", { class: "num tabular" }),
    failed: h("td", { class: "num tabular" }),
    status: h("td"),
  };
  const row = h("tr", { "data-testid": "overview-queue-row" },
    h("th", { scope: "row" }, name), cells.depth, cells.oldest, cells.processed, cells.failed, cells.status);
  return {
    row,
    update(q) {
      row.dataset.queue = q.name;
      name.setAttribute("href", `#/jobs?queue=${seg(q.name)}`);
      setText(name, q.name);
      setText(cells.depth, count(q.depth));
      setText(cells.oldest, q.oldest_waiting_ms === null || q.oldest_waiting_ms === undefined ? "—" : duration(q.oldest_waiting_ms));
      setText(cells.processed, rate(q.processed_per_s));
      setText(cells.failed, rate(q.failed_per_s));
      setText(cells.status, q.paused ? "paused" : "active");
      cells.status.className = q.paused ? "status-paused" : "status-active";
    },
  };
}
