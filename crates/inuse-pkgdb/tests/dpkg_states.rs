//! Which dpkg stanzas are installed packages, decided by the real `dpkg-query --admindir`
//! over status files written here: every `Status` state, a stanza without `Status`, versions
//! dpkg only warns about and versions it refuses. The inventory lists what `dpkg-query -W`
//! lists (its `config-files` rows as not installed), names in a problem every package dpkg
//! warns about, and attributes files as `dpkg-query -S` does.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use inuse_pkgdb::{Inventory, Manager, OwnerIndex};
use inuse_root::Root;
use inuse_testkit::{
    DpkgRow, Skip, Verdict, dpkg_literal, dpkg_query_list, dpkg_query_search, dpkg_warned_packages,
    or_skip,
};

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, content).expect("write");
}

/// A stanza with the fields dpkg wants (so that its only warnings are the ones a test means).
fn stanza(name: &str, status: Option<&str>, version: &str) -> String {
    let status = status.map_or(String::new(), |s| format!("Status: {s}\n"));
    format!(
        "Package: {name}\n{status}Version: {version}\nArchitecture: amd64\n\
         Maintainer: nobody <nobody@example.org>\nDescription: {name}\n\n"
    )
}

/// The package a problem names (`package "NAME": ...`).
fn named(message: &str) -> Option<String> {
    let rest = message.strip_prefix("package \"")?;
    Some(rest.split_once('"')?.0.to_owned())
}

type Row = (String, String, String, String, String);

fn row(r: &DpkgRow) -> Row {
    (
        r.name.clone(),
        r.version.clone(),
        r.arch.clone(),
        r.source_name.clone(),
        r.source_version.clone(),
    )
}

/// Loads `root` and compares it with `dpkg-query -W` over its `var/lib/dpkg`: installed
/// packages, `config-files` ones, and the packages named by warnings about `Version`.
fn agrees_with_dpkg_query(root: &Path) -> Result<(Inventory, OwnerIndex, Vec<DpkgRow>), Skip> {
    let admindir = root.join("var/lib/dpkg");
    let (rows, warnings) = match dpkg_query_list(&admindir)? {
        Verdict::Listed { rows, warnings } => (rows, warnings),
        Verdict::Refused(why) => panic!("dpkg-query refuses the fixture: {why}"),
    };
    let (inv, index) = Inventory::load_with_owners(&Root::open(root).expect("root"));
    let ours: BTreeSet<Row> = inv
        .packages
        .iter()
        .filter(|p| p.manager == Manager::Dpkg)
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone(),
                p.source_name.clone(),
                p.source_version.clone(),
            )
        })
        .collect();
    let theirs: BTreeSet<Row> = rows
        .iter()
        .filter(|r| r.status != "config-files")
        .map(row)
        .collect();
    assert_eq!(ours, theirs, "installed packages: ours, then dpkg-query's");
    let ours_rc: BTreeSet<(String, String)> = inv
        .not_installed
        .iter()
        .filter(|n| n.status.ends_with(" config-files"))
        .map(|n| (n.name.clone(), n.version.clone()))
        .collect();
    let theirs_rc: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|r| r.status == "config-files")
        .map(|r| (r.name.clone(), r.version.clone()))
        .collect();
    assert_eq!(ours_rc, theirs_rc, "config-files packages");
    let problems: BTreeSet<String> = inv
        .problems
        .iter()
        .map(|p| named(&p.message).unwrap_or_else(|| panic!("a problem names no package: {p}")))
        .collect();
    assert_eq!(
        problems,
        dpkg_warned_packages(&warnings, "Version"),
        "packages named in problems vs dpkg's warnings about a Version ({warnings})"
    );
    Ok((inv, index, rows))
}

