//! CVSS base scores against an independent implementation, over every v2 and v3.x base
//! vector and 3,000 v4.0 vectors (with threat and environmental metrics in a third of them).
//!
//! The expected scores in `tests/data/cvss_*.tsv` were computed by the PyPI `cvss` package
//! (RedHatProductSecurity/cvss), written independently from FIRST's specifications. To
//! regenerate them, install it in a venv and run the generator quoted in each file's header
//! (itertools.product over the base metric values; random.Random(4) for v4.0).

use inuse_osv::cvss::Cvss;

fn check(file: &str, parse: fn(&str) -> Result<Cvss, inuse_osv::cvss::CvssError>, min: usize) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("test vectors");
    let mut n = 0;
    let mut wrong = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (vector, want) = line.split_once('\t').expect("VECTOR<TAB>SCORE");
        let want: f64 = want.parse().expect("score");
        let got = parse(vector).unwrap_or_else(|e| panic!("{vector}: {e}"));
        if (got.score - want).abs() > 1e-9 {
            wrong.push(format!("{vector}: got {} want {want}", got.score));
        }
        n += 1;
    }
    assert!(n >= min, "{file}: only {n} vectors");
    assert!(
        wrong.is_empty(),
        "{file}: {} of {n} differ:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
}

#[test]
fn v2_every_base_vector() {
    check("cvss_v2.tsv", Cvss::v2, 729);
}

#[test]
fn v30_every_base_vector() {
    check("cvss_v30.tsv", Cvss::v3, 2592);
}

#[test]
fn v31_every_base_vector() {
    check("cvss_v31.tsv", Cvss::v3, 2592);
}

#[test]
fn v40_sample() {
    check("cvss_v40.tsv", Cvss::v4, 3000);
}
