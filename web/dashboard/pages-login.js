// pages-login.js: the login page: an admin key, or the dashboard password when
// the server offers one, exchanged for a session cookie (POST /v1/session).

import { api, describeError } from "./api.js";
import { h, setText } from "./dom.js";

export function loginPage(main, ctx, { methods, message, onLogin }) {
  const offersPassword = methods.includes("password");
  let method = "key";

  const label = h("label", { for: "login-key" }, "Admin key");
  const input = h("input", {
    id: "login-key", name: "secret", type: "password", required: true,
    autocomplete: "current-password", spellcheck: "false", autocapitalize: "off",
  });
  const error = h("p", { id: "login-error", class: "form-error", role: "alert" });
  const submit = h("button", { id: "login-submit", type: "submit", class: "primary" }, "Log in");

  function choose(next) {
    method = next;
    setText(label, next === "password" ? "Dashboard password" : "Admin key");
    input.value = "";
    setText(error, "");
  }

  const methodChoice = offersPassword
    ? h("fieldset", { class: "segmented" },
      h("legend", { class: "visually-hidden" }, "Log in with"),
      h("label", null,
        h("input", { type: "radio", name: "method", id: "login-method-key", value: "key", checked: true, onchange: () => choose("key") }),
        " Admin key"),
      h("label", null,
        h("input", { type: "radio", name: "method", id: "login-method-password", value: "password", onchange: () => choose("password") }),
        " Dashboard password"))
    : null;

  const form = h("form", { id: "login-form", class: "card login-card", novalidate: true },
    h("h1", { id: "page-title", tabindex: "-1" }, "Log in to Errand"),
    message ? h("p", { class: "muted", role: "status" }, message) : null,
    h("p", { class: "muted" }, offersPassword
      ? "Use an admin key of this server, or the dashboard password."
      : "Use an admin key of this server."),
    methodChoice,
    h("div", { class: "field" }, label, input),
    error,
    h("div", { class: "form-buttons" }, submit));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const secret = input.value;
    if (!secret) {
      setText(error, method === "password" ? "Enter the dashboard password." : "Enter an admin key.");
      input.focus();
      return;
    }
    submit.disabled = true;
    setText(error, "");
    try {
      const body = method === "password" ? { password: secret } : { key: secret };
      const answer = await api("POST", "/v1/session", { body, auth: false, signal: ctx.signal });
      if (!ctx.alive) return;
      onLogin(answer);
    } catch (err) {
      if (!ctx.alive || err.name === "AbortError") return;
      setText(error, describeError(err));
      input.select();
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });

  main.append(h("div", { class: "login-wrap" }, form));
  input.focus();
  return null;
}
