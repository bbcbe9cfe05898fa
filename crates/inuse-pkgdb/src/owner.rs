//! The file -> package index of a root.
//!
//! A library found mapped in a process, or reached by the loader, must be attributed to the
//! package that shipped it, whichever spelling of its path we hold. On merged-/usr systems
//! `/lib/x86_64-linux-gnu/libc.so.6` (as dpkg lists it) and
//! `/usr/lib/x86_64-linux-gnu/libc.so.6` (its real path, what `/proc/PID/maps` shows) are one
//! file; `dpkg -S` only matches the listed spelling.
//!
//! Approach: the index is keyed by file *name*. Every listed path is lexically normalised and
//! packed as it is read ([`Packer`]): per package, each distinct directory once and each name
//! once, without a per-path allocation; a hash table chains the paths that share a name. A
//! lookup canonicalizes the query's parent directory inside the root, takes the paths listed
//! under the same name, and keeps those whose own parent directory canonicalizes to the
//! same place. Directories are canonicalized lazily, each at most once (memoised, parents
//! before children, one `lstat` per component, full resolution only for the rare symlinked
//! one): building the index touches no file but the lists, and a lookup costs a few hash probes
//! once the directories it meets are known. The name itself is not resolved, so a listed
//! symlink (`/lib`, `libz.so.1`) keeps its own owner. Directories that do not exist in the root
//! keep their lexical spelling below the deepest existing one, so index and lookup agree.
//!
//! Several owners: directories are shared by many packages, and dpkg lets `Multi-Arch: same`
//! packages share identical files; all owners are kept, in inventory order. Files moved by
//! `dpkg-divert` are indexed where they really lie: the diverted package's file under the
//! diverted name, the original name left to the diverting package. So the first owner of a
//! regular file is the package whose content is on disk there, and [`OwnerIndex::owner`]
//! returns it.
//!
//! Cost on a Debian 12 host (770 packages, 137,000 listed paths): reading the lists and
//! building the index is a few tens of milliseconds on 2 cores; see `bench/inventory.sh`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, RwLock};

use inuse_root::{FileKind, Root};
use rayon::prelude::*;

use crate::dpkg::Diversion;
use crate::{Collected, FileList, Manager, PackageId};

/// End of a hash chain.
const NONE: u32 = u32::MAX;

/// Where dpkg diversions move listed paths (see the module documentation).
pub(crate) struct Diverter<'a> {
    by_path: FnvMap<&'a [u8], &'a Diversion>,
    /// Lengths of diverted paths: most paths are ruled out before hashing.
    lens: Vec<bool>,
}

impl<'a> Diverter<'a> {
    pub(crate) fn new(diversions: &'a [Diversion]) -> Self {
        let mut lens = vec![false; 4096];
        for d in diversions {
            if let Some(l) = lens.get_mut(d.from.len()) {
                *l = true;
            }
        }
        Diverter {
            by_path: diversions.iter().map(|d| (d.from.as_slice(), d)).collect(),
            lens,
        }
    }

    /// Where the file that package `package` lists as `path` really lies, when a diversion
    /// by another package (or the administrator) moved it.
    fn divert(&self, path: &[u8], package: &str) -> Option<Vec<u8>> {
        if self.by_path.is_empty() || !self.lens.get(path.len()).is_none_or(|&b| b) {
            return None;
        }
        let d = self.by_path.get(path)?;
        (d.by.as_deref() != Some(package)).then(|| d.to.clone())
    }
}

/// One listed path: its name starts at `names[name]` of its package's [`PackedList`] and ends
/// where the next entry's starts; its directory is that list's directory `dir`; `hash` is
/// [`name_hash`] of the name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    hash: u32,
    name: u32,
    dir: u32,
}

/// A package's file list as the index keeps it: every distinct directory once, each name
/// once, 12 bytes an entry. On a Debian host the 8.1 MB of list text packs into 3.2 MB plus
/// the entries; the memory a fresh process touches is much of what building the index costs
/// (see `bench/inventory.sh`).
#[derive(Debug, Default)]
pub(crate) struct PackedList {
    /// The entries' names, back to back, in entry order.
    names: Box<[u8]>,
    /// The directories, back to back.
    dir_text: Box<[u8]>,
    /// Where each directory ends in `dir_text` (it starts where the one before ends).
    dir_ends: Box<[u32]>,
    /// The paths, in the order listed, lexically normal (and diverted where dpkg moved them).
    entries: Box<[Entry]>,
}

