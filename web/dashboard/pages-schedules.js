// pages-schedules.js: cron schedules: expression, time zone, next fire times,
// last run, Trigger now and Pause / Resume. GET /v1/schedules every 10 s;
// POST /v1/schedules/{name}/trigger|pause|resume.

import { api, seg } from "./api.js";
import { h, setText } from "./dom.js";
import { absolute, localWallTime, relative } from "./format.js";
import { keyedRows, messageRow } from "./tables.js";
import { showError, stateBadge } from "./ui.js";

const REFRESH_MS = 10000;
const NEXT_SHOWN = 3;

export function schedulesPage(main, ctx) {
  const notice = h("div", { id: "schedule-notice", class: "notice", role: "status" });
  const tbody = h("tbody");
  const table = h("table", { id: "schedules-table", class: "data" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Schedule"),
      h("th", { scope: "col" }, "Cron"),
      h("th", { scope: "col" }, "Time zone"),
      h("th", { scope: "col" }, "Queue"),
      h("th", { scope: "col" }, "Next fire times"),
      h("th", { scope: "col" }, "Last run"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tbody);
  const empty = messageRow(8, "No schedules. Create one with PUT /v1/schedules/{name} or `errand schedule set`.", { id: "schedules-empty" });

  const rows = keyedRows(tbody, {
    key: (s) => s.name,
    create: (s) => scheduleRow(s, { trigger, toggle }),
  });

  main.append(
    h("div", { class: "page-head" }, h("h1", { id: "page-title", tabindex: "-1" }, "Schedules")),
    notice,
    h("section", { class: "card" }, h("div", { class: "table-wrap" }, table)));

  async function refresh() {
    const answer = await api("GET", "/v1/schedules", { signal: ctx.signal });
    if (!ctx.alive) return;
    const list = Array.isArray(answer.schedules) ? answer.schedules : [];
    rows.update(list);
    if (list.length === 0) {
      if (!empty.isConnected) tbody.append(empty);
    } else empty.remove();
  }

  async function trigger(schedule, button) {
    button.disabled = true;
    try {
      const answer = await api("POST", `/v1/schedules/${seg(schedule.name)}/trigger`, { body: {}, signal: ctx.signal });
      if (!ctx.alive) return;
      notice.replaceChildren(
        `Triggered ${schedule.name}: job `,
        h("a", { href: `#/jobs/${seg(answer.id)}`, class: "mono", "data-testid": "triggered-job" }, answer.id),
        ` is ${answer.state}.`);
      if (answer.schedule && answer.schedule.name) rows.get(answer.schedule.name).update(answer.schedule);
    } catch (err) {
      if (err.name !== "AbortError") showError(err);
    } finally {
      button.disabled = false;
    }
  }

  async function toggle(schedule, button) {
    button.disabled = true;
    try {
      const action = schedule.paused ? "resume" : "pause";
      const answer = await api("POST", `/v1/schedules/${seg(schedule.name)}/${action}`, { signal: ctx.signal });
      if (!ctx.alive) return;
      if (answer && answer.name) rows.get(answer.name).update(answer);
    } catch (err) {
      if (err.name !== "AbortError") showError(err);
    } finally {
      button.disabled = false;
    }
  }

  ctx.poll(refresh, REFRESH_MS);
  return null;
}

function scheduleRow(initial, { trigger, toggle }) {
  let schedule = initial;
  const cron = h("code");
  const zone = h("td");
  const queue = h("a");
  const next = h("ul", { class: "plain-list tabular", "data-testid": "schedule-next" });
  const last = h("div", { "data-testid": "schedule-last", class: "tabular" });
  const status = h("span", { "data-testid": "schedule-status" });
  const triggerButton = h("button", { type: "button", class: "small", "data-testid": "schedule-trigger" }, "Trigger now");
  const toggleButton = h("button", { type: "button", class: "small", "data-testid": "schedule-toggle" });
  triggerButton.addEventListener("click", () => trigger(schedule, triggerButton));
  toggleButton.addEventListener("click", () => toggle(schedule, toggleButton));
  const row = h("tr", { "data-testid": "schedule-row", "data-name": initial.name },
    h("th", { scope: "row" }, initial.name), h("td", null, cron), zone, h("td", null, queue),
    h("td", null, next), h("td", null, last), h("td", null, status),
    h("td", null, h("div", { class: "row-actions" }, triggerButton, toggleButton)));

  return {
    row,
    update(s) {
      schedule = s;
      setText(cron, s.cron);
      setText(zone, s.timezone || "UTC");
      setText(queue, s.queue);
      queue.setAttribute("href", `#/jobs?queue=${seg(s.queue || "")}`);
      const times = Array.isArray(s.next) ? s.next.slice(0, NEXT_SHOWN) : [];
      next.replaceChildren(...(times.length
        ? times.map((t) => h("li", { title: t.at ? `${absolute(t.at)} here, ${relative(t.at)}` : "" }, localWallTime(t.local)))
        : [h("li", { class: "muted" }, s.paused ? "paused" : "—")]));
      if (s.last_fired_at) {
        const job = s.last_job;
        last.replaceChildren(
          h("time", { datetime: s.last_fired_at, title: absolute(s.last_fired_at) }, relative(s.last_fired_at)),
          job && job.id
            ? h("div", null, h("a", { href: `#/jobs/${seg(job.id)}`, class: "mono small" }, job.id), " ",
              job.state ? stateBadge(job.state) : h("span", { class: "muted small" }, "deleted"))
            : null);
      } else last.replaceChildren(h("span", { class: "muted" }, "never"));
      setText(status, s.paused ? "paused" : "active");
      status.className = s.paused ? "status-paused" : "status-active";
      row.dataset.paused = String(Boolean(s.paused));
      setText(toggleButton, s.paused ? "Resume" : "Pause");
      toggleButton.setAttribute("aria-label", `${s.paused ? "Resume" : "Pause"} schedule ${s.name}`);
      triggerButton.setAttribute("aria-label", `Trigger schedule ${s.name} now`);
    },
  };
}