/// dpkg's `parsedb` leaves a stanza without `Status` at `not-installed`: dpkg-query does not
/// list it, and no `Version` is needed. In a distroless `status.d/` file the same stanza is
/// an installed package (dpkg never reads `status.d`; the image builder wrote it).
#[test]
fn a_status_stanza_without_status_is_not_installed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    let status = [
        stanza("plain", Some("install ok installed"), "1.0"),
        stanza("nostatus", None, "1.0"),
        "Package: nostatus-noversion\nArchitecture: amd64\n\n".to_owned(),
    ]
    .concat();
    write(r, "var/lib/dpkg/status", status.as_bytes());
    let (inv, _, rows) = or_skip!(agrees_with_dpkg_query(r));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    let not: Vec<(&str, &str)> = inv
        .not_installed
        .iter()
        .map(|n| (n.name.as_str(), n.status.as_str()))
        .collect();
    assert_eq!(
        not,
        [
            ("nostatus", "unknown ok not-installed"),
            ("nostatus-noversion", "unknown ok not-installed")
        ]
    );

    write(
        r,
        "var/lib/dpkg/status.d/distroless",
        stanza("distroless", None, "2.0").as_bytes(),
    );
    let inv = Inventory::load(&Root::open(r).expect("root"));
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["distroless", "plain"]);
    assert_eq!(inv.packages[0].status, None);
}

/// A `half-installed` package (an unpack or removal stopped half way) has files on disk:
/// `dpkg-query -W` lists it and `dpkg-query -S` still gives its listed files to it. It is
/// listed, with its status, and owns its files.
///
/// One asserted difference: dpkg -S also gives a `config-files` package the paths of its
/// list (at removal dpkg rewrites the list down to the conffiles it leaves). inuse's index
/// holds installed packages only, so those conffiles have no owner here: configuration left
/// by a removed package, not code that can be loaded.
#[test]
fn a_half_installed_package_is_listed_and_owns_its_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    let status = [
        stanza("half", Some("install reinstreq half-installed"), "3"),
        stanza("gone", Some("deinstall ok config-files"), "2"),
        stanza("whole", Some("install ok installed"), "1"),
    ]
    .concat();
    write(r, "var/lib/dpkg/status", status.as_bytes());
    write(
        r,
        "var/lib/dpkg/info/half.list",
        b"/.\n/usr\n/usr/lib\n/usr/lib/libhalf.so.3\n",
    );
    write(
        r,
        "var/lib/dpkg/info/gone.list",
        b"/.\n/etc\n/etc/gone.conf\n",
    );
    write(
        r,
        "var/lib/dpkg/info/whole.list",
        b"/.\n/usr\n/usr/lib\n/usr/lib/libwhole.so.1\n",
    );
    let (inv, index, _) = or_skip!(agrees_with_dpkg_query(r));
    let half = inv
        .packages
        .iter()
        .find(|p| p.name == "half")
        .expect("half-installed is listed");
    assert_eq!(
        half.status.as_deref(),
        Some("install reinstreq half-installed")
    );

    let paths = [
        "/usr/lib/libhalf.so.3",
        "/etc/gone.conf",
        "/usr/lib/libwhole.so.1",
    ];
    let patterns: Vec<String> = paths.iter().map(|p| dpkg_literal(p)).collect();
    let dpkg = or_skip!(dpkg_query_search(&r.join("var/lib/dpkg"), &patterns));
    assert!(
        dpkg.contains_key("/usr/lib/libhalf.so.3"),
        "dpkg -S attributes a half-installed package's files: {dpkg:?}"
    );
    for path in paths {
        let mut theirs = dpkg.get(path).cloned().unwrap_or_default();
        if path == "/etc/gone.conf" {
            assert_eq!(
                theirs,
                BTreeSet::from(["gone".to_owned()]),
                "dpkg -S {path}"
            );
            theirs.clear();
        }
        let ours: BTreeSet<String> = index
            .owners(Path::new(path))
            .iter()
            .map(|id| inv.packages[id.index()].name.clone())
            .collect();
        assert_eq!(ours, theirs, "owners of {path}: ours, then dpkg -S");
    }
}

