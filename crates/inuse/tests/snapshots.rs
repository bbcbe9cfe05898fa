//! Golden snapshots of every command's output over one deterministic fixture.
//!
//! These pin what a user sees, byte for byte: the JSON contracts, the tables, the documents
//! in the standard formats (OpenVEX, CycloneDX, SARIF, SPDX) and the messages on stderr, with
//! the exit code. A refactor that moves code around must leave every snapshot unchanged; a
//! change that means to change the output shows up here as a diff to review.
//!
//! # The fixture
//!
//! Built once per test binary ([`fixture`]) in a directory of its own: a Debian 12 root
//! ([`FakeRoot`]) whose programs and libraries are compiled here with gcc ([`CBuild`]) next to
//! the host's glibc, a dpkg database written here, and an OSV store filled by
//! `inuse db import` of records written here. Commands that could see the host run with
//! `--no-live` or select the test's own process; every run gets a cleared environment with
//! `NO_COLOR`, `SOURCE_DATE_EPOCH` and a `HOME` inside the fixture, so no default store leaks
//! in.
//!
//! # Redaction
//!
//! Only what truly varies between runs is replaced ([`redact`]): the fixture's temporary
//! directory (`[ROOT]`, `[FIXTURE]`), pids, addresses, the host name, wall-clock times of
//! `observe` and `db status`, and what depends on the host's compiler and glibc build (build
//! ids, file sizes and digests of the compiled files). Everything else is exact.
//!
//! # Reviewing and updating
//!
//! A mismatch fails the test and prints a diff. After a deliberate change of the output:
//!
//! ```text
//! cargo insta test -p inuse --test snapshots --review    # with cargo-insta installed
//! INSTA_UPDATE=always cargo test -p inuse --test snapshots  # without it: rewrites the files
//! git diff crates/inuse/tests/snapshots/                     # then review what changed
//! ```
//!
//! Without `INSTA_UPDATE`, a mismatch writes `*.snap.new` next to the snapshot (for
//! `cargo insta review`) and fails. Under `CI=true` nothing is written, and a missing snapshot
//! fails like a wrong one.

#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use inuse_testkit::{
    CBuild, FakeRoot, LiveProcess, Skip, clean_command, or_skip, require_root, require_tool,
    run_bounded,
};

/// Where Debian puts x86-64 libraries.
const MULTIARCH: &str = "/usr/lib/x86_64-linux-gnu";

/// The fixed time of every document (`SOURCE_DATE_EPOCH`): 2023-11-14T22:13:20Z.
const EPOCH: &str = "1700000000";

/// How long one run of inuse may take (a debug build on a busy machine).
const TIMEOUT: Duration = Duration::from_secs(300);

/// The shared fixture: a root, an OSV store filled from it, an empty observation store.
struct Fixture {
    /// The directory everything lives in (`[FIXTURE]` in snapshots).
    dir: PathBuf,
    /// The fake root (`[ROOT]` in snapshots).
    root: PathBuf,
    /// The OSV store.
    db: PathBuf,
    /// A store path no observation was ever written to.
    no_store: PathBuf,
    /// The OSV records imported into `db`.
    records: PathBuf,
    /// The first `inuse db import` into `db`, as a snapshot shows it.
    import: String,
    /// An Alpine root with an apk database and no ELF files (`[FIXTURE]/alpine`).
    alpine: PathBuf,
    /// Keeps the fake root alive for the whole test binary.
    _root: FakeRoot,
    /// A copy of the root for the stale-library test (`[STALE-ROOT]` in snapshots).
    stale_root: PathBuf,
    _stale_root: FakeRoot,
}

/// The fixture, built at the first call of the test binary.
fn fixture() -> Result<&'static Fixture, Skip> {
    static FIXTURE: OnceLock<Result<Fixture, Skip>> = OnceLock::new();
    FIXTURE
        .get_or_init(build_fixture)
        .as_ref()
        .map_err(Clone::clone)
}

/// A dpkg status stanza.
fn stanza(package: &str, source: &str, version: &str, arch: &str, depends: &str) -> String {
    // Installed-Size in KiB, as dpkg writes it: a fixed value per package.
    let size = 10 * package.len();
    let depends = if depends.is_empty() {
        String::new()
    } else {
        format!("Depends: {depends}\n")
    };
    format!(
        "Package: {package}\nStatus: install ok installed\nPriority: optional\n\
         Installed-Size: {size}\nArchitecture: {arch}\nSource: {source}\nVersion: {version}\n\
         {depends}\
         Description: {package} for the snapshot tests\n\n"
    )
}

