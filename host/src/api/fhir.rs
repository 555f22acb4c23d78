//! FHIR R4 JSON: the standards' records as FHIR resources (Patient,
//! Practitioner, Schedule, Slot, Appointment, MedicationRequest,
//! AllergyIntolerance, Bundle, OperationOutcome) and back, with a clear
//! error for anything a client sends that cannot be read. Every reference
//! names a resource this server serves.

use serde_json::{Value, json};

use crate::runtime::bindings::scheduling::care::types::patients::Patient;
use crate::runtime::bindings::{Coding, IssueCode, Outcome, Reference};
use crate::runtime::codes::Code;
use crate::runtime::prescribing::{
    Allergy, Dosage, Draft, MedicationRequest, RequestIntent, RequestStatus,
};
use crate::runtime::scheduling::{Appointment, BookingRequest, Schedule, Slot};
use patchbay_sdk::coding::NHS_NUMBER;
use patchbay_sdk::time::{DAY, HOUR, MINUTE, civil_from_days, days_from_civil};

/// The UK Core extension for how an appointment takes place.
pub const DELIVERY_CHANNEL_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeliveryChannel";
/// The extension that carries the reason a critical card was overridden.
pub const OVERRIDE_REASON_EXTENSION: &str =
    "https://fhir.patchbay.dev/StructureDefinition/critical-override-reason";
/// UCUM.
pub const UCUM: &str = "http://unitsofmeasure.org";

/// A request body or parameter that cannot be read, with where and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// What is wrong and what to do.
    pub message: String,
    /// Where, as a FHIRPath.
    pub expression: Option<String>,
}

fn invalid(expression: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        message: message.into(),
        expression: Some(expression.to_string()),
    }
}

/// Formats an instant as a FHIR `instant`: `2026-11-23T09:15:00Z`, with
/// milliseconds only when there are some.
pub fn instant(ms: i64) -> String {
    let days = ms.div_euclid(DAY);
    let rest = ms.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rest / HOUR,
        rest % HOUR / MINUTE,
        rest % MINUTE / 1000,
        rest % 1000,
    );
    if milli == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
    }
}

/// Parses a FHIR `date` (`2026-11-23`, its start in UTC) or `dateTime`
/// with a time zone (`2026-11-23T09:15:00Z`, `…+01:00`).
pub fn parse_instant(text: &str) -> Option<i64> {
    let date = text.get(..10)?;
    let day = patchbay_sdk::time::parse_date(date)?;
    if text.len() == 10 {
        return Some(day);
    }
    let rest = text.get(10..)?.strip_prefix('T')?;
    let num = |s: &str| s.parse::<i64>().ok();
    let (h, mi, s) = (
        num(rest.get(0..2)?)?,
        num(rest.get(3..5)?)?,
        num(rest.get(6..8)?)?,
    );
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut tail = rest.get(8..)?;
    let mut millis = 0;
    if let Some(frac) = tail.strip_prefix('.') {
        let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return None;
        }
        let padded = format!("{digits:0<3}");
        millis = num(&padded[..3])?;
        tail = &frac[digits.len()..];
    }
    let offset = match tail {
        "Z" => 0,
        _ => {
            let sign = match tail.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            if tail.len() != 6 || tail.get(3..4)? != ":" {
                return None;
            }
            sign * (num(tail.get(1..3)?)? * HOUR + num(tail.get(4..6)?)? * MINUTE)
        }
    };
    Some(day + h * HOUR + mi * MINUTE + s * 1000 + millis - offset)
}

/// A date (no time) from days since the epoch, for tests and displays.
pub fn date(year: i64, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day) * DAY
}

fn coding(c: &Coding) -> Value {
    let mut v = json!({"system": c.system, "code": c.code});
    if let Some(display) = &c.display {
        v["display"] = json!(display);
    }
    v
}

/// A reference to a patient: the Patient resource this server serves for
/// them, and their NHS number, so it also resolves on any other system.
fn nhs_identifier(nhs_number: &str) -> Value {
    json!({
        "reference": format!("Patient/{nhs_number}"),
        "identifier": {"system": NHS_NUMBER, "value": nhs_number},
    })
}

fn meta(version: u32, last_updated: i64) -> Value {
    json!({"versionId": version.to_string(), "lastUpdated": instant(last_updated)})
}

/// A Patient resource: a patient registered with the organisation, whose
/// id is their NHS number (so `Patient/<NHS number>` resolves here).
pub fn patient(p: &Patient) -> Value {
    json!({
        "resourceType": "Patient",
        "id": p.nhs_number,
        "identifier": [{"system": NHS_NUMBER, "value": p.nhs_number}],
        "name": [{"text": p.name}],
        "birthDate": p.birth_date,
    })
}

