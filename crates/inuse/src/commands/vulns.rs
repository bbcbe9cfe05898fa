//! `inuse vulns`: known vulnerabilities of the installed packages of a root.
//!
//! Plain matching of the package inventory (`inuse-pkgdb`) against the offline database
//! (`inuse-osv`), with no runtime evidence yet: the building block `inuse scan` ranks. One
//! finding per installed package and vulnerability; the table and the JSON document are two
//! renderings of the same findings.

use std::io::{self, Write};
use std::path::Path;

use clap::{Args, ValueEnum};
use inuse_model::Note;
use inuse_osv::{Matched, Store, match_inventory};
use inuse_pkgdb::Inventory;
use serde::Serialize;

use crate::exit::Code;
use crate::settings::{DbArg, FormatArg, RootArg};

/// Arguments of `inuse vulns`.
#[derive(Args, Debug)]
pub struct VulnsArgs {
    #[command(flatten)]
    root: RootArg,

    #[command(flatten)]
    db: DbArg,

    #[command(flatten)]
    format: FormatArg<Format>,
}

/// Output formats of `inuse vulns`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns with a header.
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// Runs `inuse vulns`.
pub fn run(args: &VulnsArgs) -> anyhow::Result<Code> {
    let root = args.root.open()?;
    let path = args.db.require()?;
    let store = Store::open_read_only(&path)?;
    let inv = Inventory::load(&root);
    for p in &inv.problems {
        eprintln!("inuse: warning: {p}");
    }
    let ecosystem = inv.distro.as_ref().and_then(|d| d.ecosystem.clone());
    let matches = match_inventory(&store, &inv)?;
    for p in &matches.problems {
        eprintln!("inuse: warning: {p}");
    }
    let notes = inuse_scan::ecosystem_notes(&matches);
    for n in &notes {
        eprintln!("inuse: note: {}", n.message);
    }
    if matches.packages_checked == 0 {
        eprintln!(
            "inuse: {}: no installed package of a distribution with OSV data ({} packages, ecosystem {})",
            args.root.dir().display(),
            inv.packages.len(),
            ecosystem.as_deref().unwrap_or("unknown")
        );
        return Ok(Code::Error);
    }

    // Buffered: stdout is line-buffered, and a JSON document has many lines.
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format.get() {
        Format::Json => {
            // Serialised straight from the findings: no intermediate JSON tree.
            #[derive(Serialize)]
            struct Doc<'a> {
                schema_version: u32,
                root: &'a Path,
                ecosystem: Option<&'a str>,
                findings: &'a [Matched],
                packages_checked: usize,
                problems: &'a [String],
                notes: &'a [Note],
            }
            let doc = Doc {
                schema_version: inuse_model::SCHEMA_VERSION,
                root: args.root.dir(),
                ecosystem: ecosystem.as_deref(),
                findings: &matches.findings,
                packages_checked: matches.packages_checked,
                problems: &matches.problems,
                notes: &notes,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => table(&mut out, &matches.findings)?,
    }
    out.flush()?;
    let packages: std::collections::BTreeSet<_> =
        matches.findings.iter().map(|f| f.package_id).collect();
    eprintln!(
        "inuse: {} findings in {} of {} packages checked against {}",
        matches.findings.len(),
        packages.len(),
        matches.packages_checked,
        path.display()
    );
    let code = if matches.findings.is_empty() {
        Code::Ok
    } else {
        Code::Findings
    };
    Ok(if inv.problems.is_empty() && matches.problems.is_empty() {
        code
    } else {
        code.worst(Code::Partial)
    })
}

fn table(out: &mut impl Write, findings: &[Matched]) -> io::Result<()> {
    const HEADER: [&str; 6] = [
        "PACKAGE",
        "VERSION",
        "VULNERABILITY",
        "SEVERITY",
        "FIXED",
        "SUMMARY",
    ];
    let rows: Vec<[String; 6]> = findings
        .iter()
        .map(|f| {
            let v = &f.vulnerability;
            let severity = v.severity.as_ref().map_or_else(
                || "-".to_owned(),
                |s| match s.score {
                    Some(score) => format!("{} {score:.1}", s.label),
                    None => s.label.clone(),
                },
            );
            let mut summary: String = v.summary.chars().take(60).collect();
            if v.summary.chars().count() > 60 {
                summary.push('…');
            }
            [
                f.package.name.clone(),
                f.package.version.clone(),
                v.id.clone(),
                severity,
                v.fixed_version.clone().unwrap_or_else(|| "-".to_owned()),
                summary,
            ]
        })
        .collect();
    out.write_all(inuse_report::columns(&HEADER, &rows).as_bytes())?;
    Ok(())
}
