//! A module package (`care-package/1`) from a stranger: its JSON envelope,
//! its TOML manifest, its base64 component and its signature block, read and
//! verified as `POST /admin/modules` and `patchbay verify` do. Any bytes must
//! give a package or an error, never a panic.

#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use patchbay::lifecycle::package::{Package, SupplierKey, Trust};

/// A host that trusts one supplier's key, as a configured host does.
static TRUST: LazyLock<Trust> = LazyLock::new(|| Trust {
    suppliers: BTreeMap::from([(
        "meridian".to_string(),
        vec![SupplierKey::generate().public_key()],
    )]),
    allow_unsigned: false,
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(package) = Package::parse(text) else {
        return;
    };
    if let Ok(manifest) = package.manifest() {
        let _ = manifest.module_id();
    }
    let _ = package.component();
    let _ = package.verify(&TRUST, false);
    let _ = package.verify(&TRUST, true);
});
