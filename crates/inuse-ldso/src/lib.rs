//! The dynamic loader's answer to "which files does this program load?", computed without
//! running anything.
//!
//! `ldd` gets the answer by running the program's loader, which its man page warns must never
//! be done on untrusted files. This crate reads the same inputs the loader reads (ELF dynamic
//! sections, `ld.so.cache`, `ld.so.conf`, `ld-musl-*.path`, `ld.so.preload`) inside any root
//! filesystem and applies the loader's rules: glibc's and musl's, which differ (see
//! `resolve.rs` for both, with their sources).
//!
//! A [`Resolver`] is built once per root and shared by all inputs of a run (it is `Sync`): it
//! caches every probed file and the parsed cache, so a whole-system run reads each file once.
//!
//! Known limits, documented rather than guessed: legacy (pre-glibc-2.37) hwcap subdirectories
//! such as `tls/` and `x86_64/` are not searched; `$PLATFORM` and the x86-64 level come from the
//! host CPU unless given; the current directory of the emulated process is the caller's for
//! the host root and `/` for another root.

mod cache;
mod files;
mod loader;
mod resolve;

use std::collections::HashMap;
use std::ffi::OsString;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

pub use cache::{CacheError, LdCache, abi_flags, conf_dirs};
pub use inuse_elf::Linkage;
pub use loader::{Libc, Target, host_x86_64_level};

use inuse_root::Root;

/// Settings of the emulated process environment.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Emulated `LD_LIBRARY_PATH` (ignored for set-user-ID programs, as the loader does).
    pub ld_library_path: Option<Vec<u8>>,
    /// Emulated `LD_PRELOAD` objects, before the root's `/etc/ld.so.preload`.
    pub preload: Vec<OsString>,
    /// `$PLATFORM` value; default the one the target's loader has on this CPU (on Intel
    /// x86-64, glibc's `haswell` or `xeon_phi` where the CPU qualifies).
    pub platform: Option<String>,
    /// x86-64 micro-architecture level (1-4) for `glibc-hwcaps`; default this CPU's.
    pub hwcaps_level: Option<u8>,
    /// Treat every input as running in secure mode (as if set-user-ID).
    pub secure: bool,
}

/// How a library was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FoundVia {
    /// `DT_RPATH` of the requester or of an object up its loader chain.
    Rpath,
    /// The emulated `LD_LIBRARY_PATH`.
    LdLibraryPath,
    /// `DT_RUNPATH` of the requester (and up the chain, under musl).
    Runpath,
    /// `/etc/ld.so.cache`.
    LdSoCache,
    /// The directories of `/etc/ld.so.conf`, for a root without a cache.
    LdSoConf,
    /// The loader's default directories.
    Default,
    /// The program interpreter itself (`PT_INTERP`, or musl's libc names).
    Interpreter,
    /// A preloaded object given by path.
    Preload,
    /// A `DT_NEEDED` name containing `/`, opened as a path.
    Direct,
}

impl FoundVia {
    /// The stable name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            FoundVia::Rpath => "rpath",
            FoundVia::LdLibraryPath => "ld_library_path",
            FoundVia::Runpath => "runpath",
            FoundVia::LdSoCache => "ld.so.cache",
            FoundVia::LdSoConf => "ld.so.conf",
            FoundVia::Default => "default",
            FoundVia::Interpreter => "interpreter",
            FoundVia::Preload => "preload",
            FoundVia::Direct => "direct",
        }
    }
}

/// What kind of file an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// A dynamically linked program.
    Executable,
    /// A shared library (resolved as `ldd` does for one).
    SharedLibrary,
    /// A static or static-PIE executable: loads nothing.
    Static,
    /// An ELF file that is neither (relocatable object, core dump).
    NotDynamic,
}

impl InputKind {
    /// The stable name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Executable => "executable",
            InputKind::SharedLibrary => "shared-library",
            InputKind::Static => "static",
            InputKind::NotDynamic => "not-dynamic",
        }
    }
}

