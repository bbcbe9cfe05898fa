//! `inuse deps`: the shared-library closure of ELF files, as the dynamic loader would resolve
//! it, without running anything.
//!
//! Inputs are resolved in parallel against one shared [`Resolver`], so every file of the root
//! is opened and parsed at most once per run, however many inputs need it. Output is rendered
//! after all inputs are resolved, in input order, so it does not depend on thread timing.

use std::io::{self, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_ldso::{EdgeTarget, Options, Resolution, Resolver};
use inuse_root::{FileKind, Root};
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::exit::Code;

/// Arguments of `inuse deps`.
#[derive(Args, Debug)]
pub struct DepsArgs {
    /// ELF files to analyse (directories too, with -r). With --root, paths are inside the root.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Analyse this directory as the root filesystem: every path, symlink, cache and config
    /// file is resolved inside it. Nothing outside it is read.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,

    /// Descend into directories and analyse every ELF file below them (others are skipped).
    #[arg(short = 'r', long)]
    recursive: bool,

    /// Output format [default: tree on a terminal, list otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,

    /// Print only the number of distinct shared objects each input loads, excluding the
    /// dynamic loader and the vDSO.
    #[arg(long)]
    count: bool,

    /// Show every dependency chain from each input to the objects matching NAME (a soname,
    /// a DT_NEEDED name or a file name), e.g. `--why liblzma.so.5`.
    #[arg(long, value_name = "NAME")]
    why: Option<String>,

    /// Emulate this LD_LIBRARY_PATH (ignored for set-user-ID inputs, as the loader does).
    #[arg(long, value_name = "P")]
    ld_library_path: Option<PathBuf>,

    /// Emulate LD_PRELOAD of this object (repeatable).
    #[arg(long, value_name = "LIB")]
    preload: Vec<PathBuf>,

    /// Value of $PLATFORM [default: from the input's architecture, e.g. x86_64].
    #[arg(long, value_name = "P")]
    platform: Option<String>,

    /// x86-64 level (1-4) deciding which glibc-hwcaps subdirectories are searched
    /// [default: this CPU's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    hwcaps_level: Option<u8>,
}

/// Output formats of `inuse deps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// An indented dependency tree, each edge marked with how it was found.
    Tree,
    /// One loaded object per line in load order, as ldd prints.
    List,
    /// One JSON document.
    Json,
}

/// One input and what became of it.
struct Outcome {
    path: PathBuf,
    result: Result<Resolution, String>,
}

/// Runs `inuse deps`.
pub fn run(args: &DepsArgs) -> anyhow::Result<Code> {
    let root = Root::open(&args.root)
        .with_context(|| format!("cannot open root {}", args.root.display()))?;
    // The emulated process runs in our current directory on the host, at / elsewhere.
    let cwd = if root.is_host() {
        std::env::current_dir().context("cannot read the current directory")?
    } else {
        PathBuf::from("/")
    };
    let options = Options {
        ld_library_path: args
            .ld_library_path
            .as_ref()
            .map(|p| p.as_os_str().as_bytes().to_vec()),
        preload: args
            .preload
            .iter()
            .map(|p| p.as_os_str().to_owned())
            .collect(),
        platform: args.platform.clone(),
        hwcaps_level: args.hwcaps_level,
        secure: false,
    };
    let resolver = Resolver::new(&root, options, cwd.clone());

    let mut failed = false;
    let mut inputs = Vec::new();
    for p in &args.paths {
        let inner = if p.is_absolute() {
            p.clone()
        } else {
            cwd.join(p)
        };
        // Drop `.` and doubled slashes; `..` stays for the kernel to resolve physically.
        let inner: PathBuf = inner.components().collect();
        if args.recursive {
            let first = inputs.len();
            match walk(&root, &inner, &mut inputs) {
                // Output in path order, whatever the directory order was.
                Ok(()) => inputs[first..].sort(),
                Err(e) => {
                    eprintln!("inuse: {}: {}", inner.display(), describe(&e));
                    failed = true;
                }
            }
        } else {
            inputs.push((inner, false));
        }
    }

    let outcomes: Vec<Outcome> = inputs
        .par_iter()
        .filter_map(|(path, walked)| match resolver.resolve(path) {
            // Files met while walking a directory are skipped quietly unless they are ELF.
            Err(inuse_ldso::ResolveError::NotElf) if *walked => None,
            r => Some(Outcome {
                path: path.clone(),
                result: r.map_err(|e| e.to_string()),
            }),
        })
        .collect();
    if resolver.used_ld_so_conf() {
        eprintln!(
            "inuse: warning: {}: no /etc/ld.so.cache; libraries were looked up in the \
             directories of /etc/ld.so.conf, as the loader will find them once ldconfig has run",
            args.root.display()
        );
    }
    if let Some(e) = resolver.cache_error() {
        eprintln!(
            "inuse: warning: {}/etc/ld.so.cache: {e}; ignored as the loader would",
            root_prefix(&root)
        );
    }

    let mut code = if failed { Code::Partial } else { Code::Ok };
    for o in &outcomes {
        match &o.result {
            Err(e) => {
                eprintln!("inuse: {}: {e}", o.path.display());
                code = code.worst(Code::Partial);
            }
            Ok(r) => {
                for w in &r.warnings {
                    eprintln!("inuse: {}: warning: {w}", o.path.display());
                }
                if !r.missing.is_empty() {
                    code = code.worst(Code::Findings);
                }
            }
        }
    }

    let format = args.format.unwrap_or(if io::stdout().is_terminal() {
        Format::Tree
    } else {
        Format::List
    });
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if format == Format::Json {
        let doc = json!({
            "root": args.root.display().to_string(),
            "objects": outcomes.iter().map(|o| to_json(o, args.why.as_deref())).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &doc)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out))
    } else if args.count {
        write_count(&mut out, &outcomes)
    } else if let Some(name) = &args.why {
        write_why(&mut out, &outcomes, name)
    } else if format == Format::Tree {
        write_tree(&mut out, &outcomes)
    } else {
        write_list(&mut out, &outcomes)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(code),
        // A closed pipe (`| head`) is not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(code),
        Err(e) => Err(e).context("cannot write output"),
    }
}

