// app.js: the Errand dashboard's entry point: session and login, hash routing
// between the pages, navigation and logout.
//
// Test hooks (ids and data-testid), by page:
//   shell      #nav, #nav-overview, #nav-queues, #nav-jobs, #nav-dead, #nav-scheduled,
//              #nav-schedules (the current one has aria-current=page), #logout,
//              #loopback-banner (role=status), #alerts (role=alert) holding
//              [data-testid=error] items, #main, #page-title (every page's <h1>)
//   dialog     #confirm-dialog, #confirm-title, #confirm-message, #confirm-ok, #confirm-cancel
//   login      #login-form, #login-key, #login-method-key, #login-method-password (only
//              when the server offers the password), #login-submit, #login-error (role=alert)
//   overview   #throughput-chart (a uPlot <canvas> inside), #stats-window-5m|15m|1h
//              (aria-pressed), #stats-updated, [data-testid=state-count-<state>] for the 9
//              states, #overview-queues with [data-testid=overview-queue-row][data-queue]
//              (#overview-queues-empty when none), #latency-p50, #latency-p95,
//              #latency-samples, #workers-connected, #workers-waiting
//   queues     #queues-table, [data-testid=queue-row][data-queue][data-paused] holding
//              [data-testid=queue-count-<state>], [data-testid=queue-processed],
//              [data-testid=queue-failed], [data-testid=queue-paused],
//              [data-testid=queue-toggle], a [data-testid=queue-link] to the queue's
//              page; #queues-empty when none
//   queue      (#/queues/<name>) #queue-name, #queue-status (data-paused), #queue-toggle,
//              #queue-jobs, [data-testid=queue-count-<state>], #queue-config with
//              [data-testid=config-concurrency|config-rate-limit|config-key-concurrency|
//              config-key-rate-limit|config-priority|config-max-attempts|config-timeout|
//              config-push], #queue-keys with [data-testid=key-row][data-key][data-paused]
//              [data-throttled] holding [data-testid=key-link], key-queued, key-running,
//              key-concurrency, key-rate-limit, key-weight, key-status, key-toggle;
//              #queue-keys-empty when none; #queue-not-found
//   jobs       (also #/dead and #/scheduled) #job-search-form, #job-search, #jobs-filters,
//              #filter-queue, #filter-state (not on #/dead, #/scheduled), #filter-type,
//              #filter-key, #filter-tag, #filter-since, #filter-until, #filter-apply, #filter-clear,
//              #jobs-table, #select-all, [data-testid=job-row][data-id][data-state] with a
//              [data-testid=job-select] checkbox, #jobs-empty, #selected-count,
//              #bulk-retry, #bulk-cancel (not on #/dead), #bulk-delete, #bulk-result
//              holding [data-testid=bulk-summary], [data-testid=bulk-succeeded] and
//              [data-testid=bulk-failure][data-id] items, #page-newer, #page-next,
//              #page-number, #jobs-partial, #jobs-refresh, #jobs-hint; #tab-scheduled, #tab-failed
//              (on #/scheduled)
//   job        #job-id, #job-state, #job-live (data-live on|connecting|reconnecting|off),
//              #job-key (a link to the key's jobs; absent for a job without a key),
//              #job-progress (role=progressbar, aria-valuenow), #job-progress-message,
//              #job-retry, #job-cancel, #job-delete, #job-details, #job-payload,
//              #job-result, #job-attempts with [data-testid=attempt][data-attempt],
//              #job-timeline with [data-testid=timeline-entry][data-state], #job-curl,
//              #copy-curl, #job-not-found; #job-workflow (hidden outside a workflow) with
//              #job-parents holding [data-testid=parent][data-id][data-state] with a
//              [data-testid=parent-link], #job-after-failure (data-value cancel|run),
//              #job-children with [data-testid=child-link][data-id], #job-batch (a link to
//              the batch), #job-signal (data-status) with #job-signal-url and
//              #copy-signal-url while waiting, #job-signal-body once received,
//              #job-on-done (data-state) with #job-on-done-state, #job-push-continuations
//   batch      (#/batches/<id>) #batch-id, #batch-state (data-state open|sealed|done),
//              #batch-progress (role=progressbar, aria-valuenow: % ended),
//              [data-testid=batch-count-total|succeeded|dead|cancelled|pending],
//              #batch-details, #batch-callbacks with [data-testid=callback-success|
//              complete|death][data-fired] holding a [data-testid=callback-job] link once
//              fired, #batch-jobs with [data-testid=job-row][data-id][data-state],
//              #batch-jobs-empty, #batch-page-newer, #batch-page-next, #batch-page-number,
//              #batch-jobs-link (the jobs list filtered by batch, #jobs-batch there),
//              #batch-not-found
//   schedules  #schedules-table, [data-testid=schedule-row][data-name][data-paused]
//              holding [data-testid=schedule-next], [data-testid=schedule-last],
//              [data-testid=schedule-status], [data-testid=schedule-trigger],
//              [data-testid=schedule-toggle]; #schedules-empty when none;
//              #schedule-notice with [data-testid=triggered-job] after a trigger

import { api, describeError, setCsrfToken, setUnauthorizedHandler } from "./api.js";
import { byId } from "./dom.js";
import { clearErrors, closeDialog, pageContext, showError } from "./ui.js";
import { loginPage } from "./pages-login.js";
import { overviewPage } from "./pages-overview.js";
import { queuesPage } from "./pages-queues.js";
import { queuePage } from "./pages-queue.js";
import { jobsPage, deadPage, scheduledPage } from "./pages-jobs.js";
import { jobPage } from "./pages-job.js";
import { batchPage } from "./pages-batch.js";
import { schedulesPage } from "./pages-schedules.js";
import { notFoundPage } from "./pages-misc.js";

