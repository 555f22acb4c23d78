//! Health, discovery (CapabilityStatement, SMART configuration), metrics,
//! the audit trail, and the slots each organisation has.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::blocking::blocking;
use crate::api::error::ApiError;
use crate::api::identity::{Principal, Role};
use crate::api::responses::fhir_json;
use crate::api::route_spec::{Answer, Param, RouteSpec};
use crate::api::state::AppState;
use crate::lifecycle::replication::{self, ReplicaView};
use crate::runtime::bindings::IssueCode;
use crate::runtime::standard::Standard;
use crate::store::audit;

/// The admin and discovery routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/healthz",
            summary: "Liveness: the host answers and its store can be read",
            roles: &[],
            params: vec![],
            body: None,
            answers: vec![
                Answer::json(200, "Health", "The host answers and its store can be read"),
                Answer::outcome(503, "The records store cannot be read"),
            ],
            handler: get(health),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/metadata",
            summary: "The FHIR CapabilityStatement",
            roles: &[],
            params: vec![],
            body: None,
            answers: vec![Answer::fhir(
                200,
                "CapabilityStatement",
                "The CapabilityStatement",
            )],
            handler: get(capability_statement),
        },
        RouteSpec {
            method: Method::GET,
            path: "/.well-known/smart-configuration",
            summary: "SMART discovery: the token issuer and supported scopes",
            roles: &[],
            params: vec![],
            body: None,
            answers: vec![Answer::json(
                200,
                "SmartConfiguration",
                "The SMART configuration",
            )],
            handler: get(smart_configuration),
        },
        RouteSpec {
            method: Method::GET,
            path: "/metrics",
            summary: "Prometheus metrics: requests, latency, module calls, traps, timeouts",
            roles: &[Role::Admin, Role::Auditor],
            params: vec![],
            body: None,
            answers: vec![Answer {
                status: 200,
                description: "Prometheus text: the caller's organisation's series",
                schema: None,
                content_type: "text/plain",
                headers: &[],
            }],
            handler: get(metrics),
        },
        RouteSpec {
            method: Method::GET,
            path: "/audit",
            summary: "The audit trail: user, patient, action, after (sequence), since and until (time), limit",
            roles: &[Role::Auditor],
            params: vec![
                Param::text("user", "Only this user's entries"),
                Param::text("patient", "Only entries about this patient (NHS number)"),
                Param::text(
                    "action",
                    "Only actions starting with this, e.g. appointment",
                ),
                Param::integer(
                    "after",
                    "Only entries after this sequence number",
                    i64::MIN,
                    i64::MAX,
                ),
                Param::integer(
                    "since",
                    "Only entries at or after this time (milliseconds since the epoch)",
                    i64::MIN,
                    i64::MAX,
                ),
                Param::integer(
                    "until",
                    "Only entries before this time (milliseconds since the epoch)",
                    i64::MIN,
                    i64::MAX,
                ),
                Param::integer(
                    "limit",
                    "At most this many entries (default 100, at most 1000)",
                    0,
                    u32::MAX.into(),
                ),
            ],
            body: None,
            answers: vec![
                Answer::json(
                    200,
                    "AuditPage",
                    "The caller's organisation's entries, oldest first",
                ),
                Answer::outcome(400, "A parameter is not what it should be"),
            ],
            handler: get(audit_trail),
        },
        RouteSpec {
            method: Method::GET,
            path: "/audit/verify",
            summary: "Checks the caller's organisation's audit chain from its first entry, and against the anchor",
            roles: &[Role::Auditor],
            params: vec![],
            body: None,
            answers: vec![Answer::json(
                200,
                "AuditVerdict",
                "Intact with the number of entries, or where the chain first breaks",
            )],
            handler: get(audit_verify),
        },
        RouteSpec {
            method: Method::GET,
            path: "/admin/slots",
            summary: "The caller's organisation's slots and their active modules",
            roles: &[Role::Admin],
            params: vec![],
            body: None,
            answers: vec![Answer::json(
                200,
                "SlotList",
                "Each slot's active module, health, trial and recent modules",
            )],
            handler: get(slots),
        },
    ]
}

async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.runtime.records().clone();
    let ok = blocking(move || {
        store
            .connection()
            .and_then(|c| Ok(c.query_one("SELECT 1", &[])?.get::<i64>(0)?))
    })
    .await;
    match ok {
        Ok(Ok(1)) => Ok(Json(json!({"status": "ok"}))),
        _ => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            IssueCode::Exception,
            "the records store cannot be read",
        )),
    }
}

