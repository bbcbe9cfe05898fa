//! One walk over the ELF files of a root: which of them no package owns, and which packages
//! they carry inside ([`crate::embedded`]).
//!
//! A library dropped into `/usr/local/lib` or `/opt` by hand is outside every package
//! database, hence outside every vulnerability feed, yet it may be what a program loads; a Go
//! or Rust program anywhere carries its own modules. Both are found by walking the directories
//! that hold programs and libraries ([`ELF_DIRS`]) once.
//!
//! Cost is what matters here (a root holds >100,000 files): directories are listed in
//! parallel; the walk never follows symlinks, so every path it yields is a real path and the
//! owner index is asked without filesystem access; a file some package owns is not opened at
//! all unless the caller wants the embedded packages of owned files too
//! ([`ScanOptions::read_owned`]); other files cost one open and a 4-byte read, and only ELF
//! files are read further (the few ranges embedded metadata needs).

use std::io::Read;
use std::path::{Path, PathBuf};

use inuse_root::{FileKind, Root};
use rayon::prelude::*;

use crate::embedded::{self, Embedded};
use crate::{OwnerIndex, Package, Problem};

/// Directories walked; top-level ones that are symlinks (merged /usr: `/lib -> usr/lib`) lead
/// into a directory walked anyway and are skipped.
pub const ELF_DIRS: [&str; 9] = [
    "/usr", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/srv",
];

/// What the walk reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Also open the files some package owns, to list them as ELF files and read their
    /// embedded packages (a Go program shipped in a .deb). Costs a read of every owned file.
    pub read_owned: bool,
}

/// One ELF file found by the walk.
#[derive(Debug, Clone)]
pub struct ElfFound {
    /// Real in-root path.
    pub path: PathBuf,
    /// Whether some package owns it.
    pub owned: bool,
    /// Its embedded metadata, when it has any.
    pub embedded: Option<Embedded>,
}

/// The result of [`scan_root`].
#[derive(Debug, Clone, Default)]
pub struct ElfScan {
    /// ELF files, sorted by path: every unowned one, and the owned ones when
    /// [`ScanOptions::read_owned`].
    pub files: Vec<ElfFound>,
    /// Files whose embedded metadata could not be read.
    pub problems: Vec<Problem>,
}

impl ElfScan {
    /// Real paths of the ELF files no package owns, sorted.
    pub fn unowned(&self) -> impl Iterator<Item = &Path> {
        self.files
            .iter()
            .filter(|f| !f.owned)
            .map(|f| f.path.as_path())
    }

    /// The embedded packages of all files, each with `database` set to its file. A package
    /// note counts only in unowned files: in an owned one it names the owner, listed already.
    pub fn packages(&self) -> Vec<Package> {
        self.files
            .iter()
            .filter_map(|f| Some(f.embedded.as_ref()?.packages(&f.path, !f.owned)))
            .flatten()
            .collect()
    }
}

/// Walks [`ELF_DIRS`] of `root`.
pub fn scan_root(root: &Root, index: &OwnerIndex, options: ScanOptions) -> ElfScan {
    // Nearly every file met is looked up: canonicalize all listed directories at once.
    index.canonicalize_all();
    let tops: Vec<&Path> = ELF_DIRS
        .iter()
        .map(Path::new)
        .filter(|dir| root.canonicalize(dir).is_ok_and(|real| real == *dir))
        .collect();
    let found: Vec<(ElfFound, Vec<Problem>)> = tops
        .par_iter()
        .flat_map(|dir| walk(root, dir.to_path_buf(), index, options))
        .collect();
    let mut scan = ElfScan::default();
    for (f, problems) in found {
        scan.files.push(f);
        scan.problems.extend(problems);
    }
    scan.files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    scan.problems.sort_by(|a, b| a.file.cmp(&b.file));
    scan
}

fn walk(
    root: &Root,
    dir: PathBuf,
    index: &OwnerIndex,
    options: ScanOptions,
) -> Vec<(ElfFound, Vec<Problem>)> {
    let Ok(entries) = root.read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .into_par_iter()
        .flat_map_iter(|(name, kind)| {
            let path = dir.join(&name);
            match kind {
                FileKind::Dir => walk(root, path, index, options),
                FileKind::File => examine(root, path, index, options).into_iter().collect(),
                _ => Vec::new(),
            }
        })
        .collect()
}

fn examine(
    root: &Root,
    path: PathBuf,
    index: &OwnerIndex,
    options: ScanOptions,
) -> Option<(ElfFound, Vec<Problem>)> {
    // The index lookup is free; an owned file is opened only when asked for.
    let owned = !index.owners_of_real(&path).is_empty();
    if owned && !options.read_owned {
        return None;
    }
    let (mut file, st) = root.open_file(&path).ok()?;
    let mut magic = [0u8; 4];
    if st.size < 4 || file.read_exact(&mut magic).is_err() || magic != *b"\x7fELF" {
        return None;
    }
    let mut problems = Vec::new();
    let problem = |message: String| Problem {
        file: path.clone(),
        place: None,
        message,
    };
    let embedded = match embedded::read_file(&file) {
        Ok(Some(e)) => {
            problems.extend(
                e.problems
                    .iter()
                    .filter(|_| !e.is_empty())
                    .map(|p| problem(p.to_string())),
            );
            Some(e).filter(|e| !e.is_empty())
        }
        Ok(None) => None,
        // Too large, or no readable ELF header: still an ELF file by its magic.
        Err(e) => {
            problems.push(problem(e.to_string()));
            None
        }
    };
    Some((
        ElfFound {
            path,
            owned,
            embedded,
        },
        problems,
    ))
}
