//! Findings ranked by real exposure, and the renderers of them.
//!
//! This is where evidence becomes a verdict. The collectors (inventory, dependency closure, live
//! sweeps, the observation and trace stores, the vulnerability store) produce plain facts; this
//! crate combines them per (vulnerability, package) into one [`Finding`] carrying the strongest
//! evidence measured ([`Tier`]), ranks the findings, and renders them. Renderers are pure
//! functions of a [`Report`]: the same data becomes a table, JSON, OpenVEX, CycloneDX or SARIF.
//!
//! The rule that matters most: only "measured and not seen" may become `not_affected`.
//! Something we could not measure is [`Tier::Unmeasurable`] and stays `under_investigation`;
//! so does anything observed for less than the minimum window. A false "not used" is the
//! worst bug this tool can have.

pub mod documents;
mod render;
pub mod sbom;

pub use render::{Format, columns, render};

/// The strength of the evidence that a package's code is in use, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Named functions of the package were entered (uprobes).
    Function,
    /// Code of the package ran beyond load-time initialisation.
    Executed,
    /// A live process has a file of the package mapped.
    Loaded,
    /// Some installed executable's dependency closure contains a file of the package.
    Linked,
    /// The package is installed, and nothing more was seen.
    Installed,
    /// We could not tell: nothing observable, or processes we may not read.
    Unmeasurable,
}

impl Tier {
    /// Every tier, strongest first.
    pub const ALL: [Tier; 6] = [
        Tier::Function,
        Tier::Executed,
        Tier::Loaded,
        Tier::Linked,
        Tier::Installed,
        Tier::Unmeasurable,
    ];

    /// The stable name used in output and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Function => "function",
            Tier::Executed => "executed",
            Tier::Loaded => "loaded",
            Tier::Linked => "linked",
            Tier::Installed => "installed",
            Tier::Unmeasurable => "unmeasurable",
        }
    }

    /// Parses a tier name.
    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether code of the package is in memory of a live process.
    pub fn is_in_memory(self) -> bool {
        matches!(self, Tier::Function | Tier::Executed | Tier::Loaded)
    }
}

/// A package as findings name it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageInfo {
    /// Binary package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Source package name (what Debian data is keyed by).
    pub source_name: String,
    /// Package URL.
    pub purl: String,
}

/// Severity of a vulnerability.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Severity {
    /// `critical`, `high`, `medium`, `low`, `none` or a distribution's own label.
    pub label: String,
    /// CVSS base score, when a vector was given.
    pub score: Option<f64>,
    /// The CVSS vector.
    pub vector: Option<String>,
}

/// A vulnerability matched to a package.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vulnerability {
    /// The preferred id (a CVE when there is one).
    pub id: String,
    /// Every other id of the same vulnerability (DSA, USN, ALSA, ...).
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// Severity, if known.
    pub severity: Option<Severity>,
    /// The version that fixes it in this ecosystem, if any.
    pub fixed_version: Option<String>,
}

/// A live process that had code of a package.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessRef {
    /// Process id (at the time of the sweep).
    pub pid: u32,
    /// Executable path.
    pub exe: String,
    /// Effective user id.
    pub uid: u32,
    /// Container runtime and id, if in one.
    pub container: Option<String>,
    /// Sockets it listens on (`tcp 0.0.0.0:22`).
    pub listening: Vec<String>,
    /// `deleted` or `replaced` when the mapped file is no longer the one on disk.
    pub stale: Option<String>,
    /// Whether the executable is set-user-ID, set-group-ID or has file capabilities.
    pub privileged_binary: bool,
}

/// What was measured about one package.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Processes that had the package's files mapped (loaded or stronger).
    pub processes: Vec<ProcessRef>,
    /// Files of the package the evidence is about (mapped, or linked).
    pub files: Vec<String>,
    /// Executables whose dependency closure contains a file of the package.
    pub linked_by: Vec<String>,
    /// Whether code beyond load-time initialisation ran (page evidence).
    pub executed: bool,
    /// Functions of the package seen entered (uprobes).
    pub functions_hit: Vec<String>,
    /// Whether the package has anything a measurement could see: ELF files that a process
    /// could map. A package of scripts or data has not: its tier is at most `installed`, and
    /// it is never `not_affected`, since "never loaded" means nothing for it.
    pub observable: bool,
    /// Why the measurement is incomplete for this package, if it is (permission denied on
    /// some processes, static binaries that may embed it, ...).
    pub unmeasurable: Option<String>,
    /// The root the package was found in, when a report covers several.
    pub root: Option<String>,
}

