//! Any HTTP request, sent through the whole API in process: the router, the
//! body limit, token verification, every route's parameters and body, the
//! module calls and the store, over the demo practices. The input is text:
//!
//! ```text
//! METHOD /path?query
//! as ROLE            (clinician, receptionist, patient, admin, auditor,
//!                     other-org, anonymous; or `bearer TEXT` for a raw token)
//! BODY...
//! ```
//!
//! No request may make the host panic or answer with a server error: a
//! client's mistake is a 4xx that says what is wrong, and 503 is kept for a
//! module that is busy or unavailable.

#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use patchbay::api::config::Config;
use patchbay::api::identity::{DevKey, Role, dev_claims};
use patchbay::store::demo;
use tower::ServiceExt as _;

/// The demo host, started once, with a token for each role.
struct Host {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    tokens: Vec<(&'static str, String)>,
}

static HOST: LazyLock<Host> = LazyLock::new(|| {
    let data_dir = std::env::temp_dir().join(format!("patchbay-fuzz-http-{}", std::process::id()));
    let config = Config {
        data_dir: data_dir.clone(),
        ..Config::default()
    };
    let identity = config.identity.clone();
    let state = patchbay::api::server::app_state(config).expect("the demo host starts");
    let key = DevKey::load(&data_dir).expect("the demo host made its development key");
    let token = |user: &str, org: &str, role: Role, nhs: Option<&str>| {
        let claims = dev_claims(
            &identity,
            user,
            org,
            vec![role],
            nhs.map(str::to_string),
            3600,
        );
        key.sign(&claims).expect("a development token")
    };
    let patient = demo::PATIENTS[0].nhs_number;
    let tokens = vec![
        (
            "clinician",
            token("dr-fuzz", demo::ORG, Role::Clinician, None),
        ),
        (
            "receptionist",
            token("rx-fuzz", demo::ORG, Role::Receptionist, None),
        ),
        (
            "patient",
            token("pt-fuzz", demo::ORG, Role::Patient, Some(patient)),
        ),
        ("admin", token("admin-fuzz", demo::ORG, Role::Admin, None)),
        (
            "auditor",
            token("audit-fuzz", demo::ORG, Role::Auditor, None),
        ),
        (
            "other-org",
            token("dr-other", demo::OTHER_ORG, Role::Clinician, None),
        ),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    Host {
        runtime,
        router: patchbay::api::router(state),
        tokens,
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let (Some(request_line), Some(who)) = (lines.next(), lines.next()) else {
        return;
    };
    let body = lines.next().unwrap_or("");
    let Some((method, target)) = request_line.split_once(' ') else {
        return;
    };
    let host = &*HOST;
    let mut builder = Request::builder()
        .method(method)
        .uri(target)
        .header(header::CONTENT_TYPE, "application/fhir+json");
    if let Some(raw) = who.strip_prefix("bearer ") {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {raw}"));
    } else if let Some(role) = who.strip_prefix("as ")
        && let Some((_, token)) = host.tokens.iter().find(|(name, _)| *name == role)
    {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let Ok(request) = builder.body(Body::from(body.to_string())) else {
        return;
    };
    let (status, answer) = host.runtime.block_on(async {
        let response = host
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let answer = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .expect("the answer's body can be read");
        (status, answer)
    });
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{request_line} ({who}) answered {status}: {}",
        String::from_utf8_lossy(&answer)
    );
});
