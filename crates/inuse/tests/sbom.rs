//! `inuse sbom` as a user runs it: CycloneDX and SPDX documents of a fake Debian root (real
//! ELF files built with gcc, a dpkg database written here) and of this host, each validated
//! against the official schemas, and the dependency edges checked against what the real
//! tools say: `readelf -d` for each packaged ELF file's NEEDED entries, `dpkg-query -S` for
//! the package that ships each needed library, `dpkg-query -W` for the declared
//! dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use inuse_root::Root;
use inuse_testkit::schema::validate;
use inuse_testkit::{
    CBuild, FakeRoot, Skip, Verdict, dpkg_query_files, dpkg_query_search, dpkg_query_show,
    require_tool, run_bounded,
};
use serde_json::Value;

/// `readelf -dW FILE`'s NEEDED entries; `None` when it is not an ELF file.
fn readelf_needed(file: &Path) -> Result<Option<Vec<String>>, Skip> {
    let tool = require_tool("readelf")?;
    let out = run_bounded(
        Command::new(tool).arg("-dW").arg(file).env("LC_ALL", "C"),
        Duration::from_secs(60),
    )
    .map_err(|e| Skip::new(format!("cannot run readelf: {e}")))?;
    if !out.success() {
        return Ok(None);
    }
    Ok(Some(
        out.stdout
            .lines()
            .filter(|l| l.contains("(NEEDED)"))
            .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_owned()))
            .collect(),
    ))
}

/// Package edges as the tools give them, for the packages in `which` (all when `None`):
/// `linkage`, for every ELF file the package lists (`dpkg-query -L`, each path resolved
/// inside the root), to the packages that ship a file named like one of its NEEDED entries
/// (`dpkg-query -S '*/NAME'`), and `declared`, to the installed packages its `Depends` and
/// `Pre-Depends` name. Self edges are left out. Needed names shipped by several packages are
/// returned apart (dependent, candidates): only the loader's search decides between them.
struct ToolEdges {
    edges: BTreeSet<(String, String, String)>,
    ambiguous: Vec<(String, BTreeSet<String>)>,
}

fn edges_from_tools(root: &Path, which: Option<&[&str]>) -> Result<ToolEdges, Skip> {
    let admindir = root.join("var/lib/dpkg");
    let rows = match dpkg_query_show(&admindir, "${Package}\\t${Pre-Depends}, ${Depends}\\n")? {
        Verdict::Listed { rows, .. } => rows,
        Verdict::Refused(why) => panic!("dpkg-query refuses the database: {why}"),
    };
    let installed: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.split_once('\t').map(|(p, _)| p.to_owned()))
        .collect();
    let in_root = Root::open(root).expect("root");
    let mut kinds: BTreeMap<(String, String), BTreeSet<&str>> = BTreeMap::new();
    let mut ambiguous = Vec::new();
    for row in &rows {
        let (pkg, depends) = row.split_once('\t').expect("tab");
        if which.is_some_and(|w| !w.contains(&pkg)) {
            continue;
        }
        for dep in depends.split([',', '|']) {
            let dep = dep.split_whitespace().next().unwrap_or_default();
            let dep = dep.split(':').next().unwrap_or(dep);
            if installed.contains(dep) && dep != pkg {
                kinds
                    .entry((pkg.to_owned(), dep.to_owned()))
                    .or_default()
                    .insert("declared");
            }
        }
        let mut needed = BTreeSet::new();
        for path in dpkg_query_files(&admindir, pkg)? {
            let Ok(real) = in_root.canonicalize(Path::new(&path)) else {
                continue;
            };
            let host: PathBuf = root.join(real.strip_prefix("/").expect("absolute"));
            if !host.is_file() {
                continue;
            }
            needed.extend(readelf_needed(&host)?.unwrap_or_default());
        }
        let patterns: Vec<String> = needed.iter().map(|n| format!("*/{n}")).collect();
        let shipped = dpkg_query_search(&admindir, &patterns)?;
        for name in &needed {
            let owners: BTreeSet<String> = shipped
                .iter()
                .filter(|(p, _)| p.rsplit('/').next() == Some(name.as_str()))
                .flat_map(|(_, o)| o.iter().cloned())
                .filter(|o| o != pkg)
                .collect();
            match owners.len() {
                0 => {}
                1 => {
                    let dep = owners.into_iter().next().expect("one");
                    kinds
                        .entry((pkg.to_owned(), dep))
                        .or_default()
                        .insert("linkage");
                }
                _ => ambiguous.push((pkg.to_owned(), owners)),
            }
        }
    }
    let edges = kinds
        .into_iter()
        .map(|((a, b), k)| {
            let k: Vec<&str> = ["linkage", "declared"]
                .into_iter()
                .filter(|x| k.contains(x))
                .collect();
            (a, b, k.join("+"))
        })
        .collect();
    Ok(ToolEdges { edges, ambiguous })
}

