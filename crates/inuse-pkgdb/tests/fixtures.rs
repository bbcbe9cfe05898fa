//! Fake roots written here: apk and dpkg databases in their documented formats (merged /usr,
//! Multi-Arch lists, diversions, distroless status.d, corrupt records), and hostile rpm
//! databases (truncated, garbage, flipped bytes) that must yield problems, never panics.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use inuse_pkgdb::{Inventory, Manager};
use inuse_root::Root;
use inuse_testkit::{Verdict, dpkg_literal, dpkg_query_list, dpkg_query_search, or_skip};

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, content).expect("write");
}

fn owner_names(inv: &Inventory, ids: Vec<inuse_pkgdb::PackageId>) -> Vec<String> {
    ids.iter()
        .map(|id| inv.packages[id.index()].name.clone())
        .collect()
}

#[test]
fn apk_installed_with_origins_files_and_a_corrupt_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(
        r,
        "etc/os-release",
        b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n",
    );
    write(
        r,
        "lib/apk/db/installed",
        b"C:Q1x=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nL:MIT\no:musl\nT:the musl c library\nI:643072\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n\
P:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\nD:so:libc.musl-x86_64.so.1\nF:usr\nF:usr/lib\nR:libcrypto.so.3\n\n\
P:bad\nthis is not a field\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\no:busybox\nF:bin\nR:busybox\n",
    );
    fs::create_dir_all(r.join("usr/lib")).expect("mkdir");
    let root = Root::open(r).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    assert_eq!(
        inv.distro.as_ref().and_then(|d| d.ecosystem.as_deref()),
        Some("Alpine:v3.19")
    );
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["busybox", "libcrypto3", "musl"]);
    let crypto = &inv.packages[1];
    assert_eq!(crypto.manager, Manager::Apk);
    assert_eq!(
        (crypto.source_name.as_str(), crypto.source_version.as_str()),
        ("openssl", "3.1.4-r5")
    );
    assert_eq!(
        crypto.purl,
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19"
    );
    assert_eq!(crypto.ecosystem.as_deref(), Some("Alpine:v3.19"));
    assert_eq!(crypto.depends, ["so:libc.musl-x86_64.so.1"]);
    assert_eq!(inv.packages[2].installed_size, Some(643_072));
    assert_eq!(inv.problems.len(), 1, "{:?}", inv.problems);
    assert_eq!(inv.problems[0].place.as_deref(), Some("line 24"));
    assert_eq!(
        owner_names(&inv, index.owners(Path::new("/usr/lib/libcrypto.so.3"))),
        ["libcrypto3"]
    );
    assert_eq!(
        owner_names(&inv, index.owners(Path::new("/lib/ld-musl-x86_64.so.1"))),
        ["musl"]
    );
}

/// The good stanzas of the merged-/usr fixture below; `CORRUPT` follows them.
const MERGED_STATUS: &[u8] = b"Package: libfoo1\r\nStatus: install ok installed\r\nArchitecture: amd64\r\nMulti-Arch: same\r\nSource: foo (1.0-1)\r\nVersion: 1:1.0-1build1\r\nDepends: libc6 (>= 2.34),\r\n libbar | libbaz\r\nDescription: foo\r\n long text\r\n\r\n\
Package: dash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.5.11\n\n\
Package: sh-provider\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\n\
Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 2\n\n\
Package: half\nStatus: install reinstreq half-installed\nVersion: 3\n\n";
/// A stanza dpkg refuses (and with it the whole file): a continuation line opens it.
const CORRUPT: &[u8] = b" broken continuation\nPackage: corrupt\n";

/// A copy of `root`'s `var/lib/dpkg` with `status` replaced, for `dpkg-query --admindir`.
fn admindir_with_status(root: &Path, status: &[u8]) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("tempdir");
    let from = root.join("var/lib/dpkg");
    for entry in fs::read_dir(&from).expect("read_dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("file type").is_dir() {
            let dest = copy.path().join(entry.file_name());
            fs::create_dir_all(&dest).expect("mkdir");
            for f in fs::read_dir(entry.path()).expect("read_dir").flatten() {
                fs::copy(f.path(), dest.join(f.file_name())).expect("copy");
            }
        } else {
            fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy");
        }
    }
    fs::write(copy.path().join("status"), status).expect("status");
    copy
}

