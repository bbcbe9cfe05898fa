//! `ElfInfo::read_file` reads a first page and then only the ranges it needs; whatever the
//! path taken, its answer must be `ElfInfo::parse` of the whole file.

use std::path::{Path, PathBuf};

use inuse_elf::{ElfInfo, Limits};
use inuse_testkit::or_skip;

use crate::support::{Gcc, files_under, host_samples, testdata};

/// `read_file` and `parse` of the whole file agree: the same facts, or the same error.
fn assert_same(path: &Path) {
    let bytes = std::fs::read(path).expect("read a sample");
    let file = std::fs::File::open(path).expect("open a sample");
    let limits = Limits::default();
    let read = ElfInfo::read_file(&file, &limits).map_err(|e| e.to_string());
    let whole = ElfInfo::parse(&bytes[..], &limits).map_err(|e| e.to_string());
    assert_eq!(read, whole, "{}", path.display());
}

/// Every file of the host's library directory and of /usr/bin (ELF or not, small and large:
/// dynamic sections inside and far beyond the first page) and the well-known samples.
#[test]
fn read_file_gives_the_facts_of_the_whole_file() {
    let mut paths: Vec<PathBuf> = host_samples();
    for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/bin"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("NOTE: {dir} not found, not compared");
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() < 1 << 26))
            .collect();
        files.sort();
        paths.extend(files);
    }
    let elf = paths
        .iter()
        .filter(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"\x7fELF") && b.len() > 4096))
        .count();
    assert!(
        elf > 10,
        "only {elf} ELF files larger than a page to compare"
    );
    for path in &paths {
        assert_same(path);
    }
}

/// The shared ELF test data: corrupt, truncated and foreign files.
#[test]
fn read_file_gives_the_facts_of_the_shared_elf_data() {
    let data = or_skip!(testdata());
    let files = files_under(&data.join("elf"));
    assert!(
        !files.is_empty(),
        "no files under {}",
        data.join("elf").display()
    );
    for path in &files {
        assert_same(path);
    }
}

/// A search path longer than 4 KiB, in a library larger than the first page: `object`'s
/// `ReadCache` gives up looking for a string's end after 4 KiB, a slice does not; the loader
/// takes any length, and so do both readers up to `Limits::max_string`.
#[test]
fn long_strings_are_read_whole_from_a_file() {
    let gcc = or_skip!(Gcc::new());
    let long: String = (0..500)
        .map(|i| format!("/opt/dir{i:04}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(long.len() > 5000);
    gcc.write(
        "big.c",
        // Read-only data lies before the dynamic section: it pushes it past 64 KiB.
        "const char pad[200000] = {1};\nint big(void) { return pad[7]; }\n",
    );
    let rpath = format!("-Wl,-rpath,{long}");
    for (name, extra) in [("libsmall.so", &[][..]), ("libbig.so", &["big.c"][..])] {
        gcc.write("small.c", "int small(void) { return 1; }\n");
        let mut args = vec![
            "-shared",
            "-fPIC",
            "small.c",
            "-Wl,--enable-new-dtags",
            &rpath,
        ];
        args.extend(extra);
        let lib = gcc.build(name, &args);
        assert_same(&lib);
        let file = std::fs::File::open(&lib).expect("open the fixture");
        let info = ElfInfo::read_file(&file, &Limits::default()).expect("read the fixture");
        let runpath = info.dynamic.and_then(|d| d.runpath);
        assert_eq!(runpath.as_deref(), Some(long.as_bytes()), "{name}");
    }
}
