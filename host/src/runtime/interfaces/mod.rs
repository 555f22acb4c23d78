//! The host interfaces a module may import, one file each. Each says how it
//! links (engine lifetime), what it takes from a deployment's grants
//! (deployment lifetime), and what it does with the call's state (call
//! lifetime). Adding a standard means adding files here, not editing a switch.

pub mod context;
pub mod patients;
pub mod prescribing_records;
pub mod scheduling_0_1;
pub mod scheduling_records;
pub mod wasi;

use wasmtime::component::Linker;

use crate::runtime::call_state::CallState;

/// Adds every host interface to the engine's linker.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    wasi::add_to_linker(linker)?;
    context::add_to_linker(linker)?;
    patients::add_to_linker(linker)?;
    scheduling_records::add_to_linker(linker)?;
    scheduling_0_1::add_to_linker(linker)?;
    prescribing_records::add_to_linker(linker)?;
    Ok(())
}

/// The most slots one read of the records returns: a module never lifts
/// more into its memory, however wide the period it asks for.
pub const MAX_SLOTS_READ: usize = 2_000;

/// The most rows one read of a patient's records returns (appointments,
/// medication requests, allergies): every live one first, then the most
/// recent. A patient cannot make their own record unreadable by piling up
/// cancelled bookings.
pub const MAX_PATIENT_ROWS_READ: usize = 500;

/// A failure of the host itself (the store) during a module's call into a
/// host interface. It ends the call as a host error, not the module's fault.
#[derive(Debug, thiserror::Error)]
#[error("records store failure: {0:#}")]
pub struct HostFault(pub anyhow::Error);

/// Wraps a store error as a [`HostFault`] that ends the call.
pub(crate) fn fault(error: impl Into<anyhow::Error>) -> wasmtime::Error {
    wasmtime::Error::new(HostFault(error.into()))
}

/// Whether a SQLite error is a uniqueness violation.
pub(crate) fn is_unique_violation(error: &crate::store::database::DbError) -> bool {
    error.is_unique_violation()
}
