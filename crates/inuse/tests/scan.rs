//! End to end: `inuse scan` on a root with its own dpkg database, OSV records imported with
//! `inuse db import`, and a real process running inside the root (`unshare -m chroot`).
//!
//! The root: Debian 12, xz-utils at 5.6.1-1 (a backdoored version) with the host's liblzma
//! file standing in for it, bzip2 at a version a record marks vulnerable (its binary links
//! libbz2, nothing runs it), and a third vulnerable package with no ELF files. A program in
//! the root keeps liblzma mapped.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use inuse_testkit::schema::validate;
use inuse_testkit::{CBuild, FakeRoot, Inuse, LiveProcess, Skip, or_skip};
use serde_json::{Value, json};

const MULTIARCH: &str = "/usr/lib/x86_64-linux-gnu";

fn inuse() -> Inuse {
    Inuse::new(env!("CARGO_BIN_EXE_inuse")).timeout(Duration::from_secs(300))
}

struct Fixture {
    root: FakeRoot,
    db: tempfile::TempDir,
    _build: tempfile::TempDir,
}

fn stanza(pkg: &str, source: &str, version: &str) -> String {
    format!(
        "Package: {pkg}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\n\
         Source: {source}\nVersion: {version}\nDescription: {pkg} for inuse tests\n\n"
    )
}

fn record(id: &str, source: &str, fixed: &str, cve: &str) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2024-04-01T00:00:00Z",
        "published": "2024-03-29T00:00:00Z",
        "aliases": [],
        "related": [cve],
        "summary": format!("{source} -- test vulnerability {cve}"),
        "affected": [{
            "package": { "ecosystem": "Debian:12", "name": source,
                         "purl": format!("pkg:deb/debian/{source}?arch=source") },
            "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }, { "fixed": fixed }] }],
        }],
        "severity": [{ "type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H" }],
    })
}

fn fixture() -> Result<Fixture, Skip> {
    for f in [
        "/lib/x86_64-linux-gnu/liblzma.so.5",
        "/lib/x86_64-linux-gnu/libbz2.so.1.0",
        "/usr/bin/bzip2",
    ] {
        if !Path::new(f).exists() {
            return Err(Skip::new(format!("{f} is not on this host")));
        }
    }
    if Command::new("unshare").arg("--version").output().is_err() {
        return Err(Skip::new("unshare is missing"));
    }
    let build = tempfile::tempdir().unwrap();
    // A program that links liblzma and sleeps: liblzma stays mapped, never called.
    let holder = CBuild::new(build.path())
        .source("#include <unistd.h>\nint main(void){ for(;;) pause(); }\n")
        .needed_lib("/lib/x86_64-linux-gnu/liblzma.so.5")
        .executable("holder")
        .build()?;
    let lzma = std::fs::canonicalize("/lib/x86_64-linux-gnu/liblzma.so.5").unwrap();
    let bz2 = std::fs::canonicalize("/lib/x86_64-linux-gnu/libbz2.so.1.0").unwrap();

    let mut root = FakeRoot::new();
    root.merged_usr().host_glibc()?;
    let lzma_in = format!("{MULTIARCH}/liblzma.so.5.6.1");
    let bz2_in = format!("{MULTIARCH}/libbz2.so.1.0.4");
    root.copy(&lzma, &lzma_in)
        .symlink(format!("{MULTIARCH}/liblzma.so.5"), "liblzma.so.5.6.1")
        .copy(&bz2, &bz2_in)
        .symlink(format!("{MULTIARCH}/libbz2.so.1.0"), "libbz2.so.1.0.4")
        .copy("/usr/bin/bzip2", "/usr/bin/bzip2")
        .copy(&holder, "/usr/bin/holder")
        .write("/usr/share/gnupg-tools/run.py", "print('no ELF here')\n")
        .write("/etc/debian_version", "12.5\n")
        .os_release("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n");
    let status = [
        stanza("libc6", "glibc", "2.36-9+deb12u4"),
        stanza("liblzma5", "xz-utils", "5.6.1-1"),
        stanza("bzip2", "bzip2", "1.0.8-5"),
        stanza("libbz2-1.0", "bzip2", "1.0.8-5"),
        stanza("gnupg-tools", "gnupg-tools", "1.0-1"),
    ]
    .concat();
    root.write("/var/lib/dpkg/status", status)
        .write(
            "/var/lib/dpkg/info/libc6:amd64.list",
            format!("{MULTIARCH}/libc.so.6\n{MULTIARCH}/ld-linux-x86-64.so.2\n"),
        )
        .write(
            "/var/lib/dpkg/info/liblzma5:amd64.list",
            format!("{MULTIARCH}/liblzma.so.5.6.1\n{MULTIARCH}/liblzma.so.5\n"),
        )
        .write("/var/lib/dpkg/info/bzip2.list", "/bin/bzip2\n")
        .write(
            "/var/lib/dpkg/info/libbz2-1.0:amd64.list",
            format!("{MULTIARCH}/libbz2.so.1.0.4\n{MULTIARCH}/libbz2.so.1.0\n"),
        )
        .write(
            "/var/lib/dpkg/info/gnupg-tools.list",
            "/usr/share/gnupg-tools\n/usr/share/gnupg-tools/run.py\n",
        );
    root.ldconfig()?;

    let db = tempfile::tempdir().unwrap();
    let records = db.path().join("records");
    std::fs::create_dir(&records).unwrap();
    for (id, source, fixed, cve) in [
        (
            "DSA-5649-1",
            "xz-utils",
            "5.6.1+really5.4.5-1",
            "CVE-2024-3094",
        ),
        ("DSA-9001-1", "bzip2", "1.0.8-6", "CVE-2099-0001"),
        ("DSA-9002-1", "gnupg-tools", "1.0-2", "CVE-2099-0002"),
    ] {
        std::fs::write(
            records.join(format!("{id}.json")),
            record(id, source, fixed, cve).to_string(),
        )
        .unwrap();
    }
    let out = inuse().run([
        "db".as_ref(),
        "import".as_ref(),
        "--db".as_ref(),
        db.path().join("vulns.sqlite").as_os_str(),
        records.as_os_str(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    Ok(Fixture {
        root,
        db,
        _build: build,
    })
}

fn scan(fx: &Fixture, extra: &[&str]) -> (inuse_testkit::InuseOutput, Value) {
    let db = fx.db.path().join("vulns.sqlite");
    let store = fx.db.path().join("no-observations.sqlite");
    let mut args = vec![
        "scan",
        "--root",
        fx.root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--offline",
    ];
    args.extend_from_slice(extra);
    let out = inuse().run(&args);
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.describe());
    let doc = if extra.windows(2).any(|w| w == ["--format", "table"]) {
        Value::Null
    } else {
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.describe()))
    };
    (out, doc)
}

