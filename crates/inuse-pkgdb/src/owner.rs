//! The file -> package index of a root.
//!
//! A library found mapped in a process, or reached by the loader, must be attributed to the
//! package that shipped it, whichever spelling of its path we hold. On merged-/usr systems
//! `/lib/x86_64-linux-gnu/libc.so.6` (as dpkg lists it) and
//! `/usr/lib/x86_64-linux-gnu/libc.so.6` (its real path, what `/proc/PID/maps` shows) are one
//! file; `dpkg -S` only matches the listed spelling.
//!
//! Approach: every listed path is split into parent directory and file name; the *directory*
//! is canonicalized inside the root (each distinct directory once, parents before children;
//! siblings typed by one listing of their parent, or an `lstat` each when they are few; full
//! resolution only for the rare symlinked ones; levels of the tree in parallel) and the key is canonical directory + name. The name itself is not resolved, so
//! a listed symlink (`/lib`, `libz.so.1`) keeps its own owner. A lookup canonicalizes the
//! query's parent the same way. Directories that do not exist in the root keep their lexical
//! spelling below the deepest existing one, so index and lookup still agree.
//!
//! Several owners: directories are shared by many packages, and dpkg lets `Multi-Arch: same`
//! packages share identical files; all owners are kept, in inventory order. Files moved by
//! `dpkg-divert` are indexed where they really lie: the diverted package's file under the
//! diverted name, the original name left to the diverting package. So the first owner of a
//! regular file is the package whose content is on disk there, and [`OwnerIndex::owner`]
//! returns it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use inuse_root::{FileKind, Root};
use rayon::prelude::*;

use crate::dpkg::Diversion;
use crate::{Collected, Manager, PackageId};

/// One indexed path: canonical directory id, hash of the name, name (a slice of one of the
/// buffers), owners. Entries sort by (dir, hash, name): integer comparisons almost always
/// decide, names are compared only on hash ties.
#[derive(Debug, Clone, Copy)]
struct Entry {
    dir: u32,
    hash: u64,
    buf: u32,
    start: u32,
    len: u32,
    first: u32,
    count: u32,
}

/// Maps canonical in-root paths to the packages that list them.
///
/// Built without a per-path allocation: names stay in the file-list buffers they were read
/// into, entries are sorted by (canonical directory, name) and found by binary search.
#[derive(Debug, Default)]
pub struct OwnerIndex {
    /// The packages' file lists, plus one buffer for names that had to be rewritten.
    bufs: Vec<Vec<u8>>,
    /// Canonical directory -> id.
    dir_ids: FnvMap<Box<[u8]>, u32>,
    /// Canonical directories by id.
    dirs: Vec<Box<[u8]>>,
    entries: Vec<Entry>,
    owners: Vec<PackageId>,
}

/// Siblings from which one listing of their parent is cheaper than an `lstat` each: listing
/// a large directory (`/usr/share/doc`) for one or two subdirectories costs more than it saves
/// (measured on Debian 12: 8 is the best of 0, 2, 4, 8, 16 and never).
const LIST_MIN: usize = 8;

/// FNV-1a as a `Hasher` for the directory maps: keys are short paths, SipHash's DoS
/// resistance buys nothing against a database we already trust to be finite, and it showed
/// in profiles.
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let start = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        self.0 = bytes.iter().fold(start, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    }
}

type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// FNV-1a: a fixed, cheap order key for names. Collisions only cost a name comparison.
fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Lexically normalises an absolute path (`//`, `.`, `..`, trailing `/`), borrowing when it is
/// already normal.
fn normalize(path: &[u8]) -> Cow<'_, [u8]> {
    // One pass: a normal path starts with `/` and no `/` is followed by `/`, `.` or the end.
    let clean = path.first() == Some(&b'/')
        && (path.len() == 1
            || (path.last() != Some(&b'/')
                && !path
                    .windows(2)
                    .any(|w| w[0] == b'/' && matches!(w[1], b'/' | b'.'))));
    if clean {
        return Cow::Borrowed(path);
    }
    let mut out: Vec<u8> = Vec::with_capacity(path.len() + 1);
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                let cut = memchr::memrchr(b'/', &out).unwrap_or(0);
                out.truncate(cut);
            }
            p => {
                out.push(b'/');
                out.extend_from_slice(p);
            }
        }
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Cow::Owned(out)
}

