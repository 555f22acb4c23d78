//! Builds the bundled modules and the test fixtures from source for
//! `wasm32-wasip2`, with a nested cargo into its own target directory, and
//! tells the host where they are. Installs the target with rustup if it is
//! missing, so a fresh clone needs no set-up.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// Every wasm package of the workspace: the bundled modules and the fixtures.
const PACKAGES: &[&str] = &[
    "meridian-scheduling",
    "bramble-scheduling",
    "northwind-prescribing",
    "faulty-scheduling",
    "wrong-world",
    "stray-import",
    "double-booker",
    "panicky-scheduling",
    "never-critical",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("the host crate sits in the workspace")
        .to_path_buf();
    for dir in ["modules", "sdk", "wit", "tests/fixtures", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    ensure_target();

    let target_dir = root.join("target").join("wasm");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"));
    for package in PACKAGES {
        cmd.arg("--package").arg(package);
    }
    cmd.env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let status = cmd.status().expect("cannot run cargo to build the modules");
    if !status.success() {
        panic!("building the modules for {TARGET} failed: see the errors above");
    }

    let out = target_dir.join(TARGET).join("release");
    for package in PACKAGES {
        let file = out.join(format!("{}.wasm", package.replace('-', "_")));
        assert!(
            file.exists(),
            "the build did not produce {}",
            file.display()
        );
    }
    println!("cargo:rustc-env=PATCHBAY_WASM_DIR={}", out.display());
}

/// Adds the wasm32-wasip2 target with rustup if the toolchain lacks it.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let installed = sysroot
        .map(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists())
        .unwrap_or(false);
    if installed {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    match status {
        Ok(s) if s.success() => {}
        _ => panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed: install it by hand"
        ),
    }
}
