//! `/etc/ld.so.cache`, the index `ldconfig` writes and the glibc loader consults after
//! `DT_RUNPATH` and before the default directories.
//!
//! Two layouts exist (glibc `elf/dl-cache.c`, `sysdeps/generic/dl-cache.h`):
//!
//! - the old `ld.so-1.7.0` format: a 12-byte magic, `nlibs`, then 12-byte entries
//!   `{flags, key, value}` whose string offsets are relative to the end of the entry array;
//! - the new `glibc-ld.so.cache1.1` format, alone (ldconfig's default since glibc 2.32) or
//!   appended to an old-format cache: a 48-byte header, 24-byte entries
//!   `{flags, key, value, osversion, hwcap}` whose offsets are relative to the new header, and an
//!   optional extension directory whose `glibc-hwcaps` section names the subdirectory of each
//!   entry that has bit 62 of `hwcap` set.
//!
//! The loader uses the new format when present. For a name, among the entries whose key equals
//! it and whose flags match the requesting object's ABI ([`abi_flags`]), it prefers the best
//! supported `glibc-hwcaps` entry (those are listed first), else takes the first plain entry.
//!
//! Pitfalls: the byte order is the writer's (the new header records it; we accept both); entries
//! with legacy hwcap bits (pre-2.33 `tls/`, `x86_64/` subdirectories) are skipped, as a
//! glibc >= 2.37 loader would; every offset is checked against the file.

use std::collections::HashMap;

use inuse_elf::Class;

const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
const EXTENSION_MAGIC: u32 = 0xeaa4_2174;
const HWCAP_EXTENSION: u64 = 1 << 62;
/// Bound on entries, far above any real system's few thousand.
const MAX_ENTRIES: usize = 1 << 20;

/// An entry of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    flags: u32,
    value: Vec<u8>,
    /// The `glibc-hwcaps` subdirectory, e.g. `x86-64-v3`, for extension entries.
    hwcaps: Option<String>,
    /// Legacy hwcap bits (non-zero means a pre-2.33 hwcap subdirectory entry).
    legacy_hwcap: u64,
}

/// A parsed `ld.so.cache`.
#[derive(Debug, Default)]
pub struct LdCache {
    by_key: HashMap<Vec<u8>, Vec<Entry>>,
}

/// Why a cache could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid ld.so.cache: {0}")]
pub struct CacheError(&'static str);

struct Reader<'a> {
    data: &'a [u8],
    big: bool,
}

impl Reader<'_> {
    fn u32(&self, at: usize) -> Result<u32, CacheError> {
        let b = self
            .data
            .get(at..at.checked_add(4).ok_or(CacheError("offset overflow"))?)
            .ok_or(CacheError("truncated"))?;
        let b = [b[0], b[1], b[2], b[3]];
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&self, at: usize) -> Result<u64, CacheError> {
        let lo = u64::from(self.u32(at)?);
        let hi = u64::from(self.u32(at + 4)?);
        Ok(if self.big {
            (lo << 32) | hi
        } else {
            (hi << 32) | lo
        })
    }

    fn string(&self, base: usize, off: u32) -> Result<&[u8], CacheError> {
        let start = base
            .checked_add(off as usize)
            .ok_or(CacheError("string offset overflow"))?;
        let rest = self
            .data
            .get(start..)
            .ok_or(CacheError("string outside the file"))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(CacheError("unterminated string"))?;
        Ok(&rest[..end])
    }
}

