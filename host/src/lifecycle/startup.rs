//! Start-up: opens the records store (private to the host's user), seeds
//! the demo if asked, builds the runtime with its supervisor, and brings
//! every organisation's slots back. Each slot serves its last recorded
//! deployment (and its trial); a slot with none yet gets the module the
//! configuration names, recorded as its first deployment, and is then
//! brought up the same way. After the first start, modules change with
//! `patchbay deploy`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::lifecycle::package::{self, Trust};
use crate::lifecycle::registry::{self, DeploymentRecord, StoredModule};
use crate::lifecycle::{loading, rollout, supervisor};
use crate::runtime::bundled;
use crate::runtime::call_state::now_ms;
use crate::runtime::deployment::{Grants, Limits, RequestedGrants, RequestedLimits};
use crate::runtime::engine::{EngineSettings, Runtime};
use crate::runtime::health::RollbackPolicy;
use crate::runtime::standard::Standard;
use crate::store::audit::Trail;
use crate::store::records::RecordStore;

/// One organisation and its choice of modules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Its name.
    pub name: String,
    /// The module for each care function, e.g. `scheduling =
    /// "meridian/scheduling@1.0.0"`: a bundled module's name; a signed
    /// package file (`path/to/module.carepkg`); or, with
    /// `trust.allow_unsigned`, a bare component written
    /// `supplier/name@version=path/to/file.wasm`.
    #[serde(default)]
    pub modules: BTreeMap<String, String>,
    /// Limits for this organisation's modules.
    #[serde(default)]
    pub limits: Option<Limits>,
    /// What the operator allows this organisation's modules beyond the
    /// standard: read-only directories. A signed package gets only what its
    /// manifest also requests; a bundled module requests nothing.
    #[serde(default)]
    pub grants: Grants,
}

/// What start-up needs.
pub struct Startup<'a> {
    /// The data directory: made private to the host's user.
    pub data_dir: &'a Path,
    /// Where the records store is (either engine).
    pub database: &'a crate::store::database::Location,
    /// Seed the demo practices' records.
    pub demo: bool,
    /// The organisations served, by ODS code.
    pub organisations: &'a BTreeMap<String, Organisation>,
    /// Limits for every module unless an organisation says otherwise.
    pub limits: &'a Limits,
    /// The supplier keys whose packages are trusted.
    pub trust: &'a Trust,
    /// When the supervisor takes a failing deployment out of service.
    pub rollback: RollbackPolicy,
    /// The audit trail's key file.
    pub audit_key: &'a Path,
    /// The audit trail's anchor file.
    pub audit_anchor: &'a Path,
    /// The most module calls one organisation may run at once.
    pub max_calls_per_organisation: usize,
}

/// Builds the runtime and brings every slot back.
pub fn start(startup: Startup<'_>) -> anyhow::Result<Runtime> {
    crate::store::private_files::ensure_private_dir(startup.data_dir).with_context(|| {
        format!(
            "the data directory {} holds patients' records and must be private to this host's user",
            startup.data_dir.display()
        )
    })?;
    let store = RecordStore::open_at(startup.database)?;
    if startup.demo {
        crate::store::demo::seed(&store, now_ms()).context("cannot seed the demo practices")?;
    }
    let audit = Trail::open(startup.audit_key, startup.audit_anchor)?;
    let settings = EngineSettings {
        cache_dir: Some(startup.data_dir.join("artifacts")),
        rollback: startup.rollback.clone(),
        audit: Some(audit),
        max_calls_per_organisation: startup.max_calls_per_organisation,
        ..EngineSettings::default()
    };
    let runtime = Runtime::new(store, &settings)?;
    supervisor::start(&runtime)?;
    for (ods, org) in startup.organisations {
        let limits = org.limits.clone().unwrap_or_else(|| startup.limits.clone());
        for (function, spec) in &org.modules {
            let standard = Standard::from_function(function).with_context(|| {
                format!("organisation {ods}: '{function}' is not a care function (scheduling or prescribing)")
            })?;
            let history = registry::history(&*runtime.records().connection()?, ods, function)?;
            if history.is_empty() {
                record_configured(&runtime, ods, standard, spec, org, &limits, startup.trust)
                    .with_context(|| format!("organisation {ods}, {function}"))?;
            }
            restore(&runtime, ods, standard, startup.trust)
                .with_context(|| format!("organisation {ods}, {function}"))?;
        }
    }
    Ok(runtime)
}