/// An OSV record of the Debian 12 source package `source`, fixed in `fixed`.
fn osv(id: &str, source: &str, fixed: &str, alias: &str, cvss: Option<&str>) -> String {
    let severity = cvss.map_or(String::new(), |v| {
        format!(r#","severity":[{{"type":"CVSS_V3","score":"{v}"}}]"#)
    });
    format!(
        r#"{{"schema_version":"1.6.0","id":"{id}","modified":"2023-10-01T00:00:00Z",
"published":"2023-09-01T00:00:00Z","aliases":[],"related":["{alias}"],
"summary":"{source} -- snapshot test vulnerability {alias}",
"affected":[{{"package":{{"ecosystem":"Debian:12","name":"{source}",
"purl":"pkg:deb/debian/{source}?arch=source"}},
"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]
{severity}}}"#
    )
}

/// Removes the fixture directories of earlier runs whose process is gone (a fixture in a
/// `static` outlives the test binary's destructors).
fn remove_stale_fixtures(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("inuse-snapshots-"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn build_fixture() -> Result<Fixture, Skip> {
    require_root()?;
    // /tmp, not $TMPDIR, and the pid zero-padded: the path has the same length in every run,
    // so a table whose columns are aligned to a path (`inuse trace`) is the same after
    // redaction.
    let tmp = PathBuf::from("/tmp");
    remove_stale_fixtures(&tmp);
    let dir = tempfile::Builder::new()
        .prefix(&format!("inuse-snapshots-{:010}-", std::process::id()))
        .tempdir_in(&tmp)
        .unwrap()
        .keep();
    let dir = std::fs::canonicalize(dir).unwrap();
    let build = dir.join("build");
    std::fs::create_dir(&build).unwrap();

    // Libraries and programs compiled here, so nothing depends on the host's packages but
    // glibc itself.
    let liba = CBuild::new(&build)
        .source("int snapa_work(int x) { return x + 1; }\n")
        .shared("libsnapa.so.1")
        .soname("libsnapa.so.1")
        .build()?;
    let libb = CBuild::new(&build)
        .source("int snapa_work(int);\nint snapb_run(int x) { return snapa_work(x) * 2; }\n")
        .shared("libsnapb.so.2")
        .soname("libsnapb.so.2")
        .needed_lib(&liba)
        .build()?;
    let idle = CBuild::new(&build)
        .source("int snapidle_nothing(void) { return 0; }\n")
        .shared("libsnapidle.so.0")
        .soname("libsnapidle.so.0")
        .build()?;
    // Takes a symbol from libsnapb only; libsnapidle is linked but never used.
    let prog = CBuild::new(&build)
        .source("int snapb_run(int);\nint main(int argc, char **argv) { (void)argv; return snapb_run(argc); }\n")
        .needed_lib(&libb)
        .needed_lib(&idle)
        .executable("snapprog")
        .build()?;
    // Runs for the live tests: calls into libsnapa every 50 ms until killed.
    let holder = CBuild::new(&build)
        .source(
            "#include <time.h>\nint snapa_work(int);\n\
             int main(void) { struct timespec t = {0, 50000000}; int x = 0;\n\
             for (;;) { x = snapa_work(x); nanosleep(&t, 0); } }\n",
        )
        .needed_lib(&liba)
        .executable("snapholder")
        .build()?;
    // No package owns it.
    let stray = CBuild::new(&build)
        .source("int snapa_work(int);\nint main(void) { return snapa_work(0); }\n")
        .needed_lib(&liba)
        .executable("stray")
        .build()?;
    // A plugin host found through DT_RUNPATH $ORIGIN/../lib, which also needs a library the
    // root does not have.
    let plug = CBuild::new(&build)
        .source("int snapplug_init(void) { return 3; }\n")
        .shared("libsnapplug.so.1")
        .soname("libsnapplug.so.1")
        .build()?;
    let gone = CBuild::new(&build)
        .source("int snapgone(void) { return 7; }\n")
        .shared("libsnapgone.so.7")
        .soname("libsnapgone.so.7")
        .build()?;
    let plughost = CBuild::new(&build)
        .source("int snapplug_init(void);\nint main(void) { return snapplug_init(); }\n")
        .needed_lib(&plug)
        .needed_lib(&gone)
        .runpath("$ORIGIN/../lib")
        .executable("snapplug")
        .build()?;

    let built = Built {
        liba,
        libb,
        idle,
        prog,
        holder,
        stray,
        plug,
        plughost,
    };
    let root = debian_root(&dir, &built)?;
    // The same root again, for the test that replaces a library under a running process.
    let stale_root = debian_root(&dir, &built)?;

    let records = dir.join("osv");
    std::fs::create_dir(&records).unwrap();
    let critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H";
    let medium = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N";
    for (id, source, fixed, alias, cvss) in [
        // Affects libsnapa1, which the live holder calls.
        (
            "DSA-9101-1",
            "snapa",
            "1.2.3-2",
            "CVE-2099-1101",
            Some(critical),
        ),
        // Affects libsnapidle0: linked by snapprog, no symbol taken.
        (
            "DSA-9102-1",
            "snapidle",
            "0.9-4",
            "CVE-2099-1102",
            Some(medium),
        ),
        // Affects snapdoc: installed, no ELF file.
        ("DSA-9103-1", "snapdoc", "1.0-2", "CVE-2099-1103", None),
        // Fixed before the installed libsnapb2: no finding.
        (
            "DSA-9104-1",
            "snapb",
            "1.9-1",
            "CVE-2099-1104",
            Some(critical),
        ),
        // A package the root does not have.
        (
            "DSA-9105-1",
            "absent",
            "1.0-1",
            "CVE-2099-1105",
            Some(medium),
        ),
    ] {
        std::fs::write(
            records.join(format!("{id}.json")),
            osv(id, source, fixed, alias, cvss),
        )
        .unwrap();
    }
    let alpine = dir.join("alpine");
    for (path, text) in [
        (
            "etc/os-release",
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n\
             PRETTY_NAME=\"Alpine Linux v3.19\"\n",
        ),
        (
            "lib/apk/db/installed",
            "C:Q1snapshotmuslchecksum0000000000=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\n\
             I:622592\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\n\
             L:MIT\no:musl\nm:Maintainer <m@example.invalid>\nt:1700000000\n\
             F:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n\
             C:Q1snapshotzlibchecksum0000000000=\nP:zlib\nV:1.3.1-r0\nA:x86_64\nS:53421\n\
             I:110592\nT:A compression/decompression Library\nU:https://zlib.net/\n\
             L:Zlib\no:zlib\nm:Maintainer <m@example.invalid>\nt:1700000000\n\
             D:so:libc.musl-x86_64.so.1\np:so:libz.so.1=1.3.1\nF:lib\nR:libz.so.1.3.1\n\n",
        ),
    ] {
        let file = alpine.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    let db = dir.join("vulns.sqlite");
    let mut fx = Fixture {
        root: std::fs::canonicalize(root.path()).unwrap(),
        stale_root: std::fs::canonicalize(stale_root.path()).unwrap(),
        _stale_root: stale_root,
        dir: dir.clone(),
        db: db.clone(),
        no_store: dir.join("no-observations.sqlite"),
        records: records.clone(),
        import: String::new(),
        alpine,
        _root: root,
    };
    let out = fx.run(&[
        "db".as_ref(),
        "import".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        records.as_os_str(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.text);
    fx.import = out.text;
    Ok(fx)
}

/// What the fixture compiles, to copy into a root.
struct Built {
    liba: PathBuf,
    libb: PathBuf,
    idle: PathBuf,
    prog: PathBuf,
    holder: PathBuf,
    stray: PathBuf,
    plug: PathBuf,
    plughost: PathBuf,
}

/// A Debian 12 root inside `dir`: the host's glibc, the compiled files, a dpkg database and
/// the `ld.so.cache` the host's ldconfig writes for it.
fn debian_root(dir: &Path, built: &Built) -> Result<FakeRoot, Skip> {
    let mut root = FakeRoot::new_in(dir);
    root.merged_usr().host_glibc()?;
    root.copy(&built.liba, format!("{MULTIARCH}/libsnapa.so.1.2.3"))
        .symlink(format!("{MULTIARCH}/libsnapa.so.1"), "libsnapa.so.1.2.3")
        .copy(&built.libb, format!("{MULTIARCH}/libsnapb.so.2.0.0"))
        .symlink(format!("{MULTIARCH}/libsnapb.so.2"), "libsnapb.so.2.0.0")
        .copy(&built.idle, format!("{MULTIARCH}/libsnapidle.so.0.9"))
        .symlink(
            format!("{MULTIARCH}/libsnapidle.so.0"),
            "libsnapidle.so.0.9",
        )
        .copy(&built.prog, "/usr/bin/snapprog")
        .copy(&built.holder, "/usr/bin/snapholder")
        .copy(&built.stray, "/usr/local/bin/stray")
        .copy(&built.plug, "/opt/snapplugin/lib/libsnapplug.so.1")
        .copy(&built.plughost, "/opt/snapplugin/bin/snapplug")
        .write(
            "/opt/snapplugin/bin/snapplug-wrapper",
            "#!/bin/sh\nexec /opt/snapplugin/bin/snapplug \"$@\"\n",
        )
        .write("/usr/share/doc/snapdoc/README", "documentation only\n")
        .write("/etc/debian_version", "12.5\n")
        .os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
             VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        );
    for exe in [
        "/opt/snapplugin/bin/snapplug",
        "/opt/snapplugin/bin/snapplug-wrapper",
        "/usr/bin/snapprog",
        "/usr/bin/snapholder",
        "/usr/local/bin/stray",
    ] {
        std::fs::set_permissions(root.host_path(exe), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let status = [
        stanza("libc6", "glibc", "2.36-9+deb12u4", "amd64", ""),
        stanza("libsnapa1", "snapa", "1.2.3-1", "amd64", "libc6 (>= 2.34)"),
        stanza(
            "libsnapb2",
            "snapb",
            "2.0-1",
            "amd64",
            "libc6 (>= 2.34), libsnapa1 (>= 1.2)",
        ),
        stanza(
            "libsnapidle0",
            "snapidle",
            "0.9-3",
            "amd64",
            "libc6 (>= 2.34)",
        ),
        stanza(
            "snaptools",
            "snaptools",
            "1.0-1",
            "amd64",
            "libc6 (>= 2.34), libsnapb2, libsnapidle0",
        ),
        stanza("snapdoc", "snapdoc", "1.0-1", "all", ""),
        stanza(
            "snapplugin",
            "snapplugin",
            "3.1-1",
            "amd64",
            "libc6 (>= 2.34)",
        ),
    ]
    .concat();
    root.write("/var/lib/dpkg/status", status)
        .write(
            "/var/lib/dpkg/info/libc6:amd64.list",
            format!("/.\n/usr\n/usr/lib\n{MULTIARCH}\n{MULTIARCH}/libc.so.6\n{MULTIARCH}/ld-linux-x86-64.so.2\n/usr/lib64\n/usr/lib64/ld-linux-x86-64.so.2\n"),
        )
        .write(
            "/var/lib/dpkg/info/libsnapa1:amd64.list",
            format!("{MULTIARCH}/libsnapa.so.1.2.3\n{MULTIARCH}/libsnapa.so.1\n"),
        )
        .write(
            "/var/lib/dpkg/info/libsnapb2:amd64.list",
            format!("{MULTIARCH}/libsnapb.so.2.0.0\n{MULTIARCH}/libsnapb.so.2\n"),
        )
        .write(
            "/var/lib/dpkg/info/libsnapidle0:amd64.list",
            format!("{MULTIARCH}/libsnapidle.so.0.9\n{MULTIARCH}/libsnapidle.so.0\n"),
        )
        .write(
            "/var/lib/dpkg/info/snaptools.list",
            "/usr/bin/snapprog\n/usr/bin/snapholder\n",
        )
        .write(
            "/var/lib/dpkg/info/snapplugin.list",
            "/opt/snapplugin\n/opt/snapplugin/bin\n/opt/snapplugin/bin/snapplug\n\
             /opt/snapplugin/bin/snapplug-wrapper\n/opt/snapplugin/lib\n\
             /opt/snapplugin/lib/libsnapplug.so.1\n",
        )
        .write(
            "/var/lib/dpkg/info/snapdoc.list",
            "/usr/share/doc/snapdoc\n/usr/share/doc/snapdoc/README\n",
        );
    root.ldconfig()?;
    Ok(root)
}

/// One run of inuse, as a snapshot shows it.
struct Run {
    code: Option<i32>,
    stdout: String,
    /// The command line, exit code, stdout and stderr, redacted.
    text: String,
}

impl Fixture {
    /// `inuse ARGS` in a cleared environment: `PATH`, `NO_COLOR`, `SOURCE_DATE_EPOCH` and a
    /// `HOME` inside the fixture.
    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_inuse"));
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", self.dir.join("home"))
            .env("NO_COLOR", "1")
            .env("SOURCE_DATE_EPOCH", EPOCH);
        cmd
    }

    /// Runs `inuse ARGS` (see [`Fixture::command`]).
    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        let mut cmd = self.command(args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        let out = run_bounded(&mut cmd, TIMEOUT).unwrap();
        assert!(!out.timed_out, "inuse {shown:?} timed out");
        let text = format!(
            "$ inuse {}\n[exit {}]\n--- stdout\n{}--- stderr\n{}",
            shown.join(" "),
            out.code
                .map_or_else(|| format!("signal {:?}", out.signal), |c| c.to_string()),
            out.stdout,
            out.stderr
        );
        Run {
            code: out.code,
            stdout: self.redact(&out.stdout),
            text: self.redact(&text),
        }
    }

    /// Runs `inuse COMMAND --root ROOT ARGS`.
    fn on_root(&self, command: &str, args: &[&str]) -> Run {
        let mut all: Vec<&OsStr> = vec![command.as_ref(), "--root".as_ref(), self.root.as_ref()];
        all.extend(args.iter().map(OsStr::new));
        self.run(&all)
    }

    /// `inuse scan --root ROOT --db DB --store (none) --offline --no-live ARGS`.
    fn scan(&self, args: &[&str]) -> Run {
        let mut all: Vec<&OsStr> = vec![
            "scan".as_ref(),
            "--root".as_ref(),
            self.root.as_ref(),
            "--db".as_ref(),
            self.db.as_ref(),
            "--store".as_ref(),
            self.no_store.as_ref(),
            "--offline".as_ref(),
            "--no-live".as_ref(),
        ];
        all.extend(args.iter().map(OsStr::new));
        self.run(&all)
    }

    /// Replaces the fixture's paths with placeholders.
    fn redact(&self, text: &str) -> String {
        text.replace(self.root.to_str().unwrap(), "[ROOT]")
            .replace(self.stale_root.to_str().unwrap(), "[STALE-ROOT]")
            .replace(self.dir.to_str().unwrap(), "[FIXTURE]")
    }
}

/// Snapshot settings: regex filters for what varies between runs and hosts.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    // The OpenVEX document id is derived from the root's path.
    s.add_filter(
        r"[A-Za-z0-9._-]*inuse-snapshots-[0-9]{10}-[A-Za-z0-9]{6}-inuse-fakeroot-[A-Za-z0-9]{6}",
        "[ROOT-SLUG]",
    );
    // The SBOM serial is derived from the document's content, which names the root's path.
    s.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    // When `inuse db import` ran (the store takes the wall clock, not SOURCE_DATE_EPOCH).
    s.add_filter(
        r#""last_import": [0-9]+"#,
        r#""last_import": "[UNIX-TIME]""#,
    );
    s.add_filter(r"(?m)^last import:  .*$", "last import:  [TIME]");
    s
}

/// Asserts the snapshot `name` of `run` (its command line, exit code and both streams).
macro_rules! snap {
    ($name:expr, $run:expr) => {
        settings().bind(|| insta::assert_snapshot!($name, $run.text))
    };
}

/// A JSON document on stdout; the snapshot itself is of the exact bytes.
fn assert_json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", run.text))
}

// ---------------------------------------------------------------------------------------------
// scan

#[test]
fn scan_table() {
    let fx = or_skip!(fixture());
    snap!("scan_table", fx.scan(&["--format", "table"]));
}

#[test]
fn scan_json() {
    let fx = or_skip!(fixture());
    let run = fx.scan(&["--format", "json"]);
    assert_json(&run);
    snap!("scan_json", run);
}

#[test]
fn scan_openvex() {
    let fx = or_skip!(fixture());
    let run = fx.scan(&["--format", "openvex"]);
    assert_json(&run);
    snap!("scan_openvex", run);
}

#[test]
fn scan_cyclonedx() {
    let fx = or_skip!(fixture());
    let run = fx.scan(&["--format", "cyclonedx"]);
    assert_json(&run);
    snap!("scan_cyclonedx", run);
}

#[test]
fn scan_sarif() {
    let fx = or_skip!(fixture());
    let run = fx.scan(&["--format", "sarif"]);
    assert_json(&run);
    snap!("scan_sarif", run);
}

#[test]
fn scan_explain() {
    let fx = or_skip!(fixture());
    snap!("scan_explain", fx.scan(&["--explain", "CVE-2099-1102"]));
}

#[test]
fn scan_fail_on_sets_the_exit_code() {
    let fx = or_skip!(fixture());
    // Met by the critical linked finding (exit 1); the table is the same as without it.
    snap!("scan_fail_on_met", fx.scan(&["--fail-on", "linked:high"]));
    // Not met: nothing is loaded (exit 0).
    snap!(
        "scan_fail_on_not_met",
        fx.scan(&["--fail-on", "loaded", "--format", "json"])
    );
}

// ---------------------------------------------------------------------------------------------
// unused

#[test]
fn unused_table() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "unused",
        &[
            "--db",
            fx.db.to_str().unwrap(),
            "--store",
            fx.no_store.to_str().unwrap(),
            "--no-live",
        ],
    );
    snap!("unused_table", run);
}

#[test]
fn unused_json() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "unused",
        &[
            "--db",
            fx.db.to_str().unwrap(),
            "--store",
            fx.no_store.to_str().unwrap(),
            "--no-live",
            "--format",
            "json",
        ],
    );
    assert_json(&run);
    snap!("unused_json", run);
}

// ---------------------------------------------------------------------------------------------
// deps

#[test]
fn deps_tree() {
    let fx = or_skip!(fixture());
    snap!(
        "deps_tree",
        fx.on_root(
            "deps",
            &[
                "--format",
                "tree",
                "/usr/bin/snapprog",
                "/usr/local/bin/stray"
            ]
        )
    );
}

#[test]
fn deps_list() {
    let fx = or_skip!(fixture());
    snap!(
        "deps_list",
        fx.on_root("deps", &["--format", "list", "/usr/bin/snapprog"])
    );
}

#[test]
fn deps_json() {
    let fx = or_skip!(fixture());
    let run = fx.on_root("deps", &["--format", "json", "/usr/bin/snapprog"]);
    assert_json(&run);
    snap!("deps_json", run);
}

#[test]
fn deps_recursive_json() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "deps",
        &["--format", "json", "-r", "/usr/bin", "/usr/local/bin"],
    );
    assert_json(&run);
    snap!("deps_recursive_json", run);
}

