// Sign-in. In development mode (the demo) the host offers its demo users and
// signs a token for the one chosen; with an identity provider and the
// console's client id configured, OpenID Connect (see oidc.js).

import { call, get } from "../api.js";
import { start } from "../session.js";
import { h, fill, showProblem, announce } from "../view.js";
import { spaced } from "../nhs-number.js";
import { begin } from "../oidc.js";

const ROLE_NAMES = {
  patient: "Patients",
  receptionist: "Reception",
  clinician: "Clinicians",
  admin: "Trust administration",
  auditor: "Audit",
};

/** Draws the sign-in page; `home(role)` is where a role starts, if anywhere. */
export async function render(main, session, home) {
  main.append(h("h1", {}, "Sign in"));
  const place = h("div");
  main.append(place);
  let config;
  try {
    config = await get("/auth/config");
  } catch (error) {
    showProblem(place, error, "load the sign-in page");
    return;
  }
  if (config.mode === "oidc") {
    const button = h("button", { type: "button" }, "Sign in with your organisation's account");
    const problems = h("div");
    button.addEventListener("click", async () => {
      try {
        await begin(config);
      } catch (error) {
        showProblem(problems, { message: String(error.message || error) }, "reach the identity provider");
      }
    });
    fill(place, h("p", {}, "You sign in with your organisation's account; you come back here after."), problems, button);
    return;
  }
  if (config.mode !== "development") {
    fill(place, h("p", {}, "This service has no sign-in page of its own: its clients sign in with the organisation's identity provider."));
    return;
  }
  let users;
  try {
    users = (await get("/auth/dev-users")).users;
  } catch (error) {
    showProblem(place, error, "load the sign-in page");
    return;
  }
  users = users.filter((u) => home(u.role));
  const form = h("form", { novalidate: true });
  form.append(h("p", { class: "hint" },
    "This is a demonstration service with made-up patients. Choose who to sign in as."));
  for (const [role, title] of Object.entries(ROLE_NAMES)) {
    const ofRole = users.filter((u) => u.role === role);
    if (ofRole.length === 0) continue;
    const set = h("fieldset", {}, h("legend", {}, title));
    for (const user of ofRole) {
      const id = `user-${user.user}`;
      const extra = user.nhs_number ? `, NHS number ${spaced(user.nhs_number)}` : "";
      set.append(h("div", { class: "choice" },
        h("input", { type: "radio", name: "user", id, value: user.user }),
        h("label", { for: id }, `${user.name}${extra}`)));
    }
    form.append(set);
  }
  const errors = h("div");
  form.append(errors, h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[name=user]:checked");
    if (!chosen) {
      fill(errors, h("p", { class: "field-error", role: "alert" }, "Choose who to sign in as"));
      form.querySelector("input[name=user]").focus();
      return;
    }
    const user = users.find((u) => u.user === chosen.value);
    try {
      const answer = await call("POST", "/auth/dev-token", {
        user: user.user, role: user.role, name: user.name,
        organisation: user.organisation, nhs_number: user.nhs_number,
      });
      start(answer);
      announce(`Signed in as ${user.name}`);
      location.hash = home(user.role);
    } catch (error) {
      showProblem(errors, error, "sign in");
    }
  });
  fill(place, form);
}
