//! The data directory fails: it fills up under a serving host, then it turns
//! read-only. The host runs on a small filesystem of its own (a tmpfs in a
//! private mount namespace, so nothing outside the test sees it). While the
//! disk is full, every write is refused with a clear answer (507 with
//! Retry-After, saying what the operator must do), never a 500 and never a
//! half-written record; when space returns, the same process takes writes
//! again, without a restart. On a read-only data directory the host refuses
//! to start, saying why. Afterwards every acknowledged write is there, the
//! database passes SQLite's integrity check, and the audit chain verifies.
//!
//! Mounting needs CAP_SYS_ADMIN: the test runs as root (as CI does), or in
//! a user namespace (`unshare -r cargo test ...`).
//!
//! SQLite only: it fills the filesystem under the SQLite file in the data
//! directory. A PostgreSQL server's disk is its own; its full-disk and
//! read-only errors (SQLSTATE 53100, 25006) map to the same answers
//! (`store/storage_fault.rs`, unit-tested there).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;
use support::server::{STANDARD_ORGANISATIONS, Server, appointment};

const ORG: &str = "Y90001";
const PATIENT: &str = "9990000018";

/// A small tmpfs mounted at a directory in a mount namespace of its own,
/// held open by a sleeping process; gone when dropped.
struct SmallDisk {
    holder: Child,
    mount_point: PathBuf,
}

impl SmallDisk {
    fn mount(mount_point: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(mount_point).expect("the mount point");
        let mut holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(
                "mount -t tmpfs -o size=\"$1\",mode=0700 tmpfs \"$2\" && echo mounted && exec sleep 3600",
            )
            .args(["sh", size])
            .arg(mount_point)
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux)");
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("the holder's stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("the holder's answer");
        assert_eq!(
            line.trim(),
            "mounted",
            "cannot mount a tmpfs in a private mount namespace: this test needs \
             CAP_SYS_ADMIN; run it as root, or under `unshare -r`"
        );
        SmallDisk {
            holder,
            mount_point: mount_point.to_path_buf(),
        }
    }

    /// The command prefix that runs a program inside the namespace.
    fn launcher(&self) -> Vec<String> {
        vec![
            "nsenter".to_string(),
            "--target".to_string(),
            self.holder.id().to_string(),
            "--mount".to_string(),
            "--".to_string(),
        ]
    }

