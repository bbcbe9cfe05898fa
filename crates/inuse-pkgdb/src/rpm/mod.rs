//! rpm's database in any of its three backends, read without librpm.
//!
//! Every backend stores the same thing, one header blob per package ([`header`]); they differ
//! in the container: SQLite `rpmdb.sqlite` (Fedora 33+, RHEL 9, Azure Linux, table
//! `Packages(hnum, blob)`), NDB `Packages.db` ([`ndb`], SUSE) and Berkeley DB hash `Packages`
//! ([`bdb`], older RHEL/CentOS/Amazon). Locations: `usr/lib/sysimage/rpm` (the newer
//! `%_dbpath`) and `var/lib/rpm`; when both hold a database, the first is used (the other is a
//! leftover or the same directory through a symlink).
//!
//! Pitfalls:
//! - SQLite must not write into the root: no journal, no `-shm`, no `-wal` checkpoint. The
//!   database (and its `-wal`, which may hold recent transactions that rpm has not
//!   checkpointed) is copied through [`Root`] into a private temporary directory and opened
//!   there; with no `-wal` the copy is opened `immutable=1`.
//! - the version printed by `rpm -q` is `[epoch:]version-release`, the epoch omitted when the
//!   tag is absent; `gpg-pubkey` pseudo-packages have no arch and no source rpm;
//! - the source package is only known through `SOURCERPM` (`name-version-release.src.rpm`); it
//!   carries no epoch, so the binary's epoch is used for the source version (the convention of
//!   OSV's Red Hat-family data);
//! - `REQUIRENAME` holds capabilities (`libc.so.6()(64bit)`, `/bin/sh`, `rpmlib(...)`), not
//!   package names; `rpmlib(`, `config(` and file dependencies are dropped, the rest kept verbatim.

pub mod bdb;
pub mod header;
pub mod ndb;

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use inuse_root::Root;

use crate::{Distro, Error, FileList, Manager, Package, Sink};
use header::tag;
pub use header::{Header, HeaderError};

/// Upper bound for a BDB or NDB file read into memory, and for copying an SQLite database.
const MAX_DB: u64 = 2 << 30;

pub(crate) const DIRS: [&str; 2] = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Ndb,
    Bdb,
}

pub(crate) const FILES: [(&str, Backend); 3] = [
    ("rpmdb.sqlite", Backend::Sqlite),
    ("Packages.db", Backend::Ndb),
    ("Packages", Backend::Bdb),
];

/// Finds the database of `root`: the first backend file present in the first directory.
fn locate(root: &Root) -> Option<(PathBuf, Backend)> {
    for dir in DIRS {
        for (file, backend) in FILES {
            let path = Path::new(dir).join(file);
            // `open_file`, not `stat`: it also proves the file is a readable regular file.
            if root.open_file(&path).is_ok() {
                return Some((path, backend));
            }
        }
    }
    None
}

/// Loads rpm's database of `root` into `sink`.
pub(crate) fn load(root: &Root, distro: Option<&Distro>, sink: &mut Sink) {
    let Some((path, backend)) = locate(root) else {
        return;
    };
    let add = |sink: &mut Sink, place: String, blob: Result<Cow<'_, [u8]>, Error>| {
        let result = blob.and_then(|b| {
            let h = Header::parse(&b)?;
            package(&h, distro, &path, sink.want_files)
        });
        match result {
            Ok(p) => sink.packages.push(p),
            Err(e) => sink.problem(&path, Some(place), e),
        }
    };
    let result = match backend {
        Backend::Sqlite => sqlite_blobs(root, &path, |place, blob| add(sink, place, blob)),
        Backend::Ndb | Backend::Bdb => match root.read(&path, MAX_DB) {
            Ok(data) if backend == Backend::Ndb => ndb::for_each_blob(&data, |place, blob| {
                add(sink, place, blob.map(Cow::Borrowed))
            }),
            Ok(data) => bdb::for_each_blob(&data, |place, blob| add(sink, place, blob)),
            Err(source) => Err(Error::Read {
                path: path.clone(),
                source,
            }),
        },
    };
    if let Err(e) = result {
        let (place, message) = match e {
            Error::Db { place, message } => (Some(place), message.to_owned()),
            e => (None, e.to_string()),
        };
        sink.problem(&path, place, message);
    }
}

/// Copies an in-root file into `dest` through `root`, bounded by [`MAX_DB`].
fn copy_out(root: &Root, from: &Path, dest: &Path) -> Result<(), Error> {
    let read = |source| Error::Read {
        path: from.to_owned(),
        source,
    };
    let (file, _) = root.open_file(from).map_err(read)?;
    let mut out = std::fs::File::create(dest).map_err(read)?;
    let n = io::copy(&mut file.take(MAX_DB + 1), &mut out).map_err(read)?;
    if n > MAX_DB {
        return Err(read(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "database larger than the limit",
        )));
    }
    Ok(())
}

