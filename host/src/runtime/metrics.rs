//! Counters of module calls per organisation, module, function and outcome,
//! with their total time; of HTTP requests per organisation, method, route
//! and status, with a latency histogram; and of the supervisor's alerts:
//! what an organisation's operator watches (Prometheus text at `/metrics`)
//! to see a module misbehave.
//!
//! Every label takes its values from a bounded set the host chooses (known
//! methods, declared routes, the organisations it serves), never from what a
//! client sends, so the series cannot grow without bound; and an
//! organisation sees only its own series.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The organisation label of requests made without a valid token.
pub const ANONYMOUS: &str = "-";

/// A module call counter's key: organisation, module, function, outcome.
type CallKey = (String, Arc<str>, &'static str, &'static str);

/// A request counter's key: organisation, method, route, status.
type RequestKey = (String, &'static str, String, u16);

/// A call counter as listed: organisation, module, function, outcome.
pub type CallLabels = (String, String, &'static str, &'static str);

/// An alert counter's key: organisation, function, action.
type AlertKey = (String, &'static str, &'static str);

/// A limit counter's key: organisation, limit.
type LimitKey = (String, &'static str);

/// Module call, HTTP request and alert counters.
#[derive(Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<CallKey, CallStats>>,
    requests: Mutex<BTreeMap<RequestKey, Histogram>>,
    alerts: Mutex<BTreeMap<AlertKey, u64>>,
    limits: Mutex<BTreeMap<LimitKey, u64>>,
}

/// A latency histogram.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The calls of one module function with one outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallStats {
    /// How many.
    pub count: u64,
    /// Their total time.
    pub total: Duration,
}

/// One module's calls for one organisation (see [`Metrics::module_calls`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ModuleCalls {
    /// How many calls.
    pub calls: u64,
    /// How many failed.
    pub failures: u64,
    /// Their mean time, in milliseconds.
    pub mean_ms: f64,
}

