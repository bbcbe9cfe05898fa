//! Every line of every reference vector file in `versions/` of the shared test data (see its
//! README), checked in both directions: `A op B` must hold and so must `B op' A`.

mod common;

use std::cmp::Ordering;

use common::{comparison_lines, op_ordering, read_vectors, report, sign_ordering};
use inuse_testkit::or_skip;
use inuse_version::{Scheme, VersionError, apk, compare, rpm, semver};

type CmpFn = dyn Fn(&str, &str) -> Result<Ordering, VersionError>;

/// Checks `a` against `b` and `b` against `a`; the failure text if either is wrong.
fn check(cmp: &CmpFn, a: &str, b: &str, want: Ordering) -> Option<String> {
    let forward = cmp(a, b);
    let backward = cmp(b, a);
    if forward == Ok(want) && backward == Ok(want.reverse()) {
        return None;
    }
    Some(format!(
        "{a:?} vs {b:?}: want {want:?}, got {forward:?} and reversed {backward:?}"
    ))
}

/// A file of `A op B` lines, all of which must hold under `cmp`, except that exactly
/// `expected_rejected` lines hold a version `cmp` rejects (in both directions).
fn op_file(name: &str, cmp: &CmpFn, expected_rejected: usize) {
    let text = or_skip!(read_vectors(name));
    let (mut checked, mut failures, mut rejected) = (0, Vec::new(), Vec::new());
    for (n, line) in comparison_lines(&text) {
        checked += 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let failure = match fields[..] {
            [a, op, b] => match (op_ordering(op), cmp(a, b), cmp(b, a)) {
                (None, ..) => Some(format!("unknown operator {op:?}")),
                (Some(_), Err(e), Err(_)) => {
                    rejected.push(format!("line {n}: {line}: {e}"));
                    None
                }
                (Some(want), ..) => check(cmp, a, b, want),
            },
            _ => Some("not `A op B`".to_owned()),
        };
        if let Some(f) = failure {
            failures.push(format!("line {n}: {line}: {f}"));
        }
    }
    if !rejected.is_empty() {
        eprintln!(
            "{name}: {} lines hold a version rejected as invalid:\n  {}",
            rejected.len(),
            rejected.join("\n  ")
        );
    }
    if rejected.len() != expected_rejected {
        failures.push(format!(
            "{} lines rejected, expected {expected_rejected}",
            rejected.len()
        ));
    }
    report(name, checked, &failures);
}

fn deb(a: &str, b: &str) -> Result<Ordering, VersionError> {
    compare(Scheme::Deb, a, b)
}

fn rpm_evr(a: &str, b: &str) -> Result<Ordering, VersionError> {
    compare(Scheme::Rpm, a, b)
}

fn rpm_segments(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(rpm::vercmp(a, b))
}

#[test]
fn debian_versions() {
    op_file("debian-versions.txt", &deb, 0);
}

#[test]
fn debian_versions_generated() {
    op_file("debian-versions-generated.txt", &deb, 0);
}

/// `A B result` triples from dpkg's `t/Dpkg_Version.t` data.
#[test]
fn dpkg_test_suite() {
    let name = "dpkg-Dpkg_Version.data.txt";
    let text = or_skip!(read_vectors(name));
    let (mut checked, mut failures) = (0, Vec::new());
    for (n, line) in comparison_lines(&text) {
        checked += 1;
        let failure = match line.split_whitespace().collect::<Vec<_>>()[..] {
            [a, b, sign] => match sign_ordering(sign) {
                Some(want) => check(&deb, a, b, want),
                None => Some(format!("unknown result {sign:?}")),
            },
            _ => Some("not `A B result`".to_owned()),
        };
        if let Some(f) = failure {
            failures.push(format!("line {n}: {line}: {f}"));
        }
    }
    report(name, checked, &failures);
}

#[test]
fn redhat_versions() {
    op_file("redhat-versions.txt", &rpm_evr, 0);
}