fn sbom(root: &Path, format: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(["sbom", "--format", format, "--root"])
        .arg(root)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("inuse runs");
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn schema_ok(name: &str, doc: &Value) -> bool {
    match validate(name, doc) {
        Ok(Ok(())) => true,
        Ok(Err(errors)) => panic!("{name}: the document does not validate:\n{errors}"),
        Err(skip) => {
            skip.report();
            false
        }
    }
}

/// (dependent name, dependency name, kinds) from a CycloneDX document.
fn cdx_edges(doc: &Value) -> BTreeSet<(String, String, String)> {
    let comps = doc["components"].as_array().expect("components");
    let name_of = |r: &str| {
        comps
            .iter()
            .find(|c| c["bom-ref"] == r)
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("dangling ref {r}"))
    };
    let mut out = BTreeSet::new();
    for d in doc["dependencies"].as_array().expect("dependencies") {
        let from = d["ref"].as_str().expect("ref");
        let comp = comps.iter().find(|c| c["bom-ref"] == from).expect("ref");
        for to in d["dependsOn"].as_array().expect("dependsOn") {
            let to = to.as_str().expect("ref");
            let kinds: Vec<&str> = ["linkage", "declared"]
                .into_iter()
                .filter(|k| {
                    comp["properties"].as_array().is_some_and(|ps| {
                        ps.iter().any(|p| {
                            p["name"] == format!("inuse:depends-on:{k}") && p["value"] == to
                        })
                    })
                })
                .collect();
            out.insert((name_of(from), name_of(to), kinds.join("+")));
        }
    }
    out
}

/// A merged-/usr Debian-like root: libc6 (the host's glibc), libfoo1 (a library built here)
/// and app (a program needing libfoo.so.1; its stanza declares `Depends: libfoo1`), plus a
/// stray unowned library.
fn fake_debian() -> Option<FakeRoot> {
    let mut root = FakeRoot::new();
    root.merged_usr()
        .os_release("ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"fake Debian 12\"\n");
    if let Err(skip) = root.host_glibc() {
        skip.report();
        return None;
    }
    let build = tempfile::tempdir().expect("tempdir");
    let lib = match CBuild::new(build.path())
        .source("int foo(void) { return 42; }\n")
        .shared("libfoo.so.1")
        .soname("libfoo.so.1")
        .build()
    {
        Ok(l) => l,
        Err(skip) => {
            skip.report();
            return None;
        }
    };
    let app = CBuild::new(build.path())
        .source("int foo(void); int main(void) { return foo(); }\n")
        .needed_lib(&lib)
        .executable("app")
        .build()
        .ok()?;
    let ml = "/usr/lib/x86_64-linux-gnu";
    root.copy(&lib, format!("{ml}/libfoo.so.1"))
        .copy(&app, "/usr/bin/app")
        .copy(&lib, "/usr/local/lib/libstray.so.1");
    if let Err(skip) = root.ldconfig() {
        skip.report();
        return None;
    }
    root.write(
        "/var/lib/dpkg/status",
        "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\nMulti-Arch: same\n\n\
         Package: libfoo1\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nMulti-Arch: same\nSource: foo\n\n\
         Package: app\nStatus: install ok installed\nVersion: 2.0\nArchitecture: amd64\nDepends: libfoo1 (>= 1.0), libc6\n",
    )
    .write(
        "/var/lib/dpkg/info/libc6:amd64.list",
        "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n/lib64/ld-linux-x86-64.so.2\n",
    )
    .write(
        "/var/lib/dpkg/info/libfoo1:amd64.list",
        format!("/.\n/usr\n{ml}\n{ml}/libfoo.so.1\n"),
    )
    .write("/var/lib/dpkg/info/app.list", "/.\n/usr\n/usr/bin\n/usr/bin/app\n")
    // The multiarch layout: `Multi-Arch: same` lists are `NAME:ARCH.list` for dpkg too.
    .write("/var/lib/dpkg/info/format", "1\n");
    Some(root)
}

