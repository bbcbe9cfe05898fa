//! The running kernel against the installed kernel packages.
//!
//! The kernel is the one piece of loaded code that no `/proc/PID/maps` shows. The running
//! release (`uname -r`, read from `/proc/sys/kernel/osrelease`) is "loaded"; the releases
//! installed in the root (`/lib/modules/RELEASE`, `/boot/vmlinuz-RELEASE`, attributed to their
//! package through the package database) are "installed", and an installed release newer than
//! the running one means an upgrade is waiting for a reboot: the running, older, kernel is the
//! stale one.
//!
//! Releases are ordered with dpkg's version algorithm, which orders the usual shapes
//! (`6.1.0-18-amd64` < `6.1.0-21-amd64`, `5.14.0-362.el9` < `5.14.0-427.el9`) correctly.

use std::cmp::Ordering;
use std::path::Path;

use inuse_pkgdb::{Inventory, OwnerIndex};
use inuse_root::{FileKind, Root};
use serde::Serialize;

use inuse_model::PackageRef;

/// One installed kernel release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledKernel {
    /// The release (`uname -r` of that kernel).
    pub release: String,
    /// The package that ships it, when the database says so.
    pub package: Option<PackageRef>,
    /// Whether it is the running kernel.
    pub loaded: bool,
}

/// The running kernel and what is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelReport {
    /// The running release.
    pub running: String,
    /// The package of the running release, if installed from one.
    pub package: Option<PackageRef>,
    /// Installed releases, oldest first.
    pub installed: Vec<InstalledKernel>,
    /// Whether a release newer than the running one is installed.
    pub reboot_pending: bool,
}

/// The running release.
pub fn running_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn order(a: &str, b: &str) -> Ordering {
    inuse_version::compare(inuse_version::Scheme::Deb, a, b).unwrap_or_else(|_| a.cmp(b))
}

/// Compares the running kernel with the releases installed in `root`.
pub fn report(root: &Root, inventory: &Inventory, owners: &OwnerIndex) -> Option<KernelReport> {
    let running = running_release()?;
    let mut releases: Vec<String> = Vec::new();
    for dir in ["/lib/modules", "/usr/lib/modules"] {
        if let Ok(entries) = root.read_dir(Path::new(dir)) {
            releases.extend(
                entries
                    .into_iter()
                    .filter(|(_, kind)| *kind == FileKind::Dir)
                    .map(|(name, _)| name.to_string_lossy().into_owned()),
            );
        }
    }
    if let Ok(entries) = root.read_dir(Path::new("/boot")) {
        releases.extend(
            entries
                .into_iter()
                .filter_map(|(name, _)| name.to_str()?.strip_prefix("vmlinuz-").map(str::to_owned)),
        );
    }
    releases.sort_by(|a, b| order(a, b));
    releases.dedup();
    let package_of = |release: &str| {
        [
            format!("/boot/vmlinuz-{release}"),
            format!("/lib/modules/{release}/modules.order"),
            format!("/lib/modules/{release}/modules.builtin"),
        ]
        .iter()
        .find_map(|p| owners.owner(Path::new(p)))
        .and_then(|id| inventory.get(id))
        .map(|p| p.identity.clone())
    };
    let installed: Vec<InstalledKernel> = releases
        .iter()
        .map(|r| InstalledKernel {
            release: r.clone(),
            package: package_of(r),
            loaded: *r == running,
        })
        .collect();
    let reboot_pending = installed
        .iter()
        .any(|k| k.package.is_some() && order(&k.release, &running) == Ordering::Greater);
    Some(KernelReport {
        package: installed
            .iter()
            .find(|k| k.loaded)
            .and_then(|k| k.package.clone()),
        running,
        installed,
        reboot_pending,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn release_order() {
        assert_eq!(order("6.1.0-18-amd64", "6.1.0-21-amd64"), Ordering::Less);
        assert_eq!(order("5.14.0-427.el9", "5.14.0-362.el9"), Ordering::Greater);
        assert_eq!(order("6.10.0", "6.9.0"), Ordering::Greater);
    }
}
