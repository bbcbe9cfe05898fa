//! dpkg's database: `var/lib/dpkg/status`, `status.d/`, `info/*.list` and `diversions`.
//!
//! Debian and Ubuntu roots (and distroless images, which carry one stanza file per package in
//! `status.d/` and no `info/` directory) record packages in deb822 stanzas
//! (deb822(5), Debian Policy §5.1) and each package's files in `info/PKG.list`, or
//! `info/PKG:ARCH.list` for `Multi-Arch: same` packages (dpkg's `lib/dpkg/dbmodify.c`,
//! `pkg_infodb_get_file`).
//!
//! Which stanzas are installed packages follows `dpkg-query -W` over the same database (the
//! oracle of `tests/dpkg_states.rs` and `crates/inuse/tests/peers.rs`):
//! - only the third word of `Status` tells whether files are on disk; `hold`/`deinstall`
//!   wants do not change that. `not-installed` packages have no files left, `config-files`
//!   ones only their conffiles (at removal dpkg rewrites the list down to them, and
//!   `dpkg -S` still names the package for them): both go to [`crate::NotInstalled`], and the
//!   file index, which holds installed packages only, leaves those conffiles unowned. Every
//!   other state is listed, with its [`crate::Package::status`]. That includes
//!   `half-installed`: an unpack or
//!   a removal stopped half way, so some of its files are on disk; `dpkg-query -W` lists it
//!   and `dpkg -S` still attributes its listed files to it, and so do we (a file on disk must
//!   never look unowned because its package is broken);
//! - a stanza of `status` without a `Status` field is `not-installed` for dpkg (the default of
//!   `want unknown, ok, not-installed`): `dpkg-query -W` does not list it. A distroless
//!   `status.d/` stanza usually has no `Status` at all: there it means installed (dpkg never
//!   reads `status.d`, the image builder wrote it for what it installed);
//! - a `Version` dpkg's lax status parser only warns about (a character outside
//!   deb-version(7)'s set, such as `1:5.#`: `parseversion` in `lib/dpkg/parsehelp.c`) is kept,
//!   as `dpkg-query -W` keeps it, and reported as a [`crate::Problem`] naming the package; one
//!   dpkg refuses outright (empty, embedded blank, bad epoch, empty upstream or revision)
//!   makes dpkg refuse the whole file: here only that stanza is left out, with a problem naming
//!   the package;
//! - `Source: name (version)` carries the source version only when it differs from the binary
//!   version (`dpkg-query`'s `${source:Version}` defaults to `Version`);
//! - field names are case-insensitive; continuation lines start with a space or tab; files may
//!   use CRLF and lack the final newline; duplicate fields keep their first value (dpkg would
//!   refuse them, but a scanner should still see the package);
//! - a diverted file (`dpkg-divert`) is listed by its package under the original name but lives
//!   at the diverted name (`var/lib/dpkg/diversions`: triples of lines `from`, `to`, diverting
//!   package or `:` for a local diversion);
//! - distroless `status.d/` also holds `PKG.md5sums` files (`MD5  relative/path` lines), which
//!   are its only file lists.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use inuse_root::{Records, Root};
use rayon::prelude::*;

use crate::owner::{pack, with_packer};
use crate::{Distro, Error, FileList, Manager, NotInstalled, Package, Sink};

/// Upper bound for `status`: the largest real ones are a few tens of MiB.
const MAX_STATUS: u64 = 512 << 20;
/// Upper bound for one `.list`, `.md5sums` or `status.d` file.
const MAX_LIST: u64 = 128 << 20;

pub(crate) const DPKG: &str = "/var/lib/dpkg";

/// One field of a stanza: its name and raw value (continuation lines included).
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// Field name as written.
    pub name: &'a [u8],
    /// Raw value: text after `Name:` through the last continuation line.
    pub value: &'a [u8],
}

/// One deb822 stanza, borrowing from the input.
#[derive(Debug, Clone, Default)]
pub struct Paragraph<'a> {
    /// Fields in order.
    pub fields: Vec<Field<'a>>,
    /// 1-based line of the first field.
    pub line: usize,
}

