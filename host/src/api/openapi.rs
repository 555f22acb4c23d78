//! The OpenAPI 3.1 document, built from the declared routes: each route's
//! query parameters, request body and answers, plus what every route may
//! answer (401 and 403 for a route that needs a token, and 507 or 503 when
//! the store cannot be written, since its every answer is audited; 400 and
//! 413 for one that takes a body; 408 for all), its roles as `x-roles` (anonymous
//! routes have `security: []`), and the schemas of `api/openapi_schemas.rs`.

use serde_json::{Map, Value, json};

use crate::api::openapi_schemas::{reference, schemas};
use crate::api::route_spec::{Answer, Header, Location, RouteSpec};

/// The document for these routes.
pub fn document(routes: &[RouteSpec]) -> Value {
    let mut paths = Map::new();
    for spec in routes {
        let path = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        path[spec.method.as_str().to_lowercase()] = operation(spec);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Patchbay",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "FHIR R4 and CDS Hooks over supplier modules that implement the open care standards."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "headers": headers(),
            "schemas": schemas(),
        },
        "security": [{"bearer": []}],
        "paths": paths,
    })
}

/// One operation: summary, roles, parameters, body and answers.
fn operation(spec: &RouteSpec) -> Value {
    let declared = |name: &str, location: Location| {
        spec.params
            .iter()
            .find(|p| p.name == name && p.location == location)
    };
    let mut parameters: Vec<Value> = spec
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| match declared(name, Location::Path) {
            Some(p) => json!({"name": name, "in": "path", "required": true, "description": p.description, "schema": p.schema}),
            None => json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}),
        })
        .collect();
    parameters.extend(
        spec.params
            .iter()
            .filter(|p| p.location == Location::Query)
            .map(|q| {
                json!({
                    "name": q.name,
                    "in": "query",
                    "required": q.required,
                    "description": q.description,
                    "schema": q.schema,
                })
            }),
    );
    let mut op = json!({
        "summary": spec.summary,
        "operationId": format!("{} {}", spec.method, spec.path),
        "parameters": parameters,
        "responses": responses(spec),
    });
    let roles: Vec<&str> = spec.roles.iter().map(|r| r.as_str()).collect();
    if roles.is_empty() {
        op["security"] = json!([]);
    } else {
        op["x-roles"] = json!(roles);
        op["description"] = json!(format!("Roles: {}.", roles.join(", ")));
    }
    if let Some(body) = &spec.body {
        op["requestBody"] = json!({
            "required": true,
            "content": {body.content_type: {"schema": reference(body.schema)}},
        });
    }
    op
}

/// The route's own answers, and what every route of its kind may answer.
fn responses(spec: &RouteSpec) -> Value {
    let mut all: Vec<Answer> = Vec::new();
    if !spec.roles.is_empty() {
        all.push(
            Answer::outcome(401, "No valid bearer token: missing, malformed, expired, or not signed by a trusted key")
                .with_headers(&[Header::WwwAuthenticate]),
        );
        all.push(Answer::outcome(
            403,
            "The caller's role, patient or organisation is not allowed",
        ));
        all.push(
            Answer::outcome(507, "The host's storage is full, so nothing was changed")
                .with_headers(&[Header::RetryAfter]),
        );
        all.push(
            Answer::outcome(
                503,
                "The host's storage is read-only or failing, so nothing was changed",
            )
            .with_headers(&[Header::RetryAfter]),
        );
    }
    if spec.body.is_some() {
        all.push(Answer::outcome(
            400,
            "The body is not JSON, or not the resource or fields expected",
        ));
        all.push(Answer::outcome(
            413,
            "The body is larger than this host accepts",
        ));
    }
    all.push(Answer::outcome(
        408,
        "The request was not complete within the host's request timeout",
    ));
    let mut answers = Map::new();
    // The route's own answers come last, so they describe a status best.
    for answer in all.iter().chain(spec.answers.iter()) {
        let mut value = json!({"description": answer.description});
        let content = match answer.schema {
            Some(schema) => json!({"schema": reference(schema)}),
            None => json!({"schema": {"type": "string"}}),
        };
        value["content"] = json!({answer.content_type: content});
        if !answer.headers.is_empty() {
            let headers: Map<String, Value> = answer
                .headers
                .iter()
                .map(|h| {
                    let name = header_name(*h);
                    (
                        name.to_string(),
                        json!({"$ref": format!("#/components/headers/{name}")}),
                    )
                })
                .collect();
            value["headers"] = Value::Object(headers);
        }
        answers.insert(answer.status.to_string(), value);
    }
    Value::Object(answers)
}

fn header_name(header: Header) -> &'static str {
    match header {
        Header::Location => "Location",
        Header::ETag => "ETag",
        Header::RetryAfter => "Retry-After",
        Header::WwwAuthenticate => "WWW-Authenticate",
        Header::ContentLocation => "Content-Location",
        Header::XProgress => "X-Progress",
    }
}

/// The response headers, in `components/headers`.
fn headers() -> Value {
    json!({
        header_name(Header::Location): {
            "description": "The new resource's versioned URL: <base>/<type>/<id>/_history/<version>",
            "required": true,
            "schema": {"type": "string", "pattern": "/_history/[0-9]+$"},
        },
        header_name(Header::ETag): {
            "description": "The resource's version: W/\"<version>\"",
            "required": true,
            "schema": {"type": "string", "pattern": "^W/\"[0-9]+\"$"},
        },
        header_name(Header::RetryAfter): {
            "description": "Retry after this many seconds: the organisation's calls (or exports) were at their limit, the host's storage could not be written, or an export is still running",
            "required": false,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        header_name(Header::WwwAuthenticate): {
            "description": "Bearer",
            "required": true,
            "schema": {"const": "Bearer"},
        },
        header_name(Header::ContentLocation): {
            "description": "The status URL to poll: <base>/bulk/<id>",
            "required": true,
            "schema": {"type": "string", "pattern": "/bulk/[^/]+$"},
        },
        header_name(Header::XProgress): {
            "description": "What the export is doing",
            "required": true,
            "schema": {"type": "string"},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::router::routes;

    /// Every `$ref` in a value.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document(&routes());
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "{r} resolves to nothing");
        }
    }

    #[test]
    fn every_operation_says_who_may_call_it_and_what_it_answers() {
        let doc = document(&routes());
        for spec in routes() {
            let op = &doc["paths"][spec.path][spec.method.as_str().to_lowercase()];
            let answers = op["responses"].as_object().expect("responses");
            assert!(
                answers.keys().any(|s| s.starts_with('2')),
                "{} {} has no success",
                spec.method,
                spec.path
            );
            for (status, answer) in answers {
                assert!(
                    answer["content"].is_object(),
                    "{} {} {status} has no body",
                    spec.method,
                    spec.path
                );
            }
            if spec.roles.is_empty() {
                assert_eq!(op["security"], json!([]));
            } else {
                assert!(op["x-roles"].is_array());
                assert!(answers.contains_key("401") && answers.contains_key("403"));
            }
        }
        // A create answers 201 with Location and ETag.
        for path in ["/fhir/Appointment", "/fhir/MedicationRequest"] {
            let created = &doc["paths"][path]["post"]["responses"]["201"];
            assert!(created["headers"]["Location"].is_object(), "{path}");
            assert!(created["headers"]["ETag"].is_object(), "{path}");
        }
    }
}
