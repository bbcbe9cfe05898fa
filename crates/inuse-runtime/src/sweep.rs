//! One pass over the live processes: from raw `/proc` facts to per-process reports.
//!
//! A [`Sweeper`] keeps what is expensive and does not change between sweeps: per root (keyed
//! by the device and inode of `/proc/PID/root`, so processes of one container share it) the
//! opened [`Root`], its package inventory and file-owner index, the static dependency closure
//! of each executable (keyed by the executable's device and inode) and owner lookups; per
//! mapped file (device and inode) its load windows. `inuse ps` runs one sweep; `inuse observe`
//! keeps the sweeper for its whole window, so a sweep after the first costs the `/proc` reads,
//! and with [`Sweeper::set_incremental`] only `/proc/PID/stat` of processes that neither ran
//! nor faulted since.
//!
//! A sweep reads the processes in parallel (pure `/proc` I/O; the host's package database
//! loads alongside on the first sweep), fills the caches it lacks (load windows, closures of
//! new executables, socket tables) in parallel, then analyses the processes in parallel
//! against the shared caches. Processes that exit mid-read, or whose pid is reused (the start
//! time changes), are dropped silently: a sweep never fails because of a race.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use inuse_ldso::{Options, Resolver};
use inuse_pkgdb::{Inventory, OwnerIndex, PackageId};
use inuse_root::Root;
use rayon::prelude::*;
use serde::Serialize;

pub use inuse_model::{ContainerRef as Container, PackageRef};

use crate::executed::{self, Disturbance, ExecMapping, Executed, LoadWindows};
use crate::kernel::{self, KernelReport};
use crate::maps::{Mapping, Target};
use crate::net::{self, Proto};
use crate::process::{self, RawProcess, ReadError, Residency};
use crate::{Limits, timing};

/// Why mapped code is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stale {
    /// The mapped file was deleted.
    Deleted,
    /// Another file (device and inode) is at the path now: the code running is the old one.
    Replaced,
}

impl Stale {
    /// The stable name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Stale::Deleted => "deleted",
            Stale::Replaced => "replaced",
        }
    }
}

/// The privilege bits of the executable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SetId {
    /// Set-user-ID bit.
    pub setuid: bool,
    /// Set-group-ID bit.
    pub setgid: bool,
    /// A `security.capability` extended attribute (file capabilities).
    pub file_caps: bool,
}

/// A mapped ELF object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectReport {
    /// Path inside the process's root.
    pub path: String,
    /// Owning package, resolved in the process's root (shared by every object of it).
    pub package: Option<Arc<PackageRef>>,
    /// Not in the executable's static dependency closure; `null` when the closure is unknown
    /// (deleted or unreadable executable).
    pub dlopened: Option<bool>,
    /// Evidence that its code ran.
    pub executed: Executed,
    /// Deleted or replaced since it was mapped.
    pub stale: Option<Stale>,
    /// Why `executed` is `unknown` (or how a `yes` was found despite it): its residency was
    /// disturbed (uprobe breakpoints, copied text, load-time pages gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disturbed: Option<Disturbance>,
    /// Device of the mapped file.
    #[serde(skip)]
    pub dev: u64,
    /// Inode of the mapped file.
    #[serde(skip)]
    pub ino: u64,
}

/// A mapped file that is not an ELF object (locale archive, font, jar, database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Path inside the process's root.
    pub path: String,
    /// Owning package.
    pub package: Option<Arc<PackageRef>>,
    /// Deleted or replaced since it was mapped.
    pub stale: Option<Stale>,
}

/// One process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessReport {
    /// Process id.
    pub pid: u32,
    /// Start time in clock ticks after boot: with the pid, identifies the process.
    pub start_time: u64,
    /// Parent process id.
    pub ppid: u32,
    /// Command name.
    pub comm: String,
    /// Command line.
    pub cmdline: Vec<String>,
    /// Executable path as the kernel shows it (with `" (deleted)"` when deleted).
    pub exe: Option<String>,
    /// Real user id.
    pub uid: Option<u32>,
    /// Effective user id.
    pub euid: Option<u32>,
    /// Effective capabilities, hexadecimal as in `/proc/PID/status`.
    pub cap_eff: Option<String>,
    /// Set-ID bits and file capabilities of the executable.
    pub setid: Option<SetId>,
    /// The process's root: `/` when it is the host's, the chroot directory, or
    /// `/proc/PID/root` for another mount namespace's.
    pub root: Option<String>,
    /// The container, from its cgroup.
    pub container: Option<Container>,
    /// Sockets it listens on.
    pub listening: Vec<String>,
    /// Mapped ELF objects, in address order.
    pub objects: Vec<ObjectReport>,
    /// Other mapped files.
    pub files: Vec<FileReport>,
    /// Why its mappings could not be read.
    pub unmeasurable: Option<String>,
    /// Why the executed evidence of all its objects is `unknown`, when a process-wide check
    /// distrusts residency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_note: Option<String>,
    /// Set when uprobes, or another writer of text, disturbed the residency evidence of this
    /// process: `uprobes` when it carries the kernel's `[uprobes]` area or a file it maps has
    /// uprobes registered and copied pages, `copied-text` for copied text pages of unknown
    /// cause. Its objects' `disturbed` say which.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disturbed: Option<Disturbance>,
}

