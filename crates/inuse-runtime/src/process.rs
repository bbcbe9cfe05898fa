//! Reading one process from `/proc`, with races and permissions classified.
//!
//! A process can exit, or its pid be reused, between any two reads, and without privileges
//! most of `/proc/PID` of other users' processes is closed (`maps`, `exe`, `root`, `fd` need
//! ptrace-read access). Neither may fail a sweep: [`read`] returns [`ReadError::Gone`] for a
//! process that vanished (or was replaced by another with the same pid, detected by its start
//! time), and a [`RawProcess`] with `unmeasurable` set for one we may not look into, keeping
//! what *is* readable (`stat`, `status`, `cmdline`, `cgroup`) so it is still listed.
//!
//! Every read is bounded ([`crate::Limits`]); nothing is written, executed or traced.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::maps::{Mapping, Target};
use crate::stat::ProcStat;
use crate::status::ProcStatus;
use crate::{Limits, cgroup, maps, stat, status};
use inuse_model::ContainerRef as Container;

/// Why a process could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// It exited, or its pid now names another process.
    #[error("process exited")]
    Gone,
    /// A kernel thread: no user-space code, nothing to analyse.
    #[error("kernel thread")]
    KernelThread,
    /// Something else went wrong reading its identity (`stat`).
    #[error("{0}")]
    Other(String),
}

/// The resident pages of one file mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Residency {
    /// One bit per page from `/proc/PID/pagemap`: the file's own page is mapped (present and
    /// a file page), page 0 at the mapping's start. Private copies are in
    /// [`RawProcess::copied`].
    Pages(Vec<u64>),
    /// Only the resident size from `/proc/PID/smaps` (pagemap was not readable).
    Rss(u64),
    /// Neither could be read.
    Unreadable,
}

impl Residency {
    /// Whether page `i` is resident (for [`Residency::Pages`]).
    pub fn page(&self, i: u64) -> bool {
        match self {
            Residency::Pages(bits) => usize::try_from(i / 64)
                .ok()
                .and_then(|w| bits.get(w))
                .is_some_and(|w| w >> (i % 64) & 1 == 1),
            _ => false,
        }
    }
}

/// A process's root directory, identified so that processes sharing one share the analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootId {
    /// Device of `/proc/PID/root`.
    pub dev: u64,
    /// Inode of `/proc/PID/root`.
    pub ino: u64,
    /// `readlink /proc/PID/root`: the root as the caller sees it (`/` for the host and for
    /// another mount namespace's root; the chroot directory for a chroot).
    pub link: PathBuf,
}

/// The executable's mode bits and file capabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExeMode {
    /// `st_mode`.
    pub mode: u32,
    /// Whether a `security.capability` extended attribute is present.
    pub file_caps: bool,
}

/// Everything read about one process in one sweep, before analysis.
#[derive(Debug, Clone)]
pub struct RawProcess {
    /// Process id.
    pub pid: u32,
    /// Every file was read through one descriptor of `/proc/PID` opened before the first
    /// read ([`read`]): all of it is of one process, whatever became of the pid since.
    pub whole: bool,
    /// `/proc/PID/stat`.
    pub stat: ProcStat,
    /// `/proc/PID/status`.
    pub status: ProcStatus,
    /// `/proc/PID/cmdline`, split at NULs, lossily decoded.
    pub cmdline: Vec<String>,
    /// The container it runs in, from `/proc/PID/cgroup`.
    pub container: Option<Container>,
    /// Why its mappings could not be read; the fields below are then empty.
    pub unmeasurable: Option<String>,
    /// `readlink /proc/PID/exe`, with a `" (deleted)"` suffix if the kernel added one.
    pub exe: Option<PathBuf>,
    /// Mode bits and capabilities of the executable.
    pub exe_mode: Option<ExeMode>,
    /// Its root directory.
    pub root: Option<RootId>,
    /// Its mappings.
    pub mappings: Vec<Mapping>,
    /// Lines of `maps` that could not be parsed, or were cut by the size limit.
    pub bad_map_lines: usize,
    /// Residency of every executable file mapping and of the read-only mapping right after
    /// each (see `residency_wanted`), by start address.
    pub residency: HashMap<u64, Residency>,
    /// Pages of those mappings that are private copies of the file's page, not the page
    /// itself (pagemap bit 61 clear, or swapped out, which only anonymous pages are), one bit
    /// per page, by start address; only mappings with at least one. Written text: uprobe
    /// breakpoints (the kernel copies each probed page into every process mapping the file),
    /// a debugger's breakpoints, text relocations. A copy says nothing about execution: it
    /// exists whether or not the code ran, and what runs on it faults in no file page.
    pub copied: HashMap<u64, Vec<u64>>,
    /// It carries the kernel's `[uprobes]` mapping (the execute-out-of-line area, created when
    /// a uprobe is first hit in the process and kept until `execve` or exit).
    pub uprobes_area: bool,
    /// Socket inodes among its open file descriptors.
    pub sockets: Vec<u64>,
    /// Inode of its network namespace (`/proc/PID/ns/net`); read only when it has sockets.
    pub netns: Option<u64>,
}

