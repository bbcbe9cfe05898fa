//! Fuzzes the deb822 stanza parser and the field accessors dpkg loading uses.
#![no_main]

use inuse_pkgdb::dpkg::{Paragraphs, dependency_names, parse_diversions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for para in Paragraphs::new(data).flatten() {
        let _ = para.get("Package");
        let _ = para.get("Status");
        if let Some(deps) = para.folded("Depends") {
            dependency_names(&deps).for_each(drop);
        }
    }
    let _ = parse_diversions(data);
});
