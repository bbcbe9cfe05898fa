#!/usr/bin/env bash
# inuse inventory / owner against dpkg-query on this host.
#
# 1. the inventory with the ownership index (`inuse owner` of one path: databases, every file
#    list, the index, one lookup) and the full `inuse inventory --format json` (plus the
#    unowned-ELF walk and embedded metadata) vs `dpkg-query -W` (packages only);
# 2. 1,000 `inuse owner` lookups in one run vs a loop of 1,000 `dpkg -S`.
# Uses hyperfine when installed, else medians of RUNS runs timed with date +%s%N.
set -euo pipefail

RUNS=${RUNS:-10}
LOOKUPS=${LOOKUPS:-1000}
cd "$(dirname "$0")/.."
cargo build --release -q -p inuse
INUSE=$PWD/target/release/inuse
command -v dpkg-query >/dev/null || { echo "bench/inventory.sh: needs dpkg-query" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 1,000 paths that dpkg lists (regular files, as listed).
# (Through a file: `head` closing the pipe early would be a SIGPIPE failure under pipefail.)
dpkg-query -L $(dpkg-query -W -f '${Package}\n' | sed -n 1,200p) 2>/dev/null \
  | while read -r p; do [ -f "$p" ] && [ ! -L "$p" ] && echo "$p"; done >"$tmp/all" || true
awk 'NR % 7 == 0' "$tmp/all" | sed -n "1,${LOOKUPS}p" >"$tmp/paths"
n=$(wc -l <"$tmp/paths")
cat >"$tmp/dpkg-loop.sh" <<LOOP
while read -r p; do dpkg -S "\$p" >/dev/null 2>&1 || true; done <"$tmp/paths"
LOOP
cat >"$tmp/inuse-owner.sh" <<LOOP
xargs -d '\n' -a "$tmp/paths" "$INUSE" owner >/dev/null || true
LOOP

# median_ms CMD...: median wall time in milliseconds of RUNS runs.
median_ms() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local s e
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    times+=($(((e - s) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}

if command -v hyperfine >/dev/null; then
  hyperfine -N -i --warmup 2 --runs "$RUNS" --export-json "$tmp/inv.json" \
    "$INUSE inventory --format json" "dpkg-query -W" "$INUSE owner /usr/bin/ls"
  hyperfine -i --warmup 1 --runs "$((RUNS < 5 ? RUNS : 5))" --export-json "$tmp/own.json" \
    "bash $tmp/inuse-owner.sh" "bash $tmp/dpkg-loop.sh"
  med() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.2f' % (x['median']*1000) for x in r))" "$1"; }
  read -r inv_ms dpkgw_ms idx_ms < <(med "$tmp/inv.json")
  read -r own_ms dpkgs_ms < <(med "$tmp/own.json")
else
  inv_ms=$(median_ms "$INUSE" inventory --format json)
  dpkgw_ms=$(median_ms dpkg-query -W)
  idx_ms=$(median_ms "$INUSE" owner /usr/bin/ls)
  own_ms=$(median_ms bash "$tmp/inuse-owner.sh")
  dpkgs_ms=$(median_ms bash "$tmp/dpkg-loop.sh")
fi

echo
echo "inventory + owner index (owner /usr/bin/ls): ${idx_ms} ms   dpkg-query -W: ${dpkgw_ms} ms   ratio inuse/dpkg: $(awk -v a="$idx_ms" -v b="$dpkgw_ms" 'BEGIN{printf "%.2f", a/b}')"
echo "inventory --format json: ${inv_ms} ms   dpkg-query -W: ${dpkgw_ms} ms   ratio inuse/dpkg: $(awk -v a="$inv_ms" -v b="$dpkgw_ms" 'BEGIN{printf "%.2f", a/b}')"
echo "owner x${n} (one run): ${own_ms} ms   dpkg -S x${n} (loop): ${dpkgs_ms} ms   ratio dpkg/inuse: $(awk -v a="$own_ms" -v b="$dpkgs_ms" 'BEGIN{printf "%.1f", b/a}')"
