//! CVSS v3.0 and v3.1 base score.
//!
//! References: "CVSS v3.1: Specification Document" (FIRST, 2019), section 6 (vector string),
//! section 7.1 (base metrics equations), section 7.4 (metric values) and Appendix A
//! (`Roundup`); "CVSS v3.0: Specification Document" (FIRST, 2015), section 8.1, whose
//! `Roundup` is the plain "smallest number with one decimal that is not lower".
//!
//! ```text
//! ISS            = 1 - [(1 - C) × (1 - I) × (1 - A)]
//! Impact         = 6.42 × ISS                                  (Scope Unchanged)
//!                = 7.52 × (ISS - 0.029) - 3.25 × (ISS - 0.02)^15 (Scope Changed)
//! Exploitability = 8.22 × AV × AC × PR × UI
//! BaseScore      = 0 if Impact <= 0, else
//!                  Roundup(min(Impact + Exploitability, 10))          (Scope Unchanged)
//!                  Roundup(min(1.08 × (Impact + Exploitability), 10)) (Scope Changed)
//! ```
//!
//! Pitfalls: Privileges Required weighs more when the scope changes (L 0.68, H 0.5); v3.1's
//! `Roundup` works on an integer of five decimals precisely so that floating-point noise
//! (`4.000000001`) does not round up to 4.1, and v3.0 has no such guard; temporal and
//! environmental metrics may follow and do not change the base score.

use super::{CvssError, MAX_VECTOR_LEN, Version, components, pick};

/// The version and base score of a `CVSS:3.0/` or `CVSS:3.1/` vector.
pub fn base_score(vector: &str) -> Result<(Version, f64), CvssError> {
    if vector.len() > MAX_VECTOR_LEN {
        return Err(CvssError::TooLong);
    }
    let (version, body) = if let Some(b) = vector.strip_prefix("CVSS:3.1/") {
        (Version::V3_1, b)
    } else if let Some(b) = vector.strip_prefix("CVSS:3.0/") {
        (Version::V3_0, b)
    } else {
        return Err(CvssError::Prefix);
    };
    // Indexes into the value lists below.
    let mut m: [Option<usize>; 8] = [None; 8];
    const BASE: [(&str, &[&str]); 8] = [
        ("AV", &["N", "A", "L", "P"]),
        ("AC", &["L", "H"]),
        ("PR", &["N", "L", "H"]),
        ("UI", &["N", "R"]),
        ("S", &["U", "C"]),
        ("C", &["H", "L", "N"]),
        ("I", &["H", "L", "N"]),
        ("A", &["H", "L", "N"]),
    ];
    const OTHER: [(&str, &[&str]); 14] = [
        ("E", &["X", "U", "P", "F", "H"]),
        ("RL", &["X", "O", "T", "W", "U"]),
        ("RC", &["X", "U", "R", "C"]),
        ("CR", &["X", "L", "M", "H"]),
        ("IR", &["X", "L", "M", "H"]),
        ("AR", &["X", "L", "M", "H"]),
        ("MAV", &["X", "N", "A", "L", "P"]),
        ("MAC", &["X", "L", "H"]),
        ("MPR", &["X", "N", "L", "H"]),
        ("MUI", &["X", "N", "R"]),
        ("MS", &["X", "U", "C"]),
        ("MC", &["X", "N", "L", "H"]),
        ("MI", &["X", "N", "L", "H"]),
        ("MA", &["X", "N", "L", "H"]),
    ];
    components(body, |k, v| {
        if let Some(i) = BASE.iter().position(|(n, _)| *n == k) {
            let (name, values) = BASE[i];
            m[i] = Some(pick(name, v, values)?);
            return Ok(name);
        }
        if let Some((name, values)) = OTHER.iter().find(|(n, _)| *n == k) {
            pick(name, v, values)?;
            return Ok(name);
        }
        Err(CvssError::UnknownMetric("(v3)"))
    })?;
    let mut idx = [0usize; 8];
    for (i, slot) in m.iter().enumerate() {
        idx[i] = slot.ok_or(CvssError::Missing(BASE[i].0))?;
    }
    let [av, ac, pr, ui, s, c, i, a] = idx;
    let changed = s == 1;
    // Section 7.4, table 16.
    let av: f64 = [0.85, 0.62, 0.55, 0.2][av];
    let ac = [0.77, 0.44][ac];
    let pr = if changed {
        [0.85, 0.68, 0.5][pr]
    } else {
        [0.85, 0.62, 0.27][pr]
    };
    let ui = [0.85, 0.62][ui];
    let cia = |x: usize| -> f64 { [0.56, 0.22, 0.0][x] };
    let iss = 1.0 - ((1.0 - cia(c)) * (1.0 - cia(i)) * (1.0 - cia(a)));
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    let score = if impact <= 0.0 {
        0.0
    } else {
        let sum = if changed {
            1.08 * (impact + exploitability)
        } else {
            impact + exploitability
        };
        let capped = sum.min(10.0);
        match version {
            Version::V3_0 => roundup_30(capped),
            _ => roundup_31(capped),
        }
    };
    Ok((version, score))
}

/// v3.1 Appendix A: `Roundup` on an integer of five decimals.
fn roundup_31(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// v3.0 section 8.1: the smallest one-decimal number not lower than `x`.
fn roundup_30(x: f64) -> f64 {
    (x * 10.0).ceil() / 10.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn specification_examples() {
        // v3.1 specification, "Examples" document: CVE-2014-0160 (Heartbleed) 7.5,
        // CVE-2013-1937 (phpMyAdmin XSS) 6.1, CVE-2014-6271 (Shellshock) 9.8.
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/E:F/RL:O/RC:C/MAV:L",
                7.5,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(base_score(v).map(|(_, s)| s), Ok(want), "{v}");
        }
    }

    #[test]
    fn roundup_avoids_float_noise() {
        assert_eq!(roundup_31(4.000_000_000_1), 4.0);
        assert_eq!(roundup_31(4.02), 4.1);
        assert_eq!(roundup_30(4.02), 4.1);
    }

    #[test]
    fn rejects() {
        let e = |v: &str| base_score(v).expect_err(v);
        assert_eq!(e("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"), CvssError::Prefix);
        assert_eq!(
            e("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N"),
            CvssError::Missing("A")
        );
        assert_eq!(
            e("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/A:N"),
            CvssError::Duplicate("A")
        );
        assert_eq!(
            e("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            CvssError::BadValue("AV")
        );
        assert_eq!(e("CVSS:3.1/AV:N/AC:L//"), CvssError::Malformed);
        assert!(matches!(
            e("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/ZZ:1"),
            CvssError::UnknownMetric(_)
        ));
    }
}
