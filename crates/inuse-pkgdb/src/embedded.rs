//! Packages that ELF files carry inside themselves, where no package manager knows them.
//!
//! A Go or Rust program copied into `/usr/local/bin` or `/opt` (or installed by a package whose
//! database entry only names the program) statically contains dozens of third-party modules,
//! each with its own vulnerabilities. Three kinds of metadata name them, and all three are read
//! here without running anything:
//!
//! - **Go build information** (the Go toolchain's `debug/buildinfo` format, written by
//!   `cmd/link`): a 32-byte header starting with the magic `\xff Go buildinf:`, then the pointer
//!   size (byte 14) and flags (byte 15). With flag bit 1 (Go >= 1.18) the Go version and the
//!   module information follow the header inline, each as an unsigned LEB128 length and bytes;
//!   before that, the header holds two pointers (at 16 and 16 + pointer size, byte order from
//!   flag bit 0) to Go string headers `{data, len}` in the program's memory, translated to file
//!   offsets through `PT_LOAD`. The header lives at the start of the `.go.buildinfo` section;
//!   files without section headers are searched at 16-byte alignment in the first writable,
//!   non-executable `PT_LOAD` segment, as Go's own reader does. The module information is
//!   wrapped in two 16-byte sentinels and holds tab-separated lines: `path`, `mod` (the main
//!   module), `dep` (a dependency), `=>` (replacement of the line before), `build`.
//! - **`cargo auditable`** (<https://github.com/rust-secure-code/cargo-auditable>, format
//!   `auditable-serde`): section `.dep-v0` holds zlib-compressed JSON,
//!   `{"packages":[{"name","version","source","kind","dependencies":[index...],"root"}]}`.
//!   `kind: "build"` crates (build scripts, proc macros) are not in the binary and are left out.
//! - **`.note.package`** (<https://systemd.io/ELF_PACKAGE_METADATA/>), read by `inuse-elf`: a
//!   JSON object with `type` (`rpm`, `deb`, `alpm`, ...), `name`, `version`, `architecture`,
//!   `os`, `osVersion`.
//!
//! Files are hostile: only the ranges needed are read (ELF header, program and section headers,
//! the two sections, a bounded window of one segment, the notes), every length is bounded, the
//! inflated JSON is capped at [`MAX_INFLATED`], and a malformed structure is a per-file problem.
//! Limits: `.dep-v0` is found only through section headers (it has no magic of its own); Go
//! versions are reported as the toolchain writes them (`v1.2.3` for modules, `1.21.5` for the
//! standard library, whose OSV name is `stdlib`).

use std::io::Read;
use std::path::Path;

use object::elf::{FileHeader32, FileHeader64, PF_W, PF_X, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, ReadRef};
use serde::Deserialize;

use crate::{Manager, Package};

/// Largest single range read from a file (section headers, a string table, a section).
pub const MAX_READ: u64 = 32 << 20;
/// Largest `.go.buildinfo` or `.dep-v0` section read.
pub const MAX_SECTION: u64 = 16 << 20;
/// Largest inflated `cargo auditable` JSON.
pub const MAX_INFLATED: u64 = 64 << 20;
/// Largest Go string (version or module information) followed through a pointer.
const MAX_GO_STRING: u64 = 4 << 20;
/// Bytes of the data segment searched for the Go magic when there are no section headers.
const GO_SEARCH: u64 = 1 << 20;
/// Most crates accepted from one `.dep-v0`.
const MAX_CRATES: usize = 1 << 16;

const GO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";

/// What went wrong reading the metadata of one file. Cheap and static: files are hostile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EmbeddedError(pub &'static str);

/// A Go module as the build information names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoModule {
    /// Module path (`golang.org/x/text`).
    pub path: String,
    /// Version (`v0.14.0`, `(devel)` for the main module built from a checkout).
    pub version: String,
    /// `h1:` checksum, when recorded.
    pub sum: Option<String>,
    /// The `=>` replacement, when the module was replaced (path, version; the version is
    /// empty for a local directory).
    pub replace: Option<(String, String)>,
}

impl GoModule {
    /// The version that was really built: the replacement's when it has one.
    pub fn effective_version(&self) -> &str {
        match &self.replace {
            Some((_, v)) if !v.is_empty() => v,
            _ => &self.version,
        }
    }
}

