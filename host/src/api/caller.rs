//! Who is calling: the bearer token of every request that needs one, checked
//! once by an axum extractor into a [`Principal`]. A refused token is
//! answered 401 (or 403 for an organisation this host does not serve) and
//! recorded in the audit trail.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

use crate::api::error::ApiError;
use crate::api::identity::{AuthError, Principal};
use crate::api::state::AppState;

/// The caller's organisation, filled in once their token is verified: the
/// request's metrics are counted under it.
#[derive(Clone, Default)]
pub(crate) struct RequestOrg(pub(crate) Arc<std::sync::OnceLock<String>>);

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Principal, ApiError> {
        match verify_caller(parts, state) {
            Ok(principal) => {
                if let Some(org) = parts.extensions.get::<RequestOrg>() {
                    let _ = org.0.set(principal.organisation.clone());
                }
                Ok(principal)
            }
            Err(error) => {
                state
                    .refusals
                    .audit(&state.runtime, &state.config, parts, &error)
                    .await;
                Err(error)
            }
        }
    }
}

/// The caller of a request, from its bearer token.
fn verify_caller(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed("the Authorization header is not text".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            AuthError::Malformed("the Authorization header is not `Bearer <token>`".into())
        })?;
    let principal = state.verifier.verify(token.trim())?;
    if !state
        .config
        .organisations
        .contains_key(&principal.organisation)
    {
        return Err(ApiError::forbidden(format!(
            "organisation {} is not served by this host",
            principal.organisation
        )));
    }
    Ok(principal)
}
