//! Fuzzes the rpm header parser and every accessor, and the BDB and NDB containers.
#![no_main]

use inuse_pkgdb::rpm::header::{Header, tag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::parse(data) {
        for t in [
            tag::NAME,
            tag::VERSION,
            tag::RELEASE,
            tag::ARCH,
            tag::SOURCERPM,
        ] {
            let _ = h.string(t);
        }
        let _ = h.u32(tag::EPOCH);
        let _ = h.u64(tag::LONGSIZE);
        let _ = h.strings(tag::REQUIRENAME);
        let _ = h.files();
    }
    let _ = inuse_pkgdb::rpm::bdb::for_each_blob(data, |_, _| {});
    let _ = inuse_pkgdb::rpm::ndb::for_each_blob(data, |_, _| {});
});
