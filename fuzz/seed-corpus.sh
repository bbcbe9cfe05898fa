#!/usr/bin/env bash
# Seeds fuzz/corpus/<target> from real files. Corpora are generated, never committed: the seeds
# come from the shared reference data (INUSE_TESTDATA, default <workspace>/../shared/data) and
# from this host, and libFuzzer adds what it finds.
#
#   fuzz/seed-corpus.sh        seed every target (.ci/fuzz.sh fails on a target left empty)
#
# Seeds that need more than a copy (version pairs behind a selector byte, rpm header blobs
# out of sqlite databases, ELF files carrying Go and cargo-auditable metadata, /proc files)
# are written by seeds.py.
#
# Seeds are kept small: libFuzzer's -max_len defaults to the largest seed, and every execution
# reads the whole input. Files over MAX_SEED bytes (default 256 KiB) are left out.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
data=${INUSE_TESTDATA:-$fuzz_dir/../../shared/data}
max_seed=${MAX_SEED:-262144}

# Copies $1 into corpus directory $2 under a name derived from its path (relative to the data
# directory), unpacking .gz files; skips files over max_seed bytes. Files are written fresh, so
# read-only sources do not make a second run fail.
add() {
    local src=$1 dir=$2 name target
    name=${src#"$data/"}
    name=$(printf '%s' "${name#/}" | tr '/' '_')
    target=$dir/${name%.gz}
    rm -f -- "$target"
    case $src in
        *.gz) gzip -dc -- "$src" >"$target" ;;
        *) cat -- "$src" >"$target" ;;
    esac
    if (($(stat -c %s -- "$target") > max_seed)); then
        echo "seed-corpus: skipping $src (over $max_seed bytes)" >&2
        rm -f -- "$target"
        return 1
    fi
}

elf=$fuzz_dir/corpus/elf_parse
mkdir -p "$elf"
if [[ -d $data/elf ]]; then
    while IFS= read -r -d '' f; do
        # ELF files only: the data also holds ld.so.conf trees.
        if [[ $f == *.gz ]] || [[ $(head -c4 -- "$f" | od -An -c | tr -d ' ') == 177ELF ]]; then
            add "$f" "$elf" || true
        fi
    done < <(find "$data/elf" -type f -print0)
else
    echo "seed-corpus: no reference data at $data/elf (set INUSE_TESTDATA); host files only" >&2
fi
# A few small host libraries and executables: real dynamic sections, versions, notes.
count=0
for f in /lib/x86_64-linux-gnu/libdl.so.2 /lib/x86_64-linux-gnu/libutil.so.1 \
    /lib/x86_64-linux-gnu/libpthread.so.0 /lib/x86_64-linux-gnu/librt.so.1 \
    /usr/bin/true /usr/bin/env /usr/lib64/libdl.so.2 /usr/lib/libdl.so.2; do
    if [[ -f $f ]] && add "$f" "$elf"; then
        count=$((count + 1))
    fi
done
echo "seed-corpus: elf_parse has $(find "$elf" -type f | wc -l) seeds ($count from this host)" >&2

# OSV records: the shared samples (Debian, Ubuntu, the Red Hat family, osv.dev exports).
osv=$fuzz_dir/corpus/osv_record
mkdir -p "$osv"
if compgen -G "$data/osv/samples/*/*.json" >/dev/null; then
    for f in "$data"/osv/samples/*/*.json; do
        add "$f" "$osv" || true
    done
else
    echo "seed-corpus: no OSV samples at $data/osv/samples (set INUSE_TESTDATA)" >&2
fi

# dpkg: a slice of this host's status file and a few small file lists (with a diversion-like
# and a non-normal line added).
dpkg=$fuzz_dir/corpus/pkgdb_dpkg_status
mkdir -p "$dpkg"
if [[ -f /var/lib/dpkg/status ]]; then
    head -c 65536 /var/lib/dpkg/status >"$dpkg/host-status-head"
    for f in /var/lib/dpkg/info/dash.list /var/lib/dpkg/info/coreutils.list \
        /var/lib/dpkg/info/libc6:amd64.list; do
        if [[ -f $f ]]; then
            add "$f" "$dpkg" || true
        fi
    done
    printf '/.\n//usr/./lib/../bin/x/\r\nrelative/y\n/usr/share/doc/z\n' >"$dpkg/odd-list"
fi
# The peers' dpkg databases: status files, status.d stanzas, md5sums and available files.
if [[ -d $data/peers/dpkg ]]; then
    while IFS= read -r -d '' f; do
        add "$f" "$dpkg" || true
    done < <(find "$data/peers/dpkg" -type f -path '*/var/lib/dpkg/*' -print0)
fi
echo "seed-corpus: pkgdb_dpkg_status has $(find "$dpkg" -type f | wc -l) seeds" >&2

# apk: the peers' installed files and those of the Alpine minirootfs archives.
apk=$fuzz_dir/corpus/pkgdb_apk_installed
mkdir -p "$apk"
if [[ -d $data/peers/apk ]]; then
    for f in "$data"/peers/apk/*/installed; do
        add "$f" "$apk" || true
    done
fi
for tarball in "$data"/peers/roots/*.tar.gz; do
    [[ -f $tarball ]] || continue
    name=$(basename "$tarball" .tar.gz)
    tar -xzOf "$tarball" ./lib/apk/db/installed >"$apk/$name-installed" 2>/dev/null ||
        rm -f -- "$apk/$name-installed"
done
echo "seed-corpus: pkgdb_apk_installed has $(find "$apk" -type f | wc -l) seeds" >&2

# OSV: the peers' records too.
if [[ -d $data/peers/osv ]]; then
    while IFS= read -r -d '' f; do
        add "$f" "$osv" || true
    done < <(find "$data/peers/osv" -type f -name '*.json' -print0)
fi
echo "seed-corpus: osv_record has $(find "$osv" -type f | wc -l) seeds" >&2

for target in version_compare pkgdb_rpm_header pkgdb_embedded runtime_proc; do
    dir=$fuzz_dir/corpus/$target
    mkdir -p "$dir"
    python3 "$fuzz_dir/seeds.py" "$target" "$dir" "$data" >/dev/null
    echo "seed-corpus: $target has $(find "$dir" -type f | wc -l) seeds" >&2
done
# pkgdb_embedded reads whole ELF files: the host files elf_parse starts from serve it too.
cp -f -- "$elf"/* "$fuzz_dir/corpus/pkgdb_embedded/" 2>/dev/null || true
