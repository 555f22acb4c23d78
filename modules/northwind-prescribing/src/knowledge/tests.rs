//! Tests across the knowledge base: the tables agree with one another, and
//! whole assessments give the findings a clinician would expect.

use super::medicines::{
    AMOXICILLIN, ASPIRIN, ATAZANAVIR, ATORVASTATIN, CEFUROXIME, CIPROFLOXACIN, CITALOPRAM,
    CLARITHROMYCIN, DICLOFENAC, ERYTHROMYCIN, FLUCLOXACILLIN, FLUOXETINE, IBUPROFEN, LANSOPRAZOLE,
    LISINOPRIL, NAPROXEN, OMEPRAZOLE, PARACETAMOL, PHENOXYMETHYLPENICILLIN, RAMIPRIL, RASAGILINE,
    SERTRALINE, SIMVASTATIN, TIZANIDINE, TRAMADOL, WARFARIN,
};
use super::sources::{MHRA_SIMVASTATIN, ONC_LIST};
use super::*;

fn adult<'a>(code: &'a str, dose: f64, unit: &'a str, frequency_per_day: u32) -> Draft<'a> {
    Draft {
        code,
        dose,
        unit,
        frequency_per_day,
        age_years: Some(45),
    }
}

fn current(request_id: &'static str, code: &'static str) -> Current<'static> {
    Current { request_id, code }
}

fn allergy(code: &'static str) -> RecordedAllergy<'static> {
    RecordedAllergy { code }
}

fn of(findings: &[Finding], category: Category) -> Vec<&Finding> {
    findings.iter().filter(|f| f.category == category).collect()
}

fn usual(code: &str) -> Draft<'_> {
    let m = find(code).expect("known medicine");
    adult(code, m.max_single_mg, "mg", 1)
}

#[test]
fn every_code_is_a_valid_sctid() {
    for m in medicines() {
        assert!(sctid_is_valid(m.code), "{} {}", m.name, m.code);
    }
    for rule in allergy_rules() {
        assert!(sctid_is_valid(rule.code), "{} {}", rule.name, rule.code);
    }
    for rule in interactions() {
        for agent in [rule.a, rule.b] {
            if let Agent::Medicine(code) = agent {
                assert!(find(code).is_some(), "interaction names unknown {code}");
            }
        }
        if let Some(code) = rule.alternative_for_a {
            assert!(find(code).is_some(), "unknown alternative {code}");
        }
    }
}

#[test]
fn no_duplicate_codes_and_sane_ranges() {
    let all = medicines();
    assert!(all.len() >= 22);
    for (i, m) in all.iter().enumerate() {
        for other in &all[i + 1..] {
            assert_ne!(m.code, other.code, "{} and {}", m.name, other.name);
            assert_ne!(m.name, other.name);
        }
        for rule in allergy_rules() {
            assert_ne!(rule.code, m.code);
        }
        assert!(m.min_single_mg > 0.0, "{}", m.name);
        assert!(m.min_single_mg <= m.max_single_mg, "{}", m.name);
        assert!(m.max_single_mg <= m.max_daily_mg, "{}", m.name);
        assert!(!m.classes.is_empty(), "{}", m.name);
        assert!(m.source.starts_with("BNF: "), "{}", m.name);
        assert!(dose_source_url(m.code).is_some(), "{}", m.name);
        assert_eq!(find(m.code), Some(m));
    }
    assert!(interactions().len() >= 8);
    for rule in interactions() {
        assert!(!rule.source_label.is_empty());
        assert!(rule.source_url.is_some_and(|u| u.starts_with("https://")));
    }
}

