//! Fuzzes the deb822 stanza parser, the field accessors dpkg loading uses, and the packing of
//! file lists for the owner index.
//!
//! Invariants beyond "no panic": every field name and value borrows from the input; stanzas
//! come in line order; writing the accepted stanzas back out and parsing that gives the same
//! fields (parse, write, parse); packed paths are absolute and lexically normal, and no more
//! come out than lines went in.
#![no_main]

use inuse_pkgdb::dpkg::{Paragraph, Paragraphs, dependency_names, parse_diversions};
use inuse_pkgdb::owner::pack_paths;
use libfuzzer_sys::fuzz_target;

/// Whether `part` is a slice of `data`.
fn inside(data: &[u8], part: &[u8]) -> bool {
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let p = part.as_ptr() as usize;
    part.is_empty() || (start <= p && p + part.len() <= end)
}

/// The stanzas as a file: `Name:value` with the raw value (continuation lines included),
/// CRLF after each field so that a value ending in `\r` survives, a blank line after each.
fn write(paragraphs: &[Paragraph<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in paragraphs {
        for f in &p.fields {
            out.extend_from_slice(f.name);
            out.push(b':');
            out.extend_from_slice(f.value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn fields<'a>(p: &Paragraph<'a>) -> Vec<(&'a [u8], &'a [u8])> {
    p.fields.iter().map(|f| (f.name, f.value)).collect()
}

fuzz_target!(|data: &[u8]| {
    let mut accepted = Vec::new();
    let mut last_line = 0;
    for para in Paragraphs::new(data).flatten() {
        let _ = para.get("Package");
        let _ = para.get("Status");
        if let Some(deps) = para.folded("Depends") {
            dependency_names(&deps).for_each(drop);
        }
        assert!(para.line > last_line, "stanzas out of line order");
        last_line = para.line;
        for f in &para.fields {
            assert!(inside(data, f.name) && inside(data, f.value));
            assert!(!f.name.is_empty());
        }
        accepted.push(para);
    }
    let text = write(&accepted);
    let again: Vec<Paragraph<'_>> = Paragraphs::new(&text)
        .map(|p| p.expect("a written stanza parses"))
        .collect();
    assert_eq!(again.len(), accepted.len());
    for (a, b) in accepted.iter().zip(&again) {
        assert_eq!(fields(a), fields(b));
    }

    let _ = parse_diversions(data);
    let paths = pack_paths(data, b'\n');
    assert!(paths.len() <= data.split(|&b| b == b'\n').count());
    for p in &paths {
        assert!(p.starts_with(b"/") && !p.ends_with(b"/"));
        assert!(!p.windows(2).any(|w| w == b"//"));
    }
});
