// A trust's service manager: each care function's active module, its
// supplier, version and health; adding a signed package; deploying,
// rolling back, starting a canary or a shadow, reading the shadow's report
// side by side, promoting or aborting, each with a reason; and each slot's
// deployment history as a timeline.

import { call, get } from "../api.js";
import { h, fill, field, when, showProblem, announce, newId, reasonForm } from "../view.js";

const FUNCTIONS = { scheduling: "Scheduling appointments", prescribing: "Prescribing" };

/** supplier/name@version as its parts. */
export function moduleParts(label) {
  const [path, version] = label.split("@");
  const [supplier, name] = path.split("/");
  return { supplier, name, version };
}

function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Where an admin's reason is kept. */
const KEPT = "Kept in the deployment history and the audit trail";

function healthView(slot) {
  const calls = slot.calls || { calls: 0, failures: 0, mean_ms: 0 };
  return h("dl", { class: "facts" },
    h("dt", {}, "Health"), h("dd", { class: slot.healthy ? "status status-ok" : "status status-bad" },
      slot.healthy ? "Healthy" : "Failing: automatic rollback is due"),
    h("dt", {}, "Calls"), h("dd", {}, `${calls.calls} since the host started, ${calls.failures} failed`),
    h("dt", {}, "Mean call time"), h("dd", {}, calls.calls ? `${calls.mean_ms.toFixed(1)} ms` : "no calls yet"));
}

