//! The package managers' own query tools as oracles: `dpkg-query --admindir` and
//! `rpm --dbpath`.
//!
//! inuse reads package databases itself; the convincing check of that is to ask the tool that
//! owns the format to read the same bytes. These helpers run the *host's* `dpkg-query` and
//! `rpm` over a database directory and parse what they print. Nothing inside the analysed
//! root is executed: the tools are the host's, only their data directory points elsewhere.
//!
//! Each answer is a [`Verdict`]: the tool either lists the database (with the warnings it
//! printed, which matter: dpkg warns about a version it still keeps) or refuses it as a whole
//! (dpkg stops at the first hard parse error of `status`; rpm cannot open a corrupt or
//! unknown database), and a test must then compare with something else.
//!
//! `rpm` is never pointed at shared data in place: it creates `-shm`/`-wal` files beside a
//! SQLite database, and a fresh empty database where it finds none it can read (an NDB
//! `Packages.db`, for Debian's rpm 4.18 has no NDB backend). [`rpm_query_all`] copies the file
//! into a private directory first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{Skip, require_tool, run_bounded};

const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// What a package manager's tool made of a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<T> {
    /// The tool read the database.
    Listed {
        /// What it listed.
        rows: T,
        /// What it printed on stderr (warnings), verbatim.
        warnings: String,
    },
    /// The tool refused the whole database; its stderr says why.
    Refused(String),
}

impl<T> Verdict<T> {
    /// The rows, when the tool read the database.
    pub fn rows(&self) -> Option<&T> {
        match self {
            Verdict::Listed { rows, .. } => Some(rows),
            Verdict::Refused(_) => None,
        }
    }
}

/// One package as `dpkg-query -W` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DpkgRow {
    /// `${Package}`.
    pub name: String,
    /// `${Version}`.
    pub version: String,
    /// `${Architecture}` (empty when the stanza has none).
    pub arch: String,
    /// `${source:Package}` (the package's own name when there is no `Source`).
    pub source_name: String,
    /// `${source:Version}` (the package's version when `Source` carries none).
    pub source_version: String,
    /// `${db:Status-Status}`: `installed`, `config-files`, `half-installed`, ...
    pub status: String,
}

/// `dpkg-query --admindir ADMINDIR -W`: every package dpkg knows in a state other than
/// `not-installed`.
pub fn dpkg_query_list(admindir: &Path) -> Result<Verdict<Vec<DpkgRow>>, Skip> {
    let format = "${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t\
                  ${source:Version}\\t${db:Status-Status}\\n";
    Ok(match dpkg_query_show(admindir, format)? {
        Verdict::Refused(why) => Verdict::Refused(why),
        Verdict::Listed { rows, warnings } => Verdict::Listed {
            rows: rows
                .iter()
                .map(|line| {
                    let f: Vec<&str> = line.split('\t').collect();
                    assert_eq!(f.len(), 6, "dpkg-query printed {line:?}");
                    DpkgRow {
                        name: f[0].to_owned(),
                        version: f[1].to_owned(),
                        arch: f[2].to_owned(),
                        source_name: f[3].to_owned(),
                        source_version: f[4].to_owned(),
                        status: f[5].to_owned(),
                    }
                })
                .collect(),
            warnings,
        },
    })
}

/// `dpkg-query --admindir ADMINDIR -W -f FORMAT`: one row per output line.
pub fn dpkg_query_show(admindir: &Path, format: &str) -> Result<Verdict<Vec<String>>, Skip> {
    let tool = require_tool("dpkg-query")?;
    let out = run_bounded(
        Command::new(tool)
            .arg("--admindir")
            .arg(admindir)
            .args(["-W", "-f", format])
            .env("LC_ALL", "C"),
        TOOL_TIMEOUT,
    )
    .map_err(|e| Skip::new(format!("cannot run dpkg-query: {e}")))?;
    assert!(!out.timed_out, "dpkg-query timed out");
    if !out.success() {
        return Ok(Verdict::Refused(out.stderr));
    }
    Ok(Verdict::Listed {
        rows: out.stdout.lines().map(str::to_owned).collect(),
        warnings: out.stderr,
    })
}

/// The names of the packages a `dpkg-query` warning is about (`... package 'NAME':` followed
/// by a line naming `field`), for each warning about that field.
pub fn dpkg_warned_packages(warnings: &str, field: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut package = None;
    for line in warnings.lines() {
        if let Some(rest) = line.strip_prefix("dpkg-query: warning: ") {
            package = rest
                .split_once(" package '")
                .and_then(|(_, p)| p.split_once('\''))
                .map(|(p, _)| p.to_owned());
        } else if line.trim_start().starts_with(&format!("'{field}' field"))
            && let Some(p) = package.take()
        {
            out.insert(p);
        }
    }
    out
}

