#!/usr/bin/env python3
"""Seeds that need more than a copy: called by seed-corpus.sh, never run on its own.

    seeds.py TARGET CORPUS_DIR DATA_DIR

Writes real inputs in the shape a fuzz target reads them (a selector byte and NUL-separated
versions for version_compare, one rpm header blob per package for pkgdb_rpm_header, ELF files
carrying Go build information and a cargo-auditable section for pkgdb_embedded, /proc files
behind their parser's selector for runtime_proc). Prints how many seeds it wrote.
"""

import glob
import os
import sqlite3
import subprocess
import sys
import tempfile
import zlib

MAX_SEED = int(os.environ.get("MAX_SEED", "262144"))


def write(corpus, name, data):
    if len(data) > MAX_SEED:
        return 0
    with open(os.path.join(corpus, name), "wb") as f:
        f.write(data)
    return 1


def version_pairs(path):
    """(a, b) pairs from the vector files' three layouts."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].rstrip("\n")
            if not line.strip():
                continue
            if "\t" in line:  # go-rpm-version-cases.tsv: A<TAB>op<TAB>B
                parts = line.split("\t")
                if len(parts) >= 3:
                    yield parts[0], parts[2]
                continue
            parts = line.split()
            if len(parts) == 3 and parts[1] in "<>=~":
                yield parts[0], parts[2]
            elif len(parts) == 3:  # triples: A B result
                yield parts[0], parts[1]
            elif len(parts) == 2:
                yield parts[0], parts[1]


def version_compare(corpus, data):
    # The target's selector: 0 deb, 1 rpm, 2 apk, 3 semver.
    schemes = [
        (0, ["debian-versions*.txt", "dpkg-Dpkg_Version.data.txt"]),
        (1, ["redhat-versions.txt", "rpm-rpmvercmp.triples.txt", "go-rpm-version-cases.tsv"]),
        (2, ["alpine-versions*.txt", "apk-tools-version.data"]),
        (3, ["semver-versions.txt"]),
    ]
    n = 0
    for selector, patterns in schemes:
        for pattern in patterns:
            for path in sorted(glob.glob(os.path.join(data, "versions", pattern))):
                pairs = list(version_pairs(path))
                # Every line of the small files; an even sample of the generated ones.
                step = max(1, len(pairs) // 150)
                sample = pairs[::step]
                for i, (a, b) in enumerate(sample):
                    # A third version makes transitivity checkable.
                    c = sample[(i + 1) % len(sample)][1]
                    blob = bytes([selector]) + "\0".join([a, b, c]).encode()
                    base = os.path.basename(path)
                    n += write(corpus, f"{base}-{i}", blob)
    return n


def header_tags(blob):
    """The tags of an rpm header blob's index (big-endian: count, data size, 16-byte entries)."""
    if len(blob) < 8:
        return set()
    count = int.from_bytes(blob[0:4], "big")
    return {
        int.from_bytes(blob[8 + 16 * i : 12 + 16 * i], "big")
        for i in range(min(count, (len(blob) - 8) // 16))
    }


def rpm_header(corpus, data):
    """Header blobs from the real sqlite databases, plus the BDB and NDB files themselves."""
    n = 0
    for db in sorted(glob.glob(os.path.join(data, "**", "*.sqlite"), recursive=True)):
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
            rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
            con.close()
        except sqlite3.Error:
            continue  # the peers' deliberately malformed databases
        tag = os.path.relpath(db, data).replace("/", "_")
        # Twenty headers of each database, and up to ten more that carry an EPOCH, which the
        # first ones of a database rarely do.
        with_epoch = [r for r in rows if 1003 in header_tags(bytes(r[1]))]
        for hnum, blob in rows[:20] + with_epoch[:10]:
            n += write(corpus, f"{tag}-{hnum}", bytes(blob))
    for name in ["Packages", "Packages.db", "Packages_epoch", "blob.bin"]:
        for path in sorted(glob.glob(os.path.join(data, "**", name), recursive=True)):
            with open(path, "rb") as f:
                # An NDB or BDB file is larger than a seed should be: its first pages still
                # carry the magic, the slots and the first records.
                blob = f.read(MAX_SEED)
            n += write(corpus, os.path.relpath(path, data).replace("/", "_"), blob)
    return n


def go_buildinfo(version, modinfo):
    """Go >= 1.18 build information: magic, pointer size, flags (2: inline strings)."""

    def varint(b):
        out, v = b"", len(b)
        while True:
            byte = v & 0x7F
            v >>= 7
            if v:
                out += bytes([byte | 0x80])
            else:
                return out + bytes([byte]) + b

    sentinel = b"\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6"
    header = b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16
    return header + varint(version.encode()) + varint(sentinel + modinfo.encode() + sentinel[:16])


def embedded(corpus, data):
    n = 0
    modinfo = (
        "path\texample.com/cmd/tool\n"
        "mod\texample.com\tv1.2.3\th1:abc=\n"
        "dep\tgolang.org/x/net\tv0.17.0\th1:def=\n"
        "dep\tgolang.org/x/text\tv0.13.0\n"
        "=>\t../text\t(devel)\n"
        "build\t-compiler=gc\n"
    )
    go = go_buildinfo("go1.21.4", modinfo)
    # Aligned and padded so that parse_go_header sees it first, as the target gives it.
    n += write(corpus, "go-buildinfo", go + b"\0" * 16)
    auditable = zlib.compress(
        b'{"packages":[{"name":"tool","version":"0.1.0","source":"local","root":true,'
        b'"dependencies":[1]},{"name":"serde","version":"1.0.193","source":"crates.io"}]}'
    )
    n += write(corpus, "auditable-dep-v0", auditable)
    # The same inside ELF files, where scan() looks for them: sections added to a copy of a
    # small program built here (objcopy), and a .note.package note (ld --package-metadata; -Xlinker because -Wl splits at commas).
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "m.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        exe = os.path.join(tmp, "m")
        built = subprocess.run(["gcc", "-O0", "-o", exe, src], capture_output=True).returncode == 0
        if built:
            for section, blob in [(".go.buildinfo", go), (".dep-v0", auditable)]:
                raw = os.path.join(tmp, "section")
                with open(raw, "wb") as f:
                    f.write(blob)
                out = os.path.join(tmp, "with" + section)
                ok = subprocess.run(
                    ["objcopy", "--add-section", f"{section}={raw}", exe, out],
                    capture_output=True,
                ).returncode == 0
                if ok:
                    with open(out, "rb") as f:
                        n += write(corpus, "elf" + section, f.read())
            note = os.path.join(tmp, "note")
            meta = '{"type":"deb","os":"debian","name":"tool","version":"1.0-1","architecture":"amd64"}'
            ok = subprocess.run(
                ["gcc", "-o", note, src, "-Xlinker", f"--package-metadata={meta}"], capture_output=True
            ).returncode == 0
            if ok:
                with open(note, "rb") as f:
                    n += write(corpus, "elf-note-package", f.read())
    # And real ELF files, for the paths through sections and segments.
    for path in sorted(glob.glob(os.path.join(data, "elf", "**", "*"), recursive=True)):
        if os.path.isfile(path) and not path.endswith(".gz"):
            with open(path, "rb") as f:
                blob = f.read()
            if blob.startswith(b"\x7fELF"):
                n += write(corpus, os.path.relpath(path, data).replace("/", "_"), blob)
    return n


def runtime_proc(corpus, data):
    """This host's /proc files, behind the target's selector byte."""
    n = 0
    pid = os.getpid()
    sources = [
        (0, f"/proc/{pid}/stat"),
        (0, "/proc/1/stat"),
        (1, f"/proc/{pid}/maps"),
        (2, f"/proc/{pid}/status"),
        (3, "/proc/net/tcp"),
        (3, "/proc/net/tcp6"),
        (3, "/proc/net/udp"),
        (4, "/proc/net/unix"),
        (5, f"/proc/{pid}/cgroup"),
        (5, "/proc/1/cgroup"),
        (6, f"/proc/{pid}/smaps"),
    ]
    for selector, path in sources:
        try:
            with open(path, "rb") as f:
                blob = f.read(MAX_SEED - 1)
        except OSError:
            continue
        name = path.strip("/").replace("/", "_").replace(str(pid), "self")
        n += write(corpus, f"{selector}-{name}", bytes([selector]) + blob)
    for i, p in enumerate([b"/usr/lib/x86_64-linux-gnu/libc.so.6", b"/proc/1/root/etc/passwd", b"../x"]):
        n += write(corpus, f"7-path-{i}", b"\x07" + p)
    return n


TARGETS = {
    "version_compare": version_compare,
    "pkgdb_rpm_header": rpm_header,
    "pkgdb_embedded": embedded,
    "runtime_proc": runtime_proc,
}

if __name__ == "__main__":
    target, corpus, data = sys.argv[1:4]
    os.makedirs(corpus, exist_ok=True)
    data = data if os.path.isdir(data) else "/nonexistent"
    print(TARGETS[target](corpus, data))
