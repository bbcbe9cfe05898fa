//! Function-level evidence: which functions of a library were really entered, measured with
//! kernel uprobes through tracefs.
//!
//! The runtime tier below this one (`inuse-runtime`) can say that a library was mapped and
//! that some of its code pages became resident. That is not enough to say "the vulnerable
//! function never ran": a page holds many functions. A uprobe at the entry of every defined
//! function answers exactly that, for every process on the host at once, in every mount
//! namespace (a uprobe is attached to the file's inode, not to a path or a process).
//!
//! The cost is what makes uprobes usable in production or not: each hit is a trap into the
//! kernel. So probes here are *one-shot*: [`Session::poll`] reads the hit counters
//! (`uprobe_profile`) and removes every probe that has fired, so a hot function pays a handful
//! of traps, once, and the overhead of a run falls to zero as coverage settles. Hits are
//! counted, and recorded only in a private tracefs instance's small buffer (which process
//! entered which function), so neither the global buffer nor any other tool's view is
//! touched.
//!
//! Cleanup is part of the design, not an afterthought: kernel probes outlive the process that
//! placed them. A [`Session`] removes its group on every exit path it controls (drop included,
//! so errors and panics clean up); a run killed with `SIGKILL` leaves a group whose name
//! (`inuse_<pid>`) names a pid that is no longer an inuse process, which
//! [`remove_stale_groups`] deletes at the next start. Groups of other tools are never
//! touched: only groups named `inuse_<digits>` are ever written.
//!
//! Layout:
//!
//! - [`functions`]: the probe targets of an ELF file (defined function symbols, deduplicated
//!   by address, converted to file offsets through `PT_LOAD`);
//! - [`events`]: the text formats of `uprobe_events` and `uprobe_profile`, pure and tested;
//! - [`tracefs`]: finding or mounting tracefs, and unmounting only what we mounted;
//! - [`session`]: one run: place, enable, poll, remove;
//! - [`select`]: which libraries to trace (by package, or loaded and vulnerable);
//! - [`store`]: the results in the observation store of `inuse-runtime`;
//! - [`time`]: RFC 3339 timestamps.

pub mod events;
pub mod functions;
pub mod select;
pub mod session;
pub mod store;
pub mod tracefs;

use std::path::PathBuf;

pub use functions::{Function, LibraryFunctions};
pub use session::{FunctionResult, HitProcess, LibraryResult, Session, remove_stale_groups};
pub use tracefs::Tracefs;

/// Why tracing could not be done (or finished cleanly).
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Not running as root: tracefs and uprobes need `CAP_SYS_ADMIN` (and more).
    #[error("uprobes need root: run inuse trace as root")]
    NotRoot,
    /// No tracefs is mounted and mounting one failed.
    #[error("tracefs is not available and cannot be mounted at {dir}: {error}")]
    NoTracefs {
        /// Where mounting was tried.
        dir: PathBuf,
        /// Why it failed.
        error: std::io::Error,
    },
    /// tracefs exists, but the kernel has no uprobe events (`CONFIG_UPROBE_EVENTS`).
    #[error("this kernel has no uprobe support: {0} is missing (CONFIG_UPROBE_EVENTS)")]
    NoUprobes(PathBuf),
    /// A file could not be read or written. (The error is part of the message, not a
    /// `source`, so that chains do not print it twice.)
    #[error("{what}: {error}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The error.
        error: std::io::Error,
    },
    /// A library is not a usable ELF file.
    #[error("{path}: {error}")]
    Elf {
        /// The library.
        path: PathBuf,
        /// The parser's error.
        error: inuse_elf::ElfError,
    },
    /// A library path cannot be written into `uprobe_events` (whitespace or control
    /// characters would be parsed as separators).
    #[error(
        "{0}: the path contains whitespace or control characters, which uprobe_events cannot take"
    )]
    UnprobeablePath(PathBuf),
    /// The run would exceed `--max-probes`.
    #[error("{path}: {needed} more probes would exceed the limit of {limit}")]
    TooManyProbes {
        /// The library that did not fit.
        path: PathBuf,
        /// Its functions.
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// The observation store failed.
    #[error(transparent)]
    Store(#[from] inuse_runtime::store::StoreError),
    /// The vulnerability database failed.
    #[error(transparent)]
    Vulnerabilities(#[from] inuse_osv::StoreError),
    /// SQLite failed on the tables this crate owns.
    #[error("observation store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl TraceError {
    pub(crate) fn io(what: impl Into<String>, error: std::io::Error) -> TraceError {
        TraceError::Io {
            what: what.into(),
            error,
        }
    }
}

/// Refuses early, with [`TraceError::NotRoot`], when the effective user is not root.
pub fn check_privileges() -> Result<(), TraceError> {
    if rustix::process::geteuid().is_root() {
        Ok(())
    } else {
        Err(TraceError::NotRoot)
    }
}