/// An HTTP method as a label: one of the methods the API knows, or `other`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Counts one call for an organisation.
    pub fn record_call(
        &self,
        org: &str,
        module: &Arc<str>,
        function: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        if let Ok(mut calls) = self.calls.lock() {
            let stats = calls
                .entry((org.to_string(), module.clone(), function, outcome))
                .or_default();
            stats.count += 1;
            stats.total += elapsed;
        }
    }

    /// Counts one HTTP request. `org` is the caller's organisation (or
    /// [`ANONYMOUS`]); `route` is a declared route or `unmatched`; the
    /// method is reduced to [`method_label`].
    pub fn record_request(
        &self,
        org: &str,
        method: &str,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let secs = elapsed.as_secs_f64();
        if let Ok(mut requests) = self.requests.lock() {
            let h = requests
                .entry((
                    org.to_string(),
                    method_label(method),
                    route.to_string(),
                    status,
                ))
                .or_default();
            h.count += 1;
            h.sum += secs;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.buckets[i] += 1;
                }
            }
        }
    }

    /// Counts one alert raised by the supervisor.
    pub fn record_alert(&self, org: &str, function: &'static str, action: &'static str) {
        if let Ok(mut alerts) = self.alerts.lock() {
            *alerts
                .entry((org.to_string(), function, action))
                .or_default() += 1;
        }
    }

    /// Counts one request or call refused by a limit of the host's (e.g.
    /// `calls-per-organisation`, `answer-items`, `count`, `search-window`).
    pub fn record_limit(&self, org: &str, limit: &'static str) {
        if let Ok(mut limits) = self.limits.lock() {
            *limits.entry((org.to_string(), limit)).or_default() += 1;
        }
    }

    /// One organisation's series, in the Prometheus text format.
    pub fn prometheus(&self, org: &str) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        out.push_str(
            "# HELP patchbay_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE patchbay_http_requests_total counter\n");
        let requests: Vec<_> = self
            .requests
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|((o, ..), _)| o == org)
                    .map(|(k, h)| (k.clone(), h.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for ((org, method, route, status), h) in &requests {
            let _ = writeln!(
                out,
                "patchbay_http_requests_total{{org=\"{org}\",method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP patchbay_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE patchbay_http_request_duration_seconds histogram\n");
        for ((org, method, route, status), h) in &requests {
            let labels =
                format!("org=\"{org}\",method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "patchbay_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "patchbay_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "patchbay_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "patchbay_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        let calls: Vec<_> = self
            .calls()
            .into_iter()
            .filter(|((o, ..), _)| o == org)
            .collect();
        out.push_str("# HELP patchbay_module_calls_total Module calls by module, function and outcome (ok, refused, trap, timeout, out-of-memory, host-error).\n");
        out.push_str("# TYPE patchbay_module_calls_total counter\n");
        for ((org, module, function, outcome), stats) in &calls {
            let _ = writeln!(
                out,
                "patchbay_module_calls_total{{org=\"{org}\",module=\"{module}\",function=\"{function}\",outcome=\"{outcome}\"}} {}",
                stats.count
            );
        }
        out.push_str("# HELP patchbay_module_call_seconds_total Time spent in module calls.\n");
        out.push_str("# TYPE patchbay_module_call_seconds_total counter\n");
        for ((org, module, function, outcome), stats) in &calls {
            let _ = writeln!(
                out,
                "patchbay_module_call_seconds_total{{org=\"{org}\",module=\"{module}\",function=\"{function}\",outcome=\"{outcome}\"}} {}",
                stats.total.as_secs_f64()
            );
        }
        out.push_str("# HELP patchbay_alerts_total Failing deployments the host quarantined on its own, by function and action.\n");
        out.push_str("# TYPE patchbay_alerts_total counter\n");
        let alerts = self.alerts.lock().map(|a| a.clone()).unwrap_or_default();
        for ((o, function, action), n) in alerts.iter().filter(|((o, ..), _)| o == org) {
            let _ = writeln!(
                out,
                "patchbay_alerts_total{{org=\"{o}\",function=\"{function}\",action=\"{action}\"}} {n}"
            );
        }
        out.push_str("# HELP patchbay_limit_refusals_total Requests and module calls refused by a limit of the host's.\n");
        out.push_str("# TYPE patchbay_limit_refusals_total counter\n");
        let limits = self.limits.lock().map(|l| l.clone()).unwrap_or_default();
        for ((o, limit), n) in limits.iter().filter(|((o, _), _)| o == org) {
            let _ = writeln!(
                out,
                "patchbay_limit_refusals_total{{org=\"{o}\",limit=\"{limit}\"}} {n}"
            );
        }
        out
    }

    /// Every call counter: (organisation, module, function, outcome) and
    /// its stats.
    pub fn calls(&self) -> Vec<(CallLabels, CallStats)> {
        self.calls
            .lock()
            .map(|calls| {
                calls
                    .iter()
                    .map(|((org, m, f, o), s)| ((org.clone(), m.to_string(), *f, *o), *s))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One module's calls for one organisation since the host started:
    /// how many, how many failed (trapped, timed out, ran out of memory,
    /// answered too much, or met a host error; a refusal by the module's
    /// policy is not a failure), and their mean time.
    pub fn module_calls(&self, org: &str, module: &str) -> ModuleCalls {
        let mut summary = ModuleCalls::default();
        let mut total = Duration::ZERO;
        for ((o, m, _, outcome), stats) in self.calls() {
            if o != org || m != module {
                continue;
            }
            summary.calls += stats.count;
            if !matches!(outcome, "ok" | "refused") {
                summary.failures += stats.count;
            }
            total += stats.total;
        }
        if summary.calls > 0 {
            summary.mean_ms = total.as_secs_f64() * 1000.0 / summary.calls as f64;
        }
        summary
    }

    /// How many calls of a module ended with an outcome, over all
    /// organisations and functions.
    pub fn count(&self, module: &str, outcome: &str) -> u64 {
        self.calls()
            .into_iter()
            .filter(|((_, m, _, o), _)| m == module && *o == outcome)
            .map(|(_, s)| s.count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modules_calls_count_failures_but_not_refusals() {
        let metrics = Metrics::default();
        let module: Arc<str> = Arc::from("meridian/scheduling@1.0.0");
        let other: Arc<str> = Arc::from("bramble/scheduling@1.0.0");
        metrics.record_call("Y90001", &module, "book", "ok", Duration::from_millis(2));
        metrics.record_call(
            "Y90001",
            &module,
            "book",
            "refused",
            Duration::from_millis(1),
        );
        metrics.record_call(
            "Y90001",
            &module,
            "find-slots",
            "trap",
            Duration::from_millis(3),
        );
        metrics.record_call("Y90002", &module, "book", "trap", Duration::from_millis(9));
        metrics.record_call(
            "Y90001",
            &other,
            "book",
            "timeout",
            Duration::from_millis(9),
        );
        let summary = metrics.module_calls("Y90001", "meridian/scheduling@1.0.0");
        assert_eq!(summary.calls, 3);
        assert_eq!(summary.failures, 1);
        assert!((summary.mean_ms - 2.0).abs() < 1e-9, "{summary:?}");
        assert_eq!(
            metrics.module_calls("Y90003", "meridian/scheduling@1.0.0"),
            ModuleCalls::default()
        );
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let metrics = Metrics::default();
        for n in 0..1000 {
            metrics.record_request(
                ANONYMOUS,
                &format!("BREW{n}"),
                "unmatched",
                404,
                Duration::ZERO,
            );
        }
        assert_eq!(metrics.requests.lock().map(|r| r.len()).unwrap_or(0), 1);
        let text = metrics.prometheus(ANONYMOUS);
        assert!(text.contains("method=\"other\""), "{text}");
        assert!(!text.contains("BREW"), "{text}");
    }

    #[test]
    fn an_organisation_sees_only_its_own_series() {
        let metrics = Metrics::default();
        let module: Arc<str> = Arc::from("meridian/scheduling@1.0.0");
        metrics.record_call("Y90001", &module, "book", "ok", Duration::ZERO);
        metrics.record_call("Y90002", &module, "read", "ok", Duration::ZERO);
        metrics.record_request("Y90002", "GET", "/fhir/Slot", 200, Duration::ZERO);
        metrics.record_alert("Y90002", "scheduling", "slot.rollback.automatic");
        let mine = metrics.prometheus("Y90001");
        assert!(mine.contains("function=\"book\""), "{mine}");
        assert!(!mine.contains("Y90002"), "{mine}");
        assert!(!mine.contains("function=\"read\""), "{mine}");
        assert!(!mine.contains("/fhir/Slot"), "{mine}");
        let theirs = metrics.prometheus("Y90002");
        assert!(
            theirs.contains("patchbay_alerts_total{org=\"Y90002\""),
            "{theirs}"
        );
    }
}