/// The build information of a Go binary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoBuildInfo {
    /// The toolchain version (`go1.21.5`).
    pub go_version: String,
    /// The main package path (`path` line).
    pub path: Option<String>,
    /// The main module (`mod` line).
    pub main: Option<GoModule>,
    /// Dependencies (`dep` lines), in order.
    pub deps: Vec<GoModule>,
}

/// One crate of a `cargo auditable` record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuditableCrate {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `crates.io`, `local`, `git`, `registry` or `other`.
    #[serde(default)]
    pub source: Option<String>,
    /// `runtime` (the default, often omitted) or `build`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Indices of its dependencies in the package list.
    #[serde(default)]
    pub dependencies: Vec<usize>,
    /// Whether it is the root crate (the binary itself).
    #[serde(default)]
    pub root: bool,
}

#[derive(Deserialize)]
struct RawAuditable {
    packages: Vec<AuditableCrate>,
}

/// The package named by a `.note.package` note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PackageNote {
    /// Package format: `rpm`, `deb`, `alpm`, ...
    #[serde(rename = "type")]
    pub ty: String,
    /// Package name.
    pub name: String,
    /// Package version.
    #[serde(default)]
    pub version: String,
    /// Architecture.
    #[serde(default)]
    pub architecture: String,
    /// Distribution id (`fedora`, `debian`).
    #[serde(default)]
    pub os: String,
    /// Distribution version.
    #[serde(default, rename = "osVersion")]
    pub os_version: String,
}

/// Everything one ELF file says about its own contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Embedded {
    /// Go build information.
    pub go: Option<GoBuildInfo>,
    /// `cargo auditable` crates (all kinds, as recorded).
    pub cargo: Vec<AuditableCrate>,
    /// The package note.
    pub note: Option<PackageNote>,
    /// What could not be read (the other parts are still valid).
    pub problems: Vec<EmbeddedError>,
}

impl Embedded {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.go.is_none() && self.cargo.is_empty() && self.note.is_none()
    }

    /// The packages this file carries, each with `database` set to `file`. The note's package
    /// is included only when `with_note` (a file some package manager owns names its owner).
    pub fn packages(&self, file: &Path, with_note: bool) -> Vec<Package> {
        let mut out = Vec::new();
        let pkg = |manager, name: &str, version: &str, purl: String| Package {
            identity: crate::PackageRef {
                name: name.to_owned(),
                version: version.to_owned(),
                arch: String::new(),
                source_name: name.to_owned(),
                source_version: version.to_owned(),
                manager,
                ecosystem: None,
                purl,
            },
            license: None,
            depends: Vec::new(),
            installed_size: None,
            maintainer: None,
            description: None,
            status: None,
            database: file.to_owned(),
        };
        if let Some(go) = &self.go {
            let golang = |path: &str, version: &str| {
                let (ns, name) = path
                    .rsplit_once('/')
                    .map_or((None, path), |(n, m)| (Some(n), m));
                crate::purl::build("golang", ns, name, Some(version), &[])
            };
            let std_version = go
                .go_version
                .strip_prefix("go")
                .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(&go.go_version);
            let mut std = pkg(
                Manager::Go,
                "stdlib",
                std_version,
                golang("stdlib", std_version),
            );
            std.identity.ecosystem = Some("Go".to_owned());
            std.description = Some(format!("Go standard library ({})", go.go_version));
            out.push(std);
            for (main, m) in go
                .main
                .iter()
                .map(|m| (true, m))
                .chain(go.deps.iter().map(|m| (false, m)))
            {
                let version = m.effective_version();
                let mut p = pkg(Manager::Go, &m.path, version, golang(&m.path, version));
                p.identity.ecosystem = Some("Go".to_owned());
                if main {
                    p.depends = go.deps.iter().map(|d| d.path.clone()).collect();
                    p.description = go
                        .path
                        .as_ref()
                        .map(|path| format!("main module of {path}"));
                }
                if let Some((rp, rv)) = &m.replace {
                    p.description = Some(format!("replaced by {rp} {rv}").trim_end().to_owned());
                }
                out.push(p);
            }
        }
        let runtime = |c: &AuditableCrate| c.kind.as_deref() != Some("build");
        for c in self.cargo.iter().filter(|c| runtime(c)) {
            let mut p = pkg(
                Manager::Cargo,
                &c.name,
                &c.version,
                crate::purl::build("cargo", None, &c.name, Some(&c.version), &[]),
            );
            if matches!(c.source.as_deref(), Some("crates.io") | None) {
                p.identity.ecosystem = Some("crates.io".to_owned());
            }
            p.depends = crate::dedup_names(
                c.dependencies
                    .iter()
                    .filter_map(|&i| self.cargo.get(i))
                    .filter(|d| runtime(d))
                    .map(|d| d.name.clone()),
            );
            if c.root {
                p.description = Some("root crate (cargo auditable)".to_owned());
            }
            out.push(p);
        }
        if let Some(n) = self.note.as_ref().filter(|_| with_note) {
            let distro = match (n.os.as_str(), n.os_version.as_str()) {
                ("", _) => None,
                (os, "") => Some(os.to_owned()),
                (os, v) => Some(format!("{os}-{v}")),
            };
            let ty = n.ty.to_ascii_lowercase();
            let purl = crate::purl::build(
                &ty,
                Some(n.os.as_str()),
                &n.name,
                Some(&n.version),
                &[
                    ("arch", Some(n.architecture.as_str())),
                    ("distro", distro.as_deref()),
                ],
            );
            let mut p = pkg(Manager::ElfNote, &n.name, &n.version, purl);
            p.identity.arch = n.architecture.clone();
            p.description = Some(format!("{ty} package named by .note.package"));
            out.push(p);
        }
        out
    }
}

