//! FHIR R4 JSON: the standards' records as FHIR resources (Patient,
//! Practitioner, Schedule, Slot, Appointment, MedicationRequest,
//! AllergyIntolerance, Bundle, OperationOutcome) and back, with a clear
//! error for anything a client sends that cannot be read. Every reference
//! names a resource this server serves.

use serde::{Serialize, Serializer};
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
    Instant(ms).to_string()
}

/// An instant written as FHIR writes one (see [`instant`]), straight into
/// whatever is being written: a response's JSON makes no string for it.
#[derive(Clone, Copy)]
struct Instant(i64);

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0;
        let days = ms.div_euclid(DAY);
        let rest = ms.rem_euclid(DAY);
        let (y, m, d) = civil_from_days(days);
        let (h, min, s, milli) = (
            rest / HOUR,
            rest % HOUR / MINUTE,
            rest % MINUTE / 1000,
            rest % 1000,
        );
        // Digits by hand: this runs for every time in every answer.
        let mut text = [0u8; 24];
        let mut at = 0;
        let mut put = |value: i64, width: usize, before: Option<u8>| {
            if let Some(b) = before {
                text[at] = b;
                at += 1;
            }
            let mut v = value.unsigned_abs();
            for i in (0..width).rev() {
                text[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            at += width;
        };
        if !(0..=9999).contains(&y) {
            // Outside FHIR's years: not written by hand.
            return if milli == 0 {
                write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
            } else {
                write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
            };
        }
        put(y, 4, None);
        put(i64::from(m), 2, Some(b'-'));
        put(i64::from(d), 2, Some(b'-'));
        put(h, 2, Some(b'T'));
        put(min, 2, Some(b':'));
        put(s, 2, Some(b':'));
        if milli != 0 {
            put(milli, 3, Some(b'.'));
        }
        text[at] = b'Z';
        // Only ASCII digits and separators were written.
        f.write_str(std::str::from_utf8(&text[..=at]).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
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

fn coding(c: &Coding) -> CodingJson<'_> {
    CodingJson {
        code: &c.code,
        display: c.display.as_deref(),
        system: &c.system,
    }
}

/// A reference to a patient: the Patient resource this server serves for
/// them, and their NHS number, so it also resolves on any other system.
fn nhs_identifier(nhs_number: &str) -> PatientReference<'_> {
    PatientReference {
        identifier: NhsIdentifier {
            system: NHS_NUMBER,
            value: nhs_number,
        },
        reference: Joined("Patient", nhs_number),
    }
}

fn meta(version: u32, last_updated: i64) -> Meta {
    Meta {
        last_updated: Instant(last_updated),
        version_id: Version(version),
    }
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

// The Slot and Appointment resources are written straight to JSON from
// these borrowing structs, with no JSON tree built first: they are what the
// busiest answers (a slot search, a booking) are made of. Their fields are
// in the order serde_json writes a tree's keys (sorted), so they read as
// every other resource does.

/// A Slot resource, ready to write.
#[derive(Serialize)]
pub struct SlotResource<'a> {
    end: Instant,
    extension: [ValueCode<'a>; 1],
    id: &'a str,
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    schedule: ReferenceTo<'a>,
    #[serde(rename = "serviceType")]
    service_type: [Concept<'a>; 1],
    start: Instant,
    status: &'static str,
}

/// An Appointment resource, ready to write.
#[derive(Serialize)]
pub struct AppointmentResource<'a> {
    #[serde(rename = "cancelationReason", skip_serializing_if = "Option::is_none")]
    cancelation_reason: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    created: Instant,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    end: Instant,
    id: &'a str,
    meta: Meta,
    participant: [Participant<'a>; 1],
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    slot: [ReferenceTo<'a>; 1],
    start: Instant,
    status: &'static str,
}

/// `{"reference": "<kind>/<id>"}`.
#[derive(Serialize)]
struct ReferenceTo<'a> {
    reference: Joined<'a>,
}

/// `<kind>/<id>`, written without a string made for it.
struct Joined<'a>(&'static str, &'a str);

impl Serialize for Joined<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}/{}", self.0, self.1))
    }
}

/// An extension with a code.
#[derive(Serialize)]
struct ValueCode<'a> {
    url: &'a str,
    #[serde(rename = "valueCode")]
    value_code: &'static str,
}

/// A CodeableConcept of one coding.
#[derive(Serialize)]
struct Concept<'a> {
    coding: [CodingJson<'a>; 1],
}

/// A Coding.
#[derive(Serialize)]
struct CodingJson<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
    system: &'a str,
}

/// `{"text": …}`.
#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

/// A resource's version and when it last changed.
#[derive(Serialize)]
struct Meta {
    #[serde(rename = "lastUpdated")]
    last_updated: Instant,
    #[serde(rename = "versionId")]
    version_id: Version,
}