/// Splits a normal absolute path into parent directory and name (`/a/b` -> `/a`, `b`).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    let i = memchr::memrchr(b'/', path).unwrap_or(0);
    let dir = if i == 0 { &b"/"[..] } else { &path[..i] };
    (dir, &path[i + 1..])
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dir.len() + 1 + name.len());
    out.extend_from_slice(dir);
    if dir != b"/" {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// The canonical form of `parent/name` given a canonical `parent`.
fn step(root: &Root, parent: &[u8], name: &[u8]) -> Box<[u8]> {
    let candidate = join(parent, name);
    let path = Path::new(OsStr::from_bytes(&candidate));
    let resolve = || match root.canonicalize(path) {
        Ok(real) => real
            .into_os_string()
            .into_encoded_bytes()
            .into_boxed_slice(),
        // Missing or dangling: keep the lexical spelling, as lookups will.
        Err(_) => candidate.clone().into_boxed_slice(),
    };
    match root.lstat(path) {
        Ok(st) if st.file_type() == FileKind::Symlink => resolve(),
        Ok(_) => candidate.into_boxed_slice(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => candidate.into_boxed_slice(),
        // `lstat` refused (inuse-root's O_PATH open can fail with EINVAL under openat2):
        // the full walk answers the same question, only slower.
        Err(_) => resolve(),
    }
}

/// Canonicalizes a normal absolute directory path component by component, like the index.
fn canonical_dir(root: &Root, dir: &[u8]) -> Box<[u8]> {
    let mut cur: Box<[u8]> = Box::from(&b"/"[..]);
    for part in dir.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
        cur = step(root, &cur, part);
    }
    cur
}

/// Lexical directories met while reading the lists: path, parent id, depth.
#[derive(Default)]
struct Lexical {
    ids: FnvMap<Box<[u8]>, u32>,
    dirs: Vec<(Box<[u8]>, u32, u32)>,
}

impl Lexical {
    /// Interns `dir` and its ancestors; returns its id.
    fn intern(&mut self, dir: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(dir) {
            return id;
        }
        let (parent, depth) = if dir == b"/" {
            (u32::MAX, 0)
        } else {
            let p = self.intern(split(dir).0);
            (p, self.dirs[p as usize].2 + 1)
        };
        let id = self.dirs.len() as u32;
        self.dirs.push((Box::from(dir), parent, depth));
        self.ids.insert(Box::from(dir), id);
        id
    }

    /// Canonicalizes every directory, level by level (a level only reads the one above), in
    /// parallel within a level. Children are typed by listing their canonical parent once
    /// (`d_type` from one `getdents` answers for all of them) instead of an `lstat` each:
    /// 12,600 directories on a Debian host have 3,700 distinct parents. Only the rare
    /// symlinked directory is resolved in full.
    fn canonicalize(&self, root: &Root) -> Vec<Box<[u8]>> {
        let max_depth = self.dirs.iter().map(|d| d.2).max().unwrap_or(0);
        let mut levels: Vec<Vec<u32>> = vec![Vec::new(); max_depth as usize + 1];
        for (i, d) in self.dirs.iter().enumerate() {
            levels[d.2 as usize].push(i as u32);
        }
        let mut canon: Vec<Box<[u8]>> = vec![Box::default(); self.dirs.len()];
        for mut level in levels {
            // Siblings next to each other: one listing per parent.
            level.sort_unstable_by_key(|&i| self.dirs[i as usize].1);
            let groups: Vec<&[u32]> = level
                .chunk_by(|&a, &b| self.dirs[a as usize].1 == self.dirs[b as usize].1)
                .collect();
            let done: Vec<Vec<(u32, Box<[u8]>)>> = groups
                .par_iter()
                .map(|group| {
                    let parent = self.dirs[group[0] as usize].1;
                    if parent == u32::MAX {
                        return group
                            .iter()
                            .map(|&i| (i, self.dirs[i as usize].0.clone()))
                            .collect();
                    }
                    let cparent = &canon[parent as usize];
                    if group.len() < LIST_MIN {
                        return group
                            .iter()
                            .map(|&i| (i, step(root, cparent, split(&self.dirs[i as usize].0).1)))
                            .collect();
                    }
                    let listing = root.read_dir(Path::new(OsStr::from_bytes(cparent)));
                    group
                        .iter()
                        .map(|&i| {
                            let name = split(&self.dirs[i as usize].0).1;
                            let kind = match &listing {
                                Ok(entries) => Some(
                                    entries
                                        .binary_search_by(|(n, _)| n.as_bytes().cmp(name))
                                        .ok()
                                        .map(|k| entries[k].1),
                                ),
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        std::io::ErrorKind::NotFound
                                            | std::io::ErrorKind::NotADirectory
                                    ) =>
                                {
                                    Some(None)
                                }
                                Err(_) => None,
                            };
                            let c = match kind {
                                // Missing: keep the lexical spelling, as lookups will.
                                Some(None) => join(cparent, name).into_boxed_slice(),
                                Some(Some(FileKind::Symlink)) => resolve(root, cparent, name),
                                Some(Some(_)) => join(cparent, name).into_boxed_slice(),
                                // The parent could not be listed (permissions): ask per child.
                                None => step(root, cparent, name),
                            };
                            (i, c)
                        })
                        .collect()
                })
                .collect();
            for (i, c) in done.into_iter().flatten() {
                canon[i as usize] = c;
            }
        }
        canon
    }
}

