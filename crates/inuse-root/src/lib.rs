//! Read-only access to a root filesystem, with every path resolved *inside* it.
//!
//! inuse analyses the host (`/`) and also directories that hold somebody else's root: an
//! unpacked container image, a chroot, a process's `/proc/PID/root`. Inside such a tree an
//! absolute symlink (`/lib -> /usr/lib`) or a `..` must resolve against the tree's root, never
//! against the host's, and nothing outside the tree may ever be read: a hostile image could
//! otherwise make us read (and report on) the host's files.
//!
//! Every open goes through `openat2(2)` with `RESOLVE_IN_ROOT` relative to a descriptor of the
//! root, so the kernel itself clamps `..` and absolute symlinks to the root, atomically. Files are
//! opened with `O_NONBLOCK` and rejected unless they are regular files, so a FIFO or a device
//! named `libc.so.6` cannot hang or disturb the scan. [`Root::canonicalize`] walks the path in
//! userspace with the same rules, one `O_PATH` open per component, to report where a path
//! really leads (the `realpath` a user sees).
//!
//! Paths given to a [`Root`] are interpreted inside it: `/usr/lib/libz.so.1` is
//! `<root>/usr/lib/libz.so.1`; relative paths are taken relative to the root's `/`.
//!
//! Kernels older than 5.6 lack `openat2`; there the crate falls back to walking the path in
//! userspace and opening the result with `O_NOFOLLOW`, which is equivalent except for a race
//! with somebody changing the tree while we read it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};

/// How many symlinks one resolution may follow, as Linux's `MAXSYMLINKS`.
pub const MAX_SYMLINKS: usize = 40;

/// Set once we learn that this kernel has no `openat2`.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// A root filesystem opened for reading.
#[derive(Debug)]
pub struct Root {
    dir: PathBuf,
    fd: OwnedFd,
}

/// The facts of a file that inuse needs from `stat(2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Device of the filesystem holding the file.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Type and permission bits (`st_mode`).
    pub mode: u32,
    /// Size in bytes.
    pub size: u64,
    /// Owner.
    pub uid: u32,
}

impl Stat {
    fn from_raw(st: &rustix::fs::Stat) -> Self {
        Stat {
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            size: u64::try_from(st.st_size).unwrap_or(0),
            uid: st.st_uid,
        }
    }

    /// The file's type.
    pub fn file_type(&self) -> FileKind {
        match FileType::from_raw_mode(self.mode) {
            FileType::RegularFile => FileKind::File,
            FileType::Directory => FileKind::Dir,
            FileType::Symlink => FileKind::Symlink,
            _ => FileKind::Other,
        }
    }

    /// Whether the set-user-ID or set-group-ID bit is set.
    pub fn is_setid(&self) -> bool {
        self.mode & 0o6000 != 0
    }
}

/// The kinds of directory entries inuse distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else: devices, FIFOs, sockets.
    Other,
}

impl Root {
    /// Opens the host's own root, `/`.
    pub fn host() -> io::Result<Root> {
        Root::open(Path::new("/"))
    }

    /// Opens `dir` as a root filesystem.
    pub fn open(dir: &Path) -> io::Result<Root> {
        let fd = rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let dir = std::fs::canonicalize(dir)?;
        Ok(Root { dir, fd })
    }

    /// Another handle on the same root (the descriptor is duplicated).
    pub fn try_clone(&self) -> io::Result<Root> {
        Ok(Root {
            dir: self.dir.clone(),
            fd: self.fd.try_clone()?,
        })
    }

    /// Opens a directory inside the root, for reading many files in it by name without
    /// resolving the directory's path again for each (see [`RootDir`]).
    pub fn open_dir(&self, path: &Path) -> io::Result<RootDir> {
        let fd = self.open_raw(path, OFlags::RDONLY | OFlags::DIRECTORY, true)?;
        Ok(RootDir { fd })
    }

