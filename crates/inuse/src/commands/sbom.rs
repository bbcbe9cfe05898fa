//! `inuse sbom`: a software bill of materials of a root, CycloneDX 1.6 or SPDX 2.3 JSON.
//!
//! What makes it more than a package list is the dependency graph: besides the dependencies
//! the package databases declare (`Depends`, `Requires`, `D:`, cargo auditable's graph, a Go
//! main module's requirements), every edge the loader would really follow is derived from the
//! ELF files: a file of package A needs a library that package B owns, resolved exactly as
//! `inuse deps` resolves it (`inuse-ldso`), the library's real path mapped to its owner. Each
//! edge says where it comes from: `linkage`, `declared`, or both (CycloneDX component
//! properties `inuse:depends-on:linkage` / `inuse:depends-on:declared`, SPDX relationship
//! comments).
//!
//! The document is built once as data ([`Sbom`]) and rendered by two pure functions. For
//! reproducible output, `SOURCE_DATE_EPOCH` fixes the timestamp and, unless `INUSE_SBOM_UUID`
//! names one, derives the serial number from the content; otherwise the serial is a random
//! v4 UUID from the kernel.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_ldso::{Options, Resolver};
use inuse_pkgdb::elfscan::{self, ScanOptions};
use inuse_pkgdb::{Inventory, Manager, Package, PackageId};
use inuse_root::Root;
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::exit::Code;

/// Arguments of `inuse sbom`.
#[derive(Args, Debug)]
pub struct SbomArgs {
    /// Analyse this directory as the root filesystem; nothing outside it is read.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::CyclonedxJson)]
    format: Format,
}

/// Output formats of `inuse sbom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// CycloneDX 1.6 JSON.
    CyclonedxJson,
    /// SPDX 2.3 JSON.
    SpdxJson,
}

/// One dependency edge between components, and why it exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Edge {
    /// An example of the linkage: (file of the dependent, library of the dependency).
    linkage: Option<(PathBuf, PathBuf)>,
    /// The dependent's database declares it.
    declared: bool,
}

/// A component: one or more packages with the same purl (an embedded Go module found in
/// several programs is one component).
#[derive(Debug)]
struct Component<'a> {
    package: &'a Package,
    /// Files carrying it, for embedded packages.
    files: Vec<&'a Path>,
}

/// The document's data; the renderers are pure functions of it.
#[derive(Debug)]
struct Sbom<'a> {
    root: &'a Path,
    inv: &'a Inventory,
    components: Vec<Component<'a>>,
    /// (dependent, dependency) component indices.
    edges: BTreeMap<(usize, usize), Edge>,
    timestamp: String,
    uuid: String,
}

