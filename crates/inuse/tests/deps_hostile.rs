//! `inuse deps` on hostile and broken input: every bad file gets its own error, the good
//! inputs of the same run are still analysed, the exit code says "partial" (3), nothing
//! panics (101) and nothing hangs.
//!
//! The crafted files are mutations of a real executable built here, one broken field each,
//! so each names the check it exercises. The shared corpus in `/work/shared/data/elf`
//! (`$INUSE_TESTDATA/elf`) adds real-world damage and foreign architectures.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use inuse_testkit::{CBuild, DepsReport, Inuse, InuseOutput, Skip, or_skip, testdata_dir};

/// Generous for a debug build, far below what any hang would take.
const BOUND: Duration = Duration::from_secs(60);

const PT_DYNAMIC: u32 = 2;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;

fn inuse() -> Inuse {
    Inuse::new(env!("CARGO_BIN_EXE_inuse")).timeout(BOUND)
}

/// Program headers of a 64-bit little-endian ELF file: (header offset, p_type, p_offset,
/// p_filesz).
fn phdrs(b: &[u8]) -> Vec<(usize, u32, u64, u64)> {
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let (phoff, size, num) = (
        u64_at(32) as usize,
        u16_at(54) as usize,
        u16_at(56) as usize,
    );
    (0..num)
        .map(|i| phoff + i * size)
        .map(|ph| (ph, u32_at(ph), u64_at(ph + 8), u64_at(ph + 32)))
        .collect()
}

/// File offsets of the dynamic entries with tag `tag` (of the d_val field).
fn dynamic_values(b: &[u8], tag: u64) -> Vec<usize> {
    let (_, _, off, size) = phdrs(b).into_iter().find(|p| p.1 == PT_DYNAMIC).unwrap();
    (off as usize..(off + size) as usize)
        .step_by(16)
        .filter(|&e| u64::from_le_bytes(b[e..e + 8].try_into().unwrap()) == tag)
        .map(|e| e + 8)
        .collect()
}

fn put(b: &mut [u8], at: usize, value: &[u8]) {
    b[at..at + value.len()].copy_from_slice(value);
}

/// Writes each broken variant of `good` into `dir`; returns name -> path.
fn crafted(dir: &Path, good: &Path) -> BTreeMap<&'static str, PathBuf> {
    let bytes = std::fs::read(good).unwrap();
    let dyn_ph = phdrs(&bytes)
        .into_iter()
        .find(|p| p.1 == PT_DYNAMIC)
        .unwrap();
    let mut variants: Vec<(&'static str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("only-magic", b"\x7fELF".to_vec()),
        ("truncated-ident", bytes[..20].to_vec()),
        ("truncated-after-header", bytes[..64].to_vec()),
        // Cut in the middle of the dynamic section: headers intact, entries gone.
        (
            "truncated-in-dynamic",
            bytes[..dyn_ph.2 as usize + 24].to_vec(),
        ),
    ];

    let mut b = bytes.clone();
    put(&mut b, 32, &u64::MAX.wrapping_sub(0xfff).to_le_bytes());
    variants.push(("phoff-beyond-eof", b));

    let mut b = bytes.clone();
    put(&mut b, 56, &(u16::MAX - 1).to_le_bytes());
    variants.push(("phnum-absurd", b));

    // PN_XNUM (0xffff) means "the count is in section header 0" for *sections*; neither the
    // kernel (binfmt_elf: "Exec format error") nor ld.so ("cannot read file data") honours it
    // for program headers, so the file cannot be loaded.
    let mut b = bytes.clone();
    put(&mut b, 56, &u16::MAX.to_le_bytes());
    variants.push(("phnum-pn-xnum", b));

    let mut b = bytes.clone();
    put(&mut b, 54, &1u16.to_le_bytes());
    variants.push(("phentsize-too-small", b));

    let mut b = bytes.clone();
    put(&mut b, dyn_ph.0 + 8, &(1u64 << 40).to_le_bytes());
    variants.push(("dynamic-offset-beyond-eof", b));

    let mut b = bytes.clone();
    put(&mut b, dyn_ph.0 + 32, &(u64::MAX / 2).to_le_bytes());
    put(&mut b, dyn_ph.0 + 40, &(u64::MAX / 2).to_le_bytes());
    variants.push(("dynamic-size-absurd", b));

    let mut b = bytes.clone();
    for at in dynamic_values(&bytes, DT_STRTAB) {
        put(&mut b, at, &(1u64 << 50).to_le_bytes());
    }
    variants.push(("strtab-unmapped", b));

    let mut b = bytes.clone();
    for at in dynamic_values(&bytes, DT_NEEDED) {
        put(&mut b, at, &(u64::MAX - 7).to_le_bytes());
    }
    variants.push(("needed-offset-absurd", b));

    let mut b = bytes.clone();
    b[4] = 7; // EI_CLASS neither 32 nor 64 bit
    variants.push(("bad-class", b));

    let mut out = BTreeMap::new();
    for (name, contents) in variants {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        out.insert(name, path);
    }
    out
}

