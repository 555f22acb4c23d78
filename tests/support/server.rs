//! Runs the real `patchbay` binary on a free loopback port with its own data
//! directory, and talks to it over real HTTP.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use patchbay::lifecycle::package::{Package, SupplierKey};
use patchbay::runtime::bundled::built_path;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

/// A running server, stopped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its configuration file.
    pub config: PathBuf,
    /// What the binary runs under (e.g. `nsenter` into a mount namespace);
    /// empty to run it directly.
    launcher: Vec<String>,
    client: Client,
    /// Its PostgreSQL database, when the run uses PostgreSQL; dropped after
    /// the server stops.
    database: Option<super::database::TestDatabase>,
    /// The PostgreSQL database it shares with other replicas, if any (the
    /// test owns it).
    shared_database: Option<String>,
}

/// The organisations every test server serves: the demo practices, and
/// Y90003 served by the faulty fixture with a 200 ms deadline.
pub const STANDARD_ORGANISATIONS: &str = r#"
[organisations.Y90001]
name = "Riverside Surgery (demo)"
modules = { scheduling = "meridian/scheduling@1.0.0", prescribing = "northwind/prescribing@1.0.0" }

[organisations.Y90002]
name = "Hillside Practice (demo)"
modules = { scheduling = "bramble/scheduling@2.1.0", prescribing = "northwind/prescribing@1.0.0" }

