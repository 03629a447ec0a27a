// queue-keys.js: the queue page's keys: the queue's busiest keys (most jobs
// running + queued first) with their counts, their own limits or the queue's
// per-key ones, whether they are paused, at their concurrency limit or waiting
// for their rate limit, a link to their jobs, and Pause / Resume.
// GET /v1/queues/{q}/keys?sort=busiest; GET, PUT, DELETE /v1/queues/{q}/keys/{key}.

import { api, seg, withQuery } from "./api.js";
import { h, setText } from "./dom.js";
import { absolute, count, rateLimit, relative } from "./format.js";
import { keyedRows, messageRow } from "./tables.js";
import { showError } from "./ui.js";

export const SHOWN_KEYS = 10;

// keysCard("imports", ctx) -> {element, refresh(queue)}: refresh reads the
// keys again; `queue` is the queue as GET /v1/queues/{q} answers it, whose
// config gives the limits a key without its own gets.
export function keysCard(queueName, ctx) {
  let config = {};
  const tbody = h("tbody");
  const table = h("table", { id: "queue-keys", class: "data" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Key"),
      h("th", { scope: "col", class: "num" }, "Queued"),
      h("th", { scope: "col", class: "num" }, "Running"),
      h("th", { scope: "col" }, "Concurrency"),
      h("th", { scope: "col" }, "Rate limit"),
      h("th", { scope: "col" }, "Weight"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tbody);
  const empty = messageRow(8, "No key has jobs queued or running or settings of its own. Jobs get a key with \"key\" at enqueue.",
    { id: "queue-keys-empty" });
  const rows = keyedRows(tbody, {
    key: (k) => k.key,
    create: (k) => keyRow(k, { queueName, defaults: () => config, toggle }),
  });

  const element = h("section", { class: "card", id: "queue-keys-card", "aria-labelledby": "keys-title" },
    h("h2", { id: "keys-title" }, "Busiest keys"),
    h("p", { class: "muted small" },
      `The ${SHOWN_KEYS} keys with the most jobs running and queued. A key's own limits replace the queue's per-key limits for that key.`),
    h("div", { class: "table-wrap" }, table));

  async function refresh(queue) {
    config = (queue && queue.config) || {};
    const path = withQuery(`/v1/queues/${seg(queueName)}/keys`, { sort: "busiest", limit: SHOWN_KEYS });
    const answer = await api("GET", path, { signal: ctx.signal });
    if (!ctx.alive) return;
    const list = Array.isArray(answer && answer.keys) ? answer.keys : [];
    rows.update(list);
    if (list.length === 0) {
      if (!empty.isConnected) tbody.append(empty);
    } else empty.remove();
  }

  async function toggle(key, button) {
    button.disabled = true;
    try {
      const answer = await setKeyPaused(queueName, key.key, !key.paused, ctx.signal);
      if (!ctx.alive) return;
      const row = answer && rows.get(answer.key);
      if (row) row.update(answer);
    } catch (err) {
      if (err.name !== "AbortError") showError(err);
    } finally {
      button.disabled = false;
    }
  }

  return { element, refresh };
}

// Pauses or resumes one key and keeps its other settings: PUT replaces them
// all, so they are read first. A resumed key with nothing else of its own has
// its settings removed (DELETE), so it is back to the queue's limits rather
// than listed as having settings that are all empty.
async function setKeyPaused(queueName, key, paused, signal) {
  const path = `/v1/queues/${seg(queueName)}/keys/${seg(key)}`;
  let current = null;
  try {
    current = await api("GET", path, { signal });
  } catch (err) {
    if (err.status !== 404) throw err; // 404: no jobs left and no settings
  }
  const own = {};
  for (const name of ["concurrency", "rate_limit", "weight"]) {
    if (current && current[name] !== null && current[name] !== undefined) own[name] = current[name];
  }
  if (!paused && Object.keys(own).length === 0) {
    if (!current || !current.overridden) return current;
    return api("DELETE", path, { signal });
  }
  return api("PUT", path, { body: { ...own, paused }, signal });
}

// A limit cell: the key's own value, or the queue's default (muted).
function limitCell(cell, own, fallback, fallbackLabel) {
  cell.classList.toggle("muted", own === null || own === undefined);
  setText(cell, own === null || own === undefined ? `${fallbackLabel} (${fallback})` : own);
}

function keyRow(initial, { queueName, defaults, toggle }) {
  let key = initial;
  const link = h("a", {
    href: `#/jobs?${new URLSearchParams({ queue: queueName, key: initial.key })}`, "data-testid": "key-link",
    title: `Jobs of key ${initial.key} in ${queueName}`,
  }, initial.key);
  const queued = h("td", { class: "num tabular", "data-testid": "key-queued" });
  const running = h("td", { class: "num tabular", "data-testid": "key-running" });
  const concurrency = h("td", { class: "tabular", "data-testid": "key-concurrency" });
  const rate = h("td", { class: "tabular", "data-testid": "key-rate-limit" });
  const weight = h("td", { class: "tabular", "data-testid": "key-weight" });
  const status = h("span", { "data-testid": "key-status" });
  const button = h("button", { type: "button", class: "small", "data-testid": "key-toggle" });
  button.addEventListener("click", () => toggle(key, button));
  const row = h("tr", { "data-testid": "key-row", "data-key": initial.key },
    h("th", { scope: "row", class: "key-name" }, link), queued, running, concurrency, rate, weight,
    h("td", null, status), h("td", null, button));

  return {
    row,
    update(k) {
      key = k;
      const config = defaults();
      setText(queued, count(k.queued));
      setText(running, count(k.running));
      const queueConcurrency = config.key_concurrency ? count(config.key_concurrency) : "no limit";
      limitCell(concurrency, k.concurrency === null || k.concurrency === undefined ? null : count(k.concurrency),
        queueConcurrency, "queue default");
      limitCell(rate, k.rate_limit ? rateLimit(k.rate_limit) : null,
        config.key_rate_limit ? rateLimit(config.key_rate_limit) : "no limit", "queue default");
      limitCell(weight, k.weight === null || k.weight === undefined ? null : count(k.weight), "1", "default");
      showStatus(status, k, config);
      row.dataset.paused = String(Boolean(k.paused));
      row.dataset.throttled = String(Boolean(k.throttled_until));
      setText(button, k.paused ? "Resume" : "Pause");
      button.setAttribute("aria-label", `${k.paused ? "Resume" : "Pause"} key ${k.key}`);
    },
  };
}

function showStatus(el, k, config) {
  const limit = k.concurrency ?? config.key_concurrency;
  let text = "active";
  let title = "";
  let className = "status-active";
  if (k.paused) {
    text = "paused";
    className = "status-paused";
    title = "Its jobs wait; the rest of the queue runs.";
  } else if (k.throttled_until) {
    text = "waiting for its rate limit";
    className = "status-waiting";
    title = `Its next claim can start ${relative(k.throttled_until)} (${absolute(k.throttled_until)}).`;
  } else if (typeof limit === "number" && k.queued > 0 && k.running >= limit) {
    text = "at its concurrency limit";
    className = "status-waiting";
    title = `${count(k.running)} running of at most ${count(limit)}: the next starts when one ends.`;
  }
  setText(el, text);
  el.className = className;
  el.title = title;
}
