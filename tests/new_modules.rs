//! `patchbay new`: for each standard (scheduling, prescribing) and language
//! (Rust, Python, TypeScript), the skeleton builds from source and passes its
//! standard's conformance suite as it stands; for a standard there is no
//! skeleton of, it says so and writes nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::server::{build_python_module, build_typescript_module, conformance, root};

/// Runs `patchbay new` into a fresh directory; returns it.
fn new_module(standard: &str, lang: &str) -> PathBuf {
    let dir = support::server::Server::new_dir();
    let out = Command::new(support::server::binary())
        .args([
            "new",
            "--standard",
            standard,
            "--lang",
            lang,
            "--supplier",
            "acme",
        ])
        .arg(&dir)
        .output()
        .expect("patchbay new");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Builds a Rust skeleton for wasm32-wasip2, pinned to the workspace's
/// dependency versions, into a target directory the runs share.
fn build_rust(dir: &Path, wasm: &str) -> PathBuf {
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
    let target = root().join("target/new-modules");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("cargo build");
    assert!(
        status.success(),
        "the skeleton in {} does not build",
        dir.display()
    );
    target
        .join("wasm32-wasip2/release")
        .join(format!("{wasm}.wasm"))
}

/// Runs the conformance suite; asserts every check passes.
fn passes_conformance(wasm: &Path, id: &str) {
    let (passed, said) = conformance(wasm, id);
    assert!(passed, "{said}");
    assert!(said.contains(" 0 failed"), "{said}");
}

#[test]
fn a_rust_scheduling_skeleton_builds_and_passes_conformance() {
    let dir = new_module("scheduling", "rust");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("Your policy"), "says where the policy goes");
    let wasm = build_rust(&dir, "acme_scheduling");
    passes_conformance(&wasm, "acme/scheduling@0.1.0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rust_prescribing_skeleton_builds_and_passes_conformance() {
    let dir = new_module("prescribing", "rust");
    let wasm = build_rust(&dir, "acme_prescribing");
    passes_conformance(&wasm, "acme/prescribing@0.1.0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_python_prescribing_skeleton_builds_and_passes_conformance() {
    let dir = new_module("prescribing", "python");
    let wasm = dir.join("prescribing.wasm");
    build_python_module(&dir, &wasm);
    passes_conformance(&wasm, "acme/prescribing@0.1.0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_python_scheduling_skeleton_builds_and_passes_conformance() {
    let dir = new_module("scheduling", "python");
    let app = std::fs::read_to_string(dir.join("app.py")).expect("app.py");
    assert!(app.contains("policy"), "says where the policy goes: {app}");
    let wasm = dir.join("scheduling.wasm");
    build_python_module(&dir, &wasm);
    passes_conformance(&wasm, "acme/scheduling@0.1.0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_typescript_scheduling_skeleton_builds_and_passes_conformance() {
    let dir = new_module("scheduling", "typescript");
    let app = std::fs::read_to_string(dir.join("src/app.ts")).expect("app.ts");
    assert!(app.contains("policy"), "says where the policy goes: {app}");
    let wasm = dir.join("scheduling.wasm");
    build_typescript_module(&dir, &wasm);
    passes_conformance(&wasm, "acme/scheduling@0.1.0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_typescript_prescribing_skeleton_builds_and_passes_conformance() {
    let dir = new_module("prescribing", "typescript");
    let wasm = dir.join("prescribing.wasm");
    build_typescript_module(&dir, &wasm);
    passes_conformance(&wasm, "acme/prescribing@0.1.0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_has_no_skeleton_is_refused_and_nothing_is_written() {
    let dir = support::server::Server::new_dir();
    let out = Command::new(support::server::binary())
        .args(["new", "--standard", "referrals", "--lang", "python"])
        .arg(&dir)
        .output()
        .expect("patchbay new");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("no Python skeleton for referrals"), "{said}");
    assert!(
        said.contains("the standards are scheduling and prescribing"),
        "{said}"
    );
    assert!(!dir.exists(), "nothing was written");
}
