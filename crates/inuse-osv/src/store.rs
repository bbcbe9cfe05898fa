//! The vulnerability store: one SQLite file holding OSV records and an index for matching.
//!
//! Why SQLite: one file that is easy to copy to an offline host, atomic transactions (an
//! interrupted import must lose nothing that was there), and an index that turns matching a
//! whole system into one lookup per installed package. The raw record JSON is kept as it was
//! imported (so nothing the validator does not yet understand is lost, and records can be
//! re-validated by a newer inuse), next to normalized rows, so that matching never parses a
//! record's JSON:
//!
//! - `record(n, id, modified_us, modified, withdrawn, source, aliases, cve, summary,
//!   details_line, cvss_score, cvss_vector, cvss_rating, distro_severity, entries, packages)`:
//!   one row per record id; a record is replaced only by a copy with a newer `modified`, so
//!   imports are idempotent and order-independent. `aliases` is space-separated (ids hold no
//!   spaces), `cve` the one CVE the record is about ([`crate::matching::single_cve`]), the
//!   `cvss_*` columns its best CVSS score, `distro_severity` its distribution's severity word.
//!   `entries` is a JSON array of the record's *distinct* affected entries (ranges and
//!   versions, [`StoredEntry`]): an advisory naming forty binary packages with the same fixed
//!   version stores that entry once. `packages` names its `affected` rows (a JSON object of
//!   ecosystem to package names), for replacing them.
//! - `raw(n, json)`: the record's JSON as imported, raw-deflate compressed (from a zip archive,
//!   the archive's own compressed bytes, validated by inflating them on import).
//! - `affected(ecosystem, package, records)`, clustered on `(ecosystem, package)` (`WITHOUT
//!   ROWID`): one row per package named by any record that is not withdrawn; `records` lists
//!   the `(record, entry)` pairs naming it, `entry` indexing the record's `entries`, in order
//!   and packed (`encode_records`). A lookup reads one row; an import writes one row per
//!   package rather than one per record and package (10,543 rather than 69,160 for the
//!   AlmaLinux archive).
//! - `source(ecosystem, url, etag, last_modified, checked_at, updated_at)`: what `db update`
//!   downloaded, for conditional requests.
//! - `meta(key, value)`: `last_import`.
//!
//! The schema is versioned with `PRAGMA user_version`. Opening a store for writing migrates it
//! forward in one transaction (schema 1 kept one JSON entry per affected row and matched by
//! re-reading records: its stored records are re-validated into the new tables, none is lost;
//! schema 2 kept one `affected` row per record and package: they are regrouped by package);
//! a read-only open migrates an older store when the file is writable and otherwise says how
//! to. A store written by a newer inuse is refused rather than misread.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::model::{Range, RangeView, Record, RecordView};

/// The current schema, created in one step in a new store.
const SCHEMA: &str = "
    CREATE TABLE record (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        modified_us INTEGER NOT NULL,
        modified TEXT NOT NULL,
        withdrawn INTEGER NOT NULL,
        source TEXT NOT NULL,
        aliases TEXT NOT NULL,
        cve TEXT,
        summary TEXT,
        details_line TEXT,
        cvss_score REAL,
        cvss_vector TEXT,
        cvss_rating TEXT,
        distro_severity TEXT,
        entries TEXT NOT NULL,
        packages TEXT NOT NULL
    );
    CREATE TABLE raw (n INTEGER PRIMARY KEY, json BLOB NOT NULL);
    CREATE TABLE affected (
        ecosystem TEXT NOT NULL,
        package TEXT NOT NULL,
        records BLOB NOT NULL,
        PRIMARY KEY (ecosystem, package)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS source (
        ecosystem TEXT PRIMARY KEY NOT NULL,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        checked_at INTEGER NOT NULL,
        updated_at INTEGER
    );
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);";

/// The schema version this build writes. Version 1: one JSON entry per affected row, raw JSON
/// uncompressed in `record`, no normalized columns. Version 2: one `affected` row per
/// `(ecosystem, package, record, entry)`.
pub const SCHEMA_VERSION: i64 = 3;

/// Page size of a new store, in bytes.
const PAGE_SIZE: i64 = 16 << 10;

/// Largest raw record inflated back from the store: far above any import limit, a bound
/// against a damaged file.
const MAX_STORED_RECORD: u64 = 256 << 20;

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
    /// The store was written by an older inuse and could not be migrated here (read-only).
    #[error(
        "{path}: schema version {found} is older than this inuse's ({SCHEMA_VERSION}) and cannot be migrated here ({reason}); run `inuse db update` or `inuse db import` once with write access to migrate it, keeping its records"
    )]
    Outdated {
        /// The store file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// Why it could not be migrated.
        reason: String,
    },
    /// A stored value is damaged.
    #[error("{path}: damaged store: {what}")]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is damaged.
        what: String,
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

/// An affected entry serialised from borrowed parts (the same JSON as [`StoredEntry`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
struct EntryRef<'v, 'a> {
    #[serde(rename = "r", skip_serializing_if = "<[RangeView<'a>]>::is_empty")]
    ranges: &'v [RangeView<'a>],
    #[serde(rename = "v", skip_serializing_if = "<[Cow<'a, str>]>::is_empty")]
    versions: &'v [Cow<'a, str>],
}

/// A record made ready for the store: everything derived from it that is stored, computed
/// without the store (so in parallel with other records).
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    id: String,
    modified_us: i64,
    modified: String,
    withdrawn: bool,
    aliases: String,
    cve: Option<String>,
    summary: Option<String>,
    details_line: Option<String>,
    cvss: Option<(f64, String, &'static str)>,
    distro_severity: Option<String>,
    /// JSON array of the distinct entries.
    entries: String,
    /// Every affected package: where its `ecosystem NUL package` ends in `package_keys`, and
    /// its index in `entries`.
    packages: Vec<(usize, u32)>,
    /// The `ecosystem NUL package` of every affected package, one after the other (one
    /// string rather than two per package).
    package_keys: String,
    /// The packages as stored: a JSON object of ecosystem to package names.
    packages_json: String,
    /// The raw JSON, raw-deflate compressed.
    deflated: Vec<u8>,
}

