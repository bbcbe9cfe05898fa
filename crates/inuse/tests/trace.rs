//! `inuse trace` against the real kernel: uprobes placed on libz, programs (one of them in
//! another mount namespace) calling some of its functions, and the cleanup contract (normal
//! end, SIGTERM, SIGKILL then the next start).
//!
//! A uprobe is per file: every process that maps the host's libz enters the probes, and any
//! other process on the machine may inflate during a window (git, apt, a package install).
//! So a test that asserts a function was *not* entered traces a private copy of libz that only
//! its own program maps (found through the program's `DT_RPATH`); tests of the host's libz
//! assert only what was entered. Likewise only the probe groups of the test's own tracers
//! count as leftovers: other inuse runs on the machine have theirs.
//!
//! Uprobes are kernel-global state, so every test that touches tracefs takes [`TRACEFS`]
//! first: they run one after another even under the parallel test harness. Each skips loudly
//! (`SKIPPED:`) where it cannot run: not root, no tracefs, no uprobe support, no gcc.
//! Expectations are computed independently: the function count of libz from `readelf`, the
//! probes left behind from `uprobe_events` read through a tracefs mount of the test's own.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use inuse_testkit::{
    CBuild, Skip, TracefsMount, clean_command, or_skip, require_tool, run_bounded,
};

static TRACEFS: Mutex<()> = Mutex::new(());

const LIBZ: &str = "/usr/lib/x86_64-linux-gnu/libz.so.1";

fn is_root() -> bool {
    inuse_testkit::require_root().is_ok()
}

/// A tracefs mount of the test's own, to read `uprobe_events` independently of the mount
/// inuse uses or makes.
struct Observer {
    tracefs: TracefsMount,
}

impl Observer {
    fn new() -> Result<Observer, Skip> {
        Ok(Observer {
            tracefs: TracefsMount::new()?,
        })
    }

    fn uprobe_events(&self) -> String {
        self.tracefs.uprobe_events()
    }

    /// The lines of `uprobe_events` of the probe groups of `tracers` (`inuse_<pid>`), and
    /// their instances. Groups of other inuse runs on the machine are theirs, not leftovers.
    fn inuse_leftovers(&self, tracers: &[u32]) -> Vec<String> {
        let groups: Vec<String> = tracers.iter().map(|p| format!("inuse_{p}")).collect();
        let mut left: Vec<String> = self
            .uprobe_events()
            .lines()
            .filter(|l| groups.iter().any(|g| l.contains(&format!(":{g}/"))))
            .map(str::to_owned)
            .collect();
        for e in std::fs::read_dir(self.tracefs.path().join("instances")).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if groups.contains(&name) {
                left.push(format!("instance {name}"));
            }
        }
        left
    }
}

/// What every tracefs test needs: the lock, an observer, libz and gcc.
fn setup() -> Result<(std::sync::MutexGuard<'static, ()>, Observer, PathBuf), Skip> {
    let guard = TRACEFS.lock().unwrap_or_else(|e| e.into_inner());
    let observer = Observer::new()?;
    let libz = std::fs::canonicalize(LIBZ)
        .map_err(|_| Skip::new(format!("{LIBZ} is missing (zlib1g)")))?;
    require_tool("gcc")?;
    require_tool("readelf")?;
    Ok((guard, observer, libz))
}

/// The defined functions of `lib` (`STT_FUNC`/`STT_GNU_IFUNC`, non-zero size, not `UND`), by
/// distinct address, as `readelf` sees them in `.dynsym` and `.symtab`.
fn readelf_function_count(lib: &Path) -> usize {
    let out = Command::new("readelf")
        .args(["--syms", "--dyn-syms", "-W"])
        .arg(lib)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut addresses = BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Num: Value Size Type Bind Vis Ndx Name
        if f.len() < 8 || !f[0].ends_with(':') {
            continue;
        }
        let size = match f[2].strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => f[2].parse::<u64>().unwrap_or(0),
        };
        if matches!(f[3], "FUNC" | "IFUNC") && size > 0 && f[6] != "UND" {
            addresses.insert(f[1].to_owned());
        }
    }
    addresses.len()
}

