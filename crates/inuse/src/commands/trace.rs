//! `inuse trace`: which functions of a library really ran, from one-shot kernel uprobes.
//!
//! Glue over [`inuse_trace`]: choose the libraries (paths, packages, or the loaded libraries
//! of vulnerable packages), put one probe at every function entry, poll until the duration
//! ends, a signal arrives or every function has been seen, and report. `SIGINT` and `SIGTERM`
//! only set a flag, so a stopped run still removes its probes and prints what it saw; errors
//! and panics remove them through the session's `Drop`; a `SIGKILL`ed run's probes are
//! removed by the next start.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use inuse_model::time::rfc3339_millis as rfc3339;
use inuse_report::documents::{
    FunctionHitRow, ProcessHitRow, TraceDocument, TraceWindow, TracedLibraryRow,
};
use inuse_trace::select::{Owner, Packages};
use inuse_trace::store::{Run, TracedLibrary};
use inuse_trace::{LibraryFunctions, LibraryResult, Session, Tracefs};

use crate::exit::Code;
use crate::settings::{DbArg, FormatArg};

/// Arguments of `inuse trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Trace this library (any spelling: its real path is probed). Repeatable.
    #[arg(long = "library", value_name = "PATH")]
    libraries: Vec<PathBuf>,

    /// Trace every ELF shared object this installed package owns. Repeatable.
    #[arg(long = "package", value_name = "NAME")]
    packages: Vec<String>,

    /// Trace the libraries that host processes have loaded now and whose packages have known
    /// vulnerabilities (needs `inuse db`).
    #[arg(long)]
    loaded_vulnerable: bool,

    /// How long to trace (`500ms`, `30s`, `1h`) [default: until SIGINT or SIGTERM, or until
    /// every function has been entered].
    #[arg(long, value_name = "DURATION", value_parser = super::observe::parse_duration)]
    duration: Option<Duration>,

    /// Upper bound on probes placed at once (kernel memory); libraries that do not fit are
    /// skipped whole and reported.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    max_probes: usize,

    /// Record the results in this observation store (as a window of its own).
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,

    #[command(flatten)]
    db: DbArg,

    #[command(flatten)]
    format: FormatArg<Format>,
}

/// Output formats of `inuse trace`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One block per library: counts, then the functions entered.
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// Polling: fast while probes are firing (so a hot function pays few traps), slower once
/// coverage settles (reading `uprobe_profile` is not free with thousands of probes).
const POLL_MIN: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_millis(200);