[organisations.Y90003]
name = "Test practice with a faulty module"
modules = { scheduling = "testing/faulty-scheduling@0.1.0={faulty}" }
limits = { memory_bytes = 16777216, deadline = 200 }
"#;

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_patchbay")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    /// Starts the server: the demo practices, plus practice Y90003 served by
    /// the faulty fixture with a 200 ms deadline.
    pub fn start() -> Server {
        Self::start_with("")
    }

    /// Starts the server with extra lines in its `[trust]` section.
    pub fn start_with(trust: &str) -> Server {
        Self::start_custom(trust, STANDARD_ORGANISATIONS)
    }

    /// Starts the server with extra lines in its `[trust]` section and these
    /// organisations (TOML tables; `{faulty}` stands for the faulty fixture's
    /// path).
    pub fn start_custom(trust: &str, organisations: &str) -> Server {
        Self::start_configured("", trust, organisations)
    }

    /// Starts the server with extra top-level keys (`top`), extra lines in
    /// its `[trust]` section and these organisations.
    pub fn start_configured(top: &str, trust: &str, organisations: &str) -> Server {
        Self::start_in(&Self::new_dir(), Vec::new(), top, trust, organisations)
    }

    /// A fresh directory for a server's configuration, log and data.
    pub fn new_dir() -> PathBuf {
        std::env::temp_dir().join(format!("patchbay-e2e-{}", uuid()))
    }

    /// Starts the server in `dir` (its data in `dir/data`), run under
    /// `launcher` (a command prefix such as `nsenter -t PID -m --`), with
    /// extra top-level keys, `[trust]` lines and these organisations.
    pub fn start_in(
        dir: &Path,
        launcher: Vec<String>,
        top: &str,
        trust: &str,
        organisations: &str,
    ) -> Server {
        Self::launch(
            dir,
            launcher,
            top,
            trust,
            organisations,
            super::database::TestDatabase::for_this_run(),
            None,
        )
    }

    /// Starts one replica of several on a PostgreSQL database the test
    /// owns: the standard organisations, with `peer`'s development and
    /// audit keys (replicas share them: a token one accepts, every one
    /// accepts, and the audit chain is one).
    pub fn start_replica(
        database: &super::database::TestDatabase,
        peer: Option<&Server>,
        top: &str,
    ) -> Server {
        let dir = Self::new_dir();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        if let Some(peer) = peer {
            for key in ["dev-signing-key.pem", "audit.key"] {
                std::fs::copy(peer.data_dir.join(key), data.join(key)).expect("the peer's key");
            }
        }
        Self::launch(
            &dir,
            Vec::new(),
            top,
            "",
            STANDARD_ORGANISATIONS,
            None,
            Some(database.url.clone()),
        )
    }

    fn launch(
        dir: &Path,
        launcher: Vec<String>,
        top: &str,
        trust: &str,
        organisations: &str,
        database: Option<super::database::TestDatabase>,
        shared_database: Option<String>,
    ) -> Server {
        std::fs::create_dir_all(dir).expect("temp dir");
        let url = database
            .as_ref()
            .map(|db| db.url.clone())
            .or_else(|| shared_database.clone());
        let top = match &url {
            Some(url) => format!("database = \"{url}\"\n{top}"),
            None => top.to_string(),
        };
        let port = free_port();
        let faulty = built_path("faulty_scheduling");
        let config = dir.join("patchbay.toml");
        let mut file = std::fs::File::create(&config).expect("config");
        write!(
            file,
            r#"
listen = "127.0.0.1:{port}"
data_dir = "{data}"
{top}

[trust]
# The faulty fixture is a bare test component, not a signed package.
allow_unsigned = true
{trust}

{organisations}
"#,
            data = dir.join("data").display(),
            organisations = organisations.replace("{faulty}", &faulty.display().to_string())
        )
        .expect("write config");
        let server = Server {
            child: spawn(&launcher, &config, dir),
            base: format!("http://127.0.0.1:{port}"),
            data_dir: dir.join("data"),
            config,
            launcher,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            database,
            shared_database,
        };
        server.wait_ready();
        server
    }

    /// Kills the server with SIGKILL, no chance to clean up, and starts it
    /// again on the same configuration and data.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.restart();
    }

    /// The HTTP client the helpers use (30 s timeout).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again (after [`Server::kill`]) on the same
    /// configuration and data, and waits until it answers.
    pub fn restart(&mut self) {
        let dir = self
            .data_dir
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        self.child = spawn(&self.launcher, &self.config, &dir);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = self.client.get(format!("{}/healthz", self.base)).send()
                && r.status().is_success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not become ready:\n{}", self.log());
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(
            self.data_dir
                .parent()
                .unwrap_or(Path::new("."))
                .join("server.log"),
        )
        .unwrap_or_default()
    }

    /// A development token from `patchbay token`, for the user `ROLE-1`.
    pub fn token(&self, role: &str, org: &str, nhs_number: Option<&str>) -> String {
        self.token_for(&format!("{role}-1"), role, org, nhs_number)
    }

    /// A development token from `patchbay token` for a named user.
    pub fn token_for(&self, user: &str, role: &str, org: &str, nhs_number: Option<&str>) -> String {
        let mut cmd = command(&self.launcher);
        cmd.args([
            "token", "--role", role, "--org", org, "--user", user, "--config",
        ])
        .arg(&self.config);
        if let Some(n) = nhs_number {
            cmd.args(["--nhs-number", n]);
        }
        let out = cmd.output().expect("patchbay token");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A request with an optional bearer token.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    /// GET with a token.
    pub fn get(&self, path: &str, token: &str) -> Response {
        self.request(reqwest::Method::GET, path, Some(token))
            .send()
            .expect("GET")
    }

    /// POST JSON with a token.
    pub fn post(&self, path: &str, token: &str, body: &serde_json::Value) -> Response {
        self.request(reqwest::Method::POST, path, Some(token))
            .header("content-type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .expect("POST")
    }

    /// PUT JSON with a token.
    pub fn put(&self, path: &str, token: &str, body: &serde_json::Value) -> Response {
        self.request(reqwest::Method::PUT, path, Some(token))
            .header("content-type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .expect("PUT")
    }

    /// Where its records store is: its PostgreSQL database, or the SQLite
    /// file in its data directory.
    pub fn location(&self) -> patchbay::store::database::Location {
        match (&self.database, &self.shared_database) {
            (Some(db), _) => db.location(),
            (None, Some(url)) => patchbay::store::database::Location::Postgres(url.clone()),
            (None, None) => {
                patchbay::store::database::Location::Sqlite(self.data_dir.join("records.db"))
            }
        }
    }

    /// A connection to its database as it is, no migration applied (to
    /// check, or tamper with, what it stored).
    pub fn connection(&self) -> patchbay::store::database::PooledConnection {
        patchbay::store::database::Pool::new(self.location())
            .get()
            .expect("a connection to the server's store")
    }

    /// Its records store, opened beside it (either engine), for checking
    /// what was stored.
    pub fn store(&self) -> patchbay::RecordStore {
        patchbay::RecordStore::open_at(&self.location()).expect("the server's store")
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.child.wait().expect("wait for the server")
    }

    /// Runs `patchbay audit verify` on the server's data.
    pub fn audit_verify(&self) -> (bool, String) {
        let out = command(&self.launcher)
            .args(["audit", "verify", "--config"])
            .arg(&self.config)
            .output()
            .expect("patchbay audit verify");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.data_dir.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The binary, run under a launcher (a command prefix) if there is one.
pub fn command(launcher: &[String]) -> Command {
    match launcher.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(binary());
            cmd
        }
        None => Command::new(binary()),
    }
}

fn spawn(launcher: &[String], config: &Path, dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log");
    command(launcher)
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start patchbay serve")
}

fn uuid() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        patchbay::store::records::new_id()
    )
}

