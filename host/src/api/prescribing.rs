//! FHIR prescribing routes: `POST MedicationRequest` (issue, refused with
//! 422 while a critical card stands unless the override extension gives a
//! reason), `GET MedicationRequest/{id}`, `GET
//! MedicationRequest?patient=&status=active`, and `PUT MedicationRequest/{id}`
//! with status `cancelled` to cancel. Clinicians only.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::Value;

use crate::api::blocking::module_call;
use crate::api::error::ApiError;
use crate::api::fhir;
use crate::api::identity::{Principal, Role};
use crate::api::responses::fhir_json;
use crate::api::responses::{created, json_error, with_etag};
use crate::api::route_spec::{Answer, Header, Param, RequestBody, RouteSpec};
use crate::api::scheduling::{patient_param, patient_params};
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;
use crate::runtime::function_slot::RouteKey;

const PRESCRIBERS: &[Role] = &[Role::Clinician];
/// Who may read prescriptions: clinicians, and a patient their own.
const READERS: &[Role] = &[Role::Clinician, Role::Patient];

/// The prescribing routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::POST,
            path: "/fhir/MedicationRequest",
            summary: "Issue a prescription; refused (422) while a critical card stands unless overridden with a reason",
            roles: PRESCRIBERS,
            params: vec![],
            body: RequestBody::fhir("MedicationRequestDraft"),
            answers: Answer::calling_a_module(vec![
                Answer::fhir(201, "MedicationRequest", "Issued")
                    .with_headers(&[Header::Location, Header::ETag]),
                Answer::outcome(
                    422,
                    "A critical card stands, and no override reason was given; or the module's policy refuses it",
                ),
            ]),
            handler: post(issue),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/MedicationRequest",
            summary: "A patient's prescriptions: patient=<NHS number>&status=active (a patient: their own)",
            roles: READERS,
            params: {
                let mut params = patient_params();
                params.push(
                    Param::text("status", "Only active prescriptions can be searched")
                        .one_of(&["active"]),
                );
                params
            },
            body: None,
            answers: Answer::calling_a_module(vec![Answer::fhir(
                200,
                "MedicationRequestBundle",
                "The patient's active prescriptions",
            )]),
            handler: get(search),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/MedicationRequest/{id}",
            summary: "Read a prescription (a patient: their own)",
            roles: READERS,
            params: vec![],
            body: None,
            answers: Answer::calling_a_module(vec![
                Answer::fhir(200, "MedicationRequest", "The prescription")
                    .with_headers(&[Header::ETag]),
            ]),
            handler: get(read),
        },
        RouteSpec {
            method: Method::PUT,
            path: "/fhir/MedicationRequest/{id}",
            summary: "Cancel a prescription: status cancelled with a statusReason",
            roles: PRESCRIBERS,
            params: vec![],
            body: RequestBody::fhir("MedicationRequestCancellation"),
            answers: Answer::calling_a_module(vec![
                Answer::fhir(200, "MedicationRequest", "Cancelled").with_headers(&[Header::ETag]),
            ]),
            handler: put(cancel),
        },
    ]
}

async fn issue(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let mut act = state
        .act(&principal, "medication-request.issue", PRESCRIBERS)
        .await?;
    let result = async {
        let Json(body) = body.map_err(json_error)?;
        let (draft, override_reason) = fhir::draft(&body)?;
        act.patient = Some(draft.patient.clone());
        act.detail = override_reason
            .as_ref()
            .map(|r| format!("override reason: {r}"));
        let key = RouteKey::Patient(draft.patient.clone());
        let api = state.runtime.ordering_for(act.call_context(), key)?;
        act.module = Some(api.deployment().module.label.to_string());
        let api = api.audited(act.on_commit());
        let issued = module_call(move || api.issue(&draft, override_reason.as_deref())).await?;
        let request = issued.request;
        act.resource = Some(format!("MedicationRequest/{}", request.id));
        let base = state.config.fhir_base();
        Ok(created(
            &base,
            "MedicationRequest",
            &request.id,
            request.version,
            fhir::medication_request(&request),
        ))
    }
    .await;
    act.finish(result).await
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state
        .act(&principal, "medication-request.read", READERS)
        .await?;
    act.resource = Some(format!("MedicationRequest/{id}"));
    let result = async {
        let key = RouteKey::MedicationRequest(id.clone());
        let api = state.runtime.ordering_for(act.call_context(), key)?;
        act.module = Some(api.deployment().module.label.to_string());
        let read_id = id.clone();
        let found = module_call(move || api.read(&read_id)).await;
        if let Ok(request) = &found {
            act.patient = Some(request.patient.clone());
        }
        let request = act.patients_own("MedicationRequest", &id, found, |r| &r.patient)?;
        Ok(with_etag(
            fhir_json(fhir::medication_request(&request)),
            request.version,
        ))
    }
    .await;
    act.finish(result).await
}

async fn search(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut act = state
        .act(&principal, "medication-request.search", READERS)
        .await?;
    let result = async {
        let patient = patient_param(&params)?;
        act.patient = Some(patient.clone());
        act.check_patient(&patient)?;
        if let Some(status) = params.get("status").filter(|s| *s != "active") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::NotSupported,
                format!(
                    "only active prescriptions can be searched (status=active), not '{status}'"
                ),
            ));
        }
        let key = RouteKey::Patient(patient.clone());
        let api = state.runtime.ordering_for(act.call_context(), key)?;
        act.module = Some(api.deployment().module.label.to_string());
        let list = module_call(move || api.active(&patient)).await?;
        let base = state.config.fhir_base();
        Ok(fhir_json(fhir::searchset(
            &base,
            list.iter().map(fhir::medication_request).collect(),
        )))
    }
    .await;
    act.finish(result).await
}

async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let mut act = state
        .act(&principal, "medication-request.cancel", PRESCRIBERS)
        .await?;
    act.resource = Some(format!("MedicationRequest/{id}"));
    let result = async {
        let Json(body) = body.map_err(json_error)?;
        let reason = fhir::request_cancellation(&body)?;
        act.detail = Some(format!("cancelled: {reason}"));
        let key = RouteKey::MedicationRequest(id.clone());
        let api = state.runtime.ordering_for(act.call_context(), key)?;
        act.module = Some(api.deployment().module.label.to_string());
        let api = api.audited(act.on_commit());
        let request = module_call(move || api.cancel(&id, &reason)).await?;
        act.patient = Some(request.patient.clone());
        Ok(with_etag(
            fhir_json(fhir::medication_request(&request)),
            request.version,
        ))
    }
    .await;
    act.finish(result).await
}
