//! `care:prescribing/records`: the patient's medication requests and
//! allergies, over the records store. The requester of a new request is
//! always the caller, taken from the call's identity, never from the module.

use crate::store::database::{Connection, DbError, Row};
use wasmtime::component::{HasSelf, Linker};

use crate::runtime::bindings::prescribing::care::prescribing::records::{
    self, Allergy, Criticality, Dosage, MedicationRequest, NewRequest, RequestIntent, RequestStatus,
};
use crate::runtime::bindings::{Coding, IssueCode, Outcome, Reference};
use crate::runtime::call_state::CallState;
use crate::runtime::codes::Code;
use crate::runtime::interfaces::{MAX_PATIENT_ROWS_READ, fault, patients};
use crate::store::records::new_id;

/// Links `care:prescribing/records`.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    records::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s)?;
    Ok(())
}

const REQUEST_COLUMNS: &str = "id, patient, medication_system, medication_code, medication_display, \
     dosage_text, dose, dose_unit, frequency_per_day, as_needed, route_system, route_code, route_display, \
     status, intent, authored_ms, requester_kind, requester_id, requester_display, override_reason, \
     status_reason, version, updated_ms FROM medication_requests";

fn request_from_row(row: &Row) -> Result<MedicationRequest, DbError> {
    let route_system: Option<String> = row.get(10)?;
    let route_code: Option<String> = row.get(11)?;
    Ok(MedicationRequest {
        id: row.get(0)?,
        patient: row.get(1)?,
        medication: Coding {
            system: row.get(2)?,
            code: row.get(3)?,
            display: row.get(4)?,
        },
        dosage: Dosage {
            text: row.get(5)?,
            dose: row.get(6)?,
            unit: row.get(7)?,
            frequency_per_day: row.get(8)?,
            as_needed: row.get(9)?,
            route: match (route_system, route_code) {
                (Some(system), Some(code)) => Some(Coding {
                    system,
                    code,
                    display: row.get(12)?,
                }),
                _ => None,
            },
        },
        status: RequestStatus::from_code(&row.get::<String>(13)?).unwrap_or(RequestStatus::Unknown),
        intent: RequestIntent::from_code(&row.get::<String>(14)?).unwrap_or(RequestIntent::Order),
        authored: row.get(15)?,
        requester: Reference {
            kind: row.get(16)?,
            id: row.get(17)?,
            display: row.get(18)?,
        },
        override_reason: row.get(19)?,
        status_reason: row.get(20)?,
        version: row.get(21)?,
        last_updated: row.get(22)?,
    })
}

/// One medication request of an organisation.
pub fn request(db: &Connection, org: &str, id: &str) -> Result<Option<MedicationRequest>, DbError> {
    db.query_opt(
        &format!("SELECT {REQUEST_COLUMNS} WHERE org = ?1 AND id = ?2"),
        &[&org, &id],
    )?
    .map(|row| request_from_row(&row))
    .transpose()
}