/// Reads the embedded metadata of an open file through a [`object::ReadCache`]: only the
/// ranges needed are read, and none larger than [`MAX_READ`], so the file's size does not
/// matter (a 700 MB Go provider is read like a small program). `Ok(None)` when the file is
/// not ELF.
pub fn read_file(file: &std::fs::File) -> Result<Option<Embedded>, EmbeddedError> {
    let cache = Capped(object::ReadCache::new(file));
    scan(&cache)
}

/// A [`object::ReadCache`] that refuses any single read above [`MAX_READ`]: the structures
/// read here are small, so a hostile length (a string table claiming gigabytes) costs an
/// error, not memory.
struct Capped<'f>(object::ReadCache<&'f std::fs::File>);

impl<'a> ReadRef<'a> for &'a Capped<'_> {
    fn len(self) -> Result<u64, ()> {
        self.0.len()
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size > MAX_READ {
            return Err(());
        }
        self.0.read_bytes_at(offset, size)
    }

    fn read_bytes_at_until(
        self,
        range: std::ops::Range<u64>,
        delimiter: u8,
    ) -> Result<&'a [u8], ()> {
        let end = range.end.min(range.start.saturating_add(MAX_READ));
        self.0.read_bytes_at_until(range.start..end, delimiter)
    }
}

/// Reads the embedded metadata of ELF data (a byte slice, or a read cache over a file).
/// `Ok(None)` when the data is not ELF.
pub fn scan<'d, R: ReadRef<'d>>(data: R) -> Result<Option<Embedded>, EmbeddedError> {
    let ident = data
        .read_bytes_at(0, 16)
        .map_err(|()| EmbeddedError("too short"))?;
    if ident[..4] != *b"\x7fELF" {
        return Ok(None);
    }
    let mut out = match ident[4] {
        1 => scan_as::<FileHeader32<Endianness>, R>(data)?,
        2 => scan_as::<FileHeader64<Endianness>, R>(data)?,
        _ => return Err(EmbeddedError("unknown ELF class")),
    };
    match inuse_elf::ElfFile::parse(data, &inuse_elf::Limits::default()).map(|f| f.notes()) {
        Ok(Ok(notes)) => {
            if let Some(json) = notes.package_metadata {
                match serde_json::from_slice::<PackageNote>(&json) {
                    Ok(n) if !n.name.is_empty() && !n.ty.is_empty() => out.note = Some(n),
                    _ => out.problems.push(EmbeddedError(
                        "package note is not a JSON object with type and name",
                    )),
                }
            }
        }
        _ => out.problems.push(EmbeddedError("unreadable notes")),
    }
    Ok(Some(out))
}

