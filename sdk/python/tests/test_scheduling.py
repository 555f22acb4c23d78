"""The Python SDK's scheduling operations, tested natively (no component,
no host): `python3 -m unittest discover -s sdk/python/tests -p 'test_*.py'`.

`rules` needs no bindings. `ops` is tested against the real bindings of the
standard, generated with componentize-py (from `target/python-sdk/venv`,
which `sdk/python/build` installs; skipped without it), with the host's
imports (`records`, `patients`, `context`) replaced by an in-memory fake
that keeps the host's rules (take-slot's conflict, update's version). The
same tests run against the newest release (wit/scheduling) and, in a
subprocess, against 0.1.0 (wit/scheduling-0.1.0), whose reads differ.
"""

import atexit
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "sdk", "python"))

from patchbay_sdk import nhs_number, times  # noqa: E402
from patchbay_sdk.scheduling import rules  # noqa: E402

COMPONENTIZE_PY = os.path.join(ROOT, "target", "python-sdk", "venv", "bin", "componentize-py")
WIT = os.environ.get("PATCHBAY_TEST_SCHEDULING_WIT", os.path.join(ROOT, "wit", "scheduling"))
NOW = 1_000 * times.DAY
PATIENT = "9434765919"
OTHER = "9990000018"  # valid, registered too
UNREGISTERED = "9990000026"


def search(start, end, limit=None):
    return SimpleNamespace(period=SimpleNamespace(start=start, end=end), limit=limit,
                           schedule_id=None, service_type=None)


class Rules(unittest.TestCase):
    """The checks that need no bindings."""

    def test_a_window_must_end_after_it_starts(self):
        self.assertEqual(rules.search_problem(NOW, NOW), "the search period must end after it starts")
        self.assertEqual(rules.search_problem(NOW, NOW - 1), "the search period must end after it starts")

    def test_a_window_spans_at_most_fourteen_days(self):
        self.assertIsNone(rules.search_problem(NOW, NOW + 14 * times.DAY))
        self.assertEqual(rules.search_problem(NOW, NOW + 14 * times.DAY + 1),
                         "the search period spans more than 14 days: search a shorter window")

    def test_check_search_accepts_any_object_with_the_fields(self):
        rules.check_search(search(NOW, NOW + times.HOUR))

    def test_window_from_clamps_the_start(self):
        self.assertEqual(rules.window_from(NOW, NOW + times.DAY, NOW - 5), (NOW, NOW + times.DAY))
        self.assertEqual(rules.window_from(NOW, NOW + times.DAY, NOW + 7), (NOW + 7, NOW + times.DAY))
        self.assertIsNone(rules.window_from(NOW, NOW + times.DAY, NOW + times.DAY))

    def test_apply_limit(self):
        self.assertEqual(rules.apply_limit([1, 2, 3], None), [1, 2, 3])
        self.assertEqual(rules.apply_limit([1, 2, 3], 2), [1, 2])
        self.assertEqual(rules.apply_limit([1, 2, 3], 0), [])

    def test_nhs_number_problems_in_the_rust_sdks_words(self):
        self.assertIsNone(nhs_number.problem(PATIENT))
        self.assertEqual(nhs_number.problem("12345"),
                         "'12345' is not an NHS number: an NHS number is exactly 10 digits with no spaces")
        self.assertEqual(nhs_number.problem("9434765918"),
                         "'9434765918' is not a valid NHS number: its check digit is wrong (Modulus 11); "
                         "check it was copied correctly")


_bindings = None


def bindings():
    """Generates the standard's bindings once and imports `ops` over them."""
    global _bindings
    if _bindings is None:
        out = tempfile.mkdtemp(prefix="patchbay-scheduling-bindings-")
        atexit.register(shutil.rmtree, out, True)
        subprocess.run([COMPONENTIZE_PY, "-d", WIT, "-w", "scheduling-provider", "bindings", out],
                       check=True, capture_output=True)
        sys.path.insert(0, out)
        from wit_world.exports import booking
        from wit_world.imports import care_types_types, context, patients, records
        from patchbay_sdk.scheduling import ops, reads
        _bindings = SimpleNamespace(booking=booking, types=care_types_types, context=context,
                                    patients=patients, records=records, ops=ops, reads=reads)
    return _bindings