/// A version number, written as the string FHIR's `id` type is.
struct Version(u32);

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// An appointment's patient.
#[derive(Serialize)]
struct Participant<'a> {
    actor: PatientReference<'a>,
    status: &'static str,
}

/// A reference to a patient (see `nhs_identifier`).
#[derive(Serialize)]
struct PatientReference<'a> {
    identifier: NhsIdentifier<'a>,
    reference: Joined<'a>,
}

/// An NHS number as an identifier.
#[derive(Serialize)]
struct NhsIdentifier<'a> {
    system: &'static str,
    value: &'a str,
}

/// A Slot resource.
pub fn slot(s: &Slot) -> SlotResource<'_> {
    SlotResource {
        end: Instant(s.period.end),
        extension: [ValueCode {
            url: DELIVERY_CHANNEL_EXTENSION,
            value_code: s.delivery_channel.code(),
        }],
        id: &s.id,
        resource_type: "Slot",
        schedule: ReferenceTo {
            reference: Joined("Schedule", &s.schedule_id),
        },
        service_type: [Concept {
            coding: [coding(&s.service_type)],
        }],
        start: Instant(s.period.start),
        status: s.status.code(),
    }
}

/// An Appointment resource.
pub fn appointment(a: &Appointment) -> AppointmentResource<'_> {
    AppointmentResource {
        cancelation_reason: a.cancellation_reason.as_deref().map(|text| Text { text }),
        comment: a.comment.as_deref(),
        created: Instant(a.created),
        description: a.description.as_deref(),
        end: Instant(a.period.end),
        id: &a.id,
        meta: meta(a.version, a.last_updated),
        participant: [Participant {
            actor: nhs_identifier(&a.patient),
            status: "accepted",
        }],
        resource_type: "Appointment",
        slot: [ReferenceTo {
            reference: Joined("Slot", &a.slot_id),
        }],
        start: Instant(a.period.start),
        status: a.status.code(),
    }
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

/// A resource this server writes: what a Bundle's entry needs to name it.
pub trait Resource: Serialize {
    /// Its type, e.g. `Slot`.
    fn resource_type(&self) -> &str;
    /// Its id.
    fn id(&self) -> &str;
}

impl Resource for Value {
    fn resource_type(&self) -> &str {
        self["resourceType"].as_str().unwrap_or_default()
    }
    fn id(&self) -> &str {
        self["id"].as_str().unwrap_or_default()
    }
}

impl Resource for SlotResource<'_> {
    fn resource_type(&self) -> &str {
        self.resource_type
    }
    fn id(&self) -> &str {
        self.id
    }
}

impl Resource for AppointmentResource<'_> {
    fn resource_type(&self) -> &str {
        self.resource_type
    }
    fn id(&self) -> &str {
        self.id
    }
}

/// A searchset Bundle, ready to write.
#[derive(Serialize)]
pub struct Searchset<R> {
    entry: Vec<Entry<R>>,
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    total: usize,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// One of a searchset's entries.
#[derive(Serialize)]
struct Entry<R> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: R,
    search: Match,
}

/// `{"mode": "match"}`.
#[derive(Serialize)]
struct Match {
    mode: &'static str,
}

