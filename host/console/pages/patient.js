// A patient's own page (phone first): upcoming appointments with cancel,
// booking a free time, and active prescriptions. The API lets a patient
// see only their own records.

import { get, resources } from "../api.js";
import { appointmentCard, book, slotFinder, upcoming } from "../appointments.js";
import { h, fill, when, showProblem, announce } from "../view.js";

/** Draws the patient's page. */
export async function render(main, session) {
  main.append(h("h1", {}, "My appointments"));
  const listSection = h("section", { "aria-labelledby": "upcoming-heading" },
    h("h2", { id: "upcoming-heading" }, "Coming up"));
  const list = h("div", { id: "upcoming" });
  listSection.append(list);
  const status = h("div");

  async function refresh() {
    let appointments;
    try {
      appointments = await upcoming(session.nhs_number);
    } catch (error) {
      showProblem(list, error, "load your appointments");
      return;
    }
    if (appointments.length === 0) {
      fill(list, h("p", {}, "You have no appointments booked."));
      return;
    }
    fill(list, h("ul", { class: "cards" }, appointments.map((a) => appointmentCard(a, {
      onCancelled: async () => {
        await refresh();
        const heading = document.getElementById("upcoming-heading");
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      },
    }))));
  }

  const finder = slotFinder({
    heading: "Book an appointment",
    chooseLabel: "Book",
    onChoose: async (slot, button) => {
      button.disabled = true;
      try {
        const booked = await book(slot.id, session.nhs_number);
        const message = `Booked: ${when(booked.start)}`;
        fill(status, h("p", { class: "success", tabindex: "-1" }, message));
        announce(message);
        await refresh();
        status.firstChild.focus();
      } catch (error) {
        button.disabled = false;
        showProblem(status, error, "book that time");
      }
    },
  });

  const prescriptions = h("section", { "aria-labelledby": "prescriptions-heading" },
    h("h2", { id: "prescriptions-heading" }, "My prescriptions"));
  const medicines = h("div");
  prescriptions.append(medicines);

  main.append(status, listSection, finder, prescriptions);
  await refresh();
  try {
    const active = resources(await get("/fhir/MedicationRequest", { patient: session.nhs_number, status: "active" }));
    if (active.length === 0) {
      fill(medicines, h("p", {}, "You have no active prescriptions."));
    } else {
      fill(medicines, h("ul", { class: "cards" }, active.map((r) => h("li", { class: "card" },
        h("h3", {}, medicineName(r)),
        h("p", {}, (r.dosageInstruction || [])[0]?.text || ""),
        h("p", { class: "meta" }, `Prescribed ${when(r.authoredOn)}`)))));
    }
  } catch (error) {
    showProblem(medicines, error, "load your prescriptions");
  }
}

/** A prescription's medicine, in words. */
export function medicineName(request) {
  const coding = (request.medicationCodeableConcept?.coding || [])[0] || {};
  return coding.display || `Medicine ${coding.code}`;
}
