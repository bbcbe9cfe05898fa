//! Alpine versions, ordered exactly like apk-tools.
//!
//! Reference: apk-tools `src/version.c` (the 3.x tokenizer: `token_first`, `token_next`,
//! `token_cmp`, `apk_version_validate`, `apk_version_compare_fuzzy`) and `src/ctype.c` for the
//! character classes. The grammar is `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}`.
//!
//! A version is a sequence of tokens, each of a kind that may only follow certain kinds: an
//! initial number, `.number`s, one lowercase letter, `_suffix[number]`s, one `~commit` (lowercase
//! hex) and one `-rN` revision. Two versions are compared token by token while both have a token
//! of the same kind. When the kinds differ, the side whose next token comes later in that list
//! is older, the end of the string counting as the latest (so `1.2 < 1.2.1` and
//! `1.2 < 1.2-r1`), except that a side going on with a pre-release suffix is older.
//!
//! Pitfalls:
//! - Suffixes: `_alpha < _beta < _pre < _rc <` (no suffix) `< _cvs < _svn < _git < _hg < _p`, so
//!   `1.2_rc1 < 1.2 < 1.2_p1`; any other suffix (`_foo`, `_`) makes the version invalid.
//! - The first number compares by value (`01 = 1`), but a later `.number` with a leading zero on
//!   either side compares *as a string*: `1.05 < 1.5`, `1.0 < 1.00`.
//! - Suffix numbers and revisions compare by value: `1-r01 = 1-r1`, `_rc10 > _rc9`.
//! - apk parses numbers into a wrapping `uint64_t`; this module compares digit runs by length
//!   after stripping zeros, which agrees with apk for every number below 2^64 and is exact above.
//! - `~` is not dpkg's or rpm's "sorts before": it starts a commit hash, which makes the version
//!   *newer* than the same version without one, whatever its revision: `1.0 < 1.0-r9 <
//!   1.0~abc-r0`. Hashes compare as strings: they tell builds apart, they do not order them
//!   meaningfully. Uppercase hex is not a hash (`~ABC` is invalid).
//! - Only lowercase letters: `1.0A` is invalid, and so are two letters (`1.0bc`), a letter
//!   followed by a digit (`0.1a1`), `-` not followed by `r` and digits, and anything after the
//!   revision.
//!
//! [`compare`] rejects versions that `apk_version_validate` rejects (what `apk version --check`
//! reports as invalid): their order is an accident of where the tokenizer gives up:
//! apk-tools 3 finds `6.6.4p1-r0` and `6.6.4p1-r1` equal, while apk-tools 2 (which accepted
//! a letter followed by digits) put them in revision order. For data that already holds such
//! a version, [`compare_lenient`] returns what apk-tools 3's comparison returns anyway.

use std::cmp::Ordering;

use crate::{Problem, Scheme, VersionError, check_len, cmp_digits, span};

/// Checks that `version` is a valid apk version, like `apk_version_validate`.
pub fn validate(version: &str) -> Result<(), VersionError> {
    check_len(Scheme::Apk, version)?;
    if version.is_empty() {
        return Err(VersionError::new(Scheme::Apk, version, Problem::Empty));
    }
    let mut t = Tokens::new(version.as_bytes());
    while t.kind < Kind::End {
        t.advance();
    }
    match t.kind {
        Kind::Invalid => Err(VersionError::syntax(Scheme::Apk, version, t.at, t.reason)),
        _ => Ok(()),
    }
}

/// Compares two valid apk versions like `apk version -t`.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    validate(a)?;
    validate(b)?;
    Ok(compare_tokens(a, b, false))
}

/// Compares like the `~` dependency operator: [`compare`], except that `version` is `Equal` to
/// every `prefix` whose tokens it starts with (`3.6.9` and `3.6_pre1` are `Equal` to `3.6`, but
/// `3.6` is `Less` than `3.6.0`).
pub fn compare_fuzzy(version: &str, prefix: &str) -> Result<Ordering, VersionError> {
    validate(version)?;
    validate(prefix)?;
    Ok(compare_tokens(version, prefix, true))
}

