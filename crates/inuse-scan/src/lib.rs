//! The main job: every vulnerable package of a root, with the strongest evidence that its code
//! is in use, ranked by real exposure.
//!
//! For one root this module gathers, once each:
//!
//! 1. the inventory and the file-owner index (`inuse-pkgdb`);
//! 2. the vulnerability matches of the inventory (`inuse-osv`);
//! 3. the ELF files of the root's program and library directories: which packages have
//!    anything a process could map (observable), and, through the loader emulation of every
//!    executable, which executables link each package (`linked`); the packages embedded in
//!    files no package owns are counted in a note (they are not matched);
//! 4. a live sweep of the processes whose root is this root (`loaded`, `executed`, stale);
//! 5. the observation store of `inuse observe` (the window, and evidence seen in it);
//!
//! and hands them to `inuse-report`, which decides tiers, ranks and renders.
//!
//! What is walked for ELF files: `/bin`, `/sbin`, `/lib*`, `/usr` (but not `/usr/share`,
//! `/usr/include`, `/usr/src`), `/opt`. Packages whose only ELF files lie elsewhere are treated
//! as not observable, which can only make their verdict weaker (`installed`,
//! `under_investigation`), never "unused".

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use inuse_elf::ElfInfo;
use inuse_ldso::{Options as LdsoOptions, Resolver};
use inuse_model::{Evidence, Level, Note, NoteCode, ProcessRef, Strength, Window};
use inuse_osv::store::Store as VulnStore;
use inuse_pkgdb::{Inventory, OwnerIndex, PackageId};
use inuse_report::{RANKED, Report};
use inuse_root::{FileKind, Root};
use inuse_runtime::store::Store as ObservationStore;
use inuse_runtime::sweep::{ProcessReport, Sweep};
use rayon::prelude::*;

pub mod sbom;

/// What a scan needs besides the root.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Minimum observation window (seconds) before "never loaded" becomes `not_affected`.
    pub min_window: i64,
    /// Whether to sweep live processes now.
    pub live: bool,
}

/// Why a scan failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The root cannot be opened.
    #[error("cannot open root {0}: {1}")]
    Root(PathBuf, std::io::Error),
    /// The vulnerability store failed.
    #[error("vulnerability store: {0}")]
    Vulns(#[from] inuse_osv::store::StoreError),
    /// The observation store failed.
    #[error("observation store: {0}")]
    Observations(String),
}

/// Everything found about one root before it becomes a report.
pub struct RootScan {
    /// The root directory on the host.
    pub dir: PathBuf,
    /// Its inventory.
    pub inventory: Inventory,
    /// Its ownership index.
    pub owners: OwnerIndex,
    /// Per package: the executables whose closure contains one of its files.
    pub linked_by: HashMap<PackageId, BTreeSet<String>>,
    /// Packages with at least one ELF file in the walked directories.
    pub observable: BTreeSet<PackageId>,
    /// Per package: live and stored evidence.
    pub live: HashMap<PackageId, Evidence>,
    /// Notes for the reader.
    pub notes: Vec<Note>,
    /// The ELF executables found in the walked directories.
    pub executables: Vec<PathBuf>,
}

/// Directories of a root walked for ELF files.
const WALK: &[&str] = &[
    "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr", "/opt",
];
/// Directories under them that hold no code worth walking.
const SKIP: &[&str] = &["/usr/share", "/usr/include", "/usr/src", "/usr/lib/debug"];

/// File name extensions of formats that are never ELF in practice (sources, bytecode, text,
/// images, archives). Skipping them saves one open and read per file on walks that meet tens
/// of thousands of Python and Perl modules. A misnamed ELF file skipped here only weakens
/// verdicts: its package may lose `linked` or observability (then `under_investigation`),
/// never gain "unused", since runtime evidence does not depend on the walk.
const NOT_ELF: &[&str] = &[
    "py", "pyc", "pyi", "pyo", "pm", "pl", "pod", "rb", "js", "mjs", "ts", "json", "h", "hpp", "c",
    "cc", "txt", "md", "rst", "html", "xml", "svg", "png", "gif", "jpg", "gz", "xz", "bz2", "zst",
    "zip", "jar", "mo", "conf", "cfg", "ini", "pem", "crt", "typelib", "gir", "desktop",
];

