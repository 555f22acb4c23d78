//! FHIR Bulk Data export (the HL7 Bulk Data Access IG, v2), asynchronous:
//! `GET /fhir/$export` (the caller's organisation, taken from the token,
//! since a host serves several) or `GET /fhir/Patient/$export` (the patient
//! compartment) with `Prefer: respond-async` answers 202 with a
//! `Content-Location` to poll; the poll answers 202 with `X-Progress` and
//! `Retry-After` until the job is done, then 200 with the completion
//! manifest; each file is fetched from its URL as NDJSON; `DELETE` on the
//! status URL cancels the job or removes a finished one. Admins only;
//! every step is audited.
//!
//! The job reads the whole record set in one read-only snapshot (no write
//! lock: bookings go on meanwhile), then stores each file in its own short
//! write. Jobs and files live in the store ([`crate::store::exports`]), so
//! any replica answers the poll. The manifest gives each file's count and
//! SHA-256; beside the resources are the organisation's deployment history
//! and audit trail (see [`record_set`]).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Value, json};

use crate::api::blocking::store_read;
use crate::api::error::ApiError;
use crate::api::fhir;
use crate::api::identity::{Principal, Role};
use crate::api::record_set::{self, ExportFile, FHIR_NDJSON, NDJSON};
use crate::api::route_spec::{Answer, Header, Param, RouteSpec};
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;
use crate::runtime::call_state::now_ms;
use crate::store::exports::{self, Job, JobState};
use crate::store::records::{RecordStore, new_id};

/// Who may export: an organisation's admins.
const EXPORTERS: &[Role] = &[Role::Admin];

/// How many exports of one organisation may run at once.
pub const MAX_RUNNING: i64 = 2;

/// How long a client should wait between polls, in seconds.
const POLL_AFTER_SECS: u64 = 1;

/// The output formats a kick-off may ask for: all mean NDJSON.
const OUTPUT_FORMATS: &[&str] = &["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// The bulk export routes.
pub fn routes() -> Vec<RouteSpec> {
    let kick_off_params = || {
        vec![
            Param::text(
                "_type",
                "Only these resource types, comma-separated (default: every type served)",
            ),
            Param::text(
                "_since",
                "Only resources changed at or after this instant (FHIR instant, with a zone); types that record no change time are exported whole",
            ),
            Param::text("_outputFormat", "application/fhir+ndjson (the default)")
                .one_of(OUTPUT_FORMATS),
        ]
    };
    let kick_off_answers = || {
        vec![
            Answer::fhir(
                202,
                "OperationOutcome",
                "Accepted: poll the Content-Location",
            )
            .with_headers(&[Header::ContentLocation]),
            Answer::outcome(
                400,
                "Prefer: respond-async is missing, or a parameter is unknown or invalid",
            ),
            Answer::outcome(429, "Too many exports of this organisation are running")
                .with_headers(&[Header::RetryAfter]),
        ]
    };
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/fhir/$export",
            summary: "Start exporting the organisation's whole record set (Prefer: respond-async)",
            roles: EXPORTERS,
            params: kick_off_params(),
            body: None,
            answers: kick_off_answers(),
            handler: get(export_organisation),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Patient/$export",
            summary: "Start exporting every patient's compartment: Patient, Appointment, MedicationRequest, AllergyIntolerance (Prefer: respond-async)",
            roles: EXPORTERS,
            params: kick_off_params(),
            body: None,
            answers: kick_off_answers(),
            handler: get(export_patients),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/bulk/{id}",
            summary: "An export's status: 202 while it runs (X-Progress, Retry-After), 200 with the manifest once done",
            roles: EXPORTERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer::json(200, "BulkManifest", "Complete: the manifest"),
                Answer {
                    status: 202,
                    description: "Still running",
                    schema: None,
                    content_type: "text/plain",
                    headers: &[Header::XProgress, Header::RetryAfter],
                },
                Answer::outcome(404, "No such export in this organisation"),
                Answer::outcome(500, "The export failed: why"),
            ],
            handler: get(status),
        },
        RouteSpec {
            method: Method::DELETE,
            path: "/fhir/bulk/{id}",
            summary: "Cancel an export, or remove a finished one and its files",
            roles: EXPORTERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer::fhir(202, "OperationOutcome", "Cancelled or removed"),
                Answer::outcome(404, "No such export in this organisation"),
            ],
            handler: delete(cancel),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/bulk/{id}/{file}",
            summary: "One file of a complete export, as the manifest lists it",
            roles: EXPORTERS,
            params: vec![],
            body: None,
            answers: vec![
                Answer {
                    status: 200,
                    description: "The file: NDJSON (FHIR resources; the history files are application/x-ndjson)",
                    schema: None,
                    content_type: FHIR_NDJSON,
                    headers: &[],
                },
                Answer::outcome(404, "No such file of a complete export here"),
            ],
            handler: get(download),
        },
    ]
}

/// What an export holds.
#[derive(Debug, Clone)]
struct Selection {
    /// The resource types, in load order.
    types: Vec<&'static str>,
    /// Only resources changed at or after this.
    since: Option<i64>,
    /// With the organisation's deployment history and audit trail.
    history: bool,
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, message)
}