/// The result of one sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    /// The running kernel against the host's installed kernels.
    pub kernel: Option<KernelReport>,
    /// Processes, by pid. Shared with the sweeper's memory of unchanged processes
    /// (incremental sweeps): a report that did not change is not copied.
    pub processes: Vec<Arc<ProcessReport>>,
    /// Pids asked for that do not exist.
    #[serde(skip)]
    pub missing: Vec<u32>,
    /// Problems reading package databases, one line each.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The static closure of one executable.
#[derive(Debug, Default)]
struct Closure {
    paths: HashSet<PathBuf>,
    ids: HashSet<(u64, u64)>,
    /// File names and requested names of the objects and of the missing libraries: a stale
    /// library (deleted, or replaced by a file the loader now resolves elsewhere) is matched
    /// by name.
    names: HashSet<Vec<u8>>,
}

/// Per-root state.
struct RootCtx {
    root: Root,
    inventory: Inventory,
    owners: OwnerIndex,
    /// Owner lookups, shared by the parallel analysis.
    owner_cache: Mutex<HashMap<PathBuf, Option<PackageId>>>,
    /// Static closures by the executable's (device, inode), filled before the analysis.
    closures: HashMap<(u64, u64), Option<Arc<Closure>>>,
    /// Each package's identity, made once when first met and shared by every object of it.
    identities: Vec<std::sync::OnceLock<Arc<PackageRef>>>,
}

impl RootCtx {
    fn open(dir: &Path) -> io::Result<RootCtx> {
        let root = Root::open(dir)?;
        let (inventory, owners) = Inventory::load_with_owners(&root);
        let identities = (0..inventory.packages.len())
            .map(|_| std::sync::OnceLock::new())
            .collect();
        Ok(RootCtx {
            root,
            inventory,
            owners,
            owner_cache: Mutex::new(HashMap::new()),
            closures: HashMap::new(),
            identities,
        })
    }

    fn package(&self, path: &Path) -> Option<Arc<PackageRef>> {
        let cached = lock(&self.owner_cache).get(path).copied();
        let id = cached.unwrap_or_else(|| {
            // Looked up outside the lock; two threads may both look up a path once.
            let id = self.owners.owner(path);
            lock(&self.owner_cache).insert(path.to_owned(), id);
            id
        });
        let id = id?;
        let package = self.inventory.get(id)?;
        let slot = self.identities.get(id.index())?;
        Some(Arc::clone(
            slot.get_or_init(|| Arc::new(package.identity.clone())),
        ))
    }

    /// The static dependency closure of the executable at `exe` (a path inside the root);
    /// `None` when the loader emulation cannot resolve it.
    fn resolve_closure(&self, exe: &Path) -> Option<Arc<Closure>> {
        let resolver = Resolver::new(&self.root, Options::default(), PathBuf::from("/"));
        resolver.resolve(exe).ok().map(|r| {
            let mut c = Closure::default();
            c.paths.insert(r.input.clone());
            if let Ok(real) = self.root.canonicalize(&r.input) {
                c.paths.insert(real);
            }
            if let Ok(st) = self.root.stat(&r.input) {
                c.ids.insert((st.dev, st.ino));
            }
            for m in &r.missing {
                c.names.insert(m.name.clone());
            }
            for o in &r.objects {
                c.names.insert(o.name.clone());
                for p in [&o.path, &o.realpath] {
                    if let Some(f) = p.file_name() {
                        c.names.insert(f.as_bytes().to_vec());
                    }
                }
                c.paths.insert(o.path.clone());
                c.paths.insert(o.realpath.clone());
                c.ids.insert((o.dev, o.ino));
            }
            Arc::new(c)
        })
    }
}

/// The guarded value, also after a panic elsewhere (the caches stay consistent: each insert
/// is one call).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs sweeps, keeping caches between them.
pub struct Sweeper {
    limits: Limits,
    page_size: u64,
    fault_around: u64,
    host: (u64, u64),
    roots: HashMap<(u64, u64), Option<RootCtx>>,
    windows: HashMap<(u64, u64), Option<Arc<LoadWindows>>>,
    warnings: Vec<String>,
    incremental: bool,
    /// Per process (pid, start time), when incremental: its activity and report at its last
    /// full read.
    previous: HashMap<(u32, u64), Previous>,
    /// When incremental: `/proc/PID/stat` of each process seen, kept open so the next sweep
    /// reads it with one `pread` ([`process::reread_stat`]).
    stat_files: HashMap<u32, File>,
    /// How many `stat` files may be kept open (a share of the descriptor limit).
    stat_budget: usize,
    /// tracefs, found or mounted at the first sweep (`None` when neither worked), kept for
    /// the sweeper's life so that repeated sweeps do not mount it again and again.
    tracefs: Option<Option<crate::uprobes::TracefsMount>>,
    /// The files with uprobes registered, read at the start of each sweep.
    probed: crate::uprobes::ProbedFiles,
}

/// What the read phase did with a process's `stat` file.
enum StatFile {
    /// Read through the file kept from the last sweep: keep it.
    Kept,
    /// Opened now: keep this one.
    Opened(File),
    /// Nothing to keep (the process is gone, or the file could not be opened).
    None,
}

/// A mapped file whose load windows are still to be read, and how to reach it.
struct PendingWindows<'a> {
    pid: u32,
    mapping: &'a Mapping,
    root_dir: PathBuf,
    prefix: PathBuf,
    path: &'a [u8],
}

