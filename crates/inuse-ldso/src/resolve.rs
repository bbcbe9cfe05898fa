//! The load itself: which objects, in which order, found where.
//!
//! glibc (`elf/dl-deps.c`, `elf/dl-load.c`):
//!
//! - Objects are loaded breadth-first: the executable, then the preloads, then every
//!   `DT_NEEDED` of each loaded object in order, new objects appended to the queue.
//! - A name is first matched against what is loaded: the names an object was requested by, the
//!   path it was opened by, its `DT_SONAME`. The interpreter is loaded from the start, under its
//!   `PT_INTERP` path and its soname. After a file is found on disk, an object with the same
//!   device and inode is reused.
//! - A name containing `/` is opened as it is (relative to the current directory); otherwise the
//!   search order is: `DT_RPATH` of the requester and of each object up its loader chain to the
//!   executable, only if the requester has no `DT_RUNPATH`; `LD_LIBRARY_PATH` (not in secure
//!   mode); the requester's own `DT_RUNPATH`; `ld.so.cache`, skipped for hits in system
//!   directories when the requester has `DF_1_NODEFLIB`; the default directories unless
//!   `DF_1_NODEFLIB`. In every searched directory the `glibc-hwcaps` subdirectories this CPU
//!   supports are tried first.
//! - A candidate of the wrong class or machine is skipped and the search goes on; a candidate
//!   that is not ELF, or has the wrong byte order or OS ABI, is an error that stops the load.
//!
//! musl (`ldso/dynlink.c`, `load_library`): `libc`, `libpthread`, `libm`, `libdl`, `librt`,
//! `libutil`, `libxnet` resolve to the loader itself; a name with `/` is opened as it is;
//! otherwise a loaded object with the same search name is reused, then `LD_LIBRARY_PATH`, then
//! the `DT_RUNPATH` (or, without one, `DT_RPATH`) of the requester and of every object up its
//! chain, then the system path. The first file that opens is taken; if it cannot be loaded the
//! load fails. No cache, no hwcaps, no `$LIB`/`$PLATFORM`.
//!
//! Like `ldd`, the emulation goes on after a library is not found or fails, so that one run
//! reports every problem; a real start would stop at the first.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inuse_elf::{DF_1_NODEFLIB, DF_1_PIE, ET_DYN, ET_EXEC, ElfError, ElfInfo, Linkage};

use crate::files::{Facts, Probe};
use crate::loader::{self, Libc, Target};
use crate::{FoundVia, InputKind, Missing, Object, Resolution, ResolveError, Resolver};

/// One object of the load, while it is being computed.
struct Node {
    facts: Arc<Facts>,
    /// The path it was opened by (in-root, as built by the loader, not normalised).
    path: PathBuf,
    /// Names it was requested by; the soname is matched separately.
    names: Vec<Vec<u8>>,
    /// The object whose request loaded it (glibc `l_loader`, musl `needed_by`).
    loader: Option<usize>,
    found_via: FoundVia,
    depth: usize,
    /// Directory `$ORIGIN` expands to.
    origin: Option<Vec<u8>>,
    /// Whether it is part of the load yet (the interpreter is known from the start but only
    /// listed where it is first needed, or at the end).
    listed: bool,
    needed_by: Vec<usize>,
}

impl Node {
    fn info(&self) -> Option<&ElfInfo> {
        self.facts.elf.as_ref().ok()
    }

    fn soname(&self) -> Option<&[u8]> {
        self.info()?.dynamic.as_ref()?.soname.as_deref()
    }

    fn dynamic(&self) -> Option<&inuse_elf::DynamicInfo> {
        self.info()?.dynamic.as_ref()
    }
}

/// Outcome of trying one candidate file.
enum Verdict {
    Load(Arc<Facts>),
    /// Wrong class or machine: glibc searches on.
    Skip,
    /// The loader would fail with this message.
    Fatal(String),
}

/// Outcome of a search.
enum Search {
    Node(usize),
    File(PathBuf, Arc<Facts>, FoundVia),
    Nothing,
    Error(String),
}