const session = { mode: null, authenticated: false, methods: ["key"], expiresAt: null };

// --- Routing ------------------------------------------------------------------

// "#/jobs?state=dead" -> {path: "/jobs", params: URLSearchParams}
function currentRoute() {
  const hash = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
  const q = hash.indexOf("?");
  const path = (q < 0 ? hash : hash.slice(0, q)).replace(/\/+$/, "") || "/";
  return { path, params: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)) };
}

function resolve(path) {
  switch (path) {
    case "/": return { key: "overview", nav: "nav-overview", page: overviewPage };
    case "/queues": return { key: "queues", nav: "nav-queues", page: queuesPage };
    case "/jobs": return { key: "jobs", nav: "nav-jobs", page: jobsPage };
    case "/dead": return { key: "dead", nav: "nav-dead", page: deadPage };
    case "/scheduled": return { key: "scheduled", nav: "nav-scheduled", page: scheduledPage };
    case "/schedules": return { key: "schedules", nav: "nav-schedules", page: schedulesPage };
    default: {
      const job = /^\/jobs\/([^/]+)$/.exec(path);
      if (job) {
        const id = decoded(job[1]);
        return { key: `job:${id}`, nav: "nav-jobs", page: jobPage, arg: id };
      }
      const batch = /^\/batches\/([^/]+)$/.exec(path);
      if (batch) {
        const id = decoded(batch[1]);
        return { key: `batch:${id}`, nav: "nav-jobs", page: batchPage, arg: id };
      }
      const queue = /^\/queues\/([^/]+)$/.exec(path);
      if (queue) {
        const name = decoded(queue[1]);
        return { key: `queue:${name}`, nav: "nav-queues", page: queuePage, arg: name };
      }
      return { key: "not-found", nav: null, page: notFoundPage };
    }
  }
}

function decoded(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // keep it as written
  }
}

let current = null; // {key, ctx, view}

function unmount() {
  if (!current) return;
  current.ctx.dispose();
  current = null;
  closeDialog();
}

function mount(route, focus) {
  const target = resolve(route.path);
  if (current && current.key === target.key && current.view && typeof current.view.update === "function") {
    current.view.update(route.params);
    return;
  }
  unmount();
  clearErrors();
  const main = byId("main");
  main.replaceChildren();
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.id === target.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const ctx = pageContext();
  current = { key: target.key, ctx, view: null };
  current.view = target.page(main, ctx, route.params, target.arg) || null;
  const title = byId("page-title");
  document.title = title ? `${title.textContent} · Errand` : "Errand";
  if (focus && title) title.focus({ preventScroll: false });
}

function render(focus) {
  if (!session.authenticated) {
    showLogin();
    return;
  }
  byId("nav").hidden = false;
  byId("logout").hidden = !(session.mode === "keys");
  mount(currentRoute(), focus);
}

// --- Session ------------------------------------------------------------------

function showLogin(message) {
  unmount();
  current = null;
  byId("nav").hidden = true;
  byId("logout").hidden = true;
  const main = byId("main");
  main.replaceChildren();
  const ctx = pageContext();
  current = { key: "login", ctx, view: null };
  document.title = "Log in · Errand";
  loginPage(main, ctx, {
    methods: session.methods,
    message,
    onLogin(answer) {
      session.authenticated = true;
      session.mode = "keys";
    document.documentElement.dataset.authMode = session.mode;
      session.expiresAt = answer && answer.expires_at;
      setCsrfToken(answer && answer.csrf_token);
      unmount();
      render(false);
    },
  });
}

setUnauthorizedHandler(() => {
  if (!session.authenticated) return;
  session.authenticated = false;
  setCsrfToken(null);
  clearErrors();
  showLogin("Your session has ended. Log in again.");
});

async function loadSession() {
  try {
    const s = await api("GET", "/v1/session", { auth: false });
    session.mode = s.mode;
    document.documentElement.dataset.authMode = s.mode || "";
    session.authenticated = Boolean(s.authenticated);
    session.methods = Array.isArray(s.methods) && s.methods.length ? s.methods : ["key"];
    session.expiresAt = s.expires_at || null;
    setCsrfToken(s.csrf_token);
  } catch (err) {
    if (err.status === 401) {
      session.authenticated = false;
      return null;
    }
    // Without a session endpoint, go on: a 401 from any page brings the login.
    session.mode = null;
    session.authenticated = true;
    return `Cannot read the session: ${describeError(err)}`;
  }
  return null;
}

async function logout() {
  const button = byId("logout");
  button.disabled = true;
  try {
    await api("DELETE", "/v1/session", { auth: false });
  } catch (err) {
    if (err.status !== 401) {
      showError(err);
      return;
    }
  } finally {
    button.disabled = false;
  }
  session.authenticated = false;
  session.expiresAt = null;
  setCsrfToken(null);
  clearErrors();
  showLogin("You are logged out.");
}

async function start() {
  byId("logout").addEventListener("click", () => {
    logout().catch(showError);
  });
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    byId("main").focus();
  });
  const problem = await loadSession();
  byId("loopback-banner").hidden = session.mode !== "loopback";
  window.addEventListener("hashchange", () => {
    if (session.authenticated) render(true);
  });
  render(false);
  if (problem) showError(problem, "session");
}

start().catch((err) => showError(err));