    /// The root's directory on the host.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this is the host's own root.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// Where an in-root path lies on the host, for messages and for tools that need a host path.
    /// The result is only meaningful for a path that [`Root::canonicalize`] returned.
    pub fn host_path(&self, inner: &Path) -> PathBuf {
        let rel = inner.strip_prefix("/").unwrap_or(inner);
        if rel.as_os_str().is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(rel)
        }
    }

    fn open_raw(&self, path: &Path, flags: OFlags, follow: bool) -> io::Result<OwnedFd> {
        let mut flags = flags | OFlags::CLOEXEC;
        if !flags.contains(OFlags::PATH) {
            // openat2 rejects flags that mean nothing with O_PATH (EINVAL).
            flags |= OFlags::NOCTTY;
        }
        if !follow {
            flags |= OFlags::NOFOLLOW;
        }
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            let rel = relative(path);
            match rustix::fs::openat2(
                &self.fd,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            ) {
                Err(rustix::io::Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
                // openat2 may fail spuriously with EAGAIN when the tree changes under it.
                Err(rustix::io::Errno::AGAIN) => {}
                other => return other.map_err(Into::into),
            }
        }
        // Fallback: resolve in userspace, then open the result relative to the root without
        // following a final symlink.
        let resolved = if follow {
            self.canonicalize(path)?
        } else {
            match path.parent() {
                Some(parent) => self
                    .canonicalize(parent)?
                    .join(path.file_name().unwrap_or_default()),
                None => PathBuf::from("/"),
            }
        };
        Ok(rustix::fs::openat(
            &self.fd,
            relative(&resolved),
            flags | OFlags::NOFOLLOW,
            Mode::empty(),
        )?)
    }

    /// Opens a regular file for reading. Symlinks are followed inside the root; anything
    /// but a regular file (directories, FIFOs, devices) is refused without blocking.
    pub fn open_file(&self, path: &Path) -> io::Result<(File, Stat)> {
        regular_file(self.open_raw(path, OFlags::RDONLY | OFlags::NONBLOCK, true)?)
    }

    /// Reads a whole regular file, refusing files larger than `max` bytes.
    pub fn read(&self, path: &Path, max: u64) -> io::Result<Vec<u8>> {
        let (file, st) = self.open_file(path)?;
        read_limited(file, st.size, max)
    }

    /// Reads a regular file of records separated by `sep` (lines) in pieces, without holding
    /// it whole: `f` gets the file's data in order, cut only after a separator (the last piece
    /// as it is). Files larger than `max` bytes are refused. `f` is first given the size
    /// `fstat` reported, to size what it builds.
    pub fn read_records(
        &self,
        path: &Path,
        max: u64,
        sep: u8,
        f: &mut dyn FnMut(Records<'_>),
    ) -> io::Result<()> {
        records(self.open_file(path)?, max, sep, f)
    }

    /// `stat(2)` inside the root, following symlinks.
    pub fn stat(&self, path: &Path) -> io::Result<Stat> {
        let fd = self.open_raw(path, OFlags::PATH, true)?;
        Ok(Stat::from_raw(&rustix::fs::fstat(&fd)?))
    }

    /// `lstat(2)` inside the root: a final symlink is described, not followed.
    pub fn lstat(&self, path: &Path) -> io::Result<Stat> {
        let fd = self.open_raw(path, OFlags::PATH, false)?;
        Ok(Stat::from_raw(&rustix::fs::fstat(&fd)?))
    }

    /// Reads the target of a symlink inside the root.
    pub fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        let fd = self.open_raw(path, OFlags::PATH, false)?;
        let target = rustix::fs::readlinkat(&fd, "", Vec::new())?;
        Ok(PathBuf::from(OsString::from_vec(target.into_bytes())))
    }

    /// Lists a directory inside the root: entry names with their types (without following
    /// symlinks), sorted by name so that results never depend on the filesystem's order.
    pub fn read_dir(&self, path: &Path) -> io::Result<Vec<(OsString, FileKind)>> {
        let fd = self.open_raw(path, OFlags::RDONLY | OFlags::DIRECTORY, true)?;
        let mut dir = rustix::fs::Dir::read_from(&fd)?;
        let mut out = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::RegularFile => FileKind::File,
                FileType::Directory => FileKind::Dir,
                FileType::Symlink => FileKind::Symlink,
                FileType::Unknown => {
                    // Some filesystems do not fill d_type: ask.
                    match rustix::fs::statat(&fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => Stat::from_raw(&st).file_type(),
                        Err(_) => FileKind::Other,
                    }
                }
                _ => FileKind::Other,
            };
            out.push((OsStr::from_bytes(name).to_owned(), kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Resolves `path` to the absolute in-root path it leads to, following every symlink
    /// inside the root, like `realpath(1)` run by a process chrooted there. Every component
    /// must exist: a missing one is `NotFound`, more than [`MAX_SYMLINKS`] links `ELOOP`.
    pub fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let mut out = PathBuf::from("/");
        // Components still to walk, in reverse order so that a symlink's target can be
        // pushed in front of the remainder.
        let mut todo: Vec<OsString> = Vec::new();
        push_components(&mut todo, path);
        let mut links = 0usize;
        while let Some(name) = todo.pop() {
            match name.as_bytes() {
                b"" | b"." => continue,
                b".." => {
                    out.pop();
                    continue;
                }
                _ => {}
            }
            let candidate = out.join(&name);
            // `out` has no symlinks left, so opening it without following is exact.
            let fd = rustix::fs::openat(
                &self.fd,
                relative(&candidate),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let st = rustix::fs::fstat(&fd)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(io::Error::from_raw_os_error(
                        rustix::io::Errno::LOOP.raw_os_error(),
                    ));
                }
                let target = rustix::fs::readlinkat(fd.as_fd(), "", Vec::new())?;
                let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                push_components(&mut todo, &target);
            } else {
                if !todo.is_empty() && FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                    return Err(io::Error::from_raw_os_error(
                        rustix::io::Errno::NOTDIR.raw_os_error(),
                    ));
                }
                out = candidate;
            }
        }
        Ok(out)
    }
}

