//! `POST /admin/import`: an admin loads an export's records into their
//! organisation on this host, perhaps exported from another host (see
//! [`record_import`]). The body is the export's resource files as one
//! NDJSON stream, as `patchbay import DIR` sends it after checking the
//! download. All or nothing; audited with the body's size and SHA-256, so
//! the audit trail ties this host's records to the export they came from.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use crate::api::blocking::blocking;
use crate::api::error::ApiError;
use crate::api::identity::{Principal, Role};
use crate::api::record_import::{self, ImportError};
use crate::api::record_set::FHIR_NDJSON;
use crate::api::route_spec::{Answer, RequestBody, RouteSpec};
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;
use crate::runtime::module::sha256_hex;

/// The largest import, in bytes: an organisation of about a million
/// resources.
pub const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

/// The import route.
pub fn routes() -> Vec<RouteSpec> {
    vec![RouteSpec {
        method: Method::POST,
        path: "/admin/import",
        summary: "Load an export's resources (NDJSON) into the caller's organisation: checked whole, then written all or nothing",
        roles: &[Role::Admin],
        params: vec![],
        body: Some(RequestBody {
            schema: "Ndjson",
            content_type: FHIR_NDJSON,
        }),
        answers: vec![
            Answer::json(200, "ImportReport", "Loaded: how many of each type"),
            Answer::outcome(
                400,
                "Not a consistent record set: every problem found, by line and resource; nothing was written",
            ),
            Answer::outcome(
                409,
                "The organisation already holds one of the resources; nothing was written",
            ),
        ],
        handler: post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
    }]
}

async fn import(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut act = state
        .act(&principal, "records.import", &[Role::Admin])
        .await?;
    act.detail = Some(format!(
        "{} bytes, SHA-256 {}",
        body.len(),
        sha256_hex(&body)
    ));
    let result = async {
        let text = String::from_utf8(body.to_vec()).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Invalid,
                format!("the body is not UTF-8 text ({e}): send the export's NDJSON files"),
            )
        })?;
        let store = state.runtime.records().clone();
        let org = principal.organisation.clone();
        let loaded = blocking(move || -> anyhow::Result<_> {
            let db = store.connection()?;
            Ok(record_import::import(&db, &org, &text))
        })
        .await
        .and_then(|r| r)
        .map_err(|e| ApiError::host_failure("cannot import", &e))?
        .map_err(|e| match e {
            ImportError::Invalid(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, e.to_string())
            }
            ImportError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, IssueCode::Duplicate, e.to_string())
            }
            ImportError::Store(_) => {
                ApiError::host_failure("cannot import", &anyhow::Error::new(e))
            }
        })?;
        Ok(Json(json!({"organisation": principal.organisation, "loaded": loaded})).into_response())
    }
    .await;
    act.finish(result).await
}
