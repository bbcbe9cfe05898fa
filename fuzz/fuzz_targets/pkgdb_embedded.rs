//! Fuzzes the readers of metadata embedded in ELF files: the whole-file scan (Go build
//! information through sections or segments, `.dep-v0`, `.note.package`), the Go header at
//! the start of the input, and the `cargo auditable` zlib+JSON decoder.
//!
//! Invariants beyond "no panic": every dependency index of an accepted crate list is inside
//! the list; Go module information written back out in `go version -m` form and parsed again
//! gives the same modules (parse, write, parse); a package note has a type and a name.
#![no_main]

use inuse_pkgdb::embedded::{
    AuditableCrate, GoBuildInfo, GoModule, parse_auditable, parse_go_header, parse_modinfo, scan,
};
use libfuzzer_sys::fuzz_target;

/// The module lines of `info` as the Go linker writes them, CRLF-ended so that a field ending
/// in `\r` survives `str::lines`.
fn write_modinfo(info: &GoBuildInfo) -> String {
    let mut out = String::new();
    let mut module = |key: &str, m: &GoModule| {
        out.push_str(&format!("{key}\t{}\t{}", m.path, m.version));
        if let Some(sum) = &m.sum {
            out.push_str(&format!("\t{sum}"));
        }
        out.push_str("\r\n");
        if let Some((path, version)) = &m.replace {
            out.push_str(&format!("=>\t{path}\t{version}\r\n"));
        }
    };
    if let Some(main) = &info.main {
        module("mod", main);
    }
    for dep in &info.deps {
        module("dep", dep);
    }
    if let Some(path) = &info.path {
        out.push_str(&format!("path\t{path}\r\n"));
    }
    out
}

fn check_go(info: &GoBuildInfo) {
    let mut again = GoBuildInfo {
        go_version: info.go_version.clone(),
        ..GoBuildInfo::default()
    };
    parse_modinfo(&write_modinfo(info), &mut again);
    assert_eq!(&again, info);
}

fn check_crates(crates: &[AuditableCrate]) {
    for c in crates {
        assert!(c.dependencies.iter().all(|&d| d < crates.len()));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(e)) = scan(data) {
        if let Some(go) = &e.go {
            check_go(go);
        }
        check_crates(&e.cargo);
        if let Some(note) = &e.note {
            assert!(!note.name.is_empty() && !note.ty.is_empty());
        }
        for p in e.packages(std::path::Path::new("/f"), true) {
            let _ = format!("{p:?}");
        }
    }
    // Pointers of the old Go format are followed into the input itself.
    if let Ok(info) = parse_go_header(data, &|at, len| {
        let start = usize::try_from(at).ok()?;
        data.get(start..start.checked_add(usize::try_from(len).ok()?)?)
    }) {
        check_go(&info);
    }
    if let Ok(crates) = parse_auditable(data) {
        check_crates(&crates);
    }
});
