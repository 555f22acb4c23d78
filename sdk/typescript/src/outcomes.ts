// Refusals as the standards' `outcome` (FHIR OperationOutcome), as the Rust
// SDK's `Outcome::invalid(..).at(..)` helpers.
//
// A standard function returns `result<T, outcome>`; in TypeScript it
// returns T, or throws for the error. componentize-js lowers a thrown value
// that has an own `payload` property as the error payload, so a `Refusal`
// carries its outcome there. Host imports fail the same way (their thrown
// error's `payload` is the host's outcome), so a refusal from the host can
// simply be left to propagate: the caller sees the host's outcome.

import type { Issue, IssueCode, Outcome } from 'care:types/types@0.1.0';
import { check as checkNhs } from './nhs-number.js';

/** A thrown outcome: what a standard function throws to return `err(outcome)`. */
export class Refusal extends Error {
  /** The outcome the call returns. */
  readonly payload: Outcome;

  constructor(payload: Outcome) {
    super(payload.issues.map((i) => i.diagnostics).join('; '));
    this.name = 'Refusal';
    this.payload = payload;
  }

  /** Points the first issue at a place in the request (a FHIRPath). */
  at(expression: string): this {
    const first = this.payload.issues[0];
    if (first !== undefined) first.expression = expression;
    return this;
  }

  /** The code of the first issue, if any. */
  get code(): IssueCode | undefined {
    return this.payload.issues[0]?.code;
  }

  /** Every issue's diagnostics, joined: the text for a person. */
  get diagnostics(): string {
    return diagnostics(this.payload);
  }
}

/** A refusal with one error issue of the given code. */
export function error(code: IssueCode, diagnostics: string): Refusal {
  const issue: Issue = { severity: 'error', code, diagnostics, expression: undefined };
  return new Refusal({ issues: [issue] });
}

/** The request is malformed or a value is not valid. */
export function invalid(diagnostics: string): Refusal {
  return error('invalid', diagnostics);
}

/** A referenced record does not exist. */
export function notFound(diagnostics: string): Refusal {
  return error('not-found', diagnostics);
}

/** The request conflicts with the current state. */
export function conflict(diagnostics: string): Refusal {
  return error('conflict', diagnostics);
}

/** The request breaks a rule of the module's policy. */
export function businessRule(diagnostics: string): Refusal {
  return error('business-rule', diagnostics);
}

/** Every issue's diagnostics, joined: the text for a person. */
export function diagnostics(outcome: Outcome): string {
  return outcome.issues.map((i) => i.diagnostics).join('; ');
}

/** The outcome a thrown value carries (a `Refusal`, or a host import's error), if any. */
export function outcomeOf(thrown: unknown): Outcome | undefined {
  if (thrown !== null && typeof thrown === 'object' && 'payload' in thrown) {
    const payload = (thrown as { payload: unknown }).payload;
    if (payload !== null && typeof payload === 'object' && Array.isArray((payload as Outcome).issues)) {
      return payload as Outcome;
    }
  }
  return undefined;
}

/** The issue code of the first issue of a thrown outcome, if any. */
export function codeOf(thrown: unknown): IssueCode | undefined {
  return outcomeOf(thrown)?.issues[0]?.code;
}

/** Checks an NHS number; throws an `invalid` refusal pointing at `expression`. */
export function checkNhsNumber(nhsNumber: string, expression: string): void {
  const e = checkNhs(nhsNumber);
  if (e !== undefined) throw invalid(e.message).at(expression);
}

/**
 * Checks that an optional text is at most `max` characters long (never
 * truncate: GP Connect); throws a `too-long` refusal pointing at `expression`.
 */
export function checkLength(text: string | undefined, max: number, expression: string): void {
  if (text === undefined) return;
  const length = [...text].length;
  if (length > max) {
    throw error(
      'too-long',
      `${expression} is ${length} characters long; at most ${max} are allowed. Shorten it: it is never truncated.`,
    ).at(expression);
  }
}
