//! The rpm header blob, as every rpm database backend stores it.
//!
//! Format (rpm's `doc/manual/format.md`, "Header" section, and `lib/header.c`): the databases
//! store headers without the 8-byte magic that package files carry:
//!
//! ```text
//! u32 il      number of index entries          (big-endian, like everything here)
//! u32 dl      size of the data store
//! il x { i32 tag; u32 type; i32 offset; u32 count }
//! dl bytes    data store
//! ```
//!
//! Pitfalls: every offset and count comes from the file and is checked against the store before
//! use; `il` and `dl` are capped as rpm caps them (`hdrchkTags`, `hdrchkData`); strings must be
//! NUL-terminated inside the store; the region tags 61-63 (`HEADER_IMAGE`, `HEADER_SIGNATURES`,
//! `HEADER_IMMUTABLE`) point at a trailer and are not data we need; `I18NSTRING` holds one
//! string per locale, the first being the C locale. Entries are read lazily and zero-copy.

use std::borrow::Cow;

/// rpm refuses headers with 65536 or more entries (`hdrchkTags`).
pub const MAX_ENTRIES: u32 = 0xffff;
/// rpm refuses data stores of 16 MiB or more (`hdrchkData`).
pub const MAX_DATA: u32 = 0x00ff_ffff;

/// Tags inuse reads (rpm's `include/rpm/rpmtag.h`).
#[allow(missing_docs)]
pub mod tag {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const SUMMARY: u32 = 1004;
    pub const SIZE: u32 = 1009;
    pub const VENDOR: u32 = 1011;
    pub const LICENSE: u32 = 1014;
    pub const ARCH: u32 = 1022;
    pub const OLDFILENAMES: u32 = 1027;
    pub const SOURCERPM: u32 = 1044;
    pub const PROVIDENAME: u32 = 1047;
    pub const REQUIRENAME: u32 = 1049;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const LONGSIZE: u32 = 5009;
}

const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;
const TYPE_MAX: u32 = 9;

/// What is wrong with a header blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Fewer bytes than the header's own sizes announce.
    #[error("blob of {len} bytes is shorter than its index and data store")]
    Truncated {
        /// Length of the blob.
        len: usize,
    },
    /// More index entries than rpm allows.
    #[error("{0} index entries exceed the limit")]
    TooManyEntries(u32),
    /// A data store larger than rpm allows.
    #[error("data store of {0} bytes exceeds the limit")]
    DataTooLarge(u32),
    /// An index entry is inconsistent.
    #[error("tag {tag}: {problem}")]
    Entry {
        /// The tag of the entry.
        tag: u32,
        /// What is wrong.
        problem: &'static str,
    },
}

/// A file of a package: directory (with its trailing `/`) and base name.
pub type FileName<'a> = (&'a [u8], &'a [u8]);

/// A parsed header: the index and the data store, borrowed from the blob.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    index: &'a [u8],
    store: &'a [u8],
}

/// One index entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: usize,
    count: usize,
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

impl<'a> Header<'a> {
    /// Checks the sizes and every index entry's type and offset against the data store.
    pub fn parse(blob: &'a [u8]) -> Result<Header<'a>, HeaderError> {
        let truncated = HeaderError::Truncated { len: blob.len() };
        if blob.len() < 8 {
            return Err(truncated);
        }
        let il = be32(blob, 0);
        let dl = be32(blob, 4);
        if il == 0 || il > MAX_ENTRIES {
            return Err(HeaderError::TooManyEntries(il));
        }
        if dl > MAX_DATA {
            return Err(HeaderError::DataTooLarge(dl));
        }
        let index_len = il as usize * 16;
        let end = 8 + index_len + dl as usize;
        if blob.len() < end {
            return Err(truncated);
        }
        let h = Header {
            index: &blob[8..8 + index_len],
            store: &blob[8 + index_len..end],
        };
        for e in h.entries() {
            if e.ty > TYPE_MAX {
                return Err(HeaderError::Entry {
                    tag: e.tag,
                    problem: "unknown data type",
                });
            }
            if e.offset > h.store.len() {
                return Err(HeaderError::Entry {
                    tag: e.tag,
                    problem: "offset outside the data store",
                });
            }
        }
        Ok(h)
    }

    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.index.chunks_exact(16).map(|e| Entry {
            tag: be32(e, 0),
            ty: be32(e, 4),
            // A negative offset becomes huge and fails every bounds check.
            offset: be32(e, 8) as usize,
            count: be32(e, 12) as usize,
        })
    }

    fn find(&self, tag: u32) -> Option<Entry> {
        self.entries().find(|e| e.tag == tag)
    }

