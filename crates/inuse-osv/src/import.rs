//! Reading OSV records from files, directories and zip archives into the store.
//!
//! The inputs are hostile until validated: a zip from the network can claim small sizes and
//! inflate to gigabytes (a zip bomb), a JSON file can be huge or nested absurdly deep. So every
//! read is bounded by [`Limits`] (per file, per zip entry, in total, and in entries) *while
//! reading*, not by the sizes the archive declares; serde_json bounds nesting depth. A record
//! that does not validate is reported ([`Rejected`]: file, id if one can be found, reason) and
//! skipped; it never aborts the rest. Only a failure of the store itself aborts, and then the
//! whole import rolls back.
//!
//! Layout understood: a `.json` file holding one record or an array of records; a directory
//! (searched recursively, symlinks not followed) of such files and of zips; a zip whose `.json`
//! entries are records, as osv.dev's per-ecosystem `all.zip`.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::Record;
use crate::store::{Put, StoreError, Writer};

/// Bounds on what an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest JSON file or zip entry, uncompressed, in bytes.
    pub max_record_bytes: u64,
    /// Most bytes decompressed from one zip archive, in total.
    pub max_archive_bytes: u64,
    /// Most entries in one zip archive.
    pub max_archive_entries: usize,
}

impl Default for Limits {
    /// 16 MiB per record (the largest real OSV records, kernel advisories, are a few MiB),
    /// 4 GiB per archive (osv.dev's largest `all.zip` inflates to about 1.5 GiB),
    /// 2,000,000 entries per archive.
    fn default() -> Self {
        Limits {
            max_record_bytes: 16 << 20,
            max_archive_bytes: 4 << 30,
            max_archive_entries: 2_000_000,
        }
    }
}

/// An input or record that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The file (for zip entries `ARCHIVE:ENTRY`).
    pub file: String,
    /// The record id, when it could be read.
    pub id: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}: {}: {}", self.file, id, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Records read and valid.
    pub records: u64,
    /// New records.
    pub added: u64,
    /// Records replaced by a newer copy.
    pub replaced: u64,
    /// Records already stored as new or newer.
    pub unchanged: u64,
    /// Skipped inputs and records.
    pub rejected: Vec<Rejected>,
    /// Parts of valid records that were dropped (bad severity vectors, unknown ecosystems).
    pub warnings: Vec<Rejected>,
}

impl Report {
    fn reject(&mut self, file: &str, id: Option<String>, reason: impl ToString) {
        self.rejected.push(Rejected {
            file: file.to_owned(),
            id,
            reason: reason.to_string(),
        });
    }
}

/// Feeds inputs into one import transaction.
pub struct Importer<'w, 's> {
    writer: &'w mut Writer<'s>,
    limits: Limits,
    /// The running report.
    pub report: Report,
}

impl<'w, 's> Importer<'w, 's> {
    /// An importer writing through `writer`.
    pub fn new(writer: &'w mut Writer<'s>, limits: Limits) -> Self {
        Importer {
            writer,
            limits,
            report: Report::default(),
        }
    }

