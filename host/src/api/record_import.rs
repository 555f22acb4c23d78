//! Loading an export into an organisation, perhaps on another host: every
//! resource of an export's NDJSON read back into the records, with ids,
//! versions and times kept, so links other systems made still resolve.
//! Everything is checked before anything is written: each line is a
//! resource this host keeps, whole; ids are unique; every reference
//! resolves to a resource in the import or already in the organisation;
//! a live appointment's slot is busy. Then it is written in one transaction:
//! all or nothing. An id the organisation already holds refuses the whole
//! import, naming it.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::api::fhir::{DELIVERY_CHANNEL_EXTENSION, OVERRIDE_REASON_EXTENSION, parse_instant};
use crate::api::record_set::RESOURCE_TYPES;
use crate::runtime::codes::Code;
use crate::runtime::interfaces::{patients, scheduling_records};
use crate::runtime::prescribing::{Criticality, RequestIntent, RequestStatus};
use crate::runtime::scheduling::{AppointmentStatus, DeliveryChannel, SlotStatus};
use crate::store::database::{Connection, DbError};
use crate::store::sql_value::Param;

/// The most problems one report lists.
const MAX_PROBLEMS: usize = 50;

/// Why an import was refused: every problem found (up to [`MAX_PROBLEMS`]),
/// each naming its line and resource. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input is not a consistent record set.
    #[error("the import was refused and nothing was written: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The organisation already holds one of the resources.
    #[error("the import was refused and nothing was written: {0}")]
    Conflict(String),
    /// The store could not be read or written.
    #[error("the import could not be written, so nothing was: {0}")]
    Store(#[from] DbError),
}

/// What an import loaded: how many resources of each type.
pub type Loaded = BTreeMap<String, u64>;

/// One resource, read back into the columns the records store keeps.
struct Record {
    kind: &'static str,
    id: String,
    /// The references it makes, as (type, id).
    references: Vec<(&'static str, String)>,
    /// Its row, for `kind`'s INSERT; empty for a Practitioner, which the
    /// records keep only as actors and requesters.
    row: Vec<Column>,
}

/// One column's value.
enum Column {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Real(f64),
}

impl Column {
    fn param(&self) -> &dyn Param {
        match self {
            Column::Text(t) => t,
            Column::OptText(t) => t,
            Column::Int(i) => i,
            Column::Real(r) => r,
        }
    }
}

/// A resource being read: its JSON and where it came from, for errors.
struct Fields<'a> {
    v: &'a Value,
    at: &'a str,
}

impl Fields<'_> {
    fn get(&self, pointer: &str) -> Option<&Value> {
        self.v.pointer(pointer).filter(|v| !v.is_null())
    }

    fn text(&self, pointer: &str) -> Result<String, String> {
        self.opt_text(pointer)?
            .ok_or_else(|| format!("{}: {} is missing", self.at, path(pointer)))
    }

    fn opt_text(&self, pointer: &str) -> Result<Option<String>, String> {
        match self.get(pointer) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{}: {} must be text", self.at, path(pointer))),
        }
    }

    fn instant(&self, pointer: &str) -> Result<i64, String> {
        let text = self.text(pointer)?;
        parse_instant(&text).ok_or_else(|| {
            format!(
                "{}: {} must be a FHIR instant, not '{text}'",
                self.at,
                path(pointer)
            )
        })
    }

    fn code<T: Code>(&self, pointer: &str) -> Result<String, String> {
        let text = self.text(pointer)?;
        match T::from_code(&text) {
            Some(_) => Ok(text),
            None => Err(format!(
                "{}: {} must be one of {}, not '{text}'",
                self.at,
                path(pointer),
                T::all_codes()
            )),
        }
    }

    fn reference(&self, pointer: &str, kind: &'static str) -> Result<String, String> {
        let text = self.text(pointer)?;
        text.strip_prefix(kind)
            .and_then(|r| r.strip_prefix('/'))
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "{}: {} must reference a {kind} ({kind}/<id>), not '{text}'",
                    self.at,
                    path(pointer)
                )
            })
    }

    fn version(&self) -> Result<i64, String> {
        let text = self.text("/meta/versionId")?;
        text.parse::<u32>()
            .ok()
            .filter(|v| *v >= 1)
            .map(i64::from)
            .ok_or_else(|| {
                format!(
                    "{}: meta.versionId must be a version number, not '{text}'",
                    self.at
                )
            })
    }

    fn extension(&self, url: &str, field: &str) -> Option<String> {
        self.v["extension"]
            .as_array()?
            .iter()
            .find(|e| e["url"] == url)
            .and_then(|e| e[field].as_str())
            .map(str::to_string)
    }
}

