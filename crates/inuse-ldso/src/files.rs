//! Every file the loader emulation looks at, opened and parsed once per run.
//!
//! The same library is reached under many spellings (`/lib/x86_64-linux-gnu/libc.so.6`,
//! `/usr/lib/x86_64-linux-gnu/libc.so.6`, through RPATH directories...) and by every input of a
//! whole-system run. Probes are cached by the exact path tried, and parsed ELF facts by
//! device and inode, so each file is read once however it is named; the caches are shared by
//! the threads resolving different inputs.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use inuse_elf::{ElfError, ElfInfo, Limits};
use inuse_root::Root;

/// What is at a path the loader tried.
#[derive(Debug, Clone)]
pub(crate) enum Probe {
    /// Nothing (ENOENT, ENOTDIR) or nothing the loader may open (EACCES): search on.
    Absent,
    /// Something that is not a readable regular file: the loader would fail on it.
    Unreadable(String),
    /// A regular file, parsed.
    File(Arc<Facts>),
}

/// The facts of one regular file.
#[derive(Debug)]
pub(crate) struct Facts {
    pub dev: u64,
    pub ino: u64,
    /// Set-user-ID or set-group-ID bit: the loader runs in secure mode for it.
    pub setid: bool,
    pub elf: Result<ElfInfo, ElfError>,
}

pub(crate) struct Files<'r> {
    root: &'r Root,
    limits: Limits,
    probes: Mutex<HashMap<PathBuf, Probe>>,
    by_inode: Mutex<HashMap<(u64, u64), Arc<Facts>>>,
    realpaths: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
}

impl<'r> Files<'r> {
    pub fn new(root: &'r Root) -> Self {
        Files {
            root,
            limits: Limits::default(),
            probes: Mutex::default(),
            by_inode: Mutex::default(),
            realpaths: Mutex::default(),
        }
    }

    pub fn root(&self) -> &'r Root {
        self.root
    }

    /// Opens and parses `path` (in-root), or returns the cached result.
    pub fn probe(&self, path: &Path) -> Probe {
        if let Some(p) = lock(&self.probes).get(path) {
            return p.clone();
        }
        let probe = self.load(path);
        lock(&self.probes).insert(path.to_path_buf(), probe.clone());
        probe
    }

    fn load(&self, path: &Path) -> Probe {
        let (file, st) = match self.root.open_file(path) {
            Ok(x) => x,
            Err(e) => {
                return match e.kind() {
                    io::ErrorKind::NotFound
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::PermissionDenied => Probe::Absent,
                    _ => Probe::Unreadable(describe(&e)),
                };
            }
        };
        if let Some(f) = lock(&self.by_inode).get(&(st.dev, st.ino)) {
            return Probe::File(f.clone());
        }
        let facts = Arc::new(Facts {
            dev: st.dev,
            ino: st.ino,
            setid: st.is_setid(),
            elf: ElfInfo::read_file(&file, &self.limits),
        });
        lock(&self.by_inode).insert((st.dev, st.ino), facts.clone());
        Probe::File(facts)
    }

    /// The in-root real path of `path`, cached.
    pub fn realpath(&self, path: &Path) -> Option<PathBuf> {
        if let Some(p) = lock(&self.realpaths).get(path) {
            return p.clone();
        }
        let real = self.root.canonicalize(path).ok();
        lock(&self.realpaths).insert(path.to_path_buf(), real.clone());
        real
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these caches inconsistent: entries are inserted whole.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An I/O error as the loader's messages put it, without Rust's "(os error N)" noise.
pub(crate) fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_owned(),
                None => s,
            }
        }
    }
}
