//! Time arithmetic on the standards' instants: milliseconds since the Unix
//! epoch, in UTC.

/// One minute in milliseconds.
pub const MINUTE: i64 = 60_000;
/// One hour in milliseconds.
pub const HOUR: i64 = 60 * MINUTE;
/// One day in milliseconds.
pub const DAY: i64 = 24 * HOUR;

/// The start (00:00 UTC) of the day an instant falls in.
pub fn start_of_day(instant: i64) -> i64 {
    instant.div_euclid(DAY) * DAY
}

/// The number of whole days from one day's start to another's.
pub fn days_between(from: i64, to: i64) -> i64 {
    (start_of_day(to) - start_of_day(from)) / DAY
}

/// Days since 1970-01-01 for a civil date (proleptic Gregorian), after
/// Howard Hinnant's `days_from_civil`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// Parses a `YYYY-MM-DD` date to the instant of its start (00:00 UTC).
pub fn parse_date(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if date.len() != 10 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Reject dates such as 2025-02-30 that roll over into the next month.
    (civil_from_days(days) == (year, month, day)).then_some(days * DAY)
}

/// Whole years of age at `at` for someone born on `birth_date` (`YYYY-MM-DD`).
pub fn age_in_years(birth_date: &str, at: i64) -> Option<i64> {
    let born = parse_date(birth_date)?;
    let (by, bm, bd) = civil_from_days(born.div_euclid(DAY));
    let (ny, nm, nd) = civil_from_days(at.div_euclid(DAY));
    let had_birthday = (nm, nd) >= (bm, bd);
    Some(ny - by - if had_birthday { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-1000, 0, 11_017, 20_000, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn dates_and_ages() {
        assert_eq!(parse_date("1970-01-02"), Some(DAY));
        assert_eq!(parse_date("2025-02-30"), None);
        assert_eq!(parse_date("2025-13-01"), None);
        assert_eq!(parse_date("nonsense"), None);
        let at = parse_date("2026-11-23").unwrap_or_default() + 10 * HOUR;
        assert_eq!(age_in_years("1960-11-23", at), Some(66));
        assert_eq!(age_in_years("1960-11-24", at), Some(65));
        assert_eq!(start_of_day(at), at - 10 * HOUR);
        assert_eq!(days_between(at, at + 2 * DAY), 2);
    }
}
