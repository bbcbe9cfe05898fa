#!/usr/bin/env bash
# Benchmark for `inuse scan` (issue: vulnerabilities ranked by real exposure).
#
# `inuse scan` of this host with a vulnerability store of RECORDS synthetic Debian:12 records
# (default 100,000; some match installed source packages) and a live sweep of every process,
# as shipped (release build). Target: under 2 s wall on 2 cores. Prints medians of RUNS runs
# (default 5) of the wall time and CPU time, the finding count, and the ratio to the target.
#
# Usage: bench/scan.sh      env: RUNS, RECORDS, INUSE_BIN (a built inuse)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
n_records=${RECORDS:-100000}
for tool in python3 dpkg-query /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (run .ci/setup)" >&2; exit 2; }
done
if [[ -n ${INUSE_BIN:-} ]]; then
    inuse=$INUSE_BIN
else
    cargo build --release -q -p inuse
    inuse=$PWD/target/release/inuse
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dpkg-query -W -f '${source:Package} ${source:Version}\n' | sort -u >"$work/sources"
python3 bench/synthetic-osv.py "$work/sources" "$work/synthetic.zip" "$n_records"
"$inuse" db --db "$work/vulns.sqlite" import "$work/synthetic.zip" >/dev/null
records=$("$inuse" db --db "$work/vulns.sqlite" status --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["records"])')

scan=("$inuse" scan --db "$work/vulns.sqlite" --store "$work/none.sqlite" --offline --format json)
"${scan[@]}" >"$work/out.json" 2>/dev/null || true # warm the page cache
findings=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(len(d["findings"]), d["summary"])' "$work/out.json")

for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$work/t" "${scan[@]}" >/dev/null 2>&1 || true
    tail -n 1 "$work/t"
done | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
wall = statistics.median(r[0] for r in rows)
cpu = statistics.median(r[1] + r[2] for r in rows)
rss = max(r[3] for r in rows) / 1024
print(f"inuse scan (median of {len(rows)}): wall {wall:.2f} s, cpu {cpu:.2f} s, peak {rss:.0f} MiB; "
      f"target < 2 s: ratio {wall / 2:.2f}")
'
echo "store: $records records; findings: $findings"
echo "processes swept: $(ls -d /proc/[0-9]* | wc -l); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
