//! The JSON of the vocabulary: a documented example, byte for byte, and round trips.
//!
//! The example below is the one docs/formats.md shows for `"schema_version": 1`. If this test
//! fails, the wire format changed: either revert, or (for a change of meaning) bump
//! `SCHEMA_VERSION` and update the documentation with it.

use inuse_model::{
    ContainerRef, Evidence, Finding, ImageRef, Level, Manager, Match, Note, NoteCode, PackageRef,
    ProcessRef, SCHEMA_VERSION, Severity, Strength, VexStatus, Vulnerability, Window,
};

fn package() -> PackageRef {
    PackageRef {
        name: "liblzma5".into(),
        version: "5.6.0-0.1".into(),
        arch: "amd64".into(),
        source_name: "xz-utils".into(),
        source_version: "5.6.0-0.1".into(),
        manager: Manager::Dpkg,
        ecosystem: Some("Debian:13".into()),
        purl: "pkg:deb/debian/liblzma5@5.6.0-0.1?arch=amd64&distro=debian-13".into(),
    }
}

fn vulnerability() -> Vulnerability {
    Vulnerability {
        id: "CVE-2024-3094".into(),
        aliases: vec!["DSA-5649-1".into()],
        summary: "xz-utils -- backdoor in liblzma".into(),
        severity: Some(Severity {
            label: "critical".into(),
            score: Some(10.0),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H".into()),
        }),
        fixed_version: Some("5.6.1+really5.4.5-1".into()),
    }
}

fn finding() -> Finding {
    Finding {
        vulnerability: vulnerability(),
        package: package(),
        evidence: Evidence {
            level: Level::Executed,
            processes: vec![ProcessRef {
                pid: 812,
                exe: "/usr/sbin/sshd".into(),
                uid: 0,
                container: Some(ContainerRef::new("docker", "4f3a9c0e1b2d")),
                listening: vec!["tcp 0.0.0.0:22".into()],
                stale: None,
                privileged_binary: false,
            }],
            files: vec!["/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.0".into()],
            linked_by: vec!["/usr/sbin/sshd".into()],
            functions_hit: vec![],
            observable: true,
            unmeasurable: None,
            root: Some("/".into()),
        },
        vex: VexStatus::Affected,
        priority: 1,
    }
}

/// The documented example of a finding (docs/formats.md, "The vocabulary JSON").
const FINDING: &str = r#"{
  "id": "CVE-2024-3094",
  "aliases": [
    "DSA-5649-1"
  ],
  "evidence": "executed",
  "vex": "affected",
  "package": {
    "name": "liblzma5",
    "version": "5.6.0-0.1",
    "arch": "amd64",
    "source_name": "xz-utils",
    "source_version": "5.6.0-0.1",
    "manager": "dpkg",
    "ecosystem": "Debian:13",
    "purl": "pkg:deb/debian/liblzma5@5.6.0-0.1?arch=amd64&distro=debian-13"
  },
  "fixed_version": "5.6.1+really5.4.5-1",
  "severity": {
    "label": "critical",
    "score": 10.0,
    "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
  },
  "summary": "xz-utils -- backdoor in liblzma",
  "priority": 1,
  "processes": [
    {
      "pid": 812,
      "exe": "/usr/sbin/sshd",
      "uid": 0,
      "container": {
        "runtime": "docker",
        "id": "4f3a9c0e1b2d",
        "name": null,
        "image": null,
        "image_id": null,
        "pod": null,
        "namespace": null,
        "container_name": null
      },
      "listening": [
        "tcp 0.0.0.0:22"
      ],
      "stale": null,
      "privileged_binary": false
    }
  ],
  "files": [
    "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.0"
  ],
  "linked_by": [
    "/usr/sbin/sshd"
  ],
  "functions_hit": [],
  "observable": true,
  "unmeasurable": null,
  "root": "/"
}"#;

#[test]
fn a_finding_serialises_as_documented() {
    assert_eq!(SCHEMA_VERSION, 1);
    let json = serde_json::to_string_pretty(&finding()).expect("serialise");
    assert_eq!(json, FINDING);
}

