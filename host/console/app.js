// The console's shell: which page the address names (#/patient, …), the
// navigation for the signed-in role, and moving focus to each new page's
// heading so keyboard and screen-reader users know where they are.

import { current, end } from "./session.js";
import { h, fill, problem } from "./view.js";
import { complete } from "./oidc.js";
import * as signIn from "./pages/sign-in.js";
import * as patient from "./pages/patient.js";
import * as reception from "./pages/reception.js";
import * as auditor from "./pages/auditor.js";
import * as prescribe from "./pages/prescribe.js";
import * as admin from "./pages/admin.js";

/** The pages, by address, with the roles that may open them. */
const PAGES = {
  "/sign-in": { page: signIn, roles: null, label: "Sign in" },
  "/patient": { page: patient, roles: ["patient"], label: "My appointments" },
  "/prescribe": { page: prescribe, roles: ["clinician"], label: "Prescribe" },
  "/reception": { page: reception, roles: ["receptionist", "clinician"], label: "Appointments" },
  "/admin": { page: admin, roles: ["admin"], label: "Care functions" },
  "/audit": { page: auditor, roles: ["auditor"], label: "Audit trail" },
};

/** Where a role starts: its first page, or null when it has none yet. */
function home(role) {
  const found = Object.entries(PAGES).find(([, entry]) => entry.roles && entry.roles.includes(role));
  return found ? `#${found[0]}` : null;
}

function renderNav(session, path) {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!session) {
    fill(nav);
    fill(who);
    return;
  }
  const links = Object.entries(PAGES)
    .filter(([, entry]) => entry.roles && entry.roles.includes(session.role))
    .map(([p, entry]) => h("li", {}, h("a", { href: `#${p}`, "aria-current": p === path ? "page" : null }, entry.label)));
  fill(nav, h("ul", {}, links));
  fill(who,
    h("span", {}, `${session.name} (${session.role}, ${session.organisation})`),
    h("button", {
      type: "button",
      class: "secondary",
      onclick: () => { end(); location.hash = "#/sign-in"; },
    }, "Sign out"));
}

/** A problem to show on the next page drawn (a failed sign-in's). */
let pendingProblem = null;

async function route() {
  const hash = location.hash || "#/";
  if (!hash.startsWith("#/")) return; // an in-page link, e.g. the skip link
  const path = hash.slice(1).split("?")[0];
  const session = current();
  let entry = PAGES[path];
  if (!entry || (entry.roles && (!session || !entry.roles.includes(session.role)))) {
    const target = (session && home(session.role)) || "#/sign-in";
    if (target !== hash) {
      location.replace(target);
      return;
    }
    entry = PAGES["/sign-in"];
  }
  renderNav(session, path);
  const main = document.getElementById("main");
  fill(main);
  document.title = `${entry.label} · Patchbay`;
  // Each page draws its heading at once, then loads: the heading takes the
  // focus straight away, so people know where they are while it loads.
  const rendering = entry.page.render(main, session, home);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
  await rendering;
  if (pendingProblem) {
    main.prepend(pendingProblem);
    pendingProblem.focus();
    pendingProblem = null;
  }
}

document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});
window.addEventListener("hashchange", route);

// Back from the identity provider: finish the sign-in, then route.
complete().then((signedIn) => {
  const session = current();
  const target = signedIn && session ? home(session.role) || "#/sign-in" : null;
  if (target && location.hash !== target) {
    location.replace(target); // the hash change routes
    return undefined;
  }
  return route();
}).catch((error) => {
  // Shown on the page the routing lands on (perhaps after a redirect).
  pendingProblem = problem({ message: String(error.message || error) }, "sign in");
  return route();
});
