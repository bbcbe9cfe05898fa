#!/usr/bin/env python3
"""Accuracy of `executed` (issue 20): `inuse ps` against per-process ground truth.

Each workload runs twice on this machine:

1. without probes: while its processes are alive, `inuse ps --format json PID...` classifies
   every library they map (`yes` or not);
2. under uprobes on every exported function of those libraries (persistent probes written to
   `uprobe_events` in a group of our own, recorded in a private tracefs instance whose
   `trace_pipe` is read all along): the ground truth of a process is the set of libraries a
   function of which one of its threads entered. Persistent, not one-shot: another process
   entering a function first must not hide this one's entry.

The processes of the two runs are matched by role (executable and command line). libc and the
dynamic loader are left out of the figures: every process runs code in both (start-up, exit),
so both are trivially `yes`, and probing every libc function of every process on the host
would slow the whole machine. A library whose only entries happen during its own load-time
initialisation counts as executed in the truth (entries are not timed against the end of
initialisation): this can only lower recall.

Prints per workload: libraries, ground-truth executed, `yes`, precision, recall, and the
disagreements with the evidence `inuse ps` gave for them. Run through bench/truth.sh.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

INUSE = os.environ["INUSE"]
TRACEFS = "/sys/kernel/tracing"
GROUP = f"truth{os.getpid()}"
SKIP_LIBS = re.compile(r"/(libc\.so|ld-linux[^/]*\.so|libc-)")


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def procs():
    """pid -> (exe, cmdline) of every process now."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{d}/exe")
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        out[int(d)] = (exe, cmd)
    return out


def find_roles(roles, before):
    """role -> pid of a process started after `before` matching the role's (exe, cmdline)."""
    found = {}
    for pid, (exe, cmd) in procs().items():
        if pid in before:
            continue
        for role, match in roles.items():
            if role not in found and match(exe, cmd):
                found[role] = pid
    return found


def ps(pids):
    out = subprocess.run(
        [INUSE, "ps", "--format", "json", *map(str, pids)], capture_output=True, text=True
    )
    doc = json.loads(out.stdout)
    return {p["pid"]: p for p in doc["processes"]}


def libraries(process):
    return {
        o["path"]: o
        for o in process["objects"]
        if ".so" in os.path.basename(o["path"]) and not SKIP_LIBS.search(o["path"])
    }


def exported_functions(path):
    out = run(["nm", "-D", "--defined-only", path]).stdout
    offsets = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in ("T", "t", "i"):
            offsets.add(int(f[0], 16))
    return sorted(offsets)


def file_offsets(path, vaddrs):
    """Symbol values to file offsets through the PT_LOAD headers (readelf)."""
    loads = []
    for line in run(["readelf", "-lW", path]).stdout.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            loads.append((int(f[2], 16), int(f[1], 16), int(f[4], 16)))
    out = []
    for v in vaddrs:
        for vaddr, off, size in loads:
            if vaddr <= v < vaddr + size:
                out.append(off + v - vaddr)
                break
    return out