#[test]
fn a_finding_round_trips() {
    let back: Finding = serde_json::from_str(FINDING).expect("parse");
    assert_eq!(back, finding());
    // Unmeasurable, linked: the level behind it comes back from the supports.
    let mut f = finding();
    f.evidence = Evidence {
        level: Level::Linked,
        linked_by: vec!["/usr/bin/xz".into()],
        unmeasurable: Some("2 process(es) could not be read".into()),
        observable: true,
        ..Default::default()
    };
    f.vex = VexStatus::UnderInvestigation;
    assert_eq!(f.strength(), Strength::Unmeasurable);
    let json = serde_json::to_string(&f).expect("serialise");
    assert!(json.contains(r#""evidence":"unmeasurable""#), "{json}");
    assert_eq!(serde_json::from_str::<Finding>(&json).expect("parse"), f);
}

#[test]
fn evidence_that_disagrees_with_its_supports_is_refused() {
    let lie = FINDING.replace(r#""unmeasurable": null"#, r#""unmeasurable": "denied""#);
    // Executed with a reason is still executed: the process was seen.
    assert!(serde_json::from_str::<Finding>(&lie).is_ok());
    let lie = FINDING.replace(r#""evidence": "executed""#, r#""evidence": "unmeasurable""#);
    assert!(serde_json::from_str::<Finding>(&lie).is_err());
    let unknown = FINDING.replace(r#""evidence": "executed""#, r#""evidence": "init-only""#);
    assert!(serde_json::from_str::<Finding>(&unknown).is_err());
}

#[test]
fn a_match_round_trips_with_a_null_summary() {
    let mut v = vulnerability();
    v.summary.clear();
    let m = Match {
        vulnerability: v,
        package: package(),
        records: vec!["DSA-5649-1".into()],
    };
    let json = serde_json::to_value(&m).expect("serialise");
    assert_eq!(json["summary"], serde_json::Value::Null);
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "aliases",
            "package",
            "fixed_version",
            "severity",
            "summary",
            "records"
        ]
    );
    assert_eq!(serde_json::from_value::<Match>(json).expect("parse"), m);
}

#[test]
fn the_other_types_round_trip() {
    let w = Window {
        start: 1_711_670_400,
        end: 1_711_756_800,
        sweeps: 12,
    };
    let json = serde_json::to_string(&w).expect("serialise");
    assert_eq!(
        json,
        r#"{"start":"2024-03-29T00:00:00Z","end":"2024-03-30T00:00:00Z","sweeps":12}"#
    );
    assert_eq!(serde_json::from_str::<Window>(&json).expect("parse"), w);
    let never = serde_json::to_string(&Window::default()).expect("serialise");
    assert_eq!(never, r#"{"start":null,"end":null,"sweeps":0}"#);

    let c = ContainerRef {
        image: Some(ImageRef {
            name: "docker.io/library/nginx:1.27".into(),
            digest: Some("sha256:0123".into()),
        }),
        ..ContainerRef::new("containerd", "abc")
    };
    let json = serde_json::to_string(&c).expect("serialise");
    assert_eq!(
        serde_json::from_str::<ContainerRef>(&json).expect("parse"),
        c
    );

    for m in Manager::ALL {
        let json = serde_json::to_string(&m).expect("serialise");
        assert_eq!(json, format!("\"{}\"", m.as_str()));
        assert_eq!(serde_json::from_str::<Manager>(&json).expect("parse"), m);
    }
    let n = Note::new(NoteCode::EcosystemNoData, "no Alpine:v3.20 data");
    let json = serde_json::to_string(&n).expect("serialise");
    assert_eq!(serde_json::from_str::<Note>(&json).expect("parse"), n);
    for v in [
        VexStatus::Affected,
        VexStatus::NotAffected,
        VexStatus::UnderInvestigation,
    ] {
        assert_eq!(
            serde_json::to_string(&v).expect("serialise"),
            format!("\"{}\"", v.as_str())
        );
    }
}