/// A `PT_LOAD` segment: virtual address, file offset, file size, flags.
#[derive(Debug, Clone, Copy)]
struct Load {
    vaddr: u64,
    offset: u64,
    filesz: u64,
    flags: u32,
}

fn scan_as<'d, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'d>>(
    data: R,
) -> Result<Embedded, EmbeddedError> {
    let bad = |what| move |_| EmbeddedError(what);
    let header = Elf::parse(data).map_err(bad("malformed ELF header"))?;
    let endian = header.endian().map_err(bad("malformed ELF header"))?;
    let loads: Vec<Load> = header
        .program_headers(endian, data)
        .map_err(bad("malformed program headers"))?
        .iter()
        .filter(|ph| ph.p_type(endian) == PT_LOAD)
        .map(|ph| Load {
            vaddr: ph.p_vaddr(endian).into(),
            offset: ph.p_offset(endian).into(),
            filesz: ph.p_filesz(endian).into(),
            flags: ph.p_flags(endian),
        })
        .collect();
    let mut out = Embedded::default();
    // Section headers are optional: a file without them (or with broken ones) is still
    // searched for Go's magic through the program headers.
    let sections = header.sections(endian, data).ok();
    let section = |name: &[u8]| -> Option<Result<&'d [u8], EmbeddedError>> {
        let (_, sh) = sections.as_ref()?.section_by_name(endian, name)?;
        let size: u64 = sh.sh_size(endian).into();
        Some(if size > MAX_SECTION {
            Err(EmbeddedError("section larger than the limit"))
        } else {
            sh.data(endian, data)
                .map_err(bad("section outside the file"))
        })
    };

    let go_window = match section(b".go.buildinfo") {
        Some(r) => Some(r),
        None if sections.as_ref().is_none_or(|s| s.is_empty()) => loads
            .iter()
            .find(|l| l.flags & (PF_X | PF_W) == PF_W)
            .map(|l| {
                data.read_bytes_at(l.offset, l.filesz.min(GO_SEARCH))
                    .map_err(|()| EmbeddedError("data segment outside the file"))
            }),
        None => None,
    };
    match go_window {
        Some(Ok(window)) => {
            let read = |vaddr: u64, len: u64| read_vaddr(data, &loads, vaddr, len);
            match find_go(window, &read) {
                Ok(go) => out.go = go,
                Err(e) => out.problems.push(e),
            }
        }
        Some(Err(e)) => out.problems.push(e),
        None => {}
    }

    match section(b".dep-v0") {
        Some(Ok(compressed)) => match parse_auditable(compressed) {
            Ok(crates) => out.cargo = crates,
            Err(e) => out.problems.push(e),
        },
        Some(Err(e)) => out.problems.push(e),
        None => {}
    }
    Ok(out)
}

/// Reads `len` bytes at virtual address `vaddr`, all within one segment's file bytes.
fn read_vaddr<'d, R: ReadRef<'d>>(
    data: R,
    loads: &[Load],
    vaddr: u64,
    len: u64,
) -> Option<&'d [u8]> {
    let l = loads
        .iter()
        .find(|l| vaddr >= l.vaddr && vaddr - l.vaddr < l.filesz)?;
    let within = vaddr - l.vaddr;
    if len > l.filesz - within {
        return None;
    }
    data.read_bytes_at(l.offset.checked_add(within)?, len).ok()
}

/// Searches `window` at 16-byte alignment for the Go build information header and decodes it.
/// `read` reads program memory for the pointer-based format of Go before 1.18.
pub fn find_go<'a>(
    window: &'a [u8],
    read: &dyn Fn(u64, u64) -> Option<&'a [u8]>,
) -> Result<Option<GoBuildInfo>, EmbeddedError> {
    let Some(at) = (0..window.len())
        .step_by(16)
        .find(|&i| window[i..].starts_with(GO_MAGIC))
    else {
        return Ok(None);
    };
    parse_go_header(&window[at..], read).map(Some)
}