impl LdCache {
    /// Parses a cache file's bytes.
    pub fn parse(data: &[u8]) -> Result<LdCache, CacheError> {
        if data.starts_with(NEW_MAGIC) {
            return Self::parse_new(data, 0);
        }
        if !data.starts_with(OLD_MAGIC) {
            return Err(CacheError("unknown magic"));
        }
        // Old format: magic padded to 12 bytes, nlibs, entries of 12 bytes. A new-format
        // cache may follow the old entries and string table; the loader prefers it.
        let le = Reader { data, big: false };
        let nlibs = le.u32(12)? as usize;
        if nlibs > MAX_ENTRIES {
            return Err(CacheError("absurd entry count"));
        }
        let entries_end = 16 + nlibs * 12;
        if entries_end > data.len() {
            return Err(CacheError("truncated entry table"));
        }
        // In the combined format the new header sits right after the old entries, aligned to
        // 8 bytes, before the shared string table.
        let new_at = (entries_end + 7) & !7;
        if data
            .get(new_at..)
            .is_some_and(|rest| rest.starts_with(NEW_MAGIC))
        {
            return Self::parse_new(data, new_at);
        }
        let mut cache = LdCache::default();
        for i in 0..nlibs {
            let e = 16 + i * 12;
            let flags = le.u32(e)?;
            let key = le.string(entries_end, le.u32(e + 4)?)?;
            let value = le.string(entries_end, le.u32(e + 8)?)?;
            cache.push(
                key,
                Entry {
                    flags,
                    value: value.to_vec(),
                    hwcaps: None,
                    legacy_hwcap: 0,
                },
            );
        }
        Ok(cache)
    }

    fn parse_new(data: &[u8], base: usize) -> Result<LdCache, CacheError> {
        let header = data.get(base..).ok_or(CacheError("truncated"))?;
        // Byte 28 records the writer's byte order: 2 little, 3 big; 0 means "this host's".
        let big = match header.get(28) {
            Some(3) => true,
            Some(0 | 2) => false,
            _ => return Err(CacheError("unknown byte order")),
        };
        let r = Reader { data, big };
        let nlibs = r.u32(base + 20)? as usize;
        if nlibs > MAX_ENTRIES {
            return Err(CacheError("absurd entry count"));
        }
        let entries = base + 48;
        if entries + nlibs * 24 > data.len() {
            return Err(CacheError("truncated entry table"));
        }
        let hwcap_names = Self::hwcap_names(&r, base)?;
        let mut cache = LdCache::default();
        for i in 0..nlibs {
            let e = entries + i * 24;
            let flags = r.u32(e)?;
            let key = r.string(base, r.u32(e + 4)?)?;
            let value = r.string(base, r.u32(e + 8)?)?;
            let hwcap = r.u64(e + 16)?;
            let (hwcaps, legacy_hwcap) = if hwcap & HWCAP_EXTENSION != 0 {
                let index = (hwcap & 0xffff_ffff) as usize;
                let name = hwcap_names
                    .get(index)
                    .ok_or(CacheError("glibc-hwcaps index out of range"))?;
                (Some(name.clone()), 0)
            } else {
                (None, hwcap)
            };
            cache.push(
                key,
                Entry {
                    flags,
                    value: value.to_vec(),
                    hwcaps,
                    legacy_hwcap,
                },
            );
        }
        Ok(cache)
    }

    /// The names of the `glibc-hwcaps` subdirectories, from the extension directory.
    fn hwcap_names(r: &Reader<'_>, base: usize) -> Result<Vec<String>, CacheError> {
        let ext = r.u32(base + 32)? as usize;
        if ext == 0 || r.u32(base + ext).ok() != Some(EXTENSION_MAGIC) {
            return Ok(Vec::new());
        }
        let count = r.u32(base + ext + 4)? as usize;
        if count > 64 {
            return Err(CacheError("absurd extension count"));
        }
        for i in 0..count {
            let s = base + ext + 8 + i * 16;
            // Tag 1 is cache_extension_tag_glibc_hwcaps: an array of string offsets.
            if r.u32(s)? != 1 {
                continue;
            }
            let offset = r.u32(s + 8)? as usize;
            let size = r.u32(s + 12)? as usize;
            if size / 4 > MAX_ENTRIES {
                return Err(CacheError("absurd glibc-hwcaps section"));
            }
            return (0..size / 4)
                .map(|j| {
                    let off = r.u32(base + offset + j * 4)?;
                    Ok(String::from_utf8_lossy(r.string(base, off)?).into_owned())
                })
                .collect();
        }
        Ok(Vec::new())
    }

    fn push(&mut self, key: &[u8], entry: Entry) {
        self.by_key.entry(key.to_vec()).or_default().push(entry);
    }

