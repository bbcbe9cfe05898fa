//! Oracle test: for every ELF file under `/usr` on the machine running the tests, the set of
//! libraries `inuse deps` resolves (by real path) and the names it reports missing must equal
//! what the real loader reports through `ldd`.
//!
//! Running `ldd` is acceptable here only because these are the test machine's own, trusted,
//! package-installed files; inuse itself never runs anything. The vDSO, which has no file, is
//! left out of the comparison.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const INUSE: &str = env!("CARGO_BIN_EXE_inuse");

/// Every regular file under `dir` that starts with the ELF magic (symlinks not followed).
fn elf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if ft.is_dir() {
            elf_files(&path, out);
        } else if ft.is_file() {
            let mut magic = [0u8; 4];
            let ok = std::fs::File::open(&path)
                .and_then(|mut f| f.read_exact(&mut magic))
                .is_ok();
            if ok && &magic == b"\x7fELF" {
                out.push(path);
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Answer {
    libraries: BTreeSet<String>,
    missing: BTreeSet<String>,
}

/// Parses ldd's output; `None` when ldd does not resolve the file (static, not dynamic,
/// or an error of the loader).
fn ldd(path: &Path) -> Option<Answer> {
    let out = Command::new("ldd").arg(path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut libraries = BTreeSet::new();
    let mut missing = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("statically linked") || line.contains("not a dynamic") {
            return None;
        }
        if let Some((name, rest)) = line.split_once(" => ") {
            if rest.trim() == "not found" {
                missing.insert(name.to_owned());
                continue;
            }
            let p = rest.split(" (0x").next().unwrap_or(rest).trim();
            if p.is_empty() {
                continue; // the vDSO on some kernels: "linux-vdso.so.1 =>  (0x...)"
            }
            libraries.insert(canon(p));
        } else if let Some(p) = line.split(" (0x").next() {
            if p.starts_with('/') {
                libraries.insert(canon(p));
            }
            // "linux-vdso.so.1 (0x...)": no file, not compared.
        }
    }
    Some(Answer { libraries, missing })
}

fn canon(p: &str) -> String {
    std::fs::canonicalize(p).map_or_else(|_| p.to_owned(), |c| c.display().to_string())
}

#[test]
fn every_elf_file_under_usr_matches_ldd() {
    inuse_testkit::or_skip!(inuse_testkit::require_tool("ldd"));
    let mut files = Vec::new();
    elf_files(Path::new("/usr"), &mut files);
    files.sort();
    assert!(
        files.len() > 100,
        "only {} ELF files under /usr",
        files.len()
    );

    // One inuse run over all files, as a user would do it.
    let list = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new(INUSE)
        .args(["deps", "--format", "json"])
        .args(&files)
        .output()
        .expect("run inuse");
    assert_ne!(
        out.status.code(),
        Some(101),
        "inuse panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(list);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let objects = doc["objects"].as_array().expect("objects");
    assert_eq!(objects.len(), files.len());

    // ldd in parallel, a few at a time.
    let answers: Vec<Option<Answer>> = std::thread::scope(|s| {
        let chunks: Vec<_> = files.chunks(files.len().div_ceil(4)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| s.spawn(move || c.iter().map(|f| ldd(f)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("ldd thread"))
            .collect()
    });

    let (mut compared, mut agree, mut not_resolved_by_ldd) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for ((file, obj), expected) in files.iter().zip(objects).zip(answers) {
        assert_eq!(
            obj["path"].as_str(),
            Some(file.to_str().expect("utf-8 path"))
        );
        let Some(expected) = expected else {
            not_resolved_by_ldd += 1;
            continue;
        };
        compared += 1;
        let got = Answer {
            libraries: obj["libraries"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|l| l["realpath"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            missing: obj["missing"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|l| l["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        };
        if got == expected {
            agree += 1;
        } else {
            disagreements.push(format!(
                "{}:\n  only inuse: {:?} {:?}\n  only ldd:   {:?} {:?}",
                file.display(),
                got.libraries
                    .difference(&expected.libraries)
                    .collect::<Vec<_>>(),
                got.missing
                    .difference(&expected.missing)
                    .collect::<Vec<_>>(),
                expected
                    .libraries
                    .difference(&got.libraries)
                    .collect::<Vec<_>>(),
                expected
                    .missing
                    .difference(&got.missing)
                    .collect::<Vec<_>>(),
            ));
        }
    }
    eprintln!(
        "ldd oracle: {} ELF files under /usr, {compared} resolved by ldd, {agree} agree, \
         {} disagree, {not_resolved_by_ldd} static/not dynamic/refused by ldd",
        files.len(),
        disagreements.len()
    );
    assert!(compared > 100, "ldd resolved only {compared} files");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// `-r` finds every ELF file below a directory (symlinks not followed, other files skipped
/// silently) and resolves each like an explicit argument.
#[test]
fn recursive_mode_covers_every_elf_file_of_a_directory() {
    let dir = Path::new("/usr/sbin");
    let mut files = Vec::new();
    elf_files(dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no ELF files in {}", dir.display());
    let out = Command::new(INUSE)
        .args(["deps", "-r", "--format", "json"])
        .arg(dir)
        .output()
        .expect("run inuse");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let got: Vec<PathBuf> = doc["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| PathBuf::from(o["path"].as_str().expect("path")))
        .collect();
    assert_eq!(
        got,
        files,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let explicit = Command::new(INUSE)
        .args(["deps", "--format", "json"])
        .args(&files)
        .output()
        .expect("run inuse");
    let code = explicit.status.code();
    let explicit: serde_json::Value = serde_json::from_slice(&explicit.stdout).expect("JSON");
    assert_eq!(doc["objects"], explicit["objects"]);
    assert_eq!(out.status.code(), code);
}
