//! The store: the organisations' records in standard form ([`records`]),
//! on SQLite or PostgreSQL through one connection type ([`database`],
//! [`sql_value`]),
//! its schema as numbered migrations ([`migrations`]),
//! the audit trail ([`audit`]), the demo practices' seed data ([`demo`]),
//! bulk export jobs and their files ([`exports`]),
//! private files for secrets ([`private_files`]), what a failing disk
//! looks like ([`storage_fault`]), the queue of SQLite's writers
//! ([`writer_gate`]) and their checkpoints ([`checkpointer`]). It imports nothing
//! else of the host.

pub mod audit;
pub mod checkpointer;
pub mod database;
pub mod demo;
pub mod exports;
pub mod group_commit;
pub mod migrations;
pub mod private_files;
pub mod records;
pub mod sql_value;
pub mod storage_fault;
pub mod write_batch;
pub mod writer_gate;
