//! The vulnerability store: one SQLite file holding OSV records and an index for matching.
//!
//! Why SQLite: one file that is easy to copy to an offline host, atomic transactions (an
//! interrupted import must lose nothing that was there), and an index that turns matching a
//! whole system into one lookup per installed package. The raw record JSON is kept as it was
//! imported (so nothing the validator does not yet understand is lost, and records can be
//! re-validated by a newer inuse), next to normalized rows:
//!
//! - `record(id, modified_us, modified, withdrawn, source, json)`: one row per record id; a
//!   record is replaced only by a copy with a newer `modified`, so imports are idempotent and
//!   order-independent.
//! - `affected(ecosystem, package, record_id, entry)`, indexed on `(ecosystem, package)`: one
//!   row per affected entry of every record that is not withdrawn, `entry` being the entry's
//!   ranges and versions as compact JSON: everything matching needs without reading the record.
//! - `source(ecosystem, url, etag, last_modified, checked_at, updated_at)`: what `db update`
//!   downloaded, for conditional requests.
//! - `meta(key, value)`: `last_import`.
//!
//! The schema is versioned with `PRAGMA user_version` and migrated forward on open; a store
//! written by a newer inuse is refused rather than misread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::model::{Range, Record};

/// Schema migrations; entry `i` takes `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE record (
        id TEXT PRIMARY KEY NOT NULL,
        modified_us INTEGER NOT NULL,
        modified TEXT NOT NULL,
        withdrawn INTEGER NOT NULL,
        source TEXT NOT NULL,
        json BLOB NOT NULL
    );
    CREATE TABLE affected (
        ecosystem TEXT NOT NULL,
        package TEXT NOT NULL,
        record_id TEXT NOT NULL,
        entry TEXT NOT NULL
    );
    CREATE INDEX affected_by_package ON affected(ecosystem, package);
    CREATE INDEX affected_by_record ON affected(record_id);
    CREATE TABLE source (
        ecosystem TEXT PRIMARY KEY NOT NULL,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        checked_at INTEGER NOT NULL,
        updated_at INTEGER
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The store does not exist (read-only open).
    #[error(
        "{0}: no vulnerability database here; create it with `inuse db import` or `inuse db update`"
    )]
    Missing(PathBuf),
    /// The store was written by a newer inuse.
    #[error(
        "{path}: schema version {found} is newer than this inuse understands ({SCHEMA_VERSION})"
    )]
    TooNew {
        /// The store file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
    },
    /// The directory of the store could not be created.
    #[error("{path}: cannot create directory: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What is stored per affected entry: everything matching needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEntry {
    /// Ranges of the entry.
    #[serde(default, rename = "r", skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicit versions of the entry.
    #[serde(default, rename = "v", skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// What happened to one record offered to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// It was not there.
    Added,
    /// An older copy was replaced.
    Replaced,
    /// The stored copy is as new or newer: nothing changed.
    Unchanged,
}

/// Conditional-request state of one downloaded ecosystem archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceState {
    /// Ecosystem (archive) name.
    pub ecosystem: String,
    /// URL it was downloaded from.
    pub url: String,
    /// `ETag` of the last download.
    pub etag: Option<String>,
    /// `Last-Modified` of the last download.
    pub last_modified: Option<String>,
    /// When the server was last asked (Unix seconds).
    pub checked_at: i64,
    /// When the archive last changed the store (Unix seconds).
    pub updated_at: Option<i64>,
}