/// The load windows of one file; `None` when it is not a readable ELF object.
type FileWindows = Option<Arc<LoadWindows>>;

/// What the parallel read phase found for one pid.
enum Read {
    /// Read in full.
    Full(Box<RawProcess>),
    /// Neither ran nor faulted since its last full read: nothing new can be resident or
    /// mapped, so its last report stands.
    Unchanged(u32, u64),
    /// Could not be read.
    Failed(u32, ReadError),
}

/// A process's activity ([`activity`]), report and root key at its last full read.
type Previous = ((u64, u64), Arc<ProcessReport>, Option<(u64, u64)>);

/// CPU time (utime + stime) and page faults (minor + major) of all threads of a process.
fn activity(stat: &crate::stat::ProcStat) -> (u64, u64) {
    (
        stat.utime.saturating_add(stat.stime),
        stat.minflt.saturating_add(stat.majflt),
    )
}

/// A (device, inode) pair: of a process's root, or of a file.
type DevIno = (u64, u64);

/// How many processes mapping a file are tried to read its load windows.
const WINDOW_CANDIDATES: usize = 4;

/// A file as one root sees it: (root, device, inode, marked deleted). The cache keeps the
/// path it was checked at; another path of the same file is checked on its own.
type StaleKey = ((u64, u64), u64, u64, bool);

/// Per sweep: staleness of each file, with the path it was checked at.
type StaleCache = HashMap<StaleKey, (PathBuf, Option<Stale>)>;

/// `check()` once per file and path per sweep, however many processes map it; shared by the
/// parallel analysis. The check runs outside the lock (two threads may both check a file
/// once); the first path checked for a file is the one kept.
fn cached_stale(
    cache: &Mutex<StaleCache>,
    key: StaleKey,
    path: &Path,
    check: impl FnOnce() -> Option<Stale>,
) -> Option<Stale> {
    let cached = match lock(cache).get(&key) {
        Some((p, s)) if p == path => return *s,
        Some(_) => true,
        None => false,
    };
    let s = check();
    if !cached {
        lock(cache)
            .entry(key)
            .or_insert_with(|| (path.to_owned(), s));
    }
    s
}

impl Sweeper {
    /// A sweeper with the given limits.
    pub fn new(limits: Limits) -> io::Result<Sweeper> {
        let host = std::fs::metadata("/")?;
        Ok(Sweeper {
            limits,
            page_size: rustix::param::page_size() as u64,
            fault_around: executed::fault_around_bytes(),
            host: (host.dev(), host.ino()),
            roots: HashMap::new(),
            windows: HashMap::new(),
            warnings: Vec::new(),
            incremental: false,
            previous: HashMap::new(),
            stat_files: HashMap::new(),
            stat_budget: 0,
            tracefs: None,
            probed: crate::uprobes::ProbedFiles::default(),
        })
    }

    /// Turns incremental sweeps on (for repeated sweeps, as `inuse observe` does): a process
    /// whose CPU time (`utime` + `stime`) and page-fault counts (`minflt` + `majflt`, which
    /// count every thread, live or exited) are unchanged since its last full read is not
    /// read again. It cannot have made a page resident (that takes a fault, which fault
    /// counters count) nor loaded a library (the loader writes its relocations and so faults);
    /// its last report is reused, with staleness of its files re-checked. Only an `mmap` that
    /// is never touched and costs less than a clock tick can slip by, until the process's
    /// next fault.
    ///
    /// Incremental sweeps also keep each process's `/proc/PID/stat` open, within a budget of
    /// file descriptors: the soft limit is raised to the hard one (bounded) and half of it
    /// above 256 is used, the rest left for the reads of a sweep and the store.
    pub fn set_incremental(&mut self, on: bool) {
        self.incremental = on;
        self.previous.clear();
        self.stat_files.clear();
        self.stat_budget = if on { stat_budget() } else { 0 };
    }

    /// The fault-around size the executed evidence assumes.
    pub fn fault_around(&self) -> u64 {
        self.fault_around
    }

