//! A module that traps, loops or eats memory is stopped and reported; the
//! host and every other module keep serving. A module gets no filesystem,
//! environment or network, and its stderr reaches the host's log.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use patchbay::CallError;
use patchbay::runtime::bundled::MERIDIAN_SCHEDULING;
use patchbay::runtime::deployment::Limits;
use patchbay::store::demo::{ORG, OTHER_ORG, PATIENTS};
use support::{Harness, booking, fixture};

const FAULTY: &str = "testing/faulty-scheduling@0.1.0";

fn faulty_limits() -> Limits {
    Limits {
        memory_bytes: 16 * 1024 * 1024,
        deadline: Duration::from_millis(200),
    }
}

/// Deploys Meridian to the demo practice and the faulty fixture to the other.
fn harness() -> Harness {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let faulty = h.prepare(FAULTY, &fixture("faulty_scheduling"), faulty_limits());
    h.runtime.slots().deploy(OTHER_ORG, faulty).expect("deploy");
    h
}

fn search(
    h: &Harness,
    org: &str,
    schedule: &str,
) -> Result<Vec<patchbay::runtime::scheduling::Slot>, CallError> {
    let mut week = h.week();
    week.schedule_id = Some(schedule.to_string());
    h.runtime
        .booking(h.ctx(org))
        .expect("module")
        .find_free_slots(&week)
}