fn never_elf(name: &std::ffi::OsStr) -> bool {
    let name = name.as_encoded_bytes();
    match name.iter().rposition(|&b| b == b'.') {
        Some(i) => NOT_ELF.iter().any(|e| name[i + 1..] == *e.as_bytes()),
        None => false,
    }
}

/// One ELF file of the root.
struct ElfFile {
    path: PathBuf,
    executable: bool,
    /// Packages it carries inside (Go modules, crates, a package note), counted only in files
    /// no package owns: `scan` does not match them, it says how many there are.
    embedded: usize,
}

/// Every ELF file below the walked directories, each directory read once (symlinks to
/// directories are not followed; the real directory is walked under its own name); files no
/// package owns are also read for embedded packages while open.
fn elf_files(root: &Root, owners: &OwnerIndex) -> Vec<ElfFile> {
    let mut candidates = Vec::new();
    let mut seen_dirs = BTreeSet::new();
    for start in WALK {
        let Ok(real) = root.canonicalize(Path::new(start)) else {
            continue;
        };
        let mut stack = vec![real];
        while let Some(dir) = stack.pop() {
            if SKIP.iter().any(|s| dir == Path::new(s)) || !seen_dirs.insert(dir.clone()) {
                continue;
            }
            let Ok(entries) = root.read_dir(&dir) else {
                continue;
            };
            for (name, kind) in entries {
                match kind {
                    FileKind::Dir => stack.push(dir.join(name)),
                    FileKind::File if !never_elf(&name) => candidates.push(dir.join(name)),
                    _ => {}
                }
            }
        }
    }
    let limits = inuse_elf::Limits::default();
    candidates
        .into_par_iter()
        .filter_map(|path| {
            let (file, _) = root.open_file(&path).ok()?;
            let info = ElfInfo::read_file(&file, &limits).ok()?;
            let embedded = if owners.owners_of_real(&path).is_empty() {
                inuse_pkgdb::embedded::read_file(&file)
                    .ok()
                    .flatten()
                    .map_or(0, |e| e.packages(&path, true).len())
            } else {
                0
            };
            Some(ElfFile {
                executable: info.is_executable(),
                path,
                embedded,
            })
        })
        .collect()
}

/// Gathers the static evidence of a root: inventory, owners, observable and linked packages.
pub fn scan_root(dir: &Path) -> Result<RootScan, ScanError> {
    let root = Root::open(dir).map_err(|e| ScanError::Root(dir.to_path_buf(), e))?;
    let t = std::time::Instant::now();
    let (inventory, owners) = Inventory::load_with_owners(&root);
    timing("inventory and owners", t);
    let t = std::time::Instant::now();
    let files = elf_files(&root, &owners);
    timing("ELF walk", t);
    let t = std::time::Instant::now();
    let mut observable = BTreeSet::new();
    for f in &files {
        for id in owners.owners_of_real(&f.path) {
            observable.insert(id);
        }
    }
    let resolver = Resolver::new(&root, LdsoOptions::default(), PathBuf::from("/"));
    let edges: Vec<(PackageId, String)> = files
        .par_iter()
        .filter(|f| f.executable)
        .flat_map_iter(|f| {
            let exe = f.path.display().to_string();
            let mut out: Vec<(PackageId, String)> = owners
                .owners_of_real(&f.path)
                .iter()
                .map(|id| (*id, exe.clone()))
                .collect();
            if let Ok(res) = resolver.resolve(&f.path) {
                for o in &res.objects {
                    for id in owners.owners_of_real(&o.realpath) {
                        out.push((id, exe.clone()));
                    }
                }
            }
            out
        })
        .collect();
    let mut linked_by: HashMap<PackageId, BTreeSet<String>> = HashMap::new();
    for (id, exe) in edges {
        linked_by.entry(id).or_default().insert(exe);
    }
    timing("linkage of every executable", t);
    let mut notes = Vec::new();
    for p in inventory.problems.iter().take(20) {
        notes.push(Note::new(
            NoteCode::PackageDatabaseProblem,
            format!("package database: {p}"),
        ));
    }
    if let Some(note) = embedded_note(&files) {
        notes.push(Note::new(NoteCode::EmbeddedNotMatched, note));
    }
    Ok(RootScan {
        dir: root.dir().to_path_buf(),
        inventory,
        owners,
        linked_by,
        observable,
        live: HashMap::new(),
        notes,
        executables: files
            .iter()
            .filter(|f| f.executable)
            .map(|f| f.path.clone())
            .collect(),
    })
}

