//! The `patchbay` command: serve the API, make development tokens, verify the
//! audit trail, inspect modules.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use patchbay::audit::{self, Verdict};
use patchbay::config::Config;
use patchbay::identity::{DevKey, Role, dev_claims};
use patchbay::{RecordStore, inspect};

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
    },
    /// Print a development token signed with the development key the demo
    /// server trusts (made by `patchbay serve` in the data directory).
    Token {
        /// The role.
        #[arg(long, value_enum)]
        role: Role,
        /// The organisation's ODS code.
        #[arg(long, default_value = patchbay::demo::ORG)]
        org: String,
        /// The user id.
        #[arg(long, default_value = "demo-user")]
        user: String,
        /// For the patient role: the patient's NHS number.
        #[arg(long)]
        nhs_number: Option<String>,
        /// Valid for this many seconds.
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

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; report the first broken entry (exit non-zero).
    Verify {
        /// The configuration file, for the data directory.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The data directory, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
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
        } => {
            let mut config = load(config, data_dir)?;
            if let Some(listen) = listen {
                config.listen = listen;
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(patchbay::server::serve(config))?;
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
                config.identity.jwks_file.is_none(),
                "this configuration trusts a JWKS, not the development key: get tokens from its identity provider"
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
            command: AuditCommand::Verify { config, data_dir },
        } => {
            let config = load(config, data_dir)?;
            let path = config.database();
            anyhow::ensure!(
                path.exists(),
                "there is no records store at {}",
                path.display()
            );
            let store = RecordStore::open(&path)?;
            audit::init(&store)?;
            let conn = store.connection()?;
            match audit::verify(&conn)? {
                Verdict::Intact { entries } => {
                    println!("audit trail intact: {entries} entries");
                    Ok(ExitCode::SUCCESS)
                }
                Verdict::Broken { seq, reason } => {
                    println!("audit trail BROKEN at entry {seq}: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
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
