//! Fuzzes the rpm header parser and every accessor, and the BDB and NDB containers.
//!
//! Invariants beyond "no panic": every string and file name an accessor returns borrows from
//! the input; rebuilding a header from what the accessors read (`header::build`, the writer
//! the tests use) and parsing it again reads the same values (parse, write, parse); every blob
//! the containers hand out lies inside the file, or, assembled from overflow pages, is no
//! longer than the file, all of them together within the documented budget.
#![no_main]

use std::borrow::Cow;

use inuse_pkgdb::rpm::header::{Header, build, tag, types};
use libfuzzer_sys::fuzz_target;

const TYPE_INT64: u32 = 5;

/// Whether `part` is a slice of `data`.
fn inside(data: &[u8], part: &[u8]) -> bool {
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let p = part.as_ptr() as usize;
    part.is_empty() || (start <= p && p + part.len() <= end)
}

fn cstrings<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for s in items {
        out.extend_from_slice(s);
        out.push(0);
    }
    out
}

const STRING_TAGS: [u32; 5] = [
    tag::NAME,
    tag::VERSION,
    tag::RELEASE,
    tag::ARCH,
    tag::SOURCERPM,
];
const ARRAY_TAGS: [u32; 4] = [
    tag::REQUIRENAME,
    tag::BASENAMES,
    tag::DIRNAMES,
    tag::OLDFILENAMES,
];

/// Parses `blob` and checks the accessors; returns the entries to rebuild it from.
fn check(data: &[u8], h: &Header<'_>) -> Vec<(u32, u32, u32, Vec<u8>)> {
    let mut entries = Vec::new();
    for t in STRING_TAGS {
        if let Ok(Some(s)) = h.bytes(t) {
            assert!(inside(data, s));
            entries.push((t, types::STRING, 1, cstrings([s])));
        }
        let _ = h.string(t);
    }
    for t in ARRAY_TAGS {
        if let Ok(v) = h.strings(t) {
            assert!(v.iter().all(|s| inside(data, s)));
            if !v.is_empty() {
                entries.push((t, types::STRING_ARRAY, v.len() as u32, cstrings(v)));
            }
        }
    }
    if let Ok(Some(epoch)) = h.u32(tag::EPOCH) {
        entries.push((tag::EPOCH, types::INT32, 1, epoch.to_be_bytes().to_vec()));
    }
    if let Ok(v) = h.u32s(tag::DIRINDEXES) {
        if !v.is_empty() {
            let bytes = v.iter().flat_map(|x| x.to_be_bytes()).collect();
            entries.push((tag::DIRINDEXES, types::INT32, v.len() as u32, bytes));
        }
    }
    if let Ok(Some(size)) = h.u64(tag::LONGSIZE) {
        entries.push((tag::LONGSIZE, TYPE_INT64, 1, size.to_be_bytes().to_vec()));
    }
    if let Ok(files) = h.files() {
        for (dir, base) in &files {
            assert!(inside(data, dir) && inside(data, base));
        }
    }
    entries
}

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::parse(data) {
        let entries = check(data, &h);
        if !entries.is_empty() {
            let blob = build(&entries);
            let again = Header::parse(&blob).expect("a rebuilt header parses");
            for t in STRING_TAGS {
                assert_eq!(h.bytes(t).ok().flatten(), again.bytes(t).ok().flatten());
            }
            for t in ARRAY_TAGS {
                if let Ok(v) = h.strings(t) {
                    assert_eq!(v, again.strings(t).unwrap());
                }
            }
            if let Ok(Some(epoch)) = h.u32(tag::EPOCH) {
                assert_eq!(again.u32(tag::EPOCH).unwrap(), Some(epoch));
            }
            if let Ok(Some(size)) = h.u64(tag::LONGSIZE) {
                assert_eq!(again.u64(tag::LONGSIZE).unwrap(), Some(size));
            }
            if let Ok(files) = h.files() {
                assert_eq!(files, again.files().expect("rebuilt files read"));
            }
        }
    }
    let mut assembled = 0usize;
    let _ = inuse_pkgdb::rpm::bdb::for_each_blob(data, |_, blob| match blob {
        Ok(Cow::Borrowed(b)) => assert!(inside(data, b)),
        Ok(Cow::Owned(b)) => {
            assert!(
                b.len() <= data.len(),
                "an overflow item longer than the file"
            );
            assembled += b.len();
        }
        Err(_) => {}
    });
    assert!(assembled <= data.len().saturating_mul(4).saturating_add(64 << 20));
    let _ = inuse_pkgdb::rpm::ndb::for_each_blob(data, |_, blob| {
        if let Ok(b) = blob {
            assert!(inside(data, b));
        }
    });
});
