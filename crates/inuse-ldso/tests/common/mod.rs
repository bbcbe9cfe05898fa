//! Helpers shared by the loader-rule tests: fixtures built with gcc, the resolver run on a
//! root, and its answer compared with the real loader's through `inuse_testkit::compare`
//! (the same comparison the CLI tests use, so both layers are held to one standard).

#![allow(dead_code, clippy::unwrap_used)]

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use inuse_ldso::{EdgeTarget, Options, Resolution, Resolver};
use inuse_root::Root;
use inuse_testkit::{CBuild, DepsLibrary, DepsMissing, DepsObject, Listing, Skip, compare};
use tempfile::TempDir;

/// An empty `main`.
pub const MAIN: &str = "int main(void) { return 0; }\n";

/// A tempdir with its canonical path (what the loader and the resolver report).
pub struct Dir {
    _tmp: TempDir,
    /// The canonical path.
    pub path: PathBuf,
}

impl Dir {
    pub fn new() -> Dir {
        let tmp = tempfile::Builder::new()
            .prefix("inuse-ldso-")
            .tempdir()
            .unwrap();
        let path = std::fs::canonicalize(tmp.path()).unwrap();
        Dir { _tmp: tmp, path }
    }

    /// A subdirectory, created.
    pub fn sub(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

/// A shared library `name` (also its soname) in `dir`, defining one function.
pub fn lib(dir: &Path, name: &str) -> CBuild {
    let symbol: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    CBuild::new(dir)
        .source(&format!("int fn_{symbol}(void) {{ return 1; }}\n"))
        .shared(name)
        .soname(name)
}

/// An executable `name` in `dir` with an empty `main`.
pub fn exe(dir: &Path, name: &str) -> CBuild {
    CBuild::new(dir).source(MAIN).executable(name)
}

/// `path` as a `&str` (fixture paths are ASCII).
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The host root.
pub fn host() -> Root {
    Root::host().unwrap()
}

/// Opens a directory as a root.
pub fn root_at(dir: &Path) -> Root {
    Root::open(dir).unwrap()
}

/// Resolves `input` inside `root` with `options`, the emulated process in `cwd`.
pub fn resolve_in(root: &Root, input: &Path, options: Options, cwd: &Path) -> Resolution {
    Resolver::new(root, options, cwd.to_path_buf())
        .resolve(input)
        .unwrap_or_else(|e| panic!("cannot resolve {}: {e}", input.display()))
}

/// Resolves a host file with default options.
pub fn resolve(input: &Path) -> Resolution {
    resolve_in(&host(), input, Options::default(), Path::new("/"))
}

/// The resolution in the shape of `inuse deps --format json`, for `inuse_testkit::compare`.
pub fn as_deps_object(res: &Resolution) -> DepsObject {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let node = |k: usize| res.node_path(k).to_path_buf();
    DepsObject {
        path: res.input.clone(),
        kind: res.kind.as_str().to_owned(),
        interpreter: res.interpreter.as_ref().map(|p| p.display().to_string()),
        libc: res.libc.map(|l| format!("{l:?}").to_lowercase()),
        libraries: res
            .objects
            .iter()
            .map(|o| DepsLibrary {
                name: text(&o.name),
                path: o.path.clone(),
                realpath: o.realpath.clone(),
                found_via: o.found_via.as_str().to_owned(),
                needed_by: o.needed_by.iter().map(|&k| node(k)).collect(),
                depth: o.depth as u64,
            })
            .collect(),
        missing: res
            .missing
            .iter()
            .map(|m| DepsMissing {
                name: text(&m.name),
                needed_by: m.needed_by.iter().map(|&k| node(k)).collect(),
                error: m.error.clone(),
            })
            .collect(),
        why: Vec::new(),
        count: Some(res.count() as u64),
        error: None,
    }
}

/// Panics with both answers when the resolver and the loader disagree.
pub fn assert_agrees(res: &Resolution, listing: &Listing) {
    if let Err(diff) = compare(&as_deps_object(res), listing) {
        panic!("{diff}");
    }
}

/// Asks the loader through `oracle`, resolves with the resolver, and compares.
pub fn agree(
    oracle: &inuse_testkit::Oracle,
    root: &Root,
    input: &Path,
    options: Options,
    cwd: &Path,
) -> Result<(Resolution, Listing), Skip> {
    let listing = oracle.list(input)?;
    let res = resolve_in(root, input, options, cwd);
    assert_agrees(&res, &listing);
    Ok((res, listing))
}

/// The object that answers to `name` (requested name, soname or file name).
pub fn object<'a>(res: &'a Resolution, name: &str) -> &'a inuse_ldso::Object {
    res.objects
        .iter()
        .find(|o| {
            o.name == name.as_bytes()
                || o.soname.as_deref() == Some(name.as_bytes())
                || o.path.file_name().map(|f| f.as_bytes()) == Some(name.as_bytes())
        })
        .unwrap_or_else(|| panic!("no object {name} in {res:#?}"))
}

/// Names of the missing libraries, in order.
pub fn missing(res: &Resolution) -> Vec<String> {
    res.missing
        .iter()
        .map(|m| String::from_utf8_lossy(&m.name).into_owned())
        .collect()
}

/// Where node `from`'s request for `name` led (node `k` is `objects[k - 1]`, 0 the input).
pub fn edge(res: &Resolution, from: usize, name: &str) -> EdgeTarget {
    res.edges[from]
        .iter()
        .find(|e| e.name == name.as_bytes())
        .unwrap_or_else(|| panic!("node {from} has no request for {name}: {res:#?}"))
        .to
}

/// The node index (1-based) of the object answering to `name`.
pub fn node_of(res: &Resolution, name: &str) -> usize {
    let o = object(res, name);
    res.objects.iter().position(|x| x == o).unwrap() + 1
}
