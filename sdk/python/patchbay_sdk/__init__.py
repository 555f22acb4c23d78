"""The Python SDK for care modules: what a supplier's developer needs
besides the bindings componentize-py generates from the standard's WIT.

- `nhs_number`: NHS number checks (the modulus 11 check digit);
- `snomed`: the SNOMED CT system and its concept identifier check
  (the Verhoeff check digit);
- `outcomes`: refusals as the standard's `outcome` (invalid, not found,
  business rule), raised as `Err` the way the bindings expect;
- `times`: instants in milliseconds, and a patient's age;
- `scheduling`: the scheduling standard's operations (`scheduling.ops`,
  in a component) and its checks that need no bindings (`scheduling.rules`).

The same helpers as the Rust SDK (`sdk/src`), with the same rules, so a
module behaves the same whatever its language. Build a module with
`sdk/python/build` (see sdk/python/README.md).
"""
