//! The cost of one module call through the host (fresh instance + call +
//! transaction), beside the same logic compiled natively, in the same run.
//!
//! - `trivial`: a call that returns at once: the bare cost of the host path,
//!   then its pieces (the store, the WASI context, the instance without the
//!   call, and the instance and call through wasmtime's generated bindings,
//!   which type-check every export per instance) and the engine's own floor
//!   (a minimal component with no imports,
//!   with one page of memory and with seventeen).
//! - `slot-search`: Meridian's find-free-slots for a week, ten slots (the
//!   API's `_count=10`), against the same store query run natively.
//! - `prescribing-check`: Northwind's check of an interacting draft, against
//!   the same store reads and knowledge base run natively.
//! - `prescribing-check-by-language`: the same check through the host by
//!   Northwind's module (Rust) and Heron's (Python, built from source by
//!   `sdk/python/build`), each on an organisation seeded alike.
//! - `scheduling-by-language`: the same scheduling logic in Rust, TypeScript
//!   and Python (Meridian's policy, which is the least the standard allows:
//!   every free slot that has not started; the TypeScript and Python
//!   modules are the skeletons `patchbay new` writes, built from source), a
//!   trivial call (reading an unknown appointment) and a ten-slot search.
//!   Printed beside it: each component's size, and the linear memory one
//!   instance holds after a call.
//!
//! Run with `cargo bench -p patchbay --bench calls`; figures and the machine
//! are in `docs/benchmarks.md`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use patchbay::lifecycle::scaffold::{self, Language, NewModule};
use patchbay::runtime::bindings::{Coding, Period};
use patchbay::runtime::bundled::{MERIDIAN_SCHEDULING, NORTHWIND_PRESCRIBING, built_path};
use patchbay::runtime::call_state::{CallState, now_ms};
use patchbay::runtime::client::Provider;
use patchbay::runtime::deployment::{Deployment, Grants, Limits};
use patchbay::runtime::interfaces::{patients, prescribing_records, scheduling_records};
use patchbay::runtime::module_log::ModuleLog;
use patchbay::runtime::prescribing::{Dosage, Draft, RequestIntent, RequestStatus};
use patchbay::runtime::scheduling::{
    SchedulingInstance, SchedulingModule, SlotQuery, SlotSearch, SlotStatus,
};
use patchbay::store::demo::{self, ORG, PATIENTS};
use patchbay::{CallContext, EngineSettings, RecordStore, Runtime};
use patchbay_sdk::time::DAY;

fn runtime() -> (Runtime, patchbay::store::records::ScratchFile, i64) {
    let (store, scratch) = RecordStore::scratch().expect("store");
    let now = now_ms();
    demo::seed(&store, now).expect("seed");
    let runtime = Runtime::new(store, &EngineSettings::default()).expect("runtime");
    for (org, id, bytes) in [
        (
            ORG,
            MERIDIAN_SCHEDULING.id,
            MERIDIAN_SCHEDULING.bytes.to_vec(),
        ),
        (
            ORG,
            NORTHWIND_PRESCRIBING.id,
            NORTHWIND_PRESCRIBING.bytes.to_vec(),
        ),
        (
            demo::OTHER_ORG,
            "testing/faulty-scheduling@0.1.0",
            std::fs::read(built_path("faulty_scheduling")).expect("fixture"),
        ),
    ] {
        let module = runtime
            .compile(id.parse().expect("id"), &bytes)
            .expect("compile");
        let deployment = runtime
            .prepare(module, Limits::default(), Grants::default())
            .expect("link");
        runtime.slots().deploy(org, deployment).expect("deploy");
    }
    (runtime, scratch, now)
}

/// A store for one call to a deployment, as the host makes it: the call's
/// connection, the deployment's grants, memory limit and deadline.
fn store_for(
    runtime: &Runtime,
    deployment: &Deployment,
    org: &str,
    now: i64,
) -> wasmtime::Store<CallState> {
    let db = runtime.records().connection().expect("connection");
    let log = ModuleLog::new(deployment.module.label.clone());
    let wasi = patchbay::runtime::interfaces::wasi::context(&deployment.grants, log).expect("wasi");
    let state = CallState::new(ctx(org, now), db, deployment.limits.memory_bytes, wasi);
    state.into_store(
        runtime.engine(),
        runtime.deadline_ticks(deployment.limits.deadline),
    )
}

