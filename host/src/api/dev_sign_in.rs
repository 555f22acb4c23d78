//! How the console signs people in (`/auth/config`), and development
//! sign-in: while the host trusts its own development key (the demo, or
//! `identity.development` with no JWKS), the console's sign-in page lists
//! the demo users and gets a token for one from here, as `patchbay token`
//! does on the command line. With an identity provider configured those
//! routes refuse (404): people sign in there, with OpenID Connect when
//! `identity.console_client_id` is set.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::error::ApiError;
use crate::api::identity::{Principal, Role, dev_claims};
use crate::api::responses::json_error;
use crate::api::route_spec::{Answer, RequestBody, RouteSpec};
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;
use crate::store::demo;

/// How long a console token lasts, at most (the configuration may allow
/// less).
const CONSOLE_TOKEN_SECS: u64 = 8 * 3600;

/// The development sign-in routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/auth/config",
            summary: "How the console signs people in: development sign-in, or OpenID Connect against the identity provider (issuer, client id)",
            roles: &[],
            params: vec![],
            body: None,
            answers: vec![Answer::json(200, "SignInConfig", "The sign-in mode")],
            handler: get(sign_in_config),
        },
        RouteSpec {
            method: Method::GET,
            path: "/auth/dev-users",
            summary: "Development mode only: the demo users the console's sign-in page offers",
            roles: &[],
            params: vec![],
            body: None,
            answers: vec![
                Answer::json(200, "DevUsers", "The demo users"),
                Answer::outcome(
                    404,
                    "Development sign-in is off: sign in with the identity provider",
                ),
            ],
            handler: get(users),
        },
        RouteSpec {
            method: Method::POST,
            path: "/auth/dev-token",
            summary: "Development mode only: a token signed by the development key, for a user, role and organisation (audited)",
            roles: &[],
            params: vec![],
            body: RequestBody::json("DevSignIn"),
            answers: vec![
                Answer::json(200, "DevToken", "A bearer token"),
                Answer::outcome(400, "The body is not a sign-in request"),
                Answer::outcome(
                    404,
                    "Development sign-in is off: sign in with the identity provider",
                ),
            ],
            handler: post(token),
        },
    ]
}

/// A development sign-in request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    user: String,
    role: Role,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    nhs_number: Option<String>,
}

fn off() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        "development sign-in is off: this host trusts its identity provider (identity.jwks_file), so sign in there",
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, message)
}

async fn sign_in_config(State(state): State<AppState>) -> Json<Value> {
    let identity = &state.config.identity;
    Json(
        match (
            state.verifier.development_key(),
            &identity.console_client_id,
        ) {
            (Some(_), _) => json!({"mode": "development"}),
            (None, Some(client_id)) => json!({
                "mode": "oidc",
                "issuer": identity.issuer,
                "client_id": client_id,
                "scope": "openid",
            }),
            (None, None) => json!({"mode": "none"}),
        },
    )
}

async fn users(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.verifier.development_key().is_none() {
        return Err(off());
    }
    let staff = |user: &str, name: &str, role: Role| json!({"user": user, "name": name, "role": role.as_str(), "organisation": demo::ORG});
    let mut users: Vec<Value> = demo::PATIENTS
        .iter()
        .map(|p| {
            json!({"user": format!("patient-{}", p.nhs_number), "name": p.name, "role": "patient",
                   "organisation": demo::ORG, "nhs_number": p.nhs_number})
        })
        .collect();
    users.push(staff(
        "reception-1",
        "Demo Receptionist",
        Role::Receptionist,
    ));
    users.push(staff("gp-1", "Demo GP", Role::Clinician));
    users.push(staff("admin-1", "Demo Service Manager", Role::Admin));
    users.push(staff("auditor-1", "Demo Auditor", Role::Auditor));
    Ok(Json(json!({"users": users})))
}

async fn token(
    State(state): State<AppState>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Some(key) = state.verifier.development_key() else {
        return Err(off());
    };
    let Json(request) = body.map_err(|rejection| match rejection {
        JsonRejection::JsonDataError(e) => invalid(format!(
            "the sign-in request cannot be read: {}; send {{\"user\": \"…\", \"role\": \"patient|receptionist|clinician|admin|auditor\", \"nhs_number\": \"…\" (patients)}}",
            e.body_text()
        )),
        other => json_error(other),
    })?;
    let user = request.user.trim();
    if user.is_empty() || user.len() > 64 {
        return Err(invalid("user must be 1 to 64 characters"));
    }
    let organisation = request
        .organisation
        .unwrap_or_else(|| demo::ORG.to_string());
    if organisation.is_empty() || organisation.len() > 16 {
        return Err(invalid(
            "organisation must be an ODS code (1 to 16 characters)",
        ));
    }
    let nhs_number = match (request.role, request.nhs_number) {
        (Role::Patient, Some(n)) if n.len() == 10 && n.chars().all(|c| c.is_ascii_digit()) => {
            Some(n)
        }
        (Role::Patient, _) => {
            return Err(invalid(
                "a patient signs in with their NHS number (10 digits) in nhs_number",
            ));
        }
        (_, _) => None,
    };
    let ttl = CONSOLE_TOKEN_SECS.min(state.config.identity.max_token_lifetime_secs);
    let mut claims = dev_claims(
        &state.config.identity,
        user,
        &organisation,
        vec![request.role],
        nhs_number.clone(),
        ttl,
    );
    claims.name = request.name.filter(|n| !n.is_empty() && n.len() <= 128);
    let principal = Principal {
        user: claims.sub.clone(),
        name: claims.name.clone(),
        organisation: organisation.clone(),
        roles: claims.roles.clone(),
        nhs_number: nhs_number.clone(),
    };
    // Every sign-in is in the organisation's audit trail.
    let mut act = state
        .act(&principal, "auth.dev-sign-in", &[request.role])
        .await?;
    act.patient = nhs_number.clone();
    act.detail = Some("development key".to_string());
    let signed = tokio::task::spawn_blocking(move || key.sign(&claims))
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
        .map_err(|e| ApiError::host_failure("cannot sign a development token", &e));
    let result = signed.map(|token| {
        Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "user": principal.user,
            "name": principal.name,
            "role": request.role.as_str(),
            "organisation": organisation,
            "nhs_number": nhs_number,
        }))
    });
    act.finish(result).await
}