/// The canonical form of the symlink `parent/name` (`parent` canonical); the lexical spelling
/// when it dangles.
fn resolve(root: &Root, parent: &[u8], name: &[u8]) -> Box<[u8]> {
    let candidate = join(parent, name);
    match root.canonicalize(Path::new(OsStr::from_bytes(&candidate))) {
        Ok(real) => real
            .into_os_string()
            .into_encoded_bytes()
            .into_boxed_slice(),
        Err(_) => candidate.into_boxed_slice(),
    }
}

impl OwnerIndex {
    pub(crate) fn build(root: &Root, c: Collected) -> OwnerIndex {
        let Collected {
            files,
            diversions,
            managers,
            names,
        } = c;
        let (mut bufs, seps): (Vec<Vec<u8>>, Vec<u8>) =
            files.into_iter().map(|f| (f.buf, f.sep)).unzip();
        let diverted: HashMap<&[u8], &Diversion> =
            diversions.iter().map(|d| (d.from.as_slice(), d)).collect();
        // Most paths are not diverted: check the length before hashing.
        let mut lens = vec![false; 4096];
        for d in &diversions {
            if let Some(l) = lens.get_mut(d.from.len()) {
                *l = true;
            }
        }
        let maybe_diverted = |p: &[u8]| lens.get(p.len()).is_none_or(|&b| b);

        // Entries with the lexical directory id in `dir` and the package in `first`.
        let mut raw: Vec<Entry> =
            Vec::with_capacity(bufs.iter().map(|b| b.len() / 48).sum::<usize>());
        let mut extra: Vec<u8> = Vec::new();
        let mut lexical = Lexical::default();
        let extra_id = bufs.len() as u32;
        for (i, buf) in bufs.iter().enumerate() {
            let id = PackageId(i as u32);
            let dpkg = managers[i] == Manager::Dpkg;
            let base = buf.as_ptr() as usize;
            let mut last: Option<(&[u8], u32)> = None;
            let sep = seps[i];
            for listed in buf
                .split(|&b| b == sep)
                .map(|p| p.strip_suffix(b"\r").unwrap_or(p))
                .filter(|p| !p.is_empty())
            {
                let mut path = normalize(listed);
                if dpkg
                    && maybe_diverted(&path)
                    && let Some(d) = diverted.get(&*path)
                    && d.by.as_deref() != Some(names[i].as_str())
                {
                    path = Cow::Owned(normalize(&d.to).into_owned());
                }
                let (dir, name) = split(&path);
                if name.is_empty() {
                    continue;
                }
                let dir_id = match last {
                    Some((d, id)) if d == dir => id,
                    _ => lexical.intern(dir),
                };
                let (b, start) = match &path {
                    Cow::Borrowed(p) => {
                        last = Some((split(p).0, dir_id));
                        (i as u32, (name.as_ptr() as usize - base) as u32)
                    }
                    Cow::Owned(_) => {
                        last = None;
                        extra.extend_from_slice(name);
                        (extra_id, (extra.len() - name.len()) as u32)
                    }
                };
                raw.push(Entry {
                    dir: dir_id,
                    hash: name_hash(name),
                    buf: b,
                    start,
                    len: name.len() as u32,
                    first: id.0,
                    count: 1,
                });
            }
        }
        bufs.push(extra);

        // Lexical directories -> canonical directory ids.
        let canon = lexical.canonicalize(root);
        let mut dir_ids: FnvMap<Box<[u8]>, u32> =
            FnvMap::with_capacity_and_hasher(canon.len(), Default::default());
        let mut dirs: Vec<Box<[u8]>> = Vec::with_capacity(canon.len());
        let to_canon: Vec<u32> = canon
            .into_iter()
            .map(|c| {
                let next = dirs.len() as u32;
                *dir_ids.entry(c.clone()).or_insert_with(|| {
                    dirs.push(c);
                    next
                })
            })
            .collect();

        let name_of =
            |e: &Entry| &bufs[e.buf as usize][e.start as usize..(e.start + e.len) as usize];
        for r in &mut raw {
            r.dir = to_canon[r.dir as usize];
        }
        raw.par_sort_unstable_by(|a, b| {
            (a.dir, a.hash)
                .cmp(&(b.dir, b.hash))
                .then_with(|| name_of(a).cmp(name_of(b)))
                .then(a.first.cmp(&b.first))
        });
        let mut entries: Vec<Entry> = Vec::with_capacity(raw.len());
        let mut owners: Vec<PackageId> = Vec::with_capacity(raw.len());
        for r in raw {
            let pkg = PackageId(r.first);
            if let Some(e) = entries.last_mut()
                && (e.dir, e.hash) == (r.dir, r.hash)
                && name_of(e) == name_of(&r)
            {
                if owners.last() != Some(&pkg) {
                    owners.push(pkg);
                    e.count += 1;
                }
                continue;
            }
            entries.push(Entry {
                first: owners.len() as u32,
                ..r
            });
            owners.push(pkg);
        }
        OwnerIndex {
            bufs,
            dir_ids,
            dirs,
            entries,
            owners,
        }
    }