/// What apk-tools 3 answers for *any* two strings, valid or not: the comparison stops at the
/// first token either side cannot parse. `fuzzy` selects [`compare_fuzzy`]'s rule instead of
/// [`compare`]'s. Prefer those two; this is for data that already contains invalid versions.
/// Fails only for strings over [`MAX_VERSION_LEN`](crate::MAX_VERSION_LEN).
pub fn compare_lenient(a: &str, b: &str, fuzzy: bool) -> Result<Ordering, VersionError> {
    check_len(Scheme::Apk, a)?;
    check_len(Scheme::Apk, b)?;
    Ok(compare_tokens(a, b, fuzzy))
}

/// Token kinds, in apk's order: a kind may only be followed by a later kind (with the
/// exceptions in [`Tokens::advance`]), and when two versions stop agreeing on the kind, the
/// later kind is the older version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffixes by rank; "no suffix" sits between `rc` and `cvs`.
const PRE_SUFFIXES: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST_SUFFIXES: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];
const NO_SUFFIX: usize = PRE_SUFFIXES.len();

fn suffix_rank(name: &[u8]) -> Option<usize> {
    if let Some(i) = PRE_SUFFIXES.iter().position(|s| *s == name) {
        return Some(i);
    }
    POST_SUFFIXES
        .iter()
        .position(|s| *s == name)
        .map(|i| NO_SUFFIX + 1 + i)
}

/// The tokenizer: holds the current token and the input after it.
struct Tokens<'a> {
    s: &'a [u8],
    /// Offset of the input after the current token.
    pos: usize,
    kind: Kind,
    /// The token's text: digits, the letter, the suffix name or the hash.
    value: &'a [u8],
    /// Rank of a suffix token.
    suffix: usize,
    /// For `Kind::Invalid`: where and why.
    at: usize,
    reason: &'static str,
}

impl<'a> Tokens<'a> {
    /// `token_first`: the version must start with a number.
    fn new(s: &'a [u8]) -> Self {
        let mut t = Tokens {
            s,
            pos: 0,
            kind: Kind::InitialDigit,
            value: &[],
            suffix: 0,
            at: 0,
            reason: "",
        };
        t.digits("must start with a digit");
        t
    }

    fn invalid(&mut self, at: usize, reason: &'static str) {
        self.kind = Kind::Invalid;
        self.at = at;
        self.reason = reason;
    }

    /// Takes a run of digits as the current token's value; none at all is invalid.
    fn digits(&mut self, reason: &'static str) {
        let n = span(&self.s[self.pos..], |c| c.is_ascii_digit());
        self.value = &self.s[self.pos..self.pos + n];
        if n == 0 {
            self.invalid(self.pos, reason);
        }
        self.pos += n;
    }

    /// `token_next`: moves to the next token, or to `End`, or to `Invalid` with a reason.
    fn advance(&mut self) {
        let at = self.pos;
        let rest = &self.s[at..];
        let Some(&c) = rest.first() else {
            self.kind = Kind::End;
            return;
        };
        let prev = self.kind;
        match c {
            b'a'..=b'z' => {
                if prev > Kind::Digit {
                    return self.invalid(at, "a letter may only follow a number");
                }
                self.value = &rest[..1];
                self.pos += 1;
                self.kind = Kind::Letter;
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if prev > Kind::Digit {
                        return self.invalid(at, "'.' may only follow a number");
                    }
                    self.pos += 1;
                }
                self.kind = match prev {
                    Kind::InitialDigit | Kind::Digit => Kind::Digit,
                    Kind::Suffix => Kind::SuffixNo,
                    _ => return self.invalid(at, "a number may not follow a letter here"),
                };
                self.digits("expected a number");
            }
            b'_' => {
                if prev > Kind::SuffixNo {
                    return self.invalid(at, "a suffix may not follow a commit hash or revision");
                }
                let n = span(&rest[1..], |c| c.is_ascii_lowercase());
                self.value = &rest[1..1 + n];
                let Some(rank) = suffix_rank(self.value) else {
                    return self.invalid(at, "unknown suffix");
                };
                self.suffix = rank;
                self.pos += 1 + n;
                self.kind = Kind::Suffix;
            }
            b'~' => {
                if prev >= Kind::CommitHash {
                    return self.invalid(at, "a commit hash may not follow a revision or hash");
                }
                let n = span(&rest[1..], |c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
                if n == 0 {
                    return self.invalid(at, "'~' must be followed by a lowercase hex hash");
                }
                self.value = &rest[1..1 + n];
                self.pos += 1 + n;
                self.kind = Kind::CommitHash;
            }
            b'-' => {
                if prev >= Kind::RevisionNo {
                    return self.invalid(at, "only one revision is allowed");
                }
                if rest.get(1) != Some(&b'r') {
                    return self.invalid(at, "'-' must start a revision '-rN'");
                }
                self.pos += 2;
                self.kind = Kind::RevisionNo;
                self.digits("revision number is missing");
            }
            _ => self.invalid(at, "invalid character"),
        }
    }
}

