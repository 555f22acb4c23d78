//! Admin routes for the deployment lifecycle, for the caller's
//! organisation: add a module (a signed package), list modules, deploy a
//! module to a slot (after the readiness checks), roll back, try a
//! candidate as a canary or a shadow and promote or abort it, show a slot's
//! history. Every action is audited.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::blocking::blocking;
use crate::api::error::ApiError;
use crate::api::identity::{Principal, Role};
use crate::api::responses::json_error;
use crate::api::route_spec::{Answer, Param, RequestBody, RouteSpec};
use crate::api::state::AppState;
use crate::lifecycle::conformance;
use crate::lifecycle::package::Package;
use crate::lifecycle::readiness::NotReady;
use crate::lifecycle::registry;
use crate::lifecycle::replication;
use crate::lifecycle::rollout::{self, DeployError};
use crate::runtime::bindings::IssueCode;
use crate::runtime::standard::Standard;
use crate::runtime::trial::TrialMode;

const ADMINS: &[Role] = &[Role::Admin];

/// The deployment routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/admin/modules",
            summary: "The modules the host has accepted",
            roles: ADMINS,
            params: vec![],
            body: None,
            answers: vec![Answer::json(
                200,
                "ModuleList",
                "The modules the caller's organisation may deploy",
            )],
            handler: get(list_modules),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/modules",
            summary: "Add a module: a signed package (care-package/1), verified against the trusted supplier keys; answers with its standard's conformance report",
            roles: ADMINS,
            params: vec![],
            body: RequestBody::json("CarePackage"),
            answers: vec![
                Answer::json(201, "ModuleAdded", "Added"),
                Answer::outcome(400, "Not a care package"),
                Answer::outcome(409, "The name stands for another component already"),
                Answer::outcome(413, "The package is larger than 64 MiB"),
                Answer::outcome(
                    422,
                    "The signature, the supplier's key or the component is refused",
                ),
            ],
            handler: post(add_module).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::route_spec::MAX_PACKAGE_BYTES,
            )),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/deploy",
            summary: "Deploy a module to the slot after its readiness checks: {\"module\": \"supplier/name@version\", \"reason\": \"…\"}",
            roles: ADMINS,
            params: vec![function()],
            body: RequestBody::json("SlotChange"),
            answers: vec![
                Answer::json(
                    200,
                    "Deployed",
                    "Deployed, with the recorded deployment and timings",
                ),
                Answer::outcome(404, "No such care function or module"),
                Answer::outcome(409, "The slot changed meanwhile, or does not exist"),
                Answer::outcome(
                    422,
                    "The candidate needs more than the organisation's limits, or failed its readiness checks (the conformance report in issue[0].details.text)",
                ),
                Answer::outcome(503, "The readiness checks could not run"),
            ],
            handler: post(deploy_module),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/rollback",
            summary: "Roll the slot back to its previous deployment: {\"reason\": \"…\"}",
            roles: ADMINS,
            params: vec![function()],
            body: RequestBody::json("SlotChange"),
            answers: vec![
                Answer::json(200, "Deployed", "Rolled back"),
                Answer::outcome(404, "No such care function"),
                Answer::outcome(409, "The slot changed meanwhile, or does not exist"),
                Answer::outcome(422, "Nothing (safe) to roll back to"),
                Answer::outcome(503, "The previous module could not be loaded"),
            ],
            handler: post(rollback),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/canary",
            summary: "Route a share of patients to a candidate, after its readiness checks: {\"module\": \"supplier/name@version\", \"percent\": 10, \"reason\": \"…\"}. Sticky per patient",
            roles: ADMINS,
            params: vec![function()],
            body: RequestBody::json("SlotChange"),
            answers: vec![
                Answer::json(200, "TrialStarted", "The canary runs"),
                Answer::outcome(404, "No such care function or module"),
                Answer::outcome(409, "The slot changed meanwhile, or does not exist"),
                Answer::outcome(
                    422,
                    "The candidate needs more than the organisation's limits, failed its readiness checks, or the percent is not 1 to 100",
                ),
                Answer::outcome(503, "The readiness checks could not run"),
            ],
            handler: post(canary),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/shadow",
            summary: "Copy live calls to a candidate, its writes discarded, and compare its answers: {\"module\": \"supplier/name@version\", \"percent\": 100, \"reason\": \"…\"}",
            roles: ADMINS,
            params: vec![function()],
            body: RequestBody::json("SlotChange"),
            answers: vec![
                Answer::json(200, "TrialStarted", "The shadow runs"),
                Answer::outcome(404, "No such care function or module"),
                Answer::outcome(409, "The slot changed meanwhile, or does not exist"),
                Answer::outcome(
                    422,
                    "The candidate needs more than the organisation's limits, failed its readiness checks, or the percent is not 1 to 100",
                ),
                Answer::outcome(503, "The readiness checks could not run"),
            ],
            handler: post(shadow),
        },
        RouteSpec {
            method: Method::GET,
            path: "/admin/slots/{function}/trial",
            summary: "The slot's canary or shadow, with the shadow's agreements and differences per function",
            roles: ADMINS,
            params: vec![function()],
            body: None,
            answers: vec![
                Answer::json(
                    200,
                    "TrialState",
                    "The active module and the trial, if one runs",
                ),
                Answer::outcome(404, "No such care function"),
            ],
            handler: get(trial),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/promote",
            summary: "Make the canary or shadow candidate the active module, at once: {\"reason\": \"…\"}",
            roles: ADMINS,
            params: vec![function()],
            body: RequestBody::json("SlotChange"),
            answers: vec![
                Answer::json(200, "Deployed", "The candidate is the active module"),
                Answer::outcome(404, "No such care function"),
                Answer::outcome(
                    409,
                    "No trial is running, or its candidate tripped the rollback threshold",
                ),
                Answer::outcome(422, "The candidate cannot be loaded"),
                Answer::outcome(503, "The candidate could not be loaded"),
            ],
            handler: post(promote),
        },
        RouteSpec {
            method: Method::POST,
            path: "/admin/slots/{function}/abort",
            summary: "End the canary or shadow; returns the shadow's final report: {\"reason\": \"…\"}",
            roles: ADMINS,
            params: vec![function()],
            body: RequestBody::json("SlotChange"),
            answers: vec![
                Answer::json(
                    200,
                    "TrialEnded",
                    "The trial ended, with the shadow's final report",
                ),
                Answer::outcome(404, "No such care function"),
                Answer::outcome(409, "No trial is running"),
                Answer::outcome(422, "The trial cannot be ended"),
                Answer::outcome(503, "The trial could not be ended"),
            ],
            handler: post(abort),
        },
        RouteSpec {
            method: Method::GET,
            path: "/admin/slots/{function}/history",
            summary: "The slot's deployments: who, when, why",
            roles: ADMINS,
            params: vec![function()],
            body: None,
            answers: vec![
                Answer::json(200, "History", "Every deployment, oldest first"),
                Answer::outcome(404, "No such care function"),
            ],
            handler: get(history),
        },
    ]
}

