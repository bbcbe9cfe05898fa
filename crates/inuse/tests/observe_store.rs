//! `inuse observe` against a real process that exits while observed: the store keeps what
//! was seen, and SIGTERM closes the window cleanly.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use inuse_testkit::{CBuild, Inuse, LiveProcess, clean_command, or_skip};

fn show(store: &std::path::Path) -> String {
    let out = Inuse::new(env!("CARGO_BIN_EXE_inuse")).run([
        "observe".as_ref(),
        "--show".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    out.stdout
}

#[test]
fn exited_process_is_kept_and_sigterm_closes_the_window() {
    let dir = tempfile::tempdir().unwrap();
    // A program with a name nothing else has, so its line in the store is ours.
    let exe = or_skip!(
        CBuild::new(dir.path())
            .source("#include <unistd.h>\nint main(void) { for (;;) pause(); }")
            .link_arg("-lz")
            .executable("observed-once")
            .build()
    );
    let store = dir.path().join("obs.sqlite");
    let mut target = LiveProcess::spawn(&mut clean_command(&exe, Vec::<String>::new()));
    target.wait_for_maps(Duration::from_secs(20), |m| m.contains("/libz.so"));

    let mut observer = LiveProcess::spawn(
        clean_command(
            env!("CARGO_BIN_EXE_inuse"),
            ["observe", "--interval", "200ms"],
        )
        .arg("--forever")
        .arg("--store")
        .arg(&store),
    );
    // Wait until a sweep has recorded the target (readers do not block the WAL writer).
    let exe_text = exe.to_str().unwrap();
    let start = Instant::now();
    while !(store.exists() && show(&store).contains(exe_text)) {
        assert!(observer.alive(), "inuse observe exited early");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "target never recorded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(target);
    // Let a few sweeps run without it.
    std::thread::sleep(Duration::from_millis(700));
    observer.signal(15);
    assert_eq!(observer.wait_exit(Duration::from_secs(20)), Some(0));

    let shown = show(&store);
    let first = shown.lines().next().unwrap();
    assert!(first.starts_with("window 1 on "), "{shown}");
    assert!(!first.ends_with("to ?"), "window not closed: {shown}");
    let libz: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("/libz.so") && l.contains(exe_text))
        .collect();
    assert_eq!(libz.len(), 1, "{shown}");
    assert!(libz[0].contains("[zlib1g "), "{shown}");
    let ours: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains(&format!(" {exe_text} [")))
        .collect();
    assert_eq!(ours.len(), 1, "the program itself: {shown}");
    // It sat in pause(): its tiny text cannot be told from load-time code, so never "none".
    assert!(!ours[0].starts_with("none"), "{shown}");
}

/// `inuse observe --show | head`: the reader goes away before the listing is written. The
/// command ends quietly with 0 (a broken pipe is not our error), without a panic.
#[test]
fn show_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("obs.sqlite");
    let out = Inuse::new(env!("CARGO_BIN_EXE_inuse")).run([
        "observe".as_ref(),
        "--interval".as_ref(),
        "100ms".as_ref(),
        "--duration".as_ref(),
        "250ms".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(show(&store).lines().count() > 1, "nothing recorded to list");

    let mut cmd = clean_command(
        env!("CARGO_BIN_EXE_inuse"),
        ["observe", "--show", "--store"],
    );
    cmd.arg(&store)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Close the reading end before the child can write: its first write fails (EPIPE).
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(done.status.code(), Some(0), "{stderr}");
}