/// `A B result` triples from rpm's `tests/rpmvercmp.at`, which test `rpmvercmp` itself (no EVR
/// splitting). The `# ODDITY (disabled upstream):` lines are checks upstream keeps disabled as
/// questionable, not as wrong: rpm 4.18 produces every one of them, so they are checked too.
#[test]
fn rpm_test_suite() {
    let name = "rpm-rpmvercmp.triples.txt";
    let text = or_skip!(read_vectors(name));
    let (mut checked, mut oddities, mut failures) = (0, 0, Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line = match line.strip_prefix("# ODDITY (disabled upstream):") {
            Some(rest) => {
                oddities += 1;
                rest.trim()
            }
            None if line.starts_with('#') || line.trim().is_empty() => continue,
            None => line.trim(),
        };
        checked += 1;
        let failure = match line.split_whitespace().collect::<Vec<_>>()[..] {
            [a, b, sign] => match sign_ordering(sign) {
                Some(want) => check(&rpm_segments, a, b, want),
                None => Some(format!("unknown result {sign:?}")),
            },
            _ => Some("not `A B result`".to_owned()),
        };
        if let Some(f) = failure {
            failures.push(format!("line {}: {line}: {f}", n + 1));
        }
    }
    eprintln!("{name}: {oddities} of the lines are upstream-disabled oddities");
    report(name, checked, &failures);
}

/// go-rpm-version's cases: `A<TAB>op<TAB>B`. The Go library compares whole strings with
/// `rpmvercmp`, which every line must match. Under rpm's own E:V-R reading:
/// - a line with an empty side cannot be compared: rpm's `rpmverParse` (and so `rpm.ver`)
///   rejects the empty string, and so does [`rpm::compare`];
/// - the README counts 6 lines where the `-` of `1-2-3-4` makes rpm read a release (`4`) that
///   whole-string comparison does not see. Those lines must disagree, exactly 6 of them.
#[test]
fn go_rpm_version_cases() {
    const EVR_DISAGREEMENTS: usize = 6; // stated in the data README
    let name = "go-rpm-version-cases.tsv";
    let text = or_skip!(read_vectors(name));
    let (mut checked, mut empty, mut failures) = (0, 0, Vec::new());
    let mut evr_disagree = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if line.is_empty() {
            continue;
        }
        checked += 1;
        let Some((a, op, b)) = line
            .split_once('\t')
            .and_then(|(a, rest)| rest.split_once('\t').map(|(op, b)| (a, op, b)))
        else {
            failures.push(format!("line {n}: {line:?}: not `A<TAB>op<TAB>B`"));
            continue;
        };
        let Some(want) = op_ordering(op) else {
            failures.push(format!("line {n}: unknown operator {op:?}"));
            continue;
        };
        if let Some(f) = check(&rpm_segments, a, b, want) {
            failures.push(format!("line {n}: rpmvercmp: {f}"));
        }
        if a.is_empty() || b.is_empty() {
            empty += 1;
            if rpm_evr(a, b).is_ok() || rpm_evr(b, a).is_ok() {
                failures.push(format!("line {n}: {a:?} vs {b:?}: empty EVR accepted"));
            }
        } else if let Some(f) = check(&rpm_evr, a, b, want) {
            if a.contains('-') || b.contains('-') {
                evr_disagree.push(format!("line {n}: {f}"));
            } else {
                failures.push(format!("line {n}: EVR: {f}"));
            }
        }
    }
    eprintln!(
        "{name}: {empty} lines with an empty side (EVR rejects, rpmvercmp checked); \
         {} lines where E:V-R parsing disagrees with the file, as the README says:\n  {}",
        evr_disagree.len(),
        evr_disagree.join("\n  ")
    );
    if evr_disagree.len() != EVR_DISAGREEMENTS {
        failures.push(format!(
            "{} E:V-R disagreements, the README says {EVR_DISAGREEMENTS}",
            evr_disagree.len()
        ));
    }
    report(name, checked, &failures);
}

fn apk_strict(a: &str, b: &str) -> Result<Ordering, VersionError> {
    apk::compare(a, b)
}

/// The alpine files were generated by osv-scalibr with `apk version -t` from apk-tools 2.10
/// (Alpine 3.10), whose tokenizer accepted what apk-tools 3 rejects, and whose `apk version -t`
/// compares invalid versions anyway. [`apk::compare`] follows apk-tools 3 and rejects:
/// - alpine-versions.txt: 37 lines, all in sections marked "invalid" or "technically invalid"
///   (`1-r`, `.1`, `a`, `1.2_blah`, `0..8`, `1.2.0A`, `6.6.2p1`, `1.0bc`, ...);
/// - alpine-versions-generated.txt: 58 lines, every one because of a letter followed by digits
///   (`6.6.4p1-r0`, `1.8.28p1-r1`: old openssh and sudo versions in the secdb). apk-tools 3's
///   own vectors mark this shape invalid (`!0.1a1`).
///
/// Every other line, where both versions are valid, must hold.
#[test]
fn alpine_versions() {
    op_file("alpine-versions.txt", &apk_strict, 37);
}