/// dpkg's status parser only warns about a character outside deb-version(7)'s set (`1:5.#`)
/// and keeps the package: so do we, with a problem naming it. A version dpkg refuses outright
/// (nothing after the epoch) makes dpkg-query refuse the whole file; we leave out that
/// stanza only, with a problem naming the package and its line.
#[test]
fn a_version_dpkg_warns_about_is_kept_and_named_one_it_refuses_is_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    let status = [
        stanza("fine", Some("install ok installed"), "1:2.0-1"),
        stanza("hashed", Some("install ok installed"), "1:5.#"),
        stanza("hashed-gone", Some("deinstall ok config-files"), "2.0-1#"),
    ]
    .concat();
    write(r, "var/lib/dpkg/status", status.as_bytes());
    let (inv, _, _) = or_skip!(agrees_with_dpkg_query(r));
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["fine", "hashed"]);
    assert_eq!(inv.packages[1].version, "1:5.#");
    assert_eq!(inv.problems.len(), 2, "{:?}", inv.problems);
    assert_eq!(inv.problems[0].place.as_deref(), Some("line 8"));

    // Refused outright: dpkg-query stops; we keep every other package.
    let refused = [
        status,
        stanza("epoch-only", Some("install ok installed"), "1:"),
        stanza("after", Some("install ok installed"), "3"),
    ]
    .concat();
    write(r, "var/lib/dpkg/status", refused.as_bytes());
    match or_skip!(dpkg_query_list(&r.join("var/lib/dpkg"))) {
        Verdict::Refused(why) => assert!(why.contains("'epoch-only'"), "{why}"),
        Verdict::Listed { rows, .. } => panic!("dpkg-query took the file: {rows:?}"),
    }
    let inv = Inventory::load(&Root::open(r).expect("root"));
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["after", "fine", "hashed"]);
    let epoch_only: Vec<String> = inv
        .problems
        .iter()
        .filter(|p| named(&p.message).as_deref() == Some("epoch-only"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(epoch_only.len(), 1, "{:?}", inv.problems);
    assert!(
        epoch_only[0].starts_with("/var/lib/dpkg/status: line 22: package \"epoch-only\": "),
        "{}",
        epoch_only[0]
    );
}

/// Every state dpkg knows, with holds, reinstreq flags and `Source` variants: the inventory
/// is `dpkg-query -W` row for row.
#[test]
fn every_dpkg_state_is_listed_as_dpkg_query_lists_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    let mut status = String::new();
    for (i, s) in [
        "install ok installed",
        "hold ok installed",
        "deinstall reinstreq installed",
        "purge ok installed",
        "install ok unpacked",
        "install ok half-configured",
        "install reinstreq half-installed",
        "install ok triggers-awaited",
        "install ok triggers-pending",
        "deinstall ok config-files",
        "purge ok not-installed",
        "unknown ok not-installed",
    ]
    .into_iter()
    .enumerate()
    {
        status.push_str(&stanza(&format!("p{i}"), Some(s), &format!("{i}.0-1")));
    }
    status.push_str(
        "Package: src-versioned\nStatus: install ok installed\nVersion: 2:1.0-1+b1\n\
         Source: upstream (1.0-1)\nArchitecture: all\nMaintainer: m\nDescription: d\n\n\
         Package: src-plain\nStatus: install ok installed\nVersion: 1.0\nSource: upstream\n\
         Architecture: amd64\nMaintainer: m\nDescription: d\n",
    );
    // dpkg-query lists a triggers-awaited package only with what it awaits.
    status = status.replace(
        "Status: install ok triggers-awaited\n",
        "Status: install ok triggers-awaited\nTriggers-Awaited: p0\n",
    );
    status = status.replace(
        "Status: install ok triggers-pending\n",
        "Status: install ok triggers-pending\nTriggers-Pending: t\n",
    );
    write(r, "var/lib/dpkg/status", status.as_bytes());
    let (inv, _, rows) = or_skip!(agrees_with_dpkg_query(r));
    assert_eq!(rows.len(), 12, "not-installed is not listed: {rows:?}");
    assert_eq!(inv.packages.len(), 11);
}
