//! The module registry and deployment history, in the records store: every
//! module the host has accepted (by SHA-256, with its bytes and who signed
//! it), and every deployment to every slot (who, when, why), so a restart
//! comes back with the same active modules and a slot can roll back.

use serde::Serialize;

use crate::runtime::deployment::{Grants, Limits, RequestedLimits};
use crate::store::database::{Connection, DbError};

/// A module the host has accepted.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleRecord {
    /// SHA-256 of its bytes.
    pub hash: String,
    /// `supplier/name@version`.
    pub label: String,
    /// The world it implements.
    pub world: String,
    /// The key that signed its package, if it came in one.
    pub signed_by: Option<String>,
    /// When it was added.
    pub added_ms: i64,
    /// Who added it.
    pub added_by: String,
    /// What its manifest says it needs.
    pub needs: RequestedLimits,
}

/// One deployment to a slot.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentRecord {
    /// Its sequence number.
    pub id: i64,
    /// The organisation.
    pub org: String,
    /// The care function.
    pub function: String,
    /// The module's hash.
    pub module_hash: String,
    /// `supplier/name@version`.
    pub module: String,
    /// Its limits.
    pub limits: Limits,
    /// Its grants.
    pub grants: Grants,
    /// `start` (the configuration's first choice), `deploy`, `promote`,
    /// `rollback`, or `automatic-rollback` (the host's own).
    pub action: String,
    /// Why.
    pub reason: String,
    /// When.
    pub deployed_ms: i64,
    /// Who.
    pub deployed_by: String,
}

/// Why a module cannot be added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The same bytes are registered under another name.
    #[error(
        "this component is already registered as {registered} (the same SHA-256, {hash}): deploy it by that name, or by its hash"
    )]
    SameBytesOtherName {
        /// The name they were first added with.
        registered: String,
        /// Their hash.
        hash: String,
    },
    /// The name is taken by other bytes: a name means one component.
    #[error(
        "{label} is already registered with other contents (SHA-256 {existing}): a module's name and version stand for one component; publish a new version"
    )]
    NameTaken {
        /// The name.
        label: String,
        /// The hash of the component registered under it.
        existing: String,
    },
    /// The store failed.
    #[error("the module could not be registered: {0:#}")]
    Store(#[from] anyhow::Error),
}

impl From<DbError> for AddError {
    fn from(e: DbError) -> AddError {
        AddError::Store(e.into())
    }
}

/// Adds a module for an organisation (idempotent by hash): the organisation
/// may then see and deploy it. A name stands for one component: the same
/// name with other bytes, or the same bytes under another name, is refused.
#[allow(clippy::too_many_arguments)]
pub fn add_module(
    conn: &Connection,
    org: &str,
    hash: &str,
    label: &str,
    world: &str,
    component: &[u8],
    requested_grants: Option<&crate::lifecycle::package::RequestedGrants>,
    requested_limits: &RequestedLimits,
    signed_by: Option<&str>,
    now: i64,
    by: &str,
) -> Result<(), AddError> {
    let requested = requested_grants
        .map(serde_json::to_string)
        .transpose()
        .map_err(anyhow::Error::from)?;
    let needs = (requested_limits != &RequestedLimits::default())
        .then(|| serde_json::to_string(requested_limits))
        .transpose()
        .map_err(anyhow::Error::from)?;
    // One statement, so two uploads at once cannot both take a name.
    conn.execute(
        "INSERT INTO modules (hash, label, world, component, requested_grants, requested_limits, signed_by, added_ms, added_by) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE NOT EXISTS (SELECT 1 FROM modules WHERE label = ?2) \
         ON CONFLICT DO NOTHING",
        &[&hash, &label, &world, &component, &requested, &needs, &signed_by, &now, &by],
    )?;
    let registered: Option<String> = conn
        .query_opt("SELECT label FROM modules WHERE hash = ?1", &[&hash])?
        .map(|r| r.get(0))
        .transpose()?;
    match registered {
        Some(registered) if registered == label => {}
        Some(registered) => {
            return Err(AddError::SameBytesOtherName {
                registered,
                hash: hash.to_string(),
            });
        }
        None => {
            let existing: String = conn
                .query_one("SELECT hash FROM modules WHERE label = ?1", &[&label])?
                .get(0)?;
            return Err(AddError::NameTaken {
                label: label.to_string(),
                existing,
            });
        }
    }
    conn.execute(
        "INSERT INTO module_access (org, module_hash) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        &[&org, &hash],
    )?;
    Ok(())
}

/// Whether an organisation may see and deploy a module: it added it, or
/// the module is one of the host's bundled ones.
fn visible(conn: &Connection, org: &str, hash: &str, label: &str) -> anyhow::Result<bool> {
    if crate::runtime::bundled::is_bundled(label, hash) {
        return Ok(true);
    }
    Ok(conn
        .query_opt(
            "SELECT 1 FROM module_access WHERE org = ?1 AND module_hash = ?2",
            &[&org, &hash],
        )?
        .is_some())
}

