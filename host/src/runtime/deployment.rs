//! The deployment lifetime: a module bound to a slot, pre-instantiated
//! against the host's linker, with the limits and grants it runs under.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::bindings::{prescribing, scheduling, scheduling_0_1};
use crate::runtime::call_state::CallState;
use crate::runtime::module::{LoadError, Module};
use crate::runtime::standard::{SCHEDULING_0_1, Standard};

/// What a deployment's calls may use.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The most linear memory one instance may have, in bytes.
    pub memory_bytes: usize,
    /// How long one call may run before it is stopped.
    #[serde(with = "millis")]
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            deadline: Duration::from_millis(1000),
        }
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(Duration::from_millis)
    }
}

/// Grants a module's manifest requests. The operator decides what is
/// given: a deployment gets what both the manifest requests and the
/// operator allows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedGrants {
    /// Read-only directories of reference data, by the path the module sees
    /// (e.g. `/reference`), with why.
    #[serde(default)]
    pub directories: std::collections::BTreeMap<String, String>,
}

/// What a deployment grants a module beyond the standard's host interfaces.
/// Nothing by default: no filesystem, network, environment or stdin. The
/// only grant there is: read-only directories of reference data (a
/// formulary, say), opened through cap-std so the module sees nothing above
/// them. Outbound network is never granted.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grants {
    /// Read-only directories: the path the module sees (e.g. `/reference`)
    /// to the directory on the host.
    pub directories: std::collections::BTreeMap<String, std::path::PathBuf>,
}

impl Grants {
    /// What both allow: the operator's grants restricted to the guest paths
    /// a manifest requests.
    pub fn restricted_to(&self, requested: &RequestedGrants) -> Grants {
        Grants {
            directories: self
                .directories
                .iter()
                .filter(|(guest, _)| requested.directories.contains_key(*guest))
                .map(|(g, h)| (g.clone(), h.clone()))
                .collect(),
        }
    }

    /// Checks every granted directory exists, so a bad grant fails the
    /// deployment, not a call.
    pub fn check(&self) -> Result<(), LoadError> {
        for (guest, host) in &self.directories {
            if !guest.starts_with('/') {
                return Err(LoadError::Link(anyhow::anyhow!(
                    "the granted path '{guest}' must be absolute, e.g. /reference"
                )));
            }
            if !host.is_dir() {
                return Err(LoadError::Link(anyhow::anyhow!(
                    "the directory granted as {guest}, {}, does not exist",
                    host.display()
                )));
            }
        }
        Ok(())
    }
}

/// A module's pre-instantiated component, typed by its standard.
pub enum Pre {
    /// A scheduling module of the standard's newest release.
    Scheduling(scheduling::SchedulingProviderPre<CallState>),
    /// A scheduling module of the standard's first release, 0.1.0: the host
    /// adapts its calls.
    Scheduling01(scheduling_0_1::SchedulingProviderPre<CallState>),
    /// A prescribing module.
    Prescribing(prescribing::PrescribingProviderPre<CallState>),
}

/// A module ready to serve a slot: compiled, linked, checked.
pub struct Deployment {
    /// The module.
    pub module: Arc<Module>,
    /// Its limits.
    pub limits: Limits,
    /// Its grants.
    pub grants: Grants,
    /// Its pre-instantiated component.
    pub pre: Pre,
    /// Its recent calls' failures, for automatic rollback.
    pub health: crate::runtime::health::Health,
}

impl Deployment {
    /// Links a module against the host's interfaces and checks its exports
    /// against its standard, ready for calls.
    pub fn new(
        linker: &wasmtime::component::Linker<CallState>,
        module: Arc<Module>,
        limits: Limits,
        grants: Grants,
    ) -> Result<Deployment, LoadError> {
        grants.check()?;
        let instance_pre = linker
            .instantiate_pre(&module.component)
            .map_err(|e| LoadError::Link(e.into()))?;
        let world = module.world;
        let mismatch = |e: wasmtime::Error| {
            LoadError::Link(anyhow::Error::from(e).context(format!(
                "its {} export does not match the standard's",
                world.export
            )))
        };
        let pre = match world.standard {
            Standard::Scheduling if world == SCHEDULING_0_1 => Pre::Scheduling01(
                scheduling_0_1::SchedulingProviderPre::new(instance_pre).map_err(mismatch)?,
            ),
            Standard::Scheduling => Pre::Scheduling(
                scheduling::SchedulingProviderPre::new(instance_pre).map_err(mismatch)?,
            ),
            Standard::Prescribing => Pre::Prescribing(
                prescribing::PrescribingProviderPre::new(instance_pre).map_err(mismatch)?,
            ),
        };
        Ok(Deployment {
            module,
            limits,
            grants,
            pre,
            health: Default::default(),
        })
    }

    /// `supplier/name@version`, for logs and metrics.
    pub fn label(&self) -> Arc<str> {
        self.module.label.clone()
    }
}
