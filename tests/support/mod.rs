//! Shared set-up for the end-to-end tests: a runtime over a scratch store
//! seeded with the demo practices, and the bundled modules and fixtures
//! built from source.

#![allow(dead_code)]

pub mod database;
pub mod server;

use std::sync::Arc;

use patchbay::runtime::bundled::{self, Bundled};
use patchbay::runtime::call_state::now_ms;
use patchbay::runtime::deployment::{Deployment, Grants, Limits};
use patchbay::runtime::scheduling::{Slot, SlotSearch};
use patchbay::store::demo;
use patchbay::store::records::ScratchFile;
use patchbay::{CallContext, EngineSettings, RecordStore, Runtime};
use patchbay_sdk::time::{DAY, HOUR};

/// A runtime over a fresh, seeded store.
pub struct Harness {
    pub runtime: Runtime,
    pub now: i64,
    _scratch: Option<ScratchFile>,
    _database: Option<database::TestDatabase>,
}

impl Harness {
    /// A runtime with the demo practices seeded and nothing deployed.
    pub fn new() -> Harness {
        let database = database::TestDatabase::for_this_run();
        let (store, scratch) = match &database {
            Some(db) => (RecordStore::open_at(&db.location()).expect("store"), None),
            None => {
                let (store, scratch) = RecordStore::scratch().expect("scratch store");
                (store, Some(scratch))
            }
        };
        let now = now_ms();
        demo::seed(&store, now).expect("seed");
        let runtime = Runtime::new(store, &EngineSettings::default()).expect("runtime");
        Harness {
            runtime,
            now,
            _scratch: scratch,
            _database: database,
        }
    }

    /// Compiles and links a module, granted nothing.
    pub fn prepare(&self, id: &str, bytes: &[u8], limits: Limits) -> Arc<Deployment> {
        self.prepare_with(id, bytes, limits, Grants::default())
    }

    /// Compiles and links a module with grants.
    pub fn prepare_with(
        &self,
        id: &str,
        bytes: &[u8],
        limits: Limits,
        grants: Grants,
    ) -> Arc<Deployment> {
        let module = self
            .runtime
            .compile(id.parse().expect("module id"), bytes)
            .expect("compile");
        self.runtime
            .prepare(module, limits, grants)
            .expect("prepare")
    }

    /// Deploys a bundled module to an organisation's slot.
    pub fn deploy(&self, org: &str, bundled: Bundled) -> Arc<Deployment> {
        let deployment = self.prepare(bundled.id, bundled.bytes, Limits::default());
        self.runtime
            .slots()
            .deploy(org, deployment.clone())
            .expect("deploy");
        deployment
    }

    /// A clinician's call context in an organisation, at the harness's now.
    pub fn ctx(&self, org: &str) -> CallContext {
        CallContext {
            organisation: org.to_string(),
            user: "test-clinician".to_string(),
            user_display: Some("Test Clinician".to_string()),
            now: self.now,
        }
    }

    /// A search for the next seven days from now.
    pub fn week(&self) -> SlotSearch {
        SlotSearch {
            period: patchbay::runtime::bindings::Period {
                start: self.now,
                end: self.now + 7 * DAY,
            },
            service_type: None,
            schedule_id: None,
            limit: None,
        }
    }

    /// Free slots Meridian-style (every free future slot) read straight from
    /// the store, starting at least `notice_hours` from now.
    pub fn free_slots_in_store(&self, org: &str, notice_hours: i64) -> Vec<Slot> {
        let conn = self.runtime.records().connection().expect("connection");
        let query = patchbay::runtime::scheduling::SlotQuery {
            period: patchbay::runtime::bindings::Period {
                start: self.now + notice_hours * HOUR,
                end: self.now + 7 * DAY,
            },
            schedule_id: None,
            service_type: None,
            status: Some(patchbay::runtime::scheduling::SlotStatus::Free),
            limit: None,
        };
        patchbay::runtime::interfaces::scheduling_records::slots(&conn, org, &query).expect("slots")
    }
}

/// The bytes of a fixture built from `tests/fixtures`.
pub fn fixture(file_stem: &str) -> Vec<u8> {
    std::fs::read(bundled::built_path(file_stem)).expect("fixture built by the host's build script")
}

/// A booking request.
pub fn booking(slot_id: &str, patient: &str) -> patchbay::runtime::scheduling::BookingRequest {
    patchbay::runtime::scheduling::BookingRequest {
        slot_id: slot_id.to_string(),
        patient: patient.to_string(),
        description: Some("Review of blood pressure".to_string()),
        comment: None,
    }
}