class FakeHost:
    """The host's imports over a dict, with its rules."""

    def __init__(self, b):
        self.b = b
        self.slots = {}
        self.appointments = {}
        self.queries = []
        self.patients = {n: b.patients.Patient(nhs_number=n, name="Test", birth_date="1970-01-01")
                         for n in (PATIENT, OTHER)}
        r = b.records
        for i in range(6):
            start = NOW + (i - 1) * times.HOUR  # slot-0 has started; the rest are future
            self.slots[f"slot-{i}"] = r.Slot(
                id=f"slot-{i}", schedule_id="s1",
                service_type=b.types.Coding(system="http://snomed.info/sct", code="394814009", display=None),
                period=b.types.Period(start=start, end=start + 10 * times.MINUTE),
                status=r.SlotStatus.FREE, delivery_channel=r.DeliveryChannel.IN_PERSON)

    def refuse(self, code, text):
        from componentize_py_types import Err
        t = self.b.types
        return Err(t.Outcome(issues=[t.Issue(severity=t.Severity.ERROR, code=getattr(t.IssueCode, code),
                                             diagnostics=text, expression=None)]))

    def install(self):
        r, b = self.b.records, self.b
        b.context.now = lambda: NOW
        b.patients.lookup = lambda n: copy.deepcopy(self.patients.get(n))
        r.slots = self.list_slots
        r.get_slot = lambda i: copy.deepcopy(self.slots.get(i))
        r.take_slot = lambda i: self.set_slot(i, r.SlotStatus.FREE, r.SlotStatus.BUSY)
        r.release_slot = lambda i: self.set_slot(i, r.SlotStatus.BUSY, r.SlotStatus.FREE)
        r.get_appointment = lambda i: copy.deepcopy(self.appointments.get(i))
        r.appointments_for_patient = self.for_patient
        r.create_appointment = self.create
        r.update_appointment = self.update

    def list_slots(self, query):
        self.queries.append(query)
        found = sorted((s for s in self.slots.values()
                        if query.period.start <= s.period.start and s.period.end <= query.period.end
                        and (query.status is None or s.status == query.status)),
                       key=lambda s: s.period.start)
        limit = getattr(query, "limit", None)  # 0.1.0's query has none
        return copy.deepcopy(found if limit is None else found[:limit])

    def for_patient(self, query):
        self.queries.append(query)
        patient = query if isinstance(query, str) else query.patient
        return copy.deepcopy(sorted((a for a in self.appointments.values() if a.patient == patient),
                                    key=lambda a: a.period.start))

    def set_slot(self, slot_id, was, becomes):
        slot = self.slots.get(slot_id)
        if slot is None:
            raise self.refuse("NOT_FOUND", f"no slot {slot_id}")
        if slot.status != was:
            raise self.refuse("CONFLICT", f"slot {slot_id} is {slot.status}")
        slot.status = becomes
        return copy.deepcopy(slot)

    def held(self, slot_id, but=None):
        return any(a.slot_id == slot_id and a.id != but and a.status != self.b.records.AppointmentStatus.CANCELLED
                   for a in self.appointments.values())

    def create(self, new):
        if self.held(new.slot_id):
            raise self.refuse("CONFLICT", "held")
        a = self.b.records.Appointment(
            id=f"appt-{len(self.appointments) + 1}", slot_id=new.slot_id, patient=new.patient,
            period=copy.deepcopy(self.slots[new.slot_id].period), status=new.status,
            description=new.description, comment=new.comment, cancellation_reason=None,
            created=NOW, version=1, last_updated=NOW)
        self.appointments[a.id] = a
        return copy.deepcopy(a)

    def update(self, a):
        stored = self.appointments[a.id]
        if a.version != stored.version or self.held(a.slot_id, but=a.id):
            raise self.refuse("CONFLICT", "changed or held")
        a = copy.deepcopy(a)
        a.period = copy.deepcopy(self.slots[a.slot_id].period)
        a.version += 1
        self.appointments[a.id] = a
        return copy.deepcopy(a)


