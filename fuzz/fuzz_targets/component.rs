//! Arbitrary bytes given to `patchbay inspect`: a core module, a component
//! that fits a standard, one that fits none, or garbage. Any bytes must give
//! a report, never a panic.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use patchbay::lifecycle::inspect::inspect_bytes;

/// The engine `patchbay inspect` uses.
static ENGINE: LazyLock<wasmtime::Engine> = LazyLock::new(wasmtime::Engine::default);

fuzz_target!(|data: &[u8]| {
    let report = inspect_bytes(&ENGINE, "fuzzed.wasm", data);
    // A report always says what was inspected, and prints.
    assert_eq!(report.size, data.len());
    let _ = report.to_string();
});
