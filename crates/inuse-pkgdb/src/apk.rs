//! Alpine's apk database, `lib/apk/db/installed`.
//!
//! Alpine, Wolfi, Chainguard and postmarketOS roots record every installed package in one text
//! file (apk-tools' `doc/apk-package.5` and `src/database.c`, `apk_db_fdb_read`): stanzas of
//! `X:value` lines separated by blank lines. Fields used: `P` name, `V` version, `A` arch,
//! `o` origin (source package), `L` licence, `T` description, `m` maintainer, `I` installed
//! size in bytes, `D` dependencies; files are `F:dir` lines (relative to `/`) each followed by
//! the `R:name` files in that directory (`a`, `M`, `Z` lines carry attributes and checksums).
//!
//! Pitfalls: `D` mixes package names, `so:` and `cmd:` capabilities, version constraints
//! (`name>=1.2`, `name~1.2`) and conflicts (`!name`, dropped); `o` names the origin but there is
//! no origin version (the package version is used); an `R` before any `F` is in `/`; files may
//! use CRLF or lack the final newline.

use std::path::Path;

use inuse_root::Root;

use crate::{Distro, Error, FileList, Manager, Package, Sink};

pub(crate) const INSTALLED: &str = "/lib/apk/db/installed";
const MAX_INSTALLED: u64 = 512 << 20;

/// One package record of `installed`, borrowing from the input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record<'a> {
    /// 1-based line of the record's first line.
    pub line: usize,
    /// `P`.
    pub name: &'a str,
    /// `V`.
    pub version: &'a str,
    /// `A`.
    pub arch: &'a str,
    /// `o`.
    pub origin: Option<&'a str>,
    /// `L`.
    pub license: Option<&'a str>,
    /// `T`.
    pub description: Option<&'a str>,
    /// `m`.
    pub maintainer: Option<&'a str>,
    /// `I`.
    pub installed_size: Option<u64>,
    /// `D`, split at spaces.
    pub depends: Vec<&'a str>,
    /// Files as absolute paths, in order (directories included).
    pub files: Vec<(&'a str, Option<&'a str>)>,
}

impl Record<'_> {
    /// Dependency names: conflicts dropped, version constraints stripped.
    pub fn dependency_names(&self) -> impl Iterator<Item = String> + '_ {
        self.depends
            .iter()
            .filter(|d| !d.starts_with('!'))
            .map(|d| {
                let end = d.find(['<', '>', '=', '~']).unwrap_or(d.len());
                d[..end].to_owned()
            })
    }
}

/// Ends the current record: pushes it, or the error that spoiled it.
fn finish<'a>(
    cur: &mut Option<Record<'a>>,
    bad: &mut Option<Error>,
    out: &mut Vec<Result<Record<'a>, Error>>,
) {
    if let Some(e) = bad.take() {
        out.push(Err(e));
        *cur = None;
    } else if let Some(r) = cur.take() {
        if r.name.is_empty() || r.version.is_empty() {
            out.push(Err(Error::Stanza {
                line: r.line,
                message: "record without P or V",
            }));
        } else {
            out.push(Ok(r));
        }
    }
}

/// Parses `installed`. A malformed record yields an error with its line; the others are
/// still returned.
pub fn parse_installed(data: &[u8]) -> Vec<Result<Record<'_>, Error>> {
    let mut out = Vec::new();
    let mut cur: Option<Record<'_>> = None;
    let mut bad: Option<Error> = None;
    let mut lines = data.split(|&b| b == b'\n').peekable();
    let mut n = 0usize;
    while let Some(line) = lines.next() {
        n += 1;
        if line.is_empty() && lines.peek().is_none() {
            break;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            finish(&mut cur, &mut bad, &mut out);
            continue;
        }
        if bad.is_some() {
            continue;
        }
        let rec = cur.get_or_insert_with(|| Record {
            line: n,
            ..Record::default()
        });
        let (Some(&key), Some(b':')) = (line.first(), line.get(1)) else {
            bad = Some(Error::Stanza {
                line: n,
                message: "line is not of the form X:value",
            });
            continue;
        };
        let Ok(value) = std::str::from_utf8(&line[2..]) else {
            bad = Some(Error::Stanza {
                line: n,
                message: "value is not UTF-8",
            });
            continue;
        };
        match key {
            b'P' => rec.name = value,
            b'V' => rec.version = value,
            b'A' => rec.arch = value,
            b'o' => rec.origin = Some(value),
            b'L' => rec.license = Some(value),
            b'T' => rec.description = Some(value),
            b'm' => rec.maintainer = Some(value),
            b'I' => rec.installed_size = value.parse().ok(),
            b'D' => rec.depends.extend(value.split_ascii_whitespace()),
            b'F' => rec.files.push((value, None)),
            b'R' => {
                let dir = match rec.files.last() {
                    Some((dir, _)) => *dir,
                    None => "",
                };
                rec.files.push((dir, Some(value)));
            }
            _ => {}
        }
    }
    finish(&mut cur, &mut bad, &mut out);
    out
}

