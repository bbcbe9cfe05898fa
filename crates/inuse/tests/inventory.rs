//! `inuse inventory` and `inuse owner` as a user runs them: the built binary on fake roots and
//! on this host (against `dpkg-query` when there is one).

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn inuse(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(args)
        .output()
        .expect("inuse runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, content).expect("write");
}

/// An Alpine-like root with one owned and one unowned ELF file.
fn alpine_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    write(r, "etc/os-release", b"ID=alpine\nVERSION_ID=3.19.1\n");
    write(
        r,
        "lib/apk/db/installed",
        b"P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\nL:MIT\nF:usr/lib\nR:libc.so\n",
    );
    write(r, "usr/lib/libc.so", b"\x7fELF owned");
    write(r, "usr/local/lib/liblzma.so.5", b"\x7fELF stray");
    write(r, "usr/local/lib/readme.txt", b"not elf");
    dir
}

#[test]
fn inventory_json_contract() {
    let dir = alpine_root();
    let root = dir.path().to_str().expect("utf-8");
    let (code, stdout, stderr) = inuse(&["inventory", "--root", root, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["distro"]["id"], "alpine");
    assert_eq!(doc["distro"]["ecosystem"], "Alpine:v3.19");
    let p = &doc["packages"][0];
    for (k, v) in [
        ("name", "musl"),
        ("version", "1.2.4-r2"),
        ("arch", "x86_64"),
        ("source_name", "musl"),
        ("source_version", "1.2.4-r2"),
        ("manager", "apk"),
        ("ecosystem", "Alpine:v3.19"),
        (
            "purl",
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19",
        ),
    ] {
        assert_eq!(p[k], v, "{k}");
    }
    assert_eq!(
        doc["unowned_elf"],
        serde_json::json!(["/usr/local/lib/liblzma.so.5"])
    );
}

#[test]
fn inventory_table_has_header_and_aligned_columns() {
    let dir = alpine_root();
    let (code, stdout, _) = inuse(&["inventory", "--root", dir.path().to_str().expect("utf-8")]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(lines[0].starts_with("NAME"), "{stdout}");
    assert_eq!(
        lines[0].find("VERSION"),
        lines[1].find("1.2.4-r2"),
        "{stdout}"
    );
    assert!(stdout.contains("/usr/local/lib/liblzma.so.5"));
}

#[test]
fn owner_json_and_exit_codes() {
    let dir = alpine_root();
    let root = dir.path().to_str().expect("utf-8");
    let (code, stdout, _) = inuse(&[
        "owner",
        "--root",
        root,
        "--format",
        "json",
        "/usr/lib/libc.so",
        "/usr/local/lib/liblzma.so.5",
    ]);
    assert_eq!(code, 1, "an unowned path is a finding");
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    let owners = doc["owners"].as_array().expect("owners");
    assert_eq!(owners[0]["path"], "/usr/lib/libc.so");
    assert_eq!(owners[0]["package"]["name"], "musl");
    assert_eq!(owners[0]["package"]["version"], "1.2.4-r2");
    assert_eq!(owners[0]["package"]["manager"], "apk");
    assert!(owners[1]["package"].is_null());
    let (code, stdout, _) = inuse(&["owner", "--root", root, "/usr/lib/libc.so"]);
    assert_eq!((code, stdout.as_str()), (0, "musl: /usr/lib/libc.so\n"));
}

#[test]
fn host_owner_agrees_with_dpkg_s_in_both_spellings() {
    let dpkg_query = inuse_testkit::or_skip!(inuse_testkit::require_tool("dpkg-query"));
    let out = Command::new(dpkg_query)
        .args(["-S", "/bin/ls", "/usr/bin/ls"])
        .output()
        .expect("run dpkg-query -S");
    // dpkg only answers for the spelling it lists (on merged /usr, one of the two).
    let want = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.split(':').next())
        .unwrap_or_default()
        .to_owned();
    assert!(!want.is_empty(), "dpkg-query -S found no owner of ls");
    let (_, stdout, _) = inuse(&["owner", "/usr/bin/ls", "/bin/ls"]);
    assert_eq!(stdout, format!("{want}: /usr/bin/ls\n{want}: /bin/ls\n"));
}

/// A scratch or distroless root (issue 14): no package database, one program. The empty
/// package list is the truth, so the exit code stays 0, but stderr and the JSON notes say no
/// database was found and where inuse looked, so a wrong directory does not pass unnoticed.
#[test]
fn a_root_without_package_database_says_so_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "usr/local/bin/app",
        b"\x7fELF a static Go program",
    );
    let root = dir.path().to_str().expect("utf-8");
    let (code, stdout, stderr) = inuse(&["inventory", "--root", root, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.contains("no dpkg, rpm or apk database found under"))
        .unwrap_or_else(|| panic!("no warning on stderr:\n{stderr}"));
    assert!(warning.contains(root), "{warning}");
    for looked in [
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/status.d",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite",
        "/var/lib/rpm/Packages",
        "/lib/apk/db/installed",
    ] {
        assert!(warning.contains(looked), "{looked} not named: {warning}");
    }
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["packages"], serde_json::json!([]));
    assert_eq!(
        doc["unowned_elf"],
        serde_json::json!(["/usr/local/bin/app"])
    );
    let notes = doc["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["code"], "no-package-database");
    assert!(
        notes[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(root)),
        "{notes:?}"
    );

    // The table says it on stderr too; stdout keeps only data.
    let (code, stdout, stderr) = inuse(&["inventory", "--root", root]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("no dpkg, rpm or apk database found"),
        "{stderr}"
    );
    assert!(!stdout.contains("database"), "{stdout}");
}