/// A searchset Bundle of resources.
pub fn searchset<R: Resource>(base: &str, resources: Vec<R>) -> Searchset<R> {
    let entry: Vec<Entry<R>> = resources
        .into_iter()
        .map(|r| Entry {
            full_url: format!("{base}/{}/{}", r.resource_type(), r.id()),
            resource: r,
            search: Match { mode: "match" },
        })
        .collect();
    Searchset {
        resource_type: "Bundle",
        kind: "searchset",
        total: entry.len(),
        entry,
    }
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
pub fn fhir_json(body: impl Serialize) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match serde_json::to_vec(&body) {
        Ok(bytes) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/fhir+json"),
            )],
            bytes,
        )
            .into_response(),
        // Only a map with keys that are not strings fails, and the host
        // writes none: said, not hidden, if it ever does.
        Err(e) => {
            tracing::error!(error = %e, "cannot write an answer as JSON");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("the answer could not be written as JSON: {e}"),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_digit_by_digit_as_fhir_writes_them() {
        assert_eq!(instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(instant(-1), "1969-12-31T23:59:59.999Z");
        let t = date(2026, 2, 28) + 23 * HOUR + 59 * MINUTE + 59_000 + 7;
        assert_eq!(instant(t), "2026-02-28T23:59:59.007Z");
        assert_eq!(instant(date(9999, 12, 31)), "9999-12-31T00:00:00Z");
        // Outside four-digit years the usual formatting takes over.
        assert_eq!(instant(date(10000, 1, 1)), "10000-01-01T00:00:00Z");
        // In JSON, an instant is a string.
        assert_eq!(
            serde_json::to_string(&Instant(t)).expect("json"),
            "\"2026-02-28T23:59:59.007Z\""
        );
    }

    fn a_slot() -> Slot {
        use crate::runtime::scheduling::{DeliveryChannel, SlotStatus};
        let start = date(2026, 11, 23) + 9 * HOUR;
        Slot {
            id: "slot-1".into(),
            schedule_id: "sch \"A\"".into(),
            service_type: Coding {
                system: "http://snomed.info/sct".into(),
                code: "185389009".into(),
                display: Some("Follow-up visit".into()),
            },
            period: crate::runtime::bindings::Period {
                start,
                end: start + 10 * MINUTE,
            },
            status: SlotStatus::Free,
            delivery_channel: DeliveryChannel::Telephone,
        }
    }

    #[test]
    fn a_slot_is_written_as_the_fhir_slot_resource() {
        let s = a_slot();
        let written: Value = serde_json::to_value(slot(&s)).expect("json");
        assert_eq!(
            written,
            json!({
                "resourceType": "Slot",
                "id": "slot-1",
                "schedule": {"reference": "Schedule/sch \"A\""},
                "serviceType": [{"coding": [{
                    "system": "http://snomed.info/sct", "code": "185389009", "display": "Follow-up visit"
                }]}],
                "status": "free",
                "start": "2026-11-23T09:00:00Z",
                "end": "2026-11-23T09:10:00Z",
                "extension": [{"url": DELIVERY_CHANNEL_EXTENSION, "valueCode": "Telephone"}],
            })
        );
        // Keys come in the order a JSON tree writes them, so the bytes are
        // those of every other resource this server writes.
        assert_eq!(
            serde_json::to_string(&slot(&s)).expect("json"),
            written.to_string()
        );
    }

    #[test]
    fn an_appointment_is_written_with_only_the_fields_it_has() {
        use crate::runtime::scheduling::AppointmentStatus;
        let s = a_slot();
        let mut a = Appointment {
            id: "appt-1".into(),
            slot_id: s.id.clone(),
            patient: "9434765919".into(),
            period: crate::runtime::bindings::Period {
                start: s.period.start,
                end: s.period.end,
            },
            status: AppointmentStatus::Booked,
            description: None,
            comment: None,
            cancellation_reason: None,
            created: s.period.start - DAY,
            version: 1,
            last_updated: s.period.start - DAY + 250,
        };
        let booked = json!({
            "resourceType": "Appointment",
            "id": "appt-1",
            "meta": {"versionId": "1", "lastUpdated": "2026-11-22T09:00:00.250Z"},
            "status": "booked",
            "start": "2026-11-23T09:00:00Z",
            "end": "2026-11-23T09:10:00Z",
            "created": "2026-11-22T09:00:00Z",
            "slot": [{"reference": "Slot/slot-1"}],
            "participant": [{
                "actor": {
                    "reference": "Patient/9434765919",
                    "identifier": {"system": NHS_NUMBER, "value": "9434765919"},
                },
                "status": "accepted",
            }],
        });
        assert_eq!(serde_json::to_value(appointment(&a)).expect("json"), booked);

        a.status = AppointmentStatus::Cancelled;
        a.description = Some("Review".into());
        a.comment = Some("Wheelchair access".into());
        a.cancellation_reason = Some("Feeling better".into());
        a.version = 2;
        let mut cancelled = booked;
        cancelled["status"] = json!("cancelled");
        cancelled["meta"]["versionId"] = json!("2");
        cancelled["description"] = json!("Review");
        cancelled["comment"] = json!("Wheelchair access");
        cancelled["cancelationReason"] = json!({"text": "Feeling better"});
        let written = serde_json::to_value(appointment(&a)).expect("json");
        assert_eq!(written, cancelled);
        assert_eq!(
            serde_json::to_string(&appointment(&a)).expect("json"),
            written.to_string()
        );
    }

    #[test]
    fn a_searchset_names_each_entry_by_its_type_and_id() {
        let s = a_slot();
        let bundle =
            serde_json::to_value(searchset("https://host/fhir", vec![slot(&s)])).expect("json");
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "searchset");
        assert_eq!(bundle["total"], 1);
        assert_eq!(
            bundle["entry"][0]["fullUrl"],
            "https://host/fhir/Slot/slot-1"
        );
        assert_eq!(bundle["entry"][0]["search"]["mode"], "match");
        assert_eq!(bundle["entry"][0]["resource"]["id"], "slot-1");
        let empty =
            serde_json::to_value(searchset::<Value>("https://host/fhir", vec![])).expect("json");
        assert_eq!(empty["total"], 0);
        assert_eq!(empty["entry"], json!([]));
    }

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
