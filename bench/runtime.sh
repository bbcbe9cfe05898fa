#!/usr/bin/env bash
# Benchmark for `inuse ps` / `inuse observe` (issue #5: runtime evidence).
#
# Starts EXTRA (default 500) extra processes with mixed libraries (sleep, python3, perl, bash
# sleeping, tail -f), then measures over the same processes, in the same run:
#   - `inuse ps --format json` one-shot: wall time, including loading the package database;
#   - the sweep alone, as `inuse observe` repeats it (median of the sweeps of a short window);
#   - `needrestart -b` (stale libraries of every process) and `lsof -n -P` (open and mapped
#     files of every process), the two peers that read the same /proc data;
#   - the CPU used by `inuse observe --interval 5s` over DURATION (default 60 s), from utime and
#     stime in /proc/PID/stat, as a percentage of one core.
# Prints medians and ratios. Every started process is killed on exit (trap).
#
# Fails (exit 2) rather than print a figure that is not one: when the build fails (an older
# binary would be timed), when a timed run exits with a status that is not a normal answer
# (a crash would read as a fast time), or when `inuse observe` dies or reports no sweep.
#
# Usage: bench/runtime.sh     env: EXTRA (500), RUNS (5), DURATION (60)
set -euo pipefail
cd "$(dirname "$0")/.."

extra=${EXTRA:-500}
runs=${RUNS:-5}
duration=${DURATION:-60}

for tool in needrestart lsof python3 perl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (run .ci/setup)" >&2; exit 2; }
done

inuse=$PWD/target/release/inuse
if ! cargo build --release -q -p inuse; then
    echo "bench: the build failed: not measuring an older $inuse" >&2
    exit 2
fi

work=$(mktemp -d)
pids=()
cleanup() {
    # Children first: `bash -c 'sleep 999; :'` would leave its sleep behind (100 a run).
    ((${#pids[@]})) && pkill -9 -P "$(IFS=,; echo "${pids[*]}")" 2>/dev/null || true
    ((${#pids[@]})) && kill -9 "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "bench: starting $extra processes" >&2
for ((i = 0; i < extra; i++)); do
    case $((i % 5)) in
        0) sleep 999 & ;;
        1) /usr/bin/python3 -c 'import time, zlib, json; time.sleep(999)' & ;;
        2) perl -e 'sleep 999' & ;;
        3) bash -c 'sleep 999; :' 2>/dev/null & ;;
        4) tail -f /dev/null & ;;
    esac
    pids+=($!)
done
# Wait until the started processes have settled (100 python3 start-ups take seconds of CPU on
# 2 cores): until their summed CPU time (utime + stime) stays the same for half a second, at
# most 60 s. Measuring earlier times the start-ups as much as the tools.
cpu_of_started() {
    local p sum=0 f
    for p in "${pids[@]}"; do
        read -r f 2>/dev/null <"/proc/$p/stat" || continue
        f=${f##*) }
        set -- $f
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}
sleep 1
before=$(cpu_of_started)
for ((waited = 0; waited < 120; waited++)); do
    sleep 0.5
    now=$(cpu_of_started)
    [[ $now == "$before" ]] && break
    before=$now
done
echo "bench: processes settled after $(((waited + 2) / 2)) s more" >&2
nproc_now=$(ls -d /proc/[0-9]* | wc -l)
echo "bench: $nproc_now processes on the system" >&2

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# wall milliseconds of one run of "$@", output discarded; ALLOWED is the list of exit
# statuses that are normal answers. Any other status stops the benchmark (exit 2 of the
# pipeline, so of the assignment, so of the script under set -e): never a time of a crash.
ms() {
    local allowed=$1 t0 t1 rc=0
    shift
    t0=$(date +%s%N)
    "$@" >/dev/null 2>"$work/stderr" || rc=$?
    t1=$(date +%s%N)
    if [[ " $allowed " != *" $rc "* ]]; then
        echo "bench: \`$*\` exited with status $rc (expected one of: $allowed):" >&2
        tail -n 5 "$work/stderr" >&2
        exit 2
    fi
    echo $(((t1 - t0) / 1000000))
}
time_runs() { for ((r = 0; r < runs; r++)); do ms "$@"; done | median; }

# inuse ps: 0, or 1 when it found stale code; lsof: 1 when some file could not be read (a
# process that ended between listing and reading).
ps_ms=$(time_runs "0 1" "$inuse" ps --format json)
needrestart_ms=$(time_runs "0" needrestart -b)
lsof_ms=$(time_runs "0 1" lsof -n -P)

# The sweep alone: inuse observe reports the median of its sweeps on stderr.
if ! "$inuse" observe --interval 1s --duration 8s --store "$work/sweeps.sqlite" 2>"$work/sweeps.log"; then
    echo "bench: inuse observe failed:" >&2
    tail -n 5 "$work/sweeps.log" >&2
    exit 2
fi
sweep_ms=$(sed -n 's/.*median sweep \([0-9]*\) ms.*/\1/p' "$work/sweeps.log")
if [[ -z $sweep_ms ]]; then
    echo "bench: inuse observe reported no median sweep:" >&2
    tail -n 5 "$work/sweeps.log" >&2
    exit 2
fi

# CPU of a real observation window.
"$inuse" observe --interval 5s --forever --store "$work/cpu.sqlite" 2>"$work/observe.log" &
observer=$!
pids+=("$observer")
sleep "$duration"
if ! stat_line=$(sed 's/.*) //' "/proc/$observer/stat" 2>/dev/null) || [[ $stat_line == Z* ]]; then
    echo "bench: inuse observe --forever died during the window:" >&2
    tail -n 5 "$work/observe.log" >&2
    exit 2
fi
read -r -a stat <<<"$stat_line"
ticks=$((stat[11] + stat[12]))
kill -TERM "$observer"
observer_rc=0
wait "$observer" || observer_rc=$?
if ((observer_rc != 0)); then
    echo "bench: inuse observe --forever exited with status $observer_rc on SIGTERM:" >&2
    tail -n 5 "$work/observe.log" >&2
    exit 2
fi
hz=$(getconf CLK_TCK)
cpu_pct=$(awk -v t="$ticks" -v hz="$hz" -v d="$duration" 'BEGIN {printf "%.2f", 100 * t / hz / d}')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1fx", a / b; else print "-"}'; }
echo
echo "runtime benchmark: $nproc_now processes ($extra extra), $(nproc) cores, medians of $runs runs"
printf '%-44s %8s ms\n' "inuse ps --format json (one shot)" "$ps_ms"
printf '%-44s %8s ms\n' "inuse sweep (as observe repeats it)" "$sweep_ms"
printf '%-44s %8s ms   (%s inuse ps)\n' "needrestart -b" "$needrestart_ms" "$(ratio "$needrestart_ms" "$ps_ms")"
printf '%-44s %8s ms   (%s inuse ps)\n' "lsof -n -P" "$lsof_ms" "$(ratio "$lsof_ms" "$ps_ms")"
printf '%-44s %8s %%    of one core over %s s\n' "inuse observe --interval 5s CPU" "$cpu_pct" "$duration"
echo "targets: sweep of 500 processes < 150 ms on 2 cores; observe < 1 % of one core"