/// A directory opened inside a [`Root`] by [`Root::open_dir`].
///
/// Only single names are opened relative to it, never paths, and never through a symlink
/// (`O_NOFOLLOW`): nothing it reads can lie outside the directory, so no in-root resolution is
/// needed. Reading the 770 file lists of a Debian host this way saves resolving
/// `var/lib/dpkg/info` 770 times.
#[derive(Debug)]
pub struct RootDir {
    fd: OwnedFd,
}

impl RootDir {
    /// Reads the regular file `name` (one path component, not a symlink) in this directory,
    /// refusing files larger than `max` bytes. A symlink is `ELOOP`, a directory
    /// `IsADirectory`, anything else but a regular file an error; nothing blocks.
    pub fn read(&self, name: &OsStr, max: u64) -> io::Result<Vec<u8>> {
        let (file, st) = self.open(name)?;
        read_limited(file, st.size, max)
    }

    /// [`Root::read_records`] for the regular file `name` in this directory (opened as
    /// [`RootDir::read`] opens it).
    pub fn read_records(
        &self,
        name: &OsStr,
        max: u64,
        sep: u8,
        f: &mut dyn FnMut(Records<'_>),
    ) -> io::Result<()> {
        records(self.open(name)?, max, sep, f)
    }

    fn open(&self, name: &OsStr) -> io::Result<(File, Stat)> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a single file name",
            ));
        }
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        regular_file(fd)
    }
}

/// What [`Root::read_records`] hands its callback: first the file's size, then its data.
#[derive(Debug, Clone, Copy)]
pub enum Records<'a> {
    /// The size `fstat` reported (0 for files that report none).
    Size(u64),
    /// The next piece of data, ending after a separator (or at the end of the file).
    Data(&'a [u8]),
}

/// `fd` as a [`File`] with its [`Stat`], when it is a regular file; directories, FIFOs and
/// devices are refused.
fn regular_file(fd: OwnedFd) -> io::Result<(File, Stat)> {
    let st = Stat::from_raw(&rustix::fs::fstat(&fd)?);
    match st.file_type() {
        FileKind::File => Ok((File::from(fd), st)),
        FileKind::Dir => Err(io::Error::from(io::ErrorKind::IsADirectory)),
        _ => Err(io::Error::other("not a regular file")),
    }
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than the limit of {max} bytes"),
    )
}

