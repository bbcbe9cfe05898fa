//! The guarantees of `inuse-root` on real trees: absolute symlinks and `..` stay inside the
//! root, loops end, special files never block, and every accessor works on `O_PATH`
//! descriptors (a regression: `O_NOCTTY` with `O_PATH` made `openat2` fail with EINVAL).
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use inuse_root::{FileKind, Root};

/// A small merged-/usr tree: `/lib -> /usr/lib` (absolute), a library with a soname link, an
/// escape attempt `/escape -> /etc/host-only` (exists only on the "host" side), a loop, a FIFO.
fn tree() -> (tempfile::TempDir, Root) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::create_dir_all(r.join("usr/lib")).unwrap();
    std::fs::write(r.join("usr/lib/libz.so.1.2.13"), b"zlib").unwrap();
    symlink("libz.so.1.2.13", r.join("usr/lib/libz.so.1")).unwrap();
    symlink("/usr/lib", r.join("lib")).unwrap();
    symlink("/etc/passwd", r.join("escape")).unwrap();
    symlink("../../../../../../etc/passwd", r.join("usr/lib/up")).unwrap();
    symlink("loop2", r.join("loop1")).unwrap();
    symlink("loop1", r.join("loop2")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        r.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let root = Root::open(r).unwrap();
    (dir, root)
}

#[test]
fn absolute_symlinks_resolve_inside_the_root() {
    let (_d, root) = tree();
    assert_eq!(
        root.canonicalize(Path::new("/lib/libz.so.1")).unwrap(),
        PathBuf::from("/usr/lib/libz.so.1.2.13")
    );
    assert_eq!(
        root.read(Path::new("/lib/libz.so.1"), 100).unwrap(),
        b"zlib"
    );
    let st = root.stat(Path::new("/lib/libz.so.1")).unwrap();
    assert_eq!(st.file_type(), FileKind::File);
    assert_eq!(st.size, 4);
    assert_eq!(
        root.lstat(Path::new("/lib")).unwrap().file_type(),
        FileKind::Symlink
    );
    assert_eq!(
        root.read_link(Path::new("/lib")).unwrap(),
        PathBuf::from("/usr/lib")
    );
}

#[test]
fn nothing_outside_the_root_is_reached() {
    let (_d, root) = tree();
    // The host has /etc/passwd; the root does not.
    assert!(Path::new("/etc/passwd").exists());
    for p in [
        "/escape",
        "/usr/lib/up",
        "/../../etc/passwd",
        "/usr/../../../etc/passwd",
    ] {
        let err = root.read(Path::new(p), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{p}: {err}");
        let err = root.canonicalize(Path::new(p)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{p}: {err}");
        assert!(root.stat(Path::new(p)).is_err(), "{p}");
    }
    // `..` at the top stays at the top.
    assert_eq!(
        root.canonicalize(Path::new("/../../usr/lib/../lib/libz.so.1"))
            .unwrap(),
        PathBuf::from("/usr/lib/libz.so.1.2.13")
    );
}

#[test]
fn loops_and_special_files_fail_fast() {
    let (_d, root) = tree();
    let e = root.canonicalize(Path::new("/loop1")).unwrap_err();
    assert_eq!(
        e.raw_os_error(),
        Some(rustix::io::Errno::LOOP.raw_os_error())
    );
    assert!(root.open_file(Path::new("/loop1")).is_err());
    // A FIFO must be refused without blocking (a blocking open would hang this test).
    let e = root.open_file(Path::new("/fifo")).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    assert_eq!(
        root.lstat(Path::new("/fifo")).unwrap().file_type(),
        FileKind::Other
    );
    // A directory is not a file either.
    assert_eq!(
        root.open_file(Path::new("/usr")).unwrap_err().kind(),
        std::io::ErrorKind::IsADirectory
    );
}

#[test]
fn read_dir_lists_sorted_entries_with_their_kinds() {
    let (_d, root) = tree();
    let names: Vec<(String, FileKind)> = root
        .read_dir(Path::new("/lib"))
        .unwrap()
        .into_iter()
        .map(|(n, k)| (n.to_string_lossy().into_owned(), k))
        .collect();
    assert_eq!(
        names,
        [
            ("libz.so.1".to_owned(), FileKind::Symlink),
            ("libz.so.1.2.13".to_owned(), FileKind::File),
            ("up".to_owned(), FileKind::Symlink),
        ]
    );
}

#[test]
fn size_limit_is_enforced() {
    let (_d, root) = tree();
    let e = root
        .read(Path::new("/usr/lib/libz.so.1.2.13"), 3)
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
}