fn root_prefix(root: &Root) -> String {
    if root.is_host() {
        String::new()
    } else {
        root.dir().display().to_string()
    }
}

/// Collects every regular file below `dir` (inside the root), each directory read once.
/// Symlinks are not followed: the files they point to are reached under their own names, and
/// a walk through links could loop or leave the tree.
fn walk(root: &Root, start: &Path, out: &mut Vec<(PathBuf, bool)>) -> io::Result<()> {
    let st = root.lstat(start)?;
    match st.file_type() {
        FileKind::Dir => {}
        FileKind::Symlink => {
            // An explicitly named symlink is followed once.
            match root.stat(start)?.file_type() {
                FileKind::Dir => {
                    let real = root.canonicalize(start)?;
                    return walk(root, &real, out);
                }
                _ => {
                    out.push((start.to_path_buf(), false));
                    return Ok(());
                }
            }
        }
        _ => {
            out.push((start.to_path_buf(), false));
            return Ok(());
        }
    }
    let mut stack = vec![start.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match root.read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("inuse: {}: {}", dir.display(), describe(&e));
                continue;
            }
        };
        for (name, kind) in entries.into_iter().rev() {
            let path = dir.join(&name);
            match kind {
                FileKind::Dir => stack.push(path),
                FileKind::File => out.push((path, true)),
                FileKind::Symlink | FileKind::Other => {}
            }
        }
    }
    Ok(())
}

