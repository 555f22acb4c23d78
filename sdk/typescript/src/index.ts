// Patchbay's TypeScript SDK: the helpers every care module needs. The
// standard operations of each standard are in their own entry point, e.g.
// `@patchbay/sdk/scheduling/ops`, as they import that standard's records.

export * as nhsNumber from './nhs-number.js';
export * as snomed from './snomed.js';
export * as times from './times.js';
export * as outcomes from './outcomes.js';
export { Refusal } from './outcomes.js';