impl Evidence {
    /// The strongest tier this evidence supports.
    pub fn tier(&self) -> Tier {
        if !self.functions_hit.is_empty() {
            Tier::Function
        } else if self.executed && !self.processes.is_empty() {
            Tier::Executed
        } else if !self.processes.is_empty() {
            Tier::Loaded
        } else if self.unmeasurable.is_some() {
            // Not seen, but we could not have looked everywhere: never read that as "unused".
            Tier::Unmeasurable
        } else if !self.linked_by.is_empty() {
            Tier::Linked
        } else {
            Tier::Installed
        }
    }
}

/// The observation window the live evidence covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Start, Unix seconds.
    pub start: i64,
    /// End, Unix seconds.
    pub end: i64,
    /// Number of sweeps of live processes in it.
    pub sweeps: u64,
}

impl Window {
    /// Length in seconds.
    pub fn seconds(&self) -> i64 {
        (self.end - self.start).max(0)
    }
}

/// One (vulnerability, package) pair with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The vulnerability.
    pub vulnerability: Vulnerability,
    /// The package.
    pub package: PackageInfo,
    /// What was measured.
    pub evidence: Evidence,
    /// The tier, from the evidence.
    pub tier: Tier,
    /// 1 for the most urgent.
    pub priority: usize,
}

/// Status of a finding in VEX terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VexStatus {
    /// Vulnerable code is in memory of a live process.
    Affected,
    /// Measured over a long enough window and never loaded.
    NotAffected,
    /// Not enough evidence either way.
    UnderInvestigation,
}

impl VexStatus {
    /// OpenVEX's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::Affected => "affected",
            VexStatus::NotAffected => "not_affected",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

/// The analysed state of one root.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The root analysed.
    pub root: String,
    /// Its OSV ecosystem, if known.
    pub ecosystem: Option<String>,
    /// The observation window of the live evidence.
    pub window: Window,
    /// Minimum window (seconds) before "never loaded" may become `not_affected`.
    pub min_window: i64,
    /// Findings, ranked: `findings[0]` has priority 1.
    pub findings: Vec<Finding>,
    /// Notes for the reader (missing data, measurement gaps).
    pub notes: Vec<String>,
    /// How many installed packages (vulnerable or not) have each tier: the evidence itself,
    /// reported even without vulnerability data.
    pub package_counts: Vec<(Tier, usize)>,
}

impl Report {
    /// Builds a report: computes each finding's tier and ranks them.
    ///
    /// Ranking, documented in docs/methods.md and shown by `--explain`: tier first (strongest
    /// evidence first, unmeasurable after installed); within a tier, exposure (a process
    /// listening on the network, running as root, a privileged binary, stale code), then
    /// severity (CVSS base score, then label), then whether a fix exists (fixable first), then
    /// the id for a stable order.
    pub fn new(
        root: String,
        ecosystem: Option<String>,
        window: Window,
        min_window: i64,
        findings: Vec<(Vulnerability, PackageInfo, Evidence)>,
    ) -> Report {
        let mut findings: Vec<Finding> = findings
            .into_iter()
            .map(|(vulnerability, package, evidence)| Finding {
                tier: evidence.tier(),
                vulnerability,
                package,
                evidence,
                priority: 0,
            })
            .collect();
        findings.sort_by(|a, b| {
            a.tier
                .cmp(&b.tier)
                .then_with(|| exposure(&b.evidence).cmp(&exposure(&a.evidence)))
                .then_with(|| severity_key(b).total_cmp(&severity_key(a)))
                .then_with(|| {
                    b.vulnerability
                        .fixed_version
                        .is_some()
                        .cmp(&a.vulnerability.fixed_version.is_some())
                })
                .then_with(|| a.vulnerability.id.cmp(&b.vulnerability.id))
                .then_with(|| a.package.name.cmp(&b.package.name))
        });
        for (i, f) in findings.iter_mut().enumerate() {
            f.priority = i + 1;
        }
        Report {
            root,
            ecosystem,
            window,
            min_window,
            findings,
            notes: Vec::new(),
            package_counts: Vec::new(),
        }
    }

