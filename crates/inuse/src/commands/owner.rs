//! `inuse owner`: which package owns each given file, like `dpkg -S` / `rpm -qf` but for any
//! root and any spelling of the path (merged /usr, directory symlinks, the real path).
//!
//! The databases are read once and all paths are looked up in the same index, so many lookups
//! cost one inventory plus a few syscalls each.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_pkgdb::Inventory;
use inuse_report::documents::{OwnerDocument, OwnerPackage, OwnerRow};

use crate::exit::Code;
use crate::settings::{FormatArg, RootArg};

/// Arguments of `inuse owner`.
#[derive(Args, Debug)]
pub struct OwnerArgs {
    /// Files to look up (paths inside the root).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    #[command(flatten)]
    root: RootArg,

    #[command(flatten)]
    format: FormatArg<Format>,
}

/// Output formats of `inuse owner`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `PACKAGE: PATH` lines, as `dpkg -S` prints them; `-: PATH` when unowned.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// Runs `inuse owner`. Exit code: [`Code::Ok`] when every path has an owner,
/// [`Code::Findings`] when some have none, [`Code::Partial`] when some path does not exist
/// (or cannot be looked at) or a database could not be read.
pub fn run(args: &OwnerArgs) -> anyhow::Result<Code> {
    let root = args.root.open()?;
    let (inv, index) = Inventory::load_with_owners(&root);
    for p in &inv.problems {
        eprintln!("inuse: warning: {p}");
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut unowned = 0usize;
    let mut failed = 0usize;
    let mut rows: Vec<OwnerRow<'_>> = Vec::with_capacity(args.paths.len());
    for path in &args.paths {
        let inner = if path.is_absolute() {
            path.clone()
        } else if root.is_host() {
            std::env::current_dir()
                .context("cannot read the current directory")?
                .join(path)
        } else {
            PathBuf::from("/").join(path)
        };
        let owners = index.owners(&inner);
        // A path nobody owns is only "unowned" if it is there: as `dpkg -S` does, a missing
        // path is an error for that input (a listed file deleted from disk is still answered).
        let error = if owners.is_empty() {
            root.lstat(&inner).err().map(|e| super::deps::describe(&e))
        } else {
            None
        };
        if let Some(e) = &error {
            eprintln!("inuse: {}: {e}", path.display());
            failed += 1;
        } else if owners.is_empty() {
            unowned += 1;
        }
        let packages: Vec<&inuse_pkgdb::Package> =
            owners.iter().filter_map(|&id| inv.get(id)).collect();
        match args.format.get() {
            Format::Text if error.is_some() => {}
            Format::Text => {
                let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
                let names = if names.is_empty() {
                    String::from("-")
                } else {
                    names.join(", ")
                };
                writeln!(out, "{names}: {}", path.display())?;
            }
            Format::Json => {
                rows.push(OwnerRow {
                    path,
                    package: packages.first().map(|p| OwnerPackage {
                        name: &p.name,
                        version: &p.version,
                        arch: &p.arch,
                        manager: p.manager.as_str(),
                        purl: &p.purl,
                    }),
                    all_owners: packages.iter().map(|p| p.name.as_str()).collect(),
                    error,
                });
            }
        }
    }
    if args.format.get() == Format::Json {
        serde_json::to_writer_pretty(&mut out, &OwnerDocument { owners: rows })?;
        writeln!(out)?;
    }
    out.flush()?;
    let code = if !inv.problems.is_empty() || failed > 0 {
        Code::Partial
    } else if unowned > 0 {
        Code::Findings
    } else {
        Code::Ok
    };
    // The process ends here: the operating system takes the lists and the index back at
    // once, faster than freeing them one allocation at a time (about a millisecond).
    std::mem::forget((inv, index));
    Ok(code)
}