    fn bad(tag: u32, problem: &'static str) -> HeaderError {
        HeaderError::Entry { tag, problem }
    }

    /// The NUL-terminated string at `offset`, and the offset after its NUL.
    fn cstr_at(&self, tag: u32, offset: usize) -> Result<(&'a [u8], usize), HeaderError> {
        let rest = self
            .store
            .get(offset..)
            .ok_or(Self::bad(tag, "string outside the data store"))?;
        let nul = memchr::memchr(0, rest).ok_or(Self::bad(tag, "unterminated string"))?;
        Ok((&rest[..nul], offset + nul + 1))
    }

    /// The raw bytes of a string tag (`STRING`, or the first element of `I18NSTRING` or
    /// `STRING_ARRAY`). `Ok(None)` when the tag is absent.
    pub fn bytes(&self, tag: u32) -> Result<Option<&'a [u8]>, HeaderError> {
        let Some(e) = self.find(tag) else {
            return Ok(None);
        };
        match e.ty {
            TYPE_STRING | TYPE_I18NSTRING | TYPE_STRING_ARRAY if e.count >= 1 => {
                Ok(Some(self.cstr_at(tag, e.offset)?.0))
            }
            _ => Err(Self::bad(tag, "not a string")),
        }
    }

    /// A string tag, lossily decoded.
    pub fn string(&self, tag: u32) -> Result<Option<Cow<'a, str>>, HeaderError> {
        Ok(self.bytes(tag)?.map(String::from_utf8_lossy))
    }

    /// A `STRING_ARRAY` tag (a `STRING` counts as one element). Empty when absent.
    pub fn strings(&self, tag: u32) -> Result<Vec<&'a [u8]>, HeaderError> {
        let Some(e) = self.find(tag) else {
            return Ok(Vec::new());
        };
        if !matches!(e.ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(Self::bad(tag, "not a string array"));
        }
        // Every string takes at least one byte: a larger count cannot be honest, and this
        // bounds the allocation by the store size.
        if e.count > self.store.len() {
            return Err(Self::bad(tag, "count larger than the data store"));
        }
        let mut out = Vec::with_capacity(e.count);
        let mut at = e.offset;
        for _ in 0..e.count {
            let (s, next) = self.cstr_at(tag, at)?;
            out.push(s);
            at = next;
        }
        Ok(out)
    }

    /// An `INT32` array tag. Empty when absent.
    pub fn u32s(&self, tag: u32) -> Result<Vec<u32>, HeaderError> {
        let Some(e) = self.find(tag) else {
            return Ok(Vec::new());
        };
        if e.ty != TYPE_INT32 {
            return Err(Self::bad(tag, "not an INT32"));
        }
        let bytes = e
            .count
            .checked_mul(4)
            .and_then(|n| self.store.get(e.offset..e.offset.checked_add(n)?))
            .ok_or(Self::bad(tag, "INT32 array outside the data store"))?;
        Ok(bytes.chunks_exact(4).map(|c| be32(c, 0)).collect())
    }

    /// The first value of an `INT32` tag.
    pub fn u32(&self, tag: u32) -> Result<Option<u32>, HeaderError> {
        let Some(e) = self.find(tag) else {
            return Ok(None);
        };
        if e.ty != TYPE_INT32 || e.count == 0 {
            return Err(Self::bad(tag, "not an INT32"));
        }
        let b = self
            .store
            .get(e.offset..e.offset.saturating_add(4))
            .ok_or(Self::bad(tag, "INT32 outside the data store"))?;
        Ok(Some(be32(b, 0)))
    }

    /// The first value of an `INT64` tag.
    pub fn u64(&self, tag: u32) -> Result<Option<u64>, HeaderError> {
        let Some(e) = self.find(tag) else {
            return Ok(None);
        };
        if e.ty != TYPE_INT64 || e.count == 0 {
            return Err(Self::bad(tag, "not an INT64"));
        }
        let b = self
            .store
            .get(e.offset..e.offset.saturating_add(8))
            .ok_or(Self::bad(tag, "INT64 outside the data store"))?;
        Ok(Some((u64::from(be32(b, 0)) << 32) | u64::from(be32(b, 4))))
    }

    /// The files of the package as `(directory, base name)` pairs: from
    /// `DIRNAMES`/`BASENAMES`/`DIRINDEXES`, or the legacy `OLDFILENAMES` split at the last `/`.
    pub fn files(&self) -> Result<Vec<FileName<'a>>, HeaderError> {
        let bases = self.strings(tag::BASENAMES)?;
        if bases.is_empty() {
            return Ok(self
                .strings(tag::OLDFILENAMES)?
                .into_iter()
                .map(|p| match memchr::memrchr(b'/', p) {
                    Some(i) => (&p[..=i], &p[i + 1..]),
                    None => (&p[..0], p),
                })
                .collect());
        }
        let dirs = self.strings(tag::DIRNAMES)?;
        let idx = self.u32s(tag::DIRINDEXES)?;
        if idx.len() != bases.len() {
            return Err(Self::bad(tag::DIRINDEXES, "count differs from BASENAMES"));
        }
        bases
            .into_iter()
            .zip(idx)
            .map(|(b, i)| {
                dirs.get(i as usize)
                    .map(|d| (*d, b))
                    .ok_or(Self::bad(tag::DIRINDEXES, "index outside DIRNAMES"))
            })
            .collect()
    }
}

