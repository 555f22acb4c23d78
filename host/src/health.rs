//! A deployment's health: the share of its recent calls that trapped, timed
//! out or ran out of memory. When that share passes the configured threshold
//! within the window, the host takes the deployment out of service (rolls
//! the slot back, or ends a candidate's trial), once, and audits why.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// When a deployment is taken out of service automatically.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackPolicy {
    /// Whether the host rolls back on its own.
    pub enabled: bool,
    /// The share of failed calls (traps, timeouts, out of memory), from 0 to
    /// 1, at which it acts.
    pub failure_rate: f64,
    /// The window the share is measured over, in seconds.
    pub window_secs: u64,
    /// The fewest calls in the window before it judges: one failed call of
    /// one is not a pattern.
    pub min_calls: u32,
}

impl Default for RollbackPolicy {
    fn default() -> Self {
        RollbackPolicy {
            enabled: true,
            failure_rate: 0.5,
            window_secs: 60,
            min_calls: 10,
        }
    }
}

impl RollbackPolicy {
    /// Checks the numbers make sense.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.failure_rate > 0.0 && self.failure_rate <= 1.0,
            "rollback.failure_rate must be above 0 and at most 1, e.g. 0.5; it is {}",
            self.failure_rate
        );
        anyhow::ensure!(
            self.window_secs > 0,
            "rollback.window_secs must be at least 1"
        );
        anyhow::ensure!(self.min_calls > 0, "rollback.min_calls must be at least 1");
        Ok(())
    }
}

/// The recent outcomes of one deployment's calls.
#[derive(Default)]
pub struct Health {
    recent: Mutex<VecDeque<(Instant, bool)>>,
    tripped: AtomicBool,
}

impl Health {
    /// Records one call's outcome. Returns why the deployment must go, the
    /// first time (and only the first time) the policy's threshold is passed.
    pub fn record(&self, failed: bool, policy: &RollbackPolicy) -> Option<String> {
        if !policy.enabled || self.tripped.load(Ordering::Relaxed) {
            return None;
        }
        let now = Instant::now();
        let window = Duration::from_secs(policy.window_secs);
        let (calls, failures) = {
            let mut recent = self.recent.lock().ok()?;
            recent.push_back((now, failed));
            while recent
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > window)
            {
                recent.pop_front();
            }
            let failures = recent.iter().filter(|(_, f)| *f).count();
            (recent.len(), failures)
        };
        let rate = failures as f64 / calls as f64;
        if !failed || calls < policy.min_calls as usize || rate < policy.failure_rate {
            return None;
        }
        if self.tripped.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(format!(
            "{failures} of its last {calls} calls within {} s trapped, timed out or ran out of memory ({:.0}%, threshold {:.0}%)",
            policy.window_secs,
            rate * 100.0,
            policy.failure_rate * 100.0
        ))
    }

    /// Whether the deployment has been judged unhealthy.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RollbackPolicy {
        RollbackPolicy {
            enabled: true,
            failure_rate: 0.5,
            window_secs: 60,
            min_calls: 4,
        }
    }

    #[test]
    fn trips_once_when_the_failure_share_passes_the_threshold() {
        let health = Health::default();
        assert_eq!(health.record(true, &policy()), None, "too few calls");
        assert_eq!(health.record(false, &policy()), None);
        assert_eq!(health.record(false, &policy()), None);
        let reason = health.record(true, &policy()).expect("2 of 4 failed");
        assert!(reason.contains("2 of its last 4 calls"), "{reason}");
        assert!(health.tripped());
        assert_eq!(health.record(true, &policy()), None, "only once");
    }

    #[test]
    fn a_healthy_or_disabled_deployment_never_trips() {
        let health = Health::default();
        for n in 0..100 {
            assert_eq!(health.record(n % 10 == 0, &policy()), None);
        }
        let off = RollbackPolicy {
            enabled: false,
            ..policy()
        };
        let failing = Health::default();
        for _ in 0..100 {
            assert_eq!(failing.record(true, &off), None);
        }
    }

    #[test]
    fn a_nonsense_policy_is_refused() {
        let bad = RollbackPolicy {
            failure_rate: 1.5,
            ..policy()
        };
        assert!(bad.check().is_err());
    }
}
