//! The observation store: runtime evidence accumulated over a window, in SQLite.
//!
//! One sweep sees only the processes alive at that instant; `inuse observe` sweeps
//! repeatedly and keeps everything it ever saw here, so that a later `inuse scan` can say
//! "during these 3 days, liblzma was loaded by sshd but never executed". The store is a
//! library, not part of the command, because `inuse scan` reads it and `inuse trace` (uprobes)
//! will write the function-level tier into it.
//!
//! Model: an observation *window* (start, end, sweeps) holds *evidence* per
//! (root, package, file): the strongest level seen ([`Level`], stored as [`StoredLevel`]), when first and last seen, in
//! how many sweeps, and the *processes* (executable, user, container, listening sockets) that
//! had it. Evidence is monotonic inside a window: levels only rise, first-seen only falls,
//! nothing is deleted. `function_evidence` is the tier below a file (symbol, hits) that
//! `inuse trace` fills; it is created now so that readers can rely on it.
//!
//! Durability: WAL journal, every sweep is one transaction, so a crash loses at most the sweep
//! in flight and readers never see half a sweep. The schema version is `PRAGMA user_version`;
//! a newer store than this code understands is refused rather than misread.

use std::path::Path;
use std::time::SystemTime;

use inuse_model::time::unix_seconds;

use rusqlite::{Connection, OptionalExtension, params};

use inuse_model::Level;

use crate::executed::Executed;

use crate::sweep::{PackageRef, ProcessReport, Stale, Sweep};

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// How a level of the evidence ladder ([`Level`]) is stored: the integers of schema 1, which
/// stores on users' disks hold, so they never change meaning.
///
/// `init-only` (an object whose resident pages all lie in its load-time windows,
/// [`Executed::InitOnly`]) is not a rung of the ladder: it is the runtime's refinement of
/// `loaded`. It keeps its integer between loaded and executed so that merging sweeps stays a
/// `max()`, in SQL and here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoredLevel(i64);

impl StoredLevel {
    /// Mapped by a process.
    pub const LOADED: StoredLevel = StoredLevel(1);
    /// Mapped, and only load-time code resident.
    pub const INIT_ONLY: StoredLevel = StoredLevel(2);
    /// Code outside the load-time windows resident.
    pub const EXECUTED: StoredLevel = StoredLevel(3);
    /// Named functions entered (uprobes; written by `inuse trace`).
    pub const FUNCTION: StoredLevel = StoredLevel(4);

    /// The stored level of an object's executed verdict.
    pub fn of(executed: Executed) -> StoredLevel {
        match executed {
            Executed::Yes => StoredLevel::EXECUTED,
            Executed::InitOnly => StoredLevel::INIT_ONLY,
            Executed::None | Executed::Unknown => StoredLevel::LOADED,
        }
    }

    /// The integer in the database.
    pub fn code(self) -> i64 {
        self.0
    }

    /// From the integer in the database; `None` for a value this code does not know.
    pub fn from_code(v: i64) -> Option<StoredLevel> {
        (1..=4).contains(&v).then_some(StoredLevel(v))
    }

    /// The rung of the ladder.
    pub fn level(self) -> Level {
        match self.0 {
            4 => Level::Function,
            3 => Level::Executed,
            _ => Level::Loaded,
        }
    }

    /// Whether it is `loaded` with only load-time code seen resident.
    pub fn init_only(self) -> bool {
        self == StoredLevel::INIT_ONLY
    }
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("observation store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store was written by a newer inuse.
    #[error(
        "observation store has schema version {found}, this inuse understands up to {SCHEMA_VERSION}"
    )]
    NewerSchema {
        /// The version found.
        found: i64,
    },
}

/// An observation window's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowId(pub i64);

/// An observation window as the store records it: a row, with its id and host. The window of
/// the vocabulary (start, end, sweeps) is [`WindowRecord::window`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRecord {
    /// Its id.
    pub id: WindowId,
    /// Host name it was taken on.
    pub host: String,
    /// Start, Unix seconds.
    pub started_at: i64,
    /// End, Unix seconds; `None` while running or after a crash (see `last_sweep_at`).
    pub ended_at: Option<i64>,
    /// Time of the last recorded sweep.
    pub last_sweep_at: Option<i64>,
    /// Sweeps recorded.
    pub sweeps: i64,
}

