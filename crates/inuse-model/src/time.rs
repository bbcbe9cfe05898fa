//! Time as inuse writes and reads it: RFC 3339 in UTC, durations as people type them, and "now"
//! for documents (which `SOURCE_DATE_EPOCH` fixes for reproducible output).
//!
//! Every output format here needs only UTC timestamps, so a date crate would be out of
//! proportion. Dates convert to and from a count of days since 1970-01-01 with the
//! civil-calendar algorithm described by Howard Hinnant ("chrono-Compatible Low-Level Date
//! Algorithms", public domain): shift the epoch to 0000-03-01 so that the leap day ends a
//! year, then count whole 400-year eras of 146 097 days, years of the era, and a March-based day
//! of the year whose month follows from `(5 * day + 2) / 153`.
//!
//! This is the one implementation: reports, SBOMs, trace output and the stores all call it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The date (year, month 1-12, day 1-31) of a count of days since 1970-01-01 (negative
/// counts are dates before it), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // 719 468 days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both in range by construction: day 1..=31, month 1..=12.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date; the inverse of [`civil_from_days`].
/// The caller validates the month (1-12) and day.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 date-time, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` (`t`, `z`
/// and a space accepted as RFC 3339 allows), into nanoseconds since the Unix epoch. The date is
/// validated (month lengths, leap years); a leap second (`:60`) is accepted as the next second.
pub fn parse_rfc3339_nanos(s: &str) -> Result<i128, &'static str> {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 64 {
        return Err("not an RFC 3339 date-time");
    }
    let num = |from: usize, len: usize| -> Result<i64, &'static str> {
        let part = b.get(from..from + len).ok_or("truncated date-time")?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err("not an RFC 3339 date-time");
        }
        Ok(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err("not an RFC 3339 date-time");
    }
    if b[13] != b':' || b[16] != b':' {
        return Err("not an RFC 3339 date-time");
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return Err("invalid date");
    }
    if h > 23 || mi > 59 || sec > 60 {
        return Err("invalid time of day");
    }
    let mut i = 19;
    let mut frac: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                frac = frac * 10 + i128::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err("empty fraction of a second");
        }
        for _ in (i - start).min(9)..9 {
            frac *= 10;
        }
    }
    let offset = match &b[i..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() - i == 6 && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err("invalid time zone offset");
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return Err("missing or invalid time zone"),
    };
    // `mo` and `d` were validated above (1..=12, 1..=31).
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Ok(i128::from(secs) * 1_000_000_000 + frac)
}

/// Parses an RFC 3339 date-time into whole Unix seconds (the fraction is dropped).
pub fn parse_rfc3339(s: &str) -> Result<i64, &'static str> {
    let nanos = parse_rfc3339_nanos(s)?;
    i64::try_from(nanos.div_euclid(1_000_000_000)).map_err(|_| "date-time out of range")
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Formats Unix seconds as RFC 3339 in UTC, whole seconds: `2026-11-26T20:31:00Z`.
pub fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Formats an instant as RFC 3339 in UTC with milliseconds: `2024-03-29T12:00:00.123Z`.
/// Instants before 1970 are written as the epoch (the clock of a live system is never there).
pub fn rfc3339_millis(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX / 2);
    let mut s = rfc3339(secs);
    s.pop(); // the `Z`
    s.push_str(&format!(".{:03}Z", since.subsec_millis()));
    s
}

/// Unix seconds of an instant (0 before 1970).
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The system clock, in Unix seconds: for what is recorded (store rows, import times), where a
/// fixed `SOURCE_DATE_EPOCH` would be wrong.
pub fn clock() -> i64 {
    unix_seconds(SystemTime::now())
}

/// `SOURCE_DATE_EPOCH` (reproducible-builds.org), when it is set to a whole number of seconds.
pub fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// "Now" for a document's timestamp, in Unix seconds: `SOURCE_DATE_EPOCH` when it is set (so
/// the same input gives the same document), else the [`clock`].
pub fn now() -> i64 {
    source_date_epoch().unwrap_or_else(clock)
}