#[test]
fn warfarin_and_ibuprofen_are_critical_both_ways() {
    let draft = usual(IBUPROFEN);
    let found = assess(&draft, &[current("rx-warf", WARFARIN)], &[]);
    let hits = of(&found, Category::Interaction);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].level, Level::Critical);
    assert!(hits[0].summary.contains("Ibuprofen") && hits[0].summary.contains("warfarin"));
    // Warfarin is not stopped to make room for an NSAID.
    assert!(
        !hits[0]
            .suggestions
            .iter()
            .any(|(_, s)| matches!(s, Suggest::StopCurrent { .. }))
    );
    assert!(hits[0].suggestions.contains(&(
        "Remove this ibuprofen prescription".to_string(),
        Suggest::RemoveDraft
    )));
    assert!(hits[0].suggestions.iter().any(|(_, s)| *s
        == Suggest::ReplaceWith {
            code: PARACETAMOL,
            name: "Paracetamol"
        }));

    let draft = adult(WARFARIN, 5.0, "mg", 1);
    let found = assess(&draft, &[current("rx-ibu", IBUPROFEN)], &[]);
    let hits = of(&found, Category::Interaction);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].level, Level::Critical);
    // The current NSAID may be stopped; paracetamol replaces the NSAID,
    // never the warfarin.
    assert!(hits[0].suggestions.contains(&(
        "Stop the current ibuprofen prescription".to_string(),
        Suggest::StopCurrent {
            request_id: "rx-ibu".to_string()
        }
    )));
    assert!(
        !hits[0]
            .suggestions
            .iter()
            .any(|(_, s)| matches!(s, Suggest::ReplaceWith { .. }))
    );
}

#[test]
fn every_nsaid_interacts_with_warfarin() {
    for code in [IBUPROFEN, NAPROXEN, DICLOFENAC] {
        let found = assess(&usual(code), &[current("w", WARFARIN)], &[]);
        assert_eq!(found[0].level, Level::Critical, "{code}");
        assert_eq!(found[0].category, Category::Interaction);
    }
    let found = assess(
        &adult(ASPIRIN, 75.0, "mg", 1),
        &[current("w", WARFARIN)],
        &[],
    );
    assert_eq!(of(&found, Category::Interaction)[0].level, Level::Warning);
}

#[test]
fn simvastatin_and_clarithromycin_are_critical() {
    let found = assess(
        &adult(CLARITHROMYCIN, 500.0, "mg", 2),
        &[current("rx-simva", SIMVASTATIN)],
        &[],
    );
    let hits = of(&found, Category::Interaction);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].level, Level::Critical);
    assert_eq!(hits[0].source_url, Some(MHRA_SIMVASTATIN));
    // MHRA: suspend simvastatin for the course of the macrolide.
    assert!(hits[0].suggestions.iter().any(|(_, s)| *s
        == Suggest::StopCurrent {
            request_id: "rx-simva".to_string()
        }));
    let found = assess(&usual(SIMVASTATIN), &[current("c", CLARITHROMYCIN)], &[]);
    assert_eq!(of(&found, Category::Interaction)[0].level, Level::Critical);
    let found = assess(&usual(SIMVASTATIN), &[current("e", ERYTHROMYCIN)], &[]);
    assert_eq!(of(&found, Category::Interaction)[0].level, Level::Critical);
    // Atorvastatin is the milder case.
    let found = assess(&usual(ATORVASTATIN), &[current("c", CLARITHROMYCIN)], &[]);
    assert_eq!(of(&found, Category::Interaction)[0].level, Level::Warning);
}

#[test]
fn ssri_with_mao_inhibitor_is_critical() {
    for ssri in [SERTRALINE, FLUOXETINE, CITALOPRAM] {
        let found = assess(&usual(ssri), &[current("rx-mao", RASAGILINE)], &[]);
        let hits = of(&found, Category::Interaction);
        assert_eq!(hits.len(), 1, "{ssri}");
        assert_eq!(hits[0].level, Level::Critical);
        assert_eq!(hits[0].source_url, Some(ONC_LIST));
    }
    let found = assess(&usual(RASAGILINE), &[current("s", SERTRALINE)], &[]);
    assert_eq!(of(&found, Category::Interaction)[0].level, Level::Critical);
}

#[test]
fn onc_pairs_are_critical() {
    let pairs = [
        (OMEPRAZOLE, ATAZANAVIR),
        (LANSOPRAZOLE, ATAZANAVIR),
        (CIPROFLOXACIN, TIZANIDINE),
        (TRAMADOL, RASAGILINE),
    ];
    for (x, y) in pairs {
        for (d, c) in [(x, y), (y, x)] {
            let found = assess(&usual(d), &[current("rx", c)], &[]);
            let hits = of(&found, Category::Interaction);
            assert_eq!(hits.len(), 1, "{d} with {c}");
            assert_eq!(hits[0].level, Level::Critical, "{d} with {c}");
        }
    }
    let warnings = [
        (IBUPROFEN, RAMIPRIL),
        (NAPROXEN, LISINOPRIL),
        (TRAMADOL, SERTRALINE),
        (IBUPROFEN, CITALOPRAM),
        (CLARITHROMYCIN, WARFARIN),
        (CIPROFLOXACIN, WARFARIN),
    ];
    for (x, y) in warnings {
        for (d, c) in [(x, y), (y, x)] {
            let found = assess(&usual(d), &[current("rx", c)], &[]);
            let hits = of(&found, Category::Interaction);
            assert_eq!(hits.len(), 1, "{d} with {c}");
            assert_eq!(hits[0].level, Level::Warning, "{d} with {c}");
        }
    }
}

