#!/usr/bin/env bash
# Seeds fuzz/corpus/<target> from real files. Corpora are generated, never committed: the seeds
# come from the shared reference data (INUSE_TESTDATA, default <workspace>/../shared/data) and
# from this host, and libFuzzer adds what it finds.
#
#   fuzz/seed-corpus.sh        seed every target this script knows (elf_parse, osv_record,
#                              pkgdb_dpkg_status)
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
echo "seed-corpus: osv_record has $(find "$osv" -type f | wc -l) seeds" >&2

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
echo "seed-corpus: pkgdb_dpkg_status has $(find "$dpkg" -type f | wc -l) seeds" >&2