/// Files that are not regular files or cannot be read even by root.
fn special(dir: &Path) -> Result<BTreeMap<&'static str, PathBuf>, Skip> {
    let mut out = BTreeMap::new();
    let (a, b) = (dir.join("loop-a"), dir.join("loop-b"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    out.insert("symlink-loop", a);
    let sub = dir.join("a-directory");
    std::fs::create_dir(&sub).unwrap();
    out.insert("directory", sub);
    out.insert("dangling-symlink", {
        let p = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("does-not-exist"), &p).unwrap();
        p
    });
    // A FIFO nobody writes to: a blocking open or read would hang forever.
    let fifo = dir.join("libfifo.so.1");
    let mkfifo = inuse_testkit::require_tool("mkfifo")?;
    let status = Command::new(mkfifo).arg(&fifo).status().unwrap();
    assert!(status.success());
    out.insert("fifo", fifo);
    // A socket: open(2) fails with ENXIO, whoever we are.
    let sock = dir.join("libsocket.so.1");
    // The socket file stays after the listener is dropped.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    out.insert("socket", sock);
    // Root reads any regular file it likes; sysctl's write-only files are the exception.
    let write_only = Path::new("/proc/sys/vm/drop_caches");
    if write_only.exists() && std::fs::read(write_only).is_err() {
        out.insert("write-only-proc-file", write_only.to_path_buf());
    }
    Ok(out)
}

/// Every file under the shared corpus, recursively.
fn corpus() -> Result<Vec<PathBuf>, Skip> {
    let root = inuse_testkit::shared_data("elf")?;
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn good_program(dir: &Path) -> Result<PathBuf, Skip> {
    CBuild::new(dir)
        .source("int main(void) { return 0; }\n")
        .executable("good-program")
        .build()
}

fn assert_no_crash(out: &InuseOutput) {
    assert!(
        !out.timed_out,
        "inuse did not finish within {BOUND:?}:\n{}",
        out.describe()
    );
    assert_ne!(out.code, Some(101), "inuse panicked:\n{}", out.describe());
    assert!(
        out.code.is_some(),
        "inuse was killed by a signal:\n{}",
        out.describe()
    );
    assert!(!out.stderr.contains("panicked at"), "{}", out.describe());
}

/// Checks that every input has exactly one object, by path.
fn objects_by_input<'a>(
    report: &'a DepsReport,
    inputs: &[PathBuf],
    out: &InuseOutput,
) -> BTreeMap<PathBuf, &'a inuse_testkit::DepsObject> {
    let mut map = BTreeMap::new();
    for input in inputs {
        let matching: Vec<_> = report.objects.iter().filter(|o| &o.path == input).collect();
        assert_eq!(
            matching.len(),
            1,
            "input {} should have exactly one object\n{}",
            input.display(),
            out.describe()
        );
        map.insert(input.clone(), matching[0]);
    }
    map
}

#[test]
fn broken_files_each_get_an_error_and_the_rest_is_still_analysed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let good = or_skip!(good_program(&dir));
    let broken = crafted(&dir, &good);
    let special = or_skip!(special(&dir));

    // Good programs first, in the middle and last: nothing before or after a bad input may
    // be lost.
    let good2 = dir.join("good-program-2");
    std::fs::copy(&good, &good2).unwrap();
    let good3 = dir.join("good-program-3");
    std::fs::copy(&good, &good3).unwrap();
    let mut inputs = vec![good.clone()];
    inputs.extend(broken.values().cloned());
    inputs.push(good2.clone());
    inputs.extend(special.values().cloned());
    inputs.push(good3.clone());

    let (out, report) = inuse().deps_json(&inputs, &[] as &[&str]);
    assert_no_crash(&out);
    assert_eq!(
        out.code,
        Some(3),
        "some inputs failed: exit 3\n{}",
        out.describe()
    );
    let objects = objects_by_input(&report, &inputs, &out);
    assert_eq!(report.objects.len(), inputs.len(), "one object per input");

    for g in [&good, &good2, &good3] {
        let good_obj = objects[g];
        assert_eq!(good_obj.kind, "executable", "{good_obj:#?}");
        assert_eq!(good_obj.error, None);
        assert!(good_obj.library("libc.so.6").is_some(), "{good_obj:#?}");
    }

    // Every problem at once: one run tells the whole story.
    let mut problems = Vec::new();
    for (name, path) in broken.iter().chain(special.iter()) {
        let object = objects[path];
        if object.error.is_none() || object.kind != "error" {
            problems.push(format!(
                "{name}: expected type \"error\" with an error, got type {:?}, error {:?}",
                object.kind, object.error
            ));
        }
        if !object.libraries.is_empty() {
            problems.push(format!("{name}: an error object has no libraries"));
        }
        let file = path.file_name().unwrap().to_str().unwrap();
        if object.error.is_some() && !out.stderr.contains(file) {
            problems.push(format!("{name}: the error is not reported on stderr"));
        }
    }
    problems.extend(libc_field_problems(&report));
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        out.describe()
    );
}