#[test]
fn penicillin_allergy_rules_out_penicillins_and_warns_on_cephalosporins() {
    let found = assess(&usual(AMOXICILLIN), &[], &[allergy("91936005")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, Category::Allergy);
    assert_eq!(found[0].level, Level::Critical);
    assert!(found[0].summary.contains("Amoxicillin"));
    assert!(found[0].suggestions.iter().any(|(_, s)| *s
        == Suggest::ReplaceWith {
            code: CLARITHROMYCIN,
            name: "Clarithromycin"
        }));

    let found = assess(&usual(CEFUROXIME), &[], &[allergy("91936005")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, Category::Allergy);
    assert_eq!(found[0].level, Level::Warning);

    for code in [FLUCLOXACILLIN, PHENOXYMETHYLPENICILLIN] {
        let found = assess(&usual(code), &[], &[allergy("294505008")]);
        assert_eq!(found[0].level, Level::Critical, "{code}");
    }
    let found = assess(&usual(CLARITHROMYCIN), &[], &[allergy("91936005")]);
    assert!(found.is_empty());
}

#[test]
fn substance_allergies_cover_the_medicine_and_its_class() {
    let found = assess(&usual(AMOXICILLIN), &[], &[allergy(AMOXICILLIN)]);
    assert_eq!(found[0].level, Level::Critical);
    assert_eq!(found[0].category, Category::Allergy);
    let found = assess(&usual(FLUCLOXACILLIN), &[], &[allergy(AMOXICILLIN)]);
    assert_eq!(found[0].level, Level::Critical);
    let found = assess(&usual(CEFUROXIME), &[], &[allergy(AMOXICILLIN)]);
    assert_eq!(found[0].level, Level::Warning);
    let found = assess(&usual(PARACETAMOL), &[], &[allergy(PARACETAMOL)]);
    assert_eq!(found[0].level, Level::Critical);
    let found = assess(&usual(NAPROXEN), &[], &[allergy("293586001")]);
    assert_eq!(found[0].level, Level::Critical);
    let found = assess(&usual(ASPIRIN), &[], &[allergy(IBUPROFEN)]);
    assert_eq!(found[0].level, Level::Critical);
    let found = assess(&usual(CLARITHROMYCIN), &[], &[allergy("91931000")]);
    assert_eq!(found[0].level, Level::Critical);
    // Unknown allergy codes are ignored.
    assert!(assess(&usual(PARACETAMOL), &[], &[allergy("12345678")]).is_empty());
}

#[test]
fn alternatives_are_only_offered_when_clear() {
    // Clarithromycin would clash with simvastatin: not offered.
    let found = assess(
        &usual(AMOXICILLIN),
        &[current("s", SIMVASTATIN)],
        &[allergy("91936005")],
    );
    let hit = &of(&found, Category::Allergy)[0];
    assert!(
        !hit.suggestions
            .iter()
            .any(|(_, s)| matches!(s, Suggest::ReplaceWith { .. }))
    );
    // Paracetamol would meet a recorded paracetamol allergy: not offered.
    let found = assess(
        &usual(IBUPROFEN),
        &[current("w", WARFARIN)],
        &[allergy(PARACETAMOL)],
    );
    let hit = &of(&found, Category::Interaction)[0];
    assert!(
        !hit.suggestions
            .iter()
            .any(|(_, s)| matches!(s, Suggest::ReplaceWith { .. }))
    );
}

#[test]
fn ibuprofen_2400_mg_single_dose_is_critical() {
    let found = assess(&adult(IBUPROFEN, 2400.0, "mg", 1), &[], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, Category::DoseRange);
    assert_eq!(found[0].level, Level::Critical);
    assert!(found[0].summary.contains("Ibuprofen 2400 mg"));
    // Just above the usual single maximum is a warning.
    let found = assess(&adult(IBUPROFEN, 800.0, "mg", 3), &[], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].level, Level::Warning);
    // Below the usual range is for information.
    let found = assess(&adult(IBUPROFEN, 100.0, "mg", 3), &[], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].level, Level::Info);
    assert_eq!(found[0].category, Category::DoseRange);
}