    /// Sweeps the given pids, or every process when `pids` is `None`.
    pub fn sweep(&mut self, pids: Option<&[u32]>) -> Sweep {
        // Unreadable (not root, no tracefs): copies are still seen, only their cause is not
        // named.
        let tracefs = self
            .tracefs
            .get_or_insert_with(|| crate::uprobes::TracefsMount::open().ok());
        self.probed = tracefs
            .as_ref()
            .and_then(|t| t.probed_files().ok())
            .unwrap_or_default();
        let all;
        let pids = match pids {
            Some(p) => p,
            None => {
                all = process::pids().unwrap_or_default();
                &all
            }
        };
        let (limits, page_size, incremental) = (self.limits, self.page_size, self.incremental);
        let previous_reports = &self.previous;
        let stat_files = &self.stat_files;
        // The host's package database (inventory and owner index: the most expensive part of
        // a first sweep) loads on one thread while the /proc reads run on the others.
        let load_host = !self.roots.contains_key(&self.host);
        let started = std::time::Instant::now();
        let (host_ctx, raw) = rayon::join(
            || {
                load_host.then(|| {
                    let opened = RootCtx::open(Path::new("/"));
                    timing("sweep: host package database", started);
                    opened
                })
            },
            || {
                let raw = read_all(
                    pids,
                    previous_reports,
                    stat_files,
                    limits,
                    page_size,
                    incremental,
                );
                timing("sweep: /proc reads", started);
                raw
            },
        );
        let (raw, kept): (Vec<Read>, Vec<StatFile>) = raw.into_iter().unzip();
        if incremental {
            // Files of processes gone, or not listed any more, are closed here.
            let mut old = std::mem::take(&mut self.stat_files);
            for (&pid, file) in pids.iter().zip(kept) {
                if self.stat_files.len() >= self.stat_budget {
                    break;
                }
                let file = match file {
                    StatFile::Kept => old.remove(&pid),
                    StatFile::Opened(f) => Some(f),
                    StatFile::None => None,
                };
                if let Some(f) = file {
                    self.stat_files.insert(pid, f);
                }
            }
        }
        if let Some(opened) = host_ctx {
            let ctx = checked(opened, Path::new("/"), &mut self.warnings);
            self.roots.insert(self.host, ctx);
        }
        self.load_windows(&raw);
        timing("sweep: load windows", started);
        self.open_roots(&raw);
        self.load_closures(&raw);
        let listeners = self.socket_tables(&raw);
        timing("sweep: closures", started);
        let stale_cache = Mutex::new(StaleCache::new());
        // A report may mix two processes when its pid was reused while it was read: when the
        // read was not whole (`stat` read before `/proc/PID` was opened), or when the
        // analysis read `/proc/PID/root` of a process in another root. Those are checked once
        // analysed, and dropped if the pid names another process now. (Load windows read
        // through `map_files` are checked by inode; socket tables by namespace.)
        let host = self.host;
        let analysed: Vec<Option<ProcessReport>> = raw
            .par_iter()
            .map(|read| match read {
                Read::Full(raw) => {
                    let other_root = raw.root.as_ref().is_some_and(|r| (r.dev, r.ino) != host);
                    self.analyse(raw, &listeners, &stale_cache).filter(|_| {
                        (raw.whole && !other_root)
                            || process::same_process(raw.pid, raw.stat.start_time, &limits)
                    })
                }
                _ => None,
            })
            .collect();
        timing("sweep: parallel analysis", started);
        let mut last = std::mem::take(&mut self.previous);
        let mut processes = Vec::with_capacity(raw.len());
        let mut missing = Vec::new();
        for (read, report) in raw.into_iter().zip(analysed) {
            match read {
                Read::Full(raw) => {
                    let Some(report) = report else { continue };
                    let report = Arc::new(report);
                    if incremental {
                        let key = (raw.pid, raw.stat.start_time);
                        let root = raw.root.as_ref().map(|r| (r.dev, r.ino));
                        let previous = (activity(&raw.stat), Arc::clone(&report), root);
                        self.previous.insert(key, previous);
                    }
                    processes.push(report);
                }
                Read::Unchanged(pid, start) => {
                    if let Some(mut entry) = last.remove(&(pid, start)) {
                        // Its files can be replaced or deleted while it sleeps: check again.
                        if let Some(root) = entry.2 {
                            self.recheck_stale(pid, root, &mut entry.1, &stale_cache);
                        }
                        processes.push(Arc::clone(&entry.1));
                        self.previous.insert((pid, start), entry);
                    }
                }
                Read::Failed(pid, ReadError::Gone) => missing.push(pid),
                Read::Failed(_, ReadError::KernelThread) => {}
                Read::Failed(pid, ReadError::Other(e)) => processes.push(Arc::new(ProcessReport {
                    pid,
                    start_time: 0,
                    ppid: 0,
                    comm: String::new(),
                    cmdline: Vec::new(),
                    exe: None,
                    uid: None,
                    euid: None,
                    cap_eff: None,
                    setid: None,
                    root: None,
                    container: None,
                    listening: Vec::new(),
                    objects: Vec::new(),
                    files: Vec::new(),
                    unmeasurable: Some(e),
                    executed_note: None,
                    disturbed: None,
                })),
            }
        }
        timing("sweep: analysis", started);
        let kernel = root_ctx(
            &mut self.roots,
            &mut self.warnings,
            self.host,
            Path::new("/"),
        )
        .and_then(|ctx| kernel::report(&ctx.root, &ctx.inventory, &ctx.owners));
        Sweep {
            kernel,
            processes,
            missing,
            warnings: std::mem::take(&mut self.warnings),
        }
    }