/// The `{function}` path parameter: a care function.
fn function() -> Param {
    Param::path(
        "function",
        "The care function",
        &Standard::ALL.map(Standard::function),
    )
}

fn internal(e: impl Into<anyhow::Error>) -> ApiError {
    ApiError::host_failure("the host could not complete the action", &e.into())
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
            DeployError::NotReady {
                reason: NotReady::Host(_),
                ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            DeployError::NotReady { .. }
            | DeployError::Limits { .. }
            | DeployError::Load(_)
            | DeployError::NothingToRollBack(_)
            | DeployError::NothingSafeToRollBack(_)
            | DeployError::BadPercent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DeployError::NoSlot { .. }
            | DeployError::NoTrial(_)
            | DeployError::Failing(_)
            | DeployError::Changed(_) => StatusCode::CONFLICT,
            DeployError::Store(error) => {
                return ApiError::host_failure("the change could not be recorded", error);
            }
        };
        let mut error = ApiError::new(status, IssueCode::BusinessRule, e.to_string());
        if let DeployError::NotReady {
            reason: NotReady::Conformance(report),
            ..
        } = &e
        {
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
    let org = principal.organisation.clone();
    let result =
        blocking(move || -> anyhow::Result<_> { registry::modules(&*store.connection()?, &org) })
            .await;
    let result = match result {
        Ok(Ok(modules)) => Ok(Json(json!({"modules": modules}))),
        Ok(Err(e)) | Err(e) => Err(internal(e)),
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
        let org = principal.organisation.clone();
        let added = blocking(move || -> Result<Value, ApiError> {
            let verified = package
                .verify(&trust, trust.allow_unsigned)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, IssueCode::BusinessRule, e.to_string()))?;
            let module = verified
                .compile(&runtime)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, IssueCode::BusinessRule, format!("{e:#}")))?;
            registry::add_module(
                &*runtime.records().connection().map_err(internal)?,
                &org,
                &module.hash,
                &module.label,
                module.world.name,
                &verified.component,
                Some(&verified.manifest.grants),
                &verified.manifest.limits,
                verified.signed_by.as_deref(),
                crate::runtime::call_state::now_ms(),
                &by,
            )
            .map_err(|e| match e {
                registry::AddError::Store(e) => internal(e),
                e => ApiError::new(StatusCode::CONFLICT, IssueCode::Conflict, e.to_string()),
            })?;
            // The standard's conformance suite, in a scratch store and with
            // no connection held, so the admin sees at once how the module
            // does. A pass is recorded, so a deploy need not run it again.
            let conformance = match conformance::run(module.id.clone(), &verified.component, &verified.manifest.limits) {
                Ok(report) => {
                    if report.passed() {
                        registry::record_conformance(
                            &*runtime.records().connection().map_err(internal)?,
                            &module.hash,
                            &report.text(),
                            crate::runtime::call_state::now_ms(),
                        )
                        .map_err(internal)?;
                    }
                    json!({"passed": report.passed(), "results": report.results})
                }
                Err(e) => json!({"passed": false, "error": format!("{e:#}"), "results": []}),
            };
            Ok(json!({"module": module.label.to_string(), "sha256": module.hash, "world": module.world.name,
                "signed_by": verified.signed_by, "needs": verified.manifest.limits, "conformance": conformance}))
        })
        .await
        .map_err(internal)??;
        act.resource = added["module"].as_str().map(|m| format!("module/{m}"));
        Ok((StatusCode::CREATED, Json(added)))
    }
    .await;
    act.finish(result).await
}

