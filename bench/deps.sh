#!/usr/bin/env bash
# Benchmark for `inuse deps` (issue: the exact shared-library closure).
#
# Resolves every ELF file under the given directories (default /usr) with
#   - one `inuse deps` run over all of them (parallel, as shipped),
#   - a loop of `ldd` (runs the loader of each file: fine on this trusted host only),
#   - a loop of `libtree`,
#   - `scanelf -qn` over the same files, which only reads DT_NEEDED: the floor.
# and prints median wall times, CPU times, ratios and inuse's peak memory.
#
# Usage: bench/deps.sh [DIR...]     env: RUNS (fast tools, default 5), SLOW_RUNS (loops, 1)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
slow_runs=${SLOW_RUNS:-1}
dirs=("$@")
((${#dirs[@]})) || dirs=(/usr)

for tool in ldd libtree scanelf /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (run .ci/setup)" >&2; exit 2; }
done

cargo build --release -q -p inuse
inuse=$PWD/target/release/inuse

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Regular files that start with the ELF magic; symlinks are not followed.
find "${dirs[@]}" -xdev -type f -size +63c -print0 |
    xargs -0 -r -n 500 python3 -c '
import sys
for p in sys.argv[1:]:
    try:
        with open(p, "rb") as f:
            if f.read(4) == b"\x7fELF":
                print(p)
    except OSError:
        pass
' >"$work/files"
n=$(wc -l <"$work/files")
echo "bench: $n ELF files under ${dirs[*]} on $(nproc) cores" >&2

# Runs a command RUNS times; prints "median_wall_s median_cpu_s max_rss_kib".
measure() {
    local count=$1
    shift
    for ((i = 0; i < count; i++)); do
        /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" >/dev/null 2>&1 || true
        tail -n 1 "$work/t"
    done | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
wall = statistics.median(r[0] for r in rows)
cpu = statistics.median(r[1] + r[2] for r in rows)
rss = max(r[3] for r in rows)
print(f"{wall:.3f} {cpu:.3f} {rss:.0f}")
'
}

loop() {
    local tool=$1
    shift
    while IFS= read -r f; do "$tool" "$@" "$f" >/dev/null 2>&1 || true; done <"$work/files"
}
export -f loop
export work

read -r inuse_wall inuse_cpu inuse_rss < <(measure "$runs" xargs -a "$work/files" -d '\n' "$inuse" deps --format list)
read -r json_wall json_cpu json_rss < <(measure "$runs" xargs -a "$work/files" -d '\n' "$inuse" deps --format json)
read -r scanelf_wall scanelf_cpu _ < <(measure "$runs" xargs -a "$work/files" -d '\n' scanelf -qn)
read -r ldd_wall ldd_cpu _ < <(measure "$slow_runs" bash -c 'loop ldd')
read -r libtree_wall libtree_cpu _ < <(measure "$slow_runs" bash -c 'loop libtree')

python3 - "$n" "$inuse_wall" "$inuse_cpu" "$inuse_rss" "$scanelf_wall" "$scanelf_cpu" \
    "$ldd_wall" "$ldd_cpu" "$libtree_wall" "$libtree_cpu" "$json_wall" "$json_cpu" "$json_rss" <<'PY'
import sys
n, iw, ic, rss, sw, sc, lw, lc, tw, tc, jw, jc, jrss = sys.argv[1:]
n = int(n); iw, ic, sw, sc, lw, lc, tw, tc, jw, jc = map(float, (iw, ic, sw, sc, lw, lc, tw, tc, jw, jc))
rss = max(int(rss), int(jrss))
print(f"files: {n}")
print(f"{'tool':<26}{'wall s':>9}{'cpu s':>9}{'wall ratio':>12}{'cpu ratio':>11}")
for name, w, c in [("inuse deps (list)", iw, ic), ("inuse deps --format json", jw, jc),
                   ("scanelf -qn (floor)", sw, sc),
                   ("ldd loop", lw, lc), ("libtree loop", tw, tc)]:
    print(f"{name:<26}{w:>9.3f}{c:>9.3f}{w / iw:>11.1f}x{c / ic:>10.1f}x")
print(f"inuse peak memory: {rss / 1024:.1f} MiB")
print(f"targets: ldd/inuse >= 100x: {lw / iw:.0f}x; libtree/inuse >= 20x: {tw / iw:.0f}x; "
      f"inuse/scanelf <= 3x: {iw / sw:.2f}x (json {jw / sw:.2f}x); peak < 256 MiB: {rss / 1024:.0f} MiB")
PY
