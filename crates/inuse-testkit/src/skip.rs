//! Skips that cannot be mistaken for passes.
//!
//! A test that cannot run here (no root, a tool missing, the shared data absent) returns early,
//! and libtest counts it as passed. So that such a pass is never silent, a skip:
//!
//! - writes `SKIPPED: <test>: <reason>` to the process's real standard error. libtest captures
//!   the output of passing tests, but only what goes through the `print!`/`eprint!` macros:
//!   writing through [`std::io::Stderr`]'s `Write` impl goes straight to file descriptor 2, so
//!   the line shows in `cargo test`'s default output;
//! - appends one line `<package>/<binary>: <test>: <reason>` to the skip log (`$INUSE_SKIP_LOG`, else
//!   `<workspace>/target/inuse-skips.log`), which `.ci/run` clears before the suite and counts
//!   after it. Test binaries run in parallel, so each line is one `write(2)` on a file opened
//!   with `O_APPEND`: lines never interleave;
//! - fails instead when the reason is missing shared data ([`SkipKind::MissingData`]) and
//!   `CI=true`: CI always has `../shared/data`, so its absence there is a broken setup, not a
//!   reason to pass.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a test cannot run: decides whether the skip is allowed under `CI=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipKind {
    /// The machine lacks something the test needs (root, a tool, a kernel feature): a skip
    /// everywhere, CI included.
    Environment,
    /// The shared test data (`../shared/data` or `$INUSE_TESTDATA`, or a file in it) is
    /// missing: a skip on a developer's clone, a failure under `CI=true`.
    MissingData,
}

/// Why a test could not run here.
///
/// Never turned into a silent pass: see [`Skip::report`] and [`or_skip!`](crate::or_skip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    reason: String,
    kind: SkipKind,
}

impl Skip {
    /// A skip because the machine lacks a tool, a privilege or a kernel feature.
    pub fn new(reason: impl Into<String>) -> Skip {
        Skip {
            reason: reason.into(),
            kind: SkipKind::Environment,
        }
    }

    /// A skip because shared test data is missing: fails the test under `CI=true`.
    pub fn missing_data(reason: impl Into<String>) -> Skip {
        Skip {
            reason: reason.into(),
            kind: SkipKind::MissingData,
        }
    }

    /// The same skip for a part of a test: `<part>: <reason>`, of the same kind. For a test
    /// that runs what it can and skips the rest.
    #[must_use]
    pub fn context(self, part: impl fmt::Display) -> Skip {
        Skip {
            reason: format!("{part}: {}", self.reason),
            kind: self.kind,
        }
    }

    /// The reason, as printed after `SKIPPED: <test>:`.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Whether this skip is for a missing tool or for missing data.
    pub fn kind(&self) -> SkipKind {
        self.kind
    }

    /// Makes the skip visible: `SKIPPED: <test>: <reason>` on the real standard error and a
    /// line in the skip log. The test name is the current thread's name (libtest names each
    /// test's thread after the test).
    ///
    /// # Panics
    ///
    /// When the skip is for missing shared data and `CI=true`: the test fails.
    pub fn report(&self) {
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("<unnamed test>");
        let ci = std::env::var("CI").is_ok_and(|v| is_true(&v));
        let mut stderr = std::io::stderr().lock();
        if let Err(failure) = self.report_to(&mut stderr, &skip_log(), &binary_name(), test, ci) {
            drop(stderr);
            panic!("{failure}");
        }
    }

    /// [`Skip::report`] with its inputs explicit: writes the `SKIPPED:` line to `out` and
    /// appends to `log`, or, for missing data under CI, writes nothing and returns the failure.
    fn report_to(
        &self,
        out: &mut dyn Write,
        log: &Path,
        binary: &str,
        test: &str,
        ci: bool,
    ) -> Result<(), String> {
        let reason = one_line(&self.reason);
        if ci && self.kind == SkipKind::MissingData {
            return Err(format!(
                "{test}: shared test data is missing under CI=true (CI must have ../shared/data \
                 or $INUSE_TESTDATA): {reason}"
            ));
        }
        // One write_all of the whole line: stderr is unbuffered, so this is one write(2) and
        // the line is not cut by another test's output. Not `eprint!`: libtest captures that.
        let line = format!("SKIPPED: {test}: {reason}\n");
        let _ = out.write_all(line.as_bytes());
        if let Err(e) = append_line(log, &format!("{binary}: {test}: {reason}\n")) {
            let warn = format!(
                "SKIPPED: cannot append to the skip log {}: {e}\n",
                log.display()
            );
            let _ = out.write_all(warn.as_bytes());
        }
        Ok(())
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The skip log: `$INUSE_SKIP_LOG`, else `<workspace>/target/inuse-skips.log`.
pub fn skip_log() -> PathBuf {
    match std::env::var_os("INUSE_SKIP_LOG") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => crate::workspace_dir().join("target/inuse-skips.log"),
    }
}

/// Appends `line` in one `write(2)` to `log` opened with `O_APPEND` (creating it and its
/// folder), so that parallel test binaries never interleave their lines.
fn append_line(log: &Path, line: &str) -> std::io::Result<()> {
    if let Some(parent) = log.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    // A regular file takes the whole buffer in one write; write_all only loops on a short
    // write, which a local file system does not do for a line this size.
    file.write_all(line.as_bytes())
}

/// The test binary as `<package>/<binary>` (`inuse/trace`, `inuse-report/sbom`: two
/// packages may have a test binary of the same name), or `<package>` for its unit tests.
/// `cargo test` sets `CARGO_PKG_NAME` when it runs a test binary.
fn binary_name() -> String {
    let exe = std::env::current_exe().ok();
    let file = exe
        .as_deref()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("<test binary>");
    label(std::env::var("CARGO_PKG_NAME").ok().as_deref(), file)
}

/// [`binary_name`] from the package name and the executable's file name.
fn label(package: Option<&str>, file: &str) -> String {
    let binary = match file.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => file,
    };
    match package {
        Some(package) if package.replace('-', "_") == binary => package.to_owned(),
        Some(package) => format!("{package}/{binary}"),
        None => binary.to_owned(),
    }
}

