//! Function slots: one care function of one organisation (the design's
//! "slot"; called a function slot in code, so it is never confused with a
//! bookable time slot), pointing at its active
//! deployment. A call loads the pointer once (no lock) and keeps that
//! deployment to the end, so a swap never disturbs a call in flight; every
//! later call sees the new deployment.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::runtime::deployment::Deployment;
use crate::runtime::module::LoadError;
use crate::runtime::standard::{Standard, WorldMismatch};
use crate::runtime::trial::{Trial, TrialMode};

/// One care function of one organisation.
pub struct FunctionSlot {
    /// The organisation's ODS code.
    pub organisation: String,
    /// The standard it serves.
    pub standard: Standard,
    active: ArcSwap<Deployment>,
    trial: ArcSwapOption<Trial>,
    history: Mutex<VecDeque<Arc<str>>>,
}

/// How many earlier modules a slot remembers in memory (the registry keeps
/// the whole history).
const REMEMBERED: usize = 20;

/// Where one call goes: the deployment that answers it, and the shadow
/// candidate that gets a copy, if any.
#[derive(Clone)]
pub struct Route {
    /// The deployment that answers: the active one, or a canary.
    pub deployment: Arc<Deployment>,
    /// A shadow trial to copy the call to.
    pub shadow: Option<Arc<Trial>>,
}

impl FunctionSlot {
    /// The active deployment.
    pub fn active(&self) -> Arc<Deployment> {
        self.active.load_full()
    }

    /// The candidate on trial, if any.
    pub fn trial(&self) -> Option<Arc<Trial>> {
        self.trial.load_full()
    }

    /// Starts a trial, replacing any running one (which is returned).
    pub fn start_trial(&self, trial: Arc<Trial>) -> Result<Option<Arc<Trial>>, LoadError> {
        if trial.deployment.module.standard != self.standard {
            return Err(LoadError::World(WorldMismatch::WrongStandard {
                expected: self.standard,
                found: trial.deployment.module.standard,
            }));
        }
        tracing::info!(org = %self.organisation, slot = self.standard.function(),
            module = %trial.deployment.module.label, mode = trial.mode.as_str(), percent = trial.percent, "trial started");
        Ok(self.trial.swap(Some(trial)))
    }

    /// Ends the trial, if any, and returns it. Calls already routed to the
    /// candidate finish on it.
    pub fn end_trial(&self) -> Option<Arc<Trial>> {
        let ended = self.trial.swap(None);
        if let Some(trial) = &ended {
            tracing::info!(org = %self.organisation, slot = self.standard.function(),
                module = %trial.deployment.module.label, mode = trial.mode.as_str(), "trial ended");
        }
        ended
    }

    /// Where a call goes. `key` gives the patient's NHS number (or, with no
    /// patient, the caller's id); it is asked only while a canary runs, so
    /// one patient always reaches one version.
    pub fn route(&self, key: impl FnOnce() -> Option<String>) -> Route {
        let active = self.active();
        match self.trial() {
            Some(trial) if trial.mode == TrialMode::Canary => {
                if key().is_some_and(|k| trial.takes(&k)) {
                    Route {
                        deployment: trial.deployment.clone(),
                        shadow: None,
                    }
                } else {
                    Route {
                        deployment: active,
                        shadow: None,
                    }
                }
            }
            Some(trial) if trial.samples() => Route {
                deployment: active,
                shadow: Some(trial),
            },
            _ => Route {
                deployment: active,
                shadow: None,
            },
        }
    }

    /// The modules this slot served before, oldest first (the latest few).
    pub fn history(&self) -> Vec<Arc<str>> {
        self.history
            .lock()
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Makes `next` the active deployment at once and returns the one it
    /// replaced. Calls already running finish on the old one; the slot keeps
    /// no reference to it, so it is freed when the last of them ends.
    pub fn swap(&self, next: Arc<Deployment>) -> Result<Arc<Deployment>, LoadError> {
        if next.module.standard != self.standard {
            return Err(LoadError::World(WorldMismatch::WrongStandard {
                expected: self.standard,
                found: next.module.standard,
            }));
        }
        let previous = self.active.swap(next);
        if let Ok(mut history) = self.history.lock() {
            if history.len() == REMEMBERED {
                history.pop_front();
            }
            history.push_back(previous.module.label.clone());
        }
        tracing::info!(org = %self.organisation, slot = self.standard.function(),
            from = %previous.module.label, to = %self.active().module.label, "slot swapped");
        Ok(previous)
    }
}

/// Every organisation's slots.
#[derive(Default)]
pub struct FunctionSlots {
    slots: RwLock<HashMap<(String, Standard), Arc<FunctionSlot>>>,
    changes: Mutex<()>,
}

impl FunctionSlots {
    /// Holds off every other change to slots (deploy, roll back, start,
    /// promote or end a trial) until the guard is dropped, so a check and the
    /// change it allows happen as one. Calls are never held up by it.
    pub fn changing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slot of an organisation's care function, if it has one.
    pub fn get(&self, organisation: &str, standard: Standard) -> Option<Arc<FunctionSlot>> {
        let slots = self.slots.read().ok()?;
        slots.get(&(organisation.to_string(), standard)).cloned()
    }

    /// Every slot, sorted by organisation and function.
    pub fn all(&self) -> Vec<Arc<FunctionSlot>> {
        let mut all: Vec<_> = self
            .slots
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by(|a, b| {
            (&a.organisation, a.standard.function()).cmp(&(&b.organisation, b.standard.function()))
        });
        all
    }

    /// Deploys to an organisation's slot for the deployment's standard:
    /// creates the slot, or swaps it to the new deployment. Returns the slot.
    pub fn deploy(
        &self,
        organisation: &str,
        deployment: Arc<Deployment>,
    ) -> Result<Arc<FunctionSlot>, LoadError> {
        let standard = deployment.module.standard;
        if let Some(slot) = self.get(organisation, standard) {
            slot.swap(deployment)?;
            return Ok(slot);
        }
        let mut slots = self
            .slots
            .write()
            .map_err(|_| LoadError::Link(anyhow::anyhow!("the slot table is poisoned")))?;
        let slot = slots
            .entry((organisation.to_string(), standard))
            .or_insert_with(|| {
                tracing::info!(org = organisation, slot = standard.function(),
                    module = %deployment.module.label, "slot created");
                Arc::new(FunctionSlot {
                    organisation: organisation.to_string(),
                    standard,
                    active: ArcSwap::new(deployment.clone()),
                    trial: ArcSwapOption::empty(),
                    history: Mutex::new(VecDeque::new()),
                })
            })
            .clone();
        if !Arc::ptr_eq(&slot.active(), &deployment) {
            slot.swap(deployment)?;
        }
        Ok(slot)
    }
}

/// Whose call it is, for routing a canary: one patient always reaches one
/// version. Resolved only while a canary runs.
#[derive(Debug, Clone)]
pub enum RouteKey {
    /// The caller: for calls about no patient (a slot search).
    Caller,
    /// A patient, by NHS number.
    Patient(String),
    /// The patient of an appointment, looked up in the records.
    Appointment(String),
    /// The patient of a medication request, looked up in the records.
    MedicationRequest(String),
}