/// A Practitioner resource: someone the records name as a schedule's actor
/// or a prescription's requester, by the id they give.
pub fn practitioner(p: &Reference) -> Value {
    let mut v = json!({"resourceType": "Practitioner", "id": p.id, "active": true});
    if let Some(display) = &p.display {
        v["name"] = json!([{"text": display}]);
    }
    v
}

/// A reference to a practitioner, a location or a service: a resolvable
/// reference when this server serves that kind (Practitioner), otherwise
/// its type and identifier.
fn actor_reference(r: &Reference) -> Value {
    let mut v = if r.kind == "Practitioner" {
        json!({"reference": format!("Practitioner/{}", r.id)})
    } else {
        json!({"type": r.kind, "identifier": {"value": r.id}})
    };
    if let Some(display) = &r.display {
        v["display"] = json!(display);
    }
    v
}

/// A Schedule resource.
pub fn schedule(s: &Schedule) -> Value {
    let actor = actor_reference(&s.actor);
    json!({
        "resourceType": "Schedule",
        "id": s.id,
        "active": true,
        "serviceType": [{"coding": [coding(&s.service_type)]}],
        "actor": [actor],
        "comment": s.name,
    })
}

/// A Slot resource.
pub fn slot(s: &Slot) -> Value {
    json!({
        "resourceType": "Slot",
        "id": s.id,
        "schedule": {"reference": format!("Schedule/{}", s.schedule_id)},
        "serviceType": [{"coding": [coding(&s.service_type)]}],
        "status": s.status.code(),
        "start": instant(s.period.start),
        "end": instant(s.period.end),
        "extension": [{"url": DELIVERY_CHANNEL_EXTENSION, "valueCode": s.delivery_channel.code()}],
    })
}

/// An Appointment resource.
pub fn appointment(a: &Appointment) -> Value {
    let mut v = json!({
        "resourceType": "Appointment",
        "id": a.id,
        "meta": meta(a.version, a.last_updated),
        "status": a.status.code(),
        "start": instant(a.period.start),
        "end": instant(a.period.end),
        "created": instant(a.created),
        "slot": [{"reference": format!("Slot/{}", a.slot_id)}],
        "participant": [{"actor": nhs_identifier(&a.patient), "status": "accepted"}],
    });
    if let Some(d) = &a.description {
        v["description"] = json!(d);
    }
    if let Some(c) = &a.comment {
        v["comment"] = json!(c);
    }
    if let Some(r) = &a.cancellation_reason {
        v["cancelationReason"] = json!({"text": r});
    }
    v
}

/// A MedicationRequest resource.
pub fn medication_request(r: &MedicationRequest) -> Value {
    let mut dosage = json!({
        "text": r.dosage.text,
        "timing": {"repeat": {"frequency": r.dosage.frequency_per_day, "period": 1, "periodUnit": "d"}},
        "asNeededBoolean": r.dosage.as_needed,
        "doseAndRate": [{"doseQuantity": {
            "value": r.dosage.dose, "unit": r.dosage.unit, "system": UCUM, "code": r.dosage.unit
        }}],
    });
    if let Some(route) = &r.dosage.route {
        dosage["route"] = json!({"coding": [coding(route)]});
    }
    let requester = actor_reference(&r.requester);
    let mut v = json!({
        "resourceType": "MedicationRequest",
        "id": r.id,
        "meta": meta(r.version, r.last_updated),
        "status": r.status.code(),
        "intent": r.intent.code(),
        "medicationCodeableConcept": {"coding": [coding(&r.medication)]},
        "subject": nhs_identifier(&r.patient),
        "authoredOn": instant(r.authored),
        "requester": requester,
        "dosageInstruction": [dosage],
    });
    if let Some(reason) = &r.status_reason {
        v["statusReason"] = json!({"text": reason});
    }
    if let Some(reason) = &r.override_reason {
        v["extension"] = json!([{"url": OVERRIDE_REASON_EXTENSION, "valueString": reason}]);
    }
    v
}

/// An AllergyIntolerance resource.
pub fn allergy_intolerance(a: &Allergy) -> Value {
    let mut v = json!({
        "resourceType": "AllergyIntolerance",
        "id": a.id,
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "code": "active"
        }]},
        "verificationStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            "code": "confirmed"
        }]},
        "criticality": a.criticality.code(),
        "code": {"coding": [coding(&a.code)]},
        "patient": nhs_identifier(&a.patient),
        "recordedDate": instant(a.recorded),
    });
    if let Some(reaction) = &a.reaction {
        v["reaction"] = json!([{"description": reaction, "manifestation": [{"text": reaction}]}]);
    }
    v
}