impl Prepared {
    /// Prepares `record`, whose JSON compressed with raw deflate is `deflated` (see
    /// [`deflate`]).
    pub fn new(record: &Record, deflated: Vec<u8>) -> Prepared {
        Prepared::of(&RecordView::of(record), deflated)
    }

    /// [`Prepared::new`] of a record still borrowing from its JSON.
    pub(crate) fn of(record: &RecordView<'_>, deflated: Vec<u8>) -> Prepared {
        // Microseconds fit an i64 for ±292,000 years, so no valid timestamp saturates.
        let modified_us = i64::try_from(record.modified.unix_nanos() / 1000).unwrap_or(i64::MAX);
        let withdrawn = record.withdrawn.is_some();
        // Distinct entries, compared as values before they are serialised: an advisory naming
        // forty binary packages with one fixed version serialises that entry once.
        // A few distinct entries (the usual case) are found by comparing them all; a hash
        // index is made past that, so that a record of many distinct entries is not quadratic.
        const SCAN: usize = 16;
        let mut distinct: Vec<EntryRef<'_, '_>> = Vec::new();
        let mut index: HashMap<EntryRef<'_, '_>, u32> = HashMap::new();
        let mut packages = Vec::new();
        let mut package_keys = String::new();
        let mut by_ecosystem: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        // A withdrawn record never matches: it is kept (so an older copy cannot come back)
        // but indexes nothing.
        if !withdrawn {
            packages.reserve_exact(record.affected.len());
            for a in &record.affected {
                let entry = EntryRef {
                    ranges: &a.ranges,
                    versions: &a.versions,
                };
                let i = if distinct.len() <= SCAN {
                    match distinct.iter().position(|d| *d == entry) {
                        Some(i) => i as u32,
                        None => {
                            distinct.push(entry);
                            if distinct.len() > SCAN {
                                index = distinct.iter().copied().zip(0..).collect();
                            }
                            distinct.len() as u32 - 1
                        }
                    }
                } else {
                    *index.entry(entry).or_insert_with(|| {
                        distinct.push(entry);
                        distinct.len() as u32 - 1
                    })
                };
                package_keys.push_str(&a.ecosystem);
                package_keys.push('\0');
                package_keys.push_str(&a.name);
                packages.push((package_keys.len(), i));
                by_ecosystem.entry(&a.ecosystem).or_default().push(&a.name);
            }
        }
        let entries = serde_json::to_string(&distinct).unwrap_or_default();
        let cvss = record
            .best_cvss()
            .map(|c| (c.score, c.vector.clone(), c.rating().as_str()));
        let packages_json = serde_json::to_string(&by_ecosystem).unwrap_or_default();
        let ids = record
            .aliases
            .iter()
            .chain(&record.related)
            .chain(&record.upstream);
        Prepared {
            id: record.id.to_string(),
            modified_us,
            modified: record.modified.as_str().to_owned(),
            withdrawn,
            aliases: record.aliases.join(" "),
            cve: crate::matching::single_cve_of(
                std::iter::once(&*record.id).chain(ids.map(|id| &**id)),
            ),
            summary: record.summary.as_deref().map(str::to_owned),
            details_line: record
                .details
                .as_deref()
                .map(|d| d.trim().lines().next().unwrap_or("").to_owned()),
            cvss,
            distro_severity: record.distro_severity(),
            entries,
            packages,
            package_keys,
            packages_json,
            deflated,
        }
    }

    /// `(ecosystem NUL package, index in entries)` of every affected package.
    fn packages(&self) -> impl Iterator<Item = (&str, u32)> {
        let mut start = 0;
        self.packages.iter().map(move |&(end, entry)| {
            let key = self.package_keys.get(start..end).unwrap_or_default();
            start = end;
            (key, entry)
        })
    }

    /// The record id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Compresses a record's JSON as the store keeps it (raw deflate, fast level).
pub fn deflate(json: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(json);
    enc.finish().unwrap_or_default()
}

/// Inflates what [`deflate`] (or a zip archive) compressed, up to `max` bytes.
fn inflate(bytes: &[u8], max: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::DeflateDecoder::new(bytes)
        .take(max + 1)
        .read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(std::io::Error::other("inflates beyond the limit"));
    }
    Ok(out)
}

/// What matching needs of a record, from its normalized columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Info {
    /// The record id.
    pub id: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// The one CVE it is about, if any.
    pub cve: Option<String>,
    /// Its summary.
    pub summary: Option<String>,
    /// The first line of its details.
    pub details_line: Option<String>,
    /// Its best CVSS: score, vector, rating.
    pub cvss: Option<(f64, String, String)>,
    /// Its distribution's severity word.
    pub distro_severity: Option<String>,
}

const INFO_COLUMNS: &str = "id, aliases, cve, summary, details_line, cvss_score, cvss_vector, cvss_rating, distro_severity";

