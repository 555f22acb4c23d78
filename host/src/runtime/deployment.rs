//! The deployment lifetime: a module bound to a slot, pre-instantiated
//! against the host's linker, with the limits and grants it runs under.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::bindings::{booking, booking_0_1, ordering};
use crate::runtime::call_state::CallState;
use crate::runtime::export::Exports;
use crate::runtime::module::{LoadError, Module};
use crate::runtime::standard::{SCHEDULING_0_1, Standard};

/// The most linear memory one instance can have on a host with the default
/// engine settings: the pool's slot size, and so the ceiling of any
/// organisation's `memory_bytes`.
pub const MAX_MEMORY_BYTES: usize = 256 * 1024 * 1024;

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

/// What a module's manifest says it needs (`[limits]`): the most linear
/// memory one instance uses, and the longest one call takes. Neither is a
/// grant: a deployment runs under the operator's limits for the
/// organisation, and a module whose stated need those limits do not meet is
/// not deployed there (see [`Limits::meet`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedLimits {
    /// The linear memory one instance needs, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<usize>,
    /// The time one call needs, in milliseconds.
    #[serde(default, rename = "deadline", skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

/// A module's stated need that an organisation's limits do not meet.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unmet {
    /// It needs more memory an instance than the limit.
    #[error(
        "it needs {} of memory an instance (its manifest's [limits] memory_bytes = {needs}) and the organisation's limit is {} (memory_bytes = {allows}): raise memory_bytes in the organisation's limits in the host's configuration (at most {} on this host), or choose a module that needs less",
        mib(*.needs),
        mib(*.allows),
        mib(MAX_MEMORY_BYTES)
    )]
    Memory {
        /// What the manifest states, in bytes.
        needs: usize,
        /// What the organisation allows, in bytes.
        allows: usize,
    },
    /// It needs longer a call than the deadline.
    #[error(
        "it needs up to {needs} ms a call (its manifest's [limits] deadline) and the organisation's deadline is {allows} ms: raise deadline in the organisation's limits in the host's configuration, or choose a module that needs less"
    )]
    Deadline {
        /// What the manifest states, in milliseconds.
        needs: u64,
        /// What the organisation allows, in milliseconds.
        allows: u64,
    },
}

/// Bytes in MiB for a reader, e.g. `96 MiB` or `1.5 MiB`.
pub fn mib(bytes: usize) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib.fract() == 0.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{mib:.1} MiB")
    }
}

impl Limits {
    /// Whether these limits meet what a module's manifest says it needs:
    /// the first need they do not meet, if any.
    pub fn meet(&self, needs: &RequestedLimits) -> Result<(), Unmet> {
        if let Some(needs) = needs.memory_bytes
            && needs > self.memory_bytes
        {
            return Err(Unmet::Memory {
                needs,
                allows: self.memory_bytes,
            });
        }
        let allows = self.deadline.as_millis() as u64;
        if let Some(needs) = needs.deadline_ms
            && needs > allows
        {
            return Err(Unmet::Deadline { needs, allows });
        }
        Ok(())
    }

    /// These limits raised to what a module says it needs, for running it
    /// outside an organisation (its conformance suite): never past
    /// `max_memory_bytes`, the most an instance can have on this host.
    pub fn raised_to(&self, needs: &RequestedLimits, max_memory_bytes: usize) -> Limits {
        Limits {
            memory_bytes: self
                .memory_bytes
                .max(needs.memory_bytes.unwrap_or(0))
                .min(max_memory_bytes),
            deadline: self
                .deadline
                .max(Duration::from_millis(needs.deadline_ms.unwrap_or(0))),
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
    Scheduling(Exports<booking::Booking, CallState>),
    /// A scheduling module of the standard's first release, 0.1.0: the host
    /// adapts its calls.
    Scheduling01(Exports<booking_0_1::Booking, CallState>),
    /// A prescribing module.
    Prescribing(Exports<ordering::Ordering, CallState>),
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
            Standard::Scheduling if world == SCHEDULING_0_1 => {
                Pre::Scheduling01(Exports::new(instance_pre, world.export).map_err(mismatch)?)
            }
            Standard::Scheduling => {
                Pre::Scheduling(Exports::new(instance_pre, world.export).map_err(mismatch)?)
            }
            Standard::Prescribing => {
                Pre::Prescribing(Exports::new(instance_pre, world.export).map_err(mismatch)?)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    fn needs(memory_mib: Option<usize>, deadline_ms: Option<u64>) -> RequestedLimits {
        RequestedLimits {
            memory_bytes: memory_mib.map(|m| m * MIB),
            deadline_ms,
        }
    }

    #[test]
    fn limits_meet_what_a_module_needs_or_say_which_need_they_miss() {
        let limits = Limits::default();
        assert_eq!(limits.meet(&RequestedLimits::default()), Ok(()));
        assert_eq!(limits.meet(&needs(Some(64), Some(1000))), Ok(()));
        assert_eq!(
            limits.meet(&needs(Some(96), None)),
            Err(Unmet::Memory {
                needs: 96 * MIB,
                allows: 64 * MIB
            })
        );
        assert_eq!(
            limits.meet(&needs(None, Some(1500))),
            Err(Unmet::Deadline {
                needs: 1500,
                allows: 1000
            })
        );
        let said = Unmet::Memory {
            needs: 96 * MIB,
            allows: 64 * MIB,
        }
        .to_string();
        assert!(said.contains("needs 96 MiB"), "{said}");
        assert!(said.contains("limit is 64 MiB"), "{said}");
        assert!(said.contains("at most 256 MiB"), "{said}");
    }

    #[test]
    fn a_manifest_states_its_needs_in_bytes_and_milliseconds() {
        let stated: RequestedLimits =
            toml::from_str("memory_bytes = 100663296\ndeadline = 1500\n").expect("parsed");
        assert_eq!(stated, needs(Some(96), Some(1500)));
        let memory_only: RequestedLimits =
            toml::from_str("memory_bytes = 100663296\n").expect("parsed");
        assert_eq!(memory_only.deadline_ms, None, "no deadline is stated");
        assert!(toml::from_str::<RequestedLimits>("memory = 1\n").is_err());
    }

    #[test]
    fn limits_are_raised_to_a_need_within_what_an_instance_can_have() {
        let base = Limits::default();
        let raised = base.raised_to(&needs(Some(96), Some(1500)), 256 * MIB);
        assert_eq!(raised.memory_bytes, 96 * MIB);
        assert_eq!(raised.deadline, Duration::from_millis(1500));
        assert_eq!(
            base.raised_to(&needs(Some(300), None), 256 * MIB)
                .memory_bytes,
            256 * MIB
        );
        assert_eq!(base.raised_to(&needs(Some(1), None), 256 * MIB), base);
    }

    #[test]
    fn sizes_read_in_mib() {
        assert_eq!(mib(64 * MIB), "64 MiB");
        assert_eq!(mib(3 * MIB / 2), "1.5 MiB");
    }
}
