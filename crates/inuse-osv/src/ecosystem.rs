//! OSV ecosystem names, their releases, and the conventions each one matches by.
//!
//! Reference: `ecosystems.json` of ossf/osv-schema, and the records osv.dev publishes. An
//! ecosystem string is a base name, optionally followed by `:` and a release whose spelling
//! is the distribution's own:
//!
//! | ecosystem | release spelling | package name in records | version compared |
//! | --- | --- | --- | --- |
//! | `Debian:12` | major version | source package | source version (dpkg order) |
//! | `Ubuntu:22.04:LTS`, `Ubuntu:Pro:18.04:LTS` | `YY.MM`, `:LTS` only for LTS, `Pro:` for ESM | source package | source version (dpkg) |
//! | `Alpine:v3.19` | `v` + major.minor | origin (source) package | package version (apk) |
//! | `AlmaLinux:9`, `Rocky Linux:9` | major version | binary package | `[epoch:]version-release` (rpm) |
//! | `Red Hat:enterprise_linux:9::baseos` | a CPE | binary package | rpm |
//!
//! Pitfalls: the release is part of the identity (`Debian:11` data must never match a
//! `Debian:12` root), so ecosystems are compared as whole strings; but Red Hat scopes records
//! by repository (`::baseos`, `::appstream`) while a root only knows its OS CPE, so for Red Hat
//! every repository of the same product and version is in scope ([`Ecosystem::lookup_keys`]);
//! and Debian 3.0 to 6.0 are spelled `Debian:6.0` in OSV but `6` by os-release.

use std::fmt;

use inuse_version::Scheme;

/// Base ecosystem names defined by the OSV schema (`ecosystems.json`).
pub const KNOWN: &[&str] = &[
    "AlmaLinux",
    "Alpaquita",
    "Alpine",
    "Android",
    "Azure Linux",
    "BellSoft Hardened Containers",
    "Bioconductor",
    "Bitnami",
    "Chainguard",
    "CleanStart",
    "ConanCenter",
    "CRAN",
    "crates.io",
    "Debian",
    "Docker Hardened Images",
    "Echo",
    "FreeBSD",
    "GHC",
    "GitHub Actions",
    "Go",
    "Hackage",
    "Hex",
    "Julia",
    "Kubernetes",
    "Linux",
    "Mageia",
    "Maven",
    "MinimOS",
    "npm",
    "NuGet",
    "opam",
    "openEuler",
    "openSUSE",
    "OSS-Fuzz",
    "Packagist",
    "Photon OS",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "Root",
    "RubyGems",
    "SUSE",
    "SwiftURL",
    "TuxCare",
    "Ubuntu",
    "VSCode",
    "Wolfi",
];

/// Longest ecosystem string accepted.
const MAX_LEN: usize = 128;

/// A validated ecosystem string (`Debian:12`, `npm`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ecosystem(String);

/// How installed packages are identified for an ecosystem's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameBy {
    /// Records name the source package; compare the source version (Debian, Ubuntu, Alpine).
    Source,
    /// Records name the binary package; compare the binary version (rpm distributions).
    Binary,
}