/// A searchset Bundle of resources.
pub fn searchset(base: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!(
                "{base}/{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": url, "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "entry": entries,
    })
}

/// An OperationOutcome from a module's outcome.
pub fn operation_outcome(outcome: &Outcome) -> Value {
    let issues: Vec<Value> = outcome
        .issues
        .iter()
        .map(|i| {
            let mut v = json!({"severity": i.severity.code(), "code": i.code.code(), "diagnostics": i.diagnostics});
            if let Some(e) = &i.expression {
                v["expression"] = json!([e]);
            }
            v
        })
        .collect();
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// An OperationOutcome with one error issue.
pub fn error_outcome(code: IssueCode, diagnostics: &str, expression: Option<&str>) -> Value {
    let mut outcome = Outcome::error(code, diagnostics);
    if let (Some(issue), Some(e)) = (outcome.issues.first_mut(), expression) {
        issue.expression = Some(e.to_string());
    }
    operation_outcome(&outcome)
}

/// Checks a body's `resourceType`.
pub fn expect_type(body: &Value, resource_type: &str) -> Result<(), Invalid> {
    match body.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == resource_type => Ok(()),
        Some(t) => Err(invalid(
            "resourceType",
            format!("expected a {resource_type} resource, got {t}"),
        )),
        None => Err(invalid(
            "resourceType",
            format!(
                "the body is not a FHIR resource: it has no resourceType (expected {resource_type})"
            ),
        )),
    }
}

/// The most characters one free-text field may hold (a description, a
/// comment, a reason, a dosage instruction, a code's display). A module's
/// own policy may take fewer (GP Connect: a description of 100, a comment
/// of 500); this is the host's door, so nobody can fill the store, or make
/// a record too large to read back, through one field.
pub const MAX_TEXT: usize = 1_000;

/// The most characters of an id, a code or an identifier's value (a FHIR
/// id is at most 64).
pub const MAX_ID: usize = 64;

/// `text`, if it is at most `max` characters long.
fn bounded(expression: &str, text: &str, max: usize) -> Result<String, Invalid> {
    let length = text.chars().count();
    if length > max {
        return Err(invalid(
            expression,
            format!("{expression} is {length} characters long; at most {max} are accepted"),
        ));
    }
    Ok(text.to_string())
}

fn opt_string(body: &Value, key: &str) -> Result<Option<String>, Invalid> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => bounded(key, s, MAX_TEXT).map(Some),
        Some(_) => Err(invalid(key, format!("{key} must be a string"))),
    }
}

/// The id from a reference such as `Slot/abc`.
fn reference_id(reference: &Value, kind: &str, expression: &str) -> Result<String, Invalid> {
    let text = reference
        .get("reference")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                expression,
                format!("expected a reference such as {{\"reference\": \"{kind}/…\"}}"),
            )
        })?;
    let id = text
        .rsplit_once('/')
        .filter(|(k, _)| k.ends_with(kind))
        .map(|(_, id)| id)
        .ok_or_else(|| {
            invalid(
                expression,
                format!("'{text}' is not a {kind} reference ({kind}/id)"),
            )
        })?;
    bounded(expression, id, MAX_ID)
}

/// An NHS number from a reference by identifier.
fn nhs_number_of(actor: &Value, expression: &str) -> Result<String, Invalid> {
    let identifier = actor.get("identifier").ok_or_else(|| {
        invalid(
            expression,
            format!("the patient must be referenced by NHS number: {{\"identifier\": {{\"system\": \"{NHS_NUMBER}\", \"value\": \"…\"}}}}"),
        )
    })?;
    match identifier.get("system").and_then(Value::as_str) {
        Some(NHS_NUMBER) => {}
        other => {
            return Err(invalid(
                expression,
                format!("the patient identifier's system must be {NHS_NUMBER}, not {other:?}"),
            ));
        }
    }
    let value = identifier
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(expression, "the patient identifier has no value"))?;
    bounded(expression, value, MAX_ID)
}