impl WindowRecord {
    /// The observation window this row covers. A window still running (or cut by a crash)
    /// ends at its last sweep; one without sweeps is empty.
    pub fn window(&self) -> inuse_model::Window {
        inuse_model::Window {
            start: self.started_at,
            end: self
                .ended_at
                .or(self.last_sweep_at)
                .unwrap_or(self.started_at),
            sweeps: u64::try_from(self.sweeps).unwrap_or(0),
        }
    }
}

/// One row of accumulated evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The window.
    pub window: WindowId,
    /// The root: `/`, a chroot directory, or `runtime:id` for a container.
    pub root: String,
    /// Path inside that root.
    pub path: String,
    /// Owning package name, if any.
    pub package: Option<String>,
    /// Its version.
    pub version: Option<String>,
    /// Strongest level seen.
    pub level: Level,
    /// With [`Level::Loaded`]: only load-time code was ever seen resident
    /// ([`Executed::InitOnly`]).
    pub init_only: bool,
    /// Whether executed evidence was measurable at least once (else `loaded` means
    /// "unmeasured", not "not executed").
    pub measured: bool,
    /// Staleness seen, if any.
    pub stale: Option<String>,
    /// Whether it was seen as an ELF object (rather than a data file).
    pub elf: bool,
    /// First seen, Unix seconds.
    pub first_seen: i64,
    /// Last seen, Unix seconds.
    pub last_seen: i64,
    /// Sweeps it was seen in.
    pub sweeps_seen: i64,
    /// Executables of the processes that had it.
    pub exes: Vec<String>,
}

/// The observation store.
pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE windows (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    last_sweep_at INTEGER,
    sweeps INTEGER NOT NULL DEFAULT 0,
    interval_ms INTEGER
);
CREATE TABLE roots (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE packages (
    id INTEGER PRIMARY KEY,
    manager TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    source_name TEXT NOT NULL,
    UNIQUE (manager, name, version, source_name)
);
-- package_id 0: owned by no package.
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    root_id INTEGER NOT NULL REFERENCES roots(id),
    package_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    elf INTEGER NOT NULL,
    UNIQUE (root_id, package_id, path)
);
CREATE TABLE evidence (
    window_id INTEGER NOT NULL REFERENCES windows(id),
    file_id INTEGER NOT NULL REFERENCES files(id),
    level INTEGER NOT NULL,
    measured INTEGER NOT NULL,
    stale TEXT,
    dlopened INTEGER,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    sweeps_seen INTEGER NOT NULL,
    PRIMARY KEY (window_id, file_id)
);
CREATE TABLE processes (
    id INTEGER PRIMARY KEY,
    window_id INTEGER NOT NULL REFERENCES windows(id),
    exe TEXT NOT NULL,
    uid INTEGER NOT NULL,
    euid INTEGER NOT NULL,
    container TEXT NOT NULL,
    listening TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (window_id, exe, uid, euid, container, listening)
);
CREATE TABLE evidence_processes (
    window_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    process_id INTEGER NOT NULL REFERENCES processes(id),
    level INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (window_id, file_id, process_id)
);
-- The function tier, written by `inuse trace` (uprobes): entries per symbol of a file.
CREATE TABLE function_evidence (
    window_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    file_offset INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (window_id, file_id, symbol)
);
CREATE INDEX evidence_file ON evidence(file_id);
";

/// A file in one sweep: (root key, package, path).
type FileKey<'a> = (&'a str, Option<&'a PackageRef>, &'a str);

/// A process identity: (exe, uid, euid, container, listening as JSON).
type Identity = (String, i64, i64, String, String);

/// What one sweep says about one file, merged over its processes.
#[derive(Debug, Clone, Copy)]
struct FileEvidence {
    elf: bool,
    level: StoredLevel,
    measured: bool,
    stale: Option<Stale>,
    dlopened: Option<bool>,
}

