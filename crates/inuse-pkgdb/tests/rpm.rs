//! rpm databases of all three backends: real ones from the shared test data against what
//! Debian's `rpm --dbpath` reads from them (packages and every file's owners), and ones
//! written here by the real `rpmbuild` and `rpm`. NDB has no backend in Debian's rpm 4.18:
//! `tests/peers.rs` holds that case against go-rpmdb's assertion.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use inuse_pkgdb::{Inventory, Manager, Package};
use inuse_root::Root;
use inuse_testkit::{Skip, Verdict, or_skip, require_tool, rpm_query, rpm_query_all, testdata_dir};

/// A temporary root holding `db` at `rel`.
fn root_with(db: &Path, rel: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join(rel);
    fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    fs::copy(db, &dest).expect("copy db");
    dir
}

/// `NAME EPOCH VERSION RELEASE ARCH SOURCERPM` as `rpm -qa` prints it, from our package.
fn qa_line(p: &Package) -> String {
    let (epoch, vr) = match p.version.split_once(':') {
        Some((e, vr)) => (e, vr),
        None => ("(none)", p.version.as_str()),
    };
    let (v, r) = vr.rsplit_once('-').expect("version-release");
    let src_vr = p
        .source_version
        .split_once(':')
        .map_or(p.source_version.as_str(), |(_, vr)| vr);
    let arch = if p.arch.is_empty() { "(none)" } else { &p.arch };
    format!(
        "{}\t{epoch}\t{v}\t{r}\t{arch}\t{}-{src_vr}.src.rpm",
        p.name, p.source_name
    )
}

/// Loads `db` placed at `rel` in a new root and compares it with `rpm --dbpath -qa` over the
/// same file (named as `rel` names it): the same package set, no problem.
fn check_against_rpm(db: &Path, rel: &str) -> Result<(tempfile::TempDir, usize), Skip> {
    let name = Path::new(rel)
        .file_name()
        .expect("name")
        .to_str()
        .expect("utf-8");
    let want = match rpm_query_all(db, name)? {
        Verdict::Listed { rows, .. } => rows,
        Verdict::Refused(why) => panic!("rpm refuses {}: {why}", db.display()),
    };
    let root_dir = root_with(db, rel);
    let root = Root::open(root_dir.path()).expect("root");
    let inv = Inventory::load(&root);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let got: BTreeSet<String> = inv.packages.iter().map(qa_line).collect();
    assert_eq!(
        got.difference(&want).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "unexpected"
    );
    assert_eq!(
        want.difference(&got).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "missing"
    );
    assert!(inv.packages.iter().all(|p| p.manager == Manager::Rpm));
    Ok((root_dir, want.len()))
}

/// `rpm -qa` with every package's file names: path -> names of the packages listing it.
fn rpm_owners(db: &Path, name: &str) -> Result<BTreeMap<String, BTreeSet<String>>, Skip> {
    let rows = match rpm_query(db, name, "[%{=NAME}\\t%{FILENAMES}\\n]")? {
        Verdict::Listed { rows, .. } => rows,
        Verdict::Refused(why) => panic!("rpm refuses {}: {why}", db.display()),
    };
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        let (pkg, path) = row.split_once('\t').expect("NAME\tPATH");
        if path != "(none)" {
            owners
                .entry(path.to_owned())
                .or_default()
                .insert(pkg.to_owned());
        }
    }
    Ok(owners)
}