    /// Number of distinct names in the cache.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether the cache has no entries.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The path the loader takes for `name`, given the requester's acceptable ABI flags and
    /// the `glibc-hwcaps` subdirectories this CPU supports (best first).
    pub fn lookup(&self, name: &[u8], flags: &[u32], hwcaps: &[String]) -> Option<&[u8]> {
        let entries = self.by_key.get(name)?;
        let mut best: Option<(usize, &Entry)> = None;
        for e in entries.iter().filter(|e| flags.contains(&e.flags)) {
            match &e.hwcaps {
                Some(sub) => {
                    if let Some(rank) = hwcaps.iter().position(|h| h == sub) {
                        if best.is_none_or(|(r, _)| rank < r) {
                            best = Some((rank, e));
                        }
                    }
                }
                // Named hwcaps entries come first; a plain entry ends the search.
                None if best.is_some() => break,
                None if e.legacy_hwcap != 0 => continue,
                None => return Some(&e.value),
            }
        }
        best.map(|(_, e)| e.value.as_slice())
    }
}

/// The `flags` values of cache entries acceptable to an object of this class and machine
/// (glibc's `_dl_cache_check_flags` for each port; `FLAG_ELF_LIBC6` = 3).
pub fn abi_flags(class: Class, machine: u16, e_flags: u32) -> Vec<u32> {
    use object::elf::*;
    const LIBC6: u32 = 0x0003;
    match (class, machine) {
        (Class::Elf64, EM_X86_64) => vec![LIBC6 | 0x0300],
        (Class::Elf32, EM_X86_64) => vec![LIBC6 | 0x0800],
        (Class::Elf64, EM_AARCH64) => vec![LIBC6 | 0x0a00],
        (Class::Elf64, EM_PPC64) => vec![LIBC6 | 0x0500],
        (Class::Elf64, EM_S390) => vec![LIBC6 | 0x0400],
        (Class::Elf64, EM_IA_64) => vec![LIBC6 | 0x0200],
        (Class::Elf64, EM_SPARCV9) => vec![LIBC6 | 0x0100],
        (Class::Elf64, EM_MIPS) => vec![LIBC6 | 0x0700],
        (Class::Elf64, EM_LOONGARCH) => vec![LIBC6 | 0x1200],
        (_, EM_RISCV) => {
            // EF_RISCV_FLOAT_ABI: double (0x4) or soft (0x0).
            if e_flags & 0x6 == 0x4 {
                vec![LIBC6 | 0x1000]
            } else {
                vec![LIBC6 | 0x0f00]
            }
        }
        (Class::Elf32, EM_ARM) => {
            // EF_ARM_ABI_FLOAT_HARD
            if e_flags & 0x400 != 0 {
                vec![LIBC6 | 0x0900]
            } else {
                vec![LIBC6, 1]
            }
        }
        (Class::Elf32, _) => vec![LIBC6, 1],
        (Class::Elf64, _) => vec![LIBC6],
    }
}

/// Directories listed by an `ld.so.conf`, following `include` lines (with globs) inside the
/// root, in the order `ldconfig` indexes them (glibc `elf/ldconfig.c`, `parse_conf`). Used
/// only when a root has no `ld.so.cache`: it is where `ldconfig` would look.
pub fn conf_dirs(root: &inuse_root::Root) -> Vec<Vec<u8>> {
    let mut dirs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    read_conf(root, b"/etc/ld.so.conf", &mut dirs, &mut seen, 0);
    dirs
}

