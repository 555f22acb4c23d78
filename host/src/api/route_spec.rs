//! One route of the API as declared: method, path, summary, the roles it
//! allows, its handler, and its contract (query parameters, request body,
//! answers). The router and the OpenAPI document are both built from the
//! list of them, so they cannot disagree.

use axum::http::Method;
use axum::routing::MethodRouter;
use serde_json::{Value, json};

use crate::api::identity::Role;
use crate::api::state::AppState;

/// The largest request body, in bytes, except a module package's.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The largest module package an admin may upload, in bytes.
pub const MAX_PACKAGE_BYTES: usize = 64 * 1024 * 1024;

/// The FHIR JSON media type.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The plain JSON media type.
pub const JSON: &str = "application/json";

/// One route of the API.
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path, axum style (`/fhir/Appointment/{id}`).
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The roles allowed; empty for anonymous routes.
    pub roles: &'static [Role],
    /// The parameters it reads from the query string, and those of its
    /// path parameters whose values are constrained (any other path
    /// parameter is a non-empty string).
    pub params: Vec<Param>,
    /// The body it takes, if any.
    pub body: Option<RequestBody>,
    /// What it answers, besides what every route may answer (see
    /// `api/openapi.rs`).
    pub answers: Vec<Answer>,
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

/// Where a parameter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// In the query string.
    Query,
    /// In the path.
    Path,
}

/// A parameter: in the query string, or a path parameter.
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// Where it is.
    pub location: Location,
    /// What it means.
    pub description: &'static str,
    /// Whether a request without it is refused.
    pub required: bool,
    /// Its JSON Schema.
    pub schema: Value,
}

impl Param {
    /// An optional text parameter.
    pub fn text(name: &'static str, description: &'static str) -> Param {
        Param {
            name,
            location: Location::Query,
            description,
            required: false,
            schema: json!({"type": "string"}),
        }
    }

    /// An optional whole-number parameter from `minimum` to `maximum`.
    pub fn integer(
        name: &'static str,
        description: &'static str,
        minimum: i64,
        maximum: i64,
    ) -> Param {
        Param {
            name,
            location: Location::Query,
            description,
            required: false,
            schema: json!({"type": "integer", "minimum": minimum, "maximum": maximum}),
        }
    }

    /// A path parameter that takes one of these values.
    pub fn path(name: &'static str, description: &'static str, values: &[&'static str]) -> Param {
        Param {
            name,
            location: Location::Path,
            description,
            required: true,
            schema: json!({"type": "string", "enum": values}),
        }
    }

    /// The same parameter, with a pattern its text must match.
    pub fn pattern(mut self, pattern: &'static str) -> Param {
        self.schema["pattern"] = json!(pattern);
        self
    }

    /// The same parameter, which may take only these values.
    pub fn one_of(mut self, values: &[&'static str]) -> Param {
        self.schema["enum"] = json!(values);
        self
    }
}

/// A request body: the name of its schema in `components/schemas`, and its
/// media type.
pub struct RequestBody {
    /// The schema's name.
    pub schema: &'static str,
    /// The media type.
    pub content_type: &'static str,
}

impl RequestBody {
    /// A FHIR JSON body.
    pub fn fhir(schema: &'static str) -> Option<RequestBody> {
        Some(RequestBody {
            schema,
            content_type: FHIR_JSON,
        })
    }

    /// A plain JSON body.
    pub fn json(schema: &'static str) -> Option<RequestBody> {
        Some(RequestBody {
            schema,
            content_type: JSON,
        })
    }
}

/// A response header the API sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// `Location`: the new resource's versioned URL.
    Location,
    /// `ETag`: `W/"<version>"`.
    ETag,
    /// `Retry-After`: seconds, on a 503 the client may retry.
    RetryAfter,
    /// `WWW-Authenticate: Bearer`, on a 401.
    WwwAuthenticate,
    /// `Content-Location`: where to poll an asynchronous request.
    ContentLocation,
    /// `X-Progress`: what an asynchronous request is doing.
    XProgress,
}

/// One answer a route gives: status, meaning, body schema and media type,
/// and the headers it sets.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// When it is given.
    pub description: &'static str,
    /// The body's schema, by name in `components/schemas`; `None` for a body
    /// that is not JSON (then `content_type` says what it is).
    pub schema: Option<&'static str>,
    /// The media type of the body.
    pub content_type: &'static str,
    /// The headers it sets.
    pub headers: &'static [Header],
}

impl Answer {
    /// A FHIR JSON answer.
    pub fn fhir(status: u16, schema: &'static str, description: &'static str) -> Answer {
        Answer {
            status,
            description,
            schema: Some(schema),
            content_type: FHIR_JSON,
            headers: &[],
        }
    }

    /// A plain JSON answer.
    pub fn json(status: u16, schema: &'static str, description: &'static str) -> Answer {
        Answer {
            status,
            description,
            schema: Some(schema),
            content_type: JSON,
            headers: &[],
        }
    }

    /// An error: an OperationOutcome.
    pub fn outcome(status: u16, description: &'static str) -> Answer {
        Answer::fhir(status, "OperationOutcome", description)
    }

    /// The same answer, with these headers.
    pub fn with_headers(mut self, headers: &'static [Header]) -> Answer {
        self.headers = headers;
        self
    }

    /// A route's own answers, and a module's failures or refusals, which any
    /// route that calls a module may answer, where the route does not
    /// describe the status itself: its policy's refusals (400, 404, 409,
    /// 422), and 503 when it timed out, trapped, ran out of memory, is busy
    /// or missing.
    pub fn calling_a_module(mut answers: Vec<Answer>) -> Vec<Answer> {
        for failure in Answer::module_failures() {
            if !answers.iter().any(|a| a.status == failure.status) {
                answers.push(failure);
            }
        }
        answers
    }

    fn module_failures() -> Vec<Answer> {
        vec![
            Answer::outcome(400, "The module found the request invalid"),
            Answer::outcome(404, "Not found"),
            Answer::outcome(409, "Conflict with the records as they are"),
            Answer::outcome(422, "Refused by the module's policy"),
            Answer::outcome(
                503,
                "The module timed out, trapped, ran out of memory or is not deployed; or the organisation's calls are at their limit (Retry-After)",
            )
            .with_headers(&[Header::RetryAfter]),
        ]
    }
}
