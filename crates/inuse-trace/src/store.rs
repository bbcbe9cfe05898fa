//! Function-level results in the observation store, so that `inuse scan` can use them.
//!
//! The store belongs to `inuse-runtime` ([`inuse_runtime::store`]): windows, roots, packages,
//! files, per-file evidence, and a `function_evidence` table meant for this tier. Its API has
//! no writer for functions yet, so this module opens the same SQLite file a second time and
//! writes through SQL, reusing the store's own tables for what they already mean:
//!
//! - a trace run is one window (`windows`, no sweeps), opened and closed through the store's
//!   API so that its schema checks apply;
//! - each traced library is a `files` row (root `/`, its owning package);
//! - a library with at least one function entered gets an `evidence` row at level
//!   [`Level::Function`] (first seen: the first hit);
//! - each entered function gets a `function_evidence` row (hits counted before its one-shot
//!   probe was removed, first and last seen: the poll that saw it).
//!
//! What the store cannot express yet, "measured and *not* entered", lives in two tables this
//! module creates (`IF NOT EXISTS`, so several versions of inuse can share a file):
//!
//! ```sql
//! trace_libraries (window_id, file_id, functions_total, functions_probed, functions_hit, symtab)
//! trace_functions (window_id, file_id, file_offset, symbol, aliases, probed, first_hit_ms)
//! trace_entries   (window_id, file_id, pid, exe, file_offset)
//! ```
//!
//! `trace_entries` says which process entered the library (`file_offset` NULL: some function
//! of it) or was the first recorded to enter the function at `file_offset`, so results can be
//! compared per process.
//!
//! A `trace_functions` row with `probed = 1` and `first_hit_ms IS NULL` is the evidence that
//! lets a report say "this function never ran during the window" (only measured absence may
//! become `not_affected`). Everything of one run is written in one transaction.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use inuse_runtime::store::{Store, StoredLevel, WindowId};
use rusqlite::{Connection, params};

use crate::TraceError;
use crate::select::Owner;
use crate::session::LibraryResult;