/// Merges a sweep per file and per (process identity, file). `roots` holds the
/// [`root_key`] of each of the sweep's processes, in order. Run on every sweep over
/// every process and mapped file, so its maps hash with foldhash (hashbrown's own choice)
/// rather than SipHash: the keys come from our own reading of `/proc`, bounded by
/// [`crate::Limits`].
#[allow(clippy::type_complexity)]
fn merge<'a>(
    sweep: &'a Sweep,
    roots: &'a [String],
) -> (
    foldhash::HashMap<FileKey<'a>, FileEvidence>,
    foldhash::HashMap<Identity, foldhash::HashMap<FileKey<'a>, StoredLevel>>,
) {
    let mut files: foldhash::HashMap<FileKey<'_>, FileEvidence> = Default::default();
    let mut identities: foldhash::HashMap<Identity, foldhash::HashMap<FileKey<'_>, StoredLevel>> =
        Default::default();
    let measured = sweep
        .processes
        .iter()
        .zip(roots)
        .filter(|(p, _)| p.unmeasurable.is_none());
    for (p, root) in measured {
        let root = root.as_str();
        let identity = (
            p.exe.clone().unwrap_or_default(),
            p.uid.map_or(-1, i64::from),
            p.euid.map_or(-1, i64::from),
            p.container
                .as_ref()
                .map(|c| format!("{}:{}", c.runtime, c.id))
                .unwrap_or_default(),
            serde_json::to_string(&p.listening).unwrap_or_default(),
        );
        let per_identity = identities.entry(identity).or_default();
        let objects = p.objects.iter().map(|o| {
            let ev = FileEvidence {
                elf: true,
                level: StoredLevel::of(o.executed),
                measured: o.executed != Executed::Unknown,
                stale: o.stale,
                dlopened: o.dlopened,
            };
            ((root, o.package.as_deref(), o.path.as_str()), ev)
        });
        let plain = p.files.iter().map(|f| {
            let ev = FileEvidence {
                elf: false,
                level: StoredLevel::LOADED,
                measured: false,
                stale: f.stale,
                dlopened: None,
            };
            ((root, f.package.as_deref(), f.path.as_str()), ev)
        });
        for (key, ev) in objects.chain(plain) {
            let level = per_identity.entry(key).or_insert(ev.level);
            *level = (*level).max(ev.level);
            files
                .entry(key)
                .and_modify(|e| {
                    e.elf |= ev.elf;
                    e.level = e.level.max(ev.level);
                    e.measured |= ev.measured;
                    e.stale = e.stale.or(ev.stale);
                    e.dlopened = match (e.dlopened, ev.dlopened) {
                        (Some(a), Some(b)) => Some(a || b),
                        (a, b) => a.or(b),
                    };
                })
                .or_insert(ev);
        }
    }
    (files, identities)
}

