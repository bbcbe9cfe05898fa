//! The software bill of materials of a root, as data: its components and the dependency edges
//! between them, ready for `inuse-report`'s CycloneDX and SPDX writers.
//!
//! Besides the dependencies the package databases declare (`Depends`, `Requires`, `D:`, cargo
//! auditable's graph, a Go main module's requirements), every edge the loader would really
//! follow is derived from the ELF files: a file of package A needs a library that package B
//! owns, resolved exactly as `inuse deps` resolves it (`inuse-ldso`), the library's real path
//! mapped to its owner. Packages embedded in ELF files (Go modules, crates, package notes) are
//! read from every ELF file, owned or not, and merged by package URL.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use inuse_ldso::{Options, Resolver};
use inuse_pkgdb::elfscan::{self, ScanOptions};
use inuse_pkgdb::{Inventory, Manager, Package, PackageId, Problem};
use inuse_report::sbom::{Component, Edge, OperatingSystem, Sbom};
use inuse_root::Root;
use rayon::prelude::*;

/// An SBOM and what went wrong while gathering it.
#[derive(Debug)]
pub struct SbomFacts {
    /// The document's data.
    pub sbom: Sbom,
    /// Problems of the package databases: each one means packages may be missing.
    pub inventory_problems: Vec<Problem>,
    /// Problems of the ELF walk (unreadable files and directories).
    pub scan_problems: Vec<Problem>,
    /// How many packages the databases and the ELF files gave (before merging by purl).
    pub packages: usize,
}

fn embedded(p: &Package) -> bool {
    matches!(p.manager, Manager::Go | Manager::Cargo | Manager::ElfNote)
}

/// Gathers the SBOM of `root`; `dir` is the root's name as the user gave it, which the
/// document records.
pub fn build(root: &Root, dir: &Path) -> SbomFacts {
    let (mut inv, index) = Inventory::load_with_owners(root);
    let scan = elfscan::scan_root(root, &index, ScanOptions { read_owned: true });
    inv.add_embedded(scan.packages());

    // Components: packages merged by purl.
    let mut by_purl: HashMap<&str, usize> = HashMap::new();
    let mut components: Vec<(&Package, Vec<&Path>)> = Vec::new();
    let mut component_of: Vec<usize> = Vec::with_capacity(inv.packages.len());
    for p in &inv.packages {
        let c = *by_purl.entry(p.purl.as_str()).or_insert_with(|| {
            components.push((p, Vec::new()));
            components.len() - 1
        });
        if embedded(p) {
            components[c].1.push(&p.database);
        }
        component_of.push(c);
    }

    let mut edges: BTreeMap<(usize, usize), Edge> = BTreeMap::new();
    // Linkage: every edge of every resolution of every owned ELF file.
    let resolver = Resolver::new(root, Options::default(), PathBuf::from("/"));
    let owned: Vec<&Path> = scan
        .files
        .iter()
        .filter(|f| f.owned)
        .map(|f| f.path.as_path())
        .collect();
    let owner = |path: &Path| -> Option<usize> {
        index
            .owners_of_real(path)
            .first()
            .map(|id| component_of[id.index()])
    };
    let linked: Vec<(usize, usize, PathBuf, PathBuf)> = owned
        .par_iter()
        .flat_map_iter(|&input| {
            let mut out = Vec::new();
            let Ok(res) = resolver.resolve(input) else {
                return out;
            };
            let node = |k: usize| -> &Path {
                if k == 0 {
                    input
                } else {
                    &res.objects[k - 1].realpath
                }
            };
            for o in &res.objects {
                let Some(to) = owner(&o.realpath) else {
                    continue;
                };
                for &k in &o.needed_by {
                    if let Some(from) = owner(node(k))
                        && from != to
                    {
                        out.push((from, to, node(k).to_owned(), o.realpath.clone()));
                    }
                }
            }
            out
        })
        .collect();
    for (from, to, file, lib) in linked {
        let e = edges.entry((from, to)).or_default();
        // Keep the smallest example, so the output does not depend on thread timing.
        if e.linkage
            .as_ref()
            .is_none_or(|l| (&file, &lib) < (&l.0, &l.1))
        {
            e.linkage = Some((file, lib));
        }
    }

    // Declared: dependency names mapped to packages of the same manager (and, for embedded
    // packages, of the same file); dpkg architectures must match unless one side is `all`.
    let mut by_name: HashMap<(Manager, &str), Vec<PackageId>> = HashMap::new();
    for (i, p) in inv.packages.iter().enumerate() {
        by_name
            .entry((p.manager, p.name.as_str()))
            .or_default()
            .push(PackageId(i as u32));
    }
    for (i, p) in inv.packages.iter().enumerate() {
        let embedded = embedded(p);
        for dep in &p.depends {
            let Some(ids) = by_name.get(&(p.manager, dep.as_str())) else {
                continue;
            };
            let fits = |q: &Package| {
                if embedded {
                    q.database == p.database
                } else {
                    q.arch == p.arch || q.arch == "all" || p.arch == "all" || q.arch.is_empty()
                }
            };
            let mut targets: Vec<PackageId> = ids
                .iter()
                .copied()
                .filter(|&id| inv.get(id).is_some_and(fits))
                .collect();
            if targets.is_empty() && !embedded {
                targets = ids.clone();
            }
            for t in targets {
                let (from, to) = (component_of[i], component_of[t.index()]);
                if from != to {
                    edges.entry((from, to)).or_default().declared = true;
                }
            }
        }
    }

    let sbom = Sbom {
        root: dir.to_owned(),
        os: inv.distro.as_ref().map(|d| OperatingSystem {
            id: d.id.clone(),
            version_id: d.version_id.clone(),
            pretty_name: d.pretty_name.clone(),
        }),
        components: components
            .into_iter()
            .map(|(p, files)| Component {
                name: p.name.clone(),
                version: p.version.clone(),
                purl: p.purl.clone(),
                manager: p.manager.as_str().to_owned(),
                ecosystem: p.ecosystem.clone(),
                description: p.description.clone(),
                license: p.license.clone(),
                source_name: p.source_name.clone(),
                source_version: p.source_version.clone(),
                files: files.into_iter().map(Path::to_path_buf).collect(),
            })
            .collect(),
        edges,
    };
    SbomFacts {
        sbom,
        packages: inv.packages.len(),
        inventory_problems: inv.problems,
        scan_problems: scan.problems,
    }
}