/// Reads a kick-off request: its `Prefer` header and its parameters.
fn selection(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    allowed: &[&'static str],
    patient_level: bool,
) -> Result<Selection, ApiError> {
    let prefer = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !prefer.split(',').any(|p| p.trim() == "respond-async") {
        return Err(bad_request(
            "an export runs in the background: send the header Prefer: respond-async, then poll the Content-Location of the answer".into(),
        ));
    }
    for name in params.keys() {
        if !["_type", "_since", "_outputFormat"].contains(&name.as_str()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::NotSupported,
                format!(
                    "the export parameter '{name}' is not supported here: use _type, _since or _outputFormat"
                ),
            ));
        }
    }
    if let Some(format) = params.get("_outputFormat")
        && !OUTPUT_FORMATS.contains(&format.as_str())
    {
        return Err(bad_request(format!(
            "_outputFormat must be application/fhir+ndjson, not '{format}'"
        )));
    }
    let types = match params.get("_type") {
        None => allowed.to_vec(),
        Some(list) => {
            let mut wanted = Vec::new();
            for name in list.split(',').map(str::trim) {
                match allowed.iter().find(|t| **t == name) {
                    Some(t) => wanted.push(*t),
                    None => {
                        return Err(bad_request(format!(
                            "_type names '{name}', which this export does not hold: use {}",
                            allowed.join(", ")
                        )));
                    }
                }
            }
            // In load order, once each.
            allowed
                .iter()
                .copied()
                .filter(|t| wanted.contains(t))
                .collect()
        }
    };
    let since = params
        .get("_since")
        .map(|text| {
            fhir::parse_instant(text).ok_or_else(|| {
                bad_request(format!(
                    "_since must be a FHIR instant with a zone, such as 2026-01-31T09:00:00Z, not '{text}'"
                ))
            })
        })
        .transpose()?;
    Ok(Selection {
        history: !patient_level && !params.contains_key("_type"),
        types,
        since,
    })
}

async fn export_organisation(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    kick_off(state, principal, headers, params, false).await
}

async fn export_patients(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    kick_off(state, principal, headers, params, true).await
}

async fn kick_off(
    state: AppState,
    principal: Principal,
    headers: HeaderMap,
    params: HashMap<String, String>,
    patient_level: bool,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "export.start", EXPORTERS).await?;
    let result = async {
        let allowed = if patient_level {
            record_set::PATIENT_COMPARTMENT
        } else {
            record_set::RESOURCE_TYPES
        };
        let selection = selection(&headers, &params, allowed, patient_level)?;
        let base = state.config.fhir_base();
        let mut query: Vec<(&String, &String)> = params.iter().collect();
        query.sort();
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let path = if patient_level { "Patient/$export" } else { "$export" };
        let request = if query.is_empty() {
            format!("{base}/{path}")
        } else {
            format!("{base}/{path}?{query}")
        };
        let job = Job {
            id: new_id(),
            org: principal.organisation.clone(),
            request,
            state: JobState::InProgress("accepted".into()),
            requested_ms: now_ms(),
            requested_by: principal.user.clone(),
        };
        act.resource = Some(format!("bulk/{}", job.id));
        act.detail = Some(job.request.clone());
        let (org, created) = (job.org.clone(), job.clone());
        let running = store_read(state.runtime.records(), "the running exports", move |db| {
            let now = now_ms();
            let running = exports::running(db, &org, now)?;
            if running < MAX_RUNNING {
                exports::create(db, &created, now)?;
            }
            Ok(running)
        })
        .await?;
        if running >= MAX_RUNNING {
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                IssueCode::Processing,
                format!(
                    "{running} exports of this organisation are running, the most at once: wait for one to finish (or DELETE one), then ask again"
                ),
            );
            error.retry_after = Some(30);
            return Err(error);
        }
        let status_url = format!("{base}/bulk/{}", job.id);
        let store = state.runtime.records().clone();
        let files_base = status_url.clone();
        tokio::task::spawn_blocking(move || run(&store, &job, &selection, &files_base));
        let mut response = fhir::fhir_json(json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "processing",
                       "diagnostics": format!("the export has started: poll {status_url}")}],
        }));
        *response.status_mut() = StatusCode::ACCEPTED;
        if let Ok(value) = HeaderValue::from_str(&status_url) {
            response.headers_mut().insert(header::CONTENT_LOCATION, value);
        }
        Ok(response)
    }
    .await;
    act.finish(result).await
}

/// Runs a job to its end: reads the record set in one snapshot, stores each
/// file, then the manifest. A failure is recorded on the job, for its poll.
fn run(store: &RecordStore, job: &Job, selection: &Selection, files_base: &str) {
    let _span = tracing::info_span!("export", id = %job.id, org = %job.org).entered();
    match export(store, job, selection, files_base) {
        Ok(true) => tracing::info!("export complete"),
        Ok(false) => tracing::info!("export cancelled"),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "export failed");
            let recorded = store
                .connection()
                .and_then(|db| Ok(exports::fail(&db, &job.id, &format!("{e:#}"), now_ms())?));
            if let Err(e) = recorded {
                tracing::error!(error = %format!("{e:#}"), "cannot record that the export failed");
            }
        }
    }
}

