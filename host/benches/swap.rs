//! Swap time and latency during swaps, over the real binary and real HTTP.
//!
//! 1. **Command to live**: how long a deploy, a rollback and a promotion take,
//!    from the admin's request to the slot serving the new module: cold (the
//!    module compiled and run through the conformance suite for the first
//!    time) against cached (compiled artifact from the disk cache, conformance
//!    verdict from the registry).
//! 2. **Latency during swaps**: clients search and book without pause for a
//!    while with no swaps (the baseline), then as long again while the slot is
//!    swapped every 200 ms; the percentiles are compared.
//!
//! `cargo bench -p patchbay --bench swap` prints the tables that
//! `docs/benchmarks.md` quotes.

#[allow(dead_code)]
#[path = "../../tests/support/database.rs"]
mod database;
#[allow(dead_code)]
#[path = "../../tests/support/server.rs"]
mod server;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use patchbay::store::demo::PATIENTS;
use serde_json::{Value, json};
use server::{Server, appointment, cancellation, with_bramble_serving};

const ORG: &str = "Y90001";
const BRAMBLE: &str = "bramble/scheduling@2.1.0";
const MERIDIAN: &str = "meridian/scheduling@1.0.0";
const ROUNDS: usize = 20;
const LOAD: Duration = Duration::from_secs(6);
/// How many cycles of steady and swapping runs.
const CYCLES: usize = 3;

/// One admin action: (round trip in µs, the server's timings).
fn act(s: &Server, token: &str, path: &str, body: Value) -> (u64, Value) {
    let started = Instant::now();
    let r = s.post(&format!("/admin/slots/scheduling/{path}"), token, &body);
    let took = started.elapsed().as_micros() as u64;
    let status = r.status();
    let body: Value = r.json().unwrap_or_default();
    assert!(status.is_success(), "{path}: {status} {body}");
    (took, body["timings"].clone())
}

fn clear_artifacts(s: &Server) {
    for entry in std::fs::read_dir(s.data_dir.join("artifacts"))
        .expect("cache dir")
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "cwasm") {
            std::fs::remove_file(entry.path()).expect("remove");
        }
    }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Median of each timing over rounds, as a table row.
fn row(name: &str, samples: &[(u64, Value)]) -> String {
    let field = |k: &str| {
        median(
            samples
                .iter()
                .map(|(_, t)| t[k].as_u64().unwrap_or(0))
                .collect(),
        )
    };
    let trip = median(samples.iter().map(|(t, _)| *t).collect());
    let mut from: Vec<String> = samples
        .iter()
        .filter_map(|(_, t)| t["compiled_from"].as_str().map(str::to_string))
        .collect();
    from.sort();
    from.dedup();
    let from = if from.is_empty() {
        "n/a".to_string()
    } else {
        from.join(", ")
    };
    format!(
        "| {name} | {} | {from} | {} | {} | {} | **{}** | {} |",
        samples.len(),
        ms(field("compile_us")),
        ms(field("readiness_us")),
        ms(field("swap_us")),
        ms(field("total_us")),
        ms(trip)
    )
}

/// The one practice the benchmark's server serves: Meridian for
/// scheduling, so Bramble is loaded only when deployed.
const ONE_PRACTICE: &str = r#"
[organisations.Y90001]
name = "Riverside Surgery (demo)"
modules = { scheduling = "meridian/scheduling@1.0.0", prescribing = "northwind/prescribing@1.0.0" }
"#;

fn other(module: &str) -> &'static str {
    if module == MERIDIAN {
        BRAMBLE
    } else {
        MERIDIAN
    }
}

