//! Fuzzes the apk `installed` database parser.
//!
//! Invariants beyond "no panic": every value borrows from the input (zero-copy, so every
//! reported string lies inside it) and holds no newline; records come in line order, each
//! accepted one with a name and a version; and writing the accepted records back out as an
//! `installed` file and parsing that gives the same records (parse, write, parse).
#![no_main]

use inuse_pkgdb::apk::{Record, parse_installed};
use libfuzzer_sys::fuzz_target;

/// Whether `part` is a slice of `data`.
fn inside(data: &[u8], part: &str) -> bool {
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let p = part.as_ptr() as usize;
    part.is_empty() || (start <= p && p + part.len() <= end)
}

/// One `X:value` line, CRLF-ended so that a value ending in `\r` survives (the parser strips
/// one `\r` per line).
fn line(out: &mut Vec<u8>, key: u8, value: &str) {
    out.extend_from_slice(&[key, b':']);
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// An `installed` file holding `records`.
fn write(records: &[Record<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        line(&mut out, b'P', r.name);
        line(&mut out, b'V', r.version);
        line(&mut out, b'A', r.arch);
        for (key, value) in [
            (b'o', r.origin),
            (b'L', r.license),
            (b'T', r.description),
            (b'm', r.maintainer),
        ] {
            if let Some(v) = value {
                line(&mut out, key, v);
            }
        }
        if let Some(size) = r.installed_size {
            line(&mut out, b'I', &size.to_string());
        }
        if !r.depends.is_empty() {
            line(&mut out, b'D', &r.depends.join(" "));
        }
        for (dir, file) in &r.files {
            match file {
                None => line(&mut out, b'F', dir),
                Some(f) => line(&mut out, b'R', f),
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_installed(data);
    let mut last_line = 0;
    let mut accepted = Vec::new();
    for rec in parsed.into_iter().flatten() {
        rec.dependency_names().for_each(drop);
        assert!(rec.line > last_line, "records out of line order");
        last_line = rec.line;
        assert!(!rec.name.is_empty() && !rec.version.is_empty());
        let strings = [rec.name, rec.version, rec.arch]
            .into_iter()
            .chain(
                [rec.origin, rec.license, rec.description, rec.maintainer]
                    .into_iter()
                    .flatten(),
            )
            .chain(rec.depends.iter().copied())
            .chain(
                rec.files
                    .iter()
                    .flat_map(|(d, f)| std::iter::once(*d).chain(*f)),
            );
        for s in strings {
            assert!(inside(data, s), "{s:?} does not borrow from the input");
            assert!(!s.contains('\n'));
        }
        accepted.push(rec);
    }
    let text = write(&accepted);
    let again: Vec<Record<'_>> = parse_installed(&text)
        .into_iter()
        .map(|r| r.expect("a written record parses"))
        .collect();
    assert_eq!(again.len(), accepted.len());
    for (a, b) in accepted.iter().zip(&again) {
        assert_eq!(
            Record {
                line: 0,
                ..a.clone()
            },
            Record {
                line: 0,
                ..b.clone()
            }
        );
    }
});