/// Parses a duration into milliseconds: `500ms`, `90s`, `5m` (or `5min`), `26h`, `7d`, `2w`,
/// sums such as `1h30m`, or a bare number of seconds. The one syntax of every `--duration`,
/// `--interval` and `--min-window` option.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    let too_long = || format!("duration too long: {s}");
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = s.parse().map_err(|_| too_long())?;
        return n.checked_mul(1000).ok_or_else(too_long);
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        if number.is_empty() {
            return Err(format!(
                "invalid duration {s:?}: expected a number at {tail:?} (like 500ms, 90s, 1h30m)"
            ));
        }
        let units = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(units);
        let ms: u64 = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "" => {
                return Err(format!(
                    "invalid duration {s:?}: a number without a unit at the end"
                ));
            }
            _ => {
                return Err(format!(
                    "invalid duration {s:?}: unknown unit {unit:?} (use ms, s, m, h, d, w)"
                ));
            }
        };
        let n: u64 = number.parse().map_err(|_| too_long())?;
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(too_long)?;
        rest = next;
    }
    Ok(total)
}

/// [`parse_duration_ms`] in whole seconds, rounded up (`500ms` is 1 s).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let ms = parse_duration_ms(s)?;
    i64::try_from(ms.div_ceil(1000)).map_err(|_| format!("duration too long: {}", s.trim()))
}

/// [`parse_duration_ms`] as a [`Duration`]: the value parser of duration options.
pub fn parse_std_duration(s: &str) -> Result<Duration, String> {
    parse_duration_ms(s).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        // Values checked with `date -u -d @SECONDS +%FT%TZ`.
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(1_711_670_400), "2024-03-29T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn rfc3339_against_date() {
        // The real `date` as oracle, over instants spread across three centuries, in one run.
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let date = inuse_testkit::or_skip!(inuse_testkit::require_tool("date"));
        let instants: Vec<i64> = (-2_208_988_800..7_258_118_400)
            .step_by(86_400 * 97 + 3_601)
            .collect();
        let mut child = Command::new(date)
            .args(["-u", "-f", "-", "+%Y-%m-%dT%H:%M:%SZ"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run date");
        let input: String = instants.iter().map(|t| format!("@{t}\n")).collect();
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write to date");
        let out = child.wait_with_output().expect("date output");
        let expected = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = expected.lines().collect();
        assert_eq!(lines.len(), instants.len());
        for (t, want) in instants.iter().zip(lines) {
            assert_eq!(rfc3339(*t), want, "at {t}");
        }
    }

    #[test]
    fn days_round_trip() {
        for d in -800_000..800_000 {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d, "{y}-{m}-{day}");
        }
    }

    #[test]
    fn every_day_follows_the_previous() {
        // Consecutive days never skip or repeat a date, across leap years and centuries.
        let mut prev = civil_from_days(-100_000);
        for d in -99_999..200_000 {
            let next = civil_from_days(d);
            let (y, m, day) = prev;
            let same_month = next == (y, m, day + 1);
            let next_month =
                next.2 == 1 && (next.0, next.1) == if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            assert!(same_month || next_month, "{prev:?} -> {next:?}");
            prev = next;
        }
    }

    #[test]
    fn millis() {
        let at = |s: u64, ms: u64| {
            rfc3339_millis(UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_711_324_800, 999), "2024-03-25T00:00:00.999Z");
        assert_eq!(
            rfc3339_millis(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("26h"), Ok(93_600));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("45"), Ok(45));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("5h3").is_err());
        assert!(parse_duration("-3").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(parse_duration("500ms"), Ok(1));
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("2w"), Ok(1_209_600_000));
        assert_eq!(parse_duration_ms("5min"), Ok(300_000));
        assert_eq!(parse_duration_ms("1m30s250ms"), Ok(90_250));
        assert_eq!(parse_std_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_std_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration_ms("99999999999999999999").is_err());
        assert!(parse_duration_ms("999999999999999w").is_err());
        assert!(parse_std_duration("99999999999999999999d").is_err());
    }
}
