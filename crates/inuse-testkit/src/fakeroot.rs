//! Small root filesystems in a tempdir, for `--root` and for `chroot`ed oracle runs.
//!
//! A root built here looks like a real distribution where it matters to the loader:
//! merged-usr with *absolute* symlinks (`/lib -> /usr/lib`, the case that breaks tools
//! resolving against the host), `etc/ld.so.conf` with `include` lines, and an
//! `etc/ld.so.cache` written by the host's real `ldconfig -r` rather than by us, so the cache
//! format is the one glibc really reads.
//!
//! Methods panic on I/O errors inside the tempdir (a broken test environment, not a skip)
//! and return `&mut Self` for chaining.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::process::run_bounded;
use crate::{Skip, require_root, require_tool};

/// Where Debian-like multiarch x86-64 glibc lives inside a [`FakeRoot`].
const MULTIARCH: &str = "/usr/lib/x86_64-linux-gnu";

/// Builder for a root filesystem in its own tempdir (removed on drop).
#[derive(Debug)]
pub struct FakeRoot {
    dir: TempDir,
}

impl FakeRoot {
    /// An empty root.
    ///
    /// # Panics
    ///
    /// When no tempdir can be created.
    pub fn new() -> FakeRoot {
        match tempfile::Builder::new().prefix("inuse-fakeroot-").tempdir() {
            Ok(dir) => FakeRoot { dir },
            Err(e) => panic!("cannot create a tempdir for a fake root: {e}"),
        }
    }

    /// An empty root in a new directory inside `parent` (removed on drop, like [`FakeRoot::new`]).
    /// For a fixture whose paths must have a known shape, e.g. to redact them in snapshots.
    ///
    /// # Panics
    ///
    /// When no directory can be created there.
    pub fn new_in(parent: impl AsRef<Path>) -> FakeRoot {
        let parent = parent.as_ref();
        match tempfile::Builder::new()
            .prefix("inuse-fakeroot-")
            .tempdir_in(parent)
        {
            Ok(dir) => FakeRoot { dir },
            Err(e) => panic!("cannot create a fake root inside {}: {e}", parent.display()),
        }
    }

    /// The root directory on the host.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The host path of `inside` (an absolute path inside the root). Does not follow
    /// symlinks: use it for paths you created.
    pub fn host_path(&self, inside: impl AsRef<Path>) -> PathBuf {
        let inside = inside.as_ref();
        self.path().join(inside.strip_prefix("/").unwrap_or(inside))
    }

    /// Creates a directory (and its parents) inside the root.
    pub fn dir(&mut self, inside: impl AsRef<Path>) -> &mut FakeRoot {
        let host = self.host_path(inside);
        check(std::fs::create_dir_all(&host), "create directory", &host);
        self
    }