function reportView(trial) {
  const report = trial.report;
  if (!report) return h("p", {}, `A canary: ${trial.percent}% of patients go to ${trial.module}.`);
  const functions = Object.entries(report.functions || {});
  const agreed = functions.reduce((n, [, t]) => n + t.agreed, 0);
  const total = functions.reduce((n, [, t]) => n + t.agreed + t.differed, 0);
  const parts = [h("p", { class: "agreement" }, total === 0
    ? "No calls compared yet."
    : `${agreed} of ${total} answers agree (${Math.round((100 * agreed) / total)}%).`)];
  if (functions.length > 0) {
    parts.push(h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "Agreement by function"),
      h("thead", {}, h("tr", {}, ["Function", "Agreed", "Differed", "Candidate failed"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, functions.map(([name, t]) => h("tr", {},
        h("th", { scope: "row" }, name), h("td", {}, t.agreed), h("td", {}, t.differed), h("td", {}, t.candidate_failed)))))));
  }
  if ((report.differences || []).length > 0) {
    parts.push(h("div", { class: "table-wrap" }, h("table", { class: "differences" },
      h("caption", {}, "Latest differences, side by side"),
      h("thead", {}, h("tr", {}, ["When", "Function", "Live module answered", "Candidate answered"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, report.differences.slice().reverse().map((d) => h("tr", {},
        h("td", {}, when(d.at_ms)), h("th", { scope: "row" }, d.function), h("td", {}, h("code", {}, d.live)), h("td", {}, h("code", {}, d.candidate))))))));
  }
  return h("div", {}, parts);
}

function historyView(history) {
  if (history.length === 0) return h("p", {}, "No deployments recorded.");
  return h("ol", { class: "timeline", reversed: true },
    history.slice().reverse().map((d) => h("li", {},
      h("p", {}, h("strong", {}, `${capitalised(d.action.replace("-", " "))}: ${d.module}`)),
      h("p", { class: "meta" }, `${when(d.deployed_ms)} by ${d.deployed_by}`),
      h("p", {}, `Why: ${d.reason}`))));
}

/** Draws the admin page. */
export async function render(main) {
  main.append(h("h1", {}, "Care functions"));
  const status = h("div", { id: "admin-status" });
  const slotsPlace = h("div", { id: "slots" });
  const upload = uploadSection(async () => { await refresh(); });
  const reload = h("button", { type: "button", class: "secondary" }, "Refresh");
  reload.addEventListener("click", async () => {
    await refresh();
    announce("Care functions updated");
  });
  main.append(reload, status, slotsPlace, upload);

  async function done(message) {
    await refresh();
    fill(status, h("p", { class: "success", tabindex: "-1" }, message));
    announce(message);
    status.firstChild.focus();
  }

  async function refresh() {
    let slots;
    let modules;
    try {
      [slots, modules] = await Promise.all([get("/admin/slots"), get("/admin/modules")]);
    } catch (error) {
      showProblem(slotsPlace, error, "load the care functions");
      return;
    }
    const sections = [];
    for (const slot of slots.slots) {
      let history = [];
      try {
        history = (await get(`/admin/slots/${slot.function}/history`)).history;
      } catch (error) {
        history = null;
      }
      sections.push(slotSection(slot, modules.modules, history, done));
    }
    fill(slotsPlace, sections);
  }
  await refresh();
}

/** What a module's manifest says it needs, in words. */
function needsText(needs) {
  const parts = [];
  if (needs && needs.memory_bytes) {
    parts.push(`${Math.round(needs.memory_bytes / 1048576)} MiB of memory an instance`);
  }
  if (needs && needs.deadline) parts.push(`up to ${needs.deadline} ms a call`);
  return parts.length
    ? `${parts.join(", ")}: a deploy is refused where the organisation's limits are lower`
    : "nothing beyond the host's limits";
}

function slotSection(slot, modules, history, done) {
  const headingId = `slot-${slot.function}`;
  const parts = moduleParts(slot.module);
  const section = h("section", { class: "card slot", "aria-labelledby": headingId, "data-function": slot.function },
    h("h2", { id: headingId }, FUNCTIONS[slot.function] || slot.function),
    h("p", {}, "Active module: ", h("strong", { class: "active-module" }, slot.module)),
    h("p", { class: "meta" }, `Supplier ${parts.supplier}, version ${parts.version}, standard ${slot.world}`),
    healthView(slot));
  const fn = slot.function;
  if (slot.trial) {
    const trial = slot.trial;
    section.append(
      h("h3", {}, `${capitalised(trial.mode)} of ${trial.module} (${trial.percent}%)`),
      h("div", { class: "trial-report" }, reportView(trial)),
      h("div", { class: "columns" },
        h("div", {}, h("h4", {}, "Promote the candidate"), reasonForm({
          hint: KEPT,
          button: "Promote",
          onSubmit: async (reason) => {
            await call("POST", `/admin/slots/${fn}/promote`, { reason });
            await done(`${trial.module} is now the active ${fn} module`);
          },
        })),
        h("div", {}, h("h4", {}, `End the ${trial.mode}`), reasonForm({
          hint: KEPT,
          button: "Abort",
          danger: true,
          onSubmit: async (reason) => {
            await call("POST", `/admin/slots/${fn}/abort`, { reason });
            await done(`The ${trial.mode} of ${trial.module} has ended`);
          },
        }))));
  } else {
    // Any release of the slot's standard: the host adapts an earlier one.
    const standardOf = (world) => world.split("@")[0];
    const candidates = modules.filter((m) => standardOf(m.world) === standardOf(slot.world) && m.label !== slot.module);
    if (candidates.length > 0) {
      const moduleSelect = h("select", { name: "module" }, candidates.map((m) => h("option", { value: m.label }, m.label)));
      const modeName = newId("mode");
      const modes = [["deploy", "Deploy now"], ["canary", "Canary: a share of patients"], ["shadow", "Shadow: compare answers, writes discarded"]];
      const percent = h("input", { type: "number", name: "percent", min: "1", max: "100", value: "100", inputmode: "numeric" });
      const extra = [
        field("Module", moduleSelect),
        h("fieldset", {}, h("legend", {}, "How"), modes.map(([value, label], i) => {
          const id = `${modeName}-${value}`;
          return h("div", { class: "choice" },
            h("input", { type: "radio", name: "mode", id, value, checked: i === 0 }),
            h("label", { for: id }, label));
        })),
        field("Share (%)", percent, "For a canary or a shadow: 1 to 100"),
      ];
      section.append(h("h3", {}, "Change module"), reasonForm({
        hint: KEPT,
        button: "Start",
        extra,
        onSubmit: async (reason, form) => {
          const mode = form.querySelector("input[name=mode]:checked").value;
          const module = moduleSelect.value;
          if (mode === "deploy") {
            await call("POST", `/admin/slots/${fn}/deploy`, { module, reason });
            await done(`${module} is now the active ${fn} module`);
          } else {
            await call("POST", `/admin/slots/${fn}/${mode}`, { module, percent: Number(percent.value), reason });
            await done(`The ${mode} of ${module} has started`);
          }
        },
      }));
    }
    if (slot.history && slot.history.length > 0) {
      section.append(h("h3", {}, "Roll back"), reasonForm({
        button: "Roll back",
        danger: true,
        hint: `Back to ${slot.history[slot.history.length - 1]}, the module it served before; kept in the deployment history and the audit trail`,
        onSubmit: async (reason) => {
          await call("POST", `/admin/slots/${fn}/rollback`, { reason });
          await done(`The ${fn} slot is rolled back`);
        },
      }));
    }
  }
  section.append(h("h3", {}, "History"), history === null ? h("p", {}, "The history could not be loaded.") : historyView(history));
  return section;
}

/** A conformance report: how many checks passed, and each check. */
function conformanceView(report) {
  if (!report) return null;
  if (report.error) {
    return h("p", { class: "status status-bad conformance" }, `The conformance suite could not run: ${report.error}`);
  }
  const passed = report.results.filter((r) => r.passed).length;
  return h("div", {},
    h("p", { class: `status conformance ${report.passed ? "status-ok" : "status-bad"}` },
      `Conformance: ${passed} of ${report.results.length} checks passed`),
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "The standard's conformance checks"),
      h("thead", {}, h("tr", {}, ["Check", "Result", "Why"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, report.results.map((r) => h("tr", { "data-check": r.id },
        h("th", { scope: "row" }, r.description),
        h("td", { class: r.passed ? "status-ok" : "status-bad" }, r.passed ? "Passed" : "Failed"),
        h("td", {}, r.reason || "")))))));
}

