//! Semantic Versioning 2.0.0: strict parsing and precedence.
//!
//! Reference: <https://semver.org/spec/v2.0.0.html>, items 2, 9, 10 and 11, and its BNF.
//! Advisory databases (OSV's `SEMVER` ranges) use this order for ecosystems whose own version
//! rules are SemVer's.
//!
//! Precedence compares `MAJOR.MINOR.PATCH` numerically, then the pre-release: a version without
//! one is *greater* (`1.0.0-rc.1 < 1.0.0`); pre-release identifiers compare left to right,
//! numeric ones as numbers, alphanumeric ones in ASCII order (`-alpha < -beta`, `-B < -a`), a
//! numeric identifier below an alphanumeric one (`-1 < -a`), and when one list is a prefix of
//! the other the shorter one is smaller (`-alpha < -alpha.1`). Build metadata (`+...`) is ignored,
//! so `1.0.0+a` and `1.0.0+b` are equal in precedence though not identical.
//!
//! Parsing is strict and errors name the offending byte: exactly three numeric components, no
//! leading zeros in numeric identifiers (`01`, `-01`), no empty identifiers (`1.0.0-a..b`),
//! identifiers only of `[0-9A-Za-z-]`, and no `v` prefix (`v1.2.3` is not a semantic version,
//! per the spec's FAQ; strip it before calling if the source is known to add one). Numbers may
//! be arbitrarily large: they are compared by length and digits, never converted.

use std::cmp::Ordering;

use crate::{Problem, Scheme, VersionError, check_len, cmp_digits};

/// A parsed semantic version, borrowed from the input. Equality and order are SemVer
/// precedence, so build metadata does not take part in either.
#[derive(Debug, Clone, Copy)]
pub struct Version<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: Option<&'a str>,
    build: Option<&'a str>,
}

impl<'a> Version<'a> {
    /// Parses `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` strictly (see the
    /// [module documentation](self)).
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        check_len(Scheme::Semver, input)?;
        if input.is_empty() {
            return Err(VersionError::new(Scheme::Semver, input, Problem::Empty));
        }
        let err = |at, reason| VersionError::syntax(Scheme::Semver, input, at, reason);

        let (rest, build) = match input.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (input, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };

        let mut numbers = [""; 3];
        let mut count = 0;
        for (at, ident) in identifiers(core, 0) {
            if count == 3 {
                return Err(err(
                    at - 1,
                    "more than three components in MAJOR.MINOR.PATCH",
                ));
            }
            if ident.is_empty() {
                return Err(err(at, "empty component in MAJOR.MINOR.PATCH"));
            }
            if let Some(i) = ident.bytes().position(|c| !c.is_ascii_digit()) {
                let reason = if at + i == 0 && matches!(ident.as_bytes()[0], b'v' | b'V') {
                    "a 'v' prefix is not part of a semantic version"
                } else {
                    "non-digit in MAJOR.MINOR.PATCH"
                };
                return Err(err(at + i, reason));
            }
            if ident.len() > 1 && ident.starts_with('0') {
                return Err(err(at, "leading zero in a numeric component"));
            }
            numbers[count] = ident;
            count += 1;
        }
        if count < 3 {
            return Err(err(core.len(), "expected MAJOR.MINOR.PATCH"));
        }

        if let Some(pre) = pre {
            for (at, ident) in identifiers(pre, core.len() + 1) {
                check_identifier(ident).map_err(|(i, reason)| err(at + i, reason))?;
                let numeric = ident.bytes().all(|c| c.is_ascii_digit());
                if numeric && ident.len() > 1 && ident.starts_with('0') {
                    return Err(err(at, "leading zero in a numeric pre-release identifier"));
                }
            }
        }
        if let Some(build) = build {
            for (at, ident) in identifiers(build, rest.len() + 1) {
                check_identifier(ident).map_err(|(i, reason)| err(at + i, reason))?;
            }
        }

