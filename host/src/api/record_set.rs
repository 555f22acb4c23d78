//! An organisation's whole record set as files: NDJSON files of FHIR R4
//! resources, per type and at most [`LINES_PER_FILE`] each (the same JSON
//! the API serves, one resource per line, ordered by id, so the same
//! records always give the same bytes), and beside them documented
//! JSON-lines files of its history: every deployment to its slots, and its
//! audit trail with the hash chain. Each file carries its count and
//! SHA-256, so a downloaded export can be checked ([`verify_dir`]).

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::fhir;
use crate::lifecycle::registry;
use crate::runtime::interfaces::{patients, prescribing_records, scheduling_records};
use crate::runtime::module::sha256_hex;
use crate::store::audit;
use crate::store::database::Connection;

/// Every resource type an export holds, in the order an import must load
/// them (a resource after those it references).
pub const RESOURCE_TYPES: &[&str] = &[
    "Patient",
    "Practitioner",
    "Schedule",
    "Slot",
    "Appointment",
    "MedicationRequest",
    "AllergyIntolerance",
];

/// The types in the patient compartment: what a patient-level export
/// (`Patient/$export`) holds.
pub const PATIENT_COMPARTMENT: &[&str] = &[
    "Patient",
    "Appointment",
    "MedicationRequest",
    "AllergyIntolerance",
];

/// The history file of every deployment to the organisation's slots: one
/// JSON object per line, oldest first (`id`, `function`, `module`,
/// `module_hash`, `action`, `reason`, `deployed_ms`, `deployed_by`,
/// `limits`, `grants`).
pub const DEPLOYMENTS: &str = "deployments";

/// The history file of the organisation's audit trail: one entry per line
/// in chain order (`seq`, `time_ms`, who, what, `outcome`, `prev_hash`,
/// `hash`); each entry's `prev_hash` is the one before's `hash`.
pub const AUDIT_TRAIL: &str = "audit-trail";

/// The media type of the resource files.
pub const FHIR_NDJSON: &str = "application/fhir+ndjson";

/// The media type of the history files.
pub const NDJSON: &str = "application/x-ndjson";

/// One file of an export.
#[derive(Debug, Clone)]
pub struct ExportFile {
    /// A resource type, or [`DEPLOYMENTS`] or [`AUDIT_TRAIL`].
    pub kind: String,
    /// Its file name: `<kind>-<n>.ndjson`.
    pub name: String,
    /// How many lines (resources or entries) it holds.
    pub count: u64,
    /// The SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// The most lines in one file: a type with more is split over several
/// files (`Appointment-1.ndjson`, `Appointment-2.ndjson`, …), as Bulk Data
/// allows, so that storing any one file holds the store's write lock only
/// briefly.
pub const LINES_PER_FILE: usize = 10_000;

impl ExportFile {
    /// The files of these values as JSON, one per line, [`LINES_PER_FILE`]
    /// at most per file, numbered from 1; none if there are no values.
    pub fn of(
        kind: &str,
        values: impl IntoIterator<Item = impl Serialize>,
    ) -> anyhow::Result<Vec<ExportFile>> {
        let mut files = Vec::new();
        let mut content = Vec::new();
        let mut count = 0;
        let mut finish = |content: &mut Vec<u8>, count: &mut u64| {
            let bytes = std::mem::take(content);
            files.push(ExportFile {
                kind: kind.to_string(),
                name: format!("{kind}-{}.ndjson", files.len() + 1),
                count: std::mem::take(count),
                sha256: sha256_hex(&bytes),
                content: bytes,
            });
        };
        for value in values {
            serde_json::to_writer(&mut content, &value)
                .with_context(|| format!("cannot write a {kind} as JSON"))?;
            content.push(b'\n');
            count += 1;
            if count as usize == LINES_PER_FILE {
                finish(&mut content, &mut count);
            }
        }
        if count > 0 {
            finish(&mut content, &mut count);
        }
        Ok(files)
    }

