// The auditor's page: the organisation's audit trail, filtered by user,
// patient, action and time, with the hash chain's verification shown.

import { get } from "../api.js";
import { h, fill, field, when, showProblem, announce } from "../view.js";

const PAGE = 100;

/** Draws the audit trail page. */
export async function render(main) {
  main.append(h("h1", {}, "Audit trail"));
  const verdict = h("div", { id: "chain" });
  main.append(verdict);
  get("/audit/verify").then((v) => {
    fill(verdict, v.intact
      ? h("p", { class: "success" }, h("span", { class: "status status-ok" }, "Chain intact: "),
        `all ${v.entries} entries are in place and unchanged.`)
      : h("div", { class: "error", role: "alert" }, h("strong", {}, "The chain is broken: "),
        `entry ${v.seq} does not fit (${v.reason}). The trail may have been changed.`));
  }).catch((error) => showProblem(verdict, error, "verify the audit chain"));

  const inputs = {
    user: h("input", { type: "text", name: "user", autocomplete: "off" }),
    patient: h("input", { type: "text", name: "patient", inputmode: "numeric", autocomplete: "off" }),
    action: h("input", { type: "text", name: "action", autocomplete: "off" }),
    since: h("input", { type: "datetime-local", name: "since" }),
    until: h("input", { type: "datetime-local", name: "until" }),
  };
  const form = h("form", { novalidate: true, role: "search", "aria-label": "Filter the audit trail" },
    h("div", { class: "filters" },
      field("User", inputs.user, "A user id, e.g. reception-1"),
      field("Patient's NHS number", inputs.patient),
      field("Action", inputs.action, "Its start, e.g. appointment or slot."),
      field("From", inputs.since),
      field("Until", inputs.until)),
    h("button", { type: "submit" }, "Show entries"));
  const results = h("div", { id: "entries" });
  main.append(form, results);

  let after = 0;
  let rows = null;

  function query() {
    const ms = (input) => (input.value ? new Date(input.value).getTime() : undefined);
    return {
      user: inputs.user.value.trim(),
      patient: inputs.patient.value.replace(/\s/g, ""),
      action: inputs.action.value.trim(),
      since: ms(inputs.since),
      until: ms(inputs.until),
      after,
      limit: PAGE,
    };
  }

  async function load(more) {
    if (!more) after = 0;
    let page;
    try {
      page = (await get("/audit", query())).entries;
    } catch (error) {
      showProblem(results, error, "read the audit trail");
      return;
    }
    if (!more) {
      rows = h("tbody");
      const table = h("table", {},
        h("caption", { class: "visually-hidden" }, "Audit entries, oldest first"),
        h("thead", {}, h("tr", {}, ["#", "Time", "User", "Role", "Action", "Patient", "Resource", "Outcome"]
          .map((t) => h("th", { scope: "col" }, t)))),
        rows);
      fill(results, page.length === 0 ? h("p", {}, "No entries match.") : h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Audit entries" }, table));
    }
    for (const e of page) {
      rows.append(h("tr", {},
        h("td", {}, e.seq), h("td", {}, when(e.time_ms)), h("td", {}, e.user_name ? `${e.user_name} (${e.user})` : e.user),
        h("td", {}, e.role), h("td", {}, e.action), h("td", {}, e.patient || ""), h("td", {}, e.resource || ""),
        h("td", { class: e.outcome === "success" ? "status-ok" : "" }, e.outcome)));
    }
    results.querySelector(".more")?.remove();
    if (page.length === PAGE) {
      after = page[page.length - 1].seq;
      results.append(h("button", { type: "button", class: "secondary more", onclick: () => load(true) }, "Show more"));
    }
    announce(`${page.length} ${more ? "more " : ""}entries shown`);
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load(false); });
  await load(false);
}
