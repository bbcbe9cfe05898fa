//! Fuzzes the readers of metadata embedded in ELF files: the whole-file scan (Go build
//! information through sections or segments, `.dep-v0`, `.note.package`), the Go header at
//! the start of the input, and the `cargo auditable` zlib+JSON decoder.
#![no_main]

use inuse_pkgdb::embedded::{parse_auditable, parse_go_header, scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(e)) = scan(data) {
        drop(e.packages(std::path::Path::new("/f"), true));
    }
    // Pointers of the old Go format are followed into the input itself.
    let _ = parse_go_header(data, &|at, len| {
        let start = usize::try_from(at).ok()?;
        data.get(start..start.checked_add(usize::try_from(len).ok()?)?)
    });
    let _ = parse_auditable(data);
});
