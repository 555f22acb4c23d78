//! The conformance kit: for each standard, the behaviours every compliant
//! module must show, each with an id, a description and the text of the
//! standard it checks. A run compiles the module on its own engine, gives
//! every check its own organisation in a scratch store seeded like the demo
//! practice, fixes the clock (Monday 2030-01-07, 08:00 UTC), and reports
//! pass or fail with the reason, as text, JSON or JUnit XML.
//!
//! The reference data the checks use (SNOMED CT substance codes): warfarin
//! 372756006, simvastatin 387584000, ibuprofen 387207008, clarithromycin
//! 387487009, amoxicillin 372687004, paracetamol 387517004, and the finding
//! 91936005 "Allergy to penicillin". A compliant prescribing module must know
//! them.

use std::sync::{Arc, Barrier};

use serde::Serialize;

use crate::runtime::bindings::{Coding, IssueCode, Period};
use crate::runtime::call_error::CallError;
use crate::runtime::call_state::CallContext;
use crate::runtime::deployment::{Grants, Limits, RequestedLimits};
use crate::runtime::engine::{EngineSettings, Runtime};
use crate::runtime::module::{LoadError, ModuleId};
use crate::runtime::prescribing::{
    Card, Dosage, Draft, Indicator, Prescribing, RequestIntent, RequestStatus,
};
use crate::runtime::scheduling::{
    Amendment, AppointmentStatus, Booking, BookingRequest, Slot, SlotSearch, SlotStatus,
};
use crate::runtime::standard::Standard;
use crate::store::demo::{self, PATIENTS};
use crate::store::records::RecordStore;
use patchbay_sdk::time::{DAY, HOUR};

/// A check's outcome: `Err` holds why it failed.
type Outcome = Result<(), String>;

/// One behaviour of a standard.
pub struct Check {
    /// A stable id, e.g. `scheduling.book.slot-taken`.
    pub id: &'static str,
    /// What a compliant module does.
    pub description: &'static str,
    /// The standard's text it checks.
    pub reference: &'static str,
    run: fn(&Kit) -> Outcome,
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's id.
    pub id: &'static str,
    /// What it checks.
    pub description: &'static str,
    /// The standard's text.
    pub reference: &'static str,
    /// Whether the module passed.
    pub passed: bool,
    /// Why it failed.
    pub reason: Option<String>,
}

/// A conformance run's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The module, `supplier/name@version`.
    pub module: String,
    /// The standard's world.
    pub world: String,
    /// Every check, in order.
    pub results: Vec<CheckResult>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.passed)
    }

    /// The ids of the checks that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.id)
            .collect()
    }

    /// The report for a person.
    pub fn text(&self) -> String {
        let mut out = format!("conformance of {} to {}\n", self.module, self.world);
        for r in &self.results {
            out += &format!(
                "  {} {:<48} {}\n",
                if r.passed { "PASS" } else { "FAIL" },
                r.id,
                r.description
            );
            if let Some(reason) = &r.reason {
                out += &format!("       why: {reason}\n       see: {}\n", r.reference);
            }
        }
        let failed = self.failed().len();
        out += &format!(
            "{} checks: {} passed, {failed} failed\n",
            self.results.len(),
            self.results.len() - failed
        );
        out
    }

    /// The report as JUnit XML, for a supplier's CI.
    pub fn junit(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n",
            esc(&format!("{} conformance: {}", self.world, self.module)),
            self.results.len(),
            self.failed().len()
        );
        for r in &self.results {
            out += &format!(
                "  <testcase classname=\"{}\" name=\"{}\">",
                esc(&self.world),
                esc(r.id)
            );
            if let Some(reason) = &r.reason {
                out += &format!(
                    "\n    <failure message=\"{}\">{}\nSee: {}</failure>\n  ",
                    esc(reason),
                    esc(r.description),
                    esc(r.reference)
                );
            }
            out += "</testcase>\n";
        }
        out + "</testsuite>\n"
    }
}