/// Runs a `patchbay` admin command against the server; (succeeded, output).
pub fn cli(s: &Server, token: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(binary())
        .args(args)
        .args(["--server", &s.base, "--token", token])
        .output()
        .expect("patchbay");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Builds a scheduling package of a built component, its manifest claiming
/// the release of the standard the component implements; returns its path.
pub fn package(
    dir: &std::path::Path,
    stem: &str,
    supplier: &str,
    name: &str,
    version: &str,
    key: Option<&SupplierKey>,
) -> String {
    package_stating(dir, stem, &format!("{supplier}/{name}@{version}"), key, "")
}

/// [`package`] of the module `id` (`supplier/name@version`), with `tail`
/// (TOML tables such as `[limits]`) at the end of its manifest.
pub fn package_stating(
    dir: &std::path::Path,
    stem: &str,
    id: &str,
    key: Option<&SupplierKey>,
    tail: &str,
) -> String {
    let (supplier, rest) = id.split_once('/').expect("supplier/name@version");
    let (name, version) = rest.split_once('@').expect("supplier/name@version");
    let bytes = std::fs::read(built_path(stem)).expect("component");
    let world = patchbay::Module::compile(
        &wasmtime::Engine::default(),
        format!("{supplier}/{name}@{version}").parse().expect("id"),
        &bytes,
    )
    .expect("a module of a standard")
    .world
    .name;
    let manifest = format!(
        "supplier = \"{supplier}\"\nname = \"{name}\"\nversion = \"{version}\"\nworld = \"{world}\"\ndescription = \"test\"\n{tail}"
    );
    let package = Package::build(&manifest, &bytes, key).expect("package");
    let path = dir.join(format!("{stem}.carepkg"));
    std::fs::write(&path, serde_json::to_string(&package).expect("json")).expect("write");
    path.display().to_string()
}

/// The module active in the caller's scheduling slot.
pub fn active_scheduling(s: &Server, admin: &str) -> String {
    let slots: Value = s.get("/admin/slots", admin).json().expect("json");
    slots["slots"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["function"] == "scheduling"))
        .and_then(|x| x["module"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// A receptionist's traffic while a slot's module changes: round after
/// round until `stop`, it picks a slot with `pick` (a search through the
/// API), books it for `patient` and cancels the booking. Joined, the thread
/// gives how many rounds ran and every answer that was not a success.
pub fn book_and_cancel_until(
    s: &Server,
    token: &str,
    patient: &'static str,
    pick: impl Fn(&Client, &str, &str) -> Option<String> + Send + 'static,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(u32, Vec<String>)> {
    let (base, token) = (s.base.clone(), token.to_string());
    std::thread::spawn(move || {
        let client = Client::new();
        let (mut rounds, mut failures) = (0, Vec::new());
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            rounds += 1;
            let Some(slot) = pick(&client, &base, &token) else {
                failures.push("a search found no slot to book".to_string());
                continue;
            };
            let booked = client
                .post(format!("{base}/fhir/Appointment"))
                .bearer_auth(&token)
                .header("content-type", "application/fhir+json")
                .body(appointment(&slot, patient).to_string())
                .send();
            let id = match booked {
                Ok(r) if r.status() == StatusCode::CREATED => r
                    .json::<Value>()
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_string)),
                Ok(r) => {
                    failures.push(format!(
                        "book {slot}: {}: {}",
                        r.status(),
                        r.text().unwrap_or_default()
                    ));
                    continue;
                }
                Err(e) => {
                    failures.push(format!("book: {e}"));
                    continue;
                }
            };
            let Some(id) = id else {
                failures.push("book: 201 without an id".to_string());
                continue;
            };
            match client
                .put(format!("{base}/fhir/Appointment/{id}"))
                .bearer_auth(&token)
                .header("content-type", "application/fhir+json")
                .body(cancellation(&id, "swap traffic").to_string())
                .send()
            {
                Ok(r) if r.status() == StatusCode::OK => {}
                Ok(r) => failures.push(format!("cancel: {}", r.status())),
                Err(e) => failures.push(format!("cancel: {e}")),
            }
        }
        (rounds, failures)
    })
}

