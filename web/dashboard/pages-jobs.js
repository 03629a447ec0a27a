// pages-jobs.js: the job lists (#/jobs, #/dead, #/scheduled): filters kept in
// the address, a search box (a job id opens the job, other text searches
// payloads), cursor paging, and bulk retry / cancel / delete of the selection.
// GET /v1/jobs?…, GET /v1/jobs/{id}, POST /v1/jobs/bulk.

import { allQueues, api, seg, withQuery } from "./api.js";
import { append, h, setText } from "./dom.js";
import { STATES, isJobId, isoToLocalInput, localInputToIso } from "./format.js";
import { jobRow } from "./job-row.js";
import { keyedRows, messageRow } from "./tables.js";
import { confirmDialog, showError } from "./ui.js";
import { bulkSummary } from "./bulk.js";
import { firstStepRow } from "./empty.js";

const PAGE_SIZE = 50;
const REFRESH_MS = 5000;
// batch has no field: the batch page links to its jobs here, for bulk actions.
const FILTERS = ["queue", "state", "type", "key", "tag", "since", "until", "q", "batch"];
const TEXT_FILTERS = ["queue", "type", "key", "tag"];

export function jobsPage(main, ctx, params) {
  return jobList(main, ctx, params, {
    route: "/jobs", title: "Jobs", actions: ["retry", "cancel", "delete"],
  });
}

export function deadPage(main, ctx, params) {
  return jobList(main, ctx, params, {
    route: "/dead", title: "Dead jobs", fixedState: "dead", actions: ["retry", "delete"],
    emptyText: "No dead jobs: nothing has failed for good.",
    intro: "Jobs whose attempts are exhausted or that failed without retry. Retry queues them again now.",
  });
}

export function scheduledPage(main, ctx, params) {
  return jobList(main, ctx, params, {
    route: "/scheduled", title: "Scheduled and retrying", actions: ["retry", "cancel", "delete"],
    tabs: [
      { state: "scheduled", label: "Scheduled", hint: "Waiting for their run time." },
      { state: "failed", label: "Retrying", hint: "An attempt failed; each runs again at its run time. Retry runs it now." },
    ],
  });
}

const ACTIONS = {
  retry: { label: "Retry", verb: "Retry", past: "Retried" },
  cancel: { label: "Cancel", verb: "Cancel", past: "Cancelled" },
  delete: { label: "Delete", verb: "Delete", past: "Deleted", danger: true },
};

