//! `inuse db`: the offline vulnerability database (import, update, status).
//!
//! The store is one SQLite file (`inuse-osv`), where `--db` and its defaults say
//! ([`crate::settings`]). `import` reads OSV files, directories and osv.dev-style zip archives
//! from disk, for hosts without network; `update` downloads osv.dev's archives of the
//! ecosystems in use. Both write in one transaction, so an interrupted run changes
//! nothing. A record that does not validate is reported on stderr and skipped.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use inuse_model::time::rfc3339 as utc;
use inuse_osv::import::{Importer, Limits, Report};
use inuse_osv::store::{Status, Store};
use inuse_osv::update::{self, Outcome};
use inuse_root::Root;

use crate::exit::Code;
use crate::settings::{DbArg, FormatArg, RootArg};

/// Arguments of `inuse db`.
#[derive(Args, Debug)]
// The shared `--db`, given before or after the subcommand.
#[command(mut_arg("db", |a| a.global(true)))]
pub struct DbArgs {
    #[command(flatten)]
    db: DbArg,

    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Import OSV records: JSON files, directories of them, and zip archives like osv.dev's
    /// `<ecosystem>/all.zip`. A stored record is replaced only by a newer one.
    Import(ImportArgs),
    /// Download and import osv.dev's archive of each ecosystem in use, if it changed.
    Update(UpdateArgs),
    /// What the database holds: ecosystems, record counts, last update, path and size.
    Status(StatusArgs),
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// Files, directories or zip archives.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
// The shared `--root`, with what it means here.
#[command(mut_arg("root", |a| a.help("The root whose distribution decides the default ecosystem")))]
struct UpdateArgs {
    /// Ecosystem to download, as OSV names it (`Debian`, `AlmaLinux`, `Rocky Linux`; a
    /// release such as `Debian:12` selects its ecosystem's archive). Repeatable
    /// [default: the ecosystem of --root].
    #[arg(long = "ecosystem", value_name = "E")]
    ecosystems: Vec<String>,

    /// Where the archives are [default: $INUSE_OSV_URL, else
    /// https://osv-vulnerabilities.storage.googleapis.com]; `<URL>/<ecosystem>/all.zip`.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,

    #[command(flatten)]
    root: RootArg,
}

#[derive(Args, Debug)]
struct StatusArgs {
    #[command(flatten)]
    format: FormatArg<Format>,
}

/// Output formats of `inuse db status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Human-readable lines.
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// Runs `inuse db`.
pub fn run(args: &DbArgs) -> anyhow::Result<Code> {
    let path = args.db.require()?;
    match &args.command {
        DbCommand::Import(a) => import(&path, a),
        DbCommand::Update(a) => update(&path, a),
        DbCommand::Status(a) => status(&path, a),
    }
}

/// Prints what was skipped to stderr; warnings (parts of valid records) only in part.
fn report_problems(report: &Report) {
    for r in &report.rejected {
        eprintln!("inuse: skipped: {r}");
    }
    const SHOWN: usize = 20;
    for w in report.warnings.iter().take(SHOWN) {
        eprintln!("inuse: warning: {w}");
    }
    if report.warnings.len() > SHOWN {
        eprintln!(
            "inuse: warning: ... and {} more parts of records dropped",
            report.warnings.len() - SHOWN
        );
    }
}

fn summary(report: &Report) -> String {
    format!(
        "{} records read: {} added, {} replaced, {} unchanged; {} skipped",
        report.records,
        report.added,
        report.replaced,
        report.unchanged,
        report.rejected.len()
    )
}

fn import(path: &Path, args: &ImportArgs) -> anyhow::Result<Code> {
    let t = std::time::Instant::now();
    let mut store = Store::open(path)?;
    let mut writer = store.writer()?;
    inuse_runtime::timing("open store", t);
    let t = std::time::Instant::now();
    let mut importer = Importer::new(&mut writer, Limits::default());
    for p in &args.paths {
        importer.path(p)?;
    }
    let report = std::mem::take(&mut importer.report);
    inuse_runtime::timing("read, parse and write records", t);
    let t = std::time::Instant::now();
    writer.commit()?;
    inuse_runtime::timing("index and commit", t);
    report_problems(&report);
    // The records are committed: a reader gone from stdout does not make this a failure.
    let _ = writeln!(io::stdout(), "{}: {}", path.display(), summary(&report));
    Ok(if report.rejected.is_empty() {
        Code::Ok
    } else {
        Code::Partial
    })
}

/// The OSV ecosystem of a root, from its os-release.
fn root_ecosystem(root_dir: &Path) -> anyhow::Result<String> {
    let root =
        Root::open(root_dir).with_context(|| format!("cannot open root {}", root_dir.display()))?;
    for p in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Ok(bytes) = root.read(Path::new(p), 64 * 1024) {
            let distro = inuse_pkgdb::Distro::from_os_release(&String::from_utf8_lossy(&bytes));
            return distro.and_then(|d| d.ecosystem).with_context(|| {
                format!(
                    "{}{p}: not a distribution with OSV data; pass --ecosystem",
                    root_dir.display()
                )
            });
        }
    }
    anyhow::bail!(
        "{}: no os-release, so no default ecosystem; pass --ecosystem",
        root_dir.display()
    )
}

