//! Counters of module calls per module, function and outcome, with their
//! total time: what the operator watches to see a module misbehave.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Module call counters.
#[derive(Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<(Arc<str>, &'static str, &'static str), CallStats>>,
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
    pub fn record_call(&self, module: &Arc<str>, function: &'static str, outcome: &'static str, elapsed: Duration) {
        if let Ok(mut calls) = self.calls.lock() {
            let stats = calls.entry((module.clone(), function, outcome)).or_default();
            stats.count += 1;
            stats.total += elapsed;
        }
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
