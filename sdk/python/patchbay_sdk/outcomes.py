"""Refusals as the standard's `outcome`, raised as `Err(outcome)`, which the
generated bindings turn into the call's error result. Each says what is
wrong and what to do, and where (a FHIRPath) when it is about one element."""

from typing import Optional


def _types():
    # The bindings are generated per module at build time (so they are
    # imported when a call needs them, which also lets the helpers that do
    # not refuse run natively, in tests); every standard's world imports
    # care:types, so they are there when a call runs.
    from wit_world.imports import care_types_types

    return care_types_types


def refusal(code_name: str, diagnostics: str, at: Optional[str] = None):
    """An `Err` holding an outcome with one error issue of this issue code
    (the name of a `care:types/types.issue-code` case, e.g. "NOT_FOUND")."""
    types = _types()
    issue = types.Issue(
        severity=types.Severity.ERROR,
        code=getattr(types.IssueCode, code_name),
        diagnostics=diagnostics,
        expression=at,
    )
    from componentize_py_types import Err

    return Err(types.Outcome(issues=[issue]))


def invalid(diagnostics: str, at: Optional[str] = None):
    """The request is malformed or a value is not valid."""
    return refusal("INVALID", diagnostics, at)


def not_found(diagnostics: str, at: Optional[str] = None):
    """A record it names does not exist in this organisation."""
    return refusal("NOT_FOUND", diagnostics, at)


def conflict(diagnostics: str, at: Optional[str] = None):
    """The request conflicts with the current state (e.g. a slot no longer free)."""
    return refusal("CONFLICT", diagnostics, at)


def business_rule(diagnostics: str, at: Optional[str] = None):
    """Well formed, but against the module's policy."""
    return refusal("BUSINESS_RULE", diagnostics, at)


def check_length(text: Optional[str], most: int, at: str) -> None:
    """Raises `too-long` when a text is longer than `most` characters (never
    truncate it: GP Connect), pointing at `at`."""
    if text is not None and len(text) > most:
        raise refusal(
            "TOO_LONG",
            f"{at} is {len(text)} characters long; at most {most} are allowed. "
            "Shorten it: it is never truncated.",
            at,
        )
