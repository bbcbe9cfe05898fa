//! RFC 3339 timestamps in UTC, from [`SystemTime`], without a date library.
//!
//! Only formatting is needed (`2024-03-29T12:00:00.123Z`), and only for times after 1970, so a
//! dependency would be out of proportion. The date comes from the count of days since the
//! epoch with the civil-calendar conversion: shift the epoch to 0000-03-01 so that leap days
//! fall at the end of a year, then split into 400-year eras (146 097 days each), years of the
//! era, and a March-based day of the year whose month follows from `(5 * day + 2) / 153`.

use std::time::{SystemTime, UNIX_EPOCH};

/// The date (year, month 1-12, day 1-31) of a count of days since 1970-01-01.
pub fn civil_date(days: u64) -> (u64, u32, u32) {
    // 719 468 days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// `t` as RFC 3339 in UTC with milliseconds; times before 1970 are written as the epoch.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_date(secs / 86_400);
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64, millis: u64) -> String {
        rfc3339(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
    }

    #[test]
    fn reference_points() {
        // Values checked with `date -u -d @SECONDS +%FT%T`.
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(951_868_799, 0), "2000-02-29T23:59:59.000Z");
        assert_eq!(at(1_711_324_800, 999), "2024-03-25T00:00:00.999Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
        assert_eq!(at(1_735_689_599, 0), "2024-12-31T23:59:59.000Z");
    }

    #[test]
    fn every_day_follows_the_previous() {
        // Consecutive days never skip or repeat a date, across leap years and centuries.
        let mut prev = civil_date(0);
        for d in 1..200_000 {
            let next = civil_date(d);
            let (y, m, day) = prev;
            let same_month = next == (y, m, day + 1);
            let next_month =
                next.2 == 1 && (next.0, next.1) == if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            assert!(same_month || next_month, "{prev:?} -> {next:?}");
            prev = next;
        }
    }
}