/// Runs `inuse trace`.
pub fn run(args: &TraceArgs) -> anyhow::Result<Code> {
    if args.libraries.is_empty() && args.packages.is_empty() && !args.loaded_vulnerable {
        bail!("nothing to trace: give --library PATH, --package NAME or --loaded-vulnerable");
    }
    inuse_trace::check_privileges()?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    let tracefs = Tracefs::open()?;
    tracefs.check_uprobes()?;
    for group in inuse_trace::remove_stale_groups(&tracefs)? {
        eprintln!(
            "inuse: removed probe group {group} left by an earlier run that did not clean up (killed?)"
        );
    }

    let mut code = Code::Ok;
    let packages = Packages::load_host()?;
    let (paths, vulnerabilities) = choose_libraries(args, &packages, &mut code)?;

    let mut session = Session::new(tracefs, args.max_probes);
    let mut traced = Vec::new();
    let limits = inuse_elf::Limits::default();
    for path in paths {
        let added = LibraryFunctions::read(&path, &limits)
            .and_then(|functions| session.add_library(functions));
        match added {
            Ok(()) => traced.push(path),
            Err(e) => {
                eprintln!("inuse: {e}");
                code = code.worst(Code::Partial);
            }
        }
    }
    if session.probes() == 0 {
        bail!("no function to trace in the libraries chosen");
    }
    if stop.load(Ordering::Relaxed) {
        return Ok(code);
    }

    let attach_start = Instant::now();
    let attached = session.attach()?;
    let start = SystemTime::now();
    if attached.failed > 0 {
        // Those functions are unmeasured, which must not read as "not entered".
        code = code.worst(Code::Partial);
        eprintln!(
            "inuse: warning: the kernel refused {} of {} probes ({})",
            attached.failed,
            session.probes(),
            attached.first_error.as_deref().unwrap_or("no reason given")
        );
    }
    // Tests and scripts wait for this line: the probes are in place from here on.
    eprintln!(
        "inuse: tracing {} functions in {} libraries (group {}, attached in {} ms)",
        attached.placed,
        traced.len(),
        session.group(),
        attach_start.elapsed().as_millis()
    );

    let end = args.duration.map(|d| Instant::now() + d);
    let mut interval = POLL_MIN;
    while !stop.load(Ordering::Relaxed)
        && session.active() > 0
        && end.is_none_or(|e| Instant::now() < e)
    {
        let wake = Instant::now() + interval;
        while !stop.load(Ordering::Relaxed) && Instant::now() < wake {
            std::thread::sleep(Duration::from_millis(5).min(interval));
        }
        let hits = session.poll(SystemTime::now())?;
        interval = if hits > 0 {
            POLL_MIN
        } else {
            (interval * 2).min(POLL_MAX)
        };
    }
    let group = session.group().to_owned();
    let results = session.finish()?;
    let stop_time = SystemTime::now();

    let libraries: Vec<TracedLibrary> = results
        .into_iter()
        .map(|result| TracedLibrary {
            owner: packages.owner(&result.path),
            result,
        })
        .collect();
    if let Some(path) = &args.store {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let window = inuse_trace::store::record(
            path,
            &Run {
                host: &host,
                start,
                end: stop_time,
                libraries: &libraries,
            },
        )
        .with_context(|| format!("cannot record in {}", path.display()))?;
        eprintln!(
            "inuse: recorded as window {} of {}",
            window.0,
            path.display()
        );
    }

    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format.get() {
        Format::Json => {
            let doc = TraceDocument {
                window: TraceWindow {
                    start: rfc3339(start),
                    end: rfc3339(stop_time),
                },
                group: &group,
                libraries: libraries
                    .iter()
                    .map(|l| library_row(l, &vulnerabilities))
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => print_table(&mut out, start, stop_time, &libraries)?,
    }
    out.flush()?;
    Ok(code)
}

/// Library -> the vulnerabilities of its package (`--loaded-vulnerable`).
type Vulnerabilities = BTreeMap<PathBuf, Vec<String>>;

/// The libraries to trace, canonical and one per inode, with the vulnerabilities that made
/// `--loaded-vulnerable` choose them.
fn choose_libraries(
    args: &TraceArgs,
    packages: &Packages,
    code: &mut Code,
) -> anyhow::Result<(Vec<PathBuf>, Vulnerabilities)> {
    let mut paths = Vec::new();
    let mut vulnerabilities = BTreeMap::new();
    for path in &args.libraries {
        match std::fs::canonicalize(path) {
            Ok(real) => paths.push(real),
            Err(e) => {
                eprintln!("inuse: {}: {e}", path.display());
                *code = code.worst(Code::Partial);
            }
        }
    }
    for name in &args.packages {
        match packages.shared_objects(name) {
            Some(found) if found.is_empty() => {
                eprintln!("inuse: package {name} owns no ELF shared object");
                *code = code.worst(Code::Partial);
            }
            Some(found) => paths.extend(found),
            None => {
                eprintln!("inuse: no installed package is named {name}");
                *code = code.worst(Code::Partial);
            }
        }
    }
    if args.loaded_vulnerable {
        let db = args.db.require()?;
        let osv = inuse_osv::Store::open_read_only(&db)
            .with_context(|| format!("cannot open the vulnerability database {}", db.display()))?;
        let found = inuse_trace::select::loaded_vulnerable(&osv, packages)?;
        for w in &found.warnings {
            eprintln!("inuse: warning: {w}");
        }
        if found.other_roots > 0 {
            eprintln!(
                "inuse: warning: {} processes in other roots (chroots, containers) were not \
                 considered for --loaded-vulnerable; name their libraries with --library",
                found.other_roots
            );
        }
        eprintln!(
            "inuse: {} packages have known vulnerabilities; {} of their libraries are loaded",
            found.vulnerable_packages,
            found.libraries.len()
        );
        for lib in found.libraries {
            vulnerabilities.insert(lib.path.clone(), lib.vulnerabilities);
            paths.push(lib.path);
        }
    }
    let mut seen = HashSet::new();
    paths.retain(|p| std::fs::metadata(p).map_or(true, |m| seen.insert((m.dev(), m.ino()))));
    Ok((paths, vulnerabilities))
}

fn library_row<'a>(
    lib: &'a TracedLibrary,
    vulnerabilities: &'a Vulnerabilities,
) -> TracedLibraryRow<'a, Owner> {
    let r = &lib.result;
    let mut hit: Vec<_> = r.hit().collect();
    hit.sort_by(|a, b| a.first_hit.cmp(&b.first_hit).then(a.name.cmp(&b.name)));
    let unprobed: Vec<&str> = r
        .functions
        .iter()
        .filter(|f| !f.probed)
        .map(|f| f.name.as_str())
        .collect();
    TracedLibraryRow {
        path: &r.path,
        package: lib.owner.as_ref(),
        functions_total: r.functions.len(),
        functions_probed: r.probed(),
        symtab: r.symtab,
        functions_hit: hit
            .iter()
            .map(|f| FunctionHitRow {
                name: &f.name,
                first_hit: f.first_hit.map(rfc3339),
                aliases: &f.aliases,
                first_by: f.first_by.as_ref().map(|p| ProcessHitRow {
                    pid: p.pid,
                    exe: p.exe.as_deref(),
                }),
            })
            .collect(),
        functions_unprobed: (!unprobed.is_empty()).then_some(unprobed),
        vulnerabilities: vulnerabilities.get(&r.path).map(Vec::as_slice),
        entered_by: r
            .entered_by
            .iter()
            .map(|p| ProcessHitRow {
                pid: p.pid,
                exe: p.exe.as_deref(),
            })
            .collect(),
    }
}

