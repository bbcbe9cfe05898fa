//! Compiling small C fixtures at test time, and editing them afterwards with `patchelf`.
//!
//! Checked-in binaries rot and hide what they contain; a fixture built from three lines of C
//! next to the assertion says exactly which `DT_NEEDED`, `DT_RPATH` or `PT_INTERP` a case is
//! about. The builder spells out the linker's choices that differ between distributions
//! (`--as-needed`, new vs old dtags) so that a fixture is the same everywhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{Skip, process::run_bounded, require_tool};

/// How long one compiler or patchelf run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// What kind of file [`CBuild`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Executable,
    Shared,
}

/// How the output is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Dynamic,
    Static,
    StaticPie,
}

/// A toolchain variant whose availability is probed once per test process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Gcc,
    Gcc32,
    Musl,
    Static,
    StaticPie,
}

/// Builder for one C fixture: an executable (the default) or a shared library.
///
/// ```ignore
/// let lib = or_skip!(CBuild::new(dir).source("int f(void){return 1;}")
///     .shared("libfoo.so.1").soname("libfoo.so.1").build());
/// let exe = or_skip!(CBuild::new(dir).source("int f(void); int main(void){return f();}")
///     .needed_lib(&lib).rpath("$ORIGIN").build());
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CBuild {
    dir: PathBuf,
    sources: Vec<String>,
    kind: Kind,
    name: Option<String>,
    soname: Option<String>,
    needed: Vec<PathBuf>,
    rpath: Vec<String>,
    runpath: Vec<String>,
    cflags: Vec<String>,
    link_args: Vec<String>,
    m32: bool,
    musl: bool,
    link: Link,
}

impl CBuild {
    /// A builder writing its sources and output into `dir` (which must exist).
    pub fn new(dir: impl AsRef<Path>) -> CBuild {
        CBuild {
            dir: dir.as_ref().to_path_buf(),
            sources: Vec::new(),
            kind: Kind::Executable,
            name: None,
            soname: None,
            needed: Vec::new(),
            rpath: Vec::new(),
            runpath: Vec::new(),
            cflags: Vec::new(),
            link_args: Vec::new(),
            m32: false,
            musl: false,
            link: Link::Dynamic,
        }
    }

    /// Adds a C translation unit (the text of a `.c` file).
    pub fn source(mut self, code: &str) -> CBuild {
        self.sources.push(code.to_owned());
        self
    }

    /// Builds an executable named `name` in the directory (the default kind; the default
    /// name is `a.out`).
    pub fn executable(mut self, name: &str) -> CBuild {
        self.kind = Kind::Executable;
        self.name = Some(name.to_owned());
        self
    }

    /// Builds a shared library (`-shared -fPIC`) named `name` in the directory.
    pub fn shared(mut self, name: &str) -> CBuild {
        self.kind = Kind::Shared;
        self.name = Some(name.to_owned());
        self
    }

    /// Sets `DT_SONAME`.
    pub fn soname(mut self, soname: &str) -> CBuild {
        self.soname = Some(soname.to_owned());
        self
    }

    /// Links against the library file at `path`, which records a `DT_NEEDED` for its soname
    /// (or its file name when it has none). Always linked `--no-as-needed`, so the entry is
    /// there even when no symbol of the library is used.
    pub fn needed_lib(mut self, path: impl AsRef<Path>) -> CBuild {
        self.needed.push(path.as_ref().to_path_buf());
        self
    }

    /// Appends a directory to `DT_RPATH` (old dtags, `-Wl,--disable-new-dtags`).
    pub fn rpath(mut self, dir: &str) -> CBuild {
        self.rpath.push(dir.to_owned());
        self
    }

    /// Appends a directory to `DT_RUNPATH` (new dtags, `-Wl,--enable-new-dtags`).
    ///
    /// Combined with [`CBuild::rpath`] the object gets both tags with their own values; the
    /// linker cannot do that, so the RUNPATH is added afterwards (see [`Patchelf::add_runpath`]).
    pub fn runpath(mut self, dir: &str) -> CBuild {
        self.runpath.push(dir.to_owned());
        self
    }

    /// Adds a compiler flag (`-DFOO`, `-O2`, ...).
    pub fn cflag(mut self, flag: &str) -> CBuild {
        self.cflags.push(flag.to_owned());
        self
    }

    /// Adds a raw argument to the link line (e.g. `-Wl,-z,nodeflib`).
    pub fn link_arg(mut self, arg: &str) -> CBuild {
        self.link_args.push(arg.to_owned());
        self
    }

    /// Builds a 32-bit (i386) object with `gcc -m32`.
    pub fn m32(mut self) -> CBuild {
        self.m32 = true;
        self
    }

    /// Builds against musl with `musl-gcc`.
    pub fn musl(mut self) -> CBuild {
        self.musl = true;
        self
    }

    /// Links statically (`-static`): no `PT_INTERP`, no `PT_DYNAMIC`.
    pub fn static_(mut self) -> CBuild {
        self.link = Link::Static;
        self
    }