class Probes:
    """Persistent probes on every exported function of the libraries, one event per library,
    recorded in a private instance; a thread reads trace_pipe into (tgid, library) pairs."""

    def __init__(self, libs):
        self.libs = sorted(libs)
        self.instance = f"{TRACEFS}/instances/{GROUP}"
        os.mkdir(self.instance)
        with open(f"{self.instance}/buffer_size_kb", "w") as f:
            f.write("8192")
        self.placed = 0
        self.refused = 0
        self.events = []
        ev = os.open(f"{TRACEFS}/uprobe_events", os.O_WRONLY | os.O_APPEND)

        def place(name, lib, offsets):
            for off in offsets:
                try:
                    os.write(ev, f"p:{GROUP}/{name} {lib}:0x{off:x}\n".encode())
                except OSError:
                    pass
            try:
                with open(f"{self.instance}/events/{GROUP}/{name}/enable", "w") as f:
                    f.write("1")
                self.events.append(name)
                return True
            except OSError:
                # One instruction uprobes cannot handle fails the whole event: delete it, and
                # try its halves down to single probes.
                try:
                    os.write(ev, f"-:{GROUP}/{name}\n".encode())
                except OSError:
                    pass
                return False

        def place_split(i, lib, offsets, counter):
            name = f"l{i}c{counter[0]}"
            counter[0] += 1
            if place(name, lib, offsets):
                self.placed += len(offsets)
            elif len(offsets) == 1:
                self.refused += 1
            else:
                half = len(offsets) // 2
                place_split(i, lib, offsets[:half], counter)
                place_split(i, lib, offsets[half:], counter)

        try:
            for i, lib in enumerate(self.libs):
                offsets = file_offsets(lib, exported_functions(lib))
                counter = [0]
                for k in range(0, len(offsets), 64):
                    place_split(i, lib, offsets[k:k + 64], counter)
        finally:
            os.close(ev)
        self.entered = set()
        self.tgids = {}
        self.stop = False
        self.pipe = os.open(f"{self.instance}/trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def tgid(self, tid):
        if tid not in self.tgids:
            try:
                with open(f"/proc/{tid}/status") as f:
                    self.tgids[tid] = int(
                        next(l for l in f if l.startswith("Tgid:")).split()[1]
                    )
            except (OSError, StopIteration):
                return tid
        return self.tgids[tid]

    def read(self):
        rest = b""
        line_re = re.compile(rb"-(\d+)\s+\[\d+\].*: l(\d+)c\d+: \(0x[0-9a-f]+\)$")
        while True:
            try:
                data = os.read(self.pipe, 1 << 16)
            except BlockingIOError:
                if self.stop:
                    return
                time.sleep(0.02)
                continue
            if not data:
                time.sleep(0.02)
                continue
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            for line in lines:
                m = line_re.search(line)
                if m:
                    self.entered.add((self.tgid(int(m.group(1))), self.libs[int(m.group(2))]))

    def close(self):
        time.sleep(0.3)
        self.stop = True
        self.thread.join()
        os.close(self.pipe)
        for name in self.events:
            try:
                with open(f"{self.instance}/events/{GROUP}/{name}/enable", "w") as f:
                    f.write("0")
            except OSError:
                pass
        os.rmdir(self.instance)
        # Delete every event of our group still listed; a deletion can fail while the kernel
        # finishes disabling (EBUSY): retry.
        for _ in range(20):
            with open(f"{TRACEFS}/uprobe_events") as f:
                left = sorted({l.split()[0][2:] for l in f if l.startswith(f"p:{GROUP}/")})
            if not left:
                return
            ev = os.open(f"{TRACEFS}/uprobe_events", os.O_WRONLY | os.O_APPEND)
            for name in left:
                try:
                    os.write(ev, f"-:{name}\n".encode())
                except OSError:
                    pass
            os.close(ev)
            time.sleep(0.25)
        raise RuntimeError(f"probes of {GROUP} left in uprobe_events: {left}")


# ---------------------------------------------------------------------------------------------
# Workloads: start() -> (roles, stop); roles: name -> predicate(exe, cmdline).


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def compression(work):
    data = f"{work}/data"
    if not os.path.exists(data):
        with open(data, "wb") as f:
            # Compressible but not trivial: text-like bytes.
            f.write(bytes((i * 7 + i // 4096) % 91 + 32 for i in range(8 << 20)))
    children = []
    for tool in ("gzip", "xz", "bzip2"):
        # The tool compresses the file, then waits on its open stdin: alive for `inuse ps`.
        children.append(
            subprocess.Popen(
                ["sh", "-c", f"(cat {data}; sleep 6) | {tool} -c > /dev/null"],
                start_new_session=True,
            )
        )
    time.sleep(4)
    roles = {t: (lambda t: lambda exe, cmd: os.path.basename(exe) == t)(t)
             for t in ("gzip", "xz", "bzip2")}

    def stop():
        for c in children:
            os.killpg(c.pid, signal.SIGKILL)
            c.wait()

    return roles, stop


def http_server(work):
    port = free_port()
    root = f"{work}/www"
    os.makedirs(root, exist_ok=True)
    with open(f"{root}/index.html", "w") as f:
        f.write("<html>" + "x" * 100000 + "</html>")
    server = subprocess.Popen(
        ["/usr/bin/python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    for _ in range(5):
        subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/index.html"])
        subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/missing"])
    time.sleep(1)
    roles = {"http.server": lambda exe, cmd: "http.server" in cmd and f" {port} " in f"{cmd} "}

    def stop():
        server.kill()
        server.wait()

    return roles, stop


def dlopen_plugin(work):
    src = f"{work}/plugin"
    os.makedirs(src, exist_ok=True)
    if not os.path.exists(f"{src}/host"):
        with open(f"{src}/plugin.c", "w") as f:
            f.write("#include <zlib.h>\nunsigned long plugin_sum(const char *s, unsigned n)"
                    " { return crc32(0, (const unsigned char *)s, n); }\n")
        with open(f"{src}/host.c", "w") as f:
            f.write(
                "#include <dlfcn.h>\n#include <stdio.h>\n#include <unistd.h>\n"
                "#include <string.h>\n#include <bzlib.h>\n"
                "int main(int c, char **v) {\n"
                "  if (c > 5) puts(BZ2_bzlibVersion());\n"
                "  void *h = dlopen(v[1], RTLD_NOW);\n"
                "  if (!h) return 1;\n"
                "  unsigned long (*f)(const char *, unsigned) = dlsym(h, \"plugin_sum\");\n"
                "  for (int i = 0; i < 100; i++) f(\"hello\", 5);\n"
                "  for (;;) pause();\n}\n"
            )
        run(["gcc", "-shared", "-fPIC", "-o", f"{src}/libplugin.so", f"{src}/plugin.c", "-lz"])
        run(["gcc", "-o", f"{src}/host", f"{src}/host.c", "-Wl,--no-as-needed", "-lbz2", "-ldl"])
    host = subprocess.Popen([f"{src}/host", f"{src}/libplugin.so"])
    time.sleep(1.5)
    roles = {"dlopen host": lambda exe, cmd: exe == f"{src}/host"}

    def stop():
        host.kill()
        host.wait()

    return roles, stop


def sshd_login(work):
    d = f"{work}/ssh"
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o700)
    if not os.path.exists(f"{d}/host"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/host"])
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/user"])
        shutil.copy(f"{d}/user.pub", f"{d}/authorized_keys")
    port = free_port()
    with open(f"{d}/sshd_config", "w") as f:
        f.write(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\n"
            f"AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\n"
            f"PidFile {d}/sshd.pid\nStrictModes no\n"
        )
    server = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", f"{d}/sshd_config"])
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    client = subprocess.Popen(
        ["ssh", "-i", f"{d}/user", "-p", str(port), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "root@127.0.0.1",
         "sleep 8"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(4)
    roles = {
        "sshd listener": lambda exe, cmd: exe == "/usr/sbin/sshd" and d in cmd,
        "sshd session": lambda exe, cmd: exe == "/usr/sbin/sshd" and "@notty" in cmd,
    }

    def stop():
        client.kill()
        client.wait()
        server.terminate()
        server.wait()

    return roles, stop


WORKLOADS = {
    "compression pipeline (gzip, xz, bzip2)": compression,
    "python3 -m http.server + curl": http_server,
    "dlopen plugin": dlopen_plugin,
    "sshd login with a key": sshd_login,
}


def measure(name, workload, work):
    # Run 1: no probes.
    before = set(procs())
    roles, stop = workload(work)
    try:
        pids = find_roles(roles, before)
        classified = ps(list(pids.values()))
    finally:
        stop()
    by_role = {r: libraries(classified[p]) for r, p in pids.items() if p in classified}
    libs = set().union(*by_role.values()) if by_role else set()
    libs = {l for l in libs if os.path.exists(l)}
    # Run 2: persistent probes on every exported function of those libraries.
    probes = Probes(libs)
    try:
        before = set(procs())
        roles, stop = workload(work)
        try:
            # Slower under probes: wait for every role found in the first run.
            deadline = time.time() + 20
            truth_pids = find_roles(roles, before)
            while set(truth_pids) < set(pids) and time.time() < deadline:
                time.sleep(0.5)
                truth_pids = find_roles(roles, before)
            time.sleep(0.5)
        finally:
            stop()
    finally:
        probes.close()
    rows = []
    for role, objects in sorted(by_role.items()):
        tp = truth_pids.get(role)
        if tp is None:
            rows.append((role, None))
            continue
        truth = {l for (p, l) in probes.entered if p == tp and l in objects}
        yes = {l for l, o in objects.items() if o["executed"] == "yes"}
        rows.append((role, (objects, truth, yes)))
    return f"{probes.placed} probes, {probes.refused} refused", rows


def main():
    work = tempfile.mkdtemp(prefix="inuse-truth-")
    only = sys.argv[1:]
    total_tp = total_yes = total_truth = 0
    try:
        for name, workload in WORKLOADS.items():
            if only and not any(o in name for o in only):
                continue
            try:
                placed, rows = measure(name, workload, work)
            except Exception as e:  # noqa: BLE001 - a workload that cannot run is reported
                print(f"== {name}: NOT MEASURED: {e}")
                continue
            print(f"== {name} ({placed})")
            for role, r in rows:
                if r is None:
                    print(f"  {role}: not found in the probed run")
                    continue
                objects, truth, yes = r
                tp = len(truth & yes)
                total_tp += tp
                total_yes += len(yes)
                total_truth += len(truth)
                prec = tp / len(yes) if yes else 1.0
                rec = tp / len(truth) if truth else 1.0
                print(f"  {role}: libraries {len(objects)}, ground-truth executed {len(truth)}, "
                      f"yes {len(yes)}, precision {prec:.2f}, recall {rec:.2f}")
                for l in sorted(yes - truth):
                    print(f"    yes, never entered: {l}")
                for l in sorted(truth - yes):
                    o = objects[l]
                    why = o["executed"] + (f" ({o['disturbed']})" if o.get("disturbed") else "")
                    print(f"    entered, said {why}: {l}")
        prec = total_tp / total_yes if total_yes else 1.0
        rec = total_tp / total_truth if total_truth else 1.0
        print(f"== all: ground-truth executed {total_truth}, yes {total_yes}, "
              f"precision {prec:.2f}, recall {rec:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
