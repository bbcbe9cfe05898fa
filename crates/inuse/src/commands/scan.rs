//! `inuse scan`: vulnerabilities ranked by real exposure. The command the README leads with.
//!
//! Glue only: stores are opened (and the vulnerability store filled on first use), live
//! processes swept once, each root scanned by `inuse-scan`, and the report rendered by
//! `inuse-report`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use inuse_model::time::parse_duration;
use inuse_model::{Level, Note, Strength};
use inuse_osv::store::Store as VulnStore;
use inuse_report::{Format, RANKED, Report, Window, render};
use inuse_scan::Settings;

use crate::exit::Code;
use crate::settings::{self, DbArg, FormatArg, LiveArg, StoreArg};

/// Arguments of `inuse scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Scan this directory as a root filesystem (plus live processes whose root it is).
    /// Without it: the host and every root live processes run in (chroots, containers).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,

    #[command(flatten)]
    db: DbArg,

    #[command(flatten)]
    store: StoreArg,

    /// How long packages must have been observed never loaded before VEX says
    /// `not_affected` (e.g. 24h, 7d, 0s).
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    min_window: String,

    #[command(flatten)]
    format: FormatArg<ScanFormat>,

    /// Exit with 1 when a finding has at least this evidence (function, executed, loaded,
    /// linked, installed) and, if given, at least this severity (critical, high, medium, low).
    #[arg(long, value_name = "TIER[:SEVERITY]")]
    fail_on: Option<String>,

    /// Explain how the findings with this id (or alias) were ranked, and stop.
    #[arg(long, value_name = "ID")]
    explain: Option<String>,

    /// Do not download vulnerability data, even when the store is empty.
    #[arg(long)]
    offline: bool,

    #[command(flatten)]
    live: LiveArg,
}

/// Output formats of `inuse scan`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum ScanFormat {
    /// Grouped by evidence tier; colour on a terminal only (never with NO_COLOR).
    #[default]
    Table,
    /// inuse's JSON (see docs/formats.md).
    Json,
    /// OpenVEX 0.2.0.
    Openvex,
    /// CycloneDX 1.6 with vulnerabilities and their analysis.
    Cyclonedx,
    /// SARIF 2.1.0.
    Sarif,
}

/// A parsed `--fail-on`.
struct FailOn {
    level: Level,
    min_score: f64,
}

fn parse_fail_on(s: &str) -> anyhow::Result<FailOn> {
    let (tier, sev) = match s.split_once(':') {
        Some((t, s)) => (t, Some(s)),
        None => (s, None),
    };
    let Some(level) = Level::parse(tier) else {
        bail!(
            "invalid --fail-on tier {tier:?}: use function, executed, loaded, linked or installed"
        )
    };
    let min_score = match sev {
        None => 0.0,
        Some("critical") => 9.0,
        Some("high") => 7.0,
        Some("medium") => 4.0,
        Some("low") => 0.1,
        Some(other) => {
            bail!("invalid --fail-on severity {other:?}: use critical, high, medium or low")
        }
    };
    Ok(FailOn { level, min_score })
}

/// Whether a finding trips `--fail-on`. Unmeasurable findings count as installed: a CI gate
/// on `installed` catches them, one on `linked` or stronger does not.
fn trips(f: &inuse_report::Finding, fail: &FailOn) -> bool {
    let level = f.strength().measured().unwrap_or(Level::Installed);
    let score = f.vulnerability.severity.as_ref().map_or(0.0, |s| {
        s.score
            .unwrap_or(match s.label.to_ascii_lowercase().as_str() {
                "critical" => 9.5,
                "high" | "important" => 8.0,
                "medium" | "moderate" => 5.5,
                "low" => 2.0,
                _ => 0.0,
            })
    });
    level >= fail.level && score >= fail.min_score
}