/// The clock of every run: Monday 2030-01-07, 08:00 UTC.
pub fn fixed_now() -> i64 {
    patchbay_sdk::time::days_from_civil(2030, 1, 7) * DAY + 8 * HOUR
}

/// The checks of a standard.
pub fn checks(standard: Standard) -> &'static [Check] {
    match standard {
        Standard::Scheduling => SCHEDULING,
        Standard::Prescribing => PRESCRIBING,
    }
}

/// Runs a standard's suite on a component, in a scratch store, under the
/// suite's limits raised to what the module says it needs (its manifest's
/// `[limits]`; none for a bare component).
pub fn run(id: ModuleId, component: &[u8], needs: &RequestedLimits) -> Result<Report, LoadError> {
    let fail = |e: anyhow::Error| LoadError::Link(e.context("cannot set up the conformance run"));
    let (store, _scratch) = RecordStore::scratch().map_err(fail)?;
    let settings = EngineSettings {
        max_instances: 64,
        ..EngineSettings::default()
    };
    let runtime = Runtime::new(store.clone(), &settings).map_err(fail)?;
    let module = runtime.compile(id, component)?;
    let standard = module.standard;
    let limits = Limits {
        memory_bytes: 64 * 1024 * 1024,
        deadline: std::time::Duration::from_secs(2),
    }
    .raised_to(needs, settings.max_memory_bytes);
    let deployment = runtime.prepare(module.clone(), limits, Grants::default())?;
    let mut results = Vec::new();
    for (n, check) in checks(standard).iter().enumerate() {
        let org = format!("CONF{n:02}");
        demo::seed_organisation(&store, &org, "Conformance practice", fixed_now()).map_err(fail)?;
        runtime.slots().deploy(&org, deployment.clone())?;
        let kit = Kit {
            runtime: runtime.clone(),
            org,
        };
        let outcome = (check.run)(&kit);
        results.push(CheckResult {
            id: check.id,
            description: check.description,
            reference: check.reference,
            passed: outcome.is_ok(),
            reason: outcome.err(),
        });
    }
    Ok(Report {
        module: module.id.to_string(),
        world: module.world.name.to_string(),
        results,
    })
}

/// What a check works with: the runtime and its own organisation.
struct Kit {
    runtime: Runtime,
    org: String,
}

impl Kit {
    fn ctx(&self) -> CallContext {
        CallContext {
            organisation: self.org.clone(),
            user: "conformance".into(),
            user_display: Some("Conformance kit".into()),
            now: fixed_now(),
        }
    }

    fn booking(&self) -> Result<Booking, String> {
        self.runtime.booking(self.ctx()).map_err(|e| e.to_string())
    }

    fn ordering(&self) -> Result<Prescribing, String> {
        self.runtime.ordering(self.ctx()).map_err(|e| e.to_string())
    }

    /// A slot's status in the store, whatever the module says.
    fn stored_slot_status(&self, id: &str) -> Result<SlotStatus, String> {
        let conn = self
            .runtime
            .records()
            .connection()
            .map_err(|e| e.to_string())?;
        crate::runtime::interfaces::scheduling_records::slot(&conn, &self.org, id)
            .map_err(|e| e.to_string())?
            .map(|s| s.status)
            .ok_or_else(|| format!("slot {id} is missing from the store"))
    }

    fn week(&self) -> SlotSearch {
        SlotSearch {
            period: Period {
                start: fixed_now(),
                end: fixed_now() + 7 * DAY,
            },
            service_type: None,
            schedule_id: None,
            limit: None,
        }
    }

    fn offered(&self) -> Result<Vec<Slot>, String> {
        self.booking()?
            .find_free_slots(&self.week())
            .map_err(describe)
    }

    fn offered_ids(&self) -> Result<Vec<String>, String> {
        Ok(self.offered()?.into_iter().map(|s| s.id).collect())
    }
}

