//! Slots: one care function of one organisation, pointing at its active
//! deployment. A call loads the pointer once (no lock) and keeps that
//! deployment to the end, so a swap never disturbs a call in flight; every
//! later call sees the new deployment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwap;

use crate::deployment::Deployment;
use crate::module::LoadError;
use crate::standard::{Standard, WorldMismatch};

/// One care function of one organisation.
pub struct Slot {
    /// The organisation's ODS code.
    pub organisation: String,
    /// The standard it serves.
    pub standard: Standard,
    active: ArcSwap<Deployment>,
    history: Mutex<Vec<Arc<Deployment>>>,
}

impl Slot {
    /// The active deployment.
    pub fn active(&self) -> Arc<Deployment> {
        self.active.load_full()
    }

    /// The deployments this slot had before, oldest first.
    pub fn history(&self) -> Vec<Arc<Deployment>> {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Makes `next` the active deployment at once and returns the one it
    /// replaced. Calls already running finish on the old one.
    pub fn swap(&self, next: Arc<Deployment>) -> Result<Arc<Deployment>, LoadError> {
        if next.module.standard != self.standard {
            return Err(LoadError::World(WorldMismatch::WrongStandard {
                expected: self.standard,
                found: next.module.standard,
            }));
        }
        let previous = self.active.swap(next);
        if let Ok(mut history) = self.history.lock() {
            history.push(previous.clone());
        }
        tracing::info!(org = %self.organisation, slot = self.standard.function(),
            from = %previous.module.label, to = %self.active().module.label, "slot swapped");
        Ok(previous)
    }
}

/// Every organisation's slots.
#[derive(Default)]
pub struct Slots {
    slots: RwLock<HashMap<(String, Standard), Arc<Slot>>>,
}

impl Slots {
    /// The slot of an organisation's care function, if it has one.
    pub fn get(&self, organisation: &str, standard: Standard) -> Option<Arc<Slot>> {
        let slots = self.slots.read().ok()?;
        slots.get(&(organisation.to_string(), standard)).cloned()
    }

    /// Every slot, sorted by organisation and function.
    pub fn all(&self) -> Vec<Arc<Slot>> {
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
    ) -> Result<Arc<Slot>, LoadError> {
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
                Arc::new(Slot {
                    organisation: organisation.to_string(),
                    standard,
                    active: ArcSwap::new(deployment.clone()),
                    history: Mutex::new(Vec::new()),
                })
            })
            .clone();
        if !Arc::ptr_eq(&slot.active(), &deployment) {
            slot.swap(deployment)?;
        }
        Ok(slot)
    }
}
