//! Installed packages of a root filesystem, and which package owns which file.
//!
//! inuse needs two facts from the package managers of a root (the host, an unpacked image,
//! `/proc/PID/root`): *what is installed* (name, version, source package, ecosystem, purl, so
//! vulnerability data can be matched) and *who owns a file* (so a mapped or linked library can be
//! attributed to a package). Both are read straight from the databases (dpkg, rpm in its three
//! backends, apk), never by running the package manager: the root may belong to another
//! distribution, another architecture, or be hostile.
//!
//! Layout: one module per database format ([`dpkg`], [`rpm`], [`apk`]), each exposing a
//! zero-copy parser of its raw format (fuzzed) and a loader that turns records into the shared
//! [`Package`] model; [`osrelease`] names the distribution and its OSV ecosystem; [`purl`] builds
//! package URLs; [`owner`] builds the file -> package index. Packages no database knows are
//! read from the ELF files themselves ([`embedded`]: Go build information, `cargo auditable`,
//! `.note.package`) by one walk of the root ([`elfscan`]), which also finds unowned ELF files.
//!
//! Every read of the analysed root goes through [`inuse_root::Root`], so nothing outside the root
//! is touched and nothing is written into it. Loading never fails as a whole: a corrupt record
//! becomes a [`Problem`] naming the file and place, and the rest of the inventory is produced.

pub mod apk;
pub mod dpkg;
pub mod elfscan;
pub mod embedded;
mod error;
pub mod osrelease;
pub mod owner;
pub mod purl;
pub mod rpm;

use std::path::{Path, PathBuf};

use inuse_root::Root;
use serde::Serialize;

pub use error::Error;
pub use osrelease::Distro;
pub use owner::OwnerIndex;

pub use inuse_model::{Manager, PackageRef};

/// The position of a package in [`Inventory::packages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PackageId(pub u32);

impl PackageId {
    /// The index into [`Inventory::packages`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One installed package: its identity ([`PackageRef`], reachable through `Deref`) and what its
/// database says besides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Who it is: manager, name, version, arch, source, ecosystem, purl (the shared
    /// vocabulary's package identity; its fields come first in the JSON).
    #[serde(flatten)]
    pub identity: PackageRef,
    /// Declared licence (rpm, apk); dpkg does not record one.
    pub license: Option<String>,
    /// Names of declared dependencies (alternatives included, versions and arch qualifiers
    /// dropped), in declaration order without duplicates.
    pub depends: Vec<String>,
    /// Installed size in bytes, as the database declares it.
    pub installed_size: Option<u64>,
    /// Maintainer (dpkg, apk) or vendor (rpm).
    pub maintainer: Option<String>,
    /// First line of the description (dpkg, apk) or the summary (rpm).
    pub description: Option<String>,
    /// dpkg's `Status` when it is not plain `install ok installed` (e.g. `hold ok installed`,
    /// `install ok unpacked`): the files are on disk but something is unusual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The database file the package was read from (in-root path); for an embedded package
    /// ([`Manager::Go`], [`Manager::Cargo`], [`Manager::ElfNote`]) the ELF file carrying it.
    pub database: PathBuf,
}

// A package *is* its identity plus database details: `package.name` reads as it always did,
// and the identity's fields are declared once, in `inuse-model`.
impl std::ops::Deref for Package {
    type Target = PackageRef;

    fn deref(&self) -> &PackageRef {
        &self.identity
    }
}

/// A package that the database knows but whose files are not (fully) on disk: dpkg's
/// `config-files`, `half-installed` and `not-installed` states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotInstalled {
    /// Package name.
    pub name: String,
    /// Version, when recorded.
    pub version: String,
    /// Architecture, when recorded.
    pub arch: String,
    /// The raw status (`deinstall ok config-files`).
    pub status: String,
    /// The package manager.
    pub manager: Manager,
}

/// Something in a database that could not be read; the rest of the inventory is still valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The in-root file concerned.
    pub file: PathBuf,
    /// Where in the file (`line 12`, `page 7`, `header 42`), when known.
    pub place: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{}: {}: {}", self.file.display(), place, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The installed packages of a root.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// The distribution, when `os-release` names one.
    pub distro: Option<Distro>,
    /// Installed packages, sorted by manager, name, arch and version; [`PackageId`] indexes it.
    pub packages: Vec<Package>,
    /// Packages the database lists in a not-installed state.
    pub not_installed: Vec<NotInstalled>,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

impl Inventory {
    /// Reads the package databases of `root` (no file lists).
    pub fn load(root: &Root) -> Inventory {
        load_impl(root, false).0
    }

    /// Reads the package databases of `root` together with every package's file list, and
    /// builds the file -> package index. Every database file is read once.
    pub fn load_with_owners(root: &Root) -> (Inventory, OwnerIndex) {
        let (mut inventory, collected) = load_impl(root, true);
        let (index, problem) = OwnerIndex::build(root, collected);
        if let Some(e) = problem {
            inventory.problems.push(Problem {
                file: root.dir().to_owned(),
                place: None,
                message: format!(
                    "cannot duplicate the root's descriptor ({e}): files are attributed \
                     only under the spelling their package lists"
                ),
            });
        }
        (inventory, index)
    }

