// Helpers on the generated `care:types` types, included into each world's
// bindings module (each world has its own copy of the generated types).

use self::care::types::types::{Coding, Issue, IssueCode, Outcome, Severity};

impl Outcome {
    /// An outcome with one error issue of the given code.
    pub fn error(code: IssueCode, diagnostics: impl Into<String>) -> Self {
        Outcome {
            issues: vec![Issue {
                severity: Severity::Error,
                code,
                diagnostics: diagnostics.into(),
                expression: None,
            }],
        }
    }

    /// The request is malformed or a value is not valid.
    pub fn invalid(diagnostics: impl Into<String>) -> Self {
        Self::error(IssueCode::Invalid, diagnostics)
    }

    /// A referenced record does not exist.
    pub fn not_found(diagnostics: impl Into<String>) -> Self {
        Self::error(IssueCode::NotFound, diagnostics)
    }

    /// The request conflicts with the current state.
    pub fn conflict(diagnostics: impl Into<String>) -> Self {
        Self::error(IssueCode::Conflict, diagnostics)
    }

    /// The request breaks a rule of the module's policy.
    pub fn business_rule(diagnostics: impl Into<String>) -> Self {
        Self::error(IssueCode::BusinessRule, diagnostics)
    }

    /// Points the first issue at a place in the request (a FHIRPath).
    pub fn at(mut self, expression: impl Into<String>) -> Self {
        if let Some(issue) = self.issues.first_mut() {
            issue.expression = Some(expression.into());
        }
        self
    }

    /// The code of the first issue, if any.
    pub fn code(&self) -> Option<IssueCode> {
        self.issues.first().map(|issue| issue.code)
    }
}

impl Outcome {
    /// Every issue's diagnostics, joined: the text for a person.
    pub fn diagnostics(&self) -> String {
        let texts: Vec<&str> = self.issues.iter().map(|i| i.diagnostics.as_str()).collect();
        texts.join("; ")
    }
}

impl Coding {
    /// A SNOMED CT code.
    pub fn snomed(code: &str, display: &str) -> Self {
        Coding {
            system: crate::coding::SNOMED_CT.to_string(),
            code: code.to_string(),
            display: Some(display.to_string()),
        }
    }

    /// A dm+d code.
    pub fn dmd(code: &str, display: &str) -> Self {
        Coding {
            system: crate::coding::DMD.to_string(),
            code: code.to_string(),
            display: Some(display.to_string()),
        }
    }

    /// Whether this coding is the given code in a SNOMED CT based system
    /// (SNOMED CT itself or dm+d, whose codes are SNOMED CT identifiers).
    pub fn is_snomed_code(&self, code: &str) -> bool {
        crate::coding::is_snomed_system(&self.system) && self.code == code
    }
}

/// Checks an NHS number, as an `invalid` outcome pointing at `expression`.
pub fn check_nhs_number(nhs_number: &str, expression: &str) -> Result<(), Outcome> {
    crate::nhs::check(nhs_number).map_err(|e| Outcome::invalid(e.to_string()).at(expression))
}

/// Checks that an optional text is at most `max` characters long (never
/// truncate: GP Connect), as a `too-long` outcome pointing at `expression`.
pub fn check_length(text: &Option<String>, max: usize, expression: &str) -> Result<(), Outcome> {
    match text {
        Some(t) if t.chars().count() > max => Err(Outcome::error(
            IssueCode::TooLong,
            format!(
                "{expression} is {} characters long; at most {max} are allowed. Shorten it: it is never truncated.",
                t.chars().count()
            ),
        )
        .at(expression)),
        _ => Ok(()),
    }
}