/// Runs `inuse scan`.
pub fn run(args: &ScanArgs) -> anyhow::Result<Code> {
    let min_window =
        parse_duration(&args.min_window).map_err(|e| anyhow::anyhow!("--min-window: {e}"))?;
    let fail_on = args.fail_on.as_deref().map(parse_fail_on).transpose()?;
    let settings = Settings {
        min_window,
        live: args.live.live(),
    };
    let now = inuse_model::time::now();
    // A mistyped --root must fail at once, not after a sweep of every live process.
    if let Some(d) = &args.root {
        inuse_root::Root::open(d).with_context(|| format!("cannot open root {}", d.display()))?;
    }

    let sweep = if settings.live {
        eprintln!("inuse: sweeping live processes");
        let t = std::time::Instant::now();
        let mut sweeper = inuse_runtime::sweep::Sweeper::new(inuse_runtime::Limits::default())
            .context("cannot read /proc")?;
        let sweep = sweeper.sweep(None);
        inuse_scan::timing("live sweep", t);
        Some(sweep)
    } else {
        None
    };

    let dirs: Vec<PathBuf> = match &args.root {
        Some(d) => vec![
            std::fs::canonicalize(d)
                .with_context(|| format!("cannot open root {}", d.display()))?,
        ],
        None => {
            let mut v = vec![PathBuf::from("/")];
            if let Some(s) = &sweep {
                v.extend(inuse_scan::process_roots(s));
            }
            v
        }
    };

    let observations = match args.store.path() {
        Some(p) if p.exists() => Some(
            inuse_runtime::store::Store::open(&p)
                .with_context(|| format!("cannot open the observation store {}", p.display()))?,
        ),
        _ => None,
    };

    let mut scans = Vec::new();
    for dir in &dirs {
        eprintln!("inuse: scanning {}", dir.display());
        let mut scan = match inuse_scan::scan_root(dir) {
            Ok(s) => s,
            Err(e) if dirs.len() > 1 => {
                eprintln!("inuse: warning: {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(s) = &sweep {
            inuse_scan::add_sweep(&mut scan, s);
        }
        let mut window = Window {
            start: now,
            end: now,
            sweeps: u64::from(sweep.is_some()),
        };
        if let Some(store) = &observations {
            if let Some(w) = inuse_scan::add_observations(&mut scan, store)? {
                window = Window {
                    sweeps: w.sweeps + window.sweeps,
                    ..w
                };
            }
        }
        scans.push((scan, window));
    }

    let vulns = open_vulns(args, &scans)?;
    let t = std::time::Instant::now();
    let mut reports: Vec<Report> = Vec::new();
    for (scan, window) in &scans {
        reports.push(inuse_scan::report(
            scan,
            vulns.as_ref(),
            *window,
            &settings,
        )?);
    }
    inuse_scan::timing("vulnerability matching", t);
    let report = merge(reports);

    if let Some(id) = &args.explain {
        let hits: Vec<_> = report
            .findings
            .iter()
            .filter(|f| {
                &f.vulnerability.id == id || f.vulnerability.aliases.iter().any(|a| a == id)
            })
            .collect();
        if hits.is_empty() {
            bail!("no finding has the id {id}");
        }
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for f in hits {
            for line in report.explain(f) {
                writeln!(out, "{line}")?;
            }
            writeln!(out)?;
        }
        out.flush()?;
        return Ok(Code::Ok);
    }

    let format = match args.format.get() {
        ScanFormat::Table => Format::Table {
            color: settings::color(),
        },
        ScanFormat::Json => Format::Json,
        ScanFormat::Openvex => Format::OpenVex,
        ScanFormat::Cyclonedx => Format::CycloneDx,
        ScanFormat::Sarif => Format::Sarif,
    };
    std::io::stdout()
        .lock()
        .write_all(render(&report, format, now).as_bytes())?;
    Ok(match &fail_on {
        Some(f) if report.findings.iter().any(|x| trips(x, f)) => Code::Findings,
        _ => Code::Ok,
    })
}

/// Opens the vulnerability store, filling it first when it is empty (unless offline).
fn open_vulns(
    args: &ScanArgs,
    scans: &[(inuse_scan::RootScan, Window)],
) -> anyhow::Result<Option<VulnStore>> {
    let Some(path) = args.db.path() else {
        eprintln!("inuse: warning: no place for the vulnerability store: pass --db");
        return Ok(None);
    };
    let count = match VulnStore::open_read_only(&path) {
        Ok(s) => s.count().unwrap_or(0),
        Err(_) => 0,
    };
    if count == 0 {
        if args.offline {
            eprintln!(
                "inuse: warning: the vulnerability store {} is empty and --offline was given",
                path.display()
            );
            return Ok(None);
        }
        let ecosystems: std::collections::BTreeSet<String> = scans
            .iter()
            .filter_map(|(s, _)| s.inventory.distro.as_ref()?.ecosystem.clone())
            .filter_map(|e| inuse_osv::ecosystem::Ecosystem::parse(&e).ok())
            .map(|e| e.archive_name().to_owned())
            .collect();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        let mut store = VulnStore::open(&path)
            .with_context(|| format!("cannot open the vulnerability store {}", path.display()))?;
        let opts = inuse_osv::update::Options {
            base_url: std::env::var("INUSE_OSV_URL")
                .unwrap_or_else(|_| inuse_osv::update::DEFAULT_BASE_URL.to_owned()),
            ..Default::default()
        };
        for eco in &ecosystems {
            eprintln!("inuse: the vulnerability store is empty: downloading {eco} data");
            if let Err(e) = inuse_osv::update::update(&mut store, eco, &opts) {
                eprintln!("inuse: warning: {e}");
            }
        }
        if store.count().unwrap_or(0) == 0 {
            return Ok(None);
        }
        return Ok(Some(store));
    }
    Ok(Some(VulnStore::open_read_only(&path).with_context(
        || format!("cannot open the vulnerability store {}", path.display()),
    )?))
}

/// One report for several roots: findings ranked together, each keeping its root.
fn merge(mut reports: Vec<Report>) -> Report {
    if reports.len() == 1 {
        return reports.remove(0);
    }
    let window = reports.first().map(|r| r.window).unwrap_or_default();
    let min_window = reports.first().map_or(0, |r| r.min_window);
    let mut notes = Vec::new();
    let mut all = Vec::new();
    let mut package_counts: Vec<(Strength, usize)> = RANKED.iter().map(|t| (*t, 0)).collect();
    for r in reports {
        for (slot, (_, n)) in package_counts.iter_mut().zip(&r.package_counts) {
            slot.1 += n;
        }
        for n in r.notes {
            notes.push(Note::new(n.code, format!("{}: {}", r.root, n.message)));
        }
        for f in r.findings {
            let mut e = f.evidence;
            e.root = Some(r.root.clone());
            all.push((f.vulnerability, f.package, e));
        }
    }
    let mut out = Report::new("/".to_owned(), None, window, min_window, all);
    out.notes = notes;
    out.package_counts = package_counts;
    out
}