/// Brings a slot back: its last recorded deployment, then its trial if it
/// can still run (one that cannot is ended, and the slot serves its active
/// module).
fn restore(runtime: &Runtime, ods: &str, standard: Standard, trust: &Trust) -> anyhow::Result<()> {
    let function = standard.function();
    let history = registry::history(&*runtime.records().connection()?, ods, function)?;
    let last = history
        .last()
        .with_context(|| format!("the {function} slot has no recorded deployment"))?;
    let conn = runtime.records().connection()?;
    let stored = registry::module_bytes(&conn, &last.module_hash)?
        .with_context(|| format!("module {} is missing from the registry", last.module))?;
    drop(conn);
    still_trusted(&stored, trust)?;
    let loaded = loading::load(
        runtime,
        &stored,
        standard,
        last.limits.clone(),
        last.grants.clone(),
    )
    .with_context(|| format!("module {}", last.module))?;
    runtime.slots().deploy(ods, loaded.deployment)?;
    tracing::info!(org = %ods, slot = %function, module = %last.module, action = %last.action,
        "the slot serves its recorded deployment");
    let trial = registry::trial(&*runtime.records().connection()?, ods, function)?;
    if let Some(trial) = trial {
        let conn = runtime.records().connection()?;
        let trusted =
            registry::module_bytes(&conn, &trial.module_hash)?.map(|m| still_trusted(&m, trust));
        if !matches!(trusted, Some(Ok(()))) {
            tracing::warn!(org = %ods, slot = %function, module = %trial.module,
                "the slot's trial candidate is no longer trusted: its trial is ended");
            registry::clear_trial(&conn, ods, function)?;
        }
    }
    if let Err(e) = rollout::restore_trial(runtime, ods, standard) {
        tracing::warn!(org = %ods, slot = %function, error = %format!("{e:#}"),
            "cannot restore the slot's trial: it is ended");
        registry::clear_trial(&*runtime.records().connection()?, ods, function)?;
    }
    Ok(())
}

/// Registers the module the configuration names for a slot that has none
/// yet, after checking it (trust, world, standard), and records it as the
/// slot's first deployment.
fn record_configured(
    runtime: &Runtime,
    ods: &str,
    standard: Standard,
    spec: &str,
    org: &Organisation,
    limits: &Limits,
    trust: &Trust,
) -> anyhow::Result<()> {
    let named = read_named(spec, trust)?;
    let compiled = runtime
        .compile(named.label.parse()?, &named.bytes)
        .with_context(|| format!("module {}", named.label))?;
    if let Some(world) = &named.claimed_world
        && world != compiled.world.name
    {
        return Err(package::PackageError::WorldMismatch {
            claimed: world.clone(),
            found: format!("implements {}", compiled.world.name),
        }
        .into());
    }
    compiled.shape.check(standard).with_context(|| {
        format!(
            "module {} cannot serve {}",
            named.label,
            standard.function()
        )
    })?;
    rollout::within_limits(limits, &named.needs, &named.label, ods)?;
    let grants = match &named.requested {
        Requested::Manifest(requested) => org.grants.restricted_to(requested),
        Requested::Everything => org.grants.clone(),
        Requested::Nothing => Grants::default(),
    };
    let requested = match &named.requested {
        Requested::Manifest(r) => Some(r.clone()),
        Requested::Everything => Some(RequestedGrants {
            directories: org
                .grants
                .directories
                .keys()
                .map(|k| (k.clone(), "development".into()))
                .collect(),
        }),
        Requested::Nothing => None,
    };
    let conn = runtime.records().connection()?;
    registry::add_module(
        &conn,
        ods,
        &compiled.hash,
        &named.label,
        compiled.world.name,
        &named.bytes,
        requested.as_ref(),
        &named.needs,
        named.signed_by.as_deref(),
        now_ms(),
        "configuration",
    )?;
    registry::record_deployment(
        &conn,
        &DeploymentRecord {
            id: 0,
            org: ods.to_string(),
            function: standard.function().to_string(),
            module_hash: compiled.hash.clone(),
            module: named.label.clone(),
            limits: limits.clone(),
            grants,
            action: "start".into(),
            reason: "named in the configuration".into(),
            deployed_ms: now_ms(),
            deployed_by: "configuration".into(),
        },
    )?;
    Ok(())
}

