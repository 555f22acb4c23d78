//! An organisation's whole record set as files: one NDJSON file of FHIR R4
//! resources per type (the same JSON the API serves, one resource per line,
//! ordered by id, so the same records always give the same bytes), and
//! beside them two documented JSON-lines files of its history: every
//! deployment to its slots, and its audit trail with the hash chain. Each
//! file carries its count and SHA-256, so a downloaded export can be
//! checked ([`verify_dir`]).

use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::api::fhir;
use crate::lifecycle::registry;
use crate::runtime::interfaces::{patients, prescribing_records, scheduling_records};
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
    /// Its file name: `<kind>.ndjson`.
    pub name: String,
    /// How many lines (resources or entries) it holds.
    pub count: u64,
    /// The SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

impl ExportFile {
    /// A file of these JSON values, one per line.
    pub fn of(kind: &str, values: impl IntoIterator<Item = Value>) -> ExportFile {
        let mut content = Vec::new();
        let mut count = 0;
        for value in values {
            content.extend_from_slice(value.to_string().as_bytes());
            content.push(b'\n');
            count += 1;
        }
        ExportFile {
            kind: kind.to_string(),
            name: file_name(kind),
            count,
            sha256: sha256_hex(&content),
            content,
        }
    }

    /// Whether it holds FHIR resources (rather than history).
    pub fn is_resources(&self) -> bool {
        RESOURCE_TYPES.contains(&self.kind.as_str())
    }
}

/// The file name for a kind of file.
pub fn file_name(kind: &str) -> String {
    format!("{kind}.ndjson")
}

/// The SHA-256 of some bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An organisation's resources of one type, as FHIR: those changed at or
/// after `since` where the records say when they changed (Appointment and
/// MedicationRequest by their last update, AllergyIntolerance by when it
/// was recorded); every one of the types that carry no such time.
pub fn resources(
    db: &Connection,
    org: &str,
    kind: &str,
    since: Option<i64>,
) -> anyhow::Result<ExportFile> {
    let values: Vec<Value> = match kind {
        "Patient" => patients::registered(db, org, usize::MAX)?
            .iter()
            .map(fhir::patient)
            .collect(),
        "Practitioner" => scheduling_records::practitioners(db, org, None, usize::MAX)?
            .iter()
            .map(fhir::practitioner)
            .collect(),
        "Schedule" => scheduling_records::schedules(db, org)?
            .iter()
            .map(fhir::schedule)
            .collect(),
        "Slot" => scheduling_records::all_slots(db, org)?
            .iter()
            .map(fhir::slot)
            .collect(),
        "Appointment" => scheduling_records::all_appointments(db, org, since)?
            .iter()
            .map(fhir::appointment)
            .collect(),
        "MedicationRequest" => prescribing_records::all_requests(db, org, since)?
            .iter()
            .map(fhir::medication_request)
            .collect(),
        "AllergyIntolerance" => prescribing_records::all_allergies(db, org, since)?
            .iter()
            .map(fhir::allergy_intolerance)
            .collect(),
        other => anyhow::bail!("there is no resource type {other} in an export"),
    };
    Ok(ExportFile::of(kind, values))
}

/// Every deployment to an organisation's slots, oldest first.
pub fn deployments(db: &Connection, org: &str) -> anyhow::Result<ExportFile> {
    let history = registry::organisation_history(db, org)?;
    Ok(ExportFile::of(
        DEPLOYMENTS,
        history.iter().map(|d| json!(d)),
    ))
}

/// An organisation's whole audit trail, in chain order, read a page at a
/// time.
pub fn audit_trail(db: &Connection, org: &str) -> anyhow::Result<ExportFile> {
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
    Ok(ExportFile::of(AUDIT_TRAIL, entries))
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
        let count = check_lines(name, kind, &content, &mut found.problems);
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
/// order (a resource after those it references), for an import.
pub fn resources_in_load_order(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let mut all = Vec::new();
    for kind in RESOURCE_TYPES {
        let path = dir.join(file_name(kind));
        match std::fs::read(&path) {
            Ok(content) => all.extend_from_slice(&content),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    Ok(all)
}

/// Checks one file's lines; returns how many there are.
fn check_lines(name: &str, kind: &str, content: &[u8], problems: &mut Vec<String>) -> u64 {
    let mut count = 0;
    let mut ids = std::collections::HashSet::new();
    let mut previous_hash: Option<String> = None;
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
                Some(id) if !ids.insert(id.to_string()) => {
                    problems.push(format!("{at}: {kind}/{id} appears twice"));
                }
                Some(_) => {}
                None => problems.push(format!("{at}: a resource with no id")),
            }
        } else if kind == AUDIT_TRAIL {
            let prev = value["prev_hash"].as_str().map(str::to_string);
            if let (Some(expected), Some(prev)) = (&previous_hash, &prev)
                && expected != prev
            {
                problems.push(format!(
                    "{at}: the entry's prev_hash does not match the entry before's hash: the chain is broken here"
                ));
            }
            previous_hash = value["hash"].as_str().map(str::to_string);
        }
    }
    count
}
