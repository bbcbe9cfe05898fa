//! `inuse ps` against real processes: a real sshd, python loading a library with ctypes,
//! libraries replaced and deleted under a running program, a chroot with its own package
//! database, executed versus merely linked code, and an unprivileged caller.
//!
//! The oracle is the kernel itself: `/proc/PID/maps` as read by the test, the files' own ELF
//! magic, and what the test did to the files. Nothing here hard-codes a result that inuse
//! could produce without looking.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use inuse_testkit::{
    CBuild, FakeRoot, Inuse, InuseOutput, LiveProcess, Skip, clean_command, free_tcp_port, or_skip,
    ps_object, ps_process, require_root, require_tool,
};
use serde_json::Value;

/// How long a fixture may take to start, or to print that it did its work: generous, for a
/// machine busy with other jobs (only a failing test waits this long).
const READY: Duration = Duration::from_secs(60);

fn inuse() -> Inuse {
    Inuse::new(env!("CARGO_BIN_EXE_inuse"))
}

/// Runs `inuse ps --format json PID...` and returns the run and the decoded document.
fn ps_json(pids: &[u32]) -> (InuseOutput, Value) {
    let mut args = vec!["ps".to_owned(), "--format".into(), "json".into()];
    args.extend(pids.iter().map(u32::to_string));
    let out = inuse().run(&args);
    assert!(
        matches!(out.code, Some(0 | 1)),
        "inuse ps failed:\n{}",
        out.describe()
    );
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{}", out.describe()));
    (out, doc)
}

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// The ELF files of `/proc/PID/maps`, read by the test itself.
fn maps_elf_files(pid: u32) -> BTreeSet<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5).map(|_| l))
        .filter_map(|l| l.find('/').map(|i| l[i..].to_owned()))
        .filter(|p| is_elf(Path::new(p)))
        .collect()
}

fn need_root() -> Result<(), Skip> {
    require_root()
}

#[test]
fn sshd_objects_packages_and_listening_socket() {
    or_skip!(need_root());
    let sshd = PathBuf::from("/usr/sbin/sshd");
    if !sshd.exists() {
        Skip::new("/usr/sbin/sshd is not installed (openssh-server)").report();
        return;
    }
    let keygen = or_skip!(require_tool("ssh-keygen"));
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("hostkey");
    let made = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir_all("/run/sshd").unwrap();
    let port = free_tcp_port();
    let mut daemon = LiveProcess::spawn(&mut clean_command(
        &sshd,
        [
            "-D".to_owned(),
            "-p".into(),
            port.to_string(),
            "-o".into(),
            "ListenAddress=127.0.0.1".into(),
            "-f".into(),
            "/dev/null".into(),
            "-h".into(),
            key.to_string_lossy().into_owned(),
        ],
    ));
    daemon.wait_for_tcp_listen(READY, port);
    let pid = daemon.pid();

    let (_, doc) = ps_json(&[pid]);
    let p = ps_process(&doc, pid);
    assert_eq!(p["exe"], "/usr/sbin/sshd");
    assert!(p["unmeasurable"].is_null(), "{p:#}");
    // Objects are exactly the ELF files the kernel shows mapped.
    let reported: BTreeSet<String> = p["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reported, maps_elf_files(pid));
    let lzma = ps_object(p, "liblzma.so");
    assert_eq!(lzma["package"]["name"], "liblzma5", "{lzma:#}");
    assert_eq!(lzma["package"]["source_name"], "xz-utils", "{lzma:#}");
    assert_eq!(lzma["dlopened"], false);
    assert_eq!(ps_object(p, "sshd")["package"]["name"], "openssh-server");
    let listening: Vec<&str> = p["listening"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        listening.contains(&format!("tcp 127.0.0.1:{port}").as_str()),
        "{listening:?}"
    );
    assert_eq!(p["uid"], 0);
    assert_eq!(p["root"], "/");
    assert!(p["container"].is_null());
}

#[test]
fn python_ctypes_load_is_dlopened() {
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        Skip::new("/usr/bin/python3 is not installed").report();
        return;
    }
    let mut py = LiveProcess::spawn_reporting(&mut clean_command(
        python,
        [
            "-c",
            "import ctypes, time; ctypes.CDLL('libbz2.so.1.0'); print('ok', flush=True); \
             time.sleep(120)",
        ],
    ));
    py.wait_for_line(READY, "ok");
    let (_, doc) = ps_json(&[py.pid()]);
    let p = ps_process(&doc, py.pid());
    assert_eq!(ps_object(p, "libbz2.so")["dlopened"], true, "{p:#}");
    assert_eq!(ps_object(p, "libc.so")["dlopened"], false, "{p:#}");
    assert_eq!(ps_object(p, "ld-linux")["dlopened"], false, "{p:#}");
    // The interpreter's own executable is the root of the closure.
    assert_eq!(ps_object(p, "python3")["dlopened"], false, "{p:#}");
}

