//! A `--root` that is not a directory inuse can open is refused before any work (issue 14:
//! `inuse scan --root /nonexistent` swept every live process before failing): exit 2 and a
//! message naming the root, for every command that takes `--root`.

use std::path::Path;

use inuse_testkit::{Inuse, or_skip, require_tool};

fn inuse() -> Inuse {
    Inuse::new(env!("CARGO_BIN_EXE_inuse"))
}

/// The bad roots every command is tried with: a missing path and a regular file.
fn bad_roots(dir: &Path) -> Vec<String> {
    let file = dir.join("not-a-directory");
    std::fs::write(&file, b"a file").expect("write");
    vec![
        dir.join("no-such-root").display().to_string(),
        file.display().to_string(),
    ]
}

#[test]
fn every_root_command_refuses_a_bad_root_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("vulns.sqlite");
    let db = db.to_str().expect("utf-8");
    let store = dir.path().join("observations.sqlite");
    let store = store.to_str().expect("utf-8");
    for root in bad_roots(dir.path()) {
        let commands: [&[&str]; 9] = [
            &[
                "scan",
                "--offline",
                "--db",
                db,
                "--store",
                store,
                "--root",
                &root,
            ],
            &["unused", "--db", db, "--store", store, "--root", &root],
            &["inventory", "--root", &root],
            &["owner", "--root", &root, "/bin/sh"],
            &["sbom", "--root", &root],
            &["vulns", "--db", db, "--root", &root],
            &["deps", "--root", &root, "/bin/sh"],
            &[
                "db",
                "--db",
                db,
                "update",
                "--base-url",
                "http://127.0.0.1:9",
                "--root",
                &root,
            ],
            &[
                "scan",
                "--offline",
                "--no-live",
                "--db",
                db,
                "--root",
                &root,
            ],
        ];
        for args in commands {
            let out = inuse().run(args);
            assert_eq!(out.code, Some(2), "{}", out.describe());
            assert!(
                out.stderr.contains(&format!("cannot open root {root}")),
                "the message names the root:\n{}",
                out.describe()
            );
            assert!(out.stdout.is_empty(), "{}", out.describe());
        }
    }
}

/// The root is checked before the live sweep: under strace, `scan` and `unused` with a bad
/// root open nothing below `/proc/PID`.
#[test]
fn scan_and_unused_check_the_root_before_sweeping_processes() {
    let strace = or_skip!(require_tool("strace"));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("vulns.sqlite");
    let store = dir.path().join("observations.sqlite");
    let log = dir.path().join("strace.log");
    for root in bad_roots(dir.path()) {
        for command in ["scan", "unused"] {
            let mut args = vec![
                "-f",
                "-qq",
                "-e",
                "trace=open,openat,openat2",
                "-o",
                log.to_str().expect("utf-8"),
                env!("CARGO_BIN_EXE_inuse"),
                command,
                "--db",
                db.to_str().expect("utf-8"),
                "--store",
                store.to_str().expect("utf-8"),
                "--root",
                &root,
            ];
            if command == "scan" {
                args.push("--offline");
            }
            let out = Inuse::new(&strace).run(&args);
            assert_eq!(out.code, Some(2), "{}", out.describe());
            let trace = std::fs::read_to_string(&log).expect("strace log");
            let swept: Vec<&str> = trace
                .lines()
                .filter(|l| {
                    l.split('"').nth(1).is_some_and(|p| {
                        p.strip_prefix("/proc/")
                            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                    })
                })
                .collect();
            assert!(
                swept.is_empty(),
                "inuse {command} --root {root} read processes before refusing the root:\n{}",
                swept.join("\n")
            );
            // The run was traced at all (an empty log would pass the check above): the loader
            // opens libc.
            assert!(
                trace.contains("libc.so"),
                "strace saw no open at all:\n{trace}"
            );
        }
    }
}
