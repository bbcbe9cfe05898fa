//! `inuse deps` never runs what it analyses: not the program, not its `PT_INTERP`, not a
//! library's constructor or IFUNC resolver.
//!
//! Each of those is a fixture that leaves a marker file when it runs. Every mode of the
//! command is pointed at them, then no marker may exist. Last, the fixtures are run for real
//! to prove that they do leave their markers, so the test cannot pass by accident.

#![allow(clippy::unwrap_used)]
#![cfg(target_arch = "x86_64")]

use std::path::{Path, PathBuf};
use std::process::Command;

use inuse_testkit::{CBuild, Inuse, Patchelf, Skip, or_skip};

/// A freestanding program that creates `marker` and exits; raw x86-64 syscalls, so it runs
/// fine as somebody else's `PT_INTERP` (a static glibc program does not).
fn marker_interpreter(dir: &Path, name: &str, marker: &Path) -> Result<PathBuf, Skip> {
    let source = format!(
        r#"static long sys3(long n, long a, long b, long c) {{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}}
void _start(void) {{
    sys3(2 /* open */, (long)"{marker}", 0101 /* O_CREAT|O_WRONLY */, 0644);
    sys3(60 /* exit */, 0, 0, 0);
}}
"#,
        marker = marker.display()
    );
    CBuild::new(dir)
        .source(&source)
        .executable(name)
        .static_()
        .cflag("-nostdlib")
        .cflag("-fno-stack-protector")
        .build()
}

/// A library whose constructor and IFUNC resolver each create a marker.
fn marker_library(dir: &Path, ctor: &Path, ifunc: &Path) -> Result<PathBuf, Skip> {
    let source = format!(
        r#"#include <fcntl.h>
#include <unistd.h>
static void mark(const char *path) {{
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
}}
__attribute__((constructor)) static void on_load(void) {{ mark("{ctor}"); }}
static int answer_impl(void) {{ return 42; }}
static int (*resolve_answer(void))(void) {{ mark("{ifunc}"); return answer_impl; }}
int answer(void) __attribute__((ifunc("resolve_answer")));
"#,
        ctor = ctor.display(),
        ifunc = ifunc.display()
    );
    CBuild::new(dir)
        .source(&source)
        .shared("libmark.so.1")
        .soname("libmark.so.1")
        .build()
}

#[test]
fn no_mode_of_deps_runs_the_interpreter_constructors_or_ifunc_resolvers() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let (fx, markers) = (base.join("fixtures"), base.join("markers"));
    std::fs::create_dir_all(&fx).unwrap();
    std::fs::create_dir_all(&markers).unwrap();
    let interp_marker = markers.join("interpreter-ran");
    let ctor_marker = markers.join("constructor-ran");
    let ifunc_marker = markers.join("ifunc-resolver-ran");

    let interp = or_skip!(marker_interpreter(&fx, "evil-interp", &interp_marker));
    let libmark = or_skip!(marker_library(&fx, &ctor_marker, &ifunc_marker));
    // Calls the IFUNC so that running it for real resolves it.
    let uses_lib = or_skip!(
        CBuild::new(&fx)
            .source("int answer(void);\nint main(void) { return answer() == 42 ? 0 : 1; }\n")
            .executable("uses-lib")
            .needed_lib(&libmark)
            .rpath("$ORIGIN")
            .build()
    );
    // Its interpreter is the marker program, by host path; it also needs the library.
    let evil = or_skip!(
        CBuild::new(&fx)
            .source("int main(void) { return 0; }\n")
            .executable("evil-program")
            .needed_lib(&libmark)
            .rpath("$ORIGIN")
            .build()
    );
    or_skip!(Patchelf::on(&evil).set_interpreter(&interp));
    // For --root runs: an interpreter path that only exists inside the fixture directory.
    let evil_in_root = fx.join("evil-in-root");
    std::fs::copy(&evil, &evil_in_root).unwrap();
    or_skip!(Patchelf::on(&evil_in_root).set_interpreter("/evil-interp"));

    let inuse = Inuse::new(env!("CARGO_BIN_EXE_inuse"));
    let inputs = [&evil, &uses_lib, &libmark, &interp, &evil_in_root];
    let fx_s = fx.to_str().unwrap();
    let mut runs: Vec<Vec<String>> = Vec::new();
    for format in ["tree", "list", "json"] {
        for input in inputs {
            runs.push(args(&["deps", "--format", format], input));
        }
        runs.push(vec![
            "deps".into(),
            "--format".into(),
            format.into(),
            "-r".into(),
            fx_s.into(),
        ]);
        runs.push(
            ["deps", "--format", format, "--count", "-r", fx_s]
                .map(String::from)
                .to_vec(),
        );
        runs.push(
            [
                "deps",
                "--format",
                format,
                "--why",
                "libmark.so.1",
                "-r",
                fx_s,
            ]
            .map(String::from)
            .to_vec(),
        );
        for input in [
            "/evil-in-root",
            "/evil-program",
            "/uses-lib",
            "/libmark.so.1",
            "/",
        ] {
            let mut a: Vec<String> = ["deps", "--format", format, "--root", fx_s]
                .map(String::from)
                .to_vec();
            if input == "/" {
                a.push("-r".into());
            }
            a.push(input.into());
            runs.push(a);
        }
        runs.push(
            [
                "deps",
                "--format",
                format,
                "--preload",
                libmark.to_str().unwrap(),
                "--ld-library-path",
                fx_s,
                uses_lib.to_str().unwrap(),
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    for a in &runs {
        let out = inuse.run(a);
        assert!(
            !out.timed_out && matches!(out.code, Some(0..=3)),
            "inuse ended abnormally:\n{}",
            out.describe()
        );
        for marker in [&interp_marker, &ctor_marker, &ifunc_marker] {
            assert!(
                !marker.exists(),
                "{} exists: inuse executed part of a fixture!\n{}",
                marker.display(),
                out.describe()
            );
        }
    }

    // The fixtures do work: running them for real leaves every marker.
    let _ = Command::new(&evil).env_clear().status().unwrap();
    assert!(interp_marker.exists(), "the marker interpreter did not run");
    let status = Command::new(&uses_lib).env_clear().status().unwrap();
    assert!(status.success(), "uses-lib failed: {status:?}");
    assert!(ctor_marker.exists(), "the constructor did not run");
    assert!(ifunc_marker.exists(), "the IFUNC resolver did not run");
}

fn args(prefix: &[&str], input: &Path) -> Vec<String> {
    let mut a: Vec<String> = prefix.iter().map(|s| (*s).to_owned()).collect();
    a.push(input.to_str().unwrap().to_owned());
    a
}