struct Load<'a, 'r> {
    r: &'a Resolver<'r>,
    libc: Libc,
    target: Target,
    nodes: Vec<Node>,
    missing: Vec<Missing>,
    warnings: Vec<String>,
    secure: bool,
    defaults: loader::GlibcDefaults,
    musl_path: Vec<u8>,
    platform: Vec<u8>,
    hwcaps: Vec<String>,
    cache_flags: Vec<u32>,
    /// Index of the interpreter node.
    interp: Option<usize>,
    /// Every request: (requester, name, node loaded or index into `missing`).
    edges: Vec<(usize, Vec<u8>, Result<usize, usize>)>,
    cwd: Vec<u8>,
}

pub(crate) fn resolve(r: &Resolver<'_>, input: &Path) -> Result<Resolution, ResolveError> {
    let facts = match r.files.probe(input) {
        Probe::File(f) => f,
        Probe::Absent => {
            // Say why: missing, or not permitted.
            return Err(ResolveError::Open(match r.files.root().open_file(input) {
                Err(e) => crate::files::describe(&e),
                Ok(_) => "cannot open".to_owned(),
            }));
        }
        Probe::Unreadable(e) => return Err(ResolveError::Open(e)),
    };
    let info = match &facts.elf {
        Ok(info) => info.clone(),
        Err(ElfError::NotElf) => return Err(ResolveError::NotElf),
        Err(e) => return Err(ResolveError::Elf(e.to_string())),
    };
    let target = Target::of(&info);
    let linkage = info.linkage();
    let kind = match linkage {
        Linkage::Static | Linkage::StaticPie => InputKind::Static,
        Linkage::None => InputKind::NotDynamic,
        Linkage::Dynamic if info.is_executable() => InputKind::Executable,
        Linkage::Dynamic => InputKind::SharedLibrary,
    };
    let mut res = Resolution {
        input: input.to_path_buf(),
        kind,
        linkage,
        interpreter: info.interpreter.as_ref().map(|i| bytes_path(i)),
        libc: None,
        objects: Vec::new(),
        missing: Vec::new(),
        warnings: Vec::new(),
        edges: vec![Vec::new()],
    };
    if linkage != Linkage::Dynamic {
        return Ok(res);
    }
    let libc = match &info.interpreter {
        Some(i) if loader::is_musl_interpreter(i) => Libc::Musl,
        Some(_) => Libc::Glibc,
        None => r.libc_for_library(target),
    };
    res.libc = Some(libc);
    let interp: Option<Vec<u8>> = info
        .interpreter
        .clone()
        .or_else(|| loader::default_interpreter(target, libc).map(|s| s.as_bytes().to_vec()));

    let defaults = match &interp {
        Some(i) if libc == Libc::Glibc => r.glibc_defaults(i, target),
        _ => loader::GlibcDefaults {
            dirs: Vec::new(),
            lib: Vec::new(),
        },
    };
    let musl_path = match &interp {
        Some(i) if libc == Libc::Musl => r.musl_sys_path(i),
        _ => Vec::new(),
    };
    let secure = facts.setid || r.options.secure;
    let mut load = Load {
        r,
        libc,
        target,
        nodes: Vec::new(),
        missing: Vec::new(),
        warnings: Vec::new(),
        secure,
        platform: r
            .options
            .platform
            .clone()
            .unwrap_or_else(|| loader::default_platform(target).to_owned())
            .into_bytes(),
        hwcaps: loader::hwcaps_subdirs(target, r.hwcaps_level),
        cache_flags: crate::cache::abi_flags(target.class, target.machine, target.e_flags),
        defaults,
        musl_path,
        interp: None,
        edges: Vec::new(),
        cwd: r.cwd.as_os_str().as_bytes().to_vec(),
    };
    // The executable's $ORIGIN is the directory of its real path, as /proc/self/exe gives it.
    load.nodes.push(Node {
        facts,
        path: input.to_path_buf(),
        names: vec![input.as_os_str().as_bytes().to_vec()],
        loader: None,
        found_via: FoundVia::Direct,
        depth: 0,
        // Computed on first use: most programs have no $ORIGIN, and it costs a path walk.
        origin: None,
        listed: true,
        needed_by: Vec::new(),
    });
    if let Some(i) = &interp {
        load.add_interpreter(i, info.interpreter.is_some());
    }
    load.preload();
    let mut next = 0;
    while next < load.nodes.len() {
        if load.nodes[next].listed && Some(next) != load.interp {
            let needed = load.nodes[next]
                .dynamic()
                .map(|d| d.needed.clone())
                .unwrap_or_default();
            for name in needed {
                load.need(&name, next, None);
            }
        }
        next += 1;
    }
    Ok(load.finish(res))
}

