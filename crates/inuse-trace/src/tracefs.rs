//! Finding tracefs, or mounting it for the length of a run.
//!
//! Most distributions mount tracefs at `/sys/kernel/tracing` (systemd does); minimal hosts and
//! containers often do not. A run mounts it when it is missing and unmounts it at the end,
//! but only a mount it made itself: someone else's tracefs, and the probes of other tools in
//! it, are left as they were. The run keeps a descriptor on the mount open, so a second run
//! that started while the first one's mount was in use makes the first one's unmount fail with
//! `EBUSY` (and the mount stays) instead of yanking tracefs away under the second.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use inuse_runtime::uprobes::{DEFAULT_DIR, tracefs_mounts};
use inuse_runtime::uprobes::{MountError, TracefsMount};

use crate::TraceError;

/// A tracefs mount in use by this run (the finding and mounting live in
/// [`inuse_runtime::uprobes`], which sweeps read `uprobe_events` with).
#[derive(Debug)]
pub struct Tracefs {
    mount: TracefsMount,
}

impl Tracefs {
    /// Finds a mounted tracefs (preferring [`DEFAULT_DIR`]) or mounts one there.
    pub fn open() -> Result<Tracefs, TraceError> {
        let mount = TracefsMount::open().map_err(|e| match e {
            MountError::Mountinfo(e) => TraceError::io("cannot read /proc/self/mountinfo", e),
            MountError::Mount { dir, error } => TraceError::NoTracefs { dir, error },
        })?;
        Ok(Tracefs { mount })
    }

    /// The mount point.
    pub fn dir(&self) -> &Path {
        self.mount.dir()
    }

    /// Whether this run mounted it (and will unmount it).
    pub fn mounted_by_us(&self) -> bool {
        self.mount.mounted_by_us()
    }

    /// `uprobe_events`.
    pub fn uprobe_events(&self) -> PathBuf {
        self.dir().join("uprobe_events")
    }

    /// `uprobe_profile`.
    pub fn uprobe_profile(&self) -> PathBuf {
        self.dir().join("uprobe_profile")
    }

    /// Fails with [`TraceError::NoUprobes`] when the kernel has no uprobe events.
    pub fn check_uprobes(&self) -> Result<(), TraceError> {
        let events = self.uprobe_events();
        if events.exists() && self.uprobe_profile().exists() {
            Ok(())
        } else {
            Err(TraceError::NoUprobes(events))
        }
    }

    /// Reads a tracefs file whole.
    pub fn read(&self, path: &Path) -> Result<String, TraceError> {
        let mut text = String::new();
        File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| TraceError::io(format!("cannot read {}", path.display()), e))?;
        Ok(text)
    }

    /// Writes `text` to a control file in one `write` (tracefs acts on each write; a short
    /// write would cut a command in two).
    pub fn write(&self, path: &Path, text: &str) -> Result<(), TraceError> {
        let what = || {
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            match lines.count() {
                0 => format!("cannot write {first:?} to {}", path.display()),
                more => format!(
                    "cannot write {first:?} (and {more} more lines) to {}",
                    path.display()
                ),
            }
        };
        // Append, never truncate: truncating `uprobe_events` deletes every tool's probes.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| TraceError::io(what(), e))?;
        let n = file
            .write(text.as_bytes())
            .map_err(|e| TraceError::io(what(), e))?;
        if n != text.len() {
            return Err(TraceError::io(
                what(),
                std::io::Error::other(format!("short write: {n} of {} bytes", text.len())),
            ));
        }
        Ok(())
    }
}