/// `read(2)` into `buf`, again when interrupted.
fn read_some(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// Reads `file` (of `size` bytes by `fstat`), never more than `max` bytes: the `size` bytes
/// `fstat` reported when it says any (the content as of the `fstat`; a file that shrank
/// since is read to its end), else to the end of the file. Stopping at `size` saves the
/// second `read(2)` that would only say end of file, and the buffer of exactly that size is
/// filled by one `read(2)`: one system call per file, on hundreds of package lists per
/// inventory.
fn read_limited(mut file: File, size: u64, max: u64) -> io::Result<Vec<u8>> {
    if size > max {
        return Err(too_large(max));
    }
    if size == 0 {
        // Files reporting no size (some pseudo-files) may hold anything: never read past
        // the limit.
        let mut buf = Vec::new();
        (&mut file)
            .take(max.saturating_add(1))
            .read_to_end(&mut buf)?;
        if buf.len() as u64 > max {
            return Err(too_large(max));
        }
        return Ok(buf);
    }
    let mut buf = vec![0u8; usize::try_from(size).map_err(|_| too_large(max))?];
    let mut got = 0;
    while got < buf.len() {
        match read_some(&mut file, &mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// The size, then the pieces of an opened file, to `f` ([`Root::read_records`]).
fn records(
    (file, st): (File, Stat),
    max: u64,
    sep: u8,
    f: &mut dyn FnMut(Records<'_>),
) -> io::Result<()> {
    f(Records::Size(st.size));
    read_segments(file, st.size, max, sep, &mut |d| f(Records::Data(d)))
}

/// Bytes [`read_segments`] reads at once.
const CHUNK: usize = 256 << 10;

std::thread_local! {
    /// [`read_segments`]'s buffer: reused, so large files cost no fresh memory.
    static CHUNK_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads `file` as [`read_limited`] would, but in pieces of [`CHUNK`] bytes into one buffer
/// per thread, handing `f` the data cut after the last `sep` of each piece (the rest is
/// carried over; the final piece is handed as it is). `f` sees every byte once, in order,
/// and never a separator-delimited record split in two.
fn read_segments(
    mut file: File,
    size: u64,
    max: u64,
    sep: u8,
    f: &mut dyn FnMut(&[u8]),
) -> io::Result<()> {
    if size > max {
        return Err(too_large(max));
    }
    CHUNK_BUF.with(|cell| {
        // Busy only if `f` itself reads this way on this thread: use a buffer of its own.
        let mut own = Vec::new();
        let mut borrowed = cell.try_borrow_mut();
        let buf: &mut Vec<u8> = match borrowed.as_deref_mut() {
            Ok(b) => b,
            Err(_) => &mut own,
        };
        if buf.len() < CHUNK {
            buf.resize(CHUNK, 0);
        }
        let read = pieces(&mut file, buf, size, max, sep, f);
        // A record longer than a piece grew the buffer (up to `max`): give that back.
        if buf.len() > CHUNK {
            buf.truncate(CHUNK);
            buf.shrink_to_fit();
        }
        read
    })
}

/// [`read_segments`]' loop over `buf`.
fn pieces(
    file: &mut File,
    buf: &mut Vec<u8>,
    size: u64,
    max: u64,
    sep: u8,
    f: &mut dyn FnMut(&[u8]),
) -> io::Result<()> {
    let want = if size > 0 {
        size
    } else {
        max.saturating_add(1)
    };
    let (mut got, mut keep) = (0u64, 0usize);
    loop {
        if keep == buf.len() {
            // One record longer than the buffer (bounded by `max`).
            let grown = buf.len() * 2;
            buf.resize(grown, 0);
        }
        let room = (buf.len() - keep).min(usize::try_from(want - got).unwrap_or(usize::MAX));
        let n = if room == 0 {
            0
        } else {
            read_some(file, &mut buf[keep..keep + room])?
        };
        got += n as u64;
        if size == 0 && got > max {
            return Err(too_large(max));
        }
        let end = keep + n;
        if n == 0 {
            if end > 0 {
                f(&buf[..end]);
            }
            return Ok(());
        }
        match memchr::memrchr(sep, &buf[keep..end]) {
            Some(i) => {
                let cut = keep + i + 1;
                f(&buf[..cut]);
                buf.copy_within(cut..end, 0);
                keep = end - cut;
            }
            None => keep = end,
        }
    }
}

/// Pushes the components of `path` onto `todo` so that popping yields them in order.
fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    let start = todo.len();
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => {}
            Component::CurDir => {}
            Component::ParentDir => todo.push(OsString::from("..")),
            Component::Normal(n) => todo.push(n.to_owned()),
        }
    }
    todo[start..].reverse();
}

/// `path` relative to the root descriptor: no leading `/`, and `.` for the root itself.
fn relative(path: &Path) -> &Path {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

/// Lexically normalises an absolute in-root path: removes `.` and empty components and
/// applies `..` without looking at the filesystem (clamped at `/`). This is what the dynamic
/// loader does to the names it builds before opening them, not what the kernel does.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        (dir, file)
    }

    #[test]
    fn reads_the_size_fstat_gave() {
        // Grown after the fstat: the content as of the fstat.
        let (_d, f) = file_with(b"0123456789");
        assert_eq!(read_limited(f, 4, 100).unwrap(), b"0123");
        // Shrunk since: to its end.
        let (_d, f) = file_with(b"0123");
        assert_eq!(read_limited(f, 10, 100).unwrap(), b"0123");
        // No size reported: to its end, within the limit.
        let (_d, f) = file_with(b"0123456789");
        assert_eq!(read_limited(f, 0, 100).unwrap(), b"0123456789");
        let (_d, f) = file_with(b"0123456789");
        let e = read_limited(f, 0, 5).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        let (_d, f) = file_with(b"0123456789");
        let e = read_limited(f, 10, 5).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
    }

    /// The pieces `read_segments` hands over.
    fn segments(f: File, size: u64, max: u64) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        read_segments(f, size, max, b'\n', &mut |d| out.push(d.to_vec()))?;
        Ok(out)
    }

    #[test]
    fn segments_cut_after_separators_and_hold_every_byte() {
        // Short lines over several buffers, one line longer than a buffer, no final newline.
        let mut data = Vec::new();
        for i in 0..40_000 {
            data.extend_from_slice(format!("/usr/lib/file-{i}\n").as_bytes());
        }
        data.extend(std::iter::repeat_n(b'x', CHUNK + CHUNK / 2));
        data.extend_from_slice(b"\n/last");
        let (_d, f) = file_with(&data);
        let pieces = segments(f, data.len() as u64, 1 << 30).unwrap();
        assert!(pieces.len() > 2, "{} pieces", pieces.len());
        assert!(
            pieces[..pieces.len() - 1]
                .iter()
                .all(|p| p.ends_with(b"\n"))
        );
        assert_eq!(pieces.concat(), data);
        // The buffer the long record grew is given back.
        assert_eq!(CHUNK_BUF.with(|b| b.borrow().capacity()), CHUNK);

        // The same limits as `read_limited`: the size fstat gave, or to the end within `max`.
        let (_d, f) = file_with(b"a\nb\nc\n");
        assert_eq!(segments(f, 4, 100).unwrap().concat(), b"a\nb\n");
        let (_d, f) = file_with(b"a\nb\n");
        assert_eq!(segments(f, 10, 100).unwrap().concat(), b"a\nb\n");
        let (_d, f) = file_with(b"a\nb\nc\n");
        assert_eq!(segments(f, 0, 100).unwrap().concat(), b"a\nb\nc\n");
        let (_d, f) = file_with(b"a\nb\nc\n");
        let e = segments(f, 0, 5).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        let (_d, f) = file_with(b"a\nb\nc\n");
        let e = segments(f, 6, 5).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        let (_d, f) = file_with(b"");
        assert!(segments(f, 0, 5).unwrap().is_empty());
    }
}
