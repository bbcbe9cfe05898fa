//! `inuse deps`: the shared-library closure of ELF files, as the dynamic loader would resolve
//! it, without running anything.
//!
//! Inputs are resolved in parallel against one shared [`Resolver`], so every file of the root
//! is opened and parsed at most once per run, however many inputs need it. Output is rendered
//! after all inputs are resolved, in input order, so it does not depend on thread timing.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::io::{self, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_ldso::{EdgeTarget, Options, Resolution, Resolver};
use inuse_root::{FileKind, Root};
use rayon::prelude::*;
use serde::{Serialize, Serializer};

use crate::exit::Code;
use crate::pretty;
use crate::settings::RootArg;

/// Arguments of `inuse deps`.
#[derive(Args, Debug)]
pub struct DepsArgs {
    /// ELF files to analyse (directories too, with -r). With --root, paths are inside the root.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    #[command(flatten)]
    root: RootArg,

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
    /// a DT_NEEDED name or a file name), e.g. `--why liblzma.so.5`. An input without one is
    /// said on stderr; the exit code is 1 when no input has one.
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

/// Chains shown per input by `--why`: past this many, the answer is "very many" anyway.
const WHY_LIMIT: usize = 1000;

/// One input and what became of it.
struct Outcome {
    path: PathBuf,
    /// Found by walking a directory (`-r`), not named on the command line.
    walked: bool,
    result: Result<Resolution, String>,
}

/// Runs `inuse deps`.
pub fn run(args: &DepsArgs) -> anyhow::Result<Code> {
    let root = args.root.open()?;
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

    let started = Instant::now();
    let outcomes = resolve_all(&resolver, &inputs);
    inuse_runtime::timing("resolve", started);
    if resolver.used_ld_so_conf() {
        eprintln!(
            "inuse: warning: {}: no /etc/ld.so.cache; libraries were looked up in the \
             directories of /etc/ld.so.conf, as the loader will find them once ldconfig has run",
            args.root.dir().display()
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
    // `--count` answers instead of `--why` except in JSON, which carries both.
    if let Some(name) = args.why.as_deref()
        && (format == Format::Json || !args.count)
        && !explain_no_chain(&outcomes, name)
    {
        code = code.worst(Code::Findings);
    }
    let started = Instant::now();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if format == Format::Json {
        write_json(&mut out, args.root.dir(), &outcomes, args.why.as_deref())
    } else if args.count {
        write_count(&mut out, &outcomes)
    } else if let Some(name) = &args.why {
        write_why(&mut out, &outcomes, name)
    } else if format == Format::Tree {
        write_tree(&mut out, &outcomes)
    } else {
        write_list(&mut out, &outcomes)
    };
    let written = written.and_then(|()| out.flush());
    inuse_runtime::timing("output written", started);
    // The process ends here: the operating system takes back the resolutions and the
    // resolver's caches at once, faster than freeing their many small allocations one by one
    // (a tenth of a whole-host run).
    std::mem::forget(outcomes);
    std::mem::forget(resolver);
    match written {
        Ok(()) => Ok(code),
        // A closed pipe (`| head`) is not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(code),
        Err(e) => Err(e).context("cannot write output"),
    }
}

/// Resolves every input in parallel, in input order.
fn resolve_all(resolver: &Resolver, inputs: &[(PathBuf, bool)]) -> Vec<Outcome> {
    inputs
        .par_iter()
        .filter_map(|(path, walked)| match resolver.resolve(path) {
            // Files met while walking a directory are skipped quietly unless they are ELF.
            Err(inuse_ldso::ResolveError::NotElf) if *walked => None,
            r => Some(Outcome {
                path: path.clone(),
                walked: *walked,
                result: r.map_err(|e| e.to_string()),
            }),
        })
        .collect()
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

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The JSON document of `inuse deps`, field for field as docs/formats.md documents it; what
/// [`write_json`] prints, only serialised in one piece.
#[cfg(test)]
#[derive(Serialize)]
struct Document<'a> {
    root: String,
    objects: Vec<ObjectJson<'a>>,
}

/// One input of the JSON document. Borrowed from the [`Outcome`], so that serialising a whole
/// host's closures allocates next to nothing: paths and names are written straight from the
/// resolution.
#[derive(Serialize)]
#[serde(untagged)]
enum ObjectJson<'a> {
    Failed {
        path: PathStr<'a>,
        #[serde(rename = "type")]
        kind: &'static str,
        interpreter: Option<()>,
        libc: &'static str,
        // Always empty: an input that failed loads nothing.
        libraries: [(); 0],
        missing: [(); 0],
        why: [(); 0],
        count: Option<usize>,
        error: &'a str,
    },
    Resolved {
        path: PathStr<'a>,
        #[serde(rename = "type")]
        kind: &'static str,
        linkage: &'static str,
        interpreter: Option<PathStr<'a>>,
        libc: &'static str,
        libraries: Libraries<'a>,
        missing: MissingJson<'a>,
        why: Vec<Vec<String>>,
        count: usize,
        warnings: &'a [String],
        error: Option<()>,
    },
}

impl<'a> ObjectJson<'a> {
    fn new(o: &'a Outcome, why: Option<&str>) -> ObjectJson<'a> {
        let r = match &o.result {
            Err(e) => {
                return ObjectJson::Failed {
                    path: PathStr(&o.path),
                    kind: "error",
                    interpreter: None,
                    libc: "none",
                    libraries: [],
                    missing: [],
                    why: [],
                    count: None,
                    error: e,
                };
            }
            Ok(r) => r,
        };
        ObjectJson::Resolved {
            path: PathStr(&o.path),
            kind: r.kind.as_str(),
            linkage: match r.linkage {
                inuse_ldso::Linkage::Dynamic => "dynamic",
                inuse_ldso::Linkage::Static => "static",
                inuse_ldso::Linkage::StaticPie => "static-pie",
                inuse_ldso::Linkage::None => "none",
            },
            interpreter: r.interpreter.as_deref().map(PathStr),
            libc: match r.libc {
                Some(inuse_ldso::Libc::Glibc) => "glibc",
                Some(inuse_ldso::Libc::Musl) => "musl",
                None => "none",
            },
            libraries: Libraries(r),
            missing: MissingJson(r),
            why: why
                .map(|name| {
                    r.why(name, WHY_LIMIT)
                        .into_iter()
                        .map(|chain| chain_names(r, &chain))
                        .collect()
                })
                .unwrap_or_default(),
            count: r.count(),
            warnings: &r.warnings,
            error: None,
        }
    }
}

/// A path as a JSON string, as `Path::display` shows it (invalid UTF-8 replaced).
struct PathStr<'a>(&'a Path);

impl Serialize for PathStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.display())
    }
}

