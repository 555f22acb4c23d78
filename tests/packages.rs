//! Signed module packages: a supplier's key signs a component and its
//! manifest; the host accepts the package only from a trusted key, intact,
//! and implementing the world its manifest claims. Each refusal says which.
//!
//! No store engine in play: packages are read and verified before any store.

use std::path::{Path, PathBuf};
use std::process::Command;

use patchbay::lifecycle::package::{Package, SupplierKey, Trust};
use patchbay::runtime::bundled::built_path;

fn patchbay(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(args)
        .output()
        .expect("patchbay");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

const MANIFEST: &str = r#"supplier = "meridian"
name = "scheduling"
version = "1.0.0"
world = "care:scheduling/scheduling-provider@0.2.0"
description = "Books any free slot that has not started."
"#;

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir =
            std::env::temp_dir().join(format!("packages-{}", patchbay::store::records::new_id()));
        std::fs::create_dir_all(&dir).expect("dir");
        Dir(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn public_key(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("public key")
        .trim()
        .to_string()
}

#[test]
fn the_supplier_path_keygen_package_verify() {
    let dir = Dir::new();
    std::fs::write(dir.path("manifest.toml"), MANIFEST).expect("manifest");
    let (ok, text) = patchbay(&["keygen", "--out", &dir.path("meridian.key")]);
    assert!(ok, "{text}");
    let key = public_key(&dir.0.join("meridian.pub"));
    let component = built_path("meridian_scheduling").display().to_string();
    let (ok, text) = patchbay(&[
        "package",
        "--component",
        &component,
        "--manifest",
        &dir.path("manifest.toml"),
        "--key",
        &dir.path("meridian.key"),
        "--out",
        &dir.path("meridian.carepkg"),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("care:scheduling/scheduling-provider@0.2.0") && text.contains("signed"),
        "{text}"
    );
    let trust = format!("meridian={key}");
    let (ok, text) = patchbay(&["verify", &dir.path("meridian.carepkg"), "--trust", &trust]);
    assert!(ok, "{text}");
    assert!(
        text.contains("verified: meridian/scheduling@1.0.0"),
        "{text}"
    );
    // The conformance kit runs on the package too, named by its manifest.
    let (ok, text) = patchbay(&["conformance", &dir.path("meridian.carepkg")]);
    assert!(ok, "{text}");
    assert!(
        text.contains("conformance of meridian/scheduling@1.0.0"),
        "{text}"
    );
}

#[test]
fn refusals_are_distinct() {
    let dir = Dir::new();
    let component = std::fs::read(built_path("meridian_scheduling")).expect("component");
    let key = SupplierKey::generate();
    let trust = format!("meridian={}", key.public_key());
    let write = |name: &str, package: &Package| {
        std::fs::write(
            dir.path(name),
            serde_json::to_string(package).expect("json"),
        )
        .expect("write");
        dir.path(name)
    };

    // Unsigned.
    let unsigned = write(
        "unsigned.carepkg",
        &Package::build(MANIFEST, &component, None).expect("build"),
    );
    let (ok, text) = patchbay(&["verify", &unsigned, "--trust", &trust]);
    assert!(!ok);
    assert!(text.contains("the package is unsigned"), "{text}");

    // Signed by a key the host does not trust.
    let signed = Package::build(MANIFEST, &component, Some(&key)).expect("build");
    let path = write("signed.carepkg", &signed);
    let (ok, text) = patchbay(&["verify", &path]);
    assert!(!ok);
    assert!(
        text.contains("does not trust for supplier 'meridian'"),
        "{text}"
    );
    // ... or trusted for another supplier only.
    let (ok, text) = patchbay(&[
        "verify",
        &path,
        "--trust",
        &format!("bramble={}", key.public_key()),
    ]);
    assert!(!ok && text.contains("does not trust"), "{text}");
    let (ok, text) = patchbay(&["verify", &path, "--trust", &trust]);
    assert!(ok, "{text}");

    // Tampered after signing: the manifest, or the component.
    let mut tampered = signed.clone();
    tampered.manifest = tampered
        .manifest
        .replace("any free slot", "every free slot");
    let (ok, text) = patchbay(&[
        "verify",
        &write("tampered.carepkg", &tampered),
        "--trust",
        &trust,
    ]);
    assert!(!ok);
    assert!(text.contains("changed after signing"), "{text}");
    let mut swapped = signed.clone();
    swapped.component = Package::build(
        MANIFEST,
        &std::fs::read(built_path("bramble_scheduling")).expect("bramble"),
        None,
    )
    .expect("build")
    .component;
    let (ok, text) = patchbay(&[
        "verify",
        &write("swapped.carepkg", &swapped),
        "--trust",
        &trust,
    ]);
    assert!(!ok && text.contains("changed after signing"), "{text}");

    // A manifest that claims another world.
    let wrong = MANIFEST.replace(
        "care:scheduling/scheduling-provider@0.2.0",
        "care:prescribing/prescribing-provider@0.1.0",
    );
    let mismatch = write(
        "mismatch.carepkg",
        &Package::build(&wrong, &component, Some(&key)).expect("build"),
    );
    let (ok, text) = patchbay(&["verify", &mismatch, "--trust", &trust]);
    assert!(!ok);
    assert!(text.contains("claims world care:prescribing/prescribing-provider@0.1.0, but the component implements care:scheduling"), "{text}");
}

/// The demo configuration with Riverside's scheduling served from the package
/// `name` in `dir`, trusting `key` for Bramble if given.
fn serving(dir: &Dir, name: &str, key: Option<&SupplierKey>) -> patchbay::api::config::Config {
    let mut config = patchbay::api::config::Config {
        data_dir: dir.0.join("data"),
        ..Default::default()
    };
    if let Some(org) = config.organisations.get_mut(patchbay::store::demo::ORG) {
        org.modules.insert("scheduling".into(), dir.path(name));
    }
    config.trust = Trust::default();
    if let Some(key) = key {
        config
            .trust
            .suppliers
            .insert("bramble".into(), vec![key.public_key()]);
    }
    config
}

/// Writes `name` in `dir`: Bramble's component as bramble/scheduling@2.1.0,
/// signed by `key`, with `tail` at the end of its manifest.
fn bramble_package(dir: &Dir, name: &str, key: &SupplierKey, tail: &str) {
    let component = std::fs::read(built_path("bramble_scheduling")).expect("component");
    let manifest = MANIFEST
        .replace("meridian", "bramble")
        .replace("1.0.0", "2.1.0")
        + tail;
    let package = Package::build(&manifest, &component, Some(key)).expect("build");
    std::fs::write(
        dir.path(name),
        serde_json::to_string(&package).expect("json"),
    )
    .expect("write");
}

#[test]
fn the_host_serves_a_signed_package_and_refuses_an_untrusted_one() {
    let dir = Dir::new();
    let key = SupplierKey::generate();
    bramble_package(&dir, "bramble.carepkg", &key, "");
    let config = |trusted: bool| serving(&dir, "bramble.carepkg", trusted.then_some(&key));
    let runtime =
        patchbay::api::server::start(&config(true)).expect("start with a trusted package");
    let active = runtime
        .active(patchbay::store::demo::ORG, patchbay::Standard::Scheduling)
        .expect("deployed");
    assert_eq!(active.module.id.to_string(), "bramble/scheduling@2.1.0");
    drop(runtime);
    let refused = patchbay::api::server::start(&config(false))
        .err()
        .expect("refused");
    assert!(
        format!("{refused:#}").contains("does not trust for supplier 'bramble'"),
        "{refused:#}"
    );
}

/// A package named in the configuration whose manifest needs 96 MiB an
/// instance: the host does not start while the organisation's limit is the
/// default 64 MiB, and says why; with the limit raised to 128 MiB it serves
/// the module under that limit.
#[test]
fn start_up_refuses_a_configured_package_that_needs_more_than_the_limit() {
    let dir = Dir::new();
    let key = SupplierKey::generate();
    bramble_package(
        &dir,
        "roomy.carepkg",
        &key,
        "[limits]\nmemory_bytes = 100663296\n",
    );
    let refused = patchbay::api::server::start(&serving(&dir, "roomy.carepkg", Some(&key)))
        .err()
        .expect("refused");
    let said = format!("{refused:#}");
    assert!(
        said.contains("bramble/scheduling@2.1.0 cannot run under organisation Y90001's limits: it needs 96 MiB of memory an instance")
            && said.contains("the organisation's limit is 64 MiB"),
        "{said}"
    );
    let mut config = serving(&dir, "roomy.carepkg", Some(&key));
    let limits = patchbay::runtime::deployment::Limits {
        memory_bytes: 128 * 1024 * 1024,
        ..Default::default()
    };
    if let Some(org) = config.organisations.get_mut(patchbay::store::demo::ORG) {
        org.limits = Some(limits.clone());
    }
    let runtime = patchbay::api::server::start(&config).expect("starts under 128 MiB");
    let active = runtime
        .active(patchbay::store::demo::ORG, patchbay::Standard::Scheduling)
        .expect("deployed");
    assert_eq!(active.module.id.to_string(), "bramble/scheduling@2.1.0");
    assert_eq!(active.limits, limits);
}
