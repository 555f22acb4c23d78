//! The organisation's directory as FHIR, read from the records store rather
//! than through a module: its registered patients (`GET Patient`, `GET
//! Patient/{id}`, the id being the NHS number), the practitioners its
//! records name (`GET Practitioner`, `GET Practitioner/{id}`), its schedules
//! (`GET Schedule`, `GET Schedule/{id}`) and any slot by id (`GET
//! Slot/{id}`), so every reference the other resources make resolves on
//! this server. A patient sees only themselves; another patient's record
//! is answered as one that does not exist.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;

use crate::api::blocking::store_read;
use crate::api::error::ApiError;
use crate::api::fhir;
use crate::api::identity::{Principal, Role};
use crate::api::responses::fhir_json;
use crate::api::route_spec::{Answer, Param, RouteSpec};
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;
use crate::runtime::interfaces::{patients, scheduling_records};
use patchbay_sdk::coding::NHS_NUMBER;

/// Who may read the directory: whoever may book.
const READERS: &[Role] = &[Role::Clinician, Role::Receptionist, Role::Patient];

/// The most patients or practitioners one search returns.
const MAX_FOUND: usize = 1_000;

/// The directory routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Patient",
            summary: "The organisation's registered patients (a patient: only themselves): identifier=[system|]<NHS number>",
            roles: READERS,
            params: vec![Param::text(
                "identifier",
                "An NHS number, optionally https://fhir.nhs.uk/Id/nhs-number|<NHS number>",
            )],
            body: None,
            answers: vec![
                Answer::fhir(200, "PatientBundle", "The patients found"),
                Answer::outcome(400, "The identifier is not an NHS number"),
            ],
            handler: get(search_patients),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Patient/{id}",
            summary: "Read a registered patient by NHS number",
            roles: READERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer::fhir(200, "Patient", "The patient"),
                Answer::outcome(404, "No such patient is registered here"),
            ],
            handler: get(read_patient),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Practitioner",
            summary: "The practitioners the organisation's schedules and prescriptions name",
            roles: READERS,
            params: vec![],
            body: None,
            answers: vec![Answer::fhir(200, "PractitionerBundle", "The practitioners")],
            handler: get(search_practitioners),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Practitioner/{id}",
            summary: "Read a practitioner",
            roles: READERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer::fhir(200, "Practitioner", "The practitioner"),
                Answer::outcome(
                    404,
                    "No schedule or prescription here names this practitioner",
                ),
            ],
            handler: get(read_practitioner),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Schedule",
            summary: "The organisation's schedules",
            roles: READERS,
            params: vec![],
            body: None,
            answers: vec![Answer::fhir(200, "ScheduleBundle", "The schedules")],
            handler: get(search_schedules),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Schedule/{id}",
            summary: "Read a schedule",
            roles: READERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer::fhir(200, "Schedule", "The schedule"),
                Answer::outcome(404, "No such schedule"),
            ],
            handler: get(read_schedule),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Slot/{id}",
            summary: "Read a slot, whatever its status",
            roles: READERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer::fhir(200, "Slot", "The slot"),
                Answer::outcome(404, "No such slot"),
            ],
            handler: get(read_slot),
        },
    ]
}

/// The NHS number an `identifier` parameter names.
fn nhs_number_param(value: &str) -> Result<String, ApiError> {
    let number = match value.split_once('|') {
        Some((system, number)) if system == NHS_NUMBER || system.is_empty() => number,
        Some((system, _)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Invalid,
                format!("identifier's system must be {NHS_NUMBER}, not '{system}'"),
            ));
        }
        None => value,
    };
    if number.len() != 10 || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!("identifier must be an NHS number (10 digits), not '{number}'"),
        ));
    }
    Ok(number.to_string())
}

/// The answer for an id this organisation has no record of.
pub fn not_found(kind: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        format!("there is no {kind} '{id}' in this organisation"),
    )
}

