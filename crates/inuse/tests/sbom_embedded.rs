//! Packages embedded in binaries, built here with the real toolchains and read back by
//! `inuse inventory` and `inuse sbom` from a fake root: Go build information (oracle:
//! `go version -m`), `cargo auditable` data (oracle: the crate's `Cargo.lock`) and
//! `.note.package` (oracle: the JSON given to the linker). A missing toolchain skips loudly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use inuse_testkit::{CBuild, FakeRoot, Skip, require_tool};
use serde_json::Value;

fn inuse(args: &[&str], root: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_inuse"))
        .args(args)
        .arg("--root")
        .arg(root)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .expect("inuse runs");
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// (name, version, manager, purl) of the packages carried by `file`.
fn embedded_in(doc: &Value, file: &str) -> BTreeSet<(String, String, String, String)> {
    doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["database"] == file)
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (s("name"), s("version"), s("manager"), s("purl"))
        })
        .collect()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A Go program in module mode with one dependency `replace`d by a local directory (no
/// network), built with the host's toolchain.
fn build_go(dir: &Path) -> Result<PathBuf, Skip> {
    let go = require_tool("go")?;
    std::fs::create_dir_all(dir.join("greet")).expect("mkdir");
    std::fs::create_dir_all(dir.join("hello")).expect("mkdir");
    std::fs::write(
        dir.join("greet/go.mod"),
        "module example.com/greet\n\ngo 1.18\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("greet/greet.go"),
        "package greet\n\nfunc Hello() string { return \"hello\" }\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("hello/go.mod"),
        "module example.com/hello\n\ngo 1.18\n\nrequire example.com/greet v1.2.3\n\nreplace example.com/greet => ../greet\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("hello/main.go"),
        "package main\n\nimport \"example.com/greet\"\n\nfunc main() { println(greet.Hello()) }\n",
    )
    .expect("write");
    let out = dir.join("hello/hello");
    run(Command::new(go)
        .current_dir(dir.join("hello"))
        .args(["build", "-mod=mod", "-o"])
        .arg(&out)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("GOPATH", dir.join("gopath"))
        .env("GOCACHE", dir.join("gocache")));
    Ok(out)
}

#[test]
fn go_build_info_matches_go_version_m() {
    let work = tempfile::tempdir().expect("tempdir");
    let bin = match build_go(work.path()) {
        Ok(b) => b,
        Err(skip) => return skip.report(),
    };
    // The oracle: the toolchain's own reader.
    let listing = run(Command::new("go").args(["version", "-m"]).arg(&bin));
    let mut want = BTreeSet::new();
    let mut go_version = String::new();
    let mut last: Option<(String, String)> = None;
    let flush = |m: Option<(String, String)>, want: &mut BTreeSet<(String, String)>| {
        if let Some(m) = m {
            want.insert(m);
        }
    };
    for (i, line) in listing.lines().enumerate() {
        let f: Vec<&str> = line.trim().split('\t').collect();
        if i == 0 {
            go_version = line.rsplit(' ').next().unwrap_or_default().to_owned();
            continue;
        }
        match f.first().copied() {
            Some("mod" | "dep") => {
                flush(last.take(), &mut want);
                last = Some((f[1].to_owned(), f.get(2).copied().unwrap_or("").to_owned()));
            }
            Some("=>") if f.get(2).is_some_and(|v| !v.is_empty()) => {
                if let Some(l) = last.as_mut() {
                    l.1 = f[2].to_owned();
                }
            }
            _ => {}
        }
    }
    flush(last.take(), &mut want);
    assert!(want.len() >= 2, "go version -m listed {want:?}");
    want.insert((
        "stdlib".to_owned(),
        go_version.trim_start_matches("go").to_owned(),
    ));

    let mut root = FakeRoot::new();
    root.os_release("ID=debian\nVERSION_ID=12\n")
        .copy(&bin, "/usr/local/bin/hello")
        .copy(&bin, "/opt/big/hello");
    // Size is no reason to skip a file (Go providers of 700 MB are common): the same program
    // grown to 600 MiB by a hole at its end must give the same packages.
    std::fs::OpenOptions::new()
        .write(true)
        .open(root.path().join("opt/big/hello"))
        .and_then(|f| f.set_len(600 << 20))
        .expect("grow");
    let doc = inuse(&["inventory", "--format", "json"], root.path());
    let got = embedded_in(&doc, "/usr/local/bin/hello");
    assert_eq!(got, embedded_in(&doc, "/opt/big/hello"));
    let pairs: BTreeSet<(String, String)> = got
        .iter()
        .map(|(n, v, _, _)| (n.clone(), v.clone()))
        .collect();
    assert_eq!(pairs, want, "{listing}");
    assert!(
        got.iter()
            .all(|(n, _, m, purl)| { m == "go" && purl.starts_with(&format!("pkg:golang/{n}@")) })
    );
    assert!(
        doc["unowned_elf"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p == "/usr/local/bin/hello"))
    );
}

