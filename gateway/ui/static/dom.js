// Building DOM nodes without innerHTML: every piece of data goes in as text, never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setAttributes(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      node.setAttribute("class", value); // works for SVG too, whose className is read-only
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (name === "value" || name === "checked" || name === "disabled" || name === "selected") {
      node[name] = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

/** An HTML element: el("td", {class: "num"}, "text", otherNode). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  return append(node, children);
}

/** An SVG element, built the same way. */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  return append(node, children);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replace(node, ...children) {
  return append(clear(node), children);
}

/** A table from headings and rows of cells (strings, numbers or nodes). */
export function table(headings, rows, attrs) {
  return el(
    "table",
    attrs || {},
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c)))))),
  );
}

export function numberCell(value) {
  return el("td", { class: "num" }, value);
}

export function usd(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "—";
  if (n === 0) return "$0";
  if (Math.abs(n) < 0.01) return "$" + n.toPrecision(3);
  return "$" + n.toFixed(2);
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  return value < 1 ? (value * 1000).toFixed(1) + " ms" : value.toFixed(2) + " s";
}

export function percent(value) {
  if (value === null || value === undefined) return "—";
  return (value * 100).toFixed(1) + " %";
}

/** A message area: show(text, kind) with kind "error", "ok" or "info". */
export function notice(node) {
  return {
    show(text, kind = "info") {
      node.className = "notice " + kind;
      node.textContent = text;
    },
    clear() {
      node.className = "notice";
      node.textContent = "";
    },
  };
}

export function errorText(reply) {
  const error = reply && reply.data && reply.data.error;
  if (error && error.message) return error.message;
  return `request failed (${reply ? reply.status : "no reply"})`;
}