    /// Links as a static PIE (`-static-pie`): no `PT_INTERP`, but a `PT_DYNAMIC` for the
    /// self-relocation.
    pub fn static_pie(mut self) -> CBuild {
        self.link = Link::StaticPie;
        self
    }

    /// Compiles and links; returns the path of the output.
    ///
    /// # Errors
    ///
    /// A [`Skip`] when the toolchain variant asked for (`gcc`, 32-bit multilib, `musl-gcc`,
    /// static libc, `patchelf` for RPATH plus RUNPATH) is not usable here.
    ///
    /// # Panics
    ///
    /// When the fixture does not compile or link (a bug in the test), with the command line
    /// and the compiler's output; or when the directory cannot be written.
    pub fn build(self) -> Result<PathBuf, Skip> {
        let variant = match (self.musl, self.m32, self.link) {
            (true, _, _) => Variant::Musl,
            (false, true, _) => Variant::Gcc32,
            (false, false, Link::Static) => Variant::Static,
            (false, false, Link::StaticPie) => Variant::StaticPie,
            (false, false, Link::Dynamic) => Variant::Gcc,
        };
        probe(variant)?;
        if !self.rpath.is_empty() && !self.runpath.is_empty() {
            require_tool("patchelf")?;
        }
        let name = self.name.clone().unwrap_or_else(|| "a.out".to_owned());
        let out = self.dir.join(&name);
        let mut cmd = Command::new(if self.musl { "musl-gcc" } else { "gcc" });
        cmd.current_dir(&self.dir);
        if self.m32 {
            cmd.arg("-m32");
        }
        match (self.kind, self.link) {
            (Kind::Shared, _) => {
                cmd.args(["-shared", "-fPIC"]);
            }
            (Kind::Executable, Link::Static) => {
                cmd.arg("-static");
            }
            (Kind::Executable, Link::StaticPie) => {
                cmd.args(["-static-pie", "-fPIE"]);
            }
            (Kind::Executable, Link::Dynamic) => {}
        }
        cmd.args(&self.cflags);
        for (i, code) in self.sources.iter().enumerate() {
            let src = self.dir.join(format!("{name}.{i}.c"));
            write(&src, code.as_bytes());
            cmd.arg(src);
        }
        cmd.arg("-o").arg(&out);
        // Spelled out because distributions differ in their defaults (Ubuntu: --as-needed).
        cmd.arg("-Wl,--no-as-needed");
        // A fixture's library may need another that is deliberately not where ld looks.
        cmd.arg("-Wl,--allow-shlib-undefined");
        if let Some(soname) = &self.soname {
            cmd.arg(format!("-Wl,-soname,{soname}"));
        }
        for lib in &self.needed {
            let dir = lib.parent().unwrap_or(Path::new("."));
            let file = lib.file_name().map(|f| f.to_string_lossy().into_owned());
            cmd.arg(format!("-L{}", dir.display()));
            cmd.arg(format!("-l:{}", file.unwrap_or_default()));
        }
        match (self.rpath.is_empty(), self.runpath.is_empty()) {
            (true, true) => {}
            (false, _) => {
                cmd.arg("-Wl,--disable-new-dtags");
                cmd.arg(format!("-Wl,-rpath,{}", self.rpath.join(":")));
            }
            (true, false) => {
                cmd.arg("-Wl,--enable-new-dtags");
                cmd.arg(format!("-Wl,-rpath,{}", self.runpath.join(":")));
            }
        }
        cmd.args(&self.link_args);
        run_checked(&mut cmd);
        if !self.rpath.is_empty() && !self.runpath.is_empty() {
            Patchelf::on(&out).add_runpath(&self.runpath.join(":"))?;
        }
        Ok(out)
    }
}

/// Checks once per process that a toolchain variant can link a trivial program.
fn probe(variant: Variant) -> Result<(), Skip> {
    static PROBES: [OnceLock<Result<(), Skip>>; 5] = [const { OnceLock::new() }; 5];
    let slot = match variant {
        Variant::Gcc => 0,
        Variant::Gcc32 => 1,
        Variant::Musl => 2,
        Variant::Static => 3,
        Variant::StaticPie => 4,
    };
    PROBES[slot]
        .get_or_init(|| {
            let (tool, flags, what): (&str, &[&str], &str) = match variant {
                Variant::Gcc => ("gcc", &[], "gcc"),
                Variant::Gcc32 => ("gcc", &["-m32"], "gcc -m32 (32-bit multilib, gcc-multilib)"),
                Variant::Musl => ("musl-gcc", &[], "musl-gcc (musl-tools)"),
                Variant::Static => ("gcc", &["-static"], "gcc -static (static libc)"),
                Variant::StaticPie => ("gcc", &["-static-pie"], "gcc -static-pie"),
            };
            require_tool(tool)?;
            let dir = tempfile::tempdir()
                .map_err(|e| Skip::new(format!("cannot create a tempdir: {e}")))?;
            let src = dir.path().join("probe.c");
            write(&src, b"int main(void) { return 0; }\n");
            let mut cmd = Command::new(tool);
            cmd.args(flags)
                .arg(&src)
                .arg("-o")
                .arg(dir.path().join("probe"));
            match run_bounded(&mut cmd, TOOL_TIMEOUT) {
                Ok(out) if out.success() => Ok(()),
                Ok(out) => Err(Skip::new(format!(
                    "{what} cannot link a trivial program: {}",
                    out.stderr.trim()
                ))),
                Err(e) => Err(Skip::new(format!("{what} cannot be run: {e}"))),
            }
        })
        .clone()
}

