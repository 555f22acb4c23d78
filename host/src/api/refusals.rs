//! Refused tokens go into the audit trail too: a missing, forged, expired
//! or foreign token is recorded as `auth.refused`, with the route and why,
//! in the chain of the organisation the token claims (when this host serves
//! it, so that organisation's auditor sees who tried), else in the host's
//! own chain (`-`).
//!
//! Anyone can send refused requests, so they are recorded at a bounded
//! rate: past [`PER_SECOND`] in a second, the rest are counted, and the next
//! entry recorded says how many were not recorded one by one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use base64::Engine as _;
use serde_json::Value;

use crate::api::config::Config;
use crate::api::error::ApiError;
use crate::runtime::call_state::now_ms;
use crate::runtime::engine::Runtime;
use crate::runtime::metrics::{ANONYMOUS, method_label};
use crate::store::audit::Event;

/// Refusals recorded one by one per second, at most.
pub const PER_SECOND: u32 = 50;

/// The longest text taken from a refused request into the trail.
const MAX_TEXT: usize = 200;

/// Counts refusals to keep their entries within the rate.
#[derive(Default)]
pub struct Refusals {
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    started: Option<Instant>,
    recorded: u32,
    unrecorded: u64,
}

/// What a token claims, unverified: who, and for which organisation.
fn claimed(parts: &Parts) -> (Option<String>, Option<String>) {
    let payload = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('.').nth(1))
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let text = |key: &str| {
        payload
            .as_ref()
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .map(bounded)
    };
    (text("sub"), text("org"))
}

/// At most [`MAX_TEXT`] characters of a stranger's text.
fn bounded(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

impl Refusals {
    /// Whether this refusal is recorded, and how many before it were not.
    fn admit(&self) -> Option<u64> {
        let mut window = self.window.lock().ok()?;
        let now = Instant::now();
        if window
            .started
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            window.started = Some(now);
            window.recorded = 0;
        }
        if window.recorded >= PER_SECOND {
            window.unrecorded += 1;
            return None;
        }
        window.recorded += 1;
        Some(std::mem::take(&mut window.unrecorded))
    }

    /// Records one refused request, if the rate allows.
    pub async fn audit(&self, runtime: &Runtime, config: &Config, parts: &Parts, error: &ApiError) {
        let Some(unrecorded) = self.admit() else {
            return;
        };
        let (user, org) = claimed(parts);
        let org = org
            .filter(|o| config.organisations.contains_key(o))
            .unwrap_or_else(|| ANONYMOUS.to_string());
        let mut detail = match &user {
            Some(user) => format!("the token claims the user '{user}'"),
            None => "no user could be read from the token".to_string(),
        };
        if unrecorded > 0 {
            detail.push_str(&format!(
                "; {unrecorded} refusals before this one were not recorded one by one (rate limit)"
            ));
        }
        let event = Event {
            user: "unauthenticated".into(),
            user_name: None,
            org,
            role: "none".into(),
            action: "auth.refused".into(),
            resource: Some(bounded(&format!(
                "{} {}",
                method_label(parts.method.as_str()),
                parts.uri.path()
            ))),
            patient: None,
            outcome: bounded(&error.label),
            detail: Some(detail),
            module: None,
        };
        let written = runtime
            .audit()
            .record_async(runtime.records(), now_ms(), event)
            .await;
        if let Err(e) = written {
            tracing::error!(error = %format!("{e:#}"), "cannot audit a refused token");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_past_the_rate_are_counted_not_recorded() {
        let refusals = Refusals::default();
        for _ in 0..PER_SECOND {
            assert_eq!(refusals.admit(), Some(0));
        }
        assert_eq!(refusals.admit(), None);
        assert_eq!(refusals.admit(), None);
        if let Ok(mut w) = refusals.window.lock() {
            w.started = w.started.map(|s| s - Duration::from_secs(2));
        }
        assert_eq!(refusals.admit(), Some(2), "the next entry says how many");
    }
}
