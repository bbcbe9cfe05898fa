//! The real loader as the source of truth for fixtures we built ourselves.
//!
//! inuse promises to resolve dependencies as `ld.so` would. The only convincing check of
//! that is to ask `ld.so`: this module runs the host's loader in its list mode on a trusted
//! fixture and parses what it prints. Which way to ask matters, because the ways differ:
//!
//! - A glibc *executable* is executed with `LD_TRACE_LOADED_OBJECTS=1`, exactly what `ldd`
//!   does. Only then does the loader compute the main program's `$ORIGIN` from
//!   `/proc/self/exe` (the symlink-resolved path); `ld.so --list ./link` would use the
//!   symlink's directory instead and give a different answer.
//! - A glibc *shared library* (no `PT_INTERP`) is listed by running the loader of its class
//!   on it, again with `LD_TRACE_LOADED_OBJECTS=1` (what `ldd` does). Not `ld.so --list`:
//!   in glibc 2.36 that makes a missing library a fatal error, so everything after it is lost.
//! - A musl program is listed by the musl loader's `--list` (it ignores
//!   `LD_TRACE_LOADED_OBJECTS` and would just run the program).
//! - A static executable is not run at all: glibc's loader crashes on it and executing it
//!   would run it. It is reported as [`ListingKind::NotDynamic`], as `ldd` does.
//! - Inside a fake root the same command runs chrooted, through a tiny static helper built on
//!   the spot (needs root): `chroot(1)` is a dynamic host binary, and the environment passed
//!   through it would make it trace itself instead. There is no `/proc` in the root, so the
//!   main program's `$ORIGIN` cannot be resolved there; root tests avoid it.
//!
//! The environment of the loader is cleared: `cargo test` sets `LD_LIBRARY_PATH` for its own
//! purposes and would otherwise leak into the answer.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::elf::ElfFacts;
use crate::inuse::DepsObject;
use crate::process::run_bounded;
use crate::{CBuild, Skip, require_root};

/// `chroot-exec ROOT PROG ARGS...`: chroot, chdir to `/`, exec `PROG` inside the root with
/// our environment. Static, so `LD_TRACE_LOADED_OBJECTS` in that environment reaches only
/// the program inside the root (with `chroot(1)`, a dynamic host binary, it would make
/// `chroot` itself print its dependencies and exit).
const CHROOT_EXEC: &str = r#"#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: chroot-exec ROOT PROG [ARGS...]\n"); return 125; }
    if (chroot(argv[1]) != 0 || chdir("/") != 0) { perror("chroot-exec: chroot"); return 125; }
    execv(argv[2], argv + 2);
    perror("chroot-exec: execv");
    return 126;
}
"#;

const LOADER_TIMEOUT: Duration = Duration::from_secs(60);
const GLIBC_LOADER_64: &str = "/lib64/ld-linux-x86-64.so.2";
const GLIBC_LOADER_32: &str = "/lib/ld-linux.so.2";

/// What the loader said about a file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingKind {
    /// A dynamically linked object; its dependencies are in [`Listing::loaded`].
    Dynamic,
    /// The loader printed `statically linked` (a static PIE).
    StaticallyLinked,
    /// Not something the loader would load: a static executable (not run; see the module
    /// documentation) or `not a dynamic executable`.
    NotDynamic,
    /// The loader stopped with an error, in [`Listing::error`].
    Failed,
}

/// One object the loader mapped, as it listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The name it was asked for: the `DT_NEEDED` string, or the path itself for entries
    /// printed without `=>` (the interpreter, `DT_NEEDED` entries containing a slash).
    pub name: String,
    /// The path the loader opened, as printed (inside the root, for a fake root).
    pub path: PathBuf,
    /// `path` with symlinks resolved (inside the root); `None` until resolved, or when the
    /// path does not resolve.
    pub realpath: Option<PathBuf>,
    /// Whether the line had the `name => path` form (as opposed to a bare path).
    pub arrow: bool,
}

/// The parsed answer of the loader about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The outcome as a whole.
    pub kind: ListingKind,
    /// Objects mapped, in the loader's order, without the vDSO.
    pub loaded: Vec<Loaded>,
    /// Names the loader reported as not found, in order.
    pub missing: Vec<String>,
    /// The loader's error message, when it failed (`... : invalid ELF header`).
    pub error: Option<String>,
    /// The realpath of the program interpreter (or of the loader used for a library), when
    /// known; the entry the loader may omit (see [`compare`]).
    pub interpreter: Option<PathBuf>,
    /// The command that was run and everything it printed, for failure messages.
    pub transcript: String,
}

