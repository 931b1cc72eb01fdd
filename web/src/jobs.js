// Jobs: the live list, the "new job" form, and a job's page (graph, log, actions).
import { call } from "./api.js";
import { fmtDuration, h, table } from "./dom.js";
import { EXAMPLES } from "./examples.js";
import { drawGraph } from "./graph.js";

const ACTIVE = new Set(["queued", "running"]);
const details = new Map();

function duration(job) {
  if (!job.started) return null;
  const end = job.finished ? Date.parse(job.finished) : Date.now();
  return (end - Date.parse(job.started)) / 1000;
}

function progressBar(job) {
  const p = job.progress ?? 0;
  return h("div.progress", { title: `${p} %` }, h("div.bar", { style: `width:${p}%` }), h("span", { "data-progress": p }, `${p} %`));
}

async function act(id, what) {
  if (what === "start") await call(`/jobs/${id}/results`, { method: "POST" });
  if (what === "stop") await call(`/jobs/${id}/results`, { method: "DELETE" });
  if (what === "delete") await call(`/jobs/${id}`, { method: "DELETE" });
}

function buttons(job, after) {
  const b = (label, what) => h("button", { "data-action": what, onclick: async (e) => { e.preventDefault(); await act(job.id, what); after(); } }, label);
  const out = [];
  if (job.status === "created") out.push(b("Start", "start"));
  if (ACTIVE.has(job.status)) out.push(b("Stop", "stop"));
  if (["finished", "error", "canceled"].includes(job.status)) out.push(b("Restart", "start"));
  out.push(b("Delete", "delete"));
  return out;
}

function newJobForm(refresh) {
  const names = Object.keys(EXAMPLES);
  const text = h("textarea", { id: "graph", rows: 12 }, JSON.stringify(EXAMPLES[names[0]], null, 1));
  const pick = h("select", { id: "example", onchange: () => (text.value = JSON.stringify(EXAMPLES[pick.value], null, 1)) }, names.map((n) => h("option", { value: n }, n)));
  const title = h("input", { id: "title", placeholder: "title", value: "" });
  const msg = h("span.msg");
  const submit = async (e) => {
    e.preventDefault();
    try {
      const process = { process_graph: JSON.parse(text.value) };
      const r = await call("/jobs", { method: "POST", body: { title: title.value || pick.value, process }, raw: true });
      const id = r.headers.get("OpenEO-Identifier");
      await call(`/jobs/${id}/results`, { method: "POST" });
      msg.textContent = `Job ${id} started.`;
      refresh();
    } catch (err) {
      msg.textContent = err.message;
    }
  };
  return h("details.new", {}, h("summary", {}, "New job"), h("form", { onsubmit: submit }, pick, title, text, h("button", { id: "create", type: "submit" }, "Create and start"), msg));
}

export async function jobsPage(app, timers) {
  const statusFilter = h("select", { id: "status-filter", onchange: () => refresh() }, ["all", "created", "queued", "running", "finished", "error", "canceled"].map((s) => h("option", { value: s }, s)));
  const body = h("div#jobs");
  app.replaceChildren(h("h1", {}, "Jobs"), newJobForm(() => refresh()), h("p", {}, "Status: ", statusFilter), body);
  async function refresh() {
    const { jobs } = await call("/jobs?limit=100");
    for (const job of jobs) {
      const old = details.get(job.id);
      if (!old || old.status !== job.status || ACTIVE.has(job.status)) details.set(job.id, await call(`/jobs/${job.id}`));
    }
    const shown = jobs.filter((j) => statusFilter.value === "all" || j.status === statusFilter.value);
    const rows = shown.map((j) => {
      const d = { ...details.get(j.id), ...j };
      return h("tr", { "data-job": j.id, class: "status-" + j.status },
        h("td", {}, h("a", { href: `#/jobs/${j.id}` }, j.title || j.id)),
        h("td.status", {}, j.status),
        h("td", {}, progressBar(d)),
        h("td.queue", {}, d.queue_position ?? "–"),
        h("td", {}, fmtDuration(duration(d))),
        h("td", {}, d.costs ?? "–"),
        h("td", {}, j.status === "finished" ? h("a", { href: `#/results/${j.id}` }, "map") : ""),
        h("td", {}, buttons(j, refresh)));
    });
    body.replaceChildren(table(["job", "status", "progress", "queue", "duration", "costs", "result", ""], rows));
  }
  await refresh();
  timers.push(setInterval(() => refresh().catch(() => {}), 1500));
}

function failingNodes(logs) {
  const out = new Set();
  for (const entry of logs) {
    if (entry.level !== "error") continue;
    for (const step of entry.path || []) if (step.node_id) out.add(step.node_id);
  }
  return out;
}

export async function jobPage(app, timers, id) {
  const head = h("div");
  const graphBox = h("div");
  const level = h("select", { id: "log-level", onchange: () => refresh() }, ["debug", "info", "warning", "error"].map((l) => h("option", { value: l }, l)));
  const logBox = h("div#log");
  const estimate = h("div#estimate", {}, h("button", { onclick: async () => {
    const e = await call(`/jobs/${id}/estimate`).catch((err) => ({ error: err.message }));
    estimate.replaceChildren(h("pre", {}, JSON.stringify(e, null, 1)));
  } }, "Estimate"));
  app.replaceChildren(h("h1", {}, "Job ", h("code", {}, id)), head, estimate, h("h2", {}, "Process graph"), graphBox, h("h2", {}, "Log ", level), logBox);
  let lastStatus = null;
  async function refresh() {
    const job = await call(`/jobs/${id}`);
    const { logs } = await call(`/jobs/${id}/logs?level=${level.value}&limit=1000`);
    const errors = level.value === "error" ? logs : (await call(`/jobs/${id}/logs?level=error&limit=1000`)).logs;
    head.replaceChildren(
      table(["status", "progress", "queue", "duration", "costs", "budget", ""], [h("tr", {},
        h("td.status", {}, job.status), h("td", {}, progressBar(job)), h("td", {}, job.queue_position ?? "–"),
        h("td", {}, fmtDuration(duration(job))), h("td", {}, job.costs ?? "–"), h("td", {}, job.budget ?? "–"),
        h("td", {}, buttons(job, refresh), job.status === "finished" ? h("a", { href: `#/results/${id}` }, " result on the map") : ""))]),
      job.queue_reason ? h("p", {}, job.queue_reason) : "");
    if (lastStatus !== job.status) graphBox.replaceChildren(drawGraph(job.process.process_graph, failingNodes(errors)));
    lastStatus = job.status;
    logBox.replaceChildren(table(["time", "level", "message", "node"], logs.map((e) => h("tr", { class: "log-" + e.level },
      h("td", {}, e.time || ""), h("td", {}, e.level), h("td", {}, e.message), h("td", {}, (e.path || []).map((p) => p.node_id).filter(Boolean).join(" ← "))))));
  }
  await refresh();
  timers.push(setInterval(() => refresh().catch(() => {}), 2000));
}
