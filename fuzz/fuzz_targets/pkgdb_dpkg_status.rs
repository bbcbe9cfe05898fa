//! Fuzzes the deb822 stanza parser, the field accessors dpkg loading uses, and the packing of
//! file lists for the owner index.
#![no_main]

use inuse_pkgdb::dpkg::{Paragraphs, dependency_names, parse_diversions};
use inuse_pkgdb::owner::pack_paths;
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
    // Every packed path is absolute and lexically normal, and no more paths come out than
    // lines went in.
    let paths = pack_paths(data, b'\n');
    assert!(paths.len() <= data.split(|&b| b == b'\n').count());
    for p in &paths {
        assert!(p.starts_with(b"/") && !p.ends_with(b"/"));
        assert!(!p.windows(2).any(|w| w == b"//"));
    }
});
