"""Heron's knowledge, tested natively (no component, no host):
`python3 -m unittest discover -s modules/heron-prescribing -p 'test_*.py'`."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "sdk", "python"))

import knowledge  # noqa: E402
from patchbay_sdk import nhs_number, snomed, times  # noqa: E402


def levels(findings, category=None):
    return [f.level for f in findings if category is None or f.category == category]


class Knowledge(unittest.TestCase):
    def test_at_least_twenty_medicines_each_coded_and_sourced(self):
        self.assertGreaterEqual(len(knowledge.MEDICINES), 20)
        for code, (name, cls, most, source) in knowledge.MEDICINES.items():
            self.assertTrue(snomed.is_concept_id(code), f"{name}: {code} fails the Verhoeff check")
            self.assertTrue(source.startswith("https://"), name)
            self.assertGreater(most, 0, name)

    def test_every_interaction_and_allergy_class_is_sourced_and_known(self):
        known = {c for _, c, _, _ in knowledge.MEDICINES.values()} | set(knowledge.MEDICINES)
        for one, two, level, why, source in knowledge.INTERACTIONS:
            self.assertIn(one, known)
            self.assertIn(two, known)
            self.assertIn(level, ("warning", "critical"))
            self.assertTrue(why and source.startswith("https://"))
        for code, cls in knowledge.ALLERGY_CLASSES.items():
            self.assertTrue(snomed.is_concept_id(code), code)
            self.assertIn(cls, known)

    def test_interactions_work_both_ways(self):
        on_warfarin = [knowledge.Current("rx-1", "372756006")]
        self.assertEqual(levels(knowledge.assess("387207008", 400, "mg", 3, 40, on_warfarin, []), "interaction"), ["critical"])
        on_ibuprofen = [knowledge.Current("rx-2", "387207008")]
        self.assertEqual(levels(knowledge.assess("372756006", 5, "mg", 1, 40, on_ibuprofen, []), "interaction"), ["critical"])

    def test_dose_policy_warns_then_refuses(self):
        self.assertEqual(levels(knowledge.assess("387517004", 1000, "mg", 4, 40, [], [])), [])
        self.assertEqual(levels(knowledge.assess("387517004", 1000, "mg", 5, 40, [], []), "dose-range"), ["warning"])
        self.assertEqual(levels(knowledge.assess("387517004", 1000, "mg", 6, 40, [], []), "dose-range"), ["critical"])

    def test_age_rules(self):
        self.assertIn("critical", levels(knowledge.assess("387458008", 300, "mg", 1, 12, [], [])))
        self.assertIn("critical", levels(knowledge.assess("387494007", 30, "mg", 4, 10, [], [])))
        self.assertEqual(levels(knowledge.assess("387207008", 400, "mg", 3, 70, [], [])), ["warning"])
        self.assertEqual(levels(knowledge.assess("387207008", 400, "mg", 3, 50, [], [])), [])

    def test_allergies_and_cross_sensitivity(self):
        penicillin = ["91936005"]
        self.assertEqual(levels(knowledge.assess("372687004", 500, "mg", 3, 40, [], penicillin), "allergy"), ["critical"])
        self.assertEqual(levels(knowledge.assess("372833007", 250, "mg", 2, 40, [], penicillin), "allergy"), ["warning"])
        self.assertEqual(levels(knowledge.assess("387517004", 500, "mg", 2, 40, [], penicillin)), [])

    def test_duplicate_therapy_suggests_stopping_the_current_one(self):
        findings = knowledge.assess("373444002", 20, "mg", 1, 40, [knowledge.Current("rx-9", "387584000")], [])
        duplicate = [f for f in findings if f.category == "duplicate-therapy"]
        self.assertEqual(len(duplicate), 1)
        self.assertEqual(duplicate[0].suggestions[0][1:], ("stop-current", "rx-9"))


class Sdk(unittest.TestCase):
    def test_nhs_numbers(self):
        self.assertTrue(nhs_number.is_valid("9990000018"))
        self.assertFalse(nhs_number.is_valid("9990000019"))
        self.assertFalse(nhs_number.is_valid("999000001"))

    def test_snomed_ids(self):
        self.assertTrue(snomed.is_concept_id("387517004"))
        self.assertFalse(snomed.is_concept_id("387517005"))

    def test_age(self):
        birthday = 1_767_225_600_000  # 2026-01-01T00:00:00Z
        self.assertEqual(times.age_in_years("2000-01-01", birthday), 26)
        self.assertEqual(times.age_in_years("2000-01-02", birthday), 25)


if __name__ == "__main__":
    unittest.main()
