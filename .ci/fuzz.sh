#!/usr/bin/env bash
# CI: build every fuzz target in fuzz/ and run each for FUZZ_SECONDS (default 20) from a
# corpus seeded with real files; fails if any target crashes, hangs, runs out of memory or
# breaks one of the invariants it asserts, and fails before fuzzing if a target's corpus is
# empty (a fuzzer started from nothing spends its seconds rediscovering the file format).
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address, coverage instrumentation).
# Rather than install a second toolchain, the pinned stable one is allowed them with
# RUSTC_BOOTSTRAP=1; set FUZZ_TOOLCHAIN=nightly to use a real nightly toolchain instead.
# Targets are built with debug assertions (-a), so arithmetic overflow panics too.
#
# A crash leaves its input in fuzz/artifacts/<target>/; reproduce it with
#   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -a <target> artifacts/<target>/<file>
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-20}

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

cd "$root/fuzz"
if [[ -n ${FUZZ_TOOLCHAIN:-} ]]; then
    fuzz=(cargo "+$FUZZ_TOOLCHAIN" fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

./seed-corpus.sh

targets=$("${fuzz[@]}" list)
empty=()
for target in $targets; do
    if [[ -z $(find "corpus/$target" -type f -print -quit 2>/dev/null) ]]; then
        empty+=("$target")
    fi
done
if ((${#empty[@]})); then
    echo "fuzz: no seeds for ${empty[*]}: give seed-corpus.sh real inputs for them" >&2
    echo "fuzz: (reference data: INUSE_TESTDATA, default <workspace>/../shared/data)" >&2
    exit 1
fi

start=$SECONDS
"${fuzz[@]}" build -a
echo "fuzz: built every target in $((SECONDS - start)) s" >&2

for target in $targets; do
    echo "fuzz: running $target for $seconds s" >&2
    "${fuzz[@]}" run -a "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "fuzz: every target ran without a finding in $((SECONDS - start)) s" >&2