/// Bytes from the ELF file (a name, a soname) as a JSON string, invalid UTF-8 replaced.
struct Lossy<'a>(&'a [u8]);

impl Serialize for Lossy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(self.0))
    }
}

/// The paths of the nodes `k` of a resolution (0 = the input).
struct NodePaths<'a>(&'a Resolution, &'a [usize]);

impl Serialize for NodePaths<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|&k| PathStr(self.0.node_path(k))))
    }
}

/// `"libraries"`: every object loaded, in load order.
struct Libraries<'a>(&'a Resolution);

impl Serialize for Libraries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Library<'a> {
            name: Lossy<'a>,
            soname: Option<Lossy<'a>>,
            path: PathStr<'a>,
            realpath: PathStr<'a>,
            found_via: &'static str,
            needed_by: NodePaths<'a>,
            depth: usize,
        }
        let r = self.0;
        s.collect_seq(r.objects.iter().map(|ob| Library {
            name: Lossy(&ob.name),
            soname: ob.soname.as_deref().map(Lossy),
            path: PathStr(&ob.path),
            realpath: PathStr(&ob.realpath),
            found_via: ob.found_via.as_str(),
            needed_by: NodePaths(r, &ob.needed_by),
            depth: ob.depth,
        }))
    }
}

/// `"missing"`: every library that could not be loaded.
struct MissingJson<'a>(&'a Resolution);

