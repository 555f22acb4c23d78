//! Trials: a candidate deployment tried beside a slot's active one before it
//! takes over.
//!
//! - **Canary**: a share of patients (say 10%) is routed to the candidate.
//!   The share is chosen by a hash of the patient's NHS number, so one patient
//!   always sees one version; calls with no patient go by the caller.
//! - **Shadow**: the candidate gets a copy of a share of live calls. It runs
//!   first, inside the live call's transaction under a savepoint that is
//!   rolled back, so it sees exactly what the live module sees and its writes
//!   vanish; then the live module runs and answers. The two answers are
//!   compared, and the report counts agreements and differences per function.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::runtime::call_error::CallError;
use crate::runtime::call_state::now_ms;
use crate::runtime::deployment::Deployment;

/// How a candidate is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrialMode {
    /// Serves a share of patients for real.
    Canary,
    /// Runs on copies of live calls; its writes are discarded.
    Shadow,
}

impl TrialMode {
    /// `canary` or `shadow`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialMode::Canary => "canary",
            TrialMode::Shadow => "shadow",
        }
    }

    /// Reads `canary` or `shadow`.
    pub fn parse(text: &str) -> Option<TrialMode> {
        match text {
            "canary" => Some(TrialMode::Canary),
            "shadow" => Some(TrialMode::Shadow),
            _ => None,
        }
    }
}

/// A candidate on trial in a slot.
pub struct Trial {
    /// Canary or shadow.
    pub mode: TrialMode,
    /// The candidate.
    pub deployment: Arc<Deployment>,
    /// Canary: the share of patients routed to it; shadow: the share of
    /// calls copied to it. In percent, 1 to 100.
    pub percent: u8,
    /// Why, who and when it started.
    pub started: Started,
    /// What the shadow runs found.
    pub report: ShadowReport,
    calls: AtomicU64,
}

/// Who started a trial, when and why.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    /// When, milliseconds since the epoch.
    pub at_ms: i64,
    /// Who.
    pub by: String,
    /// Why.
    pub reason: String,
}

impl Trial {
    /// A new trial.
    pub fn new(
        mode: TrialMode,
        deployment: Arc<Deployment>,
        percent: u8,
        started: Started,
    ) -> Trial {
        Trial {
            mode,
            deployment,
            percent: percent.clamp(1, 100),
            started,
            report: ShadowReport::default(),
            calls: AtomicU64::new(0),
        }
    }

    /// Canary: whether the patient (or caller) with this key goes to the
    /// candidate. The same key always gets the same answer.
    pub fn takes(&self, key: &str) -> bool {
        bucket(key) < u32::from(self.percent)
    }

    /// Shadow: whether this call is copied to the candidate (every call at
    /// 100%, one in ten at 10%, spread evenly).
    pub fn samples(&self) -> bool {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        (n * u64::from(self.percent)) % 100 < u64::from(self.percent)
    }

    /// What to show an operator.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "mode": self.mode.as_str(),
            "module": self.deployment.module.label.to_string(),
            "module_hash": self.deployment.module.hash,
            "percent": self.percent,
            "started": self.started,
            "healthy": !self.deployment.health.tripped(),
            "report": if self.mode == TrialMode::Shadow { serde_json::to_value(self.report.snapshot()).unwrap_or_default() } else { serde_json::Value::Null },
        })
    }
}

/// A key's bucket, 0 to 99, from the SHA-256 of the key: stable across
/// restarts and versions.
pub fn bucket(key: &str) -> u32 {
    let digest = Sha256::digest(key.as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    n % 100
}

/// The comparable content of an answer: what a patient or clinician would
/// notice, without what differs by nature between two runs (new ids,
/// timestamps) or between suppliers' wording (card summaries).
pub trait Comparable {
    /// The answer's comparable content.
    fn essence(&self) -> String;
}

/// How one shadow run compared with the live call.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct FunctionTally {
    /// Runs whose answer matched the live one.
    pub agreed: u64,
    /// Runs whose answer differed.
    pub differed: u64,
    /// Runs where the candidate trapped, timed out or ran out of memory.
    pub candidate_failed: u64,
}

/// One difference, kept as an example.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Difference {
    /// When.
    pub at_ms: i64,
    /// The function.
    pub function: String,
    /// What the live module answered.
    pub live: String,
    /// What the candidate answered.
    pub candidate: String,
}

/// The agreements and differences a shadow trial has found.
#[derive(Debug, Default)]
pub struct ShadowReport {
    inner: Mutex<ReportSnapshot>,
}

