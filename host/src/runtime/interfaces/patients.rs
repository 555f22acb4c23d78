//! `care:types/patients`: the organisation's registered patients.

use wasmtime::component::{HasSelf, Linker};

use crate::runtime::bindings::scheduling::care::types::patients::{self, Patient};
use crate::runtime::call_state::CallState;
use crate::runtime::interfaces::fault;

/// Links `care:types/patients`.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    patients::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s)?;
    Ok(())
}

/// Looks up a registered patient of an organisation.
pub fn lookup(
    db: &crate::store::database::Connection,
    org: &str,
    nhs_number: &str,
) -> Result<Option<Patient>, crate::store::database::DbError> {
    db.query_opt(
        "SELECT nhs_number, name, birth_date FROM patients WHERE org = ?1 AND nhs_number = ?2",
        &[&org, &nhs_number],
    )?
    .map(|row| {
        Ok(Patient {
            nhs_number: row.get(0)?,
            name: row.get(1)?,
            birth_date: row.get(2)?,
        })
    })
    .transpose()
}

/// The patients registered with an organisation, by NHS number, at most
/// `max`.
pub fn registered(
    db: &crate::store::database::Connection,
    org: &str,
    max: usize,
) -> Result<Vec<Patient>, crate::store::database::DbError> {
    db.query_at_most(
        "SELECT nhs_number, name, birth_date FROM patients WHERE org = ?1 ORDER BY nhs_number",
        &[&org],
        max,
    )?
    .iter()
    .map(|row| {
        Ok(Patient {
            nhs_number: row.get(0)?,
            name: row.get(1)?,
            birth_date: row.get(2)?,
        })
    })
    .collect()
}

impl patients::Host for CallState {
    fn lookup(&mut self, nhs_number: String) -> wasmtime::Result<Option<Patient>> {
        lookup(&self.db, &self.ctx.organisation, &nhs_number).map_err(fault)
    }
}
