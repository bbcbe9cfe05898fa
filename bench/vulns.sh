#!/usr/bin/env bash
# Benchmark for `inuse db import` and `inuse vulns` (issue #4: OSV, offline, distro-exact).
#
#   1. import of the complete AlmaLinux OSV archive (shared data) into a fresh store:
#      records/s and store size; target: at least 20,000 records/s;
#   2. `inuse vulns` on this host against a store of at least 100,000 records: synthetic
#      Debian:12 records generated here (some naming this host's installed source packages,
#      with ranges that match and ranges that do not, the rest random names), plus the
#      AlmaLinux records; target: a whole-host match under 100 ms.
# Release build; medians over RUNS runs (default 5); ratios are target / measured for rates
# and measured / target for times (below 1.0 means the target is met for times).
#
# Usage: bench/vulns.sh     env: RUNS, RECORDS (synthetic records, default 100000),
#                           INUSE_TESTDATA (default <workspace>/../shared/data),
#                           INUSE_BIN (a built inuse; default: build target/release/inuse)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
n_records=${RECORDS:-100000}
data=${INUSE_TESTDATA:-$PWD/../shared/data}
zip=$data/osv/AlmaLinux-all.zip
[[ -f $zip ]] || { echo "bench: $zip is missing (set INUSE_TESTDATA)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench: python3 is missing" >&2; exit 2; }
command -v dpkg-query >/dev/null || { echo "bench: dpkg-query is missing (a Debian host is needed)" >&2; exit 2; }

if [[ -n ${INUSE_BIN:-} ]]; then
    inuse=$INUSE_BIN
else
    cargo build --release -q -p inuse
    inuse=$PWD/target/release/inuse
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Milliseconds of wall time of one run of "$@" (output discarded).
ms() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
# Milliseconds of CPU time (user + system) of one run of "$@": less disturbed than wall time
# by other work on a shared machine.
cpu_ms() {
    /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >/dev/null 2>&1 || true
    python3 -c 'import sys; u, s = open(sys.argv[1]).read().split()[-2:]; print(round((float(u) + float(s)) * 1000))' "$work/cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# 1. AlmaLinux import.
records=$(python3 -c 'import sys, zipfile; print(sum(n.endswith(".json") for n in zipfile.ZipFile(sys.argv[1]).namelist()))' "$zip")
times=()
for ((i = 0; i < runs; i++)); do
    rm -f "$work/alma.sqlite"
    times+=("$(ms "$inuse" db --db "$work/alma.sqlite" import "$zip")")
done
import_ms=$(printf '%s\n' "${times[@]}" | median)
size=$(stat -c %s "$work/alma.sqlite")
rate=$(python3 -c "print(round($records / ($import_ms / 1000)))")

# 2. A store of >= 100,000 records: synthetic Debian:12 records as an osv.dev-style zip.
dpkg-query -W -f '${source:Package} ${source:Version}\n' | sort -u >"$work/sources"
python3 bench/synthetic-osv.py "$work/sources" "$work/synthetic.zip" "$n_records"
cp "$work/alma.sqlite" "$work/big.sqlite"
t0=$(date +%s%N)
"$inuse" db --db "$work/big.sqlite" import "$work/synthetic.zip" >/dev/null
big_import_ms=$((($(date +%s%N) - t0) / 1000000))
total=$("$inuse" db --db "$work/big.sqlite" status --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["records"])')
big_size=$(stat -c %s "$work/big.sqlite")
packages=$(dpkg-query -W | wc -l)
# Exit code 1 means findings: expected here.
findings=$({ "$inuse" vulns --db "$work/big.sqlite" --format json 2>/dev/null || true; } | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["findings"]))')
"$inuse" vulns --db "$work/big.sqlite" >/dev/null 2>&1 || true # warm the page cache
times=()
cpus=()
for ((i = 0; i < runs; i++)); do
    times+=("$(ms "$inuse" vulns --db "$work/big.sqlite" --format json)")
    cpus+=("$(cpu_ms "$inuse" vulns --db "$work/big.sqlite" --format json)")
done
match_ms=$(printf '%s\n' "${times[@]}" | median)
match_cpu=$(printf '%s\n' "${cpus[@]}" | median)
import_cpus=()
for ((i = 0; i < runs; i++)); do
    rm -f "$work/alma2.sqlite"
    import_cpus+=("$(cpu_ms "$inuse" db --db "$work/alma2.sqlite" import "$zip")")
done
import_cpu=$(printf '%s\n' "${import_cpus[@]}" | median)

printf '\n%-58s %12s %12s %8s\n' "measurement (median of $runs)" "value" "target" "ratio"
printf '%-58s %12s %12s %8s\n' "AlmaLinux import: $records records, ms" "$import_ms" "" ""
printf '%-58s %12s %12s %8s\n' "AlmaLinux import: records/s" "$rate" ">= 20000" \
    "$(python3 -c "print(f'{$rate / 20000:.2f}')")"
printf '%-58s %12s %12s %8s\n' "AlmaLinux store size, MiB" "$(python3 -c "print(f'{$size / 2**20:.1f}')")" "" ""
printf '%-58s %12s %12s %8s\n' "synthetic import: $n_records records, records/s (1 run)" \
    "$(python3 -c "print(round($n_records / ($big_import_ms / 1000)))")" ">= 20000" \
    "$(python3 -c "print(f'{$n_records / ($big_import_ms / 1000) / 20000:.2f}')")"
printf '%-58s %12s %12s %8s\n' "store: records, size MiB" "$total, $(python3 -c "print(f'{$big_size / 2**20:.0f}')")" ">= 100000" ""
printf '%-58s %12s %12s %8s\n' "inuse vulns, whole host ($packages packages, $findings findings), ms" \
    "$match_ms" "< 100" "$(python3 -c "print(f'{$match_ms / 100:.2f}')")"
printf '%-58s %12s %12s %8s\n' "inuse vulns, same, CPU ms (user+sys)" \
    "$match_cpu" "< 100" "$(python3 -c "print(f'{$match_cpu / 100:.2f}')")"
printf '%-58s %12s %12s %8s\n' "AlmaLinux import, CPU ms (user+sys); records/s by CPU" \
    "$import_cpu" "" "$(python3 -c "print(round($records / ($import_cpu / 1000)))")"
printf '%-58s %12s\n' "load average during the run" "$(cut -d' ' -f1-3 /proc/loadavg)"