/// Merged /usr, a `Multi-Arch: same` list beside a stale one, a diversion, a config-files
/// and a half-installed package, and a corrupt stanza, against `dpkg-query --admindir`: it
/// refuses the whole file for the corrupt stanza, and over the file without it lists exactly
/// our packages and owns each listed path as our index does (diversions applied as
/// `dpkg-divert` defines them: the diverted package's file lies at the new name).
#[test]
fn dpkg_merged_usr_multiarch_diversions_and_corrupt_stanza() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(
        r,
        "etc/os-release",
        b"ID=ubuntu\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nVERSION_ID=\"22.04\"\n",
    );
    write(r, "var/lib/dpkg/status", &[MERGED_STATUS, CORRUPT].concat());
    // The multiarch database layout: `Multi-Arch: same` lists are named `NAME:ARCH.list`.
    write(r, "var/lib/dpkg/info/format", b"1\n");
    write(
        r,
        "var/lib/dpkg/info/libfoo1:amd64.list",
        b"/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libfoo.so.1\n",
    );
    write(
        r,
        "var/lib/dpkg/info/dash.list",
        b"/.\n/bin\n/bin/sh\n/bin/dash\n",
    );
    write(
        r,
        "var/lib/dpkg/info/sh-provider.list",
        b"/.\n/bin\n/bin/sh\n",
    );
    write(r, "var/lib/dpkg/info/gone.list", b"/etc/gone.conf\n");
    write(
        r,
        "var/lib/dpkg/diversions",
        b"/bin/sh\n/bin/sh.distrib\ndash\n",
    );
    // Leftovers under the other name (a change of Multi-Arch): dpkg reads the list named after
    // the package's current Multi-Arch, so must we.
    write(
        r,
        "var/lib/dpkg/info/libfoo1.list",
        b"/usr/share/stale-foo\n",
    );
    write(
        r,
        "var/lib/dpkg/info/dash:amd64.list",
        b"/usr/share/stale-dash\n",
    );
    fs::create_dir_all(r.join("usr/lib/x86_64-linux-gnu")).expect("mkdir");
    fs::create_dir_all(r.join("usr/bin")).expect("mkdir");
    std::os::unix::fs::symlink("usr/lib", r.join("lib")).expect("symlink");
    std::os::unix::fs::symlink("usr/bin", r.join("bin")).expect("symlink");

    let root = Root::open(r).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    assert_eq!(
        inv.distro.as_ref().and_then(|d| d.ecosystem.as_deref()),
        Some("Ubuntu:22.04:LTS")
    );
    // The corrupt stanza: dpkg refuses the file there; we report it and read the rest.
    assert_eq!(inv.problems.len(), 1, "{:?}", inv.problems);
    assert_eq!(inv.problems[0].place.as_deref(), Some("line 31"));
    let admindir = r.join("var/lib/dpkg");
    let lf = String::from_utf8(MERGED_STATUS.to_vec())
        .expect("utf-8")
        .replace("\r\n", "\n");
    let lf_and_corrupt = [lf.as_bytes(), CORRUPT].concat();
    let refused = admindir_with_status(r, &lf_and_corrupt);
    match or_skip!(dpkg_query_list(refused.path())) {
        Verdict::Refused(why) => assert!(why.contains("empty field name"), "{why}"),
        Verdict::Listed { rows, .. } => panic!("dpkg-query took the corrupt stanza: {rows:?}"),
    }

    // Without it, dpkg-query lists exactly what we list. dpkg never writes CRLF and does not
    // read it (a "\r" line is not blank to it); we accept it, so dpkg reads the LF spelling.
    let oracle = admindir_with_status(r, lf.as_bytes());
    let rows = match or_skip!(dpkg_query_list(oracle.path())) {
        Verdict::Listed { rows, .. } => rows,
        Verdict::Refused(why) => panic!("dpkg-query refuses the good stanzas: {why}"),
    };
    let ours: BTreeSet<[&str; 5]> = inv
        .packages
        .iter()
        .map(|p| {
            [
                &p.name,
                &p.version,
                &p.arch,
                &p.source_name,
                &p.source_version,
            ]
            .map(String::as_str)
        })
        .collect();
    let theirs: BTreeSet<[&str; 5]> = rows
        .iter()
        .filter(|r| r.status != "config-files")
        .map(|r| {
            [
                &r.name,
                &r.version,
                &r.arch,
                &r.source_name,
                &r.source_version,
            ]
            .map(String::as_str)
        })
        .collect();
    assert_eq!(ours, theirs, "ours, then dpkg-query -W");
    let not: Vec<&str> = inv.not_installed.iter().map(|p| p.name.as_str()).collect();
    let rc: Vec<&str> = rows
        .iter()
        .filter(|r| r.status == "config-files")
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(not, rc);

    // What dpkg-query cannot say: our derivations from the stanza.
    let foo = inv
        .packages
        .iter()
        .find(|p| p.name == "libfoo1")
        .expect("libfoo1");
    assert_eq!(foo.depends, ["libc6", "libbar", "libbaz"]);
    assert_eq!(foo.installed_size, None);
    assert_eq!(
        foo.purl,
        "pkg:deb/ubuntu/libfoo1@1%3A1.0-1build1?arch=amd64&distro=ubuntu-22.04"
    );

    // Owners: every path of every list (stale ones included), as dpkg -S answers for it.
    let mut listed: BTreeSet<String> = BTreeSet::new();
    for entry in fs::read_dir(admindir.join("info")).expect("info").flatten() {
        if entry.path().extension().is_some_and(|e| e == "list") {
            let text = fs::read_to_string(entry.path()).expect("list");
            listed.extend(text.lines().filter(|l| *l != "/.").map(str::to_owned));
        }
    }
    listed.insert("/bin/sh.distrib".to_owned());
    let patterns: Vec<String> = listed.iter().map(|p| dpkg_literal(p)).collect();
    let dpkg = or_skip!(dpkg_query_search(oracle.path(), &patterns));
    let dpkg_owners = |p: &str| dpkg.get(p).cloned().unwrap_or_default();
    let diversions = inuse_pkgdb::dpkg::parse_diversions(
        &fs::read(admindir.join("diversions")).expect("diversions"),
    );
    for path in &listed {
        let mut want = dpkg_owners(path);
        for d in &diversions {
            let by = d.by.as_deref();
            if d.to == path.as_bytes() {
                want = dpkg_owners(std::str::from_utf8(&d.from).expect("utf-8"));
                want.retain(|p| Some(p.as_str()) != by);
            } else if d.from == path.as_bytes() {
                want.retain(|p| Some(p.as_str()) == by);
            }
        }
        // gone's list holds the conffiles it left: dpkg -S names it, our index holds
        // installed packages only (see dpkg_states.rs).
        if path == "/etc/gone.conf" {
            assert_eq!(want, BTreeSet::from(["gone".to_owned()]));
            want.clear();
        }
        let got: BTreeSet<String> = owner_names(&inv, index.owners(Path::new(path)))
            .into_iter()
            .collect();
        assert_eq!(got, want, "owners of {path}: ours, then dpkg -S");
        // The merged-/usr spelling leads to the same owners through the root's symlinks.
        for alias in ["/lib/", "/bin/"] {
            if let Some(rest) = path.strip_prefix(alias) {
                let usr = format!("/usr{alias}{rest}");
                let via: BTreeSet<String> = owner_names(&inv, index.owners(Path::new(&usr)))
                    .into_iter()
                    .collect();
                assert_eq!(via, got, "{usr} vs {path}");
            }
        }
    }
    // The fixture exercises what it means to: a diversion, shared directories, stale lists.
    assert_eq!(dpkg_owners("/bin/sh").len(), 2, "{dpkg:?}");
    assert_eq!(dpkg_owners("/bin").len(), 2, "{dpkg:?}");
    assert!(dpkg_owners("/usr/share/stale-foo").is_empty());
    assert!(!dpkg_owners("/lib/x86_64-linux-gnu/libfoo.so.1").is_empty());
    assert!(
        owner_names(
            &inv,
            index.owners_of_real(Path::new("/usr/lib/x86_64-linux-gnu/libfoo.so.1"))
        ) == ["libfoo1"]
    );
}

