//! Version ordering the way each package manager orders versions.
//!
//! Whether an installed package is affected by an advisory ("fixed in 1:2.3-4") comes down to one
//! comparison, and every package manager answers it with its own algorithm. The algorithms look
//! alike and are not: `~` sorts *before* the end of the string in dpkg and rpm but starts a
//! commit hash in apk; rpm's `^` sorts after the base version but before anything that
//! extends it; digit runs compare numerically but must not be parsed into an integer, which a
//! long enough run overflows; a missing epoch is `0` but a missing rpm release sorts before
//! every release. A near miss gives a wrong answer only on the versions where it matters, so
//! each module here reproduces the behaviour of its reference implementation, cites it, and is
//! tested against the upstream test vectors and, for dpkg and rpm, against the real libraries.
//!
//! Versions are untrusted input (package databases, advisories): parsing and comparing never
//! panic, never recurse, allocate nothing but a bounded error message, and reject strings
//! longer than [`MAX_VERSION_LEN`] bytes.

pub mod apk;
pub mod dpkg;
pub mod rpm;
pub mod semver;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Longest version string accepted, in bytes. Real versions are a few dozen bytes; the limit
/// only bounds the work hostile input can cause.
pub const MAX_VERSION_LEN: usize = 4096;

/// A versioning scheme: whose rules decide the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian packages, ordered like dpkg (`[epoch:]upstream[-revision]`).
    Deb,
    /// RPM packages, ordered like rpm (`[epoch:]version[-release]`).
    Rpm,
    /// Alpine packages, ordered like apk-tools.
    Apk,
    /// Semantic Versioning 2.0.0 precedence.
    Semver,
}

impl Scheme {
    /// The canonical name, as accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Deb => "deb",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Semver => "semver",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scheme name that [`Scheme::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown version scheme {0:?} (expected deb, dpkg, rpm, apk or semver)")]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;

    /// Parses `deb` (or `dpkg`), `rpm`, `apk` or `semver`, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ("deb", Scheme::Deb),
            ("dpkg", Scheme::Deb),
            ("rpm", Scheme::Rpm),
            ("apk", Scheme::Apk),
            ("semver", Scheme::Semver),
        ]
        .into_iter()
        .find(|(name, _)| s.eq_ignore_ascii_case(name))
        .map(|(_, scheme)| scheme)
        .ok_or_else(|| UnknownScheme(s.chars().take(64).collect()))
    }
}

/// What is wrong with a version string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// Longer than [`MAX_VERSION_LEN`].
    #[error("it is {len} bytes long, more than the limit of {MAX_VERSION_LEN}")]
    TooLong {
        /// Length of the rejected string in bytes.
        len: usize,
    },
    /// The empty string (after the trimming the scheme allows).
    #[error("it is empty")]
    Empty,
    /// The scheme's syntax rejects the string.
    #[error("{reason} (at byte {at})")]
    Syntax {
        /// Byte offset in the version string where the problem was found.
        at: usize,
        /// What is wrong there.
        reason: &'static str,
    },
}

/// A version string the scheme rejects, naming the version and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {version:?}: {problem}")]
pub struct VersionError {
    scheme: Scheme,
    version: String,
    problem: Problem,
}

impl VersionError {
    /// Longest prefix of the version kept in the error, so that hostile input cannot make
    /// errors (and log lines) large.
    const KEEP: usize = 128;

    pub(crate) fn new(scheme: Scheme, version: &str, problem: Problem) -> Self {
        let mut end = version.len().min(Self::KEEP);
        while !version.is_char_boundary(end) {
            end -= 1;
        }
        let mut kept = version[..end].to_owned();
        if end < version.len() {
            kept.push('…');
        }
        VersionError {
            scheme,
            version: kept,
            problem,
        }
    }

    pub(crate) fn syntax(scheme: Scheme, version: &str, at: usize, reason: &'static str) -> Self {
        Self::new(scheme, version, Problem::Syntax { at, reason })
    }

    /// The scheme whose rules rejected the version.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The rejected version (its first 128 bytes followed by `…` if it was longer).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

/// Compares two versions under `scheme`'s rules.
///
/// `Ordering::Equal` means the scheme considers them the same version, which does not imply
/// equal strings (`1.0` and `1.00` are equal for dpkg and rpm, `1.2.3+a` and `1.2.3+b` for
/// SemVer). Fails if either string is not a valid version for the scheme; see each module for
/// what is valid.
///
/// ```
/// use inuse_version::{Scheme, compare};
/// use std::cmp::Ordering;
///
/// assert_eq!(compare(Scheme::Deb, "1.0~rc1-1", "1.0-1")?, Ordering::Less);
/// assert_eq!(compare(Scheme::Rpm, "1.0^git1", "1.0.1")?, Ordering::Less);
/// assert_eq!(compare(Scheme::Apk, "1.2_rc1-r0", "1.2-r0")?, Ordering::Less);
/// assert_eq!(compare(Scheme::Semver, "1.0.0-rc.1", "1.0.0")?, Ordering::Less);
/// # Ok::<(), inuse_version::VersionError>(())
/// ```
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match scheme {
        Scheme::Deb => dpkg::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::Semver => semver::compare(a, b),
    }
}

/// Rejects strings over [`MAX_VERSION_LEN`].
fn check_len(scheme: Scheme, version: &str) -> Result<(), VersionError> {
    if version.len() > MAX_VERSION_LEN {
        return Err(VersionError::new(
            scheme,
            version,
            Problem::TooLong { len: version.len() },
        ));
    }
    Ok(())
}

/// Compares two runs of ASCII digits as the numbers they spell, without converting them (so
/// without overflow): leading zeros are dropped, then the longer run is the larger number, and
/// runs of equal length compare like strings.
fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The length of the prefix of `s` whose bytes all satisfy `pred`.
fn span(s: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&c| pred(c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_round_trip() {
        for scheme in [Scheme::Deb, Scheme::Rpm, Scheme::Apk, Scheme::Semver] {
            assert_eq!(scheme.to_string().parse::<Scheme>(), Ok(scheme));
        }
        assert_eq!("dpkg".parse::<Scheme>(), Ok(Scheme::Deb));
        assert_eq!("RPM".parse::<Scheme>(), Ok(Scheme::Rpm));
        assert!("pypi".parse::<Scheme>().is_err());
    }

    #[test]
    fn digit_runs_compare_as_numbers_of_any_length() {
        assert_eq!(cmp_digits(b"010", b"9"), Ordering::Greater);
        assert_eq!(cmp_digits(b"000", b""), Ordering::Equal);
        let big = "9".repeat(400);
        assert_eq!(
            cmp_digits(big.as_bytes(), format!("1{big}").as_bytes()),
            Ordering::Less
        );
    }

    #[test]
    fn overlong_and_error_text() {
        let long = "1".repeat(MAX_VERSION_LEN + 1);
        for scheme in [Scheme::Deb, Scheme::Rpm, Scheme::Apk, Scheme::Semver] {
            let err = compare(scheme, &long, "1").expect_err("over the limit");
            assert_eq!(
                err.problem(),
                &Problem::TooLong {
                    len: MAX_VERSION_LEN + 1
                }
            );
            assert!(err.version().len() < 140, "error keeps only a prefix");
            assert!(compare(scheme, "1", &long).is_err());
        }
        let err = compare(Scheme::Deb, "1:", "1").expect_err("nothing after colon");
        assert_eq!(
            err.to_string(),
            format!("invalid deb version \"1:\": {}", err.problem())
        );
    }
}