impl PackedList {
    fn dirs(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.dir_ends.len() as u32).map(|d| self.dir(d))
    }

    fn dir(&self, d: u32) -> &[u8] {
        let d = d as usize;
        let start = if d == 0 { 0 } else { self.dir_ends[d - 1] };
        &self.dir_text[start as usize..self.dir_ends[d] as usize]
    }

    /// Directory and name of entry `i`.
    fn parts(&self, i: usize) -> (&[u8], &[u8]) {
        let e = &self.entries[i];
        let end = self
            .entries
            .get(i + 1)
            .map_or(self.names.len(), |n| n.name as usize);
        (self.dir(e.dir), &self.names[e.name as usize..end])
    }

    /// The listed paths, as packed.
    pub(crate) fn paths(&self) -> Vec<Vec<u8>> {
        (0..self.entries.len())
            .map(|i| {
                let (dir, name) = self.parts(i);
                join(dir, name)
            })
            .collect()
    }
}

/// Maps in-root paths, in any spelling, to the packages that list them.
///
/// Built without a per-path allocation and without touching the filesystem but the lists;
/// directories are canonicalized on demand (see the module documentation).
pub struct OwnerIndex {
    /// The root the paths belong to; `None` when its descriptor could not be duplicated, in
    /// which case only exact spellings match.
    root: Option<Root>,
    /// The packages' file lists, packed.
    lists: Vec<PackedList>,
    /// Global entry number of each package's first entry; one more at the end (the total).
    offsets: Vec<u32>,
    /// Hash chains over global entry numbers: `heads[hash & mask]` is the first, `next[i]`
    /// the one after `i`.
    heads: Vec<u32>,
    next: Vec<u32>,
    mask: u32,
    /// Normal directory path -> its canonical form inside the root.
    canon: Mutex<Canon>,
    /// Names listed more than [`GROUP_MIN`] times, once looked up: canonical directory ->
    /// owners.
    groups: RwLock<FnvMap<Box<[u8]>, CanonGroup>>,
}

/// Past this many paths with one name, the name's paths are grouped by canonical directory
/// on its first lookup.
const GROUP_MIN: usize = 8;

/// Canonical directory -> owners of one name in it.
type CanonGroup = FnvMap<Box<[u8]>, Vec<PackageId>>;

impl std::fmt::Debug for OwnerIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerIndex")
            .field("root", &self.root.as_ref().map(Root::dir))
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

/// FNV-1a as a `Hasher` for the directory map: keys are short paths, SipHash's DoS
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

/// Normal directory path -> canonical directory path, and the bytes it holds.
#[derive(Default)]
struct Canon {
    map: FnvMap<Box<[u8]>, Box<[u8]>>,
    bytes: usize,
}

impl Canon {
    /// Remembers `dir -> canonical` while under [`MEMO_MAX_BYTES`]; past it, directories
    /// are resolved again when asked (at most [`MAX_DEPTH`] steps each).
    fn insert(&mut self, dir: Box<[u8]>, canonical: Box<[u8]>) {
        let size = dir.len() + canonical.len() + 64;
        if self.bytes.saturating_add(size) <= MEMO_MAX_BYTES {
            self.bytes += size;
            self.map.insert(dir, canonical);
        }
    }
}

/// Components of a directory resolved inside the root; deeper ones are appended as listed.
/// No package nests anywhere near this deep, and it keeps a hostile list (a path of
/// thousands of components) from costing a resolution per component of every prefix.
const MAX_DEPTH: usize = 64;

/// Memory the directory memo may hold (a hostile list of many deep directories would
/// otherwise make it grow with the square of their depth).
const MEMO_MAX_BYTES: usize = 64 << 20;

/// The end of the first [`MAX_DEPTH`] components of a normal absolute path, when it has more.
fn depth_cut(dir: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'/', dir).nth(MAX_DEPTH)
}

/// Hash of a file name: the hash table's key ([`hash64`] folded to 32 bits); collisions only
/// cost a name comparison.
fn name_hash(name: &[u8]) -> u32 {
    let h = hash64(name);
    (h >> 32) as u32 ^ h as u32
}

