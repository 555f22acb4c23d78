//! Northwind Medicines Ltd's prescribing knowledge base and decision logic.
//!
//! This is the part of Northwind's module that has clinical content: a small,
//! real knowledge base of medicines used in UK primary care, and the checks
//! run on a draft prescription against it (drug interactions, adult dose
//! ranges, recorded allergies and duplicate therapy). It is plain Rust with
//! no bindings; `lib.rs` maps [`Finding`]s onto CDS Hooks cards. The
//! knowledge is `static` data compiled into the module, so nothing is parsed
//! or built when an instance starts.
//!
//! Where each part lives:
//!
//! * `medicines.rs`: the drug classes ([`Class`]) and the coded medicines
//!   with their usual adult dose ranges and BNF monographs ([`Medicine`],
//!   [`medicines()`], [`find`]).
//! * `interactions.rs`: the interacting pairs ([`Interaction`],
//!   [`interactions()`]).
//! * `allergies.rs`: the recorded-allergy codes and the cross-sensitivity
//!   between classes ([`AllergyRule`], [`allergy_rules()`]).
//! * `level.rs`: how serious a finding is ([`Level`]).
//! * `sources.rs`: the source links that several of the above cite.
//! * `assessment.rs`: the checks: a [`Draft`], the patient's [`Current`]
//!   prescriptions and [`RecordedAllergy`]s in, [`Finding`]s out
//!   ([`assess`]), with the dose rule.
//! * `tests.rs`: tests of the tables together and of whole assessments.
//!
//! This is decision support, not a prescriber: every finding explains itself
//! and names its source so that the clinician can judge it.

mod allergies;
mod assessment;
mod interactions;
mod level;
mod medicines;
mod sources;

pub use allergies::{AllergyRule, allergy_rules};
pub use assessment::{Category, Current, Draft, Finding, RecordedAllergy, Suggest, assess};
pub use interactions::{Agent, Interaction, interactions};
pub use level::Level;
pub use medicines::{Class, Medicine, dose_source_url, find, medicines, sctid_is_valid};

#[cfg(test)]
mod tests;