pub use inuse_runtime::timing;

/// Says how many packages the programs no package owns carry inside (Go modules, `cargo
/// auditable` crates, package notes): `inuse inventory` lists them, but they are not matched
/// against vulnerability data here, and a summary without them must not read as complete.
fn embedded_note(files: &[ElfFile]) -> Option<String> {
    let carried: Vec<&ElfFile> = files.iter().filter(|f| f.embedded > 0).collect();
    let most = carried.iter().max_by_key(|f| f.embedded)?;
    let total: usize = carried.iter().map(|f| f.embedded).sum();
    Some(format!(
        "{total} package(s) embedded in {} program(s) no package owns (Go modules, Rust crates; \
         most in {}) are not matched against vulnerability data: `inuse inventory` lists them, \
         `inuse sbom` exports them",
        carried.len(),
        most.path.display()
    ))
}

/// Whether we could read every process if we tried: root with `CAP_SYS_PTRACE`. A process
/// unreadable even then is refused by something outside the analysed system (a security
/// module, a supervisor of the sandbox we run in): reported, but not held against packages.
fn fully_privileged() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let cap = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    rustix::process::geteuid().is_root() && cap & (1 << 19) != 0
}

/// The key a process's root has in sweeps and the observation store.
fn same_root(p: &ProcessReport, dir: &Path) -> bool {
    match p.root.as_deref() {
        Some(r) => Path::new(r) == dir || std::fs::canonicalize(r).is_ok_and(|c| c == dir),
        None => false,
    }
}

/// Adds the evidence of a live sweep to `scan`: processes whose root is the scanned root.
pub fn add_sweep(scan: &mut RootScan, sweep: &Sweep) {
    let by_name: HashMap<(&str, &str), PackageId> = scan
        .inventory
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.name.as_str(), p.version.as_str()), PackageId(i as u32)))
        .collect();
    let privileged = fully_privileged();
    let mut unreadable = Vec::new();
    for p in &sweep.processes {
        if let Some(why) = &p.unmeasurable {
            if p.root.is_none() || same_root(p, &scan.dir) {
                unreadable.push(format!("pid {} {} ({why})", p.pid, p.comm));
            }
            continue;
        }
        if !same_root(p, &scan.dir) {
            continue;
        }
        let setid = p.setid.unwrap_or_default();
        for o in &p.objects {
            let Some(pkg) = &o.package else { continue };
            let Some(id) = by_name.get(&(pkg.name.as_str(), pkg.version.as_str())) else {
                continue;
            };
            let e = scan.live.entry(*id).or_default();
            if !e.files.contains(&o.path) {
                e.files.push(o.path.clone());
            }
            e.raise(Level::Loaded);
            if o.executed == inuse_runtime::Executed::Yes {
                e.raise(Level::Executed);
            }
            if !e.processes.iter().any(|x| x.pid == p.pid) {
                e.processes.push(ProcessRef {
                    pid: p.pid,
                    exe: p.exe.clone().unwrap_or_else(|| p.comm.clone()),
                    uid: p.euid.or(p.uid).unwrap_or(u32::MAX),
                    container: p.container.clone(),
                    listening: p.listening.clone(),
                    stale: o.stale.map(|s| s.as_str().to_owned()),
                    privileged_binary: setid.setuid || setid.setgid || setid.file_caps,
                });
            }
        }
    }
    if !unreadable.is_empty() {
        let list = unreadable.join(", ");
        if privileged {
            scan.notes.push(Note::new(
                NoteCode::ProcessUnreadable,
                format!(
                    "{} process(es) could not be read even with CAP_SYS_PTRACE (refused from \
                     outside this system): {list}; their libraries are not counted",
                    unreadable.len()
                ),
            ));
        } else {
            let why = format!(
                "{} process(es) could not be read (run as root): {list}",
                unreadable.len()
            );
            scan.notes
                .push(Note::new(NoteCode::ProcessUnreadable, why.clone()));
            for id in 0..scan.inventory.packages.len() {
                let e = scan.live.entry(PackageId(id as u32)).or_default();
                if e.processes.is_empty() {
                    e.unmeasurable = Some(why.clone());
                }
            }
        }
    }
}

