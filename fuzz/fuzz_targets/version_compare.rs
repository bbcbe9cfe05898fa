//! Fuzzes `inuse_version::compare`: the first byte picks the scheme, the rest is two versions
//! separated by a NUL byte. Comparing must never panic, must fail or succeed the same way in
//! both directions, must be antisymmetric, and reflexive for every version the scheme accepts.
//! The total comparisons (`rpm::vercmp`, `apk::compare_lenient`) must be antisymmetric too.

#![no_main]

use std::cmp::Ordering;

use inuse_version::{Scheme, apk, compare, rpm};
use libfuzzer_sys::fuzz_target;

const SCHEMES: [Scheme; 4] = [Scheme::Deb, Scheme::Rpm, Scheme::Apk, Scheme::Semver];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let scheme = SCHEMES[usize::from(selector) % SCHEMES.len()];
    let (a, b) = text.split_once('\0').unwrap_or((text, ""));

    match (compare(scheme, a, b), compare(scheme, b, a)) {
        (Ok(ab), Ok(ba)) => assert_eq!(ab, ba.reverse(), "{scheme}: {a:?} vs {b:?}"),
        (Err(_), Err(_)) => {}
        (ab, ba) => panic!("{scheme}: {a:?} vs {b:?} is {ab:?}, reversed {ba:?}"),
    }
    for v in [a, b] {
        if let Ok(vv) = compare(scheme, v, v) {
            assert_eq!(vv, Ordering::Equal, "{scheme}: {v:?} vs itself");
        }
    }

    match scheme {
        Scheme::Rpm => assert_eq!(rpm::vercmp(a, b), rpm::vercmp(b, a).reverse()),
        Scheme::Apk => {
            if let (Ok(ab), Ok(ba)) = (
                apk::compare_lenient(a, b, false),
                apk::compare_lenient(b, a, false),
            ) {
                assert_eq!(ab, ba.reverse(), "apk lenient: {a:?} vs {b:?}");
            }
        }
        _ => {}
    }
});