#[test]
fn daily_overdose_is_caught() {
    let found = assess(&adult(PARACETAMOL, 1.0, "g", 6), &[], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, Category::DoseRange);
    assert_eq!(found[0].level, Level::Warning);
    assert!(found[0].summary.contains("6000 mg a day"));
    let found = assess(&adult(PARACETAMOL, 1.0, "g", 8), &[], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].level, Level::Critical);
    // Single and daily limits are reported separately.
    let found = assess(&adult(IBUPROFEN, 800.0, "mg", 4), &[], &[]);
    assert_eq!(of(&found, Category::DoseRange).len(), 2);
}

#[test]
fn grams_and_micrograms_are_converted() {
    assert!(assess(&adult(PARACETAMOL, 1.0, "g", 4), &[], &[]).is_empty());
    assert!(assess(&adult(PARACETAMOL, 1.0, " G ", 4), &[], &[]).is_empty());
    assert!(assess(&adult(WARFARIN, 5000.0, "microgram", 1), &[], &[]).is_empty());
    assert!(assess(&adult(WARFARIN, 5000.0, "mcg", 1), &[], &[]).is_empty());
    let found = assess(&adult(PARACETAMOL, 2.5, "g", 1), &[], &[]);
    assert_eq!(found[0].level, Level::Critical);
    assert!(found[0].summary.contains("2500 mg"));
    let found = assess(&adult(WARFARIN, 50_000.0, "mcg", 1), &[], &[]);
    assert_eq!(found[0].level, Level::Critical);
    let found = assess(&adult(RAMIPRIL, 1250.0, "micrograms", 1), &[], &[]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn other_units_are_not_checked() {
    let found = assess(&adult(PARACETAMOL, 2.0, "tablet", 4), &[], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, Category::Other);
    assert_eq!(found[0].level, Level::Info);
    assert!(found[0].summary.contains("tablet"));
}

#[test]
fn two_nsaids_are_duplicate_therapy() {
    let found = assess(&usual(IBUPROFEN), &[current("rx-nap", NAPROXEN)], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, Category::DuplicateTherapy);
    assert_eq!(found[0].level, Level::Warning);
    assert!(found[0].summary.contains("NSAID"));
    assert!(found[0].suggestions.iter().any(|(_, s)| *s
        == Suggest::StopCurrent {
            request_id: "rx-nap".to_string()
        }));
    for (d, c) in [
        (SIMVASTATIN, ATORVASTATIN),
        (SERTRALINE, CITALOPRAM),
        (OMEPRAZOLE, LANSOPRAZOLE),
    ] {
        let found = assess(&usual(d), &[current("rx", c)], &[]);
        assert_eq!(found.len(), 1, "{d} {c}");
        assert_eq!(found[0].category, Category::DuplicateTherapy);
    }
    // Antiplatelet aspirin with an NSAID is not class duplication.
    assert!(
        of(
            &assess(&usual(IBUPROFEN), &[current("a", ASPIRIN)], &[]),
            Category::DuplicateTherapy
        )
        .is_empty()
    );
}

#[test]
fn same_medicine_already_prescribed_is_a_warning() {
    let found = assess(&usual(SERTRALINE), &[current("rx-1", SERTRALINE)], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].category, Category::DuplicateTherapy);
    assert_eq!(found[0].level, Level::Warning);
    assert!(found[0].summary.contains("already prescribed"));
}

#[test]
fn clean_paracetamol_gives_no_findings() {
    let draft = adult(PARACETAMOL, 1.0, "g", 4);
    assert!(assess(&draft, &[], &[]).is_empty());
    let draft = Draft {
        age_years: None,
        ..adult(PARACETAMOL, 1000.0, "mg", 4)
    };
    assert!(assess(&draft, &[], &[]).is_empty());
}

#[test]
fn unknown_code_gives_one_info() {
    let draft = adult("123456789", 5.0, "mg", 1);
    let found = assess(&draft, &[current("w", WARFARIN)], &[allergy("91936005")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].level, Level::Info);
    assert_eq!(found[0].category, Category::Other);
    assert!(
        found[0]
            .summary
            .contains("not in Northwind's knowledge base")
    );
}

#[test]
fn children_get_an_info_and_no_dose_check() {
    let draft = Draft {
        age_years: Some(10),
        ..adult(IBUPROFEN, 2400.0, "mg", 4)
    };
    let found = assess(&draft, &[], &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].level, Level::Info);
    assert!(of(&found, Category::DoseRange).is_empty());
    assert!(found[0].summary.contains("adult"));
    // Other checks still run for children.
    let found = assess(&draft, &[current("w", WARFARIN)], &[]);
    assert_eq!(found[0].level, Level::Critical);
    assert!(of(&found, Category::DoseRange).is_empty());
    // Eighteen is an adult.
    let draft = Draft {
        age_years: Some(18),
        ..draft
    };
    assert_eq!(assess(&draft, &[], &[])[0].category, Category::DoseRange);
}

