//! WASI 0.2, granted nothing by default: no preopened directories, no
//! sockets (every address is refused), no environment, no arguments, an empty
//! stdin, stdout discarded, and stderr sent to the host's log tagged with the
//! module. A deployment's grants add read-only directories, nothing else.
//! Modules built with the standard library import these interfaces even when
//! unused, so the whole set is linked.

use wasmtime::component::Linker;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use crate::runtime::call_state::CallState;
use crate::runtime::deployment::Grants;
use crate::runtime::module_log::ModuleLog;

/// Links every WASI 0.2 interface.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    Ok(())
}

/// The WASI context of one call: what the deployment's grants open, and
/// nothing else.
pub fn context(grants: &Grants, stderr: ModuleLog) -> anyhow::Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    for (guest, host) in &grants.directories {
        builder
            .preopened_dir(host, guest, wasmtime_wasi::FsPerms::ReadOnly)
            .map_err(anyhow::Error::from)
            .map_err(|e| e.context(format!("cannot open the directory granted as {guest}")))?;
    }
    builder
        .stdin(tokio::io::empty())
        .stdout(tokio::io::empty())
        .stderr(stderr)
        .allow_ip_name_lookup(false)
        .allow_tcp(false)
        .allow_udp(false);
    Ok(builder.build())
}