/// The observation window from the store, and the evidence it holds for `scan`'s root.
pub fn add_observations(
    scan: &mut RootScan,
    store: &ObservationStore,
) -> Result<Option<Window>, ScanError> {
    let obs = |e: inuse_runtime::store::StoreError| ScanError::Observations(e.to_string());
    let key = scan.dir.display().to_string();
    // Functions entered are facts whatever window `inuse trace` ran in.
    for hit in store.functions_hit().map_err(obs)? {
        if hit.root != key {
            continue;
        }
        for id in scan.owners.owners_of_real(Path::new(&hit.path)) {
            let e = scan.live.entry(id).or_default();
            e.raise(Level::Function);
            if !e.functions_hit.contains(&hit.symbol) {
                e.functions_hit.push(hit.symbol.clone());
            }
            if !e.files.contains(&hit.path) {
                e.files.push(hit.path.clone());
            }
        }
    }
    // The window is the latest one with sweeps of live processes (`inuse observe`); trace
    // runs open windows of their own without sweeps.
    let Some(info) = store
        .windows()
        .map_err(obs)?
        .into_iter()
        .rev()
        .find(|w| w.sweeps > 0)
    else {
        return Ok(None);
    };
    let window = info.id;
    let by_name: HashMap<(String, String), PackageId> = scan
        .inventory
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.name.clone(), p.version.clone()), PackageId(i as u32)))
        .collect();
    // Executed code counts where some process of the window had the package mapped.
    let mut executed: BTreeSet<PackageId> = BTreeSet::new();
    for ev in store.evidence(Some(window)).map_err(obs)? {
        if ev.root != key {
            continue;
        }
        let (Some(name), Some(version)) = (ev.package, ev.version) else {
            continue;
        };
        let Some(id) = by_name.get(&(name, version)) else {
            continue;
        };
        let e = scan.live.entry(*id).or_default();
        if !e.files.contains(&ev.path) {
            e.files.push(ev.path.clone());
        }
        if ev.level == Level::Executed {
            executed.insert(*id);
        }
        for exe in ev.exes {
            if !e.processes.iter().any(|p| p.exe == exe) {
                e.processes.push(ProcessRef {
                    pid: 0,
                    exe,
                    uid: u32::MAX,
                    stale: ev.stale.clone(),
                    ..Default::default()
                });
            }
        }
        if !e.processes.is_empty() {
            e.raise(Level::Loaded);
        }
    }
    for id in executed {
        if let Some(e) = scan.live.get_mut(&id).filter(|e| !e.processes.is_empty()) {
            e.raise(Level::Executed);
        }
    }
    Ok(Some(info.window()))
}

/// Matches the inventory against the vulnerability store and builds the report.
pub fn report(
    scan: &RootScan,
    vulns: Option<&VulnStore>,
    window: Window,
    settings: &Settings,
) -> Result<Report, ScanError> {
    let mut notes = scan.notes.clone();
    let matches = match vulns {
        Some(store) => inuse_osv::matching::match_inventory(store, &scan.inventory)?,
        None => {
            notes.push(Note::new(
                NoteCode::NoVulnerabilityData,
                "no vulnerability data: run `inuse db update` (or `inuse db import FILE`) and \
                 scan again; the package evidence above is measured all the same",
            ));
            Default::default()
        }
    };
    notes.extend(ecosystem_notes(&matches));
    for p in matches.problems.iter().take(10) {
        notes.push(Note::new(
            NoteCode::MatchingProblem,
            format!("matching: {p}"),
        ));
    }
    let mut findings = Vec::new();
    for m in matches.findings {
        let evidence = evidence_for(scan, m.package_id);
        findings.push((m.found.vulnerability, m.found.package, evidence));
    }
    let mut report = Report::new(
        scan.dir.display().to_string(),
        scan.inventory
            .distro
            .as_ref()
            .and_then(|d| d.ecosystem.clone()),
        window,
        settings.min_window,
        findings,
    );
    report.notes = notes;
    // Evidence for every package, vulnerable or not: what the scan measured.
    let mut counts: Vec<(Strength, usize)> = RANKED.iter().map(|t| (*t, 0)).collect();
    for i in 0..scan.inventory.packages.len() {
        let tier = evidence_for(scan, PackageId(i as u32)).strength();
        if let Some(slot) = counts.iter_mut().find(|(t, _)| *t == tier) {
            slot.1 += 1;
        }
    }
    report.package_counts = counts;
    Ok(report)
}