fn describe(e: CallError) -> String {
    match e {
        CallError::Refused(o) => {
            format!("the module refused: {} ({:?})", o.diagnostics(), o.code())
        }
        other => format!("the call failed: {other}"),
    }
}

/// Expects a refusal with `code`.
fn expect_refusal<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, CallError>,
    code: IssueCode,
) -> Outcome {
    match result {
        Err(CallError::Refused(o)) if o.code() == code => Ok(()),
        Err(CallError::Refused(o)) => Err(format!(
            "{what}: expected a {code:?} outcome, got {:?}: {}",
            o.code(),
            o.diagnostics()
        )),
        Err(e) => Err(format!("{what}: expected a {code:?} outcome, but {e}")),
        Ok(v) => Err(format!(
            "{what}: expected a {code:?} outcome, but it succeeded: {v:?}"
        )),
    }
}

fn ensure(condition: bool, reason: impl FnOnce() -> String) -> Outcome {
    if condition { Ok(()) } else { Err(reason()) }
}

fn request(slot: &str, patient: &str) -> BookingRequest {
    BookingRequest {
        slot_id: slot.to_string(),
        patient: patient.to_string(),
        description: Some("Conformance check".to_string()),
        comment: None,
    }
}

/// Several distinct free slots offered a day or more ahead.
fn some_slots(kit: &Kit, n: usize) -> Result<Vec<Slot>, String> {
    let slots: Vec<Slot> = kit
        .offered()?
        .into_iter()
        .filter(|s| s.period.start >= fixed_now() + DAY)
        .collect();
    ensure(slots.len() >= n, || {
        format!(
            "the module offered {} slots a day or more ahead; the check needs {n}",
            slots.len()
        )
    })?;
    Ok(slots)
}