/// `token_cmp`, for two tokens of the same kind.
fn token_cmp(a: &Tokens<'_>, b: &Tokens<'_>) -> Ordering {
    match a.kind {
        Kind::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Kind::InitialDigit | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
            cmp_digits(a.value, b.value)
        }
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

/// `apk_version_compare_fuzzy`.
fn compare_tokens(a: &str, b: &str, fuzzy: bool) -> Ordering {
    let (mut ta, mut tb) = (Tokens::new(a.as_bytes()), Tokens::new(b.as_bytes()));
    while ta.kind == tb.kind && ta.kind < Kind::End {
        let by_token = token_cmp(&ta, &tb);
        if by_token != Ordering::Equal {
            return by_token;
        }
        ta.advance();
        tb.advance();
    }
    if ta.kind == tb.kind || (fuzzy && tb.kind == Kind::End) {
        return Ordering::Equal;
    }
    // The versions agree up to where one of them goes on: the one that goes on is newer, unless
    // it goes on with a pre-release suffix.
    if ta.kind == Kind::Suffix && ta.suffix < NO_SUFFIX {
        return Ordering::Less;
    }
    if tb.kind == Kind::Suffix && tb.suffix < NO_SUFFIX {
        return Ordering::Greater;
    }
    tb.kind.cmp(&ta.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn pitfalls() {
        for (a, b, want) in [
            ("1.2_rc1", "1.2", Less),
            ("1.2", "1.2_p1", Less),
            ("1.2_alpha", "1.2_alpha1", Less),
            ("1.2_git1", "1.2_hg1", Less),
            ("01.1", "1.1", Equal),
            ("1.05", "1.5", Less),
            ("1.0", "1.00", Less),
            ("1-r01", "1-r1", Equal),
            ("1.2a", "1.2", Greater),
            ("1.2a", "1.2.1", Less),
            ("1.0~abc", "1.0~abd", Less),
            ("1.0~abc-r1", "1.0~abc-r0", Greater),
            ("1.0~abc", "1.0", Greater),
            ("1.0~abc-r0", "1.0-r9", Greater),
            (
                "99999999999999999999999",
                "99999999999999999999998",
                Greater,
            ),
        ] {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
            assert_eq!(compare(b, a), Ok(want.reverse()), "{b} vs {a}");
        }
    }

    #[test]
    fn fuzzy() {
        assert_eq!(compare_fuzzy("3.6.9", "3.6"), Ok(Equal));
        assert_eq!(compare_fuzzy("3.6_pre1", "3.6"), Ok(Equal));
        assert_eq!(compare_fuzzy("3.6", "3.6.0"), Ok(Less));
        assert_eq!(compare_fuzzy("3.7", "3.6"), Ok(Greater));
    }

    #[test]
    fn invalid() {
        for (bad, at) in [
            (".1", 0),
            ("a", 0),
            ("1.0A", 3),
            ("1.0bc", 4),
            ("0.1a1", 4),
            ("1_foo", 1),
            ("1_", 1),
            ("1~", 1),
            ("1~ABC", 1),
            ("1-r", 3),
            ("1-2", 1),
            ("1-r1-r2", 4),
            ("1-r1_p1", 4),
            ("1..2", 2),
            ("1.", 2),
        ] {
            let err = validate(bad).expect_err(bad);
            assert!(
                matches!(err.problem(), Problem::Syntax { at: got, .. } if *got == at),
                "{bad}: {err}"
            );
            assert!(compare(bad, "1").is_err());
        }
        assert_eq!(
            validate("").map_err(|e| e.problem().clone()),
            Err(Problem::Empty)
        );
        assert_eq!(compare_lenient("1.0", "1.0bc", false), Ok(Less));
        assert_eq!(compare_lenient("3.6.9_post1", "3.6", true), Ok(Equal));
    }
}