impl<'a> Paragraph<'a> {
    /// The raw value of the first field called `name` (case-insensitive).
    pub fn raw(&self, name: &str) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| f.value)
    }

    /// The first line of a field, trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let raw = self.raw(name)?;
        let first = raw.split(|&b| b == b'\n').next().unwrap_or(raw);
        let s = std::str::from_utf8(first.trim_ascii()).ok()?;
        (!s.is_empty()).then_some(s)
    }

    /// A folded field (all lines joined by spaces), lossily decoded.
    pub fn folded(&self, name: &str) -> Option<String> {
        let raw = self.raw(name)?;
        let mut out = String::new();
        for line in raw.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line.trim_ascii());
            if line.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&line);
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Iterates the stanzas of a deb822 file. A malformed stanza yields an error with its line and
/// is skipped up to the next blank line; iteration continues.
#[derive(Debug, Clone)]
pub struct Paragraphs<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Paragraphs<'a> {
    /// Parses `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Paragraphs {
            data,
            pos: 0,
            line: 0,
        }
    }

    /// Parses `data`, the part of a file after its first `line` lines (for messages).
    fn starting_at_line(data: &'a [u8], line: usize) -> Self {
        Paragraphs { data, pos: 0, line }
    }

    /// The next line without its terminator (and `\r`), with its start offset.
    fn next_line(&mut self) -> Option<(usize, &'a [u8])> {
        if self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.data[start..];
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i);
        self.pos = start + end + 1;
        self.line += 1;
        let line = &rest[..end];
        Some((start, line.strip_suffix(b"\r").unwrap_or(line)))
    }

    fn skip_paragraph(&mut self) {
        while let Some((_, line)) = self.next_line() {
            if is_blank(line) {
                break;
            }
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| b == b' ' || b == b'\t')
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Result<Paragraph<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut para = Paragraph::default();
        // Value of the field being read: start offset and end offset in `data`.
        let mut open: Option<(&'a [u8], usize, usize)> = None;
        while let Some((start, line)) = self.next_line() {
            if is_blank(line) {
                if open.is_some() || !para.fields.is_empty() {
                    break;
                }
                continue;
            }
            let fail = |this: &mut Self, message| {
                let line = this.line;
                this.skip_paragraph();
                Some(Err(Error::Stanza { line, message }))
            };
            if line[0] == b' ' || line[0] == b'\t' {
                match open.as_mut() {
                    Some((_, _, end)) => *end = start + line.len(),
                    None => return fail(self, "continuation line outside a field"),
                }
                continue;
            }
            if line[0] == b'#' {
                // deb822 comment: allowed in control files, harmless elsewhere.
                continue;
            }
            let Some(colon) = memchr::memchr(b':', line) else {
                return fail(self, "line is neither a field nor a continuation");
            };
            let name = &line[..colon];
            if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
                return fail(self, "malformed field name");
            }
            if let Some((n, s, e)) = open.take() {
                para.fields.push(Field {
                    name: n,
                    value: &self.data[s..e],
                });
            }
            if para.fields.is_empty() {
                para.line = self.line;
            }
            let vstart = start + colon + 1;
            open = Some((name, vstart, start + line.len()));
        }
        if let Some((n, s, e)) = open {
            para.fields.push(Field {
                name: n,
                value: &self.data[s..e.max(s)],
            });
        }
        (!para.fields.is_empty()).then_some(Ok(para))
    }
}

/// A `dpkg-divert` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    /// The path packages ship.
    pub from: Vec<u8>,
    /// Where the diverted package's file really lies.
    pub to: Vec<u8>,
    /// The diverting package; `None` for a local (administrator's) diversion.
    pub by: Option<String>,
}

/// Parses `var/lib/dpkg/diversions`.
pub fn parse_diversions(data: &[u8]) -> Vec<Diversion> {
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    lines
        .chunks_exact(3)
        .map(|c| Diversion {
            from: c[0].to_vec(),
            to: c[1].to_vec(),
            by: (c[2] != b":").then(|| String::from_utf8_lossy(c[2]).into_owned()),
        })
        .collect()
}