    /// Writes a file inside the root, creating parent directories.
    pub fn write(&mut self, inside: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> &mut FakeRoot {
        let host = self.host_path(inside);
        self.parent_of(&host);
        check(std::fs::write(&host, contents), "write", &host);
        self
    }

    /// Copies a host file (following symlinks, keeping permissions) to `inside`.
    pub fn copy(&mut self, host_src: impl AsRef<Path>, inside: impl AsRef<Path>) -> &mut FakeRoot {
        let host = self.host_path(inside);
        self.parent_of(&host);
        check(
            std::fs::copy(host_src.as_ref(), &host).map(drop),
            "copy into",
            &host,
        );
        self
    }

    /// Creates a symlink at `inside` whose target is written verbatim (absolute targets are
    /// absolute *inside the root*).
    pub fn symlink(&mut self, inside: impl AsRef<Path>, target: impl AsRef<Path>) -> &mut FakeRoot {
        let host = self.host_path(inside);
        self.parent_of(&host);
        check(
            std::os::unix::fs::symlink(target.as_ref(), &host),
            "symlink",
            &host,
        );
        self
    }

    /// Writes `etc/ld.so.conf`.
    pub fn ld_so_conf(&mut self, contents: &str) -> &mut FakeRoot {
        self.write("/etc/ld.so.conf", contents)
    }

    /// Writes `etc/ld.so.conf.d/NAME`.
    pub fn ld_so_conf_d(&mut self, name: &str, contents: &str) -> &mut FakeRoot {
        self.write(Path::new("/etc/ld.so.conf.d").join(name), contents)
    }

    /// Writes `etc/ld.so.preload`.
    pub fn ld_so_preload(&mut self, contents: &str) -> &mut FakeRoot {
        self.write("/etc/ld.so.preload", contents)
    }

    /// Writes `etc/os-release`.
    pub fn os_release(&mut self, contents: &str) -> &mut FakeRoot {
        self.write("/etc/os-release", contents)
    }

    /// A merged-usr skeleton with absolute symlinks, `/lib -> /usr/lib` and
    /// `/lib64 -> /usr/lib64`, plus Debian's `ld.so.conf` (`include /etc/ld.so.conf.d/*.conf`)
    /// naming the multiarch directories, and an `os-release`.
    pub fn merged_usr(&mut self) -> &mut FakeRoot {
        self.dir("/usr/lib/x86_64-linux-gnu")
            .dir("/usr/lib64")
            .dir("/usr/bin")
            .symlink("/lib", "/usr/lib")
            .symlink("/lib64", "/usr/lib64")
            .symlink("/bin", "/usr/bin")
            .ld_so_conf("include /etc/ld.so.conf.d/*.conf\n")
            .ld_so_conf_d(
                "x86_64-linux-gnu.conf",
                "# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n",
            )
            .os_release("ID=inuse-test\nNAME=\"inuse test root\"\nVERSION_ID=1\n")
    }

    /// Copies the host's x86-64 glibc loader and `libc.so.6` into the multiarch directory,
    /// with `/usr/lib64/ld-linux-x86-64.so.2` an absolute symlink to the loader (Debian's
    /// layout). Call [`FakeRoot::merged_usr`] first.
    ///
    /// # Errors
    ///
    /// A [`Skip`] when the host has no x86-64 glibc at the usual places.
    pub fn host_glibc(&mut self) -> Result<&mut FakeRoot, Skip> {
        let loader = find_existing(&[
            "/lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        ])?;
        let libc = find_existing(&["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"])?;
        let inside_loader = format!("{MULTIARCH}/ld-linux-x86-64.so.2");
        self.copy(loader, &inside_loader)
            .copy(libc, format!("{MULTIARCH}/libc.so.6"))
            .symlink("/usr/lib64/ld-linux-x86-64.so.2", inside_loader);
        Ok(self)
    }

    /// Runs the host's `ldconfig -X -r ROOT`, which chroots into the root, reads its
    /// `etc/ld.so.conf` and writes its `etc/ld.so.cache` (`-X`: leaves symlinks alone).
    ///
    /// # Errors
    ///
    /// A [`Skip`] when `ldconfig` is missing or we are not root.
    ///
    /// # Panics
    ///
    /// When ldconfig fails, with its output.
    pub fn ldconfig(&mut self) -> Result<&mut FakeRoot, Skip> {
        let tool = require_tool("ldconfig")?;
        require_root()?;
        self.dir("/var/cache/ldconfig");
        let mut cmd = Command::new(tool);
        cmd.arg("-X").arg("-r").arg(self.path());
        match run_bounded(&mut cmd, Duration::from_secs(60)) {
            Ok(out) if out.success() => Ok(self),
            Ok(out) => panic!(
                "{cmd:?} failed ({:?}):\n{}{}",
                out.code, out.stdout, out.stderr
            ),
            Err(e) => panic!("cannot run {cmd:?}: {e}"),
        }
    }

    fn parent_of(&self, host: &Path) {
        if let Some(parent) = host.parent() {
            check(std::fs::create_dir_all(parent), "create directory", parent);
        }
    }
}

impl Default for FakeRoot {
    fn default() -> FakeRoot {
        FakeRoot::new()
    }
}

fn find_existing(candidates: &[&str]) -> Result<PathBuf, Skip> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| Skip::new(format!("none of {candidates:?} exists on the host")))
}

fn check<T>(result: std::io::Result<T>, what: &str, path: &Path) {
    if let Err(e) = result {
        panic!("fake root: cannot {what} {}: {e}", path.display());
    }
}