    fn name(&self, e: &Entry) -> &[u8] {
        &self.bufs[e.buf as usize][e.start as usize..(e.start + e.len) as usize]
    }

    fn lookup(&self, dir: &[u8], name: &[u8]) -> &[PackageId] {
        let Some(&dir) = self.dir_ids.get(dir) else {
            return &[];
        };
        let hash = name_hash(name);
        match self.entries.binary_search_by(|e| {
            (e.dir, e.hash)
                .cmp(&(dir, hash))
                .then_with(|| self.name(e).cmp(name))
        }) {
            Ok(i) => {
                let e = &self.entries[i];
                &self.owners[e.first as usize..(e.first + e.count) as usize]
            }
            Err(_) => &[],
        }
    }

    /// The owners of `path`, given in any spelling that leads to the same file inside `root`:
    /// as the package manager lists it, its real path, or through directory symlinks. Owners
    /// are in inventory order; see the module documentation for several owners.
    pub fn owners(&self, root: &Root, path: &Path) -> &[PackageId] {
        let path = normalize(path.as_os_str().as_bytes());
        let (dir, name) = split(&path);
        if name.is_empty() {
            return &[];
        }
        self.lookup(&canonical_dir(root, dir), name)
    }

    /// The owners of a path whose parent directory is already canonical (a path found by
    /// walking the root without following symlinks, or returned by [`Root::canonicalize`]):
    /// no filesystem access.
    pub fn owners_of_real(&self, path: &Path) -> &[PackageId] {
        let path = normalize(path.as_os_str().as_bytes());
        let (dir, name) = split(&path);
        self.lookup(dir, name)
    }

    /// The preferred owner of `path` (see the module documentation).
    pub fn owner(&self, root: &Root, path: &Path) -> Option<PackageId> {
        self.owners(root, path).first().copied()
    }

    /// Number of indexed paths.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every indexed canonical path with its owners, sorted by directory id and name.
    pub fn iter(&self) -> impl Iterator<Item = (PathBuf, &[PackageId])> {
        self.entries.iter().map(|e| {
            let path = join(&self.dirs[e.dir as usize], self.name(e));
            (
                PathBuf::from(OsString::from_vec(path)),
                &self.owners[e.first as usize..(e.first + e.count) as usize],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing() {
        assert_eq!(&*normalize(b"/usr/lib/x"), b"/usr/lib/x");
        assert_eq!(&*normalize(b"/."), b"/");
        assert_eq!(&*normalize(b"//usr/./lib/../bin/"), b"/usr/bin");
        assert_eq!(&*normalize(b"/../.."), b"/");
        assert_eq!(&*normalize(b"usr/x"), b"/usr/x");
        assert_eq!(split(b"/a"), (&b"/"[..], &b"a"[..]));
        assert_eq!(split(b"/a/b/c"), (&b"/a/b"[..], &b"c"[..]));
    }
}