/// Everything measured about one package of the scan.
fn evidence_for(scan: &RootScan, id: PackageId) -> Evidence {
    let mut evidence = scan.live.get(&id).cloned().unwrap_or_default();
    evidence.observable = scan.observable.contains(&id);
    evidence.linked_by = scan
        .linked_by
        .get(&id)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    if !evidence.linked_by.is_empty() {
        evidence.raise(Level::Linked);
    }
    evidence
}

/// The `ecosystem-no-data` notes of a match: zero findings for an ecosystem the store holds
/// nothing for is no data, not a clean bill of health.
pub fn ecosystem_notes(matches: &inuse_osv::Matches) -> Vec<Note> {
    matches
        .ecosystems_without_data
        .iter()
        .map(|eco| {
            Note::new(
                NoteCode::EcosystemNoData,
                format!(
                    "the vulnerability store has no records for {eco}: no finding for its \
                     packages means no data, not \"not vulnerable\"; run `inuse db update \
                     --ecosystem {eco}` (or `inuse db import FILE`) and scan again"
                ),
            )
        })
        .collect()
}

/// The distinct roots live processes run in, other than the host's: chroots and containers.
pub fn process_roots(sweep: &Sweep) -> Vec<PathBuf> {
    let mut out: BTreeMap<PathBuf, ()> = BTreeMap::new();
    for p in &sweep.processes {
        if let Some(r) = &p.root {
            if r != "/" {
                out.insert(PathBuf::from(r), ());
            }
        }
    }
    out.into_keys().collect()
}

/// A package that is installed but was never seen loaded: code that can go.
#[derive(Debug, Clone)]
pub struct UnusedPackage {
    /// The package.
    pub package: PackageId,
    /// `linked` or `installed`: the strongest evidence it has.
    pub strength: Strength,
    /// Known vulnerabilities it carries.
    pub vulnerabilities: usize,
    /// Executables that link it (empty for installed only).
    pub linked_by: Vec<String>,
}

/// An executable's `DT_NEEDED` library from which it takes no symbol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnusedLink {
    /// The executable.
    pub executable: String,
    /// The `DT_NEEDED` name.
    pub library: String,
    /// Where the loader finds it.
    pub path: String,
}

/// A library mapped by live processes whose code never ran beyond load-time initialisation.
#[derive(Debug, Clone)]
pub struct IdleLoaded {
    /// The package.
    pub package: PackageId,
    /// The files.
    pub files: Vec<String>,
    /// The processes.
    pub processes: Vec<ProcessRef>,
}

/// Packages never seen loaded, ranked by the risk they carry (vulnerabilities, then size).
/// Packages that could not be measured are left out: "not seen" is not "unused" for them.
pub fn unused_packages(
    scan: &RootScan,
    vulns: Option<&VulnStore>,
) -> Result<Vec<UnusedPackage>, ScanError> {
    let mut counts: HashMap<PackageId, usize> = HashMap::new();
    if let Some(store) = vulns {
        for f in inuse_osv::matching::match_inventory(store, &scan.inventory)?.findings {
            *counts.entry(f.package_id).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for i in 0..scan.inventory.packages.len() {
        let id = PackageId(i as u32);
        let evidence = evidence_for(scan, id);
        let strength = evidence.strength();
        if matches!(
            strength,
            Strength::Measured(Level::Linked | Level::Installed)
        ) {
            out.push(UnusedPackage {
                package: id,
                strength,
                vulnerabilities: counts.get(&id).copied().unwrap_or(0),
                linked_by: evidence.linked_by,
            });
        }
    }
    let size = |p: &UnusedPackage| {
        scan.inventory
            .get(p.package)
            .and_then(|x| x.installed_size)
            .unwrap_or(0)
    };
    out.sort_by(|a, b| {
        b.vulnerabilities
            .cmp(&a.vulnerabilities)
            .then_with(|| size(b).cmp(&size(a)))
            .then_with(|| a.package.0.cmp(&b.package.0))
    });
    Ok(out)
}

/// Libraries mapped only for load-time initialisation: loaded, never executed beyond it.
pub fn idle_loaded(scan: &RootScan, sweep: &Sweep) -> Vec<IdleLoaded> {
    let by_name: HashMap<(&str, &str), PackageId> = scan
        .inventory
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.name.as_str(), p.version.as_str()), PackageId(i as u32)))
        .collect();
    let mut busy = BTreeSet::new();
    let mut idle: BTreeMap<u32, IdleLoaded> = BTreeMap::new();
    for p in sweep.processes.iter().filter(|p| same_root(p, &scan.dir)) {
        for o in &p.objects {
            let Some(pkg) = &o.package else { continue };
            let Some(id) = by_name.get(&(pkg.name.as_str(), pkg.version.as_str())) else {
                continue;
            };
            match o.executed {
                inuse_runtime::Executed::None | inuse_runtime::Executed::InitOnly => {
                    let e = idle.entry(id.0).or_insert_with(|| IdleLoaded {
                        package: *id,
                        files: Vec::new(),
                        processes: Vec::new(),
                    });
                    if !e.files.contains(&o.path) {
                        e.files.push(o.path.clone());
                    }
                    if !e.processes.iter().any(|x| x.pid == p.pid) {
                        e.processes.push(ProcessRef {
                            pid: p.pid,
                            exe: p.exe.clone().unwrap_or_else(|| p.comm.clone()),
                            uid: p.euid.or(p.uid).unwrap_or(u32::MAX),
                            ..Default::default()
                        });
                    }
                }
                // Executed somewhere, or unknown: not idle.
                _ => {
                    busy.insert(id.0);
                }
            }
        }
    }
    idle.into_iter()
        .filter(|(k, _)| !busy.contains(k))
        .map(|(_, v)| v)
        .collect()
}