/// The modules an organisation may see and deploy, newest first.
pub fn modules(conn: &Connection, org: &str) -> anyhow::Result<Vec<ModuleRecord>> {
    let rows = conn.query(
        "SELECT hash, label, world, signed_by, added_ms, added_by, requested_limits FROM modules \
         ORDER BY added_ms DESC, label",
        &[],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let needs: Option<String> = r.get(6)?;
        let row = ModuleRecord {
            hash: r.get(0)?,
            label: r.get(1)?,
            world: r.get(2)?,
            signed_by: r.get(3)?,
            added_ms: r.get(4)?,
            added_by: r.get(5)?,
            needs: stated_needs(needs)?,
        };
        if visible(conn, org, &row.hash, &row.label)? {
            out.push(row);
        }
    }
    Ok(out)
}

/// A module's stated needs as the registry keeps them (JSON; none for a
/// module whose manifest states none).
fn stated_needs(text: Option<String>) -> anyhow::Result<RequestedLimits> {
    Ok(text
        .map(|n| serde_json::from_str(&n))
        .transpose()?
        .unwrap_or_default())
}

/// A module an organisation may deploy, by hash or `supplier/name@version`;
/// `None` if there is none, or it is another organisation's.
pub fn module_for(
    conn: &Connection,
    org: &str,
    hash_or_label: &str,
) -> anyhow::Result<Option<StoredModule>> {
    match module_bytes(conn, hash_or_label)? {
        Some(m) if visible(conn, org, &m.hash, &m.label)? => Ok(Some(m)),
        _ => Ok(None),
    }
}

/// A registered module's bytes and what it came with.
pub struct StoredModule {
    /// SHA-256 of its bytes.
    pub hash: String,
    /// `supplier/name@version`.
    pub label: String,
    /// The component.
    pub bytes: Vec<u8>,
    /// What its manifest requested; none for a bundled module.
    pub requested: Option<crate::lifecycle::package::RequestedGrants>,
    /// What its manifest says it needs; nothing for a bundled module.
    pub needs: RequestedLimits,
    /// The key that signed its package, if it came in one.
    pub signed_by: Option<String>,
}

/// A registered module, by hash or by `supplier/name@version`, whichever
/// organisation added it: for what the host itself recorded (restoring a
/// slot's deployment). An organisation's request goes through
/// [`module_for`].
pub fn module_bytes(
    conn: &Connection,
    hash_or_label: &str,
) -> anyhow::Result<Option<StoredModule>> {
    let Some(r) = conn.query_opt(
        "SELECT hash, label, component, requested_grants, signed_by, requested_limits FROM modules \
         WHERE hash = ?1 OR label = ?1 ORDER BY added_ms DESC LIMIT 1",
        &[&hash_or_label],
    )?
    else {
        return Ok(None);
    };
    let requested: Option<String> = r.get(3)?;
    let needs: Option<String> = r.get(5)?;
    Ok(Some(StoredModule {
        hash: r.get(0)?,
        label: r.get(1)?,
        bytes: r.get(2)?,
        requested: requested.map(|r| serde_json::from_str(&r)).transpose()?,
        needs: stated_needs(needs)?,
        signed_by: r.get(4)?,
    }))
}

/// Records a deployment, and tells every replica.
pub fn record_deployment(conn: &Connection, d: &DeploymentRecord) -> anyhow::Result<i64> {
    record_deployment_replacing(conn, d, None)?
        .ok_or_else(|| anyhow::anyhow!("the deployment was not recorded"))
}

/// Records a deployment that replaces module `replacing` (by hash) as the
/// slot's active one, if the slot's last recorded deployment is still of
/// that module; `None` if another change came first (on this replica or
/// another). One transaction, holding the slot's lock, so two replicas
/// rolling back the same failing module make one rollback between them.
/// With no `replacing`, records the deployment whatever came before.
pub fn record_deployment_replacing(
    conn: &Connection,
    d: &DeploymentRecord,
    replacing: Option<&str>,
) -> anyhow::Result<Option<i64>> {
    let tx = conn.transaction()?;
    tx.lock_slot(&d.org, &d.function)?;
    if let Some(expected) = replacing {
        let latest: Option<String> = tx
            .query_opt(
                "SELECT module_hash FROM deployments WHERE org = ?1 AND function = ?2 ORDER BY id DESC LIMIT 1",
                &[&d.org, &d.function],
            )?
            .map(|r| r.get(0))
            .transpose()?;
        if latest.as_deref() != Some(expected) {
            return Ok(None);
        }
    }
    let id = tx
        .query_one(
            "INSERT INTO deployments (org, function, module_hash, module_label, limits, grants, action, reason, \
             deployed_ms, deployed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            &[
                &d.org,
                &d.function,
                &d.module_hash,
                &d.module,
                &serde_json::to_string(&d.limits)?,
                &serde_json::to_string(&d.grants)?,
                &d.action,
                &d.reason,
                &d.deployed_ms,
                &d.deployed_by,
            ],
        )?
        .get(0)?;
    tx.notify_slot_changed(&d.org, &d.function)?;
    tx.commit()?;
    Ok(Some(id))
}

