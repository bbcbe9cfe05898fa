//! `inuse unused`: code that is shipped but not used, ranked by the risk it carries.
//!
//! Three kinds, each with the evidence behind it: packages never seen loaded (installed only,
//! or linked by executables nobody ran), libraries an executable links but takes no symbol
//! from, libraries loaded by live processes whose code never ran beyond load-time
//! initialisation, and libraries `inuse trace` probed in which no function was ever entered. Packages that could not be measured are never listed: not seen is not
//! unused for them.

use std::io::Write;

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_osv::store::Store as VulnStore;
use inuse_report::documents::{
    IdleLoadedRow, ProcessRow, TracedNotEnteredRow, UnusedDocument, UnusedLinkRow, UnusedPackageRow,
};

use crate::exit::Code;
use crate::settings::{DbArg, FormatArg, LiveArg, RootArg, StoreArg};

/// Arguments of `inuse unused`.
#[derive(Args, Debug)]
pub struct UnusedArgs {
    #[command(flatten)]
    root: RootArg,

    #[command(flatten)]
    db: DbArg,

    #[command(flatten)]
    store: StoreArg,

    #[command(flatten)]
    format: FormatArg<UnusedFormat>,

    #[command(flatten)]
    live: LiveArg,
}

/// Output formats of `inuse unused`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum UnusedFormat {
    /// Three aligned lists.
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// Runs `inuse unused`.
pub fn run(args: &UnusedArgs) -> anyhow::Result<Code> {
    // A mistyped --root must fail at once, not after a sweep of every live process.
    let dir = args.root.open()?.dir().to_owned();
    let sweep = if !args.live.live() {
        None
    } else {
        let mut sweeper = inuse_runtime::sweep::Sweeper::new(inuse_runtime::Limits::default())
            .context("cannot read /proc")?;
        Some(sweeper.sweep(None))
    };
    let mut scan = inuse_scan::scan_root(&dir)?;
    if let Some(s) = &sweep {
        inuse_scan::add_sweep(&mut scan, s);
    }
    let store_path = args.store.path();
    // Libraries `inuse trace` probed in which no function was ever entered (host root only:
    // trace probes host paths).
    let mut untouched: Vec<inuse_trace::store::StoredLibrary> = Vec::new();
    if let Some(p) = store_path.filter(|p| p.exists()) {
        let store = inuse_runtime::store::Store::open(&p)
            .with_context(|| format!("cannot open the observation store {}", p.display()))?;
        inuse_scan::add_observations(&mut scan, &store)?;
        if dir == std::path::Path::new("/") {
            let mut hit = std::collections::BTreeSet::new();
            let mut seen = std::collections::BTreeMap::new();
            for w in store.windows()? {
                for lib in inuse_trace::store::read_libraries(&p, w.id)? {
                    if !lib.functions_hit.is_empty() {
                        hit.insert(lib.path.clone());
                    } else if lib.functions_probed > 0 {
                        seen.insert(lib.path.clone(), lib);
                    }
                }
            }
            untouched = seen
                .into_iter()
                .filter(|(k, _)| !hit.contains(k))
                .map(|(_, v)| v)
                .collect();
        }
    }
    let vulns = args
        .db
        .path()
        .and_then(|p| VulnStore::open_read_only(&p).ok());
    let packages = inuse_scan::unused_packages(&scan, vulns.as_ref())?;
    let links = inuse_scan::unused_links(&dir, &scan.executables)?;
    let idle = sweep
        .as_ref()
        .map(|s| inuse_scan::idle_loaded(&scan, s))
        .unwrap_or_default();

    let name = |id| scan.inventory.get(id).map_or("?", |p| p.name.as_str());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format.get() {
        UnusedFormat::Json => {
            let doc = UnusedDocument {
                root: dir.display().to_string(),
                packages: packages
                    .iter()
                    .map(|u| {
                        let p = scan.inventory.get(u.package);
                        UnusedPackageRow {
                            name: name(u.package),
                            version: p.map(|p| p.version.as_str()),
                            evidence: u.strength.as_str(),
                            vulnerabilities: u.vulnerabilities,
                            installed_size: p.and_then(|p| p.installed_size),
                            linked_by: &u.linked_by,
                        }
                    })
                    .collect(),
                unused_links: links
                    .iter()
                    .map(|l| UnusedLinkRow {
                        executable: &l.executable,
                        library: &l.library,
                        path: &l.path,
                    })
                    .collect(),
                traced_not_entered: untouched
                    .iter()
                    .map(|l| TracedNotEnteredRow {
                        path: &l.path,
                        package: l.package.as_deref(),
                        functions_probed: l.functions_probed,
                    })
                    .collect(),
                idle_loaded: idle
                    .iter()
                    .map(|i| IdleLoadedRow {
                        package: name(i.package),
                        files: &i.files,
                        processes: i
                            .processes
                            .iter()
                            .map(|p| ProcessRow {
                                pid: p.pid,
                                exe: &p.exe,
                            })
                            .collect(),
                    })
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        UnusedFormat::Table => {
            writeln!(
                out,
                "{} packages never seen loaded, {} unused links, {} loaded but idle libraries",
                packages.len(),
                links.len(),
                idle.len()
            )?;
            writeln!(
                out,
                "\nPACKAGES NEVER SEEN LOADED (most vulnerabilities first)"
            )?;
            for u in &packages {
                let p = scan.inventory.get(u.package);
                writeln!(
                    out,
                    "{:<40} {:<9} vulns {:<4} size {:>9}{}",
                    name(u.package),
                    u.strength.as_str(),
                    u.vulnerabilities,
                    p.and_then(|p| p.installed_size)
                        .map_or("-".to_owned(), |s| format!("{} KiB", s / 1024)),
                    u.linked_by
                        .first()
                        .map(|x| format!("  linked by {x}"))
                        .unwrap_or_default()
                )?;
            }
            writeln!(out, "\nLINKED BUT NO SYMBOL TAKEN")?;
            for l in &links {
                writeln!(out, "{} -> {} ({})", l.executable, l.library, l.path)?;
            }
            writeln!(out, "\nLOADED, NEVER EXECUTED BEYOND INITIALISATION")?;
            for i in &idle {
                writeln!(
                    out,
                    "{:<30} {} (pid {})",
                    name(i.package),
                    i.files.join(", "),
                    i.processes
                        .iter()
                        .map(|p| p.pid.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            writeln!(out, "\nTRACED, NO FUNCTION EVER ENTERED (inuse trace)")?;
            for l in &untouched {
                writeln!(
                    out,
                    "{} [{}] {} functions probed",
                    l.path,
                    l.package.as_deref().unwrap_or("-"),
                    l.functions_probed
                )?;
            }
            for n in &scan.notes {
                writeln!(out, "\nnote: {n}")?;
            }
        }
    }
    out.flush()?;
    Ok(Code::Ok)
}
