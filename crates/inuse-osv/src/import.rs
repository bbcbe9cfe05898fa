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

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rayon::iter::{IntoParallelIterator, ParallelIterator};
use serde::Serialize;

use crate::model::{Record, RecordView};
use crate::store::{Prepared, Put, StoreError, Writer, deflate};

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

/// Feeds inputs into one import transaction.
///
/// Each call ([`Importer::path`], [`Importer::zip`], [`Importer::json`]) runs a pipeline: the
/// calling thread reads the inputs (for zip archives, the compressed entries) and writes to
/// the store, while a second thread inflates, parses and validates them in parallel batches
/// on the rayon pool. Everything is written and reported in the order it was read, and the
/// limits are applied in that order too, so the outcome is the same as a sequential import's.
pub struct Importer<'w, 's> {
    writer: &'w mut Writer<'s>,
    limits: Limits,
    /// The running report.
    pub report: Report,
}

/// Items per batch handed to the parsing thread.
const BATCH_ITEMS: usize = 256;
/// Bytes (as read) per batch handed to the parsing thread.
const BATCH_BYTES: usize = 4 << 20;
/// Batches queued ahead of the parsing thread.
const BATCHES_AHEAD: usize = 4;

/// Largest zip archive read into memory whole rather than through a buffered reader.
const ZIP_IN_MEMORY: u64 = 256 << 20;

/// Something read, in input order, on its way to the store.
enum Item {
    /// JSON text (one record or an array) named `name`.
    Json { name: String, bytes: Vec<u8> },
    /// A zip entry as stored in archive number `archive`: `raw` is raw deflate when
    /// `deflated`, else the entry itself; `crc` its CRC-32, `size` its declared size.
    Zipped {
        name: String,
        archive: usize,
        raw: Vec<u8>,
        deflated: bool,
        crc: u32,
        size: u64,
    },
    /// An input that was skipped while reading.
    Rejected(Rejected),
}

/// What the parsing thread made of an [`Item`].
struct Parsed {
    /// For a zip entry: its archive and how many bytes it inflated to.
    zip: Option<(usize, u64)>,
    /// Why the item could not be read at all.
    unreadable: Option<Rejected>,
    /// Its records, or why they were rejected.
    records: Vec<Outcome>,
}

enum Outcome {
    Record {
        name: String,
        prepared: Box<Prepared>,
        warnings: Vec<String>,
    },
    Rejected(Rejected),
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
        self.pipeline(|sink| sink.path(path))
    }

    /// Imports the records of a zip archive read from `reader`; `name` names it in reports.
    pub fn zip<R: Read + Seek>(&mut self, reader: R, name: &str) -> Result<(), StoreError> {
        self.pipeline(|sink| sink.zip(reader, name))
    }

    /// Imports the record (or array of records) in `bytes`; `name` names it in reports.
    pub fn json(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.pipeline(|sink| {
            sink.push(Item::Json {
                name: name.to_owned(),
                bytes: bytes.to_vec(),
            })
        })
    }

    /// Runs `read` on this thread with a parsing thread behind it, writing what it parses.
    fn pipeline(
        &mut self,
        read: impl FnOnce(&mut Sink<'_, 's>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let limits = self.limits;
        let writer = &mut *self.writer;
        let report = &mut self.report;
        std::thread::scope(|scope| {
            let (to_parser, parser_in) = mpsc::sync_channel::<Vec<Item>>(BATCHES_AHEAD);
            let (parser_out, from_parser) = mpsc::channel::<Vec<Parsed>>();
            scope.spawn(move || {
                for batch in parser_in {
                    let parsed: Vec<Parsed> = batch
                        .into_par_iter()
                        .map(|item| parse_item(item, &limits))
                        .collect();
                    if parser_out.send(parsed).is_err() {
                        break;
                    }
                }
            });
            let mut sink = Sink {
                limits,
                writer,
                report,
                batch: Vec::new(),
                batch_bytes: 0,
                to_parser: Some(to_parser),
                from_parser,
                in_flight: 0,
                archives: Vec::new(),
                archive_current: None,
                archive_total: 0,
                archive_done: None,
            };
            read(&mut sink)?;
            sink.finish()
            // On an error the sink is dropped here: the parsing thread sees its input end (or
            // its output dropped) and stops, and the scope waits for it.
        })
    }
}

