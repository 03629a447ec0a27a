// job-row.js: one row of a job list, updated in place on refresh.

import { seg } from "./api.js";
import { h, setText } from "./dom.js";
import { absolute, relative } from "./format.js";
import { stateBadge, updateStateBadge } from "./ui.js";

// What the "When" column says for a job in its state.
function when(job) {
  switch (job.state) {
    case "scheduled":
    case "failed":
      return { text: `runs ${relative(job.run_at)}`, iso: job.run_at };
    case "queued":
      return { text: `since ${relative(job.run_at)}`, iso: job.run_at };
    case "blocked":
      return { text: "after its parents", iso: null };
    case "waiting":
      return { text: `signal, times out ${relative(job.run_at)}`, iso: job.run_at };
    case "running":
      return { text: `started ${relative(job.started_at)}`, iso: job.started_at };
    default:
      return job.finished_at ? { text: `ended ${relative(job.finished_at)}`, iso: job.finished_at } : { text: "—", iso: null };
  }
}

// onSelect(id, on) for a row with a selection checkbox; without it, the row has none.
export function jobRow(initial, { onSelect } = {}) {
  const checkbox = onSelect ? h("input", { type: "checkbox", "data-testid": "job-select", "aria-label": `Select job ${initial.id}` }) : null;
  checkbox?.addEventListener("change", () => onSelect(initial.id, checkbox.checked));
  const link = h("a", { href: `#/jobs/${seg(initial.id)}`, class: "mono" }, initial.id);
  const queue = h("td");
  const type = h("td", { class: "optional" });
  const badge = stateBadge(initial.state);
  const attempts = h("td", { class: "num tabular" });
  const created = h("td", { class: "tabular nowrap" });
  const whenCell = h("td", { class: "optional tabular nowrap" });
  const error = h("td", { class: "optional error-cell" });
  const tags = h("td", { class: "optional" });
  const row = h("tr", { "data-testid": "job-row", "data-id": initial.id },
    checkbox ? h("td", { class: "check" }, checkbox) : null,
    h("th", { scope: "row" }, link),
    h("td", null, badge), queue, type, attempts, created, whenCell, error, tags);

  return {
    row,
    setSelected(on) {
      if (checkbox) checkbox.checked = on;
      row.classList.toggle("selected", on);
    },
    update(job) {
      row.dataset.state = job.state;
      setText(queue, job.queue);
      setText(type, job.type || "—");
      updateStateBadge(badge, job.state);
      setText(attempts, `${job.attempt ?? 0}/${job.max_attempts ?? "?"}`);
      setText(created, relative(job.created_at));
      created.title = absolute(job.created_at);
      const w = when(job);
      setText(whenCell, w.text);
      whenCell.title = w.iso ? absolute(w.iso) : "";
      // An old attempt's error says nothing about a job that succeeded.
      const errors = Array.isArray(job.errors) && job.state !== "succeeded" ? job.errors : [];
      const last = errors.length ? errors[errors.length - 1].message : "";
      setText(error, last || "");
      error.title = last || "";
      tags.replaceChildren(...(job.tags || []).map((t) => h("span", { class: "tag" }, t)));
    },
  };
}
