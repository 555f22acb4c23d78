"""The records reads the scheduling operations make, for the release the
module is built against, as the Rust SDK's `reads` and `reads_0_1`:
0.2.0's records filter and limit on the host, so a module lifts only what
it asked for; 0.1.0's take no limit and no appointment filter, so the
module reads everything and keeps what was asked for. Which release it is
shows in the generated bindings (0.2.0 has `records.AppointmentQuery`)."""

from typing import List, Optional

from wit_world.imports import records
from wit_world.imports.care_types_types import Period

#: Whether the bindings are of 0.2.0 or later (a query with a limit, and
#: appointments by query), rather than 0.1.0.
FILTERS_ON_HOST = hasattr(records, "AppointmentQuery")


def slots(period: Period, schedule_id: Optional[str], service_type: Optional[str],
          status: Optional["records.SlotStatus"], limit: Optional[int]) -> List["records.Slot"]:
    """The slots in `period` (of one schedule and service, if given, and in
    one state, if given), by start time, at most `limit`."""
    if FILTERS_ON_HOST:
        return records.slots(records.SlotQuery(
            period=period, schedule_id=schedule_id, service_type=service_type,
            status=status, limit=limit))
    found = records.slots(records.SlotQuery(
        period=period, schedule_id=schedule_id, service_type=service_type, status=status))
    return found if limit is None else found[:limit]


def appointments(patient: str, status: Optional["records.AppointmentStatus"] = None,
                 starting_from: Optional[int] = None) -> List["records.Appointment"]:
    """A patient's appointments (in one state, if given; starting at or after
    an instant, if given), by start time."""
    if FILTERS_ON_HOST:
        return records.appointments_for_patient(records.AppointmentQuery(
            patient=patient, status=status, starting_from=starting_from))
    return [a for a in records.appointments_for_patient(patient)
            if (status is None or a.status == status)
            and (starting_from is None or a.period.start >= starting_from)]