fn package_text(owner: Option<&Owner>) -> String {
    owner.map_or_else(|| "-".to_owned(), |o| format!("{} {}", o.name, o.version))
}

fn print_table(
    out: &mut impl Write,
    start: SystemTime,
    end: SystemTime,
    libraries: &[TracedLibrary],
) -> io::Result<()> {
    writeln!(out, "window {} .. {}", rfc3339(start), rfc3339(end))?;
    let width = libraries
        .iter()
        .map(|l| l.result.path.as_os_str().len())
        .max()
        .unwrap_or(0)
        .max("LIBRARY".len());
    let pwidth = libraries
        .iter()
        .map(|l| package_text(l.owner.as_ref()).len())
        .max()
        .unwrap_or(0)
        .max("PACKAGE".len());
    writeln!(
        out,
        "{:<width$}  {:<pwidth$}  {:>9}  {:>6}",
        "LIBRARY", "PACKAGE", "FUNCTIONS", "HIT"
    )?;
    for lib in libraries {
        let r: &LibraryResult = &lib.result;
        let mut hit: Vec<_> = r.hit().collect();
        hit.sort_by(|a, b| a.first_hit.cmp(&b.first_hit).then(a.name.cmp(&b.name)));
        writeln!(
            out,
            "{:<width$}  {:<pwidth$}  {:>9}  {:>6}",
            r.path.display(),
            package_text(lib.owner.as_ref()),
            r.functions.len(),
            hit.len()
        )?;
        for f in hit {
            writeln!(
                out,
                "    {} {}",
                f.first_hit.map(rfc3339).unwrap_or_default(),
                f.name
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::UNIX_EPOCH;

    use inuse_trace::FunctionResult;

    use super::*;

    fn sample(owned: bool, all_probed: bool) -> TracedLibrary {
        let f = |name: &str, probed: bool, hit: Option<u64>, aliases: &[&str]| FunctionResult {
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            offset: 16,
            probed,
            first_hit: hit.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
            hits: u64::from(hit.is_some()),
            first_by: None,
        };
        TracedLibrary {
            result: LibraryResult {
                path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".into(),
                functions: vec![
                    f("inflate", true, Some(1_700_000_000_500), &["inflate_alias"]),
                    f("deflate", true, Some(1_700_000_000_100), &[]),
                    f("crc32", true, None, &[]),
                    f("adler32", all_probed, None, &[]),
                ],
                symtab: false,
                unmapped: 0,
                entered_by: Vec::new(),
            },
            owner: owned.then(|| Owner {
                name: "zlib1g".into(),
                version: "1:1.2.13".into(),
                arch: "amd64".into(),
                source_name: "zlib".into(),
                source_version: "1:1.2.13".into(),
                manager: inuse_model::Manager::Dpkg,
                ecosystem: Some("Debian:12".into()),
                purl: "pkg:deb/debian/zlib1g".into(),
            }),
        }
    }

    /// The JSON of a library, pinned here because the snapshot tests need tracefs: the field
    /// order, the optional fields present, aliases only where there are some.
    #[test]
    fn json_of_a_traced_library() {
        let lib = sample(true, false);
        let vulns: Vulnerabilities = [(
            lib.result.path.clone(),
            vec!["CVE-1".to_owned(), "CVE-2".to_owned()],
        )]
        .into();
        let text = serde_json::to_string_pretty(&library_row(&lib, &vulns)).unwrap();
        assert_eq!(
            text,
            r#"{
  "path": "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
  "package": {
    "name": "zlib1g",
    "version": "1:1.2.13",
    "arch": "amd64",
    "source_name": "zlib",
    "source_version": "1:1.2.13",
    "manager": "dpkg",
    "ecosystem": "Debian:12",
    "purl": "pkg:deb/debian/zlib1g"
  },
  "functions_total": 4,
  "functions_probed": 3,
  "symtab": false,
  "functions_hit": [
    {
      "name": "deflate",
      "first_hit": "2023-11-14T22:13:20.100Z"
    },
    {
      "name": "inflate",
      "first_hit": "2023-11-14T22:13:20.500Z",
      "aliases": [
        "inflate_alias"
      ]
    }
  ],
  "functions_unprobed": [
    "adler32"
  ],
  "vulnerabilities": [
    "CVE-1",
    "CVE-2"
  ]
}"#
        );
        // Unowned, every function probed, not chosen for a vulnerability: those fields are
        // null or left out.
        let lib = sample(false, true);
        let doc = serde_json::to_value(library_row(&lib, &Vulnerabilities::new())).unwrap();
        assert!(doc["package"].is_null());
        assert!(doc.get("functions_unprobed").is_none() && doc.get("vulnerabilities").is_none());
    }
}
