//! The console's files: the web pages patients, reception, clinicians,
//! trust admins and auditors use, built into the binary from
//! `host/console/` (plain HTML, CSS and JavaScript modules: no build step,
//! nothing fetched at run time). The pages are a client of the public API
//! like any other, so they are served beside it, not declared in it.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::config::Identity;
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;

/// One file of the console.
struct Asset {
    /// Its path under `/console/`.
    path: &'static str,
    /// Its media type.
    content_type: &'static str,
    /// Its bytes.
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../../console/", $path)),
        }
    };
}

/// Every file of the console.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("session.js", "text/javascript; charset=utf-8"),
    asset!("oidc.js", "text/javascript; charset=utf-8"),
    asset!("view.js", "text/javascript; charset=utf-8"),
    asset!("nhs-number.js", "text/javascript; charset=utf-8"),
    asset!("appointments.js", "text/javascript; charset=utf-8"),
    asset!("patient-finder.js", "text/javascript; charset=utf-8"),
    asset!("pages/sign-in.js", "text/javascript; charset=utf-8"),
    asset!("pages/patient.js", "text/javascript; charset=utf-8"),
    asset!("pages/reception.js", "text/javascript; charset=utf-8"),
    asset!("pages/prescribe.js", "text/javascript; charset=utf-8"),
    asset!("pages/admin.js", "text/javascript; charset=utf-8"),
    asset!("pages/auditor.js", "text/javascript; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
];

/// What the pages may load and where they may send requests: this host
/// (and, for OpenID Connect sign-in, the identity provider's origin, which
/// the console asks for its discovery document and the token), no inline
/// script, never inside another site's frame.
fn content_security_policy(identity: &Identity) -> HeaderValue {
    let provider = identity
        .console_client_id
        .as_ref()
        .and_then(|_| origin(&identity.issuer))
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'{provider}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; base-uri 'none'")
    })
}

/// The origin (`scheme://host[:port]`) of an http(s) URL, if it is one
/// whose characters are safe in a policy.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (!authority.is_empty() && authority.chars().all(safe))
        .then(|| format!("{scheme}://{authority}"))
}

/// The console's routes: `/` is its page, `/console/…` its other files.
pub fn router(identity: &Identity) -> Router<AppState> {
    let policy = content_security_policy(identity);
    let for_index = policy.clone();
    Router::new()
        .route(
            "/",
            get(move || async move { file(Path("index.html".to_string()), &for_index) }),
        )
        .route(
            "/console/{*file}",
            get(move |path: Path<String>| async move { file(path, &policy) }),
        )
}

fn file(Path(file): Path<String>, policy: &HeaderValue) -> Response {
    match ASSETS.iter().find(|a| a.path == file) {
        Some(asset) => serve(asset, policy),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            IssueCode::NotFound,
            format!("the console has no file {file}: its pages start at /"),
        )
        .into_response(),
    }
}

fn serve(asset: &Asset, policy: &HeaderValue) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            // Always asked again, so a new binary's pages are seen at once.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::CONTENT_SECURITY_POLICY, policy.clone()),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_lets_the_console_reach_only_its_identity_provider() {
        let mut identity = Identity {
            issuer: "https://login.example.nhs.uk/realms/trust".to_string(),
            ..Identity::default()
        };
        let policy = content_security_policy(&identity);
        assert!(
            policy
                .to_str()
                .expect("text")
                .contains("connect-src 'self';")
        );
        identity.console_client_id = Some("patchbay-console".to_string());
        let policy = content_security_policy(&identity);
        assert!(
            policy
                .to_str()
                .expect("text")
                .contains("connect-src 'self' https://login.example.nhs.uk;"),
            "{policy:?}"
        );
        // An issuer that would change the policy is left out.
        identity.issuer = "https://evil.example; script-src *".to_string();
        let policy = content_security_policy(&identity);
        assert!(
            policy
                .to_str()
                .expect("text")
                .contains("connect-src 'self';")
        );
        assert_eq!(origin("ftp://x"), None);
        assert_eq!(
            origin("http://127.0.0.1:9000/oidc").as_deref(),
            Some("http://127.0.0.1:9000")
        );
    }

    #[test]
    fn every_module_the_pages_import_is_served() {
        // A page that imports a file the binary does not carry fails in
        // the browser: every relative import names a served file.
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).expect("utf-8");
            let dir = asset.path.rsplit_once('/').map_or("", |(d, _)| d);
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(spec) = line.split(['"', '\'']).nth(1) else {
                    continue;
                };
                let mut parts: Vec<&str> = if dir.is_empty() {
                    vec![]
                } else {
                    dir.split('/').collect()
                };
                for part in spec.split('/') {
                    match part {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        p => parts.push(p),
                    }
                }
                let target = parts.join("/");
                assert!(
                    ASSETS.iter().any(|a| a.path == target),
                    "{} imports {spec} ({target}), which is not served",
                    asset.path
                );
            }
        }
    }
}
