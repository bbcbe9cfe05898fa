//! `inuse version compare`: single pairs, and `--stdin` over thousands of real dpkg and rpm
//! ordering vectors (shared test data, generated with the real dpkg and rpm), one result per
//! line in input order, with invalid versions giving `error:` lines instead of a crash.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use inuse_testkit::{Skip, or_skip};

fn inuse(args: &[&str], stdin: Option<&str>) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn inuse");
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.unwrap_or("").to_owned();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("join").expect("write stdin");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The shared data's `versions/` folder, or a skip for missing data (a failure under `CI=true`).
fn versions_dir() -> Result<PathBuf, Skip> {
    inuse_testkit::shared_data("versions")
}

#[test]
fn single_pairs() {
    let cases = [
        ("deb", "1.0~rc1-1", "1.0-1", "-1"),
        ("deb", "1:0.9", "2.0", "1"),
        ("rpm", "1.0-1.el9", "1.0-1.el9", "0"),
        ("rpm", "1.0^git1", "1.0.1", "-1"),
        ("apk", "1.2_rc1-r0", "1.2-r0", "-1"),
        ("semver", "1.0.0", "1.0.0-rc.1", "1"),
    ];
    for (scheme, a, b, want) in cases {
        let (code, out, err) = inuse(&["version", "compare", "--scheme", scheme, a, b], None);
        assert_eq!(
            (code, out.trim()),
            (Some(0), want),
            "{scheme} {a} {b}: {err}"
        );
    }
    let (code, out, err) = inuse(&["version", "compare", "--scheme", "deb", "1:", "1"], None);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(err.contains("invalid deb version \"1:\""), "{err}");
    let (code, _, err) = inuse(&["version", "compare", "--scheme", "pypi", "1", "2"], None);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn stdin_keeps_order_and_reports_errors_in_place() {
    let input = "1.0 2.0\n1: 2\n\nonly-one\n2.0 1.0\n  3.0-1   3.0-1  \n";
    let (code, out, err) = inuse(
        &["version", "compare", "--scheme", "deb", "--stdin"],
        Some(input),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}{err}");
    assert_eq!(lines[0], "-1");
    assert!(
        lines[1].starts_with("error: invalid deb version"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("error: expected two versions"));
    assert!(lines[3].starts_with("error: expected two versions"));
    assert_eq!(lines[4..], ["1", "0"]);
    assert_eq!(code, Some(3), "some lines failed: partial");
    // An absurdly long line is one error line, and the next line still works.
    let long = format!("{} 1\n1 2\n", "9".repeat(100_000));
    let (code, out, _) = inuse(
        &["version", "compare", "--scheme", "rpm", "--stdin"],
        Some(&long),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("error:"));
    assert_eq!(lines[1], "-1");
    assert_eq!(code, Some(3));
}

#[test]
fn stdin_agrees_with_real_dpkg_and_rpm_vectors() {
    let versions = or_skip!(versions_dir());
    for (scheme, file) in [
        ("deb", "debian-versions-generated.txt"),
        ("deb", "debian-versions.txt"),
        ("rpm", "redhat-versions.txt"),
    ] {
        let text = std::fs::read_to_string(versions.join(file)).expect("vectors");
        let mut input = String::new();
        let mut want = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [a, op, b] = f[..] {
                input.push_str(&format!("{a} {b}\n"));
                want.push(match op {
                    "<" => "-1",
                    "=" => "0",
                    _ => "1",
                });
            }
        }
        assert!(want.len() >= 20, "{file}: {} pairs", want.len());
        let (code, out, err) = inuse(
            &["version", "compare", "--scheme", scheme, "--stdin"],
            Some(&input),
        );
        assert_eq!(code, Some(0), "{file}: {err}");
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got, want, "{file}");
    }
}