/// Runs a build tool and panics with its command line and output when it fails.
fn run_checked(cmd: &mut Command) {
    let shown = format!("{cmd:?}");
    match run_bounded(cmd, TOOL_TIMEOUT) {
        Ok(out) if out.success() => {}
        Ok(out) => panic!(
            "fixture command failed ({:?}): {shown}\nstdout:\n{}\nstderr:\n{}",
            out.code, out.stdout, out.stderr
        ),
        Err(e) => panic!("cannot run {shown}: {e}"),
    }
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = std::fs::write(path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
}

/// Post-hoc edits of a built fixture with `patchelf`, for what the linker will not produce:
/// a foreign interpreter, a `DT_NEEDED` with a slash, RPATH and RUNPATH together.
#[derive(Debug, Clone)]
pub struct Patchelf {
    file: PathBuf,
}

impl Patchelf {
    /// Edits the file at `path` in place.
    pub fn on(path: impl AsRef<Path>) -> Patchelf {
        Patchelf {
            file: path.as_ref().to_path_buf(),
        }
    }

    /// Runs `patchelf ARGS FILE`.
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    ///
    /// # Panics
    ///
    /// When patchelf fails, with its output.
    pub fn args<I, S>(&self, args: I) -> Result<&Patchelf, Skip>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let tool = require_tool("patchelf")?;
        run_checked(Command::new(tool).args(args).arg(&self.file));
        Ok(self)
    }

    /// `--set-interpreter PATH`.
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    pub fn set_interpreter(&self, interp: impl AsRef<Path>) -> Result<&Patchelf, Skip> {
        self.args([
            std::ffi::OsStr::new("--set-interpreter"),
            interp.as_ref().as_os_str(),
        ])
    }

    /// `--add-needed NAME` (the name may contain a slash).
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    pub fn add_needed(&self, name: &str) -> Result<&Patchelf, Skip> {
        self.args(["--add-needed", name])
    }

    /// `--remove-needed NAME`.
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    pub fn remove_needed(&self, name: &str) -> Result<&Patchelf, Skip> {
        self.args(["--remove-needed", name])
    }

    /// `--set-rpath VALUE`, which writes `DT_RUNPATH` (replacing an existing search path).
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    pub fn set_runpath(&self, value: &str) -> Result<&Patchelf, Skip> {
        self.args(["--set-rpath", value])
    }

    /// `--force-rpath --set-rpath VALUE`, which writes `DT_RPATH` (replacing an existing
    /// search path).
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    pub fn set_rpath(&self, value: &str) -> Result<&Patchelf, Skip> {
        self.args(["--force-rpath", "--set-rpath", value])
    }

    /// `--no-default-lib`: sets `DF_1_NODEFLIB` (GNU ld ignores `-z nodeflib` for
    /// executables).
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    pub fn no_default_lib(&self) -> Result<&Patchelf, Skip> {
        self.args(["--no-default-lib"])
    }

    /// Adds a `DT_RUNPATH` next to an existing `DT_RPATH`, which neither the linker nor
    /// patchelf does: patchelf adds a `DT_NEEDED` carrying the string, whose tag is then
    /// rewritten to `DT_RUNPATH` in place. 64-bit little-endian files only.
    ///
    /// # Errors
    ///
    /// A [`Skip`] when patchelf is not installed.
    ///
    /// # Panics
    ///
    /// When the file cannot be read or written or the entry is not found afterwards.
    pub fn add_runpath(&self, value: &str) -> Result<&Patchelf, Skip> {
        const DT_NEEDED: u64 = 1;
        const DT_RUNPATH: u64 = 29;
        self.add_needed(value)?;
        let mut bytes = match std::fs::read(&self.file) {
            Ok(bytes) => bytes,
            Err(e) => panic!("cannot read {}: {e}", self.file.display()),
        };
        let Some(entry) = crate::elf::find_dynamic_string(&bytes, DT_NEEDED, value) else {
            panic!(
                "no DT_NEEDED {value:?} in {} after patchelf --add-needed",
                self.file.display()
            );
        };
        bytes[entry..entry + 8].copy_from_slice(&DT_RUNPATH.to_le_bytes());
        write(&self.file, &bytes);
        Ok(self)
    }
}
