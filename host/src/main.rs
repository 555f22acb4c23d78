//! The `patchbay` command: serve the API, make development tokens, verify the
//! audit trail, inspect, package, sign, verify and conformance-test modules.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use patchbay::RecordStore;
use patchbay::api::config::Config;
use patchbay::api::identity::{DevKey, Role, dev_claims};
use patchbay::lifecycle::inspect;
use patchbay::lifecycle::package::{Package, SupplierKey};
use patchbay::store::audit::Verdict;

/// Patchbay: run supplier modules against open care standards, and swap them
/// at runtime without moving the records.
#[derive(Parser)]
#[command(name = "patchbay", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the FHIR API and CDS Hooks. With no options: the demo practices
    /// with the bundled modules, data in ./data, on 127.0.0.1:8080.
    Serve {
        /// A configuration file (TOML); see examples/patchbay.toml.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The address to listen on, overriding the configuration.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// The data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Keep the records in PostgreSQL (`postgres://USER@HOST:PORT/DB`),
        /// overriding the configuration; hosts on the same database are
        /// replicas.
        #[arg(long)]
        database: Option<String>,
    },
    /// Print a development token signed with the development key a server
    /// in development mode (the demo, or identity.development = true) trusts,
    /// made by `patchbay serve` in the data directory.
    Token {
        /// The role.
        #[arg(long, value_enum)]
        role: Role,
        /// The organisation's ODS code.
        #[arg(long, default_value = patchbay::store::demo::ORG)]
        org: String,
        /// The user id.
        #[arg(long, default_value = "demo-user")]
        user: String,
        /// For the patient role: the patient's NHS number.
        #[arg(long)]
        nhs_number: Option<String>,
        /// Valid for this many seconds, at most the configuration's
        /// identity.max_token_lifetime_secs.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The configuration file, for the data directory, issuer and
        /// audience.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Export an organisation's records (FHIR Bulk Data), or check a
    /// downloaded export.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Make a supplier's ed25519 signing key: KEY (secret) and KEY.pub.
    Keygen {
        /// Where to write the secret key; the public key goes beside it, .pub.
        #[arg(long)]
        out: PathBuf,
    },
    /// Build a package from a component and a manifest (TOML), signed with a
    /// supplier key. Checks the component implements the manifest's world.
    Package {
        /// The component (.wasm).
        #[arg(long)]
        component: PathBuf,
        /// The manifest (TOML): supplier, name, version, world, description,
        /// grants, limits.
        #[arg(long)]
        manifest: PathBuf,
        /// The supplier's secret key (from `patchbay keygen`); without it the
        /// package is unsigned.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Where to write the package (.carepkg).
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a package: its signature against the trusted supplier keys, and
    /// its component against its manifest's world.
    Verify {
        /// The package (.carepkg).
        package: PathBuf,
        /// A trusted key, as supplier=BASE64 (repeatable); added to the
        /// configuration's [trust.suppliers].
        #[arg(long = "trust")]
        trust: Vec<String>,
        /// The configuration file, for its [trust] section.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run a standard's conformance suite on a package or component, in a
    /// scratch store. Exits non-zero if any check fails.
    Conformance {
        /// The package (.carepkg) or component (.wasm).
        file: PathBuf,
        /// For a bare component: its name, supplier/name@version.
        #[arg(long, default_value = "unknown/module@0.0.0")]
        id: String,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write the report as JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
    },
    /// Load a downloaded export (from `patchbay export run`) into the
    /// token's organisation on a running server, perhaps another host: the
    /// export is checked first, then loaded all or nothing, ids and
    /// versions kept.
    Import {
        /// The directory holding the export's manifest.json and files.
        dir: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Write a new module's skeleton into DIR: it builds and passes its
    /// standard's conformance suite as it stands (doing the least the
    /// standard allows); its comments say where your policy goes.
    New {
        /// The standard: scheduling or prescribing.
        #[arg(long)]
        standard: String,
        /// The language.
        #[arg(long, value_enum)]
        lang: patchbay::lifecycle::scaffold::Language,
        /// The supplier's name (lowercase letters, digits, -).
        #[arg(long, default_value = "acme")]
        supplier: String,
        /// The module's name (default: the standard's).
        #[arg(long)]
        name: Option<String>,
        /// The SDK directory (default: the one beside this build's source).
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// Where to write it: a new or empty directory.
        dir: PathBuf,
    },
    /// Add a signed package to a running server's module registry.
    Upload {
        /// The package (.carepkg).
        package: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Deploy a registered module to one of your organisation's slots on a
    /// running server, after its readiness checks.
    Deploy {
        /// The care function: scheduling or prescribing.
        #[arg(long)]
        function: String,
        /// The module: supplier/name@version, or its SHA-256.
        #[arg(long)]
        module: String,
        /// Why: kept in the slot's history and the audit trail.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Roll one of your organisation's slots back to its previous deployment.
    Rollback {
        /// The care function: scheduling or prescribing.
        #[arg(long)]
        function: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Try a registered module as a canary: a share of patients (sticky per
    /// patient) is served by it, after its readiness checks.
    Canary {
        /// The care function: scheduling or prescribing.
        #[arg(long)]
        function: String,
        /// The module: supplier/name@version, or its SHA-256.
        #[arg(long)]
        module: String,
        /// The share of patients it serves, in percent.
        #[arg(long)]
        percent: u32,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Try a registered module as a shadow: it gets a copy of live calls,
    /// its writes are discarded, and its answers are compared with the live
    /// module's (see `patchbay trial`).
    Shadow {
        /// The care function: scheduling or prescribing.
        #[arg(long)]
        function: String,
        /// The module: supplier/name@version, or its SHA-256.
        #[arg(long)]
        module: String,
        /// The share of calls copied to it, in percent.
        #[arg(long, default_value_t = 100)]
        percent: u32,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show a slot's canary or shadow, with the shadow's agreements and
    /// differences per function.
    Trial {
        /// The care function: scheduling or prescribing.
        #[arg(long)]
        function: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a slot's canary or shadow candidate its active module.
    Promote {
        /// The care function: scheduling or prescribing.
        #[arg(long)]
        function: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// End a slot's canary or shadow; prints the shadow's final report.
    Abort {
        /// The care function: scheduling or prescribing.
        #[arg(long)]
        function: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Your organisation's slots on a running server: active module, trial
    /// and history.
    Slots {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show which standard a component implements, what it imports, its size
    /// and hash; or why it fits none (and exit non-zero).
    Inspect {
        /// The component (.wasm).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Where the server is and who is asking.
#[derive(clap::Args)]
struct ServerArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin's bearer token (or set PATCHBAY_TOKEN).
    #[arg(long, env = "PATCHBAY_TOKEN", hide_env_values = true)]
    token: String,
}

impl ServerArgs {
    /// Sends a request and prints the answer; non-zero exit on an error status.
    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<ExitCode> {
        match body {
            Some(body) => self.send_body(
                method,
                path,
                "application/json",
                body.to_string().into_bytes(),
            ),
            None => self.send_request(self.request(method, path)?),
        }
    }

    /// Sends a request with a body of this media type and prints the
    /// answer; non-zero exit on an error status.
    fn send_body(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<ExitCode> {
        self.send_request(
            self.request(method, path)?
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body),
        )
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> anyhow::Result<reqwest::blocking::RequestBuilder> {
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(600))
            .build()?;
        Ok(client
            .request(
                method,
                format!("{}{path}", self.server.trim_end_matches('/')),
            )
            .bearer_auth(&self.token))
    }

    fn send_request(&self, request: reqwest::blocking::RequestBuilder) -> anyhow::Result<ExitCode> {
        let response = request
            .send()
            .with_context(|| format!("cannot reach the server at {}", self.server))?;
        let status = response.status();
        let text = response.text().unwrap_or_default();
        let pretty = serde_json::from_str::<serde_json::Value>(&text)
            .map(|v| {
                // An OperationOutcome: say it plainly.
                if v["resourceType"] == "OperationOutcome" {
                    let mut out = v["issue"][0]["diagnostics"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    if let Some(details) = v["issue"][0]["details"]["text"].as_str() {
                        out += "\n";
                        out += details;
                    }
                    out
                } else {
                    serde_json::to_string_pretty(&v).unwrap_or(text.clone())
                }
            })
            .unwrap_or(text);
        if status.is_success() {
            println!("{pretty}");
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("error ({status}): {pretty}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Export the token's organisation from a running server: start the
    /// export, wait for it, download the manifest and every file into OUT,
    /// check them, and remove the export from the server.
    Run {
        /// The directory to write the manifest and files into.
        #[arg(long)]
        out: PathBuf,
        /// Only these resource types, comma-separated.
        #[arg(long = "type")]
        types: Option<String>,
        /// Only resources changed at or after this instant (FHIR instant).
        #[arg(long)]
        since: Option<String>,
        /// Only the patient compartment (Patient/$export).
        #[arg(long)]
        patients: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Check a downloaded export: every file the manifest lists is there,
    /// with its SHA-256 and count, holding resources of its type; the audit
    /// trail's chain links. Exits non-zero if anything is wrong.
    Verify {
        /// The directory holding manifest.json and the files.
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every organisation's chain (its keyed hashes and its anchor);
    /// report the first broken entry (exit non-zero).
    Verify {
        /// The configuration file, for the data directory and the audit
        /// key and anchor.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The PostgreSQL database the chain is in, overriding the
        /// configuration.
        #[arg(long)]
        database: Option<String>,
        /// Only this organisation's chain (ODS code).
        #[arg(long)]
        org: Option<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load(config: Option<PathBuf>, data_dir: Option<PathBuf>) -> anyhow::Result<Config> {
    let mut loaded = match config {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    if let Some(dir) = data_dir {
        loaded.data_dir = dir;
    }
    Ok(loaded)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
            database,
        } => {
            let mut config = load(config, data_dir)?;
            if database.is_some() {
                config.database = database;
            }
            if let Some(listen) = listen {
                config.listen = listen;
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(patchbay::api::server::serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            role,
            org,
            user,
            nhs_number,
            ttl,
            config,
            data_dir,
        } => {
            let config = load(config, data_dir)?;
            anyhow::ensure!(
                config.development(),
                "this configuration is not in development mode, so its server trusts no development key: get tokens from its identity provider (development mode is the demo, or identity.development = true)"
            );
            anyhow::ensure!(
                config.identity.jwks_file.is_none(),
                "this configuration trusts a JWKS, not the development key: get tokens from its identity provider"
            );
            let max = config.identity.max_token_lifetime_secs;
            anyhow::ensure!(
                ttl <= max,
                "--ttl {ttl} is longer than the server accepts: at most {max} s (identity.max_token_lifetime_secs)"
            );
            anyhow::ensure!(
                role != Role::Patient || nhs_number.is_some(),
                "a patient token needs --nhs-number"
            );
            let key = DevKey::load(&config.data_dir)?;
            let claims = dev_claims(&config.identity, &user, &org, vec![role], nhs_number, ttl);
            println!("{}", key.sign(&claims)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    config,
                    data_dir,
                    database,
                    org,
                },
        } => {
            let mut config = load(config, data_dir)?;
            if database.is_some() {
                config.database = database;
            }
            let location = config.database()?;
            if let Some(path) = patchbay::store::database::sqlite_path(&location) {
                anyhow::ensure!(
                    path.exists(),
                    "there is no records store at {}",
                    path.display()
                );
            }
            let store = RecordStore::open_at(&location)?;
            let trail = config.audit_trail()?;
            let conn = store.connection()?;
            match trail.verify(&conn, org.as_deref())? {
                Verdict::Intact { entries } => {
                    println!("audit trail intact: {entries} entries");
                    Ok(ExitCode::SUCCESS)
                }
                Verdict::Broken { org, seq, reason } => {
                    println!("audit trail BROKEN at entry {seq} of {org}'s chain: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Keygen { out } => {
            let key = SupplierKey::generate();
            key.save(&out)?;
            println!("secret key: {} (keep it private)", out.display());
            println!(
                "public key: {} = {}",
                out.with_extension("pub").display(),
                key.public_key()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Package {
            component,
            manifest,
            key,
            out,
        } => {
            let bytes = std::fs::read(&component)
                .with_context(|| format!("cannot read {}", component.display()))?;
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            let key = key.map(|k| SupplierKey::load(&k)).transpose()?;
            let package = Package::build(&text, &bytes, key.as_ref())?;
            let parsed = package.manifest()?;
            let module = patchbay::Module::compile(
                &wasmtime::Engine::default(),
                parsed.module_id()?,
                &bytes,
            )?;
            let verified = patchbay::lifecycle::package::Verified {
                manifest: parsed,
                component: bytes,
                signed_by: None,
            };
            verified.check_world(&module.shape)?;
            std::fs::write(&out, serde_json::to_string_pretty(&package)?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "packaged {} ({}) into {}{}",
                module.id,
                module.world.name,
                out.display(),
                if key.is_some() {
                    ", signed"
                } else {
                    ", UNSIGNED"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            package,
            trust,
            config,
        } => {
            let mut trusted = load(config, None)?.trust;
            for entry in trust {
                let (supplier, key) = entry
                    .split_once('=')
                    .with_context(|| format!("--trust takes supplier=BASE64KEY, not '{entry}'"))?;
                trusted
                    .suppliers
                    .entry(supplier.to_string())
                    .or_default()
                    .push(key.to_string());
            }
            let text = std::fs::read_to_string(&package)
                .with_context(|| format!("cannot read {}", package.display()))?;
            let verified = Package::parse(&text)?.verify(&trusted, false)?;
            let module = patchbay::Module::compile(
                &wasmtime::Engine::default(),
                verified.manifest.module_id()?,
                &verified.component,
            )?;
            verified.check_world(&module.shape)?;
            println!(
                "verified: {} implements {}, signed by trusted key {}",
                module.id,
                module.world.name,
                verified.signed_by.unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Conformance {
            file,
            id,
            json,
            junit,
        } => {
            let (id, bytes, needs) = if file.extension().is_some_and(|e| e == "carepkg") {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let package = Package::parse(&text)?;
                let manifest = package.manifest()?;
                (manifest.module_id()?, package.component()?, manifest.limits)
            } else {
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                (id.parse()?, bytes, Default::default())
            };
            let report = patchbay::lifecycle::conformance::run(id, &bytes, &needs)?;
            print!("{}", report.text());
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(path) = junit {
                std::fs::write(&path, report.junit())
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Export {
            command: ExportCommand::Verify { dir },
        } => verify_export(&dir),
        Command::Export {
            command:
                ExportCommand::Run {
                    out,
                    types,
                    since,
                    patients,
                    server,
                },
        } => {
            let mut query = Vec::new();
            if let Some(types) = types {
                query.push(format!("_type={types}"));
            }
            if let Some(since) = since {
                query.push(format!("_since={}", since.replace('+', "%2B")));
            }
            let path = if patients {
                "/fhir/Patient/$export"
            } else {
                "/fhir/$export"
            };
            let kick_off = if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", query.join("&"))
            };
            let downloaded =
                patchbay::api::bulk_client::run(&server.server, &server.token, &kick_off, &out)?;
            for (name, bytes) in &downloaded.files {
                println!("{name}: {bytes} bytes");
            }
            let code = verify_export(&out)?;
            if code == ExitCode::SUCCESS {
                // The files are safe here: the server need not keep them.
                let client = reqwest::blocking::Client::new();
                let _ = client
                    .delete(&downloaded.status_url)
                    .bearer_auth(&server.token)
                    .send();
            }
            Ok(code)
        }
        Command::New {
            standard,
            lang,
            supplier,
            name,
            sdk,
            dir,
        } => {
            let sdk = match sdk {
                Some(sdk) => sdk,
                None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk"),
            };
            let sdk = sdk.canonicalize().with_context(|| {
                format!(
                    "there is no SDK at {}: give its directory with --sdk",
                    sdk.display()
                )
            })?;
            let module = patchbay::lifecycle::scaffold::NewModule {
                standard: &standard,
                language: lang,
                supplier: &supplier,
                name: name.as_deref().unwrap_or(&standard),
                sdk: &sdk,
            };
            for file in patchbay::lifecycle::scaffold::write(&module, &dir)? {
                println!("wrote {}", file.display());
            }
            println!(
                "next: see the comment at the top of the module's source for how to build and check it"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { dir, server } => {
            if verify_export(&dir)? != ExitCode::SUCCESS {
                eprintln!(
                    "error: the export in {} is not intact: nothing was imported",
                    dir.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            let ndjson = patchbay::api::record_set::resources_in_load_order(&dir)?;
            server.send_body(
                reqwest::Method::POST,
                "/admin/import",
                patchbay::api::record_set::FHIR_NDJSON,
                ndjson,
            )
        }
        Command::Upload { package, server } => {
            let text = std::fs::read_to_string(&package)
                .with_context(|| format!("cannot read {}", package.display()))?;
            let body: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a package file", package.display()))?;
            server.send(reqwest::Method::POST, "/admin/modules", Some(body))
        }
        Command::Deploy {
            function,
            module,
            reason,
            server,
        } => server.send(
            reqwest::Method::POST,
            &format!("/admin/slots/{function}/deploy"),
            Some(serde_json::json!({"module": module, "reason": reason})),
        ),
        Command::Rollback {
            function,
            reason,
            server,
        } => server.send(
            reqwest::Method::POST,
            &format!("/admin/slots/{function}/rollback"),
            Some(serde_json::json!({"reason": reason})),
        ),
        Command::Canary {
            function,
            module,
            percent,
            reason,
            server,
        } => server.send(
            reqwest::Method::POST,
            &format!("/admin/slots/{function}/canary"),
            Some(serde_json::json!({"module": module, "percent": percent, "reason": reason})),
        ),
        Command::Shadow {
            function,
            module,
            percent,
            reason,
            server,
        } => server.send(
            reqwest::Method::POST,
            &format!("/admin/slots/{function}/shadow"),
            Some(serde_json::json!({"module": module, "percent": percent, "reason": reason})),
        ),
        Command::Trial { function, server } => server.send(
            reqwest::Method::GET,
            &format!("/admin/slots/{function}/trial"),
            None,
        ),
        Command::Promote {
            function,
            reason,
            server,
        } => server.send(
            reqwest::Method::POST,
            &format!("/admin/slots/{function}/promote"),
            Some(serde_json::json!({"reason": reason})),
        ),
        Command::Abort {
            function,
            reason,
            server,
        } => server.send(
            reqwest::Method::POST,
            &format!("/admin/slots/{function}/abort"),
            Some(serde_json::json!({"reason": reason})),
        ),
        Command::Slots { server } => server.send(reqwest::Method::GET, "/admin/slots", None),
        Command::Inspect { file, json } => {
            let engine = wasmtime::Engine::default();
            let report = inspect::inspect(&engine, &file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(if report.fits() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Checks a downloaded export and says what it found.
fn verify_export(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let found = patchbay::api::record_set::verify_dir(dir)?;
    for (name, count) in &found.files {
        println!("ok {name}: {count}");
    }
    if found.problems.is_empty() {
        println!("the export in {} is complete and intact", dir.display());
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &found.problems {
            eprintln!("error: {problem}");
        }
        Ok(ExitCode::FAILURE)
    }
}