#[test]
fn deps_why_tree() {
    let fx = or_skip!(fixture());
    snap!(
        "deps_why_tree",
        fx.on_root(
            "deps",
            &[
                "--format",
                "tree",
                "--why",
                "libsnapa.so.1",
                "/usr/bin/snapprog"
            ]
        )
    );
}

#[test]
fn deps_why_json() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "deps",
        &[
            "--format",
            "json",
            "--why",
            "libsnapa.so.1",
            "/usr/bin/snapprog",
        ],
    );
    assert_json(&run);
    snap!("deps_why_json", run);
}

#[test]
fn deps_count() {
    let fx = or_skip!(fixture());
    snap!(
        "deps_count",
        fx.on_root(
            "deps",
            &["--count", "/usr/bin/snapprog", "/usr/local/bin/stray"]
        )
    );
}

#[test]
fn deps_count_json() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "deps",
        &["--count", "--format", "json", "/usr/bin/snapprog"],
    );
    assert_json(&run);
    snap!("deps_count_json", run);
}

#[test]
fn deps_tree_runpath_and_missing() {
    let fx = or_skip!(fixture());
    snap!(
        "deps_tree_runpath_missing",
        fx.on_root(
            "deps",
            &["--format", "tree", "/opt/snapplugin/bin/snapplug"]
        )
    );
}