fn info_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Info> {
    let aliases: String = r.get(1)?;
    let score: Option<f64> = r.get(5)?;
    let vector: Option<String> = r.get(6)?;
    let rating: Option<String> = r.get(7)?;
    Ok(Info {
        id: r.get(0)?,
        aliases: aliases
            .split(' ')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        cve: r.get(2)?,
        summary: r.get(3)?,
        details_line: r.get(4)?,
        cvss: match (score, vector, rating) {
            (Some(s), Some(v), Some(r)) => Some((s, v, r)),
            _ => None,
        },
        distro_severity: r.get(8)?,
    })
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

/// Seconds since the Unix epoch, now (the clock: what is recorded, never `SOURCE_DATE_EPOCH`).
pub(crate) use inuse_model::time::clock as now;

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
        // Temporary B-trees (sorting) in memory: nothing durable lives there.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| sql(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store read-only (for matching). A store of an older schema is
    /// migrated first if the file can be written, else refused with a message saying how.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let store = Self::open_read_only_as_is(path)?;
        let found = store.user_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
            });
        }
        if found == 0 {
            // An empty file, or not a store.
            return Err(StoreError::Missing(path.to_owned()));
        }
        if found < SCHEMA_VERSION {
            drop(store);
            if let Err(e) = Store::open(path) {
                return Err(StoreError::Outdated {
                    path: path.to_owned(),
                    found,
                    reason: match e {
                        StoreError::Sqlite { source, .. } => source.to_string(),
                        other => other.to_string(),
                    },
                });
            }
            let store = Self::open_read_only_as_is(path)?;
            if store.user_version()? != SCHEMA_VERSION {
                return Err(StoreError::Missing(path.to_owned()));
            }
            return Ok(store);
        }
        Ok(store)
    }

    fn open_read_only_as_is(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql(path, e))?;
        // A concurrent import holds the file only while it commits.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| sql(path, e))?;
        // Matching reads scattered pages of a file that may be large: mapping it saves a read
        // system call and a copy per page.
        let _ = conn.pragma_update(None, "mmap_size", 1i64 << 30);
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
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
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        if found == 0 {
            // A new store: 16 KiB pages instead of SQLite's 4 KiB. The `affected` B-tree, the
            // bulk of an import's writing, splits a quarter as often and the commit writes a
            // quarter of the pages (30-40% less commit time for the AlmaLinux archive). Only
            // effective while the file is still empty; an existing store keeps its page size.
            self.conn
                .pragma_update(None, "page_size", PAGE_SIZE)
                .map_err(|e| sql(&path, e))?;
        }
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        // Another process may have migrated it while this one waited for the lock.
        let found: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sql(&path, e))?;
        match found {
            0 => tx.execute_batch(SCHEMA).map_err(|e| sql(&path, e))?,
            1 => migrate_v1(&tx, &path)?,
            2 => migrate_v2(&tx, &path)?,
            _ => {}
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))
    }

    /// Starts an import: every [`Writer::put`] until [`Writer::commit`] is one transaction,
    /// so an interrupted import leaves the store as it was.
    pub fn writer(&mut self) -> Result<Writer<'_>, StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        Ok(Writer {
            tx,
            path,
            staged: Staged::default(),
        })
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

    /// The stored JSON of a record, as it was imported.
    pub fn raw(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT raw.json FROM record JOIN raw USING (n) WHERE record.id = ?1")
            .map_err(|e| self.err(e))?;
        let Some(deflated) = st
            .query_row([id], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        inflate(&deflated, MAX_STORED_RECORD)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("record {id}: {e}"),
            })
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
    /// withdrawn (withdrawn records index nothing) and names `package` in `ecosystem` (or,
    /// with `like`, in any ecosystem matching that SQL `LIKE` pattern, `\` escaping).
    pub fn affected(
        &self,
        ecosystem: &str,
        like: Option<&str>,
        package: &str,
    ) -> Result<Vec<(String, StoredEntry)>, StoreError> {
        let mut ids: HashMap<i64, String> = HashMap::new();
        let mut out = Vec::new();
        self.lookup(ecosystem, like, package, |n, entry| {
            let id = match ids.get(&n) {
                Some(id) => id.clone(),
                None => {
                    let Some(info) = self.info(n)? else {
                        return Ok(());
                    };
                    ids.insert(n, info.id.clone());
                    info.id
                }
            };
            out.push((id, entry.clone()));
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f(record, entry)` for every affected row of `package` (see [`Store::affected`]),
    /// in the order of the records' import; `record` is the record's row number. Each
    /// record's entries are parsed once per call.
    pub(crate) fn lookup(
        &self,
        ecosystem: &str,
        like: Option<&str>,
        package: &str,
        mut f: impl FnMut(i64, &StoredEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut st = match like {
            None => self.conn.prepare_cached(
                "SELECT records FROM affected WHERE ecosystem = ?1 AND package = ?2",
            ),
            Some(_) => self.conn.prepare_cached(
                "SELECT records FROM affected
                 WHERE package = ?2 AND (ecosystem = ?1 OR ecosystem LIKE ?3 ESCAPE '\\')",
            ),
        }
        .map_err(|e| self.err(e))?;
        let mut rows = match like {
            None => st.query(params![ecosystem, package]),
            Some(pattern) => st.query(params![ecosystem, package, pattern]),
        }
        .map_err(|e| self.err(e))?;
        let mut pairs: Vec<(i64, u32)> = Vec::new();
        let mut n_rows = 0;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let bytes = row
                .get_ref(0)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(|e| self.err(e))?;
            decode_records(bytes, &mut pairs).ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("records of {ecosystem}/{package}"),
            })?;
            n_rows += 1;
        }
        drop(rows);
        if n_rows > 1 {
            // Several ecosystems (`like`): in record order, as one row's are.
            pairs.sort_unstable();
        }
        let mut entries_of = self
            .conn
            .prepare_cached("SELECT entries FROM record WHERE n = ?1")
            .map_err(|e| self.err(e))?;
        // The entries of the record of the previous pair: pairs come grouped by record.
        let mut current: Option<(i64, Option<Vec<StoredEntry>>)> = None;
        for (n, i) in pairs {
            if current.as_ref().is_none_or(|(c, _)| *c != n) {
                let entries = entries_of
                    .query_row([n], |r| {
                        let text = r.get_ref(0)?.as_str()?;
                        Ok(serde_json::from_str::<Vec<StoredEntry>>(text).map_err(|e| {
                            StoreError::Corrupt {
                                path: self.path.clone(),
                                what: format!("entries of record row {n}: {e}"),
                            }
                        }))
                    })
                    .optional()
                    .map_err(|e| self.err(e))?
                    .transpose()?;
                current = Some((n, entries));
            }
            if let Some(entry) = current
                .as_ref()
                .and_then(|(_, es)| es.as_ref()?.get(i as usize))
            {
                f(n, entry)?;
            }
        }
        Ok(())
    }

    /// The normalized columns of the record in row `n`.
    pub(crate) fn info(&self, n: i64) -> Result<Option<Info>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {INFO_COLUMNS} FROM record WHERE n = ?1"))
            .map_err(|e| self.err(e))?;
        st.query_row([n], info_row)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The normalized columns of the record `id`.
    pub(crate) fn info_by_id(&self, id: &str) -> Result<Option<Info>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {INFO_COLUMNS} FROM record WHERE id = ?1"))
            .map_err(|e| self.err(e))?;
        st.query_row([id], info_row)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Whether any record affects a package of `ecosystem` (or, with `like`, of an ecosystem
    /// matching that SQL `LIKE` pattern, `\\` escaping): the keys of
    /// [`crate::Ecosystem::lookup_keys`].
    pub fn has_ecosystem(&self, ecosystem: &str, like: Option<&str>) -> Result<bool, StoreError> {
        let found = match like {
            None => self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM affected WHERE ecosystem = ?1)",
                params![ecosystem],
                |r| r.get(0),
            ),
            Some(pattern) => self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM affected
                 WHERE ecosystem = ?1 OR ecosystem LIKE ?2 ESCAPE '\\')",
                params![ecosystem, pattern],
                |r| r.get(0),
            ),
        };
        found.map_err(|e| self.err(e))
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
            // Distinct records per ecosystem; rows come in ecosystem order.
            let mut st = self
                .conn
                .prepare("SELECT ecosystem, records FROM affected ORDER BY ecosystem")
                .map_err(|e| self.err(e))?;
            let mut rows = st.query([]).map_err(|e| self.err(e))?;
            let mut current: Option<String> = None;
            let mut records: HashSet<i64> = HashSet::new();
            let mut pairs = Vec::new();
            while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let ecosystem = row
                    .get_ref(0)
                    .and_then(|v| Ok(v.as_str()?))
                    .map_err(|e| self.err(e))?;
                if current.as_deref() != Some(ecosystem) {
                    if let Some(c) = current.take() {
                        ecosystems.insert(c, records.len() as u64);
                    }
                    records.clear();
                    current = Some(ecosystem.to_owned());
                }
                let bytes = row
                    .get_ref(1)
                    .and_then(|v| Ok(v.as_blob()?))
                    .map_err(|e| self.err(e))?;
                pairs.clear();
                decode_records(bytes, &mut pairs).ok_or_else(|| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: format!("records of an affected package of {ecosystem}"),
                })?;
                records.extend(pairs.iter().map(|&(n, _)| n));
            }
            if let Some(c) = current {
                ecosystems.insert(c, records.len() as u64);
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

/// Migrates a schema 1 store: its records (raw JSON) are validated again and stored in the
/// schema 2 tables; `source` and `meta` are kept. A record that no longer validates (none
/// should: schema 1 stored only valid records) is dropped.
fn migrate_v1(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(
        "ALTER TABLE record RENAME TO record_v1;
         DROP TABLE affected;",
    )
    .map_err(|e| sql(path, e))?;
    conn.execute_batch(SCHEMA).map_err(|e| sql(path, e))?;
    let mut staged = Staged::default();
    {
        let mut st = conn
            .prepare("SELECT source, json FROM record_v1 ORDER BY rowid")
            .map_err(|e| sql(path, e))?;
        let mut rows = st.query([]).map_err(|e| sql(path, e))?;
        while let Some(row) = rows.next().map_err(|e| sql(path, e))? {
            let source: String = row.get(0).map_err(|e| sql(path, e))?;
            let json: Vec<u8> = row.get(1).map_err(|e| sql(path, e))?;
            if let Ok(record) = Record::from_json(&json) {
                let prepared = Prepared::new(&record, deflate(&json));
                put(conn, path, prepared, &source, &mut staged)?;
            }
        }
    }
    staged.flush(conn, path)?;
    conn.execute_batch("DROP TABLE record_v1")
        .map_err(|e| sql(path, e))
}

/// Migrates a schema 2 store: its `affected` rows, one per `(ecosystem, package, record,
/// entry)`, become one per `(ecosystem, package)` listing the records. Nothing else changes.
fn migrate_v2(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let e = |e| sql(path, e);
    conn.execute_batch(
        "ALTER TABLE affected RENAME TO affected_v2;
         CREATE TABLE affected (
             ecosystem TEXT NOT NULL,
             package TEXT NOT NULL,
             records BLOB NOT NULL,
             PRIMARY KEY (ecosystem, package)
         ) WITHOUT ROWID;",
    )
    .map_err(e)?;
    {
        let mut read = conn
            .prepare(
                "SELECT ecosystem, package, record, entry FROM affected_v2
                 ORDER BY ecosystem, package, record, entry",
            )
            .map_err(e)?;
        let mut write = conn
            .prepare("INSERT INTO affected (ecosystem, package, records) VALUES (?1, ?2, ?3)")
            .map_err(e)?;
        let mut rows = read.query([]).map_err(e)?;
        let mut current: Option<(String, String)> = None;
        let mut records = Vec::new();
        while let Some(row) = rows.next().map_err(e)? {
            let ecosystem = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(e)?;
            let package = row.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(e)?;
            let record: i64 = row.get(2).map_err(e)?;
            let entry: u32 = row.get(3).map_err(e)?;
            if current
                .as_ref()
                .is_none_or(|(c, p)| c != ecosystem || p != package)
            {
                if let Some((c, p)) = current.take() {
                    write
                        .execute(params![c, p, encode_records(&records)])
                        .map_err(e)?;
                }
                records.clear();
                current = Some((ecosystem.to_owned(), package.to_owned()));
            }
            records.push((record, entry));
        }
        if let Some((c, p)) = current {
            write
                .execute(params![c, p, encode_records(&records)])
                .map_err(e)?;
        }
    }
    conn.execute_batch("DROP TABLE affected_v2").map_err(e)
}

/// The `records` of an `affected` row: its `(record, entry)` pairs, in order, as unsigned
/// LEB128 numbers: each record as the difference from the previous one, then the entry.
fn encode_records(records: &[(i64, u32)]) -> Vec<u8> {
    fn push(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = Vec::with_capacity(records.len() * 3);
    let mut previous = 0i64;
    for &(record, entry) in records {
        push(&mut out, record.wrapping_sub(previous) as u64);
        push(&mut out, u64::from(entry));
        previous = record;
    }
    out
}

/// The `(record, entry)` pairs of [`encode_records`]; `None` if `bytes` are damaged.
fn decode_records(mut bytes: &[u8], out: &mut Vec<(i64, u32)>) -> Option<()> {
    fn next(bytes: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = bytes.split_first()?;
            *bytes = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    let mut previous = 0i64;
    while !bytes.is_empty() {
        let delta = next(&mut bytes)?;
        let entry = u32::try_from(next(&mut bytes)?).ok()?;
        previous = previous.wrapping_add(delta as i64);
        out.push((previous, entry));
    }
    Some(())
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

/// Stores a prepared record unless the stored copy is as new or newer.
fn put(
    conn: &Connection,
    path: &Path,
    p: Prepared,
    source: &str,
    staged: &mut Staged,
) -> Result<Put, StoreError> {
    let e = |e| sql(path, e);
    let existing: Option<(i64, i64)> = conn
        .prepare_cached("SELECT n, modified_us FROM record WHERE id = ?1")
        .map_err(e)?
        .query_row([&p.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(e)?;
    let (cvss_score, cvss_vector, cvss_rating) = match &p.cvss {
        Some((s, v, r)) => (Some(*s), Some(v.as_str()), Some(*r)),
        None => (None, None, None),
    };
    let (n, outcome) = match existing {
        Some((_, old)) if old >= p.modified_us => return Ok(Put::Unchanged),
        Some((n, _)) => {
            delete_affected(conn, path, n)?;
            conn.prepare_cached(
                "UPDATE record SET modified_us = ?2, modified = ?3, withdrawn = ?4, source = ?5,
                 aliases = ?6, cve = ?7, summary = ?8, details_line = ?9, cvss_score = ?10,
                 cvss_vector = ?11, cvss_rating = ?12, distro_severity = ?13, entries = ?14,
                 packages = ?15 WHERE n = ?1",
            )
            .map_err(e)?
            .execute(params![
                n,
                p.modified_us,
                p.modified,
                p.withdrawn,
                source,
                p.aliases,
                p.cve,
                p.summary,
                p.details_line,
                cvss_score,
                cvss_vector,
                cvss_rating,
                p.distro_severity,
                p.entries,
                p.packages_json
            ])
            .map_err(e)?;
            conn.prepare_cached("INSERT OR REPLACE INTO raw (n, json) VALUES (?1, ?2)")
                .map_err(e)?
                .execute(params![n, p.deflated])
                .map_err(e)?;
            (n, Put::Replaced)
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO record (id, modified_us, modified, withdrawn, source, aliases, cve,
                 summary, details_line, cvss_score, cvss_vector, cvss_rating, distro_severity,
                 entries, packages)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .map_err(e)?
            .execute(params![
                p.id,
                p.modified_us,
                p.modified,
                p.withdrawn,
                source,
                p.aliases,
                p.cve,
                p.summary,
                p.details_line,
                cvss_score,
                cvss_vector,
                cvss_rating,
                p.distro_severity,
                p.entries,
                p.packages_json
            ])
            .map_err(e)?;
            let n = conn.last_insert_rowid();
            conn.prepare_cached("INSERT INTO raw (n, json) VALUES (?1, ?2)")
                .map_err(e)?
                .execute(params![n, p.deflated])
                .map_err(e)?;
            (n, Put::Added)
        }
    };
    if outcome == Put::Replaced && staged.records.contains(&n) {
        // Added earlier in this transaction (the same id twice in one import): rare.
        staged.rows.retain(|r| r.1 != n);
    }
    staged.records.insert(n);
    for (key, entry) in p.packages() {
        let key = staged.key(key);
        staged.rows.push((key, n, entry));
    }
    Ok(outcome)
}

/// `affected` rows of one transaction, inserted when it commits: sorted, they go into the
/// table's B-tree in order (adjacent pages, full pages), several times faster than one by one
/// as records come. Each distinct `(ecosystem, package)` is kept once and the rows refer to it
/// by number, so that sorting them compares numbers, not strings.
#[derive(Default)]
struct Staged {
    /// `(key, record, entry)`, `key` indexing `keys`.
    rows: Vec<(u32, i64, u32)>,
    /// Records with rows here.
    records: HashSet<i64>,
    /// The distinct `(ecosystem, package)` of the rows, as `ecosystem NUL package` (an
    /// ecosystem holds no control characters, so this orders as the pair does).
    keys: Vec<String>,
    /// Their numbers.
    numbers: HashMap<String, u32>,
    /// The number of the last key looked up: records often name a package several times
    /// in a row.
    last: Option<u32>,
}

impl Staged {
    /// The number of `ecosystem NUL package`.
    fn key(&mut self, key: &str) -> u32 {
        if let Some(k) = self.last.filter(|&k| self.keys[k as usize] == key) {
            return k;
        }
        let k = match self.numbers.get(key) {
            Some(&k) => k,
            None => {
                let k = self.keys.len() as u32;
                self.keys.push(key.to_owned());
                self.numbers.insert(key.to_owned(), k);
                k
            }
        };
        self.last = Some(k);
        k
    }

    /// Writes the rows: one `affected` row per package, merged with the one stored. None of
    /// the staged pairs can be stored already: a record's are removed before it is replaced,
    /// and new records have new row numbers.
    fn flush(&mut self, conn: &Connection, path: &Path) -> Result<(), StoreError> {
        let e = |e| sql(path, e);
        let mut rows = std::mem::take(&mut self.rows);
        let keys = std::mem::take(&mut self.keys);
        self.records.clear();
        self.numbers.clear();
        self.last = None;
        // The rank of each key in `(ecosystem, package)` order: rows go into the table's
        // B-tree in order (adjacent pages, full pages).
        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.par_sort_unstable_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        let mut rank = vec![0u32; keys.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k as usize] = r as u32;
        }
        for row in &mut rows {
            row.0 = rank[row.0 as usize];
        }
        rows.par_sort_unstable();
        rows.dedup();
        // A new store has no rows to merge with.
        let stored: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM affected)")
            .map_err(e)?
            .query_row([], |r| r.get(0))
            .map_err(e)?;
        let mut read = conn
            .prepare_cached("SELECT records FROM affected WHERE ecosystem = ?1 AND package = ?2")
            .map_err(e)?;
        let mut write = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO affected (ecosystem, package, records) VALUES (?1, ?2, ?3)",
            )
            .map_err(e)?;
        let mut pairs: Vec<(i64, u32)> = Vec::new();
        for group in rows.chunk_by(|a, b| a.0 == b.0) {
            let key = &keys[order[group[0].0 as usize] as usize];
            let (ecosystem, package) = key.split_once('\0').unwrap_or((key, ""));
            pairs.clear();
            if stored {
                if let Some(bytes) = read
                    .query_row(params![ecosystem, package], |r| r.get::<_, Vec<u8>>(0))
                    .optional()
                    .map_err(e)?
                {
                    decode_records(&bytes, &mut pairs).ok_or_else(|| StoreError::Corrupt {
                        path: path.to_owned(),
                        what: format!("records of {ecosystem}/{package}"),
                    })?;
                }
            }
            let merge = !pairs.is_empty();
            pairs.extend(group.iter().map(|&(_, record, entry)| (record, entry)));
            if merge {
                pairs.sort_unstable();
                pairs.dedup();
            }
            write
                .execute(params![ecosystem, package, encode_records(&pairs)])
                .map_err(e)?;
        }
        Ok(())
    }
}

/// Removes the record in row `n` from the `affected` rows of its packages (found through its
/// `packages`), deleting those left empty.
fn delete_affected(conn: &Connection, path: &Path, n: i64) -> Result<(), StoreError> {
    let e = |e| sql(path, e);
    let packages: String = conn
        .prepare_cached("SELECT packages FROM record WHERE n = ?1")
        .map_err(e)?
        .query_row([n], |r| r.get(0))
        .map_err(e)?;
    let targets: Vec<(String, String)> =
        match serde_json::from_str::<BTreeMap<String, Vec<String>>>(&packages) {
            Ok(map) => map
                .into_iter()
                .flat_map(|(ecosystem, names)| {
                    names.into_iter().map(move |p| (ecosystem.clone(), p))
                })
                .collect(),
            // Damaged: the slow way, every row.
            Err(_) => {
                let mut st = conn
                    .prepare("SELECT ecosystem, package FROM affected")
                    .map_err(e)?;
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .and_then(Iterator::collect)
                    .map_err(e)?
            }
        };
    let mut read = conn
        .prepare_cached("SELECT records FROM affected WHERE ecosystem = ?1 AND package = ?2")
        .map_err(e)?;
    let mut pairs = Vec::new();
    for (ecosystem, package) in &targets {
        let Some(bytes) = read
            .query_row(params![ecosystem, package], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(e)?
        else {
            continue;
        };
        pairs.clear();
        decode_records(&bytes, &mut pairs).ok_or_else(|| StoreError::Corrupt {
            path: path.to_owned(),
            what: format!("records of {ecosystem}/{package}"),
        })?;
        let before = pairs.len();
        pairs.retain(|&(record, _)| record != n);
        if pairs.len() == before {
            continue;
        }
        if pairs.is_empty() {
            conn.prepare_cached("DELETE FROM affected WHERE ecosystem = ?1 AND package = ?2")
                .map_err(e)?
                .execute(params![ecosystem, package])
                .map_err(e)?;
        } else {
            conn.prepare_cached(
                "UPDATE affected SET records = ?3 WHERE ecosystem = ?1 AND package = ?2",
            )
            .map_err(e)?
            .execute(params![ecosystem, package, encode_records(&pairs)])
            .map_err(e)?;
        }
    }
    Ok(())
}

/// One import transaction. Dropping it without [`Writer::commit`] rolls everything back.
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
    staged: Staged,
}

impl Writer<'_> {
    /// Stores `record` (whose JSON is `raw`, read from `source`) unless the stored copy is as
    /// new or newer.
    pub fn put(&mut self, record: &Record, raw: &[u8], source: &str) -> Result<Put, StoreError> {
        self.put_prepared(Prepared::new(record, deflate(raw)), source)
    }

    /// [`Writer::put`] of a record prepared beforehand (possibly on another thread).
    pub fn put_prepared(&mut self, record: Prepared, source: &str) -> Result<Put, StoreError> {
        put(&self.tx, &self.path, record, source, &mut self.staged)
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
            .map_err(|e| sql(&self.path, e))
    }

    /// Makes the import durable.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.staged.flush(&self.tx, &path)?;
        self.tx
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_import', ?1)",
                [now().to_string()],
            )
            .map_err(|e| sql(&path, e))?;
        self.tx.commit().map_err(|e| sql(&path, e))
    }
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
    fn prepared_from_the_json_is_prepared_from_the_record() {
        let json = br#"{"id":"DSA-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-1234"],
            "summary":"Important: caf\u00e9","details":"  first\nsecond","affected":[
            {"package":{"ecosystem":"Debian:12","name":"a"},"versions":["1.0-1"],
             "database_specific":{"urgency":"HIGH"}},
            {"package":{"ecosystem":"Debian:12","name":"b\u0062"},"versions":["1.0-1"]},
            {"package":{"ecosystem":"Debian:11","name":"a"},"ranges":[{"type":"ECOSYSTEM",
             "events":[{"introduced":"0"},{"fixed":"1.0\u002d1"}]}]},
            {"package":{"ecosystem":"npm","name":"c"},"ranges":[{"type":"GIT","repo":"r",
             "events":[{"introduced":"x"}]}]}],
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#;
        let record = Record::from_json(json).unwrap();
        let view = RecordView::from_json(json).unwrap();
        let from_json = Prepared::of(&view, deflate(json));
        assert_eq!(from_json, Prepared::new(&record, deflate(json)));
        assert_eq!(from_json.cve.as_deref(), Some("CVE-2024-1234"));
        assert_eq!(from_json.details_line.as_deref(), Some("first"));
        assert_eq!(from_json.distro_severity.as_deref(), Some("high"));
        let packages: Vec<(&str, u32)> = from_json.packages().collect();
        assert_eq!(
            packages,
            [
                ("Debian:12\0a", 0),
                ("Debian:12\0bb", 0),
                ("Debian:11\0a", 1),
                ("npm\0c", 2)
            ]
        );
        assert_eq!(
            from_json.packages_json,
            r#"{"Debian:11":["a"],"Debian:12":["a","bb"],"npm":["c"]}"#
        );
        assert_eq!(
            from_json.entries,
            r#"[{"v":["1.0-1"]},{"r":[{"kind":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-1"}]}]},{"r":[{"kind":"GIT","repo":"r","events":[{"introduced":"x"}]}]}]"#
        );
    }

    #[test]
    fn a_record_replaced_in_the_same_import_leaves_only_its_new_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("v.sqlite")).unwrap();
        let (r1, j1) = rec("X-1", "2024-01-01T00:00:00Z", "a");
        let (r2, j2) = rec("X-1", "2024-02-01T00:00:00Z", "b");
        let (r3, j3) = rec("X-2", "2024-01-01T00:00:00Z", "a");
        let mut w = store.writer().unwrap();
        assert_eq!(w.put(&r1, &j1, "t").unwrap(), Put::Added);
        assert_eq!(w.put(&r3, &j3, "t").unwrap(), Put::Added);
        assert_eq!(w.put(&r2, &j2, "t").unwrap(), Put::Replaced);
        w.commit().unwrap();
        let ids = |package: &str| -> Vec<String> {
            let rows = store.affected("Debian:12", None, package).unwrap();
            rows.into_iter().map(|(id, _)| id).collect()
        };
        assert_eq!(ids("a"), ["X-2"]);
        assert_eq!(ids("b"), ["X-1"]);
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

    fn json(id: &str, modified: &str, affected: &[(&str, &str)]) -> (Record, Vec<u8>) {
        let affected: Vec<String> = affected
            .iter()
            .map(|(pkg, version)| {
                format!(
                    r#"{{"package":{{"ecosystem":"Debian:12","name":"{pkg}"}},"versions":["{version}"]}}"#
                )
            })
            .collect();
        let json = format!(
            r#"{{"id":"{id}","modified":"{modified}","affected":[{}]}}"#,
            affected.join(",")
        );
        (
            Record::from_json(json.as_bytes()).unwrap(),
            json.into_bytes(),
        )
    }

    /// `(record id, versions)` of the entries of `package`, in order.
    fn entries(store: &Store, package: &str) -> Vec<(String, Vec<String>)> {
        let rows = store.affected("Debian:12", None, package).unwrap();
        rows.into_iter().map(|(id, e)| (id, e.versions)).collect()
    }

    fn v(id: &str, version: &str) -> (String, Vec<String>) {
        (id.to_owned(), vec![version.to_owned()])
    }

    #[test]
    fn packages_keep_the_records_of_earlier_imports() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("v.sqlite")).unwrap();
        let (r1, j1) = json("X-1", "2024-01-01T00:00:00Z", &[("a", "1"), ("b", "2")]);
        let (r2, j2) = json("X-2", "2024-01-01T00:00:00Z", &[("a", "3")]);
        let (r1b, j1b) = json("X-1", "2024-02-01T00:00:00Z", &[("b", "4")]);
        let (r3, j3) = json("X-3", "2024-01-01T00:00:00Z", &[("a", "5"), ("a", "6")]);
        let mut w = store.writer().unwrap();
        w.put(&r1, &j1, "t").unwrap();
        w.commit().unwrap();
        // Merged with the stored row of `a`.
        let mut w = store.writer().unwrap();
        w.put(&r2, &j2, "t").unwrap();
        w.commit().unwrap();
        assert_eq!(entries(&store, "a"), [v("X-1", "1"), v("X-2", "3")]);
        // X-1 leaves `a`, whose row keeps X-2, and is replaced in `b`.
        let mut w = store.writer().unwrap();
        assert_eq!(w.put(&r1b, &j1b, "t").unwrap(), Put::Replaced);
        w.put(&r3, &j3, "t").unwrap();
        w.commit().unwrap();
        assert_eq!(
            entries(&store, "a"),
            [v("X-2", "3"), v("X-3", "5"), v("X-3", "6")]
        );
        assert_eq!(entries(&store, "b"), [v("X-1", "4")]);
        let status = store.status().unwrap();
        assert_eq!(status.ecosystems.get("Debian:12"), Some(&3));
    }

    #[test]
    fn records_are_packed_and_damage_is_noticed() {
        let pairs = [
            (1, 0),
            (2, 7),
            (2, 8),
            (300, 0),
            (1 << 40, 1 << 20),
            (i64::MAX, u32::MAX),
        ];
        let bytes = encode_records(&pairs);
        assert_eq!(&bytes[..6], [1, 0, 1, 7, 0, 8]);
        let mut out = Vec::new();
        decode_records(&bytes, &mut out).unwrap();
        assert_eq!(out, pairs);
        out.clear();
        decode_records(&[], &mut out).unwrap();
        assert!(out.is_empty());
        assert!(decode_records(&bytes[..bytes.len() - 1], &mut out).is_none());
        assert!(
            decode_records(&[1], &mut out).is_none(),
            "a record without its entry"
        );
        assert!(
            decode_records(&[0x80; 11], &mut out).is_none(),
            "too long a number"
        );
    }

    #[test]
    fn schema_2_is_migrated_keeping_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.sqlite");
        let mut store = Store::open(&path).unwrap();
        let (r1, j1) = json("X-1", "2024-01-01T00:00:00Z", &[("a", "1"), ("b", "2")]);
        let (r2, j2) = json("X-2", "2024-01-01T00:00:00Z", &[("a", "3"), ("a", "4")]);
        let mut w = store.writer().unwrap();
        w.put(&r1, &j1, "t").unwrap();
        w.put(&r2, &j2, "t").unwrap();
        w.commit().unwrap();
        let n = |id: &str| -> i64 {
            store
                .conn
                .query_row("SELECT n FROM record WHERE id = ?1", [id], |r| r.get(0))
                .unwrap()
        };
        let (x1, x2) = (n("X-1"), n("X-2"));
        // The `affected` table as schema 2 had it (the other tables are the same).
        store
            .conn
            .execute_batch(&format!(
                "DROP TABLE affected;
                 CREATE TABLE affected (ecosystem TEXT NOT NULL, package TEXT NOT NULL,
                    record INTEGER NOT NULL, entry INTEGER NOT NULL,
                    PRIMARY KEY (ecosystem, package, record, entry)) WITHOUT ROWID;
                 INSERT INTO affected VALUES ('Debian:12', 'a', {x1}, 0), ('Debian:12', 'b', {x1}, 1),
                    ('Debian:12', 'a', {x2}, 0), ('Debian:12', 'a', {x2}, 1),
                    ('Debian:11', 'a', {x2}, 1);
                 PRAGMA user_version = 2;"
            ))
            .unwrap();
        drop(store);
        let ro = Store::open_read_only(&path).unwrap();
        assert_eq!(ro.user_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(
            entries(&ro, "a"),
            [v("X-1", "1"), v("X-2", "3"), v("X-2", "4")]
        );
        assert_eq!(entries(&ro, "b"), [v("X-1", "2")]);
        let old = ro.affected("Debian:11", None, "a").unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].1.versions, ["4"]);
        let status = ro.status().unwrap();
        assert_eq!(status.ecosystems.get("Debian:12"), Some(&2));
        assert_eq!(status.ecosystems.get("Debian:11"), Some(&1));
        assert_eq!(status.records, 2);
    }

    /// A schema 1 store as inuse 0.1 wrote it, holding the records `(id, json)`.
    fn v1_store(path: &Path, records: &[(&str, &str)]) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(
            "CREATE TABLE record (id TEXT PRIMARY KEY NOT NULL, modified_us INTEGER NOT NULL,
                modified TEXT NOT NULL, withdrawn INTEGER NOT NULL, source TEXT NOT NULL,
                json BLOB NOT NULL);
             CREATE TABLE affected (ecosystem TEXT NOT NULL, package TEXT NOT NULL,
                record_id TEXT NOT NULL, entry TEXT NOT NULL);
             CREATE INDEX affected_by_package ON affected(ecosystem, package);
             CREATE INDEX affected_by_record ON affected(record_id);
             CREATE TABLE source (ecosystem TEXT PRIMARY KEY NOT NULL, url TEXT NOT NULL,
                etag TEXT, last_modified TEXT, checked_at INTEGER NOT NULL, updated_at INTEGER);
             CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
             INSERT INTO source VALUES ('Debian', 'http://h/Debian/all.zip', '\"e\"', NULL, 1, 1);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        for (id, json) in records {
            conn.execute(
                "INSERT INTO record VALUES (?1, 0, '2024-01-01T00:00:00Z', 0, 'old.json', ?2)",
                params![id, json.as_bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO affected VALUES ('Debian:12', 'a', ?1, '{}')",
                params![id],
            )
            .unwrap();
        }
    }

    #[test]
    fn schema_1_is_migrated_keeping_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let (_, j1) = rec("X-1", "2024-01-01T00:00:00Z", "a");
        let (_, j2) = rec("X-2", "2024-01-01T00:00:00Z", "b");
        let j1 = String::from_utf8(j1).unwrap();
        let j2 = String::from_utf8(j2).unwrap();

        // Opened for writing: migrated in place.
        let path = dir.path().join("w.sqlite");
        v1_store(&path, &[("X-1", &j1), ("X-2", &j2)]);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.user_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.count().unwrap(), 2);
        assert_eq!(store.affected("Debian:12", None, "a").unwrap().len(), 1);
        assert_eq!(store.affected("Debian:12", None, "b").unwrap()[0].0, "X-2");
        assert_eq!(store.raw("X-1").unwrap().unwrap(), j1.as_bytes());
        assert!(store.source("Debian").unwrap().is_some(), "sources kept");
        drop(store);

        // Opened read-only: migrated when the file can be written...
        let path = dir.path().join("r.sqlite");
        v1_store(&path, &[("X-1", &j1)]);
        let ro = Store::open_read_only(&path).unwrap();
        assert_eq!(ro.count().unwrap(), 1);
        assert_eq!(ro.status().unwrap().schema_version, SCHEMA_VERSION);
        drop(ro);

        // ... and refused with a message saying how otherwise.
        let path = dir.path().join("ro.sqlite");
        v1_store(&path, &[("X-1", &j1)]);
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&path, perms).unwrap();
        let err = without_dac_override(|| Store::open_read_only(&path).unwrap_err());
        assert!(
            matches!(err, StoreError::Outdated { found: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("inuse db update"), "{err}");
    }

    /// Runs `f` on this thread without `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH`, so that
    /// root (CI runs as root) meets file permission bits as any other user does, then gives
    /// them back. Capabilities are per thread and libtest runs each test on its own thread,
    /// so no other test is affected; for other users this is just `f()`.
    fn without_dac_override<T>(f: impl FnOnce() -> T) -> T {
        use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
        struct Restore(rustix::thread::CapabilitySets);
        impl Drop for Restore {
            fn drop(&mut self) {
                set_capabilities(None, self.0).expect("restore the capabilities");
            }
        }
        let saved = capabilities(None).expect("read this thread's capabilities");
        let mut reduced = saved;
        reduced.effective -= CapabilitySet::DAC_OVERRIDE | CapabilitySet::DAC_READ_SEARCH;
        set_capabilities(None, reduced).expect("drop CAP_DAC_OVERRIDE");
        let _restore = Restore(saved);
        f()
    }

    #[test]
    fn new_stores_use_large_pages_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |store: &Store| -> i64 {
            store
                .conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap()
        };
        let path = dir.path().join("new.sqlite");
        let mut store = Store::open(&path).unwrap();
        assert_eq!(page_size(&store), PAGE_SIZE);
        let (r1, j1) = rec("X-1", "2024-01-01T00:00:00Z", "a");
        let mut w = store.writer().unwrap();
        w.put(&r1, &j1, "t").unwrap();
        w.commit().unwrap();
        drop(store);
        let ro = Store::open_read_only(&path).unwrap();
        assert_eq!(page_size(&ro), PAGE_SIZE);
        assert_eq!(ro.affected("Debian:12", None, "a").unwrap().len(), 1);
        drop(ro);

        // A schema 1 store (4 KiB pages) migrated in place keeps its page size.
        let path = dir.path().join("v1.sqlite");
        let j1 = String::from_utf8(j1).unwrap();
        v1_store(&path, &[("X-1", &j1)]);
        let store = Store::open(&path).unwrap();
        assert_eq!(page_size(&store), 4096);
        assert_eq!(store.count().unwrap(), 1);
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
