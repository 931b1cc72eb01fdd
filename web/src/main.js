// The dashboard: hash routes, the login form, and the pages.
import "ol/ol.css";
import "./style.css";
import { call, login, logout, token } from "./api.js";
import { accountPage } from "./account.js";
import { archivePage } from "./archive.js";
import { collectionsPage } from "./collections.js";
import { h } from "./dom.js";
import { jobPage, jobsPage } from "./jobs.js";
import { resultPage, resultsList } from "./results.js";

const app = document.getElementById("app");
const who = document.getElementById("who");
let timers = [];

function loginPage() {
  const user = h("input#user", { value: "local", autocomplete: "username" });
  const password = h("input#password", { type: "password", autocomplete: "current-password" });
  const msg = h("p.error");
  const submit = async (e) => {
    e.preventDefault();
    try {
      await login(user.value, password.value);
      location.hash = "#/jobs";
    } catch (err) {
      msg.textContent = err.message;
    }
  };
  app.replaceChildren(h("h1", {}, "Log in"), h("form#login", { onsubmit: submit },
    h("label", {}, "User ", user), h("label", {}, "Password ", password), h("button", { type: "submit" }, "Log in"), msg),
    h("p", {}, "In local mode the user is ", h("code", {}, "local"), " and the password is the start-up secret in ", h("code", {}, "<data dir>/local.secret"), " (printed by ", h("code", {}, "eostation serve"), ")."));
}

async function route() {
  timers.forEach(clearInterval);
  timers = [];
  const [, page, id] = (location.hash || "#/jobs").split("/");
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.hash === `#/${page}`));
  if (!token() || page === "login") {
    who.replaceChildren();
    return loginPage();
  }
  call("/me").then((me) => who.replaceChildren(me.user_id, " ", h("button#logout", { onclick: () => { logout(); location.hash = "#/login"; } }, "Log out"))).catch(() => {});
  try {
    if (page === "jobs" && id) await jobPage(app, timers, id);
    else if (page === "results" && id) await resultPage(app, timers, id);
    else if (page === "results") await resultsList(app);
    else if (page === "collections") await collectionsPage(app);
    else if (page === "archive") await archivePage(app);
    else if (page === "account") await accountPage(app);
    else await jobsPage(app, timers);
  } catch (err) {
    app.replaceChildren(h("p.error", {}, err.message));
  }
}

window.addEventListener("hashchange", route);
route();
