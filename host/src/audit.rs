//! The audit trail: every clinical read and write and every admin action,
//! refusals and failures too, with who, for which organisation, in which
//! role, what, on which resource and patient, the outcome, the module and
//! version, and when. Entries carry a sequence number and each hashes the one
//! before, so a changed, removed or reordered entry breaks the chain and
//! `patchbay audit verify` finds the first broken one.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::RecordStore;

/// The hash before the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    user TEXT NOT NULL,
    user_name TEXT,
    org TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT,
    patient TEXT,
    outcome TEXT NOT NULL,
    detail TEXT,
    module TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)";

/// What to record about one action.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// The user's id.
    pub user: String,
    /// The user's name, if known.
    pub user_name: Option<String>,
    /// The organisation acted for.
    pub org: String,
    /// The role acted in.
    pub role: String,
    /// What was done, e.g. `appointment.book`.
    pub action: String,
    /// The resource, e.g. `Appointment/…`.
    pub resource: Option<String>,
    /// The patient concerned (NHS number).
    pub patient: Option<String>,
    /// `success`, or the failure: `refused: …`, `forbidden`, `error: …`.
    pub outcome: String,
    /// More: an override reason, a refusal's diagnostics.
    pub detail: Option<String>,
    /// The module and version that handled it.
    pub module: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Position in the trail, from 1, without gaps.
    pub seq: i64,
    /// When, milliseconds since the epoch.
    pub time_ms: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub event: Event,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The hash of an entry: SHA-256 over the previous hash and the entry's
/// fields, as canonical JSON.
fn hash_of(seq: i64, time_ms: i64, event: &Event, prev_hash: &str) -> String {
    let body = serde_json::json!([seq, time_ms, event, prev_hash]);
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

/// Creates the audit table.
pub fn init(store: &RecordStore) -> anyhow::Result<()> {
    store.connection()?.execute_batch(SCHEMA)?;
    Ok(())
}

/// Appends an event to the trail at `time_ms`.
pub fn record(store: &RecordStore, time_ms: i64, event: &Event) -> anyhow::Result<Entry> {
    let mut conn = store.connection()?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (last_seq, prev_hash): (i64, String) = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS.to_string())),
            e => Err(e),
        })?;
    let seq = last_seq + 1;
    let hash = hash_of(seq, time_ms, event, &prev_hash);
    tx.execute(
        "INSERT INTO audit (seq, time_ms, user, user_name, org, role, action, resource, patient, outcome, \
         detail, module, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            seq,
            time_ms,
            event.user,
            event.user_name,
            event.org,
            event.role,
            event.action,
            event.resource,
            event.patient,
            event.outcome,
            event.detail,
            event.module,
            prev_hash,
            hash
        ],
    )?;
    tx.commit()?;
    Ok(Entry {
        seq,
        time_ms,
        event: event.clone(),
        prev_hash,
        hash,
    })
}

fn entry_from_row(row: &rusqlite::Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        seq: row.get(0)?,
        time_ms: row.get(1)?,
        event: Event {
            user: row.get(2)?,
            user_name: row.get(3)?,
            org: row.get(4)?,
            role: row.get(5)?,
            action: row.get(6)?,
            resource: row.get(7)?,
            patient: row.get(8)?,
            outcome: row.get(9)?,
            detail: row.get(10)?,
            module: row.get(11)?,
        },
        prev_hash: row.get(12)?,
        hash: row.get(13)?,
    })
}

const COLUMNS: &str = "seq, time_ms, user, user_name, org, role, action, resource, patient, outcome, detail, module, \
     prev_hash, hash FROM audit";

/// Which entries to list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    /// Only this organisation's.
    pub org: Option<String>,
    /// Only this user's.
    pub user: Option<String>,
    /// Only about this patient.
    pub patient: Option<String>,
    /// Only actions starting with this, e.g. `appointment`.
    pub action: Option<String>,
    /// Only entries after this sequence number.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Lists entries, oldest first.
pub fn list(conn: &Connection, filter: &Filter) -> anyhow::Result<Vec<Entry>> {
    let limit = filter.limit.unwrap_or(100).min(1000);
    let action_prefix = filter.action.as_ref().map(|a| format!("{a}%"));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} WHERE (?1 IS NULL OR org = ?1) AND (?2 IS NULL OR user = ?2) \
         AND (?3 IS NULL OR patient = ?3) AND (?4 IS NULL OR action LIKE ?4) AND seq > ?5 \
         ORDER BY seq LIMIT ?6"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.org,
            filter.user,
            filter.patient,
            action_prefix,
            filter.after.unwrap_or(0),
            limit
        ],
        entry_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Verdict {
    /// Every entry is in place.
    Intact {
        /// How many entries were checked.
        entries: i64,
    },
    /// The first entry that does not fit the chain.
    Broken {
        /// Its sequence number (or the one expected where one is missing).
        seq: i64,
        /// What is wrong.
        reason: String,
    },
}

/// Checks the whole chain from the first entry.
pub fn verify(conn: &Connection) -> anyhow::Result<Verdict> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_string();
    while let Some(row) = rows.next()? {
        let entry = entry_from_row(row)?;
        if entry.seq != expected_seq {
            return Ok(Verdict::Broken {
                seq: expected_seq,
                reason: format!(
                    "entry {expected_seq} is missing (the next is {})",
                    entry.seq
                ),
            });
        }
        if entry.prev_hash != prev_hash {
            return Ok(Verdict::Broken {
                seq: entry.seq,
                reason: "it does not point at the entry before it".into(),
            });
        }
        let hash = hash_of(entry.seq, entry.time_ms, &entry.event, &entry.prev_hash);
        if hash != entry.hash {
            return Ok(Verdict::Broken {
                seq: entry.seq,
                reason: "its contents were changed after it was written".into(),
            });
        }
        prev_hash = entry.hash;
        expected_seq += 1;
    }
    Ok(Verdict::Intact {
        entries: expected_seq - 1,
    })
}
