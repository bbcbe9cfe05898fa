//! The preconditions of `inuse trace`, checked by the test itself: root, a tracefs the test
//! can mount, and uprobe events in the kernel.
//!
//! A test of `inuse trace` must not learn from inuse whether tracing is possible, or a real
//! failure of inuse reads as "cannot run here". [`TracefsMount`] establishes the conditions
//! independently (its own tracefs mount in a tempdir, unmounted on drop) and gives the test a
//! view of `uprobe_events` that does not go through inuse. Once it exists, any failure of
//! `inuse trace` is a failure of the test.

use std::path::Path;
use std::process::Command;

use crate::Skip;

/// A tracefs mounted by the test in a tempdir; unmounted on drop.
#[derive(Debug)]
pub struct TracefsMount {
    dir: tempfile::TempDir,
}

impl TracefsMount {
    /// Mounts tracefs, or returns a [`Skip`] naming the missing condition: not root, tracefs
    /// cannot be mounted, or the kernel has no uprobe events (`CONFIG_UPROBE_EVENTS`).
    pub fn new() -> Result<TracefsMount, Skip> {
        if crate::require_root().is_err() {
            return Err(Skip::new("uprobes need root"));
        }
        let dir =
            tempfile::tempdir().map_err(|e| Skip::new(format!("cannot create a tempdir: {e}")))?;
        let mounted = Command::new("mount")
            .args(["-t", "tracefs", "nodev"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(Skip::new(format!(
                    "cannot mount tracefs: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            Err(e) => return Err(Skip::new(format!("cannot run mount: {e}"))),
        }
        let mount = TracefsMount { dir };
        if !mount.path().join("uprobe_events").exists() {
            return Err(Skip::new(
                "this kernel has no uprobe events (CONFIG_UPROBE_EVENTS)",
            ));
        }
        Ok(mount)
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The current `uprobe_events`, read through this mount.
    ///
    /// # Panics
    ///
    /// When the file cannot be read (it existed when the mount was made).
    pub fn uprobe_events(&self) -> String {
        let path = self.path().join("uprobe_events");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }
}

impl Drop for TracefsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
