//! A deployment's health: the share of its recent callers whose calls
//! trapped, timed out or ran out of memory. A call only records its
//! outcome here; when the share passes the configured threshold within the
//! window, the deployment is reported (once) to the lifecycle's supervisor,
//! which takes it out of service and raises an alert.
//!
//! The judgement is made over distinct callers, not calls: each caller
//! counts once, with the share of their own calls that failed, and the
//! deployment fails when that share, averaged over the window's callers,
//! passes the threshold and at least `min_callers` callers saw it fail that
//! often. One caller who can make a module fail (a patient replaying a
//! request that traps) counts once however often they call, so no single
//! caller can steer the lifecycle.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash as _, Hasher as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The most call outcomes kept per deployment, whatever the window: the
/// memory a deployment's health takes stays bounded under any load.
const MAX_REMEMBERED: usize = 10_000;

/// When a deployment is taken out of service automatically.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackPolicy {
    /// Whether the host rolls back on its own.
    pub enabled: bool,
    /// The share of a caller's calls that failed (traps, timeouts, out of
    /// memory), averaged over the window's callers, from 0 to 1, at which
    /// it acts; a caller whose own share reaches it counts as failing.
    pub failure_rate: f64,
    /// The window the share is measured over, in seconds.
    pub window_secs: u64,
    /// The fewest calls in the window before it judges: one failed call of
    /// one is not a pattern.
    pub min_calls: u32,
    /// The fewest different callers (users) whose own calls must have failed
    /// that often before it acts: so that no one caller can make the host
    /// change a slot's module. At least 2.
    pub min_callers: u32,
}

impl Default for RollbackPolicy {
    fn default() -> Self {
        RollbackPolicy {
            enabled: true,
            failure_rate: 0.5,
            window_secs: 60,
            min_calls: 10,
            min_callers: 3,
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
        anyhow::ensure!(
            self.min_callers >= 2,
            "rollback.min_callers must be at least 2, so that no single caller can make the host change a module; it is {}",
            self.min_callers
        );
        Ok(())
    }
}

/// One call's outcome as remembered: when, whether it failed, and a hash of
/// who made it.
struct Outcome {
    at: Instant,
    failed: bool,
    caller: u64,
}

/// Per caller (a hash of who called): calls and failed calls within the
/// window.
pub type CallerCounts = HashMap<u64, (u32, u32)>;

/// The recent outcomes of one deployment's calls, and what the other
/// replicas serving it last reported of theirs (on a shared store, the
/// judgement is made over every replica's callers).
#[derive(Default)]
pub struct Health {
    recent: Mutex<VecDeque<Outcome>>,
    others: Mutex<CallerCounts>,
    tripped: AtomicBool,
}

fn caller_hash(caller: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    caller.hash(&mut hasher);
    hasher.finish()
}

impl Health {
    /// Records one call's outcome by `caller` (the user's id). Returns why
    /// the deployment must go, the first time (and only the first time) the
    /// policy's threshold is passed.
    pub fn record(&self, failed: bool, caller: &str, policy: &RollbackPolicy) -> Option<String> {
        if !policy.enabled || self.tripped.load(Ordering::Relaxed) {
            return None;
        }
        {
            let mut recent = self.recent.lock().ok()?;
            recent.push_back(Outcome {
                at: Instant::now(),
                failed,
                caller: caller_hash(caller),
            });
        }
        if !failed {
            self.prune(policy);
            return None;
        }
        self.judge(policy)
    }

    /// This replica's callers within the window, for the other replicas.
    pub fn window(&self, policy: &RollbackPolicy) -> CallerCounts {
        self.prune(policy);
        let mut by_caller = CallerCounts::new();
        if let Ok(recent) = self.recent.lock() {
            for o in recent.iter() {
                let (calls, failures) = by_caller.entry(o.caller).or_default();
                *calls += 1;
                *failures += u32::from(o.failed);
            }
        }
        by_caller
    }

    /// Takes the other replicas' callers (as they last reported) into the
    /// judgement, and judges: returns why the deployment must go, the first
    /// time the threshold is passed.
    pub fn set_others(&self, others: CallerCounts, policy: &RollbackPolicy) -> Option<String> {
        if let Ok(mut mine) = self.others.lock() {
            *mine = others;
        }
        if !policy.enabled || self.tripped() {
            return None;
        }
        self.judge(policy)
    }

    /// Drops outcomes older than the window, or past the most remembered.
    fn prune(&self, policy: &RollbackPolicy) {
        let now = Instant::now();
        let window = Duration::from_secs(policy.window_secs);
        if let Ok(mut recent) = self.recent.lock() {
            while recent.len() > MAX_REMEMBERED
                || recent
                    .front()
                    .is_some_and(|o| now.duration_since(o.at) > window)
            {
                recent.pop_front();
            }
        }
    }

