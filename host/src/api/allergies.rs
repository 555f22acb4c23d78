//! A patient's recorded allergies as FHIR AllergyIntolerance: `GET
//! AllergyIntolerance?patient=` and `GET AllergyIntolerance/{id}`, read
//! from the records store for the clinicians who prescribe (the same
//! allergies the prescribing module checks a draft against).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;

use crate::api::blocking::store_read;
use crate::api::directory::not_found;
use crate::api::error::ApiError;
use crate::api::fhir;
use crate::api::identity::{Principal, Role};
use crate::api::responses::fhir_json;
use crate::api::route_spec::{Answer, RouteSpec};
use crate::api::scheduling::{patient_param, patient_params};
use crate::api::state::AppState;
use crate::runtime::interfaces::prescribing_records;

/// Who may read allergies: those who may read prescriptions.
const READERS: &[Role] = &[Role::Clinician];

/// The allergy routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/fhir/AllergyIntolerance",
            summary: "A patient's recorded allergies: patient=<NHS number>",
            roles: READERS,
            params: patient_params(),
            body: None,
            answers: vec![
                Answer::fhir(200, "AllergyIntoleranceBundle", "The patient's allergies"),
                Answer::outcome(400, "No patient was given"),
            ],
            handler: get(search),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/AllergyIntolerance/{id}",
            summary: "Read a recorded allergy",
            roles: READERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer::fhir(200, "AllergyIntolerance", "The allergy"),
                Answer::outcome(404, "No such allergy is recorded here"),
            ],
            handler: get(read),
        },
    ]
}

async fn search(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "allergy.search", READERS).await?;
    let result = async {
        let patient = patient_param(&params)?;
        act.patient = Some(patient.clone());
        let org = principal.organisation.clone();
        let found = store_read(
            state.runtime.records(),
            "the patient's allergies",
            move |db| prescribing_records::allergies(db, &org, &patient),
        )
        .await?;
        Ok(fhir_json(fhir::searchset(
            &state.config.fhir_base(),
            found.iter().map(fhir::allergy_intolerance).collect(),
        )))
    }
    .await;
    act.finish(result).await
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "allergy.read", READERS).await?;
    act.resource = Some(format!("AllergyIntolerance/{id}"));
    let result = async {
        let (org, wanted) = (principal.organisation.clone(), id.clone());
        let allergy = store_read(state.runtime.records(), "the allergy", move |db| {
            prescribing_records::allergy(db, &org, &wanted)
        })
        .await?
        .ok_or_else(|| not_found("allergy", &id))?;
        act.patient = Some(allergy.patient.clone());
        Ok(fhir_json(fhir::allergy_intolerance(&allergy)))
    }
    .await;
    act.finish(result).await
}