const SCHEDULING: &[Check] = &[
    Check {
        id: "scheduling.find-free-slots.only-free",
        description: "A search offers only free slots, inside the window",
        reference: "care:scheduling/booking.find-free-slots: \"Only `free` slots\"; slot-search: \"only slots wholly inside it\"",
        run: |kit| {
            let conn = kit
                .runtime
                .records()
                .connection()
                .map_err(|e| e.to_string())?;
            conn.execute(
                "UPDATE slots SET status = 'busy-unavailable' WHERE org = ?1 AND id IN \
                 (SELECT id FROM slots WHERE org = ?1 AND start_ms > ?2 ORDER BY start_ms LIMIT 3)",
                &[&kit.org, &(fixed_now() + DAY)],
            )
            .map_err(|e| e.to_string())?;
            drop(conn);
            let offered = kit.offered()?;
            ensure(!offered.is_empty(), || {
                "no slots were offered, though the week has free slots".into()
            })?;
            let week = kit.week().period;
            for slot in &offered {
                let stored = kit.stored_slot_status(&slot.id)?;
                ensure(stored == SlotStatus::Free, || {
                    format!("slot {} was offered but is {stored:?}", slot.id)
                })?;
                ensure(
                    slot.period.start >= week.start && slot.period.end <= week.end,
                    || format!("slot {} is outside the searched window", slot.id),
                )?;
            }
            Ok(())
        },
    },
    Check {
        id: "scheduling.book.slot-taken",
        description: "Booking takes the slot: it is busy and no longer offered",
        reference: "care:scheduling/records.take-slot: \"Atomically marks a free slot `busy`\"; find-free-slots: \"Only `free` slots\"",
        run: |kit| {
            let slot = some_slots(kit, 1)?.remove(0);
            let booked = kit
                .booking()?
                .book(&request(&slot.id, PATIENTS[0].nhs_number))
                .map_err(describe)?;
            ensure(
                booked.status == AppointmentStatus::Booked && booked.slot_id == slot.id,
                || {
                    format!(
                        "the appointment is {:?} in slot {}, not booked in {}",
                        booked.status, booked.slot_id, slot.id
                    )
                },
            )?;
            let stored = kit.stored_slot_status(&slot.id)?;
            ensure(stored == SlotStatus::Busy, || {
                format!("the booked slot is {stored:?} in the store, not busy")
            })?;
            ensure(!kit.offered_ids()?.contains(&slot.id), || {
                "the booked slot is still offered".into()
            })
        },
    },
    Check {
        id: "scheduling.book.double-booking-conflict",
        description: "A slot can be booked once: a second booking, or all but one of concurrent bookings, get conflict",
        reference: "care:scheduling/booking.book: \"`conflict` if the slot is not free\"; records.take-slot: \"exactly one succeeds\"",
        run: |kit| {
            let slots = some_slots(kit, 2)?;
            let api = kit.booking()?;
            api.book(&request(&slots[0].id, PATIENTS[0].nhs_number))
                .map_err(describe)?;
            expect_refusal(
                "a second booking of the slot",
                api.book(&request(&slots[0].id, PATIENTS[1].nhs_number)),
                IssueCode::Conflict,
            )?;
            // Distinct patients, so no policy limit per patient interferes.
            const N: usize = PATIENTS.len();
            let barrier = Arc::new(Barrier::new(N));
            let results: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..N)
                    .map(|i| {
                        let barrier = barrier.clone();
                        let api = kit.booking();
                        let req = request(&slots[1].id, PATIENTS[i].nhs_number);
                        scope.spawn(move || {
                            barrier.wait();
                            api.map(|a| a.book(&req))
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            });
            let wins = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
            let conflicts = results
                .iter()
                .filter(|r| matches!(r, Ok(Err(CallError::Refused(o))) if o.code() == IssueCode::Conflict))
                .count();
            ensure(wins == 1 && conflicts == N - 1, || {
                format!(
                    "{N} concurrent bookings of one slot gave {wins} successes and {conflicts} conflicts"
                )
            })
        },
    },
    Check {
        id: "scheduling.cancel.frees-slot",
        description: "Cancelling keeps the reason and frees the slot, which is offered again",
        reference: "care:scheduling/booking.cancel: \"Cancels an appointment and frees its slot\"",
        run: |kit| {
            let slot = some_slots(kit, 1)?.remove(0);
            let api = kit.booking()?;
            let booked = api
                .book(&request(&slot.id, PATIENTS[0].nhs_number))
                .map_err(describe)?;
            let cancelled = api
                .cancel(&booked.id, "Conformance: patient cancelled")
                .map_err(describe)?;
            ensure(cancelled.status == AppointmentStatus::Cancelled, || {
                format!("the cancelled appointment is {:?}", cancelled.status)
            })?;
            ensure(
                cancelled.cancellation_reason.as_deref() == Some("Conformance: patient cancelled"),
                || "the cancellation reason was not kept".into(),
            )?;
            let stored = kit.stored_slot_status(&slot.id)?;
            ensure(stored == SlotStatus::Free, || {
                format!("the slot is {stored:?} after the cancellation, not free")
            })?;
            ensure(kit.offered_ids()?.contains(&slot.id), || {
                "the freed slot is not offered again".into()
            })
        },
    },
    Check {
        id: "scheduling.amend.moves-atomically",
        description: "Moving an appointment takes the new slot and frees the old one; a move onto a taken slot changes nothing",
        reference: "care:scheduling/booking.amendment.slot-id: \"the new slot is taken and the old one freed in one step, or neither\"",
        run: |kit| {
            let slots = some_slots(kit, 3)?;
            let api = kit.booking()?;
            let a = api
                .book(&request(&slots[0].id, PATIENTS[0].nhs_number))
                .map_err(describe)?;
            let b = api
                .book(&request(&slots[2].id, PATIENTS[1].nhs_number))
                .map_err(describe)?;
            let move_to = |slot: &Slot| Amendment {
                slot_id: Some(slot.id.clone()),
                description: None,
                comment: None,
            };
            let moved = api.amend(&a.id, &move_to(&slots[1])).map_err(describe)?;
            ensure(
                moved.slot_id == slots[1].id && moved.period == slots[1].period,
                || "the amended appointment is not in the new slot, at its time".into(),
            )?;
            ensure(
                kit.stored_slot_status(&slots[0].id)? == SlotStatus::Free,
                || "the old slot was not freed".into(),
            )?;
            ensure(
                kit.stored_slot_status(&slots[1].id)? == SlotStatus::Busy,
                || "the new slot was not taken".into(),
            )?;
            expect_refusal(
                "moving onto a taken slot",
                api.amend(&a.id, &move_to(&slots[2])),
                IssueCode::Conflict,
            )?;
            let after = api.read(&a.id).map_err(describe)?;
            ensure(after.slot_id == slots[1].id, || {
                "the refused move changed the appointment".into()
            })?;
            ensure(
                api.read(&b.id).map_err(describe)?.slot_id == slots[2].id,
                || "the refused move changed the other appointment".into(),
            )?;
            ensure(
                kit.stored_slot_status(&slots[1].id)? == SlotStatus::Busy,
                || "the refused move freed the appointment's slot".into(),
            )
        },
    },
    Check {
        id: "scheduling.book.invalid-nhs-number",
        description: "An invalid NHS number is refused as invalid, and nothing is booked",
        reference: "care:scheduling/booking.book: \"`invalid` for a malformed request or NHS number\"; care:types nhs-number: Modulus 11",
        run: |kit| {
            let slot = some_slots(kit, 1)?.remove(0);
            let api = kit.booking()?;
            expect_refusal(
                "booking for 9434765918",
                api.book(&request(&slot.id, "9434765918")),
                IssueCode::Invalid,
            )?;
            expect_refusal(
                "booking for 12345",
                api.book(&request(&slot.id, "12345")),
                IssueCode::Invalid,
            )?;
            ensure(
                kit.stored_slot_status(&slot.id)? == SlotStatus::Free,
                || "the slot was taken all the same".into(),
            )
        },
    },
    Check {
        id: "scheduling.unknown-ids.not-found",
        description: "Unknown appointments, slots and patients are refused as not-found",
        reference: "care:scheduling/booking.book: \"`not-found` for an unknown slot or patient\"; read: \"`not-found` if there is none\"",
        run: |kit| {
            let slot = some_slots(kit, 1)?.remove(0);
            let api = kit.booking()?;
            expect_refusal(
                "reading an unknown appointment",
                api.read("no-such-appointment"),
                IssueCode::NotFound,
            )?;
            expect_refusal(
                "cancelling an unknown appointment",
                api.cancel("no-such-appointment", "x"),
                IssueCode::NotFound,
            )?;
            expect_refusal(
                "booking an unknown slot",
                api.book(&request("no-such-slot", PATIENTS[0].nhs_number)),
                IssueCode::NotFound,
            )?;
            expect_refusal(
                "booking for an unregistered patient",
                api.book(&request(&slot.id, demo::OTHER_PATIENT.nhs_number)),
                IssueCode::NotFound,
            )
        },
    },
    Check {
        id: "scheduling.reads.patient-scoped",
        description: "A patient's appointments are that patient's only",
        reference: "care:scheduling/booking.appointments-for-patient: \"Every appointment of a patient\"",
        run: |kit| {
            let slots = some_slots(kit, 2)?;
            let api = kit.booking()?;
            let mine = api
                .book(&request(&slots[0].id, PATIENTS[0].nhs_number))
                .map_err(describe)?;
            api.book(&request(&slots[1].id, PATIENTS[1].nhs_number))
                .map_err(describe)?;
            let list = api
                .appointments_for_patient(PATIENTS[0].nhs_number)
                .map_err(describe)?;
            ensure(
                list.iter().all(|a| a.patient == PATIENTS[0].nhs_number),
                || "the list holds another patient's appointment".into(),
            )?;
            ensure(list.iter().any(|a| a.id == mine.id), || {
                "the list misses the patient's appointment".into()
            })
        },
    },
    Check {
        id: "scheduling.book.optional-fields",
        description: "A booking without description or comment is accepted",
        reference: "care:scheduling/booking.booking-request: description and comment are `option<string>`",
        run: |kit| {
            let slot = some_slots(kit, 1)?.remove(0);
            let bare = BookingRequest {
                slot_id: slot.id.clone(),
                patient: PATIENTS[0].nhs_number.to_string(),
                description: None,
                comment: None,
            };
            let booked = kit.booking()?.book(&bare).map_err(describe)?;
            ensure(
                booked.description.is_none() && booked.comment.is_none(),
                || "the module invented a description or comment".into(),
            )
        },
    },
];

pub(crate) const PARACETAMOL: &str = "387517004";
const IBUPROFEN: &str = "387207008";
const CLARITHROMYCIN: &str = "387487009";
const AMOXICILLIN: &str = "372687004";

pub(crate) fn draft(patient: &str, code: &str, dose_mg: f64, per_day: u32) -> Draft {
    Draft {
        patient: patient.to_string(),
        medication: Coding {
            system: patchbay_sdk::coding::SNOMED_CT.to_string(),
            code: code.to_string(),
            display: None,
        },
        dosage: Dosage {
            text: format!("{dose_mg} mg {per_day} times a day"),
            dose: dose_mg,
            unit: "mg".to_string(),
            frequency_per_day: per_day,
            as_needed: false,
            route: None,
        },
        intent: RequestIntent::Order,
    }
}

fn expect_indicator(kit: &Kit, what: &str, d: &Draft, accept: &[Indicator]) -> Outcome {
    let cards: Vec<Card> = kit.ordering()?.check(d).map_err(describe)?;
    let found: Vec<Indicator> = cards.iter().map(|c| c.indicator).collect();
    ensure(found.iter().any(|i| accept.contains(i)), || {
        format!("{what}: expected a card of {accept:?}, got {found:?}")
    })
}

const PRESCRIBING: &[Check] = &[
    Check {
        id: "prescribing.check.clean",
        description: "A clean prescription gets no cards",
        reference: "care:prescribing/ordering.check: \"No cards means nothing to say\"",
        run: |kit| {
            let cards = kit
                .ordering()?
                .check(&draft(PATIENTS[0].nhs_number, PARACETAMOL, 1000.0, 4))
                .map_err(describe)?;
            ensure(cards.is_empty(), || {
                format!(
                    "paracetamol 1 g four times a day for an adult on nothing got {} card(s)",
                    cards.len()
                )
            })
        },
    },
    Check {
        id: "prescribing.check.interaction-anticoagulant",
        description: "An NSAID for a patient on warfarin gets a critical interaction card",
        reference: "care:prescribing/ordering.indicator.critical: \"Do not go on without a recorded reason\"; BNF: warfarin with NSAIDs",
        run: |kit| {
            expect_indicator(
                kit,
                "ibuprofen with warfarin",
                &draft(PATIENTS[2].nhs_number, IBUPROFEN, 400.0, 3),
                &[Indicator::Critical],
            )
        },
    },
    Check {
        id: "prescribing.check.interaction-statin-macrolide",
        description: "Clarithromycin for a patient on simvastatin gets a critical interaction card",
        reference: "care:prescribing/ordering.card-category.interaction; MHRA Drug Safety Update (2012): simvastatin with clarithromycin contraindicated",
        run: |kit| {
            expect_indicator(
                kit,
                "clarithromycin with simvastatin",
                &draft(PATIENTS[3].nhs_number, CLARITHROMYCIN, 500.0, 2),
                &[Indicator::Critical],
            )
        },
    },
    Check {
        id: "prescribing.check.allergy",
        description: "A penicillin for a patient allergic to penicillin gets a critical allergy card",
        reference: "care:prescribing/ordering.card-category.allergy: \"A medicine the patient is allergic to\"",
        run: |kit| {
            expect_indicator(
                kit,
                "amoxicillin with a penicillin allergy",
                &draft(PATIENTS[1].nhs_number, AMOXICILLIN, 500.0, 3),
                &[Indicator::Critical],
            )
        },
    },
    Check {
        id: "prescribing.check.dose-range",
        description: "A daily dose far above the adult maximum gets a warning or critical card",
        reference: "care:prescribing/ordering.card-category.dose-range: \"A dose outside the usual range\"; BNF: paracetamol at most 4 g a day",
        run: |kit| {
            expect_indicator(
                kit,
                "paracetamol 8 g a day",
                &draft(PATIENTS[0].nhs_number, PARACETAMOL, 1000.0, 8),
                &[Indicator::Warning, Indicator::Critical],
            )
        },
    },
    Check {
        id: "prescribing.issue.refused-on-critical",
        description: "Issuing is refused while a critical card stands, and nothing is stored",
        reference: "care:prescribing/ordering.issue: \"While a critical card stands it is refused with `business-rule`\"",
        run: |kit| {
            let api = kit.ordering()?;
            let before = api.active(PATIENTS[2].nhs_number).map_err(describe)?.len();
            expect_refusal(
                "issuing ibuprofen to a patient on warfarin without a reason",
                api.issue(&draft(PATIENTS[2].nhs_number, IBUPROFEN, 400.0, 3), None),
                IssueCode::BusinessRule,
            )?;
            let after = api.active(PATIENTS[2].nhs_number).map_err(describe)?.len();
            ensure(after == before, || {
                "the refused prescription was stored".into()
            })
        },
    },
    Check {
        id: "prescribing.issue.override-recorded",
        description: "Issuing with an override reason succeeds and the reason is stored with the request",
        reference: "care:prescribing/ordering.issue: \"unless `override-reason` gives a reason, which is stored with the request\"",
        run: |kit| {
            let reason = "Conformance: benefit outweighs risk, monitored";
            let issued = kit
                .ordering()?
                .issue(
                    &draft(PATIENTS[2].nhs_number, IBUPROFEN, 400.0, 3),
                    Some(reason),
                )
                .map_err(describe)?;
            ensure(issued.request.status == RequestStatus::Active, || {
                "the issued request is not active".into()
            })?;
            let conn = kit
                .runtime
                .records()
                .connection()
                .map_err(|e| e.to_string())?;
            let stored = crate::runtime::interfaces::prescribing_records::request(
                &conn,
                &kit.org,
                &issued.request.id,
            )
            .map_err(|e| e.to_string())?
            .ok_or("the issued request is not in the store")?;
            ensure(stored.override_reason.as_deref() == Some(reason), || {
                format!("the stored override reason is {:?}", stored.override_reason)
            })
        },
    },
    Check {
        id: "prescribing.unknown-ids",
        description: "An invalid NHS number is refused as invalid; unknown requests and patients as not-found",
        reference: "care:prescribing/ordering.check: \"`not-found` for an unknown patient\"; read: \"`not-found` if there is none\"",
        run: |kit| {
            let api = kit.ordering()?;
            expect_refusal(
                "checking for 9434765918",
                api.check(&draft("9434765918", PARACETAMOL, 500.0, 4)),
                IssueCode::Invalid,
            )?;
            expect_refusal(
                "checking for an unregistered patient",
                api.check(&draft(
                    demo::OTHER_PATIENT.nhs_number,
                    PARACETAMOL,
                    500.0,
                    4,
                )),
                IssueCode::NotFound,
            )?;
            expect_refusal(
                "reading an unknown request",
                api.read("no-such-request"),
                IssueCode::NotFound,
            )
        },
    },
];
