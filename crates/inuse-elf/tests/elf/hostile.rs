//! Hostile input through every parser: the shared corpus of malformed files, and systematic
//! truncations and byte mutations of real libraries. Results may be errors; a panic, or a hang,
//! fails.

use std::path::{Path, PathBuf};

use inuse_elf::{ElfFile, ElfInfo, Limits};

use inuse_testkit::{Skip, or_skip};

use crate::support::{Gcc, files_under, have_tool, host_library, testdata};

/// Runs every parser over `data`.
fn exercise<'data, R: object::ReadRef<'data>>(data: R) {
    let limits = Limits::default();
    let _ = ElfInfo::parse(data, &limits);
    if let Ok(elf) = ElfFile::parse(data, &limits) {
        let _ = elf.dynamic_symbols();
        let _ = elf.symtab_functions();
        let _ = elf.init_info();
        let _ = elf.notes();
        let _ = elf.file_offset(0);
        let _ = elf.file_offset(u64::MAX);
    }
}

/// Runs every parser over a file, both from memory and through a read cache.
fn exercise_file(path: &Path) {
    let bytes = std::fs::read(path).expect("read test file");
    exercise(&*bytes);
    let file = std::fs::File::open(path).expect("open test file");
    let cache = object::ReadCache::new(file);
    exercise(&cache);
}

#[test]
fn shared_malformed_files_do_not_panic() {
    let data = or_skip!(testdata());
    let files = files_under(&data.join("elf"));
    assert!(
        !files.is_empty(),
        "no files under {}",
        data.join("elf").display()
    );
    let unpacked = tempfile::tempdir().expect("tempdir");
    let gzip = have_tool("gzip");
    let gz = |p: &PathBuf| p.extension().is_some_and(|e| e == "gz");
    if let (Err(skip), true) = (&gzip, files.iter().any(gz)) {
        skip.clone().context("the unpacked .gz files").report();
    }
    for path in &files {
        exercise_file(path);
        if gz(path) && gzip.is_ok() {
            let out = std::process::Command::new("gzip")
                .arg("-dc")
                .arg(path)
                .output()
                .expect("run gzip");
            let name = path.file_stem().expect("file name");
            let target = unpacked.path().join(name);
            std::fs::write(&target, out.stdout).expect("write unpacked file");
            exercise_file(&target);
        }
    }
    eprintln!("{} shared test files parsed without panic", files.len());
}

/// Every prefix of a real library up to 8 KiB, then every 61st: headers, tables and strings
/// cut at every possible point.
#[test]
fn truncated_library_does_not_panic() {
    let Some(path) = host_library("libz.so.1") else {
        Skip::new("no libz.so.1 on this host").report();
        return;
    };
    let bytes = std::fs::read(&path).expect("read libz");
    let lengths = (0..bytes.len().min(8192)).chain((8192..bytes.len()).step_by(61));
    let mut count = 0;
    for len in lengths {
        exercise(&bytes[..len]);
        count += 1;
    }
    eprintln!(
        "{count} truncations of {} parsed without panic",
        path.display()
    );
}

/// Every byte of a small gcc-built library replaced by three values (high bit flipped, 0x00,
/// 0xff), then pseudo-random multi-byte corruptions.
#[test]
fn mutated_library_does_not_panic() {
    let gcc = or_skip!(Gcc::new());
    gcc.write(
        "m.c",
        "#include <stdio.h>\n__attribute__((constructor)) static void c(void) { puts(\"c\"); }\n\
         int v1(void) { return 1; }\n__asm__(\".symver v1,v@@V1\");\n",
    );
    gcc.write("m.map", "V1 { global: v; local: *; };\n");
    let lib = gcc.build(
        "libm.so",
        &[
            "-shared",
            "-fPIC",
            "m.c",
            "-Wl,--version-script=m.map",
            "-Wl,--hash-style=both",
        ],
    );
    let original = std::fs::read(&lib).expect("read fixture");
    let mut bytes = original.clone();
    for i in 0..bytes.len() {
        let keep = bytes[i];
        for value in [keep ^ 0x80, 0x00, 0xff] {
            bytes[i] = value;
            exercise(&*bytes);
        }
        bytes[i] = keep;
    }
    // xorshift64: deterministic, so a failure reproduces.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..5000 {
        let mut bytes = original.clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        exercise(&*bytes);
    }
    eprintln!(
        "{} mutations of a {}-byte library parsed without panic",
        original.len() * 3 + 5000,
        original.len()
    );
}
