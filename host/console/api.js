// Calls to the Patchbay API, with the signed-in user's token. A refusal
// (a FHIR OperationOutcome) becomes an ApiProblem: what happened in words a
// person understands, with the server's own detail beside it.

import { current } from "./session.js";

/** A refused or failed request. */
export class ApiProblem extends Error {
  constructor(status, message, detail, expression) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.expression = expression;
  }
}

const LEADS = {
  400: "Something in the request is not right.",
  401: "Your sign-in is not valid any more. Sign in again.",
  403: "You are not allowed to do this.",
  404: "It could not be found.",
  409: "Someone else changed this first (a slot may have just been taken). Look again and choose another.",
  412: "This changed since you opened it. Look again before changing it.",
  413: "What you sent is too large.",
  422: "This was refused.",
  429: "Too many requests at once. Wait a moment and try again.",
  503: "The service is not available just now. Try again in a minute.",
  504: "The service took too long to answer. Try again.",
};

function lead(status) {
  if (LEADS[status]) return LEADS[status];
  if (status >= 500) return "The service failed. Try again; if it keeps failing, tell the practice.";
  return `The request was refused (${status}).`;
}

/** The server's words in an OperationOutcome, or the body's text. */
function diagnostics(body) {
  if (body && Array.isArray(body.issue) && body.issue.length > 0) {
    const issue = body.issue[0];
    // A refused deploy carries its conformance report in details.text.
    const parts = [issue.diagnostics, issue.details && issue.details.text].filter(Boolean);
    return {
      detail: parts.length > 0 ? parts.join("\n") : issue.code,
      expression: Array.isArray(issue.expression) ? issue.expression[0] : undefined,
    };
  }
  return { detail: undefined, expression: undefined };
}

/**
 * Sends a request and returns the parsed JSON answer.
 * @param {string} method
 * @param {string} path with its query string
 * @param {object} [body] sent as JSON (FHIR JSON for /fhir paths)
 */
export async function call(method, path, body) {
  const headers = { Accept: "application/fhir+json, application/json" };
  const session = current();
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) {
    headers["Content-Type"] = path.startsWith("/fhir/") ? "application/fhir+json" : "application/json";
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiProblem(0, "The service could not be reached. Check your connection and try again.", String(error));
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = null; }
  }
  if (!response.ok) {
    const { detail, expression } = diagnostics(parsed);
    throw new ApiProblem(response.status, lead(response.status), detail || text.slice(0, 300), expression);
  }
  return parsed;
}

/** GET with query parameters (those undefined or empty are left out). */
export function get(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.append(name, value);
  }
  const qs = params.toString();
  return call("GET", qs ? `${path}?${qs}` : path);
}

/** The resources of a FHIR searchset Bundle. */
export function resources(bundle) {
  return (bundle && bundle.entry ? bundle.entry : []).map((e) => e.resource);
}
