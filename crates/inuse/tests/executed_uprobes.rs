//! Issue 20: `executed` evidence while uprobes are set, and after they are removed.
//!
//! A uprobe writes its breakpoint into a private copy of the probed text page in every
//! process that maps the file. Before the fix those copies counted as resident code (a
//! library never called looked executed), and when the probes were removed the copies went
//! with the only pages load-time code had run on (the library fell to `none`).
//!
//! Each test probes a private copy of libz (a uprobe is per file: other processes on this
//! busy machine, and the host's libz, are not disturbed) and starts, while the probes are
//! set, two gcc-built programs linking that copy: `idle` never calls it, `busy` calls
//! `compress()` in a loop. The probes are set once by our own `inuse trace`, once by writing
//! `uprobe_events` directly (a foreign tool). Expectations: `idle`'s libz is never `yes`
//! (and is `unknown` with `"disturbed": "uprobes"` while probed), `busy`'s libz and both
//! programs' libc stay `yes`; after the probes are removed nothing is `none`.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use inuse_testkit::{
    CBuild, Inuse, LiveProcess, Skip, clean_command, or_skip, ps_object, ps_process, require_root,
    require_tool,
};
use serde_json::Value;

/// uprobes are kernel-global: the tests of this file run one at a time.
static TRACEFS: Mutex<()> = Mutex::new(());

const LIBZ: &str = "/usr/lib/x86_64-linux-gnu/libz.so.1";
const READY: Duration = Duration::from_secs(20);

/// The private libz copy and the two programs linking it.
struct Fixture {
    dir: tempfile::TempDir,
    libz: PathBuf,
    idle: PathBuf,
    busy: PathBuf,
}

fn fixture() -> Result<Fixture, Skip> {
    require_root()?;
    require_tool("gcc")?;
    if !Path::new("/usr/include/zlib.h").exists() {
        return Err(Skip::new("zlib1g-dev is not installed"));
    }
    let real = std::fs::canonicalize(LIBZ).map_err(|_| Skip::new(format!("no {LIBZ}")))?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let libz = dir.path().join("libz.so.1");
    std::fs::copy(real, &libz).unwrap();
    let rpath = dir.path().to_str().unwrap().to_owned();
    let idle = CBuild::new(dir.path())
        .source(
            "#include <zlib.h>\n#include <stdio.h>\n#include <unistd.h>\n\
             int main(int c, char **v) { if (c > 5) puts(zlibVersion()); \
             for (;;) pause(); }",
        )
        .needed_lib(&libz)
        .rpath(&rpath)
        .executable("idle")
        .build()?;
    let busy = CBuild::new(dir.path())
        .source(
            "#include <zlib.h>\n#include <unistd.h>\n\
             int main(void) {\n\
               static unsigned char in[65536], out[80000];\n\
               for (unsigned i = 0; i < sizeof in; i++) in[i] = (unsigned char)(i * 7 % 251);\n\
               for (;;) { uLongf n = sizeof out; compress(out, &n, in, sizeof in); \
                          usleep(20000); }\n\
             }",
        )
        .needed_lib(&libz)
        .rpath(&rpath)
        .executable("busy")
        .build()?;
    Ok(Fixture {
        dir,
        libz,
        idle,
        busy,
    })
}

impl Fixture {
    /// Starts both programs and waits until they have mapped the copy (and `busy` has
    /// called it a few times).
    fn start(&self) -> (LiveProcess, LiveProcess) {
        let libz = self.libz.to_str().unwrap().to_owned();
        let mut idle = LiveProcess::spawn(&mut clean_command(&self.idle, Vec::<String>::new()));
        let mut busy = LiveProcess::spawn(&mut clean_command(&self.busy, Vec::<String>::new()));
        idle.wait_for_maps(READY, |m| m.contains(&libz));
        busy.wait_for_maps(READY, |m| m.contains(&libz));
        std::thread::sleep(Duration::from_millis(300));
        (idle, busy)
    }
}

