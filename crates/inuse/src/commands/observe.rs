//! `inuse observe`: repeated sweeps accumulated in the observation store.
//!
//! A single `inuse ps` sees the processes alive at one instant; observing over hours catches
//! the cron job, the backup, the nightly plugin. Each sweep is committed to the store
//! ([`inuse_runtime::store`]) as one transaction, so stopping (SIGINT, SIGTERM, the end of
//! `--duration`) or crashing loses at most the sweep in flight; a signal ends the window
//! cleanly. `--show` prints what the latest window accumulated.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Args;
use inuse_runtime::store::Store;
use inuse_runtime::{Limits, Sweeper};

use crate::exit::Code;
use crate::settings::StoreArg;

/// Arguments of `inuse observe`.
#[derive(Args, Debug)]
pub struct ObserveArgs {
    /// Time between sweeps (`500ms`, `5s`, `1m`).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    interval: Duration,

    /// How long to observe (`30s`, `1h`, `2d`).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration,
          conflicts_with = "forever")]
    duration: Duration,

    /// Observe until stopped by SIGINT or SIGTERM.
    #[arg(long)]
    forever: bool,

    #[command(flatten)]
    store: StoreArg,

    /// Print what the latest window of the store holds, and exit without sweeping.
    #[arg(long)]
    show: bool,
}

/// A `--duration`/`--interval` value: [`inuse_model::time::parse_duration_ms`].
pub(crate) use inuse_model::time::parse_std_duration as parse_duration;

fn open_store(args: &ObserveArgs) -> anyhow::Result<(Store, PathBuf)> {
    let path = args
        .store
        .path()
        .context("cannot choose a store: neither XDG_DATA_HOME nor HOME is set; pass --store")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let store = Store::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok((store, path))
}

/// Runs `inuse observe`.
pub fn run(args: &ObserveArgs) -> anyhow::Result<Code> {
    let (mut store, path) = open_store(args)?;
    if args.show {
        return show(&store);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let interval_ms = u64::try_from(args.interval.as_millis()).unwrap_or(u64::MAX);
    let window = store.begin_window(&host, SystemTime::now(), Some(interval_ms))?;
    eprintln!(
        "inuse: observing every {:?} into {} (window {})",
        args.interval,
        path.display(),
        window.0
    );
    let mut sweeper = Sweeper::new(Limits::default()).context("cannot stat /")?;
    sweeper.set_incremental(true);
    let start = Instant::now();
    let mut sweeps = 0u64;
    let mut took = Vec::new();
    loop {
        let began = Instant::now();
        let sweep = sweeper.sweep(None);
        took.push(began.elapsed());
        for w in &sweep.warnings {
            eprintln!("inuse: warning: {w}");
        }
        let recording = Instant::now();
        store.record_sweep(window, SystemTime::now(), &sweep)?;
        inuse_runtime::timing("store", recording);
        sweeps += 1;
        // Sleep until the next sweep, the end, or a signal, whichever comes first.
        let next = start
            + args
                .interval
                .saturating_mul(u32::try_from(sweeps).unwrap_or(u32::MAX));
        let end = (!args.forever).then(|| start + args.duration);
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if end.is_some_and(|e| now >= e) || now >= next {
                break;
            }
            std::thread::sleep(Duration::from_millis(50).min(next - now));
        }
        if stop.load(Ordering::Relaxed) || end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
    }
    store.end_window(window, SystemTime::now())?;
    took.sort_unstable();
    let median = took.get(took.len() / 2).copied().unwrap_or_default();
    eprintln!(
        "inuse: window {} closed after {sweeps} sweeps ({}); median sweep {} ms",
        window.0,
        path.display(),
        median.as_millis()
    );
    Ok(Code::Ok)
}

fn show(store: &Store) -> anyhow::Result<Code> {
    let Some(window) = store.latest_window()? else {
        eprintln!("inuse: the store holds no observation window yet");
        return Ok(Code::Ok);
    };
    // Buffered, and a reader that goes away (`| head`) ends the listing quietly (main treats a
    // broken pipe as success) instead of panicking in `println!`.
    let mut out = io::BufWriter::new(io::stdout().lock());
    if let Some(w) = store.windows()?.into_iter().find(|w| w.id == window) {
        writeln!(
            out,
            "window {} on {}: {} sweeps, from {} to {}",
            w.id.0,
            w.host,
            w.sweeps,
            w.started_at,
            w.ended_at
                .or(w.last_sweep_at)
                .map_or_else(|| "?".to_owned(), |t| t.to_string())
        )?;
    }
    for e in store.evidence(Some(window))? {
        let package = match (&e.package, &e.version) {
            (Some(n), Some(v)) => format!("{n} {v}"),
            _ => "-".to_owned(),
        };
        let level = if e.measured || !e.elf {
            e.level.as_str()
        } else {
            "loaded(unmeasured)"
        };
        writeln!(
            out,
            "{level:<18} {:<10} {} {} [{package}] by {}",
            e.stale.as_deref().unwrap_or("-"),
            e.root,
            e.path,
            e.exes.join(", ")
        )?;
    }
    out.flush()?;
    Ok(Code::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
