//! Private data and secrets, end to end with the real binary: a serving host
//! keeps its data directory, records store and keys private to its user; a
//! host that is not in development mode and has no identity provider
//! refuses to start; supplier keys are written private; and development
//! tokens are made only for a development configuration.
//!
//! SQLite only: it checks the modes of the SQLite file in the data
//! directory; a PostgreSQL server keeps its files under its own user.

#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patchbay::api::identity::{DEV_KEY_FILE, DevKey};
use support::server::{Server, binary};

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "private-data-{}",
            patchbay::store::records::new_id()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        Dir(dir)
    }

    /// Writes a configuration with these lines and this directory's `data`
    /// as its data directory; returns its path.
    fn config(&self, lines: &str) -> PathBuf {
        let path = self.0.join("patchbay.toml");
        std::fs::write(
            &path,
            format!(
                "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{lines}\n",
                self.data().display()
            ),
        )
        .expect("config");
        path
    }

    fn data(&self) -> PathBuf {
        self.0.join("data")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs `patchbay ARGS`; (succeeded, stdout and stderr).
fn patchbay(args: &[&str]) -> (bool, String) {
    let out = Command::new(binary())
        .args(args)
        .output()
        .expect("patchbay");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_serving_host_keeps_its_data_and_keys_private() {
    let s = Server::start();
    assert_eq!(mode(&s.data_dir), 0o700, "the data directory");
    assert_eq!(mode(&s.data_dir.join("records.db")), 0o600, "the records");
    assert_eq!(mode(&s.data_dir.join(DEV_KEY_FILE)), 0o600, "the dev key");
    assert_eq!(mode(&s.data_dir.join("artifacts")), 0o700, "the cache");
    assert_eq!(
        mode(&s.data_dir.join("artifacts").join("key")),
        0o600,
        "the artifact cache key"
    );
    // The test configuration is the demo's, so development mode: said once.
    let log = s.log();
    let announced: Vec<_> = log
        .lines()
        .filter(|l| l.contains("DEVELOPMENT MODE: tokens signed by the development key"))
        .collect();
    assert_eq!(announced.len(), 1, "{log}");
    assert!(announced[0].contains(DEV_KEY_FILE), "{log}");
    assert!(announced[0].contains("real patients' data"), "{log}");
}

#[test]
fn without_development_mode_or_an_identity_provider_the_host_does_not_start() {
    let dir = Dir::new();
    let config = dir.config("demo = false");
    let mut child = Command::new(binary())
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("patchbay serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the host started without an identity provider outside development mode");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("identity.jwks_file"), "{stderr}");
    assert!(stderr.contains("identity.development = true"), "{stderr}");
    assert!(
        !dir.data().join("records.db").exists(),
        "it stopped before opening the records"
    );
    assert!(!dir.data().join(DEV_KEY_FILE).exists(), "and made no key");
}

#[test]
fn keygen_writes_the_secret_key_private() {
    let dir = Dir::new();
    let out = dir.0.join("acme.key");
    let (ok, text) = patchbay(&["keygen", "--out", &out.display().to_string()]);
    assert!(ok, "{text}");
    assert_eq!(mode(&out), 0o600, "the secret key");
    assert!(out.with_extension("pub").exists(), "the public key");
}

#[test]
fn development_tokens_only_for_a_development_configuration() {
    let dir = Dir::new();
    DevKey::load_or_create(&dir.data()).expect("a development key");
    let config = dir.config("demo = false");
    let config = config.display().to_string();
    let (ok, text) = patchbay(&["token", "--role", "admin", "--config", &config]);
    assert!(!ok, "a token for a non-development configuration: {text}");
    assert!(text.contains("not in development mode"), "{text}");
    // In development mode a token is made, but no longer than the host takes.
    let config = dir.config("demo = false\n[identity]\ndevelopment = true");
    let config = config.display().to_string();
    let (ok, text) = patchbay(&["token", "--role", "admin", "--config", &config]);
    assert!(ok, "{text}");
    let (ok, text) = patchbay(&[
        "token",
        "--role",
        "admin",
        "--ttl",
        "315360000",
        "--config",
        &config,
    ]);
    assert!(!ok, "a ten-year token: {text}");
    assert!(text.contains("at most 43200 s"), "{text}");
}
