//! Debian versions, ordered exactly like dpkg.
//!
//! Reference: dpkg's `lib/dpkg/version.c` (`dpkg_version_compare`, `verrevcmp`, `order`) for the
//! order and `lib/dpkg/parsehelp.c` (`parseversion`) for the syntax
//! `[epoch:]upstream_version[-debian_revision]`, as documented in deb-version(7).
//!
//! Epochs compare as numbers (absent means 0), then upstream versions and then revisions with
//! `verrevcmp`: both strings are cut into alternating non-digit and digit runs; non-digit runs
//! compare byte by byte with the weights of `order()`, digit runs compare as numbers.
//!
//! Pitfalls this module gets right, each covered by the vectors in `tests/`:
//! - `~` sorts before everything, *including the end of the string*: `1.0~rc1 < 1.0`,
//!   `1.0~~ < 1.0~ < 1.0`.
//! - Letters sort before every other non-digit: `1.0a < 1.0+ < 1.0.`; the end of a run weighs
//!   like a digit, so `1.0 < 1.0a`.
//! - Digit runs are numbers of any length: leading zeros do not count (`1.09 = 1.9`,
//!   `1.0 = 1.00`) and an absent run counts as zero (`1. = 1.0`). They are compared by length
//!   after stripping zeros, never parsed into an integer, so they cannot overflow.
//! - A missing revision is the empty string, which `verrevcmp` treats like `0`: `1.0 = 1.0-0`.
//! - The *last* hyphen starts the revision, the *first* colon ends the epoch; an upstream
//!   version may contain `-` only if there is a revision and `:` only if there is an epoch.
//! - "Equal" does not mean "same string" (`0:1.0-0` equals `1.0`).
//!
//! Validation, decided against dpkg's two levels of complaint:
//! - dpkg's hard errors are errors here: an empty string, embedded blanks, an epoch that is
//!   empty, not a number or above `i32::MAX`, nothing after the epoch colon, an empty upstream
//!   version, an empty revision (`1.0-`). Leading and trailing blanks are trimmed, as dpkg does.
//! - An upstream version that does not start with a digit is *accepted*: dpkg only warns about
//!   it, still compares it (`dpkg --compare-versions`, and the lax parser that reads the status
//!   database), and archives have carried such versions.
//! - A character outside `[A-Za-z0-9.+~-:]` (upstream) or `[A-Za-z0-9.+~]` (revision) is
//!   *rejected*, although dpkg only warns: dpkg refuses such versions when building or
//!   installing a package, and their order is not even well defined, because `order()` gives a
//!   byte above 0x7f a different weight depending on whether `char` is signed on the platform.
//! - The epoch must be ASCII digits; dpkg's `strtol` would also take `+1:` or ` 1:`.

use std::cmp::Ordering;

use crate::{Problem, Scheme, VersionError, check_len, cmp_digits, span};

/// A parsed Debian version. Borrowed from the input; ordering is dpkg's, so two values can be
/// equal without being spelled the same (`1.0` and `0:1.0-0`).
#[derive(Debug, Clone, Copy)]
pub struct Version<'a> {
    epoch: u32,
    upstream: &'a str,
    revision: &'a str,
}

impl<'a> Version<'a> {
    /// Parses `[epoch:]upstream[-revision]`, with the validation described in the
    /// [module documentation](self).
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        check_len(Scheme::Deb, input)?;
        let err = |at, reason| VersionError::syntax(Scheme::Deb, input, at, reason);
        let is_blank = |c: char| c == ' ' || c == '\t';

        let start = input.len() - input.trim_start_matches(is_blank).len();
        let s = input.trim_matches(is_blank);
        if s.is_empty() {
            return Err(VersionError::new(Scheme::Deb, input, Problem::Empty));
        }
        if let Some(at) = s.find(is_blank) {
            return Err(err(start + at, "embedded blank"));
        }

        let (epoch, rest, rest_at) = match s.split_once(':') {
            None => (0, s, start),
            Some((epoch, rest)) => {
                if epoch.is_empty() {
                    return Err(err(start, "epoch is empty"));
                }
                if let Some(at) = epoch.bytes().position(|c| !c.is_ascii_digit()) {
                    return Err(err(start + at, "epoch is not a number"));
                }
                let epoch = match epoch.parse::<u32>() {
                    Ok(n) if i32::try_from(n).is_ok() => n,
                    _ => return Err(err(start, "epoch is larger than 2147483647")),
                };
                if rest.is_empty() {
                    return Err(err(start + s.len(), "nothing after the epoch colon"));
                }
                (epoch, rest, start + s.len() - rest.len())
            }
        };