/// A patient's medication requests, newest first: every active one and the
/// most recent others, [`MAX_PATIENT_ROWS_READ`] in all at most.
pub fn requests_for_patient(
    db: &Connection,
    org: &str,
    patient: &str,
) -> Result<Vec<MedicationRequest>, DbError> {
    // Taken, not LIMITed: SQLite's sorter for `ORDER BY … LIMIT ?` costs far
    // more than reading a patient's few rows (measured in benches/calls).
    let mut list = db
        .query_at_most(
            &format!(
                "SELECT {REQUEST_COLUMNS} WHERE org = ?1 AND patient = ?2 \
                 ORDER BY status = 'active' DESC, authored_ms DESC, id"
            ),
            &[&org, &patient],
            MAX_PATIENT_ROWS_READ,
        )?
        .iter()
        .map(request_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    list.sort_by(|a, b| (b.authored, &a.id).cmp(&(a.authored, &b.id)));
    Ok(list)
}

const ALLERGY_COLUMNS: &str = "id, patient, code_system, code, code_display, criticality, reaction, recorded_ms FROM allergies";

fn allergy_from_row(row: &Row) -> Result<Allergy, DbError> {
    Ok(Allergy {
        id: row.get(0)?,
        patient: row.get(1)?,
        code: Coding {
            system: row.get(2)?,
            code: row.get(3)?,
            display: row.get(4)?,
        },
        criticality: Criticality::from_code(&row.get::<String>(5)?)
            .unwrap_or(Criticality::UnableToAssess),
        reaction: row.get(6)?,
        recorded: row.get(7)?,
    })
}

/// Every recorded allergy of a patient.
pub fn allergies(db: &Connection, org: &str, patient: &str) -> Result<Vec<Allergy>, DbError> {
    db.query_at_most(
        &format!(
            "SELECT {ALLERGY_COLUMNS} WHERE org = ?1 AND patient = ?2 ORDER BY recorded_ms, id"
        ),
        &[&org, &patient],
        MAX_PATIENT_ROWS_READ,
    )?
    .iter()
    .map(allergy_from_row)
    .collect()
}

/// One recorded allergy of an organisation.
pub fn allergy(db: &Connection, org: &str, id: &str) -> Result<Option<Allergy>, DbError> {
    db.query_opt(
        &format!("SELECT {ALLERGY_COLUMNS} WHERE org = ?1 AND id = ?2"),
        &[&org, &id],
    )?
    .map(|row| allergy_from_row(&row))
    .transpose()
}

/// Every medication request of an organisation last changed at or after
/// `since` (all, without it), by id: for an export.
pub fn all_requests(
    db: &Connection,
    org: &str,
    since: Option<i64>,
) -> Result<Vec<MedicationRequest>, DbError> {
    db.query(
        &format!("SELECT {REQUEST_COLUMNS} WHERE org = ?1 AND updated_ms >= ?2 ORDER BY id"),
        &[&org, &since.unwrap_or(i64::MIN)],
    )?
    .iter()
    .map(request_from_row)
    .collect()
}

/// Every allergy of an organisation recorded at or after `since` (all,
/// without it), by id: for an export.
pub fn all_allergies(
    db: &Connection,
    org: &str,
    since: Option<i64>,
) -> Result<Vec<Allergy>, DbError> {
    db.query(
        &format!("SELECT {ALLERGY_COLUMNS} WHERE org = ?1 AND recorded_ms >= ?2 ORDER BY id"),
        &[&org, &since.unwrap_or(i64::MIN)],
    )?
    .iter()
    .map(allergy_from_row)
    .collect()
}

impl records::Host for CallState {
    fn medication_requests(&mut self, patient: String) -> wasmtime::Result<Vec<MedicationRequest>> {
        requests_for_patient(&self.db, &self.ctx.organisation, &patient).map_err(fault)
    }

    fn get_medication_request(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Option<MedicationRequest>> {
        request(&self.db, &self.ctx.organisation, &id).map_err(fault)
    }

    fn allergies(&mut self, patient: String) -> wasmtime::Result<Vec<Allergy>> {
        allergies(&self.db, &self.ctx.organisation, &patient).map_err(fault)
    }

    fn create_request(
        &mut self,
        new: NewRequest,
    ) -> wasmtime::Result<Result<MedicationRequest, Outcome>> {
        let org = self.ctx.organisation.clone();
        if patients::lookup(&self.db, &org, &new.patient)
            .map_err(fault)?
            .is_none()
        {
            return Ok(Err(Outcome::error(
                IssueCode::NotFound,
                format!(
                    "no patient with NHS number {} is registered with {org}",
                    new.patient
                ),
            )));
        }
        let id = new_id();
        let route = new.dosage.route.as_ref();
        self.db
            .execute(
                "INSERT INTO medication_requests (org, id, patient, medication_system, medication_code, \
                 medication_display, dosage_text, dose, dose_unit, frequency_per_day, as_needed, route_system, \
                 route_code, route_display, status, intent, authored_ms, requester_kind, requester_id, \
                 requester_display, override_reason, status_reason, version, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active', ?15, ?16, \
                 'Practitioner', ?17, ?18, ?19, NULL, 1, ?16)",
                &[
                    &org,
                    &id,
                    &new.patient,
                    &new.medication.system,
                    &new.medication.code,
                    &new.medication.display,
                    &new.dosage.text,
                    &new.dosage.dose,
                    &new.dosage.unit,
                    &new.dosage.frequency_per_day,
                    &new.dosage.as_needed,
                    &route.map(|r| &r.system),
                    &route.map(|r| &r.code),
                    &route.and_then(|r| r.display.as_ref()),
                    &new.intent.code(),
                    &self.ctx.now,
                    &self.ctx.user,
                    &self.ctx.user_display,
                    &new.override_reason,
                ],
            )
            .map_err(fault)?;
        let stored = request(&self.db, &org, &id).map_err(fault)?;
        stored.map(Ok).ok_or_else(|| {
            fault(anyhow::anyhow!(
                "medication request {id} vanished after insert"
            ))
        })
    }

    fn set_status(
        &mut self,
        id: String,
        status: RequestStatus,
        reason: Option<String>,
    ) -> wasmtime::Result<Result<MedicationRequest, Outcome>> {
        let org = self.ctx.organisation.clone();
        let changed = self
            .db
            .execute(
                "UPDATE medication_requests SET status = ?3, status_reason = ?4, version = version + 1, \
                 updated_ms = ?5 WHERE org = ?1 AND id = ?2",
                &[&org, &id, &status.code(), &reason, &self.ctx.now],
            )
            .map_err(fault)?;
        if changed == 0 {
            return Ok(Err(Outcome::error(
                IssueCode::NotFound,
                format!("there is no medication request '{id}' in this organisation"),
            )));
        }
        let stored = request(&self.db, &org, &id).map_err(fault)?;
        stored.map(Ok).ok_or_else(|| {
            fault(anyhow::anyhow!(
                "medication request {id} vanished after update"
            ))
        })
    }
}
