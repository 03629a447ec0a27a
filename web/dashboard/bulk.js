// bulk.js: the summary of a bulk action's answer (POST /v1/jobs/bulk).

import { seg } from "./api.js";
import { h } from "./dom.js";

const SHOWN_FAILURES = 10;

// -> nodes: "Retried 3 of 4 jobs. 1 failed:" and a list of the failures.
export function bulkSummary(past, results) {
  const list = Array.isArray(results) ? results : [];
  const done = list.filter((r) => r && r.ok);
  const failed = list.filter((r) => r && !r.ok);
  const nodes = [h("p", { "data-testid": "bulk-summary" },
    h("strong", { "data-testid": "bulk-succeeded", class: "tabular" }, `${past} ${done.length} of ${list.length}`),
    failed.length ? `; ${failed.length} failed:` : ".")];
  if (failed.length) {
    nodes.push(h("ul", { class: "bulk-failures" }, failed.slice(0, SHOWN_FAILURES).map((r) => h("li", { "data-testid": "bulk-failure", "data-id": r.id },
      h("a", { href: `#/jobs/${seg(r.id)}`, class: "mono" }, r.id), ": ",
      (r.error && r.error.message) || "failed"))));
    if (failed.length > SHOWN_FAILURES) nodes.push(h("p", { class: "muted" }, `and ${failed.length - SHOWN_FAILURES} more.`));
  }
  return nodes;
}