impl Listing {
    /// Set of realpaths of every mapped object, including the loader when listed.
    pub fn realpaths(&self) -> BTreeSet<PathBuf> {
        self.loaded
            .iter()
            .filter_map(|l| l.realpath.clone())
            .collect()
    }

    /// Missing names as a set.
    pub fn missing_set(&self) -> BTreeSet<String> {
        self.missing.iter().cloned().collect()
    }

    /// The realpath the loader reports for a `name => path` entry.
    pub fn realpath_of(&self, name: &str) -> Option<&Path> {
        self.loaded
            .iter()
            .find(|l| l.name == name)
            .and_then(|l| l.realpath.as_deref())
    }
}

/// Parses the text of a loader's list mode (glibc or musl): stdout and stderr separately.
///
/// Understood lines (leading tab optional): `name => path (0x...)`, `name => not found`,
/// `path (0x...)`, `statically linked`, `not a dynamic executable`; the vDSO
/// (`linux-vdso.so.1`, `linux-gate.so.1`, any bare name without a slash) is dropped. On
/// stderr: glibc's `...: error while loading shared libraries: MESSAGE` and musl's
/// `Error loading shared library NAME: REASON (needed by X)`.
pub fn parse_listing(stdout: &str, stderr: &str) -> Listing {
    let mut listing = Listing {
        kind: ListingKind::Dynamic,
        loaded: Vec::new(),
        missing: Vec::new(),
        error: None,
        interpreter: None,
        transcript: String::new(),
    };
    for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "statically linked" {
            listing.kind = ListingKind::StaticallyLinked;
            continue;
        }
        if line == "not a dynamic executable" {
            listing.kind = ListingKind::NotDynamic;
            continue;
        }
        if let Some((name, rest)) = line.split_once(" => ") {
            let rest = rest.trim();
            if rest == "not found" {
                listing.missing.push(name.trim().to_owned());
                continue;
            }
            let path = strip_address(rest);
            if path.is_empty() {
                continue; // old glibc printed the vDSO as `linux-vdso.so.1 =>  (0x...)`
            }
            listing.loaded.push(Loaded {
                name: name.trim().to_owned(),
                path: PathBuf::from(path),
                realpath: None,
                arrow: true,
            });
            continue;
        }
        let path = strip_address(line);
        if !path.contains('/') {
            continue; // the vDSO: the only object listed by a bare name
        }
        listing.loaded.push(Loaded {
            name: path.to_owned(),
            path: PathBuf::from(path),
            realpath: None,
            arrow: false,
        });
    }
    for line in stderr.lines().map(str::trim) {
        if let Some((_, message)) = line.split_once("error while loading shared libraries: ") {
            listing.kind = ListingKind::Failed;
            listing.error.get_or_insert_with(|| message.to_owned());
            // Outside trace mode glibc stops at the first library it cannot find.
            if let Some(name) =
                message.strip_suffix(": cannot open shared object file: No such file or directory")
            {
                listing.missing.push(name.to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("Error loading shared library ") {
            // musl: `Error loading shared library NAME: REASON (needed by X)`.
            if let Some((name, _reason)) = rest.split_once(": ") {
                listing.missing.push(name.to_owned());
            }
        }
    }
    listing
}

/// `path (0x7f...)` -> `path`.
fn strip_address(s: &str) -> &str {
    if s.starts_with("(0x") {
        return "";
    }
    match s.rfind(" (0x") {
        Some(at) if s.ends_with(')') => s[..at].trim(),
        _ => s.trim(),
    }
}

/// How to ask the real loader about a fixture; see the module documentation.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Oracle {
    root: Option<PathBuf>,
    ld_library_path: Option<OsString>,
    preload: Vec<String>,
    loader: Option<PathBuf>,
    cwd: Option<PathBuf>,
}

impl Oracle {
    /// Asks the host's loader about host files.
    pub fn host() -> Oracle {
        Oracle::default()
    }

    /// Asks the loader inside `root` (through `chroot`) about files inside it; paths given
    /// to [`Oracle::list`] are then inside the root.
    pub fn in_root(root: impl AsRef<Path>) -> Oracle {
        Oracle {
            root: Some(root.as_ref().to_path_buf()),
            ..Oracle::default()
        }
    }

    /// Sets `LD_LIBRARY_PATH` (or `--library-path` for list mode).
    pub fn ld_library_path(mut self, value: impl Into<OsString>) -> Oracle {
        self.ld_library_path = Some(value.into());
        self
    }

    /// Adds a preloaded library (`LD_PRELOAD`, or `--preload` for list mode).
    pub fn preload(mut self, lib: &str) -> Oracle {
        self.preload.push(lib.to_owned());
        self
    }

    /// Forces the loader used in list mode (e.g. musl's for a musl-built library).
    pub fn loader(mut self, loader: impl AsRef<Path>) -> Oracle {
        self.loader = Some(loader.as_ref().to_path_buf());
        self
    }

    /// Runs the loader with this working directory (relative search paths are relative
    /// to it). Ignored inside a root, where `chroot` starts in `/`.
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Oracle {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Lists the dependencies of `path` (inside the root, for [`Oracle::in_root`]).
    ///
    /// # Errors
    ///
    /// A [`Skip`] when the loader needed is not installed, or `chroot` is not possible.
    ///
    /// # Panics
    ///
    /// When the loader cannot be started at all, or hangs.
    pub fn list(&self, path: impl AsRef<Path>) -> Result<Listing, Skip> {
        let path = path.as_ref();
        let host_path = match &self.root {
            Some(root) => {
                let inside = resolve_in_root(root, path).unwrap_or_else(|| path.to_path_buf());
                root.join(inside.strip_prefix("/").unwrap_or(&inside))
            }
            None => path.to_path_buf(),
        };
        let facts = ElfFacts::read(&host_path);
        if let Some(f) = &facts
            && f.interpreter.is_none()
            && !f.has_dynamic
        {
            return Ok(Listing {
                kind: ListingKind::NotDynamic,
                loaded: Vec::new(),
                missing: Vec::new(),
                error: None,
                interpreter: None,
                transcript: format!(
                    "{}: no PT_INTERP and no PT_DYNAMIC: a static executable (not run)",
                    path.display()
                ),
            });
        }
        let interp = facts.as_ref().and_then(|f| f.interpreter.clone());
        let default_loader = match &facts {
            Some(f) if !f.is_64 => GLIBC_LOADER_32,
            _ => GLIBC_LOADER_64,
        };
        let list_loader = self
            .loader
            .clone()
            .or_else(|| interp.clone().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(default_loader));
        if self.realpath(&list_loader).is_none() {
            return Err(Skip::new(format!(
                "loader {} is not installed{}",
                list_loader.display(),
                if self.root.is_some() {
                    " in the root"
                } else {
                    ""
                }
            )));
        }
        let is_musl = list_loader.to_string_lossy().contains("musl");
        // The command line, as run on the host or inside the root.
        let mut argv: Vec<OsString> = Vec::new();
        let mut env: Vec<(&str, OsString)> = Vec::new();
        if is_musl {
            // musl has no LD_TRACE_LOADED_OBJECTS; its list mode takes options instead.
            argv.push(list_loader.clone().into());
            if let Some(p) = &self.ld_library_path {
                argv.extend(["--library-path".into(), p.clone()]);
            }
            for lib in &self.preload {
                argv.extend(["--preload".into(), lib.into()]);
            }
            argv.extend(["--list".into(), path.into()]);
        } else {
            // glibc: the environment, never `--list`, which makes a missing library fatal
            // (glibc 2.36) where ldd reports `=> not found` and goes on.
            if interp.is_none() || self.loader.is_some() {
                argv.push(list_loader.clone().into());
            }
            argv.push(path.into());
            env.push(("LD_TRACE_LOADED_OBJECTS", "1".into()));
            if let Some(p) = &self.ld_library_path {
                env.push(("LD_LIBRARY_PATH", p.clone()));
            }
            if !self.preload.is_empty() {
                env.push(("LD_PRELOAD", self.preload.join(":").into()));
            }
        }
        let _helper_dir;
        let mut cmd = match &self.root {
            Some(root) => {
                require_root()?;
                let dir = tempfile::tempdir()
                    .map_err(|e| Skip::new(format!("cannot create a tempdir: {e}")))?;
                let helper = CBuild::new(dir.path())
                    .source(CHROOT_EXEC)
                    .executable("chroot-exec")
                    .static_()
                    .build()?;
                _helper_dir = dir;
                let mut c = Command::new(helper);
                c.arg(root);
                c
            }
            None => Command::new(&argv[0]),
        };
        let skip_first = usize::from(self.root.is_none());
        cmd.args(&argv[skip_first..]).env_clear().envs(env);
        if let (Some(dir), None) = (&self.cwd, &self.root) {
            cmd.current_dir(dir);
        }
        let shown = format!("{cmd:?}");
        let out = match run_bounded(&mut cmd, LOADER_TIMEOUT) {
            Ok(out) => out,
            Err(e) => panic!("cannot run the oracle {shown}: {e}"),
        };
        assert!(!out.timed_out, "the oracle hung: {shown}");
        let mut listing = parse_listing(&out.stdout, &out.stderr);
        if !out.success() && listing.kind == ListingKind::Dynamic && listing.missing.is_empty() {
            listing.kind = ListingKind::Failed;
            listing.error = Some(out.stderr.trim().to_owned());
        }
        let cwd = match (&self.root, &self.cwd) {
            (Some(_), _) => PathBuf::from("/"),
            (None, Some(dir)) => dir.clone(),
            (None, None) => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        };
        for loaded in &mut listing.loaded {
            loaded.realpath = self.realpath(&cwd.join(&loaded.path));
        }
        listing.interpreter = self.realpath(&list_loader);
        let _ = write!(
            listing.transcript,
            "$ {shown}\n[exit {:?}]\n--- stdout\n{}--- stderr\n{}",
            out.code, out.stdout, out.stderr
        );
        Ok(listing)
    }

    /// Resolves symlinks in `path`, inside the root when there is one.
    pub fn realpath(&self, path: &Path) -> Option<PathBuf> {
        match &self.root {
            Some(root) => resolve_in_root(root, path),
            None => std::fs::canonicalize(path).ok(),
        }
    }
}

/// Resolves `path` (inside `root`) following symlinks, with absolute links and `..`
/// clamped to `root`, as `chroot` would see it. Returns the path inside the root.
pub(crate) fn resolve_in_root(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut pending: Vec<OsString> = components_rev(path);
    let mut resolved = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let host = root.join(candidate.strip_prefix("/").ok()?);
        let meta = std::fs::symlink_metadata(&host).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return None;
            }
            let target = std::fs::read_link(&host).ok()?;
            if target.is_absolute() {
                resolved = PathBuf::from("/");
            }
            pending.extend(components_rev(&target));
        } else {
            resolved = candidate;
        }
    }
    Some(resolved)
}

