//! Running the `inuse` binary under test and decoding `inuse deps --format json`.
//!
//! The decoded types mirror the documented JSON contract field by field, so a renamed or
//! missing field fails the test with serde's message instead of a confusing `null`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

use crate::process::{Captured, run_bounded};

/// The default bound on one run of inuse. Generous for a debug build on a loaded machine,
/// short enough that a hang fails instead of stalling.
pub const INUSE_TIMEOUT: Duration = Duration::from_secs(120);

/// The result of one run of `inuse`.
#[derive(Debug, Clone)]
pub struct InuseOutput {
    /// The exit code; `None` if killed by a signal (a crash, or our timeout).
    pub code: Option<i32>,
    /// stdout, lossily decoded.
    pub stdout: String,
    /// stderr, lossily decoded.
    pub stderr: String,
    /// Whether it was killed for exceeding the time bound.
    pub timed_out: bool,
    /// How long it ran.
    pub elapsed: Duration,
    /// The command line, for messages.
    pub command: String,
}

impl InuseOutput {
    fn from_captured(c: Captured, command: String) -> InuseOutput {
        InuseOutput {
            code: c.code,
            stdout: c.stdout,
            stderr: c.stderr,
            timed_out: c.timed_out,
            elapsed: c.elapsed,
            command,
        }
    }

    /// A summary for assertion messages: command, exit code, stdout and stderr.
    pub fn describe(&self) -> String {
        format!(
            "$ {}\n[exit {:?}{}]\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.code,
            if self.timed_out { ", TIMED OUT" } else { "" },
            self.stdout,
            self.stderr
        )
    }
}

/// The inuse binary under test (tests pass `env!("CARGO_BIN_EXE_inuse")`).
#[derive(Debug, Clone)]
pub struct Inuse {
    bin: PathBuf,
    timeout: Duration,
}

impl Inuse {
    /// The binary at `bin`.
    pub fn new(bin: impl AsRef<Path>) -> Inuse {
        Inuse {
            bin: bin.as_ref().to_path_buf(),
            timeout: INUSE_TIMEOUT,
        }
    }

    /// Changes the time bound of each run.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Inuse {
        self.timeout = timeout;
        self
    }

    /// Runs `inuse ARGS` with `LD_LIBRARY_PATH` and `LD_PRELOAD` removed from its
    /// environment (cargo sets the former; inuse must only honour `--ld-library-path`), and
    /// `NO_COLOR` set.
    ///
    /// # Panics
    ///
    /// When the binary cannot be started.
    pub fn run<I, S>(&self, args: I) -> InuseOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LD_PRELOAD")
            .env("NO_COLOR", "1");
        let shown = format!("{cmd:?}");
        match run_bounded(&mut cmd, self.timeout) {
            Ok(c) => InuseOutput::from_captured(c, shown),
            Err(e) => panic!("cannot run {shown}: {e}"),
        }
    }

    /// Runs `inuse deps --format json EXTRA... PATHS...` and decodes stdout.
    ///
    /// # Panics
    ///
    /// When inuse crashes, times out, exits with a code outside 0..=3, or prints something
    /// that is not a JSON document of the documented shape; the message shows the run.
    pub fn deps_json<P, A>(&self, paths: &[P], extra_args: &[A]) -> (InuseOutput, DepsReport)
    where
        P: AsRef<OsStr>,
        A: AsRef<OsStr>,
    {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("deps"),
            OsStr::new("--format"),
            OsStr::new("json"),
        ];
        args.extend(extra_args.iter().map(AsRef::as_ref));
        args.extend(paths.iter().map(AsRef::as_ref));
        let out = self.run(&args);
        assert!(
            matches!(out.code, Some(0..=3)),
            "inuse deps ended abnormally:\n{}",
            out.describe()
        );
        let report: DepsReport = match serde_json::from_str(&out.stdout) {
            Ok(r) => r,
            Err(e) => panic!(
                "inuse deps --format json printed no valid report ({e}):\n{}",
                out.describe()
            ),
        };
        (out, report)
    }
}

/// `inuse deps --format json`, as documented.
#[derive(Debug, Clone, Deserialize)]
pub struct DepsReport {
    /// The root analysed (`/` without `--root`).
    pub root: PathBuf,
    /// One entry per input file, in input order (directories expand with `-r`).
    pub objects: Vec<DepsObject>,
}

