// empty.js: what a page shows when there is nothing at all yet: the first
// step (enqueue a job with curl or the CLI), instead of an empty table.

import { h } from "./dom.js";

// curl that enqueues a first job on this server; with keys it needs one.
export function firstJobCurl() {
  const auth = document.documentElement.dataset.authMode === "keys" ? ` -H "Authorization: Bearer $ERRAND_KEY"` : "";
  return `curl -s ${location.origin}/v1/jobs${auth} -d '{"queue":"emails","payload":{"to":"ada@example.com"}}'`;
}

// A block for a card or a table cell: "No jobs yet — enqueue one: curl …".
export function firstStep(id) {
  return h("div", { class: "first-step", id, "data-testid": "first-step" },
    h("p", { class: "first-step-title" }, "No jobs yet — enqueue one:"),
    h("pre", { class: "first-step-command" }, h("code", null, firstJobCurl())),
    h("p", { class: "muted small" },
      "or ", h("code", null, `errand enqueue emails '{"to":"ada@example.com"}'`),
      ", then run a worker: ", h("code", null, "errand work emails -- cat"), "."));
}

// A table row holding the first step, spanning every column.
export function firstStepRow(columns, id) {
  return h("tr", { class: "message-row first-step-row" }, h("td", { colspan: String(columns) }, firstStep(id)));
}
