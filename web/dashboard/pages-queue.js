// pages-queue.js: one queue (#/queues/{name}): paused or active with Pause /
// Resume, its jobs by state, its configuration (limits, per-key limits,
// defaults, push URL) and its busiest keys (queue-keys.js). GET
// /v1/queues/{q} and its keys every 5 s; POST /v1/queues/{q}/pause|resume.

import { api, seg } from "./api.js";
import { h, setText } from "./dom.js";
import { STATES, count, rateLimit } from "./format.js";
import { keysCard } from "./queue-keys.js";
import { actionButton } from "./ui.js";

const REFRESH_MS = 5000;

// The configuration as rows: [label, test id, text of config's value].
const CONFIG_ROWS = [
  ["Concurrency", "config-concurrency", (c) => limit(c.concurrency)],
  ["Rate limit", "config-rate-limit", (c) => (c.rate_limit ? rateLimit(c.rate_limit) : "no limit")],
  ["Per-key concurrency", "config-key-concurrency", (c) => limit(c.key_concurrency)],
  ["Per-key rate limit", "config-key-rate-limit", (c) => (c.key_rate_limit ? rateLimit(c.key_rate_limit) : "no limit")],
  ["Default priority", "config-priority", (c) => serverDefault(c.defaults && c.defaults.priority, "0")],
  ["Default attempts", "config-max-attempts", (c) => serverDefault(c.defaults && c.defaults.max_attempts, "10")],
  ["Default timeout", "config-timeout", (c) => serverDefault(c.defaults && c.defaults.timeout, "5m")],
  ["Delivery", "config-push", (c) => (c.push ? `push to ${c.push.url}` : "claimed by workers")],
];

function limit(n) {
  return typeof n === "number" ? count(n) : "no limit";
}

function serverDefault(value, fallback) {
  return value === null || value === undefined ? `server default (${fallback})` : String(value);
}

export function queuePage(main, ctx, params, name) {
  let queue = null;

  const title = h("h1", { id: "page-title", tabindex: "-1" }, "Queue ", h("span", { id: "queue-name" }, name));
  const status = h("span", { id: "queue-status" });
  const toggleButton = actionButton("Pause", { id: "queue-toggle" }, async () => {
    if (!queue) return;
    const answer = await api("POST", `/v1/queues/${seg(name)}/${queue.paused ? "resume" : "pause"}`, { signal: ctx.signal });
    if (!ctx.alive || !answer || !answer.name) return;
    queue = answer;
    render();
  });
  toggleButton.disabled = true;
  const jobsLink = h("a", { id: "queue-jobs", class: "button", href: `#/jobs?queue=${seg(name)}` }, "Jobs in this queue");

  const stateCounts = {};
  const tiles = STATES.map((state) => {
    const value = h("span", { class: "tile-value tabular", "data-testid": `queue-count-${state}` }, "—");
    stateCounts[state] = value;
    return h("a", { class: `tile state-tile state-${state}`, href: `#/jobs?${new URLSearchParams({ queue: name, state })}` },
      h("span", { class: "tile-label" }, state), value);
  });
  const configValues = CONFIG_ROWS.map(([, id]) => h("dd", { "data-testid": id }, "—"));
  const config = h("dl", { class: "details", id: "queue-config" },
    CONFIG_ROWS.map(([label], i) => [h("dt", null, label), configValues[i]]));
  const keys = keysCard(name, ctx);

  const body = h("div", { id: "queue-body", hidden: true },
    h("div", { class: "card-row" },
      h("section", { class: "card", "aria-labelledby": "queue-counts-title" },
        h("h2", { id: "queue-counts-title" }, "Jobs by state"), h("div", { class: "tiles" }, tiles)),
      h("section", { class: "card", "aria-labelledby": "queue-config-title" },
        h("h2", { id: "queue-config-title" }, "Configuration"), config)),
    keys.element);

  main.append(
    h("p", { class: "breadcrumb" }, h("a", { href: "#/queues" }, "← Queues")),
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, title, status),
      h("div", { class: "head-tools actions" }, jobsLink, toggleButton)),
    body);

  function render() {
    body.hidden = false;
    setText(status, queue.paused ? "paused" : "active");
    status.className = queue.paused ? "status-paused" : "status-active";
    status.dataset.paused = String(Boolean(queue.paused));
    toggleButton.disabled = false;
    setText(toggleButton, queue.paused ? "Resume" : "Pause");
    toggleButton.setAttribute("aria-label", `${queue.paused ? "Resume" : "Pause"} queue ${name}`);
    for (const state of STATES) setText(stateCounts[state], count(queue.counts ? queue.counts[state] : null));
    const c = queue.config || {};
    CONFIG_ROWS.forEach(([, , text], i) => setText(configValues[i], text(c)));
  }

  function notFound() {
    body.hidden = true;
    toggleButton.disabled = true;
    if (!document.getElementById("queue-not-found")) {
      main.append(h("p", { id: "queue-not-found", class: "empty-state", role: "status" },
        "No such queue: it has had no job and was never configured. ", h("a", { href: "#/queues" }, "Back to the queues"), "."));
    }
  }

  async function refresh() {
    try {
      queue = await api("GET", `/v1/queues/${seg(name)}`, { signal: ctx.signal });
    } catch (err) {
      if (err.status === 404) {
        notFound();
        return;
      }
      throw err;
    }
    if (!ctx.alive) return;
    document.getElementById("queue-not-found")?.remove();
    render();
    try {
      await keys.refresh(queue);
      ctx.clearError("keys");
    } catch (err) {
      if (err.name !== "AbortError" && err.status !== 401) ctx.error(`The queue's keys are unavailable: ${err.message}`, "keys");
    }
  }

  ctx.poll(refresh, REFRESH_MS);
  return null;
}