impl Load<'_, '_> {
    fn add_interpreter(&mut self, interp: &[u8], explicit: bool) {
        let path = bytes_path(interp);
        match self.r.files.probe(&path) {
            Probe::File(facts) if facts.elf.is_ok() => {
                self.nodes.push(Node {
                    facts,
                    path,
                    names: vec![interp.to_vec()],
                    loader: Some(0),
                    found_via: FoundVia::Interpreter,
                    depth: 1,
                    origin: None,
                    listed: false,
                    needed_by: Vec::new(),
                });
                self.interp = Some(self.nodes.len() - 1);
                if explicit {
                    self.nodes[0].needed_by.clear();
                }
            }
            other if explicit => {
                let error = match other {
                    Probe::Absent => None,
                    Probe::Unreadable(e) => Some(e),
                    Probe::File(f) => f.elf.as_ref().err().map(ToString::to_string),
                };
                self.missing.push(Missing {
                    name: interp.to_vec(),
                    needed_by: vec![0],
                    error: Some(error.map_or_else(
                        || "interpreter not found: the kernel would refuse to run this".to_owned(),
                        |e| format!("interpreter unusable: {e}"),
                    )),
                });
            }
            _ => {}
        }
    }

    fn preload(&mut self) {
        let mut names: Vec<Vec<u8>> = self
            .r
            .options
            .preload
            .iter()
            .filter(|_| !self.secure)
            .map(|p| p.as_bytes().to_vec())
            .collect();
        if self.libc == Libc::Glibc {
            if let Ok(text) = self
                .r
                .files
                .root()
                .read(Path::new("/etc/ld.so.preload"), 1 << 20)
            {
                names.extend(
                    text.split(|b| b.is_ascii_whitespace() || *b == b':')
                        .filter(|n| !n.is_empty())
                        .map(<[u8]>::to_vec),
                );
            }
        }
        for name in names {
            let before = self.missing.len();
            self.need(&name, 0, Some(FoundVia::Preload));
            // A preload that cannot be loaded is ignored with a warning, not a failure.
            if self.missing.len() > before {
                let m = self.missing.remove(before);
                self.warnings.push(format!(
                    "object '{}' cannot be preloaded ({}): ignored",
                    String::from_utf8_lossy(&name),
                    m.error.as_deref().unwrap_or("not found")
                ));
            }
        }
    }

    /// Loads `name` requested by node `from`, recording the edge.
    fn need(&mut self, name: &[u8], from: usize, via: Option<FoundVia>) {
        let found = match self.libc {
            Libc::Glibc => self.find_glibc(name, from),
            Libc::Musl => self.find_musl(name, from),
        };
        let idx = match found {
            Search::Node(i) => i,
            Search::File(path, facts, how) => {
                // Same file under another name: reuse it.
                if let Some(i) = self
                    .nodes
                    .iter()
                    .position(|n| n.facts.dev == facts.dev && n.facts.ino == facts.ino)
                {
                    self.nodes[i].names.push(name.to_vec());
                    i
                } else {
                    let origin = loader::parent_of(&path).as_os_str().as_bytes().to_vec();
                    self.nodes.push(Node {
                        facts,
                        path,
                        names: vec![name.to_vec()],
                        loader: Some(from),
                        found_via: match (via, how) {
                            (Some(v), FoundVia::Direct) => v,
                            _ => how,
                        },
                        depth: self.nodes[from].depth + 1,
                        origin: Some(origin),
                        listed: true,
                        needed_by: Vec::new(),
                    });
                    self.nodes.len() - 1
                }
            }
            Search::Nothing | Search::Error(_) => {
                let error = match found {
                    Search::Error(e) => Some(e),
                    _ => None,
                };
                let k = match self
                    .missing
                    .iter()
                    .position(|m| m.name == name && m.error == error)
                {
                    Some(k) => k,
                    None => {
                        self.missing.push(Missing {
                            name: name.to_vec(),
                            needed_by: Vec::new(),
                            error,
                        });
                        self.missing.len() - 1
                    }
                };
                if !self.missing[k].needed_by.contains(&from) {
                    self.missing[k].needed_by.push(from);
                }
                if via.is_none() {
                    self.edges.push((from, name.to_vec(), Err(k)));
                }
                return;
            }
        };
        let depth = self.nodes[from].depth + 1;
        let node = &mut self.nodes[idx];
        if !node.listed {
            // The interpreter, first needed here.
            node.listed = true;
            node.depth = depth;
        }
        let node = &mut self.nodes[idx];
        if idx != from && !node.needed_by.contains(&from) {
            node.needed_by.push(from);
        }
        self.edges.push((from, name.to_vec(), Ok(idx)));
    }

