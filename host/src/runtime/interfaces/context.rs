//! `care:types/context`: the call's time and organisation, from the call's
//! context (never from the module).

use wasmtime::component::{HasSelf, Linker};

use crate::runtime::bindings::scheduling::care::types::context;
use crate::runtime::call_state::CallState;

/// Links `care:types/context`.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    context::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s)?;
    Ok(())
}

impl context::Host for CallState {
    fn now(&mut self) -> wasmtime::Result<i64> {
        Ok(self.ctx.now)
    }

    fn organisation(&mut self) -> wasmtime::Result<String> {
        Ok(self.ctx.organisation.clone())
    }
}