/// Calls `f` with every blob of an SQLite rpmdb.
fn sqlite_blobs(
    root: &Root,
    path: &Path,
    mut f: impl FnMut(String, Result<Cow<'_, [u8]>, Error>),
) -> Result<(), Error> {
    use rusqlite::{Connection, OpenFlags};

    let tmp = tempfile::tempdir().map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let copy = tmp.path().join("rpmdb.sqlite");
    copy_out(root, path, &copy)?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let has_wal = root.open_file(&wal).is_ok_and(|(_, st)| st.size > 0);
    let conn = if has_wal {
        copy_out(root, &wal, &tmp.path().join("rpmdb.sqlite-wal"))?;
        // Reading a WAL database needs the -shm beside it: our private copy may have one.
        Connection::open_with_flags(
            &copy,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?
    } else {
        let uri = format!("file:{}?immutable=1", copy.display());
        Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?
    };
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let hnum: i64 = row.get(0)?;
        let blob = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from);
        f(
            format!("hnum {hnum}"),
            blob.map(Cow::Borrowed).map_err(Error::from),
        );
    }
    Ok(())
}

/// Splits `name-version-release.src.rpm`.
fn split_srpm(srpm: &str) -> Option<(&str, &str)> {
    let base = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, _release) = base.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    Some((name, &base[name.len() + 1..]))
}

/// The package described by a header, with its file list when asked for.
fn package(
    h: &Header<'_>,
    distro: Option<&Distro>,
    database: &Path,
    want_files: bool,
) -> Result<(Package, FileList), Error> {
    let missing = |t| {
        Error::Header(HeaderError::Entry {
            tag: t,
            problem: "required tag missing",
        })
    };
    let name = h.string(tag::NAME)?.ok_or(missing(tag::NAME))?;
    let ver = h.string(tag::VERSION)?.ok_or(missing(tag::VERSION))?;
    let rel = h.string(tag::RELEASE)?.ok_or(missing(tag::RELEASE))?;
    let epoch = h.u32(tag::EPOCH)?.map(|e| e.to_string());
    let arch = h.string(tag::ARCH)?.unwrap_or_default();
    let vr = format!("{ver}-{rel}");
    let version = match &epoch {
        Some(e) => format!("{e}:{vr}"),
        None => vr.clone(),
    };
    let (source_name, source_version) = match h.string(tag::SOURCERPM)? {
        Some(srpm) => match split_srpm(&srpm) {
            Some((n, v)) => (
                n.to_owned(),
                match &epoch {
                    Some(e) => format!("{e}:{v}"),
                    None => v.to_owned(),
                },
            ),
            None => (name.to_string(), version.clone()),
        },
        None => (name.to_string(), version.clone()),
    };
    let depends = h
        .strings(tag::REQUIRENAME)?
        .into_iter()
        .filter(|d| {
            !d.starts_with(b"rpmlib(") && !d.starts_with(b"config(") && !d.starts_with(b"/")
        })
        .map(|d| String::from_utf8_lossy(d).into_owned());
    let installed_size = match h.u64(tag::LONGSIZE) {
        Ok(Some(v)) => Some(v),
        _ => h.u32(tag::SIZE)?.map(u64::from),
    };
    let files = if want_files {
        let mut buf = Vec::new();
        for (dir, base) in h.files()? {
            buf.extend_from_slice(dir);
            if !dir.ends_with(b"/") && !dir.is_empty() {
                buf.push(b'/');
            }
            buf.extend_from_slice(base);
            buf.push(0);
        }
        FileList {
            buf,
            sep: 0,
            packed: None,
        }
    } else {
        FileList::default()
    };
    let package = Package {
        identity: crate::PackageRef {
            purl: crate::purl::for_package(
                Manager::Rpm,
                distro,
                &name,
                &vr,
                &arch,
                epoch.as_deref(),
            ),
            name: name.into_owned(),
            version,
            arch: arch.into_owned(),
            source_name,
            source_version,
            manager: Manager::Rpm,
            ecosystem: distro.and_then(|d| d.ecosystem.clone()),
        },
        license: h.string(tag::LICENSE)?.map(Cow::into_owned),
        depends: crate::dedup_names(depends),
        installed_size,
        maintainer: h.string(tag::VENDOR)?.map(Cow::into_owned),
        description: h.string(tag::SUMMARY)?.map(Cow::into_owned),
        status: None,
        database: database.to_owned(),
    };
    Ok((package, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            split_srpm("util-linux-2.32.1-42.el8_8.src.rpm"),
            Some(("util-linux", "2.32.1-42.el8_8"))
        );
        assert_eq!(split_srpm("x.src.rpm"), None);
        assert_eq!(split_srpm("a-1-2.nosrc.rpm"), Some(("a", "1-2")));
    }
}
