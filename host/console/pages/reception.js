// Reception (and clinicians): find a patient by NHS number (checked as it
// is typed), see their appointments, book, move or cancel one.

import { call } from "../api.js";
import { appointmentCard, book, slotFinder, upcoming } from "../appointments.js";
import { spaced } from "../nhs-number.js";
import { patientFinder, patientName } from "../patient-finder.js";
import { h, fill, when, day, showProblem, announce } from "../view.js";

/** Draws the reception page. */
export async function render(main) {
  main.append(h("h1", {}, "Appointments"));
  const patientPlace = h("div", { id: "patient" });
  main.append(patientFinder(patientPlace, (patient, nhsNumber) => showPatient(patientPlace, patient, nhsNumber)),
    patientPlace);
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
      h("p", { class: "meta" }, `NHS number ${spaced(nhsNumber)}, born ${day(patient.birthDate)}`),
      status, moveBanner, list),
    finder);
  heading.focus();
  await refresh();
}