/// Builds a header blob from `(tag, type, count, data)` entries, for tests and fuzz seeds.
#[doc(hidden)]
pub fn build(entries: &[(u32, u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut store = Vec::new();
    for (tag, ty, count, data) in entries {
        if *ty == TYPE_INT32 {
            while store.len() % 4 != 0 {
                store.push(0);
            }
        }
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&ty.to_be_bytes());
        index.extend_from_slice(&(store.len() as u32).to_be_bytes());
        index.extend_from_slice(&count.to_be_bytes());
        store.extend_from_slice(data);
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&store);
    blob
}

/// Type codes for [`build`].
#[doc(hidden)]
pub mod types {
    pub const INT32: u32 = super::TYPE_INT32;
    pub const STRING: u32 = super::TYPE_STRING;
    pub const STRING_ARRAY: u32 = super::TYPE_STRING_ARRAY;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Vec<u8> {
        let mut b = v.as_bytes().to_vec();
        b.push(0);
        b
    }

    #[test]
    fn reads_tags_and_files() {
        let blob = build(&[
            (tag::NAME, TYPE_STRING, 1, s("bash")),
            (tag::EPOCH, TYPE_INT32, 1, 2u32.to_be_bytes().to_vec()),
            (
                tag::DIRNAMES,
                TYPE_STRING_ARRAY,
                2,
                [s("/usr/bin/"), s("/etc/")].concat(),
            ),
            (
                tag::BASENAMES,
                TYPE_STRING_ARRAY,
                2,
                [s("bash"), s("bashrc")].concat(),
            ),
            (
                tag::DIRINDEXES,
                TYPE_INT32,
                2,
                [0u32.to_be_bytes(), 1u32.to_be_bytes()].concat(),
            ),
        ]);
        let h = Header::parse(&blob).expect("valid");
        assert_eq!(h.string(tag::NAME).ok().flatten().as_deref(), Some("bash"));
        assert_eq!(h.u32(tag::EPOCH), Ok(Some(2)));
        assert_eq!(h.u32(tag::SIZE), Ok(None));
        let files = h.files().expect("files");
        assert_eq!(
            files,
            [
                (&b"/usr/bin/"[..], &b"bash"[..]),
                (&b"/etc/"[..], &b"bashrc"[..])
            ]
        );
        assert!(h.u32(tag::NAME).is_err(), "type confusion is an error");
    }

    #[test]
    fn hostile_headers() {
        assert!(matches!(
            Header::parse(b"\0\0"),
            Err(HeaderError::Truncated { .. })
        ));
        let mut absurd = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1];
        absurd.resize(64, 0);
        assert_eq!(
            Header::parse(&absurd).err(),
            Some(HeaderError::TooManyEntries(u32::MAX))
        );
        let huge_dl = [0, 0, 0, 1, 0x7f, 0, 0, 0];
        assert_eq!(
            Header::parse(&huge_dl).err(),
            Some(HeaderError::DataTooLarge(0x7f00_0000))
        );
        // Count far beyond the store, unterminated string, bad offset.
        let mut blob = build(&[(tag::BASENAMES, TYPE_STRING_ARRAY, 1, b"abc".to_vec())]);
        let h = Header::parse(&blob).expect("sizes fine");
        assert!(h.strings(tag::BASENAMES).is_err());
        blob[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Header::parse(&blob).is_err());
        let blob = build(&[(tag::DIRINDEXES, TYPE_INT32, 0x4000_0000, vec![0; 4])]);
        let h = Header::parse(&blob).expect("sizes fine");
        assert!(h.u32s(tag::DIRINDEXES).is_err());
        // Truncated data store.
        let blob = build(&[(tag::NAME, TYPE_STRING, 1, s("x"))]);
        assert!(Header::parse(&blob[..blob.len() - 1]).is_err());
    }
}
