//! Replicas: any number of hosts on one PostgreSQL store serve the same
//! organisations. Each compiles or loads modules itself (the registry holds
//! the bytes; each keeps its own artifact cache); the deployments and trials
//! tables say what every slot serves.
//!
//! A change to a slot (deploy, rollback, canary, shadow, promote, abort, an
//! automatic rollback), made through any replica, is recorded in the
//! registry, which sends PostgreSQL's `NOTIFY patchbay_slots` with the slot
//! (delivered when the change commits). Every replica listens on a
//! connection of its own and brings the slot to what is recorded, under the
//! slot's change lock and with the same swap as a local change (calls in
//! flight finish on the deployment they started on). A replica whose
//! listening connection dropped (a restart of the database, a network cut)
//! catches up from the tables as soon as it listens again; a replica that
//! starts reads them before it serves.
//!
//! Each replica records a heartbeat and the module it serves in each slot
//! (`replicas`, `replica_slots`), so an admin's change can say which
//! replicas serve it, and `patchbay slots` which lag. On SQLite there is one
//! host and nothing of this runs.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;

use crate::lifecycle::package::Trust;
use crate::lifecycle::{loading, registry, rollout};
use crate::runtime::call_state::now_ms;
use crate::runtime::engine::{Failing, Runtime};
use crate::runtime::function_slot::FunctionSlot;
use crate::runtime::health::CallerCounts;
use crate::runtime::standard::Standard;
use crate::runtime::trial::{ReportSnapshot, TrialMode};
use crate::store::database::{Connection, Engine, Location};

/// The channel slot changes are announced on.
pub const CHANNEL: &str = "patchbay_slots";

/// How often a replica records that it is alive.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// A replica not heard from for this long is taken for gone.
const GONE_AFTER_MS: i64 = 10_000;

/// How long an admin's change waits for the other replicas to serve it.
pub const PROPAGATION_WAIT: Duration = Duration::from_secs(3);

/// This process's replica id, once it serves as one.
static THIS_REPLICA: OnceLock<String> = OnceLock::new();

/// What a replica serves in one slot, as it last reported.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplicaView {
    /// The replica's id.
    pub replica: String,
    /// The address it serves on.
    pub address: String,
    /// The module it serves in the slot (`supplier/name@version`).
    pub module: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its trial candidate in the slot, if any.
    pub trial: Option<String>,
    /// Whether it serves what the registry records for the slot.
    pub current: bool,
    /// Milliseconds since it last reported.
    pub heard_ms_ago: i64,
}

/// This host as a replica: its id, and the thread that listens for other
/// replicas' changes and records its heartbeat.
pub struct Replica {
    /// Its id, unique per process.
    pub id: String,
}

/// Starts this host's replica thread if the store is PostgreSQL: it records
/// the host (`address` is what it serves on), listens for slot changes and
/// keeps every slot as recorded. On SQLite, returns `None`.
pub fn start(runtime: &Runtime, trust: &Trust, address: &str) -> anyhow::Result<Option<Replica>> {
    let Location::Postgres(url) = runtime.records().location().clone() else {
        return Ok(None);
    };
    let id = THIS_REPLICA
        .get_or_init(|| {
            format!(
                "{}-{}",
                std::process::id(),
                &crate::store::records::new_id()[..8]
            )
        })
        .clone();
    let listener = Listener {
        id: id.clone(),
        address: address.to_string(),
        started_ms: now_ms(),
        url,
        runtime: runtime.clone(),
        trust: trust.clone(),
    };
    listener
        .heartbeat()
        .context("cannot record this host as a replica")?;
    std::thread::Builder::new()
        .name("patchbay-replica".into())
        .spawn(move || listener.run())
        .context("cannot start the replica thread")?;
    tracing::info!(replica = %id, "serving as a replica: slot changes arrive by NOTIFY {CHANNEL}");
    Ok(Some(Replica { id }))
}

struct Listener {
    id: String,
    address: String,
    started_ms: i64,
    url: String,
    runtime: Runtime,
    trust: Trust,
}