/// The reading end of a pipeline: batches items for the parsing thread and writes what comes
/// back, in order.
struct Sink<'a, 's> {
    limits: Limits,
    writer: &'a mut Writer<'s>,
    report: &'a mut Report,
    batch: Vec<Item>,
    batch_bytes: usize,
    to_parser: Option<mpsc::SyncSender<Vec<Item>>>,
    from_parser: mpsc::Receiver<Vec<Parsed>>,
    /// Batches sent and not yet written.
    in_flight: usize,
    /// Names of the zip archives read, by number.
    archives: Vec<String>,
    /// The archive being written.
    archive_current: Option<usize>,
    /// Bytes inflated so far from it.
    archive_total: u64,
    /// An archive over its total limit: the rest of it is skipped.
    archive_done: Option<usize>,
}

impl<'s> Sink<'_, 's> {
    fn reject(
        &mut self,
        file: &str,
        id: Option<String>,
        reason: impl ToString,
    ) -> Result<(), StoreError> {
        self.push(Item::Rejected(Rejected {
            file: file.to_owned(),
            id,
            reason: reason.to_string(),
        }))
    }

    /// Queues `item`; sends the batch when it is full.
    fn push(&mut self, item: Item) -> Result<(), StoreError> {
        match &item {
            Item::Json { bytes, .. } => self.batch_bytes += bytes.len(),
            Item::Zipped { raw, .. } => self.batch_bytes += raw.len(),
            Item::Rejected(_) => {}
        }
        self.batch.push(item);
        if self.batch.len() >= BATCH_ITEMS || self.batch_bytes >= BATCH_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the current batch to the parsing thread, writing parsed batches meanwhile.
    fn send(&mut self) -> Result<(), StoreError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        loop {
            let Some(to_parser) = &self.to_parser else {
                return Ok(());
            };
            match to_parser.try_send(batch) {
                Ok(()) => {
                    self.in_flight += 1;
                    break;
                }
                Err(mpsc::TrySendError::Full(b)) => {
                    // The parsing thread has work queued, so it will answer.
                    batch = b;
                    self.write_next()?;
                }
                Err(mpsc::TrySendError::Disconnected(_)) => {
                    // The parsing thread died (a panic, which the scope propagates).
                    self.to_parser = None;
                    return Ok(());
                }
            }
        }
        while let Ok(parsed) = self.from_parser.try_recv() {
            self.in_flight -= 1;
            self.write(parsed)?;
        }
        Ok(())
    }

    /// Waits for the next parsed batch and writes it.
    fn write_next(&mut self) -> Result<(), StoreError> {
        match self.from_parser.recv() {
            Ok(parsed) => {
                self.in_flight -= 1;
                self.write(parsed)
            }
            Err(_) => {
                self.in_flight = 0;
                Ok(())
            }
        }
    }

    fn write(&mut self, parsed: Vec<Parsed>) -> Result<(), StoreError> {
        for p in parsed {
            if let Some((archive, inflated)) = p.zip {
                if self.archive_current != Some(archive) {
                    self.archive_current = Some(archive);
                    self.archive_total = 0;
                }
                if self.archive_done == Some(archive) {
                    // Read ahead of the limit being noticed: skipped like the rest.
                    continue;
                }
                self.archive_total += inflated;
                if p.unreadable.is_none() && self.archive_total > self.limits.max_archive_bytes {
                    let name = self.archives.get(archive).cloned().unwrap_or_default();
                    self.report.rejected.push(Rejected {
                        file: name,
                        id: None,
                        reason: format!(
                            "inflates beyond the limit of {} bytes in total; the rest of the archive is skipped",
                            self.limits.max_archive_bytes
                        ),
                    });
                    self.archive_done = Some(archive);
                    continue;
                }
            }
            if let Some(r) = p.unreadable {
                self.report.rejected.push(r);
                continue;
            }
            for o in p.records {
                match o {
                    Outcome::Rejected(r) => self.report.rejected.push(r),
                    Outcome::Record {
                        name,
                        prepared,
                        warnings,
                    } => {
                        for w in warnings {
                            self.report.warnings.push(Rejected {
                                file: name.clone(),
                                id: Some(prepared.id().to_owned()),
                                reason: w,
                            });
                        }
                        self.report.records += 1;
                        match self.writer.put_prepared(*prepared, &name)? {
                            Put::Added => self.report.added += 1,
                            Put::Replaced => self.report.replaced += 1,
                            Put::Unchanged => self.report.unchanged += 1,
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends what is left and writes everything still being parsed.
    fn finish(mut self) -> Result<(), StoreError> {
        self.send()?;
        self.to_parser = None;
        while self.in_flight > 0 {
            self.write_next()?;
        }
        Ok(())
    }

    fn path(&mut self, path: &Path) -> Result<(), StoreError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return self.reject(&path.display().to_string(), None, e),
        };
        if meta.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = walk(path, &mut files) {
                self.reject(&path.display().to_string(), None, e)?;
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
            Err(e) => return self.reject(&name, None, e),
        };
        let mut magic = [0u8; 4];
        let is_zip = f.read_exact(&mut magic).is_ok() && magic == *b"PK\x03\x04";
        if let Err(e) = f.rewind() {
            return self.reject(&name, None, e);
        }
        if is_zip {
            // Reading an entry seeks to it, which empties a `BufReader`: two system calls per
            // entry. An archive of a usual size is read whole instead.
            let len = f.metadata().map_or(u64::MAX, |m| m.len());
            if len <= ZIP_IN_MEMORY {
                let mut bytes = Vec::with_capacity(len as usize);
                return match f.read_to_end(&mut bytes) {
                    Ok(_) => self.zip(io::Cursor::new(bytes), &name),
                    Err(e) => self.reject(&name, None, e),
                };
            }
            return self.zip(io::BufReader::new(f), &name);
        }
        match read_bounded(&mut f, self.limits.max_record_bytes) {
            Ok(bytes) => self.push(Item::Json { name, bytes }),
            Err(e) => self.reject(&name, None, e),
        }
    }

    fn zip<R: Read + Seek>(&mut self, reader: R, name: &str) -> Result<(), StoreError> {
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => return self.reject(name, None, format!("not a readable zip: {e}")),
        };
        let limits = self.limits;
        if archive.len() > limits.max_archive_entries {
            return self.reject(
                name,
                None,
                format!(
                    "{} entries, more than the limit of {}",
                    archive.len(),
                    limits.max_archive_entries
                ),
            );
        }
        let number = self.archives.len();
        self.archives.push(name.to_owned());
        // Deflate grows incompressible data by a few bytes per 16 KiB block at most: a
        // compressed entry larger than this cannot inflate within the limit.
        let max_compressed = limits.max_record_bytes + limits.max_record_bytes / 256 + 1024;
        for i in 0..archive.len() {
            if self.archive_done == Some(number) {
                break;
            }
            // The compressed bytes only: they are inflated (and checked against the limits
            // and their CRC) by the parsing thread.
            let mut entry = match archive.by_index_raw(i) {
                Ok(e) => e,
                Err(e) => {
                    self.reject(name, None, format!("entry {i}: {e}"))?;
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
            let problem = if entry.encrypted() {
                Some(format!("entry {i}: encrypted"))
            } else if !matches!(
                entry.compression(),
                zip::CompressionMethod::Deflated | zip::CompressionMethod::Stored
            ) {
                Some(format!(
                    "entry {i}: unsupported compression method {}",
                    entry.compression()
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                drop(entry);
                self.reject(name, None, problem)?;
                continue;
            }
            let size = entry.size();
            if size > limits.max_record_bytes {
                drop(entry);
                self.reject(
                    &entry_name,
                    None,
                    format!(
                        "declares {size} bytes uncompressed, more than the limit of {}",
                        limits.max_record_bytes
                    ),
                )?;
                continue;
            }
            let deflated = entry.compression() == zip::CompressionMethod::Deflated;
            let crc = entry.crc32();
            let mut raw = Vec::with_capacity(entry.compressed_size().min(max_compressed) as usize);
            let read = (&mut entry).take(max_compressed + 1).read_to_end(&mut raw);
            drop(entry);
            if let Err(e) = read {
                self.reject(&entry_name, None, e)?;
                continue;
            }
            if raw.len() as u64 > max_compressed {
                self.reject(
                    &entry_name,
                    None,
                    format!(
                        "inflates beyond the limit of {} bytes",
                        limits.max_record_bytes
                    ),
                )?;
                continue;
            }
            self.push(Item::Zipped {
                name: entry_name,
                archive: number,
                raw,
                deflated,
                crc,
                size,
            })?;
        }
        Ok(())
    }
}

/// Inflates (if need be) and parses one item.
fn parse_item(item: Item, limits: &Limits) -> Parsed {
    let mut parsed = Parsed {
        zip: None,
        unreadable: None,
        records: Vec::new(),
    };
    match item {
        Item::Rejected(r) => parsed.unreadable = Some(r),
        Item::Json { name, bytes } => parse_json(name, &bytes, None, &mut parsed.records),
        Item::Zipped {
            name,
            archive,
            raw,
            deflated,
            crc,
            size,
        } => {
            let max = limits.max_record_bytes;
            let (bytes, read, raw) = if deflated {
                let (buf, read) = inflate_entry(&raw, size, max);
                (buf, read, Some(raw))
            } else {
                (raw, Ok(()), None)
            };
            parsed.zip = Some((archive, bytes.len() as u64));
            let problem = match read {
                Err(e) => Some(e.to_string()),
                Ok(()) if bytes.len() as u64 > max => {
                    Some(format!("inflates beyond the limit of {max} bytes"))
                }
                Ok(()) => {
                    let mut sum = flate2::Crc::new();
                    sum.update(&bytes);
                    (sum.sum() != crc).then(|| "invalid checksum".to_owned())
                }
            };
            if let Some(reason) = problem {
                parsed.unreadable = Some(Rejected {
                    file: name,
                    id: None,
                    reason,
                });
            } else {
                // The entry's compressed bytes just inflated to `bytes`: the store keeps them
                // as they are rather than compressing the record again.
                parse_json(name, &bytes, raw, &mut parsed.records);
            }
        }
    }
    parsed
}

thread_local! {
    /// The inflate state of this parsing thread, reset for each entry: allocating one (and its
    /// 32 KiB window) per entry costs more than inflating a small record.
    static INFLATE: RefCell<flate2::Decompress> = RefCell::new(flate2::Decompress::new(false));
}

/// Inflates the raw deflate stream `raw` (declaring `size` bytes) into at most `max + 1`
/// bytes, stopping there; a corrupt or truncated stream is an error, as from
/// [`flate2::read::DeflateDecoder`] (whose messages these are), with what was inflated.
fn inflate_entry(raw: &[u8], size: u64, max: u64) -> (Vec<u8>, io::Result<()>) {
    let limit = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    // The declared size is a hint (it may lie), grown from as needed up to the limit.
    let mut out: Vec<u8> = Vec::with_capacity(usize::try_from(size).unwrap_or(limit).min(limit));
    let result = INFLATE.with(|d| {
        let mut d = d.borrow_mut();
        d.reset(false);
        loop {
            if out.len() >= limit {
                return Ok(());
            }
            if out.len() == out.capacity() {
                let more = out.capacity().max(4096).min(limit - out.len());
                out.reserve_exact(more);
            }
            let consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
            let before = out.len();
            let input = raw.get(consumed..).unwrap_or_default();
            match d.decompress_vec(input, &mut out, flate2::FlushDecompress::Finish) {
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "corrupt deflate stream",
                    ));
                }
                Ok(flate2::Status::StreamEnd) => return Ok(()),
                Ok(_) if out.len() == before && out.len() < out.capacity() => {
                    // No progress with room to write: the input ended before the stream.
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "incomplete deflate stream",
                    ));
                }
                Ok(_) => {}
            }
        }
    });
    out.truncate(limit);
    (out, result)
}

/// Parses a record, or the records of an array; `deflated` is `bytes` compressed, if known.
fn parse_json(name: String, bytes: &[u8], deflated: Option<Vec<u8>>, out: &mut Vec<Outcome>) {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        out.push(parse_one(name, bytes, deflated));
        return;
    }
    let items: Vec<&serde_json::value::RawValue> = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            out.push(Outcome::Rejected(Rejected {
                file: name,
                id: None,
                reason: format!("invalid JSON: {e}"),
            }));
            return;
        }
    };
    for (i, item) in items.iter().enumerate() {
        out.push(parse_one(
            format!("{name}[{i}]"),
            item.get().as_bytes(),
            None,
        ));
    }
}