    /// A loaded object that answers to `name` (glibc's `_dl_name_match_p`).
    fn match_loaded_glibc(&mut self, name: &[u8]) -> Option<usize> {
        let i = self.nodes.iter().position(|n| {
            n.names.iter().any(|x| x == name)
                || n.path.as_os_str().as_bytes() == name
                || n.soname() == Some(name)
        })?;
        if !self.nodes[i].names.iter().any(|x| x == name) {
            self.nodes[i].names.push(name.to_vec());
        }
        Some(i)
    }

    fn find_glibc(&mut self, name: &[u8], from: usize) -> Search {
        if let Some(i) = self.match_loaded_glibc(name) {
            return Search::Node(i);
        }
        if name.contains(&b'/') {
            let path = if name.contains(&b'$') {
                match self.expand(name, from) {
                    Some(p) => p,
                    None => return Search::Nothing,
                }
            } else {
                name.to_vec()
            };
            let path = self.absolute(&path);
            return match self.verify_glibc(&path, from) {
                Verdict::Load(f) => Search::File(bytes_path(&path), f, FoundVia::Direct),
                Verdict::Skip => Search::Error(format!(
                    "{}: wrong ELF class or machine",
                    String::from_utf8_lossy(&path)
                )),
                Verdict::Fatal(e) if e.is_empty() => Search::Nothing,
                Verdict::Fatal(e) => Search::Error(e),
            };
        }

        let requester_has_runpath = self.nodes[from]
            .dynamic()
            .is_some_and(|d| d.runpath.is_some());
        if !requester_has_runpath {
            let mut l = Some(from);
            while let Some(i) = l {
                if let Some(rpath) = self.nodes[i].dynamic().and_then(|d| d.rpath.clone()) {
                    let dirs = self.path_list(&rpath, i);
                    match self.search_dirs(name, &dirs, from, FoundVia::Rpath) {
                        Search::Nothing => {}
                        f => return f,
                    }
                }
                l = self.nodes[i].loader;
            }
        }
        if let Some(llp) = self
            .r
            .options
            .ld_library_path
            .clone()
            .filter(|_| !self.secure)
        {
            let dirs = self.path_list_with(&llp, 0, b":;");
            match self.search_dirs(name, &dirs, from, FoundVia::LdLibraryPath) {
                Search::Nothing => {}
                f => return f,
            }
        }
        if let Some(runpath) = self.nodes[from].dynamic().and_then(|d| d.runpath.clone()) {
            let dirs = self.path_list(&runpath, from);
            match self.search_dirs(name, &dirs, from, FoundVia::Runpath) {
                Search::Nothing => {}
                f => return f,
            }
        }
        let nodeflib = self.nodes[from]
            .dynamic()
            .is_some_and(|d| d.flags_1 & DF_1_NODEFLIB != 0);
        match self.r.ld_cache() {
            Some(cache) => {
                let hit = cache
                    .lookup(name, &self.cache_flags, &self.hwcaps)
                    .map(<[u8]>::to_vec);
                if let Some(path) = hit {
                    let in_system_dir = self
                        .defaults
                        .dirs
                        .iter()
                        .any(|d| path.starts_with(d) && path.get(d.len()) == Some(&b'/'));
                    if !(nodeflib && in_system_dir) {
                        match self.verify_glibc(&path, from) {
                            Verdict::Load(f) => {
                                return Search::File(bytes_path(&path), f, FoundVia::LdSoCache);
                            }
                            Verdict::Skip => {}
                            Verdict::Fatal(e) if e.is_empty() => {}
                            Verdict::Fatal(e) => return Search::Error(e),
                        }
                    }
                }
            }
            None => {
                // No cache in this root: use the directories ldconfig would have indexed.
                let dirs = self.r.conf_dirs().to_vec();
                match self.search_dirs(name, &dirs, from, FoundVia::LdSoConf) {
                    Search::Nothing => {}
                    f => return f,
                }
            }
        }
        if !nodeflib {
            let dirs = self.defaults.dirs.clone();
            return self.search_dirs(name, &dirs, from, FoundVia::Default);
        }
        Search::Nothing
    }