fn swap_times(s: &mut Server) -> String {
    let admin = s.token("admin", ORG, None);
    let mut cold_first = Vec::new();
    let mut cold = Vec::new();
    let mut disk = Vec::new();
    let mut memory_deploy = Vec::new();
    let mut memory_rollback = Vec::new();
    let mut promote = Vec::new();
    // The very first deploy: compiled, and run through the conformance suite.
    clear_artifacts(s);
    cold_first.push(act(
        s,
        &admin,
        "deploy",
        json!({"module": BRAMBLE, "reason": "cold"}),
    ));
    // Meridian through the suite once too, so later deploys reuse both verdicts.
    act(
        s,
        &admin,
        "deploy",
        json!({"module": MERIDIAN, "reason": "verdict"}),
    );
    let mut active = MERIDIAN;
    // After a restart only the active module is in memory: the other comes
    // from the disk cache, or (cache cleared) is compiled.
    for round in 0..10 {
        if round % 2 == 0 {
            clear_artifacts(s);
        }
        s.kill_and_restart();
        let admin = s.token("admin", ORG, None);
        let sample = act(
            s,
            &admin,
            "deploy",
            json!({"module": other(active), "reason": "restart"}),
        );
        if round % 2 == 0 {
            cold.push(sample)
        } else {
            disk.push(sample)
        }
        active = other(active);
    }
    let admin = s.token("admin", ORG, None);
    // Back and forth in one process: both modules stay loaded.
    for _ in 0..ROUNDS {
        let next = other(active);
        memory_deploy.push(act(
            s,
            &admin,
            "deploy",
            json!({"module": next, "reason": "bench"}),
        ));
        memory_rollback.push(act(s, &admin, "rollback", json!({"reason": "bench"})));
        act(
            s,
            &admin,
            "canary",
            json!({"module": next, "percent": 10, "reason": "bench"}),
        );
        promote.push(act(s, &admin, "promote", json!({"reason": "bench"})));
        active = next;
    }
    [
        "\n## Swap time, command to live (medians)\n".to_string(),
        "| Action | Runs | Module from | Compile or load | Readiness | Record + swap | Server total | HTTP round trip |".into(),
        "|---|---|---|---|---|---|---|---|".into(),
        row("deploy, first ever (compile + conformance suite + smoke calls)", &cold_first),
        row("deploy, cold (compile + smoke calls)", &cold),
        row("deploy from the disk cache (after a restart) + smoke calls", &disk),
        row("deploy, module in memory + smoke calls", &memory_deploy),
        row("rollback, module in memory (no readiness: it served before)", &memory_rollback),
        row("promote a canary (already loaded and checked)", &promote),
    ]
    .join("\n")
}