async fn search_patients(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "patient.search", READERS).await?;
    let result = async {
        let wanted = params
            .get("identifier")
            .map(|v| nhs_number_param(v))
            .transpose()?;
        let only = if act.role() == Role::Patient {
            // A patient searches only among themselves.
            let own = principal.nhs_number.clone();
            match (own, wanted) {
                (Some(own), Some(wanted)) if own != wanted => None,
                (Some(own), _) => Some(Some(own)),
                (None, _) => None,
            }
        } else {
            Some(wanted)
        };
        let Some(only) = only else {
            return Ok(fhir_json(fhir::searchset::<serde_json::Value>(
                &state.config.fhir_base(),
                vec![],
            )));
        };
        act.patient = only.clone();
        let org = principal.organisation.clone();
        let found = store_read(
            state.runtime.records(),
            "the registered patients",
            move |db| {
                Ok(match only {
                    Some(nhs) => patients::lookup(db, &org, &nhs)?.into_iter().collect(),
                    None => patients::registered(db, &org, MAX_FOUND)?,
                })
            },
        )
        .await?;
        Ok(fhir_json(fhir::searchset(
            &state.config.fhir_base(),
            found.iter().map(fhir::patient).collect(),
        )))
    }
    .await;
    act.finish(result).await
}

async fn read_patient(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "patient.read", READERS).await?;
    act.resource = Some(format!("Patient/{id}"));
    act.patient = Some(id.clone());
    let result = async {
        let (org, nhs) = (principal.organisation.clone(), id.clone());
        let found = store_read(state.runtime.records(), "the patient", move |db| {
            patients::lookup(db, &org, &nhs)
        })
        .await?
        .ok_or_else(|| not_found("patient", &id));
        let patient = act.patients_own("patient", &id, found, |p| p.nhs_number.as_str())?;
        Ok(fhir_json(fhir::patient(&patient)))
    }
    .await;
    act.finish(result).await
}

async fn search_practitioners(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let act = state
        .act(&principal, "practitioner.search", READERS)
        .await?;
    let result = async {
        let org = principal.organisation.clone();
        let found = store_read(state.runtime.records(), "the practitioners", move |db| {
            scheduling_records::practitioners(db, &org, None, MAX_FOUND)
        })
        .await?;
        Ok(fhir_json(fhir::searchset(
            &state.config.fhir_base(),
            found.iter().map(fhir::practitioner).collect(),
        )))
    }
    .await;
    act.finish(result).await
}

async fn read_practitioner(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "practitioner.read", READERS).await?;
    act.resource = Some(format!("Practitioner/{id}"));
    let result = async {
        let (org, wanted) = (principal.organisation.clone(), id.clone());
        let found = store_read(state.runtime.records(), "the practitioner", move |db| {
            scheduling_records::practitioners(db, &org, Some(&wanted), 1)
        })
        .await?;
        let practitioner = found
            .first()
            .ok_or_else(|| not_found("practitioner", &id))?;
        Ok(fhir_json(fhir::practitioner(practitioner)))
    }
    .await;
    act.finish(result).await
}

async fn search_schedules(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let act = state.act(&principal, "schedule.search", READERS).await?;
    let result = async {
        let org = principal.organisation.clone();
        let found = store_read(state.runtime.records(), "the schedules", move |db| {
            scheduling_records::schedules(db, &org)
        })
        .await?;
        Ok(fhir_json(fhir::searchset(
            &state.config.fhir_base(),
            found.iter().map(fhir::schedule).collect(),
        )))
    }
    .await;
    act.finish(result).await
}

async fn read_schedule(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "schedule.read", READERS).await?;
    act.resource = Some(format!("Schedule/{id}"));
    let result = async {
        let org = principal.organisation.clone();
        let found = store_read(state.runtime.records(), "the schedules", move |db| {
            scheduling_records::schedules(db, &org)
        })
        .await?;
        let schedule = found
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| not_found("schedule", &id))?;
        Ok(fhir_json(fhir::schedule(schedule)))
    }
    .await;
    act.finish(result).await
}

async fn read_slot(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "slot.read", READERS).await?;
    act.resource = Some(format!("Slot/{id}"));
    let result = async {
        let (org, wanted) = (principal.organisation.clone(), id.clone());
        let slot = store_read(state.runtime.records(), "the slot", move |db| {
            scheduling_records::slot(db, &org, &wanted)
        })
        .await?
        .ok_or_else(|| not_found("slot", &id))?;
        Ok(fhir_json(fhir::slot(&slot)))
    }
    .await;
    act.finish(result).await
}