    /// Reads, in parallel, the load windows of every mapped file that no earlier sweep read
    /// (the ELF parsing behind `executed`), each through the first of up to
    /// [`WINDOW_CANDIDATES`] processes mapping it that lets the file be opened (one may have
    /// exited, or live in a root where the path leads elsewhere). A file none of them opens
    /// is tried again next sweep.
    ///
    /// Shared mappings are never opened: the loader maps ELF objects private, and a shared
    /// mapping may be a file this process itself holds POSIX locks on (SQLite's `-shm` of
    /// the observation store): closing any descriptor of a file drops all of the process's
    /// locks on it, after which another process may truncate the file under our mapping.
    fn load_windows(&mut self, raw: &[Read]) {
        let mut todo: HashMap<(u64, u64), Vec<PendingWindows<'_>>> = HashMap::new();
        for (raw, root_id) in measurable(raw) {
            let (root_dir, prefix) = self.root_paths(raw.pid, root_id);
            for m in &raw.mappings {
                if let Target::File { path, .. } = &m.target
                    && !m.shared
                    && !self.windows.contains_key(&(m.dev, m.inode))
                {
                    let candidates = todo.entry((m.dev, m.inode)).or_default();
                    if candidates.len() < WINDOW_CANDIDATES
                        && candidates.last().is_none_or(|c| c.pid != raw.pid)
                    {
                        candidates.push(PendingWindows {
                            pid: raw.pid,
                            mapping: m,
                            root_dir: root_dir.clone(),
                            prefix: prefix.clone(),
                            path,
                        });
                    }
                }
            }
        }
        let done: Vec<((u64, u64), Option<FileWindows>)> = todo
            .into_par_iter()
            .map(|(key, candidates)| {
                let windows = candidates
                    .iter()
                    .find_map(|p| read_windows(p.pid, p.mapping, &p.root_dir, &p.prefix, p.path));
                (key, windows)
            })
            .collect();
        for (key, windows) in done {
            if let Some(w) = windows {
                self.windows.insert(key, w);
            }
        }
    }

    /// Opens the root context of every measurable process's root not opened yet (loading
    /// that root's package databases), in parallel across roots.
    fn open_roots(&mut self, raw: &[Read]) {
        let mut todo: HashMap<(u64, u64), PathBuf> = HashMap::new();
        for (raw, root_id) in measurable(raw) {
            let key = (root_id.dev, root_id.ino);
            if !self.roots.contains_key(&key) {
                todo.entry(key)
                    .or_insert_with(|| self.root_paths(raw.pid, root_id).0);
            }
        }
        let opened: Vec<_> = todo
            .into_par_iter()
            .map(|(key, dir)| {
                let ctx = RootCtx::open(&dir);
                (key, dir, ctx)
            })
            .collect();
        for (key, dir, ctx) in opened {
            let ctx = checked(ctx, &dir, &mut self.warnings);
            self.roots.insert(key, ctx);
        }
    }

    /// Resolves, in parallel, the static closure of every executable of a measurable process
    /// whose closure its root context does not hold yet.
    fn load_closures(&mut self, raw: &[Read]) {
        // (root key, executable's (device, inode)) -> the executable's path in that root.
        let mut todo: HashMap<(DevIno, DevIno), PathBuf> = HashMap::new();
        for (raw, root_id) in measurable(raw) {
            let root_key = (root_id.dev, root_id.ino);
            let Some(Some(ctx)) = self.roots.get(&root_key) else {
                continue;
            };
            let Some((dev, ino, path, false)) = exe_mapping(raw) else {
                continue;
            };
            if ctx.closures.contains_key(&(dev, ino)) || todo.contains_key(&(root_key, (dev, ino)))
            {
                continue;
            }
            let prefix = self.root_paths(raw.pid, root_id).1;
            if let Some(inner) = process::in_root_path(path, &prefix) {
                todo.insert((root_key, (dev, ino)), inner);
            }
        }
        let roots = &self.roots;
        let resolved: Vec<_> = todo
            .into_par_iter()
            .map(|((root_key, exe_key), inner)| {
                let closure = roots
                    .get(&root_key)
                    .and_then(Option::as_ref)
                    .and_then(|ctx| ctx.resolve_closure(&inner));
                (root_key, exe_key, closure)
            })
            .collect();
        for (root_key, exe_key, closure) in resolved {
            if let Some(Some(ctx)) = self.roots.get_mut(&root_key) {
                ctx.closures.insert(exe_key, closure);
            }
        }
    }

    /// The socket tables (inode -> description) of every network namespace in which a read
    /// process holds a socket, each read once per sweep through the first such process.
    fn socket_tables(&self, raw: &[Read]) -> HashMap<u64, HashMap<u64, String>> {
        let mut tables = HashMap::new();
        for read in raw {
            let Read::Full(raw) = read else { continue };
            if raw.sockets.is_empty() {
                continue;
            }
            let Some(ns) = raw.netns else { continue };
            if let std::collections::hash_map::Entry::Vacant(slot) = tables.entry(ns) {
                // Read through this process's `/proc/PID/net`: kept only if the pid is still
                // in that namespace afterwards (else the next process of it is tried).
                let table = socket_table(raw.pid, self.limits.max_net_table);
                let still = std::fs::metadata(format!("/proc/{}/ns/net", raw.pid))
                    .is_ok_and(|m| m.ino() == ns);
                if still {
                    slot.insert(table);
                }
            }
        }
        tables
    }

    /// The directory through which a process's root is read, and the prefix its mapped paths
    /// carry as we see them (paths in maps are relative to *our* root: a chroot's files appear
    /// under its directory).
    fn root_paths(&self, pid: u32, root_id: &process::RootId) -> (PathBuf, PathBuf) {
        if (root_id.dev, root_id.ino) == self.host {
            (PathBuf::from("/"), PathBuf::from("/"))
        } else {
            (
                PathBuf::from(format!("/proc/{pid}/root")),
                root_id.link.clone(),
            )
        }
    }