impl Listener {
    /// Listens, catches up, and keeps listening; reconnects after a lost
    /// connection, catching up again. Never returns.
    fn run(self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.listen() {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(replica = %self.id, error = %format!("{e:#}"),
                        "lost the connection that hears slot changes: reconnecting, then catching up");
                }
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// One listening connection's life: LISTEN, catch up on everything
    /// (changes made while not listening), then apply each change heard.
    fn listen(&self) -> anyhow::Result<()> {
        let mut config: postgres::Config = self.url.parse().context("the database URL")?;
        config.application_name("patchbay-replica-listener");
        let mut client = config
            .connect(postgres::NoTls)
            .context("cannot connect to hear slot changes")?;
        client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        self.catch_up();
        let mut last_beat = Instant::now();
        loop {
            let mut heard = Vec::new();
            {
                use postgres::fallible_iterator::FallibleIterator as _;
                // Wait for the first change (or the heartbeat's time), then
                // take whatever else has arrived, and apply them at once.
                let mut notifications = client.notifications();
                let first = notifications.timeout_iter(HEARTBEAT).next()?;
                if let Some(n) = first {
                    heard.push(n.payload().to_string());
                    let mut pending = notifications.iter();
                    while let Some(n) = pending.next()? {
                        heard.push(n.payload().to_string());
                    }
                }
            }
            if client.is_closed() {
                anyhow::bail!("the database closed the connection");
            }
            heard.sort();
            heard.dedup();
            for payload in heard {
                let Some((org, function)) = payload.split_once('/') else {
                    continue;
                };
                let Some(standard) = Standard::from_function(function) else {
                    continue;
                };
                self.apply(org, standard);
            }
            if last_beat.elapsed() >= HEARTBEAT {
                if let Err(e) = self.heartbeat() {
                    tracing::warn!(replica = %self.id, error = %format!("{e:#}"), "cannot record the heartbeat");
                }
                // The heartbeat's query also shows a dead connection.
                client.simple_query("SELECT 1")?;
                last_beat = Instant::now();
            }
        }
    }

    /// Brings every slot this host serves to what is recorded.
    fn catch_up(&self) {
        for slot in self.runtime.slots().all() {
            self.apply(&slot.organisation, slot.standard);
        }
        if let Err(e) = self.heartbeat() {
            tracing::warn!(replica = %self.id, error = %format!("{e:#}"), "cannot record the heartbeat");
        }
    }

    /// Brings one slot to what is recorded and reports what it serves.
    fn apply(&self, org: &str, standard: Standard) {
        match reconcile(&self.runtime, &self.trust, org, standard) {
            Ok(true) => {
                tracing::info!(replica = %self.id, org, slot = standard.function(),
                    "the slot now serves what another replica recorded")
            }
            Ok(false) => {}
            Err(e) => tracing::error!(replica = %self.id, org, slot = standard.function(),
                error = %format!("{e:#}"), "cannot serve the slot's recorded deployment: it keeps its module"),
        }
        if let Some(slot) = self.runtime.slots().get(org, standard)
            && let Err(e) = self.report(&slot)
        {
            tracing::warn!(replica = %self.id, error = %format!("{e:#}"), "cannot report what the slot serves");
        }
    }

    /// Records that this replica is alive, and what each slot serves.
    fn heartbeat(&self) -> anyhow::Result<()> {
        let conn = self.runtime.records().connection()?;
        conn.execute(
            "INSERT INTO replicas (id, address, started_ms, heartbeat_ms) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
            &[&self.id, &self.address, &self.started_ms, &now_ms()],
        )?;
        drop(conn);
        for slot in self.runtime.slots().all() {
            self.report(&slot)?;
            self.judge_with_others(&slot)?;
        }
        Ok(())
    }

    /// Adds the other live replicas' callers of the slot's active
    /// deployment to its health, so automatic rollback judges them all; a
    /// deployment that fails across replicas is reported to the supervisor
    /// here (the rollback is then recorded once, whichever replica is
    /// first: see [`registry::record_deployment_replacing`]).
    fn judge_with_others(&self, slot: &FunctionSlot) -> anyhow::Result<()> {
        let active = slot.active();
        let rows = self.runtime.records().connection()?.query(
            "SELECT s.health FROM replica_slots s JOIN replicas r ON r.id = s.replica \
             WHERE s.org = ?1 AND s.function = ?2 AND s.module_hash = ?3 AND s.replica <> ?4 \
             AND r.heartbeat_ms > ?5",
            &[
                &slot.organisation,
                &slot.standard.function(),
                &active.module.hash,
                &self.id,
                &(now_ms() - GONE_AFTER_MS),
            ],
        )?;
        let mut others = CallerCounts::new();
        for row in rows {
            let reported: Vec<(String, u32, u32)> = serde_json::from_str(&row.get::<String>(0)?)
                .context("a replica's health report is not readable")?;
            for (caller, calls, failures) in reported {
                let Ok(caller) = caller.parse::<u64>() else {
                    continue;
                };
                let counts = others.entry(caller).or_default();
                counts.0 += calls;
                counts.1 += failures;
            }
        }
        if let Some(reason) = active
            .health
            .set_others(others, self.runtime.rollback_policy())
        {
            self.runtime.report_failing(Failing {
                org: slot.organisation.clone(),
                deployment: active,
                reason: format!("{reason}, counting every replica's callers"),
            });
        }
        Ok(())
    }

    /// Records what this replica serves in a slot, and its shadow report.
    fn report(&self, slot: &FunctionSlot) -> anyhow::Result<()> {
        let active = slot.active();
        let running = slot.trial();
        let trial = running
            .as_ref()
            .map(|t| t.deployment.module.label.to_string());
        let conn = self.runtime.records().connection()?;
        if let Some(shadow) = running.filter(|t| t.mode == TrialMode::Shadow) {
            conn.execute(
                "INSERT INTO trial_reports (replica, org, function, started_ms, report, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (replica, org, function) DO UPDATE SET \
                 started_ms = excluded.started_ms, report = excluded.report, updated_ms = excluded.updated_ms",
                &[
                    &self.id,
                    &slot.organisation,
                    &slot.standard.function(),
                    &shadow.started.at_ms,
                    &serde_json::to_string(&shadow.report.snapshot())?,
                    &now_ms(),
                ],
            )?;
        }
        let policy = self.runtime.rollback_policy();
        // Caller hashes as text: JSON numbers lose precision past 2^53.
        let health: Vec<(String, u32, u32)> = active
            .health
            .window(policy)
            .into_iter()
            .map(|(caller, (calls, failures))| (caller.to_string(), calls, failures))
            .collect();
        conn.execute(
            "INSERT INTO replica_slots (replica, org, function, module_hash, module_label, trial_module, health, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (replica, org, function) DO UPDATE SET \
             module_hash = excluded.module_hash, module_label = excluded.module_label, \
             trial_module = excluded.trial_module, health = excluded.health, updated_ms = excluded.updated_ms",
            &[
                &self.id,
                &slot.organisation,
                &slot.standard.function(),
                &active.module.hash,
                &active.module.label.to_string(),
                &trial,
                &serde_json::to_string(&health)?,
                &now_ms(),
            ],
        )?;
        Ok(())
    }
}

/// Brings a slot to what the registry records: its last deployment (same
/// module, limits and grants) and its trial. Under the slot's change lock,
/// so a local change is never undone half-way. Returns whether anything
/// changed; a slot this host does not serve is left alone.
pub fn reconcile(
    runtime: &Runtime,
    trust: &Trust,
    org: &str,
    standard: Standard,
) -> anyhow::Result<bool> {
    let Some(slot) = runtime.slots().get(org, standard) else {
        return Ok(false);
    };
    let function = standard.function();
    let _changing = runtime.slots().changing();
    let conn = runtime.records().connection()?;
    let history = registry::history(&conn, org, function)?;
    let Some(last) = history.last() else {
        return Ok(false);
    };
    let mut changed = false;
    let active = slot.active();
    if active.module.hash != last.module_hash
        || active.limits != last.limits
        || active.grants != last.grants
    {
        let stored = registry::module_bytes(&conn, &last.module_hash)?
            .with_context(|| format!("module {} is missing from the registry", last.module))?;
        crate::lifecycle::startup::still_trusted(&stored, trust)?;
        let loaded = loading::load(
            runtime,
            &stored,
            standard,
            last.limits.clone(),
            last.grants.clone(),
        )
        .with_context(|| format!("module {}", last.module))?;
        runtime
            .slots()
            .deploy(org, Arc::clone(&loaded.deployment))?;
        tracing::info!(org, slot = function, module = %last.module, action = %last.action,
            "the slot serves the recorded deployment");
        changed = true;
    }
    let recorded = registry::trial(&conn, org, function)?;
    drop(conn);
    let running = slot.trial();
    let same = match (&recorded, &running) {
        (None, None) => true,
        (Some(r), Some(t)) => {
            r.module_hash == t.deployment.module.hash
                && r.mode == t.mode.as_str()
                && r.percent == t.percent
                && r.started_ms == t.started.at_ms
        }
        _ => false,
    };
    if !same {
        match recorded {
            None => {
                slot.end_trial();
            }
            Some(_) => rollout::restore_trial(runtime, org, standard)?,
        }
        changed = true;
    }
    Ok(changed)
}

/// The replicas serving a slot, as they last reported; those not heard
/// from lately are left out. Empty on SQLite.
pub fn serving(conn: &Connection, org: &str, function: &str) -> anyhow::Result<Vec<ReplicaView>> {
    if conn.engine() != Engine::Postgres {
        return Ok(Vec::new());
    }
    let recorded = registry::history(conn, org, function)?
        .last()
        .map(|d| d.module_hash.clone());
    let now = now_ms();
    let rows = conn.query(
        "SELECT r.id, r.address, s.module_label, s.module_hash, s.trial_module, r.heartbeat_ms, s.updated_ms \
         FROM replicas r JOIN replica_slots s ON s.replica = r.id \
         WHERE s.org = ?1 AND s.function = ?2 AND r.heartbeat_ms > ?3 ORDER BY r.started_ms, r.id",
        &[&org, &function, &(now - GONE_AFTER_MS)],
    )?;
    rows.iter()
        .map(|r| {
            let sha256: String = r.get(3)?;
            let heard = r.get::<i64>(5)?.max(r.get::<i64>(6)?);
            Ok(ReplicaView {
                replica: r.get(0)?,
                address: r.get(1)?,
                module: r.get(2)?,
                current: recorded.as_deref() == Some(sha256.as_str()),
                sha256,
                trial: r.get(4)?,
                heard_ms_ago: now - heard,
            })
        })
        .collect()
}

/// A shadow trial's report summed across replicas: this host's own (`local`,
/// current) and every other replica's for the same trial (the trial that
/// started at `started_ms`), as each last recorded it (every heartbeat).
/// On SQLite, or before this host serves as a replica, `local` alone.
pub fn summed_report(
    runtime: &Runtime,
    org: &str,
    function: &str,
    started_ms: i64,
    local: ReportSnapshot,
) -> anyhow::Result<ReportSnapshot> {
    let Some(me) = THIS_REPLICA.get() else {
        return Ok(local);
    };
    if runtime.records().engine() != Engine::Postgres {
        return Ok(local);
    }
    let rows = runtime.records().connection()?.query(
        "SELECT report FROM trial_reports WHERE org = ?1 AND function = ?2 AND started_ms = ?3 AND replica <> ?4",
        &[&org, &function, &started_ms, me],
    )?;
    let mut sum = local;
    for row in rows {
        let other: ReportSnapshot = serde_json::from_str(&row.get::<String>(0)?)
            .context("a replica's shadow report is not readable")?;
        sum.merge(&other);
    }
    Ok(sum)
}

/// Waits (up to [`PROPAGATION_WAIT`]) until every live replica serves
/// module `sha256` in a slot; returns what each serves then. Empty on
/// SQLite.
pub fn wait_for(
    runtime: &Runtime,
    org: &str,
    function: &str,
    sha256: &str,
) -> anyhow::Result<Vec<ReplicaView>> {
    if runtime.records().engine() != Engine::Postgres {
        return Ok(Vec::new());
    }
    let deadline = Instant::now() + PROPAGATION_WAIT;
    loop {
        let views = serving(&*runtime.records().connection()?, org, function)?;
        let all = views.iter().all(|v| v.sha256 == sha256);
        if all || Instant::now() >= deadline {
            return Ok(views);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