/// See [`alpine_versions`].
#[test]
fn alpine_versions_generated() {
    op_file("alpine-versions-generated.txt", &apk_strict, 58);
}

/// apk-tools' own `test/version.data`, run the way its harness runs it:
/// - `V` must be valid and `!V` invalid ([`apk::validate`]);
/// - `A op B`: `op` is a set of `<`, `=`, `>`, with `~` meaning fuzzy-equal ([`apk::compare_fuzzy`]),
///   and a leading `!` negating the match. apk's harness compares without validating, and 4
///   lines compare an invalid version (`23_foo > 4_beta`, `1.0 < 1.0bc`, `3.6.9_post1 ~ 3.6`,
///   `3.6.9_post1 !~ 3.8`): the strict functions must reject those, so they are checked with
///   [`apk::compare_lenient`].
#[test]
fn apk_test_suite() {
    let name = "apk-tools-version.data";
    let text = or_skip!(read_vectors(name));
    let (mut checked, mut validity, mut failures, mut lenient) = (0, 0, Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        checked += 1;
        let failure = match line.split_whitespace().collect::<Vec<_>>()[..] {
            [v] => {
                validity += 1;
                let (v, want_valid) = match v.strip_prefix('!') {
                    Some(v) => (v, false),
                    None => (v, true),
                };
                let got = apk::validate(v);
                (got.is_ok() != want_valid).then(|| format!("validate({v:?}) = {got:?}"))
            }
            [a, op, b] => {
                let (op, negated) = match op.strip_prefix('!') {
                    Some(op) => (op, true),
                    None => (op, false),
                };
                let fuzzy = op.contains('~');
                let accepts = |o: Ordering| {
                    op.chars().any(|c| match c {
                        '<' => o == Ordering::Less,
                        '>' => o == Ordering::Greater,
                        '=' | '~' => o == Ordering::Equal,
                        _ => false,
                    })
                };
                let strict = if fuzzy {
                    apk::compare_fuzzy(a, b)
                } else {
                    apk::compare(a, b)
                };
                let got = match strict {
                    Ok(o) => Ok(o),
                    Err(_) => {
                        lenient.push(format!("line {n}: {line}"));
                        apk::compare_lenient(a, b, fuzzy)
                    }
                };
                match got {
                    Ok(o) if accepts(o) != negated => None,
                    got => Some(format!("got {got:?}")),
                }
            }
            _ => Some("not `V`, `!V` or `A op B`".to_owned()),
        };
        if let Some(f) = failure {
            failures.push(format!("line {n}: {line}: {f}"));
        }
    }
    eprintln!(
        "{name}: {validity} validity lines; comparisons of an invalid version:\n  {}",
        lenient.join("\n  ")
    );
    if lenient.len() != 4 {
        let n = lenient.len();
        failures.push(format!(
            "{n} comparisons rejected by the strict functions, expected 4"
        ));
    }
    report(name, checked, &failures);
}

/// osv-scalibr's SemVer file is "semver-like": it also feeds Go and npm versions with a `v`
/// prefix, and numbers that are not `MAJOR.MINOR.PATCH`. Strict SemVer rejects both. The test
/// checks that every `v`-prefixed version is rejected, then compares it without the `v`; the 2
/// lines whose versions are not SemVer at all (`999…991 < 999…999`, `1.1.3.4.5 = 1.1.3.4.5`)
/// must be rejected.
#[test]
fn semver_versions() {
    let name = "semver-versions.txt";
    let text = or_skip!(read_vectors(name));
    let prefixed: Vec<&str> = comparison_lines(&text)
        .flat_map(|(_, line)| line.split_whitespace())
        .filter(|v| v.starts_with('v'))
        .collect();
    let accepted: Vec<&&str> = prefixed
        .iter()
        .filter(|v| semver::Version::parse(v).is_ok())
        .collect();
    assert!(accepted.is_empty(), "strict SemVer accepted {accepted:?}");
    eprintln!(
        "{name}: {} v-prefixed versions rejected, compared without the v",
        prefixed.len()
    );
    fn unprefix(v: &str) -> &str {
        v.strip_prefix('v').unwrap_or(v)
    }
    op_file(
        name,
        &|a, b| compare(Scheme::Semver, unprefix(a), unprefix(b)),
        2,
    );
}