    /// Tries `dir/name` (and its glibc-hwcaps subdirectories) for each directory.
    fn search_dirs(&mut self, name: &[u8], dirs: &[Vec<u8>], from: usize, via: FoundVia) -> Search {
        for dir in dirs {
            let mut subdirs: Vec<Vec<u8>> = self
                .hwcaps
                .iter()
                .map(|h| format!("glibc-hwcaps/{h}/").into_bytes())
                .collect();
            if self.libc == Libc::Musl {
                subdirs.clear();
            }
            subdirs.push(Vec::new());
            for sub in subdirs {
                let mut cand = dir.clone();
                if !cand.ends_with(b"/") {
                    cand.push(b'/');
                }
                cand.extend_from_slice(&sub);
                cand.extend_from_slice(name);
                let cand = self.absolute(&cand);
                let verdict = match self.libc {
                    Libc::Glibc => self.verify_glibc(&cand, from),
                    Libc::Musl => self.verify_musl(&cand),
                };
                match verdict {
                    Verdict::Load(f) => return Search::File(bytes_path(&cand), f, via),
                    Verdict::Skip => {}
                    Verdict::Fatal(e) if e.is_empty() => {}
                    Verdict::Fatal(e) => return Search::Error(e),
                }
            }
        }
        Search::Nothing
    }

    /// glibc's `open_verify` and the checks of `_dl_map_object_from_fd`. An empty `Fatal`
    /// message means "nothing there".
    fn verify_glibc(&self, path: &[u8], _from: usize) -> Verdict {
        let shown = String::from_utf8_lossy(path);
        let facts = match self.r.files.probe(&bytes_path(path)) {
            Probe::Absent => return Verdict::Fatal(String::new()),
            Probe::Unreadable(e) => return Verdict::Fatal(format!("{shown}: {e}")),
            Probe::File(f) => f,
        };
        let info = match &facts.elf {
            Ok(i) => i,
            Err(ElfError::TooShort) => return Verdict::Fatal(format!("{shown}: file too short")),
            Err(ElfError::NotElf) => {
                return Verdict::Fatal(format!("{shown}: invalid ELF header"));
            }
            Err(e) => {
                // The class is checked before anything else is judged.
                return Verdict::Fatal(format!("{shown}: {e}"));
            }
        };
        let id = &info.ident;
        if id.class != self.target.class {
            return Verdict::Skip;
        }
        if id.big_endian != self.target.big_endian {
            return Verdict::Fatal(format!("{shown}: ELF file data encoding does not match"));
        }
        if id.version != 1 || info.e_version != 1 {
            return Verdict::Fatal(format!(
                "{shown}: ELF file version does not match current one"
            ));
        }
        if id.osabi != 0 && id.osabi != 3 {
            return Verdict::Fatal(format!("{shown}: ELF file OS ABI invalid"));
        }
        if id.abi_version != 0 && !(id.osabi == 3 && id.abi_version < 8) {
            return Verdict::Fatal(format!("{shown}: ELF file ABI version invalid"));
        }
        if !id.padding_zero {
            return Verdict::Fatal(format!("{shown}: nonzero padding in e_ident"));
        }
        if info.machine != self.target.machine {
            return Verdict::Skip;
        }
        if info.e_type != ET_DYN && info.e_type != ET_EXEC {
            return Verdict::Fatal(format!("{shown}: only ET_DYN and ET_EXEC can be loaded"));
        }
        if info.e_type == ET_EXEC {
            return Verdict::Fatal(format!("{shown}: cannot dynamically load executable"));
        }
        if info
            .dynamic
            .as_ref()
            .is_some_and(|d| d.flags_1 & DF_1_PIE != 0)
        {
            return Verdict::Fatal(format!(
                "{shown}: cannot dynamically load position-independent executable"
            ));
        }
        Verdict::Load(facts)
    }

