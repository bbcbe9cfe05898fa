//! `inuse deps --why NAME`: when no chain leads to NAME, stderr says so, naming NAME and the
//! input, with a hint at what to ask instead, and the exit code is 1 (issue 14: it printed
//! nothing and exited 0). `readelf -d` is the oracle for the names the input needs.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use inuse_testkit::{FakeRoot, Inuse, InuseOutput, Skip, or_skip, require_tool};

fn inuse() -> Inuse {
    Inuse::new(env!("CARGO_BIN_EXE_inuse"))
}

/// The `DT_NEEDED` names of `path`, as `readelf -d` prints them.
fn needed(path: &Path) -> Result<Vec<String>, Skip> {
    let readelf = require_tool("readelf")?;
    let out = Command::new(readelf).arg("-dW").arg(path).output().unwrap();
    assert!(out.status.success(), "readelf -d {}", path.display());
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_owned()))
        .collect())
}

/// A dynamically linked program of the host and the names it needs.
fn program() -> Result<(PathBuf, Vec<String>), Skip> {
    let path = std::fs::canonicalize("/usr/bin/true").map_err(|e| Skip::new(e.to_string()))?;
    let names = needed(&path)?;
    if names.is_empty() {
        return Err(Skip::new("/usr/bin/true needs no library here"));
    }
    Ok((path, names))
}

fn why(name: &str, extra: &[&str], paths: &[&Path]) -> InuseOutput {
    let mut args = vec!["deps", "--why", name];
    args.extend(extra);
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    inuse().run(&args)
}

#[test]
fn why_without_chain_says_so_and_exits_1() {
    let (program, names) = or_skip!(program());
    let shown = program.display().to_string();

    // The control: a name the program needs has a chain, and nothing is said on stderr.
    let out = why(&names[0], &[], &[&program]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.starts_with(&format!("{shown} -> {}", names[0])),
        "{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains("no dependency chain"),
        "{}",
        out.describe()
    );

    // A name nothing loads: said on stderr with NAME and the file; nothing on stdout.
    let absent = "libnot-loaded-by-anything.so.7";
    assert!(!names.iter().any(|n| n == absent));
    for format in [&[][..], &["--format", "json"][..]] {
        let out = why(absent, format, &[&program]);
        assert_eq!(out.code, Some(1), "{}", out.describe());
        assert!(
            out.stderr.contains(&format!(
                "inuse: {shown}: no dependency chain leads to {absent}: it is not among the"
            )),
            "{}",
            out.describe()
        );
        assert!(
            out.stderr.contains(&format!("(see `inuse deps {shown}`)")),
            "{}",
            out.describe()
        );
        if format.is_empty() {
            assert_eq!(out.stdout, "", "{}", out.describe());
        }
    }

    // A soname given without its version: the loaded names it begins are suggested.
    let prefix = names[0].split(".so").next().unwrap();
    let out = why(prefix, &[], &[&program]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("did you mean") && out.stderr.contains(&names[0]),
        "{}",
        out.describe()
    );

    // A path: names are matched, not paths; the file name is suggested.
    let path = format!("/some/dir/{}", names[0]);
    let out = why(&path, &[], &[&program]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains(&format!("not paths: try --why {}", names[0])),
        "{}",
        out.describe()
    );

    // Several inputs: only those without a chain are named, and one chain makes it exit 0.
    let out = why(&names[0], &[], &[&program, Path::new("/etc/passwd")]);
    assert_eq!(out.code, Some(3), "not ELF is an error: {}", out.describe());
    assert!(
        !out.stderr.contains("no dependency chain"),
        "{}",
        out.describe()
    );
}

/// A library the program needs but the root lacks: the note says who needs it and that it is
/// not found.
#[test]
fn why_names_a_needed_library_that_is_missing() {
    let (program, names) = or_skip!(program());
    let mut root = FakeRoot::new();
    root.copy(&program, "/bin/prog");
    let out = why(
        &names[0],
        &["--root", root.path().to_str().unwrap()],
        &[Path::new("/bin/prog")],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!(
            "inuse: /bin/prog: no dependency chain leads to {}: it is needed by /bin/prog but",
            names[0]
        )),
        "{}",
        out.describe()
    );
}

/// With `-r`, inputs without a chain are not listed one by one; when none has one, one line
/// says so.
#[test]
fn why_over_a_directory_says_once_that_nothing_loads_it() {
    let (program, _) = or_skip!(program());
    let mut root = FakeRoot::new();
    root.copy(&program, "/bin/a").copy(&program, "/bin/b");
    let absent = "libnot-loaded-by-anything.so.7";
    let out = why(absent, &["-r"], &[&root.path().join("bin")]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_eq!(
        out.stderr.matches("no dependency chain").count(),
        1,
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains(&format!(
            "no dependency chain leads to {absent} from any of the 2 ELF files"
        )),
        "{}",
        out.describe()
    );
}