#[test]
fn findings_are_sorted_critical_first() {
    let draft = adult(IBUPROFEN, 100.0, "mg", 3);
    let found = assess(
        &draft,
        &[current("n", NAPROXEN), current("w", WARFARIN)],
        &[],
    );
    let levels: Vec<Level> = found.iter().map(|f| f.level).collect();
    assert_eq!(levels, vec![Level::Critical, Level::Warning, Level::Info]);
    assert_eq!(found[0].category, Category::Interaction);
    assert_eq!(found[1].category, Category::DuplicateTherapy);
    assert_eq!(found[2].category, Category::DoseRange);
}

#[test]
fn summaries_are_short_single_lines() {
    let units = ["mg", "g", "mcg", "tablet"];
    let doses = [0.01, 1.0, 100.0, 2400.0, 1e12];
    let ages = [None, Some(3), Some(40)];
    let allergy_codes: Vec<&str> = allergy_rules()
        .iter()
        .map(|r| r.code)
        .chain(medicines().iter().map(|m| m.code))
        .collect();
    let mut seen = 0usize;
    let mut check = |found: Vec<Finding>| {
        for f in found {
            seen += 1;
            let n = f.summary.chars().count();
            assert!(n < 140, "{n} chars: {}", f.summary);
            assert!(!f.summary.contains('\n'), "{}", f.summary);
            assert!(!f.summary.ends_with('…'), "needed cutting: {}", f.summary);
            assert!(!f.detail.is_empty());
            assert!(!f.source_label.is_empty());
        }
    };
    for d in medicines() {
        for unit in units {
            for dose in doses {
                for age in ages {
                    let draft = Draft {
                        code: d.code,
                        dose,
                        unit,
                        frequency_per_day: 6,
                        age_years: age,
                    };
                    check(assess(&draft, &[], &[]));
                }
            }
        }
        for c in medicines() {
            let found = assess(&usual(d.code), &[current("rx-0001", c.code)], &[]);
            check(found);
        }
        for code in &allergy_codes {
            check(assess(&usual(d.code), &[], &[RecordedAllergy { code }]));
        }
    }
    check(assess(&adult("999999999999999999", 1.0, "mg", 1), &[], &[]));
    assert!(seen > 500, "only {seen} findings exercised");
}

#[test]
fn hostile_input_stays_on_one_short_line() {
    let long = "x".repeat(500) + "\n`inject`";
    let found = assess(&adult(&long, 1.0, "mg", 1), &[], &[]);
    assert!(found[0].summary.chars().count() < 140);
    assert!(!found[0].summary.contains('\n'));
    let found = assess(&adult(PARACETAMOL, 1.0, &"u\n".repeat(100), 1), &[], &[]);
    assert!(found[0].summary.chars().count() < 140);
    assert!(!found[0].summary.contains('\n'));
    let found = assess(&adult(PARACETAMOL, f64::NAN, "mg", 1), &[], &[]);
    assert_eq!(found[0].category, Category::Other);
    let found = assess(&adult(PARACETAMOL, 1e300, "mg", 4), &[], &[]);
    assert!(found.iter().all(|f| f.summary.chars().count() < 140));
}