/// An object the loader would map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The name it was first requested by (a `DT_NEEDED` entry, a preload, `PT_INTERP`).
    pub name: Vec<u8>,
    /// Its `DT_SONAME`.
    pub soname: Option<Vec<u8>>,
    /// The path the loader opens, inside the root.
    pub path: PathBuf,
    /// That path with every symlink resolved inside the root.
    pub realpath: PathBuf,
    /// How it was found.
    pub found_via: FoundVia,
    /// Who needs it: 0 is the input, `k` is `objects[k - 1]`.
    pub needed_by: Vec<usize>,
    /// Shortest distance from the input in the breadth-first load.
    pub depth: usize,
    /// Device and inode of the file.
    pub dev: u64,
    /// Inode of the file.
    pub ino: u64,
    /// Its own `DT_NEEDED` names.
    pub needed: Vec<Vec<u8>>,
}

/// A library that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The name asked for.
    pub name: Vec<u8>,
    /// Who asked: 0 is the input, `k` is `objects[k - 1]`.
    pub needed_by: Vec<usize>,
    /// `None` when nothing was found; otherwise the loader's error for what was found.
    pub error: Option<String>,
}

/// The full answer for one input.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The input, inside the root.
    pub input: PathBuf,
    /// What the input is.
    pub kind: InputKind,
    /// How it is linked.
    pub linkage: Linkage,
    /// Its `PT_INTERP`.
    pub interpreter: Option<PathBuf>,
    /// The C library family of its loader (`None` for inputs that load nothing).
    pub libc: Option<Libc>,
    /// Every object the loader maps besides the input, in load order, the interpreter last.
    pub objects: Vec<Object>,
    /// What could not be loaded.
    pub missing: Vec<Missing>,
    /// Non-fatal problems (ignored preloads).
    pub warnings: Vec<String>,
    /// For each node (0 = input, `k` = `objects[k - 1]`), its requests in order.
    pub edges: Vec<Vec<Edge>>,
}

/// One request of an object for a library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The name requested.
    pub name: Vec<u8>,
    /// What it resolved to.
    pub to: EdgeTarget,
}

/// Where a request led.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeTarget {
    /// A node: `k` is `objects[k - 1]` (0 would be the input itself).
    Object(usize),
    /// An entry of `missing`.
    Missing(usize),
}

impl Resolution {
    /// Every dependency chain from the input to an object that matches `name` by soname,
    /// requested name or file name; each chain lists node indices (0 = input, `k` =
    /// `objects[k - 1]`). Chains are simple paths; at most `limit` are returned.
    pub fn why(&self, name: &str, limit: usize) -> Vec<Vec<usize>> {
        let name = name.as_bytes();
        let matches = |o: &Object| {
            o.name == name
                || o.soname.as_deref() == Some(name)
                || o.path
                    .file_name()
                    .is_some_and(|f| f.as_encoded_bytes() == name)
                || o.realpath
                    .file_name()
                    .is_some_and(|f| f.as_encoded_bytes() == name)
        };
        let targets: Vec<usize> = (0..self.objects.len())
            .filter(|&k| matches(&self.objects[k]))
            .map(|k| k + 1)
            .collect();
        let mut out = Vec::new();
        for t in targets {
            // Walk backwards along needed_by from the target to the input.
            let mut stack = vec![vec![t]];
            while let Some(chain) = stack.pop() {
                if out.len() >= limit {
                    return out;
                }
                let last = *chain.last().unwrap_or(&0);
                if last == 0 {
                    let mut c = chain.clone();
                    c.reverse();
                    out.push(c);
                    continue;
                }
                for &p in self.objects[last - 1].needed_by.iter().rev() {
                    if !chain.contains(&p) {
                        let mut c = chain.clone();
                        c.push(p);
                        stack.push(c);
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The path of node `k` (0 = input).
    pub fn node_path(&self, k: usize) -> &Path {
        if k == 0 {
            &self.input
        } else {
            &self.objects[k - 1].path
        }
    }

    /// The number of distinct shared objects loaded, excluding the dynamic loader itself (and
    /// the vDSO, which is never listed): the figure of the well-known "sshd loads 26
    /// libraries" comparisons.
    pub fn count(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| o.found_via != FoundVia::Interpreter)
            .count()
    }
}

/// Why an input could not be resolved at all.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The file could not be opened.
    #[error("cannot open: {0}")]
    Open(String),
    /// The file is not ELF.
    #[error("not an ELF file")]
    NotElf,
    /// The file is ELF but malformed.
    #[error("{0}")]
    Elf(String),
}

/// Resolves inputs inside one root. Cheap to share between threads.
pub struct Resolver<'r> {
    files: files::Files<'r>,
    options: Options,
    hwcaps_level: u8,
    cwd: PathBuf,
    ld_cache: OnceLock<Option<LdCache>>,
    conf_dirs: OnceLock<Vec<Vec<u8>>>,
    cache_error: OnceLock<Option<String>>,
    /// Loader facts per interpreter path (and target), computed once per run.
    glibc_defaults: Mutex<HashMap<(Vec<u8>, Target), loader::GlibcDefaults>>,
    musl_paths: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    library_libc: Mutex<HashMap<Target, Libc>>,
}

impl Resolver<'_> {
    /// Whether some search fell back to the directories of `ld.so.conf` because the root has
    /// no `ld.so.cache` (the answer then is what the loader does once `ldconfig` has run).
    pub fn used_ld_so_conf(&self) -> bool {
        self.conf_dirs.get().is_some()
    }
}

impl<'r> Resolver<'r> {
    /// A resolver for `root`. `cwd` is the emulated current directory (inside the root), used
    /// for relative names and empty search-path elements.
    pub fn new(root: &'r Root, options: Options, cwd: PathBuf) -> Self {
        let hwcaps_level = options.hwcaps_level.unwrap_or_else(host_x86_64_level);
        Resolver {
            files: files::Files::new(root),
            options,
            hwcaps_level,
            cwd,
            ld_cache: OnceLock::new(),
            conf_dirs: OnceLock::new(),
            cache_error: OnceLock::new(),
            glibc_defaults: Mutex::default(),
            musl_paths: Mutex::default(),
            library_libc: Mutex::default(),
        }
    }

