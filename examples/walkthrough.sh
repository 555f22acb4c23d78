#!/usr/bin/env bash
# A walk-through of the API with curl, against a running demo server
# (`./scripts/run` in another terminal). Each step prints what it sends and
# what comes back. Needs curl and python3 (to pick fields out of the JSON).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-http://127.0.0.1:8080}
PB=${PB:-./target/release/patchbay}
[ -x "$PB" ] || PB=./target/debug/patchbay
DATA=${DATA:-data}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
step() { printf '\n== %s\n' "$*"; }

step "Tokens from the demo server's development key (patchbay token)"
RECEPTION=$($PB token --role receptionist --user reception-1 --data-dir "$DATA")
CLINICIAN=$($PB token --role clinician --user gp-1 --data-dir "$DATA")
echo "receptionist and clinician tokens for practice Y90001"

step "Anonymous: health and the CapabilityStatement"
curl -sf "$BASE/healthz"; echo
curl -sf "$BASE/fhir/metadata" | field 'd["resourceType"], d["fhirVersion"]'

step "Search three free slots (Meridian's scheduling module answers)"
SLOTS=$(curl -sf -H "Authorization: Bearer $RECEPTION" "$BASE/fhir/Slot?status=free&_count=3")
echo "$SLOTS" | field '"\n".join(e["resource"]["id"] + "  " + e["resource"]["start"] for e in d["entry"])'
SLOT=$(echo "$SLOTS" | field 'd["entry"][0]["resource"]["id"]')
MOVE_TO=$(echo "$SLOTS" | field 'd["entry"][1]["resource"]["id"]')

step "Book slot $SLOT for test patient 9990000018"
BOOKED=$(curl -sf -H "Authorization: Bearer $RECEPTION" -H 'Content-Type: application/fhir+json' \
  -d "{\"resourceType\":\"Appointment\",\"status\":\"booked\",\"slot\":[{\"reference\":\"Slot/$SLOT\"}],
       \"description\":\"Blood pressure review\",
       \"participant\":[{\"actor\":{\"identifier\":{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9990000018\"}},\"status\":\"accepted\"}]}" \
  "$BASE/fhir/Appointment")
ID=$(echo "$BOOKED" | field 'd["id"]')
echo "$BOOKED" | field '"Appointment/" + d["id"] + " " + d["status"] + " at " + d["start"]'

step "Book the same slot again: 409 Conflict"
curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $RECEPTION" -H 'Content-Type: application/fhir+json' \
  -d "{\"resourceType\":\"Appointment\",\"slot\":[{\"reference\":\"Slot/$SLOT\"}],
       \"participant\":[{\"actor\":{\"identifier\":{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9990000026\"}}}]}" \
  "$BASE/fhir/Appointment"

step "Read it back"
curl -sf -H "Authorization: Bearer $RECEPTION" "$BASE/fhir/Appointment/$ID" | field 'd["id"], d["meta"]["versionId"], d["description"]'

step "Amend: move it to slot $MOVE_TO (PUT, GP Connect style)"
curl -sf -X PUT -H "Authorization: Bearer $RECEPTION" -H 'Content-Type: application/fhir+json' \
  -d "{\"resourceType\":\"Appointment\",\"id\":\"$ID\",\"status\":\"booked\",\"slot\":[{\"reference\":\"Slot/$MOVE_TO\"}]}" \
  "$BASE/fhir/Appointment/$ID" | field 'd["slot"][0]["reference"], d["meta"]["versionId"]'

step "Cancel it (status cancelled with a reason)"
curl -sf -X PUT -H "Authorization: Bearer $RECEPTION" -H 'Content-Type: application/fhir+json' \
  -d "{\"resourceType\":\"Appointment\",\"id\":\"$ID\",\"status\":\"cancelled\",\"cancelationReason\":{\"text\":\"Patient called to cancel\"}}" \
  "$BASE/fhir/Appointment/$ID" | field 'd["status"], d["cancelationReason"]["text"]'

RX() { # patient code dose [override]
  local ext=""
  [ -n "${4:-}" ] && ext=",\"extension\":[{\"url\":\"https://fhir.patchbay.dev/StructureDefinition/critical-override-reason\",\"valueString\":\"$4\"}]"
  echo "{\"resourceType\":\"MedicationRequest\",\"status\":\"active\",\"intent\":\"order\",
    \"medicationCodeableConcept\":{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"$2\"}]},
    \"subject\":{\"identifier\":{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"$1\"}},
    \"dosageInstruction\":[{\"text\":\"$3 mg three times a day\",\"timing\":{\"repeat\":{\"frequency\":3,\"period\":1,\"periodUnit\":\"d\"}},
      \"doseAndRate\":[{\"doseQuantity\":{\"value\":$3,\"unit\":\"mg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mg\"}}]}]$ext}"
}

step "CDS Hooks order-sign: ibuprofen for 9990000034, who takes warfarin"
curl -sf -H "Authorization: Bearer $CLINICIAN" -H 'Content-Type: application/json' \
  -d "{\"hook\":\"order-sign\",\"hookInstance\":\"walkthrough\",\"context\":{\"patientId\":\"9990000034\",
       \"draftOrders\":{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":$(RX 9990000034 387207008 400)}]}}}" \
  "$BASE/cds-services/medication-order-sign" | field '"\n".join(c["indicator"] + ": " + c["summary"] for c in d["cards"])'