#[test]
fn fake_root_sbom_validates_and_has_linkage_and_declared_edges() {
    let Some(root) = fake_debian() else {
        return;
    };
    let cdx = sbom(root.path(), "cyclonedx-json");
    let edges = cdx_edges(&cdx);
    let tools = match edges_from_tools(root.path(), None) {
        Ok(t) => t,
        Err(skip) => {
            skip.report();
            return;
        }
    };
    assert!(tools.ambiguous.is_empty(), "{:?}", tools.ambiguous);
    assert_eq!(
        edges, tools.edges,
        "ours, then readelf -d + dpkg-query -S / -W"
    );
    // The fixture has what it is for: both kinds, and an edge of linkage alone.
    for kind in ["linkage+declared", "linkage"] {
        assert!(edges.iter().any(|(_, _, k)| k == kind), "{kind}: {edges:?}");
    }
    assert_eq!(cdx["metadata"]["component"]["name"], "debian");
    assert_eq!(cdx["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    // Reproducible: the same input and SOURCE_DATE_EPOCH give the same document.
    assert_eq!(sbom(root.path(), "cyclonedx-json"), cdx);
    schema_ok("cyclonedx-bom-1.6.schema.json", &cdx);

    let spdx = sbom(root.path(), "spdx-json");
    let packages = spdx["packages"].as_array().expect("packages");
    let id_of = |name: &str| {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["SPDXID"].clone())
            .expect(name)
    };
    let rels = spdx["relationships"].as_array().expect("relationships");
    let dep = rels
        .iter()
        .find(|r| {
            r["relationshipType"] == "DEPENDS_ON"
                && r["spdxElementId"] == id_of("libfoo1")
                && r["relatedSpdxElement"] == id_of("libc6")
        })
        .expect("libfoo1 DEPENDS_ON libc6");
    assert!(
        dep["comment"]
            .as_str()
            .is_some_and(|c| c.contains("/usr/lib/x86_64-linux-gnu/libfoo.so.1 needs")),
        "{dep}"
    );
    assert!(
        rels.iter()
            .any(|r| r["relationshipType"] == "DESCRIBES"
                && r["spdxElementId"] == "SPDXRef-DOCUMENT")
    );
    schema_ok("spdx-2.3.schema.json", &spdx);
}

#[test]
fn host_sbom_validates_and_has_the_xz_edge() {
    let cdx = sbom(Path::new("/"), "cyclonedx-json");
    let comps = cdx["components"].as_array().expect("components");
    assert!(!comps.is_empty(), "no components on this host");
    let spdx = sbom(Path::new("/"), "spdx-json");
    // Both formats describe the same packages.
    assert_eq!(
        spdx["packages"].as_array().expect("packages").len(),
        comps.len() + 1
    );
    // libsystemd0's linkage edges (it linked liblzma5, the xz backdoor's way in) against
    // readelf -d and dpkg -S over the host's database.
    let installed = |name: &str| comps.iter().any(|c| c["name"] == name);
    if installed("libsystemd0") {
        let tools = match edges_from_tools(Path::new("/"), Some(&["libsystemd0"])) {
            Ok(t) => t,
            Err(skip) => {
                skip.report();
                return;
            }
        };
        let ours: BTreeSet<String> = cdx_edges(&cdx)
            .into_iter()
            .filter(|(a, _, k)| a == "libsystemd0" && k.contains("linkage"))
            .map(|(_, b, _)| b)
            .collect();
        let sure: BTreeSet<String> = tools
            .edges
            .iter()
            .filter(|(_, _, k)| k.contains("linkage"))
            .map(|(_, b, _)| b.clone())
            .collect();
        assert!(!sure.is_empty(), "readelf finds no library of libsystemd0");
        // A name shipped by several packages (libc.so.6 by libc6, libc6-i386, ...): the
        // loader picks one of them.
        let mut may = sure.clone();
        for (_, candidates) in &tools.ambiguous {
            assert!(
                candidates.iter().any(|c| ours.contains(c)),
                "none of {candidates:?} in {ours:?}"
            );
            may.extend(candidates.iter().cloned());
        }
        assert!(sure.is_subset(&ours), "ours {ours:?}, the tools' {sure:?}");
        assert!(ours.is_subset(&may), "ours {ours:?}, the tools' {may:?}");
    } else {
        Skip::new("libsystemd0 is not installed here").report();
    }
    schema_ok("cyclonedx-bom-1.6.schema.json", &cdx);
    schema_ok("spdx-2.3.schema.json", &spdx);
}

#[test]
fn sbom_root_that_does_not_exist_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(["sbom", "--root", "/nonexistent/inuse-root"])
        .output()
        .expect("inuse runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