/// Loads apk's database of `root` into `sink`.
pub(crate) fn load(root: &Root, distro: Option<&Distro>, sink: &mut Sink) {
    let path = Path::new(INSTALLED);
    let data = match root.read(path, MAX_INSTALLED) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            sink.problem(path, None, format!("cannot read: {e}"));
            return;
        }
    };
    let ecosystem = distro.and_then(|d| d.ecosystem.clone());
    for rec in parse_installed(&data) {
        let rec = match rec {
            Ok(r) => r,
            Err(Error::Stanza { line, message }) => {
                sink.problem(path, Some(format!("line {line}")), message);
                continue;
            }
            Err(e) => {
                sink.problem(path, None, e);
                continue;
            }
        };
        let mut files = FileList::default();
        if sink.want_files {
            for (dir, file) in &rec.files {
                files.buf.push(b'/');
                files.buf.extend_from_slice(dir.as_bytes());
                if let Some(f) = file {
                    if !dir.is_empty() {
                        files.buf.push(b'/');
                    }
                    files.buf.extend_from_slice(f.as_bytes());
                }
                files.buf.push(b'\n');
            }
            files.sep = b'\n';
        }
        let package = Package {
            identity: crate::PackageRef {
                name: rec.name.to_owned(),
                version: rec.version.to_owned(),
                arch: rec.arch.to_owned(),
                source_name: rec.origin.unwrap_or(rec.name).to_owned(),
                source_version: rec.version.to_owned(),
                manager: Manager::Apk,
                ecosystem: ecosystem.clone(),
                purl: crate::purl::for_package(
                    Manager::Apk,
                    distro,
                    rec.name,
                    rec.version,
                    rec.arch,
                    None,
                ),
            },
            license: rec.license.map(str::to_owned),
            depends: crate::dedup_names(rec.dependency_names()),
            installed_size: rec.installed_size,
            maintainer: rec.maintainer.map(str::to_owned),
            description: rec.description.map(str::to_owned),
            status: None,
            database: path.to_owned(),
        };
        sink.packages.push((package, files));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_files_and_errors() {
        let data = b"C:Q1abc=\r\nP:musl\r\nV:1.2.4-r2\r\nA:x86_64\r\no:musl\r\nL:MIT\r\nD:!foo so:libc.musl-x86_64.so.1 bar>=2\r\nF:lib\r\nR:ld-musl-x86_64.so.1\r\na:0:0:755\r\nR:libc.musl-x86_64.so.1\r\n\r\nP:broken\r\nnonsense\r\n\r\nV:1\r\n\r\nP:zlib\nV:1.3-r0\nR:rootfile";
        let got = parse_installed(data);
        assert_eq!(got.len(), 4);
        let musl = got[0].as_ref().expect("musl");
        assert_eq!(
            (musl.name, musl.version, musl.origin),
            ("musl", "1.2.4-r2", Some("musl"))
        );
        assert_eq!(
            musl.files,
            [
                ("lib", None),
                ("lib", Some("ld-musl-x86_64.so.1")),
                ("lib", Some("libc.musl-x86_64.so.1"))
            ]
        );
        assert_eq!(
            musl.dependency_names().collect::<Vec<_>>(),
            ["so:libc.musl-x86_64.so.1", "bar"]
        );
        assert_eq!(
            got[1].as_ref().err().map(ToString::to_string).as_deref(),
            Some("line 14: line is not of the form X:value")
        );
        assert_eq!(
            got[2].as_ref().err().map(ToString::to_string).as_deref(),
            Some("line 16: record without P or V")
        );
        let zlib = got[3].as_ref().expect("zlib");
        assert_eq!(zlib.files, [("", Some("rootfile"))]);
    }
}