/// `inuse ps --format json PID...`.
fn ps_json(pids: &[u32]) -> Value {
    let mut args = vec!["ps".to_owned(), "--format".into(), "json".into()];
    args.extend(pids.iter().map(u32::to_string));
    let out = Inuse::new(env!("CARGO_BIN_EXE_inuse")).run(&args);
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.describe());
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.describe()))
}

/// While probes are set: the idle program's libz is `unknown`, disturbed by uprobes, and so
/// is the process; the busy one's libz and everyone's libc stay `yes`.
fn check_while_probed(f: &Fixture, idle: u32, busy: u32) {
    let doc = ps_json(&[idle, busy]);
    let libz = f.libz.to_str().unwrap();
    let idle_p = ps_process(&doc, idle);
    let idle_z = ps_object(idle_p, libz);
    assert_ne!(idle_z["executed"], "yes", "never called: {idle_z:#}");
    assert_eq!(idle_z["executed"], "unknown", "{idle_z:#}");
    assert_eq!(idle_z["disturbed"], "uprobes", "{idle_z:#}");
    assert_eq!(idle_p["disturbed"], "uprobes", "{idle_p:#}");
    let busy_z = ps_object(ps_process(&doc, busy), libz);
    assert_eq!(busy_z["executed"], "yes", "called in a loop: {busy_z:#}");
    for pid in [idle, busy] {
        assert_eq!(
            ps_object(ps_process(&doc, pid), "libc.so")["executed"],
            "yes"
        );
    }
}

/// After the probes are gone: nothing is `none`; the idle libz is still not `yes`, the busy
/// one is.
fn check_after(f: &Fixture, idle: u32, busy: u32) {
    let doc = ps_json(&[idle, busy]);
    let libz = f.libz.to_str().unwrap();
    for pid in [idle, busy] {
        for o in ps_process(&doc, pid)["objects"].as_array().unwrap() {
            assert_ne!(o["executed"], "none", "pid {pid}: {o:#}");
        }
    }
    let idle_z = ps_object(ps_process(&doc, idle), libz);
    assert!(
        idle_z["executed"] == "unknown" || idle_z["executed"] == "init-only",
        "never called, probes removed: {idle_z:#}"
    );
    let busy_z = ps_object(ps_process(&doc, busy), libz);
    assert_eq!(busy_z["executed"], "yes", "{busy_z:#}");
}

