//! The complete AlmaLinux OSV database, imported and matched in AlmaLinux 9 roots whose rpm
//! database is written by the real `rpmbuild` and `rpm`, with packages versioned just below, at
//! and just above the fixed versions of real advisories. The expected findings come from an
//! independent evaluation: a python3 script using rpm's own `labelCompare` over the same
//! records in the zip.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{matches, store_with, testdata, write};
use inuse_testkit::{Skip, or_skip};

/// (package, advisory) pairs whose fixed version (read from the zip) anchors the versions
/// installed: an epoch, `~`-free plain releases, an `.alma.` release, a library subpackage.
const PIVOTS: [(&str, &str); 5] = [
    ("openssl-libs", "ALSA-2023:3722"),
    ("libcurl", "ALSA-2023:2478"),
    ("openssh-server", "ALSA-2024:4312"),
    ("xz-libs", "ALSA-2022:4940"),
    ("glibc", "ALSA-2025:4244"),
];

const SPEC: &str = "%define debug_package %{nil}
Name: @NAME@
@EPOCH@
Version: @VERSION@
Release: @RELEASE@
Summary: inuse test package
License: MIT
BuildArch: x86_64
%description
test
%install
mkdir -p %{buildroot}/usr/share/inuse-test/@NAME@
echo x > %{buildroot}/usr/share/inuse-test/@NAME@/f
%files
/usr/share/inuse-test/@NAME@/f
";

/// The independent evaluation: for each installed `name` at `E:V-R`, every record of the zip
/// whose `ecosystem` entry for `name` affects it, by rpm.labelCompare and the OSV rules.
const ORACLE: &str = r#"
import sys, json, zipfile, rpm
from functools import cmp_to_key
zpath, eco, pkgs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def evr(s):
    e, v = ("0", s)
    head, sep, tail = s.partition(":")
    if sep and head.isdigit():
        e, v = head, tail
    v, _, r = v.rpartition("-")
    return (e, v, r)
def cmp(a, b):
    return rpm.labelCompare(evr(a), evr(b))
installed = {n: v for n, v in pkgs}
out = set()
z = zipfile.ZipFile(zpath)
for name in z.namelist():
    rec = json.loads(z.read(name))
    if rec.get("withdrawn"):
        continue
    for a in rec.get("affected", []):
        p = a.get("package", {})
        if p.get("ecosystem") != eco or p.get("name") not in installed:
            continue
        v = installed[p["name"]]
        hit = any(x == v or cmp(v, x) == 0 for x in a.get("versions", []))
        for r in a.get("ranges", []):
            if r["type"] != "ECOSYSTEM":
                continue
            def key(e):
                (k, x), = e.items()
                return (k, x)
            evs = [key(e) for e in r["events"]]
            def order(p, q):
                if p[0] == "introduced" and p[1] == "0": return -1
                if q[0] == "introduced" and q[1] == "0": return 1
                return cmp(p[1], q[1])
            evs.sort(key=cmp_to_key(order))
            aff = False
            for k, x in evs:
                if k == "introduced" and (x == "0" or cmp(v, x) >= 0): aff = True
                elif k == "fixed" and cmp(v, x) >= 0: aff = False
                elif k == "last_affected" and cmp(v, x) > 0: aff = False
            hit = hit or aff
        if hit:
            out.add((p["name"], rec["id"]))
print(json.dumps(sorted(out)))
"#;

fn have_oracle() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import rpm"])
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("rpmbuild").arg("--version").output().is_ok()
        && Command::new("rpm").arg("--version").output().is_ok()
}

/// The fixed version of `package` in `advisory` for AlmaLinux:9, read from the zip.
fn fixed_in(zip_path: &Path, advisory: &str, package: &str) -> String {
    let mut z = zip::ZipArchive::new(fs::File::open(zip_path).expect("zip")).expect("zip");
    let mut entry = z.by_name(&format!("{advisory}.json")).expect(advisory);
    let mut text = String::new();
    entry.read_to_string(&mut text).expect("read");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    for a in v["affected"].as_array().expect("affected") {
        if a["package"]["ecosystem"] == "AlmaLinux:9" && a["package"]["name"] == package {
            for e in a["ranges"][0]["events"].as_array().expect("events") {
                if let Some(f) = e["fixed"].as_str() {
                    return f.to_owned();
                }
            }
        }
    }
    panic!("{advisory} has no AlmaLinux:9 fix for {package}");
}

/// Splits `[E:]V-R`.
fn split_evr(s: &str) -> (Option<&str>, &str, &str) {
    let (e, vr) = match s.split_once(':') {
        Some((e, vr)) if e.bytes().all(|b| b.is_ascii_digit()) => (Some(e), vr),
        _ => (None, s),
    };
    let (v, r) = vr.rsplit_once('-').expect("V-R");
    (e, v, r)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rpm") {
            out.push(p);
        }
    }
}