    /// musl takes the first file that opens; one it cannot map fails the load.
    fn verify_musl(&self, path: &[u8]) -> Verdict {
        let shown = String::from_utf8_lossy(path);
        match self.r.files.probe(&bytes_path(path)) {
            Probe::Absent => Verdict::Fatal(String::new()),
            Probe::Unreadable(e) => Verdict::Fatal(format!("{shown}: {e}")),
            Probe::File(f) => match &f.elf {
                Ok(i)
                    if i.ident.class == self.target.class
                        && i.machine == self.target.machine
                        && i.ident.big_endian == self.target.big_endian
                        && i.e_type == ET_DYN =>
                {
                    Verdict::Load(f)
                }
                Ok(_) => {
                    Verdict::Fatal(format!("{shown}: cannot load (wrong ELF type or machine)"))
                }
                Err(e) => Verdict::Fatal(format!("{shown}: {e}")),
            },
        }
    }

    fn find_musl(&mut self, name: &[u8], from: usize) -> Search {
        const RESERVED: [&[u8]; 7] = [
            b"c.",
            b"pthread.",
            b"rt.",
            b"m.",
            b"dl.",
            b"util.",
            b"xnet.",
        ];
        if let Some(rest) = name.strip_prefix(b"lib") {
            if RESERVED.iter().any(|r| rest.starts_with(r)) {
                return match self.interp {
                    Some(i) => Search::Node(i),
                    None => Search::Nothing,
                };
            }
        }
        if name.contains(&b'/') {
            let path = self.absolute(name);
            return match self.verify_musl(&path) {
                Verdict::Load(f) => Search::File(bytes_path(&path), f, FoundVia::Direct),
                Verdict::Skip => Search::Nothing,
                Verdict::Fatal(e) if e.is_empty() => Search::Nothing,
                Verdict::Fatal(e) => Search::Error(e),
            };
        }
        if let Some(i) = self
            .nodes
            .iter()
            .position(|n| n.listed && n.names.iter().any(|x| x == name))
        {
            return Search::Node(i);
        }
        if let Some(llp) = self
            .r
            .options
            .ld_library_path
            .clone()
            .filter(|_| !self.secure)
        {
            let dirs = split_musl(&llp);
            match self.search_dirs(name, &dirs, from, FoundVia::LdLibraryPath) {
                Search::Nothing => {}
                f => return f,
            }
        }
        let mut l = Some(from);
        while let Some(i) = l {
            // musl keeps one search path per object: DT_RUNPATH over DT_RPATH.
            let rp = self.nodes[i]
                .dynamic()
                .and_then(|d| d.runpath.clone().or_else(|| d.rpath.clone()));
            if let Some(rp) = rp {
                let via = if self.nodes[i].dynamic().is_some_and(|d| d.runpath.is_some()) {
                    FoundVia::Runpath
                } else {
                    FoundVia::Rpath
                };
                let dirs = self.musl_rpath(&rp, i);
                match self.search_dirs(name, &dirs, from, via) {
                    Search::Nothing => {}
                    f => return f,
                }
            }
            l = self.nodes[i].loader;
        }
        let dirs = split_musl(&self.musl_path.clone());
        self.search_dirs(name, &dirs, from, FoundVia::Default)
    }

