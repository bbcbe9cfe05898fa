//! `inuse inventory`: the installed packages of a root, and the ELF files no package owns.
//!
//! Packages come from the root's package databases (`inuse-pkgdb`); `unowned_elf` needs the
//! file -> package index and a walk of the directories that hold programs and libraries, so a
//! library dropped into `/usr/local/lib` or `/opt` by hand (outside any package manager, hence
//! outside any vulnerability feed) is visible. The walk never follows symlinks, so every path
//! it yields is a real path and the index is asked without further filesystem access.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_pkgdb::{Inventory, OwnerIndex};
use inuse_root::{FileKind, Root};
use serde_json::json;

use crate::exit::Code;

/// Arguments of `inuse inventory`.
#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Analyse this directory as the root filesystem; nothing outside it is read.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Output formats of `inuse inventory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns with a header.
    Table,
    /// One JSON document.
    Json,
}

/// Directories walked for unowned ELF files; top-level ones that are symlinks into `/usr`
/// (merged /usr) are skipped by the walk itself.
const ELF_DIRS: [&str; 9] = [
    "/usr", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/srv",
];

/// Runs `inuse inventory`.
pub fn run(args: &InventoryArgs) -> anyhow::Result<Code> {
    let root = Root::open(&args.root)
        .with_context(|| format!("cannot open root {}", args.root.display()))?;
    let (inv, index) = Inventory::load_with_owners(&root);
    for p in &inv.problems {
        eprintln!("inuse: warning: {p}");
    }
    let unowned = unowned_elf(&root, &index);

    let mut out = io::stdout().lock();
    match args.format {
        Format::Json => {
            let doc = json!({
                "root": args.root,
                "distro": inv.distro,
                "packages": inv.packages,
                "not_installed": inv.not_installed,
                "unowned_elf": unowned,
                "problems": inv.problems,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => table(&mut out, &inv, &unowned)?,
    }
    out.flush()?;
    Ok(if inv.problems.is_empty() {
        Code::Ok
    } else if inv.packages.is_empty() {
        Code::Error
    } else {
        Code::Partial
    })
}

fn table(out: &mut impl Write, inv: &Inventory, unowned: &[PathBuf]) -> io::Result<()> {
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
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; 5]| -> io::Result<()> {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, header)?;
    for r in &rows {
        line(out, [&r[0], &r[1], &r[2], &r[3], &r[4]])?;
    }
    if !unowned.is_empty() {
        writeln!(out)?;
        writeln!(out, "ELF files no package owns:")?;
        for p in unowned {
            writeln!(out, "  {}", p.display())?;
        }
    }
    Ok(())
}

/// Real paths of the ELF files below [`ELF_DIRS`] that no package owns, sorted.
fn unowned_elf(root: &Root, index: &OwnerIndex) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ELF_DIRS {
        let dir = Path::new(dir);
        // A top-level symlink (merged /usr) leads into a directory walked anyway.
        if root.canonicalize(dir).is_ok_and(|real| real == dir) {
            walk(root, dir, index, &mut out);
        }
    }
    out.sort();
    out
}

fn walk(root: &Root, dir: &Path, index: &OwnerIndex, out: &mut Vec<PathBuf>) {
    let Ok(entries) = root.read_dir(dir) else {
        return;
    };
    for (name, kind) in entries {
        let path = dir.join(&name);
        match kind {
            FileKind::Dir => walk(root, &path, index, out),
            // The index lookup is free; only unowned files are opened.
            FileKind::File if index.owners_of_real(&path).is_empty() && is_elf(root, &path) => {
                out.push(path);
            }
            _ => {}
        }
    }
}

fn is_elf(root: &Root, path: &Path) -> bool {
    let mut magic = [0u8; 4];
    root.open_file(path)
        .is_ok_and(|(mut f, _)| f.read_exact(&mut magic).is_ok() && magic == *b"\x7fELF")
}