/// `CI=true` as CI services set it (`1` too).
fn is_true(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value == "1"
}

/// A reason on one line, so that the log has exactly one line per skip.
fn one_line(reason: &str) -> String {
    reason
        .trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(log: &Path) -> Vec<String> {
        std::fs::read_to_string(log)
            .expect("read the log")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn an_environment_skip_is_logged_with_and_without_ci() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("sub/skips.log");
        let skip = Skip::new("`strace` is not installed");
        let mut out = Vec::new();
        assert_eq!(
            skip.report_to(&mut out, &log, "bin", "a_test", false),
            Ok(())
        );
        assert_eq!(
            skip.report_to(&mut out, &log, "bin", "b_test", true),
            Ok(())
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "SKIPPED: a_test: `strace` is not installed\n\
             SKIPPED: b_test: `strace` is not installed\n"
        );
        assert_eq!(
            lines(&log),
            [
                "bin: a_test: `strace` is not installed",
                "bin: b_test: `strace` is not installed"
            ]
        );
    }

    #[test]
    fn missing_data_is_a_skip_outside_ci_and_a_failure_under_ci() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("skips.log");
        let skip = Skip::missing_data("../shared/data does not exist");
        let mut out = Vec::new();
        assert_eq!(skip.report_to(&mut out, &log, "bin", "t", false), Ok(()));
        let failure = skip
            .report_to(&mut Vec::new(), &log, "bin", "t", true)
            .expect_err("missing data under CI must fail");
        assert!(
            failure.contains("CI=true") && failure.contains("../shared/data"),
            "{failure}"
        );
        // The failure is not counted as a skip.
        assert_eq!(lines(&log), ["bin: t: ../shared/data does not exist"]);
    }

    #[test]
    fn a_multi_line_reason_is_one_log_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("skips.log");
        Skip::new("first\n\n  second \n")
            .report_to(&mut Vec::new(), &log, "bin", "t", false)
            .expect("report");
        assert_eq!(lines(&log), ["bin: t: first / second"]);
    }

    #[test]
    fn parallel_writers_never_interleave_lines() {
        const THREADS: usize = 8;
        const EACH: usize = 200;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("skips.log");
        // Long reasons make a torn write visible as a line that does not parse back.
        let filler = "x".repeat(300);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (log, filler) = (&log, &filler);
                s.spawn(move || {
                    for i in 0..EACH {
                        Skip::new(format!("{t} {i} {filler}"))
                            .report_to(&mut Vec::new(), log, "bin", "t", false)
                            .expect("report");
                    }
                });
            }
        });
        let got = lines(&log);
        assert_eq!(got.len(), THREADS * EACH);
        let mut seen = std::collections::BTreeSet::new();
        for line in &got {
            let rest = line.strip_prefix("bin: t: ").expect("line prefix");
            let (ids, tail) = rest.rsplit_once(' ').expect("ids and filler");
            assert_eq!(tail, filler, "torn line: {line}");
            assert!(seen.insert(ids.to_owned()), "duplicate line: {line}");
        }
    }

    #[test]
    fn binaries_are_named_with_their_package_without_cargos_hash() {
        assert_eq!(
            label(Some("inuse"), "trace-0123456789abcdef"),
            "inuse/trace"
        );
        assert_eq!(
            label(Some("inuse-report"), "sbom-fedcba9876543210"),
            "inuse-report/sbom"
        );
        assert_eq!(
            label(Some("inuse-osv"), "inuse_osv-0123456789abcdef"),
            "inuse-osv"
        );
        assert_eq!(label(None, "trace-0123456789abcdef"), "trace");
        assert_eq!(label(None, "my-tool"), "my-tool");
        // This very binary, run by cargo test.
        assert_eq!(binary_name(), "inuse-testkit");
    }
}