    /// The report of one fully read process, against the caches filled before: its root
    /// context, its executable's closure, load windows, socket tables. `None` when its root
    /// could not be opened.
    fn analyse(
        &self,
        raw: &RawProcess,
        listeners: &HashMap<u64, HashMap<u64, String>>,
        stale_cache: &Mutex<StaleCache>,
    ) -> Option<ProcessReport> {
        let pid = raw.pid;
        let mut report = ProcessReport {
            pid,
            start_time: raw.stat.start_time,
            ppid: raw.stat.ppid,
            comm: raw.stat.comm.clone(),
            cmdline: raw.cmdline.clone(),
            exe: raw.exe.as_ref().map(|e| e.to_string_lossy().into_owned()),
            uid: raw.status.uid,
            euid: raw.status.euid,
            cap_eff: raw.status.cap_eff.map(|c| format!("{c:016x}")),
            setid: raw.exe_mode.map(|m| SetId {
                setuid: m.mode & 0o4000 != 0,
                setgid: m.mode & 0o2000 != 0,
                file_caps: m.file_caps,
            }),
            root: None,
            container: raw.container.clone(),
            listening: Vec::new(),
            objects: Vec::new(),
            files: Vec::new(),
            unmeasurable: raw.unmeasurable.clone(),
            executed_note: None,
            disturbed: raw.uprobes_area.then_some(Disturbance::Uprobes),
        };
        let Some(root_id) = raw.root.as_ref().filter(|_| raw.unmeasurable.is_none()) else {
            return Some(report);
        };
        let key = (root_id.dev, root_id.ino);
        let is_host = key == self.host;
        let (root_dir, prefix) = self.root_paths(pid, root_id);
        report.root = Some(if is_host {
            "/".to_owned()
        } else if root_id.link != Path::new("/") {
            root_id.link.to_string_lossy().into_owned()
        } else {
            format!("/proc/{pid}/root")
        });
        report.listening = listening(raw, listeners);
        let (fault_around, page_size) = (self.fault_around, self.page_size);
        // Group the file mappings by file, in address order of first appearance.
        let mut order: Vec<(u64, u64, &[u8], bool)> = Vec::new();
        let mut groups: HashMap<(u64, u64), Vec<&Mapping>> = HashMap::new();
        for m in &raw.mappings {
            if let Target::File { path, deleted } = &m.target {
                let entry = groups.entry((m.dev, m.inode)).or_default();
                if entry.is_empty() {
                    order.push((m.dev, m.inode, path, *deleted));
                }
                entry.push(m);
            }
        }
        let exe_key = exe_mapping(raw);
        // Process-wide distrust of residency.
        if raw.status.vm_lck_kib.is_some_and(|k| k > 0) {
            report.executed_note =
                Some("memory is locked (mlock): residency says nothing about execution".into());
        } else if let Some((dev, ino, _, _)) = exe_key {
            let exe_maps: Vec<&&Mapping> = groups[&(dev, ino)].iter().filter(|m| m.exec).collect();
            let all_pages = !exe_maps.is_empty()
                && exe_maps
                    .iter()
                    .all(|m| matches!(raw.residency.get(&m.start), Some(Residency::Pages(_))));
            let none_resident = exe_maps.iter().all(|m| {
                raw.residency
                    .get(&m.start)
                    .is_some_and(|r| (0..m.len() / page_size).all(|i| !r.page(i)))
            });
            if all_pages && none_resident {
                report.executed_note = Some(
                    "no page of the running executable is resident (reclaimed?): residency \
                     cannot be trusted"
                        .into(),
                );
            }
        }
        let windows = &self.windows;
        let ctx = self.roots.get(&key)?.as_ref()?;
        let closure = exe_key.and_then(|(dev, ino, _, deleted)| {
            if deleted {
                return None;
            }
            ctx.closures.get(&(dev, ino)).cloned().flatten()
        });
        for (dev, ino, path, deleted_flag) in order {
            let maps = &groups[&(dev, ino)];
            let inner = process::in_root_path(path, &prefix)
                .unwrap_or_else(|| PathBuf::from(OsStr::from_bytes(path)));
            let shown = inner.to_string_lossy().into_owned();
            // One check per file and root per sweep, however many processes map it.
            let stale = cached_stale(stale_cache, (key, dev, ino, deleted_flag), &inner, || {
                stale(ctx, &root_dir, &inner, dev, ino, deleted_flag)
            });
            let package = ctx.package(&inner);
            let win = windows.get(&(dev, ino)).cloned().flatten();
            let has_exec = maps.iter().any(|m| m.exec);
            // Not ELF (or unreadable and never executable): a plain mapped file.
            let is_object =
                win.is_some() || (has_exec && !matches!(windows.get(&(dev, ino)), Some(None)));
            if !is_object {
                report.files.push(FileReport {
                    path: shown,
                    package,
                    stale,
                });
                continue;
            }
            let (executed, disturbed) = match (&win, &report.executed_note) {
                (_, Some(_)) | (None, _) => (Executed::Unknown, None),
                (Some(w), None) => {
                    let exec: Vec<ExecMapping<'_>> = maps
                        .iter()
                        .map(|m| ExecMapping {
                            mapping: m,
                            residency: raw
                                .residency
                                .get(&m.start)
                                .unwrap_or(&Residency::Unreadable),
                            copied: raw.copied.get(&m.start).map(Vec::as_slice),
                        })
                        .collect();
                    let v = executed::classify(&exec, w, fault_around, page_size);
                    (v.executed, v.disturbed)
                }
            };
            // Name the cause when it is known: the file has probes registered, or probes were
            // hit in this process.
            let probed = self.probed.contains(dev, ino);
            let disturbed = match disturbed {
                Some(Disturbance::CopiedText | Disturbance::LoadPagesGone)
                    if probed || raw.uprobes_area =>
                {
                    Some(Disturbance::Uprobes)
                }
                d => d,
            };
            match disturbed {
                Some(Disturbance::Uprobes) => report.disturbed = Some(Disturbance::Uprobes),
                Some(Disturbance::CopiedText) if report.disturbed.is_none() => {
                    report.disturbed = Some(Disturbance::CopiedText);
                }
                _ => {}
            }
            let dlopened = closure
                .as_ref()
                .map(|c| !(c.ids.contains(&(dev, ino)) || c.paths.contains(&inner)));
            report.objects.push(ObjectReport {
                path: shown,
                package,
                dlopened,
                executed,
                stale,
                disturbed,
                dev,
                ino,
            });
        }
        Some(report)
    }

