//! CVSS base scores computed from vector strings: v2, v3.0, v3.1 and v4.0.
//!
//! OSV carries severity as a vector (`CVSS:3.1/AV:N/AC:L/...`), not a number: the score has to
//! be computed, and each CVSS version computes it differently (different weights, and three
//! different rounding rules). A finding's priority depends on it, so each version lives in its
//! own module that cites the FIRST specification section it implements, and is tested against
//! the specification's examples and an independent implementation over every base vector
//! (v2, v3.x) or a large sample (v4.0).
//!
//! Vectors are untrusted: parsing rejects anything longer than [`MAX_VECTOR_LEN`], unknown or
//! repeated metrics and unknown values, with a cheap static error, and never panics.

pub mod v2;
pub mod v3;
pub mod v4;

use std::fmt;

use serde::Serialize;

/// Longest vector string accepted, in bytes (a complete v4.0 vector with every supplemental
/// metric is about 200 bytes).
pub const MAX_VECTOR_LEN: usize = 512;

/// The CVSS version a vector is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Version {
    /// CVSS v2 (no prefix in the vector).
    #[serde(rename = "2.0")]
    V2,
    /// CVSS v3.0 (`CVSS:3.0/`).
    #[serde(rename = "3.0")]
    V3_0,
    /// CVSS v3.1 (`CVSS:3.1/`).
    #[serde(rename = "3.1")]
    V3_1,
    /// CVSS v4.0 (`CVSS:4.0/`).
    #[serde(rename = "4.0")]
    V4_0,
}

/// Qualitative severity rating of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// 0.0 (v3.x, v4.0).
    None,
    /// 0.1-3.9 (v2: 0.0-3.9).
    Low,
    /// 4.0-6.9.
    Medium,
    /// 7.0-8.9 (v2: 7.0-10.0).
    High,
    /// 9.0-10.0 (v3.x, v4.0).
    Critical,
}

impl Rating {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::None => "none",
            Rating::Low => "low",
            Rating::Medium => "medium",
            Rating::High => "high",
            Rating::Critical => "critical",
        }
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a vector was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// Longer than [`MAX_VECTOR_LEN`].
    #[error("vector is longer than {MAX_VECTOR_LEN} bytes")]
    TooLong,
    /// The `CVSS:x.y/` prefix is missing or names another version.
    #[error("wrong or missing CVSS version prefix")]
    Prefix,
    /// A component is not `METRIC:VALUE`.
    #[error("malformed component (expected METRIC:VALUE)")]
    Malformed,
    /// A metric this version does not define.
    #[error("unknown metric {0}")]
    UnknownMetric(&'static str),
    /// A metric given twice.
    #[error("metric {0} given twice")]
    Duplicate(&'static str),
    /// A value the metric does not allow.
    #[error("invalid value for metric {0}")]
    BadValue(&'static str),
    /// A mandatory base metric is missing.
    #[error("missing base metric {0}")]
    Missing(&'static str),
}

/// A parsed vector and its base score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cvss {
    /// The version the vector is written in.
    pub version: Version,
    /// The vector as given.
    pub vector: String,
    /// The base score (v4.0: the score of the vector as given, CVSS-B, -BT, -BE or -BTE),
    /// 0.0 to 10.0 with one decimal.
    pub score: f64,
}

impl Cvss {
    /// Parses a v2 vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, optionally in parentheses or with
    /// temporal and environmental metrics) and computes its base score.
    pub fn v2(vector: &str) -> Result<Cvss, CvssError> {
        Ok(Cvss {
            version: Version::V2,
            vector: vector.to_owned(),
            score: v2::base_score(vector)?,
        })
    }

    /// Parses a `CVSS:3.0/...` or `CVSS:3.1/...` vector and computes its base score.
    pub fn v3(vector: &str) -> Result<Cvss, CvssError> {
        let (version, score) = v3::base_score(vector)?;
        Ok(Cvss {
            version,
            vector: vector.to_owned(),
            score,
        })
    }

    /// Parses a `CVSS:4.0/...` vector and computes its score.
    pub fn v4(vector: &str) -> Result<Cvss, CvssError> {
        Ok(Cvss {
            version: Version::V4_0,
            vector: vector.to_owned(),
            score: v4::score(vector)?,
        })
    }

    /// The qualitative rating of the score under this version's scale.
    pub fn rating(&self) -> Rating {
        rating(self.version, self.score)
    }
}

/// The qualitative rating of `score`: v3.1 specification section 5 (and v4.0 section 6) for
/// v3.x and v4.0; for v2, which defines none, the NVD's Low/Medium/High bands.
pub fn rating(version: Version, score: f64) -> Rating {
    match version {
        Version::V2 if score < 4.0 => Rating::Low,
        Version::V2 if score < 7.0 => Rating::Medium,
        Version::V2 => Rating::High,
        _ if score <= 0.0 => Rating::None,
        _ if score < 4.0 => Rating::Low,
        _ if score < 7.0 => Rating::Medium,
        _ if score < 9.0 => Rating::High,
        _ => Rating::Critical,
    }
}

/// Splits `METRIC:VALUE/METRIC:VALUE...` and hands each pair to `set`, which returns the
/// metric's static name on success. Rejects empty components and repeats.
pub(crate) fn components<'a>(
    body: &'a str,
    mut set: impl FnMut(&'a str, &'a str) -> Result<&'static str, CvssError>,
) -> Result<(), CvssError> {
    let mut seen: Vec<&'static str> = Vec::new();
    for part in body.split('/') {
        let (k, v) = part.split_once(':').ok_or(CvssError::Malformed)?;
        if k.is_empty() || v.is_empty() {
            return Err(CvssError::Malformed);
        }
        let name = set(k, v)?;
        if seen.contains(&name) {
            return Err(CvssError::Duplicate(name));
        }
        seen.push(name);
    }
    Ok(())
}

/// Index of `v` in `allowed`, or a [`CvssError::BadValue`] naming `metric`.
pub(crate) fn pick(metric: &'static str, v: &str, allowed: &[&str]) -> Result<usize, CvssError> {
    allowed
        .iter()
        .position(|a| *a == v)
        .ok_or(CvssError::BadValue(metric))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ratings() {
        assert_eq!(rating(Version::V3_1, 0.0), Rating::None);
        assert_eq!(rating(Version::V3_1, 3.9), Rating::Low);
        assert_eq!(rating(Version::V3_1, 7.0), Rating::High);
        assert_eq!(rating(Version::V4_0, 9.0), Rating::Critical);
        assert_eq!(rating(Version::V2, 10.0), Rating::High);
        assert_eq!(rating(Version::V2, 0.0), Rating::Low);
    }
}
