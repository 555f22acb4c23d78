//! How serious a finding is: the scale every check grades on.

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// For information; nothing needs to change.
    Info,
    /// Think again: the prescription may need changing or monitoring.
    Warning,
    /// Do not issue as it stands.
    Critical,
}

impl Level {
    /// 0 for Info, 1 for Warning, 2 for Critical: higher is more severe.
    pub fn rank(self) -> u8 {
        match self {
            Level::Info => 0,
            Level::Warning => 1,
            Level::Critical => 2,
        }
    }
}
