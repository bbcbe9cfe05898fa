//! Order properties over real versions drawn from the vector files: every scheme's comparison
//! must be reflexive, antisymmetric and transitive (a total preorder), or sorting and range
//! checks built on it give answers that depend on the order of the input.

mod common;

use std::cmp::Ordering;
use std::collections::BTreeSet;

use common::{Rng, read_vectors};
use inuse_testkit::{Skip, or_skip};
use inuse_version::{Scheme, compare};

/// Versions per scheme checked pairwise; the checks are quadratic in this.
const SAMPLE: usize = 600;
/// Failures listed in full before the rest are only counted.
const SHOWN: usize = 50;

/// The versions the scheme accepts among the whitespace-separated fields of the files.
fn versions(scheme: Scheme, files: &[&str]) -> Result<Vec<String>, Skip> {
    let mut all = BTreeSet::<String>::new();
    for file in files {
        let text = read_vectors(file)?;
        for line in text.lines() {
            let line = line.trim_start_matches("# ODDITY (disabled upstream):");
            if line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            let fields = line.split_whitespace().map(|v| v.trim_start_matches('!'));
            all.extend(fields.map(str::to_owned));
        }
    }
    let valid: Vec<String> = all
        .into_iter()
        .filter(|v| compare(scheme, v, v).is_ok())
        .collect();
    Ok(valid)
}

fn check_order(scheme: Scheme, files: &[&str], seed: u64) {
    let all = or_skip!(versions(scheme, files));
    let cmp = |a: &str, b: &str| compare(scheme, a, b).expect("accepted above");
    let mut failures = Vec::new();

    for v in &all {
        if cmp(v, v) != Ordering::Equal {
            failures.push(format!("not reflexive: {v:?}"));
        }
    }

    let mut sample: Vec<&str> = all.iter().map(String::as_str).collect();
    Rng::new(seed).shuffle(&mut sample);
    sample.truncate(SAMPLE);
    let n = sample.len();

    for (i, a) in sample.iter().enumerate() {
        for b in &sample[i + 1..] {
            let (ab, ba) = (cmp(a, b), cmp(b, a));
            if ab != ba.reverse() {
                failures.push(format!(
                    "not antisymmetric: {a:?} vs {b:?} is {ab:?}, reversed {ba:?}"
                ));
            }
        }
    }

    // Insertion sort (which cannot misbehave on a broken order), then check that the sorted
    // sequence is a chain of equivalence classes: within a class everything is Equal, across
    // classes everything is Less. That holds for every pair iff the order is transitive on
    // the sample.
    let mut sorted: Vec<&str> = Vec::with_capacity(n);
    for v in &sample {
        let at = sorted.partition_point(|s| cmp(s, v) != Ordering::Greater);
        sorted.insert(at, v);
    }
    let mut class = vec![0usize; n];
    for i in 1..n {
        class[i] = class[i - 1] + usize::from(cmp(sorted[i - 1], sorted[i]) != Ordering::Equal);
    }
    for i in 0..n {
        for j in i + 1..n {
            let want = class[i].cmp(&class[j]);
            let got = cmp(sorted[i], sorted[j]);
            if got != want {
                failures.push(format!(
                    "not transitive: sorted {:?} vs {:?} is {got:?}, but the chain between them says {want:?}",
                    sorted[i], sorted[j]
                ));
            }
        }
    }

    eprintln!(
        "{scheme}: {} versions reflexive; {n} sampled: {} pairs antisymmetric and transitive; \
         {} failures",
        all.len(),
        n * (n - 1) / 2,
        failures.len()
    );
    assert!(n > 1, "{scheme}: no versions to check");
    let shown: Vec<&String> = failures.iter().take(SHOWN).collect();
    assert!(
        failures.is_empty(),
        "{scheme}: {} failures, first {}:\n{}",
        failures.len(),
        shown.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn deb_is_a_total_preorder() {
    let files = [
        "debian-versions.txt",
        "debian-versions-generated.txt",
        "dpkg-Dpkg_Version.data.txt",
    ];
    check_order(Scheme::Deb, &files, 1);
}

#[test]
fn rpm_is_a_total_preorder() {
    let files = [
        "redhat-versions.txt",
        "rpm-rpmvercmp.triples.txt",
        "go-rpm-version-cases.tsv",
    ];
    check_order(Scheme::Rpm, &files, 2);
}

#[test]
fn apk_is_a_total_preorder() {
    let files = [
        "alpine-versions.txt",
        "alpine-versions-generated.txt",
        "apk-tools-version.data",
    ];
    check_order(Scheme::Apk, &files, 3);
}

#[test]
fn semver_is_a_total_preorder() {
    let files = ["semver-versions.txt"];
    check_order(Scheme::Semver, &files, 4);
}
