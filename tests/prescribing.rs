//! prescribing
