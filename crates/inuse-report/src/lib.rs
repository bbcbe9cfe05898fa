//! Findings ranked by real exposure, and the renderers of them.
//!
//! This is where evidence becomes a verdict. The collectors (inventory, dependency closure, live
//! sweeps, the observation and trace stores, the vulnerability store) produce plain facts; this
//! crate combines them per (vulnerability, package) into one [`Finding`] carrying the strongest
//! evidence measured (the ladder of `inuse-model`: [`Strength`]), ranks the findings, and renders them. Renderers are pure
//! functions of a [`Report`]: the same data becomes a table, JSON, OpenVEX, CycloneDX or SARIF.
//!
//! The rule that matters most: only "measured and not seen" may become `not_affected`.
//! Something we could not measure is [`Strength::Unmeasurable`] and stays `under_investigation`;
//! so does anything observed for less than the minimum window. A false "not used" is the
//! worst bug this tool can have.

pub mod documents;
mod render;
pub mod sbom;

pub use inuse_model::{
    Evidence, Finding, Level, Note, NoteCode, PackageRef, ProcessRef, Severity, Strength,
    VexStatus, Vulnerability, Window,
};
pub use render::{Format, columns, render};

/// The ladder's states in the order a report ranks and prints them: strongest evidence first,
/// and unmeasurable last, after installed. This is a ranking decision (what to fix first), not
/// an order of the ladder: "unmeasurable" is not weaker evidence, it is no answer, and it is
/// listed last because nothing about it is known to be in memory.
pub const RANKED: [Strength; 6] = [
    Strength::Measured(Level::Function),
    Strength::Measured(Level::Executed),
    Strength::Measured(Level::Loaded),
    Strength::Measured(Level::Linked),
    Strength::Measured(Level::Installed),
    Strength::Unmeasurable,
];

/// The position of a state in [`RANKED`] (0 for the most urgent).
pub fn rank(s: Strength) -> usize {
    RANKED.iter().position(|r| *r == s).unwrap_or(RANKED.len())
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
    pub notes: Vec<Note>,
    /// How many installed packages (vulnerable or not) have each state of the ladder, in
    /// [`RANKED`] order: the evidence itself, reported even without vulnerability data.
    pub package_counts: Vec<(Strength, usize)>,
}

impl Report {
    /// Builds a report: ranks the findings, numbers them, and gives each its VEX status. A
    /// finding without a root is given the report's.
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
        findings: Vec<(Vulnerability, PackageRef, Evidence)>,
    ) -> Report {
        let mut findings: Vec<Finding> = findings
            .into_iter()
            .map(|(vulnerability, package, mut evidence)| {
                if evidence.root.is_none() {
                    evidence.root = Some(root.clone());
                }
                Finding {
                    vulnerability,
                    package,
                    evidence,
                    vex: VexStatus::UnderInvestigation,
                    priority: 0,
                }
            })
            .collect();
        findings.sort_by(|a, b| {
            rank(a.strength())
                .cmp(&rank(b.strength()))
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
        let mut report = Report {
            root,
            ecosystem,
            window,
            min_window,
            findings,
            notes: Vec::new(),
            package_counts: Vec::new(),
        };
        for i in 0..report.findings.len() {
            let vex = report.vex_status(&report.findings[i]);
            let f = &mut report.findings[i];
            f.priority = i + 1;
            f.vex = vex;
        }
        report
    }

    /// The VEX status of a finding under this report's window rules: in memory is
    /// `affected`; measured, observable and never seen over a long enough window with sweeps is
    /// `not_affected`; everything else, unmeasurable above all, `under_investigation`.
    pub fn vex_status(&self, f: &Finding) -> VexStatus {
        match f.strength() {
            t if t.is_in_memory() => VexStatus::Affected,
            Strength::Measured(Level::Linked | Level::Installed)
                if f.evidence.observable
                    && self.window.sweeps > 0
                    && self.window.seconds() >= self.min_window =>
            {
                VexStatus::NotAffected
            }
            _ => VexStatus::UnderInvestigation,
        }
    }

    /// How many findings have each state of the ladder, in [`RANKED`] order.
    pub fn counts(&self) -> Vec<(Strength, usize)> {
        RANKED
            .into_iter()
            .map(|t| {
                (
                    t,
                    self.findings.iter().filter(|f| f.strength() == t).count(),
                )
            })
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
            f.strength().as_str(),
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
    match f.strength() {
        Strength::Measured(Level::Function) => {
            format!("{} function(s) entered", e.functions_hit.len())
        }
        Strength::Measured(Level::Executed) => {
            "code ran beyond load-time initialisation".to_owned()
        }
        Strength::Measured(Level::Loaded) => {
            format!("mapped by {} live process(es)", e.processes.len())
        }
        Strength::Measured(Level::Linked) => format!(
            "linked by {} executable(s), never seen loaded",
            e.linked_by.len()
        ),
        Strength::Measured(Level::Installed) if !e.observable => {
            "installed; it has no ELF file a process could map, so loading cannot be measured"
                .to_owned()
        }
        Strength::Measured(Level::Installed) => {
            "installed; no executable links it and no process loaded it".to_owned()
        }
        Strength::Unmeasurable => e
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

    fn finding(id: &str, ev: Evidence, score: f64) -> (Vulnerability, PackageRef, Evidence) {
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
            PackageRef {
                name: format!("pkg-{id}"),
                version: String::new(),
                arch: String::new(),
                source_name: String::new(),
                source_version: String::new(),
                manager: inuse_model::Manager::Dpkg,
                ecosystem: None,
                purl: String::new(),
            },
            ev,
        )
    }

    fn loaded(uid: u32, listening: bool) -> Evidence {
        Evidence {
            level: Level::Loaded,
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
            level: Level::Linked,
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
            level: Level::Linked,
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
