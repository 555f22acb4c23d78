//! The audit trail: every clinical read and write and every admin action,
//! refusals and failures too, with who, for which organisation, in which
//! role, what, on which resource and patient, the outcome, the module and
//! version, and when.
//!
//! Each organisation has its own chain: its entries are numbered from 1
//! without gaps, and each carries an HMAC-SHA256, under a key the database
//! does not hold, over its content and the entry before's. So a changed,
//! removed or reordered entry breaks the chain, and nobody who can write the
//! database but not read the key can forge a new one. An organisation's
//! auditor sees only its own chain, so other organisations' activity does
//! not show through the numbering, and an organisation's chain can be
//! handed on and verified alone.
//!
//! The head of every chain (its last number and hash) is also written,
//! under the same key, to an anchor file outside the database, a few
//! milliseconds after each entry commits. Deleting the last entries or
//! emptying the table then no longer verifies: the anchor names an entry
//! that is gone. `patchbay audit verify` checks both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::store::database::{Connection, DbError, Row};
use crate::store::group_commit::GroupCommit;
use crate::store::records::RecordStore;

/// The hash before the first entry of a chain.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How long the anchor may trail the chain: heads are written at most this
/// often, so the anchor costs no write per request.
const ANCHOR_EVERY: Duration = Duration::from_millis(20);

/// What to record about one action.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// The user's id.
    pub user: String,
    /// The user's name, if known.
    pub user_name: Option<String>,
    /// The organisation acted for: the chain the entry joins.
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
    /// Position in its organisation's chain, from 1, without gaps.
    pub seq: i64,
    /// When, milliseconds since the epoch.
    pub time_ms: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub event: Event,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash: an HMAC under the trail's key.
    pub hash: String,
}

/// The head of one organisation's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// The last entry's sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

/// The anchor file's content: every chain's head, and an HMAC over them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AnchorFile {
    heads: BTreeMap<String, Head>,
    mac: String,
}

/// The audit trail's key and anchor. Cheap to clone.
#[derive(Clone)]
pub struct Trail {
    key: Arc<[u8; 32]>,
    anchor: Option<Arc<Anchor>>,
    group: GroupCommit<(i64, Event), Entry>,
}

impl std::fmt::Debug for Trail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trail")
            .field(
                "anchor",
                &self.anchor.as_ref().map(|a| a.path.display().to_string()),
            )
            .finish_non_exhaustive()
    }
}

/// Writes the chains' heads to the anchor file from a thread of its own.
struct Anchor {
    path: PathBuf,
    key: [u8; 32],
    /// Held from taking the heads to renaming the file into place, so the
    /// file always ends with the newest heads taken.
    writing: Mutex<()>,
    state: Mutex<AnchorState>,
    changed: Condvar,
}

#[derive(Default)]
struct AnchorState {
    heads: BTreeMap<String, Head>,
    dirty: bool,
    stopped: bool,
}