    /// The `patchbay` command with these arguments, run inside the
    /// namespace.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = support::server::command(&self.launcher());
        cmd.args(args);
        cmd
    }

    /// Runs a shell command inside the namespace, with `$1` the mount point.
    fn sh(&self, script: &str) -> String {
        let out = Command::new("nsenter")
            .args(["--target", &self.holder.id().to_string(), "--mount", "--"])
            .args(["sh", "-c", script, "sh"])
            .arg(&self.mount_point)
            .output()
            .expect("nsenter");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// Books the first free slot; (status, answer).
fn book_one(server: &Server, token: &str) -> (StatusCode, Value) {
    let slots: Value = server
        .get("/fhir/Slot?status=free&_count=1", token)
        .json()
        .expect("a searchset");
    let slot = slots["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no free slot: {slots}"));
    let response = server.post("/fhir/Appointment", token, &appointment(slot, PATIENT));
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

/// Books until the storage refuses; returns the refusal's status and
/// diagnostics, and the ids acknowledged on the way.
fn book_until_refused(
    server: &Server,
    token: &str,
    acknowledged: &mut Vec<String>,
) -> (StatusCode, String, Option<String>) {
    // An answer's status, body and Retry-After.
    let read = |response: reqwest::blocking::Response| {
        let status = response.status();
        let retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (
            status,
            response.json::<Value>().unwrap_or(Value::Null),
            retry,
        )
    };
    for _ in 0..500 {
        // Reads are audited too, so the search may be refused first.
        let (status, body, retry) = read(server.get("/fhir/Slot?status=free&_count=1", token));
        if status != StatusCode::OK {
            return (status, body["issue"][0]["diagnostics"].to_string(), retry);
        }
        let slot = body["entry"][0]["resource"]["id"]
            .as_str()
            .expect("a free slot")
            .to_string();
        let (status, body, retry) =
            read(server.post("/fhir/Appointment", token, &appointment(&slot, PATIENT)));
        if status != StatusCode::CREATED {
            return (status, body["issue"][0]["diagnostics"].to_string(), retry);
        }
        acknowledged.push(body["id"].as_str().expect("an id").to_string());
    }
    panic!("500 bookings went through on a full disk");
}

#[test]
fn a_full_data_directory_refuses_writes_clearly_and_recovers_and_a_read_only_one_is_refused_at_start()
 {
    let dir = Server::new_dir();
    let disk = SmallDisk::mount(&dir.join("data"), "96m");
    let mut server = Server::start_in(&dir, disk.launcher(), "", "", STANDARD_ORGANISATIONS);
    let staff = server.token("receptionist", ORG, None);
    let mut acknowledged = Vec::new();

    let (status, body) = book_one(&server, &staff);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    acknowledged.push(body["id"].as_str().expect("an id").to_string());

    // The disk fills up: writes are refused, saying so.
    disk.sh("cat /dev/zero > \"$1/filler\" 2>/dev/null || true");
    let (status, diagnostics, retry) = book_until_refused(&server, &staff, &mut acknowledged);
    assert_eq!(
        status,
        StatusCode::INSUFFICIENT_STORAGE,
        "a full disk is answered 507: {diagnostics}\n{}",
        server.log()
    );
    assert!(
        diagnostics.contains("storage is full") && diagnostics.contains("free space"),
        "{diagnostics}"
    );
    assert_eq!(retry.as_deref(), Some("30"));
    // The host still answers what needs no write.
    let health = server
        .request(reqwest::Method::GET, "/healthz", None)
        .send()
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);

    // Space returns: the same process books again.
    disk.sh("rm -f \"$1/filler\"");
    let (status, body) = book_one(&server, &staff);
    assert_eq!(status, StatusCode::CREATED, "after space returned: {body}");
    acknowledged.push(body["id"].as_str().expect("an id").to_string());

    // The directory turns read-only. Linux will not remount a filesystem
    // read-only while files on it are open for writing, so the host is
    // stopped first: started on it, it refuses to start, saying why, and
    // changes nothing.
    assert!(server.terminate().success(), "{}", server.log());
    disk.sh("mount -o remount,ro \"$1\"");
    let mut serve = disk.command(&["serve", "--config"]);
    let refused = serve
        .arg(&server.config)
        .output()
        .expect("patchbay serve on a read-only data directory");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "it served on a read-only disk: {said}"
    );
    assert!(
        said.contains("read-only") && said.contains("writable"),
        "the refusal does not say what is wrong and what to do: {said}"
    );

    // Writable again: it starts and books again.
    disk.sh("mount -o remount,rw \"$1\"");
    server.kill_and_restart();
    let (status, body) = book_one(&server, &staff);
    assert_eq!(
        status,
        StatusCode::CREATED,
        "after the disk was writable again: {body}"
    );
    acknowledged.push(body["id"].as_str().expect("an id").to_string());

    // Nothing acknowledged was lost, nothing is corrupt.
    for id in &acknowledged {
        let response = server.get(&format!("/fhir/Appointment/{id}"), &staff);
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "Appointment/{id} is lost"
        );
    }
    let (intact, report) = server.audit_verify();
    assert!(intact, "the audit chain does not verify:\n{report}");
    let copy = dir.join("copy");
    std::fs::create_dir_all(&copy).expect("a directory for the copy");
    disk.sh(&format!("cp \"$1\"/records.db* '{}'/", copy.display()));
    let db = rusqlite::Connection::open(copy.join("records.db")).expect("the database");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
}