fn parse_one(name: String, bytes: &[u8], deflated: Option<Vec<u8>>) -> Outcome {
    // Validated as `Record::from_json` does, but what is stored is derived from the strings
    // of `bytes` rather than from copies of them.
    match RecordView::from_json(bytes) {
        Ok(mut record) => {
            let deflated = deflated.unwrap_or_else(|| deflate(bytes));
            let warnings = std::mem::take(&mut record.warnings);
            Outcome::Record {
                name,
                prepared: Box::new(Prepared::of(&record, deflated)),
                warnings,
            }
        }
        Err(e) => Outcome::Rejected(Rejected {
            file: name,
            id: Record::sniff_id(bytes),
            reason: e.to_string(),
        }),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// What `DeflateDecoder` read through `take` made of `raw`: the reference behaviour.
    fn reference(raw: &[u8], max: u64) -> (Vec<u8>, Result<(), String>) {
        let mut buf = Vec::new();
        let read = flate2::read::DeflateDecoder::new(raw)
            .take(max + 1)
            .read_to_end(&mut buf);
        (buf, read.map(drop).map_err(|e| e.to_string()))
    }

    #[test]
    fn inflate_entry_behaves_as_the_deflate_decoder() {
        let json: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{{\"n\":{},\"s\":\"{}\"}},", i, i * 7919 % 1000).into_bytes())
            .collect();
        let good = crate::store::deflate(&json);
        let mut garbage = good.clone();
        garbage.extend_from_slice(b"trailing bytes");
        let mut corrupt = good.clone();
        for b in corrupt.iter_mut().skip(40).take(64) {
            *b ^= 0x5a;
        }
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("good", good.clone()),
            ("empty", Vec::new()),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("one byte", good[..1].to_vec()),
            ("corrupt", corrupt),
            ("trailing garbage", garbage),
            ("not deflate", vec![0xff; 100]),
        ];
        for (what, raw) in &cases {
            // Declared sizes: right, too small, too large; limits: above, at and below.
            for size in [json.len() as u64, 10, 1 << 30] {
                for max in [16 << 20, json.len() as u64, 1000, 0] {
                    let (bytes, result) = inflate_entry(raw, size, max);
                    let (want, want_result) = reference(raw, max);
                    let result = result.map_err(|e| e.to_string());
                    assert_eq!(result, want_result, "{what}, size {size}, max {max}");
                    if want_result.is_ok() {
                        assert_eq!(bytes, want, "{what}, size {size}, max {max}");
                    }
                }
            }
        }
        let (bytes, result) = inflate_entry(&good, 0, 16 << 20);
        assert!(result.is_ok());
        assert_eq!(bytes, json);
    }
}
