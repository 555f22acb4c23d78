//! The demo organisations: two GP practices with schedules, slots for the
//! next two weeks, test patients (NHS test-range numbers), allergies and
//! current medication, so the bundled modules have something to work on.
//! Seeding is idempotent: it adds what is missing and tops slots up to two
//! weeks ahead of `now`, and never changes what is there.

use anyhow::Context as _;

use crate::store::records::RecordStore;

/// The demo practice the bundled modules serve.
pub const ORG: &str = "Y90001";
/// A second practice, to show that organisations never see each other's
/// records.
pub const OTHER_ORG: &str = "Y90002";

/// A demo patient.
#[derive(Debug, Clone, Copy)]
pub struct DemoPatient {
    /// NHS number, from the test range 999 000 0000 – 999 999 9999.
    pub nhs_number: &'static str,
    /// Name.
    pub name: &'static str,
    /// Date of birth.
    pub birth_date: &'static str,
}

/// The demo practice's patients.
pub const PATIENTS: [DemoPatient; 5] = [
    DemoPatient {
        nhs_number: "9990000018",
        name: "Demo Patient One",
        birth_date: "1958-04-12",
    },
    // Allergic to penicillin.
    DemoPatient {
        nhs_number: "9990000026",
        name: "Demo Patient Two",
        birth_date: "1984-09-30",
    },
    // Takes warfarin.
    DemoPatient {
        nhs_number: "9990000034",
        name: "Demo Patient Three",
        birth_date: "1949-01-05",
    },
    // Takes simvastatin.
    DemoPatient {
        nhs_number: "9990000042",
        name: "Demo Patient Four",
        birth_date: "1971-06-18",
    },
    // A child: adult dose ranges do not apply.
    DemoPatient {
        nhs_number: "9990000050",
        name: "Demo Patient Five",
        birth_date: "2019-02-21",
    },
];

/// A patient of the other practice only.
pub const OTHER_PATIENT: DemoPatient = DemoPatient {
    nhs_number: "9990000069",
    name: "Demo Patient Six",
    birth_date: "1990-12-01",
};

/// SNOMED CT: warfarin (substance), patient three's current medication.
pub const WARFARIN: &str = "372756006";
/// SNOMED CT: simvastatin (substance), patient four's current medication.
pub const SIMVASTATIN: &str = "387584000";

/// The SNOMED CT code of the service the demo schedules offer: General
/// practice.
pub const GENERAL_PRACTICE: &str = "394814009";

/// Days of slots kept ahead of now.
pub const DAYS_AHEAD: i64 = 14;

/// Seeds both demo practices (idempotent), with slots from the start of
/// `now`'s day to [`DAYS_AHEAD`] days ahead.
pub fn seed(store: &RecordStore, now: i64) -> anyhow::Result<()> {
    seed_organisation(store, ORG, "Riverside Surgery (demo)", now)?;
    let conn = store.connection()?;
    let tx = conn.transaction().context("cannot seed the demo")?;
    seed_practice(
        &tx,
        OTHER_ORG,
        "Hillside Practice (demo)",
        &[OTHER_PATIENT],
        now,
    )?;
    tx.commit().context("cannot seed the demo")?;
    Ok(())
}