    /// Imports a file or directory. Unreadable inputs are reported, not fatal.
    pub fn path(&mut self, path: &Path) -> Result<(), StoreError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.report.reject(&path.display().to_string(), None, e);
                return Ok(());
            }
        };
        if meta.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = walk(path, &mut files) {
                self.report.reject(&path.display().to_string(), None, e);
            }
            files.sort();
            for f in files {
                self.file(&f)?;
            }
            Ok(())
        } else {
            self.file(path)
        }
    }

    fn file(&mut self, path: &Path) -> Result<(), StoreError> {
        let name = path.display().to_string();
        let mut f = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                self.report.reject(&name, None, e);
                return Ok(());
            }
        };
        let mut magic = [0u8; 4];
        let is_zip = f.read_exact(&mut magic).is_ok() && magic == *b"PK\x03\x04";
        if let Err(e) = f.rewind() {
            self.report.reject(&name, None, e);
            return Ok(());
        }
        if is_zip {
            return self.zip(f, &name);
        }
        match read_bounded(&mut f, self.limits.max_record_bytes) {
            Ok(bytes) => self.json(&name, &bytes),
            Err(e) => {
                self.report.reject(&name, None, e);
                Ok(())
            }
        }
    }

    /// Imports the records of a zip archive read from `reader`; `name` names it in reports.
    pub fn zip<R: Read + Seek>(&mut self, reader: R, name: &str) -> Result<(), StoreError> {
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => {
                self.report
                    .reject(name, None, format!("not a readable zip: {e}"));
                return Ok(());
            }
        };
        if archive.len() > self.limits.max_archive_entries {
            self.report.reject(
                name,
                None,
                format!(
                    "{} entries, more than the limit of {}",
                    archive.len(),
                    self.limits.max_archive_entries
                ),
            );
            return Ok(());
        }
        let mut total: u64 = 0;
        let mut buf = Vec::new();
        for i in 0..archive.len() {
            let mut entry = match archive.by_index(i) {
                Ok(e) => e,
                Err(e) => {
                    self.report.reject(name, None, format!("entry {i}: {e}"));
                    continue;
                }
            };
            if entry.is_dir() {
                continue;
            }
            let entry_name = format!("{name}:{}", entry.name());
            if !entry.name().ends_with(".json") {
                continue;
            }
            if entry.size() > self.limits.max_record_bytes {
                self.report.reject(
                    &entry_name,
                    None,
                    format!(
                        "declares {} bytes uncompressed, more than the limit of {}",
                        entry.size(),
                        self.limits.max_record_bytes
                    ),
                );
                continue;
            }
            buf.clear();
            // Bounded by what is actually inflated, whatever the header claims.
            let read = (&mut entry)
                .take(self.limits.max_record_bytes + 1)
                .read_to_end(&mut buf);
            total += buf.len() as u64;
            if let Err(e) = read {
                self.report.reject(&entry_name, None, e);
                continue;
            }
            if buf.len() as u64 > self.limits.max_record_bytes {
                self.report.reject(
                    &entry_name,
                    None,
                    format!(
                        "inflates beyond the limit of {} bytes",
                        self.limits.max_record_bytes
                    ),
                );
                continue;
            }
            if total > self.limits.max_archive_bytes {
                self.report.reject(
                    name,
                    None,
                    format!(
                        "inflates beyond the limit of {} bytes in total; the rest of the archive is skipped",
                        self.limits.max_archive_bytes
                    ),
                );
                break;
            }
            let bytes = std::mem::take(&mut buf);
            self.json(&entry_name, &bytes)?;
            buf = bytes;
        }
        Ok(())
    }

    /// Imports the record (or array of records) in `bytes`; `name` names it in reports.
    pub fn json(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            let items: Vec<&serde_json::value::RawValue> = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                Err(e) => {
                    self.report.reject(name, None, format!("invalid JSON: {e}"));
                    return Ok(());
                }
            };
            for (i, item) in items.iter().enumerate() {
                self.one(&format!("{name}[{i}]"), item.get().as_bytes())?;
            }
            Ok(())
        } else {
            self.one(name, bytes)
        }
    }

    fn one(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let record = match Record::from_json(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.report.reject(name, Record::sniff_id(bytes), e);
                return Ok(());
            }
        };
        for w in &record.warnings {
            self.report.warnings.push(Rejected {
                file: name.to_owned(),
                id: Some(record.id.clone()),
                reason: w.clone(),
            });
        }
        self.report.records += 1;
        match self.writer.put(&record, bytes, name)? {
            Put::Added => self.report.added += 1,
            Put::Replaced => self.report.replaced += 1,
            Put::Unchanged => self.report.unchanged += 1,
        }
        Ok(())
    }
}

/// Reads at most `max` bytes; more is an error.
fn read_bounded(r: &mut impl Read, max: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::other(format!(
            "larger than the limit of {max} bytes"
        )));
    }
    Ok(buf)
}

/// `.json` and `.zip` files below `dir`, without following symlinks.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "json" || e == "zip") {
            out.push(path);
        }
    }
    Ok(())
}