    /// Resolves one input (an in-root path).
    pub fn resolve(&self, input: &Path) -> Result<Resolution, ResolveError> {
        resolve::resolve(self, input)
    }

    /// The root's `ld.so.cache`, parsed once; `None` when there is none. A corrupt cache is
    /// treated as absent (the loader ignores it too) and reported by [`Resolver::cache_error`].
    fn ld_cache(&self) -> Option<&LdCache> {
        self.ld_cache
            .get_or_init(|| {
                let data = self
                    .files
                    .root()
                    .read(Path::new("/etc/ld.so.cache"), 1 << 28)
                    .ok()?;
                match LdCache::parse(&data) {
                    Ok(c) => {
                        let _ = self.cache_error.set(None);
                        Some(c)
                    }
                    Err(e) => {
                        let _ = self.cache_error.set(Some(e.to_string()));
                        None
                    }
                }
            })
            .as_ref()
    }

    /// A problem with the root's `ld.so.cache`, if one was met.
    pub fn cache_error(&self) -> Option<&str> {
        self.cache_error.get().and_then(|e| e.as_deref())
    }

    fn glibc_defaults(&self, interp: &[u8], t: Target) -> loader::GlibcDefaults {
        memo(&self.glibc_defaults, (interp.to_vec(), t), || {
            loader::glibc_defaults(self.files.root(), interp, t)
        })
    }

    fn musl_sys_path(&self, interp: &[u8]) -> Vec<u8> {
        memo(&self.musl_paths, interp.to_vec(), || {
            loader::musl_sys_path(self.files.root(), interp)
        })
    }

    fn libc_for_library(&self, t: Target) -> Libc {
        memo(&self.library_libc, t, || {
            loader::libc_for_library(self.files.root(), t)
        })
    }

    fn conf_dirs(&self) -> &[Vec<u8>] {
        self.conf_dirs
            .get_or_init(|| cache::conf_dirs(self.files.root()))
    }
}

/// Looks `key` up in a shared memo table, computing and storing the value on a miss. Two
/// threads may compute the same value once each; both results are equal.
fn memo<K: Eq + Hash, V: Clone>(table: &Mutex<HashMap<K, V>>, key: K, f: impl FnOnce() -> V) -> V {
    if let Some(v) = table
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return v.clone();
    }
    let v = f();
    table
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, v.clone());
    v
}