/// A booking request from a posted Appointment: its first slot, its patient
/// participant, description and comment.
pub fn booking_request(body: &Value) -> Result<BookingRequest, Invalid> {
    expect_type(body, "Appointment")?;
    let slot = body
        .get("slot")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .ok_or_else(|| {
            invalid(
                "Appointment.slot",
                "an appointment needs a slot: \"slot\": [{\"reference\": \"Slot/…\"}]",
            )
        })?;
    let slot_id = reference_id(slot, "Slot", "Appointment.slot")?;
    let participants = body
        .get("participant")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            invalid(
                "Appointment.participant",
                "an appointment needs the patient as a participant",
            )
        })?;
    let patient = participants
        .iter()
        .filter_map(|p| p.get("actor"))
        .find(|a| a.get("identifier").is_some())
        .ok_or_else(|| {
            invalid(
                "Appointment.participant",
                "no participant is a patient referenced by NHS number",
            )
        })
        .and_then(|a| nhs_number_of(a, "Appointment.participant.actor"))?;
    Ok(BookingRequest {
        slot_id,
        patient,
        description: opt_string(body, "description")?,
        comment: opt_string(body, "comment")?,
    })
}

/// What a PUT of an Appointment asks for (GP Connect: cancel by setting the
/// status to `cancelled` with a reason; amend by changing description,
/// comment or slot).
pub enum AppointmentChange {
    /// Cancel, with the reason.
    Cancel(String),
    /// Amend.
    Amend(crate::runtime::scheduling::Amendment),
}

/// Reads a PUT Appointment body.
pub fn appointment_change(body: &Value) -> Result<AppointmentChange, Invalid> {
    expect_type(body, "Appointment")?;
    if body.get("status").and_then(Value::as_str) == Some("cancelled") {
        let reason = body
            .get("cancelationReason")
            .and_then(|r| r.get("text"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid(
                    "Appointment.cancelationReason",
                    "a cancellation needs a reason: \"cancelationReason\": {\"text\": \"…\"}",
                )
            })?;
        return Ok(AppointmentChange::Cancel(bounded(
            "Appointment.cancelationReason.text",
            reason,
            MAX_TEXT,
        )?));
    }
    let slot_id = match body
        .get("slot")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
    {
        Some(slot) => Some(reference_id(slot, "Slot", "Appointment.slot")?),
        None => None,
    };
    Ok(AppointmentChange::Amend(
        crate::runtime::scheduling::Amendment {
            slot_id,
            description: opt_string(body, "description")?,
            comment: opt_string(body, "comment")?,
        },
    ))
}

fn first_coding(concept: Option<&Value>, expression: &str) -> Result<Coding, Invalid> {
    let c = concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| {
            invalid(
                expression,
                "expected a coded concept: {\"coding\": [{\"system\": …, \"code\": …}]}",
            )
        })?;
    let system = c
        .get("system")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(expression, "the coding has no system"))?;
    let code = c
        .get("code")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(expression, "the coding has no code"))?;
    Ok(Coding {
        system: bounded(expression, system, MAX_TEXT)?,
        code: bounded(expression, code, MAX_ID)?,
        display: c
            .get("display")
            .and_then(Value::as_str)
            .map(|d| bounded(expression, d, MAX_TEXT))
            .transpose()?,
    })
}

