//! A sweep must not drop this process's own file locks.
//!
//! POSIX record locks belong to a process and an inode: closing *any* descriptor of a file
//! releases every lock the process holds on it. `inuse observe` keeps its store in SQLite's
//! WAL mode, whose shared-memory file (`-shm`) is mapped shared and locked; a sweep that opened
//! that mapping (through `/proc/self/map_files`, to look for ELF headers) and closed it again
//! released the observer's lock, the next reader to open the store took it for the only user,
//! truncated the file, and the observer died of SIGBUS in its next query. Checked through
//! `/proc/locks`, so the test fails on the lock loss itself, not on a lucky race.

#![allow(clippy::unwrap_used)]

use inuse_runtime::store::Store;
use inuse_runtime::{Limits, Sweeper};
use std::os::unix::fs::MetadataExt;

/// The POSIX locks `/proc/locks` lists for (pid, inode).
fn locks_on(pid: u32, ino: u64) -> usize {
    let text = std::fs::read_to_string("/proc/locks").unwrap();
    text.lines()
        .filter(|l| {
            // "1: POSIX  ADVISORY  READ 12345 08:01:67890 128 128"
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&"POSIX")
                && f.get(4) == Some(&pid.to_string().as_str())
                && f.get(5)
                    .and_then(|dev_ino| dev_ino.rsplit(':').next())
                    .and_then(|i| i.parse::<u64>().ok())
                    == Some(ino)
        })
        .count()
}

#[test]
fn sweeping_ourselves_keeps_the_store_locks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("obs.sqlite");
    let store = Store::open(&path).unwrap();
    // A read query maps the shared-memory index and takes the reader lock on it.
    let _ = store.latest_window().unwrap();
    let shm = dir.path().join("obs.sqlite-shm");
    let ino = std::fs::metadata(&shm).unwrap().ino();
    let pid = std::process::id();
    let before = locks_on(pid, ino);
    assert!(before > 0, "SQLite holds no lock on {}", shm.display());

    let mut sweeper = Sweeper::new(Limits::default()).unwrap();
    let sweep = sweeper.sweep(Some(&[pid]));
    let me = sweep.processes.iter().find(|p| p.pid == pid).unwrap();
    let seen = me.files.iter().map(|f| &f.path);
    let seen = seen.chain(me.objects.iter().map(|o| &o.path));
    assert!(
        seen.clone().any(|p| p.ends_with("obs.sqlite-shm")),
        "the sweep did not see the shared-memory mapping: {:?}",
        seen.collect::<Vec<_>>()
    );
    assert_eq!(
        locks_on(pid, ino),
        before,
        "a sweep of this process released its locks on {}",
        shm.display()
    );
    drop(store);
}