    /// Whether it holds FHIR resources (rather than history).
    pub fn is_resources(&self) -> bool {
        RESOURCE_TYPES.contains(&self.kind.as_str())
    }
}

/// Whether a file name is one of a resource type's files.
pub fn holds_resources(name: &str) -> bool {
    RESOURCE_TYPES.iter().any(|kind| {
        name.strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|rest| rest.strip_suffix(".ndjson"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// An organisation's resources of one type, as FHIR files: those changed
/// at or after `since` where the records say when they changed
/// (Appointment and MedicationRequest by their last update,
/// AllergyIntolerance by when it was recorded); every one of the types
/// that carry no such time.
pub fn resources(
    db: &Connection,
    org: &str,
    kind: &str,
    since: Option<i64>,
) -> anyhow::Result<Vec<ExportFile>> {
    match kind {
        "Patient" => ExportFile::of(
            kind,
            patients::registered(db, org, usize::MAX)?
                .iter()
                .map(fhir::patient),
        ),
        "Practitioner" => ExportFile::of(
            kind,
            scheduling_records::practitioners(db, org, None, usize::MAX)?
                .iter()
                .map(fhir::practitioner),
        ),
        "Schedule" => ExportFile::of(
            kind,
            scheduling_records::schedules(db, org)?
                .iter()
                .map(fhir::schedule),
        ),
        "Slot" => ExportFile::of(
            kind,
            scheduling_records::all_slots(db, org)?
                .iter()
                .map(fhir::slot),
        ),
        "Appointment" => ExportFile::of(
            kind,
            scheduling_records::all_appointments(db, org, since)?
                .iter()
                .map(fhir::appointment),
        ),
        "MedicationRequest" => ExportFile::of(
            kind,
            prescribing_records::all_requests(db, org, since)?
                .iter()
                .map(fhir::medication_request),
        ),
        "AllergyIntolerance" => ExportFile::of(
            kind,
            prescribing_records::all_allergies(db, org, since)?
                .iter()
                .map(fhir::allergy_intolerance),
        ),
        other => anyhow::bail!("there is no resource type {other} in an export"),
    }
}

/// Every deployment to an organisation's slots, oldest first.
pub fn deployments(db: &Connection, org: &str) -> anyhow::Result<Vec<ExportFile>> {
    let history = registry::organisation_history(db, org)?;
    ExportFile::of(DEPLOYMENTS, history.iter().map(|d| json!(d)))
}

/// An organisation's whole audit trail, in chain order, read a page at a
/// time.
pub fn audit_trail(db: &Connection, org: &str) -> anyhow::Result<Vec<ExportFile>> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = audit::list(
            db,
            &audit::Filter {
                org: Some(org.to_string()),
                after: Some(after),
                limit: Some(1000),
                ..audit::Filter::default()
            },
        )?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        entries.extend(page.into_iter().map(|e| json!(e)));
    }
    ExportFile::of(AUDIT_TRAIL, entries)
}

/// The manifest entry for a file: its type, URL and count, with its
/// SHA-256 as an extension.
pub fn manifest_entry(file: &ExportFile, url: &str) -> Value {
    json!({
        "type": file.kind,
        "url": url,
        "count": file.count,
        "extension": {"sha256": file.sha256},
    })
}

/// What checking a downloaded export found.
#[derive(Debug, Default)]
pub struct Verification {
    /// Each file checked: its name and count.
    pub files: Vec<(String, u64)>,
    /// What is wrong; empty if nothing.
    pub problems: Vec<String>,
}

/// Checks a downloaded export: a directory holding its `manifest.json` and
/// every file the manifest lists (named as the last segment of its URL).
/// Each file's SHA-256 and count must match the manifest, every line must be
/// JSON, a resource file's lines resources of its type with an id, unique;
/// and the audit trail's chain must link each entry to the one before.
pub fn verify_dir(dir: &Path) -> anyhow::Result<Verification> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let manifest: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", manifest_path.display()))?;
    let mut listed: Vec<&Value> = manifest["output"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    listed.extend(
        manifest["extension"]["history"]
            .as_array()
            .into_iter()
            .flatten(),
    );
    let mut found = Verification::default();
    let mut seen = Seen::default();
    if manifest["transactionTime"].as_str().is_none() || manifest["output"].as_array().is_none() {
        found.problems.push(
            "the manifest has no transactionTime or no output: is this an export's manifest.json?"
                .into(),
        );
        return Ok(found);
    }
    for entry in listed {
        let kind = entry["type"].as_str().unwrap_or_default();
        let url = entry["url"].as_str().unwrap_or_default();
        let name = url.rsplit('/').next().unwrap_or_default();
        if name.is_empty() || name.contains("..") {
            found.problems.push(format!(
                "the manifest lists a {kind} file with no usable URL: '{url}'"
            ));
            continue;
        }
        let path = dir.join(name);
        let content = match std::fs::read(&path) {
            Ok(content) => content,
            Err(e) => {
                found.problems.push(format!(
                    "{name}: cannot read it ({e}): download every file the manifest lists"
                ));
                continue;
            }
        };
        let expected_hash = entry["extension"]["sha256"].as_str().unwrap_or_default();
        let hash = sha256_hex(&content);
        if hash != expected_hash {
            found.problems.push(format!(
                "{name}: its SHA-256 is {hash}, but the manifest says {expected_hash}: the file changed or is incomplete"
            ));
        }
        let problems_before = found.problems.len();
        let count = check_lines(name, kind, &content, &mut seen, &mut found.problems);
        let expected_count = entry["count"].as_u64().unwrap_or(u64::MAX);
        if count != expected_count {
            found.problems.push(format!(
                "{name}: it holds {count} lines, but the manifest says {expected_count}"
            ));
        }
        if found.problems.len() == problems_before {
            found.files.push((name.to_string(), count));
        }
    }
    Ok(found)
}

/// The resource files of a downloaded export, as one NDJSON stream in load
/// order (a resource after those it references), for an import: the files
/// its manifest lists, each type's in the manifest's order.
pub fn resources_in_load_order(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let manifest_path = dir.join("manifest.json");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", manifest_path.display()))?;
    let mut all = Vec::new();
    for kind in RESOURCE_TYPES {
        for entry in manifest["output"].as_array().into_iter().flatten() {
            if entry["type"] != *kind {
                continue;
            }
            let url = entry["url"].as_str().unwrap_or_default();
            let path = dir.join(url.rsplit('/').next().unwrap_or_default());
            let content =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            all.extend_from_slice(&content);
        }
    }
    Ok(all)
}

/// Checks one file's lines; returns how many there are.
/// What the files checked so far held: the resources' ids, and the audit
/// trail's last hash, so a type split over several files is checked whole.
#[derive(Default)]
struct Seen {
    ids: std::collections::HashSet<(String, String)>,
    previous_hash: Option<String>,
}

fn check_lines(
    name: &str,
    kind: &str,
    content: &[u8],
    seen: &mut Seen,
    problems: &mut Vec<String>,
) -> u64 {
    let mut count = 0;
    let Seen { ids, previous_hash } = seen;
    let text = String::from_utf8_lossy(content);
    for (n, line) in text.lines().enumerate() {
        count += 1;
        let at = format!("{name} line {}", n + 1);
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{at}: not JSON ({e})"));
                continue;
            }
        };
        if RESOURCE_TYPES.contains(&kind) {
            if value["resourceType"] != kind {
                problems.push(format!(
                    "{at}: a {} in the {kind} file",
                    value["resourceType"].as_str().unwrap_or("non-resource")
                ));
            }
            match value["id"].as_str() {
                Some(id) if !ids.insert((kind.to_string(), id.to_string())) => {
                    problems.push(format!("{at}: {kind}/{id} appears twice"));
                }
                Some(_) => {}
                None => problems.push(format!("{at}: a resource with no id")),
            }
        } else if kind == AUDIT_TRAIL {
            let prev = value["prev_hash"].as_str().map(str::to_string);
            if let (Some(expected), Some(prev)) = (&*previous_hash, &prev)
                && expected != prev
            {
                problems.push(format!(
                    "{at}: the entry's prev_hash does not match the entry before's hash: the chain is broken here"
                ));
            }
            *previous_hash = value["hash"].as_str().map(str::to_string);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes files and their manifest into a fresh directory.
    fn downloaded(files: &[ExportFile]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("export-{}", crate::store::records::new_id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (output, history): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.is_resources());
        let entries = |files: Vec<&ExportFile>| -> Vec<Value> {
            files
                .into_iter()
                .map(|f| manifest_entry(f, &format!("http://host/fhir/bulk/x/{}", f.name)))
                .collect()
        };
        for file in files {
            std::fs::write(dir.join(&file.name), &file.content).expect("file");
        }
        let manifest = json!({
            "transactionTime": "2026-12-01T00:00:00Z",
            "output": entries(output),
            "extension": {"history": entries(history)},
        });
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
        dir
    }

    #[test]
    fn a_large_type_is_split_into_numbered_files_each_checked_whole() {
        let slots = (0..LINES_PER_FILE * 2 + 5)
            .map(|n| json!({"resourceType": "Slot", "id": format!("s{n}")}));
        let files = ExportFile::of("Slot", slots).expect("files");
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Slot-1.ndjson", "Slot-2.ndjson", "Slot-3.ndjson"]);
        let counts: Vec<u64> = files.iter().map(|f| f.count).collect();
        assert_eq!(counts, [10_000, 10_000, 5]);
        assert!(
            ExportFile::of("Slot", Vec::<Value>::new())
                .expect("none")
                .is_empty()
        );
        assert!(holds_resources("Slot-3.ndjson") && !holds_resources("audit-trail-1.ndjson"));

        let dir = downloaded(&files);
        let found = verify_dir(&dir).expect("verify");
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!(found.files.len(), 3);
        // The same id in two files of one type is found.
        let again = ExportFile::of(
            "Slot",
            (0..LINES_PER_FILE + 1).map(|n| {
                json!({"resourceType": "Slot", "id": if n == LINES_PER_FILE { "s0".to_string() } else { format!("s{n}") }})
            }),
        )
        .expect("files");
        let dir2 = downloaded(&again);
        let found = verify_dir(&dir2).expect("verify");
        assert!(
            found
                .problems
                .iter()
                .any(|p| p.contains("Slot/s0 appears twice")),
            "{:?}",
            found.problems
        );
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(dir2);
    }

    #[test]
    fn the_audit_trail_chain_is_checked_across_its_files() {
        let entry = |seq: usize, prev: String| json!({"seq": seq, "prev_hash": prev, "hash": format!("h{seq}")});
        let linked: Vec<Value> = (1..=LINES_PER_FILE + 2)
            .map(|seq| entry(seq, format!("h{}", seq - 1)))
            .collect();
        let dir = downloaded(&ExportFile::of(AUDIT_TRAIL, linked.clone()).expect("files"));
        let found = verify_dir(&dir).expect("verify");
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        // An entry missing where the files meet breaks the chain.
        let mut broken = linked;
        broken.remove(LINES_PER_FILE);
        let dir2 = downloaded(&ExportFile::of(AUDIT_TRAIL, broken).expect("files"));
        let found = verify_dir(&dir2).expect("verify");
        assert!(
            found.problems.iter().any(|p| p.contains("audit-trail-2.ndjson line 1") && p.contains("chain is broken")),
            "{:?}",
            found.problems
        );
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(dir2);
    }
}