/// Writes the scheduling skeleton `patchbay new` writes for `language` into
/// `target/bench-modules/NAME` and builds it from source with the
/// language's build script; its bytes.
fn scheduling_skeleton(language: Language, name: &str, build: &str) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("target/bench-modules").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let sdk = root.join("sdk");
    let module = NewModule {
        standard: "scheduling",
        language,
        supplier: "bench",
        name: "scheduling",
        sdk: &sdk,
    };
    scaffold::write(&module, &dir).expect("the skeleton");
    let out = dir.join("scheduling.wasm");
    let built = std::process::Command::new(root.join(build))
        .arg(&dir)
        .arg(&out)
        .status()
        .expect(build);
    assert!(built.success(), "{build} failed");
    std::fs::read(&out).expect("the built skeleton")
}

/// The linear memory one instance of the organisation's scheduling module
/// holds after a trivial call.
fn memory_per_instance(runtime: &Runtime, org: &str, now: i64) -> usize {
    let deployment = runtime
        .active(org, patchbay::Standard::Scheduling)
        .expect("deployed");
    let mut store = store_for(runtime, &deployment, org, now);
    let instance = SchedulingModule::instantiate(&deployment, &mut store).expect("instantiate");
    let SchedulingInstance::Newest(instance) = instance else {
        panic!("the newest release")
    };
    let answer = instance
        .call(&mut store, |f| f.read, ("no-such-appointment",))
        .expect("call");
    assert!(answer.is_err(), "an unknown appointment is not found");
    store.data().memory_bytes()
}

fn ctx(org: &str, now: i64) -> CallContext {
    CallContext {
        organisation: org.to_string(),
        user: "bench".to_string(),
        user_display: None,
        now,
    }
}

