//! Code systems of the care standards and SNOMED CT identifier checks
//! (SNOMED CT technical implementation guide, section 6.2).

/// SNOMED CT.
pub const SNOMED_CT: &str = "http://snomed.info/sct";
/// The NHS Dictionary of Medicines and Devices; its codes are SNOMED CT
/// identifiers in the UK extension.
pub const DMD: &str = "https://dmd.nhs.uk";
/// NHS number identifiers.
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// ODS organisation codes.
pub const ODS_ORGANISATION: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// Whether a code system's codes are SNOMED CT identifiers.
pub fn is_snomed_system(system: &str) -> bool {
    system == SNOMED_CT || system == DMD
}

/// Why a text is not a SNOMED CT identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SctIdError {
    /// Not 6 to 18 digits, or a leading zero.
    Format(String),
    /// The last digit is not the Verhoeff check digit.
    CheckDigit(String),
}

impl core::fmt::Display for SctIdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SctIdError::Format(s) => write!(
                f,
                "'{s}' is not a SNOMED CT identifier: it must be 6 to 18 digits with no leading zero"
            ),
            SctIdError::CheckDigit(s) => write!(
                f,
                "'{s}' is not a SNOMED CT identifier: its Verhoeff check digit is wrong"
            ),
        }
    }
}

impl std::error::Error for SctIdError {}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Checks a SNOMED CT identifier: 6 to 18 digits, no leading zero, and a
/// valid Verhoeff check digit last.
///
/// ```
/// assert!(patchbay_sdk::coding::check_sctid("91936005").is_ok()); // Allergy to penicillin
/// assert!(patchbay_sdk::coding::check_sctid("91936006").is_err());
/// ```
pub fn check_sctid(code: &str) -> Result<(), SctIdError> {
    let well_formed = (6..=18).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && !code.starts_with('0');
    if !well_formed {
        return Err(SctIdError::Format(code.to_string()));
    }
    let mut c = 0u8;
    for (i, b) in code.bytes().rev().enumerate() {
        c = VERHOEFF_D[c as usize][VERHOEFF_P[i % 8][(b - b'0') as usize] as usize];
    }
    if c == 0 {
        Ok(())
    } else {
        Err(SctIdError::CheckDigit(code.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_identifiers_pass() {
        for code in [
            "91936005",          // Allergy to penicillin
            "394814009",         // General practice
            "26643006",          // Oral route
            "372756006",         // Warfarin (substance)
            "39695211000001102", // dm+d VMP: Simvastatin 40mg tablets
            "372567009", // Metformin (substance): needs row 4 of the permutation table right
            "386872004", // Ramipril (substance)
            "372767007", // Fluoxetine (substance)
        ] {
            assert_eq!(check_sctid(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn broken_identifiers_fail() {
        assert!(matches!(
            check_sctid("91936006"),
            Err(SctIdError::CheckDigit(_))
        ));
        assert!(matches!(
            check_sctid("01936005"),
            Err(SctIdError::Format(_))
        ));
        assert!(matches!(check_sctid("12345"), Err(SctIdError::Format(_))));
        assert!(matches!(
            check_sctid("9193600x"),
            Err(SctIdError::Format(_))
        ));
    }
}