fn update(path: &Path, args: &UpdateArgs) -> anyhow::Result<Code> {
    let mut names: Vec<String> = if args.ecosystems.is_empty() {
        vec![root_ecosystem(args.root.dir())?]
    } else {
        args.ecosystems.clone()
    };
    // One archive holds every release of an ecosystem.
    for n in &mut names {
        if let Some((base, _)) = n.split_once(':') {
            *n = base.to_owned();
        }
        if inuse_osv::Ecosystem::parse(n).is_err() {
            anyhow::bail!("{n:?} is not an OSV ecosystem name");
        }
    }
    names.dedup();
    let base_url = args
        .base_url
        .clone()
        .or_else(|| {
            std::env::var("INUSE_OSV_URL")
                .ok()
                .filter(|u| !u.is_empty())
        })
        .unwrap_or_else(|| update::DEFAULT_BASE_URL.to_owned());
    let opts = update::Options {
        base_url,
        ..update::Options::default()
    };
    let mut store = Store::open(path)?;
    let mut failed = 0;
    let mut code = Code::Ok;
    for name in &names {
        match update::update(&mut store, name, &opts) {
            // A reader gone from stdout must not stop the remaining updates.
            Ok(Outcome::NotModified) => {
                let _ = writeln!(io::stdout(), "{name}: not modified");
            }
            Ok(Outcome::Updated { bytes, report }) => {
                report_problems(&report);
                if !report.rejected.is_empty() {
                    code = code.worst(Code::Partial);
                }
                let _ = writeln!(
                    io::stdout(),
                    "{name}: downloaded {bytes} bytes; {}",
                    summary(&report)
                );
            }
            Err(e) => {
                eprintln!("inuse: {name}: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed == names.len() {
        Code::Error
    } else if failed > 0 {
        Code::Partial
    } else {
        code
    })
}

fn status(path: &Path, args: &StatusArgs) -> anyhow::Result<Code> {
    let store = Store::open_read_only(path)?;
    let status = store.status()?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format.get() {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &status)?;
            writeln!(out)?;
        }
        Format::Table => status_table(&mut out, &status)?,
    }
    out.flush()?;
    Ok(Code::Ok)
}

fn status_table(out: &mut impl Write, s: &Status) -> io::Result<()> {
    writeln!(out, "store:        {}", s.path.display())?;
    writeln!(
        out,
        "size:         {} ({} bytes), schema {}",
        human_size(s.size),
        s.size,
        s.schema_version
    )?;
    writeln!(
        out,
        "records:      {} ({} withdrawn)",
        s.records, s.withdrawn
    )?;
    writeln!(
        out,
        "last import:  {}",
        s.last_import.map_or_else(|| "never".to_owned(), utc)
    )?;
    let width = s
        .ecosystems
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max("ECOSYSTEM".len());
    writeln!(out)?;
    writeln!(out, "{:<width$}  RECORDS", "ECOSYSTEM")?;
    for (e, n) in &s.ecosystems {
        writeln!(out, "{e:<width$}  {n}")?;
    }
    if !s.sources.is_empty() {
        writeln!(out)?;
        writeln!(out, "downloaded archives:")?;
        for src in &s.sources {
            writeln!(
                out,
                "  {}  {}  updated {}, checked {}",
                src.ecosystem,
                src.url,
                src.updated_at.map_or_else(|| "never".to_owned(), utc),
                utc(src.checked_at)
            )?;
        }
    }
    Ok(())
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = "bytes";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if unit == "bytes" {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(10), "10 bytes");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