    /// The directory `$ORIGIN` stands for in node `node`'s search paths. For the executable
    /// it is the directory of its real path (the kernel's `/proc/self/exe`); for a library,
    /// the directory of the path it was opened by.
    fn origin(&self, node: usize) -> Option<Vec<u8>> {
        if node == 0 {
            let real = self.r.files.realpath(&self.nodes[0].path)?;
            return Some(loader::parent_of(&real).as_os_str().as_bytes().to_vec());
        }
        self.nodes[node].origin.clone()
    }

    /// musl's `fixup_rpath`: it expands only `$ORIGIN`/`${ORIGIN}`; a path holding any other
    /// `$` is not used at all, nor one with `$ORIGIN` for a secure main program.
    fn musl_rpath(&self, rp: &[u8], node: usize) -> Vec<Vec<u8>> {
        let mut dollars = rp.iter().enumerate().filter(|(_, b)| **b == b'$');
        if !dollars
            .all(|(i, _)| rp[i..].starts_with(b"$ORIGIN") || rp[i..].starts_with(b"${ORIGIN}"))
        {
            return Vec::new();
        }
        let has_origin = rp.contains(&b'$');
        if has_origin && self.secure && node == 0 {
            return Vec::new();
        }
        let origin = self.origin(node).unwrap_or_default();
        let expanded = replace(&replace(rp, b"${ORIGIN}", &origin), b"$ORIGIN", &origin);
        split_musl(&expanded)
    }

    /// Splits a glibc search path (`DT_RPATH`, `DT_RUNPATH`) and expands its tokens.
    fn path_list(&self, list: &[u8], node: usize) -> Vec<Vec<u8>> {
        self.path_list_with(list, node, b":")
    }

    fn path_list_with(&self, list: &[u8], node: usize, seps: &[u8]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for elem in list.split(|b| seps.contains(b)) {
            let elem = if elem.contains(&b'$') {
                match self.expand(elem, node) {
                    Some(e) => e,
                    // An element with a token that cannot be expanded is dropped.
                    None => continue,
                }
            } else {
                elem.to_vec()
            };
            // Empty elements mean the current directory; trailing slashes are trimmed.
            let mut elem = if elem.is_empty() { b".".to_vec() } else { elem };
            while elem.len() > 1 && elem.ends_with(b"/") {
                elem.pop();
            }
            let elem = self.absolute(&elem);
            if !out.contains(&elem) {
                out.push(elem);
            }
        }
        out
    }

