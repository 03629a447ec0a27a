// pages-job.js: one job: state, live progress (EventSource on
// /v1/jobs/{id}/events), payload and result, every attempt with its error and
// log (GET /v1/jobs/{id}/logs), a timeline, Retry / Cancel / Delete, the
// job's place in a workflow (job-workflow.js), and a curl command that
// enqueues the same job again.

import { api, seg } from "./api.js";
import { h, setText } from "./dom.js";
import { FINAL_STATES, absolute, count, prettyJson, relative } from "./format.js";
import { curlCommand, renderAttempts, renderTimeline, timelineEntries } from "./job-parts.js";
import { hasWorkflow, workflowDetails } from "./job-workflow.js";
import { actionButton, confirmDialog, stateBadge, updateStateBadge } from "./ui.js";

const MAX_STREAM_RETRIES = 6;

export function jobPage(main, ctx, params, id) {
  let job = null;
  let logs = [];
  const liveEvents = [];
  let generation = 0; // times the job was queued again after finishing, while shown
  let source = null;
  let retryTimer = null;
  let refetchTimer = null;
  let failures = 0;

  const title = h("h1", { id: "page-title", tabindex: "-1" }, "Job ", h("span", { id: "job-id", class: "mono" }, id));
  const badge = stateBadge(null, { id: "job-state" });
  const live = h("span", { id: "job-live", class: "live muted small", "data-live": "off" }, "");

  const retryButton = actionButton("Retry", { id: "job-retry" }, () => act("retry"));
  const cancelButton = actionButton("Cancel", { id: "job-cancel" }, async () => {
    const ok = await confirmDialog({
      title: "Cancel this job?",
      message: job && job.state === "running"
        ? "The job's worker is asked to stop; the job ends cancelled when the attempt ends."
        : "The job is cancelled at once and will not run.",
      ok: "Cancel job", danger: true,
    });
    if (ok) await act("cancel");
  });
  const deleteButton = actionButton("Delete", { id: "job-delete", class: "danger" }, async () => {
    const ok = await confirmDialog({
      title: "Delete this job?",
      message: "The job is deleted for good, with its result and logs. A running job's worker gets 404.",
      ok: "Delete job", danger: true,
    });
    if (!ok || !ctx.alive) return;
    await api("DELETE", `/v1/jobs/${seg(id)}`, { signal: ctx.signal });
    location.hash = "#/jobs";
  });

  const bar = h("div", {
    id: "job-progress", class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": "0", "aria-label": "Job progress",
  }, h("div", { class: "progress-fill" }));
  const barText = h("span", { class: "progress-percent tabular" }, "0%");
  const barMessage = h("p", { id: "job-progress-message", class: "progress-message", "aria-live": "polite" }, "");

  const details = h("dl", { class: "details", id: "job-details" });
  const workflow = h("section", { class: "card span-2", id: "job-workflow", "aria-labelledby": "workflow-title", hidden: true },
    h("h2", { id: "workflow-title" }, "Workflow"));
  const payload = h("pre", { id: "job-payload", class: "json", tabindex: "0" });
  const result = h("pre", { id: "job-result", class: "json", tabindex: "0" });
  const attempts = h("div", { id: "job-attempts" });
  const timeline = h("ol", { id: "job-timeline", class: "timeline" });
  const curl = h("pre", { id: "job-curl", class: "curl", tabindex: "0" });
  const copyStatus = h("span", { class: "muted small", role: "status" });
  const copyButton = h("button", { type: "button", id: "copy-curl", onclick: () => copy() }, "Copy");

  const body = h("div", { class: "job-grid" },
    h("section", { class: "card span-2", "aria-labelledby": "progress-title" },
      h("h2", { id: "progress-title" }, "Progress"),
      h("div", { class: "progress-row" }, bar, barText), barMessage),
    workflow,
    h("section", { class: "card", "aria-labelledby": "details-title" }, h("h2", { id: "details-title" }, "Details"), details),
    h("section", { class: "card", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"), timeline),
    h("section", { class: "card", "aria-labelledby": "payload-title" }, h("h2", { id: "payload-title" }, "Payload"), payload),
    h("section", { class: "card", "aria-labelledby": "result-title" }, h("h2", { id: "result-title" }, "Result"), result),
    h("section", { class: "card span-2", "aria-labelledby": "attempts-title" }, h("h2", { id: "attempts-title" }, "Attempts"), attempts),
    h("section", { class: "card span-2", "aria-labelledby": "curl-title" },
      h("div", { class: "card-head" }, h("h2", { id: "curl-title" }, "Enqueue it again"), h("div", null, copyStatus, " ", copyButton)),
      curl));
  body.hidden = true;

  main.append(
    h("p", { class: "breadcrumb" }, h("a", { href: "#/jobs" }, "← Jobs")),
    h("div", { class: "page-head" }, h("div", { class: "title-row" }, title, badge, live),
      h("div", { class: "head-tools actions" }, retryButton, cancelButton, deleteButton)),
    body);
  setButtons();

  // --- Rendering ---
  function render() {
    if (!job || !ctx.alive) return;
    body.hidden = false;
    updateStateBadge(badge, job.state);
    setButtons();
    const p = job.progress || {};
    showProgress(job.state === "succeeded" && typeof p.percent !== "number" ? 100 : p.percent, p.message);
    renderDetails();
    renderWorkflow();
    setText(payload, prettyJson(job.payload));
    setText(result, job.result === null || job.result === undefined ? "No result." : prettyJson(job.result));
    result.classList.toggle("muted", job.result === null || job.result === undefined);
    renderAttempts(attempts, job, logs);
    renderTimeline(timeline, timelineEntries(job, liveEvents, generation));
    setText(curl, curlCommand(job, location.origin));
  }

  function showProgress(percent, message) {
    if (typeof percent === "number" && Number.isFinite(percent)) {
      const value = Math.max(0, Math.min(100, Math.round(percent)));
      bar.firstChild.style.width = `${value}%`;
      bar.setAttribute("aria-valuenow", String(value));
      setText(barText, `${value}%`);
    }
    if (typeof message === "string") setText(barMessage, message);
    if (job) bar.dataset.state = job.state;
    bar.setAttribute("aria-valuetext", `${bar.getAttribute("aria-valuenow")}%${barMessage.textContent ? `: ${barMessage.textContent}` : ""}`);
  }

  function renderDetails() {
    const rows = [
      ["Queue", h("a", { href: `#/queues/${seg(job.queue)}` }, job.queue)],
      ["Key", job.key
        ? h("a", { id: "job-key", href: `#/jobs?${new URLSearchParams({ key: job.key })}`, title: `Jobs of key ${job.key}` }, job.key)
        : "—"],
      ["Type", job.type || "—"],
      ["Attempts", `${job.attempt ?? 0} of ${job.max_attempts ?? "?"}`],
      ["Priority", count(job.priority)],
      ["Timeout", job.timeout || "—"],
      ["Tags", job.tags && job.tags.length ? job.tags.map((t) => h("span", { class: "tag" }, t)) : "—"],
      ["Idempotency key", job.idempotency_key || "—"],
      ["Worker", job.worker || "—"],
      ["Created", timeCell(job.created_at)],
      ["Run at", timeCell(job.run_at)],
      ["Started", timeCell(job.started_at)],
      ["Finished", timeCell(job.finished_at)],
    ];
    if (job.lease_expires_at) rows.push(["Lease expires", timeCell(job.lease_expires_at)]);
    if (job.cancel_requested) rows.push(["Cancel", "requested"]);
    details.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
  }

  // Rebuilt only when the workflow part of the job changed, so a refresh keeps
  // a selection (of the signal URL, say).
  let workflowShown = "";
  function renderWorkflow() {
    const show = hasWorkflow(job);
    const key = show ? JSON.stringify([job.state, job.run_at, job.parents, job.after_failure, job.children,
      job.batch, job.signal, job.on_done, job.push]) : "";
    workflow.hidden = !show;
    if (key === workflowShown) return;
    workflowShown = key;
    workflow.querySelector("#job-workflow-details")?.remove();
    if (show) workflow.append(workflowDetails(job, location.origin));
  }

  function timeCell(iso) {
    if (!iso) return "—";
    return h("time", { datetime: iso, title: iso }, `${absolute(iso)} (${relative(iso)})`);
  }

  function setButtons() {
    const state = job ? job.state : null;
    retryButton.disabled = !["dead", "failed", "cancelled"].includes(state);
    cancelButton.disabled = !["blocked", "scheduled", "queued", "waiting", "failed", "running"].includes(state) || Boolean(job && job.cancel_requested);
    deleteButton.disabled = !job;
  }

  function setLive(state, text) {
    live.dataset.live = state;
    setText(live, text);
  }

  // --- Loading ---
  async function loadJob() {
    try {
      job = await api("GET", `/v1/jobs/${seg(id)}`, { signal: ctx.signal });
    } catch (err) {
      if (err.status === 404) {
        notFound();
        return false;
      }
      throw err;
    }
    render();
    return true;
  }

  async function loadLogs() {
    try {
      const answer = await api("GET", `/v1/jobs/${seg(id)}/logs`, { signal: ctx.signal });
      logs = Array.isArray(answer && answer.logs) ? answer.logs : [];
      ctx.clearError("logs");
    } catch (err) {
      if (err.name === "AbortError" || err.status === 401) return;
      ctx.error(`Cannot read the job's logs: ${err.message}`, "logs");
    }
    render();
  }

  function notFound() {
    closeStream();
    job = null;
    body.hidden = true;
    setButtons();
    updateStateBadge(badge, null);
    if (!document.getElementById("job-not-found")) {
      main.append(h("p", { id: "job-not-found", class: "empty-state", role: "status" },
        "No such job. It may have been deleted or pruned. ", h("a", { href: "#/jobs" }, "Back to the jobs"), "."));
    }
  }

  // Job and logs again, soon (several events in a row make one reload).
  function refetchSoon() {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(() => {
      Promise.all([loadJob(), loadLogs()]).catch((err) => ctx.error(err));
    }, 250);
  }

  async function act(action) {
    const answer = await api("POST", `/v1/jobs/${seg(id)}/${action}`, { signal: ctx.signal });
    if (!ctx.alive) return;
    if (answer && answer.id) {
      if (job && answer.state !== job.state) noteState({ state: answer.state, attempt: answer.attempt });
      job = answer;
      render();
    }
    await loadLogs();
    if (job && !FINAL_STATES.includes(job.state)) openStream();
  }

  // --- Live events ---
  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch {
      return null;
    }
  }

  function noteState(data) {
    if (!data || !data.state) return;
    const attempt = data.attempt ?? (job ? job.attempt : 0);
    if (job && FINAL_STATES.includes(job.state) && !FINAL_STATES.includes(data.state)) generation += 1;
    liveEvents.push({ at: new Date().toISOString(), state: data.state, attempt, error: data.error || null, gen: generation });
    if (job) {
      job.state = data.state;
      if (typeof data.attempt === "number") job.attempt = data.attempt;
      render();
    }
  }

  function openStream() {
    if (source || !ctx.alive) return;
    source = new EventSource(`/v1/jobs/${seg(id)}/events`);
    setLive("connecting", "connecting…");
    source.addEventListener("open", () => setLive("on", "● live"));
    source.addEventListener("snapshot", (e) => {
      const data = parse(e);
      if (!data) return;
      failures = 0;
      job = withSignalUrl(data, job);
      render();
      if (FINAL_STATES.includes(job.state)) {
        closeStream();
        loadLogs();
      }
    });
    source.addEventListener("state", (e) => {
      failures = 0;
      noteState(parse(e));
      refetchSoon();
    });
    source.addEventListener("progress", (e) => {
      const data = parse(e);
      if (data) showProgress(data.percent, data.message);
    });
    for (const final of FINAL_STATES) {
      source.addEventListener(final, (e) => {
        noteState(parse(e) || { state: final });
        closeStream();
        refetchSoon();
      });
    }
    source.onerror = () => {
      if (!source) return;
      if (source.readyState !== EventSource.CLOSED) {
        setLive("reconnecting", "reconnecting…");
        return;
      }
      // Refused (e.g. 401, 404) or the network failed hard: try again with backoff.
      source.close();
      source = null;
      failures += 1;
      if (failures > MAX_STREAM_RETRIES) {
        setLive("off", "not live");
        ctx.error("Cannot follow the job's events; reload the page to try again.", "events");
        return;
      }
      setLive("reconnecting", "reconnecting…");
      retryTimer = setTimeout(() => {
        retryTimer = null;
        // A job that disappeared (deleted) or ended shows that instead.
        loadJob().then((exists) => {
          if (exists && job && !FINAL_STATES.includes(job.state)) openStream();
        }).catch((err) => ctx.error(err));
      }, Math.min(30000, 1000 * 2 ** (failures - 1)));
    };
  }

  // The stream's snapshot has no signal URL (only GET /v1/jobs/{id} gives
  // it): a wait the page already knows keeps the URL it was given.
  function withSignalUrl(next, previous) {
    const was = previous && previous.signal;
    const is = next.signal;
    if (!is || is.url || is.status !== "waiting" || !was || was.status !== "waiting" || !was.url) return next;
    return { ...next, signal: { ...is, url: was.url } };
  }

  function closeStream() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (source) {
      source.close();
      source = null;
    }
    setLive("off", job && FINAL_STATES.includes(job.state) ? "finished" : "");
  }

  async function copy() {
    const text = curl.textContent;
    try {
      await navigator.clipboard.writeText(text);
      setText(copyStatus, "Copied.");
    } catch {
      const range = document.createRange();
      range.selectNodeContents(curl);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      setText(copyStatus, "Selected: press Ctrl+C (⌘C) to copy.");
    }
  }

  ctx.onDispose(() => {
    clearTimeout(refetchTimer);
    closeStream();
  });

  (async () => {
    const exists = await loadJob();
    if (!exists || !ctx.alive) return;
    await loadLogs();
    if (!FINAL_STATES.includes(job.state)) openStream();
    else setLive("off", "finished");
  })().catch((err) => ctx.error(err));

  return null;
}