/// 64-bit hash of a name or path: eight bytes at a time (multiply, rotate), the tail
/// zero-padded with the length mixed in. The tail is loaded with whole-word reads (never
/// through a byte copy to the stack, which stalls the load that follows it: a quarter of the
/// packing time when it did).
fn hash64(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(29);
    let n = bytes.len();
    let mut h = (n as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let r = chunks.remainder().len();
    if r > 0 {
        h = mix(h, tail(bytes, r));
    }
    h.wrapping_mul(K)
}

/// The last `r` (1 to 7) bytes of `bytes` as a little-endian word, zero-padded.
fn tail(bytes: &[u8], r: usize) -> u64 {
    let n = bytes.len();
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    if n >= 8 {
        // The last eight bytes, the ones before the tail shifted out.
        word(n - 8) >> (8 * (8 - r))
    } else if n >= 4 {
        // Two overlapping halves; the overlap holds the same bytes.
        half(0) | half(n - 4) << (8 * (n - 4))
    } else {
        let b = |i: usize| u64::from(bytes[i]) << (8 * i);
        b(0) | b(n / 2) | b(n - 1)
    }
}

/// Lexically normalises an absolute path (`//`, `.`, `..`, trailing `/`), borrowing when it is
/// already normal.
fn normalize(path: &[u8]) -> Cow<'_, [u8]> {
    if is_normal(path) {
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

/// Lexical directories met while reading the lists: path, parent id, depth.
#[derive(Default)]
struct Lexical {
    ids: FnvMap<Box<[u8]>, u32>,
    dirs: Vec<(Box<[u8]>, u32, u32)>,
    /// Bytes of paths held (twice: map and list).
    bytes: usize,
}

impl Lexical {
    /// Interns `dir` (normal, absolute) and its ancestors; returns its id. Iterative: a
    /// hostile list may hold a path of thousands of components.
    fn intern(&mut self, dir: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(dir) {
            return id;
        }
        // Up to the deepest interned ancestor (or `/`), then down.
        let mut ends = vec![dir.len()];
        let mut end = dir.len();
        let mut parent = u32::MAX;
        while end > 1 {
            let i = memchr::memrchr(b'/', &dir[..end]).unwrap_or(0);
            let up = if i == 0 { 1 } else { i };
            if let Some(&id) = self.ids.get(&dir[..up]) {
                parent = id;
                break;
            }
            ends.push(up);
            end = up;
        }
        let mut id = parent;
        for &end in ends.iter().rev() {
            let path = &dir[..end];
            let depth = if id == u32::MAX {
                0
            } else {
                self.dirs[id as usize].2 + 1
            };
            let new = self.dirs.len() as u32;
            self.bytes += 2 * path.len() + 64;
            self.dirs.push((Box::from(path), id, depth));
            self.ids.insert(Box::from(path), new);
            id = new;
        }
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

/// Siblings from which one listing of their parent is cheaper than an `lstat` each: listing
/// a large directory (`/usr/share/doc`) for one or two subdirectories costs more than it saves
/// (measured on Debian 12: 8 is the best of 0, 2, 4, 8, 16 and never).
const LIST_MIN: usize = 8;

/// The canonical form of `parent/name` given a canonical `parent`.
fn step(root: &Root, parent: &[u8], name: &[u8]) -> Box<[u8]> {
    let candidate = join(parent, name);
    match root.lstat(Path::new(OsStr::from_bytes(&candidate))) {
        Ok(st) if st.file_type() == FileKind::Symlink => resolve(root, parent, name),
        Ok(_) => candidate.into_boxed_slice(),
        // Missing: keep the lexical spelling, as lookups will.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => candidate.into_boxed_slice(),
        // `lstat` refused (inuse-root's O_PATH open can fail with EINVAL under openat2):
        // the full walk answers the same question, only slower.
        Err(_) => resolve(root, parent, name),
    }
}

/// Packs file lists into [`PackedList`]s, line by line, as the loaders read them (while the
/// text is hot in the cache). Paths are lexically normalised and, for dpkg, diverted; each
/// distinct directory is kept once. One per thread ([`with_packer`]): its directory table
/// keeps its capacity from one list to the next.
///
/// Lists are grouped by directory: a line's directory is compared with the previous line's
/// before it is looked up in the list's directory table.
#[derive(Default)]
pub(crate) struct Packer {
    names: Vec<u8>,
    dir_text: Vec<u8>,
    dir_ends: Vec<u32>,
    entries: Vec<Entry>,
    /// Directory hash -> the last directory with that hash; `next` chains the others.
    heads: HashMap<u64, u32, std::hash::BuildHasherDefault<Passthrough>>,
    next: Vec<u32>,
    /// The directory of the previous line (lists are grouped by directory).
    last: u32,
}

/// A `Hasher` for keys that are hashes already ([`hash64`]).
#[derive(Default, Clone, Copy)]
struct Passthrough(u64);

impl std::hash::Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash64(bytes);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

thread_local! {
    static PACKER: std::cell::RefCell<Packer> = std::cell::RefCell::new(Packer {
        last: NONE,
        ..Packer::default()
    });
}

/// Runs `f` with this thread's [`Packer`], emptied of any previous list.
pub(crate) fn with_packer<T>(f: impl FnOnce(&mut Packer) -> T) -> T {
    PACKER.with(|p| {
        let mut p = p.borrow_mut();
        p.reset();
        f(&mut p)
    })
}

/// Whether `at`, which starts with `/`, starts a component that makes a path non-normal: an
/// empty one, `.` or `..` (a name such as `.hidden` does not).
fn is_odd(at: &[u8]) -> bool {
    matches!(
        at,
        [b'/', b'/', ..]
            | [b'/', b'.']
            | [b'/', b'.', b'/', ..]
            | [b'/', b'.', b'.']
            | [b'/', b'.', b'.', b'/', ..]
    )
}

/// Whether the absolute `path` is lexically normal: no `//`, no `.` or `..` component, no
/// trailing `/`.
fn is_normal(path: &[u8]) -> bool {
    match path {
        [] => false,
        [b'/'] => true,
        [b'/', .., last] if *last != b'/' => {
            !memchr::memchr_iter(b'/', path).any(|i| is_odd(&path[i..]))
        }
        _ => false,
    }
}

impl Packer {
    /// Empties the packer (of a list whose reading failed half-way).
    pub(crate) fn reset(&mut self) {
        self.names = Vec::new();
        self.dir_text = Vec::new();
        self.dir_ends = Vec::new();
        self.entries = Vec::new();
        self.heads.clear();
        self.next.clear();
        self.last = NONE;
    }

    /// Room for a list of about `bytes` bytes of text (on Debian 12, names are 29 % of the
    /// lists, directories 11 %, a line 59 bytes, a directory 350 bytes of list).
    pub(crate) fn reserve(&mut self, bytes: usize) {
        self.names.reserve(bytes / 3);
        self.dir_text.reserve(bytes / 8);
        self.dir_ends.reserve(bytes / 256);
        self.entries.reserve(bytes / 56);
    }

    fn dir(&self, d: u32) -> Option<&[u8]> {
        let d = d as usize;
        let end = *self.dir_ends.get(d)?;
        let start = if d == 0 { 0 } else { self.dir_ends[d - 1] };
        Some(&self.dir_text[start as usize..end as usize])
    }

    /// The id of directory `dir` in this list, added when new; `None` past `u32` offsets.
    fn intern(&mut self, dir: &[u8]) -> Option<u32> {
        if self.dir(self.last) == Some(dir) {
            return Some(self.last);
        }
        let h = hash64(dir);
        let mut i = self.heads.get(&h).copied().unwrap_or(NONE);
        while i != NONE {
            if self.dir(i) == Some(dir) {
                self.last = i;
                return Some(i);
            }
            i = self.next[i as usize];
        }
        let end = u32::try_from(self.dir_text.len() + dir.len()).ok()?;
        let id = u32::try_from(self.dir_ends.len())
            .ok()
            .filter(|&id| id != NONE)?;
        self.dir_text.extend_from_slice(dir);
        self.dir_ends.push(end);
        self.next.push(self.heads.insert(h, id).unwrap_or(NONE));
        self.last = id;
        Some(id)
    }

    /// Adds `name` (not empty, no `/`) in directory `dir`.
    fn push(&mut self, name: &[u8], dir: u32) {
        // Past 4 GiB of one package's names (unreachable with the loaders' limits), paths
        // are not indexed.
        let Ok(start) = u32::try_from(self.names.len()) else {
            return;
        };
        if u32::try_from(self.names.len() + name.len()).is_err() {
            return;
        }
        self.names.extend_from_slice(name);
        self.entries.push(Entry {
            hash: name_hash(name),
            name: start,
            dir,
        });
    }

    /// Adds one lexically normal path.
    fn add(&mut self, path: &[u8]) {
        let (dir, name) = split(path);
        if name.is_empty() {
            return;
        }
        if let Some(dir) = self.intern(dir) {
            self.push(name, dir);
        }
    }

    /// Adds the paths of `buf`, separated by `sep` (a trailing `\r` is dropped); the caller
    /// cuts `buf` at separators. `divert` is given for dpkg packages, with the package's name.
    pub(crate) fn lines(&mut self, buf: &[u8], sep: u8, divert: Option<(&Diverter<'_>, &str)>) {
        // Where a `//` or `/.` occurs, found for the whole buffer at once (vectorised): the
        // lines without one, nearly all, need only their ends checked to be known normal.
        let mut odd: Vec<usize> = memchr::memmem::find_iter(buf, b"//")
            .chain(memchr::memmem::find_iter(buf, b"/."))
            .collect();
        odd.sort_unstable();
        let mut odd = odd.into_iter().peekable();
        let mut from = 0usize;
        let ends = memchr::memchr_iter(sep, buf).chain(std::iter::once(buf.len()));
        for end in ends {
            let start = from;
            from = end + 1;
            let raw = &buf[start..end];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            let mut clean =
                raw.first() == Some(&b'/') && (raw.len() == 1 || raw.last() != Some(&b'/'));
            while let Some(&i) = odd.peek() {
                if i >= end {
                    break;
                }
                // A `/.` that starts a longer name (`/.hidden`) is harmless.
                clean &= !is_odd(&buf[i..start + raw.len()]);
                odd.next();
            }
            let normal = if clean {
                Cow::Borrowed(raw)
            } else {
                normalize(raw)
            };
            match divert.and_then(|(d, package)| d.divert(&normal, package)) {
                Some(to) => self.add(&normalize(&to)),
                None => self.add(&normal),
            }
        }
    }

    /// The list packed so far; the packer is left empty.
    pub(crate) fn finish(&mut self) -> PackedList {
        let list = PackedList {
            names: std::mem::take(&mut self.names).into_boxed_slice(),
            dir_text: std::mem::take(&mut self.dir_text).into_boxed_slice(),
            dir_ends: std::mem::take(&mut self.dir_ends).into_boxed_slice(),
            entries: std::mem::take(&mut self.entries).into_boxed_slice(),
        };
        self.reset();
        list
    }
}

/// Packs `data`, paths separated by `sep`, as one package's file list and returns the paths
/// as the index keeps them (normalised, directory and name joined again): the whole work of
/// the list parser on untrusted bytes, for the fuzz target and tests.
pub fn pack_paths(data: &[u8], sep: u8) -> Vec<Vec<u8>> {
    with_packer(|p| {
        p.lines(data, sep, None);
        p.finish()
    })
    .paths()
}

/// Packs a list the loader did not ([`FileList::packed`]).
pub(crate) fn pack(list: FileList, divert: Option<(&Diverter<'_>, &str)>) -> PackedList {
    if let Some(packed) = list.packed {
        return packed;
    }
    with_packer(|p| {
        p.reserve(list.buf.len());
        p.lines(&list.buf, list.sep, divert);
        p.finish()
    })
}

impl OwnerIndex {
    pub(crate) fn build(root: &Root, c: Collected) -> (OwnerIndex, Option<std::io::Error>) {
        let Collected {
            files,
            diversions,
            managers,
            names,
        } = c;
        let diverter = Diverter::new(&diversions);
        let lists: Vec<PackedList> = files
            .into_par_iter()
            .enumerate()
            .map(|(i, list)| {
                let divert = (managers.get(i) == Some(&Manager::Dpkg))
                    .then(|| names.get(i).map(|n| (&diverter, n.as_str())))
                    .flatten();
                pack(list, divert)
            })
            .collect();

        // Global entry numbers must fit the chains' u32 (with NONE reserved): a root listing
        // four billion paths is cut there, and what is cut is simply not indexed.
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        let mut total = 0u32;
        for l in &lists {
            offsets.push(total);
            total = total.saturating_add(u32::try_from(l.entries.len()).unwrap_or(u32::MAX));
        }
        total = total.min(NONE - 1);
        offsets.push(total);
        // Between one and two buckets an entry: names repeat (`copyright`, `__init__.py`), so
        // chains stay short, and the table (written at random) stays small.
        let buckets = (total as usize).next_power_of_two().clamp(16, 1 << 31);
        let mask = (buckets - 1) as u32;
        let mut heads = vec![NONE; buckets];
        let next: Vec<AtomicU32> = (0..total).map(|_| AtomicU32::new(NONE)).collect();
        // The chains in parallel: each thread owns a range of buckets (its slice of `heads`)
        // and walks every entry, linking those that hash into its range; `next` slots are
        // disjoint between threads. Entries are linked in order, so chains run from the last
        // listed to the first, as a sequential build makes them.
        let parts = rayon::current_num_threads()
            .clamp(1, 64)
            .next_power_of_two();
        let part_len = (buckets / parts).max(1);
        heads
            .par_chunks_mut(part_len)
            .enumerate()
            .for_each(|(k, part)| {
                let base = k * part_len;
                let ids = (0..total).zip(lists.iter().flat_map(|l| l.entries.iter()));
                for (id, e) in ids {
                    let b = (e.hash & mask) as usize;
                    if let Some(head) = b.checked_sub(base).and_then(|i| part.get_mut(i)) {
                        if let Some(slot) = next.get(id as usize) {
                            slot.store(*head, Ordering::Relaxed);
                        }
                        *head = id;
                    }
                }
            });
        let next: Vec<u32> = next.into_iter().map(AtomicU32::into_inner).collect();
        let (root, problem) = match root.try_clone() {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        let index = OwnerIndex {
            root,
            lists,
            offsets,
            heads,
            next,
            mask,
            canon: Mutex::new(Canon::default()),
            groups: RwLock::new(FnvMap::default()),
        };
        (index, problem)
    }

    /// The package and its entry number of a global entry number.
    fn entry(&self, id: u32) -> (u32, usize) {
        let p = self.offsets.partition_point(|&o| o <= id).saturating_sub(1);
        (p as u32, (id - self.offsets[p]) as usize)
    }

    /// Directory and name of package `p`'s entry `i`.
    fn parts(&self, p: u32, i: usize) -> (&[u8], &[u8]) {
        self.lists[p as usize].parts(i)
    }

    /// Every entry (package, entry number).
    fn all(&self) -> impl Iterator<Item = (u32, usize)> {
        (0u32..)
            .zip(&self.lists)
            .flat_map(|(p, l)| (0..l.entries.len()).map(move |i| (p, i)))
    }

    /// The canonical form of the normal directory path `dir` inside the root, memoised.
    fn canonical(&self, dir: &[u8]) -> Box<[u8]> {
        if dir == b"/" {
            return Box::from(&b"/"[..]);
        }
        if let Some(cut) = depth_cut(dir) {
            let head = self.canonical(&dir[..cut]);
            let rest = &dir[cut..];
            if *head == *b"/" {
                return Box::from(rest);
            }
            return [&head[..], rest].concat().into_boxed_slice();
        }
        let mut memo = self.canon.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = memo.map.get(dir) {
            return c.clone();
        }
        let Some(root) = &self.root else {
            return Box::from(dir);
        };
        // Up to the deepest known ancestor, then down one component at a time. Iterative:
        // a hostile list may hold a path of thousands of components.
        let mut todo = vec![dir.len()];
        let mut cur: Box<[u8]> = Box::from(&b"/"[..]);
        let mut end = dir.len();
        while let Some(i) = memchr::memrchr(b'/', &dir[..end]).filter(|&i| i > 0) {
            if let Some(c) = memo.map.get(&dir[..i]) {
                cur = c.clone();
                break;
            }
            todo.push(i);
            end = i;
        }
        for &end in todo.iter().rev() {
            let name = split(&dir[..end]).1;
            cur = step(root, &cur, name);
            memo.insert(Box::from(&dir[..end]), cur.clone());
        }
        cur
    }

    /// Whether the normal directory `dir` canonicalizes to the canonical directory `cdir`.
    fn canonicalizes_to(&self, dir: &[u8], cdir: &[u8]) -> bool {
        // A canonical path is its own canonical form.
        if dir == cdir {
            return true;
        }
        {
            let memo = self.canon.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = memo.map.get(dir) {
                return **c == *cdir;
            }
        }
        *self.canonical(dir) == *cdir
    }

    /// Owners of the entries named `name` whose directory canonicalizes to `cdir`.
    ///
    /// A name listed in many directories (`__init__.py`, `copyright`: thousands) would cost a
    /// walk over all of them per lookup; the first lookup of such a name canonicalizes its
    /// directories once and keeps them grouped by canonical directory for the next.
    fn lookup(&self, cdir: &[u8], name: &[u8]) -> Vec<PackageId> {
        if let Some(group) = self
            .groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return group.get(cdir).cloned().unwrap_or_default();
        }
        let hash = name_hash(name);
        let mut candidates: Vec<(u32, &[u8])> = Vec::new();
        let mut i = self
            .heads
            .get((hash & self.mask) as usize)
            .copied()
            .unwrap_or(NONE);
        while i != NONE {
            let (p, k) = self.entry(i);
            if self.lists[p as usize].entries[k].hash == hash {
                let (dir, n) = self.parts(p, k);
                if n == name {
                    candidates.push((p, dir));
                }
            }
            i = self.next[i as usize];
        }
        if candidates.len() > GROUP_MIN {
            let mut group: FnvMap<Box<[u8]>, Vec<PackageId>> = FnvMap::default();
            for (p, dir) in candidates {
                let owners = group.entry(self.canonical(dir)).or_default();
                if !owners.contains(&PackageId(p)) {
                    owners.push(PackageId(p));
                }
            }
            for owners in group.values_mut() {
                owners.sort_unstable();
            }
            let out = group.get(cdir).cloned().unwrap_or_default();
            self.groups
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(Box::from(name), group);
            return out;
        }
        let mut out = Vec::new();
        for (p, dir) in candidates {
            if !out.contains(&PackageId(p)) && self.canonicalizes_to(dir, cdir) {
                out.push(PackageId(p));
            }
        }
        out.sort_unstable();
        out
    }

    /// The owners of `path`, given in any spelling that leads to the same file inside the
    /// root: as the package manager lists it, its real path, or through directory symlinks.
    /// Owners are in inventory order; see the module documentation for several owners.
    pub fn owners(&self, path: &Path) -> Vec<PackageId> {
        let path = normalize(path.as_os_str().as_bytes());
        let (dir, name) = split(&path);
        if name.is_empty() {
            return Vec::new();
        }
        self.lookup(&self.canonical(dir), name)
    }

    /// The owners of a path whose parent directory is already canonical (a path found by
    /// walking the root without following symlinks, or returned by [`Root::canonicalize`]):
    /// the query itself needs no filesystem access.
    pub fn owners_of_real(&self, path: &Path) -> Vec<PackageId> {
        let path = normalize(path.as_os_str().as_bytes());
        let (dir, name) = split(&path);
        if name.is_empty() {
            return Vec::new();
        }
        self.lookup(dir, name)
    }

    /// The preferred owner of `path` (see the module documentation).
    pub fn owner(&self, path: &Path) -> Option<PackageId> {
        self.owners(path).first().copied()
    }

    /// Canonicalizes every listed directory now, in parallel and level by level (siblings
    /// typed by one listing of their parent), instead of one at a time on demand. Worth it
    /// before looking up most of a root's files (the walk for unowned ELF files): on Debian 12,
    /// 12,600 directories with 3,700 distinct parents.
    pub fn canonicalize_all(&self) {
        let Some(root) = &self.root else {
            return;
        };
        let mut lexical = Lexical::default();
        // Each list holds each of its directories once. Deep directories are left to
        // `canonical`, which resolves only their head.
        let dirs = self.lists.iter().flat_map(PackedList::dirs);
        for dir in dirs.filter(|d| depth_cut(d).is_none()) {
            if lexical.bytes > MEMO_MAX_BYTES {
                break;
            }
            lexical.intern(dir);
        }
        let canon = lexical.canonicalize(root);
        let mut memo = self.canon.lock().unwrap_or_else(|p| p.into_inner());
        for ((dir, _, _), c) in lexical.dirs.into_iter().zip(canon) {
            memo.insert(dir, c);
        }
    }

    /// Number of indexed (path, package) pairs.
    pub fn len(&self) -> usize {
        self.next.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }

    /// The canonical in-root paths that the packages `ids` list, sorted, without duplicates.
    /// Canonicalizes the directories of those packages only.
    pub fn paths_of(&self, ids: &HashSet<PackageId>) -> Vec<PathBuf> {
        let mut out: Vec<Vec<u8>> = ids
            .iter()
            .filter(|id| id.index() < self.lists.len())
            .flat_map(|id| (0..self.lists[id.index()].entries.len()).map(move |k| (id.0, k)))
            .map(|(p, k)| {
                let (dir, name) = self.parts(p, k);
                join(&self.canonical(dir), name)
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out.into_iter()
            .map(|p| PathBuf::from(OsString::from_vec(p)))
            .collect()
    }

    /// Every indexed path (canonical directory, listed name) with its owners, sorted by path.
    /// Canonicalizes every listed directory: meant for tests and exports, not lookups.
    pub fn iter(&self) -> impl Iterator<Item = (PathBuf, Vec<PackageId>)> {
        let mut all: BTreeMap<Vec<u8>, Vec<PackageId>> = BTreeMap::new();
        for (p, k) in self.all() {
            let (dir, name) = self.parts(p, k);
            let owners = all.entry(join(&self.canonical(dir), name)).or_default();
            if !owners.contains(&PackageId(p)) {
                owners.push(PackageId(p));
            }
        }
        all.into_iter().map(|(p, mut o)| {
            o.sort_unstable();
            (PathBuf::from(OsString::from_vec(p)), o)
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
        for normal in [&b"/"[..], b"/usr/.hidden", b"/a/..b", b"/a/b.", b"/a/..."] {
            assert!(is_normal(normal), "{}", String::from_utf8_lossy(normal));
        }
        for odd in [
            &b"/usr/./x"[..],
            b"/usr/..",
            b"/a//b",
            b"/a/",
            b"a",
            b"",
            b"/.",
            b"/a/../b",
        ] {
            assert!(!is_normal(odd), "{}", String::from_utf8_lossy(odd));
        }
        assert!(is_odd(b"/./x") && is_odd(b"/..") && is_odd(b"//") && !is_odd(b"/.x"));
    }

    fn packed(pieces: &[&[u8]]) -> PackedList {
        with_packer(|p| {
            for piece in pieces {
                p.lines(piece, b'\n', None);
            }
            p.finish()
        })
    }

    #[test]
    fn packing_keeps_every_path_and_each_directory_once() {
        let list: &[u8] = b"/.\n/usr\n/usr/lib\n/usr/lib/a\r\n/usr/lib/b\n\n/usr/share/doc/x\n\
            /usr/lib/c\n//usr/./lib/../bin/d/\n/usr/lib/.hidden\nrelative/e\n/usr/share/..\r\n/usr/lib/b";
        let want: Vec<&[u8]> = vec![
            b"/usr",
            b"/usr/lib",
            b"/usr/lib/a",
            b"/usr/lib/b",
            b"/usr/share/doc/x",
            b"/usr/lib/c",
            b"/usr/bin/d",
            b"/usr/lib/.hidden",
            b"/relative/e",
            b"/usr",
            b"/usr/lib/b",
        ];
        let whole = packed(&[list]);
        assert_eq!(whole.paths(), want);
        // `/`, `/usr`, `/usr/lib`, `/usr/share/doc`, `/usr/bin`, `/relative`.
        assert_eq!(whole.dirs().count(), 6);
        // Cut after every separator: the same list.
        let mut pieces = Vec::new();
        let mut from = 0;
        for end in memchr::memchr_iter(b'\n', list) {
            pieces.push(&list[from..=end]);
            from = end + 1;
        }
        pieces.push(&list[from..]);
        assert_eq!(packed(&pieces).paths(), want);
        // The packer starts empty for the next list.
        assert!(packed(&[]).entries.is_empty());
    }

    #[test]
    fn hash_tails_are_the_zero_padded_bytes() {
        let padded = |b: &[u8]| {
            let r = b.len() % 8;
            let mut w = [0u8; 8];
            w[..r].copy_from_slice(&b[b.len() - r..]);
            u64::from_le_bytes(w)
        };
        let text = b"abcdefghijklmnopqrstuvw";
        for n in 1..text.len() {
            let b = &text[..n];
            if n % 8 != 0 {
                assert_eq!(tail(b, n % 8), padded(b), "{n}");
            }
        }
        assert_ne!(name_hash(b"libc.so.6"), name_hash(b"libc.so.7"));
        assert_ne!(hash64(b"a"), hash64(b"a\0"));
    }
}
