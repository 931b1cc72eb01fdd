// A process graph drawn as nodes (boxes) and edges (from_node arrows), in layers by depth.
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function refs(value, out = new Set()) {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === "object") {
    if (typeof value.from_node === "string") out.add(value.from_node);
    else for (const [k, v] of Object.entries(value)) if (k !== "process_graph") refs(v, out);
  }
  return out;
}

function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

export function drawGraph(graph, failing = new Set()) {
  const ids = Object.keys(graph);
  const inputs = Object.fromEntries(ids.map((id) => [id, [...refs(graph[id].arguments || {})]]));
  const depth = {};
  const visit = (id, seen = new Set()) => {
    if (depth[id] !== undefined) return depth[id];
    if (seen.has(id)) return 0;
    seen.add(id);
    depth[id] = Math.max(-1, ...inputs[id].filter((i) => graph[i]).map((i) => visit(i, seen))) + 1;
    return depth[id];
  };
  ids.forEach((id) => visit(id));
  const columns = [];
  ids.forEach((id) => (columns[depth[id]] ||= []).push(id));
  const W = 170, H = 46, GX = 50, GY = 22;
  const pos = {};
  columns.forEach((col, c) => col.forEach((id, r) => (pos[id] = { x: 10 + c * (W + GX), y: 10 + r * (H + GY) })));
  const width = 20 + columns.length * (W + GX);
  const height = 20 + Math.max(...columns.map((c) => c.length)) * (H + GY);
  const svg = s("svg", { width, height, class: "graph", viewBox: `0 0 ${width} ${height}` });
  svg.append(s("defs", {}));
  svg.firstChild.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#667"/></marker>';
  for (const id of ids) {
    for (const src of inputs[id]) {
      if (!pos[src]) continue;
      const a = pos[src], b = pos[id];
      svg.append(s("path", { class: "edge", d: `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}`, "marker-end": "url(#arrow)" }));
    }
  }
  for (const id of ids) {
    const p = pos[id];
    const g = s("g", { class: "node" + (failing.has(id) ? " failing" : ""), "data-node": id, transform: `translate(${p.x},${p.y})` });
    g.append(s("rect", { width: W, height: H, rx: 6 }));
    g.append(s("text", { x: 8, y: 18, class: "pid" }, graph[id].process_id));
    g.append(s("text", { x: 8, y: 36, class: "nid" }, id + (graph[id].result ? " (result)" : "")));
    svg.append(g);
  }
  return h("div.graph-wrap", {}, svg);
}
