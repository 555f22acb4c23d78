//! NHS number validation (NHS Data Dictionary: Modulus 11).

use core::fmt;

/// Why a text is not a valid NHS number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NhsNumberError {
    /// Not ten characters, or not all digits.
    Format(String),
    /// Ten digits whose check digit does not match, or whose check is 10.
    CheckDigit(String),
}

impl fmt::Display for NhsNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NhsNumberError::Format(s) => write!(
                f,
                "'{s}' is not an NHS number: an NHS number is exactly 10 digits with no spaces"
            ),
            NhsNumberError::CheckDigit(s) => write!(
                f,
                "'{s}' is not a valid NHS number: its check digit is wrong (Modulus 11); check it was copied correctly"
            ),
        }
    }
}

impl std::error::Error for NhsNumberError {}

/// Checks an NHS number: ten digits, the last a Modulus 11 check digit.
///
/// Digits 1 to 9 are multiplied by weights 10 down to 2 and summed;
/// `11 - (sum mod 11)` is the check digit, where 11 means 0 and 10 means the
/// number is invalid.
///
/// ```
/// assert!(patchbay_sdk::nhs::check("9434765919").is_ok());
/// assert!(patchbay_sdk::nhs::check("9434765918").is_err());
/// ```
pub fn check(nhs_number: &str) -> Result<(), NhsNumberError> {
    let digits: Vec<u32> = nhs_number.chars().filter_map(|c| c.to_digit(10)).collect();
    if nhs_number.len() != 10 || digits.len() != 10 {
        return Err(NhsNumberError::Format(nhs_number.to_string()));
    }
    let sum: u32 = digits[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    let check = match 11 - (sum % 11) {
        11 => 0,
        10 => return Err(NhsNumberError::CheckDigit(nhs_number.to_string())),
        c => c,
    };
    if check == digits[9] {
        Ok(())
    } else {
        Err(NhsNumberError::CheckDigit(nhs_number.to_string()))
    }
}

/// Whether a text is a valid NHS number.
pub fn is_valid(nhs_number: &str) -> bool {
    check(nhs_number).is_ok()
}

/// Whether a valid NHS number is in the test range 999 000 0000 – 999 999
/// 9999, which passes the check but is never issued to a person.
pub fn is_test_number(nhs_number: &str) -> bool {
    is_valid(nhs_number) && nhs_number.starts_with("999")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        assert_eq!(check("9434765919"), Ok(()));
        assert!(matches!(
            check("9434765918"),
            Err(NhsNumberError::CheckDigit(_))
        ));
        assert!(matches!(check("943476591"), Err(NhsNumberError::Format(_))));
        assert!(matches!(
            check("94347659190"),
            Err(NhsNumberError::Format(_))
        ));
        assert!(matches!(
            check("943476591x"),
            Err(NhsNumberError::Format(_))
        ));
        assert!(matches!(
            check("943 476 59"),
            Err(NhsNumberError::Format(_))
        ));
    }

    #[test]
    fn check_of_ten_is_invalid() {
        // 6 x 2 = 12; 12 mod 11 = 1; 11 - 1 = 10: no check digit can match.
        for last in 0..10 {
            assert!(!is_valid(&format!("000000006{last}")));
        }
    }

    #[test]
    fn test_range() {
        assert!(is_test_number("9990000018"));
        assert!(!is_test_number("9434765919"));
    }
}
