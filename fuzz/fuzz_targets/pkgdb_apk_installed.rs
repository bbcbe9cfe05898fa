//! Fuzzes the apk `installed` database parser.
#![no_main]

use inuse_pkgdb::apk::parse_installed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for rec in parse_installed(data).into_iter().flatten() {
        rec.dependency_names().for_each(drop);
    }
});