/// Escapes `dpkg-query -S`'s glob characters, so that a path is matched literally.
pub fn dpkg_literal(path: &str) -> String {
    let mut e = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            e.push('\\');
        }
        e.push(c);
    }
    e
}

/// `dpkg-query --admindir ADMINDIR -S PATTERN...`: every listed path a pattern matches, with
/// the names of the packages that list it (architecture qualifiers dropped). Patterns are
/// dpkg's globs (use [`dpkg_literal`] for an exact path). Diversion lines are left out: dpkg
/// answers for the listed name, the caller applies diversions.
pub fn dpkg_query_search(
    admindir: &Path,
    patterns: &[String],
) -> Result<BTreeMap<String, BTreeSet<String>>, Skip> {
    let tool = require_tool("dpkg-query")?;
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for chunk in patterns.chunks(1000) {
        let out = run_bounded(
            Command::new(&tool)
                .arg("--admindir")
                .arg(admindir)
                .arg("-S")
                .args(chunk)
                .env("LC_ALL", "C"),
            TOOL_TIMEOUT,
        )
        .map_err(|e| Skip::new(format!("cannot run dpkg-query: {e}")))?;
        assert!(!out.timed_out, "dpkg-query -S timed out");
        // 1: some pattern matched nothing, which is an answer too.
        assert!(
            matches!(out.code, Some(0 | 1)),
            "dpkg-query -S failed: {}",
            out.stderr
        );
        for line in out.stdout.lines() {
            if line.starts_with("diversion by ") {
                continue;
            }
            let Some((pkgs, path)) = line.split_once(": ") else {
                continue;
            };
            let set = owners.entry(path.to_owned()).or_default();
            for p in pkgs.split(", ") {
                set.insert(p.split(':').next().unwrap_or(p).to_owned());
            }
        }
    }
    Ok(owners)
}

/// `dpkg-query --admindir ADMINDIR -L PACKAGE`: the paths the package's list names.
pub fn dpkg_query_files(admindir: &Path, package: &str) -> Result<Vec<String>, Skip> {
    let tool = require_tool("dpkg-query")?;
    let out = run_bounded(
        Command::new(tool)
            .arg("--admindir")
            .arg(admindir)
            .args(["-L", package])
            .env("LC_ALL", "C"),
        TOOL_TIMEOUT,
    )
    .map_err(|e| Skip::new(format!("cannot run dpkg-query: {e}")))?;
    assert!(
        out.success(),
        "dpkg-query -L {package} failed: {}",
        out.stderr
    );
    Ok(out
        .stdout
        .lines()
        .filter(|l| l.starts_with('/') && *l != "/.")
        .map(str::to_owned)
        .collect())
}

/// The query format of [`rpm_query_all`]: `NAME EPOCH VERSION RELEASE ARCH SOURCERPM`,
/// tab-separated, `(none)` for an absent tag.
pub const RPM_QA_FORMAT: &str =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n";

/// `rpm --dbpath DIR -qa --qf RPM_QA_FORMAT` over a private copy of `db`: see
/// [`rpm_query`].
pub fn rpm_query_all(db: &Path, name: &str) -> Result<Verdict<BTreeSet<String>>, Skip> {
    Ok(match rpm_query(db, name, RPM_QA_FORMAT)? {
        Verdict::Listed { rows, warnings } => Verdict::Listed {
            rows: rows.into_iter().collect(),
            warnings,
        },
        Verdict::Refused(why) => Verdict::Refused(why),
    })
}

/// `rpm --dbpath DIR -qa --qf FORMAT` over a private copy of `db`, named `name` in the
/// copy's directory (`rpmdb.sqlite`, `Packages`, `Packages.db`): rpm picks its backend by
/// that name. One row per output line. Refused when rpm exits non-zero or prints an `error:`
/// line (rpm 4.18 says `error: bdb_ro error reading Packages database` and still exits 0).
pub fn rpm_query(db: &Path, name: &str, format: &str) -> Result<Verdict<Vec<String>>, Skip> {
    let tool = require_tool("rpm")?;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(db, dir.path().join(name)).expect("copy the database");
    let out = run_bounded(
        Command::new(tool)
            .arg("--dbpath")
            .arg(dir.path())
            .args(["-qa", "--qf", format])
            .env("LC_ALL", "C"),
        TOOL_TIMEOUT,
    )
    .map_err(|e| Skip::new(format!("cannot run rpm: {e}")))?;
    assert!(!out.timed_out, "rpm -qa timed out");
    if !out.success() || out.stderr.lines().any(|l| l.starts_with("error:")) {
        return Ok(Verdict::Refused(out.stderr));
    }
    Ok(Verdict::Listed {
        rows: out.stdout.lines().map(str::to_owned).collect(),
        warnings: out.stderr,
    })
}
