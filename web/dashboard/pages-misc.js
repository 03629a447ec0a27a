// pages-misc.js: the page for an unknown address.

import { h } from "./dom.js";

export function notFoundPage(main) {
  main.append(
    h("h1", { id: "page-title", tabindex: "-1" }, "Page not found"),
    h("p", null, "There is no such page. ", h("a", { href: "#/" }, "Go to the overview"), "."));
  return null;
}
