//! A configuration file, read as `patchbay serve --config` reads it: TOML,
//! unknown keys refused, every limit checked. Any text must give a
//! configuration or an error naming the file, never a panic.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use patchbay::api::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("fuzzed.toml")) {
        Ok(config) => {
            // What was accepted is usable: its paths and base URL derive.
            let _ = config.audit_paths();
            let _ = config.fhir_base();
        }
        Err(e) => assert!(format!("{e:#}").contains("fuzzed.toml"), "{e:#}"),
    }
});
