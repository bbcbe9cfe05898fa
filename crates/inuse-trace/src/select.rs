//! Which libraries to trace, when the user names packages or asks for the vulnerable ones.
//!
//! Tracing is worth its (small) cost where a question is open: "does anything on this host
//! call into this package's code at all", or "of the vulnerable libraries that are loaded right
//! now, which functions run". The first needs the package's files (`inuse-pkgdb`'s owner
//! index); the second joins three facts: the installed packages with known vulnerabilities
//! (`inuse-osv` matching), the objects live processes have mapped (`inuse-runtime` sweep),
//! and their owners.
//!
//! Probes attach to an inode, so a library is identified by device and inode: two spellings
//! of one file (`/lib/...` and `/usr/lib/...` on a merged-/usr system, a symlinked soname)
//! are traced once, under their canonical path.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use inuse_elf::{ET_DYN, ElfInfo, Limits};
use inuse_pkgdb::{Inventory, OwnerIndex, PackageId};
use inuse_root::Root;

use crate::TraceError;

/// The package that owns a traced library: the vocabulary's package identity.
pub use inuse_model::PackageRef as Owner;

/// The host's installed packages with their file lists.
pub struct Packages {
    root: Root,
    inventory: Inventory,
    owners: OwnerIndex,
}

impl std::fmt::Debug for Packages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packages")
            .field("packages", &self.inventory.packages.len())
            .field("files", &self.owners.len())
            .finish_non_exhaustive()
    }
}

impl Packages {
    /// Reads the package databases of the host, file lists included.
    pub fn load_host() -> Result<Packages, TraceError> {
        let root = Root::host().map_err(|e| TraceError::io("cannot open /", e))?;
        let (inventory, owners) = Inventory::load_with_owners(&root);
        Ok(Packages {
            root,
            inventory,
            owners,
        })
    }

    /// The inventory.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The preferred owner of a host path.
    pub fn owner(&self, path: &Path) -> Option<Owner> {
        self.owners
            .owner(path)
            .and_then(|id| self.inventory.get(id))
            .map(|p| p.identity.clone())
    }

    /// The ELF shared objects that packages named `name` own (every architecture), by
    /// canonical path, one per inode. `None` when no installed package has that name.
    pub fn shared_objects(&self, name: &str) -> Option<Vec<PathBuf>> {
        let ids: HashSet<PackageId> = self
            .inventory
            .packages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.name == name)
            .filter_map(|(i, _)| u32::try_from(i).ok().map(PackageId))
            .collect();
        if ids.is_empty() {
            return None;
        }
        let paths = self
            .owners
            .paths_of(&ids)
            .into_iter()
            .map(|path| self.root.host_path(&path));
        Some(unique_shared_objects(paths))
    }
}

/// Whether `path` is an ELF shared object (a library or plugin, not an executable, not a
/// debug-info file).
pub fn is_shared_object(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    ElfInfo::read_file(&file, &Limits::default())
        .is_ok_and(|e| e.e_type == ET_DYN && e.has_contents && !e.is_executable())
}

/// The shared objects among `paths`, canonicalised, one per inode, sorted.
fn unique_shared_objects(paths: impl Iterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut by_inode = BTreeSet::new();
    let mut seen = HashSet::new();
    for path in paths {
        let Ok(real) = std::fs::canonicalize(&path) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&real) else {
            continue;
        };
        if !seen.insert((meta.dev(), meta.ino())) || !is_shared_object(&real) {
            continue;
        }
        by_inode.insert(real);
    }
    by_inode.into_iter().collect()
}

/// A loaded library of a vulnerable package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnerableLibrary {
    /// Canonical host path.
    pub path: PathBuf,
    /// The vulnerabilities of its package.
    pub vulnerabilities: Vec<String>,
}

/// What [`loaded_vulnerable`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedVulnerable {
    /// Libraries to trace, sorted by path.
    pub libraries: Vec<VulnerableLibrary>,
    /// Packages with findings.
    pub vulnerable_packages: usize,
    /// Processes in another root (chroot, container) whose objects were not considered:
    /// their packages are not the host's.
    pub other_roots: usize,
    /// Warnings of the sweep and of matching.
    pub warnings: Vec<String>,
}

/// The libraries of packages with known vulnerabilities that host processes have mapped now.
pub fn loaded_vulnerable(
    osv: &inuse_osv::Store,
    packages: &Packages,
) -> Result<LoadedVulnerable, TraceError> {
    let matches = inuse_osv::match_inventory(osv, packages.inventory())?;
    let mut out = LoadedVulnerable {
        warnings: matches.problems.clone(),
        ..LoadedVulnerable::default()
    };
    let mut vulnerable: HashMap<(String, String), Vec<String>> = HashMap::new();
    for f in &matches.findings {
        vulnerable
            .entry((f.package.name.clone(), f.package.version.clone()))
            .or_default()
            .push(f.vulnerability.id.clone());
    }
    out.vulnerable_packages = vulnerable.len();
    if vulnerable.is_empty() {
        return Ok(out);
    }
    let mut sweeper = inuse_runtime::Sweeper::new(inuse_runtime::Limits::default())
        .map_err(|e| TraceError::io("cannot stat /", e))?;
    let sweep = sweeper.sweep(None);
    out.warnings.extend(sweep.warnings);
    let mut by_path: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for p in &sweep.processes {
        if p.container.is_some() || p.root.as_deref() != Some("/") {
            if p.unmeasurable.is_none() {
                out.other_roots += 1;
            }
            continue;
        }
        for o in &p.objects {
            let Some(pkg) = &o.package else { continue };
            let Some(ids) = vulnerable.get(&(pkg.name.clone(), pkg.version.clone())) else {
                continue;
            };
            if !seen.insert((o.dev, o.ino)) {
                continue;
            }
            let Ok(real) = std::fs::canonicalize(&o.path) else {
                continue;
            };
            // Executables are mapped too; only libraries are asked for.
            if is_shared_object(&real) {
                by_path.insert(real, ids.clone());
            }
        }
    }
    out.libraries = by_path
        .into_iter()
        .map(|(path, mut vulnerabilities)| {
            vulnerabilities.sort();
            vulnerabilities.dedup();
            VulnerableLibrary {
                path,
                vulnerabilities,
            }
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_objects_are_told_from_executables() {
        assert!(!is_shared_object(Path::new("/proc/self/exe")));
        assert!(!is_shared_object(Path::new("/etc/passwd")));
        assert!(!is_shared_object(Path::new("/nonexistent")));
        // libc.so.6 can be run (it has an interpreter), but it has a soname: a library.
        let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        if libc.exists() {
            assert!(is_shared_object(libc));
            let once = unique_shared_objects(
                [
                    libc.to_owned(),
                    libc.to_owned(),
                    PathBuf::from("/etc/passwd"),
                ]
                .into_iter(),
            );
            assert_eq!(once.len(), 1);
        }
    }
}
