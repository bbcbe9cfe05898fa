//! `inuse inventory`: the installed packages of a root, and the ELF files no package owns.
//!
//! Packages come from the root's package databases (`inuse-pkgdb`); `unowned_elf` needs the
//! file -> package index and a walk of the directories that hold programs and libraries, so a
//! library dropped into `/usr/local/lib` or `/opt` by hand (outside any package manager, hence
//! outside any vulnerability feed) is visible. The walk never follows symlinks, so every path
//! it yields is a real path and the index is asked without further filesystem access.

use std::io::{self, Write};
use std::path::Path;

use clap::{Args, ValueEnum};
use inuse_model::{Note, NoteCode};
use inuse_pkgdb::Inventory;
use inuse_pkgdb::elfscan::{self, ScanOptions};
use inuse_report::documents::InventoryDocument;

use crate::exit::Code;
use crate::settings::{FormatArg, RootArg};

/// Arguments of `inuse inventory`.
#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[command(flatten)]
    root: RootArg,

    #[command(flatten)]
    format: FormatArg<Format>,

    /// Also read the ELF files that packages own, for the Go modules and Rust crates built
    /// into them (by default only unowned files are read).
    #[arg(long)]
    owned_elf: bool,
}

/// Output formats of `inuse inventory`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns with a header.
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// Runs `inuse inventory`.
pub fn run(args: &InventoryArgs) -> anyhow::Result<Code> {
    let root = args.root.open()?;
    let (inv, index) = Inventory::load_with_owners(&root);
    for p in &inv.problems {
        eprintln!("inuse: warning: {p}");
    }
    // Not an error (exit 0): a scratch or distroless image legitimately has no database, and
    // the packages embedded in its programs are its inventory. But an empty table without a
    // word reads as "nothing installed" when the root may simply be the wrong directory.
    let mut notes = Vec::new();
    if !inuse_pkgdb::has_database(&root) {
        let message = format!(
            "no dpkg, rpm or apk database found under {} (looked for {}): only packages \
             embedded in ELF files are listed",
            args.root.dir().display(),
            inuse_pkgdb::DATABASE_PATHS.join(", ")
        );
        eprintln!("inuse: warning: {message}");
        notes.push(Note::new(NoteCode::NoPackageDatabase, message));
    }
    let scan = elfscan::scan_root(
        &root,
        &index,
        ScanOptions {
            read_owned: args.owned_elf,
        },
    );
    let mut inv = inv;
    inv.add_embedded(scan.packages());
    for p in &scan.problems {
        eprintln!("inuse: warning: {p}");
    }
    let unowned: Vec<&Path> = scan.unowned().collect();

    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format.get() {
        Format::Json => {
            let doc = InventoryDocument {
                schema_version: inuse_model::SCHEMA_VERSION,
                root: args.root.dir(),
                distro: inv.distro.as_ref(),
                packages: &inv.packages,
                not_installed: &inv.not_installed,
                unowned_elf: &unowned,
                problems: &inv.problems,
                notes: &notes,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => table(&mut out, &inv, &unowned)?,
    }
    out.flush()?;
    let code = if inv.problems.is_empty() {
        Code::Ok
    } else if inv.packages.is_empty() {
        Code::Error
    } else {
        Code::Partial
    };
    // The process ends here: the operating system takes the package data back at once,
    // faster than freeing its hundreds of thousands of allocations one by one.
    drop(unowned);
    std::mem::forget((inv, index, scan));
    Ok(code)
}

fn table(out: &mut impl Write, inv: &Inventory, unowned: &[&Path]) -> io::Result<()> {
    if let Some(d) = &inv.distro {
        writeln!(
            out,
            "# {} ({})",
            d.pretty_name.as_deref().unwrap_or(&d.id),
            d.ecosystem.as_deref().unwrap_or("unknown ecosystem")
        )?;
    }
    let header = ["NAME", "VERSION", "ARCH", "SOURCE", "MANAGER"];
    let rows: Vec<[String; 5]> = inv
        .packages
        .iter()
        .map(|p| {
            let source = if p.source_name == p.name && p.source_version == p.version {
                String::from("-")
            } else if p.source_version == p.version {
                p.source_name.clone()
            } else {
                format!("{} {}", p.source_name, p.source_version)
            };
            [
                p.name.clone(),
                p.version.clone(),
                p.arch.clone(),
                source,
                p.manager.as_str().to_owned(),
            ]
        })
        .collect();
    out.write_all(inuse_report::columns(&header, &rows).as_bytes())?;
    if !unowned.is_empty() {
        writeln!(out)?;
        writeln!(out, "ELF files no package owns:")?;
        for p in unowned {
            writeln!(out, "  {}", p.display())?;
        }
    }
    Ok(())
}
