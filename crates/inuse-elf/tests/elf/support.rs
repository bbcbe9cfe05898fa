//! Test helpers: a builder that compiles small ELF files with gcc, the host's libraries, and
//! the shared reference data.

use std::path::{Path, PathBuf};
use std::process::Command;

use inuse_testkit::Skip;

/// A [`Skip`] unless `tool --version` runs.
pub fn have_tool(tool: &str) -> Result<(), Skip> {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(())
    } else {
        Err(Skip::new(format!("`{tool}` is not installed")))
    }
}

/// Compiles C sources into ELF files in a temporary directory.
pub struct Gcc {
    dir: tempfile::TempDir,
}

impl Gcc {
    /// A builder, or a [`Skip`] when gcc or readelf is missing.
    pub fn new() -> Result<Gcc, Skip> {
        have_tool("gcc")?;
        have_tool("readelf")?;
        let dir = tempfile::tempdir().expect("create a temporary directory");
        Ok(Gcc { dir })
    }

    /// The directory the outputs go to.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `name` in the build directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write a fixture source");
        path
    }

    /// Runs gcc with `args` in the build directory to produce `output`; panics with gcc's
    /// messages if it fails.
    pub fn build(&self, output: &str, args: &[&str]) -> PathBuf {
        let out = Command::new("gcc")
            .current_dir(self.dir.path())
            .args(args)
            .arg("-o")
            .arg(output)
            .output()
            .expect("run gcc");
        assert!(
            out.status.success(),
            "gcc {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.dir.path().join(output)
    }

    /// `strip --strip-all` of `input` into `output`.
    pub fn strip(&self, input: &Path, output: &str) -> PathBuf {
        let path = self.dir.path().join(output);
        let status = Command::new("strip")
            .arg("--strip-all")
            .arg("-o")
            .arg(&path)
            .arg(input)
            .status()
            .expect("run strip");
        assert!(status.success(), "strip failed");
        path
    }

    /// A copy of the 64-bit little-endian `input` without section headers: `e_shoff`,
    /// `e_shnum` and `e_shstrndx` zeroed, as some packers and hand-made files leave them.
    pub fn without_section_headers(&self, input: &Path, output: &str) -> PathBuf {
        let mut bytes = std::fs::read(input).expect("read fixture");
        assert_eq!(
            &bytes[..6],
            b"\x7fELF\x02\x01",
            "64-bit little-endian fixture"
        );
        bytes[0x28..0x30].fill(0); // e_shoff
        bytes[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
        let path = self.dir.path().join(output);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }
}

/// The reference data directory (`INUSE_TESTDATA`, or `../shared/data` from the workspace),
/// or a [`Skip`] for missing data (a failure under `CI=true`).
pub fn testdata() -> Result<PathBuf, Skip> {
    inuse_testkit::testdata_dir()
}

/// Every regular file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a test data directory") {
            let path = entry.expect("read a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The host's library directories, in the order searched.
const LIBRARY_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// The first of the host's copies of library `name`, if any.
pub fn host_library(name: &str) -> Option<PathBuf> {
    LIBRARY_DIRS
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

/// Well-known host libraries and executables that exist here, with a loud notice for each
/// one that does not.
pub fn host_samples() -> Vec<PathBuf> {
    const LIBRARIES: &[&str] = &[
        "libc.so.6",
        "libm.so.6",
        "libz.so.1",
        "libcrypto.so.3",
        "libssl.so.3",
        "libstdc++.so.6",
        "libgcc_s.so.1",
        "liblzma.so.5",
        "libsystemd.so.0",
        "ld-linux-x86-64.so.2",
    ];
    let mut samples = Vec::new();
    for name in LIBRARIES {
        match host_library(name) {
            Some(path) => samples.push(path),
            None => Skip::new(format!("host library {name} not found, not compared")).report(),
        }
    }
    for exe in ["/usr/bin/ls", "/usr/bin/bash", "/usr/bin/readelf"] {
        let path = PathBuf::from(exe);
        if path.is_file() {
            samples.push(path);
        }
    }
    samples
}