/// For every executable of the root, the `DT_NEEDED` libraries that define none of the
/// symbols it leaves undefined (what `ldd -u` reports, computed from the symbol tables).
/// Such a library may still be wanted for its constructors; it is listed, not judged.
pub fn unused_links(dir: &Path, executables: &[PathBuf]) -> Result<Vec<UnusedLink>, ScanError> {
    use std::sync::{Arc, Mutex};
    let root = Root::open(dir).map_err(|e| ScanError::Root(dir.to_path_buf(), e))?;
    let limits = inuse_elf::Limits::default();
    let symbols = |path: &Path| -> Option<Vec<inuse_elf::Symbol>> {
        let (file, _) = root.open_file(path).ok()?;
        let cache = object_cache(&file);
        inuse_elf::ElfFile::parse(&cache, &limits)
            .ok()?
            .dynamic_symbols()
            .ok()
    };
    let defined: Mutex<HashMap<PathBuf, Arc<BTreeSet<Vec<u8>>>>> = Mutex::default();
    let resolver = Resolver::new(&root, LdsoOptions::default(), PathBuf::from("/"));
    let mut out: Vec<UnusedLink> = executables
        .par_iter()
        .flat_map_iter(|exe| {
            let mut found = Vec::new();
            let (Ok(res), Some(syms)) = (resolver.resolve(exe), symbols(exe)) else {
                return found;
            };
            let wanted: BTreeSet<&[u8]> = syms
                .iter()
                .filter(|s| !s.defined && !s.name.is_empty())
                .map(|s| s.name.as_slice())
                .collect();
            for edge in res.edges.first().into_iter().flatten() {
                let inuse_ldso::EdgeTarget::Object(k) = edge.to else {
                    continue;
                };
                let lib = &res.objects[k - 1];
                if lib.found_via == inuse_ldso::FoundVia::Interpreter {
                    continue;
                }
                let cached = defined
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&lib.realpath)
                    .cloned();
                let provides = match cached {
                    Some(d) => d,
                    None => {
                        let Some(s) = symbols(&lib.realpath) else {
                            continue;
                        };
                        let d: Arc<BTreeSet<Vec<u8>>> = Arc::new(
                            s.into_iter()
                                .filter(|s| s.defined)
                                .map(|s| s.name)
                                .collect(),
                        );
                        defined
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(lib.realpath.clone(), d.clone());
                        d
                    }
                };
                if !wanted.iter().any(|w| provides.contains(*w)) {
                    found.push(UnusedLink {
                        executable: exe.display().to_string(),
                        library: String::from_utf8_lossy(&edge.name).into_owned(),
                        path: lib.path.display().to_string(),
                    });
                }
            }
            found
        })
        .collect();
    out.sort();
    Ok(out)
}

fn object_cache(file: &std::fs::File) -> inuse_elf::ReadCache<&std::fs::File> {
    inuse_elf::ReadCache::new(file)
}