@unittest.skipUnless(os.access(COMPONENTIZE_PY, os.X_OK),
                     "no componentize-py: run sdk/python/build once to install it")
class Ops(unittest.TestCase):
    def setUp(self):
        self.b = bindings()
        self.ops = self.b.ops
        self.host = FakeHost(self.b)
        self.host.install()

    def refused(self, code, expression, call, *args):
        from componentize_py_types import Err
        with self.assertRaises(Err) as caught:
            call(*args)
        issue = caught.exception.value.issues[0]
        self.assertEqual(issue.code, getattr(self.b.types.IssueCode, code), issue.diagnostics)
        self.assertEqual(issue.expression, expression)
        return issue.diagnostics

    def search(self, start, end, limit=None):
        return self.b.booking.SlotSearch(period=self.b.types.Period(start=start, end=end),
                                         service_type=None, schedule_id=None, limit=limit)

    def request(self, slot, patient=PATIENT, description=None, comment=None):
        return self.b.booking.BookingRequest(slot_id=slot, patient=patient, description=description,
                                             comment=comment)

    def move(self, slot=None, description=None, comment=None):
        return self.b.booking.Amendment(slot_id=slot, description=description, comment=comment)

    def status(self, slot):
        return self.host.slots[slot].status

    def test_check_search_refuses_as_invalid_at_period(self):
        self.refused("INVALID", "period", self.ops.check_search, self.search(NOW, NOW))
        text = self.refused("INVALID", "period", self.ops.free_slots, self.search(NOW, NOW + 15 * times.DAY))
        self.assertIn("more than 14 days", text)

    def test_free_slots_reads_every_free_slot_of_the_window(self):
        self.host.slots["slot-3"].status = self.b.records.SlotStatus.BUSY_UNAVAILABLE
        found = self.ops.free_slots(self.search(NOW - times.DAY, NOW + times.DAY, limit=1))
        self.assertEqual([s.id for s in found], ["slot-0", "slot-1", "slot-2", "slot-4", "slot-5"])
        self.assertEqual(self.host.queries[-1].status, self.b.records.SlotStatus.FREE)
        self.assertIsNone(getattr(self.host.queries[-1], "limit", None))

    def test_free_slots_from_clamps_the_window_and_passes_the_limit(self):
        found = self.ops.free_slots_from(self.search(NOW - times.DAY, NOW + times.DAY, limit=2), NOW + 1)
        self.assertEqual([s.id for s in found], ["slot-2", "slot-3"])
        query = self.host.queries[-1]
        self.assertEqual(query.period.start, NOW + 1)
        if self.b.reads.FILTERS_ON_HOST:
            self.assertEqual(query.limit, 2)
        self.assertEqual(self.ops.free_slots_from(self.search(NOW, NOW + times.HOUR), NOW + times.HOUR), [])
        self.refused("INVALID", "period", self.ops.free_slots_from, self.search(NOW, NOW - 1), NOW)

    def test_book_checks_then_takes_the_slot(self):
        self.refused("INVALID", "patient", self.ops.book, self.request("slot-2", "9434765918"))
        self.refused("INVALID", "patient", self.ops.book, self.request("slot-2", "12345"))
        self.assertIn("is registered with this organisation",
                      self.refused("NOT_FOUND", "patient", self.ops.book, self.request("slot-2", UNREGISTERED)))
        self.assertIn("Shorten it", self.refused("TOO_LONG", "description", self.ops.book,
                                                 self.request("slot-2", description="x" * 101)))
        self.refused("TOO_LONG", "comment", self.ops.book, self.request("slot-2", comment="x" * 501))
        self.refused("NOT_FOUND", "slotId", self.ops.book, self.request("no-such-slot"))
        self.refused("BUSINESS_RULE", None, self.ops.book, self.request("slot-0"))
        self.assertEqual(self.status("slot-2"), self.b.records.SlotStatus.FREE)
        booked = self.ops.book(self.request("slot-2", description="x" * 100, comment="y" * 500))
        self.assertEqual((booked.slot_id, booked.status), ("slot-2", self.b.records.AppointmentStatus.BOOKED))
        self.assertEqual(self.status("slot-2"), self.b.records.SlotStatus.BUSY)
        self.refused("CONFLICT", None, self.ops.book, self.request("slot-2", OTHER))

    def test_a_booking_keeps_absent_texts_absent(self):
        booked = self.ops.book(self.request("slot-3"))
        self.assertIsNone(booked.description)
        self.assertIsNone(booked.comment)

    def test_cancel_needs_a_reason_and_frees_the_slot(self):
        booked = self.ops.book(self.request("slot-2"))
        self.refused("NOT_FOUND", None, self.ops.cancel, "no-such-appointment", "x")
        self.refused("INVALID", "cancellationReason", self.ops.cancel, booked.id, "  ")
        self.assertEqual(self.status("slot-2"), self.b.records.SlotStatus.BUSY)
        cancelled = self.ops.cancel(booked.id, "patient cancelled")
        self.assertEqual(cancelled.status, self.b.records.AppointmentStatus.CANCELLED)
        self.assertEqual(cancelled.cancellation_reason, "patient cancelled")
        self.assertEqual(self.status("slot-2"), self.b.records.SlotStatus.FREE)
        self.assertIn("is cancelled", self.refused("BUSINESS_RULE", None, self.ops.cancel, booked.id, "again"))

    def test_a_started_appointment_cannot_change(self):
        booked = self.ops.book(self.request("slot-2"))
        self.host.appointments[booked.id].period.start = NOW
        self.assertIn("has already started",
                      self.refused("BUSINESS_RULE", None, self.ops.amend, booked.id, self.move(comment="c")))

    def test_amend_moves_atomically(self):
        a = self.ops.book(self.request("slot-2"))
        self.ops.book(self.request("slot-4", OTHER))
        moved = self.ops.amend(a.id, self.move("slot-3", description="new"))
        self.assertEqual((moved.slot_id, moved.description), ("slot-3", "new"))
        self.assertEqual(moved.period, self.host.slots["slot-3"].period)
        self.assertEqual(self.status("slot-2"), self.b.records.SlotStatus.FREE)
        self.assertEqual(self.status("slot-3"), self.b.records.SlotStatus.BUSY)
        self.refused("CONFLICT", None, self.ops.amend, a.id, self.move("slot-4"))
        self.assertEqual(self.ops.read(a.id).slot_id, "slot-3")
        self.assertEqual(self.status("slot-3"), self.b.records.SlotStatus.BUSY)
        self.refused("BUSINESS_RULE", None, self.ops.amend, a.id, self.move("slot-0"))
        self.refused("NOT_FOUND", "slotId", self.ops.amend, a.id, self.move("no-such-slot"))
        same = self.ops.amend(a.id, self.move("slot-3", comment="kept"))
        self.assertEqual((same.slot_id, same.comment, same.description), ("slot-3", "kept", "new"))

    def test_appointments_for_patient_checks_the_number(self):
        mine = self.ops.book(self.request("slot-2"))
        self.ops.book(self.request("slot-3", OTHER))
        self.refused("INVALID", "patient", self.ops.appointments_for_patient, "9434765918")
        self.assertEqual([a.id for a in self.ops.appointments_for_patient(PATIENT)], [mine.id])
        query = self.host.queries[-1]
        if self.b.reads.FILTERS_ON_HOST:
            self.assertEqual((query.patient, query.status, query.starting_from), (PATIENT, None, None))

    def test_read_refuses_an_unknown_appointment(self):
        self.refused("NOT_FOUND", None, self.ops.read, "no-such-appointment")


@unittest.skipUnless(os.access(COMPONENTIZE_PY, os.X_OK) and "PATCHBAY_TEST_SCHEDULING_WIT" not in os.environ,
                     "no componentize-py, or already a run for one release")
class EarlierRelease(unittest.TestCase):
    def test_the_same_operations_over_0_1_0(self):
        env = dict(os.environ, PATCHBAY_TEST_SCHEDULING_WIT=os.path.join(ROOT, "wit", "scheduling-0.1.0"))
        run = subprocess.run([sys.executable, "-m", "unittest", "test_scheduling.Ops"], cwd=HERE, env=env,
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertNotIn("skipped", run.stderr)


if __name__ == "__main__":
    unittest.main()