/// The contract: `libc` is always one of `glibc`, `musl`, `none`, error objects included.
fn libc_field_problems(report: &DepsReport) -> Vec<String> {
    report
        .objects
        .iter()
        .filter(|o| !matches!(o.libc.as_deref(), Some("glibc" | "musl" | "none")))
        .map(|o| {
            format!(
                "{}: libc is {:?}, not one of \"glibc\", \"musl\", \"none\"",
                o.path.display(),
                o.libc
            )
        })
        .collect()
}

#[test]
fn every_file_of_the_shared_corpus_in_one_run() {
    let files = or_skip!(corpus());
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let good = or_skip!(good_program(&dir));
    let mut inputs = files.clone();
    inputs.insert(inputs.len() / 2, good.clone());

    let (out, report) = inuse().deps_json(&inputs, &[] as &[&str]);
    assert_no_crash(&out);
    let objects = objects_by_input(&report, &inputs, &out);
    let good_obj = objects[&good];
    assert_eq!(good_obj.kind, "executable", "{good_obj:#?}");
    assert!(good_obj.error.is_none());

    let known = [
        "executable",
        "shared-library",
        "static",
        "not-dynamic",
        "error",
    ];
    let mut failed = 0;
    for file in &files {
        let object = objects[file];
        assert!(known.contains(&object.kind.as_str()), "{object:#?}");
        assert_eq!(
            object.kind == "error",
            object.error.is_some(),
            "type \"error\" if and only if error is set: {object:#?}"
        );
        failed += usize::from(object.error.is_some());
    }
    // The corpus holds gzip files and corrupt headers, so some inputs must fail.
    assert!(
        failed > 0,
        "nothing in the corpus failed?\n{}",
        out.describe()
    );
    assert_eq!(out.code, Some(3), "{}", out.describe());

    let libc_problems = libc_field_problems(&report);

    // Text formats survive the same input.
    for format in ["tree", "list"] {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["deps".as_ref(), "--format".as_ref(), format.as_ref()];
        args.extend(inputs.iter().map(|p| p.as_os_str()));
        let out = inuse().run(&args);
        assert_no_crash(&out);
        assert_eq!(out.code, Some(3), "{}", out.describe());
    }
    // And recursion over the corpus directory.
    let corpus_dir = testdata_dir().unwrap().join("elf");
    let out = inuse().run([
        "deps".as_ref(),
        "-r".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        corpus_dir.as_os_str(),
    ]);
    assert_no_crash(&out);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert!(libc_problems.is_empty(), "{}", libc_problems.join("\n"));
}

#[test]
fn a_fifo_named_like_a_library_on_the_search_path_does_not_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let libs = dir.join("lib");
    std::fs::create_dir(&libs).unwrap();
    let real_dir = dir.join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let real = or_skip!(
        CBuild::new(&real_dir)
            .source("int fifo_fn(void) { return 1; }\n")
            .shared("libfifo.so.1")
            .soname("libfifo.so.1")
            .build()
    );
    let prog = or_skip!(
        CBuild::new(&dir)
            .source("int main(void) { return 0; }\n")
            .executable("prog")
            .needed_lib(&real)
            .rpath(&format!("{}:{}", libs.display(), real_dir.display()))
            .build()
    );
    let mkfifo = or_skip!(inuse_testkit::require_tool("mkfifo"));
    let status = Command::new(mkfifo)
        .arg(libs.join("libfifo.so.1"))
        .status()
        .unwrap();
    assert!(status.success());
    let (out, report) = inuse().deps_json(&[&prog], &[] as &[&str]);
    assert_no_crash(&out);
    // Whatever inuse decides about the FIFO, it must decide it quickly.
    assert!(out.elapsed < BOUND);
    assert_eq!(report.objects.len(), 1);
}
