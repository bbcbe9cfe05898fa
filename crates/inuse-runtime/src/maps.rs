//! `/proc/PID/maps`: the memory mappings of a process, the source of "loaded" evidence.
//!
//! Every file a process has mapped is listed, whoever mapped it: the loader at start, `dlopen`
//! later (plugins, `ctypes`), or the program itself (locale archives, fonts). The format
//! (proc(5), `fs/proc/task_mmu.c: show_map_vma`):
//!
//! ```text
//! 7f2c1a000000-7f2c1a022000 r-xp 00002000 fd:01 1835071                    /usr/lib/libz.so.1.3
//! ```
//!
//! Pitfalls: the path is everything after the padding and may contain spaces; the kernel
//! escapes only a newline in it (as `\012`); a mapping of an unlinked file ends in
//! `" (deleted)"`, which a file could also be named (callers confirm with the inode); pseudo
//! paths are in brackets (`[heap]`, `[vdso]`, `[anon:name]`); and the path is printed relative
//! to the *reader's* root, so a chrooted process's libraries appear under the chroot's
//! directory.

use crate::{ParseError, next_field, parse_num};

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// Shared (`s`) rather than private (`p`).
    pub shared: bool,
    /// Offset of `start` in the file.
    pub offset: u64,
    /// Device of the file, as a `dev_t` (comparable with `st_dev`).
    pub dev: u64,
    /// Inode of the file; 0 for anonymous mappings.
    pub inode: u64,
    /// What is mapped.
    pub target: Target,
}

/// What a mapping maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Anonymous memory without a name.
    Anonymous,
    /// A kernel pseudo-mapping or named anonymous memory: `[heap]`, `[vdso]`, `[anon:x]`.
    Pseudo(Vec<u8>),
    /// A file. `deleted` is set when the kernel appended `" (deleted)"`, which is removed
    /// from `path`.
    File {
        /// The path as the kernel printed it (relative to the reader's root), unescaped.
        path: Vec<u8>,
        /// Whether the kernel marked it deleted.
        deleted: bool,
    },
}

impl Mapping {
    /// The file path, if this maps a file.
    pub fn path(&self) -> Option<&[u8]> {
        match &self.target {
            Target::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the mapping is empty (never true for a kernel-generated line).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

const FILE: &str = "maps";
const DELETED: &[u8] = b" (deleted)";

/// Builds a `dev_t` from major and minor numbers as glibc's `makedev` does.
pub fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
}

/// Parses one line (without its newline).
pub fn parse_line(line: &[u8]) -> Result<Mapping, ParseError> {
    let mut rest = line;
    let range = next_field(&mut rest).ok_or(ParseError::new(FILE, "empty line"))?;
    let dash = range
        .iter()
        .position(|&b| b == b'-')
        .ok_or(ParseError::new(FILE, "address range without '-'"))?;
    let start = parse_num(&range[..dash], 16).ok_or(ParseError::new(FILE, "bad start"))?;
    let end = parse_num(&range[dash + 1..], 16).ok_or(ParseError::new(FILE, "bad end"))?;
    if end < start {
        return Err(ParseError::new(FILE, "end before start"));
    }
    let perms = next_field(&mut rest).ok_or(ParseError::new(FILE, "no permissions"))?;
    let [r, w, x, s] = *perms else {
        return Err(ParseError::new(FILE, "permissions are not 4 characters"));
    };
    let offset = parse_num(next_field(&mut rest).unwrap_or_default(), 16)
        .ok_or(ParseError::new(FILE, "bad offset"))?;
    let dev = next_field(&mut rest).ok_or(ParseError::new(FILE, "no device"))?;
    let colon = dev
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::new(FILE, "device without ':'"))?;
    let major = parse_num(&dev[..colon], 16).ok_or(ParseError::new(FILE, "bad major"))?;
    let minor = parse_num(&dev[colon + 1..], 16).ok_or(ParseError::new(FILE, "bad minor"))?;
    let inode = parse_num(next_field(&mut rest).unwrap_or_default(), 10)
        .ok_or(ParseError::new(FILE, "bad inode"))?;
    // The path starts after the padding; it may itself contain spaces.
    let path = match rest.iter().position(|&b| b != b' ' && b != b'\t') {
        Some(p) => &rest[p..],
        None => &[][..],
    };
    let target = if path.is_empty() {
        Target::Anonymous
    } else if inode == 0 && path.first() == Some(&b'[') {
        Target::Pseudo(path.to_vec())
    } else {
        let (path, deleted) = match path.strip_suffix(DELETED) {
            Some(p) => (p, true),
            None => (path, false),
        };
        Target::File {
            path: unescape_newlines(path),
            deleted,
        }
    };
    Ok(Mapping {
        start,
        end,
        read: r == b'r',
        write: w == b'w',
        exec: x == b'x',
        shared: s == b's',
        offset,
        dev: makedev(major, minor),
        inode,
        target,
    })
}

/// `seq_file_path(..., "\n")` writes a newline in a path as `\012`.
fn unescape_newlines(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i..].starts_with(b"\\012") {
            out.push(b'\n');
            i += 4;
        } else {
            out.push(path[i]);
            i += 1;
        }
    }
    out
}