#[test]
fn deps_list_runpath_and_missing() {
    let fx = or_skip!(fixture());
    snap!(
        "deps_list_runpath_missing",
        fx.on_root(
            "deps",
            &["--format", "list", "/opt/snapplugin/bin/snapplug"]
        )
    );
}

#[test]
fn deps_json_runpath_and_missing() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "deps",
        &["--format", "json", "/opt/snapplugin/bin/snapplug"],
    );
    assert_json(&run);
    snap!("deps_json_runpath_missing", run);
}

#[test]
fn deps_json_of_a_script_and_a_missing_path() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "deps",
        &[
            "--format",
            "json",
            "/opt/snapplugin/bin/snapplug-wrapper",
            "/usr/bin/no-such-program",
        ],
    );
    assert_json(&run);
    snap!("deps_json_script_and_missing_path", run);
}

#[test]
fn deps_tree_of_a_script_and_a_missing_path() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "deps",
        &[
            "--format",
            "tree",
            "/opt/snapplugin/bin/snapplug-wrapper",
            "/usr/bin/no-such-program",
        ],
    );
    snap!("deps_tree_script_and_missing_path", run);
}

#[test]
fn deps_list_with_ld_library_path_and_preload() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "deps",
        &[
            "--format",
            "list",
            "--ld-library-path",
            "/opt/snapplugin/lib",
            "--preload",
            "/usr/lib/x86_64-linux-gnu/libsnapidle.so.0",
            "/opt/snapplugin/bin/snapplug",
        ],
    );
    snap!("deps_list_ld_library_path_preload", run);
}