/// Runs `inuse sbom`.
pub fn run(args: &SbomArgs) -> anyhow::Result<Code> {
    let root = Root::open(&args.root)
        .with_context(|| format!("cannot open root {}", args.root.display()))?;
    let (mut inv, index) = Inventory::load_with_owners(&root);
    let scan = elfscan::scan_root(&root, &index, ScanOptions { read_owned: true });
    inv.add_embedded(scan.packages());
    for p in inv.problems.iter().chain(&scan.problems) {
        eprintln!("inuse: warning: {p}");
    }

    // Components: packages merged by purl.
    let mut by_purl: HashMap<&str, usize> = HashMap::new();
    let mut components: Vec<Component<'_>> = Vec::new();
    let mut component_of: Vec<usize> = Vec::with_capacity(inv.packages.len());
    for p in &inv.packages {
        let embedded = matches!(p.manager, Manager::Go | Manager::Cargo | Manager::ElfNote);
        let c = *by_purl.entry(p.purl.as_str()).or_insert_with(|| {
            components.push(Component {
                package: p,
                files: Vec::new(),
            });
            components.len() - 1
        });
        if embedded {
            components[c].files.push(&p.database);
        }
        component_of.push(c);
    }

    let mut edges: BTreeMap<(usize, usize), Edge> = BTreeMap::new();
    // Linkage: every edge of every resolution of every owned ELF file.
    let resolver = Resolver::new(&root, Options::default(), PathBuf::from("/"));
    let owned: Vec<&Path> = scan
        .files
        .iter()
        .filter(|f| f.owned)
        .map(|f| f.path.as_path())
        .collect();
    let owner = |path: &Path| -> Option<usize> {
        index
            .owners_of_real(path)
            .first()
            .map(|id| component_of[id.index()])
    };
    let linked: Vec<(usize, usize, PathBuf, PathBuf)> = owned
        .par_iter()
        .flat_map_iter(|&input| {
            let mut out = Vec::new();
            let Ok(res) = resolver.resolve(input) else {
                return out;
            };
            let node = |k: usize| -> &Path {
                if k == 0 {
                    input
                } else {
                    &res.objects[k - 1].realpath
                }
            };
            for o in &res.objects {
                let Some(to) = owner(&o.realpath) else {
                    continue;
                };
                for &k in &o.needed_by {
                    if let Some(from) = owner(node(k))
                        && from != to
                    {
                        out.push((from, to, node(k).to_owned(), o.realpath.clone()));
                    }
                }
            }
            out
        })
        .collect();
    for (from, to, file, lib) in linked {
        let e = edges.entry((from, to)).or_default();
        // Keep the smallest example, so the output does not depend on thread timing.
        if e.linkage
            .as_ref()
            .is_none_or(|l| (&file, &lib) < (&l.0, &l.1))
        {
            e.linkage = Some((file, lib));
        }
    }

    // Declared: dependency names mapped to packages of the same manager (and, for embedded
    // packages, of the same file); dpkg architectures must match unless one side is `all`.
    let mut by_name: HashMap<(Manager, &str), Vec<PackageId>> = HashMap::new();
    for (i, p) in inv.packages.iter().enumerate() {
        by_name
            .entry((p.manager, p.name.as_str()))
            .or_default()
            .push(PackageId(i as u32));
    }
    for (i, p) in inv.packages.iter().enumerate() {
        let embedded = matches!(p.manager, Manager::Go | Manager::Cargo | Manager::ElfNote);
        for dep in &p.depends {
            let Some(ids) = by_name.get(&(p.manager, dep.as_str())) else {
                continue;
            };
            let fits = |q: &Package| {
                if embedded {
                    q.database == p.database
                } else {
                    q.arch == p.arch || q.arch == "all" || p.arch == "all" || q.arch.is_empty()
                }
            };
            let mut targets: Vec<PackageId> = ids
                .iter()
                .copied()
                .filter(|&id| inv.get(id).is_some_and(fits))
                .collect();
            if targets.is_empty() && !embedded {
                targets = ids.clone();
            }
            for t in targets {
                let (from, to) = (component_of[i], component_of[t.index()]);
                if from != to {
                    edges.entry((from, to)).or_default().declared = true;
                }
            }
        }
    }

    let epoch = inuse_model::time::source_date_epoch();
    let timestamp = inuse_model::time::rfc3339(inuse_model::time::now());
    let mut sbom = Sbom {
        root: &args.root,
        inv: &inv,
        components,
        edges,
        timestamp,
        uuid: String::new(),
    };
    sbom.uuid = match std::env::var("INUSE_SBOM_UUID") {
        Ok(u) if !u.is_empty() => u,
        _ if epoch.is_some() => content_uuid(&sbom),
        _ => random_uuid()?,
    };

    let doc = match args.format {
        Format::CyclonedxJson => cyclonedx(&sbom),
        Format::SpdxJson => spdx(&sbom),
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok(if inv.problems.is_empty() {
        Code::Ok
    } else if inv.packages.is_empty() {
        Code::Error
    } else {
        Code::Partial
    })
}

/// A random v4 UUID from the kernel.
fn random_uuid() -> anyhow::Result<String> {
    let u = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .context("cannot read /proc/sys/kernel/random/uuid for the serial number")?;
    Ok(u.trim().to_owned())
}

/// A v4-shaped UUID derived from the document's content (reproducible builds).
fn content_uuid(sbom: &Sbom<'_>) -> String {
    // Two independent FNV-1a streams give 128 bits; this is an identifier, not a MAC.
    let mut h = [0xcbf2_9ce4_8422_2325u64, 0x6c62_272e_07bb_0142u64];
    let mut feed = |bytes: &[u8]| {
        for &b in bytes.iter().chain(b"\0") {
            for (i, x) in h.iter_mut().enumerate() {
                *x = (*x ^ u64::from(b) ^ i as u64).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    };
    feed(sbom.timestamp.as_bytes());
    feed(sbom.root.as_os_str().as_encoded_bytes());
    for c in &sbom.components {
        feed(c.package.purl.as_bytes());
    }
    for (from, to) in sbom.edges.keys() {
        feed(&from.to_le_bytes());
        feed(&to.to_le_bytes());
    }
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&h[0].to_be_bytes());
    b[8..].copy_from_slice(&h[1].to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The operating system's name and version, from os-release or the root's path.
fn os_name(sbom: &Sbom<'_>) -> (String, String, String) {
    match &sbom.inv.distro {
        Some(d) => (
            d.id.clone(),
            d.version_id.clone().unwrap_or_default(),
            d.pretty_name.clone().unwrap_or_else(|| d.id.clone()),
        ),
        None => (
            sbom.root.display().to_string(),
            String::new(),
            String::from("root filesystem"),
        ),
    }
}

fn bom_ref<'a>(c: &Component<'a>) -> &'a str {
    &c.package.purl
}

/// Renders CycloneDX 1.6 JSON.
fn cyclonedx(sbom: &Sbom<'_>) -> Value {
    let (os, os_version, pretty) = os_name(sbom);
    let mut components = Vec::with_capacity(sbom.components.len());
    let mut depends: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); sbom.components.len()];
    let mut props: Vec<Vec<Value>> = vec![Vec::new(); sbom.components.len()];
    for (&(from, to), e) in &sbom.edges {
        let target = bom_ref(&sbom.components[to]);
        depends[from].insert(target);
        if e.linkage.is_some() {
            props[from].push(json!({"name": "inuse:depends-on:linkage", "value": target}));
        }
        if e.declared {
            props[from].push(json!({"name": "inuse:depends-on:declared", "value": target}));
        }
    }
    for (i, c) in sbom.components.iter().enumerate() {
        let p = c.package;
        let mut properties = vec![json!({"name": "inuse:manager", "value": p.manager.as_str()})];
        if let Some(eco) = &p.ecosystem {
            properties.push(json!({"name": "inuse:ecosystem", "value": eco}));
        }
        for f in &c.files {
            properties.push(json!({"name": "inuse:file", "value": f}));
        }
        properties.append(&mut props[i]);
        let mut comp = json!({
            "type": "library",
            "bom-ref": bom_ref(c),
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
        });
        if let Some(d) = &p.description {
            comp["description"] = json!(d);
        }
        if let Some(l) = &p.license {
            comp["licenses"] = json!([{"license": {"name": l}}]);
        }
        comp["properties"] = Value::Array(properties);
        components.push(comp);
    }
    let dependencies: Vec<Value> = sbom
        .components
        .iter()
        .zip(&depends)
        .map(|(c, d)| json!({"ref": bom_ref(c), "dependsOn": d}))
        .collect();
    let mut os_component = json!({
        "type": "operating-system",
        "bom-ref": "inuse:root",
        "name": os,
        "description": pretty,
    });
    if !os_version.is_empty() {
        os_component["version"] = json!(os_version);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", sbom.uuid),
        "version": 1,
        "metadata": {
            "timestamp": sbom.timestamp,
            "tools": {"components": [{
                "type": "application",
                "name": "inuse",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": os_component,
            "properties": [{"name": "inuse:root", "value": sbom.root}],
        },
        "components": components,
        "dependencies": dependencies,
    })
}

/// An SPDX identifier: `SPDXRef-` and letters, digits, `.` and `-`.
fn spdx_id(i: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-Package-{i}-{clean}")
}

/// Whether `l` is shaped like an SPDX licence expression (ids, `+`, `AND`/`OR`/`WITH`,
/// parentheses). Database licence fields often are not (`GPLv2+ and BSD`): those are given
/// as `NOASSERTION` with the raw text in a comment, never as a false expression.
fn spdx_expression(l: &str) -> bool {
    let mut words = 0;
    for w in l.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        if w.is_empty() || matches!(w, "AND" | "OR" | "WITH") {
            continue;
        }
        let id = w.strip_suffix('+').unwrap_or(w);
        let ok = !id.is_empty()
            && id.starts_with(|c: char| c.is_ascii_alphabetic())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && id.contains(|c: char| c.is_ascii_uppercase());
        if !ok {
            return false;
        }
        words += 1;
    }
    words > 0 && !l.contains(" and ") && !l.contains(" or ")
}

/// Renders SPDX 2.3 JSON.
fn spdx(sbom: &Sbom<'_>) -> Value {
    let (os, os_version, pretty) = os_name(sbom);
    let os_id = "SPDXRef-OperatingSystem";
    let mut packages = vec![json!({
        "SPDXID": os_id,
        "name": os,
        "versionInfo": os_version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "OPERATING_SYSTEM",
        "description": pretty,
    })];
    let ids: Vec<String> = sbom
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| spdx_id(i, &c.package.name))
        .collect();
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": os_id,
    })];
    for (c, id) in sbom.components.iter().zip(&ids) {
        let p = c.package;
        let mut pkg = json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": p.purl,
            }],
        });
        match &p.license {
            Some(l) if spdx_expression(l) => pkg["licenseDeclared"] = json!(l),
            Some(l) => pkg["licenseComments"] = json!(format!("declared licence: {l}")),
            None => {}
        }
        if let Some(d) = &p.description {
            pkg["summary"] = json!(d);
        }
        if !p.source_name.is_empty() && p.source_name != p.name {
            pkg["sourceInfo"] = json!(format!(
                "built from source package {} {}",
                p.source_name, p.source_version
            ));
        }
        if !c.files.is_empty() {
            let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
            pkg["comment"] = json!(format!(
                "{} data embedded in {}",
                p.manager.as_str(),
                files.join(", ")
            ));
        }
        packages.push(pkg);
        relationships.push(json!({
            "spdxElementId": os_id,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    for (&(from, to), e) in &sbom.edges {
        let mut why = Vec::new();
        if let Some((file, lib)) = &e.linkage {
            why.push(format!(
                "linkage: {} needs {}",
                file.display(),
                lib.display()
            ));
        }
        if e.declared {
            why.push(String::from("declared: in the package database"));
        }
        relationships.push(json!({
            "spdxElementId": ids[from],
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": ids[to],
            "comment": why.join("; "),
        }));
    }
    let name = format!("inuse-sbom-{os}");
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!("https://example.invalid/inuse/spdx/{name}-{}", sbom.uuid),
        "creationInfo": {
            "created": sbom.timestamp,
            "creators": [format!("Tool: inuse-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_expressions() {
        assert!(spdx_expression("MIT"));
        assert!(spdx_expression("Apache-2.0 OR MIT"));
        assert!(spdx_expression(
            "GPL-2.0-or-later WITH Classpath-exception-2.0"
        ));
        assert!(!spdx_expression("GPLv2+ and BSD"));
        assert!(!spdx_expression("public domain"));
        assert!(!spdx_expression(""));
    }
}
