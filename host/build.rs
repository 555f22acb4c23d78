//! Builds the bundled modules and the test fixtures from source for
//! `wasm32-wasip2`, with a nested cargo into its own target directory, and
//! tells the host where they are. Installs the target with rustup if it is
//! missing, so a fresh clone needs no set-up.
//!
//! It also reads each standard's provider world from `wit/` and writes what a
//! module of it may import and must export to `$OUT_DIR/worlds.rs`, so the
//! deploy check judges modules by the published WIT itself, not by a second,
//! hand-written list.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use wit_parser::{Resolve, WorldItem};

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

/// Modules built against an earlier release of a standard, with the SDK's
/// bindings of that release: built in a cargo run of their own.
const FIRST_RELEASE_PACKAGES: &[&str] = &["scheduling-0-1"];

/// Builds wasm packages of the workspace for `wasm32-wasip2`, in release, in
/// one nested cargo run into `target_dir`.
fn build_wasm(root: &Path, target_dir: &Path, packages: &[&str]) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"));
    for package in packages {
        cmd.arg("--package").arg(package);
    }
    cmd.env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let status = cmd.status().expect("cannot run cargo to build the modules");
    if !status.success() {
        panic!("building the modules for {TARGET} failed: see the errors above");
    }
}

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

    write_worlds(&root);
    ensure_target();

    let target_dir = root.join("target").join("wasm");
    build_wasm(&root, &target_dir, PACKAGES);
    // Alone: it asks the SDK for the first release's bindings, which must
    // not reach the other modules' builds through cargo's feature
    // unification.
    build_wasm(&root, &target_dir, FIRST_RELEASE_PACKAGES);

    let out = target_dir.join(TARGET).join("release");
    for package in PACKAGES.iter().chain(FIRST_RELEASE_PACKAGES) {
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

/// The standards' provider worlds: the constant to write, the standard it is
/// a release of, the release's WIT package directory (with its `deps`), and
/// the world's name in it. `wit/<function>` holds each standard's newest
/// release; `wit/<function>-<version>` an earlier one the host still serves.
const WORLDS: &[(&str, &str, &str, &str)] = &[
    (
        "SCHEDULING",
        "Scheduling",
        "wit/scheduling",
        "scheduling-provider",
    ),
    (
        "SCHEDULING_0_1",
        "Scheduling",
        "wit/scheduling-0.1.0",
        "scheduling-provider",
    ),
    (
        "PRESCRIBING",
        "Prescribing",
        "wit/prescribing",
        "prescribing-provider",
    ),
];

/// Writes `$OUT_DIR/worlds.rs`: one `World` constant per provider world,
/// with its full name, the names of its imports as a component carries them
/// (e.g. `wasi:io/poll@0.2.12`), in WIT order, and the one interface it
/// exports. WIT features marked `@unstable` stay off, as in `wasm-tools`.
fn write_worlds(root: &Path) {
    let mut out = String::from("// Written by the build script from `wit/`; do not edit.\n");
    for (constant, standard, dir, world) in WORLDS {
        let mut resolve = Resolve::default();
        let (package, _) = resolve
            .push_path(root.join(dir))
            .unwrap_or_else(|e| panic!("cannot read the WIT in {dir}: {e:#}"));
        let id = resolve
            .select_world(&[package], Some(world))
            .unwrap_or_else(|e| panic!("{dir} has no world {world}: {e:#}"));
        let w = &resolve.worlds[id];
        let imports: Vec<String> = w
            .imports
            .keys()
            .map(|key| resolve.name_world_key(key))
            .collect();
        let exports: Vec<String> = w
            .exports
            .keys()
            .map(|key| resolve.name_world_key(key))
            .collect();
        let one_interface = matches!(
            w.exports.values().collect::<Vec<_>>().as_slice(),
            [WorldItem::Interface { .. }]
        );
        let ([export], true) = (exports.as_slice(), one_interface) else {
            panic!(
                "the provider world {world} in {dir} must export exactly one interface, not {exports:?}"
            );
        };
        let name = resolve.id_of_name(
            w.package
                .expect("a world read from a package belongs to it"),
            &w.name,
        );
        writeln!(
            out,
            "/// `{name}`, as `{dir}` publishes it.\n\
             pub(crate) const {constant}: World = World {{\n    \
             standard: Standard::{standard},\n    \
             name: {name:?},\n    \
             dir: {dir:?},\n    \
             imports: &{imports:?},\n    \
             export: {export:?},\n}};"
        )
        .expect("writing to a string cannot fail");
    }
    let file = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("worlds.rs");
    std::fs::write(&file, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
}
