//! RPM versions, ordered exactly like rpm.
//!
//! References (rpm 4.18): `rpmio/rpmvercmp.c` (`rpmvercmp`, the segment comparison, exposed
//! here as [`vercmp`]) and `rpmio/rpmver.c` (`parseEVR`, `rpmverParse`, `rpmverCmp`, behind
//! Python's `rpm.ver`), whose EVR order is also that of librpm's `rpmVersionCompare` and of
//! Python's `rpm.labelCompare`.
//!
//! `rpmvercmp` skips separators (every byte that is not an ASCII letter, digit, `~` or `^`) and
//! compares the next maximal run of digits or of letters on each side:
//! - `~` sorts before everything, including the end of the string: `1.0~rc1 < 1.0`.
//! - `^` sorts after the end of the string but before anything else:
//!   `1.0 < 1.0^git1 < 1.0.1`, and `1.0^git1 < 1.01`.
//! - A digit run beats a letter run (`1.0 > 1.a`) and runs of the same kind compare as numbers
//!   (leading zeros ignored, by length, so no overflow: `10.0001 = 10.1`) or bytewise.
//! - Separators only separate: `2.0 = 2_0 = 2-0`, and `1.0 = 1.0.` since trailing separators
//!   are ignored; when all runs match, the side with runs left over wins.
//! - Bytes above 0x7f are separators (`risalnum` is ASCII-only), so `1.1.α = 1.1.β`.
//!
//! EVR `[epoch:]version[-release]` (`parseEVR`): the epoch is the run of *digits* before a
//! first `:` (an empty one means `0`; `a:1` has no epoch, its version is `a:1`); the release
//! starts after the *last* `-`. Epochs compare with `rpmvercmp` too (so `01:2 = 1:2` and there
//! is no overflow), an absent epoch counts as `0`, then versions, then releases.
//!
//! The absent release: we follow `rpmverCmp`/`rpmVersionCompare`/`rpm.labelCompare`, where an
//! absent release sorts *before* any release, even an empty one (`1 < 1- < 1-0`). This is the
//! total order rpm uses to order package versions, and what the redhat vectors expect. The
//! other reading, "a missing release matches any release", is `rpmverOverlap`'s rule for
//! dependency ranges (`Requires: foo >= 1.0` is met by `foo-1.0-5`): it is not an order at all
//! (`1.0-1 = 1.0 = 1.0-2` but `1.0-1 < 1.0-2`), so it does not belong in a comparison.
//!
//! The only strings rejected are the empty one (`rpmverParse` returns no version for it, and
//! `rpm.ver("")` raises) and those over [`MAX_VERSION_LEN`](crate::MAX_VERSION_LEN); rpm
//! itself compares any bytes, so anything else is accepted as rpm would read it.

use std::cmp::Ordering;

use crate::{Problem, Scheme, VersionError, check_len, cmp_digits, span};

/// A parsed `[epoch:]version[-release]`, borrowed from the input, ordered like `rpmverCmp`.
#[derive(Debug, Clone, Copy)]
pub struct Evr<'a> {
    epoch: Option<&'a str>,
    version: &'a str,
    release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    /// Splits an EVR string the way rpm's `parseEVR` does (see the
    /// [module documentation](self)). Fails only for the empty string and overlong input.
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        check_len(Scheme::Rpm, input)?;
        if input.is_empty() {
            return Err(VersionError::new(Scheme::Rpm, input, Problem::Empty));
        }
        let digits = span(input.as_bytes(), |c| c.is_ascii_digit());
        let (epoch, rest) = match input[digits..].strip_prefix(':') {
            Some(rest) if digits == 0 => (Some("0"), rest),
            Some(rest) => (Some(&input[..digits]), rest),
            None => (None, input),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release)),
            None => (rest, None),
        };
        Ok(Evr {
            epoch,
            version,
            release,
        })
    }

    /// The epoch digits, `Some("0")` for an empty epoch (`:1`), `None` when absent.
    pub fn epoch(&self) -> Option<&'a str> {
        self.epoch
    }

    /// The version: after the epoch colon, before the last hyphen. May be empty (`1:`).
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// The release after the last hyphen (possibly empty), `None` when there is no hyphen.
    pub fn release(&self) -> Option<&'a str> {
        self.release
    }
}