/// A running `inuse trace` whose stderr is read line by line.
struct Tracer {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Tracer {
    fn start(args: &[&str]) -> Tracer {
        let mut child = clean_command(env!("CARGO_BIN_EXE_inuse"), ["trace"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Tracer {
            child,
            stderr: rx,
            seen: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the readiness line; `Err` with a skip when the kernel cannot do uprobes.
    fn wait_ready(&mut self) -> Result<(), Skip> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let ready = line.starts_with("inuse: tracing ");
                    let unsupported =
                        line.contains("no uprobe support") || line.contains("tracefs is not");
                    self.seen.push(line);
                    if ready {
                        return Ok(());
                    }
                    if unsupported {
                        return Err(Skip::new(self.seen.join("\n")));
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        // Drain what is left.
                        std::thread::sleep(Duration::from_millis(100));
                        self.seen.extend(self.stderr.try_iter());
                        panic!(
                            "inuse trace exited ({status}) before it was ready: {:?}",
                            self.seen
                        );
                    }
                    assert!(Instant::now() < deadline, "not ready: {:?}", self.seen);
                }
            }
        }
    }

    /// Waits for the exit; returns (code, stdout, stderr lines).
    fn wait(mut self) -> (Option<i32>, String, Vec<String>) {
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "inuse trace does not end");
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        self.seen.extend(self.stderr.try_iter());
        (status.code(), stdout, self.seen.clone())
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        // A failing test must not leave a tracer running (SIGTERM lets it clean up).
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let _ = self.child.wait();
        }
    }
}

/// Names of the functions reported hit in the library at `path`.
fn hit_names(doc: &serde_json::Value, path: &Path) -> (BTreeSet<String>, u64) {
    let lib = doc["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["path"] == path.to_str().unwrap())
        .unwrap_or_else(|| panic!("{} not reported: {doc}", path.display()));
    let names = lib["functions_hit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["first_hit"].as_str().unwrap().ends_with('Z'), "{f}");
            f["name"].as_str().unwrap().to_owned()
        })
        .collect();
    (names, lib["functions_total"].as_u64().unwrap())
}

fn build(dir: &Path, name: &str, body: &str) -> Result<PathBuf, Skip> {
    build_with(CBuild::new(dir), name, body)
}

fn build_with(cbuild: CBuild, name: &str, body: &str) -> Result<PathBuf, Skip> {
    cbuild
        .source(&format!(
            "#include <stdio.h>\n#include <unistd.h>\n#include <zlib.h>\nint main(void) {{ {body} return 0; }}\n"
        ))
        .link_arg("-lz")
        .executable(name)
        .build()
}

/// A private copy of the host's libz as `<dir>/libz.so.1` (its own inode, so its uprobes are
/// entered by nobody else), and a program `name` running `body` that loads that copy through
/// its `DT_RPATH`. Returns (the copy, canonical; the program).
fn private_libz(
    dir: &Path,
    libz: &Path,
    name: &str,
    body: &str,
) -> Result<(PathBuf, PathBuf), Skip> {
    let libdir = dir.join("private-lib");
    std::fs::create_dir_all(&libdir).unwrap();
    let copy = libdir.join("libz.so.1");
    std::fs::copy(libz, &copy).unwrap();
    let exe = build_with(CBuild::new(dir).rpath(libdir.to_str().unwrap()), name, body)?;
    Ok((std::fs::canonicalize(&copy).unwrap(), exe))
}