impl Trail {
    /// The trail of a host: its key in `key_path` (made, readable by the
    /// host's user only, if missing) and its anchor in `anchor_path`.
    pub fn open(key_path: &Path, anchor_path: &Path) -> anyhow::Result<Trail> {
        let mut new_key = false;
        let key = match crate::store::private_files::read_secret(key_path).map_err(|e| {
            anyhow::Error::new(e).context(
                "the audit trail's key cannot be trusted: restore the host's own key file (mode 0600, owned by the host's user)",
            )
        })? {
            Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                anyhow::anyhow!(
                    "the audit key {} is damaged (not 32 bytes): restore it from a backup; without it the trail cannot be verified",
                    key_path.display()
                )
            })?,
            None => {
                let mut key = [0u8; 32];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
                crate::store::private_files::write_private(key_path, &key).with_context(|| {
                    format!("cannot write the audit key {}", key_path.display())
                })?;
                tracing::info!(path = %key_path.display(), "made the audit trail's key");
                new_key = true;
                key
            }
        };
        let trail = Trail {
            key: Arc::new(key),
            anchor: None,
            group: GroupCommit::default(),
        };
        let (heads, missing) = match trail.read_anchor(anchor_path)? {
            Some(heads) => (heads, false),
            None => (BTreeMap::new(), true),
        };
        let anchor = Arc::new(Anchor {
            path: anchor_path.to_path_buf(),
            key,
            writing: Mutex::new(()),
            state: Mutex::new(AnchorState {
                heads,
                ..AnchorState::default()
            }),
            changed: Condvar::new(),
        });
        if missing && new_key {
            // A new trail: its anchor exists from the start, so a missing
            // anchor later means someone removed it.
            anchor.state.lock().map(|mut s| s.dirty = true).ok();
            anchor.write()?;
        }
        let writer = Arc::downgrade(&anchor);
        std::thread::Builder::new()
            .name("audit-anchor".into())
            .spawn(move || Anchor::run(writer))
            .context("cannot start the audit anchor's writer")?;
        Ok(Trail {
            anchor: Some(anchor),
            ..trail
        })
    }

    /// A trail with a key of its own and no anchor: for scratch stores and
    /// tests, whose trails are thrown away.
    pub fn ephemeral() -> Trail {
        let mut key = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
        Trail {
            key: Arc::new(key),
            anchor: None,
            group: GroupCommit::default(),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .expect("HMAC takes a key of any length")
    }

    /// The hash of an entry: HMAC-SHA256 over the organisation, sequence
    /// number, time, fields and the previous hash, as canonical JSON.
    fn hash_of(&self, seq: i64, time_ms: i64, event: &Event, prev_hash: &str) -> String {
        let body = serde_json::json!([event.org, seq, time_ms, event, prev_hash]);
        let mut mac = self.mac();
        mac.update(body.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn heads_mac(&self, heads: &BTreeMap<String, Head>) -> String {
        heads_mac(&self.key, heads)
    }

    fn read_anchor(&self, path: &Path) -> anyhow::Result<Option<BTreeMap<String, Head>>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot read the audit anchor {}", path.display())));
            }
        };
        let file: AnchorFile = serde_json::from_str(&text)
            .with_context(|| format!("the audit anchor {} is damaged", path.display()))?;
        anyhow::ensure!(
            self.heads_mac(&file.heads) == file.mac,
            "the audit anchor {} was not written under this trail's key: it was changed, or the key was replaced",
            path.display()
        );
        Ok(Some(file.heads))
    }

    /// Appends an event to its organisation's chain on a connection that is
    /// already inside a write transaction, so the entry commits with the
    /// change it records, or neither does. Writers of one organisation's
    /// chain take turns (see [`Connection::lock_audit_chain`]), whichever
    /// replica they run on. Call [`Trail::committed`] once the transaction
    /// has committed.
    pub fn append(&self, conn: &Connection, time_ms: i64, event: &Event) -> anyhow::Result<Entry> {
        conn.lock_audit_chain(&event.org)?;
        let (last_seq, prev_hash): (i64, String) = match conn.query_opt(
            "SELECT seq, hash FROM audit_trail WHERE org = ?1 ORDER BY seq DESC LIMIT 1",
            &[&event.org],
        )? {
            Some(row) => (row.get(0)?, row.get(1)?),
            None => (0, GENESIS.to_string()),
        };
        let seq = last_seq + 1;
        let hash = self.hash_of(seq, time_ms, event, &prev_hash);
        conn.execute(
            "INSERT INTO audit_trail (org, seq, time_ms, \"user\", user_name, role, action, resource, patient, \
             outcome, detail, module, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            &[
                &event.org,
                &seq,
                &time_ms,
                &event.user,
                &event.user_name,
                &event.role,
                &event.action,
                &event.resource,
                &event.patient,
                &event.outcome,
                &event.detail,
                &event.module,
                &prev_hash,
                &hash,
            ],
        )?;
        Ok(Entry {
            seq,
            time_ms,
            event: event.clone(),
            prev_hash,
            hash,
        })
    }

    /// Tells the anchor an entry has committed: its chain's head moves on.
    pub fn committed(&self, entry: &Entry) {
        if let Some(anchor) = &self.anchor {
            anchor.advance(&entry.event.org, entry.seq, &entry.hash);
        }
    }

    /// Appends an event in a transaction of its own, shared with the
    /// entries of concurrent requests (see [`crate::store::group_commit`]);
    /// returns once it has committed. Blocks the thread meanwhile (see
    /// [`Trail::record_async`] for async tasks).
    pub fn record(
        &self,
        store: &RecordStore,
        time_ms: i64,
        event: &Event,
    ) -> anyhow::Result<Entry> {
        self.group.submit((time_ms, event.clone()), |batch| {
            self.write_batch(store, batch)
        })
    }

    /// As [`Trail::record`], for an async task (a request): it waits for
    /// the commit without holding a thread.
    pub async fn record_async(
        &self,
        store: &RecordStore,
        time_ms: i64,
        event: Event,
    ) -> anyhow::Result<Entry> {
        let (trail, store) = (self.clone(), store.clone());
        self.group
            .submit_async((time_ms, event), move |batch| {
                trail.write_batch(&store, batch)
            })
            .await
    }

    /// Writes a batch of events in one transaction.
    fn write_batch(
        &self,
        store: &RecordStore,
        batch: &[(i64, Event)],
    ) -> anyhow::Result<Vec<Entry>> {
        let conn = store.connection()?;
        let tx = conn.transaction()?;
        // Each organisation's chain locked once, in one order, so two
        // replicas' batches never wait on each other in a circle.
        let orgs: std::collections::BTreeSet<&str> =
            batch.iter().map(|(_, e)| e.org.as_str()).collect();
        for org in orgs {
            tx.lock_audit_chain(org)?;
        }
        let entries = batch
            .iter()
            .map(|(time_ms, event)| self.append(&tx, *time_ms, event))
            .collect::<anyhow::Result<Vec<_>>>()?;
        tx.commit()?;
        for entry in &entries {
            self.committed(entry);
        }
        Ok(entries)
    }

    /// Writes the anchor now with every head committed so far (at shutdown,
    /// and in tests).
    pub fn flush(&self) -> anyhow::Result<()> {
        match &self.anchor {
            Some(anchor) => anchor.write(),
            None => Ok(()),
        }
    }

    /// Checks every chain (or one organisation's) from its first entry, and
    /// each against the anchor's head.
    pub fn verify(&self, conn: &Connection, org: Option<&str>) -> anyhow::Result<Verdict> {
        let anchored = match &self.anchor {
            Some(anchor) => self.read_anchor(&anchor.path)?,
            None => None,
        };
        let mut heads: BTreeMap<String, Head> = BTreeMap::new();
        let mut entries = 0;
        // Read a page at a time, so a long trail never sits in memory whole.
        let mut page: Vec<Entry> = Vec::new();
        let mut position = 0;
        loop {
            if position == page.len() {
                let (after_org, after_seq) = page
                    .last()
                    .map_or((String::new(), 0), |e| (e.event.org.clone(), e.seq));
                page = conn
                    .query(
                        &format!(
                            "SELECT {COLUMNS} WHERE (CAST(?1 AS TEXT) IS NULL OR org = ?1) \
                             AND (org > ?2 OR (org = ?2 AND seq > ?3)) ORDER BY org, seq LIMIT ?4"
                        ),
                        &[&org, &after_org, &after_seq, &VERIFY_PAGE],
                    )?
                    .iter()
                    .map(entry_from_row)
                    .collect::<Result<_, _>>()?;
                position = 0;
                if page.is_empty() {
                    break;
                }
            }
            let entry = page[position].clone();
            position += 1;
            let org = entry.event.org.clone();
            let (expected_seq, prev_hash) = match heads.get(&org) {
                Some(head) => (head.seq + 1, head.hash.clone()),
                None => (1, GENESIS.to_string()),
            };
            let broken = |seq, reason: String| Verdict::Broken {
                org: org.clone(),
                seq,
                reason,
            };
            if entry.seq != expected_seq {
                return Ok(broken(
                    expected_seq,
                    format!(
                        "entry {expected_seq} is missing (the next is {})",
                        entry.seq
                    ),
                ));
            }
            if entry.prev_hash != prev_hash {
                return Ok(broken(
                    entry.seq,
                    "it does not point at the entry before it".into(),
                ));
            }
            let hash = self.hash_of(entry.seq, entry.time_ms, &entry.event, &entry.prev_hash);
            if hash != entry.hash {
                return Ok(broken(
                    entry.seq,
                    "its contents were changed after it was written, or it was not written under this trail's key".into(),
                ));
            }
            heads.insert(
                org,
                Head {
                    seq: entry.seq,
                    hash: entry.hash,
                },
            );
            entries += 1;
        }
        match (&self.anchor, anchored) {
            (Some(anchor), None) if entries > 0 => {
                return Ok(Verdict::Broken {
                    org: org.unwrap_or_default().to_string(),
                    seq: 0,
                    reason: format!(
                        "the anchor {} is missing, so removed entries could not be noticed",
                        anchor.path.display()
                    ),
                });
            }
            (_, Some(anchored)) => {
                for (anchored_org, head) in anchored
                    .iter()
                    .filter(|(o, _)| org.is_none_or(|org| org == o.as_str()))
                {
                    let found = heads.get(anchored_org);
                    let intact = found.is_some_and(|h| h.seq >= head.seq);
                    if !intact {
                        return Ok(Verdict::Broken {
                            org: anchored_org.clone(),
                            seq: found.map_or(1, |h| h.seq + 1),
                            reason: format!(
                                "the anchor says the chain reached entry {}, but it ends at {}: entries were removed",
                                head.seq,
                                found.map_or(0, |h| h.seq)
                            ),
                        });
                    }
                    let hash: Option<String> = conn
                        .query_opt(
                            "SELECT hash FROM audit_trail WHERE org = ?1 AND seq = ?2",
                            &[anchored_org, &head.seq],
                        )?
                        .map(|r| r.get(0))
                        .transpose()?;
                    if hash.as_deref() != Some(head.hash.as_str()) {
                        return Ok(Verdict::Broken {
                            org: anchored_org.clone(),
                            seq: head.seq,
                            reason:
                                "it is not the entry the anchor recorded: the chain was rewritten"
                                    .into(),
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(Verdict::Intact { entries })
    }
}

impl Anchor {
    fn advance(&self, org: &str, seq: i64, hash: &str) {
        if let Ok(mut state) = self.state.lock() {
            let newer = state.heads.get(org).is_none_or(|h| h.seq < seq);
            if newer {
                state.heads.insert(
                    org.to_string(),
                    Head {
                        seq,
                        hash: hash.to_string(),
                    },
                );
                state.dirty = true;
                self.changed.notify_one();
            }
        }
    }

    /// Writes the heads if they changed since the last write.
    fn write(&self) -> anyhow::Result<()> {
        let _writing = self
            .writing
            .lock()
            .map_err(|_| anyhow::anyhow!("the audit anchor's writer is poisoned"))?;
        let heads = {
            let mut state = self
                .state
                .lock()
                .map_err(|_| anyhow::anyhow!("the audit anchor's state is poisoned"))?;
            if !state.dirty {
                return Ok(());
            }
            state.dirty = false;
            state.heads.clone()
        };
        let file = AnchorFile {
            mac: heads_mac(&self.key, &heads),
            heads,
        };
        crate::store::private_files::write_private(
            &self.path,
            serde_json::to_string(&file)?.as_bytes(),
        )
        .with_context(|| format!("cannot write the audit anchor {}", self.path.display()))
    }

    /// The writer's loop: waits for a change, writes, waits a little so
    /// that heads are written in batches. Ends when the trail is dropped.
    fn run(anchor: std::sync::Weak<Anchor>) {
        loop {
            let Some(anchor) = anchor.upgrade() else {
                return;
            };
            {
                let Ok(state) = anchor.state.lock() else {
                    return;
                };
                let Ok((state, _)) =
                    anchor
                        .changed
                        .wait_timeout_while(state, Duration::from_millis(200), |s| {
                            !s.dirty && !s.stopped
                        })
                else {
                    return;
                };
                if state.stopped {
                    return;
                }
            }
            if let Err(e) = anchor.write() {
                tracing::error!(error = %format!("{e:#}"), "cannot write the audit anchor");
            }
            drop(anchor);
            std::thread::sleep(ANCHOR_EVERY);
        }
    }
}

impl Drop for Anchor {
    /// Writes the last heads, so a clean shutdown leaves the anchor current.
    fn drop(&mut self) {
        if let Err(e) = self.write() {
            tracing::error!(error = %format!("{e:#}"), "cannot write the audit anchor");
        }
        if let Ok(mut state) = self.state.lock() {
            state.stopped = true;
        }
    }
}

/// The anchor's HMAC over every chain's head, under the trail's key.
fn heads_mac(key: &[u8; 32], heads: &BTreeMap<String, Head>) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(b"patchbay-audit-anchor/1\n");
    mac.update(serde_json::json!(heads).to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn entry_from_row(row: &Row) -> Result<Entry, DbError> {
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

/// Entries read at a time by [`Trail::verify`].
const VERIFY_PAGE: i64 = 5_000;

const COLUMNS: &str = "seq, time_ms, \"user\", user_name, org, role, action, resource, patient, outcome, detail, module, \
     prev_hash, hash FROM audit_trail";

/// Which entries of an organisation's chain to list.
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
    /// Only entries at or after this time, milliseconds since the epoch.
    pub since: Option<i64>,
    /// Only entries before this time, milliseconds since the epoch.
    pub until: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Lists entries, oldest first.
pub fn list(conn: &Connection, filter: &Filter) -> anyhow::Result<Vec<Entry>> {
    let limit = filter.limit.unwrap_or(100).min(1000);
    let action_prefix = filter.action.as_ref().map(|a| format!("{a}%"));
    let rows = conn.query(
        &format!(
            "SELECT {COLUMNS} WHERE (CAST(?1 AS TEXT) IS NULL OR org = ?1) AND (CAST(?2 AS TEXT) IS NULL OR \"user\" = ?2) \
             AND (CAST(?3 AS TEXT) IS NULL OR patient = ?3) AND (CAST(?4 AS TEXT) IS NULL OR action LIKE ?4) AND seq > ?5 \
             AND time_ms >= ?6 AND time_ms < ?7 ORDER BY org, seq LIMIT ?8"
        ),
        &[
            &filter.org,
            &filter.user,
            &filter.patient,
            &action_prefix,
            &filter.after.unwrap_or(0),
            &filter.since.unwrap_or(i64::MIN),
            &filter.until.unwrap_or(i64::MAX),
            &limit,
        ],
    )?;
    Ok(rows.iter().map(entry_from_row).collect::<Result<_, _>>()?)
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Verdict {
    /// Every entry is in place.
    Intact {
        /// How many entries were checked.
        entries: i64,
    },
    /// The first entry that does not fit its chain.
    Broken {
        /// The organisation whose chain is broken.
        org: String,
        /// The entry's sequence number (or the one expected where one is
        /// missing).
        seq: i64,
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        store: RecordStore,
        trail: Trail,
        dir: PathBuf,
        _scratch: crate::store::records::ScratchFile,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture() -> Fixture {
        let (store, scratch) = RecordStore::scratch().expect("store");
        let dir = std::env::temp_dir().join(format!("audit-{}", crate::store::records::new_id()));
        crate::store::private_files::ensure_private_dir(&dir).expect("dir");
        let trail =
            Trail::open(&dir.join("audit.key"), &dir.join("audit-anchor.json")).expect("trail");
        Fixture {
            store,
            trail,
            dir,
            _scratch: scratch,
        }
    }

    fn event(org: &str, n: usize) -> Event {
        Event {
            user: format!("user-{n}"),
            org: org.to_string(),
            role: "clinician".into(),
            action: "appointment.book".into(),
            outcome: "success".into(),
            ..Event::default()
        }
    }

    fn fill(f: &Fixture, org: &str, n: usize) {
        for i in 0..n {
            f.trail
                .record(&f.store, 1000 + i as i64, &event(org, i))
                .expect("record");
        }
        f.trail.flush().expect("flush");
    }

    fn verdict(f: &Fixture) -> Verdict {
        f.trail
            .verify(&f.store.connection().expect("conn"), None)
            .expect("verify")
    }

    #[test]
    fn each_organisation_has_its_own_intact_chain() {
        let f = fixture();
        fill(&f, "Y90001", 5);
        fill(&f, "Y90002", 3);
        assert_eq!(verdict(&f), Verdict::Intact { entries: 8 });
        let conn = f.store.connection().expect("conn");
        let theirs = list(
            &conn,
            &Filter {
                org: Some("Y90002".into()),
                ..Filter::default()
            },
        )
        .expect("list");
        let seqs: Vec<i64> = theirs.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3], "numbered within the organisation");
    }

    #[test]
    fn a_rewritten_and_rechained_entry_is_found() {
        let f = fixture();
        fill(&f, "Y90001", 5);
        // Someone with the database but not the key rewrites entry 3 and
        // recomputes the chain after it with plain SHA-256.
        let conn = f.store.connection().expect("conn");
        let mut prev: String = conn
            .query_one(
                "SELECT hash FROM audit_trail WHERE org = 'Y90001' AND seq = 2",
                &[],
            )
            .and_then(|r| r.get(0))
            .expect("entry 2");
        for seq in 3..=5 {
            use sha2::Digest as _;
            let forged = hex::encode(sha2::Sha256::digest(format!("{prev}{seq}").as_bytes()));
            conn.execute(
                "UPDATE audit_trail SET \"user\" = 'someone-else', prev_hash = ?1, hash = ?2 WHERE org = 'Y90001' AND seq = ?3",
                &[&prev, &forged, &seq],
            )
            .expect("rewrite");
            prev = forged;
        }
        match verdict(&f) {
            Verdict::Broken { seq, .. } => assert_eq!(seq, 3),
            other => panic!("not found: {other:?}"),
        }
    }

    #[test]
    fn deleting_the_last_entries_is_found() {
        let f = fixture();
        fill(&f, "Y90001", 20);
        let conn = f.store.connection().expect("conn");
        conn.execute("DELETE FROM audit_trail WHERE seq > 10", &[])
            .expect("delete");
        match verdict(&f) {
            Verdict::Broken { seq, reason, .. } => {
                assert_eq!(seq, 11);
                assert!(reason.contains("entries were removed"), "{reason}");
            }
            other => panic!("not found: {other:?}"),
        }
    }

    #[test]
    fn an_emptied_trail_is_found() {
        let f = fixture();
        fill(&f, "Y90001", 4);
        let conn = f.store.connection().expect("conn");
        conn.execute("DELETE FROM audit_trail", &[])
            .expect("delete");
        assert!(matches!(verdict(&f), Verdict::Broken { .. }));
    }

    #[test]
    fn an_anchor_not_written_under_the_key_is_refused() {
        let f = fixture();
        fill(&f, "Y90001", 2);
        let path = f.dir.join("audit-anchor.json");
        let text = std::fs::read_to_string(&path).expect("anchor");
        let forged = text.replace("\"seq\":2", "\"seq\":1");
        std::fs::write(&path, forged).expect("write");
        let error = f
            .trail
            .verify(&f.store.connection().expect("conn"), None)
            .expect_err("refused");
        assert!(
            format!("{error:#}").contains("not written under"),
            "{error:#}"
        );
    }

    #[test]
    fn an_entry_joins_its_change_or_neither_commits() {
        let f = fixture();
        let conn = f.store.connection().expect("conn");
        let tx = conn.transaction().expect("tx");
        f.trail.append(&tx, 1, &event("Y90001", 0)).expect("append");
        drop(tx);
        assert_eq!(verdict(&f), Verdict::Intact { entries: 0 });
    }
}