#[test]
fn a_trap_ends_only_that_call() {
    let h = harness();
    match search(&h, OTHER_ORG, "trap") {
        Err(CallError::Trapped { module, message }) => {
            assert_eq!(module, FAULTY);
            assert!(message.contains("unreachable"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    // The same module serves the next call from a fresh instance.
    assert!(
        !search(&h, OTHER_ORG, "gp-morning")
            .expect("after the trap")
            .is_empty()
    );
    assert!(
        !search(&h, ORG, "gp-morning")
            .expect("other module")
            .is_empty()
    );
    assert_eq!(h.runtime.metrics().count(FAULTY, "trap"), 1);
}

#[test]
fn an_endless_loop_is_stopped_at_its_deadline_while_others_serve() {
    let h = harness();
    std::thread::scope(|scope| {
        let looping = scope.spawn(|| search(&h, OTHER_ORG, "loop"));
        // While the loop runs, the other practice books.
        let api = h.runtime.booking(h.ctx(ORG)).expect("module");
        let slot = api.find_free_slots(&h.week()).expect("search")[0].clone();
        api.book(&booking(&slot.id, PATIENTS[0].nhs_number))
            .expect("book during the loop");
        match looping.join().expect("thread") {
            Err(CallError::Timeout {
                module,
                deadline_ms,
            }) => {
                assert_eq!(module, FAULTY);
                assert_eq!(deadline_ms, 200);
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    });
    assert!(
        !search(&h, OTHER_ORG, "gp-morning")
            .expect("after the loop")
            .is_empty()
    );
    assert_eq!(h.runtime.metrics().count(FAULTY, "timeout"), 1);
}

#[test]
fn a_memory_hog_is_stopped_at_its_limit() {
    let h = harness();
    match search(&h, OTHER_ORG, "hog") {
        Err(CallError::OutOfMemory {
            module,
            limit_bytes,
        }) => {
            assert_eq!(module, FAULTY);
            assert_eq!(limit_bytes, 16 * 1024 * 1024);
        }
        other => panic!("expected out of memory, got {other:?}"),
    }
    assert!(
        !search(&h, OTHER_ORG, "gp-morning")
            .expect("after the hog")
            .is_empty()
    );
    assert!(
        !search(&h, ORG, "gp-morning")
            .expect("other module")
            .is_empty()
    );
}

#[test]
fn a_failed_write_call_changes_nothing() {
    // A trap after a slot was taken must not leave the slot taken: the
    // call's transaction is rolled back.
    let h = harness();
    let api = h.runtime.booking(h.ctx(OTHER_ORG)).expect("module");
    let before = api.find_free_slots(&h.week()).expect("search").len();
    let _ = search(&h, OTHER_ORG, "trap");
    let _ = search(&h, OTHER_ORG, "loop");
    assert_eq!(
        api.find_free_slots(&h.week()).expect("search").len(),
        before
    );
}

#[test]
fn modules_get_no_files_environment_or_network() {
    let h = harness();
    match search(&h, OTHER_ORG, "probe") {
        Err(CallError::Refused(outcome)) => {
            let report = outcome.diagnostics();
            assert!(report.contains("file=denied"), "{report}");
            assert!(report.contains("dir=denied"), "{report}");
            assert!(report.contains("env=0"), "{report}");
            assert!(report.contains("net=denied"), "{report}");
            assert!(report.contains("udp=denied"), "{report}");
            assert!(report.contains("args=0"), "{report}");
            assert!(
                report.contains("reference=denied"),
                "nothing granted: {report}"
            );
        }
        other => panic!("expected the probe's report, got {other:?}"),
    }
}

/// Modules that fight back: each is stopped, reported with what it did,
/// counted in the metrics, and the other practice serves throughout.
#[test]
fn recursion_host_loops_and_enormous_answers_are_contained() {
    let h = harness();
    std::thread::scope(|scope| {
        let attacks = scope.spawn(|| {
            [
                ("recurse", "trap"),
                ("host-loop", "timeout"),
                ("huge-list", "oversized"),
                ("huge-string", "out-of-memory"),
            ]
            .map(|(schedule, expected)| (schedule, expected, search(&h, OTHER_ORG, schedule)))
        });
        // The other practice books while the attacks run.
        let api = h.runtime.booking(h.ctx(ORG)).expect("module");
        for patient in PATIENTS.iter().take(3) {
            let slot = api.find_free_slots(&h.week()).expect("search")[0].clone();
            api.book(&booking(&slot.id, patient.nhs_number))
                .expect("book during the attacks");
        }
        for (schedule, expected, result) in attacks.join().expect("thread") {
            let outcome = match &result {
                // Rust's stack lives in linear memory: running out of it
                // is an out-of-bounds access, a trap.
                Err(CallError::Trapped { message, .. }) => {
                    assert!(message.contains("out of bounds"), "{schedule}: {message}");
                    "trap"
                }
                Err(CallError::Timeout { deadline_ms, .. }) => {
                    assert_eq!(*deadline_ms, 200);
                    "timeout"
                }
                Err(CallError::Oversized { items, limit, .. }) => {
                    assert_eq!((*items, *limit), (50_000, 2_000));
                    "oversized"
                }
                Err(CallError::OutOfMemory { .. }) => "out-of-memory",
                other => panic!("{schedule}: expected it stopped, got {other:?}"),
            };
            assert_eq!(outcome, expected, "{schedule}");
            assert_eq!(h.runtime.metrics().count(FAULTY, expected), 1, "{schedule}");
        }
    });
    // A fresh instance serves the next call.
    assert!(
        !search(&h, OTHER_ORG, "gp-morning")
            .expect("after")
            .is_empty()
    );
}

#[test]
fn a_granted_directory_is_readable_only_and_nothing_above_it() {
    let h = Harness::new();
    let dir =
        std::env::temp_dir().join(format!("reference-{}", patchbay::store::records::new_id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("formulary.txt"), "paracetamol\nibuprofen\n").expect("write");
    let grants = patchbay::runtime::deployment::Grants {
        directories: [("/reference".to_string(), dir.clone())].into(),
    };
    let faulty = h.prepare_with(
        FAULTY,
        &fixture("faulty_scheduling"),
        faulty_limits(),
        grants,
    );
    h.runtime.slots().deploy(OTHER_ORG, faulty).expect("deploy");
    match search(&h, OTHER_ORG, "probe") {
        Err(CallError::Refused(outcome)) => {
            let report = outcome.diagnostics();
            assert!(report.contains("reference=read 22 bytes"), "{report}");
            assert!(report.contains("write=denied"), "{report}");
            assert!(report.contains("escape=denied"), "{report}");
            assert!(report.contains("file=denied"), "{report}");
        }
        other => panic!("expected the probe's report, got {other:?}"),
    }
    assert!(
        !dir.join("new.txt").exists(),
        "the module wrote into a read-only grant"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_deployment_gets_only_what_the_manifest_requests_and_the_operator_allows() {
    let operator = patchbay::runtime::deployment::Grants {
        directories: [
            ("/reference".to_string(), std::env::temp_dir()),
            ("/secrets".to_string(), std::env::temp_dir()),
        ]
        .into(),
    };
    let requested = patchbay::lifecycle::package::RequestedGrants {
        directories: [
            ("/reference".to_string(), "the formulary".to_string()),
            (
                "/other".to_string(),
                "something the operator never allowed".to_string(),
            ),
        ]
        .into(),
    };
    let effective = operator.restricted_to(&requested);
    assert_eq!(
        effective.directories.keys().collect::<Vec<_>>(),
        vec!["/reference"]
    );
    // A grant of a directory that does not exist fails the deployment.
    let h = Harness::new();
    let module = h
        .runtime
        .compile(FAULTY.parse().expect("id"), &fixture("faulty_scheduling"))
        .expect("compile");
    let missing = patchbay::runtime::deployment::Grants {
        directories: [(
            "/reference".to_string(),
            std::path::PathBuf::from("/no/such/dir"),
        )]
        .into(),
    };
    let refused = h
        .runtime
        .prepare(module, faulty_limits(), missing)
        .err()
        .expect("refused")
        .to_string();
    assert!(refused.contains("does not exist"), "{refused}");
}

/// Captures the tracing log in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn module_stderr_reaches_the_host_log_tagged_with_the_module() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let h = harness();
    tracing::subscriber::with_default(subscriber, || {
        search(&h, OTHER_ORG, "stderr").expect("stderr call succeeds");
    });
    let log = String::from_utf8_lossy(&captured.0.lock().expect("lock")).to_string();
    let line = log
        .lines()
        .find(|l| l.contains("hello from stderr"))
        .unwrap_or_else(|| panic!("no stderr line in the log:\n{log}"));
    assert!(line.contains(FAULTY), "{line}");
}

/// A call never changes a slot: it reports a failing deployment to the
/// runtime's supervisor. A conformance run happens on a scratch runtime with
/// no supervisor, so a module failing its calls there, even one that serves
/// a real slot, never reaches the real slot's lifecycle; while the same
/// failures seen by several callers of the real slot are reported once.
#[test]
fn a_conformance_run_never_reaches_a_real_slot_and_real_failures_are_reported_once() {
    let h = harness();
    let reports = h.runtime.failure_reports();
    let serving = h
        .runtime
        .active(OTHER_ORG, patchbay::Standard::Scheduling)
        .expect("the faulty module serves");
    // A module that traps on a booking with no description: its suite's
    // calls fail, on the scratch runtime.
    for _ in 0..3 {
        let report = patchbay::lifecycle::conformance::run(
            "testing/panicky-scheduling@0.1.0".parse().expect("id"),
            &fixture("panicky_scheduling"),
            &Default::default(),
        )
        .expect("the suite runs");
        assert!(!report.passed(), "the panicky module fails its suite");
    }
    assert!(
        reports.try_recv().is_err(),
        "no conformance call reached the real runtime's supervisor"
    );
    let still = h
        .runtime
        .active(OTHER_ORG, patchbay::Standard::Scheduling)
        .expect("still served");
    assert!(Arc::ptr_eq(&serving, &still), "the real slot is untouched");
    // Real callers of the real slot: several see it trap, and it is
    // reported, once.
    for n in 0..12 {
        let mut ctx = h.ctx(OTHER_ORG);
        ctx.user = format!("clinician-{}", n % 4);
        let mut week = h.week();
        week.schedule_id = Some("trap".into());
        let result = h
            .runtime
            .booking(ctx)
            .expect("module")
            .find_free_slots(&week);
        assert!(
            matches!(result, Err(CallError::Trapped { .. })),
            "{result:?}"
        );
    }
    let report = reports.try_recv().expect("reported to the supervisor");
    assert!(Arc::ptr_eq(&report.deployment, &serving));
    assert_eq!(report.org, OTHER_ORG);
    assert!(reports.try_recv().is_err(), "only once");
    // The call itself changed nothing: acting is the supervisor's.
    let still = h
        .runtime
        .active(OTHER_ORG, patchbay::Standard::Scheduling)
        .expect("still served");
    assert!(Arc::ptr_eq(&serving, &still));
}