function uploadSection(onAdded) {
  const file = h("input", { type: "file", name: "package", accept: ".carepkg,application/json" });
  const fileField = field("Signed package (.carepkg)", file, "Made with patchbay package; the host checks its signature against the suppliers it trusts");
  const result = h("div", { id: "upload-result" });
  const form = h("form", { novalidate: true }, fileField, h("button", { type: "submit" }, "Add module"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      fileField.setError("Choose a package file");
      file.focus();
      return;
    }
    fileField.setError(null);
    let body;
    try {
      body = JSON.parse(await chosen.text());
    } catch {
      fileField.setError("This file is not a care package (it is not JSON): choose the .carepkg that patchbay package made");
      file.focus();
      return;
    }
    try {
      const added = await call("POST", "/admin/modules", body);
      const box = h("div", { class: "success", tabindex: "-1" },
        h("p", {}, h("strong", {}, `Added ${added.module}`)),
        h("dl", { class: "facts" },
          h("dt", {}, "Signature"), h("dd", {}, added.signed_by
            ? `valid: signed by ${moduleParts(added.module).supplier}'s trusted key ${added.signed_by}`
            : "unsigned (development mode)"),
          h("dt", {}, "Standard"), h("dd", {}, added.world),
          h("dt", {}, "Needs"), h("dd", {}, needsText(added.needs)),
          h("dt", {}, "SHA-256"), h("dd", { class: "hash" }, added.sha256)),
        conformanceView(added.conformance),
        h("p", {}, "Its readiness checks run again before it serves: deploy, canary or shadow it above."));
      fill(result, box);
      announce(`Added ${added.module}`);
      await onAdded();
      box.focus();
    } catch (error) {
      showProblem(result, error, "add the module");
    }
  });
  return h("section", { "aria-labelledby": "upload-heading" }, h("h2", { id: "upload-heading" }, "Add a module"), form, result);
}