/// An AlmaLinux 9 root whose rpm database lists `(name, E:V-R)`, written by rpm itself.
fn alma_root(pkgs: &[(String, String)]) -> tempfile::TempDir {
    let work = tempfile::tempdir().expect("tempdir");
    let root = tempfile::tempdir().expect("tempdir");
    write(
        root.path(),
        "etc/os-release",
        b"NAME=\"AlmaLinux\"\nVERSION=\"9.4 (Seafoam Ocelot)\"\nID=\"almalinux\"\nVERSION_ID=\"9.4\"\n",
    );
    for (name, evr) in pkgs {
        let (epoch, version, release) = split_evr(evr);
        let spec = SPEC
            .replace("@NAME@", name)
            .replace(
                "@EPOCH@",
                &epoch.map(|e| format!("Epoch: {e}")).unwrap_or_default(),
            )
            .replace("@VERSION@", version)
            .replace("@RELEASE@", release);
        let path = work.path().join(format!("{name}.spec"));
        fs::write(&path, spec).expect("spec");
        let out = Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", work.path().join("top").display()))
            .args(["--target", "x86_64", "-bb"])
            .arg(&path)
            .output()
            .expect("rpmbuild");
        assert!(
            out.status.success(),
            "rpmbuild {name} {evr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut rpms = Vec::new();
    walk(&work.path().join("top/RPMS"), &mut rpms);
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
            "--ignoreos",
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

fn oracle(zip: &Path, eco: &str, pkgs: &[(String, String)]) -> BTreeSet<(String, String)> {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", ORACLE])
        .arg(zip)
        .arg(eco)
        .arg(serde_json::to_string(pkgs).expect("json"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pairs: Vec<(String, String)> = serde_json::from_slice(&out.stdout).expect("oracle json");
    pairs.into_iter().collect()
}

#[test]
fn almalinux_complete_database_against_rpm_oracle() {
    let data = or_skip!(testdata());
    let zip = data.join("osv/AlmaLinux-all.zip");
    let entries = zip::ZipArchive::new(fs::File::open(&zip).expect("zip"))
        .expect("zip")
        .file_names()
        .filter(|n| n.ends_with(".json"))
        .count();
    let db = tempfile::tempdir().expect("tempdir");
    let (store, report) = store_with(db.path(), &[&zip]);
    assert!(
        report.rejected.is_empty(),
        "{:?}",
        &report.rejected[..3.min(report.rejected.len())]
    );
    assert_eq!(report.records as usize, entries);
    assert_eq!(report.added as usize, entries);
    assert_eq!(entries, 5637, "the shared README's count");
    // Idempotent: the same archive again changes nothing.
    drop(store);
    let (store, again) = store_with(db.path(), &[&zip]);
    assert_eq!(
        (again.added, again.replaced, again.unchanged),
        (0, 0, entries as u64)
    );

    if !have_oracle() {
        // The archive checks above ran; the rpm-built roots below need the oracle.
        Skip::new("almalinux rpm roots: rpm, rpmbuild or python3-rpm missing").report();
        return;
    }
    for (shift, what) in [("~", "below"), ("", "at"), (".1", "above")] {
        let pkgs: Vec<(String, String)> = PIVOTS
            .iter()
            .map(|(name, adv)| {
                let fixed = fixed_in(&zip, adv, name);
                ((*name).to_owned(), format!("{fixed}{shift}"))
            })
            .collect();
        let root = alma_root(&pkgs);
        let (inv, m) = matches(&store, root.path());
        // inuse-pkgdb reads what rpm wrote.
        let got: BTreeSet<(String, String)> = inv
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert_eq!(got, pkgs.iter().cloned().collect(), "{what}: inventory");
        assert!(
            inv.packages
                .iter()
                .all(|p| p.ecosystem.as_deref() == Some("AlmaLinux:9"))
        );
        let ours: BTreeSet<(String, String)> = m
            .findings
            .iter()
            .flat_map(|f| {
                f.records
                    .iter()
                    .map(|r| (f.package.name.clone(), r.clone()))
            })
            .collect();
        let want = oracle(&zip, "AlmaLinux:9", &pkgs);
        assert_eq!(
            ours.difference(&want).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "{what}: found but not affected per rpm"
        );
        assert_eq!(
            want.difference(&ours).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "{what}: affected per rpm but not found"
        );
        // The pivots themselves: affected just below their fix only.
        for (name, adv) in PIVOTS {
            let pair = (name.to_owned(), adv.to_owned());
            assert_eq!(
                want.contains(&pair),
                what == "below",
                "{what}: {name} {adv}"
            );
        }
        // Fix versions are reported, and every finding has one (rpm advisories are fixes).
        for f in &m.findings {
            let fix = f
                .vulnerability
                .fixed_version
                .as_deref()
                .expect("fixed version");
            assert_eq!(
                inuse_version::compare(inuse_version::Scheme::Rpm, fix, &f.package.version)
                    .expect("compare"),
                std::cmp::Ordering::Greater,
                "{f:?}"
            );
        }
        eprintln!(
            "{what}: {} findings, {} record hits",
            m.findings.len(),
            want.len()
        );
    }
}