/// Decodes the build information whose 32-byte header starts `blob`.
pub fn parse_go_header<'a>(
    blob: &'a [u8],
    read: &dyn Fn(u64, u64) -> Option<&'a [u8]>,
) -> Result<GoBuildInfo, EmbeddedError> {
    if blob.len() < 32 || !blob.starts_with(GO_MAGIC) {
        return Err(EmbeddedError("Go build information header truncated"));
    }
    let (ptr_size, flags) = (usize::from(blob[14]), blob[15]);
    let (version, modinfo) = if flags & 2 != 0 {
        let mut rest = &blob[32..];
        let version = varint_string(&mut rest)?;
        let modinfo = varint_string(&mut rest)?;
        (version, modinfo)
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(EmbeddedError("Go build information: bad pointer size"));
        }
        let big = flags & 1 != 0;
        let word = |b: &[u8]| -> u64 {
            let mut v = 0u64;
            for i in 0..b.len() {
                let byte = if big { b[i] } else { b[b.len() - 1 - i] };
                v = (v << 8) | u64::from(byte);
            }
            v
        };
        let p = ptr_size;
        let string_at = |vaddr: u64| -> Result<&'a [u8], EmbeddedError> {
            let head = read(vaddr, 2 * p as u64)
                .ok_or(EmbeddedError("Go string header outside the file"))?;
            let (data, len) = (word(&head[..p]), word(&head[p..2 * p]));
            if len > MAX_GO_STRING {
                return Err(EmbeddedError("Go string longer than the limit"));
            }
            if len == 0 {
                return Ok(&[]);
            }
            read(data, len).ok_or(EmbeddedError("Go string outside the file"))
        };
        (
            string_at(word(&blob[16..16 + p]))?,
            string_at(word(&blob[16 + p..16 + 2 * p]))?,
        )
    };
    let mut info = GoBuildInfo {
        go_version: String::from_utf8_lossy(version).into_owned(),
        ..GoBuildInfo::default()
    };
    // The module information sits between two 16-byte sentinels and ends with a newline.
    let modinfo = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        &[][..]
    };
    parse_modinfo(&String::from_utf8_lossy(modinfo), &mut info);
    Ok(info)
}