/// A request to change a slot.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotChange {
    /// The module, for a deploy or trial: `supplier/name@version` or its hash.
    module: Option<String>,
    /// For a trial: the share of patients (canary) or of calls (shadow), in
    /// percent.
    percent: Option<u32>,
    /// Why: kept in the slot's history and the audit trail.
    reason: String,
}

/// What a slot change needs from the request: the function, the body, the
/// organisation's limits and what it allows.
struct Change {
    standard: Standard,
    change: SlotChange,
    org: String,
    by: String,
    limits: crate::runtime::deployment::Limits,
    allowed: crate::runtime::deployment::Grants,
}

impl Change {
    fn read(
        state: &AppState,
        principal: &Principal,
        function: &str,
        body: Result<Json<SlotChange>, JsonRejection>,
    ) -> Result<Change, ApiError> {
        let standard = standard(function)?;
        let Json(change) = body.map_err(json_error)?;
        let org = principal.organisation.clone();
        let org_config = state.config.organisations.get(&org);
        let limits = org_config
            .and_then(|o| o.limits.clone())
            .unwrap_or_else(|| state.config.limits.clone());
        let allowed = org_config.map(|o| o.grants.clone()).unwrap_or_default();
        Ok(Change {
            standard,
            change,
            org,
            by: principal.user.clone(),
            limits,
            allowed,
        })
    }