/// The tables this crate owns in the observation store.
pub const TRACE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS trace_libraries (
    window_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    functions_total INTEGER NOT NULL,
    functions_probed INTEGER NOT NULL,
    functions_hit INTEGER NOT NULL,
    symtab INTEGER NOT NULL,
    PRIMARY KEY (window_id, file_id)
);
-- One row per probed function; first_hit_ms NULL: measured and not entered.
CREATE TABLE IF NOT EXISTS trace_functions (
    window_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    file_offset INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    aliases TEXT NOT NULL,
    probed INTEGER NOT NULL,
    first_hit_ms INTEGER,
    PRIMARY KEY (window_id, file_id, file_offset)
);
-- Processes that entered a library (file_offset NULL) or first entered one function.
CREATE TABLE IF NOT EXISTS trace_entries (
    window_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    exe TEXT,
    file_offset INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS trace_entries_key
    ON trace_entries (window_id, file_id, pid, coalesce(file_offset, -1));
";

/// One traced library with its owner.
#[derive(Debug, Clone)]
pub struct TracedLibrary {
    /// What was measured.
    pub result: LibraryResult,
    /// Its package, if any.
    pub owner: Option<Owner>,
}

/// A run to record.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    /// Host name.
    pub host: &'a str,
    /// When probes were enabled.
    pub start: SystemTime,
    /// When they were removed.
    pub end: SystemTime,
    /// The libraries.
    pub libraries: &'a [TracedLibrary],
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn seconds(t: SystemTime) -> i64 {
    millis(t) / 1000
}

/// Records a run in the store at `path` (created if needed) as a new window.
pub fn record(path: &Path, run: &Run<'_>) -> Result<WindowId, TraceError> {
    let mut store = Store::open(path)?;
    let window = store.begin_window(run.host, run.start, None)?;
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(TRACE_SCHEMA)?;
    let tx = conn.transaction()?;
    {
        let root_id: i64 = tx.query_row(
            "INSERT INTO roots (key) VALUES ('/') ON CONFLICT (key) DO UPDATE SET key = key
             RETURNING id",
            [],
            |r| r.get(0),
        )?;
        let mut pkg = tx.prepare(
            "INSERT INTO packages (manager, name, version, source_name) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO UPDATE SET name = name RETURNING id",
        )?;
        let mut file = tx.prepare(
            "INSERT INTO files (root_id, package_id, path, elf) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT DO UPDATE SET elf = 1 RETURNING id",
        )?;
        let mut library = tx.prepare(
            "INSERT OR REPLACE INTO trace_libraries (window_id, file_id, functions_total,
                 functions_probed, functions_hit, symtab) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut function = tx.prepare(
            "INSERT OR REPLACE INTO trace_functions (window_id, file_id, file_offset, symbol,
                 aliases, probed, first_hit_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut function_evidence = tx.prepare(
            "INSERT OR REPLACE INTO function_evidence (window_id, file_id, symbol, file_offset,
                 hits, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?;
        let mut entry = tx.prepare(
            "INSERT OR REPLACE INTO trace_entries (window_id, file_id, pid, exe, file_offset)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut evidence = tx.prepare(
            "INSERT INTO evidence (window_id, file_id, level, measured, first_seen, last_seen,
                                   sweeps_seen)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, 0)
             ON CONFLICT DO UPDATE SET level = max(level, excluded.level), measured = 1,
                first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen)",
        )?;
        for lib in run.libraries {
            let package_id: i64 = match &lib.owner {
                Some(o) => pkg.query_row(
                    params![o.manager.as_str(), o.name, o.version, o.source_name],
                    |r| r.get(0),
                )?,
                None => 0,
            };
            let path = lib.result.path.to_string_lossy();
            let file_id: i64 = file.query_row(params![root_id, package_id, path], |r| r.get(0))?;
            let hit: Vec<_> = lib.result.hit().collect();
            library.execute(params![
                window.0,
                file_id,
                lib.result.functions.len(),
                lib.result.probed(),
                hit.len(),
                lib.result.symtab
            ])?;
            for p in &lib.result.entered_by {
                entry.execute(params![window.0, file_id, p.pid, p.exe, None::<i64>])?;
            }
            for f in &lib.result.functions {
                if let Some(p) = &f.first_by {
                    entry.execute(params![window.0, file_id, p.pid, p.exe, f.offset as i64])?;
                }
                function.execute(params![
                    window.0,
                    file_id,
                    f.offset as i64,
                    f.name,
                    f.aliases.join("\n"),
                    f.probed,
                    f.first_hit.map(millis)
                ])?;
                if let Some(at) = f.first_hit {
                    function_evidence.execute(params![
                        window.0,
                        file_id,
                        f.name,
                        f.offset as i64,
                        f.hits as i64,
                        seconds(at)
                    ])?;
                }
            }
            if let Some(first) = hit.iter().filter_map(|f| f.first_hit).min() {
                evidence.execute(params![
                    window.0,
                    file_id,
                    StoredLevel::FUNCTION.code(),
                    seconds(first),
                    seconds(run.end)
                ])?;
            }
        }
    }
    tx.commit()?;
    store.end_window(window, run.end)?;
    Ok(window)
}

/// A traced library as stored, for readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLibrary {
    /// Its path.
    pub path: String,
    /// Its package name.
    pub package: Option<String>,
    /// Functions found.
    pub functions_total: i64,
    /// Functions probed.
    pub functions_probed: i64,
    /// Names of the functions entered.
    pub functions_hit: Vec<String>,
}

