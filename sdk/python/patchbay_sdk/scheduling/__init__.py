"""The scheduling standard (`care:scheduling`) in Python, as in the Rust
SDK's `patchbay_sdk::scheduling`:

- `ops`: the standard operations of a scheduling module (validation, the
  atomic take of a slot, cancellation that frees the slot, an amendment
  that moves atomically), over the bindings componentize-py generates from
  the standard's WIT. A supplier's module wraps them with its own policy;
- `reads`: the records reads `ops` makes, for the release the module is
  built against (0.2.0's filters and limits, or 0.1.0's whole lists);
- `rules`: the checks that need no bindings (the search window, the
  limit, GP Connect's text lengths), which also run natively in tests.

Only `rules` can be imported outside a component: `ops` and `reads`
import the generated bindings (`wit_world`) when they are imported.
"""