#[test]
fn distroless_status_d_with_md5sums() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n");
    write(
        r,
        "var/lib/dpkg/status.d/libssl3",
        b"Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl\n",
    );
    write(
        r,
        "var/lib/dpkg/status.d/libssl3.md5sums",
        b"0123  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
    );
    let root = Root::open(r).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    // dpkg reads no status.d; over the same stanza in a status file, marked installed (what
    // a distroless stanza without Status means), it gives the same package and source.
    let admindir = tempfile::tempdir().expect("tempdir");
    let stanza = fs::read(r.join("var/lib/dpkg/status.d/libssl3")).expect("stanza");
    write(
        admindir.path(),
        "status",
        &[&b"Status: install ok installed\n"[..], &stanza].concat(),
    );
    let rows = match or_skip!(dpkg_query_list(admindir.path())) {
        Verdict::Listed { rows, .. } => rows,
        Verdict::Refused(why) => panic!("dpkg-query refuses the stanza: {why}"),
    };
    let ours: Vec<[&str; 5]> = inv
        .packages
        .iter()
        .map(|p| {
            [
                &p.name,
                &p.version,
                &p.arch,
                &p.source_name,
                &p.source_version,
            ]
            .map(String::as_str)
        })
        .collect();
    let theirs: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| {
            [
                &r.name,
                &r.version,
                &r.arch,
                &r.source_name,
                &r.source_version,
            ]
            .map(String::as_str)
        })
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(
        owner_names(
            &inv,
            index.owners(Path::new("/usr/lib/x86_64-linux-gnu/libssl.so.3"))
        ),
        ["libssl3"]
    );
}

