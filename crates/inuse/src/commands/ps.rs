//! `inuse ps`: what live processes have loaded, executed, and left stale, right now.
//!
//! Glue over [`inuse_runtime::Sweeper`]: one sweep of the given pids (or all), rendered as a
//! table or as the JSON document documented in docs/formats.md. Read-only: nothing under `/proc`
//! is written. The exit code says whether stale
//! code runs (1, a restart is due) or some asked-for pid could not be measured (3).

use std::io::{self, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_runtime::{Limits, ProcessReport, Sweep, Sweeper};

use crate::exit::Code;
use crate::pretty;
use crate::settings::FormatArg;

/// Arguments of `inuse ps`.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// Processes to analyse [default: all].
    #[arg(value_name = "PID")]
    pids: Vec<u32>,

    #[command(flatten)]
    format: FormatArg<Format>,
}

/// Output formats of `inuse ps`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per process, one indented line per mapped object.
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// Runs `inuse ps`.
pub fn run(args: &PsArgs) -> anyhow::Result<Code> {
    let started = std::time::Instant::now();
    let mut sweeper = Sweeper::new(Limits::default()).context("cannot stat /")?;
    let pids = (!args.pids.is_empty()).then_some(args.pids.as_slice());
    let sweep = sweeper.sweep(pids);
    for w in &sweep.warnings {
        eprintln!("inuse: warning: {w}");
    }
    let mut code = Code::Ok;
    if sweep
        .processes
        .iter()
        .flat_map(|p| &p.objects)
        .any(|o| o.stale.is_some())
    {
        code = Code::Findings;
    }
    for pid in &sweep.missing {
        if pids.is_some() {
            eprintln!("inuse: {pid}: no such process");
            code = code.worst(Code::Partial);
        }
    }
    if pids.is_some() {
        for p in sweep.processes.iter().filter(|p| p.unmeasurable.is_some()) {
            eprintln!(
                "inuse: {}: cannot measure: {}",
                p.pid,
                p.unmeasurable.as_deref().unwrap_or_default()
            );
            code = code.worst(Code::Partial);
        }
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format.get() {
        Format::Json => write_json(&mut out, &sweep),
        Format::Table => write_table(&mut out, &sweep),
    }
    .and_then(|()| out.flush())
    .context("cannot write to stdout")?;
    inuse_runtime::timing("output written", started);
    // The process ends here: the operating system takes back the caches and reports at
    // once, faster than freeing their many small allocations one by one.
    std::mem::forget(sweep);
    std::mem::forget(sweeper);
    Ok(code)
}

/// The sweep as one pretty-printed JSON document, byte for byte what
/// `serde_json::to_writer_pretty` of the whole [`Sweep`] writes (after the vocabulary's
/// `schema_version`), but with the processes serialised in parallel (a few megabytes for a
/// host's processes).
fn write_json(mut out: impl Write, sweep: &Sweep) -> io::Result<()> {
    let version = inuse_model::SCHEMA_VERSION.to_string().into_bytes();
    let kernel = pretty::indented(&sweep.kernel, 1)?;
    pretty::write_object_with_array(
        &mut out,
        &[("schema_version", version), ("kernel", kernel)],
        "processes",
        &sweep.processes,
        |p| p,
    )
}

fn process_line(p: &ProcessReport) -> String {
    let mut line = format!("{} {}", p.pid, p.comm);
    if let Some(exe) = &p.exe {
        line.push_str(&format!(" ({exe})"));
    }
    match (p.uid, p.euid) {
        (Some(u), Some(e)) if u != e => line.push_str(&format!(" uid={u} euid={e}")),
        (Some(u), _) => line.push_str(&format!(" uid={u}")),
        _ => {}
    }
    if let Some(root) = p.root.as_deref().filter(|r| *r != "/") {
        line.push_str(&format!(" root={root}"));
    }
    if let Some(c) = &p.container {
        let short: String = c.id.chars().take(12).collect();
        line.push_str(&format!(" container={}:{short}", c.runtime));
    }
    if !p.listening.is_empty() {
        line.push_str(&format!(" listening=[{}]", p.listening.join(", ")));
    }
    if let Some(why) = &p.unmeasurable {
        line.push_str(&format!(" unmeasurable: {why}"));
    }
    line
}

fn write_table(mut out: impl Write, sweep: &Sweep) -> io::Result<()> {
    if let Some(k) = &sweep.kernel {
        let package = k.package.as_ref().map_or_else(
            || "not from a package".to_owned(),
            |p| format!("{} {}", p.name, p.version),
        );
        write!(out, "kernel {} ({package})", k.running)?;
        if k.reboot_pending {
            let newest = k.installed.last().map_or("", |i| i.release.as_str());
            write!(out, " reboot pending: {newest} is installed")?;
        }
        writeln!(out)?;
    }
    for p in &sweep.processes {
        writeln!(out, "{}", process_line(p))?;
        if let Some(note) = &p.executed_note {
            writeln!(out, "  note: {note}")?;
        }
        for o in &p.objects {
            let mut flags = Vec::new();
            if o.dlopened == Some(true) {
                flags.push("dlopened");
            }
            if let Some(s) = o.stale {
                flags.push(s.as_str());
            }
            let package = o
                .package
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| format!("{} {}", p.name, p.version));
            writeln!(
                out,
                "  {:<9} {:<17} {} [{package}]",
                o.executed.as_str(),
                flags.join(","),
                o.path
            )?;
        }
        for f in &p.files {
            let stale = f.stale.map_or("", |s| s.as_str());
            let package = f
                .package
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| format!("{} {}", p.name, p.version));
            writeln!(out, "  {:<9} {stale:<17} {} [{package}]", "file", f.path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The parallel writer gives exactly serde_json's pretty document (after the vocabulary's
    /// `schema_version`): for a sweep of every process of this machine, and for a sweep with no
    /// process.
    #[test]
    fn json_is_serde_json_pretty() {
        let mut sweeper = Sweeper::new(Limits::default()).unwrap();
        let mut sweep = sweeper.sweep(None);
        assert!(!sweep.processes.is_empty());
        for _ in 0..2 {
            let mut ours = Vec::new();
            write_json(&mut ours, &sweep).unwrap();
            // serde_json's document of the sweep, with the vocabulary's version first.
            #[derive(serde::Serialize)]
            struct Versioned<'a> {
                schema_version: u32,
                #[serde(flatten)]
                sweep: &'a Sweep,
            }
            let doc = Versioned {
                schema_version: inuse_model::SCHEMA_VERSION,
                sweep: &sweep,
            };
            let mut expected = serde_json::to_vec_pretty(&doc).unwrap();
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(expected).unwrap()
            );
            sweep.processes.clear();
        }
    }
}
