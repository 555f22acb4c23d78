//! The `patchbay` command: run the host, inspect modules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use patchbay::inspect;

/// Patchbay: run supplier modules against open care standards, and swap them
/// at runtime without moving the records.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Inspect { file, json } => {
            let engine = wasmtime::Engine::default();
            let report = inspect::inspect(&engine, &file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(if report.fits() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
