//! Links to the public sources that several parts of the knowledge base
//! cite: interactions and allergy findings. Each medicine's own BNF
//! monograph is in `medicines.rs` ([`dose_source_url`](super::dose_source_url)).

/// The BNF's home; used where a finding rests on BNF guidance as a whole.
pub(super) const BNF: &str = "https://bnf.nice.org.uk/";
/// The BNF's interactions appendix.
pub(super) const BNF_INTERACTIONS: &str = "https://bnf.nice.org.uk/interactions/";
/// The BNF's treatment summaries (penicillins, NSAIDs, macrolides).
pub(super) const BNF_SUMMARIES: &str = "https://bnf.nice.org.uk/treatment-summaries/";
/// Phansalkar et al., the ONC high-priority drug–drug interaction list.
pub(super) const ONC_LIST: &str = "https://doi.org/10.1136/amiajnl-2011-000612";
/// MHRA Drug Safety Update, August 2012: simvastatin interactions.
pub(super) const MHRA_SIMVASTATIN: &str =
    "https://www.gov.uk/drug-safety-update/simvastatin-updated-advice-on-drug-interactions";