/// Summary of the store for `inuse db status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The store file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Schema version.
    pub schema_version: i64,
    /// Number of records.
    pub records: u64,
    /// Number of withdrawn records.
    pub withdrawn: u64,
    /// Records per ecosystem (a record affecting several counts in each).
    pub ecosystems: BTreeMap<String, u64>,
    /// Last import (Unix seconds), if any.
    pub last_import: Option<i64>,
    /// Downloaded archives.
    pub sources: Vec<SourceState>,
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Store {
    /// Opens (creating it and its directory if needed) the store at `path` for writing, and
    /// migrates it to the current schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        // An import is one transaction: with SQLite's default 2 MiB page cache it spills dirty
        // pages (and journal writes) to disk long before the commit. Up to 256 MiB, used only
        // as needed. Another writer (a concurrent `db update`) is waited for, not failed.
        conn.pragma_update(None, "cache_size", -262_144i64)
            .map_err(|e| sql(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| sql(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store read-only (for matching).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql(path, e))?;
        // Matching reads scattered pages of a file that may be large: mapping it saves a
        // read system call per page.
        let _ = conn.pragma_update(None, "mmap_size", 1i64 << 30);
        let store = Store {
            conn,
            path: path.to_owned(),
        };
        let found = store.user_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
            });
        }
        if found < SCHEMA_VERSION {
            // An empty or old file: nothing we can read without migrating it.
            return Err(StoreError::Missing(path.to_owned()));
        }
        Ok(store)
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql(&self.path, e)
    }

    fn user_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.user_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
            });
        }
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            tx.execute_batch(m).map_err(|e| sql(&path, e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| sql(&path, e))?;
        }
        tx.commit().map_err(|e| sql(&path, e))
    }

    /// Starts an import: every [`Writer::put`] until [`Writer::commit`] is one transaction,
    /// so an interrupted import leaves the store as it was.
    pub fn writer(&mut self) -> Result<Writer<'_>, StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        Ok(Writer { tx, path })
    }

    /// Conditional-request state of an ecosystem archive, if it was ever downloaded.
    pub fn source(&self, ecosystem: &str) -> Result<Option<SourceState>, StoreError> {
        self.conn
            .query_row(
                "SELECT ecosystem, url, etag, last_modified, checked_at, updated_at
                 FROM source WHERE ecosystem = ?1",
                [ecosystem],
                source_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records that the server was asked about `state.ecosystem` and nothing changed.
    pub fn touch_source(&mut self, ecosystem: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE source SET checked_at = ?2 WHERE ecosystem = ?1",
                params![ecosystem, now()],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The stored JSON of a record.
    pub fn raw(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT json FROM record WHERE id = ?1")
            .map_err(|e| self.err(e))?;
        st.query_row([id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Starts a read transaction: the queries until the guard is dropped see one consistent
    /// state of the store, and SQLite takes its file lock once instead of once per query
    /// (which dominates matching a whole host otherwise).
    pub fn snapshot(&self) -> Result<Snapshot<'_>, StoreError> {
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| self.err(e))?;
        Ok(Snapshot { store: self })
    }

    /// The stored record, validated again (`None` if absent or no longer valid).
    pub fn record(&self, id: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.raw(id)?.and_then(|b| Record::from_json(&b).ok()))
    }

    /// Affected entries of a package: `(record id, entry)` of every record that is not
    /// withdrawn (withdrawn records index nothing) and names `package` in `ecosystem` (or, with `like`, in any ecosystem
    /// matching that SQL `LIKE` pattern, `\` escaping).
    pub fn affected(
        &self,
        ecosystem: &str,
        like: Option<&str>,
        package: &str,
    ) -> Result<Vec<(String, StoredEntry)>, StoreError> {
        let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String)> {
            Ok((r.get(0)?, r.get(1)?))
        };
        let rows: Vec<(String, String)> = match like {
            None => {
                let mut st = self
                    .conn
                    .prepare_cached(
                        "SELECT record_id, entry FROM affected WHERE ecosystem = ?1 AND package = ?2",
                    )
                    .map_err(|e| self.err(e))?;
                st.query_map(params![ecosystem, package], map)
                    .and_then(Iterator::collect)
                    .map_err(|e| self.err(e))?
            }
            Some(pattern) => {
                let mut st = self
                    .conn
                    .prepare_cached(
                        "SELECT record_id, entry FROM affected
                         WHERE package = ?2 AND (ecosystem = ?1 OR ecosystem LIKE ?3 ESCAPE '\\')",
                    )
                    .map_err(|e| self.err(e))?;
                st.query_map(params![ecosystem, package, pattern], map)
                    .and_then(Iterator::collect)
                    .map_err(|e| self.err(e))?
            }
        };
        Ok(rows
            .into_iter()
            .filter_map(|(id, entry)| serde_json::from_str(&entry).ok().map(|e| (id, e)))
            .collect())
    }

    /// Number of records.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM record", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Everything `inuse db status` shows.
    pub fn status(&self) -> Result<Status, StoreError> {
        let q = |sql: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(|e| self.err(e))
        };
        let records = q("SELECT COUNT(*) FROM record")? as u64;
        let withdrawn = q("SELECT COUNT(*) FROM record WHERE withdrawn = 1")? as u64;
        let mut ecosystems = BTreeMap::new();
        {
            let mut st = self
                .conn
                .prepare(
                    "SELECT ecosystem, COUNT(DISTINCT record_id) FROM affected GROUP BY ecosystem",
                )
                .map_err(|e| self.err(e))?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (e, n) = row.map_err(|e| self.err(e))?;
                ecosystems.insert(e, n as u64);
            }
        }
        let last_import = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'last_import'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .and_then(|v| v.parse().ok());
        let sources = {
            let mut st = self
                .conn
                .prepare(
                    "SELECT ecosystem, url, etag, last_modified, checked_at, updated_at
                     FROM source ORDER BY ecosystem",
                )
                .map_err(|e| self.err(e))?;
            st.query_map([], source_row)
                .and_then(Iterator::collect)
                .map_err(|e| self.err(e))?
        };
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        Ok(Status {
            path: self.path.clone(),
            size,
            schema_version: self.user_version()?,
            records,
            withdrawn,
            ecosystems,
            last_import,
            sources,
        })
    }
}