/// The traced libraries of `window` in the store at `path`, by path. Empty when no trace was
/// ever recorded there.
pub fn read_libraries(path: &Path, window: WindowId) -> Result<Vec<StoredLibrary>, TraceError> {
    let conn = Connection::open(path)?;
    conn.execute_batch(TRACE_SCHEMA)?;
    let mut stmt = conn.prepare(
        "SELECT l.file_id, f.path, p.name, l.functions_total, l.functions_probed
         FROM trace_libraries l JOIN files f ON f.id = l.file_id
         LEFT JOIN packages p ON p.id = f.package_id
         WHERE l.window_id = ?1 ORDER BY f.path",
    )?;
    let mut hits = conn.prepare(
        "SELECT symbol FROM trace_functions
         WHERE window_id = ?1 AND file_id = ?2 AND first_hit_ms IS NOT NULL ORDER BY symbol",
    )?;
    let rows = stmt
        .query_map(params![window.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (file_id, path, package, functions_total, functions_probed) in rows {
        let functions_hit = hits
            .query_map(params![window.0, file_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        out.push(StoredLibrary {
            path,
            package,
            functions_total,
            functions_probed,
            functions_hit,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;
    use crate::session::{FunctionResult, HitProcess};

    fn function(name: &str, offset: u64, hit: Option<SystemTime>) -> FunctionResult {
        FunctionResult {
            name: name.into(),
            aliases: vec![],
            offset,
            probed: true,
            first_hit: hit,
            hits: u64::from(hit.is_some()),
            first_by: hit.map(|_| HitProcess {
                pid: 42,
                exe: Some("/usr/bin/z".into()),
            }),
        }
    }

    #[test]
    fn a_run_becomes_a_window_with_function_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obs.sqlite");
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let lib = TracedLibrary {
            result: LibraryResult {
                path: PathBuf::from("/usr/lib/libz.so.1"),
                functions: vec![
                    function("crc32", 0x47c0, Some(t0 + Duration::from_millis(1500))),
                    function("deflate", 0x6f10, None),
                ],
                symtab: false,
                unmapped: 0,
                entered_by: vec![HitProcess {
                    pid: 42,
                    exe: Some("/usr/bin/z".into()),
                }],
            },
            owner: Some(Owner {
                name: "zlib1g".into(),
                version: "1:1.2.13".into(),
                arch: "amd64".into(),
                source_name: "zlib".into(),
                source_version: "1:1.2.13".into(),
                manager: inuse_model::Manager::Dpkg,
                ecosystem: None,
                purl: "pkg:deb/debian/zlib1g".into(),
            }),
        };
        let quiet = TracedLibrary {
            result: LibraryResult {
                path: PathBuf::from("/usr/lib/libquiet.so"),
                functions: vec![function("never", 0x1000, None)],
                symtab: true,
                unmapped: 0,
                entered_by: Vec::new(),
            },
            owner: None,
        };
        let libraries = [lib, quiet];
        let run = Run {
            host: "h",
            start: t0,
            end: t0 + Duration::from_secs(5),
            libraries: &libraries,
        };
        let window = record(&path, &run).unwrap();

        let store = Store::open(&path).unwrap();
        let w = &store.windows().unwrap()[0];
        assert_eq!(
            (w.started_at, w.ended_at, w.sweeps),
            (1_000_000, Some(1_000_005), 0)
        );
        // Only the library with an entered function has evidence, at the function level.
        let ev = store.evidence(Some(window)).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].level, inuse_model::Level::Function);
        assert_eq!(ev[0].first_seen, 1_000_001);
        assert_eq!(ev[0].package.as_deref(), Some("zlib1g"));

        let stored = read_libraries(&path, window).unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[1].path, "/usr/lib/libz.so.1");
        assert_eq!(
            (stored[1].functions_total, stored[1].functions_probed),
            (2, 2)
        );
        assert_eq!(stored[1].functions_hit, ["crc32"]);
        assert!(stored[0].functions_hit.is_empty());

        // Who entered it: the library and its function, by pid and executable.
        let conn = Connection::open(&path).unwrap();
        let entries: Vec<(i64, String, Option<i64>)> = conn
            .prepare(
                "SELECT pid, exe, file_offset FROM trace_entries WHERE window_id = ?1
                 ORDER BY file_offset",
            )
            .unwrap()
            .query_map([window.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            entries,
            [
                (42, "/usr/bin/z".to_owned(), None),
                (42, "/usr/bin/z".to_owned(), Some(0x47c0))
            ]
        );

        // A second run is a second window; the tables are reused.
        let window2 = record(&path, &run).unwrap();
        assert_ne!(window, window2);
        assert_eq!(read_libraries(&path, window2).unwrap().len(), 2);
    }
}