/// An I/O error without Rust's "(os error N)" suffix.
pub(crate) fn describe(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn to_json(o: &Outcome, why: Option<&str>) -> Value {
    let r = match &o.result {
        Err(e) => {
            return json!({
                "path": display(&o.path), "type": "error", "interpreter": null, "libc": "none",
                "libraries": [], "missing": [], "why": [], "count": null, "error": e,
            });
        }
        Ok(r) => r,
    };
    let node = |k: usize| display(r.node_path(k));
    let libraries: Vec<Value> = r
        .objects
        .iter()
        .map(|ob| {
            json!({
                "name": lossy(&ob.name),
                "soname": ob.soname.as_deref().map(lossy),
                "path": display(&ob.path),
                "realpath": display(&ob.realpath),
                "found_via": ob.found_via.as_str(),
                "needed_by": ob.needed_by.iter().map(|&k| node(k)).collect::<Vec<_>>(),
                "depth": ob.depth,
            })
        })
        .collect();
    let missing: Vec<Value> = r
        .missing
        .iter()
        .map(|m| {
            json!({
                "name": lossy(&m.name),
                "needed_by": m.needed_by.iter().map(|&k| node(k)).collect::<Vec<_>>(),
                "error": m.error,
            })
        })
        .collect();
    let why: Vec<Vec<String>> = why
        .map(|name| {
            r.why(name, 1000)
                .into_iter()
                .map(|chain| chain_names(r, &chain))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "path": display(&o.path),
        "type": r.kind.as_str(),
        "linkage": match r.linkage {
            inuse_ldso::Linkage::Dynamic => "dynamic",
            inuse_ldso::Linkage::Static => "static",
            inuse_ldso::Linkage::StaticPie => "static-pie",
            inuse_ldso::Linkage::None => "none",
        },
        "interpreter": r.interpreter.as_deref().map(display),
        "libc": match r.libc {
            Some(inuse_ldso::Libc::Glibc) => "glibc",
            Some(inuse_ldso::Libc::Musl) => "musl",
            None => "none",
        },
        "libraries": libraries,
        "missing": missing,
        "why": why,
        "count": r.count(),
        "warnings": r.warnings,
        "error": null,
    })
}

/// A chain of node indices as the input path followed by the names requested.
fn chain_names(r: &Resolution, chain: &[usize]) -> Vec<String> {
    chain
        .iter()
        .map(|&k| {
            if k == 0 {
                display(&r.input)
            } else {
                let o = &r.objects[k - 1];
                lossy(o.soname.as_deref().unwrap_or(&o.name))
            }
        })
        .collect()
}

fn header(out: &mut impl Write, outcomes: &[Outcome], o: &Outcome) -> io::Result<()> {
    if outcomes.len() > 1 {
        writeln!(out, "{}:", o.path.display())?;
    }
    Ok(())
}

fn write_list(out: &mut impl Write, outcomes: &[Outcome]) -> io::Result<()> {
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        header(out, outcomes, o)?;
        if r.libc.is_none() {
            let what = match r.kind {
                inuse_ldso::InputKind::Static => "statically linked",
                _ => "not a dynamic executable",
            };
            writeln!(out, "\t{what}")?;
            continue;
        }
        for ob in &r.objects {
            if ob.found_via == inuse_ldso::FoundVia::Interpreter && ob.name.contains(&b'/') {
                writeln!(out, "\t{}", ob.path.display())?;
            } else {
                writeln!(out, "\t{} => {}", lossy(&ob.name), ob.path.display())?;
            }
        }
        for m in &r.missing {
            match &m.error {
                None => writeln!(out, "\t{} => not found", lossy(&m.name))?,
                Some(e) => writeln!(out, "\t{} => error: {e}", lossy(&m.name))?,
            }
        }
    }
    Ok(())
}

fn write_count(out: &mut impl Write, outcomes: &[Outcome]) -> io::Result<()> {
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        if outcomes.len() == 1 {
            writeln!(out, "{}", r.count())?;
        } else {
            writeln!(out, "{}\t{}", r.count(), o.path.display())?;
        }
    }
    Ok(())
}

fn write_why(out: &mut impl Write, outcomes: &[Outcome], name: &str) -> io::Result<()> {
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        for chain in r.why(name, 1000) {
            writeln!(out, "{}", chain_names(r, &chain).join(" -> "))?;
        }
    }
    Ok(())
}

fn write_tree(out: &mut impl Write, outcomes: &[Outcome]) -> io::Result<()> {
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        writeln!(out, "{}", o.path.display())?;
        if r.libc.is_none() {
            writeln!(out, "    ({})", r.kind.as_str())?;
            continue;
        }
        let mut shown = vec![false; r.objects.len() + 1];
        shown[0] = true;
        tree_children(out, r, 0, "", &mut shown)?;
        // The interpreter, when nothing requested it by name.
        for (k, ob) in r.objects.iter().enumerate() {
            if !shown[k + 1] {
                writeln!(out, "└── {} [{}]", ob.path.display(), ob.found_via.as_str())?;
            }
        }
    }
    Ok(())
}

/// Prints the requests of node `k`, depth first; an object's own requests are shown only at
/// its first appearance, later ones are marked as already shown.
fn tree_children(
    out: &mut impl Write,
    r: &Resolution,
    k: usize,
    prefix: &str,
    shown: &mut [bool],
) -> io::Result<()> {
    let edges = &r.edges[k];
    for (i, e) in edges.iter().enumerate() {
        let last = i + 1 == edges.len();
        let (branch, indent) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        match e.to {
            EdgeTarget::Object(t) => {
                let ob = &r.objects[t - 1];
                let seen = shown[t];
                writeln!(
                    out,
                    "{prefix}{branch}{} => {} [{}]{}",
                    lossy(&e.name),
                    ob.path.display(),
                    ob.found_via.as_str(),
                    if seen && !r.edges[t].is_empty() {
                        " (see above)"
                    } else {
                        ""
                    }
                )?;
                if !seen {
                    shown[t] = true;
                    tree_children(out, r, t, &format!("{prefix}{indent}"), shown)?;
                }
            }
            EdgeTarget::Missing(m) => {
                let m = &r.missing[m];
                match &m.error {
                    None => writeln!(out, "{prefix}{branch}{} => not found", lossy(&e.name))?,
                    Some(err) => {
                        writeln!(out, "{prefix}{branch}{} => error: {err}", lossy(&e.name))?;
                    }
                }
            }
        }
    }
    Ok(())
}