impl Ecosystem {
    /// Validates an ecosystem string: a known base name, and a release of printable
    /// characters.
    pub fn parse(s: &str) -> Result<Ecosystem, &'static str> {
        Self::check(s)?;
        Ok(Ecosystem(s.to_owned()))
    }

    /// What [`Ecosystem::parse`] checks, without making an [`Ecosystem`]; `Ok` holds the
    /// ecosystem's [`Ecosystem::scheme`].
    pub(crate) fn check(s: &str) -> Result<Option<Scheme>, &'static str> {
        if s.is_empty() || s.len() > MAX_LEN {
            return Err("empty or too long");
        }
        if s.chars().any(|c| c.is_control()) {
            return Err("contains control characters");
        }
        let base = s.split_once(':').map_or(s, |(b, _)| b);
        if !KNOWN.contains(&base) {
            return Err("not an OSV ecosystem");
        }
        if s.len() > base.len() && s.ends_with(':') {
            return Err("empty release");
        }
        Ok(scheme_of(base))
    }

    /// An ecosystem string that [`Ecosystem::check`] accepted.
    pub(crate) fn from_valid(s: String) -> Ecosystem {
        Ecosystem(s)
    }

    /// The whole string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The base name (`Debian` of `Debian:12`).
    pub fn base(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(b, _)| b)
    }

    /// The release (`12` of `Debian:12`, `22.04:LTS` of `Ubuntu:22.04:LTS`).
    pub fn release(&self) -> Option<&str> {
        self.0.split_once(':').map(|(_, r)| r)
    }

    /// The version scheme of `ECOSYSTEM` ranges, for the ecosystems inuse can match.
    pub fn scheme(&self) -> Option<Scheme> {
        scheme_of(self.base())
    }

    /// Whether records name source or binary packages.
    pub fn name_by(&self) -> NameBy {
        match self.scheme() {
            Some(Scheme::Deb | Scheme::Apk) => NameBy::Source,
            _ => NameBy::Binary,
        }
    }

    /// The stored `affected.ecosystem` values a root of this ecosystem looks up: itself, and
    /// for Red Hat a `LIKE` pattern covering every repository of the same product and version
    /// (`Red Hat:enterprise_linux:9::%`). Returns `(exact, like_pattern)`.
    pub fn lookup_keys(&self) -> (String, Option<String>) {
        if self.base() == "Red Hat" {
            // Red Hat:enterprise_linux:9::baseos -> Red Hat:enterprise_linux:9::%
            if let Some(pos) = self.0.rfind("::") {
                let prefix = &self.0[..pos + 2];
                let escaped = prefix
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                return (self.0.clone(), Some(format!("{escaped}%")));
            }
        }
        if self.base() == "Debian" {
            // Debian 3.0 to 6.0 were numbered N.0 and OSV keeps that spelling (`Debian:6.0`),
            // while os-release (and so the root) gives the major version.
            if let Some(n) = self.release().and_then(|r| r.parse::<u8>().ok()) {
                if n <= 6 {
                    return (self.0.clone(), Some(format!("Debian:{n}.0")));
                }
            }
        }
        (self.0.clone(), None)
    }

    /// The file name osv.dev publishes the ecosystem's archive under: the base name, since
    /// one `all.zip` holds every release (`Debian/all.zip`).
    pub fn archive_name(&self) -> &str {
        self.base()
    }
}

/// The version scheme of `ECOSYSTEM` ranges of the base ecosystem `base`.
fn scheme_of(base: &str) -> Option<Scheme> {
    Some(match base {
        "Debian" | "Ubuntu" => Scheme::Deb,
        "Alpine" | "Wolfi" | "Chainguard" | "Alpaquita" | "MinimOS" => Scheme::Apk,
        "AlmaLinux" | "Rocky Linux" | "Red Hat" | "openSUSE" | "SUSE" | "Azure Linux"
        | "Mageia" | "openEuler" | "Photon OS" => Scheme::Rpm,
        _ => return None,
    })
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parse_and_parts() {
        let e = Ecosystem::parse("Ubuntu:22.04:LTS").unwrap();
        assert_eq!((e.base(), e.release()), ("Ubuntu", Some("22.04:LTS")));
        assert_eq!(e.scheme(), Some(Scheme::Deb));
        assert_eq!(e.name_by(), NameBy::Source);
        let e = Ecosystem::parse("Rocky Linux:9").unwrap();
        assert_eq!(e.scheme(), Some(Scheme::Rpm));
        assert_eq!(e.name_by(), NameBy::Binary);
        assert_eq!(Ecosystem::parse("npm").unwrap().scheme(), None);
        for bad in ["", "Debian:", "debian:12", "Plan9:4", "Debian:1\n2"] {
            assert!(Ecosystem::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn red_hat_covers_every_repository() {
        let e = Ecosystem::parse("Red Hat:enterprise_linux:9::baseos").unwrap();
        assert_eq!(
            e.lookup_keys().1.as_deref(),
            Some("Red Hat:enterprise\\_linux:9::%")
        );
        assert_eq!(Ecosystem::parse("Debian:12").unwrap().lookup_keys().1, None);
        assert_eq!(
            Ecosystem::parse("Debian:6")
                .unwrap()
                .lookup_keys()
                .1
                .as_deref(),
            Some("Debian:6.0")
        );
    }
}
