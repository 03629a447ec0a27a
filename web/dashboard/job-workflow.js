// job-workflow.js: the job page's "Workflow" card: what a job of a workflow
// waits for and what waits for it (parents, children, batch), its signal
// (with the URL to copy while it waits), the delivery of its completion
// webhook (on_done) and a push handler's continuations. Every part shows only
// when the job's JSON has it; a job outside any workflow shows no card.

import { seg } from "./api.js";
import { h, setText } from "./dom.js";
import { absolute, count, prettyJson, relative } from "./format.js";
import { stateBadge } from "./ui.js";

// Children are listed up to this many (GET /v1/jobs/{id} gives the first 100).
const CHILDREN_SHOWN = 100;

// True when the job's JSON has any part of a workflow to show.
export function hasWorkflow(job) {
  return Boolean(job && (Array.isArray(job.parents) || (Array.isArray(job.children) && job.children.length) ||
    job.batch || job.signal || job.on_done || (job.push && job.push.continuations > 0)));
}

// The card's body: a <dl id="job-workflow-details">, rebuilt on every render.
// `origin` completes the signal's path into a URL someone outside can call.
export function workflowDetails(job, origin) {
  const rows = [];
  if (Array.isArray(job.parents)) {
    rows.push(["Parents", parentList(job.parents)]);
    rows.push(["If a parent fails", h("span", { id: "job-after-failure", "data-value": job.after_failure || "cancel" },
      job.after_failure === "run" ? "run anyway once every parent has ended" : "cancel this job")]);
  }
  if (Array.isArray(job.children) && job.children.length) rows.push(["Children", childList(job.children)]);
  if (job.batch) {
    rows.push(["Batch", h("a", { id: "job-batch", class: "mono", href: `#/batches/${seg(job.batch)}` }, job.batch)]);
  }
  if (job.signal) rows.push(["Signal", signalPart(job, origin)]);
  if (job.on_done) rows.push(["Completion webhook", onDonePart(job.on_done)]);
  if (job.push && job.push.continuations > 0) {
    const bytes = typeof job.push.state_bytes === "number" ? `, last state ${count(job.push.state_bytes)} bytes` : "";
    rows.push(["Push continuations", h("span", { id: "job-push-continuations" }, `${count(job.push.continuations)}${bytes}`)]);
  }
  return h("dl", { class: "details", id: "job-workflow-details" }, rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

function jobLink(id, testid) {
  return h("a", { href: `#/jobs/${seg(id)}`, class: "mono", "data-testid": testid, "data-id": id }, id);
}

function parentList(parents) {
  if (!parents.length) return h("span", { id: "job-parents" }, "—");
  return h("ul", { id: "job-parents", class: "link-list" }, parents.map((p) => h("li", {
    "data-testid": "parent", "data-id": p.id, "data-state": p.state,
  }, jobLink(p.id, "parent-link"), " ", stateBadge(p.state))));
}

function childList(children) {
  const shown = children.slice(0, CHILDREN_SHOWN);
  return h("div", null,
    h("ul", { id: "job-children", class: "link-list" }, shown.map((id) => h("li", null, jobLink(id, "child-link")))),
    children.length >= CHILDREN_SHOWN ? h("p", { class: "muted small" }, `The first ${CHILDREN_SHOWN} are shown.`) : null);
}

const SIGNAL_TEXT = {
  waiting: "waiting for a signal",
  received: "received",
  timed_out: "timed out: the job ran on without one",
};

function signalPart(job, origin) {
  const signal = job.signal;
  const part = h("div", { id: "job-signal", "data-status": signal.status || "" },
    h("span", { class: `signal-status signal-${signal.status}` }, SIGNAL_TEXT[signal.status] || signal.status || "—"));
  if (signal.status === "waiting") {
    if (job.run_at) part.append(" ", h("span", { class: "muted" }, `(times out ${relative(job.run_at)}, ${absolute(job.run_at)})`));
    if (signal.url) part.append(copyableUrl(new URL(signal.url, origin).href));
  }
  if (signal.status === "received" && signal.body !== undefined) {
    part.append(h("pre", { id: "job-signal-body", class: "json", tabindex: "0", "aria-label": "The signal's body" }, prettyJson(signal.body)));
  }
  return part;
}

// The signal URL with a Copy button: no API key is needed to call it, so it is
// what an outside service (a bank, Stripe) is given.
function copyableUrl(url) {
  const text = h("code", { id: "job-signal-url", class: "signal-url" }, url);
  const status = h("span", { class: "muted small", role: "status" });
  const button = h("button", {
    type: "button", id: "copy-signal-url", "aria-label": "Copy the signal URL",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(url);
        setText(status, "Copied.");
      } catch {
        const range = document.createRange();
        range.selectNodeContents(text);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        setText(status, "Selected: press Ctrl+C (⌘C) to copy.");
      }
    },
  }, "Copy");
  return h("div", { class: "signal-url-row" }, text, h("span", null, button, " ", status),
    h("p", { class: "muted small" }, "POST any JSON to it to resume the job; it needs no API key and works once."));
}

const ON_DONE_TEXT = { pending: "pending", delivered: "delivered", failed: "failed: gave up" };

function onDonePart(d) {
  // Until the job ends there is only the URL: nothing was sent yet.
  if (!d.state) {
    return h("dl", { id: "job-on-done", class: "details nested", "data-state": "" },
      h("dt", null, "URL"), h("dd", null, h("span", { class: "mono" }, d.url || "—")),
      h("dt", null, "Delivery"), h("dd", { id: "job-on-done-state", class: "muted" }, "when the job ends"));
  }
  const rows = [["URL", h("span", { class: "mono" }, d.url || "—")],
    ["Delivery", h("span", { id: "job-on-done-state", class: `delivery-${d.state}` }, ON_DONE_TEXT[d.state] || d.state || "—")],
    ["Attempts", count(d.attempts)]];
  if (d.last_status !== null && d.last_status !== undefined) rows.push(["Last answer", `HTTP ${d.last_status}`]);
  if (d.last_error) rows.push(["Last error", h("span", { class: "error-text" }, d.last_error)]);
  if (d.next_at) rows.push(["Next try", timeText(d.next_at)]);
  if (d.delivered_at) rows.push(["Delivered", timeText(d.delivered_at)]);
  return h("dl", { id: "job-on-done", class: "details nested", "data-state": d.state || "" },
    rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

function timeText(iso) {
  return h("time", { datetime: iso, title: iso }, `${absolute(iso)} (${relative(iso)})`);
}
