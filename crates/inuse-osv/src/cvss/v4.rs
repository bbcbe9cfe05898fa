//! CVSS v4.0 score.
//!
//! Reference: "CVSS v4.0 Specification Document" (FIRST, 2023), section 7 (vector string),
//! section 8.2 (CVSS v4.0 scoring: MacroVectors, equivalence sets EQ1-EQ6, the lookup table of
//! MacroVector scores, and the interpolation by severity distance inside a MacroVector) and
//! section 8.3 (Not Defined threat and environmental values: `E:X` is `A`, `CR/IR/AR:X` are
//! `H`, a modified metric `M*:X` takes the base value). The MacroVector scores, the highest
//! severity vectors of each equivalence set and their depths are data published with the
//! specification (FIRST's reference calculator, `cvss_lookup.js` and `max_composed.js`),
//! reproduced here as tables.
//!
//! Unlike v3, v4.0 has no closed formula: the six equivalence classes select one of 270
//! expert-scored MacroVectors, and the score is lowered from it by the vector's distance to
//! the most severe vector of that MacroVector, scaled by the room left to the next lower
//! MacroVector in each class, averaged over the classes that have one.
//!
//! Pitfalls: EQ3 and EQ6 are scored jointly; the safety value `S` only exists for the
//! modified subsequent-system metrics MSI and MSA; when all six impact metrics are `N` the
//! score is 0.0 whatever the lookup says; the final rounding is half up on the decimal value.

use super::{CvssError, MAX_VECTOR_LEN, components, pick};

