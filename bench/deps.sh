#!/usr/bin/env bash
# Benchmark for `inuse deps` (issue: the exact shared-library closure).
#
# Resolves every ELF file under the given directories (default /usr) with
#   - one `inuse deps` process over all of them, `--format list` and `--format json`
#     (parallel, as shipped),
#   - `scanelf -qn` over the same files in one process, which only reads DT_NEEDED: the floor,
#   - a loop of `ldd` (runs the loader of each file: fine on this trusted host only),
#   - a loop of `libtree`,
# and prints median wall times with their spread, CPU times, ratios and inuse's peak memory.
#
# The fast tools are measured in alternating rounds (list, json, scanelf, the order rotated
# each round), so that a busy machine slows all three alike; the ratios are taken within each
# round and their median and spread printed.
#
# Every measured run must end as expected, or the benchmark fails: a crash would otherwise
# read as a fast time. inuse must exit with the status of a checked run (0, or 1 when some
# library is not found, or 3 when some input is not analysable, each documented), whose JSON
# must list every file and whose list output must show every analysable one; scanelf must
# exit 0. In the ldd and libtree loops a non-zero exit is normal for some files (ldd: "not a
# dynamic executable"; libtree: static files, libraries not found): the loop counts them by
# status and prints the counts; it fails if every file failed.
#
# The binary timed is the one this run built: its path is taken from cargo's own report, and
# a failed build stops the benchmark.
#
# Usage: bench/deps.sh [DIR...]     env: RUNS (rounds of the fast tools, default 7),
#                                        SLOW_RUNS (loops, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-7}
slow_runs=${SLOW_RUNS:-1}
dirs=("$@")
((${#dirs[@]})) || dirs=(/usr)

fail() {
    echo "bench: $*" >&2
    exit 1
}

for tool in ldd libtree scanelf python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (run .ci/setup)" >&2; exit 2; }
done

inuse=$(cargo build --release -p inuse --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "inuse" and m.get("executable"):
        print(m["executable"])
') || fail "the build failed"
[[ -n $inuse && -x $inuse ]] || fail "cargo reported no inuse executable"

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
mapfile -t files <"$work/files"
n=${#files[@]}
((n > 0)) || fail "no ELF file under ${dirs[*]}"
# One process per tool, as a user would run it: the file list must fit on one command line.
bytes=$(($(wc -c <"$work/files") + $(env | wc -c) + 4096))
((bytes < $(getconf ARG_MAX))) || fail "$n paths do not fit on one command line; give fewer directories"
echo "bench: $n ELF files under ${dirs[*]} on $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)" >&2
echo "bench: timing $inuse" >&2

# The checked runs: what every timed run must reproduce.
set +e
"$inuse" deps --format json "${files[@]}" >"$work/json" 2>"$work/json.err"
inuse_status=$?
"$inuse" deps --format list "${files[@]}" >"$work/list" 2>/dev/null
list_status=$?
set -e
case $inuse_status in
0 | 1 | 3) ;;
*) cat "$work/json.err" >&2; fail "inuse deps --format json exited with $inuse_status" ;;
esac
((list_status == inuse_status)) || fail "inuse deps --format list exited with $list_status, json with $inuse_status"
checked=$(python3 - "$work/json" "$work/list" "$n" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
objects = doc["objects"]
n = int(sys.argv[3])
if len(objects) != n:
    sys.exit(f"bench: inuse's JSON lists {len(objects)} files, not {n}")
errors = sum(1 for o in objects if o["type"] == "error")
# The list output has a "PATH:" header line for each analysed input.
headers = sum(1 for line in open(sys.argv[2], "rb") if not line.startswith(b"\t"))
if headers != n - errors:
    sys.exit(f"bench: inuse's list shows {headers} files, not {n - errors}")
print(n - errors, errors)
PY
) || fail "the checked run's output is incomplete"
read -r analysed errors <<<"$checked"
echo "bench: inuse exits $inuse_status; $analysed files analysed, $errors not analysable (listed as errors)" >&2
scanelf -qn "${files[@]}" >/dev/null 2>&1 || fail "scanelf -qn exited with $?"

# Runs a command once; appends "NAME WALL_S CPU_S RSS_KIB" to $work/runs (times from
# wait4's rusage, to the microsecond). Fails unless the command exits with EXPECTED.
cat >"$work/timeit.py" <<'PY'
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
# A signal shows as its negative number.
print(f"{wall:.4f} {usage.ru_utime + usage.ru_stime:.4f} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
PY
once() {
    local name=$1 expected=$2 wall cpu rss status
    shift 2
    read -r wall cpu rss status < <(python3 "$work/timeit.py" "$@")
    [[ $status == "$expected" ]] || fail "$name exited with $status, expected $expected: $*"
    echo "$name $wall $cpu $rss" >>"$work/runs"
}

: >"$work/runs"
names=(list json scanelf)
for ((round = 0; round < runs; round++)); do
    for ((k = 0; k < 3; k++)); do
        case ${names[(round + k) % 3]} in
        list) once list "$inuse_status" "$inuse" deps --format list "${files[@]}" ;;
        json) once json "$inuse_status" "$inuse" deps --format json "${files[@]}" ;;
        scanelf) once scanelf 0 scanelf -qn "${files[@]}" ;;
        esac
    done
done

# The loops: each file's exit status is counted; the loop itself must end with 0.
loop() {
    local tool=$1 status
    declare -A counts=()
    while IFS= read -r f; do
        status=0
        "$tool" "$f" >/dev/null 2>&1 || status=$?
        counts[$status]=$((${counts[$status]:-0} + 1))
    done <"$work/files"
    for status in "${!counts[@]}"; do echo "$status ${counts[$status]}"; done >"$work/$tool.status"
}
export -f loop
export work
for tool in ldd libtree; do
    for ((i = 0; i < slow_runs; i++)); do
        once "$tool" 0 bash -c "loop $tool"
    done
    python3 - "$work/$tool.status" "$n" "$tool" <<'PY'
import sys
counts = {int(s): int(c) for s, c in (l.split() for l in open(sys.argv[1]))}
n, tool = int(sys.argv[2]), sys.argv[3]
bad = sum(c for s, c in counts.items() if s != 0)
detail = ", ".join(f"{c} with {s}" for s, c in sorted(counts.items()) if s != 0)
print(f"bench: {tool} loop: {bad} of {n} files exited non-zero ({detail or 'none'})", file=sys.stderr)
if counts.get(0, 0) == 0:
    sys.exit(f"bench: {tool} failed on every file: its times mean nothing")
PY
done

python3 - "$work/runs" "$n" "$runs" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, wall, cpu, rss = line.split()
    rows[name].append((float(wall), float(cpu), int(rss)))
n, runs = int(sys.argv[2]), int(sys.argv[3])

def med(name, i):
    return statistics.median(r[i] for r in rows[name])

print(f"files: {n}; fast tools: {runs} alternating rounds; wall median [min-max]")
print(f"{'tool':<26}{'wall s':>8}{'[min-max]':>18}{'cpu s':>8}")
labels = [("list", "inuse deps (list)"), ("json", "inuse deps --format json"),
          ("scanelf", "scanelf -qn (floor)"), ("ldd", "ldd loop"), ("libtree", "libtree loop")]
for key, label in labels:
    walls = [r[0] for r in rows[key]]
    spread = f"[{min(walls):.3f}-{max(walls):.3f}]"
    print(f"{label:<26}{med(key, 0):>8.3f}{spread:>18}{med(key, 1):>8.3f}")
rss = max(r[2] for key in ("list", "json") for r in rows[key])
print(f"inuse peak memory: {rss / 1024:.1f} MiB")

# Within each round, each inuse format against scanelf of the same round.
print("ratio to scanelf -qn, per round: median [min-max]")
ratios = {}
for key in ("list", "json"):
    for i, what in ((0, "wall"), (1, "cpu")):
        rs = [a[i] / b[i] if b[i] > 0 else float("inf") for a, b in zip(rows[key], rows["scanelf"])]
        ratios[key, what] = statistics.median(rs)
        print(f"  {key:<5}{what:<5}{statistics.median(rs):>6.2f}x [{min(rs):.2f}-{max(rs):.2f}]")
iw = med("list", 0)
print(f"targets: json/scanelf <= 2x: {ratios['json', 'wall']:.2f}x; "
      f"list/scanelf <= 1.5x: {ratios['list', 'wall']:.2f}x; "
      f"ldd/inuse >= 100x: {med('ldd', 0) / iw:.0f}x; libtree/inuse >= 20x: {med('libtree', 0) / iw:.0f}x; "
      f"peak < 256 MiB: {rss / 1024:.0f} MiB")
PY