/// Lines of `uprobe_events` (in the host's tracefs) that name `path`.
fn probes_on(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(tracefs().join("uprobe_events")).unwrap_or_default();
    let needle = format!(" {}:", path.display());
    text.lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

fn tracefs() -> PathBuf {
    PathBuf::from("/sys/kernel/tracing")
}

fn need_tracefs() -> Result<(), Skip> {
    if tracefs().join("uprobe_events").exists() {
        Ok(())
    } else {
        Err(Skip::new(
            "no tracefs with uprobe_events at /sys/kernel/tracing",
        ))
    }
}

/// Probes set by our own `inuse trace --library COPY` (one-shot: a probe goes at its first
/// hit).
#[test]
fn own_trace_does_not_make_an_uncalled_library_executed() {
    let _guard = TRACEFS.lock().unwrap_or_else(|e| e.into_inner());
    let f = or_skip!(fixture());
    or_skip!(need_tracefs());
    let mut trace: Child = clean_command(env!("CARGO_BIN_EXE_inuse"), ["trace", "--library"])
        .arg(&f.libz)
        .args(["--duration", "60s", "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(trace.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !line.starts_with("inuse: tracing ") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "trace ended early");
        assert!(Instant::now() < deadline);
    }
    let (idle, busy) = f.start();
    check_while_probed(&f, idle.pid(), busy.pid());
    // SIGTERM: the run removes its probes and ends.
    Command::new("kill")
        .arg(trace.id().to_string())
        .status()
        .unwrap();
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let mut json = String::new();
    std::io::Read::read_to_string(&mut trace.stdout.take().unwrap(), &mut json).unwrap();
    let status = trace.wait().unwrap();
    assert!(status.success(), "{status}");
    // Issue 20, item 2: the trace says which process entered the library and each function:
    // busy (compress() and what it calls), never idle.
    let doc: Value = serde_json::from_str(&json).unwrap();
    let lib = doc["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["path"] == f.libz.to_str().unwrap())
        .unwrap_or_else(|| panic!("{doc:#}"));
    let entered: Vec<u64> = lib["entered_by"]
        .as_array()
        .unwrap_or_else(|| panic!("no entered_by: {lib:#}"))
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(entered, [u64::from(busy.pid())], "{lib:#}");
    let compress = lib["functions_hit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "compress")
        .unwrap_or_else(|| panic!("compress not hit: {lib:#}"));
    assert_eq!(compress["first_by"]["pid"], busy.pid(), "{compress:#}");
    assert_eq!(
        compress["first_by"]["exe"],
        f.busy.to_str().unwrap(),
        "{compress:#}"
    );
    assert!(probes_on(&f.libz).is_empty(), "{:?}", probes_on(&f.libz));
    check_after(&f, idle.pid(), busy.pid());
    drop(f.dir);
}

/// A foreign tool's probes: every exported function of the copy, written to
/// `uprobe_events` by the test, persistent (every call hits).
struct ForeignProbes {
    group: String,
    events: Vec<String>,
}

impl ForeignProbes {
    fn set(lib: &Path) -> Result<ForeignProbes, Skip> {
        let nm = require_tool("nm")?;
        let out = Command::new(nm)
            .args(["-D", "--defined-only"])
            .arg(lib)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut offsets: Vec<u64> = text
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && (f[1] == "T" || f[1] == "t"))
                    .then(|| u64::from_str_radix(f[0], 16).ok())?
            })
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        assert!(offsets.len() > 20, "{text}");
        // Not `inuse_<digits>`: `inuse trace` must treat it as another tool's.
        let group = format!("exectest{}", std::process::id());
        let mut probes = ForeignProbes {
            group: group.clone(),
            events: Vec::new(),
        };
        let mut commands = String::new();
        for (i, o) in offsets.iter().enumerate() {
            // libz's text is mapped at its file offsets (vaddr == offset): the symbol value is
            // the probe's file offset.
            commands.push_str(&format!("p:{group}/f{i} {}:0x{o:x}\n", lib.display()));
            probes.events.push(format!("f{i}"));
        }
        append(&tracefs().join("uprobe_events"), &commands);
        std::fs::write(tracefs().join(format!("events/{group}/enable")), "1").unwrap();
        Ok(probes)
    }

    fn remove(&mut self) {
        if self.events.is_empty() {
            return;
        }
        let _ = std::fs::write(tracefs().join(format!("events/{}/enable", self.group)), "0");
        let commands: String = self
            .events
            .drain(..)
            .map(|e| format!("-:{}/{e}\n", self.group))
            .collect();
        append(&tracefs().join("uprobe_events"), &commands);
    }
}

impl Drop for ForeignProbes {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Appends (never truncates: that would delete every tool's probes), one write per line.
fn append(path: &Path, commands: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for line in commands.lines() {
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}

#[test]
fn foreign_uprobes_do_not_make_an_uncalled_library_executed() {
    let _guard = TRACEFS.lock().unwrap_or_else(|e| e.into_inner());
    let f = or_skip!(fixture());
    or_skip!(need_tracefs());
    let mut probes = or_skip!(ForeignProbes::set(&f.libz));
    assert!(!probes_on(&f.libz).is_empty());
    let (idle, busy) = f.start();
    check_while_probed(&f, idle.pid(), busy.pid());
    probes.remove();
    assert!(probes_on(&f.libz).is_empty(), "{:?}", probes_on(&f.libz));
    // The busy program calls compress() again on the file's own pages.
    std::thread::sleep(Duration::from_millis(300));
    check_after(&f, idle.pid(), busy.pid());
}