/// Normal and `..` components of a path, reversed (so `pop` yields them in order).
fn components_rev(path: &Path) -> Vec<OsString> {
    let mut parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    parts.reverse();
    parts
}

/// Compares inuse's answer for one object with the loader's: every `name => path` entry the
/// loader printed must be in inuse's `libraries` with the same name and realpath, the sets of
/// realpaths must be equal, and the sets of missing names must be equal.
///
/// Allowances, for the program interpreter only: musl lists its `libc.so` as a second name
/// of itself (`libc.so => /lib/ld-musl-x86_64.so.1`), which inuse may list once under the
/// interpreter's name; and glibc lists itself only when some object
/// needs it (it is always mapped, but drops out of the link map when, say, `libc.so.6` was
/// not found). The contract says `libraries` includes the loader, so inuse may list it when
/// the loader did not.
///
/// # Errors
///
/// A multi-line description of every difference, with the loader's transcript and inuse's
/// entries, ready to panic with.
pub fn compare(got: &DepsObject, expected: &Listing) -> Result<(), String> {
    let mut problems = Vec::new();
    for want in expected.loaded.iter().filter(|l| l.arrow) {
        let have = got
            .libraries
            .iter()
            .find(|l| l.name == want.name)
            .or_else(|| {
                // A second name of the loader itself (musl's `libc.so => /lib/ld-musl-...`):
                // one object, which inuse lists once, under the name it was first asked for.
                got.libraries.iter().find(|l| {
                    want.realpath.is_some()
                        && want.realpath == expected.interpreter
                        && Some(&l.realpath) == want.realpath.as_ref()
                })
            });
        match have {
            None => problems.push(format!(
                "loader mapped {} => {} but inuse has no library named {:?}",
                want.name,
                want.path.display(),
                want.name
            )),
            Some(have) if Some(&have.realpath) != want.realpath.as_ref() => {
                problems.push(format!(
                    "{}: loader resolves to {} (realpath {}), inuse to {} (realpath {})",
                    want.name,
                    want.path.display(),
                    want.realpath.as_deref().unwrap_or(Path::new("?")).display(),
                    have.path.display(),
                    have.realpath.display()
                ));
            }
            Some(_) => {}
        }
    }
    let want_paths = expected.realpaths();
    let have_paths: BTreeSet<PathBuf> = got.libraries.iter().map(|l| l.realpath.clone()).collect();
    for extra in have_paths.difference(&want_paths) {
        if expected.interpreter.as_ref() == Some(extra) {
            continue;
        }
        problems.push(format!(
            "inuse maps {} which the loader does not",
            extra.display()
        ));
    }
    for lacking in want_paths.difference(&have_paths) {
        problems.push(format!(
            "loader maps {} which inuse does not",
            lacking.display()
        ));
    }
    let want_missing = expected.missing_set();
    let have_missing: BTreeSet<String> = got.missing.iter().map(|m| m.name.clone()).collect();
    if want_missing != have_missing {
        problems.push(format!(
            "missing: loader {want_missing:?}, inuse {have_missing:?}"
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "inuse disagrees with the loader on {}:\n",
        got.path.display()
    );
    for p in &problems {
        let _ = writeln!(text, "  - {p}");
    }
    let _ = writeln!(text, "loader transcript:\n{}", expected.transcript);
    let _ = writeln!(text, "inuse libraries:");
    for l in &got.libraries {
        let _ = writeln!(
            text,
            "  {} => {} (realpath {}, via {})",
            l.name,
            l.path.display(),
            l.realpath.display(),
            l.found_via
        );
    }
    for m in &got.missing {
        let _ = writeln!(text, "  {} => not found ({:?})", m.name, m.error);
    }
    Err(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parses_glibc_trace() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd5b5f2000)\n\
                   \tlibfoo.so.1 => /tmp/x/libfoo.so.1 (0x00007f0e0e1c2000)\n\
                   \tlibbar.so.2 => not found\n\
                   \t./libx.so (0x00007f0e0e1b0000)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e0dfce000)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f0e0e1d0000)\n";
        let l = parse_listing(out, "");
        assert_eq!(l.kind, ListingKind::Dynamic);
        let names: Vec<_> = l.loaded.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "libfoo.so.1",
                "./libx.so",
                "libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
        assert_eq!(l.loaded[0].path, Path::new("/tmp/x/libfoo.so.1"));
        assert!(l.loaded[0].arrow && !l.loaded[1].arrow);
        assert_eq!(l.missing, ["libbar.so.2"]);
    }

    #[test]
    fn parses_32_bit_vdso_and_old_vdso_form() {
        let out = "\tlinux-gate.so.1 (0xf7f01000)\n\tlinux-vdso.so.1 =>  (0x00007fff)\n";
        assert!(parse_listing(out, "").loaded.is_empty());
    }

    #[test]
    fn parses_static_and_not_dynamic() {
        assert_eq!(
            parse_listing("\tstatically linked\n", "").kind,
            ListingKind::StaticallyLinked
        );
        assert_eq!(
            parse_listing("\tnot a dynamic executable\n", "").kind,
            ListingKind::NotDynamic
        );
    }

    #[test]
    fn parses_glibc_fatal_error() {
        let l = parse_listing(
            "",
            "./u2: error while loading shared libraries: /tmp/c/libf.so.1: invalid ELF header\n",
        );
        assert_eq!(l.kind, ListingKind::Failed);
        assert_eq!(
            l.error.as_deref(),
            Some("/tmp/c/libf.so.1: invalid ELF header")
        );
    }

    #[test]
    fn parses_musl_list() {
        let l = parse_listing(
            "\t/lib/ld-musl-x86_64.so.1 (0x7fc8e5df7000)\n\
             \tlibc.so => /lib/ld-musl-x86_64.so.1 (0x7fc8e5df7000)\n",
            "Error loading shared library libf.so.1: No such file or directory (needed by ./um)\n\
             Error relocating ./um: f: symbol not found\n",
        );
        assert_eq!(l.loaded.len(), 2);
        assert_eq!(l.loaded[1].name, "libc.so");
        assert_eq!(l.missing, ["libf.so.1"]);
    }

    #[test]
    fn resolves_absolute_symlinks_inside_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("usr/lib/x")).unwrap();
        std::fs::write(r.join("usr/lib/x/libz.so.1.2"), b"").unwrap();
        std::os::unix::fs::symlink("libz.so.1.2", r.join("usr/lib/x/libz.so.1")).unwrap();
        std::os::unix::fs::symlink("/usr/lib", r.join("lib")).unwrap();
        std::os::unix::fs::symlink("/../../../lib/x/../x", r.join("usr/loop")).unwrap();
        assert_eq!(
            resolve_in_root(r, Path::new("/lib/x/libz.so.1")),
            Some(PathBuf::from("/usr/lib/x/libz.so.1.2"))
        );
        assert_eq!(
            resolve_in_root(r, Path::new("/usr/loop/libz.so.1")),
            Some(PathBuf::from("/usr/lib/x/libz.so.1.2"))
        );
        assert_eq!(resolve_in_root(r, Path::new("/nope")), None);
    }
}