/// Names of declared dependencies in a `Depends`-style field: alternatives included,
/// version constraints, arch qualifiers and build profiles dropped.
pub fn dependency_names(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split([',', '|']).filter_map(|alt| {
        let name = alt
            .trim()
            .split(|c: char| c.is_whitespace() || matches!(c, '(' | ':' | '[' | '<'))
            .next()?;
        (!name.is_empty()).then(|| name.to_owned())
    })
}

/// What a stanza's `Status` says.
enum State {
    /// Files are (at least partly) on disk; `Some(status)` when the status is not the plain one.
    Present(Option<String>),
    /// Only conffiles, or nothing, are left.
    Absent(String),
}

/// Which file a stanza comes from: it decides what a missing `Status` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `var/lib/dpkg/status`, dpkg's own database.
    Status,
    /// A distroless `status.d/` file, written by an image builder.
    StatusD,
}

/// dpkg's status when a stanza has no `Status` field (`parsedb` leaves the defaults).
const NO_STATUS: &str = "unknown ok not-installed";

fn state(status: Option<&str>, origin: Origin) -> Result<State, String> {
    let status = match (status, origin) {
        // distroless status.d stanzas carry no Status: the image builder installed them.
        (None, Origin::StatusD) => return Ok(State::Present(None)),
        (None, Origin::Status) => return Ok(State::Absent(NO_STATUS.to_owned())),
        (Some(s), _) => s,
    };
    if status == "install ok installed" {
        return Ok(State::Present(None));
    }
    let words: Vec<&str> = status.split_whitespace().collect();
    match words[..] {
        [_, _, "not-installed" | "config-files"] => Ok(State::Absent(status.to_owned())),
        [
            _,
            _,
            "installed" | "unpacked" | "half-configured" | "half-installed" | "triggers-awaited"
            | "triggers-pending",
        ] => Ok(State::Present(Some(status.to_owned()))),
        // dpkg refuses the whole file ("invalid package status").
        _ => Err(format!("Status {status:?} is not a dpkg status")),
    }
}

/// How dpkg's status parser takes a `Version`: `Err` when it refuses it (and with it the
/// whole file), `Ok(Some(warning))` when it only warns (`pdb_lax_version_parser`).
fn check_version(version: &str) -> Result<Option<String>, String> {
    use inuse_version::{Problem, dpkg::Version};
    match Version::parse(version) {
        Ok(_) => Ok(None),
        Err(e) => match e.problem() {
            // dpkg only warns about a character outside the allowed set, and has no limit.
            Problem::Syntax { reason, .. } if reason.starts_with("invalid character") => {
                Ok(Some(e.to_string()))
            }
            Problem::TooLong { .. } => Ok(Some(e.to_string())),
            _ => Err(e.to_string()),
        },
    }
}

/// What a stanza describes.
enum Entry {
    /// With whether it is `Multi-Arch: same` (its list is then `info/NAME:ARCH.list`).
    Installed(Box<Package>, bool),
    NotInstalled(NotInstalled),
}