    /// Re-evaluates `stale` of a reused report, copying the report only when that changes.
    /// The kernel's deleted mark is not re-read, so a path that vanished counts as deleted.
    fn recheck_stale(
        &mut self,
        pid: u32,
        root: (u64, u64),
        report: &mut Arc<ProcessReport>,
        cache: &Mutex<StaleCache>,
    ) {
        let root_dir = if root == self.host {
            PathBuf::from("/")
        } else {
            PathBuf::from(format!("/proc/{pid}/root"))
        };
        let Some(ctx) = root_ctx(&mut self.roots, &mut self.warnings, root, &root_dir) else {
            return;
        };
        let now: Vec<Option<Stale>> = report
            .objects
            .iter()
            .map(|o| {
                let inner = Path::new(&o.path);
                cached_stale(cache, (root, o.dev, o.ino, true), inner, || {
                    stale(ctx, &root_dir, inner, o.dev, o.ino, true)
                })
            })
            .collect();
        if report.objects.iter().zip(&now).any(|(o, s)| o.stale != *s) {
            for (o, s) in Arc::make_mut(report).objects.iter_mut().zip(now) {
                o.stale = s;
            }
        }
    }

    /// Forgets the per-root package data (call when package databases may have changed).
    pub fn forget_packages(&mut self) {
        self.roots.clear();
    }
}

/// The fully read processes whose mappings could be read, with their root.
fn measurable(raw: &[Read]) -> impl Iterator<Item = (&RawProcess, &process::RootId)> {
    raw.iter().filter_map(|read| match read {
        Read::Full(raw) if raw.unmeasurable.is_none() => Some((&**raw, raw.root.as_ref()?)),
        _ => None,
    })
}

/// The listening sockets among the process's descriptors, from its network namespace's
/// table ([`Sweeper::socket_tables`]).
fn listening(raw: &RawProcess, tables: &HashMap<u64, HashMap<u64, String>>) -> Vec<String> {
    let Some(table) = raw.netns.and_then(|ns| tables.get(&ns)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = raw
        .sockets
        .iter()
        .filter_map(|i| table.get(i).cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The socket table (inode -> description) of the network namespace of `pid`, from its
/// `/proc/PID/net/{tcp,tcp6,udp,udp6,unix}`.
fn socket_table(pid: u32, max: u64) -> HashMap<u64, String> {
    let dir = PathBuf::from(format!("/proc/{pid}/net"));
    let mut table = HashMap::new();
    for proto in Proto::ALL {
        if let Ok(d) = process::read_bounded(&dir.join(proto.as_str()), max) {
            for l in net::parse_inet(&d, proto) {
                table.insert(l.inode, l.describe);
            }
        }
    }
    if let Ok(d) = process::read_bounded(&dir.join("unix"), max) {
        for l in net::parse_unix(&d) {
            table.insert(l.inode, l.describe);
        }
    }
    table
}

/// The file mapping of the process's executable: (device, inode, path as mapped, marked
/// deleted), the first mapping whose path is the `exe` link's.
fn exe_mapping(raw: &RawProcess) -> Option<(u64, u64, &[u8], bool)> {
    let exe = raw.exe.as_ref()?.as_os_str().as_bytes();
    raw.mappings.iter().find_map(|m| match &m.target {
        Target::File { path, deleted }
            if path.as_slice() == exe
                || (*deleted && exe.strip_suffix(b" (deleted)") == Some(path.as_slice())) =>
        {
            Some((m.dev, m.inode, path.as_slice(), *deleted))
        }
        _ => None,
    })
}

/// The context of one root, opened (and its package databases loaded) on first use.
fn root_ctx<'a>(
    roots: &'a mut HashMap<(u64, u64), Option<RootCtx>>,
    warnings: &mut Vec<String>,
    key: (u64, u64),
    dir: &Path,
) -> Option<&'a mut RootCtx> {
    roots
        .entry(key)
        .or_insert_with(|| checked(RootCtx::open(dir), dir, warnings))
        .as_mut()
}

/// A freshly opened root context, its problems turned into warnings.
fn checked(opened: io::Result<RootCtx>, dir: &Path, warnings: &mut Vec<String>) -> Option<RootCtx> {
    match opened {
        Ok(ctx) => {
            warnings.extend(
                ctx.inventory
                    .problems
                    .iter()
                    .map(|p| format!("{}: {p}", dir.display())),
            );
            Some(ctx)
        }
        Err(e) => {
            warnings.push(format!("cannot open root {}: {e}", dir.display()));
            None
        }
    }
}

/// The parallel read phase: every pid's `stat`, then the rest of `/proc/PID` unless the
/// process is unchanged since `previous` (incremental sweeps). Incremental sweeps read `stat`
/// through the file kept open from the last sweep when there is one, and return the files
/// opened now.
fn read_all(
    pids: &[u32],
    previous: &HashMap<(u32, u64), Previous>,
    stat_files: &HashMap<u32, File>,
    limits: Limits,
    page_size: u64,
    incremental: bool,
) -> Vec<(Read, StatFile)> {
    pids.par_iter()
        .map(|&pid| {
            let (stat, file) = if incremental {
                // A kept file whose process exited fails (it never reads a newer process
                // with the same pid): the pid is then opened afresh.
                match stat_files
                    .get(&pid)
                    .map(|f| process::reread_stat(f, &limits))
                {
                    Some(Err(ReadError::Gone)) | None => match process::open_stat(pid, &limits) {
                        (Some(f), stat) => (stat, StatFile::Opened(f)),
                        (None, stat) => (stat, StatFile::None),
                    },
                    Some(stat) => (stat, StatFile::Kept),
                }
            } else {
                // One-shot: everything through one descriptor of `/proc/PID`, `stat` too.
                let read = match process::read(pid, &limits, page_size) {
                    Ok(raw) => Read::Full(Box::new(raw)),
                    Err(e) => Read::Failed(pid, e),
                };
                return (read, StatFile::None);
            };
            let stat = match stat {
                Ok(stat) => stat,
                Err(e @ ReadError::KernelThread) => return (Read::Failed(pid, e), file),
                Err(e) => return (Read::Failed(pid, e), StatFile::None),
            };
            let key = (pid, stat.start_time);
            if incremental
                && previous
                    .get(&key)
                    .is_some_and(|(a, _, _)| *a == activity(&stat))
            {
                return (Read::Unchanged(pid, stat.start_time), file);
            }
            let read = match process::read_with_stat(pid, stat, &limits, page_size) {
                Ok(raw) => Read::Full(Box::new(raw)),
                Err(e) => Read::Failed(pid, e),
            };
            (read, file)
        })
        .collect()
}

/// How many `stat` files incremental sweeps may keep open: the soft descriptor limit is
/// raised to the hard one (at most 2^20), and half of what lies above 256 is the budget.
fn stat_budget() -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let cap = 1u64 << 20;
    let soft = limit.current.unwrap_or(cap).min(cap);
    let hard = limit.maximum.unwrap_or(cap).min(cap);
    let soft = if hard > soft
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: limit.maximum,
            },
        )
        .is_ok()
    {
        hard
    } else {
        soft
    };
    usize::try_from(soft.saturating_sub(256) / 2).unwrap_or(0)
}