#[test]
fn replaced_and_deleted_libraries_are_stale() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old = or_skip!(
        CBuild::new(d)
            .source("int old_f(void) { return 1; }")
            .shared("libold.so")
            .soname("libold.so")
            .build()
    );
    let gone = or_skip!(
        CBuild::new(d)
            .source("int gone_f(void) { return 2; }")
            .shared("libgone.so")
            .soname("libgone.so")
            .build()
    );
    let exe = or_skip!(
        CBuild::new(d)
            .source(
                "#include <unistd.h>\nint old_f(void); int gone_f(void);\n\
                 int main(void) { int s = old_f() + gone_f(); write(1, \"ready\\n\", 6); \
                 for (;;) pause(); return s; }"
            )
            .needed_lib(&old)
            .needed_lib(&gone)
            .rpath("$ORIGIN")
            .executable("stale")
            .build()
    );
    let mut prog = LiveProcess::spawn_reporting(&mut clean_command(&exe, Vec::<String>::new()));
    prog.wait_for_line(READY, "ready");
    // Replace libold.so the way package managers do: a new file renamed over it.
    let fresh = d.join("libold.so.new");
    std::fs::copy(&old, &fresh).unwrap();
    std::fs::rename(&fresh, &old).unwrap();
    std::fs::remove_file(&gone).unwrap();

    let (out, doc) = ps_json(&[prog.pid()]);
    assert_eq!(
        out.code,
        Some(1),
        "stale code is a finding:\n{}",
        out.describe()
    );
    let p = ps_process(&doc, prog.pid());
    let old_obj = ps_object(p, "libold.so");
    assert_eq!(old_obj["stale"], "replaced", "{p:#}");
    assert_eq!(old_obj["path"], old.to_str().unwrap());
    let gone_obj = ps_object(p, "libgone.so");
    assert_eq!(gone_obj["stale"], "deleted", "{p:#}");
    assert_eq!(gone_obj["path"], gone.to_str().unwrap());
    assert!(ps_object(p, "libc.so")["stale"].is_null());
    assert!(ps_object(p, "stale")["stale"].is_null());
}

