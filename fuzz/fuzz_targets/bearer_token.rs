//! A bearer token from anyone, verified as every authenticated request
//! verifies it: its three base64 parts, its header (algorithm, key id), its
//! claims and its signature. Any text must give a principal or a refusal,
//! never a panic; and nothing unsigned by a trusted key gets through.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use patchbay::api::config::Config;
use patchbay::api::identity::Verifier;

/// A development-mode host's verifier, over its own data directory.
static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("patchbay-fuzz-token-{}", std::process::id()));
    let config = Config {
        data_dir: dir,
        ..Config::default()
    };
    Verifier::new(&config).expect("a development verifier starts")
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(principal) = VERIFIER.verify(token) {
        // Only a token signed by the development key verifies, and the
        // fuzzer cannot sign: a principal here means a forged token passed.
        panic!("a token the fuzzer made was accepted: {principal:?}");
    }
});
