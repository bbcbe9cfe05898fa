//! The skip mechanism seen from outside: a test binary run the way `cargo test` runs it (output
//! captured) must still show its skip on stderr, log it, and fail for missing data under CI.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use inuse_testkit::{Skip, or_skip, run_bounded};

/// Not a test of its own: the body the other tests run in a child copy of this binary.
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_reports_a_skip() {
    // A control line: libtest captures this one for a passing test, so it must not be seen.
    eprintln!("captured control line");
    let skip = match std::env::var("INUSE_TESTKIT_CHILD_KIND").as_deref() {
        Ok("data") => Skip::missing_data("probe: shared data absent"),
        _ => Skip::new("probe: tool absent"),
    };
    or_skip!(Err::<(), _>(skip));
    panic!("or_skip! did not return");
}

/// Runs `child_reports_a_skip` in a child with `kind`, `ci` and the log at `log`.
fn child(kind: &str, ci: Option<&str>, log: &Path) -> inuse_testkit::Captured {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(["--ignored", "--exact", "child_reports_a_skip"])
        .env("INUSE_TESTKIT_CHILD_KIND", kind)
        .env("INUSE_SKIP_LOG", log)
        .env_remove("CI");
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    run_bounded(&mut cmd, Duration::from_secs(60)).expect("run the child test")
}

#[test]
fn a_skip_is_seen_past_the_capture_and_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("skips.log");
    let out = child("tool", None, &log);
    assert!(out.success(), "{out:?}");
    assert!(out.stdout.contains("1 passed"), "{out:?}");
    assert!(
        !out.stderr.contains("captured control line"),
        "capture is off: {out:?}"
    );
    assert!(
        out.stderr
            .contains("SKIPPED: child_reports_a_skip: probe: tool absent\n"),
        "{out:?}"
    );
    let logged = std::fs::read_to_string(&log).expect("the skip log");
    assert_eq!(
        logged,
        "inuse-testkit/skip: child_reports_a_skip: probe: tool absent\n"
    );
}

#[test]
fn a_tool_skip_stays_a_skip_under_ci() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("skips.log");
    let out = child("tool", Some("true"), &log);
    assert!(out.success(), "{out:?}");
    assert!(
        out.stderr.contains("SKIPPED: child_reports_a_skip"),
        "{out:?}"
    );
    assert!(log.exists());
}

#[test]
fn missing_data_is_a_skip_outside_ci() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("skips.log");
    let out = child("data", None, &log);
    assert!(out.success(), "{out:?}");
    let logged = std::fs::read_to_string(&log).expect("the skip log");
    assert_eq!(
        logged,
        "inuse-testkit/skip: child_reports_a_skip: probe: shared data absent\n"
    );
}

#[test]
fn missing_data_fails_under_ci() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("skips.log");
    let out = child("data", Some("true"), &log);
    assert_eq!(out.code, Some(101), "{out:?}");
    assert!(out.stdout.contains("1 failed"), "{out:?}");
    assert!(
        out.stdout
            .contains("shared test data is missing under CI=true"),
        "{out:?}"
    );
    assert!(!log.exists(), "a failure is not a skip");
}
