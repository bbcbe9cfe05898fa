//! Vulnerabilities, their matches to packages, and findings: a match with its evidence.
//!
//! DESIGN.md's pipeline ends in "findings: (vulnerability, package, evidence, processes,
//! priority)". The matcher (`inuse-osv`) produces [`Match`]es: a [`Vulnerability`] affecting
//! an installed [`PackageRef`], with no claim about use. The scan adds the [`Evidence`] of the
//! ladder and the report ranks them: a [`Finding`].

use serde::{Deserialize, Serialize};

use crate::{Evidence, Level, PackageRef, ProcessRef, Strength};

/// Severity of a vulnerability: a CVSS score when one is known, else the distribution's word.
///
/// JSON: `{"label", "score", "vector"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// `critical`, `high`, `medium`, `low`, `none`, or the distribution's own word
    /// (`important`, `moderate`, `negligible`...).
    pub label: String,
    /// CVSS base score, when a vector was given.
    pub score: Option<f64>,
    /// The CVSS vector the score comes from.
    pub vector: Option<String>,
}

/// A vulnerability, as it affects one ecosystem.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vulnerability {
    /// The preferred id: its CVE when it has one, else its smallest record id.
    pub id: String,
    /// Every other id of the same vulnerability (DSA, USN, ALSA, ...).
    pub aliases: Vec<String>,
    /// One-line summary; empty when the data has none.
    pub summary: String,
    /// Severity, if known.
    pub severity: Option<Severity>,
    /// The version that fixes it in this ecosystem, if any.
    pub fixed_version: Option<String>,
}

/// A vulnerability affecting an installed package: what plain matching (`inuse vulns`) knows.
///
/// JSON: `{"id", "aliases", "package", "fixed_version", "severity", "summary", "records"}`,
/// `summary` `null` when the data has none.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The vulnerability.
    pub vulnerability: Vulnerability,
    /// The affected package.
    pub package: PackageRef,
    /// Ids of the stored records that matched.
    pub records: Vec<String>,
}

/// Status of a finding in VEX terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// Vulnerable code is in memory of a live process.
    Affected,
    /// Measured over a long enough window and never loaded.
    NotAffected,
    /// Not enough evidence either way.
    #[default]
    UnderInvestigation,
}

impl VexStatus {
    /// OpenVEX's spelling (`not_affected`).
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::Affected => "affected",
            VexStatus::NotAffected => "not_affected",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

/// One (vulnerability, package) pair with its evidence, its VEX status and its rank.
///
/// JSON: one flat object (field order is part of the contract), see the crate's documented
/// example in the tests:
/// `{"id", "aliases", "evidence", "vex", "package", "fixed_version", "severity", "summary",
/// "priority", "processes", "files", "linked_by", "functions_hit", "observable",
/// "unmeasurable", "root"}`. `evidence` is the [`Strength`] string.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The vulnerability.
    pub vulnerability: Vulnerability,
    /// The package.
    pub package: PackageRef,
    /// What was measured.
    pub evidence: Evidence,
    /// The VEX status the report's rules give it.
    pub vex: VexStatus,
    /// 1 for the most urgent.
    pub priority: usize,
}

impl Finding {
    /// The verdict of the evidence ladder.
    pub fn strength(&self) -> Strength {
        self.evidence.strength()
    }
}

#[derive(Serialize)]
struct MatchOut<'a> {
    id: &'a str,
    aliases: &'a [String],
    package: &'a PackageRef,
    fixed_version: &'a Option<String>,
    severity: &'a Option<Severity>,
    summary: Option<&'a str>,
    records: &'a [String],
}

#[derive(Deserialize)]
struct MatchIn {
    id: String,
    aliases: Vec<String>,
    package: PackageRef,
    fixed_version: Option<String>,
    severity: Option<Severity>,
    summary: Option<String>,
    #[serde(default)]
    records: Vec<String>,
}

impl Serialize for Match {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = &self.vulnerability;
        MatchOut {
            id: &v.id,
            aliases: &v.aliases,
            package: &self.package,
            fixed_version: &v.fixed_version,
            severity: &v.severity,
            summary: Some(v.summary.as_str()).filter(|s| !s.is_empty()),
            records: &self.records,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Match {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = MatchIn::deserialize(d)?;
        Ok(Match {
            vulnerability: Vulnerability {
                id: m.id,
                aliases: m.aliases,
                summary: m.summary.unwrap_or_default(),
                severity: m.severity,
                fixed_version: m.fixed_version,
            },
            package: m.package,
            records: m.records,
        })
    }
}

#[derive(Serialize)]
struct FindingOut<'a> {
    id: &'a str,
    aliases: &'a [String],
    evidence: Strength,
    vex: VexStatus,
    package: &'a PackageRef,
    fixed_version: &'a Option<String>,
    severity: &'a Option<Severity>,
    summary: &'a str,
    priority: usize,
    processes: &'a [ProcessRef],
    files: &'a [String],
    linked_by: &'a [String],
    functions_hit: &'a [String],
    observable: bool,
    unmeasurable: &'a Option<String>,
    root: &'a Option<String>,
}

#[derive(Deserialize)]
struct FindingIn {
    id: String,
    aliases: Vec<String>,
    evidence: Strength,
    #[serde(default)]
    vex: VexStatus,
    package: PackageRef,
    fixed_version: Option<String>,
    severity: Option<Severity>,
    #[serde(default)]
    summary: String,
    priority: usize,
    #[serde(default)]
    processes: Vec<ProcessRef>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    linked_by: Vec<String>,
    #[serde(default)]
    functions_hit: Vec<String>,
    #[serde(default)]
    observable: bool,
    unmeasurable: Option<String>,
    root: Option<String>,
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (v, e) = (&self.vulnerability, &self.evidence);
        FindingOut {
            id: &v.id,
            aliases: &v.aliases,
            evidence: e.strength(),
            vex: self.vex,
            package: &self.package,
            fixed_version: &v.fixed_version,
            severity: &v.severity,
            summary: &v.summary,
            priority: self.priority,
            processes: &e.processes,
            files: &e.files,
            linked_by: &e.linked_by,
            functions_hit: &e.functions_hit,
            observable: e.observable,
            unmeasurable: &e.unmeasurable,
            root: &e.root,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = FindingIn::deserialize(d)?;
        // The level behind "unmeasurable" is what the supports show: linked or installed.
        let level = match f.evidence {
            Strength::Measured(l) => l,
            Strength::Unmeasurable if !f.linked_by.is_empty() => Level::Linked,
            Strength::Unmeasurable => Level::Installed,
        };
        let said = f.evidence;
        let finding = Finding {
            vulnerability: Vulnerability {
                id: f.id,
                aliases: f.aliases,
                summary: f.summary,
                severity: f.severity,
                fixed_version: f.fixed_version,
            },
            package: f.package,
            evidence: Evidence {
                level,
                processes: f.processes,
                files: f.files,
                linked_by: f.linked_by,
                functions_hit: f.functions_hit,
                observable: f.observable,
                unmeasurable: f.unmeasurable,
                root: f.root,
            },
            vex: f.vex,
            priority: f.priority,
        };
        // "evidence" is derived from the rest; a document where they disagree is not ours.
        if finding.strength() != said {
            return Err(serde::de::Error::custom(format!(
                "evidence {:?} disagrees with its supports (they give {:?})",
                said.as_str(),
                finding.strength().as_str()
            )));
        }
        Ok(finding)
    }
}