step "Issue it: refused (422) while the critical card stands"
curl -s -w '\nHTTP %{http_code}\n' -H "Authorization: Bearer $CLINICIAN" -H 'Content-Type: application/fhir+json' \
  -d "$(RX 9990000034 387207008 400)" "$BASE/fhir/MedicationRequest"

step "Issue paracetamol for 9990000018 instead: no cards, 201 Created"
curl -sf -H "Authorization: Bearer $CLINICIAN" -H 'Content-Type: application/fhir+json' \
  -d "$(RX 9990000018 387517004 1000)" "$BASE/fhir/MedicationRequest" | field '"MedicationRequest/" + d["id"] + " " + d["status"]'

step "Or issue the ibuprofen with a recorded override reason"
curl -sf -H "Authorization: Bearer $CLINICIAN" -H 'Content-Type: application/fhir+json' \
  -d "$(RX 9990000034 387207008 400 'Three days only, agreed with anticoagulation clinic')" \
  "$BASE/fhir/MedicationRequest" | field 'd["status"], d["extension"][0]["valueString"]'

ADMIN=$($PB token --role admin --user admin-1 --data-dir "$DATA")
admin() { # method path [json]
  curl -sf -X "$1" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' ${3:+-d "$3"} "$BASE$2"
}

step "Hot swap, first as a shadow: Bramble's module gets a copy of each scheduling call, its writes discarded"
admin POST /admin/slots/scheduling/shadow \
  '{"module":"bramble/scheduling@2.1.0","reason":"Walk-through: compare on live calls"}' \
  | field '"shadow of", d["trial"]["module"], "at", d["trial"]["percent"], "%"'
for _ in 1 2 3; do curl -sf -o /dev/null -H "Authorization: Bearer $RECEPTION" "$BASE/fhir/Slot?_count=20"; done
admin GET /admin/slots/scheduling/trial \
  | field '"\n".join("%-18s agreed %d, differed %d" % (f, t["agreed"], t["differed"]) for f, t in d["trial"]["report"]["functions"].items())'
echo "(Bramble offers fewer slots than Meridian: it wants two hours' notice and holds one slot in four back for urgent care)"
admin POST /admin/slots/scheduling/abort '{"reason":"Seen enough"}' >/dev/null

step "Deploy Bramble for real: readiness checks, then the swap (timings in microseconds)"
admin POST /admin/slots/scheduling/deploy '{"module":"bramble/scheduling@2.1.0","reason":"Walk-through"}' \
  | field 'd["deployment"]["module"], "from", d["timings"]["compiled_from"], "live after", d["timings"]["total_us"], "us"'
curl -sf -H "Authorization: Bearer $RECEPTION" "$BASE/fhir/Slot?status=free&_count=3" \
  | field '"\n".join(e["resource"]["id"] + "  " + e["resource"]["start"] for e in d["entry"])'

step "Roll back to Meridian"
admin POST /admin/slots/scheduling/rollback '{"reason":"End of the walk-through"}' | field 'd["deployment"]["module"], d["deployment"]["action"]'

step "The audit trail saw all of it (auditor role), and its chain is intact"
AUDITOR=$($PB token --role auditor --data-dir "$DATA")
curl -sf -H "Authorization: Bearer $AUDITOR" "$BASE/audit?limit=1000" \
  | field '"\n".join("%4d %-26s %-14s %s" % (e["seq"], e["action"], e["role"], e["outcome"][:60]) for e in d["entries"][-12:])'
$PB audit verify --data-dir "$DATA"
