// Reception (and clinicians): find a patient by NHS number (checked as it
// is typed), see their appointments, book, move or cancel one.

import { call, get, resources } from "../api.js";
import { appointmentCard, book, scheduleName, slotFinder, upcoming } from "../appointments.js";
import { spaced } from "../nhs-number.js";
import { patientFinder, patientName } from "../patient-finder.js";
import { h, fill, field, when, time, day as dayName, today, showProblem, announce } from "../view.js";

/** Draws the reception page. */
export async function render(main) {
  main.append(h("h1", {}, "Appointments"));
  const patientPlace = h("div", { id: "patient" });
  const open = (patient, nhsNumber) => showPatient(patientPlace, patient, nhsNumber);
  main.append(
    h("section", { "aria-labelledby": "find-heading" }, h("h2", { id: "find-heading" }, "Find a patient"),
      patientFinder(patientPlace, open), patientPlace),
    daySection(open));
}

const STATUS_WORDS = { booked: "Booked", cancelled: "Cancelled", fulfilled: "Attended", noshow: "Did not attend" };

/** The day's appointments, schedule by schedule; each opens its patient. */
function daySection(open) {
  const date = h("input", { type: "date", name: "day", value: today() });
  const results = h("div", { id: "day-list" });
  const form = h("form", { novalidate: true, "aria-label": "The day's appointments" },
    field("Show appointments on", date), h("button", { type: "submit" }, "Show the day"));
  async function load() {
    const day = date.value || today();
    fill(results, h("p", {}, "Loading…"));
    let schedules;
    let patients;
    try {
      [schedules, patients] = await Promise.all([get("/fhir/Schedule"), get("/fhir/Patient")]);
    } catch (error) {
      showProblem(results, error, "load the day");
      return;
    }
    const byNumber = new Map(resources(patients).map((p) => [p.id, p]));
    const parts = [];
    let total = 0;
    for (const schedule of resources(schedules)) {
      let appointments;
      try {
        appointments = resources(await get("/fhir/Appointment", { date: day, schedule: schedule.id }));
      } catch (error) {
        showProblem(results, error, "load the day");
        return;
      }
      total += appointments.length;
      const title = scheduleName(schedule);
      parts.push(h("h3", {}, title), appointments.length === 0 ? h("p", {}, "No appointments.")
        : h("ul", { class: "cards", "aria-label": title }, appointments.map((a) => {
          const nhsNumber = a.participant?.[0]?.actor?.identifier?.value;
          const patient = byNumber.get(nhsNumber);
          const name = patient ? patientName(patient) : spaced(nhsNumber || "");
          const item = h("li", { class: "card", "data-day-appointment": a.id },
            h("p", {}, h("strong", {}, `${time(a.start)} `), `${name} · ${STATUS_WORDS[a.status] || a.status}`));
          if (patient && a.status === "booked") {
            item.append(h("button", { type: "button", class: "secondary", "aria-label": `Open ${name} (${time(a.start)})`,
              onclick: () => open(patient, nhsNumber) }, "Open"));
          }
          return item;
        })));
    }
    fill(results, h("p", { class: "meta" }, `${total} appointments on ${dayName(day)}`), parts);
    announce(`${total} appointments on ${dayName(day)}`);
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
  return h("section", { "aria-labelledby": "day-heading" }, h("h2", { id: "day-heading" }, "The day's appointments"), form, results);
}

async function showPatient(place, patient, nhsNumber) {
  const name = patientName(patient);
  const heading = h("h2", { id: "patient-heading", tabindex: "-1" }, name);
  const status = h("div");
  const list = h("div");
  const moveBanner = h("div");
  let moving = null;

  function stopMoving() {
    moving = null;
    fill(moveBanner);
  }

  async function refresh() {
    let appointments;
    try {
      appointments = await upcoming(nhsNumber);
    } catch (error) {
      showProblem(list, error, "load the appointments");
      return;
    }
    if (appointments.length === 0) {
      fill(list, h("p", {}, `${name} has no appointments booked.`));
      return;
    }
    fill(list, h("ul", { class: "cards", "aria-label": `${name}'s appointments` }, appointments.map((a) => {
      const move = h("button", { type: "button", class: "secondary",
        "aria-label": `Move the appointment on ${when(a.start)}` }, "Move");
      move.addEventListener("click", () => {
        moving = a;
        fill(moveBanner, h("div", { class: "success", tabindex: "-1" },
          `Moving the appointment on ${when(a.start)}: find a new time below and choose it. `,
          h("button", { type: "button", class: "secondary", onclick: () => { stopMoving(); move.focus(); } }, "Stop moving")));
        moveBanner.firstChild.focus();
      });
      return appointmentCard(a, { onCancelled: refresh, actions: [move] });
    })));
  }

  const finder = slotFinder({
    heading: `Book for ${name}`,
    chooseLabel: "Choose",
    onChoose: async (slot, button) => {
      button.disabled = true;
      let message;
      try {
        if (moving) {
          const moved = await call("PUT", `/fhir/Appointment/${moving.id}`, {
            resourceType: "Appointment", id: moving.id, status: "booked",
            slot: [{ reference: `Slot/${slot.id}` }],
          });
          message = `Moved to ${when(moved.start)}`;
          stopMoving();
        } else {
          const booked = await book(slot.id, nhsNumber);
          message = `Booked ${name}: ${when(booked.start)}`;
        }
      } catch (error) {
        button.disabled = false;
        showProblem(status, error, moving ? "move the appointment" : "book that time");
        return;
      }
      fill(status, h("p", { class: "success", tabindex: "-1" }, message));
      announce(message);
      await refresh();
      status.firstChild.focus();
    },
  });
  fill(place,
    h("section", { "aria-labelledby": "patient-heading" },
      heading,
      h("p", { class: "meta" }, `NHS number ${spaced(nhsNumber)}, born ${dayName(patient.birthDate)}`),
      status, moveBanner, list),
    finder);
  heading.focus();
  await refresh();
}
