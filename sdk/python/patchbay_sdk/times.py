"""Instants are milliseconds since the Unix epoch, UTC, as in the standards."""

import datetime

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def age_in_years(birth_date: str, now_ms: int) -> int:
    """A patient's age in whole years on the day of `now_ms`, from a FHIR
    date (YYYY-MM-DD); 0 for a date that cannot be read."""
    try:
        born = datetime.date.fromisoformat(birth_date)
    except ValueError:
        return 0
    today = datetime.datetime.fromtimestamp(now_ms / 1000, tz=datetime.timezone.utc).date()
    years = today.year - born.year
    if (today.month, today.day) < (born.month, born.day):
        years -= 1
    return max(years, 0)
