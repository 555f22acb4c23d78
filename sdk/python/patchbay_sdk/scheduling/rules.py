"""The scheduling standard's checks that need no bindings: a search's window
(GP Connect: it ends after it starts and spans at most 14 days), the
window from a policy's earliest start, the search's limit, and GP
Connect's text lengths. They run natively, in tests, on any objects with
the generated types' fields (`search.period.start`, `.end`, `.limit`).
A refusal imports the bindings only when it is raised (see `outcomes`)."""

from typing import List, Optional, Sequence, Tuple, TypeVar

from .. import outcomes, times

#: GP Connect: a description is at most 100 characters.
MAX_DESCRIPTION = 100
#: GP Connect: a comment is at most 500 characters.
MAX_COMMENT = 500
#: GP Connect: a slot search covers at most 14 days.
MAX_SEARCH_DAYS = 14

T = TypeVar("T")


def search_problem(start: int, end: int) -> Optional[str]:
    """Why a search window from `start` to `end` (instants, ms) is refused,
    or None if it is a window the standard accepts."""
    if end <= start:
        return "the search period must end after it starts"
    if end - start > MAX_SEARCH_DAYS * times.DAY:
        return (f"the search period spans more than {MAX_SEARCH_DAYS} days: "
                "search a shorter window")
    return None


def check_search(search) -> None:
    """Checks a slot search: a period that ends after it starts and spans at
    most 14 days; raises an `invalid` outcome at `period` otherwise."""
    why = search_problem(search.period.start, search.period.end)
    if why is not None:
        raise outcomes.invalid(why, "period")


def window_from(start: int, end: int, earliest: int) -> Optional[Tuple[int, int]]:
    """A window that starts no earlier than `earliest`: (start, end), or None
    when nothing of it is left (`earliest` at or after its end)."""
    if earliest >= end:
        return None
    return max(start, earliest), end


def apply_limit(slots: Sequence[T], limit: Optional[int]) -> List[T]:
    """Keeps at most `limit` slots, if a limit is given."""
    if limit is None:
        return list(slots)
    return list(slots)[:limit]