#[test]
fn deps_why_with_no_chain() {
    let fx = or_skip!(fixture());
    snap!(
        "deps_why_no_chain",
        fx.on_root(
            "deps",
            &[
                "--format",
                "tree",
                "--why",
                "libsnapidle.so.0",
                "/usr/local/bin/stray"
            ]
        )
    );
}

// ---------------------------------------------------------------------------------------------
// inventory, owner, sbom

#[test]
fn inventory_table() {
    let fx = or_skip!(fixture());
    snap!("inventory_table", fx.on_root("inventory", &[]));
}

#[test]
fn inventory_json() {
    let fx = or_skip!(fixture());
    let run = fx.on_root("inventory", &["--format", "json"]);
    assert_json(&run);
    snap!("inventory_json", run);
}

const OWNED: [&str; 5] = [
    "/usr/bin/snapprog",
    "/lib/x86_64-linux-gnu/libsnapa.so.1",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/share/doc/snapdoc/README",
    "/usr/local/bin/stray",
];

#[test]
fn owner_text() {
    let fx = or_skip!(fixture());
    snap!("owner_text", fx.on_root("owner", &OWNED));
}

#[test]
fn owner_json() {
    let fx = or_skip!(fixture());
    let mut args = vec!["--format", "json"];
    args.extend(OWNED);
    let run = fx.on_root("owner", &args);
    assert_json(&run);
    snap!("owner_json", run);
}

#[test]
fn owner_of_a_path_that_does_not_exist() {
    let fx = or_skip!(fixture());
    snap!(
        "owner_missing_path",
        fx.on_root(
            "owner",
            &["/usr/bin/no-such-program", "/opt/snapplugin/bin/snapplug"]
        )
    );
}

#[test]
fn sbom_cyclonedx() {
    let fx = or_skip!(fixture());
    let run = fx.on_root("sbom", &["--format", "cyclonedx-json"]);
    assert_json(&run);
    snap!("sbom_cyclonedx", run);
}

#[test]
fn sbom_spdx() {
    let fx = or_skip!(fixture());
    let run = fx.on_root("sbom", &["--format", "spdx-json"]);
    assert_json(&run);
    snap!("sbom_spdx", run);
}

// ---------------------------------------------------------------------------------------------
// vulns, db, version

#[test]
fn vulns_table() {
    let fx = or_skip!(fixture());
    snap!(
        "vulns_table",
        fx.on_root("vulns", &["--db", fx.db.to_str().unwrap()])
    );
}

#[test]
fn vulns_json() {
    let fx = or_skip!(fixture());
    let run = fx.on_root(
        "vulns",
        &["--db", fx.db.to_str().unwrap(), "--format", "json"],
    );
    assert_json(&run);
    snap!("vulns_json", run);
}

#[test]
fn db_status_table() {
    let fx = or_skip!(fixture());
    snap!(
        "db_status_table",
        fx.run(&["db", "status", "--db", fx.db.to_str().unwrap()])
    );
}