    /// glibc's dynamic string tokens (`_dl_dst_substitute`): `$ORIGIN`, `$LIB`, `$PLATFORM`,
    /// bare or in braces; any other `$` stays as it is. In secure mode `$ORIGIN` is expanded
    /// only at the start of an element, followed by `/` or nothing, and in the executable's
    /// own paths the result must lie in a system directory (`is_trusted_path_normalize`): the
    /// executable's location is chosen by whoever calls `execve`, a library's is not.
    fn expand(&self, s: &[u8], node: usize) -> Option<Vec<u8>> {
        let origin = if contains(s, b"ORIGIN") {
            self.origin(node)
        } else {
            None
        };
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        let mut used_origin = false;
        while i < s.len() {
            if s[i] != b'$' {
                out.push(s[i]);
                i += 1;
                continue;
            }
            let rest = &s[i + 1..];
            let (token, len) = [&b"ORIGIN"[..], b"LIB", b"PLATFORM"]
                .iter()
                .find_map(|t| {
                    if rest.starts_with(b"{")
                        && rest[1..].starts_with(t)
                        && rest.get(t.len() + 1) == Some(&b'}')
                    {
                        Some((*t, t.len() + 3))
                    } else if rest.starts_with(t)
                        && !rest
                            .get(t.len())
                            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        Some((*t, t.len() + 1))
                    } else {
                        None
                    }
                })
                .unwrap_or((&b""[..], 0));
            match token {
                b"ORIGIN" => {
                    // In secure mode `$ORIGIN` counts only as the whole first component of
                    // the element; anywhere else the element is dropped.
                    if self.secure && (i != 0 || !matches!(s.get(i + len), None | Some(b'/'))) {
                        return None;
                    }
                    out.extend_from_slice(origin.as_deref()?);
                    used_origin = true;
                }
                b"LIB" => out.extend_from_slice(&self.defaults.lib),
                b"PLATFORM" => {
                    if self.platform.is_empty() {
                        return None;
                    }
                    out.extend_from_slice(&self.platform);
                }
                _ => {
                    // Not a token: glibc keeps the `$` literally.
                    out.push(b'$');
                    i += 1;
                    continue;
                }
            }
            i += len;
        }
        if self.secure && used_origin && node == 0 {
            let norm = inuse_root::normalize(&bytes_path(&out));
            let norm = norm.as_os_str().as_bytes();
            let trusted = self
                .defaults
                .dirs
                .iter()
                .any(|d| norm.starts_with(d) && matches!(norm.get(d.len()), None | Some(b'/')));
            if !trusted {
                return None;
            }
        }
        Some(out)
    }

    /// Makes a path absolute against the emulated current directory.
    fn absolute(&self, p: &[u8]) -> Vec<u8> {
        if p.starts_with(b"/") {
            p.to_vec()
        } else {
            let mut out = self.cwd.clone();
            if !out.ends_with(b"/") {
                out.push(b'/');
            }
            out.extend_from_slice(p.strip_prefix(b"./").unwrap_or(p));
            out
        }
    }

    fn finish(mut self, mut res: Resolution) -> Resolution {
        // Every object but the input, in load order; the interpreter goes last, where ldd
        // lists it, if it was needed or is the input's own loader.
        let interp = self.interp;
        if let Some(i) = interp {
            if res.interpreter.is_some() && !self.nodes[i].listed {
                self.nodes[i].listed = true;
            }
            if self.nodes[i].needed_by.is_empty() && res.interpreter.is_some() {
                self.nodes[i].needed_by.push(0);
            }
        }
        let order: Vec<usize> = (1..self.nodes.len())
            .filter(|&i| self.nodes[i].listed && Some(i) != interp)
            .chain(interp.filter(|&i| self.nodes[i].listed))
            .collect();
        // Node index -> position in `objects` + 1 (0 is the input).
        let mut pos = vec![usize::MAX; self.nodes.len()];
        pos[0] = 0;
        for (k, &i) in order.iter().enumerate() {
            pos[i] = k + 1;
        }
        let map = |v: &[usize]| -> Vec<usize> {
            let mut out: Vec<usize> = v
                .iter()
                .map(|&i| pos[i])
                .filter(|&p| p != usize::MAX)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        };
        for &i in &order {
            let n = &self.nodes[i];
            res.objects.push(Object {
                name: n.names.first().cloned().unwrap_or_default(),
                soname: n.soname().map(<[u8]>::to_vec),
                path: n.path.clone(),
                realpath: self
                    .r
                    .files
                    .realpath(&n.path)
                    .unwrap_or_else(|| n.path.clone()),
                found_via: n.found_via,
                needed_by: map(&n.needed_by),
                depth: n.depth,
                dev: n.facts.dev,
                ino: n.facts.ino,
                needed: n.dynamic().map(|d| d.needed.clone()).unwrap_or_default(),
            });
        }
        for m in &mut self.missing {
            m.needed_by = map(&m.needed_by);
        }
        res.edges = vec![Vec::new(); order.len() + 1];
        for (from, name, to) in self.edges {
            let from = pos[from];
            let to = match to {
                Ok(i) if pos[i] != usize::MAX => crate::EdgeTarget::Object(pos[i]),
                Ok(_) => continue,
                Err(k) => crate::EdgeTarget::Missing(k),
            };
            if from != usize::MAX {
                res.edges[from].push(crate::Edge { name, to });
            }
        }
        res.missing = self.missing;
        res.warnings = self.warnings;
        res
    }
}

fn split_musl(list: &[u8]) -> Vec<Vec<u8>> {
    list.split(|&b| b == b':' || b == b'\n')
        .filter(|e| !e.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

pub(crate) fn bytes_path(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}
