//! `inuse vulns` end to end: `inuse db import` of OSV records, a Debian 12 root written here
//! (dpkg status with liblzma5 built from xz-utils 5.6.1-1), the JSON contract and the table,
//! and the exit codes (1 findings, 0 none, 2 no database).

use std::path::Path;
use std::process::Command;

fn inuse(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(args)
        .env_remove("INUSE_DB")
        .output()
        .expect("run inuse");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn debian_root(dir: &Path, xz_version: &str) {
    write(
        &dir.join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    );
    write(
        &dir.join("var/lib/dpkg/status"),
        &format!(
            "Package: liblzma5\nStatus: install ok installed\nArchitecture: amd64\nSource: xz-utils\nVersion: {xz_version}\nDescription: x\n\n\
             Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\nDescription: x\n"
        ),
    );
}

#[test]
fn vulns_json_table_and_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(
        &d.join("osv/DSA-5649-1.json"),
        r#"{"id":"DSA-5649-1","modified":"2024-03-30T00:00:00Z","related":["CVE-2024-3094"],
        "summary":"xz-utils - security update",
        "affected":[{"package":{"ecosystem":"Debian:12","name":"xz-utils"},
          "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"5.5.1alpha-0.1"},{"fixed":"5.6.1+really5.4.5-1"}]}]}]}"#,
    );
    write(
        &d.join("osv/CVE-2024-3094.json"),
        r#"{"id":"CVE-2024-3094","modified":"2024-04-01T00:00:00Z","summary":"xz backdoor",
        "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]}"#,
    );
    let db = d.join("v.sqlite");
    let db_s = db.to_str().expect("utf-8");
    let (code, out, err) = inuse(&[
        "db",
        "--db",
        db_s,
        "import",
        d.join("osv").to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("2 records read: 2 added"), "{out}");

    let root = d.join("root");
    debian_root(&root, "5.6.1-1");
    let root_s = root.to_str().expect("utf-8");
    let (code, out, err) = inuse(&["vulns", "--root", root_s, "--db", db_s, "--format", "json"]);
    assert_eq!(code, Some(1), "findings: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["root"], root_s);
    assert_eq!(doc["ecosystem"], "Debian:12");
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{out}");
    let f = &findings[0];
    assert_eq!(f["id"], "CVE-2024-3094");
    assert_eq!(f["aliases"], serde_json::json!(["DSA-5649-1"]));
    // The package is the vocabulary's identity (inuse-model `PackageRef`).
    for (key, want) in [
        ("name", "liblzma5"),
        ("version", "5.6.1-1"),
        ("source_name", "xz-utils"),
        ("source_version", "5.6.1-1"),
        ("manager", "dpkg"),
        ("ecosystem", "Debian:12"),
    ] {
        assert_eq!(f["package"][key], want, "{key}: {}", f["package"]);
    }
    assert!(
        f["package"]["purl"]
            .as_str()
            .is_some_and(|p| p.starts_with("pkg:deb/debian/liblzma5@5.6.1-1")),
        "{}",
        f["package"]
    );
    assert_eq!(f["fixed_version"], "5.6.1+really5.4.5-1");
    assert_eq!(f["severity"]["label"], "critical");
    assert_eq!(f["severity"]["score"], 10.0);
    assert_eq!(
        f["severity"]["vector"],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    );
    assert_eq!(f["summary"], "xz backdoor");

    let (code, out, _) = inuse(&["vulns", "--root", root_s, "--db", db_s]);
    assert_eq!(code, Some(1));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("PACKAGE") && lines[0].contains("VULNERABILITY"),
        "{out}"
    );
    assert!(
        lines[1].contains("liblzma5")
            && lines[1].contains("CVE-2024-3094")
            && lines[1].contains("critical 10.0"),
        "{out}"
    );

    // Fixed: no findings, exit 0.
    let fixed = d.join("fixed");
    debian_root(&fixed, "5.6.1+really5.4.5-1");
    let (code, out, err) = inuse(&[
        "vulns",
        "--root",
        fixed.to_str().expect("utf-8"),
        "--db",
        db_s,
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["findings"], serde_json::json!([]));

    // No database: exit 2 with a message saying what to do.
    let (code, _, err) = inuse(&[
        "vulns",
        "--root",
        root_s,
        "--db",
        d.join("none").to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("inuse db import"), "{err}");
}