    /// The VEX status of a finding under this report's window rules.
    pub fn vex_status(&self, f: &Finding) -> VexStatus {
        match f.tier {
            t if t.is_in_memory() => VexStatus::Affected,
            Tier::Linked | Tier::Installed
                if f.evidence.observable
                    && self.window.sweeps > 0
                    && self.window.seconds() >= self.min_window =>
            {
                VexStatus::NotAffected
            }
            _ => VexStatus::UnderInvestigation,
        }
    }

    /// How many findings have each tier.
    pub fn counts(&self) -> Vec<(Tier, usize)> {
        Tier::ALL
            .into_iter()
            .map(|t| (t, self.findings.iter().filter(|f| f.tier == t).count()))
            .collect()
    }

    /// Why a finding is where it is, in words (`--explain`).
    pub fn explain(&self, f: &Finding) -> Vec<String> {
        let mut out = vec![format!(
            "{} in {} {}: priority {} of {}",
            f.vulnerability.id,
            f.package.name,
            f.package.version,
            f.priority,
            self.findings.len()
        )];
        let e = &f.evidence;
        out.push(format!(
            "evidence: {} ({})",
            f.tier.as_str(),
            tier_reason(f)
        ));
        if !e.processes.is_empty() {
            let x = exposure(e);
            out.push(format!(
                "exposure: {} process(es); listening on the network: {}; running as root: {}; \
                 privileged binary: {}; stale code: {}",
                e.processes.len(),
                yes(x.0),
                yes(x.1),
                yes(x.2),
                yes(x.3)
            ));
        }
        match &f.vulnerability.severity {
            Some(s) => out.push(format!(
                "severity: {}{}",
                s.label,
                s.score
                    .map(|v| format!(" (CVSS {v:.1})"))
                    .unwrap_or_default()
            )),
            None => out.push("severity: unknown".to_owned()),
        }
        out.push(match &f.vulnerability.fixed_version {
            Some(v) => format!("fix: upgrade to {v} or later"),
            None => "fix: none known".to_owned(),
        });
        out.push(format!(
            "vex: {} (window {}, minimum {})",
            self.vex_status(f).as_str(),
            human_duration(self.window.seconds()),
            human_duration(self.min_window)
        ));
        out.push(
            "ranking: tier first; then exposure (listening, root, privileged, stale); then \
             CVSS score; then fixable first"
                .to_owned(),
        );
        out
    }
}