#[test]
fn db_status_json() {
    let fx = or_skip!(fixture());
    let run = fx.run(&[
        "db",
        "status",
        "--db",
        fx.db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_json(&run);
    snap!("db_status_json", run);
}

#[test]
fn db_status_of_a_store_that_does_not_exist() {
    let fx = or_skip!(fixture());
    let missing = fx.dir.join("no-such-db.sqlite");
    snap!(
        "db_status_missing_store",
        fx.run(&["db", "status", "--db", missing.to_str().unwrap()])
    );
    assert!(!missing.exists(), "db status created {}", missing.display());
}

#[test]
fn vulns_without_a_store() {
    let fx = or_skip!(fixture());
    let missing = fx.dir.join("no-such-db.sqlite");
    snap!(
        "vulns_missing_store",
        fx.on_root("vulns", &["--db", missing.to_str().unwrap()])
    );
}

#[test]
fn scan_of_a_root_that_does_not_exist() {
    let fx = or_skip!(fixture());
    let missing = fx.dir.join("no-such-root");
    let run = fx.run(&[
        "scan".as_ref(),
        "--root".as_ref(),
        missing.as_os_str(),
        "--db".as_ref(),
        fx.db.as_os_str(),
        "--store".as_ref(),
        fx.no_store.as_os_str(),
        "--offline".as_ref(),
        "--no-live".as_ref(),
    ]);
    snap!("scan_missing_root", run);
}

#[test]
fn db_import_then_again() {
    let fx = or_skip!(fixture());
    // The fixture's own import, then the same records into the same (fresh) store twice.
    let db = fx.dir.join("import-twice.sqlite");
    let args = [
        "db".as_ref(),
        "import".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        fx.records.as_os_str(),
    ];
    let text = [fx.import.clone(), fx.run(&args).text, fx.run(&args).text].concat();
    settings().bind(|| insta::assert_snapshot!("db_import", text));
}

#[test]
fn db_import_of_a_broken_record() {
    let fx = or_skip!(fixture());
    let dir = fx.dir.join("broken-osv");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("GOOD-1.json"),
        osv("GOOD-1", "snapa", "9.9-1", "CVE-2099-1199", None),
    )
    .unwrap();
    std::fs::write(
        dir.join("TRUNCATED-1.json"),
        r#"{"id":"TRUNCATED-1","modified":"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("NO-MODIFIED-1.json"),
        r#"{"id":"NO-MODIFIED-1","affected":[]}"#,
    )
    .unwrap();
    let db = fx.dir.join("import-broken.sqlite");
    let run = fx.run(&[
        "db".as_ref(),
        "import".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        dir.as_os_str(),
    ]);
    snap!("db_import_broken", run);
}

#[test]
fn inventory_table_of_an_alpine_root() {
    let fx = or_skip!(fixture());
    let run = fx.run(&[
        "inventory".as_ref(),
        "--root".as_ref(),
        fx.alpine.as_os_str(),
    ]);
    snap!("inventory_table_alpine", run);
}

#[test]
fn inventory_json_of_an_alpine_root() {
    let fx = or_skip!(fixture());
    let run = fx.run(&[
        "inventory".as_ref(),
        "--root".as_ref(),
        fx.alpine.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_json(&run);
    snap!("inventory_json_alpine", run);
}

#[test]
fn sbom_cyclonedx_of_an_alpine_root() {
    let fx = or_skip!(fixture());
    let run = fx.run(&["sbom".as_ref(), "--root".as_ref(), fx.alpine.as_os_str()]);
    assert_json(&run);
    snap!("sbom_cyclonedx_alpine", run);
}

#[test]
fn vulns_of_an_alpine_root_with_debian_data_only() {
    let fx = or_skip!(fixture());
    let run = fx.run(&[
        "vulns".as_ref(),
        "--root".as_ref(),
        fx.alpine.as_os_str(),
        "--db".as_ref(),
        fx.db.as_os_str(),
    ]);
    snap!("vulns_alpine_debian_data", run);
}

/// Issue 14 papercut: zero findings for a root whose ecosystem the store has no data for is
/// no data, not clean. `scan` says so with an `ecosystem-no-data` note naming the ecosystem
/// and the command that fetches it; a root whose ecosystem has data gets no such note.
#[test]
fn scan_of_an_alpine_root_with_debian_data_only_says_there_is_no_data() {
    let fx = or_skip!(fixture());
    let scan = |root: &Path| {
        let run = fx.run(&[
            "scan".as_ref(),
            "--root".as_ref(),
            root.as_os_str(),
            "--db".as_ref(),
            fx.db.as_os_str(),
            "--store".as_ref(),
            fx.no_store.as_os_str(),
            "--offline".as_ref(),
            "--no-live".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        assert_json(&run)
    };
    let codes = |doc: &serde_json::Value| -> Vec<(String, String)> {
        doc["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .map(|n| {
                (
                    n["code"].as_str().expect("code").to_owned(),
                    n["message"].as_str().expect("message").to_owned(),
                )
            })
            .collect()
    };
    let alpine = scan(&fx.alpine);
    assert_eq!(alpine["findings"].as_array().map(Vec::len), Some(0));
    let notes = codes(&alpine);
    let no_data: Vec<&(String, String)> = notes
        .iter()
        .filter(|(c, _)| c == "ecosystem-no-data")
        .collect();
    assert_eq!(no_data.len(), 1, "{notes:?}");
    assert!(
        no_data[0].1.contains("Alpine:v3.19")
            && no_data[0]
                .1
                .contains("inuse db update --ecosystem Alpine:v3.19"),
        "{notes:?}"
    );
    let debian = scan(&fx.root);
    assert!(
        codes(&debian).iter().all(|(c, _)| c != "ecosystem-no-data"),
        "{debian:#}"
    );
}

#[test]
fn version_compare() {
    let fx = or_skip!(fixture());
    let mut text = String::new();
    for (scheme, a, b) in [
        ("deb", "1:1.0-1", "2.0-1"),
        ("deb", "1.0~rc1-1", "1.0-1"),
        ("deb", "5.6.1+really5.4.5-1", "5.6.1-1"),
        ("rpm", "1.0-1.el9", "1.0-1.el9"),
        ("apk", "1.2.4-r2", "1.2.4_rc1-r0"),
        ("semver", "1.0.0-alpha", "1.0.0"),
    ] {
        text.push_str(
            &fx.run(&["version", "compare", "--scheme", scheme, a, b])
                .text,
        );
    }
    settings().bind(|| insta::assert_snapshot!("version_compare", text));
}

// ---------------------------------------------------------------------------------------------
// live processes: ps, observe, trace

/// Taken by every test that runs a process in the root: one such process at a time, so that
/// a holder started or killed by one test is never in another's sweep or trace.
fn live_lock() -> std::sync::MutexGuard<'static, ()> {
    static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The fixture's `snapholder` running inside the root (`unshare -m chroot`), once it has
/// reached its main loop: all its libraries mapped and relocated, sleeping between calls.
fn start_holder(root: &Path) -> Result<LiveProcess, Skip> {
    let unshare = require_tool("unshare")?;
    require_tool("chroot")?;
    let mut holder = LiveProcess::spawn(&mut clean_command(
        unshare,
        [
            "-m".as_ref(),
            "chroot".as_ref(),
            root.as_os_str(),
            "/usr/bin/snapholder".as_ref(),
        ],
    ));
    // unshare execs chroot, which execs the holder: the pid stays the same.
    holder.wait_for_mapped(Duration::from_secs(60), "/libsnapa.so.1.2.3");
    // In its loop: blocked in clock_nanosleep (230) or nanosleep (35), never in the loader.
    let syscall = format!("/proc/{}/syscall", holder.pid());
    holder.wait_for_maps(Duration::from_secs(60), |maps| {
        maps.contains("/libc.so.6")
            && std::fs::read_to_string(&syscall)
                .is_ok_and(|s| s.starts_with("230 ") || s.starts_with("35 "))
    });
    Ok(holder)
}

/// Settings for output about live processes: also replaces `pid` by `[PID]`, and what the
/// machine and the moment decide: the running kernel, process start times and parents, the
/// capabilities the tests run with, wall-clock times, the host name, sweep counts and trace
/// groups.
fn live_settings(pid: u32) -> insta::Settings {
    let mut s = settings();
    s.add_filter(&format!(r"\b{pid}\b"), "[PID]");
    s.add_filter(r#""running": "[^"]*""#, r#""running": "[KERNEL]""#);
    s.add_filter(r"(?m)^kernel \S+", "kernel [KERNEL]");
    s.add_filter(r#""(start_time|ppid)": [0-9]+"#, r#""$1": "[N]""#);
    s.add_filter(r#""cap_eff": "[0-9a-f]+""#, r#""cap_eff": "[CAPS]""#);
    s.add_filter(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?",
        "[TIME]",
    );
    s.add_filter(
        r"(?m)^window ([0-9]+) on [^:]*: [0-9]+ sweeps, from [0-9]+ to [0-9?]+$",
        "window $1 on [HOST]: [N] sweeps, from [UNIX-TIME] to [UNIX-TIME]",
    );
    s.add_filter(
        r"window [0-9]+ (ms|s|min|h) \([0-9]+ sweeps?\)",
        "window [N] $1 ([N] sweeps)",
    );
    s.add_filter(
        r"[0-9]+ live-process sweep\(s\) over [0-9]+ (ms|s|min|h)",
        "[N] live-process sweep(s) over [N] $1",
    );
    s.add_filter(r#""sweeps": [0-9]+"#, r#""sweeps": "[N]""#);
    s.add_filter(r"\binuse_[0-9]+\b", "inuse_[PID]");
    s.add_filter(r"attached in [0-9]+ ms", "attached in [N] ms");
    s
}

#[test]
fn ps_json_of_a_process_in_the_root() {
    let fx = or_skip!(fixture());
    let _live = live_lock();
    let holder = or_skip!(start_holder(&fx.root));
    let pid = holder.pid();
    let run = fx.run(&["ps", "--format", "json", &pid.to_string()]);
    assert_json(&run);
    live_settings(pid).bind(|| insta::assert_snapshot!("ps_json", run.text));
}

#[test]
fn ps_table_of_a_process_in_the_root() {
    let fx = or_skip!(fixture());
    let _live = live_lock();
    let holder = or_skip!(start_holder(&fx.root));
    let pid = holder.pid();
    let run = fx.run(&["ps", &pid.to_string()]);
    live_settings(pid).bind(|| insta::assert_snapshot!("ps_table", run.text));
}

/// A store written by a short `inuse observe` while the holder ran in the root, and the
/// holder's pid: built once, for the observe snapshot and the scans that read the store.
struct Observed {
    store: PathBuf,
    pid: u32,
    /// `inuse observe` (its exit code) and `inuse observe --show`, redacted, with only
    /// the lines about the root (the rest of the host is not the test's).
    text: String,
}

fn observed() -> Result<&'static Observed, Skip> {
    static OBSERVED: OnceLock<Result<Observed, Skip>> = OnceLock::new();
    OBSERVED
        .get_or_init(|| {
            let fx = fixture()?;
            let _live = live_lock();
            let holder = start_holder(&fx.root)?;
            let store = fx.dir.join("observations.sqlite");
            let mut observer = LiveProcess::spawn(&mut fx.command(&[
                "observe".as_ref(),
                "--interval".as_ref(),
                "200ms".as_ref(),
                "--forever".as_ref(),
                "--store".as_ref(),
                store.as_os_str(),
            ]));
            // Until a sweep has recorded the holder (readers do not block the store's writer),
            // never a fixed time: a sweep of a busy host can take seconds.
            let show_args = [
                "observe".as_ref(),
                "--show".as_ref(),
                "--store".as_ref(),
                store.as_os_str(),
            ];
            let deadline = Instant::now() + Duration::from_secs(120);
            while !(store.exists()
                && fx
                    .run(&show_args)
                    .stdout
                    .contains("/libsnapa.so.1.2.3 [libsnapa1"))
            {
                assert!(observer.alive(), "inuse observe exited early");
                assert!(Instant::now() < deadline, "the holder was never recorded");
                std::thread::sleep(Duration::from_millis(100));
            }
            observer.signal(15);
            let code = observer.wait_exit(Duration::from_secs(60));
            let pid = holder.pid();
            drop(holder);
            let show = fx.run(&show_args);
            let mut text = format!(
                "$ inuse observe --interval 200ms --forever --store [FIXTURE]/observations.sqlite\n\
                 (SIGTERM once a sweep has recorded the holder)\n[exit {}]\n",
                code.map_or_else(|| "signal".to_owned(), |c| c.to_string()),
            );
            let mut lines = show.text.lines();
            // The command line, the exit code, `--- stdout` and the window's line.
            for line in lines.by_ref().take(4) {
                text.push_str(line);
                text.push('\n');
            }
            for line in lines {
                if line.contains("[ROOT]") || line.starts_with("--- stderr") {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            Ok(Observed { store, pid, text })
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[test]
fn observe_show_of_the_holder() {
    let obs = or_skip!(observed());
    live_settings(obs.pid).bind(|| insta::assert_snapshot!("observe_show", obs.text));
}

/// `inuse scan` reading the observation store (no live sweep).
fn scan_observed(fx: &Fixture, obs: &Observed, args: &[&str]) -> Run {
    let mut all: Vec<&OsStr> = vec![
        "scan".as_ref(),
        "--root".as_ref(),
        fx.root.as_ref(),
        "--db".as_ref(),
        fx.db.as_ref(),
        "--store".as_ref(),
        obs.store.as_ref(),
        "--offline".as_ref(),
        "--no-live".as_ref(),
    ];
    all.extend(args.iter().map(OsStr::new));
    fx.run(&all)
}

#[test]
fn scan_json_with_observations() {
    let fx = or_skip!(fixture());
    let obs = or_skip!(observed());
    let run = scan_observed(fx, obs, &["--min-window", "0s", "--format", "json"]);
    assert_json(&run);
    live_settings(obs.pid).bind(|| insta::assert_snapshot!("scan_json_observed", run.text));
}

#[test]
fn scan_table_with_observations() {
    let fx = or_skip!(fixture());
    let obs = or_skip!(observed());
    let run = scan_observed(fx, obs, &["--min-window", "0s"]);
    live_settings(obs.pid).bind(|| insta::assert_snapshot!("scan_table_observed", run.text));
}

#[test]
fn scan_openvex_with_observations() {
    let fx = or_skip!(fixture());
    let obs = or_skip!(observed());
    let run = scan_observed(fx, obs, &["--min-window", "0s", "--format", "openvex"]);
    assert_json(&run);
    live_settings(obs.pid).bind(|| insta::assert_snapshot!("scan_openvex_observed", run.text));
}

#[test]
fn unused_table_with_observations() {
    let fx = or_skip!(fixture());
    let obs = or_skip!(observed());
    let run = fx.on_root(
        "unused",
        &[
            "--db",
            fx.db.to_str().unwrap(),
            "--store",
            obs.store.to_str().unwrap(),
            "--no-live",
        ],
    );
    live_settings(obs.pid).bind(|| insta::assert_snapshot!("unused_table_observed", run.text));
}

#[test]
fn unused_json_with_observations() {
    let fx = or_skip!(fixture());
    let obs = or_skip!(observed());
    let run = fx.on_root(
        "unused",
        &[
            "--db",
            fx.db.to_str().unwrap(),
            "--store",
            obs.store.to_str().unwrap(),
            "--no-live",
            "--format",
            "json",
        ],
    );
    assert_json(&run);
    live_settings(obs.pid).bind(|| insta::assert_snapshot!("unused_json_observed", run.text));
}

/// A store written by `inuse trace` of the root's libsnapa while the holder called into it,
/// with the trace's own output: built once.
struct Traced {
    store: PathBuf,
    pid: u32,
    /// `inuse trace --store ... --format json`.
    run: Run,
    /// A second trace in the default format, without a store.
    table: Run,
}

fn traced() -> Result<&'static Traced, Skip> {
    static TRACED: OnceLock<Result<Traced, Skip>> = OnceLock::new();
    TRACED
        .get_or_init(|| {
            let fx = fixture()?;
            let _live = live_lock();
            let holder = start_holder(&fx.root)?;
            let store = fx.dir.join("traced.sqlite");
            let library = fx.root.join("usr/lib/x86_64-linux-gnu/libsnapa.so.1.2.3");
            let run = fx.run(&[
                "trace".as_ref(),
                "--library".as_ref(),
                library.as_os_str(),
                "--duration".as_ref(),
                "2s".as_ref(),
                "--store".as_ref(),
                store.as_os_str(),
                "--format".as_ref(),
                "json".as_ref(),
            ]);
            let table = fx.run(&[
                "trace".as_ref(),
                "--library".as_ref(),
                library.as_os_str(),
                "--duration".as_ref(),
                "2s".as_ref(),
            ]);
            let pid = holder.pid();
            drop(holder);
            // The kernel's answer, not an error of inuse: the same test as crates/inuse/tests/trace.rs.
            if run.code == Some(2)
                && (run.text.contains("no uprobe support") || run.text.contains("tracefs is not"))
            {
                return Err(Skip::new(format!(
                    "inuse trace cannot run here:\n{}",
                    run.text
                )));
            }
            assert_eq!(run.code, Some(0), "{}", run.text);
            assert_eq!(table.code, Some(0), "{}", table.text);
            Ok(Traced {
                store,
                pid,
                run,
                table,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[test]
fn trace_json_of_the_holder() {
    let tr = or_skip!(traced());
    assert_json(&tr.run);
    live_settings(tr.pid).bind(|| insta::assert_snapshot!("trace_json", tr.run.text));
}

#[test]
fn trace_table_of_the_holder() {
    let tr = or_skip!(traced());
    live_settings(tr.pid).bind(|| insta::assert_snapshot!("trace_table", tr.table.text));
}

#[test]
fn scan_json_with_a_trace() {
    let fx = or_skip!(fixture());
    let tr = or_skip!(traced());
    let mut args: Vec<&OsStr> = vec![
        "scan".as_ref(),
        "--root".as_ref(),
        fx.root.as_ref(),
        "--db".as_ref(),
        fx.db.as_ref(),
        "--store".as_ref(),
        tr.store.as_ref(),
        "--offline".as_ref(),
        "--no-live".as_ref(),
    ];
    args.extend(["--min-window", "0s", "--format", "json"].map(OsStr::new));
    let run = fx.run(&args);
    assert_json(&run);
    live_settings(tr.pid).bind(|| insta::assert_snapshot!("scan_json_traced", run.text));
}

/// [`live_settings`], and without the note a live sweep adds about the host's own processes
/// it cannot read (a sandbox's pid 1, say): they are not the fixture's, and hosts differ. The
/// table prints each note after a blank line; the JSON lists them in `notes`.
fn live_scan_settings(pid: u32) -> insta::Settings {
    let mut s = live_settings(pid);
    let note = r"[0-9]+ process\(es\) could not be read even with CAP_SYS_PTRACE";
    s.add_filter(&format!(r"\n\nnote: {note}[^\n]*"), "");
    // In JSON a note is `{"code": "process-unreadable", "message": "..."}`.
    let object =
        format!(r#"\{{\n\s*"code": "process-unreadable",\n\s*"message": "{note}[^"]*"\n\s*\}}"#);
    s.add_filter(
        &format!(r#""notes": \[\n\s*{object}\n\s*\]"#),
        r#""notes": []"#,
    );
    s.add_filter(&format!(r#",\n\s*{object}"#), "");
    s.add_filter(&format!(r#"{object},\n\s*"#), "");
    s
}

/// `inuse scan` of the root with its live sweep (no `--no-live`): only processes whose root it
/// is count, so the holder is the only one.
fn scan_live(fx: &Fixture, root: &Path, args: &[&str]) -> Run {
    let mut all: Vec<&OsStr> = vec![
        "scan".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--db".as_ref(),
        fx.db.as_ref(),
        "--store".as_ref(),
        fx.no_store.as_ref(),
        "--offline".as_ref(),
    ];
    all.extend(args.iter().map(OsStr::new));
    fx.run(&all)
}

#[test]
fn scan_live_with_the_holder() {
    let fx = or_skip!(fixture());
    let _live = live_lock();
    let holder = or_skip!(start_holder(&fx.root));
    let json = scan_live(fx, &fx.root, &["--format", "json"]);
    assert_json(&json);
    let table = scan_live(fx, &fx.root, &[]);
    let settings = live_scan_settings(holder.pid());
    settings.bind(|| {
        insta::assert_snapshot!("scan_json_live", json.text);
        insta::assert_snapshot!("scan_table_live", table.text);
    });
}

#[test]
fn a_library_replaced_under_a_running_process() {
    let fx = or_skip!(fixture());
    let _live = live_lock();
    let holder = or_skip!(start_holder(&fx.stale_root));
    // Replaced the way package managers do: a new file renamed over the mapped one.
    let lib = fx
        .stale_root
        .join("usr/lib/x86_64-linux-gnu/libsnapa.so.1.2.3");
    let fresh = lib.with_extension("3.dpkg-new");
    std::fs::copy(&lib, &fresh).unwrap();
    std::fs::rename(&fresh, &lib).unwrap();
    let pid = holder.pid().to_string();
    let ps = fx.run(&["ps", "--format", "json", &pid]);
    assert_json(&ps);
    let json = scan_live(fx, &fx.stale_root, &["--format", "json"]);
    assert_json(&json);
    let table = scan_live(fx, &fx.stale_root, &[]);
    let settings = live_scan_settings(holder.pid());
    settings.bind(|| {
        insta::assert_snapshot!("ps_json_stale", ps.text);
        insta::assert_snapshot!("scan_json_stale", json.text);
        insta::assert_snapshot!("scan_table_stale", table.text);
    });
}

#[test]
fn unused_live_with_the_holder() {
    let fx = or_skip!(fixture());
    let _live = live_lock();
    let holder = or_skip!(start_holder(&fx.root));
    let unused = |format: &str| {
        fx.on_root(
            "unused",
            &[
                "--db",
                fx.db.to_str().unwrap(),
                "--store",
                fx.no_store.to_str().unwrap(),
                "--format",
                format,
            ],
        )
    };
    let table = unused("table");
    let json = unused("json");
    assert_json(&json);
    live_scan_settings(holder.pid()).bind(|| {
        insta::assert_snapshot!("unused_table_live", table.text);
        insta::assert_snapshot!("unused_json_live", json.text);
    });
}

#[test]
fn observe_show_of_an_empty_store() {
    let fx = or_skip!(fixture());
    let store = fx.dir.join("empty-observations.sqlite");
    snap!(
        "observe_show_empty",
        fx.run(&[
            "observe".as_ref(),
            "--show".as_ref(),
            "--store".as_ref(),
            store.as_os_str()
        ])
    );
}

#[test]
fn sbom_spdx_of_an_alpine_root() {
    let fx = or_skip!(fixture());
    let run = fx.run(&[
        "sbom".as_ref(),
        "--root".as_ref(),
        fx.alpine.as_os_str(),
        "--format".as_ref(),
        "spdx-json".as_ref(),
    ]);
    assert_json(&run);
    snap!("sbom_spdx_alpine", run);
}
