//! Fuzzes the parsers of `/proc` text in `inuse-runtime`: `/proc` content is chosen in part by
//! the processes we inspect (command names, file and socket paths), so every parser must
//! survive anything. The first byte picks the parser, the rest is the file.
//!
//! Invariants checked beyond "no panic": a parsed stat line's command name is a substring of
//! the input's text between its first `(` and last `)`; a mapping never ends before it starts.

#![no_main]

use inuse_runtime::{cgroup, maps, net, process, stat, status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 8 {
        0 => {
            if let Ok(s) = stat::parse(rest) {
                let open = rest.iter().position(|&b| b == b'(').unwrap_or(0);
                let close = rest.iter().rposition(|&b| b == b')').unwrap_or(rest.len());
                let inner = String::from_utf8_lossy(&rest[open + 1..close]);
                assert_eq!(s.comm, inner);
            }
        }
        1 => {
            let (mappings, _bad) = maps::parse(rest);
            for m in mappings {
                assert!(m.end >= m.start);
                let _ = m.len();
            }
        }
        2 => {
            let _ = status::parse(rest);
        }
        3 => {
            for proto in net::Proto::ALL {
                let _ = net::parse_inet(rest, proto);
            }
        }
        4 => {
            let _ = net::parse_unix(rest);
        }
        5 => {
            let _ = cgroup::container(rest);
        }
        6 => {
            let _ = process::smaps_field(rest, b"Referenced:");
        }
        _ => {
            let _ = process::in_root_path(rest, std::path::Path::new("/tmp/r"));
        }
    }
});