/// An unsigned LEB128 length followed by that many bytes.
fn varint_string<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], EmbeddedError> {
    let mut len = 0u64;
    let mut shift = 0u32;
    let mut used = 0usize;
    loop {
        let &b = rest
            .get(used)
            .ok_or(EmbeddedError("Go build information: truncated length"))?;
        used += 1;
        if shift > 56 {
            return Err(EmbeddedError("Go build information: length overflows"));
        }
        len |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    let len = usize::try_from(len).map_err(|_| EmbeddedError("Go string too long"))?;
    let s = rest
        .get(used..used.saturating_add(len))
        .ok_or(EmbeddedError("Go string runs past the section"))?;
    *rest = &rest[used + len..];
    Ok(s)
}

/// Parses the `path`/`mod`/`dep`/`=>` lines of Go module information into `info`. Unknown
/// and malformed lines are ignored, as `go version -m` does for forward compatibility.
pub fn parse_modinfo(text: &str, info: &mut GoBuildInfo) {
    // Which module a `=>` line replaces: the main module or the last dependency.
    let mut last_is_main = false;
    for line in text.lines() {
        let mut f = line.split('\t');
        let (Some(key), rest) = (f.next(), f) else {
            continue;
        };
        let fields: Vec<&str> = rest.collect();
        let module = |fields: &[&str]| GoModule {
            path: fields.first().copied().unwrap_or_default().to_owned(),
            version: fields.get(1).copied().unwrap_or_default().to_owned(),
            sum: fields
                .get(2)
                .filter(|s| !s.is_empty())
                .map(|s| (*s).to_owned()),
            replace: None,
        };
        match key {
            "path" => info.path = fields.first().map(|s| (*s).to_owned()),
            "mod" if !fields.is_empty() => {
                info.main = Some(module(&fields));
                last_is_main = true;
            }
            "dep" if !fields.is_empty() => {
                info.deps.push(module(&fields));
                last_is_main = false;
            }
            "=>" if !fields.is_empty() => {
                let target = if last_is_main {
                    info.main.as_mut()
                } else {
                    info.deps.last_mut()
                };
                if let Some(m) = target {
                    let r = module(&fields);
                    m.replace = Some((r.path, r.version));
                }
            }
            _ => {}
        }
    }
}

/// Inflates a `.dep-v0` section (zlib) under [`MAX_INFLATED`] and parses its JSON.
pub fn parse_auditable(compressed: &[u8]) -> Result<Vec<AuditableCrate>, EmbeddedError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut json)
        .map_err(|_| EmbeddedError(".dep-v0 is not a valid zlib stream"))?;
    if json.len() as u64 > MAX_INFLATED {
        return Err(EmbeddedError(".dep-v0 inflates beyond the limit"));
    }
    let raw: RawAuditable = serde_json::from_slice(&json)
        .map_err(|_| EmbeddedError(".dep-v0 is not cargo auditable JSON"))?;
    if raw.packages.len() > MAX_CRATES {
        return Err(EmbeddedError(".dep-v0 lists too many crates"));
    }
    let n = raw.packages.len();
    if raw
        .packages
        .iter()
        .any(|c| c.dependencies.iter().any(|&d| d >= n))
    {
        return Err(EmbeddedError(".dep-v0 dependency index out of range"));
    }
    Ok(raw.packages)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const START: &[u8; 16] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8; 16] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

    fn wrapped(modinfo: &str) -> Vec<u8> {
        [&START[..], modinfo.as_bytes(), &END[..]].concat()
    }

    const MODINFO: &str = "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\ndep\texample.com/greet\tv0.0.0-00010101000000-000000000000\t\n=>\t../greet\t\t\ndep\tgolang.org/x/text\tv0.14.0\th1:abc=\nbuild\t-compiler=gc\n";

    /// Peak resident memory of this process, in KiB.
    fn peak_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn a_hostile_length_in_a_huge_file_costs_no_memory() {
        // A sparse 4 GiB file whose ELF header counts its section headers in section 0
        // (extended numbering): 50,000,000 of them, 3.2 GB, all inside the file. Read as
        // claimed, that is 3.2 GB of memory; no single read may exceed MAX_READ.
        let mut elf = vec![0u8; 128];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little-endian
        elf[6] = 1; // EV_CURRENT
        elf[16] = 3; // ET_DYN
        elf[18] = 62; // x86-64
        elf[20] = 1; // e_version
        elf[40..48].copy_from_slice(&64u64.to_le_bytes()); // e_shoff
        elf[52] = 64; // e_ehsize
        elf[58] = 64; // e_shentsize; e_shnum = 0: the count is in section 0
        elf[64 + 32..64 + 40].copy_from_slice(&50_000_000u64.to_le_bytes()); // sh_size
        let file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut &file, &elf).unwrap();
        file.set_len(4 << 30).unwrap();
        let before = peak_kib();
        let scanned = read_file(&file);
        assert!(
            peak_kib() - before < (MAX_READ >> 10) * 2,
            "{} KiB more",
            peak_kib() - before
        );
        assert!(scanned.is_ok_and(|e| e.is_some_and(|e| e.go.is_none() && e.cargo.is_empty())));
    }

    #[test]
    fn go_inline_format() {
        let modinfo = wrapped(MODINFO);
        let mut blob = GO_MAGIC.to_vec();
        blob.extend_from_slice(&[8, 2]);
        blob.resize(32, 0);
        blob.push(8);
        blob.extend_from_slice(b"go1.21.5");
        // A two-byte LEB128 length.
        let n = modinfo.len();
        assert!(n >= 128);
        blob.extend_from_slice(&[(n as u8 & 0x7f) | 0x80, (n >> 7) as u8]);
        blob.extend_from_slice(&modinfo);
        let mut window = vec![0u8; 48];
        window.extend_from_slice(&blob);
        let go = find_go(&window, &|_, _| None).unwrap().unwrap();
        assert_eq!(go.go_version, "go1.21.5");
        assert_eq!(go.path.as_deref(), Some("example.com/hello"));
        assert_eq!(go.main.as_ref().unwrap().version, "(devel)");
        assert_eq!(go.deps.len(), 2);
        assert_eq!(
            go.deps[0].replace,
            Some(("../greet".to_owned(), String::new()))
        );
        assert_eq!(
            go.deps[0].effective_version(),
            "v0.0.0-00010101000000-000000000000"
        );
        assert_eq!(go.deps[1].sum.as_deref(), Some("h1:abc="));

        let e = Embedded {
            go: Some(go),
            ..Embedded::default()
        };
        let purls: Vec<String> = e
            .packages(Path::new("/x"), true)
            .into_iter()
            .map(|p| p.identity.purl)
            .collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/stdlib@1.21.5",
                "pkg:golang/example.com/hello@%28devel%29",
                "pkg:golang/example.com/greet@v0.0.0-00010101000000-000000000000",
                "pkg:golang/golang.org/x/text@v0.14.0",
            ]
        );
        // Truncations of the header never panic and never succeed silently with garbage.
        for cut in 0..blob.len() {
            let _ = parse_go_header(&blob[..cut], &|_, _| None);
        }
    }

    #[test]
    fn go_pointer_format_big_endian_32_bit() {
        // Memory: string headers at 0x1000 (version) and 0x1008 (modinfo), data at 0x2000.
        let modinfo = wrapped("mod\tm\tv1.0.0\t\n");
        let mut mem = vec![0u8; 0x3000];
        let put = |mem: &mut Vec<u8>, at: usize, v: u32| {
            mem[at..at + 4].copy_from_slice(&v.to_be_bytes());
        };
        put(&mut mem, 0x1000, 0x2000);
        put(&mut mem, 0x1004, 6);
        put(&mut mem, 0x1008, 0x2100);
        put(&mut mem, 0x100c, modinfo.len() as u32);
        mem[0x2000..0x2006].copy_from_slice(b"go1.16");
        mem[0x2100..0x2100 + modinfo.len()].copy_from_slice(&modinfo);
        let mut blob = GO_MAGIC.to_vec();
        blob.extend_from_slice(&[4, 1, 0, 0, 0x10, 0, 0, 0, 0x10, 8]);
        blob.resize(32, 0);
        let read = |a: u64, n: u64| mem.get(a as usize..(a + n) as usize);
        let go = parse_go_header(&blob, &read).unwrap();
        assert_eq!(go.go_version, "go1.16");
        assert_eq!(go.main.unwrap().version, "v1.0.0");
        // A pointer to nowhere is an error, not a panic.
        let mut wild = blob.clone();
        wild[16] = 0x7f;
        assert!(parse_go_header(&wild, &read).is_err());
    }

    #[test]
    fn auditable_json_bounds_and_build_deps() {
        use std::io::Write;
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},{"name":"itoa","version":"1.0.11","source":"crates.io"},{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(json).unwrap();
        let compressed = z.finish().unwrap();
        let crates = parse_auditable(&compressed).unwrap();
        assert_eq!(crates.len(), 3);
        let e = Embedded {
            cargo: crates,
            ..Embedded::default()
        };
        let pkgs = e.packages(Path::new("/bin/app"), true);
        let got: Vec<(&str, &str, Option<&str>)> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.purl.as_str(), p.ecosystem.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("app", "pkg:cargo/app@0.1.0", None),
                ("itoa", "pkg:cargo/itoa@1.0.11", Some("crates.io")),
            ]
        );
        assert_eq!(pkgs[0].depends, ["itoa"]);
        assert!(parse_auditable(&compressed[..compressed.len() / 2]).is_err());
        assert!(parse_auditable(b"not zlib").is_err());
        // An index out of range is refused.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(br#"{"packages":[{"name":"a","version":"1","dependencies":[7]}]}"#)
            .unwrap();
        assert!(parse_auditable(&z.finish().unwrap()).is_err());
    }

    #[test]
    fn zlib_bomb_is_cut_at_the_limit() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..(MAX_INFLATED >> 20) + 2 {
            z.write_all(&zeros).unwrap();
        }
        let bomb = z.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        assert_eq!(
            parse_auditable(&bomb),
            Err(EmbeddedError(".dep-v0 inflates beyond the limit"))
        );
    }

    #[test]
    fn note_package_purl() {
        let e = Embedded {
            note: Some(PackageNote {
                ty: "rpm".into(),
                name: "systemd".into(),
                version: "255-1.fc40".into(),
                architecture: "x86_64".into(),
                os: "fedora".into(),
                os_version: "40".into(),
            }),
            ..Embedded::default()
        };
        let p = e.packages(Path::new("/x"), true);
        assert_eq!(
            p[0].purl,
            "pkg:rpm/fedora/systemd@255-1.fc40?arch=x86_64&distro=fedora-40"
        );
        assert!(e.packages(Path::new("/x"), false).is_empty());
    }
}
