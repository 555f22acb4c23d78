//! `patchbay inspect` over the real binary: each bundled module names its
//! world; a core module, a component of another world and a component with
//! an import the host does not offer are each refused with the reason, and a
//! non-zero exit.
//!
//! And the ecosystem's own check, `wasm-tools component targets`, over the
//! same components and the published worlds under `wit/`: the bundled
//! modules fit their worlds, the fixtures that must be refused are, and the
//! host's verdict is the tool's for every component built. `wasm-tools` must
//! be installed (`./scripts/test` installs it); without it these tests fail
//! and say how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;

use patchbay::runtime::bundled::built_path;

fn inspect(file: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .arg("inspect")
        .arg(file)
        .output()
        .expect("run patchbay");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn bundled_modules_name_their_world() {
    for (stem, world) in [
        (
            "meridian_scheduling",
            "care:scheduling/scheduling-provider@0.2.0",
        ),
        (
            "bramble_scheduling",
            "care:scheduling/scheduling-provider@0.2.0",
        ),
        (
            "scheduling_0_1",
            "care:scheduling/scheduling-provider@0.1.0",
        ),
        (
            "northwind_prescribing",
            "care:prescribing/prescribing-provider@0.1.0",
        ),
    ] {
        let (ok, text) = inspect(&built_path(stem));
        assert!(ok, "{stem}: {text}");
        assert!(
            text.contains(&format!("world:   {world}")),
            "{stem}: {text}"
        );
        assert!(text.contains("sha256:"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.trim().starts_with("care:types/context@0.1.0")),
            "{text}"
        );
        // A module of the standard's first release is served, its calls
        // adapted to the newest.
        assert_eq!(
            text.contains("an earlier release: served, its calls adapted to care:scheduling/scheduling-provider@0.2.0"),
            world.ends_with("@0.1.0") && world.starts_with("care:scheduling/"),
            "{stem}: {text}"
        );
    }
}

#[test]
fn a_core_module_fits_no_world() {
    let dir = std::env::temp_dir().join(format!("inspect-core-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("core.wasm");
    // The smallest valid core module: magic and version only.
    std::fs::write(&file, b"\0asm\x01\0\0\0").expect("write");
    let (ok, text) = inspect(&file);
    assert!(!ok, "{text}");
    assert!(
        text.contains("core WebAssembly module, not a component"),
        "{text}"
    );
    std::fs::write(&file, b"this is not wasm").expect("write");
    let (ok, text) = inspect(&file);
    assert!(!ok && text.contains("not WebAssembly"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_component_of_another_world_fits_none() {
    let (ok, text) = inspect(&built_path("wrong_world"));
    assert!(!ok, "{text}");
    assert!(text.contains("implements no care standard"), "{text}");
    assert!(text.contains("care:scheduling/booking@0.1.0"), "{text}");
    assert!(text.contains("greet"), "names what it does export: {text}");
}

#[test]
fn an_import_the_host_does_not_offer_is_named() {
    let (ok, text) = inspect(&built_path("stray_import"));
    assert!(!ok, "{text}");
    assert!(
        text.contains("imports `fixture:spy/exfiltrate@0.1.0`"),
        "{text}"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let (ok, text) = inspect(Path::new("no/such/module.wasm"));
    assert!(!ok);
    assert!(text.contains("cannot read no/such/module.wasm"), "{text}");
}

/// The version `./scripts/test` installs.
const WASM_TOOLS_INSTALL: &str = "cargo install wasm-tools --version 1.263.0 --locked";

/// Every component the build makes: the bundled modules and the fixtures.
const BUILT: &[&str] = &[
    "meridian_scheduling",
    "bramble_scheduling",
    "northwind_prescribing",
    "faulty_scheduling",
    "wrong_world",
    "stray_import",
    "double_booker",
    "panicky_scheduling",
    "never_critical",
    "scheduling_0_1",
];

/// The standards' WIT packages, each release the host serves: (directory
/// under `wit/`, world).
const WORLDS: [(&str, &str); 3] = [
    ("scheduling", "care:scheduling/scheduling-provider@0.2.0"),
    (
        "scheduling-0.1.0",
        "care:scheduling/scheduling-provider@0.1.0",
    ),
    ("prescribing", "care:prescribing/prescribing-provider@0.1.0"),
];

fn wit_dir(standard: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("wit")
        .join(standard)
}

/// Runs `wasm-tools component targets --semver-compatible` for a component
/// against a standard's world, as a supplier would; fails the test, saying
/// how to install the tool, when it is missing.
fn targets(component: &Path, standard: &str, world: &str) -> (bool, String) {
    run_targets(component, standard, world, &["--semver-compatible"])
}

/// The same check with exact versions: every import must name the world's
/// version itself.
fn targets_exactly(component: &Path, standard: &str, world: &str) -> (bool, String) {
    run_targets(component, standard, world, &[])
}

fn run_targets(component: &Path, standard: &str, world: &str, flags: &[&str]) -> (bool, String) {
    let output = Command::new("wasm-tools")
        .args(["component", "targets"])
        .args(flags)
        .args(["--world", world])
        .arg(wit_dir(standard))
        .arg(component)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run wasm-tools ({e}): these tests check modules with it; \
                 install it with `{WASM_TOOLS_INSTALL}` (./scripts/test does this when it is missing)"
            )
        });
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn bundled_modules_fit_their_published_world_by_wasm_tools() {
    for (stem, release) in [
        ("meridian_scheduling", 0),
        ("bramble_scheduling", 0),
        ("scheduling_0_1", 1),
        ("northwind_prescribing", 2),
    ] {
        let (dir, world) = WORLDS[release];
        let (ok, text) = targets(&built_path(stem), dir, world);
        assert!(ok, "{stem} does not target {world}: {text}");
        // Built with the SDK, from the same WIT, they name the world's own
        // versions, so even the exact check passes.
        let (ok, text) = targets_exactly(&built_path(stem), dir, world);
        assert!(ok, "{stem} does not target {world} exactly: {text}");
        for (other_dir, other_world) in WORLDS.iter().filter(|(d, _)| *d != dir) {
            let (ok, text) = targets(&built_path(stem), other_dir, other_world);
            assert!(!ok, "{stem} must not target {other_world}: {text}");
        }
    }
}

#[test]
fn a_stray_import_is_refused_by_wasm_tools_and_named() {
    let (dir, world) = WORLDS[0];
    let (ok, text) = targets(&built_path("stray_import"), dir, world);
    assert!(!ok, "stray_import must not target {world}: {text}");
    assert!(text.contains("fixture:spy/exfiltrate"), "{text}");
}

#[test]
fn a_component_of_another_world_is_refused_by_wasm_tools() {
    for (dir, world) in WORLDS {
        let (ok, text) = targets(&built_path("wrong_world"), dir, world);
        assert!(!ok, "wrong_world must not target {world}: {text}");
    }
}

/// The host judges as the tool does: for every component built, `patchbay
/// inspect` accepts it exactly when it targets the world of the standard it
/// names, or of either standard when it names none.
#[test]
fn the_host_agrees_with_wasm_tools_on_every_built_component() {
    for stem in BUILT {
        let file = built_path(stem);
        let (host_ok, report) = inspect(&file);
        let fits: Vec<&str> = WORLDS
            .iter()
            .filter(|(dir, world)| targets(&file, dir, world).0)
            .map(|(_, world)| *world)
            .collect();
        assert_eq!(
            host_ok,
            !fits.is_empty(),
            "{stem}: wasm-tools says it targets {fits:?}, the host says:\n{report}"
        );
        for world in fits {
            assert!(
                report.contains(&format!("world:   {world}")),
                "{stem}: wasm-tools says it targets {world}, the host says:\n{report}"
            );
        }
    }
}

#[test]
fn inspect_marks_the_import_outside_the_world_and_says_how_to_check() {
    let (ok, text) = inspect(&built_path("stray_import"));
    assert!(!ok, "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim() == "fixture:spy/exfiltrate@0.1.0  (not in the world)"),
        "{text}"
    );
    assert!(
        text.contains("wasm-tools component targets --semver-compatible wit/scheduling"),
        "{text}"
    );
    // Every other import is one of the world's.
    assert_eq!(text.matches("(not in the world)").count(), 1, "{text}");
}

/// Copies a built module with every `from` in its bytes replaced by `to`, of
/// the same length, so it stays a valid component: the same module, as if
/// built against other versions of the interfaces.
fn reversioned(stem: &str, from: &str, to: &str, dir: &Path) -> PathBuf {
    assert_eq!(from.len(), to.len(), "a rewrite must keep the length");
    let bytes = std::fs::read(built_path(stem)).expect("read the built module");
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let mut replaced = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
            replaced += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    assert!(
        replaced > 0,
        "{stem} has no {}",
        String::from_utf8_lossy(from)
    );
    let name: String = String::from_utf8_lossy(to)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let file = dir.join(format!("{stem}{name}.wasm"));
    std::fs::write(&file, out).expect("write the rewritten module");
    file
}

/// Versions are matched as the tool matches them with `--semver-compatible`
/// (and as the host's linker links them): an older WASI 0.2 patch, or a later
/// release of the same 0.1 standard, fits and links; another track is refused
/// by both, and the host names the import.
#[test]
fn versions_match_on_their_semver_track_as_wasm_tools_matches_them() {
    let dir = std::env::temp_dir().join(format!("inspect-versions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (store, _scratch) = patchbay::RecordStore::scratch().expect("scratch store");
    let runtime =
        patchbay::Runtime::new(store, &patchbay::EngineSettings::default()).expect("runtime");
    let (wit, world) = WORLDS[0];
    for (from, to, fits) in [
        ("@0.2.12", "@0.2.10", true),
        (
            "care:scheduling/records@0.2.0",
            "care:scheduling/records@0.2.7",
            true,
        ),
        (
            "care:scheduling/records@0.2.0",
            "care:scheduling/records@1.2.0",
            false,
        ),
        // A 0.2.0 module that imports the first release's records is
        // neither release's module.
        (
            "care:scheduling/records@0.2.0",
            "care:scheduling/records@0.1.0",
            false,
        ),
        ("wasi:io/poll@0.2.12", "wasi:io/poll@0.3.12", false),
    ] {
        let file = reversioned("meridian_scheduling", from, to, &dir);
        let (tool_ok, tool_text) = targets(&file, wit, world);
        assert_eq!(tool_ok, fits, "{to}: wasm-tools says {tool_text}");
        let (exact_ok, _) = targets_exactly(&file, wit, world);
        assert!(
            !exact_ok,
            "{to}: the exact check wants the world's versions"
        );
        let (host_ok, report) = inspect(&file);
        assert_eq!(host_ok, fits, "{to}: the host says\n{report}");
        if fits {
            let bytes = std::fs::read(&file).expect("read");
            let module = runtime
                .compile("test/versions@1.0.0".parse().expect("id"), &bytes)
                .expect("compile");
            runtime
                // Default limits, and no grants.
                .prepare(module, Default::default(), Default::default())
                .unwrap_or_else(|e| panic!("{to}: the host must link it: {e}"));
        } else {
            assert!(
                report.contains(&format!("imports `{to}`")),
                "{to}: {report}"
            );
            assert!(report.contains("the world has `"), "{to}: {report}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
