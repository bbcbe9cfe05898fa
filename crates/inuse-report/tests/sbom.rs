//! The SBOM writers as a library: both formats validate against their official schemas for a
//! document with every kind of component and edge (and for an empty one), say why each edge
//! exists, keep licence fields honest, and give the same bytes for the same data.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use inuse_report::sbom::{Component, Edge, Format, OperatingSystem, Sbom, render};
use inuse_testkit::or_skip;
use inuse_testkit::schema::validate;
use serde_json::Value;

const NOW: i64 = 1_700_000_000;
const SERIAL: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

fn component(name: &str, manager: &str) -> Component {
    Component {
        name: name.into(),
        version: "1.0-1".into(),
        purl: format!("pkg:deb/debian/{name}@1.0-1?arch=amd64&distro=debian-12"),
        manager: manager.into(),
        ecosystem: Some("Debian:12".into()),
        source_name: name.into(),
        source_version: "1.0-1".into(),
        ..Default::default()
    }
}

/// libc6 (plain), app (description, a licence that is not an SPDX expression, built from
/// another source package), libfoo1 (an SPDX expression), and a Go module embedded in two
/// programs, whose name is not a valid SPDX identifier as it stands. Edges: app -> libfoo1
/// linked and declared, app -> libc6 linked, libfoo1 -> libc6 declared, the Go module ->
/// libc6 linked.
fn sample() -> Sbom {
    let libc = component("libc6", "dpkg");
    let mut app = component("app", "dpkg");
    app.description = Some("an application".into());
    app.license = Some("GPLv2+ and BSD".into());
    app.source_name = "app-src".into();
    app.source_version = "1.0".into();
    let mut libfoo = component("libfoo1", "dpkg");
    libfoo.license = Some("Apache-2.0 OR MIT".into());
    let mut module = component("golang.org/x/net", "go");
    module.purl = "pkg:golang/golang.org/x/net@v0.23.0".into();
    module.ecosystem = Some("Go".into());
    module.source_name = String::new();
    module.files = vec!["/usr/bin/one".into(), "/usr/bin/two".into()];
    let linkage = |file: &str, lib: &str| Edge {
        linkage: Some((file.into(), lib.into())),
        declared: false,
    };
    let mut edges = BTreeMap::new();
    edges.insert(
        (1, 2),
        Edge {
            declared: true,
            ..linkage("/usr/bin/app", "/usr/lib/libfoo.so.1")
        },
    );
    edges.insert((1, 0), linkage("/usr/bin/app", "/usr/lib/libc.so.6"));
    edges.insert(
        (2, 0),
        Edge {
            linkage: None,
            declared: true,
        },
    );
    edges.insert((3, 0), linkage("/usr/bin/one", "/usr/lib/libc.so.6"));
    Sbom {
        root: "/srv/root".into(),
        os: Some(OperatingSystem {
            id: "debian".into(),
            version_id: Some("12".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        }),
        components: vec![libc, app, libfoo, module],
        edges,
    }
}

fn doc(sbom: &Sbom, format: Format) -> Value {
    serde_json::from_str(&render(sbom, format, NOW, SERIAL)).unwrap()
}

fn schema(format: Format) -> &'static str {
    match format {
        Format::CycloneDx => "cyclonedx-bom-1.6.schema.json",
        Format::Spdx => "spdx-2.3.schema.json",
    }
}

#[test]
fn both_formats_validate_with_and_without_an_operating_system() {
    let bare = Sbom {
        root: "/tmp/empty".into(),
        ..Default::default()
    };
    for sbom in [sample(), bare] {
        for format in [Format::CycloneDx, Format::Spdx] {
            let d = doc(&sbom, format);
            if let Err(e) = or_skip!(validate(schema(format), &d)) {
                panic!("{format:?} invalid:\n{e}\n{d:#}");
            }
        }
    }
}

/// The validator must reject a broken document, or the test above proves nothing.
#[test]
fn the_validator_rejects_broken_sbom_documents() {
    let mut d = doc(&sample(), Format::CycloneDx);
    d["components"][0]["type"] = "gadget".into();
    assert!(or_skip!(validate(schema(Format::CycloneDx), &d)).is_err());
    let mut d = doc(&sample(), Format::Spdx);
    d["relationships"][0]["relationshipType"] = "LIKES".into();
    assert!(or_skip!(validate(schema(Format::Spdx), &d)).is_err());
}

