//! CVSS v2 base score.
//!
//! Reference: "A Complete Guide to the Common Vulnerability Scoring System Version 2.0"
//! (FIRST, 2007), section 2.1 (base metrics), section 2.4 (vector notation) and section 3.2.1
//! (base equation):
//!
//! ```text
//! BaseScore      = round_to_1_decimal(((0.6*Impact)+(0.4*Exploitability)-1.5)*f(Impact))
//! Impact         = 10.41*(1-(1-ConfImpact)*(1-IntegImpact)*(1-AvailImpact))
//! Exploitability = 20*AccessVector*AccessComplexity*Authentication
//! f(Impact)      = 0 if Impact=0, 1.176 otherwise
//! ```
//!
//! Pitfalls: v2 vectors have no `CVSS:2.0/` prefix (NVD sometimes wraps them in parentheses);
//! temporal and environmental metrics may follow the base ones and do not change the base
//! score; the guide's "round to one decimal" is half-up on the decimal value, which binary
//! floating point misses by an ulp (so a tiny bias is added before rounding).

use super::{CvssError, MAX_VECTOR_LEN, components, pick};

/// The base score of a v2 vector.
pub fn base_score(vector: &str) -> Result<f64, CvssError> {
    if vector.len() > MAX_VECTOR_LEN {
        return Err(CvssError::TooLong);
    }
    let body = vector
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(vector);
    let body = body.strip_prefix("CVSS:2.0/").unwrap_or(body);
    let mut base: [Option<f64>; 6] = [None; 6];
    const NAMES: [&str; 6] = ["AV", "AC", "Au", "C", "I", "A"];
    components(body, |k, v| {
        // Section 2.1: weights of each base metric value.
        let (i, name, weight) = match k {
            "AV" => (
                0,
                "AV",
                [0.395, 0.646, 1.0][pick("AV", v, &["L", "A", "N"])?],
            ),
            "AC" => (
                1,
                "AC",
                [0.35, 0.61, 0.71][pick("AC", v, &["H", "M", "L"])?],
            ),
            "Au" => (
                2,
                "Au",
                [0.45, 0.56, 0.704][pick("Au", v, &["M", "S", "N"])?],
            ),
            "C" | "I" | "A" => {
                let i = match k {
                    "C" => 3,
                    "I" => 4,
                    _ => 5,
                };
                (
                    i,
                    NAMES[i],
                    [0.0, 0.275, 0.660][pick(NAMES[i], v, &["N", "P", "C"])?],
                )
            }
            // Sections 2.2 and 2.3: validated, not used by the base score.
            "E" => return pick("E", v, &["U", "POC", "F", "H", "ND"]).map(|_| "E"),
            "RL" => return pick("RL", v, &["OF", "TF", "W", "U", "ND"]).map(|_| "RL"),
            "RC" => return pick("RC", v, &["UC", "UR", "C", "ND"]).map(|_| "RC"),
            "CDP" => return pick("CDP", v, &["N", "L", "LM", "MH", "H", "ND"]).map(|_| "CDP"),
            "TD" => return pick("TD", v, &["N", "L", "M", "H", "ND"]).map(|_| "TD"),
            "CR" => return pick("CR", v, &["L", "M", "H", "ND"]).map(|_| "CR"),
            "IR" => return pick("IR", v, &["L", "M", "H", "ND"]).map(|_| "IR"),
            "AR" => return pick("AR", v, &["L", "M", "H", "ND"]).map(|_| "AR"),
            _ => return Err(CvssError::UnknownMetric("(v2)")),
        };
        base[i] = Some(weight);
        Ok(name)
    })?;
    let mut w = [0.0; 6];
    for (i, (slot, name)) in base.iter().zip(NAMES).enumerate() {
        w[i] = slot.ok_or(CvssError::Missing(name))?;
    }
    let [av, ac, au, c, i, a] = w;
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let raw = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
    Ok(round_half_up_1(raw.max(0.0)))
}

/// Rounds to one decimal, half up, as the decimal arithmetic of the guide does.
pub(crate) fn round_half_up_1(x: f64) -> f64 {
    ((x * 10.0 + 0.5 + 1e-9).floor() / 10.0).clamp(0.0, 10.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn guide_examples() {
        // Section 3.3.1 (CVE-2002-0392), 3.3.2 (CVE-2003-0818), 3.3.3 (CVE-2003-0062).
        assert_eq!(base_score("AV:N/AC:L/Au:N/C:N/I:N/A:C"), Ok(7.8));
        assert_eq!(base_score("AV:N/AC:L/Au:N/C:C/I:C/A:C"), Ok(10.0));
        assert_eq!(base_score("AV:L/AC:H/Au:N/C:C/I:C/A:C"), Ok(6.2));
        assert_eq!(
            base_score("(AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C)"),
            Ok(7.8)
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(
            base_score("AV:N/AC:L/Au:N/C:N/I:N"),
            Err(CvssError::Missing("A"))
        );
        assert_eq!(
            base_score("AV:N/AV:N/AC:L/Au:N/C:N/I:N/A:C"),
            Err(CvssError::Duplicate("AV"))
        );
        assert_eq!(
            base_score("AV:X/AC:L/Au:N/C:N/I:N/A:C"),
            Err(CvssError::BadValue("AV"))
        );
        assert!(base_score("").is_err());
        assert!(base_score(&"AV:N/".repeat(200)).is_err());
    }
}
