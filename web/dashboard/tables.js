// tables.js: keyed table bodies updated in place: rows are kept per key, their
// cells rewritten only when the text changes, and new rows inserted in order,
// so a refresh never rebuilds the table or moves the page.

import { h } from "./dom.js";

// keyedRows(tbody, {create(item) -> {row, update(item)}, key(item)})
export function keyedRows(tbody, { key, create }) {
  const rows = new Map(); // key -> {row, update}
  return {
    update(items) {
      const seen = new Set();
      let previous = null;
      for (const item of items) {
        const k = key(item);
        seen.add(k);
        let entry = rows.get(k);
        if (!entry) {
          entry = create(item);
          rows.set(k, entry);
        }
        entry.update(item);
        const expected = previous ? previous.nextSibling : tbody.firstChild;
        if (expected !== entry.row) tbody.insertBefore(entry.row, expected);
        previous = entry.row;
      }
      for (const [k, entry] of rows) {
        if (!seen.has(k)) {
          entry.row.remove();
          rows.delete(k);
        }
      }
    },
    get(k) {
      return rows.get(k);
    },
    clear() {
      rows.clear();
      tbody.replaceChildren();
    },
  };
}

// A row that says the table is empty (or why), spanning every column.
export function messageRow(columns, text, attrs = {}) {
  return h("tr", { class: "message-row", ...attrs }, h("td", { colspan: String(columns) }, text));
}
