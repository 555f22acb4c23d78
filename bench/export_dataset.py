"""Writes an export-shaped record set for bench/export: N appointments
(three in four booked, the rest cancelled), each in a slot of its own, on
ten schedules of ten practitioners, for 1,000 patients with valid NHS
numbers from the test range, dated in 2025 so they never meet the demo's
free slots. The files and manifest are what `patchbay export run` writes,
so `patchbay import` takes them as they are.

    python3 bench/export_dataset.py N DIR
"""

import hashlib
import json
import pathlib
import sys

SNOMED = "http://snomed.info/sct"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
CHANNEL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeliveryChannel"
START = 1735725600000  # 2025-01-01T10:00:00Z
SLOT_MS = 10 * 60 * 1000


def instant(ms: int) -> str:
    import datetime

    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def nhs_numbers(count: int):
    n = 0
    while count:
        digits = f"999{n + 100000:06d}"  # past the demo's patients
        n += 1
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1)))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check == 10:
            continue
        count -= 1
        yield digits + str(check)


def line(resource) -> str:
    return json.dumps(resource, separators=(",", ":"), sort_keys=True) + "\n"


def main(n: int, out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    patients = list(nhs_numbers(1000))
    files = {}
    files["Patient"] = [
        {"resourceType": "Patient", "id": p, "identifier": [{"system": NHS, "value": p}],
         "name": [{"text": f"Bench Patient {i}"}], "birthDate": "1980-01-01"}
        for i, p in enumerate(patients)
    ]
    files["Practitioner"] = [
        {"resourceType": "Practitioner", "id": f"bench-gp-{i}", "active": True, "name": [{"text": f"Bench GP {i}"}]}
        for i in range(10)
    ]
    files["Schedule"] = [
        {"resourceType": "Schedule", "id": f"bench-schedule-{i}", "active": True, "comment": f"Bench clinic {i}",
         "serviceType": [{"coding": [{"system": SNOMED, "code": "394814009", "display": "General practice"}]}],
         "actor": [{"reference": f"Practitioner/bench-gp-{i}", "display": f"Bench GP {i}"}]}
        for i in range(10)
    ]
    slots, appointments = [], []
    for i in range(n):
        start = START + i * SLOT_MS
        booked = i % 4 != 3
        slots.append({"resourceType": "Slot", "id": f"bench-slot-{i:07d}",
                      "schedule": {"reference": f"Schedule/bench-schedule-{i % 10}"},
                      "serviceType": [{"coding": [{"system": SNOMED, "code": "394814009", "display": "General practice"}]}],
                      "status": "busy" if booked else "free", "start": instant(start), "end": instant(start + SLOT_MS),
                      "extension": [{"url": CHANNEL, "valueCode": "In-person"}]})
        patient = patients[i % len(patients)]
        appointment = {"resourceType": "Appointment", "id": f"bench-appt-{i:07d}",
                       "meta": {"versionId": "1" if booked else "2", "lastUpdated": instant(start - 86400000)},
                       "status": "booked" if booked else "cancelled", "start": instant(start),
                       "end": instant(start + SLOT_MS), "created": instant(start - 2 * 86400000),
                       "slot": [{"reference": f"Slot/bench-slot-{i:07d}"}], "description": "Review",
                       "participant": [{"actor": {"reference": f"Patient/{patient}",
                                                  "identifier": {"system": NHS, "value": patient}},
                                        "status": "accepted"}]}
        if not booked:
            appointment["cancelationReason"] = {"text": "Patient called to cancel"}
        appointments.append(appointment)
    files["Slot"] = slots
    files["Appointment"] = appointments
    output = []
    for kind, resources in files.items():
        data = "".join(line(r) for r in resources).encode()
        (out / f"{kind}.ndjson").write_bytes(data)
        output.append({"type": kind, "url": f"file:///{kind}.ndjson", "count": len(resources),
                       "extension": {"sha256": hashlib.sha256(data).hexdigest()}})
    manifest = {"transactionTime": instant(START), "request": "bench/export_dataset.py", "requiresAccessToken": True,
                "output": output, "error": []}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(sum(len(r) for r in files.values()))


if __name__ == "__main__":
    main(int(sys.argv[1]), pathlib.Path(sys.argv[2]))