/// A slot's deployments, oldest first. The last is the active one.
pub fn history(
    conn: &Connection,
    org: &str,
    function: &str,
) -> anyhow::Result<Vec<DeploymentRecord>> {
    deployments(conn, org, Some(function))
}

/// Every deployment of an organisation, in every slot, oldest first: its
/// whole deployment history, for an export.
pub fn organisation_history(conn: &Connection, org: &str) -> anyhow::Result<Vec<DeploymentRecord>> {
    deployments(conn, org, None)
}

fn deployments(
    conn: &Connection,
    org: &str,
    function: Option<&str>,
) -> anyhow::Result<Vec<DeploymentRecord>> {
    let rows = conn.query(
        "SELECT id, org, function, module_hash, module_label, limits, grants, action, reason, deployed_ms, deployed_by \
         FROM deployments WHERE org = ?1 AND (CAST(?2 AS TEXT) IS NULL OR function = ?2) ORDER BY id",
        &[&org, &function],
    )?;
    let mut out = Vec::new();
    for r in rows {
        out.push(DeploymentRecord {
            id: r.get(0)?,
            org: r.get(1)?,
            function: r.get(2)?,
            module_hash: r.get(3)?,
            module: r.get(4)?,
            limits: serde_json::from_str(&r.get::<String>(5)?)?,
            grants: serde_json::from_str(&r.get::<String>(6)?)?,
            action: r.get(7)?,
            reason: r.get(8)?,
            deployed_ms: r.get(9)?,
            deployed_by: r.get(10)?,
        });
    }
    Ok(out)
}

/// A candidate on trial in a slot, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRecord {
    /// The organisation.
    pub org: String,
    /// The care function.
    pub function: String,
    /// `canary` or `shadow`.
    pub mode: String,
    /// The candidate's hash.
    pub module_hash: String,
    /// `supplier/name@version`.
    pub module: String,
    /// Its share, in percent.
    pub percent: u8,
    /// Its limits.
    pub limits: Limits,
    /// Its grants.
    pub grants: Grants,
    /// Why.
    pub reason: String,
    /// When.
    pub started_ms: i64,
    /// Who.
    pub started_by: String,
}

/// Records a slot's trial, replacing any earlier one.
pub fn set_trial(conn: &Connection, t: &TrialRecord) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO trials (org, function, mode, module_hash, module_label, percent, limits, grants, \
         reason, started_ms, started_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (org, function) DO UPDATE SET mode = excluded.mode, module_hash = excluded.module_hash, \
         module_label = excluded.module_label, percent = excluded.percent, limits = excluded.limits, \
         grants = excluded.grants, reason = excluded.reason, started_ms = excluded.started_ms, \
         started_by = excluded.started_by",
        &[
            &t.org,
            &t.function,
            &t.mode,
            &t.module_hash,
            &t.module,
            &t.percent,
            &serde_json::to_string(&t.limits)?,
            &serde_json::to_string(&t.grants)?,
            &t.reason,
            &t.started_ms,
            &t.started_by,
        ],
    )?;
    conn.notify_slot_changed(&t.org, &t.function)?;
    Ok(())
}

/// Forgets a slot's trial.
pub fn clear_trial(conn: &Connection, org: &str, function: &str) -> anyhow::Result<()> {
    conn.execute(
        "DELETE FROM trials WHERE org = ?1 AND function = ?2",
        &[&org, &function],
    )?;
    conn.notify_slot_changed(org, function)?;
    Ok(())
}

/// A slot's recorded trial, if any.
pub fn trial(conn: &Connection, org: &str, function: &str) -> anyhow::Result<Option<TrialRecord>> {
    let Some(r) = conn.query_opt(
        "SELECT org, function, mode, module_hash, module_label, percent, limits, grants, reason, started_ms, \
         started_by FROM trials WHERE org = ?1 AND function = ?2",
        &[&org, &function],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(TrialRecord {
        org: r.get(0)?,
        function: r.get(1)?,
        mode: r.get(2)?,
        module_hash: r.get(3)?,
        module: r.get(4)?,
        percent: r.get(5)?,
        limits: serde_json::from_str(&r.get::<String>(6)?)?,
        grants: serde_json::from_str(&r.get::<String>(7)?)?,
        reason: r.get(8)?,
        started_ms: r.get(9)?,
        started_by: r.get(10)?,
    }))
}

/// Whether a module has passed its standard's conformance suite here.
pub fn passed_conformance(conn: &Connection, module_hash: &str) -> anyhow::Result<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM conformance_passed WHERE module_hash = ?1",
            &[&module_hash],
        )?
        .is_some())
}

/// Records that a module passed its conformance suite, with the report.
pub fn record_conformance(
    conn: &Connection,
    module_hash: &str,
    report: &str,
    now: i64,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO conformance_passed (module_hash, report, ran_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (module_hash) DO UPDATE SET report = excluded.report, ran_ms = excluded.ran_ms",
        &[&module_hash, &report, &now],
    )?;
    Ok(())
}