impl Serialize for MissingJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Missing<'a> {
            name: Lossy<'a>,
            needed_by: NodePaths<'a>,
            error: Option<&'a str>,
        }
        let r = self.0;
        s.collect_seq(r.missing.iter().map(|m| Missing {
            name: Lossy(&m.name),
            needed_by: NodePaths(r, &m.needed_by),
            error: m.error.as_deref(),
        }))
    }
}

/// Prints the JSON document: byte for byte `serde_json::to_writer_pretty` of [`Document`]
/// and a newline, with the inputs serialised in parallel.
fn write_json(
    out: &mut impl Write,
    root: &Path,
    outcomes: &[Outcome],
    why: Option<&str>,
) -> io::Result<()> {
    let root = pretty::indented(&PathStr(root), 1)?;
    pretty::write_object_with_array(out, &[("root", root)], "objects", outcomes, |o| {
        ObjectJson::new(o, why)
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
                lossy(o.soname.as_deref().unwrap_or(&o.name)).into_owned()
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

/// Says on stderr, for each input named on the command line that `--why NAME` finds no chain
/// in, why there is none and how to look; for inputs found by `-r`, once, when none of them
/// has a chain. Returns whether some input has a chain.
fn explain_no_chain(outcomes: &[Outcome], name: &str) -> bool {
    let mut any = false;
    let mut walked_without = 0;
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        if !r.why(name, 1).is_empty() {
            any = true;
        } else if o.walked {
            walked_without += 1;
        } else {
            eprintln!(
                "inuse: {}: no dependency chain leads to {name}: {}",
                o.path.display(),
                no_chain_reason(r, name)
            );
        }
    }
    if !any && walked_without > 0 {
        eprintln!(
            "inuse: no dependency chain leads to {name} from any of the {walked_without} ELF \
             files found under the directories given (NAME is matched against sonames, \
             DT_NEEDED names and file names)"
        );
    }
    any
}

/// Why `name` has no chain in `r`, with a hint at what to ask instead.
fn no_chain_reason(r: &Resolution, name: &str) -> String {
    let input = r.input.display();
    if r.libc.is_none() {
        return format!("{input} loads no shared object (it is {})", r.kind.as_str());
    }
    let file_name = |p: &Path| p.file_name().map(|f| f.as_encoded_bytes().to_vec());
    if let Some(m) = r.missing.iter().find(|m| {
        m.name == name.as_bytes()
            || file_name(Path::new(OsStr::from_bytes(&m.name))).as_deref() == Some(name.as_bytes())
    }) {
        let by: Vec<String> = m
            .needed_by
            .iter()
            .map(|&k| r.node_path(k).display().to_string())
            .collect();
        return format!(
            "it is needed by {} but {}, so it is never loaded (see `inuse deps {input}`)",
            by.join(", "),
            m.error.as_deref().unwrap_or("not found")
        );
    }
    let loaded = r.objects.len();
    let mut reason = format!(
        "it is not among the {loaded} object{} {input} loads (see `inuse deps {input}`)",
        if loaded == 1 { "" } else { "s" }
    );
    if name.contains('/') {
        let base = Path::new(name)
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        reason.push_str(&format!(
            "; NAME is matched against sonames, DT_NEEDED names and file names, not paths: \
             try --why {base}"
        ));
    } else {
        // A name given without its version (`liblzma`, `liblzma.so`): the objects it begins.
        let mut close: Vec<String> = r
            .objects
            .iter()
            .flat_map(|o| [Some(&o.name), o.soname.as_ref()])
            .flatten()
            .map(|n| lossy(n).into_owned())
            .filter(|n| n.starts_with(name))
            .collect();
        close.sort();
        close.dedup();
        if !close.is_empty() {
            reason.push_str(&format!("; did you mean {}?", close.join(" or ")));
        }
    }
    reason
}

fn write_why(out: &mut impl Write, outcomes: &[Outcome], name: &str) -> io::Result<()> {
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        for chain in r.why(name, WHY_LIMIT) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::ffi::OsStrExt;

    use inuse_testkit::{FakeRoot, or_skip};

    use super::*;

    /// Resolves `inputs` in `root_dir` and checks that the parallel writer prints exactly
    /// serde_json's pretty document of the same data; returns that text.
    fn check(root_dir: &Path, inputs: &[PathBuf], why: Option<&str>, preload: &[&str]) -> String {
        let root = Root::open(root_dir).unwrap();
        let options = Options {
            preload: preload.iter().map(Into::into).collect(),
            ..Options::default()
        };
        let resolver = Resolver::new(&root, options, PathBuf::from("/"));
        let inputs: Vec<(PathBuf, bool)> = inputs.iter().map(|p| (p.clone(), false)).collect();
        let outcomes = resolve_all(&resolver, &inputs);
        let mut ours = Vec::new();
        write_json(&mut ours, root_dir, &outcomes, why).unwrap();
        let doc = Document {
            root: root_dir.display().to_string(),
            objects: outcomes.iter().map(|o| ObjectJson::new(o, why)).collect(),
        };
        let mut expected = serde_json::to_vec_pretty(&doc).unwrap();
        expected.push(b'\n');
        let ours = String::from_utf8(ours).unwrap();
        assert_eq!(ours, String::from_utf8(expected).unwrap());
        ours
    }

    /// Every file of /usr/bin and /usr/sbin (scripts fail as non-ELF), a path that does not
    /// exist, a file whose name needs escaping, with and without `--why` and a preload that
    /// cannot be found (warnings); then programs in a root where their libraries are missing.
    /// The fixture set is checked to reach every kind of field, so that the comparison cannot
    /// pass on empty arrays alone.
    #[test]
    fn json_is_serde_json_pretty() {
        let odd = tempfile::tempdir().unwrap();
        let odd_name = odd
            .path()
            .join(std::ffi::OsStr::from_bytes(b"a \"quoted\"\nname \xff\\"));
        std::fs::write(&odd_name, "not ELF").unwrap();
        let mut inputs = vec![PathBuf::from("/nonexistent"), odd_name];
        for dir in ["/usr/bin", "/usr/sbin"] {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            inputs.extend(files);
        }
        check(Path::new("/"), &inputs, None, &[]);
        let text = check(
            Path::new("/"),
            &inputs,
            Some("libc.so.6"),
            &["libnothere.so.9"],
        );
        for field in [
            "\"type\": \"error\"",
            "\"soname\": \"libc.so.6\"",
            "\"needed_by\": [\n",
            "\"why\": [\n        [\n",
            "cannot be preloaded",
            "\\\"quoted\\\"\\nname \u{fffd}\\\\",
        ] {
            assert!(
                text.contains(field),
                "no {field:?} in the fixture set's JSON"
            );
        }

        // Missing libraries: host programs copied into a root with glibc only.
        let mut root = FakeRoot::new();
        or_skip!(root.host_glibc());
        let mut programs = Vec::new();
        let small_files = inputs.iter().filter(|p| {
            p.starts_with("/usr/bin")
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.len() < 1 << 21)
        });
        for (i, p) in small_files.enumerate() {
            if i % 7 == 0 {
                let inside = PathBuf::from("/bin").join(p.file_name().unwrap());
                root.copy(p, &inside);
                programs.push(inside);
            }
        }
        let text = check(root.path(), &programs, Some("libc.so.6"), &[]);
        assert!(
            text.contains("\"missing\": [\n"),
            "no missing library in the fixture set's JSON"
        );
    }
}