/// A copy of a shadow report.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct ReportSnapshot {
    /// Per function.
    pub functions: BTreeMap<String, FunctionTally>,
    /// The latest differences, newest last.
    pub differences: Vec<Difference>,
}

/// How many differences a report keeps.
const KEPT_DIFFERENCES: usize = 20;

impl ReportSnapshot {
    /// Adds another replica's report of the same trial: the tallies summed,
    /// the latest differences of both kept.
    pub fn merge(&mut self, other: &ReportSnapshot) {
        for (function, tally) in &other.functions {
            let mine = self.functions.entry(function.clone()).or_default();
            mine.agreed += tally.agreed;
            mine.differed += tally.differed;
            mine.candidate_failed += tally.candidate_failed;
        }
        self.differences.extend(other.differences.iter().cloned());
        self.differences.sort_by_key(|d| d.at_ms);
        let extra = self.differences.len().saturating_sub(KEPT_DIFFERENCES);
        self.differences.drain(..extra);
    }
}

/// The essence of a call's result, for comparison.
pub fn essence<R: Comparable>(result: &Result<R, CallError>) -> String {
    match result {
        Ok(value) => value.essence(),
        Err(CallError::Refused(outcome)) => {
            format!(
                "refused: {}",
                crate::runtime::codes::Code::code(outcome.code())
            )
        }
        Err(e) if e.is_module_failure() => "failed".to_string(),
        Err(_) => "host error".to_string(),
    }
}

impl ShadowReport {
    /// Records one comparison.
    pub fn record(&self, function: &str, live: String, candidate: String, candidate_failed: bool) {
        let Ok(mut report) = self.inner.lock() else {
            return;
        };
        let tally = report.functions.entry(function.to_string()).or_default();
        if candidate_failed {
            tally.candidate_failed += 1;
        }
        if live == candidate {
            tally.agreed += 1;
            return;
        }
        tally.differed += 1;
        if report.differences.len() == KEPT_DIFFERENCES {
            report.differences.remove(0);
        }
        report.differences.push(Difference {
            at_ms: now_ms(),
            function: function.to_string(),
            live,
            candidate,
        });
    }

    /// A copy of the report so far.
    pub fn snapshot(&self) -> ReportSnapshot {
        self.inner.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl<T: Comparable> Comparable for Vec<T> {
    fn essence(&self) -> String {
        let items: Vec<String> = self.iter().map(Comparable::essence).collect();
        format!("[{}]", items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(bucket("9990000018"), bucket("9990000018"));
        let mut counts = [0u32; 10];
        for n in 0..10_000 {
            counts[(bucket(&format!("patient-{n}")) / 10) as usize] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "uneven buckets: {counts:?}");
        }
    }

    #[test]
    fn reports_of_one_trial_sum_across_replicas() {
        let one = ShadowReport::default();
        one.record("book", "a".into(), "a".into(), false);
        one.record("book", "a".into(), "b".into(), false);
        let two = ShadowReport::default();
        two.record("book", "a".into(), "a".into(), false);
        two.record("read", "x".into(), "failed".into(), true);
        let mut sum = one.snapshot();
        sum.merge(&two.snapshot());
        assert_eq!(sum.functions["book"].agreed, 2);
        assert_eq!(sum.functions["book"].differed, 1);
        assert_eq!(sum.functions["read"].candidate_failed, 1);
        assert_eq!(sum.differences.len(), 2);
        let mut many = ReportSnapshot::default();
        for _ in 0..3 {
            let other = ReportSnapshot {
                differences: vec![sum.differences[0].clone(); 10],
                ..ReportSnapshot::default()
            };
            many.merge(&other);
        }
        assert_eq!(many.differences.len(), KEPT_DIFFERENCES);
    }

    #[test]
    fn the_report_counts_agreements_and_keeps_differences() {
        let report = ShadowReport::default();
        report.record("book", "a".into(), "a".into(), false);
        report.record("book", "a".into(), "b".into(), false);
        report.record("read", "a".into(), "failed".into(), true);
        let snap = report.snapshot();
        assert_eq!(snap.functions["book"].agreed, 1);
        assert_eq!(snap.functions["book"].differed, 1);
        assert_eq!(snap.functions["read"].candidate_failed, 1);
        assert_eq!(snap.differences.len(), 2);
        assert_eq!(snap.differences[0].candidate, "b");
    }
}