fn tier_reason(f: &Finding) -> String {
    let e = &f.evidence;
    match f.tier {
        Tier::Function => format!("{} function(s) entered", e.functions_hit.len()),
        Tier::Executed => "code ran beyond load-time initialisation".to_owned(),
        Tier::Loaded => format!("mapped by {} live process(es)", e.processes.len()),
        Tier::Linked => format!(
            "linked by {} executable(s), never seen loaded",
            e.linked_by.len()
        ),
        Tier::Installed if !e.observable => {
            "installed; it has no ELF file a process could map, so loading cannot be measured"
                .to_owned()
        }
        Tier::Installed => "installed; no executable links it and no process loaded it".to_owned(),
        Tier::Unmeasurable => e
            .unmeasurable
            .clone()
            .unwrap_or_else(|| "nothing a process could map (no ELF files)".to_owned()),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// (listening, root, privileged binary, stale), compared lexicographically.
fn exposure(e: &Evidence) -> (bool, bool, bool, bool) {
    (
        e.processes.iter().any(|p| !p.listening.is_empty()),
        e.processes.iter().any(|p| p.uid == 0),
        e.processes.iter().any(|p| p.privileged_binary),
        e.processes.iter().any(|p| p.stale.is_some()),
    )
}

fn severity_key(f: &Finding) -> f64 {
    match &f.vulnerability.severity {
        Some(Severity { score: Some(s), .. }) => *s,
        Some(s) => match s.label.to_ascii_lowercase().as_str() {
            "critical" => 9.5,
            "high" | "important" => 8.0,
            "medium" | "moderate" => 5.5,
            "low" => 2.0,
            _ => 0.0,
        },
        None => 0.0,
    }
}

/// `26 h`, `3 d`, `45 s`: the window in the unit a person would use.
pub fn human_duration(secs: i64) -> String {
    match secs {
        s if s >= 2 * 86_400 => format!("{} d", s / 86_400),
        s if s >= 2 * 3600 => format!("{} h", s / 3600),
        s if s >= 120 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, ev: Evidence, score: f64) -> (Vulnerability, PackageInfo, Evidence) {
        (
            Vulnerability {
                id: id.to_owned(),
                severity: Some(Severity {
                    label: String::new(),
                    score: Some(score),
                    vector: None,
                }),
                ..Default::default()
            },
            PackageInfo {
                name: format!("pkg-{id}"),
                ..Default::default()
            },
            ev,
        )
    }

    fn loaded(uid: u32, listening: bool) -> Evidence {
        Evidence {
            observable: true,
            processes: vec![ProcessRef {
                pid: 1,
                uid,
                listening: if listening {
                    vec!["tcp 0.0.0.0:22".into()]
                } else {
                    vec![]
                },
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn tiers_rank_before_severity_and_exposure_within_a_tier() {
        let linked = Evidence {
            observable: true,
            linked_by: vec!["/bin/x".into()],
            ..Default::default()
        };
        let r = Report::new(
            "/".into(),
            None,
            Window::default(),
            0,
            vec![
                finding("linked-critical", linked, 10.0),
                finding("loaded-user", loaded(1000, false), 9.0),
                finding("loaded-root-listening", loaded(0, true), 2.0),
                finding(
                    "unmeasurable",
                    Evidence {
                        unmeasurable: Some("permission denied".into()),
                        ..Default::default()
                    },
                    10.0,
                ),
            ],
        );
        let order: Vec<&str> = r
            .findings
            .iter()
            .map(|f| f.vulnerability.id.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "loaded-root-listening",
                "loaded-user",
                "linked-critical",
                "unmeasurable"
            ]
        );
        assert_eq!(r.findings[0].priority, 1);
    }

    #[test]
    fn not_affected_needs_measurement_and_a_long_enough_window() {
        let linked = Evidence {
            observable: true,
            linked_by: vec!["/bin/x".into()],
            ..Default::default()
        };
        let nothing = Evidence {
            observable: false,
            ..Default::default()
        };
        let denied = Evidence {
            observable: true,
            unmeasurable: Some("permission denied".into()),
            ..Default::default()
        };
        let mk = |secs: i64, sweeps: u64, min: i64| {
            Report::new(
                "/".into(),
                None,
                Window {
                    start: 0,
                    end: secs,
                    sweeps,
                },
                min,
                vec![
                    finding("a", linked.clone(), 5.0),
                    finding("b", nothing.clone(), 5.0),
                    finding("c", denied.clone(), 5.0),
                    finding("d", loaded(0, false), 5.0),
                ],
            )
        };
        let status = |r: &Report, id: &str| {
            let f = r
                .findings
                .iter()
                .find(|f| f.vulnerability.id == id)
                .expect("finding");
            r.vex_status(f)
        };
        let long = mk(90_000, 10, 86_400);
        assert_eq!(status(&long, "a"), VexStatus::NotAffected);
        assert_eq!(status(&long, "b"), VexStatus::UnderInvestigation);
        assert_eq!(status(&long, "c"), VexStatus::UnderInvestigation);
        assert_eq!(status(&long, "d"), VexStatus::Affected);
        let short = mk(60, 2, 86_400);
        assert_eq!(status(&short, "a"), VexStatus::UnderInvestigation);
        let never_swept = mk(90_000, 0, 0);
        assert_eq!(status(&never_swept, "a"), VexStatus::UnderInvestigation);
    }
}