    fn module(&self) -> Result<String, ApiError> {
        self.change.module.clone().ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Required,
                "say which module: {\"module\": \"supplier/name@version\"}",
            )
        })
    }

    fn request<'a>(&'a self, module: &'a str) -> rollout::Request<'a> {
        rollout::Request {
            org: &self.org,
            standard: self.standard,
            module,
            limits: self.limits.clone(),
            allowed: self.allowed.clone(),
            reason: &self.change.reason,
            by: &self.by,
            readiness: true,
        }
    }
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
        let change = Change::read(&state, &principal, &function, body)?;
        let module = change.module()?;
        act.detail = Some(format!("{module}: {}", change.change.reason));
        let runtime = state.runtime.clone();
        let deployed = blocking(move || rollout::deploy(&runtime, change.request(&module)))
            .await
            .map_err(internal)??;
        act.module = Some(deployed.deployment.module.clone());
        Ok(Json(with_replicas(&state, deployed).await))
    }
    .await;
    act.finish(result).await
}

async fn rollback(
    state: State<AppState>,
    principal: Principal,
    function: Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    swap_back_or_forward(
        state,
        principal,
        function,
        body,
        "slot.rollback",
        rollout::rollback,
    )
    .await
}

async fn promote(
    state: State<AppState>,
    principal: Principal,
    function: Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    swap_back_or_forward(
        state,
        principal,
        function,
        body,
        "slot.promote",
        rollout::promote,
    )
    .await
}

/// A slot change that needs no module named: a rollback or a promotion.
async fn swap_back_or_forward(
    State(state): State<AppState>,
    principal: Principal,
    Path(function): Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
    action: &'static str,
    swap: fn(
        &crate::runtime::engine::Runtime,
        &str,
        Standard,
        &str,
        &str,
    ) -> Result<rollout::Deployed, DeployError>,
) -> Result<Json<Value>, ApiError> {
    let mut act = state.act(&principal, action, ADMINS).await?;
    act.resource = Some(format!("slot/{}/{function}", principal.organisation));
    let result = async {
        let change = Change::read(&state, &principal, &function, body)?;
        act.detail = Some(change.change.reason.clone());
        let runtime = state.runtime.clone();
        let deployed = blocking(move || {
            swap(
                &runtime,
                &change.org,
                change.standard,
                &change.change.reason,
                &change.by,
            )
        })
        .await
        .map_err(internal)??;
        act.module = Some(deployed.deployment.module.clone());
        Ok(Json(with_replicas(&state, deployed).await))
    }
    .await;
    act.finish(result).await
}

/// A slot change's answer: what was recorded, how long it took, and, on a
/// PostgreSQL store, which replicas serve it (each is waited for, up to
/// [`replication::PROPAGATION_WAIT`]; one that lags shows `current: false`).
async fn with_replicas(state: &AppState, deployed: rollout::Deployed) -> Value {
    let runtime = state.runtime.clone();
    let record = deployed.deployment.clone();
    let replicas = blocking(move || {
        replication::wait_for(&runtime, &record.org, &record.function, &record.module_hash)
    })
    .await;
    let mut answer = json!(deployed);
    match replicas {
        Ok(Ok(replicas)) if !replicas.is_empty() => answer["replicas"] = json!(replicas),
        Ok(Ok(_)) => {}
        Ok(Err(e)) | Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "cannot tell which replicas serve the change")
        }
    }
    answer
}

async fn canary(
    state: State<AppState>,
    principal: Principal,
    function: Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    start_trial(state, principal, function, body, TrialMode::Canary).await
}

