//! The distribution of a root, from `os-release`, and its OSV ecosystem name.
//!
//! Vulnerability data is scoped by ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.19`),
//! so the distribution must be named exactly as OSV spells it. The source is `etc/os-release`,
//! falling back to `usr/lib/os-release` (os-release(5)).
//!
//! Format (os-release(5)): `KEY=VALUE` lines, `#` comments; values may be double-quoted (with
//! backslash escapes of `"`, `\`, `$` and `` ` ``) or single-quoted (no escapes).
//!
//! Ecosystem spellings follow `ossf/osv-schema`'s `ecosystems.json` and real OSV records.
//! Pitfalls:
//! - Ubuntu gets `:LTS` only for LTS releases (detected from `VERSION`), with the `YY.MM`
//!   `VERSION_ID`, not the point release.
//! - Alpine takes major.minor with a `v` prefix (`3.19.1` -> `v3.19`); AlmaLinux, Rocky Linux and
//!   Azure Linux take the major version only.
//! - Red Hat ecosystems are CPE-derived (`Red Hat:enterprise_linux:9::baseos`): the OS CPE from
//!   `CPE_NAME` is the best a root can tell; a package from AppStream is scoped differently in
//!   OSV, which matching must allow for.
//! - SUSE and openSUSE use the marketing name from `PRETTY_NAME` (`SUSE:Linux Enterprise Server
//!   15 SP5`, `openSUSE:Leap 15.5`).
//! - CBL-Mariner (`ID=mariner`) was renamed Azure Linux; OSV publishes it as `Azure Linux`.
//! - Debian testing/sid have no `VERSION_ID`: the codename is used (`Debian:sid`).

use std::path::Path;

use inuse_root::Root;
use serde::Serialize;

use crate::Sink;

/// The distribution of a root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Distro {
    /// `ID` (`debian`, `ubuntu`, `alpine`, `rhel`).
    pub id: String,
    /// `VERSION_ID` (`12`, `22.04`, `3.19.1`), when present.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, when present.
    pub pretty_name: Option<String>,
    /// `VERSION_CODENAME`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// The OSV ecosystem name, when we know the distribution.
    pub ecosystem: Option<String>,
    /// `ID_LIKE`, split at spaces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

impl Distro {
    /// Builds the distribution from `os-release` content.
    pub fn from_os_release(text: &str) -> Option<Distro> {
        let fields = parse(text);
        let get = |key: &str| {
            fields
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let id = get("ID")?.to_ascii_lowercase();
        let mut distro = Distro {
            id,
            version_id: get("VERSION_ID"),
            pretty_name: get("PRETTY_NAME"),
            codename: get("VERSION_CODENAME"),
            ecosystem: None,
            id_like: get("ID_LIKE")
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
        };
        distro.ecosystem = ecosystem(&distro, get("VERSION").as_deref(), get("CPE_NAME"));
        Some(distro)
    }

    /// The `distro` qualifier of purls: `debian-12`, `alpine-3.19`, `rhel-9.3`.
    pub fn purl_distro(&self) -> Option<String> {
        let version = match self.version_id.as_deref() {
            Some(v) if self.id == "alpine" => major_minor(v),
            Some(v) => v.to_owned(),
            None => self.codename.clone()?,
        };
        Some(format!("{}-{}", self.id, version))
    }
}

/// Reads `etc/os-release` (or `usr/lib/os-release`) of `root`.
pub(crate) fn read(root: &Root, sink: &mut Sink) -> Option<Distro> {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        let path = Path::new(path);
        match root.read(path, 64 * 1024) {
            Ok(bytes) => {
                let distro = Distro::from_os_release(&String::from_utf8_lossy(&bytes));
                if distro.is_none() {
                    sink.problem(path, None, "no ID field");
                }
                return distro;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => sink.problem(path, None, format!("cannot read: {e}")),
        }
    }
    None
}

/// Parses os-release lines into `(key, value)` pairs, in file order.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            continue;
        }
        out.push((key.to_owned(), unquote(raw)));
    }
    out
}

/// Shell-style unquoting, restricted to what os-release(5) allows.
fn unquote(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                            Some(n) => {
                                out.push('\\');
                                out.push(n);
                            }
                            None => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c if c.is_whitespace() => break,
            c => out.push(c),
        }
    }
    out
}

fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn ecosystem(d: &Distro, version: Option<&str>, cpe: Option<String>) -> Option<String> {
    let vid = d.version_id.as_deref();
    let pretty = d.pretty_name.as_deref();
    Some(match d.id.as_str() {
        "debian" => match vid {
            Some(v) => format!("Debian:{}", major(v)),
            None => format!("Debian:{}", d.codename.as_deref()?),
        },
        "ubuntu" => {
            let v = vid?;
            if version.is_some_and(|s| s.contains("LTS")) {
                format!("Ubuntu:{v}:LTS")
            } else {
                format!("Ubuntu:{v}")
            }
        }
        "alpine" => format!("Alpine:v{}", major_minor(vid?)),
        "almalinux" => format!("AlmaLinux:{}", major(vid?)),
        "rocky" => format!("Rocky Linux:{}", major(vid?)),
        "rhel" => match cpe
            .as_deref()
            .and_then(|c| c.strip_prefix("cpe:/o:redhat:"))
        {
            Some(rest) => format!("Red Hat:{rest}"),
            None => format!("Red Hat:enterprise_linux:{}::baseos", major(vid?)),
        },
        "azurelinux" | "mariner" => format!("Azure Linux:{}", major(vid?)),
        "mageia" => format!("Mageia:{}", vid?),
        "photon" => format!("Photon OS:{}", vid?),
        "wolfi" => "Wolfi".to_owned(),
        "chainguard" => "Chainguard".to_owned(),
        "openeuler" => {
            // VERSION="22.03 (LTS-SP1)" -> openEuler:22.03-LTS-SP1
            let v = vid?;
            let suffix = version
                .and_then(|s| s.split_once('('))
                .and_then(|(_, r)| r.strip_suffix(')'))
                .map(|r| format!("-{r}"))
                .unwrap_or_default();
            format!("openEuler:{v}{suffix}")
        }
        id if id.starts_with("opensuse") => {
            let p = pretty?;
            format!("openSUSE:{}", p.strip_prefix("openSUSE ").unwrap_or(p))
        }
        "sles" | "sled" | "sles_sap" | "sle-micro" | "sl-micro" => {
            let p = pretty?;
            format!("SUSE:{}", p.strip_prefix("SUSE ").unwrap_or(p))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eco(text: &str) -> Option<String> {
        Distro::from_os_release(text).and_then(|d| d.ecosystem)
    }

    #[test]
    fn ecosystems() {
        let cases = [
            ("ID=debian\nVERSION_ID=\"12\"\n", "Debian:12"),
            (
                "ID=ubuntu\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nVERSION_ID=\"22.04\"",
                "Ubuntu:22.04:LTS",
            ),
            (
                "ID=ubuntu\nVERSION=\"23.10 (Mantic Minotaur)\"\nVERSION_ID=\"23.10\"",
                "Ubuntu:23.10",
            ),
            ("ID=alpine\nVERSION_ID=3.19.1\n", "Alpine:v3.19"),
            ("ID=\"almalinux\"\nVERSION_ID=\"9.3\"", "AlmaLinux:9"),
            ("ID=\"rocky\"\nVERSION_ID=\"8.9\"", "Rocky Linux:8"),
            (
                "ID=\"rhel\"\nVERSION_ID=\"9.2\"\nCPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"",
                "Red Hat:enterprise_linux:9::baseos",
            ),
            (
                "ID=\"sles\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"",
                "SUSE:Linux Enterprise Server 15 SP5",
            ),
            (
                "ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"",
                "openSUSE:Leap 15.5",
            ),
            ("ID=mariner\nVERSION_ID=\"2.0\"", "Azure Linux:2"),
            ("ID=azurelinux\nVERSION_ID=\"3.0\"", "Azure Linux:3"),
            ("ID=mageia\nVERSION_ID=\"9\"", "Mageia:9"),
            ("ID=wolfi\n", "Wolfi"),
            (
                "ID=debian\nVERSION_CODENAME=sid\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"",
                "Debian:sid",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(eco(text).as_deref(), Some(want), "{text}");
        }
        assert_eq!(eco("ID=plan9\n"), None);
        assert_eq!(eco("NAME=nothing\n"), None);
    }

    #[test]
    fn quoting() {
        let got = parse(
            "# c\nA=\"a \\\"q\\\" \\$x \\\\ \\n\"\nB='it''s'\nC=plain trailing\nbad line\nD=\nE=a\\ b\n",
        );
        let want = [
            ("A", "a \"q\" $x \\ \\n"),
            ("B", "its"),
            ("C", "plain"),
            ("D", ""),
            ("E", "a b"),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
    }

    #[test]
    fn purl_distro() {
        let d = Distro::from_os_release("ID=alpine\nVERSION_ID=3.19.1\n");
        assert_eq!(
            d.and_then(|d| d.purl_distro()).as_deref(),
            Some("alpine-3.19")
        );
    }
}
