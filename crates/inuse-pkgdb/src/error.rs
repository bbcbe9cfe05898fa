//! The crate's error type: what can go wrong reading one database file.
//!
//! Loaders turn these into [`crate::Problem`]s and carry on, so a single unreadable database
//! never hides the others.

use std::io;
use std::path::PathBuf;

/// A failure to read one package database (or one record in it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// In-root path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A dpkg or apk stanza is malformed.
    #[error("line {line}: {message}")]
    Stanza {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: &'static str,
    },
    /// An rpm header blob is malformed.
    #[error("rpm header: {0}")]
    Header(#[from] crate::rpm::HeaderError),
    /// A Berkeley DB or NDB database file is malformed.
    #[error("{place}: {message}")]
    Db {
        /// Where (`page 7`, `slot 3`, `offset 0x1000`).
        place: String,
        /// What is wrong.
        message: &'static str,
    },
    /// SQLite refused the database.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