/// The package built from a stanza (with a warning about it, if any), or why not.
fn package(
    para: &Paragraph<'_>,
    origin: Origin,
    distro: Option<&Distro>,
    database: &Path,
) -> Result<(Entry, Option<String>), String> {
    let name = para.get("Package").ok_or("stanza without Package")?;
    let version = para.get("Version").unwrap_or_default();
    let arch = para.get("Architecture").unwrap_or_default();
    let named = |m: String| format!("package {name:?}: {m}");
    let warning = match version {
        "" => None,
        v => check_version(v).map_err(named)?.map(named),
    };
    let status = match state(para.get("Status"), origin).map_err(named)? {
        State::Present(s) => s,
        State::Absent(status) => {
            let not = NotInstalled {
                name: name.to_owned(),
                version: version.to_owned(),
                arch: arch.to_owned(),
                status,
                manager: Manager::Dpkg,
            };
            return Ok((Entry::NotInstalled(not), warning));
        }
    };
    if version.is_empty() {
        return Err(named("installed without Version".to_owned()));
    }
    let (source_name, source_version) = match para.get("Source") {
        Some(src) => match src.split_once('(') {
            Some((n, v)) => (n.trim(), v.trim().trim_end_matches(')').trim()),
            None => (src, version),
        },
        None => (name, version),
    };
    let mut depends = Vec::new();
    for field in ["Pre-Depends", "Depends"] {
        if let Some(v) = para.folded(field) {
            depends.extend(dependency_names(&v));
        }
    }
    let package = Package {
        identity: crate::PackageRef {
            name: name.to_owned(),
            version: version.to_owned(),
            arch: arch.to_owned(),
            source_name: source_name.to_owned(),
            source_version: source_version.to_owned(),
            manager: Manager::Dpkg,
            ecosystem: distro.and_then(|d| d.ecosystem.clone()),
            purl: crate::purl::for_package(Manager::Dpkg, distro, name, version, arch, None),
        },
        license: None,
        depends: crate::dedup_names(depends),
        installed_size: para
            .get("Installed-Size")
            .and_then(|s| s.parse::<u64>().ok())
            .map(|kib| kib.saturating_mul(1024)),
        maintainer: para.get("Maintainer").map(str::to_owned),
        description: para.get("Description").map(str::to_owned),
        status,
        database: database.to_owned(),
    };
    let same = para.get("Multi-Arch") == Some("same");
    Ok((Entry::Installed(Box::new(package), same), warning))
}

/// A package's file list, or the file that could not be read and why.
type ListRead = Result<FileList, (PathBuf, std::io::Error)>;

/// Where a package's file list comes from.
enum ListSource {
    /// distroless `status.d/NAME.md5sums`: `MD5  relative/path` lines.
    Md5sums(PathBuf),
    /// `info/NAME:ARCH.list` or `info/NAME.list`: one absolute path a line; the flag tells
    /// `Multi-Arch: same` (the first name expected).
    Info(bool),
}

/// Parses every stanza of one file: installed packages to `out`, the rest to `sink`.
fn parse_file(
    paragraphs: Paragraphs<'_>,
    file: &Path,
    origin: Origin,
    distro: Option<&Distro>,
    sink: &mut Sink,
    out: &mut Vec<(Package, bool)>,
) {
    for para in paragraphs {
        let para = match para {
            Err(e) => {
                sink.problem(file, place_of(&e), message_of(&e));
                continue;
            }
            Ok(para) => para,
        };
        let place = || Some(format!("line {}", para.line));
        match package(&para, origin, distro, file) {
            Err(message) => sink.problem(file, place(), message),
            Ok((entry, warning)) => {
                if let Some(warning) = warning {
                    sink.problem(file, place(), warning);
                }
                match entry {
                    Entry::NotInstalled(not) => sink.not_installed.push(not),
                    Entry::Installed(p, same) => out.push((*p, same)),
                }
            }
        }
    }
}

fn place_of(e: &Error) -> Option<String> {
    match e {
        Error::Stanza { line, .. } => Some(format!("line {line}")),
        _ => None,
    }
}

fn message_of(e: &Error) -> String {
    match e {
        Error::Stanza { message, .. } => (*message).to_owned(),
        e => e.to_string(),
    }
}

