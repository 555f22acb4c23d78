//! Counters of module calls per module, function and outcome, with their
//! total time, and of HTTP requests with a latency histogram: what the
//! operator watches (Prometheus text at `/metrics`) to see a module misbehave.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A module call counter's key: module, function, outcome.
type CallKey = (Arc<str>, &'static str, &'static str);

/// Module call and HTTP request counters.
#[derive(Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<CallKey, CallStats>>,
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
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

impl Metrics {
    /// Counts one call.
    pub fn record_call(
        &self,
        module: &Arc<str>,
        function: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        if let Ok(mut calls) = self.calls.lock() {
            let stats = calls
                .entry((module.clone(), function, outcome))
                .or_default();
            stats.count += 1;
            stats.total += elapsed;
        }
    }

    /// Counts one HTTP request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Ok(mut requests) = self.requests.lock() {
            let h = requests
                .entry((method.to_string(), route.to_string(), status))
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

    /// Everything, in the Prometheus text format.
    pub fn prometheus(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        out.push_str(
            "# HELP patchbay_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE patchbay_http_requests_total counter\n");
        let requests = self.requests.lock().map(|r| r.clone()).unwrap_or_default();
        for ((method, route, status), h) in &requests {
            let _ = writeln!(
                out,
                "patchbay_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP patchbay_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE patchbay_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in &requests {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
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
        out.push_str("# HELP patchbay_module_calls_total Module calls by module, function and outcome (ok, refused, trap, timeout, out-of-memory, host-error).\n");
        out.push_str("# TYPE patchbay_module_calls_total counter\n");
        for ((module, function, outcome), stats) in self.calls() {
            let _ = writeln!(
                out,
                "patchbay_module_calls_total{{module=\"{module}\",function=\"{function}\",outcome=\"{outcome}\"}} {}",
                stats.count
            );
        }
        out.push_str("# HELP patchbay_module_call_seconds_total Time spent in module calls.\n");
        out.push_str("# TYPE patchbay_module_call_seconds_total counter\n");
        for ((module, function, outcome), stats) in self.calls() {
            let _ = writeln!(
                out,
                "patchbay_module_call_seconds_total{{module=\"{module}\",function=\"{function}\",outcome=\"{outcome}\"}} {}",
                stats.total.as_secs_f64()
            );
        }
        out
    }

    /// Every counter: (module, function, outcome) and its stats.
    pub fn calls(&self) -> Vec<((String, &'static str, &'static str), CallStats)> {
        self.calls
            .lock()
            .map(|calls| {
                calls
                    .iter()
                    .map(|((m, f, o), s)| ((m.to_string(), *f, *o), *s))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many calls of a module ended with an outcome, over all functions.
    pub fn count(&self, module: &str, outcome: &str) -> u64 {
        self.calls()
            .into_iter()
            .filter(|((m, _, o), _)| m == module && *o == outcome)
            .map(|(_, s)| s.count)
            .sum()
    }
}
