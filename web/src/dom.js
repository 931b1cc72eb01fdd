// A tiny element builder: h("div.cls#id", {attrs}, children...).
export function h(tag, attrs = {}, ...children) {
  const parts = tag.match(/^[^.#]*|[.#][^.#]+/g);
  const el = document.createElement(parts[0] || "div");
  const classes = parts.slice(1).filter((p) => p[0] === ".").map((p) => p.slice(1));
  const id = parts.slice(1).find((p) => p[0] === "#");
  if (classes.length) el.className = classes.join(" ");
  if (id) el.id = id.slice(1);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "style") el.setAttribute("style", v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.round(seconds % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function table(headers, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))), h("tbody", {}, rows));
}
