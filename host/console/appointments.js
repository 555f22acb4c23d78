// What the patient's and the reception's pages share about appointments:
// finding free slots on a day, booking one, and an appointment's card with
// its cancel form.

import { call, get, resources } from "./api.js";
import { h, fill, field, when, time, day, today, nextDay, announce, showProblem, newId, reasonForm } from "./view.js";

/** The FHIR system of NHS numbers. */
export const NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number";

const CHANNELS = { "In-person": "in person", Video: "by video", Telephone: "by telephone" };

/** How a slot is delivered, in words. */
function channel(slot) {
  const extension = (slot.extension || []).find((e) => e.url.endsWith("delivery-channel") || e.valueCode);
  return extension ? CHANNELS[extension.valueCode] || extension.valueCode : "";
}

/** A schedule's name in words: "Morning surgery, Duty GP". */
export function scheduleName(schedule) {
  return [schedule.comment || schedule.id, schedule.actor?.[0]?.display].filter(Boolean).join(", ");
}

/**
 * The organisation's schedules: the services they offer ([{code, display}])
 * and each schedule's name by id.
 */
export async function schedules() {
  const list = resources(await get("/fhir/Schedule"));
  const seen = new Map();
  for (const schedule of list) {
    for (const concept of schedule.serviceType || []) {
      for (const coding of concept.coding || []) {
        if (!seen.has(coding.code)) seen.set(coding.code, coding.display || coding.code);
      }
    }
  }
  return {
    list,
    services: [...seen].map(([code, display]) => ({ code, display })),
    names: new Map(list.map((s) => [s.id, scheduleName(s)])),
  };
}

/** Books a slot for a patient; returns the Appointment. */
export function book(slotId, nhsNumber, description) {
  const body = {
    resourceType: "Appointment",
    status: "booked",
    slot: [{ reference: `Slot/${slotId}` }],
    participant: [{ actor: { identifier: { system: NHS_NUMBER_SYSTEM, value: nhsNumber } }, status: "accepted" }],
  };
  if (description) body.description = description;
  return call("POST", "/fhir/Appointment", body);
}

/** A patient's appointments still to come, soonest first. */
export async function upcoming(nhsNumber) {
  const all = resources(await get("/fhir/Appointment", { patient: nhsNumber }));
  const now = Date.now();
  return all
    .filter((a) => a.status === "booked" && new Date(a.end) > now)
    .sort((a, b) => new Date(a.start) - new Date(b.start));
}

/**
 * A form that finds free slots on a day for a service and lists each with
 * a button; `onChoose(slot)` is called with the one chosen.
 */
export function slotFinder({ heading, chooseLabel, onChoose }) {
  const section = h("section", { "aria-labelledby": newId("finder") });
  const headingId = section.getAttribute("aria-labelledby");
  section.append(h("h2", { id: headingId }, heading));
  const date = h("input", { type: "date", name: "date", value: today(), min: today(), required: true });
  const service = h("select", { name: "service" });
  const results = h("div", { class: "results" });
  const form = h("form", { novalidate: true },
    field("Day", date, "The day you would like"),
    field("Service", service),
    h("button", { type: "submit" }, "Find free times"));
  section.append(form, results);
  let names = new Map();
  schedules().then((found) => {
    names = found.names;
    fill(service, found.services.map((s) => h("option", { value: s.code }, s.display)));
  }).catch((error) => showProblem(results, error, "load the services"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!date.value) {
      date.closest(".field").setError("Choose a day");
      date.focus();
      return;
    }
    date.closest(".field").setError(null);
    fill(results, h("p", {}, "Looking for free times…"));
    let slots;
    try {
      slots = resources(await get("/fhir/Slot", {
        start: `ge${date.value}`,
        end: `lt${nextDay(date.value)}`,
        "service-type": service.value,
        status: "free",
        _count: 24,
      }));
    } catch (error) {
      showProblem(results, error, "find free times");
      return;
    }
    if (slots.length === 0) {
      fill(results, h("p", {}, `No free times on ${day(date.value)}. Try another day.`));
      announce(`No free times on ${day(date.value)}`);
      return;
    }
    const list = h("ul", { class: "times", "aria-label": `Free times on ${day(date.value)}` });
    for (const slot of slots) {
      const scheduleId = (slot.schedule?.reference || "").replace("Schedule/", "");
      const label = `${time(slot.start)} to ${time(slot.end)} ${channel(slot)}`.trim();
      const button = h("button", { type: "button", class: "secondary" },
        `${chooseLabel} ${label}`, h("span", { class: "with" }, names.get(scheduleId) || ""));
      button.addEventListener("click", () => onChoose(slot, button));
      list.append(h("li", {}, button));
    }
    fill(results, h("p", {}, `${slots.length} free times on ${day(date.value)}:`), list);
    announce(`${slots.length} free times found on ${day(date.value)}`);
  });
  return section;
}

/**
 * An appointment's card: when, what, and a Cancel button that opens a form
 * asking why. Extra buttons (e.g. Move) come from `actions`.
 */
export function appointmentCard(appointment, { onCancelled, actions = [] }) {
  const item = h("li", { class: "card", "data-appointment": appointment.id });
  const title = h("h3", {}, when(appointment.start));
  item.append(title);
  if (appointment.description) item.append(h("p", { class: "meta" }, appointment.description));
  const place = h("div");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  cancel.setAttribute("aria-label", `Cancel the appointment on ${when(appointment.start)}`);
  const buttons = h("div", { class: "actions" }, cancel, actions);
  item.append(buttons, place);
  cancel.addEventListener("click", () => {
    const form = reasonForm({
      label: "Why are you cancelling?",
      hint: "The practice sees this reason",
      missing: "Give a reason for cancelling",
      button: "Cancel appointment",
      doing: "cancel the appointment",
      danger: true,
      after: [h("button", { type: "button", class: "secondary", onclick: () => { fill(place); cancel.focus(); } }, "Keep it")],
      onSubmit: async (reason) => {
        await call("PUT", `/fhir/Appointment/${appointment.id}`, {
          resourceType: "Appointment", id: appointment.id, status: "cancelled",
          cancelationReason: { text: reason },
        });
        announce(`The appointment on ${when(appointment.start)} is cancelled`);
        onCancelled(appointment);
      },
    });
    fill(place, form);
    form.querySelector("textarea").focus();
  });
  return item;
}