impl Ord for Evr<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        // rpmverCmp's compare_values: both absent are equal, an absent value sorts first.
        fn values(a: Option<&str>, b: Option<&str>) -> Ordering {
            match (a, b) {
                (Some(a), Some(b)) => vercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            }
        }
        vercmp(self.epoch.unwrap_or("0"), other.epoch.unwrap_or("0"))
            .then_with(|| vercmp(self.version, other.version))
            .then_with(|| values(self.release, other.release))
    }
}

impl PartialOrd for Evr<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Evr<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Evr<'_> {}

/// Compares two `[epoch:]version[-release]` strings like rpm's `rpmverCmp`.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Evr::parse(a)?.cmp(&Evr::parse(b)?))
}

/// rpm's `rpmvercmp`: compares two version (or release) strings segment by segment, with no
/// EVR splitting. Total: every string is accepted, including the empty one.
///
/// ```
/// use inuse_version::rpm::vercmp;
/// use std::cmp::Ordering::*;
///
/// assert_eq!(vercmp("1.0~rc1", "1.0"), Less);
/// assert_eq!(vercmp("1.0^git1", "1.0"), Greater);
/// assert_eq!(vercmp("1.0^git1", "1.0.1"), Less);
/// assert_eq!(vercmp("10.0001", "10.1"), Equal);
/// ```
pub fn vercmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return Ordering::Equal;
    }
    let is_separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        a = &a[span(a, is_separator)..];
        b = &b[span(b, is_separator)..];
        let (ca, cb) = (a.first().copied(), b.first().copied());

        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
        } else if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(b'^'), Some(b'^')) => {}
                (Some(b'^'), _) => return Ordering::Less,
                _ => return Ordering::Greater,
            }
        } else {
            let Some(ca) = ca else { break };
            if cb.is_none() {
                break;
            }
            let numeric = ca.is_ascii_digit();
            let in_run = |c: u8| {
                if numeric {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_alphabetic()
                }
            };
            let (na, nb) = (span(a, in_run), span(b, in_run));
            if nb == 0 {
                // The runs are of different kinds: digits beat letters.
                return if numeric {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            let by_run = if numeric {
                cmp_digits(&a[..na], &b[..nb])
            } else {
                a[..na].cmp(&b[..nb])
            };
            if by_run != Ordering::Equal {
                return by_run;
            }
            (a, b) = (&a[na..], &b[nb..]);
            continue;
        }
        // Both sides are at the same `~` or `^`: step over it.
        (a, b) = (&a[1..], &b[1..]);
    }
    // One side ran out of runs (trailing separators were skipped above).
    a.is_empty().cmp(&b.is_empty()).reverse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn evr_split() {
        let parts = |s| {
            let e = Evr::parse(s).expect("non-empty");
            (e.epoch(), e.version(), e.release())
        };
        assert_eq!(parts("1:2-3"), (Some("1"), "2", Some("3")));
        assert_eq!(parts(":2"), (Some("0"), "2", None));
        assert_eq!(parts("a:1-2-3"), (None, "a:1-2", Some("3")));
        assert_eq!(parts("1.m+e2:1"), (None, "1.m+e2:1", None));
        assert_eq!(parts("1-"), (None, "1", Some("")));
        assert_eq!(parts("7:"), (Some("7"), "", None));
        assert!(Evr::parse("").is_err());
    }

    #[test]
    fn evr_order() {
        for (a, b, want) in [
            ("1", "1-", Less),
            ("1-", "1-0", Less),
            ("1-1", "1-1.", Equal),
            ("0:1", "1", Equal),
            ("01:2", "1:2", Equal),
            ("99999999999999999999:1", "100000000000000000000:0", Less),
            ("1:1", "2", Greater),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
            assert_eq!(compare(b, a), Ok(want.reverse()), "{b} vs {a}");
        }
    }

    #[test]
    fn segments() {
        for (a, b, want) in [
            ("", "", Equal),
            ("", ".", Equal),
            ("", "0", Less),
            ("1", "1~", Greater),
            ("1~", "1^", Less),
            ("1^", "1.", Greater),
            ("1^", "1.0", Less),
            ("1a", "1.0", Less),
            ("1.α", "1.β", Equal),
            ("1.0", "1.0.", Equal),
        ] {
            assert_eq!(vercmp(a, b), want, "{a} vs {b}");
            assert_eq!(vercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
