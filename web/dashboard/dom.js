// dom.js: a small element helper and DOM utilities for the dashboard.
// Every piece of text from the API goes through text nodes, never innerHTML.

const BOOLEAN_PROPS = new Set(["hidden", "disabled", "checked", "open", "selected", "indeterminate"]);

// h("a", {href: "#/", class: "x", onclick: fn, dataset: {id}}, "text", child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false && !BOOLEAN_PROPS.has(key)) continue;
      if (key === "class") el.className = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (BOOLEAN_PROPS.has(key) || key === "value") el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

// Sets textContent only when it changed, so unchanged values cause no work.
export function setText(el, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (el.textContent !== value) el.textContent = value;
}

export function byId(id) {
  return document.getElementById(id);
}
