//! Every machine format validates against its official schema, for a report that has every
//! tier, every VEX status, with and without severities, fixes and aliases.
#![allow(clippy::unwrap_used)]

use inuse_report::{
    Evidence, Format, Level, PackageRef, ProcessRef, Report, Severity, Vulnerability, Window,
    render,
};
use inuse_testkit::or_skip;
use inuse_testkit::schema::validate;

fn sample() -> Report {
    let pkg = |n: &str| PackageRef {
        name: n.into(),
        version: "1.0-1".into(),
        arch: "amd64".into(),
        source_name: n.into(),
        source_version: "1.0-1".into(),
        manager: inuse_model::Manager::Dpkg,
        ecosystem: Some("Debian:12".into()),
        purl: format!("pkg:deb/debian/{n}@1.0-1?arch=amd64&distro=debian-12"),
    };
    let vuln = |id: &str, score: Option<f64>, fix: Option<&str>| Vulnerability {
        id: id.into(),
        aliases: if fix.is_some() {
            vec![format!("DSA-{id}")]
        } else {
            vec![]
        },
        summary: format!("summary of {id}"),
        severity: score.map(|s| Severity {
            label: "high".into(),
            score: Some(s),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
        }),
        fixed_version: fix.map(str::to_owned),
    };
    let proc_ = ProcessRef {
        pid: 42,
        exe: "/usr/sbin/sshd".into(),
        uid: 0,
        container: None,
        listening: vec!["tcp 127.0.0.1:2222".into()],
        stale: Some("deleted".into()),
        privileged_binary: false,
    };
    let ev = |f: &dyn Fn(&mut Evidence)| {
        let mut e = Evidence {
            observable: true,
            ..Default::default()
        };
        f(&mut e);
        e
    };
    Report::new(
        "/srv/root".into(),
        Some("Debian:12".into()),
        Window {
            start: 1_700_000_000,
            end: 1_700_090_000,
            sweeps: 12,
        },
        86_400,
        vec![
            (
                vuln("CVE-2024-3094", Some(10.0), Some("5.6.1+really5.4.5-1")),
                pkg("liblzma5"),
                ev(&|e| {
                    e.processes = vec![proc_.clone()];
                    e.files = vec!["/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1".into()];
                    e.functions_hit = vec!["lzma_code".into()];
                    e.level = Level::Function;
                }),
            ),
            (
                vuln("CVE-2000-0001", Some(5.0), None),
                pkg("libz"),
                ev(&|e| {
                    e.processes = vec![proc_.clone()];
                    e.level = Level::Executed;
                }),
            ),
            (
                vuln("CVE-2000-0002", None, Some("2.0")),
                pkg("libbz2-1.0"),
                ev(&|e| {
                    e.processes = vec![proc_.clone()];
                    e.level = Level::Loaded;
                }),
            ),
            (
                vuln("CVE-2000-0003", Some(7.5), Some("2.0")),
                pkg("bzip2"),
                ev(&|e| {
                    e.linked_by = vec!["/bin/bzip2".into()];
                    e.level = Level::Linked;
                }),
            ),
            (
                vuln("CVE-2000-0004", Some(3.1), None),
                pkg("libfoo"),
                ev(&|e| {
                    e.unmeasurable =
                        Some("2 processes could not be read: permission denied".into());
                }),
            ),
            (
                vuln("CVE-2000-0005", Some(9.8), None),
                pkg("scripts"),
                Evidence::default(),
            ),
        ],
    )
}

#[test]
fn openvex_validates() {
    let doc: serde_json::Value =
        serde_json::from_str(&render(&sample(), Format::OpenVex, 1_700_090_000)).unwrap();
    if let Err(e) = or_skip!(validate("openvex-0.2.0.schema.json", &doc)) {
        panic!("OpenVEX invalid:\n{e}\n{doc:#}");
    }
    let statuses: Vec<&str> = doc["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"affected")
            && statuses.contains(&"not_affected")
            && statuses.contains(&"under_investigation")
    );
}

#[test]
fn cyclonedx_validates() {
    let doc: serde_json::Value =
        serde_json::from_str(&render(&sample(), Format::CycloneDx, 1_700_090_000)).unwrap();
    if let Err(e) = or_skip!(validate("cyclonedx-bom-1.6.schema.json", &doc)) {
        panic!("CycloneDX invalid:\n{e}\n{doc:#}");
    }
    assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 6);
}

#[test]
fn sarif_validates() {
    let doc: serde_json::Value =
        serde_json::from_str(&render(&sample(), Format::Sarif, 1_700_090_000)).unwrap();
    if let Err(e) = or_skip!(validate("sarif-2.1.0.schema.json", &doc)) {
        panic!("SARIF invalid:\n{e}\n{doc:#}");
    }
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 6);
}

/// The validator itself must reject a broken document, or the tests above prove nothing.
#[test]
fn validator_rejects_invalid_documents() {
    let mut doc: serde_json::Value =
        serde_json::from_str(&render(&sample(), Format::OpenVex, 0)).unwrap();
    doc["statements"][0]["status"] = serde_json::json!("maybe");
    assert!(or_skip!(validate("openvex-0.2.0.schema.json", &doc)).is_err());
    let mut doc: serde_json::Value =
        serde_json::from_str(&render(&sample(), Format::CycloneDx, 0)).unwrap();
    doc["vulnerabilities"][0]["analysis"]["state"] = serde_json::json!("maybe");
    assert!(or_skip!(validate("cyclonedx-bom-1.6.schema.json", &doc)).is_err());
    let mut doc: serde_json::Value =
        serde_json::from_str(&render(&sample(), Format::Sarif, 0)).unwrap();
    doc["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(or_skip!(validate("sarif-2.1.0.schema.json", &doc)).is_err());
}

#[test]
fn table_groups_by_tier_and_leads_with_a_summary() {
    let out = render(&sample(), Format::Table { color: false }, 0);
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        "6 vulnerabilities: 1 function, 1 executed, 1 loaded, 1 linked, 1 installed only, 1 unmeasurable; window 25 h (12 sweeps)"
    );
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headers,
        [
            "== FUNCTION ==",
            "== EXECUTED ==",
            "== LOADED ==",
            "== LINKED ==",
            "== INSTALLED ==",
            "== UNMEASURABLE =="
        ]
    );
    assert!(!out.contains('\x1b'));
    assert!(render(&sample(), Format::Table { color: true }, 0).contains('\x1b'));
}

/// Snapshots of the human and JSON outputs: any change in what a user sees shows up as a diff
/// of these files. Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p inuse-report`, then read
/// the diff before committing it.
#[test]
fn outputs_match_their_snapshots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for (name, text) in [
        (
            "table.txt",
            render(&sample(), Format::Table { color: false }, 1_700_090_000),
        ),
        (
            "report.json",
            render(&sample(), Format::Json, 1_700_090_000),
        ),
    ] {
        let path = dir.join(name);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1 once)", path.display())
        });
        assert_eq!(
            text, expected,
            "{name} changed; if intended, regenerate with UPDATE_SNAPSHOTS=1"
        );
    }
}
