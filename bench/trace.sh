#!/usr/bin/env bash
# Benchmark for `inuse trace` (issue #6: function-level evidence with one-shot uprobes).
#
# 1. Attach time for libcrypto (thousands of functions): the time from the first probe
#    written to all probes enabled, as inuse reports it on its readiness line; RUNS runs,
#    median, plus the whole start-to-ready and ready-to-exit wall times.
# 2. Slowdown of a zlib-heavy workload: a gcc-built program that compresses a 64 KiB buffer in
#    a loop for SECONDS seconds and prints its iterations per second. It runs once untraced
#    and once under `inuse trace --library libz` (started, and ready, before the workload),
#    in this one invocation. Printed: iterations in the first second, the median per-second
#    rate after the first second, and the total, with traced/untraced ratios.
#
# Targets (issue #6): attach under 2 s; slowdown under 5 % over a 30 s run.
#
# Wall-clock rates suffer from anything else running; the same figures per CPU second of the
# workload do not (the kernel's work for a probe hit is charged to the workload), so both are
# printed. PAIRS > 1 alternates untraced and traced runs and pools them.
#
# Usage: bench/trace.sh     env: RUNS (attach runs, default 5), SECONDS_RUN (default 30),
#                                PAIRS (default 1)
# Needs root, gcc and zlib1g-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
seconds=${SECONDS_RUN:-30}
pairs=${PAIRS:-1}
libcrypto=/usr/lib/x86_64-linux-gnu/libcrypto.so.3
libz=$(readlink -f /usr/lib/x86_64-linux-gnu/libz.so.1)

[[ $(id -u) == 0 ]] || { echo "bench: uprobes need root" >&2; exit 2; }
for f in "$libcrypto" "$libz"; do
    [[ -e $f ]] || { echo "bench: $f is missing" >&2; exit 2; }
done
command -v gcc >/dev/null || { echo "bench: gcc is missing (run .ci/setup)" >&2; exit 2; }

cargo build --release -q -p inuse
inuse=$PWD/target/release/inuse

work=$(mktemp -d)
tracer=
cleanup() {
    [[ -n $tracer ]] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%3N; }

# Starts `inuse trace ARGS...` in the background ($tracer) and waits for its readiness line.
start_tracer() {
    local log=$1; shift
    "$inuse" trace "$@" >"$work/trace.out" 2>"$log" &
    tracer=$!
    local deadline=$((SECONDS + 120))
    until grep -q '^inuse: tracing ' "$log"; do
        kill -0 "$tracer" 2>/dev/null || { cat "$log" >&2; echo "bench: inuse trace failed" >&2; exit 1; }
        ((SECONDS < deadline)) || { cat "$log" >&2; echo "bench: inuse trace not ready after 120 s" >&2; exit 1; }
        sleep 0.01
    done
}
stop_tracer() { kill -INT "$tracer"; wait "$tracer"; tracer=; }

echo "== attach: $libcrypto ($runs runs)"
for ((i = 0; i < runs; i++)); do
    t0=$(now_ms)
    start_tracer "$work/attach.log" --library "$libcrypto"
    t1=$(now_ms)
    stop_tracer
    t2=$(now_ms)
    sed -n 's/^inuse: tracing \([0-9]*\) functions.*attached in \([0-9]*\) ms.*/\1 \2/p' "$work/attach.log" >>"$work/attach"
    echo "$((t1 - t0))" >>"$work/ready"
    echo "$((t2 - t1))" >>"$work/stop"
done
printf '  functions probed:              %s\n' "$(head -1 "$work/attach" | cut -d' ' -f1)"
printf '  attach (probes placed+enabled): median %s ms\n' "$(cut -d' ' -f2 "$work/attach" | median)"
printf '  start to ready (incl. package db): median %s ms\n' "$(median <"$work/ready")"
printf '  SIGINT to exit (all probes removed): median %s ms\n' "$(median <"$work/stop")"

cat >"$work/zwork.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>
/* Compresses a 64 KiB buffer in a loop; prints, for each second of wall time, the
   iterations done and the CPU time (user + system, ms) this process used for them. */
static long cpu_ms(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000L
         + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000L;
}
int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 30;
    static unsigned char in[65536], out[80000];
    unsigned int seed = 1;
    for (size_t i = 0; i < sizeof in; i++) {
        seed = seed * 1103515245u + 12345u;
        in[i] = "abcdefghij klmnop\n"[(seed >> 16) % 18];
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long count = 0, cpu0 = cpu_ms();
    int second = 0;
    for (;;) {
        uLongf len = sizeof out;
        if (compress2(out, &len, in, sizeof in, 6) != Z_OK) return 1;
        count++;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double t = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
        if (t >= second + 1) {
            long cpu = cpu_ms();
            printf("%d %ld %ld\n", second + 1, count, cpu - cpu0);
            fflush(stdout);
            count = 0;
            cpu0 = cpu;
            if (++second >= seconds) return 0;
        }
    }
}
EOF
gcc -O2 -o "$work/zwork" "$work/zwork.c" -lz

echo "== slowdown: zlib workload, ${seconds} s, untraced then traced, $pairs pair(s)"
for ((i = 0; i < pairs; i++)); do
    "$work/zwork" "$seconds" >>"$work/plain"
    start_tracer "$work/zlib.log" --library "$libz" --format json
    "$work/zwork" "$seconds" >>"$work/traced"
    stop_tracer
done
hits=$(grep -c '"first_hit"' "$work/trace.out" || true)

# Per run: first-second iterations, median iterations/s after it, total; and the same as
# iterations per CPU second of the workload (robust when other jobs compete for the CPUs;
# the kernel's uprobe work is charged to the workload's system time).
metrics() {
    awk '
        { n[$1] += $2; c[$1] += $3; all_n += $2; all_c += $3; if ($1 > 1) { rest_n += $2; rest_c += $3 } }
        END {
            printf "%d %d %d %.1f %.1f %.1f\n", n[1], 0, all_n,
                n[1] / (c[1] / 1000), rest_n / (rest_c / 1000), all_n / (all_c / 1000)
        }' "$1"
}
median_rest() { awk '$1 > 1 { print $2 }' "$1" | median; }
read -r p_first _ p_total p_cfirst p_crest p_call < <(metrics "$work/plain")
read -r t_first _ t_total t_cfirst t_crest t_call < <(metrics "$work/traced")
p_rest=$(median_rest "$work/plain")
t_rest=$(median_rest "$work/traced")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
slow() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f %%", (1 - a / b) * 100 }'; }
row() { printf '  %-36s %12s %12s %8s %10s\n' "$1" "$2" "$3" "$(ratio "$3" "$2")" "$(slow "$3" "$2")"; }
printf '  functions of libz entered during a traced run: %s\n' "$hits"
printf '  %-36s %12s %12s %8s %10s\n' "" untraced traced ratio slowdown
row "first second (iterations)" "$p_first" "$t_first"
row "after 1 s (median iterations/s)" "$p_rest" "$t_rest"
row "whole run (iterations)" "$p_total" "$t_total"
row "first second (iterations/CPU-s)" "$p_cfirst" "$t_cfirst"
row "after 1 s (iterations/CPU-s)" "$p_crest" "$t_crest"
row "whole run (iterations/CPU-s)" "$p_call" "$t_call"