/// The warning is about a missing database, not an empty one: an apk root and a dpkg root
/// whose `status` lists nothing get no such warning and an empty `notes`.
#[test]
fn a_root_with_a_package_database_gets_no_missing_database_warning() {
    let alpine = alpine_root();
    let empty_dpkg = tempfile::tempdir().expect("tempdir");
    write(empty_dpkg.path(), "var/lib/dpkg/status", b"");
    for dir in [alpine.path(), empty_dpkg.path()] {
        let root = dir.to_str().expect("utf-8");
        let (code, stdout, stderr) = inuse(&["inventory", "--root", root, "--format", "json"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains("no dpkg, rpm or apk database"), "{stderr}");
        let doc: Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(doc["notes"], serde_json::json!([]), "{root}");
    }
}

/// `inuse owner` on a path that is not there (issue 14): not `-` as for an unowned file but
/// an error naming the path, on stderr and in JSON; the other paths are still answered and
/// the run ends with 3 (some inputs could not be analysed), as `inuse deps` does.
#[test]
fn owner_says_a_missing_path_does_not_exist() {
    let dir = alpine_root();
    let root = dir.path().to_str().expect("utf-8");
    let (code, stdout, stderr) = inuse(&[
        "owner",
        "--root",
        root,
        "/usr/lib/libc.so",
        "/usr/lib/no-such-lib.so",
        "/usr/local/lib/liblzma.so.5",
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        stdout, "musl: /usr/lib/libc.so\n-: /usr/local/lib/liblzma.so.5\n",
        "a missing path is not printed as unowned"
    );
    assert!(
        stderr.contains("/usr/lib/no-such-lib.so: No such file or directory"),
        "{stderr}"
    );

    let (code, stdout, stderr) = inuse(&[
        "owner",
        "--root",
        root,
        "--format",
        "json",
        "/usr/lib/libc.so",
        "/usr/lib/no-such-lib.so",
    ]);
    assert_eq!(code, 3, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    let owners = doc["owners"].as_array().expect("owners");
    assert_eq!(owners.len(), 2);
    assert!(owners[0]["error"].is_null(), "{owners:?}");
    assert_eq!(owners[1]["path"], "/usr/lib/no-such-lib.so");
    assert!(owners[1]["package"].is_null());
    assert_eq!(owners[1]["error"], "No such file or directory");

    // A file a package lists but that is gone from disk is still answered, as `dpkg -S` does.
    fs::remove_file(dir.path().join("usr/lib/libc.so")).expect("rm");
    let (code, stdout, stderr) = inuse(&["owner", "--root", root, "/usr/lib/libc.so"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "musl: /usr/lib/libc.so\n"),
        "{stderr}"
    );
}
