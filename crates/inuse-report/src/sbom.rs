//! Software bills of materials: the document as data ([`Sbom`]) and its two renderings,
//! CycloneDX 1.6 and SPDX 2.3 JSON.
//!
//! The SBOM of a root is built elsewhere (`inuse-scan` reads the package databases and follows
//! the loader through the ELF files); here it is only data, and the writers are pure functions
//! of it: the time and the serial number are arguments, so the same data always gives the same
//! bytes. Both formats are checked against their official schemas in this crate's tests
//! (`../shared/data/schemas`), like the report formats.
//!
//! What makes the document more than a package list is its dependency graph. Each edge says
//! where it comes from: `linkage` (a file of the dependent needs a library the dependency
//! owns), `declared` (the dependent's database says so), or both. CycloneDX carries that in
//! component properties (`inuse:depends-on:linkage`, `inuse:depends-on:declared`), SPDX in
//! relationship comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use inuse_model::time::rfc3339;

/// The SBOM of one root.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sbom {
    /// The root directory the document describes, as the user named it.
    pub root: PathBuf,
    /// The root's operating system, from its os-release; `None` when it has none.
    pub os: Option<OperatingSystem>,
    /// The components, one per package URL.
    pub components: Vec<Component>,
    /// Dependency edges: (dependent, dependency) indices into [`Sbom::components`].
    pub edges: BTreeMap<(usize, usize), Edge>,
}

/// A root's operating system, as os-release names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatingSystem {
    /// `ID` (`debian`).
    pub id: String,
    /// `VERSION_ID` (`12`).
    pub version_id: Option<String>,
    /// `PRETTY_NAME` (`Debian GNU/Linux 12 (bookworm)`).
    pub pretty_name: Option<String>,
}

/// A component: one or more packages with the same package URL (an embedded Go module found
/// in several programs is one component).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Package URL; also the component's CycloneDX `bom-ref`.
    pub purl: String,
    /// Where the package facts come from (`dpkg`, `rpm`, `apk`, `go`, `cargo`, `elf-note`).
    pub manager: String,
    /// OSV ecosystem, when known.
    pub ecosystem: Option<String>,
    /// One-line description.
    pub description: Option<String>,
    /// The licence as the database declares it (not necessarily an SPDX expression).
    pub license: Option<String>,
    /// Source package name (empty when unknown).
    pub source_name: String,
    /// Source package version.
    pub source_version: String,
    /// The files carrying it, for packages embedded in ELF files.
    pub files: Vec<PathBuf>,
}

/// Why one component depends on another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    /// An example of the linkage: (file of the dependent, library of the dependency).
    pub linkage: Option<(PathBuf, PathBuf)>,
    /// The dependent's database declares the dependency.
    pub declared: bool,
}

/// The formats an [`Sbom`] renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// Renders `sbom`, stamped with `now` (Unix seconds) and the serial number `serial` (a UUID,
/// see [`Sbom::content_serial`]), as pretty-printed JSON ending in a newline.
pub fn render(sbom: &Sbom, format: Format, now: i64, serial: &str) -> String {
    let timestamp = rfc3339(now);
    let text = match format {
        Format::CycloneDx => serde_json::to_string_pretty(&cyclonedx(sbom, &timestamp, serial)),
        Format::Spdx => {
            let names = SpdxNames::new(sbom);
            serde_json::to_string_pretty(&spdx(sbom, &names, &timestamp, serial))
        }
    };
    // Every key is a string and every path was made text: serialising cannot fail.
    let mut text = text.unwrap_or_default();
    text.push('\n');
    text
}