/// A read transaction of a [`Store`]; ends when dropped.
pub struct Snapshot<'a> {
    store: &'a Store,
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // Nothing was written: ending the transaction cannot lose anything.
        let _ = self.store.conn.execute_batch("COMMIT");
    }
}

fn source_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceState> {
    Ok(SourceState {
        ecosystem: r.get(0)?,
        url: r.get(1)?,
        etag: r.get(2)?,
        last_modified: r.get(3)?,
        checked_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

fn sql(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

/// One import transaction. Dropping it without [`Writer::commit`] rolls everything back.
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl Writer<'_> {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql(&self.path, e)
    }

    /// Stores `record` (whose JSON is `raw`, read from `source`) unless the stored copy is as
    /// new or newer.
    pub fn put(&mut self, record: &Record, raw: &[u8], source: &str) -> Result<Put, StoreError> {
        // Microseconds fit an i64 for ±292,000 years, so no valid timestamp saturates.
        let modified_us = i64::try_from(record.modified.unix_nanos() / 1000).unwrap_or(i64::MAX);
        let existing: Option<i64> = {
            let mut st = self
                .tx
                .prepare_cached("SELECT modified_us FROM record WHERE id = ?1")
                .map_err(|e| self.err(e))?;
            st.query_row([&record.id], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?
        };
        let outcome = match existing {
            Some(old) if old >= modified_us => return Ok(Put::Unchanged),
            Some(_) => Put::Replaced,
            None => Put::Added,
        };
        if outcome == Put::Replaced {
            let mut st = self
                .tx
                .prepare_cached("DELETE FROM affected WHERE record_id = ?1")
                .map_err(|e| self.err(e))?;
            st.execute([&record.id]).map_err(|e| self.err(e))?;
        }
        {
            let mut st = self
                .tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO record (id, modified_us, modified, withdrawn, source, json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| self.err(e))?;
            st.execute(params![
                record.id,
                modified_us,
                record.modified.as_str(),
                record.withdrawn.is_some(),
                source,
                raw
            ])
            .map_err(|e| self.err(e))?;
        }
        // A withdrawn record never matches: it is kept (so an older copy cannot come back)
        // but indexes nothing.
        if record.withdrawn.is_some() {
            return Ok(outcome);
        }
        let mut st = self
            .tx
            .prepare_cached(
                "INSERT INTO affected (ecosystem, package, record_id, entry) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(|e| self.err(e))?;
        for a in &record.affected {
            let entry = StoredEntry {
                ranges: a.ranges.clone(),
                versions: a.versions.clone(),
            };
            let entry = serde_json::to_string(&entry).unwrap_or_default();
            st.execute(params![
                a.package.ecosystem.as_str(),
                a.package.name,
                record.id,
                entry
            ])
            .map_err(|e| sql(&self.path, e))?;
        }
        Ok(outcome)
    }

    /// Saves the conditional-request state of a downloaded archive.
    pub fn set_source(&mut self, s: &SourceState) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO source
                 (ecosystem, url, etag, last_modified, checked_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s.ecosystem,
                    s.url,
                    s.etag,
                    s.last_modified,
                    s.checked_at,
                    s.updated_at
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Makes the import durable.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.tx
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_import', ?1)",
                [now().to_string()],
            )
            .map_err(|e| sql(&path, e))?;
        self.tx.commit().map_err(|e| sql(&path, e))
    }
}

/// The default store path: `$INUSE_DB`; as root `/var/lib/inuse/vulns.sqlite`; otherwise
/// `$XDG_DATA_HOME/inuse/vulns.sqlite`, or `~/.local/share/inuse/vulns.sqlite`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("INUSE_DB").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if rustix::process::geteuid().is_root() {
        return Some(PathBuf::from("/var/lib/inuse/vulns.sqlite"));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| Path::new(p).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| Path::new(&h).join(".local/share"))
        })?;
    Some(data.join("inuse/vulns.sqlite"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn rec(id: &str, modified: &str, pkg: &str) -> (Record, Vec<u8>) {
        let json = format!(
            r#"{{"id":"{id}","modified":"{modified}","affected":[{{"package":{{"ecosystem":"Debian:12","name":"{pkg}"}},"versions":["1.0-1"]}}]}}"#
        );
        (
            Record::from_json(json.as_bytes()).unwrap(),
            json.into_bytes(),
        )
    }

    #[test]
    fn newer_replaces_older_and_rollback_keeps_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/v.sqlite");
        let mut store = Store::open(&path).unwrap();
        let (r1, j1) = rec("X-1", "2024-01-01T00:00:00Z", "a");
        let (r2, j2) = rec("X-1", "2024-02-01T00:00:00Z", "b");
        let mut w = store.writer().unwrap();
        assert_eq!(w.put(&r1, &j1, "t").unwrap(), Put::Added);
        assert_eq!(w.put(&r1, &j1, "t").unwrap(), Put::Unchanged);
        w.commit().unwrap();
        {
            let mut w = store.writer().unwrap();
            assert_eq!(w.put(&r2, &j2, "t").unwrap(), Put::Replaced);
            // Dropped without commit: rolled back.
        }
        assert_eq!(store.affected("Debian:12", None, "a").unwrap().len(), 1);
        let mut w = store.writer().unwrap();
        assert_eq!(w.put(&r2, &j2, "t").unwrap(), Put::Replaced);
        assert_eq!(w.put(&r1, &j1, "t").unwrap(), Put::Unchanged, "older loses");
        w.commit().unwrap();
        assert!(store.affected("Debian:12", None, "a").unwrap().is_empty());
        assert_eq!(store.affected("Debian:12", None, "b").unwrap().len(), 1);
        let status = store.status().unwrap();
        assert_eq!(status.records, 1);
        assert_eq!(status.ecosystems.get("Debian:12"), Some(&1));
        assert!(status.last_import.is_some());
        drop(store);
        let ro = Store::open_read_only(&path).unwrap();
        assert_eq!(ro.count().unwrap(), 1);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
        assert!(matches!(
            Store::open_read_only(&dir.path().join("none.sqlite")),
            Err(StoreError::Missing(_))
        ));
    }
}
