//! `inuse sbom`: a software bill of materials of a root, CycloneDX 1.6 or SPDX 2.3 JSON.
//!
//! Glue only: `inuse-scan` gathers the components and their dependency edges (declared by the
//! package databases, and followed by the loader through the ELF files), `inuse-report`
//! writes the document. What is decided here is the time and the serial number: for
//! reproducible output, `SOURCE_DATE_EPOCH` fixes the timestamp and, unless `INUSE_SBOM_UUID`
//! names one, derives the serial number from the content; otherwise the serial is a random
//! v4 UUID from the kernel.

use std::io::{self, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_report::sbom;

use crate::exit::Code;
use crate::settings::{FormatArg, RootArg};

/// Arguments of `inuse sbom`.
#[derive(Args, Debug)]
pub struct SbomArgs {
    #[command(flatten)]
    root: RootArg,

    #[command(flatten)]
    format: FormatArg<Format>,
}

/// Output formats of `inuse sbom`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// CycloneDX 1.6 JSON.
    #[default]
    CyclonedxJson,
    /// SPDX 2.3 JSON.
    SpdxJson,
}

/// Runs `inuse sbom`.
pub fn run(args: &SbomArgs) -> anyhow::Result<Code> {
    let root = args.root.open()?;
    let facts = inuse_scan::sbom::build(&root, args.root.dir());
    for p in facts.inventory_problems.iter().chain(&facts.scan_problems) {
        eprintln!("inuse: warning: {p}");
    }

    let epoch = inuse_model::time::source_date_epoch();
    let now = inuse_model::time::now();
    let serial = match std::env::var("INUSE_SBOM_UUID") {
        Ok(u) if !u.is_empty() => u,
        _ if epoch.is_some() => facts.sbom.content_serial(now),
        _ => random_uuid()?,
    };
    let format = match args.format.get() {
        Format::CyclonedxJson => sbom::Format::CycloneDx,
        Format::SpdxJson => sbom::Format::Spdx,
    };
    io::stdout()
        .lock()
        .write_all(sbom::render(&facts.sbom, format, now, &serial).as_bytes())?;
    Ok(if facts.inventory_problems.is_empty() {
        Code::Ok
    } else if facts.packages == 0 {
        Code::Error
    } else {
        Code::Partial
    })
}

/// A random v4 UUID from the kernel.
fn random_uuid() -> anyhow::Result<String> {
    let u = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .context("cannot read /proc/sys/kernel/random/uuid for the serial number")?;
    Ok(u.trim().to_owned())
}