async fn capability_statement() -> Response {
    let search = |names: &[(&str, &str)]| -> Vec<Value> {
        names
            .iter()
            .map(|(n, t)| json!({"name": n, "type": t}))
            .collect()
    };
    fhir_json(json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": crate::api::fhir::instant(crate::runtime::call_state::now_ms()),
        "kind": "instance",
        "software": {"name": "Patchbay", "version": env!("CARGO_PKG_VERSION")},
        "fhirVersion": "4.0.1",
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                "description": "Bearer JWTs (RS256, ES256) with the user, organisation (ODS code) and roles."
            },
            "resource": [
                {"type": "Patient", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": search(&[("identifier", "token")]),
                 "operation": [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"}]},
                {"type": "Practitioner", "interaction": [{"code": "read"}, {"code": "search-type"}]},
                {"type": "Schedule", "interaction": [{"code": "read"}, {"code": "search-type"}]},
                {"type": "Slot", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": search(&[("start", "date"), ("end", "date"), ("service-type", "token"), ("schedule", "reference"), ("status", "token"), ("_count", "number")])},
                {"type": "Appointment", "interaction": [{"code": "read"}, {"code": "create"}, {"code": "update"}, {"code": "search-type"}],
                 "searchParam": search(&[("patient", "reference")])},
                {"type": "MedicationRequest", "interaction": [{"code": "read"}, {"code": "create"}, {"code": "update"}, {"code": "search-type"}],
                 "searchParam": search(&[("patient", "reference"), ("status", "token")])},
                {"type": "AllergyIntolerance", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": search(&[("patient", "reference")])}
            ],
            "operation": [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}]
        }]
    }))
}

async fn smart_configuration(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "issuer": state.config.identity.issuer,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["user/Slot.rs", "user/Appointment.cruds", "user/MedicationRequest.cruds", "patient/Appointment.cruds"],
        "capabilities": ["permission-v2"],
    }))
}

async fn metrics(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let act = state
        .act(&principal, "metrics.read", &[Role::Admin, Role::Auditor])
        .await?;
    let text = state.runtime.metrics().prometheus(&principal.organisation);
    let response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response();
    act.finish(Ok(response)).await
}

async fn audit_trail(
    State(state): State<AppState>,
    principal: Principal,
    filter: Result<Query<audit::Filter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    // The role first: a caller who may not read the trail learns nothing
    // from how their parameters are read.
    let act = state
        .act(&principal, "audit.read", &[Role::Auditor])
        .await?;
    let result = async {
        let Query(mut filter) = filter.map_err(|rejection| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                IssueCode::Invalid,
                format!(
                    "the audit trail's parameters cannot be read: {}; after is a sequence number, limit a whole number",
                    rejection.body_text()
                ),
            )
        })?;
        // An auditor sees their own organisation's trail only.
        filter.org = Some(principal.organisation.clone());
        let store = state.runtime.records().clone();
        match blocking(move || -> anyhow::Result<_> {
            audit::list(&*store.connection()?, &filter)
        })
        .await
        {
            Ok(Ok(entries)) => Ok(Json(json!({"entries": entries}))),
            Ok(Err(e)) | Err(e) => Err(ApiError::host_failure("cannot read the audit trail", &e)),
        }
    }
    .await;
    act.finish(result).await
}

async fn audit_verify(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let act = state
        .act(&principal, "audit.verify", &[Role::Auditor])
        .await?;
    let runtime = state.runtime.clone();
    let org = principal.organisation.clone();
    let verdict = blocking(move || -> anyhow::Result<audit::Verdict> {
        let conn = runtime.records().connection()?;
        runtime.audit().verify(&conn, Some(&org))
    })
    .await
    .and_then(|r| r)
    .map_err(|e| ApiError::host_failure("cannot verify the audit trail", &e))
    .map(|verdict| {
        Json(match verdict {
            audit::Verdict::Intact { entries } => json!({"intact": true, "entries": entries}),
            audit::Verdict::Broken { seq, reason, .. } => {
                json!({"intact": false, "seq": seq, "reason": reason})
            }
        })
    });
    act.finish(verdict).await
}

async fn slots(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let act = state.act(&principal, "slots.list", &[Role::Admin]).await?;
    // On PostgreSQL: what every replica serves in each slot, and which lag.
    let runtime = state.runtime.clone();
    let org = principal.organisation.clone();
    let replicas = blocking(move || -> anyhow::Result<Vec<Vec<ReplicaView>>> {
        let conn = runtime.records().connection()?;
        Standard::ALL
            .into_iter()
            .map(|s| replication::serving(&conn, &org, s.function()))
            .collect()
    })
    .await
    .and_then(|r| r)
    .map_err(|e| ApiError::host_failure("cannot read what the replicas serve", &e));
    let replicas = match replicas {
        Ok(replicas) => replicas,
        Err(e) => return act.finish(Err(e)).await,
    };
    let list: Vec<Value> = Standard::ALL
        .into_iter()
        .zip(replicas)
        .filter_map(|(s, replicas)| {
            state
                .runtime
                .slots()
                .get(&principal.organisation, s)
                .map(|slot| (slot, replicas))
        })
        .map(|(slot, replicas)| {
            let active = slot.active();
            json!({
                "organisation": slot.organisation,
                "function": slot.standard.function(),
                "world": slot.standard.world(),
                "module": active.module.label.to_string(),
                "sha256": active.module.hash,
                "healthy": !active.health.tripped(),
                "calls": state.runtime.metrics().module_calls(&slot.organisation, active.module.label.as_ref()),
                "trial": slot.trial().map(|t| t.summary()),
                "history": slot.history().iter().map(|label| label.to_string()).collect::<Vec<_>>(),
                "replicas": replicas,
            })
        })
        .collect();
    act.finish(Ok(Json(json!({"slots": list})))).await
}