/// A draft prescription from a MedicationRequest (posted, or a CDS Hooks
/// draft order), and the override reason it carries, if any.
pub fn draft(body: &Value) -> Result<(Draft, Option<String>), Invalid> {
    expect_type(body, "MedicationRequest")?;
    let medication = first_coding(
        body.get("medicationCodeableConcept"),
        "MedicationRequest.medicationCodeableConcept",
    )?;
    let subject = body.get("subject").ok_or_else(|| {
        invalid(
            "MedicationRequest.subject",
            "a prescription needs a subject: the patient by NHS number",
        )
    })?;
    let patient = nhs_number_of(subject, "MedicationRequest.subject")?;
    let intent = match body.get("intent").and_then(Value::as_str) {
        None => RequestIntent::Order,
        Some(text) => RequestIntent::from_code(text).ok_or_else(|| {
            invalid(
                "MedicationRequest.intent",
                format!(
                    "'{text}' is not a MedicationRequest intent: one of {}",
                    RequestIntent::all_codes()
                ),
            )
        })?,
    };
    let dosage = body
        .get("dosageInstruction")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .ok_or_else(|| {
            invalid(
                "MedicationRequest.dosageInstruction",
                "a prescription needs a dosageInstruction",
            )
        })?;
    let quantity = dosage
        .get("doseAndRate")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|d| d.get("doseQuantity"))
        .ok_or_else(|| {
            invalid(
                "MedicationRequest.dosageInstruction.doseAndRate.doseQuantity",
                "the dose is missing: \"doseAndRate\": [{\"doseQuantity\": {\"value\": 500, \"unit\": \"mg\"}}]",
            )
        })?;
    let dose = quantity
        .get("value")
        .and_then(Value::as_f64)
        .ok_or_else(|| {
            invalid(
                "MedicationRequest.dosageInstruction.doseAndRate.doseQuantity.value",
                "the dose needs a numeric value",
            )
        })?;
    let unit = quantity
        .get("code")
        .or_else(|| quantity.get("unit"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                "MedicationRequest.dosageInstruction.doseAndRate.doseQuantity.unit",
                "the dose needs a unit",
            )
        })?;
    let repeat = dosage.get("timing").and_then(|t| t.get("repeat"));
    let frequency = repeat
        .and_then(|r| r.get("frequency"))
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let period_unit = repeat
        .and_then(|r| r.get("periodUnit"))
        .and_then(Value::as_str)
        .unwrap_or("d");
    let period = repeat
        .and_then(|r| r.get("period"))
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    if period_unit != "d" || period != 1.0 {
        return Err(invalid(
            "MedicationRequest.dosageInstruction.timing.repeat",
            "give the timing as a frequency per day: \"repeat\": {\"frequency\": 3, \"period\": 1, \"periodUnit\": \"d\"}",
        ));
    }
    let route = match dosage.get("route") {
        Some(r) => Some(first_coding(
            Some(r),
            "MedicationRequest.dosageInstruction.route",
        )?),
        None => None,
    };
    let unit = bounded(
        "MedicationRequest.dosageInstruction.doseAndRate.doseQuantity.unit",
        unit,
        MAX_ID,
    )?;
    let text = match dosage.get("text").and_then(Value::as_str) {
        Some(text) => bounded("MedicationRequest.dosageInstruction.text", text, MAX_TEXT)?,
        None => format!("{dose} {unit} {frequency} times a day"),
    };
    let override_reason = body
        .get("extension")
        .and_then(Value::as_array)
        .and_then(|e| {
            e.iter()
                .find(|x| x.get("url").and_then(Value::as_str) == Some(OVERRIDE_REASON_EXTENSION))
        })
        .and_then(|x| x.get("valueString"))
        .and_then(Value::as_str)
        .map(|r| bounded("MedicationRequest.extension(override-reason)", r, MAX_TEXT))
        .transpose()?;
    Ok((
        Draft {
            patient,
            medication,
            dosage: Dosage {
                text,
                dose,
                unit,
                frequency_per_day: frequency.min(u32::MAX as u64) as u32,
                as_needed: dosage
                    .get("asNeededBoolean")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                route,
            },
            intent,
        },
        override_reason,
    ))
}

/// What a PUT of a MedicationRequest asks for: only cancellation (status
/// `cancelled` with a `statusReason`).
pub fn request_cancellation(body: &Value) -> Result<String, Invalid> {
    expect_type(body, "MedicationRequest")?;
    match body.get("status").and_then(Value::as_str) {
        Some("cancelled") => {}
        other => {
            return Err(invalid(
                "MedicationRequest.status",
                format!("only cancellation is supported: set status to cancelled (got {other:?})"),
            ));
        }
    }
    let reason = body
        .get("statusReason")
        .and_then(|r| r.get("text"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                "MedicationRequest.statusReason",
                "a cancellation needs a reason: \"statusReason\": {\"text\": \"…\"}",
            )
        })?;
    bounded("MedicationRequest.statusReason.text", reason, MAX_TEXT)
}

/// Whether a request status is `active` (for search).
pub fn is_active(r: &MedicationRequest) -> bool {
    r.status == RequestStatus::Active
}

/// A JSON body with the FHIR media type.
pub fn fhir_json(body: Value) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/fhir+json"),
        )],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip() {
        let t = date(2026, 11, 23) + 9 * HOUR + 15 * MINUTE;
        assert_eq!(instant(t), "2026-11-23T09:15:00Z");
        assert_eq!(parse_instant("2026-11-23T09:15:00Z"), Some(t));
        assert_eq!(parse_instant("2026-11-23T10:15:00+01:00"), Some(t));
        assert_eq!(parse_instant("2026-11-23T09:15:00.250Z"), Some(t + 250));
        assert_eq!(instant(t + 250), "2026-11-23T09:15:00.250Z");
        assert_eq!(parse_instant("2026-11-23"), Some(date(2026, 11, 23)));
        assert_eq!(
            parse_instant("2026-11-23T09:15:00"),
            None,
            "a time needs a zone"
        );
        assert_eq!(parse_instant("2026-02-30"), None);
        assert_eq!(parse_instant("tomorrow"), None);
    }
}
