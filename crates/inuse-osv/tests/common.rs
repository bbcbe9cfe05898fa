//! Helpers shared by the integration tests of inuse-osv (included with `mod common;`).

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use inuse_osv::import::{Importer, Limits, Report};
use inuse_osv::{Matches, Store, match_inventory};
use inuse_pkgdb::Inventory;
use inuse_root::Root;
use inuse_testkit::Skip;

/// The shared reference data (with its `osv/` folder), or a [`Skip`] for missing data (a
/// failure under `CI=true`).
pub fn testdata() -> Result<PathBuf, Skip> {
    inuse_testkit::shared_data("osv")?;
    inuse_testkit::testdata_dir()
}

/// Writes `content` at `rel` below `root`, creating directories.
pub fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, content).expect("write");
}

/// A root with `os-release` and a dpkg status file listing `(package, version, source)`;
/// `source` is `NAME` or `NAME (VERSION)` as dpkg writes it, empty for none.
pub fn dpkg_root(os_release: &str, packages: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "etc/os-release", os_release.as_bytes());
    let mut status = String::new();
    for (name, version, source) in packages {
        status.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\n"
        ));
        if !source.is_empty() {
            status.push_str(&format!("Source: {source}\n"));
        }
        status.push_str(&format!(
            "Version: {version}\nMaintainer: test <t@example.invalid>\nDescription: test\n\n"
        ));
    }
    write(dir.path(), "var/lib/dpkg/status", status.as_bytes());
    dir
}

/// A new store in `dir` with `inputs` imported in one transaction.
pub fn store_with(dir: &Path, inputs: &[&Path]) -> (Store, Report) {
    let mut store = Store::open(&dir.join("vulns.sqlite")).expect("store");
    let mut w = store.writer().expect("writer");
    let mut imp = Importer::new(&mut w, Limits::default());
    for i in inputs {
        imp.path(i).expect("import");
    }
    let report = std::mem::take(&mut imp.report);
    w.commit().expect("commit");
    (store, report)
}

/// Reads the inventory of `root` and matches it.
pub fn matches(store: &Store, root: &Path) -> (Inventory, Matches) {
    let root = Root::open(root).expect("root");
    let inv = Inventory::load(&root);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let m = match_inventory(store, &inv).expect("match");
    (inv, m)
}

/// `(package, vulnerability id)` of every finding, sorted.
pub fn pairs(m: &Matches) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = m
        .findings
        .iter()
        .map(|f| (f.package.name.clone(), f.vulnerability.id.clone()))
        .collect();
    v.sort();
    v
}