impl DepsReport {
    /// The object whose `path` is `path`.
    ///
    /// # Panics
    ///
    /// When there is none, listing the paths there are.
    pub fn object(&self, path: impl AsRef<Path>) -> &DepsObject {
        let path = path.as_ref();
        match self.objects.iter().find(|o| o.path == path) {
            Some(o) => o,
            None => panic!(
                "no object {} in the report; objects: {:?}",
                path.display(),
                self.objects.iter().map(|o| &o.path).collect::<Vec<_>>()
            ),
        }
    }
}

/// One analysed input file.
#[derive(Debug, Clone, Deserialize)]
pub struct DepsObject {
    /// The input path (inside the root).
    pub path: PathBuf,
    /// `executable`, `shared-library`, `static`, `not-dynamic` or `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `PT_INTERP`, if any.
    pub interpreter: Option<String>,
    /// `glibc`, `musl` or `none`. Decoded leniently (`null` accepted) so that a test can
    /// assert the contract with a message naming the object.
    pub libc: Option<String>,
    /// Every object the loader maps besides the input, in load order.
    pub libraries: Vec<DepsLibrary>,
    /// Names that could not be resolved.
    pub missing: Vec<DepsMissing>,
    /// Dependency chains from `--why`.
    #[serde(default)]
    pub why: Vec<Vec<String>>,
    /// Number of libraries (`--count`).
    #[serde(default)]
    pub count: Option<u64>,
    /// Why the input could not be analysed.
    pub error: Option<String>,
}

impl DepsObject {
    /// The library named `name`.
    pub fn library(&self, name: &str) -> Option<&DepsLibrary> {
        self.libraries.iter().find(|l| l.name == name)
    }

    /// Realpaths of all libraries, in load order.
    pub fn realpaths(&self) -> Vec<&Path> {
        self.libraries
            .iter()
            .map(|l| l.realpath.as_path())
            .collect()
    }

    /// Names of missing libraries.
    pub fn missing_names(&self) -> Vec<&str> {
        self.missing.iter().map(|m| m.name.as_str()).collect()
    }
}

/// One resolved library.
#[derive(Debug, Clone, Deserialize)]
pub struct DepsLibrary {
    /// The name asked for (`DT_NEEDED`, `PT_INTERP`, a preload).
    pub name: String,
    /// The path the loader opens (inside the root).
    pub path: PathBuf,
    /// `path` with symlinks resolved inside the root.
    pub realpath: PathBuf,
    /// `rpath`, `ld_library_path`, `runpath`, `ld.so.cache`, `default`, `interpreter`,
    /// `preload` or `direct`.
    pub found_via: String,
    /// The objects whose `DT_NEEDED` asked for it.
    pub needed_by: Vec<PathBuf>,
    /// Distance from the input (1 = direct dependency).
    pub depth: u64,
}

/// One library that could not be resolved.
#[derive(Debug, Clone, Deserialize)]
pub struct DepsMissing {
    /// The name asked for.
    pub name: String,
    /// The objects that needed it.
    pub needed_by: Vec<PathBuf>,
    /// Why a candidate was rejected fatally (`invalid ELF header: /path`), if it was.
    pub error: Option<String>,
}

/// The process with `pid` in an `inuse ps --format json` document; panics (naming the pid and
/// showing the document) when it is missing.
pub fn ps_process(doc: &serde_json::Value, pid: u32) -> &serde_json::Value {
    doc["processes"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["pid"] == pid))
        .unwrap_or_else(|| panic!("pid {pid} not in {doc:#}"))
}

/// The mapped object of a `ps` process whose path is `name`, or else the first whose file
/// name starts with `name` (`"libz.so"` finds `/usr/lib/x86_64-linux-gnu/libz.so.1.2.13`);
/// panics when there is none.
pub fn ps_object<'a>(process: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    process["objects"]
        .as_array()
        .and_then(|objects| {
            objects.iter().find(|o| {
                let path = o["path"].as_str().unwrap_or_default();
                path == name
                    || std::path::Path::new(path)
                        .file_name()
                        .is_some_and(|f| f.to_string_lossy().starts_with(name))
            })
        })
        .unwrap_or_else(|| panic!("no object {name} in {process:#}"))
}
