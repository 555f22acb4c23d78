//! How FHIR answers are shaped: a JSON body with the FHIR media type, 201
//! Created with `Location` and `ETag`, and the answer to a body that is not
//! JSON or is too large.

use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use crate::api::error::ApiError;
pub use crate::api::fhir::fhir_json;
use crate::runtime::bindings::IssueCode;

/// 201 Created for a new resource, with its `Location` (versioned) and `ETag`.
pub fn created(base: &str, kind: &str, id: &str, version: u32, body: impl Serialize) -> Response {
    let location = format!("{base}/{kind}/{id}/_history/{version}");
    let mut response = fhir_json(body);
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    with_etag(response, version)
}

/// Adds `ETag: W/"version"`.
pub fn with_etag(mut response: Response, version: u32) -> Response {
    if let Ok(value) = format!("W/\"{version}\"").parse() {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// A body that is not JSON: 400 with what the parser said; one larger than
/// the host takes: 413.
pub fn json_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            IssueCode::TooLong,
            "the body is larger than this host accepts: send a smaller resource",
        );
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        IssueCode::Invalid,
        format!("the body is not valid JSON: {}", rejection.body_text()),
    )
}