/// Seeds one organisation like the demo practice: its schedules and slots,
/// the [`PATIENTS`], patient two's penicillin allergy, and patient three's
/// warfarin and patient four's simvastatin (idempotent).
pub fn seed_organisation(
    store: &RecordStore,
    org: &str,
    name: &str,
    now: i64,
) -> anyhow::Result<()> {
    let conn = store.connection()?;
    let tx = conn.transaction().context("cannot seed the demo")?;
    seed_practice(&tx, org, name, &PATIENTS, now)?;
    let recorded = now - 400 * patchbay_sdk::time::DAY;
    tx.execute(
        "INSERT INTO allergies (org, id, patient, code_system, code, code_display, criticality, \
         reaction, recorded_ms) VALUES (?1, 'demo-allergy-1', ?2, ?3, '91936005', 'Allergy to penicillin', \
         'high', 'Anaphylaxis', ?4) ON CONFLICT DO NOTHING",
        &[&org, &PATIENTS[1].nhs_number, &patchbay_sdk::coding::SNOMED_CT, &recorded],
    )?;
    let current = [
        (
            "demo-rx-1",
            PATIENTS[2].nhs_number,
            WARFARIN,
            "Warfarin",
            5.0,
            "5 mg once a day",
        ),
        (
            "demo-rx-2",
            PATIENTS[3].nhs_number,
            SIMVASTATIN,
            "Simvastatin",
            40.0,
            "40 mg at night",
        ),
    ];
    for (id, patient, code, display, dose, text) in current {
        tx.execute(
            "INSERT INTO medication_requests (org, id, patient, medication_system, medication_code, \
             medication_display, dosage_text, dose, dose_unit, frequency_per_day, as_needed, status, intent, \
             authored_ms, requester_kind, requester_id, requester_display, version, updated_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'mg', 1, 0, 'active', 'order', ?9, 'Practitioner', \
             'demo-gp', 'Duty GP (demo)', 1, ?9) ON CONFLICT DO NOTHING",
            &[&org, &id, &patient, &patchbay_sdk::coding::SNOMED_CT, &code, &display, &text, &dose, &recorded],
        )?;
    }
    tx.commit().context("cannot seed the demo")?;
    Ok(())
}

fn seed_practice(
    tx: &crate::store::database::Connection,
    org: &str,
    name: &str,
    patients: &[DemoPatient],
    now: i64,
) -> anyhow::Result<()> {
    use patchbay_sdk::time::{DAY, HOUR, MINUTE, civil_from_days, start_of_day};

    tx.execute(
        "INSERT INTO organisations (ods, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        &[&org, &name],
    )?;
    for p in patients {
        tx.execute(
            "INSERT INTO patients (org, nhs_number, name, birth_date) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO NOTHING",
            &[&org, &p.nhs_number, &p.name, &p.birth_date],
        )?;
    }
    let schedules = [
        (
            "gp-morning",
            "Morning surgery, duty GP",
            "Practitioner",
            "duty-gp",
            "Duty GP",
        ),
        (
            "nurse-clinic",
            "Practice nurse clinic",
            "Practitioner",
            "practice-nurse",
            "Practice nurse",
        ),
    ];
    for (id, label, kind, actor, actor_display) in schedules {
        tx.execute(
            "INSERT INTO schedules (org, id, name, service_system, service_code, service_display, \
             actor_kind, actor_id, actor_display) VALUES (?1, ?2, ?3, ?4, ?5, 'General practice', ?6, ?7, ?8) \
             ON CONFLICT DO NOTHING",
            &[&org, &id, &label, &patchbay_sdk::coding::SNOMED_CT, &GENERAL_PRACTICE, &kind, &actor, &actor_display],
        )?;
    }
    let insert = "INSERT INTO slots (org, id, schedule_id, start_ms, end_ms, status, delivery_channel) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'free', ?6) ON CONFLICT DO NOTHING";
    let today = start_of_day(now);
    for day in 0..=DAYS_AHEAD {
        let day_start = today + day * DAY;
        let (y, m, d) = civil_from_days(day_start / DAY);
        for (schedule, _, _, _, _) in schedules {
            // 09:00 to 12:00 UTC, fifteen-minute slots; the last of each
            // hour by telephone.
            for i in 0..12 {
                let start = day_start + 9 * HOUR + i * 15 * MINUTE;
                let channel = if i % 4 == 3 { "Telephone" } else { "In-person" };
                let id = format!(
                    "{schedule}-{y:04}{m:02}{d:02}-{:02}{:02}",
                    9 + i / 4,
                    (i % 4) * 15
                );
                tx.execute(
                    insert,
                    &[
                        &org,
                        &id,
                        &schedule,
                        &start,
                        &(start + 15 * MINUTE),
                        &channel,
                    ],
                )?;
            }
        }
    }
    Ok(())
}