/// Checks that a registered module is still admitted by the trust settings:
/// its signing key still trusted for its supplier, or (unsigned) bundled or
/// allowed in development mode. Removing a key revokes its modules.
pub(crate) fn still_trusted(stored: &StoredModule, trust: &Trust) -> anyhow::Result<()> {
    match &stored.signed_by {
        Some(key) => {
            let supplier = stored.label.split('/').next().unwrap_or_default();
            if !trust.trusts(supplier, key) {
                return Err(package::PackageError::UnknownKey {
                    supplier: supplier.to_string(),
                    key: key.clone(),
                }
                .into());
            }
        }
        None if bundled::is_bundled(&stored.label, &stored.hash) => {}
        None => anyhow::ensure!(
            trust.allow_unsigned,
            "{} is unsigned and development mode is off: deploy a signed package",
            stored.label
        ),
    }
    Ok(())
}

/// A module named in the configuration, read and (for packages) verified.
struct Named {
    label: String,
    bytes: Vec<u8>,
    requested: Requested,
    needs: RequestedLimits,
    claimed_world: Option<String>,
    signed_by: Option<String>,
}

/// Reads a module named in the configuration: a bundled module's name; a
/// signed package (`.carepkg`), verified against the trusted supplier keys;
/// or, in development mode only, a bare component written
/// `supplier/name@version=path/to/component.wasm`.
fn read_named(spec: &str, trust: &Trust) -> anyhow::Result<Named> {
    if spec.ends_with(".carepkg") {
        let text = std::fs::read_to_string(spec)
            .with_context(|| format!("cannot read the package {spec}"))?;
        let verified = package::Package::parse(&text)?.verify(trust, trust.allow_unsigned)?;
        return Ok(Named {
            label: verified.manifest.module_id()?.to_string(),
            claimed_world: Some(verified.manifest.world.clone()),
            requested: Requested::Manifest(verified.manifest.grants),
            needs: verified.manifest.limits,
            signed_by: verified.signed_by,
            bytes: verified.component,
        });
    }
    if let Some((id, path)) = spec.split_once('=') {
        anyhow::ensure!(
            trust.allow_unsigned,
            "{path} is a bare component, not a signed package: package and sign it (patchbay package), or set trust.allow_unsigned = true for development"
        );
        tracing::warn!(
            module = id,
            "DEVELOPMENT MODE: serving an UNSIGNED component from {path}"
        );
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read the module {path}"))?;
        return Ok(Named {
            label: id.to_string(),
            bytes,
            requested: Requested::Everything,
            needs: RequestedLimits::default(),
            claimed_world: None,
            signed_by: None,
        });
    }
    let found = bundled::find(spec).with_context(|| {
        let names: Vec<&str> = bundled::ALL.iter().map(|b| b.id).collect();
        format!(
            "'{spec}' is not a bundled module ({}); name a signed package (.carepkg) instead",
            names.join(", ")
        )
    })?;
    Ok(Named {
        label: found.id.to_string(),
        bytes: found.bytes.to_vec(),
        requested: Requested::Nothing,
        needs: RequestedLimits::default(),
        claimed_world: None,
        signed_by: None,
    })
}

/// What a module asks to be granted.
enum Requested {
    /// What its signed manifest requests.
    Manifest(RequestedGrants),
    /// A bare component in development mode: whatever the operator allows.
    Everything,
    /// A bundled module: nothing.
    Nothing,
}