    /// Judges this replica's callers and the others' together; trips once.
    fn judge(&self, policy: &RollbackPolicy) -> Option<String> {
        // Each caller counts once, with the share of their own calls that
        // failed, whichever replicas they called.
        let mut by_caller = self.window(policy);
        if let Ok(others) = self.others.lock() {
            for (caller, (calls, failures)) in others.iter() {
                let mine = by_caller.entry(*caller).or_default();
                mine.0 += calls;
                mine.1 += failures;
            }
        }
        if by_caller.is_empty() {
            return None;
        }
        let calls: usize = by_caller.values().map(|(c, _)| *c as usize).sum();
        let callers = by_caller.len();
        let shares: Vec<f64> = by_caller
            .values()
            .map(|(calls, failures)| f64::from(*failures) / f64::from((*calls).max(1)))
            .collect();
        let failing_callers = shares.iter().filter(|s| **s >= policy.failure_rate).count();
        let rate = shares.iter().sum::<f64>() / shares.len() as f64;
        if calls < policy.min_calls as usize
            || failing_callers < policy.min_callers as usize
            || rate < policy.failure_rate
        {
            return None;
        }
        if self.tripped.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(format!(
            "{failing_callers} of the {callers} callers of its last {calls} calls within {} s saw it trap, time out or run out of memory ({:.0}% of a caller's calls on average, threshold {:.0}%)",
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
            min_callers: 2,
        }
    }

    #[test]
    fn trips_once_when_the_share_of_failing_callers_passes_the_threshold() {
        let health = Health::default();
        assert_eq!(health.record(true, "a", &policy()), None, "too few calls");
        assert_eq!(health.record(false, "b", &policy()), None);
        assert_eq!(health.record(false, "c", &policy()), None);
        let reason = health
            .record(true, "b", &policy())
            .expect("2 of 3 callers failed");
        assert!(
            reason.contains("2 of the 3 callers of its last 4 calls"),
            "{reason}"
        );
        assert!(health.tripped());
        assert_eq!(health.record(true, "d", &policy()), None, "only once");
    }

    #[test]
    fn callers_of_other_replicas_count_in_the_judgement() {
        let health = Health::default();
        assert_eq!(health.record(true, "a", &policy()), None);
        assert_eq!(health.record(true, "a", &policy()), None, "one caller here");
        // Another replica's caller failed twice as well.
        let mut others = CallerCounts::new();
        others.insert(caller_hash("b"), (2, 2));
        let reason = health
            .set_others(others.clone(), &policy())
            .expect("2 callers across replicas, 4 calls");
        assert!(reason.contains("2 of the 2 callers"), "{reason}");
        assert_eq!(health.set_others(others, &policy()), None, "only once");
        // What this replica tells the others.
        assert_eq!(health.window(&policy())[&caller_hash("a")], (2, 2));
    }

    #[test]
    fn one_caller_alone_never_trips_it_however_often_they_fail() {
        let health = Health::default();
        for _ in 0..1000 {
            assert_eq!(health.record(true, "patient-1", &policy()), None);
        }
        // Nor does one failing caller among many healthy ones.
        for n in 0..100 {
            assert_eq!(health.record(false, &format!("user-{n}"), &policy()), None);
        }
        assert!(!health.tripped());
    }

    #[test]
    fn a_healthy_or_disabled_deployment_never_trips() {
        let health = Health::default();
        for n in 0..100 {
            assert_eq!(
                health.record(n % 10 == 0, &format!("user-{}", n % 7), &policy()),
                None
            );
        }
        let off = RollbackPolicy {
            enabled: false,
            ..policy()
        };
        let failing = Health::default();
        for n in 0..100 {
            assert_eq!(failing.record(true, &format!("user-{n}"), &off), None);
        }
    }

    #[test]
    fn memory_stays_bounded_under_any_load() {
        let health = Health::default();
        for n in 0..(MAX_REMEMBERED + 500) {
            health.record(false, &format!("user-{}", n % 50), &policy());
        }
        assert_eq!(
            health.recent.lock().map(|r| r.len()).unwrap_or(0),
            MAX_REMEMBERED
        );
    }

    #[test]
    fn a_nonsense_policy_is_refused() {
        let bad = RollbackPolicy {
            failure_rate: 1.5,
            ..policy()
        };
        assert!(bad.check().is_err());
        let steerable = RollbackPolicy {
            min_callers: 1,
            ..policy()
        };
        assert!(steerable.check().is_err());
    }
}
