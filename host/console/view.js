// Building the pages: elements from data (text is always set as text,
// never parsed as HTML), the live region that announces results, dates in
// words, and problems shown next to what caused them.

/** An element: h("button", {type: "submit", onclick: f}, "Book"). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Says something to screen readers through the polite live region. */
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // A new text node after a pause is announced even when the text repeats.
  setTimeout(() => { region.textContent = text; }, 50);
}

let uniqueId = 0;
/** An id no other element has. */
export function newId(prefix) {
  uniqueId += 1;
  return `${prefix}-${uniqueId}`;
}

const dateTime = new Intl.DateTimeFormat("en-GB", {
  weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit", timeZone: "Europe/London",
});
const dateOnly = new Intl.DateTimeFormat("en-GB", {
  weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "Europe/London",
});
const timeOnly = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/London" });

/** "Monday 7 December, 09:30" for an instant. */
export function when(instant) {
  return dateTime.format(new Date(instant));
}

/** "09:30" for an instant. */
export function time(instant) {
  return timeOnly.format(new Date(instant));
}

/** "Monday 7 December 2026" for a date (YYYY-MM-DD). */
export function day(date) {
  return dateOnly.format(new Date(`${date}T12:00:00Z`));
}

/** Today's date in London, YYYY-MM-DD. */
export function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/London" }).format(new Date());
}

/** The day after a date, YYYY-MM-DD. */
export function nextDay(date) {
  const next = new Date(`${date}T12:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

/**
 * A problem box: what went wrong in words, with the server's detail.
 * Focused, so keyboard and screen-reader users land on it.
 */
export function problem(error, doing) {
  const box = h("div", { class: "error", role: "alert", tabindex: "-1" },
    h("strong", {}, `Could not ${doing}. `), error.message);
  if (error.detail && error.detail !== error.message) {
    box.append(h("p", { class: "meta" }, `Detail: ${error.detail}`));
  }
  return box;
}

/** Shows a problem in a place (replacing what was there) and focuses it. */
export function showProblem(place, error, doing) {
  const box = problem(error, doing);
  fill(place, box);
  box.focus();
  return box;
}

/** A labelled field: label, optional hint, the control, and an error slot. */
export function field(label, control, hint) {
  const id = control.id || newId("field");
  control.id = id;
  const parts = [h("label", { for: id }, label)];
  const describedBy = [];
  if (hint) {
    const hintId = `${id}-hint`;
    parts.push(h("p", { class: "hint", id: hintId }, hint));
    describedBy.push(hintId);
  }
  const errorId = `${id}-error`;
  const error = h("p", { class: "field-error", id: errorId, hidden: true });
  describedBy.push(errorId);
  control.setAttribute("aria-describedby", describedBy.join(" "));
  parts.push(error, control);
  const wrapper = h("div", { class: "field" }, parts);
  wrapper.setError = (message) => {
    if (message) {
      error.textContent = message;
      error.hidden = false;
      control.setAttribute("aria-invalid", "true");
    } else {
      error.textContent = "";
      error.hidden = true;
      control.removeAttribute("aria-invalid");
    }
  };
  return wrapper;
}

/**
 * A form that asks for a reason (required) and submits it:
 * `onSubmit(reason, form)`; a problem it throws is shown in the form, which
 * stays for another try. `extra` goes before the reason, `after` after the
 * submit button.
 */
export function reasonForm({
  label = "Reason", hint, missing = "Give a reason", button, doing = button.toLowerCase(),
  danger = false, extra = [], after = [], onSubmit,
}) {
  const reason = h("textarea", { name: "reason", required: true, maxlength: 500 });
  const reasonField = field(label, reason, hint);
  const problemPlace = h("div");
  const submit = h("button", { type: "submit", class: danger ? "danger" : null }, button);
  const form = h("form", { novalidate: true }, extra, reasonField, problemPlace, submit, after);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      reasonField.setError(missing);
      reason.focus();
      return;
    }
    reasonField.setError(null);
    submit.disabled = true;
    try {
      await onSubmit(reason.value.trim(), form);
    } catch (error) {
      showProblem(problemPlace, error, doing);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
