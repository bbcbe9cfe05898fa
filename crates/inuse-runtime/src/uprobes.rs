//! Which files have uprobes registered right now, by any tool: read from tracefs.
//!
//! A uprobe writes a breakpoint into a private copy of the probed text page in every process
//! that maps the file (see [`crate::executed`]), which disturbs the resident-page evidence.
//! The copies themselves are seen in `pagemap`; this module names their cause: `uprobe_events`
//! lists every probe created through tracefs (ours, `perf probe`'s, any tool's), with the
//! probed file and offset. Probes attached through `perf_event_open` (bpftrace, BPF agents)
//! are not listed there; their copies are still seen, and reported as copied text.
//!
//! Nothing is written: tracefs is found in `/proc/self/mountinfo`, mounted only when it is
//! nowhere mounted (and then unmounted when the [`TracefsMount`] is dropped), and
//! `uprobe_events` is only read. `inuse-trace` finds and mounts tracefs with the same code.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

/// Where tracefs is mounted when we mount it, and where we look first.
pub const DEFAULT_DIR: &str = "/sys/kernel/tracing";

/// Largest `uprobe_events` read (a probe is one line of about 80 bytes).
const MAX_EVENTS_BYTES: u64 = 64 << 20;

/// Why tracefs could not be found or mounted.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// `/proc/self/mountinfo` was unreadable.
    #[error("cannot read /proc/self/mountinfo: {0}")]
    Mountinfo(io::Error),
    /// Nothing mounted, and mounting failed.
    #[error("tracefs is not available and cannot be mounted at {}: {error}", dir.display())]
    Mount {
        /// Where mounting was tried.
        dir: PathBuf,
        /// Why it failed.
        error: io::Error,
    },
}

/// A tracefs mount in use. A second user that started while our own mount was in use makes
/// our unmount fail with `EBUSY` (the mount stays) instead of yanking tracefs away from it:
/// a descriptor on the mount is kept open for that.
#[derive(Debug)]
pub struct TracefsMount {
    dir: PathBuf,
    mounted_by_us: bool,
    keep: Option<File>,
}

impl TracefsMount {
    /// Finds a mounted tracefs (preferring [`DEFAULT_DIR`]) or mounts one there.
    pub fn open() -> Result<TracefsMount, MountError> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(MountError::Mountinfo)?;
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
                .map_err(|e| MountError::Mount {
                    dir: dir.clone(),
                    error: e.into(),
                })?;
                (dir, true)
            }
        };
        let keep = File::open(&dir).ok();
        Ok(TracefsMount {
            dir,
            mounted_by_us,
            keep,
        })
    }

    /// The mount point.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether we mounted it (and unmount it when dropped).
    pub fn mounted_by_us(&self) -> bool {
        self.mounted_by_us
    }

    /// The probes listed in `uprobe_events`, resolved to files.
    pub fn probed_files(&self) -> io::Result<ProbedFiles> {
        let mut text = String::new();
        File::open(self.dir.join("uprobe_events"))?
            .take(MAX_EVENTS_BYTES)
            .read_to_string(&mut text)?;
        Ok(ProbedFiles::from_events(&text))
    }
}

impl Drop for TracefsMount {
    fn drop(&mut self) {
        if self.mounted_by_us {
            drop(self.keep.take());
            // EBUSY: another user still has it; it stays mounted, which is harmless.
            let _ = rustix::mount::unmount(&self.dir, UnmountFlags::empty());
        }
    }
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

/// One line of `uprobe_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine<'a> {
    /// The group.
    pub group: &'a str,
    /// The event name.
    pub event: &'a str,
    /// The probed file as written.
    pub path: &'a str,
    /// The file offset.
    pub offset: u64,
}

/// Parses one line of `uprobe_events`; `None` for anything unexpected (the file is the
/// kernel's, but a format change must not make us act on a misread line).
pub fn parse_event_line(line: &str) -> Option<EventLine<'_>> {
    let mut fields = line.split_ascii_whitespace();
    let head = fields.next()?;
    let place = fields.next()?;
    let name = head
        .strip_prefix("p:")
        .or_else(|| head.strip_prefix("r:"))?;
    let (group, event) = name.split_once('/')?;
    let (path, offset) = place.rsplit_once(':')?;
    // A return probe or reference counter decorates the offset: `0x..%return`, `0x..(0x..)`.
    let offset = offset
        .split(['%', '('])
        .next()?
        .strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())?;
    Some(EventLine {
        group,
        event,
        path,
        offset,
    })
}

/// Files with uprobes registered, by (device, inode), with the probes' groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbedFiles {
    files: HashMap<(u64, u64), HashSet<String>>,
}

impl ProbedFiles {
    /// From the text of `uprobe_events`; paths that no longer resolve are left out (a uprobe
    /// holds the inode, but a file replaced since has another one: its old copy's probes are
    /// not found, and its copies are reported as copied text).
    pub fn from_events(text: &str) -> ProbedFiles {
        let mut by_path: HashMap<&str, HashSet<String>> = HashMap::new();
        for e in text.lines().filter_map(parse_event_line) {
            by_path
                .entry(e.path)
                .or_default()
                .insert(e.group.to_owned());
        }
        let mut files: HashMap<(u64, u64), HashSet<String>> = HashMap::new();
        for (path, groups) in by_path {
            if let Ok(md) = std::fs::metadata(path) {
                files
                    .entry((md.dev(), md.ino()))
                    .or_default()
                    .extend(groups);
            }
        }
        ProbedFiles { files }
    }

    /// Whether the file has probes.
    pub fn contains(&self, dev: u64, ino: u64) -> bool {
        self.files.contains_key(&(dev, ino))
    }

    /// Whether no file has probes.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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

    #[test]
    fn probed_files_by_inode() {
        let exe = std::env::current_exe().unwrap();
        let md = std::fs::metadata(&exe).unwrap();
        let text = format!(
            "p:inuse_1/e0 {0}:0x1040\np:probe_x/f {0}:0x2000%return\ngarbage\n\
             p:g/e /nonexistent/file:0x10\n",
            exe.display()
        );
        let probed = ProbedFiles::from_events(&text);
        assert!(probed.contains(md.dev(), md.ino()));
        assert_eq!(probed.files.len(), 1, "{probed:?}");
        assert_eq!(probed.files[&(md.dev(), md.ino())].len(), 2);
        assert!(ProbedFiles::from_events("").is_empty());
    }
}
