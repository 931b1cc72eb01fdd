// Account: who you are, your limits, usage and costs per month, a token for scripts.
import { call, token } from "./api.js";
import { h, table } from "./dom.js";

export async function accountPage(app) {
  const me = await call("/me");
  const { jobs } = await call("/jobs?limit=100");
  const months = {};
  for (const j of jobs) {
    const m = (j.created || "").slice(0, 7);
    const row = (months[m] ||= { jobs: 0, costs: 0, cpu: 0 });
    row.jobs += 1;
    row.costs += j.costs || 0;
    row.cpu += j.usage?.cpu?.value || 0;
  }
  const origin = location.origin;
  const snippet = `import openeo\ncon = openeo.connect("${origin}")\ncon.authenticate_basic("${me.user_id}", "…")`;
  app.replaceChildren(
    h("h1", {}, "Account"),
    table(["user", "name", "plan", "budget", "authentication"], [h("tr", {}, h("td#user-id", {}, me.user_id), h("td", {}, me.name), h("td", {}, me.default_plan), h("td", {}, me.budget ?? "–"), h("td", {}, me.authentication ?? ""))]),
    h("h2", {}, "Limits"),
    table(["limit", "value"], Object.entries(me.limits || {}).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v)))),
    h("h2", {}, "Usage per month"),
    table(["month", "jobs", "costs (credits)", "CPU"], Object.entries(months).sort().map(([m, r]) => h("tr", {}, h("td", {}, m), h("td", {}, r.jobs), h("td", {}, r.costs.toFixed(3)), h("td", {}, r.cpu.toFixed(1))))),
    h("h2", {}, "Token for scripts"),
    h("p", {}, "This page's bearer token (valid until it expires; send it as ", h("code", {}, "Authorization: Bearer …"), "):"),
    h("textarea#token", { rows: 2, readonly: true }, token()),
    h("p", {}, "Or log in from Python:"),
    h("pre", {}, snippet),
  );
}