/// Loads a root holding `bytes` at `rel`; must not panic.
fn load_bytes(rel: &str, bytes: &[u8]) -> Inventory {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), rel, bytes);
    let root = Root::open(dir.path()).expect("root");
    Inventory::load_with_owners(&root).0
}

#[test]
fn hostile_rpm_databases_give_problems_not_panics() {
    // Garbage in every backend.
    for rel in [
        "var/lib/rpm/rpmdb.sqlite",
        "var/lib/rpm/Packages.db",
        "var/lib/rpm/Packages",
    ] {
        let inv = load_bytes(rel, &[0x5a; 8192]);
        assert!(inv.packages.is_empty());
        assert_eq!(inv.problems.len(), 1, "{rel}: {:?}", inv.problems);
        assert!(
            inv.problems[0]
                .file
                .ends_with(Path::new(rel).file_name().expect("name"))
        );
    }
    let data = or_skip!(inuse_testkit::testdata_dir());
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for (file, rel) in [
        ("rpmdb/sle15-bci/Packages.db", "var/lib/rpm/Packages.db"),
        ("rpmdb/libuuid/Packages", "var/lib/rpm/Packages"),
        (
            "rpmdb/cbl-mariner-2.0/rpmdb.sqlite",
            "var/lib/rpm/rpmdb.sqlite",
        ),
    ] {
        let real = fs::read(data.join(file)).expect("db");
        let full = load_bytes(rel, &real).packages.len();
        // Truncations: fewer packages or problems, never a panic.
        for cut in [real.len() / 3, real.len() / 2, real.len() - 100] {
            let inv = load_bytes(rel, &real[..cut]);
            assert!(
                inv.packages.len() <= full
                    && (inv.packages.len() < full
                        || !inv.problems.is_empty()
                        || file.ends_with("sqlite")),
                "{file} cut at {cut}: {} packages, {:?}",
                inv.packages.len(),
                inv.problems
            );
        }
        // Random byte flips.
        for _ in 0..20 {
            let mut bad = real.clone();
            for _ in 0..64 {
                let i = (next() as usize) % bad.len();
                bad[i] = next() as u8;
            }
            let _ = load_bytes(rel, &bad);
        }
    }
}

