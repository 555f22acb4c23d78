//! `patchbay inspect` over the real binary: each bundled module names its
//! world; a core module, a component of another world and a component with
//! an import the host does not offer are each refused with the reason, and a
//! non-zero exit.

use std::path::Path;
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
            "care:scheduling/scheduling-provider@0.1.0",
        ),
        (
            "bramble_scheduling",
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
