//! The store: the organisations' records in standard form ([`records`]),
//! its schema as numbered migrations ([`migrations`]),
//! the audit trail ([`audit`]), the demo practices' seed data ([`demo`]),
//! private files for secrets ([`private_files`]), and what a failing disk
//! looks like ([`storage_fault`]). It imports nothing
//! else of the host.

pub mod audit;
pub mod demo;
pub mod migrations;
pub mod private_files;
pub mod records;
pub mod storage_fault;