/// The root key of a process in the store.
pub fn root_key(p: &ProcessReport) -> String {
    match (&p.container, &p.root) {
        (Some(c), _) => format!("{}:{}", c.runtime, c.id),
        (None, Some(r)) => r.clone(),
        (None, None) => "?".to_owned(),
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Store::init(conn)
    }

    /// A store in memory (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL: a crash mid-sweep loses that sweep only; readers do not block the writer.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        // Two processes may open a new store at once (an observer and a reader): decide and
        // create under the write lock.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let created = match version {
            0 => conn.execute_batch(&format!("{SCHEMA} PRAGMA user_version = {SCHEMA_VERSION};")),
            found if found > SCHEMA_VERSION => {
                conn.execute_batch("ROLLBACK")?;
                return Err(StoreError::NewerSchema { found });
            }
            // Older versions would be migrated here, one step at a time.
            _ => Ok(()),
        };
        if let Err(e) = created {
            conn.execute_batch("ROLLBACK")?;
            return Err(e.into());
        }
        conn.execute_batch("COMMIT")?;
        Ok(Store { conn })
    }

    /// Opens a new window.
    pub fn begin_window(
        &mut self,
        host: &str,
        at: SystemTime,
        interval_ms: Option<u64>,
    ) -> Result<WindowId, StoreError> {
        self.conn.execute(
            "INSERT INTO windows (host, started_at, interval_ms) VALUES (?1, ?2, ?3)",
            params![host, unix_seconds(at), interval_ms.map(|i| i as i64)],
        )?;
        Ok(WindowId(self.conn.last_insert_rowid()))
    }

    /// Closes a window.
    pub fn end_window(&mut self, window: WindowId, at: SystemTime) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE windows SET ended_at = ?2 WHERE id = ?1",
            params![window.0, unix_seconds(at)],
        )?;
        Ok(())
    }

    /// Records one sweep, in one transaction.
    pub fn record_sweep(
        &mut self,
        window: WindowId,
        at: SystemTime,
        sweep: &Sweep,
    ) -> Result<(), StoreError> {
        let now = unix_seconds(at);
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE windows SET sweeps = sweeps + 1, last_sweep_at = ?2 WHERE id = ?1",
            params![window.0, now],
        )?;
        {
            let mut root_stmt = tx.prepare_cached(
                "INSERT INTO roots (key) VALUES (?1) ON CONFLICT (key) DO UPDATE SET key = key
                 RETURNING id",
            )?;
            let mut pkg_stmt = tx.prepare_cached(
                "INSERT INTO packages (manager, name, version, source_name) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO UPDATE SET name = name RETURNING id",
            )?;
            let mut file_stmt = tx.prepare_cached(
                "INSERT INTO files (root_id, package_id, path, elf) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO UPDATE SET elf = max(elf, excluded.elf) RETURNING id",
            )?;
            let mut proc_stmt = tx.prepare_cached(
                "INSERT INTO processes (window_id, exe, uid, euid, container, listening,
                                        first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                 ON CONFLICT DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)
                 RETURNING id",
            )?;
            let mut ev_stmt = tx.prepare_cached(
                "INSERT INTO evidence (window_id, file_id, level, measured, stale, dlopened,
                                       first_seen, last_seen, sweeps_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)
                 ON CONFLICT DO UPDATE SET
                    level = max(level, excluded.level),
                    measured = max(measured, excluded.measured),
                    stale = coalesce(stale, excluded.stale),
                    dlopened = max(coalesce(dlopened, 0), coalesce(excluded.dlopened, 0)),
                    first_seen = min(first_seen, excluded.first_seen),
                    last_seen = max(last_seen, excluded.last_seen),
                    sweeps_seen = sweeps_seen + (last_seen < excluded.last_seen)",
            )?;
            let mut ep_stmt = tx.prepare_cached(
                "INSERT INTO evidence_processes (window_id, file_id, process_id, level,
                                                 first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT DO UPDATE SET level = max(level, excluded.level),
                    last_seen = max(last_seen, excluded.last_seen)",
            )?;
            // Many processes share files and identities (a hundred workers of one server):
            // merge within the sweep first, so the database sees each file and each
            // (file, process identity) pair once.
            let roots: Vec<String> = sweep.processes.iter().map(|p| root_key(p)).collect();
            let merged = merge(sweep, &roots);
            let mut file_ids: foldhash::HashMap<&FileKey<'_>, i64> = Default::default();
            for (key, ev) in &merged.0 {
                let root_id: i64 = root_stmt.query_row(params![key.0], |r| r.get(0))?;
                let package_id: i64 = match key.1 {
                    Some(pk) => pkg_stmt.query_row(
                        params![pk.manager.as_str(), pk.name, pk.version, pk.source_name],
                        |r| r.get(0),
                    )?,
                    None => 0,
                };
                let file_id: i64 = file_stmt
                    .query_row(params![root_id, package_id, key.2, ev.elf], |r| r.get(0))?;
                ev_stmt.execute(params![
                    window.0,
                    file_id,
                    ev.level.code(),
                    ev.measured,
                    ev.stale.map(|s| s.as_str()),
                    ev.dlopened,
                    now
                ])?;
                file_ids.insert(key, file_id);
            }
            for (identity, files) in &merged.1 {
                let process_id: i64 = proc_stmt.query_row(
                    params![
                        window.0, identity.0, identity.1, identity.2, identity.3, identity.4, now
                    ],
                    |r| r.get(0),
                )?;
                for (key, level) in files {
                    if let Some(file_id) = file_ids.get(key) {
                        ep_stmt.execute(params![
                            window.0,
                            file_id,
                            process_id,
                            level.code(),
                            now
                        ])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// All windows, oldest first.
    pub fn windows(&self) -> Result<Vec<WindowRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, host, started_at, ended_at, last_sweep_at, sweeps FROM windows ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(WindowRecord {
                id: WindowId(r.get(0)?),
                host: r.get(1)?,
                started_at: r.get(2)?,
                ended_at: r.get(3)?,
                last_sweep_at: r.get(4)?,
                sweeps: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest window, if any.
    pub fn latest_window(&self) -> Result<Option<WindowId>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT max(id) FROM windows", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten()
            .map(WindowId))
    }

    /// The evidence of a window (or of all windows), ordered by root and path.
    pub fn evidence(&self, window: Option<WindowId>) -> Result<Vec<Evidence>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT e.window_id, r.key, f.path, p.name, p.version, e.level, e.measured, e.stale,
                    f.elf, e.first_seen, e.last_seen, e.sweeps_seen,
                    (SELECT group_concat(exe, char(10)) FROM (
                        SELECT DISTINCT pr.exe FROM evidence_processes ep
                        JOIN processes pr ON pr.id = ep.process_id
                        WHERE ep.window_id = e.window_id AND ep.file_id = e.file_id
                        ORDER BY pr.exe))
             FROM evidence e
             JOIN files f ON f.id = e.file_id
             JOIN roots r ON r.id = f.root_id
             LEFT JOIN packages p ON p.id = f.package_id
             WHERE ?1 IS NULL OR e.window_id = ?1
             ORDER BY e.window_id, r.key, f.path",
        )?;
        let rows = stmt.query_map(params![window.map(|w| w.0)], |r| {
            let exes: Option<String> = r.get(12)?;
            let stored = StoredLevel::from_code(r.get(5)?).unwrap_or(StoredLevel::LOADED);
            Ok(Evidence {
                window: WindowId(r.get(0)?),
                root: r.get(1)?,
                path: r.get(2)?,
                package: r.get(3)?,
                version: r.get(4)?,
                level: stored.level(),
                init_only: stored.init_only(),
                measured: r.get(6)?,
                stale: r.get(7)?,
                elf: r.get(8)?,
                first_seen: r.get(9)?,
                last_seen: r.get(10)?,
                sweeps_seen: r.get(11)?,
                exes: exes
                    .map(|s| s.lines().map(str::to_owned).collect())
                    .unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A function `inuse trace` saw entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionHit {
    /// The root key (`/`, a chroot directory, ...).
    pub root: String,
    /// The library, inside that root.
    pub path: String,
    /// The function's symbol.
    pub symbol: String,
}

impl Store {
    /// Every function `inuse trace` recorded as entered, across all windows: code that ran
    /// is a fact whatever window it was seen in.
    pub fn functions_hit(&self) -> Result<Vec<FunctionHit>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT r.key, f.path, fe.symbol FROM function_evidence fe
             JOIN files f ON f.id = fe.file_id
             JOIN roots r ON r.id = f.root_id
             WHERE fe.hits > 0
             ORDER BY r.key, f.path, fe.symbol",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(FunctionHit {
                root: row.get(0)?,
                path: row.get(1)?,
                symbol: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::sweep::{ObjectReport, PackageRef};

    fn process(exe: &str, executed: Executed) -> ProcessReport {
        ProcessReport {
            pid: 1,
            start_time: 1,
            ppid: 0,
            comm: "x".into(),
            cmdline: vec![],
            exe: Some(exe.into()),
            uid: Some(0),
            euid: Some(0),
            cap_eff: None,
            setid: None,
            root: Some("/".into()),
            container: None,
            listening: vec!["tcp 0.0.0.0:22".into()],
            objects: vec![ObjectReport {
                path: "/usr/lib/libz.so.1".into(),
                package: Some(std::sync::Arc::new(PackageRef {
                    name: "zlib1g".into(),
                    version: "1:1.2.13".into(),
                    arch: "amd64".into(),
                    source_name: "zlib".into(),
                    source_version: "1:1.2.13".into(),
                    manager: inuse_model::Manager::Dpkg,
                    ecosystem: None,
                    purl: String::new(),
                })),
                dlopened: Some(false),
                executed,
                stale: None,
                disturbed: None,
                dev: 1,
                ino: 2,
            }],
            files: vec![],
            unmeasurable: None,
            executed_note: None,
            disturbed: None,
        }
    }

    fn sweep(processes: Vec<ProcessReport>) -> Sweep {
        Sweep {
            kernel: None,
            processes: processes.into_iter().map(std::sync::Arc::new).collect(),
            missing: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn evidence_is_monotonic() {
        let mut store = Store::in_memory().unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1000);
        let w = store.begin_window("h", t0, Some(5000)).unwrap();
        store
            .record_sweep(w, t0, &sweep(vec![process("/usr/bin/a", Executed::Yes)]))
            .unwrap();
        // Later sweeps see less (init-only), then nothing: nothing is forgotten.
        let t1 = t0 + Duration::from_secs(5);
        store
            .record_sweep(
                w,
                t1,
                &sweep(vec![process("/usr/bin/b", Executed::InitOnly)]),
            )
            .unwrap();
        store
            .record_sweep(w, t1 + Duration::from_secs(5), &sweep(vec![]))
            .unwrap();
        store.end_window(w, t1 + Duration::from_secs(6)).unwrap();
        let ev = store.evidence(Some(w)).unwrap();
        assert_eq!(ev.len(), 1);
        let e = &ev[0];
        assert_eq!(e.level, Level::Executed);
        assert_eq!((e.first_seen, e.last_seen, e.sweeps_seen), (1000, 1005, 2));
        assert_eq!(e.package.as_deref(), Some("zlib1g"));
        assert_eq!(e.exes, vec!["/usr/bin/a", "/usr/bin/b"]);
        let windows = store.windows().unwrap();
        assert_eq!(windows[0].sweeps, 3);
        assert_eq!(windows[0].ended_at, Some(1011));
    }

    /// Issue 20: uprobes turn a process's evidence `unknown` while they are set (copied text)
    /// and after (load-time pages gone); the window keeps the strongest level seen, and
    /// `measured` once it was measured, whatever the sweeps after say.
    #[test]
    fn disturbed_sweeps_never_lower_evidence() {
        let mut store = Store::in_memory().unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1000);
        let w = store.begin_window("h", t0, Some(5000)).unwrap();
        let seen = [
            Executed::InitOnly,
            Executed::Yes,
            Executed::Unknown,
            Executed::None,
            Executed::InitOnly,
        ];
        for (i, e) in seen.into_iter().enumerate() {
            let t = t0 + Duration::from_secs(5 * i as u64);
            store
                .record_sweep(w, t, &sweep(vec![process("/usr/bin/a", e)]))
                .unwrap();
            let ev = store.evidence(Some(w)).unwrap();
            // The first sweep saw load-time code only: loaded, init-only.
            let expected = if i == 0 {
                (Level::Loaded, true)
            } else {
                (Level::Executed, false)
            };
            assert_eq!(
                ((ev[0].level, ev[0].init_only), ev[0].measured),
                (expected, true),
                "{e:?}"
            );
        }
        // A window that only ever saw disturbed evidence says loaded, unmeasured: never
        // "measured and not executed".
        let w2 = store.begin_window("h", t0, Some(5000)).unwrap();
        store
            .record_sweep(
                w2,
                t0,
                &sweep(vec![process("/usr/bin/a", Executed::Unknown)]),
            )
            .unwrap();
        let ev = store.evidence(Some(w2)).unwrap();
        assert_eq!((ev[0].level, ev[0].measured), (Level::Loaded, false));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::NewerSchema { found: 99 })
        ));
        // And a current one reopens.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .unwrap();
        drop(conn);
        assert!(Store::open(&path).is_ok());
    }
}