    /// Appends packages found embedded in ELF files ([`elfscan::ElfScan::packages`]). They
    /// sort after every database's packages, so existing [`PackageId`]s (and an
    /// [`OwnerIndex`] built before) stay valid and the order invariant holds.
    pub fn add_embedded(&mut self, mut packages: Vec<Package>) {
        packages.sort_by(|a, b| {
            (a.manager, &a.name, &a.arch, &a.version, &a.database).cmp(&(
                b.manager,
                &b.name,
                &b.arch,
                &b.version,
                &b.database,
            ))
        });
        self.packages.extend(packages);
    }

    /// The package with this id.
    pub fn get(&self, id: PackageId) -> Option<&Package> {
        self.packages.get(id.index())
    }
}

/// Where [`Inventory::load`] looks for a package database inside a root: dpkg's `status` and
/// distroless `status.d`, rpm's three backends in both of its directories, apk's `installed`.
/// Named in the warning a root without any of them gets.
pub const DATABASE_PATHS: [&str; 9] = [
    "/var/lib/dpkg/status",
    "/var/lib/dpkg/status.d",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/Packages",
    "/var/lib/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages.db",
    "/var/lib/rpm/Packages",
    "/lib/apk/db/installed",
];

/// Whether `root` has anything at one of the [`DATABASE_PATHS`]. When it has not, an empty
/// inventory is the truth about the root, not a failure: a scratch or distroless image with
/// one Go program has no database, and the packages embedded in its programs are its
/// inventory. Callers say so rather than print an empty list without a word.
pub fn has_database(root: &Root) -> bool {
    DATABASE_PATHS
        .iter()
        .any(|p| root.stat(Path::new(p)).is_ok())
}

/// A package's file list as stored by its database: paths separated by `sep`, copied once out
/// of the database; or already packed by the loader that read it ([`owner::Packer`]).
#[derive(Debug, Default)]
pub(crate) struct FileList {
    pub(crate) buf: Vec<u8>,
    pub(crate) sep: u8,
    /// The list packed for the index, when the loader did it (`buf` is then empty).
    pub(crate) packed: Option<owner::PackedList>,
}

impl FileList {
    #[cfg(test)]
    pub(crate) fn paths(&self) -> impl Iterator<Item = &[u8]> {
        self.buf
            .split(move |&b| b == self.sep)
            .map(|p| p.strip_suffix(b"\r").unwrap_or(p))
            .filter(|p| !p.is_empty())
    }
}

/// What the loaders hand to the index builder.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// File lists, parallel to [`Inventory::packages`] after sorting.
    pub(crate) files: Vec<FileList>,
    /// dpkg diversions: a package's listed path `from` really lies at `to`, unless the package
    /// is the diverting one.
    pub(crate) diversions: Vec<dpkg::Diversion>,
    /// Managers of the packages, parallel to `files`.
    pub(crate) managers: Vec<Manager>,
    /// Names of the packages, parallel to `files` (diversions name packages).
    pub(crate) names: Vec<String>,
}

/// Output of one backend before sorting.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub(crate) want_files: bool,
    pub(crate) packages: Vec<(Package, FileList)>,
    pub(crate) not_installed: Vec<NotInstalled>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) diversions: Vec<dpkg::Diversion>,
}

impl Sink {
    pub(crate) fn problem(&mut self, file: &Path, place: Option<String>, message: impl ToString) {
        self.problems.push(Problem {
            file: file.to_owned(),
            place,
            message: message.to_string(),
        });
    }
}

fn load_impl(root: &Root, want_files: bool) -> (Inventory, Collected) {
    let mut sink = Sink {
        want_files,
        ..Sink::default()
    };
    let distro = osrelease::read(root, &mut sink);
    dpkg::load(root, distro.as_ref(), &mut sink);
    rpm::load(root, distro.as_ref(), &mut sink);
    apk::load(root, distro.as_ref(), &mut sink);

    let mut packages = sink.packages;
    packages.sort_by(|(a, _), (b, _)| {
        (a.manager, &a.name, &a.arch, &a.version).cmp(&(b.manager, &b.name, &b.arch, &b.version))
    });
    let mut collected = Collected {
        diversions: sink.diversions,
        ..Collected::default()
    };
    let mut out = Vec::with_capacity(packages.len());
    for (package, files) in packages {
        collected.managers.push(package.manager);
        collected.names.push(package.name.clone());
        collected.files.push(files);
        out.push(package);
    }
    let inventory = Inventory {
        distro,
        packages: out,
        not_installed: sink.not_installed,
        problems: sink.problems,
    };
    (inventory, collected)
}

/// Keeps the first occurrence of every name, in order.
pub(crate) fn dedup_names(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|n| !n.is_empty() && seen.insert(n.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::DATABASE_PATHS;

    /// The list the warning names is the list the loaders read.
    #[test]
    fn database_paths_are_where_the_loaders_look() {
        let mut want = vec![
            format!("{}/status", crate::dpkg::DPKG),
            format!("{}/status.d", crate::dpkg::DPKG),
        ];
        for dir in crate::rpm::DIRS {
            for (file, _) in crate::rpm::FILES {
                want.push(format!("{dir}/{file}"));
            }
        }
        want.push(crate::apk::INSTALLED.to_owned());
        assert_eq!(DATABASE_PATHS.to_vec(), want);
    }
}
