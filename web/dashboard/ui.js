// ui.js: shared pieces of the dashboard's interface: the error area, the
// confirmation dialog, state badges, and the per-page context that cancels a
// page's requests and timers when the page is left.

import { describeError, isAbort } from "./api.js";
import { h, byId, setText } from "./dom.js";

// --- Errors (role="alert" area under the navigation) ---------------------------

const shownErrors = new Map(); // key -> element

// Shows an error; one with the same key replaces the previous (so a failing
// poll does not pile up messages).
export function showError(err, key) {
  if (isAbort(err)) return;
  const area = byId("alerts");
  const text = typeof err === "string" ? err : describeError(err);
  const id = key || text;
  const existing = shownErrors.get(id);
  if (existing) {
    setText(existing.querySelector(".alert-text"), text);
    return;
  }
  const item = h("div", { class: "alert", "data-testid": "error" },
    h("span", { class: "alert-text" }, text),
    h("button", {
      type: "button", class: "alert-close", "aria-label": "Dismiss",
      onclick: () => clearError(id),
    }, "×"));
  shownErrors.set(id, item);
  area.appendChild(item);
}

export function clearError(key) {
  const item = shownErrors.get(key);
  if (item) {
    item.remove();
    shownErrors.delete(key);
  }
}

export function clearErrors() {
  for (const key of [...shownErrors.keys()]) clearError(key);
}

// --- Confirmation dialog ------------------------------------------------------

// Resolves true when the user confirms. The <dialog> is in index.html.
export function confirmDialog({ title, message, ok = "Confirm", danger = false }) {
  const dialog = byId("confirm-dialog");
  const okButton = byId("confirm-ok");
  const cancelButton = byId("confirm-cancel");
  const opener = document.activeElement;
  setText(byId("confirm-title"), title);
  setText(byId("confirm-message"), message);
  setText(okButton, ok);
  okButton.classList.toggle("danger", danger);
  return new Promise((resolve) => {
    const done = (value) => {
      okButton.removeEventListener("click", onOk);
      cancelButton.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(value);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false); // Escape
    okButton.addEventListener("click", onOk);
    cancelButton.addEventListener("click", onCancel);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    cancelButton.focus();
  });
}

export function closeDialog() {
  const dialog = byId("confirm-dialog");
  if (dialog.open) dialog.close();
}

// --- Small widgets ------------------------------------------------------------

export function stateBadge(state, attrs = {}) {
  return h("span", { class: `badge state-${state || "unknown"}`, ...attrs }, state || "—");
}

export function updateStateBadge(el, state) {
  el.className = `badge state-${state || "unknown"}`;
  setText(el, state || "—");
}

// A button that runs an async action once at a time, reporting errors.
export function actionButton(label, attrs, action) {
  const button = h("button", { type: "button", ...attrs }, label);
  button.addEventListener("click", async () => {
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    try {
      await action(button);
    } catch (err) {
      showError(err);
    } finally {
      button.removeAttribute("aria-busy");
    }
  });
  return button;
}

// --- Page context -------------------------------------------------------------

// Each page gets one: ctx.signal aborts its requests, ctx.poll runs a task
// now and every `ms` after it settles, and ctx.error reports only while the
// page is still shown. ctx.dispose() ends it all.
export function pageContext() {
  const controller = new AbortController();
  const timers = new Set();
  const cleanups = [];
  const ctx = {
    signal: controller.signal,
    get alive() {
      return !controller.signal.aborted;
    },
    error(err, key) {
      if (ctx.alive) showError(err, key);
    },
    clearError(key) {
      clearError(key);
    },
    // Runs task() now and then every ms after it settles; skips runs while the
    // tab is hidden and catches up when it is shown again. Returns {now()}.
    poll(task, ms) {
      let timer = null;
      let running = null;
      let again = false;
      const run = async () => {
        clearTimeout(timer);
        timers.delete(timer);
        timer = null;
        if (!ctx.alive) return;
        if (running) {
          again = true;
          return running;
        }
        running = (async () => {
          if (document.hidden) return;
          try {
            await task();
          } catch (err) {
            ctx.error(err);
          }
        })();
        await running;
        running = null;
        if (again) {
          again = false;
          return run();
        }
        if (ctx.alive) {
          timer = setTimeout(run, ms);
          timers.add(timer);
        }
      };
      const onVisible = () => {
        if (!document.hidden) run();
      };
      document.addEventListener("visibilitychange", onVisible);
      cleanups.push(() => document.removeEventListener("visibilitychange", onVisible));
      run();
      return { now: run };
    },
    onDispose(fn) {
      cleanups.push(fn);
    },
    dispose() {
      controller.abort();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const fn of cleanups.splice(0)) {
        try {
          fn();
        } catch (err) {
          showError(err);
        }
      }
    },
  };
  return ctx;
}