/// Books a slot for a patient over FHIR; (status, body).
pub fn book(s: &Server, token: &str, slot: &str, patient: &str) -> (StatusCode, Value) {
    let r = s.post("/fhir/Appointment", token, &appointment(slot, patient));
    let status = r.status();
    (status, r.json().unwrap_or(Value::Null))
}

/// A FHIR Appointment to book a slot for a patient.
pub fn appointment(slot: &str, patient: &str) -> Value {
    json!({"resourceType": "Appointment", "slot": [{"reference": format!("Slot/{slot}")}],
        "participant": [{"actor": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": patient}}}]})
}

/// The PUT body that cancels an appointment.
pub fn cancellation(id: &str, reason: &str) -> Value {
    json!({"resourceType": "Appointment", "id": id, "status": "cancelled",
        "cancelationReason": {"text": reason}})
}

/// A FHIR MedicationRequest draft for a patient, by SNOMED CT code.
pub fn medication_request(
    patient: &str,
    code: &str,
    dose: f64,
    override_reason: Option<&str>,
) -> Value {
    let mut v = json!({
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "subject": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": patient}},
        "dosageInstruction": [{
            "text": "as directed",
            "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": dose, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]
        }]
    });
    if let Some(reason) = override_reason {
        v["extension"] =
            json!([{"url": patchbay::api::fhir::OVERRIDE_REASON_EXTENSION, "valueString": reason}]);
    }
    v
}

/// A server that trusts a key for Bramble, with Bramble's package uploaded.
pub fn with_bramble(extra: &str) -> Server {
    with_bramble_serving(extra, STANDARD_ORGANISATIONS)
}

/// Like [`with_bramble`], serving these organisations.
pub fn with_bramble_serving(extra: &str, organisations: &str) -> Server {
    let key = SupplierKey::generate();
    let s = Server::start_custom(
        &format!(
            "suppliers = {{ bramble = [\"{}\"] }}\n{extra}",
            key.public_key()
        ),
        organisations,
    );
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let bramble = package(
        &dir,
        "bramble_scheduling",
        "bramble",
        "scheduling",
        "2.1.0",
        Some(&key),
    );
    let admin = s.token("admin", "Y90001", None);
    let (ok, text) = cli(&s, &admin, &["upload", &bramble]);
    assert!(ok, "{text}");
    s
}

/// An answer's status and body: JSON, or the text as a JSON string.
pub fn body(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Builds a Python module from source with `sdk/python/build` (skipped when
/// up to date); panics with the build's errors if it fails.
pub fn build_python_module(dir: &Path, out: &Path) {
    let built = Command::new(root().join("sdk/python/build"))
        .arg(dir)
        .arg(out)
        .output()
        .expect("sdk/python/build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// Builds a TypeScript module from source with `sdk/typescript/build`
/// (skipped when up to date); panics with the build's errors if it fails.
pub fn build_typescript_module(dir: &Path, out: &Path) {
    let built = Command::new(root().join("sdk/typescript/build"))
        .arg(dir)
        .arg(out)
        .output()
        .expect("sdk/typescript/build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// Runs `patchbay conformance` on a component; (passed, what it printed).
pub fn conformance(wasm: &Path, id: &str) -> (bool, String) {
    let out = Command::new(binary())
        .arg("conformance")
        .arg(wasm)
        .args(["--id", id])
        .output()
        .expect("patchbay conformance");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}
