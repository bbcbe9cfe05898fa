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

use rustix::mount::{MountFlags, UnmountFlags};

use crate::TraceError;

/// Where tracefs is mounted when we mount it, and where we look first.
pub const DEFAULT_DIR: &str = "/sys/kernel/tracing";

/// A tracefs mount in use by this run.
#[derive(Debug)]
pub struct Tracefs {
    dir: PathBuf,
    mounted_by_us: bool,
    // Keeps the mount busy while the run lasts; see the module documentation.
    keep: Option<File>,
}

/// The mount points of tracefs in `/proc/self/mountinfo` text.
pub fn tracefs_mounts(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split_ascii_whitespace().next()? == "tracefs")
                .then(|| left.split_ascii_whitespace().nth(4).map(unescape))?
        })
        .collect()
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo paths.
fn unescape(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(code) = bytes
                .get(i + 1..i + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        {
            out.push(code);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

impl Tracefs {
    /// Finds a mounted tracefs (preferring [`DEFAULT_DIR`]) or mounts one there.
    pub fn open() -> Result<Tracefs, TraceError> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| TraceError::io("cannot read /proc/self/mountinfo", e))?;
        let mut mounts = tracefs_mounts(&mountinfo);
        mounts.sort_by_key(|m| m != Path::new(DEFAULT_DIR));
        let (dir, mounted_by_us) = match mounts.into_iter().next() {
            Some(dir) => (dir, false),
            None => {
                let dir = PathBuf::from(DEFAULT_DIR);
                rustix::mount::mount(
                    "nodev",
                    &dir,
                    "tracefs",
                    MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                    None,
                )
                .map_err(|e| TraceError::NoTracefs {
                    dir: dir.clone(),
                    error: e.into(),
                })?;
                (dir, true)
            }
        };
        let keep = File::open(&dir).ok();
        Ok(Tracefs {
            dir,
            mounted_by_us,
            keep,
        })
    }

    /// The mount point.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this run mounted it (and will unmount it).
    pub fn mounted_by_us(&self) -> bool {
        self.mounted_by_us
    }

    /// `uprobe_events`.
    pub fn uprobe_events(&self) -> PathBuf {
        self.dir.join("uprobe_events")
    }

    /// `uprobe_profile`.
    pub fn uprobe_profile(&self) -> PathBuf {
        self.dir.join("uprobe_profile")
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

impl Drop for Tracefs {
    fn drop(&mut self) {
        if self.mounted_by_us {
            drop(self.keep.take());
            // EBUSY: another run still uses it; it stays mounted, which is harmless.
            let _ = rustix::mount::unmount(&self.dir, UnmountFlags::empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracefs_mounts() {
        let info = "\
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
35 24 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:15 - tracefs tracefs rw
36 24 0:12 / /mnt/my\\040trace rw,relatime - tracefs nodev rw
37 24 0:13 / /sys/kernel/debug rw - debugfs debugfs rw
";
        assert_eq!(
            tracefs_mounts(info),
            [
                PathBuf::from("/sys/kernel/tracing"),
                PathBuf::from("/mnt/my trace")
            ]
        );
        assert!(tracefs_mounts("").is_empty());
    }
}
