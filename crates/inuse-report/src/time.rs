//! Timestamps and durations as people and formats write them, without a date crate.
//!
//! RFC 3339 in UTC is all every output format here needs; the civil-from-days conversion is
//! Howard Hinnant's well-known algorithm (public domain description), written out here.

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-26T20:31:00Z`).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_711_670_400), "2024-03-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
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
        assert!(parse_duration_ms("99999999999999999999").is_err());
        assert!(parse_duration_ms("999999999999999w").is_err());
    }
}
