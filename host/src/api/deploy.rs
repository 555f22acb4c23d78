//! Admin routes for the deployment lifecycle, for the caller's
//! organisation: add a module (a signed package), list modules, deploy a
//! module to a slot (after the readiness checks), roll back, show a slot's
//! history. Every action is audited.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::scheduling::json_error;
use super::{ApiError, AppState, RouteSpec, blocking};
use crate::bindings::IssueCode;
use crate::deploy::{self, DeployError};
use crate::identity::{Principal, Role};
use crate::package::Package;
use crate::registry;
use crate::standard::Standard;

const ADMINS: &[Role] = &[Role::Admin];

/// The deployment routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/admin/modules",
            summary: "The modules the host has accepted",
            roles: ADMINS,
            handler: get(list_modules),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/modules",
            summary: "Add a module: a signed package (care-package/1), verified against the trusted supplier keys",
            roles: ADMINS,
            handler: post(add_module),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/deploy",
            summary: "Deploy a module to the slot after its readiness checks: {\"module\": \"supplier/name@version\", \"reason\": \"…\"}",
            roles: ADMINS,
            handler: post(deploy_module),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/rollback",
            summary: "Roll the slot back to its previous deployment: {\"reason\": \"…\"}",
            roles: ADMINS,
            handler: post(rollback),
        },
        RouteSpec {
            method: Method::GET,
            path: "/admin/slots/{function}/history",
            summary: "The slot's deployments: who, when, why",
            roles: ADMINS,
            handler: get(history),
        },
    ]
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        IssueCode::Exception,
        e.to_string(),
    )
}

fn standard(function: &str) -> Result<Standard, ApiError> {
    Standard::from_function(function).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            IssueCode::NotFound,
            format!("'{function}' is not a care function: scheduling or prescribing"),
        )
    })
}

impl From<DeployError> for ApiError {
    fn from(e: DeployError) -> ApiError {
        let status = match &e {
            DeployError::UnknownModule(_) => StatusCode::NOT_FOUND,
            DeployError::NotReady(_) | DeployError::Load(_) | DeployError::NothingToRollBack(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            DeployError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut error = ApiError::new(status, IssueCode::BusinessRule, e.to_string());
        if let DeployError::NotReady(report) = &e {
            error.body["issue"][0]["details"] = json!({"text": report.text()});
        }
        error
    }
}

async fn list_modules(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let act = state.act(&principal, "module.list", ADMINS).await?;
    let store = state.runtime.records().clone();
    let result =
        blocking(move || -> anyhow::Result<_> { registry::modules(&*store.connection()?) }).await;
    let result = match result {
        Ok(Ok(modules)) => Ok(Json(json!({"modules": modules}))),
        Ok(Err(e)) | Err(e) => Err(internal(format!("{e:#}"))),
    };
    act.finish(result).await
}

async fn add_module(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut act = state.act(&principal, "module.add", ADMINS).await?;
    let result = async {
        let Json(body) = body.map_err(json_error)?;
        let package = Package::parse(&body.to_string())
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, e.to_string()))?;
        let trust = state.config.trust.clone();
        let runtime = state.runtime.clone();
        let by = principal.user.clone();
        let added = blocking(move || -> Result<Value, ApiError> {
            let verified = package
                .verify(&trust, trust.allow_unsigned)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, IssueCode::BusinessRule, e.to_string()))?;
            let module = verified
                .compile(&runtime)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, IssueCode::BusinessRule, format!("{e:#}")))?;
            let conn = runtime.records().connection().map_err(internal)?;
            registry::add_module(
                &conn,
                &module.hash,
                &module.label,
                module.standard.world(),
                &verified.component,
                Some(&verified.manifest.grants),
                verified.signed_by.as_deref(),
                crate::call::now_ms(),
                &by,
            )
            .map_err(internal)?;
            Ok(json!({"module": module.label.to_string(), "sha256": module.hash, "world": module.standard.world(),
                "signed_by": verified.signed_by}))
        })
        .await
        .map_err(internal)??;
        act.resource = added["module"].as_str().map(|m| format!("module/{m}"));
        Ok((StatusCode::CREATED, Json(added)))
    }
    .await;
    act.finish(result).await
}

/// A deploy or rollback request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotChange {
    /// The module, for a deploy: `supplier/name@version` or its hash.
    module: Option<String>,
    /// Why: kept in the slot's history and the audit trail.
    reason: String,
}

async fn deploy_module(
    State(state): State<AppState>,
    principal: Principal,
    Path(function): Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut act = state.act(&principal, "slot.deploy", ADMINS).await?;
    act.resource = Some(format!("slot/{}/{function}", principal.organisation));
    let result = async {
        let standard = standard(&function)?;
        let Json(change) = body.map_err(json_error)?;
        let module = change.module.ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Required,
                "say which module: {\"module\": \"supplier/name@version\"}",
            )
        })?;
        act.detail = Some(format!("{module}: {}", change.reason));
        let org = principal.organisation.clone();
        let org_config = state.config.organisations.get(&org).cloned();
        let limits = org_config
            .as_ref()
            .and_then(|o| o.limits.clone())
            .unwrap_or_else(|| state.config.limits.clone());
        let allowed = org_config.map(|o| o.grants).unwrap_or_default();
        let runtime = state.runtime.clone();
        let by = principal.user.clone();
        let record = blocking(move || {
            deploy::deploy(
                &runtime,
                deploy::Request {
                    org: &org,
                    standard,
                    module: &module,
                    limits,
                    allowed,
                    reason: &change.reason,
                    by: &by,
                    readiness: true,
                },
            )
        })
        .await
        .map_err(internal)??;
        act.module = Some(record.module.clone());
        Ok(Json(json!({"deployment": record})))
    }
    .await;
    act.finish(result).await
}

async fn rollback(
    State(state): State<AppState>,
    principal: Principal,
    Path(function): Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut act = state.act(&principal, "slot.rollback", ADMINS).await?;
    act.resource = Some(format!("slot/{}/{function}", principal.organisation));
    let result = async {
        let standard = standard(&function)?;
        let Json(change) = body.map_err(json_error)?;
        act.detail = Some(change.reason.clone());
        let runtime = state.runtime.clone();
        let (org, by) = (principal.organisation.clone(), principal.user.clone());
        let record =
            blocking(move || deploy::rollback(&runtime, &org, standard, &change.reason, &by))
                .await
                .map_err(internal)??;
        act.module = Some(record.module.clone());
        Ok(Json(json!({"deployment": record})))
    }
    .await;
    act.finish(result).await
}

async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path(function): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let act = state.act(&principal, "slot.history", ADMINS).await?;
    let result = async {
        standard(&function)?;
        let store = state.runtime.records().clone();
        let org = principal.organisation.clone();
        let list = blocking(move || -> anyhow::Result<_> {
            registry::history(&*store.connection()?, &org, &function)
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        Ok(Json(json!({"history": list})))
    }
    .await;
    act.finish(result).await
}
