#!/usr/bin/env bash
# Accuracy of `executed` against per-process ground truth (issue 20).
#
# Real workloads (a compression pipeline with gzip, xz and bzip2; `python3 -m http.server`
# answering curl; a program that dlopens a plugin and calls it; an sshd login with a key to a
# private sshd on 127.0.0.1), each run twice on this machine: once classified by
# `inuse ps --format json`, once under persistent uprobes on every exported function of the
# libraries its processes map (ground truth: the libraries THIS process entered, from the
# trace records' thread ids). libc and the loader are left out (always executed). The method
# and its limits are in bench/truth.py's docstring.
#
# Prints per workload and process: libraries, ground-truth executed, `yes`, precision,
# recall, and each disagreement with the evidence `inuse ps` gave. Targets: precision >= 0.95,
# recall >= 0.8.
#
# Needs root, tracefs with uprobe_events, gcc, zlib and bzip2 headers, curl, ssh, sshd, nm,
# readelf. Usage: bench/truth.sh [WORKLOAD-SUBSTRING...]     env: INUSE (a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $(id -u) == 0 ]] || { echo "bench: uprobes need root" >&2; exit 2; }
[[ -w /sys/kernel/tracing/uprobe_events ]] || { echo "bench: no tracefs at /sys/kernel/tracing" >&2; exit 2; }
for tool in gcc nm readelf curl ssh ssh-keygen /usr/sbin/sshd /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 2; }
done
if [[ -z ${INUSE:-} ]]; then
    if ! cargo build -q -p inuse; then
        echo "bench: the build failed: not measuring an older binary" >&2
        exit 2
    fi
    INUSE=$PWD/target/debug/inuse
fi
export INUSE
exec /usr/bin/python3 bench/truth.py "$@"
