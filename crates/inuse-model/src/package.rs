//! Package identity: which package manager, which package, which version.
//!
//! The first rung of DESIGN.md's evidence ladder, `installed`, is a statement about a
//! [`PackageRef`]: "the package is in the package database". Every later rung and every
//! vulnerability match names its package the same way, so that a package seen by the inventory,
//! mapped by a process, and matched against OSV data is recognisably one package, on one host
//! and, over the wire, across a fleet.

use serde::{Deserialize, Serialize};

/// Which package manager (or other source of package facts) a package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Manager {
    /// Debian's dpkg (`var/lib/dpkg`).
    Dpkg,
    /// RPM (`var/lib/rpm`, `usr/lib/sysimage/rpm`).
    Rpm,
    /// Alpine's apk (`lib/apk/db/installed`).
    Apk,
    /// A Go module found in a binary's build information.
    Go,
    /// A Rust crate found in a binary's `cargo auditable` data.
    Cargo,
    /// A package named by an ELF `.note.package` note.
    ElfNote,
}

impl Manager {
    /// Every manager, in declaration order.
    pub const ALL: [Manager; 6] = [
        Manager::Dpkg,
        Manager::Rpm,
        Manager::Apk,
        Manager::Go,
        Manager::Cargo,
        Manager::ElfNote,
    ];

    /// The name used in JSON and tables (`dpkg`, `elf-note`).
    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Rpm => "rpm",
            Manager::Apk => "apk",
            Manager::Go => "go",
            Manager::Cargo => "cargo",
            Manager::ElfNote => "elf-note",
        }
    }

    /// Whether packages of this manager are embedded in ELF files rather than listed in a
    /// distribution's package database.
    pub fn is_embedded(self) -> bool {
        matches!(self, Manager::Go | Manager::Cargo | Manager::ElfNote)
    }
}

impl std::fmt::Display for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A package's identity: enough to name it to a person, a package manager, and OSV.
///
/// JSON (field order is part of the contract):
/// `{"name", "version", "arch", "source_name", "source_version", "manager", "ecosystem",
/// "purl"}`; `arch` is `""` when the database records none, `ecosystem` is `null` when the
/// distribution is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackageRef {
    /// Binary package name (the Go module path, the crate name for embedded packages).
    pub name: String,
    /// Full version as the package manager prints it (rpm: `[epoch:]version-release`).
    pub version: String,
    /// Architecture (`amd64`, `x86_64`, `noarch`, `all`); empty when the database has none.
    pub arch: String,
    /// Name of the source package it was built from (the binary name when not recorded).
    pub source_name: String,
    /// Version of the source package (the binary version when not recorded).
    pub source_version: String,
    /// The package manager whose database lists it.
    pub manager: Manager,
    /// OSV ecosystem (`Debian:12`, `Alpine:v3.20`, `Go`), when known.
    pub ecosystem: Option<String>,
    /// Package URL per the purl specification (`pkg:deb/debian/openssl@3.0.11-1?arch=amd64`).
    pub purl: String,
}