fn read_conf(
    root: &inuse_root::Root,
    path: &[u8],
    dirs: &mut Vec<Vec<u8>>,
    seen: &mut std::collections::HashSet<Vec<u8>>,
    depth: usize,
) {
    use std::os::unix::ffi::OsStrExt;
    if depth > 16 || !seen.insert(path.to_vec()) {
        return;
    }
    let Ok(text) = root.read(
        std::path::Path::new(std::ffi::OsStr::from_bytes(path)),
        1 << 20,
    ) else {
        return;
    };
    for line in text.split(|&b| b == b'\n') {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line
            .strip_prefix(b"include")
            .filter(|r| r.first().is_some_and(u8::is_ascii_whitespace))
        {
            for pat in pattern
                .split(|b| b.is_ascii_whitespace())
                .filter(|p| !p.is_empty())
            {
                let pat = if pat.starts_with(b"/") {
                    pat.to_vec()
                } else {
                    // Relative includes are relative to the including file's directory.
                    let dir = path.rsplitn(2, |&b| b == b'/').nth(1).unwrap_or_default();
                    [dir, b"/", pat].concat()
                };
                for file in glob(root, &pat) {
                    read_conf(root, &file, dirs, seen, depth + 1);
                }
            }
        } else if line.len() > 5
            && line[..5].eq_ignore_ascii_case(b"hwcap")
            && matches!(line[5], b' ' | b'\t')
        {
            // Legacy directive, ignored by modern ldconfig.
        } else {
            // The whole line is one directory (ldconfig's `add_dir_1`): a `=TYPE` suffix is
            // historical, trailing slashes go. "/a /b" names a directory with a space in it.
            let d = line.split(|&b| b == b'=').next().unwrap_or_default();
            let mut d = d.trim_ascii_end();
            while let Some(rest) = d.strip_suffix(b"/") {
                d = rest;
            }
            if !d.is_empty() && !dirs.iter().any(|x| x == d) {
                dirs.push(d.to_vec());
            }
        }
    }
}

/// Expands a glob whose wildcards are only in the final component (as ld.so.conf
/// includes are in practice): `*`, `?` and literal characters.
fn glob(root: &inuse_root::Root, pattern: &[u8]) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let (dir, file) = match pattern.iter().rposition(|&b| b == b'/') {
        Some(i) => (&pattern[..i], &pattern[i + 1..]),
        None => (&b"."[..], pattern),
    };
    if !file.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
        return vec![pattern.to_vec()];
    }
    let dir_path = std::path::Path::new(std::ffi::OsStr::from_bytes(if dir.is_empty() {
        b"/"
    } else {
        dir
    }));
    let Ok(entries) = root.read_dir(dir_path) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter(|(name, _)| wildcard(file, name.as_bytes()))
        .map(|(name, _)| [dir, b"/", name.as_bytes()].concat())
        .collect()
}

/// Shell-style matching of `*` and `?` (no character classes, which no real config uses;
/// a `[` matches itself).
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = n;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            n = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches_like_a_shell() {
        assert!(wildcard(b"*.conf", b"x86_64-linux-gnu.conf"));
        assert!(!wildcard(b"*.conf", b"x86_64-linux-gnu.conf.bak"));
        assert!(wildcard(b"a?c*", b"abcdef"));
        assert!(!wildcard(b"a?c", b"ac"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(LdCache::parse(b"").is_err());
        assert!(LdCache::parse(b"glibc-ld.so.cache1.1").is_err());
        let mut bogus = b"glibc-ld.so.cache1.1".to_vec();
        bogus.resize(48, 0);
        bogus[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(LdCache::parse(&bogus).is_err());
    }

    #[test]
    fn host_cache_agrees_with_ldconfig_print() {
        let Ok(data) = std::fs::read("/etc/ld.so.cache") else {
            inuse_testkit::Skip::new("no /etc/ld.so.cache on this host").report();
            return;
        };
        let ldconfig = inuse_testkit::or_skip!(inuse_testkit::require_tool("ldconfig"));
        let out = std::process::Command::new(ldconfig)
            .arg("-p")
            .output()
            .expect("run ldconfig -p");
        let cache = LdCache::parse(&data).expect("host cache parses");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut checked = 0;
        for line in text.lines().skip(1) {
            // "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
            let Some((lhs, path)) = line.trim().split_once(" => ") else {
                continue;
            };
            let Some((name, _abi)) = lhs.split_once(' ') else {
                continue;
            };
            let entries = &cache.by_key[name.as_bytes()];
            assert!(
                entries.iter().any(|e| e.value == path.as_bytes()),
                "{name} => {path}"
            );
            checked += 1;
        }
        assert!(checked > 10, "only {checked} entries compared");
        assert!(
            cache
                .lookup(
                    b"libc.so.6",
                    &abi_flags(Class::Elf64, object::elf::EM_X86_64, 0),
                    &[]
                )
                .is_some()
        );
    }
}