/// Reads at most `max` bytes of a file (proc files report size 0, so the size is unknown
/// until read).
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_to_limit(File::open(path)?, max)
}

/// Reads `file` to its end, at most `max` bytes.
fn read_to_limit(file: File, max: u64) -> io::Result<Vec<u8>> {
    // Room for a whole small file up front: one read(2) and the one that says end of file,
    // instead of std's small probing reads.
    let mut buf = Vec::with_capacity(usize::try_from(max.min(4096)).unwrap_or(4096));
    file.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}

/// An open `/proc/PID` directory. Files are opened relative to it: one path walk per process
/// instead of one per file, and once the process has exited every read fails (`ESRCH`) rather
/// than reading a new process that reused the pid.
struct ProcDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl ProcDir {
    fn open(pid: u32) -> io::Result<ProcDir> {
        let path = PathBuf::from(format!("/proc/{pid}"));
        let fd = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(ProcDir { fd, path })
    }

    fn open_file(&self, name: &str) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    /// [`read_bounded`] of `/proc/PID/NAME`.
    fn read(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        read_to_limit(self.open_file(name)?, max)
    }

    /// [`ProcDir::read`] of a file the kernel formats whole before the first byte is read
    /// (`stat`, `status`, `cgroup`: `single_open` seq files; `cmdline`, copied until the
    /// request or the arguments end): see [`read_whole_record`].
    fn read_record(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        read_whole_record(self.open_file(name)?, max)
    }

    fn read_link(&self, name: &str) -> io::Result<PathBuf> {
        let target = rustix::fs::readlinkat(&self.fd, name, Vec::new())?;
        Ok(PathBuf::from(OsString::from_vec(target.into_bytes())))
    }

    /// `stat` of `NAME` (following the magic link, as `std::fs::metadata` of its path does).
    fn stat(&self, name: &str) -> io::Result<rustix::fs::Stat> {
        Ok(rustix::fs::statat(&self.fd, name, AtFlags::empty())?)
    }
}

fn is_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == rustix::io::Errno::NOENT.raw_os_error()
        || code == rustix::io::Errno::SRCH.raw_os_error())
}

fn describe(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::PermissionDenied {
        "permission denied".to_owned()
    } else {
        e.to_string()
    }
}

/// The bytes of `/proc/PID/stat`. The kernel formats the whole line at once and a read
/// returns as much of it as fits, so one `read(2)` into a buffer larger than the line is the
/// whole file: a sweep reads this file of every process, and the usual second `read(2)`
/// (which only says end of file) is a quarter of an `observe` sweep's system calls. A full
/// buffer falls back to reading to the end.
fn read_stat_file(pid: u32, limits: &Limits) -> io::Result<Vec<u8>> {
    read_whole_record(
        File::open(format!("/proc/{pid}/stat"))?,
        limits.max_small_file,
    )
}