fn benches(c: &mut Criterion) {
    let (runtime, _scratch, now) = runtime();
    let week = SlotSearch {
        period: Period {
            start: now,
            end: now + 7 * DAY,
        },
        service_type: None,
        schedule_id: None,
        limit: None,
    };

    let mut trivial = c.benchmark_group("trivial");
    let noop = SlotSearch {
        schedule_id: Some("noop".into()),
        ..week.clone()
    };
    trivial.bench_function("host", |b| {
        b.iter(|| {
            let api = runtime.booking(ctx(demo::OTHER_ORG, now)).expect("module");
            black_box(api.find_free_slots(&noop).expect("noop"))
        })
    });
    // The engine's share alone: a store, a fresh instance from the
    // pre-instantiated component, the call; no transaction, no pool.
    let faulty = runtime
        .active(demo::OTHER_ORG, patchbay::Standard::Scheduling)
        .expect("deployed");
    let patchbay::runtime::deployment::Pre::Scheduling(pre) = &faulty.pre else {
        panic!("scheduling")
    };
    trivial.bench_function("instantiate+call", |b| {
        b.iter(|| {
            let mut store = store_for(&runtime, &faulty, demo::OTHER_ORG, now);
            let instance = pre.instantiate(&mut store).expect("instantiate");
            black_box(
                instance
                    .call(&mut store, |f| f.find_free_slots, (&noop,))
                    .expect("call"),
            )
        })
    });
    // The same through the bindings wasmtime generates, which type-check
    // every export of the interface on every instance: what checking them
    // once per deployment (`runtime::export`) saves.
    let generated = patchbay::runtime::bindings::scheduling::SchedulingProviderPre::new(
        pre.instance_pre().clone(),
    )
    .expect("pre");
    trivial.bench_function("instantiate+call-generated-bindings", |b| {
        b.iter(|| {
            let mut store = store_for(&runtime, &faulty, demo::OTHER_ORG, now);
            let instance = generated.instantiate(&mut store).expect("instantiate");
            black_box(
                instance
                    .care_scheduling_booking()
                    .call_find_free_slots(&mut store, &noop)
                    .expect("call"),
            )
        })
    });
    // The floor, piece by piece (#13): what the store alone costs (its
    // connection, WASI context and limiter), the WASI context alone, and the
    // instance without the call.
    trivial.bench_function("store", |b| {
        b.iter(|| black_box(store_for(&runtime, &faulty, demo::OTHER_ORG, now)))
    });
    trivial.bench_function("wasi-context", |b| {
        b.iter(|| {
            let log = ModuleLog::new(faulty.module.label.clone());
            black_box(
                patchbay::runtime::interfaces::wasi::context(&faulty.grants, log).expect("wasi"),
            )
        })
    });
    trivial.bench_function("store+instantiate", |b| {
        b.iter(|| {
            let mut store = store_for(&runtime, &faulty, demo::OTHER_ORG, now);
            black_box(pre.instantiate(&mut store).expect("instantiate"));
        })
    });
    // The engine's own floor, on the host's engine (its pool, epochs and
    // copy-on-write memory): a component with no imports and one core
    // instance, called once; then the same with 17 pages of memory whose top
    // page the call writes, as a Rust guest's stack is (1 MiB of stack, then
    // its data).
    for (name, memory_pages, touch) in [
        ("minimal-component", 1, 16),
        ("minimal-component-17-pages", 17, 17 * 65536 - 16),
    ] {
        let engine = runtime.engine();
        let wat = format!(
            r#"(component
                (core module $m
                    (memory (export "memory") {memory_pages})
                    (func (export "f") (result i32)
                        (i32.store (i32.const {touch}) (i32.const 1))
                        (i32.const 7)))
                (core instance $i (instantiate $m))
                (func (export "f") (result u32) (canon lift (core func $i "f"))))"#
        );
        let component = wasmtime::component::Component::new(engine, wat).expect("component");
        let export = component.get_export_index(None, "f").expect("f");
        let pre = wasmtime::component::Linker::<()>::new(engine)
            .instantiate_pre(&component)
            .expect("pre");
        trivial.bench_function(name, |b| {
            b.iter(|| {
                let mut store = wasmtime::Store::new(engine, ());
                store.set_epoch_deadline(1_000_000);
                let instance = pre.instantiate(&mut store).expect("instantiate");
                let f = instance
                    .get_typed_func::<(), (u32,)>(&mut store, &export)
                    .expect("f");
                black_box(f.call(&mut store, ()).expect("call"))
            })
        });
    }
    trivial.finish();

    let ten = SlotSearch {
        limit: Some(10),
        ..week.clone()
    };
    let mut search = c.benchmark_group("slot-search");
    search.bench_function("host", |b| {
        b.iter(|| {
            let api = runtime.booking(ctx(ORG, now)).expect("module");
            black_box(api.find_free_slots(&ten).expect("search"))
        })
    });
    search.bench_function("native", |b| {
        b.iter(|| {
            let conn = runtime.records().connection().expect("connection");
            let tx = conn.snapshot().expect("a read transaction");
            // Meridian's policy: free slots that have not started.
            let query = SlotQuery {
                period: Period {
                    start: ten.period.start.max(now + 1),
                    end: ten.period.end,
                },
                schedule_id: None,
                service_type: None,
                status: Some(SlotStatus::Free),
                limit: ten.limit,
            };
            let slots = scheduling_records::slots(&tx, ORG, &query).expect("slots");
            drop(tx);
            black_box(slots)
        })
    });
    search.finish();

    // Ibuprofen for the patient on warfarin: an interaction card.
    let patient = PATIENTS[2].nhs_number;
    let draft = Draft {
        patient: patient.to_string(),
        medication: Coding {
            system: patchbay_sdk::coding::SNOMED_CT.to_string(),
            code: "387207008".to_string(),
            display: Some("Ibuprofen".to_string()),
        },
        dosage: Dosage {
            text: "400 mg three times a day".to_string(),
            dose: 400.0,
            unit: "mg".to_string(),
            frequency_per_day: 3,
            as_needed: false,
            route: None,
        },
        intent: RequestIntent::Order,
    };
    let mut check = c.benchmark_group("prescribing-check");
    check.bench_function("host", |b| {
        b.iter(|| {
            let api = runtime.ordering(ctx(ORG, now)).expect("module");
            black_box(api.check(&draft).expect("check"))
        })
    });
    check.bench_function("native", |b| {
        use northwind_prescribing::knowledge;
        b.iter(|| {
            let conn = runtime.records().connection().expect("connection");
            let tx = conn.snapshot().expect("a read transaction");
            let person = patients::lookup(&tx, ORG, patient)
                .expect("lookup")
                .expect("patient");
            let current: Vec<_> = prescribing_records::requests_for_patient(&tx, ORG, patient)
                .expect("requests")
                .into_iter()
                .filter(|r| r.status == RequestStatus::Active)
                .collect();
            let allergies = prescribing_records::allergies(&tx, ORG, patient).expect("allergies");
            drop(tx);
            let facts = knowledge::Draft {
                code: &draft.medication.code,
                dose: draft.dosage.dose,
                unit: &draft.dosage.unit,
                frequency_per_day: draft.dosage.frequency_per_day,
                age_years: patchbay_sdk::time::age_in_years(&person.birth_date, now),
            };
            let current: Vec<_> = current
                .iter()
                .map(|r| knowledge::Current {
                    request_id: &r.id,
                    code: &r.medication.code,
                })
                .collect();
            let allergies: Vec<_> = allergies
                .iter()
                .map(|a| knowledge::RecordedAllergy { code: &a.code.code })
                .collect();
            black_box(knowledge::assess(&facts, &current, &allergies))
        })
    });
    check.finish();

    // The same call by a module in another language.
    const HERON_ORG: &str = "Y90005";
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let heron_wasm = root.join("target/python-modules/heron_prescribing.wasm");
    let built = std::process::Command::new(root.join("sdk/python/build"))
        .arg(root.join("modules/heron-prescribing"))
        .arg(&heron_wasm)
        .status()
        .expect("sdk/python/build");
    assert!(built.success(), "building Heron's module failed");
    let heron_bytes = std::fs::read(&heron_wasm).expect("Heron's module");
    demo::seed_organisation(runtime.records(), HERON_ORG, "Heron bench practice", now)
        .expect("seed");
    let module = runtime
        .compile("heron/prescribing@1.0.0".parse().expect("id"), &heron_bytes)
        .expect("compile");
    let deployment = runtime
        .prepare(module, Limits::default(), Grants::default())
        .expect("link");
    runtime
        .slots()
        .deploy(HERON_ORG, deployment)
        .expect("deploy");
    println!(
        "component sizes: Northwind (Rust) {} bytes, Heron (Python) {} bytes",
        NORTHWIND_PRESCRIBING.bytes.len(),
        heron_bytes.len()
    );
    let mut by_language = c.benchmark_group("prescribing-check-by-language");
    by_language.bench_function("rust", |b| {
        b.iter(|| {
            let api = runtime.ordering(ctx(ORG, now)).expect("module");
            black_box(api.check(&draft).expect("check"))
        })
    });
    by_language.bench_function("python", |b| {
        b.iter(|| {
            let api = runtime.ordering(ctx(HERON_ORG, now)).expect("module");
            black_box(api.check(&draft).expect("check"))
        })
    });
    by_language.finish();

    // Scheduling, the same logic in three languages, each module serving an
    // organisation seeded alike.
    let mut modules = vec![("rust", ORG, MERIDIAN_SCHEDULING.bytes.to_vec())];
    for (language, name, build, org) in [
        (
            Language::Typescript,
            "typescript",
            "sdk/typescript/build",
            "Y90006",
        ),
        (Language::Python, "python", "sdk/python/build", "Y90007"),
    ] {
        let bytes = scheduling_skeleton(language, name, build);
        demo::seed_organisation(runtime.records(), org, "Bench practice", now).expect("seed");
        let module = runtime
            .compile(format!("bench/{name}@1.0.0").parse().expect("id"), &bytes)
            .expect("compile");
        let deployment = runtime
            .prepare(module, Limits::default(), Grants::default())
            .expect("link");
        runtime.slots().deploy(org, deployment).expect("deploy");
        modules.push((name, org, bytes));
    }
    for (name, org, bytes) in &modules {
        println!(
            "scheduling in {name}: component {} bytes, one instance's memory after a call {} bytes",
            bytes.len(),
            memory_per_instance(&runtime, org, now)
        );
    }
    let mut scheduling = c.benchmark_group("scheduling-by-language");
    for (name, org, _) in &modules {
        scheduling.bench_function(format!("trivial/{name}"), |b| {
            b.iter(|| {
                let api = runtime.booking(ctx(org, now)).expect("module");
                black_box(api.read("no-such-appointment").is_err())
            })
        });
        scheduling.bench_function(format!("slot-search/{name}"), |b| {
            b.iter(|| {
                let api = runtime.booking(ctx(org, now)).expect("module");
                black_box(api.find_free_slots(&ten).expect("search"))
            })
        });
    }
    scheduling.finish();
}

criterion_group!(calls, benches);
criterion_main!(calls);