/// Whether a `status.d/` entry is one of a package's control files (`PKG.md5sums`, the only
/// file list of a distroless image; maintainer scripts and the like, which some images keep
/// beside the stanza) rather than a stanza file.
fn is_control_file(name: &[u8]) -> bool {
    const SUFFIXES: [&[u8]; 11] = [
        b".md5sums",
        b".conffiles",
        b".list",
        b".preinst",
        b".postinst",
        b".prerm",
        b".postrm",
        b".triggers",
        b".shlibs",
        b".symbols",
        b".templates",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Loads dpkg's database of `root` into `sink`.
pub(crate) fn load(root: &Root, distro: Option<&Distro>, sink: &mut Sink) {
    let status_path = PathBuf::from(format!("{DPKG}/status"));
    let status_d = PathBuf::from(format!("{DPKG}/status.d"));
    let mut packages: Vec<(Package, ListSource)> = Vec::new();

    match root.read(&status_path, MAX_STATUS) {
        Ok(data) => {
            let out = parse_status(&data, &status_path, distro, sink);
            packages.extend(out.into_iter().map(|(p, same)| (p, ListSource::Info(same))));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => sink.problem(&status_path, None, format!("cannot read: {e}")),
    }

    // distroless: one stanza file per package, md5sums beside.
    if let Ok(entries) = root.read_dir(&status_d) {
        let names: HashSet<&OsStr> = entries.iter().map(|(n, _)| n.as_os_str()).collect();
        for (name, _) in &entries {
            if is_control_file(name.as_bytes()) {
                continue;
            }
            let file = status_d.join(name);
            let data = match root.read(&file, MAX_LIST) {
                Ok(d) => d,
                Err(e) => {
                    sink.problem(&file, None, format!("cannot read: {e}"));
                    continue;
                }
            };
            let mut out = Vec::new();
            parse_file(
                Paragraphs::new(&data),
                &file,
                Origin::StatusD,
                distro,
                sink,
                &mut out,
            );
            for (p, same) in out {
                let md5 = format!("{}.md5sums", name.to_string_lossy());
                let src = if names.contains(OsStr::new(&md5)) {
                    ListSource::Md5sums(status_d.join(md5))
                } else {
                    ListSource::Info(same)
                };
                packages.push((p, src));
            }
        }
    }
    if packages.is_empty() {
        return;
    }

    if !sink.want_files {
        sink.packages
            .extend(packages.into_iter().map(|(p, _)| (p, FileList::default())));
        return;
    }

    // `info/NAME:ARCH.list` for `Multi-Arch: same`, else `info/NAME.list` (dpkg names it with
    // `pnaw_same`); the other name is tried second, for a database a change of Multi-Arch left
    // behind. Read by name in the opened `info` directory: that costs less than listing a
    // directory of thousands of maintainer scripts. Anything unusual there
    // (a symlinked list, `info` unreadable) falls back to a full in-root open, which also
    // names the error.
    let info = PathBuf::from(format!("{DPKG}/info"));
    let info_dir = root.open_dir(&info).ok();
    // Diversions first: each list is packed for the index as it is read, in pieces, while
    // the text is in the cache (nothing of a list is kept but what the index needs).
    let div_path = PathBuf::from(format!("{DPKG}/diversions"));
    match root.read(&div_path, MAX_LIST) {
        Ok(data) => sink.diversions = parse_diversions(&data),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => sink.problem(&div_path, None, format!("cannot read: {e}")),
    }
    let diverter = crate::owner::Diverter::new(&sink.diversions);
    let read_list = |p: &Package, same: bool| -> ListRead {
        let with_arch = format!("{}:{}.list", p.name, p.arch);
        let plain = format!("{}.list", p.name);
        let names = if same {
            [with_arch, plain]
        } else {
            [plain, with_arch]
        };
        let divert = Some((&diverter, p.name.as_str()));
        for name in names {
            let path = info.join(&name);
            let read = with_packer(|packer| {
                let mut take = |r: Records<'_>| match r {
                    // First of each attempt: drop what a failed one left.
                    Records::Size(size) => {
                        packer.reset();
                        packer.reserve(usize::try_from(size).unwrap_or(0));
                    }
                    Records::Data(d) => packer.lines(d, b'\n', divert),
                };
                let read = match &info_dir {
                    Some(dir) => dir
                        .read_records(OsStr::new(&name), MAX_LIST, b'\n', &mut take)
                        .or_else(|e| match e.kind() {
                            std::io::ErrorKind::NotFound => Err(e),
                            _ => root.read_records(&path, MAX_LIST, b'\n', &mut take),
                        }),
                    None => root.read_records(&path, MAX_LIST, b'\n', &mut take),
                };
                read.map(|()| packer.finish())
            });
            match read {
                Ok(packed) => {
                    return Ok(FileList {
                        packed: Some(packed),
                        ..FileList::default()
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err((path, e)),
            }
        }
        Ok(FileList::default())
    };
    // Largest first (by `Installed-Size`, which follows the list's size closely enough), so
    // that a list of 50,000 paths (google-cloud-cli) does not start last on one thread while
    // the other idles: the order only decides which thread packs what.
    let mut order: Vec<usize> = (0..packages.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(packages[i].0.installed_size.unwrap_or(0)));
    let read = |(p, src): &(Package, ListSource)| match src {
        ListSource::Info(same) => read_list(p, *same),
        ListSource::Md5sums(path) => root
            .read(path, MAX_LIST)
            .map(|data| FileList {
                packed: Some(pack(md5sums_to_list(&data), Some((&diverter, &p.name)))),
                ..FileList::default()
            })
            .map_err(|e| (path.clone(), e)),
    };
    let mut done: Vec<(usize, ListRead)> = order
        .into_par_iter()
        .map(|i| (i, read(&packages[i])))
        .collect();
    done.sort_unstable_by_key(|(i, _)| *i);
    let lists = done.into_iter().map(|(_, list)| list);
    for ((p, _), list) in packages.into_iter().zip(lists) {
        let list = list.unwrap_or_else(|(path, e)| {
            sink.problem(&path, None, format!("cannot read: {e}"));
            FileList::default()
        });
        sink.packages.push((p, list));
    }
}

/// Parses the `status` file: installed packages returned, the rest to `sink`. A large file is
/// cut at a paragraph boundary near its middle and the halves parsed in parallel (line numbers
/// in problems stay those of the whole file).
fn parse_status(
    data: &[u8],
    file: &Path,
    distro: Option<&Distro>,
    sink: &mut Sink,
) -> Vec<(Package, bool)> {
    const SPLIT_MIN: usize = 256 * 1024;
    let mid = data.len() / 2;
    let cut = (data.len() >= SPLIT_MIN)
        .then(|| memchr::memmem::find(&data[mid..], b"\n\n"))
        .flatten()
        .map(|i| mid + i + 2);
    let mut out = Vec::new();
    let Some(cut) = cut else {
        parse_file(
            Paragraphs::new(data),
            file,
            Origin::Status,
            distro,
            sink,
            &mut out,
        );
        return out;
    };
    let (head, tail) = data.split_at(cut);
    let first_line = memchr::memchr_iter(b'\n', head).count();
    let (mut sink2, mut out2) = (Sink::default(), Vec::new());
    rayon::join(
        || {
            parse_file(
                Paragraphs::new(head),
                file,
                Origin::Status,
                distro,
                sink,
                &mut out,
            )
        },
        || {
            let paragraphs = Paragraphs::starting_at_line(tail, first_line);
            parse_file(
                paragraphs,
                file,
                Origin::Status,
                distro,
                &mut sink2,
                &mut out2,
            )
        },
    );
    sink.problems.append(&mut sink2.problems);
    sink.not_installed.append(&mut sink2.not_installed);
    out.append(&mut out2);
    out
}

/// `d41d8cd98f00b204e9800998ecf8427e  usr/lib/x` lines -> `/usr/lib/x` paths.
fn md5sums_to_list(data: &[u8]) -> FileList {
    let mut buf = Vec::with_capacity(data.len());
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(sp) = memchr::memchr(b' ', line) else {
            continue;
        };
        let path = line[sp..].trim_ascii_start();
        if path.is_empty() {
            continue;
        }
        if path[0] != b'/' {
            buf.push(b'/');
        }
        buf.extend_from_slice(path);
        buf.push(b'\n');
    }
    FileList {
        buf,
        sep: b'\n',
        packed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paras(data: &[u8]) -> Vec<Result<Paragraph<'_>, Error>> {
        Paragraphs::new(data).collect()
    }

    #[test]
    fn stanzas_with_continuations_crlf_and_no_final_newline() {
        let data = b"Package: a\r\nDescription: short\r\n long\r\n .\r\nVersion: 1\r\n\r\n\r\nPackage: b\nversion: 2\nVersion: 3";
        let got = paras(data);
        assert_eq!(got.len(), 2);
        let a = got[0].as_ref().expect("a");
        assert_eq!(a.get("package"), Some("a"));
        assert_eq!(a.get("Description"), Some("short"));
        assert_eq!(a.get("Version"), Some("1"));
        assert_eq!(a.line, 1);
        let b = got[1].as_ref().expect("b");
        assert_eq!(b.get("Version"), Some("2"), "first duplicate wins");
        assert_eq!(b.line, 8);
    }

    #[test]
    fn corrupt_stanza_is_reported_and_skipped() {
        let data = b"Package: a\nVersion: 1\n\n continuation\nPackage: x\n\nPackage: b\ngarbage\nVersion: 2\n\nPackage: c\nVersion: 3\n";
        let got = paras(data);
        let lines: Vec<String> = got
            .iter()
            .map(|r| match r {
                Ok(p) => p.get("Package").unwrap_or("?").to_owned(),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(
            lines,
            [
                "a",
                "line 4: continuation line outside a field",
                "line 8: line is neither a field nor a continuation",
                "c"
            ]
        );
    }

    #[test]
    fn dependencies() {
        let got: Vec<String> = dependency_names(
            "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, perl:any, x [amd64] <!nocheck>",
        )
        .collect();
        assert_eq!(got, ["libc6", "debconf", "debconf-2.0", "perl", "x"]);
    }

    /// A status file large enough to be parsed in two halves gives exactly what one pass
    /// gives, problems' line numbers included.
    #[test]
    fn split_status_equals_one_pass() {
        let mut data = String::new();
        for i in 0..3000 {
            if i == 2500 {
                data.push_str("Package: broken\nStatus: install ok installed\n\n");
            }
            if i == 2900 {
                data.push_str(" continuation without a field\n\n");
            }
            data.push_str(&format!(
                "Package: p{i}\nStatus: install ok installed\nVersion: 1.{i}\n\
                 Architecture: amd64\nDescription: package {i}\n  with a longer text {i}\n\n"
            ));
        }
        assert!(
            data.len() >= 256 * 1024,
            "{} bytes: too small to be split",
            data.len()
        );
        let mut one = Sink::default();
        let mut expected = Vec::new();
        parse_file(
            Paragraphs::new(data.as_bytes()),
            Path::new("/s"),
            Origin::Status,
            None,
            &mut one,
            &mut expected,
        );
        let mut two = Sink::default();
        let got = parse_status(data.as_bytes(), Path::new("/s"), None, &mut two);
        assert_eq!(got, expected);
        assert_eq!(got.len(), 3000);
        let places =
            |s: &Sink| -> Vec<String> { s.problems.iter().map(|p| p.to_string()).collect() };
        assert_eq!(places(&two), places(&one));
        assert_eq!(places(&one).len(), 2, "{:?}", places(&one));
    }

    #[test]
    fn source_and_status() {
        let data = b"Package: libx1\nStatus: hold ok installed\nVersion: 1:2-3\nArchitecture: amd64\nSource: x (2-2)\n\nPackage: y\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: z\nStatus: install ok installed\nVersion: 5\nSource: zz\n";
        let mut sink = Sink::default();
        let out = parse_status(data, Path::new("/s"), None, &mut sink);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (
                out[0].0.source_name.as_str(),
                out[0].0.source_version.as_str()
            ),
            ("x", "2-2")
        );
        assert_eq!(out[0].0.status.as_deref(), Some("hold ok installed"));
        assert_eq!(
            (
                out[1].0.source_name.as_str(),
                out[1].0.source_version.as_str()
            ),
            ("zz", "5")
        );
        assert_eq!(sink.not_installed.len(), 1);
        assert_eq!(sink.not_installed[0].status, "deinstall ok config-files");
        assert!(sink.problems.is_empty());
    }

    #[test]
    fn diversions_and_md5sums() {
        let d = parse_diversions(b"/bin/sh\n/bin/sh.distrib\ndash\n/x\n/x.orig\n:\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].by.as_deref(), Some("dash"));
        assert_eq!(d[1].by, None);
        let l = md5sums_to_list(b"abc  usr/lib/a\nbad\ndef  /etc/b\n");
        assert_eq!(
            l.paths().collect::<Vec<_>>(),
            [&b"/usr/lib/a"[..], b"/etc/b"]
        );
    }
}