/// Every path any package lists, owned by exactly the packages `rpm -ql` gives it.
fn owners_agree_with_rpm(root_dir: &Path, db: &Path, name: &str) -> Result<usize, Skip> {
    let want = rpm_owners(db, name)?;
    let root = Root::open(root_dir).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    let mut wrong = Vec::new();
    for (path, pkgs) in &want {
        let got: BTreeSet<String> = index
            .owners(Path::new(path))
            .iter()
            .map(|&id| inv.packages[id.index()].name.clone())
            .collect();
        if &got != pkgs {
            wrong.push((path, got, pkgs));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} paths (path, ours, rpm's): {:#?}",
        wrong.len(),
        want.len(),
        &wrong[..wrong.len().min(20)]
    );
    Ok(want.len())
}

#[test]
fn sqlite_cbl_mariner_matches_rpm_qa() {
    let data = or_skip!(testdata_dir());
    let db = data.join("rpmdb/cbl-mariner-2.0/rpmdb.sqlite");
    let (root_dir, n) = or_skip!(check_against_rpm(&db, "var/lib/rpm/rpmdb.sqlite"));
    assert_eq!(n, 129);
    let paths = or_skip!(owners_agree_with_rpm(root_dir.path(), &db, "rpmdb.sqlite"));
    assert!(paths > 1000, "{paths} paths");
    eprintln!("cbl-mariner: {n} packages, owners of {paths} paths as rpm -ql lists them");
}

#[test]
fn bdb_libuuid_matches_rpm_qa() {
    let data = or_skip!(testdata_dir());
    let db = data.join("rpmdb/libuuid/Packages");
    let (root_dir, n) = or_skip!(check_against_rpm(&db, "var/lib/rpm/Packages"));
    assert_eq!(n, 1);
    let paths = or_skip!(owners_agree_with_rpm(root_dir.path(), &db, "Packages"));
    assert!(paths >= 7, "{paths} paths");
    let root = Root::open(root_dir.path()).expect("root");
    let inv = Inventory::load(&root);
    let license = match or_skip!(rpm_query(&db, "Packages", "%{LICENSE}\\n")) {
        Verdict::Listed { rows, .. } => rows,
        Verdict::Refused(why) => panic!("rpm refuses libuuid: {why}"),
    };
    assert_eq!(
        [inv.packages[0].license.clone().unwrap_or_default()],
        *license
    );
}

#[test]
fn ndb_sle15_bci_is_consistent() {
    let data = or_skip!(testdata_dir());
    let root_dir = root_with(
        &data.join("rpmdb/sle15-bci/Packages.db"),
        "usr/lib/sysimage/rpm/Packages.db",
    );
    let root = Root::open(root_dir.path()).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    assert!(inv.packages.len() > 10, "{} packages", inv.packages.len());
    for p in &inv.packages {
        assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
        assert!(
            !p.arch.is_empty() || p.name == "gpg-pubkey",
            "{} has no arch",
            p.name
        );
        assert!(p.purl.starts_with("pkg:rpm/"), "{}", p.purl);
    }
    let mut with_files = vec![false; inv.packages.len()];
    for (_, owners) in index.iter() {
        for o in owners {
            with_files[o.index()] = true;
        }
    }
    let n_files = with_files.iter().filter(|&&b| b).count();
    assert!(
        n_files * 10 >= inv.packages.len() * 8,
        "only {n_files} of {} packages have files",
        inv.packages.len()
    );
    let bash = inv.packages.iter().position(|p| p.name == "bash");
    if let Some(bash) = bash {
        assert!(
            index
                .owners(Path::new("/usr/bin/bash"))
                .iter()
                .any(|o| o.index() == bash)
        );
    }
    eprintln!(
        "sle15-bci: {} packages, {n_files} with files, {} paths",
        inv.packages.len(),
        index.len()
    );
}

const SPEC: &str = r#"%define debug_package %{nil}
Name: @NAME@
@EPOCH@
Version: @VERSION@
Release: @RELEASE@
Summary: inuse test package
License: @LICENSE@
BuildArch: @ARCH@
Requires: coreutils
%description
test
%install
mkdir -p %{buildroot}/lib/@NAME@ %{buildroot}/etc
echo a > %{buildroot}/lib/@NAME@/data.txt
echo b > %{buildroot}/etc/@NAME@.conf
%files
/lib/@NAME@/data.txt
%config /etc/@NAME@.conf
"#;

/// Builds the packages with `rpmbuild` and installs them (database only) into a new root.
fn rpm_root(pkgs: &[(&str, Option<u32>, &str, &str, &str)]) -> tempfile::TempDir {
    let work = tempfile::tempdir().expect("tempdir");
    let root = tempfile::tempdir().expect("tempdir");
    let mut rpms = Vec::new();
    for (name, epoch, version, release, arch) in pkgs {
        let spec = SPEC
            .replace("@NAME@", name)
            .replace(
                "@EPOCH@",
                &epoch.map(|e| format!("Epoch: {e}")).unwrap_or_default(),
            )
            .replace("@VERSION@", version)
            .replace("@RELEASE@", release)
            .replace("@ARCH@", arch)
            .replace("@LICENSE@", "MIT and (BSD or GPL+)");
        let spec_path = work.path().join(format!("{name}.spec"));
        fs::write(&spec_path, spec).expect("spec");
        let out = Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", work.path().join("top").display()))
            .args(["--target", arch, "-bb"])
            .arg(&spec_path)
            .output()
            .expect("rpmbuild");
        assert!(
            out.status.success(),
            "rpmbuild: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for entry in walk(&work.path().join("top/RPMS")) {
        rpms.push(entry);
    }
    assert_eq!(rpms.len(), pkgs.len());
    let out = Command::new("rpm")
        .arg(format!("--root={}", root.path().display()))
        .args([
            "--dbpath=/var/lib/rpm",
            "-i",
            "--nodeps",
            "--justdb",
            "--noscripts",
            "--ignorearch",
        ])
        .args(&rpms)
        .output()
        .expect("rpm -i");
    assert!(
        out.status.success(),
        "rpm -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    root
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn rpm_qa(root: &Path) -> BTreeSet<String> {
    let out = Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args([
            "--dbpath=/var/lib/rpm",
            "-qa",
            "--qf",
            "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n",
        ])
        .output()
        .expect("rpm -qa");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Names, sizes and modification times of everything below `dir`.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out: Vec<_> = walk(dir)
        .into_iter()
        .map(|p| {
            let m = fs::metadata(&p).expect("metadata");
            (p, m.len(), m.modified().expect("mtime"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn rpmbuild_packages_match_rpm_qa_and_root_is_untouched() {
    or_skip!(require_tool("rpmbuild"));
    or_skip!(require_tool("rpm"));
    let root_dir = rpm_root(&[
        ("inuse-tilde", Some(3), "1.0~rc1^git2", "4.fc99", "noarch"),
        ("inuse-plain", None, "2.5", "1", "x86_64"),
        ("inuse-zero", Some(0), "0.1+x", "0.1~beta", "noarch"),
    ]);
    // A merged-/usr root: the packages list /lib/..., the files live in /usr/lib/...
    fs::create_dir_all(root_dir.path().join("usr/lib/inuse-plain")).expect("mkdir");
    std::os::unix::fs::symlink("usr/lib", root_dir.path().join("lib")).expect("symlink");

    let want = rpm_qa(root_dir.path());
    assert_eq!(want.len(), 3, "{want:?}");
    let before = snapshot(root_dir.path());

    let root = Root::open(root_dir.path()).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let got: BTreeSet<String> = inv.packages.iter().map(qa_line).collect();
    assert_eq!(got, want);

    let tilde = inv
        .packages
        .iter()
        .find(|p| p.name == "inuse-tilde")
        .expect("tilde");
    assert_eq!(tilde.version, "3:1.0~rc1^git2-4.fc99");
    assert_eq!(
        tilde.purl,
        "pkg:rpm/inuse-tilde@1.0~rc1%5Egit2-4.fc99?arch=noarch&epoch=3"
    );
    assert_eq!(tilde.license.as_deref(), Some("MIT and (BSD or GPL+)"));
    assert_eq!(tilde.depends, ["coreutils"]);
    let zero = inv
        .packages
        .iter()
        .find(|p| p.name == "inuse-zero")
        .expect("zero");
    assert_eq!(zero.version, "0:0.1+x-0.1~beta");

    // Owners through the /lib symlink and through the real path agree.
    let plain = inv
        .packages
        .iter()
        .position(|p| p.name == "inuse-plain")
        .expect("plain");
    for path in [
        "/lib/inuse-plain/data.txt",
        "/usr/lib/inuse-plain/data.txt",
        "/usr/lib/../lib/inuse-plain/./data.txt",
    ] {
        let owners = index.owners(Path::new(path));
        assert_eq!(
            owners.iter().map(|o| o.index()).collect::<Vec<_>>(),
            [plain],
            "{path}"
        );
    }
    assert!(
        index
            .owners(Path::new("/etc/inuse-zero.conf"))
            .iter()
            .any(|o| inv.packages[o.index()].name == "inuse-zero")
    );
    assert!(index.owners(Path::new("/etc/passwd")).is_empty());

    assert_eq!(before, snapshot(root_dir.path()), "the root was modified");
}

#[test]
fn sqlite_with_pending_wal_is_read_with_it() {
    or_skip!(require_tool("rpmbuild"));
    or_skip!(require_tool("rpm"));
    let root_dir = rpm_root(&[
        ("inuse-a", None, "1", "1", "noarch"),
        ("inuse-b", None, "1", "1", "noarch"),
    ]);
    let db = root_dir.path().join("var/lib/rpm/rpmdb.sqlite");
    // Another process (rpm, here us) has deleted a package; the change is only in the -wal.
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "foreign_keys", "OFF")
        .expect("no foreign keys");
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .expect("no checkpoint");
    conn.execute(
        "DELETE FROM Packages WHERE hnum = (SELECT max(hnum) FROM Packages)",
        [],
    )
    .expect("delete");
    let wal = fs::metadata(root_dir.path().join("var/lib/rpm/rpmdb.sqlite-wal")).expect("wal");
    assert!(wal.len() > 0);

    let root = Root::open(root_dir.path()).expect("root");
    let inv = Inventory::load(&root);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    assert_eq!(inv.packages.len(), 1, "the -wal's deletion is seen");
    drop(conn);
}