        let (upstream, revision) = match rest.rsplit_once('-') {
            None => (rest, ""),
            Some((_, "")) => return Err(err(rest_at + rest.len(), "revision is empty")),
            Some(split) => split,
        };
        if upstream.is_empty() {
            return Err(err(rest_at, "upstream version is empty"));
        }
        let upstream_ok = |c: u8| c.is_ascii_alphanumeric() || b".+~-:".contains(&c);
        let revision_ok = |c: u8| c.is_ascii_alphanumeric() || b".+~".contains(&c);
        let n = span(upstream.as_bytes(), upstream_ok);
        if n < upstream.len() {
            return Err(err(rest_at + n, "invalid character in upstream version"));
        }
        let n = span(revision.as_bytes(), revision_ok);
        if n < revision.len() {
            let at = rest_at + upstream.len() + 1 + n;
            return Err(err(at, "invalid character in revision"));
        }

        Ok(Version {
            epoch,
            upstream,
            revision,
        })
    }

    /// The epoch; 0 when absent.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream version: between the epoch colon and the last hyphen.
    pub fn upstream(&self) -> &'a str {
        self.upstream
    }

    /// The Debian revision after the last hyphen; empty when absent (which orders like `0`).
    pub fn revision(&self) -> &'a str {
        self.revision
    }
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
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

/// Compares two Debian versions like `dpkg --compare-versions`.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
}

/// The weight of a byte in a non-digit run; `None` is the end of the string.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit runs (by [`order`]) and digit runs (by value).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() || !b.is_empty() {
        // Non-digit run. The loop stops as soon as neither side has a non-digit; while it runs,
        // equal weights mean both sides hold the same non-digit byte, so both can advance.
        loop {
            let (ca, cb) = (a.first().copied(), b.first().copied());
            let non_digit = |c: Option<u8>| c.is_some_and(|c| !c.is_ascii_digit());
            if !non_digit(ca) && !non_digit(cb) {
                break;
            }
            let (wa, wb) = (order(ca), order(cb));
            if wa != wb {
                return wa.cmp(&wb);
            }
            (a, b) = (&a[1..], &b[1..]);
        }
        let (na, nb) = (
            span(a, |c| c.is_ascii_digit()),
            span(b, |c| c.is_ascii_digit()),
        );
        let by_value = cmp_digits(&a[..na], &b[..nb]);
        if by_value != Ordering::Equal {
            return by_value;
        }
        (a, b) = (&a[na..], &b[nb..]);
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    #[test]
    fn pitfalls() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0a", "1.0+", Less),
            ("1.0", "1.0a", Less),
            ("1.09", "1.9", Equal),
            ("1.", "1.0", Equal),
            ("1.0", "0:1.0-0", Equal),
            ("1:0.1", "2.0", Greater),
            ("1.0-1", "1.0-1~bpo1", Greater),
            ("a1", "1", Greater),
            (
                "1.99999999999999999999999",
                "1.100000000000000000000000",
                Less,
            ),
        ] {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn parts() {
        let v = Version::parse(" 3:1.2-3:4-5+b1\t").expect("valid");
        assert_eq!(
            (v.epoch(), v.upstream(), v.revision()),
            (3, "1.2-3:4", "5+b1")
        );
        let v = Version::parse("1.2").expect("valid");
        assert_eq!((v.epoch(), v.upstream(), v.revision()), (0, "1.2", ""));
    }

    #[test]
    fn rejects() {
        for (bad, at) in [
            ("", 0),
            ("  ", 0),
            ("1 2", 1),
            (":1", 0),
            ("a:1", 0),
            ("+1:1", 0),
            ("2147483648:1", 0),
            ("1:", 2),
            (" 1: ", 3),
            ("1.0-", 4),
            ("-1", 0),
            ("1:-1", 2),
            ("1.0_1", 3),
            ("1:1.0-a:b", 7),
            ("1.0-é", 4),
        ] {
            let err = Version::parse(bad).expect_err(bad);
            if let crate::Problem::Syntax { at: got, .. } = err.problem() {
                assert_eq!(*got, at, "{err}");
            }
        }
        assert_eq!(
            Version::parse("2147483647:1").map(|v| v.epoch()),
            Ok(2147483647)
        );
    }
}