#[test]
fn absurd_bdb_and_ndb_counts() {
    // NDB claiming 2^32-1 slot pages.
    let mut ndb = b"RpmP\0\0\0\0\0\0\0\0\xff\xff\xff\xff".to_vec();
    ndb.resize(4096, 0);
    let inv = load_bytes("usr/lib/sysimage/rpm/Packages.db", &ndb);
    assert_eq!(inv.problems.len(), 1, "{:?}", inv.problems);
    // BDB hash page claiming 65535 entries, and an off-page item of 4 GiB.
    let mut bdb = vec![0u8; 3 * 4096];
    bdb[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
    bdb[20..24].copy_from_slice(&4096u32.to_le_bytes());
    bdb[25] = 8;
    bdb[32..36].copy_from_slice(&2u32.to_le_bytes());
    let p1 = 4096;
    bdb[p1 + 20..p1 + 22].copy_from_slice(&u16::MAX.to_le_bytes());
    bdb[p1 + 25] = 13;
    let p2 = 2 * 4096;
    bdb[p2 + 20..p2 + 22].copy_from_slice(&2u16.to_le_bytes());
    bdb[p2 + 25] = 13;
    bdb[p2 + 26..p2 + 28].copy_from_slice(&4091u16.to_le_bytes());
    bdb[p2 + 28..p2 + 30].copy_from_slice(&4079u16.to_le_bytes());
    bdb[p2 + 4091] = 1;
    bdb[p2 + 4092] = 7;
    bdb[p2 + 4079] = 3;
    bdb[p2 + 4079 + 4..p2 + 4079 + 8].copy_from_slice(&2u32.to_le_bytes());
    bdb[p2 + 4079 + 8..p2 + 4079 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let inv = load_bytes("var/lib/rpm/Packages", &bdb);
    assert!(inv.packages.is_empty());
    assert_eq!(inv.problems.len(), 2, "{:?}", inv.problems);
}

/// A name listed in many directories (past the index's grouping threshold), some through a
/// symlinked directory: every spelling finds exactly the packages of that directory, whether
/// the directories were canonicalized one by one or all at once, and whatever the order of
/// the lookups.
#[test]
fn common_names_through_symlinked_dirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n");
    let mut status = String::new();
    for i in 0..20 {
        status.push_str(&format!(
            "Package: p{i}\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
        ));
        // Even packages list their file under /lib (a symlink to usr/lib), odd ones under
        // /usr/lib; p0 and p1 name the same directory, p2 and p3, ...
        let listed = if i % 2 == 0 { "/lib" } else { "/usr/lib" };
        write(
            r,
            &format!("var/lib/dpkg/info/p{i}.list"),
            format!("{listed}/d{}\n{listed}/d{}/__init__.py\n", i / 2, i / 2).as_bytes(),
        );
        fs::create_dir_all(r.join(format!("usr/lib/d{}", i / 2))).expect("mkdir");
    }
    write(r, "var/lib/dpkg/status", status.as_bytes());
    std::os::unix::fs::symlink("usr/lib", r.join("lib")).expect("symlink");
    let root = Root::open(r).expect("root");
    for all_at_once in [false, true] {
        let (inv, index) = Inventory::load_with_owners(&root);
        if all_at_once {
            index.canonicalize_all();
        }
        for d in [3, 0, 9, 5] {
            let expected = [format!("p{}", 2 * d), format!("p{}", 2 * d + 1)];
            for spelling in ["/lib", "/usr/lib"] {
                let path = format!("{spelling}/d{d}/__init__.py");
                assert_eq!(
                    owner_names(&inv, index.owners(Path::new(&path))),
                    expected,
                    "{path}, all at once: {all_at_once}"
                );
            }
            let real = format!("/usr/lib/d{d}/__init__.py");
            assert_eq!(
                owner_names(&inv, index.owners_of_real(Path::new(&real))),
                expected
            );
        }
        assert!(
            index
                .owners(Path::new("/usr/lib/d10/__init__.py"))
                .is_empty()
        );
        assert!(index.owners(Path::new("/usr/__init__.py")).is_empty());
    }
}

/// Hostile lists: a path of 20,000 components, empty and relative lines, `..` above the root,
/// a line of NUL bytes. Indexing, lookups and canonicalize_all neither recurse per component
/// nor panic, and the sane entries still resolve.
#[test]
fn hostile_list_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n");
    write(
        r,
        "var/lib/dpkg/status",
        b"Package: evil\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n\
          Package: good\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n",
    );
    let deep = "/a".repeat(20_000) + "/x";
    let mut list = format!("{deep}\n\n\nrelative/path\n/../../etc/passwd\n");
    list.push_str("\0\0\0\n//usr//./lib/../lib/libgood.so.1\n");
    write(r, "var/lib/dpkg/info/evil.list", list.as_bytes());
    write(r, "var/lib/dpkg/info/good.list", b"/usr/lib/libgood.so.1\n");
    fs::create_dir_all(r.join("usr/lib")).expect("mkdir");
    let root = Root::open(r).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    assert_eq!(inv.packages.len(), 2);
    assert_eq!(owner_names(&inv, index.owners(Path::new(&deep))), ["evil"]);
    assert_eq!(
        owner_names(&inv, index.owners(Path::new("/etc/passwd"))),
        ["evil"]
    );
    index.canonicalize_all();
    assert_eq!(
        owner_names(&inv, index.owners(Path::new("/usr/lib/libgood.so.1"))),
        ["evil", "good"]
    );
    assert_eq!(owner_names(&inv, index.owners(Path::new(&deep))), ["evil"]);
}