/// Clients searching and booking for `LOAD`; returns sorted latencies in µs.
fn load(
    s: &Server,
    tokens: &[String],
    swaps_to: &[&str],
    admin: &str,
    run: Duration,
) -> (Vec<u64>, usize, usize) {
    let stop = AtomicBool::new(false);
    let latencies = Mutex::new(Vec::new());
    let errors = Mutex::new(0usize);
    let mut swaps = 0;
    std::thread::scope(|scope| {
        for (worker, token) in tokens.iter().enumerate() {
            let (stop, latencies, errors) = (&stop, &latencies, &errors);
            scope.spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("client");
                let mut mine = Vec::new();
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let started = Instant::now();
                    let r = client
                        .get(format!("{}/fhir/Slot?_count=10", s.base))
                        .bearer_auth(token)
                        .send();
                    mine.push(started.elapsed().as_micros() as u64);
                    let slots: Vec<String> = match r {
                        Ok(r) if r.status().is_success() => r
                            .json::<Value>()
                            .ok()
                            .and_then(|b| b["entry"].as_array().cloned())
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
                            .collect(),
                        _ => {
                            *errors.lock().expect("lock") += 1;
                            continue;
                        }
                    };
                    let Some(slot) = slots.get((worker + round) % slots.len().max(1)) else {
                        continue;
                    };
                    let patient = PATIENTS[(worker + round) % PATIENTS.len()].nhs_number;
                    let started = Instant::now();
                    let r = client
                        .post(format!("{}/fhir/Appointment", s.base))
                        .bearer_auth(token)
                        .header("content-type", "application/fhir+json")
                        .body(appointment(slot, patient).to_string())
                        .send();
                    mine.push(started.elapsed().as_micros() as u64);
                    match r {
                        Ok(r) if r.status().is_server_error() => *errors.lock().expect("lock") += 1,
                        Ok(r) => {
                            // Cancel what was booked, so slots stay free.
                            if let Some(id) = r
                                .json::<Value>()
                                .ok()
                                .and_then(|b| b["id"].as_str().map(str::to_string))
                            {
                                let _ = client
                                    .put(format!("{}/fhir/Appointment/{id}", s.base))
                                    .bearer_auth(token)
                                    .header("content-type", "application/fhir+json")
                                    .body(cancellation(&id, "bench").to_string())
                                    .send();
                            }
                        }
                        Err(_) => *errors.lock().expect("lock") += 1,
                    }
                }
                latencies.lock().expect("lock").extend(mine);
            });
        }
        let started = Instant::now();
        while started.elapsed() < run {
            std::thread::sleep(Duration::from_millis(200));
            if !swaps_to.is_empty() {
                let to = swaps_to[swaps % swaps_to.len()];
                act(s, admin, "deploy", json!({"module": to, "reason": "bench"}));
                swaps += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    let mut all = latencies.into_inner().expect("lock");
    all.sort_unstable();
    let errors = errors.into_inner().expect("lock");
    (all, swaps, errors)
}

fn latency_during_swaps(s: &Server) {
    let admin = &s.token("admin", ORG, None);
    let tokens: Vec<String> = (0..4).map(|_| s.token("clinician", ORG, None)).collect();
    // Each module alone, steady, is the baseline; swapping alternates
    // between them, so its baseline is both steady runs together. The runs
    // are interleaved in cycles because the store grows as clients book and
    // cancel, which slows Bramble's per-patient checks over time.
    let (mut steady_meridian, mut steady_bramble, mut same, mut alternating) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut e1, mut e2, mut e3, mut e4, mut same_swaps, mut alt_swaps) = (0, 0, 0, 0, 0, 0);
    let half = LOAD / 2;
    for _ in 0..CYCLES {
        act(
            s,
            admin,
            "deploy",
            json!({"module": BRAMBLE, "reason": "steady"}),
        );
        let (l, _, e) = load(s, &tokens, &[], admin, half);
        steady_bramble.extend(l);
        e1 += e;
        act(
            s,
            admin,
            "deploy",
            json!({"module": MERIDIAN, "reason": "steady"}),
        );
        let (l, _, e) = load(s, &tokens, &[], admin, half);
        steady_meridian.extend(l);
        e2 += e;
        let (l, n, e) = load(s, &tokens, &[MERIDIAN], admin, half);
        same.extend(l);
        (e3, same_swaps) = (e3 + e, same_swaps + n);
        let (l, n, e) = load(s, &tokens, &[BRAMBLE, MERIDIAN], admin, LOAD);
        alternating.extend(l);
        (e4, alt_swaps) = (e4 + e, alt_swaps + n);
        act(
            s,
            admin,
            "deploy",
            json!({"module": MERIDIAN, "reason": "steady"}),
        );
    }
    for l in [
        &mut steady_meridian,
        &mut steady_bramble,
        &mut same,
        &mut alternating,
    ] {
        l.sort_unstable();
    }
    let mut steady_both: Vec<u64> = steady_bramble
        .iter()
        .chain(&steady_meridian)
        .copied()
        .collect();
    steady_both.sort_unstable();
    println!(
        "\n## Request latency, 4 clients searching, booking and cancelling ({CYCLES} cycles: {} s per module steady, {} s redeploying, {} s alternating)\n",
        (LOAD / 2).as_secs_f64(),
        (LOAD / 2).as_secs_f64(),
        LOAD.as_secs_f64()
    );
    println!("| Run | Requests | Swaps | 5xx or errors | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, l, swaps, errors) in [
        ("steady, Meridian", &steady_meridian, 0, e2),
        ("steady, Bramble", &steady_bramble, 0, e1),
        ("steady, both runs together", &steady_both, 0, e1 + e2),
        ("Meridian redeployed every 200 ms", &same, same_swaps, e3),
        (
            "Meridian and Bramble alternating every 200 ms",
            &alternating,
            alt_swaps,
            e4,
        ),
    ] {
        println!(
            "| {name} | {} | {swaps} | {errors} | {} | {} | {} | {} |",
            l.len(),
            ms(percentile(l, 0.5)),
            ms(percentile(l, 0.9)),
            ms(percentile(l, 0.99)),
            ms(*l.last().unwrap_or(&0))
        );
    }
    let ratio = |a: &[u64], b: &[u64], p: f64| percentile(a, p) as f64 / percentile(b, p) as f64;
    println!(
        "\np99 ratios: redeploying vs steady Meridian **{:.2}×**; alternating vs both steady runs **{:.2}×** (p50: {:.2}×, {:.2}×)",
        ratio(&same, &steady_meridian, 0.99),
        ratio(&alternating, &steady_both, 0.99),
        ratio(&same, &steady_meridian, 0.5),
        ratio(&alternating, &steady_both, 0.5)
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `cargo bench -p patchbay --bench swap`");
        return;
    }
    let mut s = with_bramble_serving("", ONE_PRACTICE);
    let table = swap_times(&mut s);
    println!("{table}");
    latency_during_swaps(&s);
}