impl Sbom {
    /// A v4-shaped UUID derived from the document's content and time, for reproducible builds
    /// (`SOURCE_DATE_EPOCH`): the same root at the same time gets the same serial.
    pub fn content_serial(&self, now: i64) -> String {
        // Two independent FNV-1a streams give 128 bits; this is an identifier, not a MAC.
        let mut h = [0xcbf2_9ce4_8422_2325u64, 0x6c62_272e_07bb_0142u64];
        let mut feed = |bytes: &[u8]| {
            for &b in bytes.iter().chain(b"\0") {
                for (i, x) in h.iter_mut().enumerate() {
                    *x = (*x ^ u64::from(b) ^ i as u64).wrapping_mul(0x0000_0100_0000_01b3);
                }
            }
        };
        feed(rfc3339(now).as_bytes());
        feed(self.root.as_os_str().as_encoded_bytes());
        for c in &self.components {
            feed(c.purl.as_bytes());
        }
        for (from, to) in self.edges.keys() {
            feed(&(*from as u64).to_le_bytes());
            feed(&(*to as u64).to_le_bytes());
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

    /// The operating system's name, version and description, from os-release or the root's
    /// path.
    fn os_name(&self) -> (String, String, String) {
        match &self.os {
            Some(os) => (
                os.id.clone(),
                os.version_id.clone().unwrap_or_default(),
                os.pretty_name.clone().unwrap_or_else(|| os.id.clone()),
            ),
            None => (
                self.root.display().to_string(),
                String::new(),
                String::from("root filesystem"),
            ),
        }
    }
}

/// A path as JSON text. Paths are bytes; one that is not UTF-8 (a hostile file name) is
/// written with replacement characters rather than failing the whole document.
fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The tool that wrote the document.
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A CycloneDX `name`/`value` property.
#[derive(Serialize)]
struct Property<'a> {
    name: &'a str,
    value: String,
}

impl<'a> Property<'a> {
    fn new(name: &'a str, value: impl Into<String>) -> Self {
        Property {
            name,
            value: value.into(),
        }
    }
}

/// A CycloneDX 1.6 document.
#[derive(Serialize)]
struct CdxDocument<'a> {
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    version: u32,
    metadata: CdxMetadata<'a>,
    components: Vec<CdxComponent<'a>>,
    dependencies: Vec<CdxDependency<'a>>,
}

#[derive(Serialize)]
struct CdxMetadata<'a> {
    timestamp: &'a str,
    tools: CdxTools,
    component: CdxOperatingSystem,
    properties: [Property<'a>; 1],
}

#[derive(Serialize)]
struct CdxTools {
    components: [CdxTool; 1],
}

#[derive(Serialize)]
struct CdxTool {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct CdxOperatingSystem {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: &'static str,
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

#[derive(Serialize)]
struct CdxComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: &'a str,
    name: &'a str,
    version: &'a str,
    purl: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    licenses: Option<[CdxLicenseChoice<'a>; 1]>,
    properties: Vec<Property<'a>>,
}

#[derive(Serialize)]
struct CdxLicenseChoice<'a> {
    license: CdxLicense<'a>,
}

#[derive(Serialize)]
struct CdxLicense<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct CdxDependency<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    #[serde(rename = "dependsOn")]
    depends_on: BTreeSet<&'a str>,
}

/// The CycloneDX 1.6 document of `sbom`.
fn cyclonedx<'a>(sbom: &'a Sbom, timestamp: &'a str, serial: &str) -> CdxDocument<'a> {
    let (os, os_version, pretty) = sbom.os_name();
    let n = sbom.components.len();
    let mut depends: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); n];
    let mut edge_properties: Vec<Vec<Property<'_>>> = (0..n).map(|_| Vec::new()).collect();
    for (&(from, to), e) in &sbom.edges {
        let target = sbom.components[to].purl.as_str();
        depends[from].insert(target);
        if e.linkage.is_some() {
            edge_properties[from].push(Property::new("inuse:depends-on:linkage", target));
        }
        if e.declared {
            edge_properties[from].push(Property::new("inuse:depends-on:declared", target));
        }
    }
    let components = sbom
        .components
        .iter()
        .zip(edge_properties)
        .map(|(c, edges)| {
            let mut properties = vec![Property::new("inuse:manager", c.manager.as_str())];
            if let Some(eco) = &c.ecosystem {
                properties.push(Property::new("inuse:ecosystem", eco.as_str()));
            }
            for f in &c.files {
                properties.push(Property::new("inuse:file", text(f)));
            }
            properties.extend(edges);
            CdxComponent {
                kind: "library",
                bom_ref: &c.purl,
                name: &c.name,
                version: &c.version,
                purl: &c.purl,
                description: c.description.as_deref(),
                licenses: c.license.as_deref().map(|name| {
                    [CdxLicenseChoice {
                        license: CdxLicense { name },
                    }]
                }),
                properties,
            }
        })
        .collect();
    let dependencies = sbom
        .components
        .iter()
        .zip(depends)
        .map(|(c, depends_on)| CdxDependency {
            reference: &c.purl,
            depends_on,
        })
        .collect();
    CdxDocument {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{serial}"),
        version: 1,
        metadata: CdxMetadata {
            timestamp,
            tools: CdxTools {
                components: [CdxTool {
                    kind: "application",
                    name: "inuse",
                    version: TOOL_VERSION,
                }],
            },
            component: CdxOperatingSystem {
                kind: "operating-system",
                bom_ref: "inuse:root",
                name: os,
                description: pretty,
                version: (!os_version.is_empty()).then_some(os_version),
            },
            properties: [Property::new("inuse:root", text(&sbom.root))],
        },
        components,
        dependencies,
    }
}

/// An SPDX 2.3 document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDocument<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: SpdxCreationInfo<'a>,
    packages: Vec<SpdxPackage<'a>>,
    relationships: Vec<SpdxRelationship<'a>>,
}