/// The load windows of the file a mapping maps ([`open_mapped`]): `None` when it cannot be
/// opened, `Some(None)` when it is not a readable ELF object.
fn read_windows(
    pid: u32,
    m: &Mapping,
    root_dir: &Path,
    prefix: &Path,
    path: &[u8],
) -> Option<FileWindows> {
    open_mapped(pid, m, root_dir, prefix, path).map(|f| LoadWindows::read(&f).ok().map(Arc::new))
}

/// Opens the file a mapping maps: through `/proc/PID/map_files` (the very file, even deleted
/// or replaced; needs `CAP_SYS_ADMIN`), else through the root by path when that path still
/// leads to the same inode. `None` when neither works.
fn open_mapped(
    pid: u32,
    m: &Mapping,
    root_dir: &Path,
    prefix: &Path,
    path: &[u8],
) -> Option<std::fs::File> {
    let link = format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end);
    // The pid may name another process by now, with another file at that range.
    if let Ok(f) = std::fs::File::open(&link)
        && f.metadata().is_ok_and(|st| st.ino() == m.inode)
    {
        return Some(f);
    }
    let inner = process::in_root_path(path, prefix)?;
    let root = Root::open(root_dir).ok()?;
    let (file, st) = root.open_file(&inner).ok()?;
    (st.ino == m.inode).then_some(file)
}

/// `Replaced` when the path now leads to another file (an upgrade renames the new file over
/// the old one, which the kernel then also marks deleted), `Deleted` when the kernel marks
/// the mapping deleted and nothing is at the path any more.
fn stale(
    ctx: &RootCtx,
    root_dir: &Path,
    inner: &Path,
    dev: u64,
    ino: u64,
    deleted_flag: bool,
) -> Option<Stale> {
    match ctx.root.stat(inner) {
        // A file really named "x (deleted)" is still there: not stale.
        Ok(st) if st.ino == ino && (st.dev == dev || on_overlay(root_dir, inner)) => None,
        Ok(_) => Some(Stale::Replaced),
        Err(_) if deleted_flag => Some(Stale::Deleted),
        // The path is gone without the kernel saying deleted: renamed away, or a directory
        // of it is unreadable. Not claimed stale.
        Err(_) => None,
    }
}

/// overlayfs reports its own device for files whose mappings show the underlying one.
fn on_overlay(root_dir: &Path, inner: &Path) -> bool {
    const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;
    let host = root_dir.join(inner.strip_prefix("/").unwrap_or(inner));
    rustix::fs::statfs(&host).is_ok_and(|s| s.f_type as u64 == OVERLAYFS_SUPER_MAGIC)
}
