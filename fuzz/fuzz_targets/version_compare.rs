//! Fuzzes `inuse_version::compare`: the first byte picks the scheme, the rest is up to three
//! versions separated by NUL bytes. Comparing must never panic, must fail or succeed the same
//! way in both directions, must be antisymmetric, reflexive for every version the scheme
//! accepts, consistent with equality (two versions equal to a third are equal to each other)
//! and transitive; an error must display without panicking. The total comparisons
//! (`rpm::vercmp`, `apk::compare_lenient`) must be antisymmetric too.

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
    let mut parts = text.splitn(3, '\0');
    let a = parts.next().unwrap_or("");
    let b = parts.next().unwrap_or("");
    let c = parts.next().unwrap_or("");

    match (compare(scheme, a, b), compare(scheme, b, a)) {
        (Ok(ab), Ok(ba)) => assert_eq!(ab, ba.reverse(), "{scheme}: {a:?} vs {b:?}"),
        (Err(e), Err(f)) => {
            let _ = (e.to_string(), f.to_string(), e.version(), e.scheme());
        }
        (ab, ba) => panic!("{scheme}: {a:?} vs {b:?} is {ab:?}, reversed {ba:?}"),
    }
    for v in [a, b, c] {
        match compare(scheme, v, v) {
            Ok(vv) => assert_eq!(vv, Ordering::Equal, "{scheme}: {v:?} vs itself"),
            Err(e) => drop(e.to_string()),
        }
    }
    if let (Ok(ab), Ok(bc), Ok(ac)) = (
        compare(scheme, a, b),
        compare(scheme, b, c),
        compare(scheme, a, c),
    ) {
        // a <= b <= c implies a <= c, and the same downwards; equal to a common version
        // means equal.
        if ab != Ordering::Greater && bc != Ordering::Greater {
            assert_ne!(ac, Ordering::Greater, "{scheme}: {a:?} <= {b:?} <= {c:?}");
        }
        if ab != Ordering::Less && bc != Ordering::Less {
            assert_ne!(ac, Ordering::Less, "{scheme}: {a:?} >= {b:?} >= {c:?}");
        }
        if ab == Ordering::Equal && bc == Ordering::Equal {
            assert_eq!(ac, Ordering::Equal, "{scheme}: {a:?} = {b:?} = {c:?}");
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