#[test]
fn functions_called_are_hit_and_others_are_not() {
    let (_guard, observer, host_libz) = or_skip!(setup());
    let dir = tempfile::tempdir().unwrap();
    // Not entering inflate is only provable on a copy no other process maps.
    let (libz, exe) = or_skip!(private_libz(
        dir.path(),
        &host_libz,
        "calls-two",
        r#"printf("%s %lu\n", zlibVersion(), crc32(0L, (const Bytef *)"abc", 3));"#
    ));
    let store = dir.path().join("obs.sqlite");
    // No --duration: the window ends with SIGTERM once the program is done, however slowly
    // a busy machine runs it.
    let mut tracer = Tracer::start(&[
        "--library",
        libz.to_str().unwrap(),
        "--format",
        "json",
        "--store",
        store.to_str().unwrap(),
    ]);
    or_skip!(tracer.wait_ready());
    let pid = tracer.pid();
    assert!(
        observer
            .uprobe_events()
            .contains(&format!("p:inuse_{pid}/")),
        "probes not listed while ready"
    );
    let run = run_bounded(&mut clean_command(&exe, [""; 0]), Duration::from_secs(120)).unwrap();
    assert!(run.success(), "{run:?}");
    tracer.signal("TERM");
    let (code, stdout, stderr) = tracer.wait();
    assert_eq!(code, Some(0), "{stderr:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(doc["window"]["start"].as_str().unwrap().ends_with('Z'));
    let (hit, total) = hit_names(&doc, &libz);
    assert!(hit.contains("zlibVersion"), "{hit:?}");
    assert!(hit.contains("crc32"), "{hit:?}");
    assert!(!hit.contains("deflate"), "{hit:?}");
    assert!(!hit.contains("inflate"), "{hit:?}");
    // crc32() is a wrapper of crc32_z() since zlib 1.2.12; nothing else may be entered.
    let called: BTreeSet<String> = ["zlibVersion", "crc32", "crc32_z"]
        .map(str::to_owned)
        .into();
    assert!(
        hit.is_subset(&called),
        "entered beyond what was called: {hit:?}"
    );
    assert_eq!(total as usize, readelf_function_count(&libz));
    assert_eq!(observer.inuse_leftovers(&[pid]), Vec::<String>::new());

    // The same run in the observation store.
    let window = inuse_runtime::store::Store::open(&store)
        .unwrap()
        .latest_window()
        .unwrap()
        .unwrap();
    let stored = inuse_trace::store::read_libraries(&store, window).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].functions_total as u64, total);
    assert!(stored[0].functions_hit.iter().any(|f| f == "zlibVersion"));
    // The private copy belongs to no package (the host's libz is attributed below).
    assert_eq!(stored[0].package, None);
}

#[test]
fn a_program_in_another_mount_namespace_is_seen() {
    let (_guard, observer, libz) = or_skip!(setup());
    or_skip!(require_tool("unshare"));
    or_skip!(require_tool("chroot"));
    let dir = tempfile::tempdir().unwrap();
    let exe = or_skip!(build(
        dir.path(),
        "calls-flags",
        r#"printf("%lx\n", zlibCompileFlags());"#
    ));
    // A small root: its own /usr is the host's, bind-mounted inside a new mount namespace,
    // so libz there is the same inode under a path the host never uses.
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("usr")).unwrap();
    for link in ["lib", "lib64", "bin"] {
        std::os::unix::fs::symlink(format!("usr/{link}"), root.join(link)).unwrap();
    }
    std::fs::copy(&exe, root.join("calls-flags")).unwrap();
    let store = dir.path().join("obs.sqlite");
    // The host's libz: other processes may enter it too, so only what was entered is asserted.
    let mut tracer = Tracer::start(&[
        "--library",
        libz.to_str().unwrap(),
        "--format",
        "json",
        "--store",
        store.to_str().unwrap(),
    ]);
    or_skip!(tracer.wait_ready());
    let pid = tracer.pid();
    let script = format!(
        "mount --bind /usr {0}/usr && exec chroot {0} /calls-flags",
        root.display()
    );
    let run = run_bounded(
        Command::new("unshare").args(["-m", "sh", "-c", &script]),
        Duration::from_secs(120),
    )
    .unwrap();
    assert!(run.success(), "{run:?}");
    tracer.signal("TERM");
    let (code, stdout, stderr) = tracer.wait();
    assert_eq!(code, Some(0), "{stderr:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (hit, _) = hit_names(&doc, &libz);
    assert!(hit.contains("zlibCompileFlags"), "{hit:?}");
    assert_eq!(observer.inuse_leftovers(&[pid]), Vec::<String>::new());

    // The store attributes the host's libz to its package.
    let window = inuse_runtime::store::Store::open(&store)
        .unwrap()
        .latest_window()
        .unwrap()
        .unwrap();
    let stored = inuse_trace::store::read_libraries(&store, window).unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0]
            .functions_hit
            .iter()
            .any(|f| f == "zlibCompileFlags")
    );
    assert_eq!(stored[0].package.as_deref(), Some("zlib1g"));
}

