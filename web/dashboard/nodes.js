// nodes.js: the overview's Nodes card — the servers sharing this store, from
// GET /v1/nodes: id and host, address, version, up/gone/stopped, last seen,
// started. The answering server is marked "this node".

import { api, describeError } from "./api.js";
import { h, setText } from "./dom.js";
import { absolute, relative } from "./format.js";
import { keyedRows, messageRow } from "./tables.js";

export function nodesCard(ctx) {
  const summary = h("span", { id: "nodes-summary", class: "muted small" }, "");
  const tbody = h("tbody");
  const table = h("table", { id: "overview-nodes", class: "data" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Node"),
      h("th", { scope: "col" }, "Address"),
      h("th", { scope: "col" }, "Version"),
      h("th", { scope: "col" }, "State"),
      h("th", { scope: "col" }, "Last seen"),
      h("th", { scope: "col" }, "Started"))),
    tbody);
  const rows = keyedRows(tbody, { key: (n) => n.id, create: nodeRow });
  const empty = messageRow(6, "No node has registered yet.", { id: "overview-nodes-empty" });
  const card = h("section", { class: "card", "aria-labelledby": "nodes-title" },
    h("div", { class: "card-head" }, h("h2", { id: "nodes-title" }, "Nodes"), summary),
    h("div", { class: "table-wrap" }, table));

  async function refresh() {
    try {
      const answer = await api("GET", "/v1/nodes", { signal: ctx.signal });
      ctx.clearError("nodes");
      const nodes = Array.isArray(answer.nodes) ? answer.nodes : [];
      const now = Date.parse(answer.at) || Date.now();
      rows.update(nodes.map((n) => ({ ...n, now })));
      if (nodes.length === 0) {
        if (!empty.isConnected) tbody.append(empty);
      } else empty.remove();
      const by = (state) => nodes.filter((n) => n.state === state).length;
      setText(summary, `${by("up")} up, ${by("gone")} gone, ${by("stopped")} stopped`);
    } catch (err) {
      if (err.name === "AbortError" || err.status === 401) return;
      ctx.error(`The node list is unavailable: ${describeError(err)}`, "nodes");
    }
  }
  return { card, refresh };
}

function nodeRow() {
  const id = h("code", { class: "node-id" });
  const self = h("span", { class: "muted small" });
  const name = h("div", { class: "muted small" });
  const cells = {
    address: h("td"),
    version: h("td", { class: "tabular" }),
    state: h("span", { class: "badge" }),
    seen: h("td", { class: "tabular" }),
    started: h("td", { class: "tabular" }),
  };
  const row = h("tr", { "data-testid": "node-row" },
    h("th", { scope: "row" }, id, " ", self, name), cells.address, cells.version,
    h("td", null, cells.state), cells.seen, cells.started);
  return {
    row,
    update(n) {
      row.dataset.node = n.id;
      row.dataset.state = n.state;
      setText(id, n.id);
      setText(self, n.self ? "(this node)" : "");
      setText(name, n.name || "");
      setText(cells.address, n.address || "—");
      setText(cells.version, n.version || "—");
      setText(cells.state, n.state);
      cells.state.className = `badge node-${n.state}`;
      setText(cells.seen, relative(n.last_seen, n.now));
      cells.seen.title = absolute(n.last_seen);
      setText(cells.started, absolute(n.started_at));
    },
  };
}