/// Reads a `/proc` file whose content the kernel produces whole for the first `read(2)`: a
/// read shorter than the 4 KiB asked for is the whole file, which saves the second call (the
/// one that only says end of file) on files read for every process by every sweep. A full
/// buffer falls back to reading on, up to `max` bytes. Not for multi-record seq files such as
/// `maps`, which return a page at a time.
fn read_whole_record(file: File, max: u64) -> io::Result<Vec<u8>> {
    read_whole_record_at(&file, max)
}

/// [`read_whole_record`] with positioned reads from offset 0: a `/proc` seq file read at
/// offset 0 is formatted afresh, so an open file can be read again and again.
fn read_whole_record_at(file: &File, max: u64) -> io::Result<Vec<u8>> {
    const ONE_READ: usize = 4096;
    let first = usize::try_from(max).map_or(ONE_READ, |m| m.min(ONE_READ));
    let mut buf = vec![0u8; first];
    let mut len = 0usize;
    loop {
        let room = &mut buf[len..];
        if room.is_empty() {
            // Full: a record longer than one read (never for `stat`); read on while under
            // `max`.
            if len as u64 >= max {
                break;
            }
            let more = usize::try_from(max - len as u64).map_or(ONE_READ, |m| m.min(ONE_READ));
            buf.resize(len + more, 0);
            continue;
        }
        match file.read_at(room, len as u64) {
            Ok(0) => break,
            Ok(n) if len == 0 && n < first => {
                // The whole record in one read: no second call to see the end.
                len = n;
                break;
            }
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Whether the pid still names the process that started at `start_time`.
pub fn same_process(pid: u32, start_time: u64, limits: &Limits) -> bool {
    read_stat_file(pid, limits)
        .ok()
        .and_then(|d| stat::parse(&d).ok())
        .is_some_and(|s| s.start_time == start_time)
}

/// The pids in `/proc`, sorted.
pub fn pids() -> io::Result<Vec<u32>> {
    let mut out: Vec<u32> = std::fs::read_dir("/proc")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Reads one process. `page_size` is the system's page size. Only reads: no `/proc` file
/// is opened for writing (see [`crate::executed`] for why not even `clear_refs`). `stat`
/// too is read through the directory, so the result is [`RawProcess::whole`].
pub fn read(pid: u32, limits: &Limits, page_size: u64) -> Result<RawProcess, ReadError> {
    let dir = open_dir(pid)?;
    let stat = parsed_stat(dir.read_record("stat", limits.max_small_file))?;
    let mut raw = read_in(&dir, pid, stat, limits, page_size)?;
    raw.whole = true;
    Ok(raw)
}

/// `/proc/PID`, opened; its absence is [`ReadError::Gone`].
fn open_dir(pid: u32) -> Result<ProcDir, ReadError> {
    match ProcDir::open(pid) {
        Ok(d) => Ok(d),
        Err(e) if is_gone(&e) => Err(ReadError::Gone),
        Err(e) => Err(ReadError::Other(describe(&e))),
    }
}

/// Reads `/proc/PID/stat` alone: identity and CPU time, the cheap first step of a read.
pub fn read_stat(pid: u32, limits: &Limits) -> Result<ProcStat, ReadError> {
    parsed_stat(read_stat_file(pid, limits))
}

/// Opens `/proc/PID/stat` and reads it as [`read_stat`] does, returning the open file for
/// [`reread_stat`]; the file is returned also when the process is a kernel thread.
pub fn open_stat(pid: u32, limits: &Limits) -> (Option<File>, Result<ProcStat, ReadError>) {
    let file = match File::open(format!("/proc/{pid}/stat")) {
        Ok(f) => f,
        Err(e) => return (None, parsed_stat(Err(e))),
    };
    let stat = parsed_stat(read_whole_record_at(&file, limits.max_small_file));
    (Some(file), stat)
}

/// Reads again a `stat` file opened by [`open_stat`]: one `pread` instead of open, read and
/// close. The file stays bound to the process it was opened for: once that process has
/// exited, the read fails ([`ReadError::Gone`]) even if its pid names another process now.
pub fn reread_stat(file: &File, limits: &Limits) -> Result<ProcStat, ReadError> {
    parsed_stat(read_whole_record_at(file, limits.max_small_file))
}

/// The result of reading a `stat` file, classified.
fn parsed_stat(read: io::Result<Vec<u8>>) -> Result<ProcStat, ReadError> {
    let stat = match read {
        Ok(d) => stat::parse(&d).map_err(|e| ReadError::Other(e.to_string()))?,
        Err(e) if is_gone(&e) => return Err(ReadError::Gone),
        Err(e) => return Err(ReadError::Other(describe(&e))),
    };
    if stat.is_kernel_thread() {
        return Err(ReadError::KernelThread);
    }
    Ok(stat)
}

/// The rest of a read after [`read_stat`] (or a kept `stat` file): `/proc/PID` is opened
/// after `stat` was read, so the pid may name another process by then and the result is not
/// [`RawProcess::whole`].
pub fn read_with_stat(
    pid: u32,
    stat: ProcStat,
    limits: &Limits,
    page_size: u64,
) -> Result<RawProcess, ReadError> {
    read_in(&open_dir(pid)?, pid, stat, limits, page_size)
}

/// Reads the files of the process whose `/proc/PID` is `dir` and whose `stat` is `stat`.
fn read_in(
    dir: &ProcDir,
    pid: u32,
    stat: ProcStat,
    limits: &Limits,
    page_size: u64,
) -> Result<RawProcess, ReadError> {
    let small = |name: &str| dir.read_record(name, limits.max_small_file);
    let status = small("status")
        .map(|d| status::parse(&d))
        .unwrap_or_default();
    let cmdline = small("cmdline")
        .map(|d| {
            d.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let container = small("cgroup").ok().and_then(|d| cgroup::container(&d));
    let mut raw = RawProcess {
        pid,
        whole: false,
        stat,
        status,
        cmdline,
        container,
        unmeasurable: None,
        exe: None,
        exe_mode: None,
        root: None,
        mappings: Vec::new(),
        bad_map_lines: 0,
        residency: HashMap::new(),
        copied: HashMap::new(),
        uprobes_area: false,
        sockets: Vec::new(),
        netns: None,
    };
    if raw.stat.state == b'Z' {
        raw.unmeasurable = Some("zombie: exited, not yet reaped".to_owned());
        return Ok(raw);
    }
    // Read into this thread's buffer, reused from process to process (the parsed mappings
    // own what they keep): `maps` is the largest file read for every process.
    let parsed = MAPS_BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        let file = dir.open_file("maps")?;
        file.take(limits.max_maps_bytes).read_to_end(buf)?;
        let (mappings, bad) = maps::parse(buf);
        Ok::<_, io::Error>((mappings, bad, buf.len() as u64 >= limits.max_maps_bytes))
    });
    let (mappings, bad) = match parsed {
        Ok((mappings, bad, full)) => (mappings, bad + usize::from(full)),
        Err(e) if is_gone(&e) => return Err(ReadError::Gone),
        Err(e) => {
            raw.unmeasurable = Some(describe(&e));
            return Ok(raw);
        }
    };
    if mappings.is_empty() {
        // Kernel threads have no mappings; so has a process that exited while we read.
        raw.unmeasurable = Some("no mappings (kernel thread)".to_owned());
        return Ok(raw);
    }
    raw.mappings = mappings;
    raw.bad_map_lines = bad;
    raw.exe = dir.read_link("exe").ok();
    raw.exe_mode = dir.stat("exe").ok().map(|st| ExeMode {
        mode: st.st_mode,
        file_caps: has_file_caps(&dir.path.join("exe"), &st),
    });
    raw.root = dir.stat("root").ok().map(|st| RootId {
        dev: st.st_dev,
        ino: st.st_ino,
        // Our own root is `/` whatever the link says (a process in another mount namespace
        // whose root is this very directory shows `/` too): one call fewer per process.
        link: if host_root() == Some((st.st_dev, st.st_ino)) {
            PathBuf::from("/")
        } else {
            dir.read_link("root").unwrap_or_else(|_| PathBuf::from("/"))
        },
    });
    if raw.root.is_none() {
        raw.unmeasurable = Some("cannot read its root directory".to_owned());
    }
    (raw.residency, raw.copied) = residency(dir, &raw.mappings, limits, page_size);
    raw.uprobes_area = raw
        .mappings
        .iter()
        .any(|m| matches!(&m.target, Target::Pseudo(name) if name == b"[uprobes]"));
    raw.sockets = sockets(dir, limits.max_fds);
    // The namespace only matters for finding the sockets' addresses.
    if !raw.sockets.is_empty() {
        raw.netns = dir.stat("ns/net").ok().map(|st| st.st_ino);
    }
    Ok(raw)
}

/// (device, inode) of our own root directory, read once.
fn host_root() -> Option<(u64, u64)> {
    static HOST: OnceLock<Option<(u64, u64)>> = OnceLock::new();
    *HOST.get_or_init(|| rustix::fs::stat("/").ok().map(|st| (st.st_dev, st.st_ino)))
}

thread_local! {
    /// The buffer `/proc/PID/maps` is read into, one per reading thread.
    static MAPS_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether the executable `path` (whose `stat` is `st`) carries file capabilities. Hundreds
/// of processes run a handful of executables: the answer is kept per file and change time
/// (`setcap` changes the ctime), so a sweep asks once per executable.
fn has_file_caps(path: &Path, st: &rustix::fs::Stat) -> bool {
    type Key = (u64, u64, i64, i64);
    static CACHE: OnceLock<Mutex<HashMap<Key, bool>>> = OnceLock::new();
    const MAX: usize = 65_536;
    let key: Key = (st.st_dev, st.st_ino, st.st_ctime, st.st_ctime_nsec as i64);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(&caps) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return caps;
    }
    let mut buf = [0u8; 64];
    let caps = rustix::fs::getxattr(path, "security.capability", &mut buf[..]).is_ok_and(|n| n > 0);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MAX {
        cache.clear();
    }
    cache.insert(key, caps);
    caps
}

/// Socket inodes among the process's descriptors.
fn sockets(dir: &ProcDir, max: usize) -> Vec<u64> {
    let Ok(fds) = rustix::fs::openat(
        &dir.fd,
        "fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Vec::new();
    };
    // `Dir::new` takes the descriptor; `read_from` would reopen it (three more calls).
    let Ok(mut entries) = rustix::fs::Dir::new(fds) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(Ok(entry)) = entries.read() {
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        seen += 1;
        if seen > max {
            break;
        }
        let Ok(dirfd) = entries.fd() else {
            break;
        };
        let Ok(target) = rustix::fs::readlinkat(dirfd, name, Vec::new()) else {
            continue;
        };
        let bytes = target.into_bytes();
        if let Some(inode) = bytes
            .strip_prefix(b"socket:[")
            .and_then(|r| r.strip_suffix(b"]"))
            .and_then(|n| crate::parse_num(n, 10))
        {
            out.push(inode);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether the residency of mapping `m`, listed right after `prev`, is read: executable file
/// mappings (code), and the private read-only file mapping right after an executable one of
/// the same file, where `-z separate-code` puts the read-only data segment (see
/// [`crate::executed::QuietSegment`]; RELRO data, the file's first page and whole-file data
/// mappings such as the locale archive never sit there).
fn residency_wanted(prev: Option<&Mapping>, m: &Mapping) -> bool {
    let follows_code = || {
        prev.is_some_and(|p| p.exec && p.dev == m.dev && p.inode == m.inode && p.offset < m.offset)
    };
    matches!(m.target, Target::File { .. }) && (m.exec || (!m.write && !m.shared && follows_code()))
}

/// Residency of the mappings [`residency_wanted`] selects: pagemap when readable, else smaps
/// Rss; and, from pagemap, their private copies (see [`RawProcess::copied`]).
fn residency(
    dir: &ProcDir,
    mappings: &[Mapping],
    limits: &Limits,
    page_size: u64,
) -> (HashMap<u64, Residency>, HashMap<u64, Vec<u64>>) {
    let previous = std::iter::once(None).chain(mappings.iter().map(Some));
    let wanted: Vec<&Mapping> = previous
        .zip(mappings)
        .filter(|&(prev, m)| residency_wanted(prev, m))
        .map(|(_, m)| m)
        .collect();
    let mut out = HashMap::with_capacity(wanted.len());
    let mut copied = HashMap::new();
    if wanted.is_empty() {
        return (out, copied);
    }
    match dir.open_file("pagemap") {
        Ok(pagemap) => {
            let mut buf = Vec::new();
            for run in runs(&wanted, limits, page_size) {
                let (read, copies) = pages(&pagemap, run, page_size, &mut buf);
                for (m, r) in run.iter().zip(read) {
                    out.insert(m.start, r);
                }
                for (m, c) in run.iter().zip(copies) {
                    if c.iter().any(|&w| w != 0) {
                        copied.insert(m.start, c);
                    }
                }
            }
            for m in &wanted {
                out.entry(m.start).or_insert(Residency::Unreadable);
            }
        }
        Err(_) => {
            let rss = dir
                .read("smaps", limits.max_maps_bytes)
                .map(|d| smaps_field(&d, b"Rss:"))
                .unwrap_or_default();
            for m in &wanted {
                let r = rss
                    .get(&m.start)
                    .map_or(Residency::Unreadable, |&b| Residency::Rss(b));
                out.insert(m.start, r);
            }
        }
    }
    (out, copied)
}

/// Pages of pagemap entries read in one `pread`: 8 bytes each, so 64 KiB of entries.
const RUN_PAGES: u64 = 8192;

/// The wanted mappings (sorted by address, as maps lists them) grouped into runs of adjacent
/// ones read with one `pread` each: a library's code and read-only data lie next to each
/// other. Nothing between two mappings is read (the kernel walks the page tables of every
/// entry asked for). A mapping over `max_pagemap_pages` is left out (its residency is
/// unreadable).
fn runs<'m>(
    wanted: &'m [&'m Mapping],
    limits: &Limits,
    page_size: u64,
) -> impl Iterator<Item = &'m [&'m Mapping]> {
    let ps = page_size.max(1);
    let mut rest = wanted;
    std::iter::from_fn(move || {
        while let Some((first, tail)) = rest.split_first() {
            if first.len() / ps > limits.max_pagemap_pages {
                rest = tail;
                continue;
            }
            let mut end = first.end;
            let mut n = 1;
            for m in tail {
                let span = m.end.saturating_sub(first.start) / ps;
                if m.start != end || span > RUN_PAGES {
                    break;
                }
                end = m.end;
                n += 1;
            }
            let (run, tail) = rest.split_at(n);
            rest = tail;
            return Some(run);
        }
        None
    })
}

/// The file's own resident pages of each mapping of one run, and its private copies, read in
/// `pread`s of at most [`RUN_PAGES`] entries (a run of several mappings is one read).
///
/// Bit 63 of a pagemap entry is "present", 62 "swapped", 61 "file page or shared anonymous"
/// (`Documentation/admin-guide/mm/pagemap.rst`; the flag bits are given to unprivileged
/// readers too, only the frame number is hidden). In a private file mapping a present page
/// without bit 61 is an anonymous copy, and a swapped one is a copy too (file pages are
/// dropped, never swapped). `buf` is scratch space, kept from run to run.
fn pages(
    pagemap: &File,
    run: &[&Mapping],
    page_size: u64,
    buf: &mut Vec<u8>,
) -> (Vec<Residency>, Vec<Vec<u64>>) {
    const PRESENT: u64 = 1 << 63;
    const SWAPPED: u64 = 1 << 62;
    const FILE_PAGE: u64 = 1 << 61;
    let ps = page_size.max(1);
    let (Some(first), Some(last)) = (run.first(), run.last()) else {
        return (Vec::new(), Vec::new());
    };
    let first_page = first.start / ps;
    let end_page = last.end.div_ceil(ps);
    let mut bits: Vec<Vec<u64>> = run
        .iter()
        .map(|m| vec![0u64; usize::try_from((m.len() / ps).div_ceil(64)).unwrap_or(0)])
        .collect();
    let mut copies = bits.clone();
    let want = usize::try_from(RUN_PAGES.min(end_page - first_page) * 8).unwrap_or(0);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut page = first_page;
    // The mapping holding the current page or the next one after it: pages go up.
    let mut j = 0;
    while page < end_page {
        let n = RUN_PAGES.min(end_page - page);
        let bytes = &mut buf[..usize::try_from(n * 8).unwrap_or(0)];
        if pagemap.read_exact_at(bytes, page * 8).is_err() {
            return (vec![Residency::Unreadable; run.len()], Vec::new());
        }
        for (k, entry) in bytes.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(entry);
            let entry = u64::from_ne_bytes(word);
            if entry & (PRESENT | SWAPPED) == 0 {
                continue;
            }
            let own = entry & PRESENT != 0 && entry & FILE_PAGE != 0;
            let addr = (page + k as u64) * ps;
            // Runs are sorted and disjoint: at most one mapping holds the page.
            while run.get(j).is_some_and(|m| m.end <= addr) {
                j += 1;
            }
            let Some(m) = run.get(j).filter(|m| addr >= m.start) else {
                continue;
            };
            let i = (addr - m.start) / ps;
            let target = if own { &mut bits } else { &mut copies };
            if let Some(w) = usize::try_from(i / 64)
                .ok()
                .and_then(|w| target.get_mut(j)?.get_mut(w))
            {
                *w |= 1 << (i % 64);
            }
        }
        page += n;
    }
    (bits.into_iter().map(Residency::Pages).collect(), copies)
}

/// A `kB` field (`Rss:`, ...) of every mapping in `/proc/PID/smaps`, in bytes, by
/// start address.
pub fn smaps_field(data: &[u8], field: &[u8]) -> HashMap<u64, u64> {
    let mut out = HashMap::new();
    let mut current = None;
    for line in data.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(field) {
            let kib = rest
                .split(|b| b.is_ascii_whitespace())
                .find(|f| !f.is_empty())
                .and_then(|f| crate::parse_num(f, 10));
            if let (Some(start), Some(kib)) = (current, kib) {
                out.insert(start, kib.saturating_mul(1024));
            }
        } else if line.first().is_some_and(u8::is_ascii_hexdigit) {
            // A mapping header line (field lines start with a capitalised name, which a hex
            // digit test would also accept, so require the `start-end` shape).
            if let Ok(m) = maps::parse_line(line) {
                current = Some(m.start);
            }
        }
    }
    out
}

/// The path of an in-root file as it appears in `maps` of a process whose root is `root_link`
/// as seen by us: strips the chroot directory. `None` when the path is outside that root (a
/// file opened before `chroot`).
pub fn in_root_path(path: &[u8], root_link: &Path) -> Option<PathBuf> {
    let path = PathBuf::from(OsString::from_vec(path.to_vec()));
    if root_link == Path::new("/") {
        return Some(path);
    }
    path.strip_prefix(root_link)
        .ok()
        .map(|rest| Path::new("/").join(rest))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Short files come back whole from the first read; a file filling the first buffer is
    /// read on to its end, never past `max`; this process's own `/proc` records agree with
    /// what reading to the end gives.
    #[test]
    fn whole_records() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 100, 4095, 4096, 4097, 10_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &data).unwrap();
            assert_eq!(
                read_whole_record(File::open(&path).unwrap(), 1 << 20).unwrap(),
                data
            );
            let capped = read_whole_record(File::open(&path).unwrap(), 4500).unwrap();
            assert_eq!(capped, data[..len.min(4500)]);
        }
        let me = std::process::id();
        for name in ["stat", "status", "cgroup", "cmdline"] {
            let path = format!("/proc/{me}/{name}");
            let whole = read_whole_record(File::open(&path).unwrap(), 1 << 20).unwrap();
            let mut expected = Vec::new();
            File::open(&path)
                .unwrap()
                .read_to_end(&mut expected)
                .unwrap();
            if name == "stat" {
                // CPU times move between the two reads: compare identity.
                let (a, b) = (
                    stat::parse(&whole).unwrap(),
                    stat::parse(&expected).unwrap(),
                );
                assert_eq!(
                    (a.comm, a.start_time, a.ppid),
                    (b.comm, b.start_time, b.ppid)
                );
            } else if name == "status" {
                // Memory figures move: compare the identity lines, and that it is whole.
                let lines = |d: &[u8]| -> Vec<Vec<u8>> {
                    d.split(|&b| b == b'\n')
                        .filter(|l| l.starts_with(b"Name:") || l.starts_with(b"Uid:"))
                        .map(<[u8]>::to_vec)
                        .collect()
                };
                assert_eq!(lines(&whole), lines(&expected));
                assert_eq!(lines(&whole).len(), 2);
                assert!(whole.ends_with(b"\n"));
            } else {
                assert_eq!(whole, expected, "{name}");
            }
        }
    }

    #[test]
    fn smaps_rss_by_start() {
        let data = b"7f00-8f00 r-xp 00000000 08:01 12 /usr/lib/libz.so.1\n\
Size:                 60 kB\nRss:                  16 kB\nPss:   8 kB\n\
9000-a000 rw-p 00000000 00:00 0\nRss:  4 kB\n";
        let rss = smaps_field(data, b"Rss:");
        assert_eq!(rss.get(&0x7f00), Some(&(16 * 1024)));
        assert_eq!(rss.get(&0x9000), Some(&4096));
    }

    #[test]
    fn chroot_prefix_is_stripped() {
        let root = Path::new("/tmp/r");
        assert_eq!(
            in_root_path(b"/tmp/r/usr/lib/libc.so.6", root),
            Some(PathBuf::from("/usr/lib/libc.so.6"))
        );
        assert_eq!(in_root_path(b"/usr/lib/libc.so.6", root), None);
        assert_eq!(in_root_path(b"/tmp/rx/a", root), None);
        assert_eq!(
            in_root_path(b"/usr/lib/x", Path::new("/")),
            Some(PathBuf::from("/usr/lib/x"))
        );
    }

    #[test]
    fn residency_bits() {
        let r = Residency::Pages(vec![0b101, 1]);
        assert!(r.page(0) && !r.page(1) && r.page(2) && r.page(64) && !r.page(65));
        assert!(!r.page(1 << 40));
    }

    #[test]
    fn reads_itself() {
        let page = rustix::param::page_size() as u64;
        let me = read(std::process::id(), &Limits::default(), page).unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(me.whole, "stat read through the same /proc/PID descriptor");
        assert_eq!(me.stat.pid, std::process::id());
        let stat = read_stat(std::process::id(), &Limits::default()).unwrap();
        let later = read_with_stat(std::process::id(), stat, &Limits::default(), page).unwrap();
        assert!(!later.whole, "stat read before /proc/PID was opened");
        assert!(me.unmeasurable.is_none(), "{:?}", me.unmeasurable);
        assert!(!me.mappings.is_empty());
        // Our own code is running: some executable page of our executable is resident.
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let resident = me
            .mappings
            .iter()
            .filter(|m| m.exec && m.path() == Some(exe.as_os_str().as_encoded_bytes()))
            .any(|m| {
                (0..m.len() / page).any(|i| me.residency.get(&m.start).is_some_and(|r| r.page(i)))
            });
        assert!(resident);
    }
}