#[test]
fn cargo_auditable_data_matches_cargo_lock() {
    let cargo = match require_tool("cargo") {
        Ok(c) => c,
        Err(skip) => return skip.report(),
    };
    let probe = Command::new(&cargo)
        .args(["auditable", "--version"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return Skip::new("cargo-auditable is not installed (cargo install cargo-auditable)")
            .report();
    }
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("auditdemo");
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"auditdemo\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n[dependencies]\nitoa = \"1\"\n\n[workspace]\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"{}\", itoa::Buffer::new().format(42)); }\n",
    )
    .expect("write");
    run(Command::new(&cargo)
        .current_dir(&dir)
        .args(["auditable", "build", "--release", "-q"])
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS"));
    // The oracle: every package of the lock file, as cargo resolved it.
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).expect("Cargo.lock");
    let mut want = BTreeSet::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            want.insert((n.clone(), v.trim_matches('"').to_owned()));
        }
    }
    assert!(want.len() >= 2, "{lock}");

    let mut root = FakeRoot::new();
    root.copy(dir.join("target/release/auditdemo"), "/opt/demo/auditdemo");
    let doc = inuse(&["inventory", "--format", "json"], root.path());
    let got = embedded_in(&doc, "/opt/demo/auditdemo");
    let pairs: BTreeSet<(String, String)> = got
        .iter()
        .map(|(n, v, _, _)| (n.clone(), v.clone()))
        .collect();
    assert_eq!(pairs, want);
    for (n, v, m, purl) in &got {
        assert_eq!(m, "cargo");
        assert_eq!(purl, &format!("pkg:cargo/{n}@{v}"));
    }
    // The crate graph reaches the SBOM as a declared edge.
    let cdx = inuse(&["sbom", "--format", "cyclonedx-json"], root.path());
    let deps = cdx["dependencies"].as_array().expect("dependencies");
    let app = deps
        .iter()
        .find(|d| {
            d["ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("pkg:cargo/auditdemo@"))
        })
        .expect("auditdemo component");
    assert!(
        app["dependsOn"].as_array().is_some_and(|d| d
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.starts_with("pkg:cargo/itoa@")))),
        "{app}"
    );
}

#[test]
fn package_note_names_the_package() {
    let work = tempfile::tempdir().expect("tempdir");
    let note = r#"{"type":"deb","name":"foo","version":"1.0-2","architecture":"amd64","os":"debian","osVersion":"12"}"#;
    let bin = match CBuild::new(work.path())
        .source("int main(void) { return 0; }\n")
        // Not `-Wl,`: it would split the JSON at its commas.
        .link_arg("-Xlinker")
        .link_arg(&format!("--package-metadata={note}"))
        .executable("foo")
        .build()
    {
        Ok(b) => b,
        Err(skip) => return skip.report(),
    };
    let oracle: Value = serde_json::from_str(note).expect("json");
    let readelf = Command::new("readelf").arg("-n").arg(&bin).output();
    if let Ok(o) = readelf {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("FDO"),
            "the linker did not write .note.package (binutils < 2.39?):\n{text}"
        );
    }
    let mut root = FakeRoot::new();
    root.copy(&bin, "/usr/local/bin/foo");
    let doc = inuse(&["inventory", "--format", "json"], root.path());
    let got = embedded_in(&doc, "/usr/local/bin/foo");
    let s = |k: &str| oracle[k].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        [(
            s("name"),
            s("version"),
            "elf-note".to_owned(),
            format!(
                "pkg:{}/{}/{}@{}?arch={}&distro={}-{}",
                s("type"),
                s("os"),
                s("name"),
                s("version"),
                s("architecture"),
                s("os"),
                s("osVersion")
            )
        )]
    );
}

/// `scan` does not match embedded packages against vulnerability data, and says so: its
/// summary must not read as covering the modules of a Go program no package owns.
#[test]
fn scan_says_it_does_not_match_embedded_packages() {
    let work = tempfile::tempdir().expect("tempdir");
    let bin = match build_go(work.path()) {
        Ok(b) => b,
        Err(skip) => return skip.report(),
    };
    let mut root = FakeRoot::new();
    root.os_release("ID=debian\nVERSION_ID=12\n")
        .copy(&bin, "/usr/local/bin/hello");
    let inventory = inuse(&["inventory", "--format", "json"], root.path());
    let carried = embedded_in(&inventory, "/usr/local/bin/hello").len();
    assert!(carried >= 3, "{carried} embedded packages");
    let scan = inuse(
        &["scan", "--offline", "--no-live", "--format", "json"],
        root.path(),
    );
    let notes: Vec<&str> = scan["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter(|n| n["code"] == "embedded-not-matched")
        .filter_map(|n| n["message"].as_str())
        .collect();
    let want = format!("{carried} package(s) embedded in 1 program(s)");
    assert!(
        notes
            .iter()
            .any(|n| n.contains(&want) && n.contains("/usr/local/bin/hello")),
        "{notes:?}"
    );
}