/// A JSON pointer as a FHIR path, for messages.
fn path(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// Reads one resource.
fn record(v: &Value, at: &str) -> Result<Record, String> {
    let f = Fields { v, at };
    let kind_text = f.text("/resourceType")?;
    let kind = RESOURCE_TYPES
        .iter()
        .find(|k| **k == kind_text)
        .copied()
        .ok_or_else(|| {
            format!(
                "{at}: a {kind_text}, which this host does not keep: an import holds {}",
                RESOURCE_TYPES.join(", ")
            )
        })?;
    let id = f.text("/id")?;
    let at = format!("{at} ({kind}/{id})");
    let f = Fields { v, at: &at };
    let patient = |pointer: &str| f.reference(pointer, "Patient");
    use Column::{Int, OptText, Real, Text};
    let (references, row) = match kind {
        "Patient" => {
            let nhs = f.text("/identifier/0/value")?;
            if nhs != id {
                return Err(format!(
                    "{at}: a patient's id is their NHS number here, but the identifier says {nhs}"
                ));
            }
            (
                vec![],
                vec![
                    Text(nhs),
                    Text(f.text("/name/0/text")?),
                    Text(f.text("/birthDate")?),
                ],
            )
        }
        "Practitioner" => (vec![], vec![]),
        "Schedule" => {
            let (actor_kind, actor_id, references) = match f.opt_text("/actor/0/reference")? {
                Some(_) => {
                    let actor = f.reference("/actor/0/reference", "Practitioner")?;
                    (
                        "Practitioner".to_string(),
                        actor.clone(),
                        vec![("Practitioner", actor)],
                    )
                }
                None => (
                    f.text("/actor/0/type")?,
                    f.text("/actor/0/identifier/value")?,
                    vec![],
                ),
            };
            (
                references,
                vec![
                    Text(id.clone()),
                    Text(f.text("/comment")?),
                    Text(f.text("/serviceType/0/coding/0/system")?),
                    Text(f.text("/serviceType/0/coding/0/code")?),
                    OptText(f.opt_text("/serviceType/0/coding/0/display")?),
                    Text(actor_kind),
                    Text(actor_id),
                    OptText(f.opt_text("/actor/0/display")?),
                ],
            )
        }
        "Slot" => {
            let schedule = f.reference("/schedule/reference", "Schedule")?;
            let channel = f
                .extension(DELIVERY_CHANNEL_EXTENSION, "valueCode")
                .ok_or_else(|| format!("{at}: the delivery channel extension is missing"))?;
            if DeliveryChannel::from_code(&channel).is_none() {
                return Err(format!(
                    "{at}: the delivery channel must be one of {}, not '{channel}'",
                    DeliveryChannel::all_codes()
                ));
            }
            (
                vec![("Schedule", schedule.clone())],
                vec![
                    Text(id.clone()),
                    Text(schedule),
                    Int(f.instant("/start")?),
                    Int(f.instant("/end")?),
                    Text(f.code::<SlotStatus>("/status")?),
                    Text(channel),
                ],
            )
        }
        "Appointment" => {
            let slot = f.reference("/slot/0/reference", "Slot")?;
            let patient = patient("/participant/0/actor/reference")?;
            (
                vec![("Slot", slot.clone()), ("Patient", patient.clone())],
                vec![
                    Text(id.clone()),
                    Text(slot),
                    Text(patient),
                    Int(f.instant("/start")?),
                    Int(f.instant("/end")?),
                    Text(f.code::<AppointmentStatus>("/status")?),
                    OptText(f.opt_text("/description")?),
                    OptText(f.opt_text("/comment")?),
                    OptText(f.opt_text("/cancelationReason/text")?),
                    Int(f.instant("/created")?),
                    Int(f.version()?),
                    Int(f.instant("/meta/lastUpdated")?),
                ],
            )
        }
        "MedicationRequest" => {
            let patient = patient("/subject/reference")?;
            let requester = f.reference("/requester/reference", "Practitioner")?;
            let dosage = "/dosageInstruction/0";
            let dose = f
                .get(&format!("{dosage}/doseAndRate/0/doseQuantity/value"))
                .and_then(Value::as_f64)
                .ok_or_else(|| format!("{at}: the dose quantity's value is missing"))?;
            let frequency = f
                .get(&format!("{dosage}/timing/repeat/frequency"))
                .and_then(Value::as_i64)
                .ok_or_else(|| format!("{at}: the dosage's timing.repeat.frequency is missing"))?;
            let as_needed = f
                .get(&format!("{dosage}/asNeededBoolean"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            (
                vec![
                    ("Patient", patient.clone()),
                    ("Practitioner", requester.clone()),
                ],
                vec![
                    Text(id.clone()),
                    Text(patient),
                    Text(f.text("/medicationCodeableConcept/coding/0/system")?),
                    Text(f.text("/medicationCodeableConcept/coding/0/code")?),
                    OptText(f.opt_text("/medicationCodeableConcept/coding/0/display")?),
                    Text(f.text(&format!("{dosage}/text"))?),
                    Real(dose),
                    Text(f.text(&format!("{dosage}/doseAndRate/0/doseQuantity/unit"))?),
                    Int(frequency),
                    Int(i64::from(as_needed)),
                    OptText(f.opt_text(&format!("{dosage}/route/coding/0/system"))?),
                    OptText(f.opt_text(&format!("{dosage}/route/coding/0/code"))?),
                    OptText(f.opt_text(&format!("{dosage}/route/coding/0/display"))?),
                    Text(f.code::<RequestStatus>("/status")?),
                    Text(f.code::<RequestIntent>("/intent")?),
                    Int(f.instant("/authoredOn")?),
                    Text("Practitioner".into()),
                    Text(requester),
                    OptText(f.opt_text("/requester/display")?),
                    OptText(f.extension(OVERRIDE_REASON_EXTENSION, "valueString")),
                    OptText(f.opt_text("/statusReason/text")?),
                    Int(f.version()?),
                    Int(f.instant("/meta/lastUpdated")?),
                ],
            )
        }
        "AllergyIntolerance" => {
            let patient = patient("/patient/reference")?;
            (
                vec![("Patient", patient.clone())],
                vec![
                    Text(id.clone()),
                    Text(patient),
                    Text(f.text("/code/coding/0/system")?),
                    Text(f.text("/code/coding/0/code")?),
                    OptText(f.opt_text("/code/coding/0/display")?),
                    Text(f.code::<Criticality>("/criticality")?),
                    OptText(f.opt_text("/reaction/0/description")?),
                    Int(f.instant("/recordedDate")?),
                ],
            )
        }
        _ => unreachable!("every type of RESOURCE_TYPES is read above"),
    };
    Ok(Record {
        kind,
        id,
        references,
        row,
    })
}

/// The INSERT for a type's row, after the organisation (`?1`).
fn insert_sql(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Patient" => {
            "INSERT INTO patients (org, nhs_number, name, birth_date) VALUES (?1, ?2, ?3, ?4)"
        }
        "Schedule" => {
            "INSERT INTO schedules (org, id, name, service_system, service_code, service_display, \
             actor_kind, actor_id, actor_display) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        }
        "Slot" => {
            "INSERT INTO slots (org, id, schedule_id, start_ms, end_ms, status, delivery_channel) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        "Appointment" => {
            "INSERT INTO appointments (org, id, slot_id, patient, start_ms, end_ms, status, description, \
             comment, cancellation_reason, created_ms, version, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        }
        "MedicationRequest" => {
            "INSERT INTO medication_requests (org, id, patient, medication_system, medication_code, \
             medication_display, dosage_text, dose, dose_unit, frequency_per_day, as_needed, route_system, \
             route_code, route_display, status, intent, authored_ms, requester_kind, requester_id, \
             requester_display, override_reason, status_reason, version, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
             ?19, ?20, ?21, ?22, ?23, ?24)"
        }
        "AllergyIntolerance" => {
            "INSERT INTO allergies (org, id, patient, code_system, code, code_display, criticality, \
             reaction, recorded_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        }
        _ => return None,
    })
}

/// Whether the organisation already holds a resource (for references an
/// import makes to what is there), read as the API reads it.
fn held(db: &Connection, org: &str, kind: &str, id: &str) -> Result<bool, DbError> {
    Ok(match kind {
        "Patient" => patients::lookup(db, org, id)?.is_some(),
        "Schedule" => scheduling_records::schedules(db, org)?
            .iter()
            .any(|s| s.id == id),
        "Slot" => scheduling_records::slot(db, org, id)?.is_some(),
        "Practitioner" => !scheduling_records::practitioners(db, org, Some(id), 1)?.is_empty(),
        _ => false,
    })
}

/// Reads an export's NDJSON (every resource file, one resource per line;
/// blank lines are skipped) and checks it as a whole against the
/// organisation's records.
fn read_all(db: &Connection, org: &str, ndjson: &str) -> Result<Vec<Record>, ImportError> {
    let mut problems = Vec::new();
    let mut records = Vec::new();
    for (n, line) in ndjson.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("line {}", n + 1);
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|e| format!("{at}: not JSON ({e})"))
            .and_then(|v| record(&v, &at));
        match parsed {
            Ok(r) => records.push(r),
            Err(problem) => problems.push(problem),
        }
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    if records.is_empty() && problems.is_empty() {
        problems.push(
            "there is nothing to import: send an export's NDJSON, one resource per line".into(),
        );
    }
    let mut ids: HashSet<(&str, &str)> = HashSet::new();
    for r in &records {
        if !ids.insert((r.kind, &r.id)) {
            problems.push(format!("{}/{} appears twice", r.kind, r.id));
        }
    }
    // Every reference resolves, in the import or already here.
    let mut referenced: HashSet<(&str, &str)> = HashSet::new();
    for r in &records {
        for (kind, id) in &r.references {
            referenced.insert((kind, id));
            if problems.len() < MAX_PROBLEMS
                && !ids.contains(&(*kind, id.as_str()))
                && !held(db, org, kind, id)?
            {
                problems.push(format!(
                    "{}/{} references {kind}/{id}, which is neither in the import nor in this organisation",
                    r.kind, r.id
                ));
            }
        }
    }
    // A practitioner is kept only as an actor or a requester.
    for r in records.iter().filter(|r| r.kind == "Practitioner") {
        if !referenced.contains(&("Practitioner", r.id.as_str())) {
            problems.push(format!(
                "Practitioner/{} is named by no schedule or prescription in the import: this host keeps practitioners only as those records' actors and requesters",
                r.id
            ));
        }
    }
    // A live appointment holds its slot.
    let slots: BTreeMap<&str, &str> = records
        .iter()
        .filter(|r| r.kind == "Slot")
        .filter_map(|r| match r.row.get(4) {
            Some(Column::Text(status)) => Some((r.id.as_str(), status.as_str())),
            _ => None,
        })
        .collect();
    for r in records.iter().filter(|r| r.kind == "Appointment") {
        let live = matches!(r.row.get(5), Some(Column::Text(s)) if !["cancelled", "entered-in-error"].contains(&s.as_str()));
        let slot = r
            .references
            .first()
            .map(|(_, id)| id.as_str())
            .unwrap_or_default();
        if live && slots.get(slot).is_some_and(|status| *status != "busy") {
            problems.push(format!(
                "Appointment/{} is live, but its slot Slot/{slot} is not busy: the record set is inconsistent",
                r.id
            ));
        }
    }
    problems.truncate(MAX_PROBLEMS);
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(ImportError::Invalid(problems))
    }
}

/// Imports an export's NDJSON into an organisation, all or nothing; says
/// how many resources of each type were loaded.
pub fn import(db: &Connection, org: &str, ndjson: &str) -> Result<Loaded, ImportError> {
    let tx = db.transaction()?;
    let records = read_all(&tx, org, ndjson)?;
    let mut loaded = Loaded::new();
    // In load order: what is referenced first.
    for kind in RESOURCE_TYPES {
        for r in records.iter().filter(|r| r.kind == *kind) {
            *loaded.entry(r.kind.to_string()).or_default() += 1;
            let Some(sql) = insert_sql(r.kind) else {
                continue;
            };
            let mut params: Vec<&dyn Param> = vec![&org];
            params.extend(r.row.iter().map(Column::param));
            match tx.execute(sql, &params) {
                Ok(_) => {}
                Err(e) if e.is_unique_violation() => {
                    return Err(ImportError::Conflict(format!(
                        "{}/{} is already held by this organisation (or, for an appointment, its slot is already booked here): an import adds records, it never overwrites",
                        r.kind, r.id
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    tx.commit()?;
    Ok(loaded)
}