async fn shadow(
    state: State<AppState>,
    principal: Principal,
    function: Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    start_trial(state, principal, function, body, TrialMode::Shadow).await
}

async fn start_trial(
    State(state): State<AppState>,
    principal: Principal,
    Path(function): Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
    mode: TrialMode,
) -> Result<Json<Value>, ApiError> {
    let action = match mode {
        TrialMode::Canary => "slot.canary.start",
        TrialMode::Shadow => "slot.shadow.start",
    };
    let mut act = state.act(&principal, action, ADMINS).await?;
    act.resource = Some(format!("slot/{}/{function}", principal.organisation));
    let result = async {
        let change = Change::read(&state, &principal, &function, body)?;
        let module = change.module()?;
        let percent = match (mode, change.change.percent) {
            (_, Some(p)) => p,
            (TrialMode::Shadow, None) => 100,
            (TrialMode::Canary, None) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    IssueCode::Required,
                    "say what share of patients the canary serves: {\"percent\": 10}",
                ));
            }
        };
        act.detail = Some(format!("{module} at {percent}%: {}", change.change.reason));
        act.module = Some(module.clone());
        let runtime = state.runtime.clone();
        let trial = blocking(move || {
            rollout::start_trial(&runtime, change.request(&module), mode, percent)
        })
        .await
        .map_err(internal)??;
        act.module = Some(trial.module.clone());
        Ok(Json(json!({"trial": trial})))
    }
    .await;
    act.finish(result).await
}

async fn trial(
    State(state): State<AppState>,
    principal: Principal,
    Path(function): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let act = state.act(&principal, "slot.trial", ADMINS).await?;
    let result = async {
        let standard = standard(&function)?;
        let slot = state.runtime.slots().get(&principal.organisation, standard);
        let active = slot.as_ref().map(|s| s.active().module.label.to_string());
        let running = slot.and_then(|s| s.trial());
        let mut trial = running.as_ref().map(|t| t.summary());
        // A shadow's report counts the calls of every replica.
        if let (Some(summary), Some(t)) = (trial.as_mut(), running)
            && t.mode == TrialMode::Shadow
        {
            let runtime = state.runtime.clone();
            let org = principal.organisation.clone();
            let summed = blocking(move || {
                replication::summed_report(
                    &runtime,
                    &org,
                    standard.function(),
                    t.started.at_ms,
                    t.report.snapshot(),
                )
            })
            .await
            .and_then(|r| r)
            .map_err(|e| ApiError::host_failure("cannot read the replicas' shadow reports", &e))?;
            summary["report"] = json!(summed);
        }
        Ok(Json(json!({"active": active, "trial": trial})))
    }
    .await;
    act.finish(result).await
}

async fn abort(
    State(state): State<AppState>,
    principal: Principal,
    Path(function): Path<String>,
    body: Result<Json<SlotChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut act = state.act(&principal, "slot.abort", ADMINS).await?;
    act.resource = Some(format!("slot/{}/{function}", principal.organisation));
    let result = async {
        let change = Change::read(&state, &principal, &function, body)?;
        act.detail = Some(change.change.reason.clone());
        let runtime = state.runtime.clone();
        let (trial, report) = blocking(move || {
            let (trial, report) = rollout::abort(&runtime, &change.org, change.standard)?;
            // A shadow's final report counts the calls of every replica.
            let started = trial["started"]["at_ms"].as_i64().unwrap_or_default();
            let report = match report {
                Some(local) => Some(
                    replication::summed_report(
                        &runtime,
                        &change.org,
                        change.standard.function(),
                        started,
                        local,
                    )
                    .map_err(DeployError::Store)?,
                ),
                None => None,
            };
            Ok::<_, DeployError>((trial, report))
        })
        .await
        .map_err(internal)??;
        act.module = trial["module"].as_str().map(str::to_string);
        Ok(Json(json!({"ended": trial, "report": report})))
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