        let [major, minor, patch] = numbers;
        Ok(Version {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    /// The major version, as its digits (of any length).
    pub fn major(&self) -> &'a str {
        self.major
    }

    /// The minor version, as its digits.
    pub fn minor(&self) -> &'a str {
        self.minor
    }

    /// The patch version, as its digits.
    pub fn patch(&self) -> &'a str {
        self.patch
    }

    /// The pre-release after `-`, if any (`rc.1` in `1.0.0-rc.1+b5`).
    pub fn pre(&self) -> Option<&'a str> {
        self.pre
    }

    /// The build metadata after `+`, if any; it does not affect precedence.
    pub fn build(&self) -> Option<&'a str> {
        self.build
    }
}

/// Splits `s` at `.` into identifiers, each with its offset (`base` is the offset of `s`).
fn identifiers(s: &str, base: usize) -> impl Iterator<Item = (usize, &str)> {
    s.split('.').scan(base, |at, ident| {
        let start = *at;
        *at += ident.len() + 1;
        Some((start, ident))
    })
}

/// A pre-release or build identifier: non-empty, of `[0-9A-Za-z-]`. Errors carry the offset
/// within the identifier.
fn check_identifier(ident: &str) -> Result<(), (usize, &'static str)> {
    if ident.is_empty() {
        return Err((0, "empty identifier"));
    }
    match ident
        .bytes()
        .position(|c| !c.is_ascii_alphanumeric() && c != b'-')
    {
        Some(i) => Err((
            i,
            "invalid character in identifier (allowed: 0-9 A-Z a-z -)",
        )),
        None => Ok(()),
    }
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let number = |a: &str, b: &str| cmp_digits(a.as_bytes(), b.as_bytes());
        number(self.major, other.major)
            .then_with(|| number(self.minor, other.minor))
            .then_with(|| number(self.patch, other.patch))
            .then_with(|| match (self.pre, other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => cmp_pre(a, b),
            })
    }
}

/// Pre-release precedence: identifier by identifier, then the longer list is greater.
fn cmp_pre(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.split('.'), b.split('.'));
    loop {
        let (x, y) = match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let numeric = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        let by_identifier = match (numeric(x), numeric(y)) {
            (true, true) => cmp_digits(x.as_bytes(), y.as_bytes()),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if by_identifier != Ordering::Equal {
            return by_identifier;
        }
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version<'_> {}

/// Compares two semantic versions by precedence.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn spec_example_chain() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
            "10.0.0",
        ];
        for (i, a) in chain.iter().enumerate() {
            for (j, b) in chain.iter().enumerate() {
                assert_eq!(compare(a, b), Ok(i.cmp(&j)), "{a} vs {b}");
            }
        }
        assert_eq!(compare("1.0.0+a.b", "1.0.0+c"), Ok(Equal));
        assert_eq!(compare("1.0.0-B", "1.0.0-a"), Ok(Less));
    }

    #[test]
    fn parts() {
        let v = Version::parse("1.22.333-rc.1-x+build.5").expect("valid");
        let parts = (v.major(), v.minor(), v.patch(), v.pre(), v.build());
        assert_eq!(parts, ("1", "22", "333", Some("rc.1-x"), Some("build.5")));
    }

    #[test]
    fn rejects() {
        for (bad, at) in [
            ("v1.2.3", 0),
            ("1.2", 3),
            ("1.2.3.4", 5),
            ("1..3", 2),
            ("01.2.3", 0),
            ("1.2.3-01", 6),
            ("1.2.3-", 6),
            ("1.2.3-a..b", 8),
            ("1.2.3+", 6),
            ("1.2.3+a+b", 7),
            ("1.2.3-a_b", 7),
            ("1.2.x", 4),
            (" 1.2.3", 0),
        ] {
            let err = Version::parse(bad).expect_err(bad);
            assert!(
                matches!(err.problem(), Problem::Syntax { at: got, .. } if *got == at),
                "{bad}: {err}"
            );
        }
        assert!(Version::parse("1.2.3-0a.00a+001").is_ok());
    }
}