#[test]
fn sigterm_cleans_up_and_a_sigkilled_run_is_cleaned_by_the_next() {
    let (_guard, observer, libz) = or_skip!(setup());
    let lib = libz.to_str().unwrap();

    // SIGTERM: a normal end, with a report.
    let mut tracer = Tracer::start(&["--library", lib, "--format", "json"]);
    or_skip!(tracer.wait_ready());
    let tracer_pid = tracer.pid();
    tracer.signal("TERM");
    let (code, stdout, stderr) = tracer.wait();
    assert_eq!(code, Some(0), "{stderr:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["libraries"].as_array().unwrap().len(), 1);
    assert_eq!(
        observer.inuse_leftovers(&[tracer_pid]),
        Vec::<String>::new()
    );

    // SIGKILL: the probes stay...
    let mut killed = Tracer::start(&["--library", lib]);
    or_skip!(killed.wait_ready());
    let killed_pid = killed.pid();
    let group = format!("inuse_{killed_pid}");
    killed.signal("KILL");
    let _ = killed.wait();
    assert!(
        observer.uprobe_events().contains(&format!("p:{group}/")),
        "a killed run leaves its probes (else this test proves nothing)"
    );
    // ...until the next start, which removes them and then its own.
    let mut next = Tracer::start(&["--library", lib, "--duration", "1s"]);
    or_skip!(next.wait_ready());
    let next_pid = next.pid();
    let (code, _, stderr) = next.wait();
    assert_eq!(code, Some(0), "{stderr:?}");
    assert!(
        stderr
            .iter()
            .any(|l| l.contains(&format!("removed probe group {group}"))),
        "{stderr:?}"
    );
    assert_eq!(
        observer.inuse_leftovers(&[tracer_pid, killed_pid, next_pid]),
        Vec::<String>::new()
    );
}

#[test]
fn refuses_without_root() {
    let setpriv = or_skip!(require_tool("setpriv"));
    let mut cmd = if is_root() {
        let mut c = Command::new(setpriv);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_inuse"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_inuse"))
    };
    cmd.args(["trace", "--library", LIBZ, "--duration", "1s"]);
    let out = run_bounded(&mut cmd, Duration::from_secs(60)).unwrap();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("need root"), "{}", out.stderr);
}

#[test]
fn nothing_to_trace_is_a_usage_error() {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_inuse")).arg("trace"),
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("nothing to trace"), "{}", out.stderr);
}

