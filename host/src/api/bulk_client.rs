//! The client side of a bulk export, as `patchbay export run` does it: kick
//! off, poll the status URL (at a quarter of the `Retry-After` it gives,
//! so a short export is not waited on for long), then download the
//! manifest and every file it lists into a directory, ready for
//! `patchbay export verify` and `patchbay import`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

/// How long to wait for an export before giving up.
pub const MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// What a download wrote.
#[derive(Debug)]
pub struct Downloaded {
    /// The status URL, to `DELETE` once the files are safe.
    pub status_url: String,
    /// The manifest.
    pub manifest: Value,
    /// Each file written: its name and size in bytes.
    pub files: Vec<(String, u64)>,
}

/// Runs an export on the server at `server` (its base URL) with an admin's
/// `token`: `kick_off` is the path and query, such as `/fhir/$export` or
/// `/fhir/$export?_type=Patient`; the manifest and files go into `out`.
pub fn run(server: &str, token: &str, kick_off: &str, out: &Path) -> anyhow::Result<Downloaded> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let base = server.trim_end_matches('/');
    let answer = client
        .get(format!("{base}{kick_off}"))
        .bearer_auth(token)
        .header("Accept", "application/fhir+json")
        .header("Prefer", "respond-async")
        .send()
        .with_context(|| format!("cannot reach the server at {base}"))?;
    if answer.status() != reqwest::StatusCode::ACCEPTED {
        bail!(
            "the server did not start the export ({}): {}",
            answer.status(),
            diagnostics(answer)
        );
    }
    let status_url = answer
        .headers()
        .get("content-location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .context("the server started an export but gave no Content-Location to poll")?;
    let started = Instant::now();
    let manifest = loop {
        let answer = client
            .get(&status_url)
            .bearer_auth(token)
            .send()
            .with_context(|| format!("cannot poll {status_url}"))?;
        match answer.status() {
            reqwest::StatusCode::OK => {
                break answer.json::<Value>().context("the manifest is not JSON")?;
            }
            reqwest::StatusCode::ACCEPTED => {
                let wait = answer
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1u64);
                if started.elapsed() > MAX_WAIT {
                    bail!(
                        "the export did not finish within {} minutes: poll {status_url} later",
                        MAX_WAIT.as_secs() / 60
                    );
                }
                std::thread::sleep(Duration::from_millis(wait.clamp(1, 30) * 1000 / 4));
            }
            status => bail!("the export failed ({status}): {}", diagnostics(answer)),
        }
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot make {}", out.display()))?;
    let mut files = Vec::new();
    let listed = manifest["output"].as_array().into_iter().flatten().chain(
        manifest["extension"]["history"]
            .as_array()
            .into_iter()
            .flatten(),
    );
    for entry in listed {
        let url = entry["url"]
            .as_str()
            .context("a manifest entry has no url")?;
        let name = url.rsplit('/').next().unwrap_or_default();
        if name.is_empty() || name.contains("..") {
            bail!("the manifest lists a file with no usable name: '{url}'");
        }
        let answer = client
            .get(url)
            .bearer_auth(token)
            .send()
            .with_context(|| format!("cannot download {url}"))?;
        if !answer.status().is_success() {
            bail!(
                "cannot download {url} ({}): {}",
                answer.status(),
                diagnostics(answer)
            );
        }
        let bytes = answer
            .bytes()
            .with_context(|| format!("cannot download {url}"))?;
        std::fs::write(out.join(name), &bytes)
            .with_context(|| format!("cannot write {}", out.join(name).display()))?;
        files.push((name.to_string(), bytes.len() as u64));
    }
    let manifest_path = out.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)?)
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    Ok(Downloaded {
        status_url,
        manifest,
        files,
    })
}

/// What an error answer says.
fn diagnostics(answer: reqwest::blocking::Response) -> String {
    let text = answer.text().unwrap_or_default();
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["issue"][0]["diagnostics"].as_str().map(str::to_string))
        .unwrap_or(text)
}
