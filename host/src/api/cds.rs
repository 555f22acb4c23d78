//! CDS Hooks: discovery at `/cds-services` (anonymous), and the
//! `order-select` and `order-sign` services, which run each draft
//! MedicationRequest in `context.draftOrders` through the prescribing
//! module's check and answer its cards in CDS Hooks form.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::api::blocking::module_call;
use crate::api::error::ApiError;
use crate::api::fhir;
use crate::api::identity::{Principal, Role};
use crate::api::responses::json_error;
use crate::api::route_spec::{Answer, Param, RequestBody, RouteSpec};
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;
use crate::runtime::codes::Code;
use crate::runtime::function_slot::RouteKey;
use crate::runtime::prescribing::{Card, SuggestedAction};

const CHECKERS: &[Role] = &[Role::Clinician];

/// The most draft orders one request may carry: each is a module call.
pub const MAX_DRAFT_ORDERS: usize = 20;

/// The services: (id, hook, title).
const SERVICES: [(&str, &str, &str); 2] = [
    (
        "medication-order-select",
        "order-select",
        "Medication checks while choosing",
    ),
    (
        "medication-order-sign",
        "order-sign",
        "Medication checks before signing",
    ),
];

/// The CDS Hooks routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/cds-services",
            summary: "CDS Hooks discovery",
            roles: &[],
            params: vec![],
            body: None,
            answers: vec![Answer::json(200, "CdsDiscovery", "The services")],
            handler: get(discovery),
        },
        RouteSpec {
            method: Method::POST,
            path: "/cds-services/{id}",
            summary: "Call a CDS service (order-select, order-sign) with draftOrders; answers cards",
            roles: CHECKERS,
            params: vec![Param::path(
                "id",
                "The service",
                &[SERVICES[0].0, SERVICES[1].0],
            )],
            body: RequestBody::json("CdsRequest"),
            answers: Answer::calling_a_module(vec![
                Answer::json(200, "CdsCards", "The module's cards for the draft orders"),
                Answer::outcome(404, "There is no such service"),
            ]),
            handler: post(call),
        },
    ]
}

async fn discovery() -> Json<Value> {
    let services: Vec<Value> = SERVICES
        .iter()
        .map(|(id, hook, title)| {
            json!({
                "id": id,
                "hook": hook,
                "title": title,
                "description": "Checks draft MedicationRequests against the patient's current medication and allergies: interactions, dose ranges, allergies, duplicate therapy. Answered by the organisation's prescribing module.",
                "prefetch": {}
            })
        })
        .collect();
    Json(json!({"services": services}))
}

/// A card in CDS Hooks form.
pub fn cds_card(card: &Card) -> Value {
    let suggestions: Vec<Value> = card
        .suggestions
        .iter()
        .map(|s| {
            let action = match &s.action {
                SuggestedAction::RemoveDraft => json!({"type": "delete", "description": s.label}),
                SuggestedAction::ReplaceWith(coding) => json!({
                    "type": "create",
                    "description": s.label,
                    "resource": {"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
                        "medicationCodeableConcept": {"coding": [{"system": coding.system, "code": coding.code, "display": coding.display}]}}
                }),
                SuggestedAction::StopCurrent(id) => json!({
                    "type": "update",
                    "description": s.label,
                    "resource": {"resourceType": "MedicationRequest", "id": id, "status": "stopped"}
                }),
            };
            json!({"label": s.label, "uuid": uuid::Uuid::new_v4().to_string(), "actions": [action]})
        })
        .collect();
    let mut v = json!({
        "uuid": uuid::Uuid::new_v4().to_string(),
        "summary": card.summary,
        "indicator": card.indicator.code(),
        "source": {"label": card.source.label},
        "suggestions": suggestions,
    });
    if let Some(url) = &card.source.url {
        v["source"]["url"] = json!(url);
    }
    if let Some(detail) = &card.detail {
        v["detail"] = json!(detail);
    }
    if !card.suggestions.is_empty() {
        v["selectionBehavior"] = json!("at-most-one");
    }
    v
}

fn draft_orders(body: &Value) -> Result<Vec<Value>, ApiError> {
    let bad = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, m.to_string());
    let entries = body
        .get("context")
        .and_then(|c| c.get("draftOrders"))
        .and_then(|b| b.get("entry"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad("the request needs context.draftOrders: a Bundle of draft MedicationRequests")
        })?;
    if entries.len() > MAX_DRAFT_ORDERS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::TooLong,
            format!(
                "context.draftOrders has {} entries; at most {MAX_DRAFT_ORDERS} are checked in one request: send them in several",
                entries.len()
            ),
        ));
    }
    Ok(entries
        .iter()
        .filter_map(|e| e.get("resource"))
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("MedicationRequest"))
        .cloned()
        .collect())
}

async fn call(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    // The role first: a caller who may not call the services is answered
    // 403 whatever the service, and the refusal is audited.
    let mut act = state.act(&principal, "cds.check", CHECKERS).await?;
    act.resource = Some(format!("cds-services/{id}"));
    let result = async {
        let Some((_, hook, _)) = SERVICES.iter().find(|(sid, _, _)| *sid == id) else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                IssueCode::NotFound,
                format!("there is no CDS service '{id}': see /cds-services"),
            ));
        };
        let Json(body) = body.map_err(json_error)?;
        if let Some(h) = body
            .get("hook")
            .and_then(Value::as_str)
            .filter(|h| h != hook)
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Invalid,
                format!("service {id} answers the {hook} hook, not {h}"),
            ));
        }
        // A CDS Hooks request is about one patient (its context names one):
        // every draft order must be for the same patient, the one the audit
        // entry names.
        let drafts = draft_orders(&body)?
            .iter()
            .map(|order| fhir::draft(order).map(|(draft, _)| draft))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(first) = drafts.first() {
            if let Some(other) = drafts.iter().find(|d| d.patient != first.patient) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    IssueCode::Invalid,
                    format!(
                        "a CDS Hooks request is about one patient, but its draft orders are for {} and {}: send one request per patient",
                        first.patient, other.patient
                    ),
                ));
            }
            act.patient = Some(first.patient.clone());
        }
        let mut cards = Vec::new();
        for draft in drafts {
            let key = RouteKey::Patient(draft.patient.clone());
            let api = state.runtime.ordering_for(act.call_context(), key)?;
            act.module = Some(api.deployment().module.label.to_string());
            cards.extend(
                module_call(move || api.check(&draft))
                    .await?
                    .iter()
                    .map(cds_card),
            );
        }
        Ok(Json(json!({"cards": cards})).into_response())
    }
    .await;
    act.finish(result).await
}