function jobList(main, ctx, initialParams, config) {
  let filters = readFilters(initialParams, config);
  let cursors = [null]; // cursor of each page seen, oldest page first
  let nextCursor = null;
  let sequence = 0;
  const selected = new Set();
  let pageIds = [];
  let busy = false; // a bulk action is under way

  // --- Filters and search ---
  const queueList = h("datalist", { id: "queue-names" });
  const inputs = {
    queue: h("input", { id: "filter-queue", name: "queue", list: "queue-names", autocomplete: "off", spellcheck: "false" }),
    state: h("select", { id: "filter-state", name: "state" },
      h("option", { value: "" }, "any"), STATES.map((s) => h("option", { value: s }, s))),
    type: h("input", { id: "filter-type", name: "type", autocomplete: "off", spellcheck: "false" }),
    key: h("input", {
      id: "filter-key", name: "key", autocomplete: "off", spellcheck: "false",
      title: "Whom the jobs belong to: the key given at enqueue",
    }),
    tag: h("input", { id: "filter-tag", name: "tag", autocomplete: "off", spellcheck: "false" }),
    since: h("input", { id: "filter-since", name: "since", type: "datetime-local" }),
    until: h("input", { id: "filter-until", name: "until", type: "datetime-local" }),
  };
  const field = (name, label, input) => h("div", { class: "field" }, h("label", { for: input.id }, label), input);
  const showStateFilter = !config.fixedState && !config.tabs;
  const filterForm = h("form", { id: "jobs-filters", class: "filters", role: "search", "aria-label": "Filter jobs" },
    field("queue", "Queue", inputs.queue), queueList,
    showStateFilter ? field("state", "State", inputs.state) : null,
    field("type", "Type", inputs.type),
    field("key", "Key", inputs.key),
    field("tag", "Tag", inputs.tag),
    field("since", "Created after", inputs.since),
    field("until", "Created before", inputs.until),
    h("div", { class: "filter-buttons" },
      h("button", { type: "submit", id: "filter-apply", class: "primary" }, "Apply"),
      h("button", { type: "button", id: "filter-clear", onclick: clearFilters }, "Clear")));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = { ...filters };
    for (const name of TEXT_FILTERS) next[name] = inputs[name].value.trim();
    if (showStateFilter) next.state = inputs.state.value;
    next.since = localInputToIso(inputs.since.value);
    next.until = localInputToIso(inputs.until.value);
    navigate(next);
  });

  const search = h("input", {
    id: "job-search", type: "search", name: "q", autocomplete: "off", spellcheck: "false",
    placeholder: "Job id or payload text",
  });
  const searchForm = h("form", { id: "job-search-form", class: "search", role: "search", "aria-label": "Search jobs" },
    h("label", { for: "job-search", class: "visually-hidden" }, "Job id, or text in the payload"),
    search,
    h("button", { type: "submit" }, "Search"));
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch(search.value.trim()).catch((err) => ctx.error(err));
  });

  // --- Table ---
  const selectAll = h("input", { type: "checkbox", id: "select-all", "aria-label": "Select every job on this page" });
  selectAll.addEventListener("change", () => {
    for (const id of pageIds) {
      if (selectAll.checked) selected.add(id);
      else selected.delete(id);
    }
    for (const id of pageIds) rows.get(id).setSelected(selected.has(id));
    selectionChanged();
  });
  const tbody = h("tbody");
  const table = h("table", { id: "jobs-table", class: "data jobs" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col", class: "check" }, selectAll),
      h("th", { scope: "col" }, "Job"),
      h("th", { scope: "col" }, "State"),
      h("th", { scope: "col" }, "Queue"),
      h("th", { scope: "col", class: "optional" }, "Type"),
      h("th", { scope: "col", class: "num" }, "Attempts"),
      h("th", { scope: "col" }, "Created"),
      h("th", { scope: "col", class: "optional" }, "When"),
      h("th", { scope: "col", class: "optional" }, "Last error"),
      h("th", { scope: "col", class: "optional" }, "Tags"))),
    tbody);
  const rows = keyedRows(tbody, {
    key: (job) => job.id,
    create: (job) => jobRow(job, {
      onSelect(id, on) {
        if (on) selected.add(id);
        else selected.delete(id);
        selectionChanged();
      },
    }),
  });
  const empty = messageRow(10, config.emptyText || "No jobs match.", { id: "jobs-empty" });
  const firstRow = firstStepRow(10, "jobs-first-step");

  // No job anywhere (not just none matching): the page shows the first step.
  async function nothingYet() {
    const narrowed = FILTERS.some((n) => n !== "state" && filters[n]) || (showStateFilter && filters.state);
    if (narrowed || cursors.length > 1) return false;
    if (showStateFilter) return true; // every job, unfiltered, and none
    try {
      const answer = await allQueues({ signal: ctx.signal });
      return !(answer.queues || []).some((q) => Object.values(q.counts || {}).some((n) => n > 0));
    } catch {
      return false;
    }
  }

  // --- Bulk actions and paging ---
  const selectedCount = h("span", { id: "selected-count", class: "tabular" }, "0 selected");
  const bulkButtons = config.actions.map((action) => h("button", {
    type: "button", id: `bulk-${action}`, disabled: true, class: ACTIONS[action].danger ? "danger" : "",
    onclick: () => bulk(action).catch((err) => ctx.error(err)),
  }, ACTIONS[action].label));
  const bulkResult = h("div", { id: "bulk-result", class: "bulk-result", role: "status", tabindex: "-1" });
  const newer = h("button", { type: "button", id: "page-newer", disabled: true, onclick: () => page(-1) }, "← Newer");
  const next = h("button", { type: "button", id: "page-next", disabled: true, onclick: () => page(1) }, "Next →");
  const pageLabel = h("span", { class: "muted tabular", id: "page-number" }, "Page 1");
  // A tag or text search reads at most 10,000 jobs a page; a page it cut
  // short says so, and Next searches on from where it stopped.
  const partial = h("p", { class: "muted", id: "jobs-partial", role: "status", hidden: true },
    "This search read 10,000 jobs without filling the page; Next searches older jobs.");
  const refreshButton = h("button", { type: "button", id: "jobs-refresh", class: "ghost", onclick: () => load() }, "Refresh");

  const tabs = config.tabs
    ? h("nav", { class: "tabs", "aria-label": "Jobs" }, config.tabs.map((tab) => h("a", {
      id: `tab-${tab.state}`, href: `#${config.route}?state=${tab.state}`,
    }, tab.label)))
    : null;
  const hint = h("p", { class: "muted", id: "jobs-hint", hidden: !config.intro && !config.tabs }, config.intro || "");
  const batchNote = h("p", { id: "jobs-batch", class: "notice", hidden: true });

  append(main, [
    h("div", { class: "page-head" },
      h("h1", { id: "page-title", tabindex: "-1" }, config.title),
      h("div", { class: "head-tools search-tools" }, searchForm)),
    tabs, hint, batchNote,
    h("details", { class: "card filters-card", open: window.matchMedia("(min-width: 700px)").matches },
      h("summary", null, "Filters"), filterForm),
    h("section", { class: "card", "aria-label": "Job list" },
      h("div", { class: "toolbar" },
        h("div", { class: "toolbar-group" }, selectedCount, bulkButtons),
        h("div", { class: "toolbar-group" }, refreshButton)),
      bulkResult,
      h("div", { class: "table-wrap" }, table),
      partial,
      h("div", { class: "pager" }, newer, pageLabel, next))]);

  // --- Behaviour ---
  function navigate(next) {
    const hash = `#${config.route}${queryOf(next, config)}`;
    if (location.hash === hash) {
      reset();
      load();
    } else location.hash = hash;
  }

  function clearFilters() {
    const next = {};
    if (config.tabs) next.state = filters.state;
    navigate(next);
  }

  async function runSearch(text) {
    if (isJobId(text)) {
      try {
        await api("GET", `/v1/jobs/${seg(text)}`, { signal: ctx.signal });
        location.hash = `#/jobs/${text}`;
      } catch (err) {
        if (err.status === 404) ctx.error(`No such job: ${text}`, "search");
        else throw err;
      }
      return;
    }
    navigate({ ...filters, q: text });
  }

  function showFilters() {
    for (const name of TEXT_FILTERS) inputs[name].value = filters[name] || "";
    inputs.state.value = filters.state || "";
    inputs.since.value = isoToLocalInput(filters.since);
    inputs.until.value = isoToLocalInput(filters.until);
    search.value = filters.q || "";
    batchNote.hidden = !filters.batch;
    batchNote.replaceChildren(...(filters.batch
      ? ["The jobs of batch ", h("a", { href: `#/batches/${seg(filters.batch)}`, class: "mono" }, filters.batch), " only."]
      : []));
    if (config.tabs) {
      for (const tab of config.tabs) {
        const link = document.getElementById(`tab-${tab.state}`);
        if (tab.state === filters.state) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
        if (tab.state === filters.state) setText(hint, tab.hint);
      }
    }
  }

  function reset() {
    cursors = [null];
    nextCursor = null;
    selected.clear();
    setText(bulkResult, "");
  }

  function page(direction) {
    if (direction > 0 && nextCursor) cursors.push(nextCursor);
    else if (direction < 0 && cursors.length > 1) cursors.pop();
    else return;
    selected.clear();
    load().then(() => table.scrollIntoView({ block: "nearest" }));
  }

  // quiet: a background refresh, which does not dim the table.
  async function load({ quiet = false } = {}) {
    const mine = ++sequence;
    const query = { ...filters, limit: PAGE_SIZE, cursor: cursors[cursors.length - 1] };
    if (!quiet) table.setAttribute("aria-busy", "true");
    try {
      const answer = await api("GET", withQuery("/v1/jobs", query), { signal: ctx.signal });
      if (mine !== sequence || !ctx.alive) return;
      ctx.clearError("jobs");
      const jobs = Array.isArray(answer.jobs) ? answer.jobs : [];
      nextCursor = answer.next_cursor || null;
      partial.hidden = answer.partial !== true;
      pageIds = jobs.map((j) => j.id);
      for (const id of [...selected]) if (!pageIds.includes(id)) selected.delete(id);
      rows.update(jobs);
      for (const id of pageIds) rows.get(id).setSelected(selected.has(id));
      if (jobs.length === 0) {
        const first = await nothingYet();
        if (mine !== sequence || !ctx.alive) return;
        const [show, hide] = first ? [firstRow, empty] : [empty, firstRow];
        hide.remove();
        if (!show.isConnected) tbody.append(show);
      } else {
        empty.remove();
        firstRow.remove();
      }
    } catch (err) {
      if (mine !== sequence || err.name === "AbortError") return;
      if (!quiet) {
        pageIds = [];
        rows.clear();
        tbody.append(empty);
      }
      ctx.error(err, "jobs");
    } finally {
      if (mine === sequence) {
        table.removeAttribute("aria-busy");
        newer.disabled = cursors.length <= 1;
        next.disabled = !nextCursor;
        setText(pageLabel, `Page ${cursors.length}`);
        selectionChanged();
      }
    }
  }

  function selectionChanged() {
    const n = selected.size;
    setText(selectedCount, `${n} selected`);
    for (const b of bulkButtons) b.disabled = n === 0;
    const onPage = pageIds.filter((id) => selected.has(id)).length;
    selectAll.checked = pageIds.length > 0 && onPage === pageIds.length;
    selectAll.indeterminate = onPage > 0 && onPage < pageIds.length;
    selectAll.disabled = pageIds.length === 0;
  }

  async function bulk(action) {
    const ids = pageIds.filter((id) => selected.has(id));
    if (ids.length === 0) return;
    const meta = ACTIONS[action];
    const noun = ids.length === 1 ? "1 job" : `${ids.length} jobs`;
    const ok = await confirmDialog({
      title: `${meta.verb} ${noun}?`,
      message: action === "delete"
        ? `${noun === "1 job" ? "The job" : `The ${noun}`} will be deleted for good, with ${ids.length === 1 ? "its result and log" : "their results and logs"}.`
        : action === "cancel"
          ? `Waiting jobs are cancelled at once; running ones are asked to stop.`
          : `The jobs are queued again now.`,
      ok: `${meta.verb} ${noun}`,
      danger: Boolean(meta.danger),
    });
    if (!ok || !ctx.alive) return;
    for (const b of bulkButtons) b.disabled = true;
    busy = true;
    try {
      const answer = await api("POST", "/v1/jobs/bulk", { body: { action, ids }, signal: ctx.signal });
      if (!ctx.alive) return;
      bulkResult.replaceChildren(...bulkSummary(meta.past, answer && answer.results));
      selected.clear();
      bulkResult.focus(); // the action's buttons are disabled now that nothing is selected
    } catch (err) {
      if (err.name === "AbortError") return;
      showError(err);
    } finally {
      busy = false;
      if (ctx.alive) await load();
    }
  }

  async function loadQueueNames() {
    try {
      const answer = await allQueues({ signal: ctx.signal });
      queueList.replaceChildren(...(answer.queues || []).map((q) => h("option", { value: q.name })));
    } catch {
      // the list only helps typing; the field still works without it
    }
  }

  // The first page follows new jobs: it is reloaded every few seconds (rows
  // are updated in place and the selection kept); later pages hold still.
  let first = true;
  ctx.poll(async () => {
    if (first) {
      first = false;
      await load();
    } else if (cursors.length === 1 && !busy && !document.getElementById("confirm-dialog").open) {
      await load({ quiet: true });
    }
  }, REFRESH_MS);

  showFilters();
  loadQueueNames();

  return {
    update(params) {
      const next = readFilters(params, config);
      if (queryOf(next, config) !== queryOf(filters, config)) {
        filters = next;
        reset();
        showFilters();
        load();
      }
    },
  };
}

function readFilters(params, config) {
  const filters = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  if (config.fixedState) filters.state = config.fixedState;
  if (config.tabs && !config.tabs.some((t) => t.state === filters.state)) filters.state = config.tabs[0].state;
  return filters;
}

function queryOf(filters, config) {
  const q = new URLSearchParams();
  for (const name of FILTERS) {
    if (name === "state" && config.fixedState) continue;
    if (filters[name]) q.set(name, filters[name]);
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}
