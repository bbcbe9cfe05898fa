//! The JSON documents of `inuse inventory`, `inuse owner`, `inuse unused` and `inuse trace`, as
//! types.
//!
//! Their field names and order are a contract (docs/commands.md), so they are written down
//! once, here with the other renderers, rather than assembled as `json!` trees inside the
//! commands. The commands fill them with borrowed data and serialise them; nothing here reads
//! a file. Where a document carries another crate's records as they are (the inventory's
//! packages, a trace's package owner), their types are parameters: this crate does not depend
//! on the collectors.

use std::path::Path;

use inuse_model::Note;
use serde::Serialize;

/// `inuse inventory --format json`, over the package database crate's own records.
#[derive(Debug, Serialize)]
pub struct InventoryDocument<'a, Distro, Package, Absent, Problem> {
    /// The version of the vocabulary's JSON ([`inuse_model::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The root as the user named it.
    pub root: &'a Path,
    /// The distribution, from os-release; `null` when unknown.
    pub distro: Option<&'a Distro>,
    /// The installed packages, then those embedded in ELF files.
    pub packages: &'a [Package],
    /// Packages the database lists in a state other than installed.
    pub not_installed: &'a [Absent],
    /// ELF files no package owns.
    pub unowned_elf: &'a [&'a Path],
    /// What could not be read.
    pub problems: &'a [Problem],
    /// What the reader must know besides (no package database, ...).
    pub notes: &'a [Note],
}

/// `inuse owner --format json`: one row per path asked about, in the order given.
#[derive(Debug, Serialize)]
pub struct OwnerDocument<'a> {
    /// The rows.
    pub owners: Vec<OwnerRow<'a>>,
}

/// Who owns one path.
#[derive(Debug, Serialize)]
pub struct OwnerRow<'a> {
    /// The path as given.
    pub path: &'a Path,
    /// The first owner, `null` when none.
    pub package: Option<OwnerPackage<'a>>,
    /// Every owner's name (several packages may share a directory or a diverted file).
    pub all_owners: Vec<&'a str>,
    /// Why the path could not be looked up (it does not exist), `null` otherwise.
    pub error: Option<String>,
}

/// The owning package of a path.
#[derive(Debug, Serialize)]
pub struct OwnerPackage<'a> {
    /// Package name.
    pub name: &'a str,
    /// Version.
    pub version: &'a str,
    /// Architecture.
    pub arch: &'a str,
    /// Package manager (`dpkg`, `rpm`, `apk`, ...).
    pub manager: &'a str,
    /// Package URL.
    pub purl: &'a str,
}

/// `inuse unused --format json`.
#[derive(Debug, Serialize)]
pub struct UnusedDocument<'a> {
    /// The root analysed.
    pub root: String,
    /// Packages never seen loaded, riskiest first.
    pub packages: Vec<UnusedPackageRow<'a>>,
    /// Libraries an executable links but takes no symbol from.
    pub unused_links: Vec<UnusedLinkRow<'a>>,
    /// Libraries `inuse trace` probed in which no function was entered.
    pub traced_not_entered: Vec<TracedNotEnteredRow<'a>>,
    /// Libraries loaded but never executed beyond initialisation.
    pub idle_loaded: Vec<IdleLoadedRow<'a>>,
}

/// A package never seen loaded.
#[derive(Debug, Serialize)]
pub struct UnusedPackageRow<'a> {
    /// Package name.
    pub name: &'a str,
    /// Version (`null` if the package is unknown).
    pub version: Option<&'a str>,
    /// The strongest evidence it has: `linked` or `installed`.
    pub evidence: &'a str,
    /// Known vulnerabilities.
    pub vulnerabilities: usize,
    /// Installed size in bytes, when the database records it.
    pub installed_size: Option<u64>,
    /// Executables that link it.
    pub linked_by: &'a [String],
}

/// A `DT_NEEDED` library from which its executable takes no symbol.
#[derive(Debug, Serialize)]
pub struct UnusedLinkRow<'a> {
    /// The executable.
    pub executable: &'a str,
    /// The `DT_NEEDED` name.
    pub library: &'a str,
    /// Where the loader finds it.
    pub path: &'a str,
}

/// A library probed by `inuse trace` in which no function was ever entered.
#[derive(Debug, Serialize)]
pub struct TracedNotEnteredRow<'a> {
    /// The library.
    pub path: &'a str,
    /// Its package, when known.
    pub package: Option<&'a str>,
    /// How many functions were probed.
    pub functions_probed: i64,
}

/// A library loaded by live processes, never executed beyond initialisation.
#[derive(Debug, Serialize)]
pub struct IdleLoadedRow<'a> {
    /// Package name.
    pub package: &'a str,
    /// The package's files that are mapped.
    pub files: &'a [String],
    /// The processes that map them.
    pub processes: Vec<ProcessRow<'a>>,
}

/// A process, as `inuse unused` names it.
#[derive(Debug, Serialize)]
pub struct ProcessRow<'a> {
    /// Process id.
    pub pid: u32,
    /// Executable (or command name).
    pub exe: &'a str,
}

/// `inuse trace --format json`.
#[derive(Debug, Serialize)]
pub struct TraceDocument<'a, P: Serialize> {
    /// When the probes were in place.
    pub window: TraceWindow,
    /// The tracefs probe group of the run.
    pub group: &'a str,
    /// One entry per library traced.
    pub libraries: Vec<TracedLibraryRow<'a, P>>,
}

/// The interval a trace covered, RFC 3339 with milliseconds.
#[derive(Debug, Serialize)]
pub struct TraceWindow {
    /// When the probes were attached.
    pub start: String,
    /// When they were removed.
    pub end: String,
}

/// What a trace saw of one library.
#[derive(Debug, Serialize)]
pub struct TracedLibraryRow<'a, P: Serialize> {
    /// The library's real path.
    pub path: &'a Path,
    /// Its package (`inuse-trace`'s owner record), `null` when unowned.
    pub package: Option<&'a P>,
    /// Functions found in its symbol tables.
    pub functions_total: usize,
    /// Functions a probe was placed on.
    pub functions_probed: usize,
    /// Whether a full symbol table was read (not only the dynamic one).
    pub symtab: bool,
    /// The functions entered, first hit first.
    pub functions_hit: Vec<FunctionHitRow<'a>>,
    /// Functions found but not probed (left out when there are none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functions_unprobed: Option<Vec<&'a str>>,
    /// The vulnerabilities that made `--loaded-vulnerable` choose it (left out otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<&'a [String]>,
    /// The processes seen entering its functions (left out when none was recorded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entered_by: Vec<ProcessHitRow<'a>>,
}

/// A process seen entering a traced function.
#[derive(Debug, Serialize)]
pub struct ProcessHitRow<'a> {
    /// Process id.
    pub pid: u32,
    /// Its executable, when it was still running when the hit was read.
    pub exe: Option<&'a str>,
}

/// A function entered during a trace.
#[derive(Debug, Serialize)]
pub struct FunctionHitRow<'a> {
    /// Its symbol.
    pub name: &'a str,
    /// When it was first entered, RFC 3339 with milliseconds.
    pub first_hit: Option<String>,
    /// Other symbols at the same address (left out when there are none).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub aliases: &'a [String],
    /// The process recorded entering it first (left out when not recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_by: Option<ProcessHitRow<'a>>,
}