#[test]
fn loaded_vulnerable_chooses_the_mapped_library_of_a_vulnerable_package() {
    let (_guard, observer, libz) = or_skip!(setup());
    let dir = tempfile::tempdir().unwrap();
    // zlib is "vulnerable" up to a version far above any real one (Debian 12 data).
    let record = dir.path().join("TEST-ZLIB-1.json");
    std::fs::write(
        &record,
        r#"{"schema_version":"1.6.0","id":"TEST-ZLIB-1","modified":"2024-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:99-1"}]}]}]}"#,
    )
    .unwrap();
    let db = dir.path().join("vulns.sqlite");
    let import = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_inuse"))
            .args(["db", "--db"])
            .arg(&db)
            .arg("import")
            .arg(&record),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(import.success(), "{import:?}");
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    if !os_release.contains("VERSION_ID=\"12\"") || !os_release.contains("ID=debian") {
        Skip::new("the OSV record is for Debian 12").report();
        return;
    }
    // A process that has libz mapped for the whole test.
    let exe = or_skip!(build(
        dir.path(),
        "holds-libz",
        "(void)zlibVersion(); for (;;) sleep(1);"
    ));
    let mut holder = inuse_testkit::LiveProcess::spawn(&mut clean_command(&exe, [""; 0]));
    holder.wait_for_mapped(Duration::from_secs(20), "libz.so.1.2.13");
    let mut tracer = Tracer::start(&[
        "--loaded-vulnerable",
        "--db",
        db.to_str().unwrap(),
        "--duration",
        "1s",
        "--format",
        "json",
    ]);
    or_skip!(tracer.wait_ready());
    let pid = tracer.pid();
    let (code, stdout, stderr) = tracer.wait();
    assert_eq!(code, Some(0), "{stderr:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let lib = doc["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["path"] == libz.to_str().unwrap())
        .unwrap_or_else(|| panic!("libz not chosen: {doc}"));
    assert_eq!(lib["vulnerabilities"], serde_json::json!(["TEST-ZLIB-1"]));
    assert_eq!(observer.inuse_leftovers(&[pid]), Vec::<String>::new());
}

#[test]
fn a_function_uprobes_cannot_handle_is_reported_unprobed_not_unused() {
    let (_guard, observer, _) = or_skip!(setup());
    let dir = tempfile::tempdir().unwrap();
    // `bad` starts with int3, which uprobes refuses to probe (ENOTSUPP when installed).
    let lib = or_skip!(
        CBuild::new(dir.path())
            .source(
                "__attribute__((naked)) void bad(void) { __asm__(\"int3\\n\\tret\"); }\n\
                 int good(int x) { return x + 1; }\n"
            )
            .shared("libodd.so")
            .build()
    );
    let exe = or_skip!(
        CBuild::new(dir.path())
            .source(
                "#include <unistd.h>\nint good(int);\n\
                 int main(void) { for (;;) { usleep(100000); good(1); } }\n"
            )
            .needed_lib(&lib)
            .rpath(dir.path().to_str().unwrap())
            .executable("holds-odd")
            .build()
    );
    // Mapped before the probes are enabled: the kernel installs them at once, and refuses.
    let mut holder = inuse_testkit::LiveProcess::spawn(&mut clean_command(&exe, [""; 0]));
    holder.wait_for_mapped(Duration::from_secs(20), "libodd.so");
    let lib = std::fs::canonicalize(&lib).unwrap();
    let mut tracer = Tracer::start(&[
        "--library",
        lib.to_str().unwrap(),
        "--duration",
        "3s",
        "--format",
        "json",
    ]);
    or_skip!(tracer.wait_ready());
    let pid = tracer.pid();
    let (code, stdout, stderr) = tracer.wait();
    assert_eq!(code, Some(3), "{stderr:?}");
    assert!(
        stderr.iter().any(|l| l.contains("refused 1 of")),
        "{stderr:?}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (hit, total) = hit_names(&doc, &lib);
    assert!(hit.contains("good"), "{hit:?}");
    let entry = &doc["libraries"][0];
    assert_eq!(entry["functions_unprobed"], serde_json::json!(["bad"]));
    assert_eq!(entry["functions_probed"].as_u64().unwrap(), total - 1);
    assert_eq!(observer.inuse_leftovers(&[pid]), Vec::<String>::new());
}