/// The job's work; false if it was cancelled on the way.
fn export(
    store: &RecordStore,
    job: &Job,
    selection: &Selection,
    files_base: &str,
) -> anyhow::Result<bool> {
    let progress_db = store.connection()?;
    let reader = store.connection()?;
    let snapshot = reader.snapshot()?;
    let transaction_time = now_ms();
    let steps = selection.types.len() + if selection.history { 2 } else { 0 };
    let mut files: Vec<ExportFile> = Vec::new();
    for (n, kind) in selection.types.iter().enumerate() {
        let progress = format!("exporting {kind} ({} of {steps})", n + 1);
        if !exports::set_progress(&progress_db, &job.id, &progress, now_ms())? {
            return Ok(false);
        }
        files.extend(record_set::resources(
            &snapshot,
            &job.org,
            kind,
            selection.since,
        )?);
    }
    if selection.history {
        let progress = format!("exporting the deployment history and audit trail ({steps} steps)");
        if !exports::set_progress(&progress_db, &job.id, &progress, now_ms())? {
            return Ok(false);
        }
        files.extend(record_set::deployments(&snapshot, &job.org)?);
        files.extend(record_set::audit_trail(&snapshot, &job.org)?);
    }
    snapshot.commit()?;
    drop(reader);
    let mut output = Vec::new();
    let mut history = Vec::new();
    for file in &files {
        exports::add_file(&progress_db, &job.id, &file.name, &file.content)?;
        let entry = record_set::manifest_entry(file, &format!("{files_base}/{}", file.name));
        if file.is_resources() {
            output.push(entry);
        } else {
            history.push(entry);
        }
    }
    let mut manifest = json!({
        "transactionTime": fhir::instant(transaction_time),
        "request": job.request,
        "requiresAccessToken": true,
        "output": output,
        "error": [],
    });
    if selection.history {
        manifest["extension"] = json!({"history": history});
    }
    Ok(exports::complete(
        &progress_db,
        &job.id,
        &manifest.to_string(),
        now_ms(),
    )?)
}

fn no_such_export(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        format!(
            "there is no export '{id}' of this organisation: it may have been cancelled or removed; start a new one"
        ),
    )
}

async fn status(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "export.status", EXPORTERS).await?;
    act.resource = Some(format!("bulk/{id}"));
    let result = async {
        let (org, wanted) = (principal.organisation.clone(), id.clone());
        let job = store_read(state.runtime.records(), "the export", move |db| {
            exports::job(db, &org, &wanted, now_ms())
        })
        .await?
        .ok_or_else(|| no_such_export(&id))?;
        match job.state {
            JobState::InProgress(progress) => {
                let mut response = (StatusCode::ACCEPTED, progress.clone()).into_response();
                let headers = response.headers_mut();
                if let Ok(value) = HeaderValue::from_str(&progress) {
                    headers.insert("x-progress", value);
                }
                headers.insert(header::RETRY_AFTER, HeaderValue::from(POLL_AFTER_SECS));
                Ok(response)
            }
            JobState::Complete(manifest) => {
                let manifest: Value = serde_json::from_str(&manifest).map_err(|e| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        IssueCode::Exception,
                        format!("the export's manifest cannot be read ({e}): start a new export"),
                    )
                })?;
                Ok(axum::Json(manifest).into_response())
            }
            JobState::Failed(why) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                IssueCode::Exception,
                format!("the export failed: {why}"),
            )),
        }
    }
    .await;
    act.finish(result).await
}

async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "export.cancel", EXPORTERS).await?;
    act.resource = Some(format!("bulk/{id}"));
    let result = async {
        let (org, wanted) = (principal.organisation.clone(), id.clone());
        let gone = store_read(state.runtime.records(), "the export", move |db| {
            exports::delete(db, &org, &wanted)
        })
        .await?;
        if !gone {
            return Err(no_such_export(&id));
        }
        let mut response = fhir::fhir_json(json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "processing",
                       "diagnostics": format!("export {id} is cancelled and its files removed")}],
        }));
        *response.status_mut() = StatusCode::ACCEPTED;
        Ok(response)
    }
    .await;
    act.finish(result).await
}

async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "export.download", EXPORTERS).await?;
    act.resource = Some(format!("bulk/{id}/{file}"));
    let result = async {
        let (org, wanted, name) = (principal.organisation.clone(), id.clone(), file.clone());
        let content = store_read(state.runtime.records(), "the export's file", move |db| {
            exports::file(db, &org, &wanted, &name)
        })
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                IssueCode::NotFound,
                format!("export '{id}' has no file '{file}' (or is not complete): the manifest lists its files"),
            )
        })?;
        let media = if record_set::holds_resources(&file) {
            FHIR_NDJSON
        } else {
            NDJSON
        };
        Ok(([(header::CONTENT_TYPE, media)], content).into_response())
    }
    .await;
    act.finish(result).await
}