fn finding<'a>(doc: &'a Value, package: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"]["name"] == package)
        .unwrap_or_else(|| panic!("no finding for {package}: {doc:#}"))
}

fn statement<'a>(vex: &'a Value, package: &str) -> &'a Value {
    vex["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["products"][0]["@id"]
                .as_str()
                .unwrap()
                .contains(&format!("/{package}@"))
        })
        .unwrap_or_else(|| panic!("no statement for {package}: {vex:#}"))
}

#[test]
fn scan_ranks_the_loaded_backdoor_first_and_writes_honest_vex() {
    let fx = or_skip!(fixture());
    // A process inside the root, in its own mount namespace, keeping liblzma mapped.
    let mut holder = LiveProcess::spawn(
        Command::new("unshare")
            .args(["-m", "chroot"])
            .arg(fx.root.path())
            .arg("/usr/bin/holder"),
    );
    holder.wait_for_maps(Duration::from_secs(10), |m| m.contains("liblzma.so.5.6.1"));
    // unshare execs chroot which execs holder: the pid stays the same.
    let pid = holder.pid();

    let (_, doc) = scan(&fx, &["--min-window", "0s", "--format", "json"]);
    let xz = finding(&doc, "liblzma5");
    assert_eq!(xz["id"], "CVE-2024-3094", "{xz:#}");
    assert!(
        ["loaded", "executed", "function"].contains(&xz["evidence"].as_str().unwrap()),
        "{xz:#}"
    );
    assert_eq!(xz["priority"], 1, "{doc:#}");
    assert!(
        xz["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == pid),
        "pid {pid} missing: {xz:#}"
    );
    assert_eq!(xz["fixed_version"], "5.6.1+really5.4.5-1");
    for bz in ["bzip2", "libbz2-1.0"] {
        let f = finding(&doc, bz);
        assert_eq!(f["evidence"], "linked", "{f:#}");
        assert!(
            f["linked_by"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == "/usr/bin/bzip2"),
            "{f:#}"
        );
    }
    assert_eq!(finding(&doc, "gnupg-tools")["evidence"], "installed");

    let (_, vex) = scan(&fx, &["--min-window", "0s", "--format", "openvex"]);
    assert_eq!(statement(&vex, "liblzma5")["status"], "affected");
    let bz = statement(&vex, "libbz2-1.0");
    assert_eq!(bz["status"], "not_affected", "{bz:#}");
    assert_eq!(bz["justification"], "vulnerable_code_not_in_execute_path");
    // No ELF files: loading cannot be measured, so never not_affected.
    assert_eq!(
        statement(&vex, "gnupg-tools")["status"],
        "under_investigation"
    );
    if let Err(e) = or_skip!(validate("openvex-0.2.0.schema.json", &vex)) {
        panic!("{e}");
    }

    // The default minimum window is 24 h; one sweep now is not enough.
    let (_, vex) = scan(&fx, &["--format", "openvex"]);
    assert_eq!(
        statement(&vex, "libbz2-1.0")["status"],
        "under_investigation"
    );
    assert_eq!(statement(&vex, "liblzma5")["status"], "affected");

    for (format, schema) in [
        ("cyclonedx", "cyclonedx-bom-1.6.schema.json"),
        ("sarif", "sarif-2.1.0.schema.json"),
    ] {
        let (_, doc) = scan(&fx, &["--min-window", "0s", "--format", format]);
        if let Err(e) = or_skip!(validate(schema, &doc)) {
            panic!("{format}: {e}");
        }
    }

    let (out, _) = scan(&fx, &["--fail-on", "loaded", "--format", "table"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let summary = out.stdout.lines().next().unwrap_or_default();
    assert!(
        summary.starts_with("4 vulnerabilities: 1 loaded, 2 linked, 1 installed only")
            || summary.starts_with("4 vulnerabilities: 1 executed, 2 linked, 1 installed only"),
        "{}",
        out.stdout
    );

    let (out, _) = scan(&fx, &["--explain", "CVE-2024-3094", "--format", "table"]);
    assert!(
        out.stdout.contains("evidence: loaded") || out.stdout.contains("evidence: executed"),
        "{}",
        out.stdout
    );

    // Without the process, nothing is loaded: --fail-on loaded passes.
    holder.signal(9);
    let _ = holder.wait_exit(Duration::from_secs(10));
    let (out, doc) = scan(&fx, &["--fail-on", "loaded", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(finding(&doc, "liblzma5")["evidence"], "linked", "{doc:#}");
}

#[test]
fn unused_lists_installed_only_and_idle_linked_packages() {
    let fx = or_skip!(fixture());
    let db = fx.db.path().join("vulns.sqlite");
    let store = fx.db.path().join("no-observations.sqlite");
    let out = inuse().run([
        "unused",
        "--root",
        fx.root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for expected in ["gnupg-tools", "bzip2", "libbz2-1.0", "liblzma5"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let gnupg = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gnupg-tools")
        .unwrap();
    assert_eq!(gnupg["vulnerabilities"], 1);
}

/// A library `inuse trace` probed and in which nothing was entered is listed by `unused`.
#[test]
fn unused_lists_libraries_traced_without_a_function_entered() {
    // Whether tracing can work here is established without asking inuse (root, a tracefs
    // of our own, uprobe events): past this line any failure of `inuse trace` is a failure.
    let _tracefs = or_skip!(inuse_testkit::TracefsMount::new());
    let build = tempfile::tempdir().unwrap();
    let lib = or_skip!(
        CBuild::new(build.path())
            .source("int inuse_idle_one(int x){ return x + 1; }\nint inuse_idle_two(int x){ return x * 2; }\n")
            .shared("libinuseidle.so.1")
            .soname("libinuseidle.so.1")
            .build()
    );
    let store = build.path().join("observations.sqlite");
    let out = inuse().run([
        "trace".as_ref(),
        "--library".as_ref(),
        lib.as_os_str(),
        "--duration".as_ref(),
        "1s".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let out = inuse().run([
        "unused".as_ref(),
        "--no-live".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--db".as_ref(),
        build.path().join("no-vulns.sqlite").as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let listed = doc["traced_not_entered"].as_array().unwrap();
    let real = std::fs::canonicalize(&lib).unwrap();
    let entry = listed
        .iter()
        .find(|l| Path::new(l["path"].as_str().unwrap()) == real)
        .unwrap_or_else(|| panic!("{} not listed: {listed:?}", real.display()));
    assert_eq!(entry["functions_probed"], 2, "{entry}");
}