#[test]
fn chrooted_process_uses_its_own_package_database() {
    or_skip!(need_root());
    let unshare = or_skip!(require_tool("unshare"));
    or_skip!(require_tool("chroot"));
    let mut root = FakeRoot::new();
    or_skip!(root.merged_usr().host_glibc());
    let build = tempfile::tempdir().unwrap();
    let waiter = or_skip!(
        CBuild::new(build.path())
            .source(
                "#include <unistd.h>\n\
                 int main(void) { write(1, \"ready\\n\", 6); for (;;) pause(); }"
            )
            .executable("waiter")
            .build()
    );
    root.copy(&waiter, "/usr/bin/waiter");
    std::fs::set_permissions(
        root.host_path("/usr/bin/waiter"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    // A version no host has, so the attribution cannot come from the host's database.
    root.write(
        "/var/lib/dpkg/status",
        "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n\
         Multi-Arch: same\nSource: glibc\nVersion: 9.99-inuse1\nDescription: test libc\n\n\
         Package: waiter\nStatus: install ok installed\nArchitecture: amd64\n\
         Version: 1.0-1\nDescription: test program\n\n",
    )
    .write(
        "/var/lib/dpkg/info/libc6:amd64.list",
        "/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n\
         /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n",
    )
    .write("/var/lib/dpkg/info/waiter.list", "/usr/bin/waiter\n");

    let root_dir = std::fs::canonicalize(root.path()).unwrap();
    let mut chrooted = LiveProcess::spawn_reporting(&mut clean_command(
        unshare,
        [
            "-m".as_ref(),
            "chroot".as_ref(),
            root_dir.as_os_str(),
            "/usr/bin/waiter".as_ref(),
        ],
    ));
    // Printed by waiter itself: unshare and chroot, the same pid before it, map the host's
    // libc too, so a mapped libc.so.6 does not say that waiter runs yet.
    chrooted.wait_for_line(READY, "ready");
    let (_, doc) = ps_json(&[chrooted.pid()]);
    let p = ps_process(&doc, chrooted.pid());
    assert_eq!(p["root"], root_dir.to_str().unwrap(), "{p:#}");
    let libc = ps_object(p, "libc.so.6");
    assert_eq!(libc["path"], "/usr/lib/x86_64-linux-gnu/libc.so.6", "{p:#}");
    assert_eq!(libc["package"]["name"], "libc6", "{libc:#}");
    assert_eq!(libc["package"]["version"], "9.99-inuse1", "{libc:#}");
    assert_eq!(libc["package"]["source_name"], "glibc", "{libc:#}");
    assert_eq!(ps_object(p, "waiter")["package"]["name"], "waiter");
    assert_eq!(libc["dlopened"], false);
}

/// A program calling `compress()` in a loop, and one linked to libz that never calls it.
///
/// Both load a private copy of libz (through their `DT_RPATH`): the host's libz is shared
/// with every other process, and a uprobe another tracer places on it (another test suite's
/// `inuse trace`, say) copies its probed text pages into every process that maps it, which
/// makes residency no evidence (`unknown`, disturbed by uprobes). A uprobe is per file, so
/// nobody else's probes reach the copy.
#[test]
fn executed_versus_merely_linked() {
    if !Path::new("/usr/include/zlib.h").exists() {
        Skip::new("zlib1g-dev is not installed").report();
        return;
    }
    let Ok(host_libz) = std::fs::canonicalize("/usr/lib/x86_64-linux-gnu/libz.so.1") else {
        Skip::new("no x86-64 libz.so.1 on this host").report();
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private-lib");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::copy(&host_libz, private.join("libz.so.1")).unwrap();
    let rpath = private.to_str().unwrap();
    let busy = or_skip!(
        CBuild::new(dir.path())
            .source(
                "#include <zlib.h>\n#include <string.h>\n#include <unistd.h>\n\
                 int main(void) {\n\
                   static unsigned char in[65536], out[80000];\n\
                   for (unsigned i = 0; i < sizeof in; i++) in[i] = (unsigned char)(i * 7 % 251);\n\
                   for (int first = 1;; first = 0) {\n\
                     uLongf n = sizeof out; compress(out, &n, in, sizeof in);\n\
                     if (first) write(1, \"ready\\n\", 6);\n\
                     usleep(20000);\n\
                   }\n\
                 }"
            )
            .link_arg("-lz")
            .rpath(rpath)
            .executable("zbusy")
            .build()
    );
    let idle = or_skip!(
        CBuild::new(dir.path())
            .source(
                "#include <unistd.h>\n\
                 int main(void) { write(1, \"ready\\n\", 6); for (;;) pause(); }"
            )
            .link_arg("-lz")
            .rpath(rpath)
            .executable("zidle")
            .build()
    );
    let mut b = LiveProcess::spawn_reporting(&mut clean_command(&busy, Vec::<String>::new()));
    let mut i = LiveProcess::spawn_reporting(&mut clean_command(&idle, Vec::<String>::new()));
    // Printed after the first compress() returned, and once main runs.
    b.wait_for_line(READY, "ready");
    i.wait_for_line(READY, "ready");
    // On Debian 12 compress() and everything it calls lie in the first 64 KiB of libz's text,
    // the fault-around block of its DT_INIT, so code residency cannot tell the loop from
    // load-time code; deflate's tables in libz's read-only data segment, which nothing reads
    // at load time, can.
    let (_, doc) = ps_json(&[b.pid(), i.pid()]);
    let busy_z = ps_object(ps_process(&doc, b.pid()), "libz.so");
    assert_eq!(
        Path::new(busy_z["path"].as_str().unwrap()),
        private.join("libz.so.1").canonicalize().unwrap(),
        "the private copy is the one loaded: {busy_z:#}"
    );
    assert_eq!(busy_z["executed"], "yes", "{busy_z:#}");
    let idle_z = ps_object(ps_process(&doc, i.pid()), "libz.so");
    let verdict = idle_z["executed"].as_str().unwrap();
    assert!(
        verdict == "none" || verdict == "init-only",
        "linked but never called must not be 'yes' or unmeasurable: {idle_z:#}"
    );
    // Both processes certainly ran their own code and libc's, unless another tracer's uprobes
    // on the host's libc (which the test cannot copy away), present or just removed, made
    // that unmeasurable.
    for pid in [b.pid(), i.pid()] {
        let libc = ps_object(ps_process(&doc, pid), "libc.so");
        if let Some(why) = libc["disturbed"].as_str() {
            Skip::new(format!("libc's residency is no evidence here ({why})")).report();
        } else {
            assert_eq!(libc["executed"], "yes", "{libc:#}");
        }
    }
}

#[test]
fn unprivileged_caller_lists_others_as_unmeasurable() {
    or_skip!(need_root());
    let setpriv = or_skip!(require_tool("setpriv"));
    // The test binary may sit below a directory 65534 cannot enter: give it a copy.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("inuse");
    std::fs::copy(env!("CARGO_BIN_EXE_inuse"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let drop_privs = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    // One process of our own (root) and one of the unprivileged user.
    let mut mine = LiveProcess::spawn(&mut clean_command("/bin/sleep", ["120"]));
    let mut theirs = LiveProcess::spawn(
        clean_command(&setpriv, drop_privs)
            .arg("/bin/sleep")
            .arg("121"),
    );
    mine.wait_for_mapped(READY, "/libc.so.6");
    theirs.wait_for_maps(READY, |m| {
        m.contains("/libc.so.6") && !m.contains("setpriv")
    });
    let out = Inuse::new(&setpriv).run(drop_privs.iter().map(|s| s.to_string()).chain([
        bin.to_string_lossy().into_owned(),
        "ps".into(),
        "--format".into(),
        "json".into(),
    ]));
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let root_proc = ps_process(&doc, mine.pid());
    assert_eq!(
        root_proc["unmeasurable"], "permission denied",
        "{root_proc:#}"
    );
    assert!(root_proc["objects"].as_array().unwrap().is_empty());
    assert_eq!(root_proc["uid"], 0);
    let own = ps_process(&doc, theirs.pid());
    assert!(own["unmeasurable"].is_null(), "{own:#}");
    assert_eq!(ps_object(own, "libc.so")["dlopened"], false);
    assert_eq!(own["uid"], 65534);
}

#[test]
fn missing_pid_is_partial_not_a_crash() {
    // Pid numbers wrap below pid_max; this one is above the largest possible.
    let out = inuse().run(["ps", "--format", "json", "4194305"]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(doc["processes"].as_array().unwrap().is_empty());
    assert!(
        out.stderr.contains("4194305: no such process"),
        "{}",
        out.describe()
    );
}

/// The read-only data evidence on libraries whose code all lies in their load windows (so
/// code residency alone says `unknown`): a library whose function reads its constant table is
/// `yes` in the program calling it and not in the program that only links it; a library
/// whose constructor reads its table at load time is never `yes` from that.
#[test]
fn read_only_data_shows_use_of_small_libraries() {
    let dir = tempfile::tempdir().unwrap();
    let table = "static const unsigned tab[8192] = { 1, 2, 3, [8191] = 7 };\n";
    let libtab = or_skip!(
        CBuild::new(dir.path())
            .source(&format!(
                "{table}unsigned tab_sum(unsigned i) {{ return tab[i % 8192] + tab[(i * 977) % 8192]; }}"
            ))
            .shared("libtab.so")
            .build()
    );
    let libctor = or_skip!(
        CBuild::new(dir.path())
            .source(&format!(
                "{table}volatile unsigned seen;\n                 __attribute__((constructor)) static void init(void) {{                    for (unsigned i = 0; i < 8192; i += 512) seen += tab[i]; }}\n                 unsigned ctor_seen(void) {{ return seen; }}"
            ))
            .shared("libctor.so")
            .build()
    );
    let program = |name: &str, body: &str| {
        CBuild::new(dir.path())
            .source(&format!(
                "#include <unistd.h>\nunsigned tab_sum(unsigned);\nunsigned ctor_seen(void);\n                 volatile unsigned sink;\nint main(void) {{ {body} }}"
            ))
            .needed_lib(&libtab)
            .needed_lib(&libctor)
            .link_arg("-Wl,--no-as-needed")
            .rpath(&dir.path().to_string_lossy())
            .executable(name)
            .build()
    };
    // The busy one reads the whole table once through tab_sum() before it says so.
    let busy = or_skip!(program(
        "tabbusy",
        "for (unsigned i = 0; i < 8192; i++) sink += tab_sum(i);\n\
         write(1, \"ready\\n\", 6);\n\
         for (unsigned i = 0;; i++) { sink += tab_sum(i * 131); usleep(2000); }"
    ));
    let idle = or_skip!(program(
        "tabidle",
        "write(1, \"ready\\n\", 6); for (;;) pause();"
    ));
    let mut b = LiveProcess::spawn_reporting(&mut clean_command(&busy, Vec::<String>::new()));
    let mut i = LiveProcess::spawn_reporting(&mut clean_command(&idle, Vec::<String>::new()));
    b.wait_for_line(READY, "ready");
    i.wait_for_line(READY, "ready");
    let (_, doc) = ps_json(&[b.pid(), i.pid()]);
    let busy_tab = ps_object(ps_process(&doc, b.pid()), "libtab.so");
    assert_eq!(busy_tab["executed"], "yes", "{busy_tab:#}");
    for pid in [b.pid(), i.pid()] {
        let ctor = ps_object(ps_process(&doc, pid), "libctor.so");
        assert_ne!(
            ctor["executed"], "yes",
            "constructor reads are load time: {ctor:#}"
        );
    }
    let idle_tab = ps_object(ps_process(&doc, i.pid()), "libtab.so");
    assert_ne!(idle_tab["executed"], "yes", "{idle_tab:#}");
}

/// inuse only reads: under strace, `inuse ps` opens no file for writing at all, in particular
/// nothing below /proc (the former sampling wrote /proc/PID/clear_refs).
#[test]
fn ps_never_opens_proc_for_writing() {
    let strace = or_skip!(require_tool("strace"));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let out = Inuse::new(&strace).run([
        "-f".as_ref(),
        "-qq".as_ref(),
        "-e".as_ref(),
        "trace=open,openat,openat2,creat,truncate".as_ref(),
        "-o".as_ref(),
        log.as_os_str(),
        env!("CARGO_BIN_EXE_inuse").as_ref(),
        "ps".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.describe());
    let trace = std::fs::read_to_string(&log).unwrap();
    assert!(
        trace.contains("/proc/"),
        "strace saw no /proc access:\n{trace}"
    );
    let writes: Vec<&str> = trace
        .lines()
        .filter(|l| {
            l.contains("O_WRONLY")
                || l.contains("O_RDWR")
                || l.contains("O_CREAT")
                || l.contains("O_TRUNC")
                || l.contains("creat(")
                || l.contains("truncate(")
        })
        .collect();
    assert!(writes.is_empty(), "opened for writing: {writes:#?}");
}
