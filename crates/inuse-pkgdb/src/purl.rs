//! Package URLs (purl) for installed packages.
//!
//! SBOMs and vulnerability databases name packages by purl
//! (<https://github.com/package-url/purl-spec>, `PURL-SPECIFICATION.rst` and the `deb`, `rpm`
//! and `apk` types in `PURL-TYPES.rst`). Rules applied here:
//! - every component is percent-encoded except the unreserved set `A-Z a-z 0-9 . - _ ~`; so a
//!   Debian epoch `1:2.3` becomes `1%3A2.3` and `+` becomes `%2B`;
//! - qualifiers are sorted by key and empty values are omitted;
//! - deb: namespace is the distribution (`debian`, `ubuntu`); rpm: the vendor-like namespace
//!   (`redhat`, `suse`, `opensuse`, otherwise the os-release `ID`), version `VERSION-RELEASE`
//!   with the epoch as qualifier; apk: namespace `alpine` (or the distribution's `ID`);
//! - golang: the module path up to its last `/` is the namespace, its segments encoded one by
//!   one (`pkg:golang/golang.org/x/text@v0.14.0`); cargo: no namespace.

use std::fmt::Write;

use crate::{Distro, Manager};

/// Builds a purl from its parts. `qualifiers` need not be sorted.
pub fn build(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: Option<&str>,
    qualifiers: &[(&str, Option<&str>)],
) -> String {
    let mut out = format!("pkg:{ty}/");
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        // Each segment is encoded on its own: Go module paths keep their slashes.
        for seg in ns.split('/').filter(|s| !s.is_empty()) {
            encode_into(&mut out, seg);
            out.push('/');
        }
    }
    encode_into(&mut out, name);
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        out.push('@');
        encode_into(&mut out, v);
    }
    let mut qs: Vec<(&str, &str)> = qualifiers
        .iter()
        .filter_map(|&(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect();
    qs.sort_unstable();
    for (i, (k, v)) in qs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

/// Appends `s` percent-encoded.
fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The purl namespace used for rpm packages of a distribution.
fn rpm_namespace(distro: &Distro) -> &str {
    match distro.id.as_str() {
        "rhel" => "redhat",
        "rocky" => "rocky-linux",
        "mariner" | "azurelinux" => "microsoft",
        id if id.starts_with("opensuse") => "opensuse",
        "sles" | "sled" | "sles_sap" | "sle-micro" | "sl-micro" => "suse",
        id => id,
    }
}

/// The purl of an installed package. `version` is the package version as the manager prints
/// it; for rpm, `epoch` is given apart and `version` is `VERSION-RELEASE`.
pub(crate) fn for_package(
    manager: Manager,
    distro: Option<&Distro>,
    name: &str,
    version: &str,
    arch: &str,
    epoch: Option<&str>,
) -> String {
    let distro_q = distro.and_then(Distro::purl_distro);
    let arch = Some(arch);
    match manager {
        Manager::Dpkg => build(
            "deb",
            Some(distro.map_or("debian", |d| d.id.as_str())),
            name,
            Some(version),
            &[("arch", arch), ("distro", distro_q.as_deref())],
        ),
        Manager::Rpm => build(
            "rpm",
            distro.map(rpm_namespace),
            name,
            Some(version),
            &[
                ("arch", arch),
                ("epoch", epoch),
                ("distro", distro_q.as_deref()),
            ],
        ),
        _ => build(
            "apk",
            Some(distro.map_or("alpine", |d| d.id.as_str())),
            name,
            Some(version),
            &[("arch", arch), ("distro", distro_q.as_deref())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_epoch_and_plus() {
        let d = Distro::from_os_release("ID=debian\nVERSION_ID=12\n");
        assert_eq!(
            for_package(
                Manager::Dpkg,
                d.as_ref(),
                "libstdc++6",
                "1:12.2.0-14+deb12u1",
                "amd64",
                None
            ),
            "pkg:deb/debian/libstdc%2B%2B6@1%3A12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12"
        );
    }

    #[test]
    fn rpm_sorted_qualifiers() {
        let d = Distro::from_os_release("ID=\"rocky\"\nVERSION_ID=\"9.3\"\n");
        assert_eq!(
            for_package(
                Manager::Rpm,
                d.as_ref(),
                "bash",
                "5.1.8-6.el9",
                "x86_64",
                Some("1")
            ),
            "pkg:rpm/rocky-linux/bash@5.1.8-6.el9?arch=x86_64&distro=rocky-9.3&epoch=1"
        );
        assert_eq!(
            for_package(Manager::Rpm, None, "a", "1-2", "noarch", None),
            "pkg:rpm/a@1-2?arch=noarch"
        );
    }

    #[test]
    fn apk() {
        let d = Distro::from_os_release("ID=alpine\nVERSION_ID=3.19.1\n");
        assert_eq!(
            for_package(
                Manager::Apk,
                d.as_ref(),
                "musl",
                "1.2.4_git20230717-r4",
                "x86_64",
                None
            ),
            "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19"
        );
    }
}
