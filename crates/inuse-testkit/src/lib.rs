//! Test helpers for inuse, treated as first-class code.
//!
//! inuse emulates the dynamic loader without running anything, so its tests need three things
//! the standard library does not give: ELF fixtures with exactly the dynamic section a case
//! needs ([`CBuild`], [`Patchelf`]), small root filesystems to point `--root` at
//! ([`FakeRoot`]), and an independent source of truth to compare against ([`Oracle`], which
//! asks the host's real loader about fixtures *we built ourselves*). [`Inuse`] runs the CLI
//! under test with a time bound and decodes its JSON into [`DepsReport`].
//! [`dpkg_query_list`], [`dpkg_query_search`] and [`rpm_query`] ask the package managers'
//! own tools about a database: the oracle of the inventory tests.
//!
//! # Skips are loud
//!
//! A missing tool (`gcc`, `gcc -m32` multilib, `musl-gcc`, `patchelf`, a loader, root
//! privileges for `chroot`) is not a test failure, but it must never look like a pass either.
//! Helpers that need such a tool return `Result<_, Skip>`; tests unwrap them with
//! [`or_skip!`], which prints `SKIPPED: <test>: <reason>` past libtest's capture, logs it for
//! `.ci/run`'s count, and returns. Missing shared data ([`shared_data`], [`testdata_dir`]) is
//! a skip on a developer's clone but fails the test under `CI=true` (see [`Skip`]). Anything
//! else that goes wrong (a compiler error in a fixture, an unwritable tempdir) is a bug in the
//! test and panics with the command line and its output.
//!
//! The oracle runs the real loader. That is only ever done on fixtures compiled by these
//! helpers in a private tempdir, never on the files inuse is meant to analyse without running.

mod cbuild;
mod elf;
mod fakeroot;
mod inuse;
mod live;
mod oracle;
mod pkgtools;
mod process;
pub mod schema;
mod skip;
mod tracefs;

use std::path::{Path, PathBuf};

pub use cbuild::{CBuild, Patchelf};
pub use elf::ElfFacts;
pub use fakeroot::FakeRoot;
pub use inuse::{
    DepsLibrary, DepsMissing, DepsObject, DepsReport, Inuse, InuseOutput, ps_object, ps_process,
};
pub use live::{LiveProcess, clean_command, free_tcp_port};
pub use oracle::{Listing, ListingKind, Loaded, Oracle, compare, parse_listing};
pub use pkgtools::{
    DpkgRow, RPM_QA_FORMAT, Verdict, dpkg_literal, dpkg_query_files, dpkg_query_list,
    dpkg_query_search, dpkg_query_show, dpkg_warned_packages, rpm_query, rpm_query_all,
};
pub use process::{Captured, run_bounded};
pub use skip::{Skip, SkipKind, skip_log};
pub use tracefs::TracefsMount;

/// Unwraps a `Result<T, Skip>`; on `Err` reports the skip loudly and returns from the
/// enclosing test function (which must return `()`).
///
/// ```ignore
/// let exe = or_skip!(CBuild::new(dir).source("int main(void){return 0;}").m32().build());
/// ```
#[macro_export]
macro_rules! or_skip {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(skip) => {
                $crate::Skip::report(&skip);
                return;
            }
        }
    };
}

/// Finds an executable named `name` on `PATH`, or returns a [`Skip`] naming it.
pub fn require_tool(name: &str) -> Result<PathBuf, Skip> {
    find_on_path(name).ok_or_else(|| Skip::new(format!("`{name}` is not installed (not on PATH)")))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Returns a [`Skip`] unless the tests run as root (needed by `chroot` and `ldconfig -r`).
pub fn require_root() -> Result<(), Skip> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| Skip::new(format!("cannot read /proc/self/status: {e}")))?;
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    if euid == Some("0") {
        Ok(())
    } else {
        Err(Skip::new("needs root (chroot / ldconfig -r)"))
    }
}

/// Where the shared test data lives: `$INUSE_TESTDATA`, else `<workspace>/../shared/data`.
///
/// Returns a [`Skip::missing_data`] (a failure under `CI=true`) when the directory does not
/// exist.
pub fn testdata_dir() -> Result<PathBuf, Skip> {
    let dir = match std::env::var_os("INUSE_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_dir().join("../shared/data"),
    };
    if dir.is_dir() {
        Ok(std::fs::canonicalize(&dir).unwrap_or(dir))
    } else {
        Err(Skip::missing_data(format!(
            "test data directory {} does not exist (set INUSE_TESTDATA)",
            dir.display()
        )))
    }
}

/// The path of `rel` (a file or a folder) inside the shared test data.
///
/// Returns a [`Skip::missing_data`] (a failure under `CI=true`) when the data directory or
/// `rel` inside it does not exist.
pub fn shared_data(rel: impl AsRef<Path>) -> Result<PathBuf, Skip> {
    let path = testdata_dir()?.join(rel);
    if path.exists() {
        Ok(path)
    } else {
        Err(Skip::missing_data(format!(
            "{} is missing from the shared test data",
            path.display()
        )))
    }
}

/// The workspace root (the parent of `crates/`), derived from this crate's manifest directory.
pub fn workspace_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}