/// (dependent, dependency, kinds) from the CycloneDX properties.
fn cdx_edges(d: &Value) -> Vec<(String, String, String)> {
    let comps = d["components"].as_array().unwrap();
    let name = |purl: &str| {
        comps
            .iter()
            .find(|c| c["bom-ref"] == purl)
            .unwrap_or_else(|| panic!("dangling {purl}"))["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut out = Vec::new();
    for dep in d["dependencies"].as_array().unwrap() {
        let from = dep["ref"].as_str().unwrap();
        let comp = comps.iter().find(|c| c["bom-ref"] == from).unwrap();
        for to in dep["dependsOn"].as_array().unwrap() {
            let kinds: Vec<&str> =
                ["linkage", "declared"]
                    .into_iter()
                    .filter(|k| {
                        comp["properties"].as_array().unwrap().iter().any(|p| {
                            p["name"] == format!("inuse:depends-on:{k}") && &p["value"] == to
                        })
                    })
                    .collect();
            out.push((name(from), name(to.as_str().unwrap()), kinds.join("+")));
        }
    }
    out.sort();
    out
}

#[test]
fn cyclonedx_says_why_each_edge_exists() {
    let d = doc(&sample(), Format::CycloneDx);
    let want: Vec<(String, String, String)> = [
        ("app", "libc6", "linkage"),
        ("app", "libfoo1", "linkage+declared"),
        ("golang.org/x/net", "libc6", "linkage"),
        ("libfoo1", "libc6", "declared"),
    ]
    .iter()
    .map(|(a, b, k)| (a.to_string(), b.to_string(), k.to_string()))
    .collect();
    assert_eq!(cdx_edges(&d), want);
    // Every component has a dependencies entry, even without dependencies.
    assert_eq!(d["dependencies"].as_array().unwrap().len(), 4);
    assert_eq!(d["serialNumber"], format!("urn:uuid:{SERIAL}"));
    assert_eq!(d["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(d["metadata"]["component"]["version"], "12");
    let module = &d["components"][3];
    let files: Vec<&Value> = module["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "inuse:file")
        .map(|p| &p["value"])
        .collect();
    assert_eq!(files, ["/usr/bin/one", "/usr/bin/two"]);
    // The database's licence text is kept as a name, not claimed to be an SPDX id.
    assert_eq!(
        d["components"][1]["licenses"][0]["license"]["name"],
        "GPLv2+ and BSD"
    );
}

#[test]
fn spdx_declares_only_licence_expressions_and_comments_each_dependency() {
    let d = doc(&sample(), Format::Spdx);
    let packages = d["packages"].as_array().unwrap();
    let package = |name: &str| packages.iter().find(|p| p["name"] == name).unwrap();
    assert_eq!(package("libfoo1")["licenseDeclared"], "Apache-2.0 OR MIT");
    assert_eq!(package("app")["licenseDeclared"], "NOASSERTION");
    assert_eq!(
        package("app")["licenseComments"],
        "declared licence: GPLv2+ and BSD"
    );
    assert_eq!(
        package("app")["sourceInfo"],
        "built from source package app-src 1.0"
    );
    assert!(package("libc6").get("sourceInfo").is_none());
    assert_eq!(
        package("golang.org/x/net")["SPDXID"],
        "SPDXRef-Package-3-golang.org-x-net"
    );
    assert_eq!(
        package("golang.org/x/net")["comment"],
        "go data embedded in /usr/bin/one, /usr/bin/two"
    );
    let comments: BTreeMap<(String, String), String> = d["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON")
        .map(|r| {
            let name = |id: &Value| {
                packages.iter().find(|p| &p["SPDXID"] == id).unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            };
            (
                (name(&r["spdxElementId"]), name(&r["relatedSpdxElement"])),
                r["comment"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let key = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(comments.len(), 4);
    assert_eq!(
        comments[&key("app", "libfoo1")],
        "linkage: /usr/bin/app needs /usr/lib/libfoo.so.1; declared: in the package database"
    );
    assert_eq!(
        comments[&key("libfoo1", "libc6")],
        "declared: in the package database"
    );
    // The operating system contains every component.
    let contained = d["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "CONTAINS")
        .count();
    assert_eq!(contained, 4);
}

#[test]
fn the_same_data_gives_the_same_bytes_and_serial() {
    let (a, b) = (sample(), sample());
    for format in [Format::CycloneDx, Format::Spdx] {
        assert_eq!(
            render(&a, format, NOW, SERIAL),
            render(&b, format, NOW, SERIAL)
        );
    }
    let serial = a.content_serial(NOW);
    assert_eq!(serial, b.content_serial(NOW));
    // Shaped like a v4 UUID.
    let parts: Vec<usize> = serial.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12]);
    assert!(serial.as_bytes()[14] == b'4' && b"89ab".contains(&serial.as_bytes()[19]));
    // Another time, another component or another edge: another serial.
    assert_ne!(a.content_serial(NOW + 1), serial);
    let mut c = sample();
    c.components[0].purl.push('x');
    assert_ne!(c.content_serial(NOW), serial);
    let mut c = sample();
    c.edges.remove(&(2, 0));
    assert_ne!(c.content_serial(NOW), serial);
}

/// A file name that is not UTF-8 (a hostile root) gives a document with a replacement
/// character, not a failure.
#[test]
fn a_file_name_that_is_not_utf8_still_gives_a_document() {
    let mut sbom = sample();
    sbom.components[3].files[0] = PathBuf::from(std::ffi::OsStr::from_bytes(b"/usr/bin/\xff\xfe"));
    for format in [Format::CycloneDx, Format::Spdx] {
        let text = render(&sbom, format, NOW, SERIAL);
        let d: Value = serde_json::from_str(&text).unwrap();
        assert!(
            text.contains("/usr/bin/\u{fffd}\u{fffd}"),
            "{format:?}: {d:#}"
        );
    }
}

/// Snapshots: any change in either document shows up as a diff of these files. Regenerate
/// with `UPDATE_SNAPSHOTS=1 cargo test -p inuse-report --test sbom`, then read the diff.
#[test]
fn sbom_documents_match_their_snapshots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for (name, format) in [
        ("sbom.cdx.json", Format::CycloneDx),
        ("sbom.spdx.json", Format::Spdx),
    ] {
        let text = render(&sample(), format, NOW, SERIAL);
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