/// Parses a whole `maps` file. Malformed lines are counted, not fatal: the caller decides
/// whether a partial view is still useful (it is, for "loaded").
pub fn parse(data: &[u8]) -> (Vec<Mapping>, usize) {
    let mut mappings = Vec::new();
    let mut bad = 0;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match parse_line(line) {
            Ok(m) => mappings.push(m),
            Err(_) => bad += 1,
        }
    }
    (mappings, bad)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn file_mapping() {
        let m = parse_line(
            b"7f2c1a000000-7f2c1a022000 r-xp 00002000 fd:01 1835071                    \
              /usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
        )
        .unwrap();
        assert_eq!(
            (m.start, m.end, m.offset),
            (0x7f2c1a000000, 0x7f2c1a022000, 0x2000)
        );
        assert!(m.read && !m.write && m.exec && !m.shared);
        assert_eq!(m.dev, makedev(0xfd, 1));
        assert_eq!(m.inode, 1835071);
        assert_eq!(
            m.path(),
            Some(&b"/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"[..])
        );
    }

    #[test]
    fn spaces_deleted_and_newlines() {
        let m = parse_line(b"1000-2000 r-xp 0 08:02 7  /tmp/a b\\012c (deleted)").unwrap();
        assert_eq!(
            m.target,
            Target::File {
                path: b"/tmp/a b\nc".to_vec(),
                deleted: true
            }
        );
    }

    #[test]
    fn pseudo_and_anonymous() {
        let m = parse_line(b"7ffd1000-7ffd3000 r-xp 00000000 00:00 0   [vdso]").unwrap();
        assert_eq!(m.target, Target::Pseudo(b"[vdso]".to_vec()));
        let m = parse_line(b"7ffd1000-7ffd3000 rw-p 00000000 00:00 0").unwrap();
        assert_eq!(m.target, Target::Anonymous);
    }

    #[test]
    fn dev_numbers_match_makedev() {
        assert_eq!(makedev(8, 1), 0x801);
        assert_eq!(makedev(259, 0x12345), (0x123 << 20) | (259 << 8) | 0x45);
    }

    #[test]
    fn garbage() {
        for bad in [
            &b""[..],
            b"x",
            b"2000-1000 r-xp 0 0:0 0",
            b"1000-2000 r-x 0 0:0 0",
            b"1000-2000 r-xp zz 0:0 0",
            b"1000-2000 r-xp 0 00 0",
            b"1000-2000 r-xp 0 0:0 -1",
        ] {
            assert!(parse_line(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let (ok, bad) = parse(b"garbage\n1000-2000 r-xp 0 0:0 0\n");
        assert_eq!((ok.len(), bad), (1, 1));
    }
}