#[derive(Serialize)]
struct SpdxCreationInfo<'a> {
    created: &'a str,
    creators: [String; 1],
}

/// An SPDX package: the operating system (with a purpose and a description) or a component
/// (with a purl and what the database says).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    name: &'a str,
    version_info: &'a str,
    download_location: &'static str,
    files_analyzed: bool,
    license_concluded: &'static str,
    license_declared: &'a str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_refs: Option<[SpdxExternalRef<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_comments: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxRelationship<'a> {
    spdx_element_id: &'a str,
    relationship_type: &'static str,
    related_spdx_element: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
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

const SPDX_OS_ID: &str = "SPDXRef-OperatingSystem";

/// The names an SPDX document is made of besides the [`Sbom`]'s own.
struct SpdxNames {
    os: String,
    os_version: String,
    pretty: String,
    /// One identifier per component.
    ids: Vec<String>,
}

impl SpdxNames {
    fn new(sbom: &Sbom) -> Self {
        let (os, os_version, pretty) = sbom.os_name();
        let ids = sbom
            .components
            .iter()
            .enumerate()
            .map(|(i, c)| spdx_id(i, &c.name))
            .collect();
        SpdxNames {
            os,
            os_version,
            pretty,
            ids,
        }
    }
}

/// The SPDX 2.3 document of `sbom`.
fn spdx<'a>(
    sbom: &'a Sbom,
    names: &'a SpdxNames,
    timestamp: &'a str,
    serial: &str,
) -> SpdxDocument<'a> {
    let mut packages = vec![SpdxPackage {
        spdx_id: SPDX_OS_ID,
        name: &names.os,
        version_info: &names.os_version,
        download_location: "NOASSERTION",
        files_analyzed: false,
        license_concluded: "NOASSERTION",
        license_declared: "NOASSERTION",
        copyright_text: "NOASSERTION",
        primary_package_purpose: Some("OPERATING_SYSTEM"),
        description: Some(&names.pretty),
        external_refs: None,
        license_comments: None,
        summary: None,
        source_info: None,
        comment: None,
    }];
    let mut relationships = vec![SpdxRelationship {
        spdx_element_id: "SPDXRef-DOCUMENT",
        relationship_type: "DESCRIBES",
        related_spdx_element: SPDX_OS_ID,
        comment: None,
    }];
    for (c, id) in sbom.components.iter().zip(&names.ids) {
        let (license_declared, license_comments) = match &c.license {
            Some(l) if spdx_expression(l) => (l.as_str(), None),
            Some(l) => ("NOASSERTION", Some(format!("declared licence: {l}"))),
            None => ("NOASSERTION", None),
        };
        let source_info = (!c.source_name.is_empty() && c.source_name != c.name).then(|| {
            format!(
                "built from source package {} {}",
                c.source_name, c.source_version
            )
        });
        let comment = (!c.files.is_empty()).then(|| {
            let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
            format!("{} data embedded in {}", c.manager, files.join(", "))
        });
        packages.push(SpdxPackage {
            spdx_id: id,
            name: &c.name,
            version_info: &c.version,
            download_location: "NOASSERTION",
            files_analyzed: false,
            license_concluded: "NOASSERTION",
            license_declared,
            copyright_text: "NOASSERTION",
            primary_package_purpose: None,
            description: None,
            external_refs: Some([SpdxExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: &c.purl,
            }]),
            license_comments,
            summary: c.description.as_deref(),
            source_info,
            comment,
        });
        relationships.push(SpdxRelationship {
            spdx_element_id: SPDX_OS_ID,
            relationship_type: "CONTAINS",
            related_spdx_element: id,
            comment: None,
        });
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
        relationships.push(SpdxRelationship {
            spdx_element_id: &names.ids[from],
            relationship_type: "DEPENDS_ON",
            related_spdx_element: &names.ids[to],
            comment: Some(why.join("; ")),
        });
    }
    let name = format!("inuse-sbom-{}", names.os);
    SpdxDocument {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        document_namespace: format!("https://example.invalid/inuse/spdx/{name}-{serial}"),
        name,
        creation_info: SpdxCreationInfo {
            created: timestamp,
            creators: [format!("Tool: inuse-{TOOL_VERSION}")],
        },
        packages,
        relationships,
    }
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

    #[test]
    fn spdx_ids_keep_only_letters_digits_dots_and_dashes() {
        assert_eq!(spdx_id(3, "libc6"), "SPDXRef-Package-3-libc6");
        assert_eq!(
            spdx_id(0, "golang.org/x/net"),
            "SPDXRef-Package-0-golang.org-x-net"
        );
    }
}