/// A list is read in pieces into a reused buffer, and a list that is a symlink (`ELOOP` in the
/// `info` directory) is read again through the root, inside it: both give every path, and a
/// failed first attempt leaves nothing behind.
#[test]
fn symlinked_and_large_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "etc/os-release", b"ID=debian\nVERSION_ID=12\n");
    let stanza = |name: &str| {
        format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n"
        )
    };
    write(
        r,
        "var/lib/dpkg/status",
        [stanza("big"), stanza("linked"), stanza("escaping")]
            .concat()
            .as_bytes(),
    );
    // 1.2 MB over many directories: several pieces of the reader's 256 KiB.
    let mut big = String::from("/usr\n/usr/share\n");
    for d in 0..600 {
        big.push_str(&format!("/usr/share/big/d{d}\n"));
        for f in 0..40 {
            big.push_str(&format!(
                "/usr/share/big/d{d}/file-with-a-longish-name-{f}.txt\n"
            ));
        }
    }
    write(r, "var/lib/dpkg/info/big.list", big.as_bytes());
    // Linked to a list elsewhere in the root, and to an absolute target that must resolve
    // inside the root, not on the host.
    write(r, "srv/lists/linked", b"/usr/bin/linked-tool\n");
    std::os::unix::fs::symlink(
        "../../../../srv/lists/linked",
        r.join("var/lib/dpkg/info/linked.list"),
    )
    .expect("symlink");
    write(r, "etc/passwd", b"/usr/bin/escaping-tool\n");
    std::os::unix::fs::symlink("/etc/passwd", r.join("var/lib/dpkg/info/escaping.list"))
        .expect("symlink");
    fs::create_dir_all(r.join("usr/bin")).expect("mkdir");

    let root = Root::open(r).expect("root");
    let (inv, index) = Inventory::load_with_owners(&root);
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let who = |p: &str| owner_names(&inv, index.owners(Path::new(p)));
    assert_eq!(
        who("/usr/share/big/d0/file-with-a-longish-name-0.txt"),
        ["big"]
    );
    assert_eq!(
        who("/usr/share/big/d599/file-with-a-longish-name-39.txt"),
        ["big"]
    );
    assert_eq!(who("/usr/share/big/d300"), ["big"]);
    assert_eq!(who("/usr/bin/linked-tool"), ["linked"]);
    assert_eq!(who("/usr/bin/escaping-tool"), ["escaping"]);
    let ids: std::collections::HashSet<_> = index
        .owners(Path::new("/usr/share/big/d300"))
        .into_iter()
        .collect();
    assert_eq!(index.paths_of(&ids).len(), 2 + 600 * 41);
}