/// Metrics and their allowed values, in specification order. The first 11 are mandatory.
const METRICS: [(&str, &[&str]); 32] = [
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
    ("E", &["X", "A", "P", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
    ("S", &["X", "N", "P"]),
    ("AU", &["X", "N", "Y"]),
    ("R", &["X", "A", "U", "I"]),
    ("V", &["X", "D", "C"]),
    ("RE", &["X", "L", "M", "H"]),
    ("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// Number of mandatory base metrics at the start of [`METRICS`].
const MANDATORY: usize = 11;

/// The effective values of a vector (section 8.3 applied), one letter per metric.
struct Effective {
    values: [&'static str; 32],
}

impl Effective {
    fn raw(&self, metric: &str) -> &'static str {
        METRICS
            .iter()
            .position(|(n, _)| *n == metric)
            .map_or("X", |i| self.values[i])
    }

    /// The value scoring uses: Not Defined replaced per section 8.3.
    fn m(&self, metric: &str) -> &'static str {
        let v = self.raw(metric);
        match (metric, v) {
            ("E", "X") => return "A",
            ("CR" | "IR" | "AR", "X") => return "H",
            _ => {}
        }
        let modified = match metric {
            "AV" => "MAV",
            "AC" => "MAC",
            "AT" => "MAT",
            "PR" => "MPR",
            "UI" => "MUI",
            "VC" => "MVC",
            "VI" => "MVI",
            "VA" => "MVA",
            "SC" => "MSC",
            "SI" => "MSI",
            "SA" => "MSA",
            _ => return v,
        };
        match self.raw(modified) {
            "X" => v,
            mv => mv,
        }
    }
}

/// The score of a `CVSS:4.0/` vector.
pub fn score(vector: &str) -> Result<f64, CvssError> {
    if vector.len() > MAX_VECTOR_LEN {
        return Err(CvssError::TooLong);
    }
    let body = vector.strip_prefix("CVSS:4.0/").ok_or(CvssError::Prefix)?;
    let mut values: [&'static str; 32] = ["X"; 32];
    let mut given = [false; 32];
    components(body, |k, v| {
        let i = METRICS
            .iter()
            .position(|(n, _)| *n == k)
            .ok_or(CvssError::UnknownMetric("(v4.0)"))?;
        let (name, allowed) = METRICS[i];
        values[i] = allowed[pick(name, v, allowed)?];
        given[i] = true;
        Ok(name)
    })?;
    if let Some(i) = given[..MANDATORY].iter().position(|g| !g) {
        return Err(CvssError::Missing(METRICS[i].0));
    }
    Ok(compute(&Effective { values }))
}

/// Section 8.2: the EQ1-EQ6 levels of a vector.
fn macro_vector(e: &Effective) -> [u8; 6] {
    let (av, pr, ui) = (e.m("AV"), e.m("PR"), e.m("UI"));
    let eq1 = if av == "N" && pr == "N" && ui == "N" {
        0
    } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
        1
    } else {
        2
    };
    let eq2 = if e.m("AC") == "L" && e.m("AT") == "N" {
        0
    } else {
        1
    };
    let (vc, vi, va) = (e.m("VC"), e.m("VI"), e.m("VA"));
    let eq3 = if vc == "H" && vi == "H" {
        0
    } else if vc == "H" || vi == "H" || va == "H" {
        1
    } else {
        2
    };
    let (si, sa) = (e.m("SI"), e.m("SA"));
    let eq4 = if si == "S" || sa == "S" {
        0
    } else if e.m("SC") == "H" || si == "H" || sa == "H" {
        1
    } else {
        2
    };
    let eq5 = match e.m("E") {
        "A" => 0,
        "P" => 1,
        _ => 2,
    };
    let eq6 = if (e.m("CR") == "H" && vc == "H")
        || (e.m("IR") == "H" && vi == "H")
        || (e.m("AR") == "H" && va == "H")
    {
        0
    } else {
        1
    };
    [eq1, eq2, eq3, eq4, eq5, eq6]
}

/// The MacroVector score in tenths, if the table has that MacroVector.
fn lookup(mv: [u8; 6]) -> Option<f64> {
    let mut key = [0u8; 6];
    for (k, d) in key.iter_mut().zip(mv) {
        *k = b'0' + d;
    }
    let key = std::str::from_utf8(&key).ok()?;
    LOOKUP
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| f64::from(LOOKUP[i].1) / 10.0)
}

/// Severity level of a metric value, in tenths (section 8.2, "severity distances").
fn level(metric: &str, v: &str) -> i32 {
    let order: &[&str] = match metric {
        "AV" => &["N", "A", "L", "P"],
        "PR" => &["N", "L", "H"],
        "UI" => &["N", "P", "A"],
        "AC" => &["L", "H"],
        "AT" => &["N", "P"],
        "VC" | "VI" | "VA" => &["H", "L", "N"],
        // SC has no Safety value but is measured on the same scale as SI and SA.
        "SC" | "SI" | "SA" => &["S", "H", "L", "N"],
        _ => &["H", "M", "L"],
    };
    order.iter().position(|o| *o == v).map_or(0, |p| p as i32)
}

/// The highest-severity vectors of each equivalence class (FIRST `max_composed.js`).
fn max_vectors(mv: [u8; 6]) -> Vec<String> {
    let eq1: &[&str] = match mv[0] {
        0 => &["AV:N/PR:N/UI:N/"],
        1 => &["AV:A/PR:N/UI:N/", "AV:N/PR:L/UI:N/", "AV:N/PR:N/UI:P/"],
        _ => &["AV:P/PR:N/UI:N/", "AV:A/PR:L/UI:P/"],
    };
    let eq2: &[&str] = match mv[1] {
        0 => &["AC:L/AT:N/"],
        _ => &["AC:H/AT:N/", "AC:L/AT:P/"],
    };
    let eq3eq6: &[&str] = match (mv[2], mv[5]) {
        (0, 0) => &["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H/"],
        (0, _) => &[
            "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H/",
            "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M/",
        ],
        (1, 0) => &[
            "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H/",
            "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H/",
        ],
        (1, _) => &[
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H/",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M/",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M/",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H/",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M/",
        ],
        _ => &["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H/"],
    };
    let eq4: &[&str] = match mv[3] {
        0 => &["SC:H/SI:S/SA:S/"],
        1 => &["SC:H/SI:H/SA:H/"],
        _ => &["SC:L/SI:L/SA:L/"],
    };
    let mut out = Vec::new();
    for a in eq1 {
        for b in eq2 {
            for c in eq3eq6 {
                for d in eq4 {
                    out.push(format!("{a}{b}{c}{d}"));
                }
            }
        }
    }
    out
}

/// Depth of each equivalence class level, in steps of 0.1 (FIRST `max_severity`).
fn max_severity(eq: usize, mv: [u8; 6]) -> i32 {
    match (eq, mv[eq.min(5)]) {
        (0, 0) => 1,
        (0, 1) => 4,
        (0, _) => 5,
        (1, 0) => 1,
        (1, _) => 2,
        (3, 0) => 6,
        (3, 1) => 5,
        (3, _) => 4,
        _ => 1,
    }
}

fn max_severity_eq3eq6(mv: [u8; 6]) -> i32 {
    match (mv[2], mv[5]) {
        (0, 0) => 7,
        (0, _) => 6,
        (1, _) => 8,
        _ => 10,
    }
}

fn compute(e: &Effective) -> f64 {
    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|m| e.m(m) == "N")
    {
        return 0.0;
    }
    let mv = macro_vector(e);
    let Some(value) = lookup(mv) else {
        return 0.0;
    };
    let lower = |i: usize| {
        let mut n = mv;
        n[i] += 1;
        lookup(n)
    };
    let lower_eq3eq6 = match (mv[2], mv[5]) {
        (0 | 1, 1) => {
            let mut n = mv;
            n[2] += 1;
            lookup(n)
        }
        (1, 0) => lower(5),
        (0, 0) => {
            // Both neighbours exist in the table; the nearer (higher) one bounds the room.
            let (l, r) = (lower(5), {
                let mut n = mv;
                n[2] += 1;
                lookup(n)
            });
            match (l, r) {
                (Some(l), Some(r)) => Some(l.max(r)),
                _ => None,
            }
        }
        _ => {
            let mut n = mv;
            n[2] += 1;
            n[5] += 1;
            lookup(n)
        }
    };

    // The first most-severe vector that the given vector does not exceed in any metric.
    const DIST: [&str; 14] = [
        "AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR",
    ];
    let mut dist = [0i32; 14];
    for max in max_vectors(mv) {
        for (d, metric) in dist.iter_mut().zip(DIST) {
            let mv_val = max
                .split('/')
                .filter_map(|c| c.split_once(':'))
                .find(|(k, _)| *k == metric)
                .map_or("", |(_, v)| v);
            *d = level(metric, e.m(metric)) - level(metric, mv_val);
        }
        if dist.iter().all(|&d| d >= 0) {
            break;
        }
    }
    let cur_eq1 = dist[0] + dist[1] + dist[2];
    let cur_eq2 = dist[3] + dist[4];
    let cur_eq3eq6 = dist[5] + dist[6] + dist[7] + dist[11] + dist[12] + dist[13];
    let cur_eq4 = dist[8] + dist[9] + dist[10];

    let parts = [
        (lower(0), cur_eq1, max_severity(0, mv)),
        (lower(1), cur_eq2, max_severity(1, mv)),
        (lower_eq3eq6, cur_eq3eq6, max_severity_eq3eq6(mv)),
        (lower(3), cur_eq4, max_severity(3, mv)),
        // EQ5 has no distance inside a MacroVector: it counts, but lowers nothing.
        (lower(4), 0, 1),
    ];
    let mut n = 0;
    let mut sum = 0.0;
    for (lower, cur, depth) in parts {
        if let Some(lower) = lower {
            let available = value - lower;
            if available >= 0.0 {
                n += 1;
                sum += available * f64::from(cur) / f64::from(depth);
            }
        }
    }
    let mean = if n == 0 { 0.0 } else { sum / f64::from(n) };
    let v = (value - mean).clamp(0.0, 10.0);
    ((v + 1e-6) * 10.0 + 0.5).floor() / 10.0
}

/// MacroVector scores in tenths, sorted by MacroVector (EQ1..EQ6 digits).
const LOOKUP: [(&str, u8); 270] = [
    ("000000", 100),
    ("000001", 99),
    ("000010", 98),
    ("000011", 95),
    ("000020", 95),
    ("000021", 92),
    ("000100", 100),
    ("000101", 96),
    ("000110", 93),
    ("000111", 87),
    ("000120", 91),
    ("000121", 81),
    ("000200", 93),
    ("000201", 90),
    ("000210", 89),
    ("000211", 80),
    ("000220", 81),
    ("000221", 68),
    ("001000", 98),
    ("001001", 95),
    ("001010", 95),
    ("001011", 92),
    ("001020", 90),
    ("001021", 84),
    ("001100", 93),
    ("001101", 92),
    ("001110", 89),
    ("001111", 81),
    ("001120", 81),
    ("001121", 65),
    ("001200", 88),
    ("001201", 80),
    ("001210", 78),
    ("001211", 70),
    ("001220", 69),
    ("001221", 48),
    ("002001", 92),
    ("002011", 82),
    ("002021", 72),
    ("002101", 79),
    ("002111", 69),
    ("002121", 50),
    ("002201", 69),
    ("002211", 55),
    ("002221", 27),
    ("010000", 99),
    ("010001", 97),
    ("010010", 95),
    ("010011", 92),
    ("010020", 92),
    ("010021", 85),
    ("010100", 95),
    ("010101", 91),
    ("010110", 90),
    ("010111", 83),
    ("010120", 84),
    ("010121", 71),
    ("010200", 92),
    ("010201", 81),
    ("010210", 82),
    ("010211", 71),
    ("010220", 72),
    ("010221", 53),
    ("011000", 95),
    ("011001", 93),
    ("011010", 92),
    ("011011", 85),
    ("011020", 85),
    ("011021", 73),
    ("011100", 92),
    ("011101", 82),
    ("011110", 80),
    ("011111", 72),
    ("011120", 70),
    ("011121", 59),
    ("011200", 84),
    ("011201", 70),
    ("011210", 71),
    ("011211", 52),
    ("011220", 50),
    ("011221", 30),
    ("012001", 86),
    ("012011", 75),
    ("012021", 52),
    ("012101", 71),
    ("012111", 52),
    ("012121", 29),
    ("012201", 63),
    ("012211", 29),
    ("012221", 17),
    ("100000", 98),
    ("100001", 95),
    ("100010", 94),
    ("100011", 87),
    ("100020", 91),
    ("100021", 81),
    ("100100", 94),
    ("100101", 89),
    ("100110", 86),
    ("100111", 74),
    ("100120", 77),
    ("100121", 64),
    ("100200", 87),
    ("100201", 75),
    ("100210", 74),
    ("100211", 63),
    ("100220", 63),
    ("100221", 49),
    ("101000", 94),
    ("101001", 89),
    ("101010", 88),
    ("101011", 77),
    ("101020", 76),
    ("101021", 67),
    ("101100", 86),
    ("101101", 76),
    ("101110", 74),
    ("101111", 58),
    ("101120", 59),
    ("101121", 50),
    ("101200", 72),
    ("101201", 57),
    ("101210", 57),
    ("101211", 52),
    ("101220", 52),
    ("101221", 25),
    ("102001", 83),
    ("102011", 70),
    ("102021", 54),
    ("102101", 65),
    ("102111", 58),
    ("102121", 26),
    ("102201", 53),
    ("102211", 21),
    ("102221", 13),
    ("110000", 95),
    ("110001", 90),
    ("110010", 88),
    ("110011", 76),
    ("110020", 76),
    ("110021", 70),
    ("110100", 90),
    ("110101", 77),
    ("110110", 75),
    ("110111", 62),
    ("110120", 61),
    ("110121", 53),
    ("110200", 77),
    ("110201", 66),
    ("110210", 68),
    ("110211", 59),
    ("110220", 52),
    ("110221", 30),
    ("111000", 89),
    ("111001", 78),
    ("111010", 76),
    ("111011", 67),
    ("111020", 62),
    ("111021", 58),
    ("111100", 74),
    ("111101", 59),
    ("111110", 57),
    ("111111", 57),
    ("111120", 47),
    ("111121", 23),
    ("111200", 61),
    ("111201", 52),
    ("111210", 57),
    ("111211", 29),
    ("111220", 24),
    ("111221", 16),
    ("112001", 71),
    ("112011", 59),
    ("112021", 30),
    ("112101", 58),
    ("112111", 26),
    ("112121", 15),
    ("112201", 23),
    ("112211", 13),
    ("112221", 6),
    ("200000", 93),
    ("200001", 87),
    ("200010", 86),
    ("200011", 72),
    ("200020", 75),
    ("200021", 58),
    ("200100", 86),
    ("200101", 74),
    ("200110", 74),
    ("200111", 61),
    ("200120", 56),
    ("200121", 34),
    ("200200", 70),
    ("200201", 54),
    ("200210", 52),
    ("200211", 40),
    ("200220", 40),
    ("200221", 22),
    ("201000", 85),
    ("201001", 75),
    ("201010", 74),
    ("201011", 55),
    ("201020", 62),
    ("201021", 51),
    ("201100", 72),
    ("201101", 57),
    ("201110", 55),
    ("201111", 41),
    ("201120", 46),
    ("201121", 19),
    ("201200", 53),
    ("201201", 36),
    ("201210", 34),
    ("201211", 19),
    ("201220", 19),
    ("201221", 8),
    ("202001", 64),
    ("202011", 51),
    ("202021", 20),
    ("202101", 47),
    ("202111", 21),
    ("202121", 11),
    ("202201", 24),
    ("202211", 9),
    ("202221", 4),
    ("210000", 88),
    ("210001", 75),
    ("210010", 73),
    ("210011", 53),
    ("210020", 60),
    ("210021", 50),
    ("210100", 73),
    ("210101", 55),
    ("210110", 59),
    ("210111", 40),
    ("210120", 41),
    ("210121", 20),
    ("210200", 54),
    ("210201", 43),
    ("210210", 45),
    ("210211", 22),
    ("210220", 20),
    ("210221", 11),
    ("211000", 75),
    ("211001", 55),
    ("211010", 58),
    ("211011", 45),
    ("211020", 40),
    ("211021", 21),
    ("211100", 61),
    ("211101", 51),
    ("211110", 48),
    ("211111", 18),
    ("211120", 20),
    ("211121", 9),
    ("211200", 46),
    ("211201", 18),
    ("211210", 17),
    ("211211", 7),
    ("211220", 8),
    ("211221", 2),
    ("212001", 53),
    ("212011", 24),
    ("212021", 14),
    ("212101", 24),
    ("212111", 12),
    ("212121", 5),
    ("212201", 10),
    ("212211", 3),
    ("212221", 1),
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn specification_examples() {
        // Scores shown by FIRST's v4.0 calculator and the specification's examples.
        let cases = [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(score(v), Ok(want), "{v}");
        }
    }

    #[test]
    fn lookup_is_sorted_and_complete() {
        assert!(LOOKUP.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(lookup([0, 0, 0, 0, 0, 0]), Some(10.0));
        assert_eq!(
            lookup([2, 1, 2, 2, 2, 0]),
            None,
            "EQ3=2 only exists with EQ6=1"
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N"),
            Err(CvssError::Missing("SA"))
        );
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N"),
            Err(CvssError::BadValue("SI"))
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            Err(CvssError::Prefix)
        );
    }
}
