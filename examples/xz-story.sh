#!/usr/bin/env bash
# The CVE-2024-3094 story, reproduced on a Debian 12 machine without network (run as root).
#
# Builds a small root whose dpkg database says xz-utils 5.6.1-1 (the backdoored version; the
# liblzma file itself is the host's), bzip2 1.0.8-5 and a script-only package, imports OSV
# records shaped like the real advisories (DSA-5649-1 for xz), starts a program inside the
# root (its own mount namespace, chroot) that links liblzma, and asks `inuse scan` what to fix
# first. Versions are staged; every measurement is real.
# Usage: [FORMAT=json|openvex|...] examples/xz-story.sh [path/to/inuse]
set -euo pipefail
inuse=${1:-$(dirname "$0")/../target/release/inuse}
[[ -x $inuse ]] || { echo "build first: cargo build --release -p inuse" >&2; exit 2; }
work=$(mktemp -d /tmp/xz-story.XXXXXX)
root=$work/root
m=usr/lib/x86_64-linux-gnu
trap 'kill "${holder:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$root/$m" "$root/usr/bin" "$root/usr/lib64" "$root/etc/ld.so.conf.d" "$root/var/lib/dpkg/info" "$root/usr/share/gnupg-tools"
ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"; ln -s usr/bin "$root/bin"
cp /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 "$root/$m/"
ln -s "/$m/ld-linux-x86-64.so.2" "$root/usr/lib64/ld-linux-x86-64.so.2"
cp "$(readlink -f /lib/x86_64-linux-gnu/liblzma.so.5)" "$root/$m/liblzma.so.5.6.1"
ln -s liblzma.so.5.6.1 "$root/$m/liblzma.so.5"
cp "$(readlink -f /lib/x86_64-linux-gnu/libbz2.so.1.0)" "$root/$m/libbz2.so.1.0.4"
ln -s libbz2.so.1.0.4 "$root/$m/libbz2.so.1.0"
cp /usr/bin/bzip2 "$root/usr/bin/bzip2"
echo "print('no ELF here')" >"$root/usr/share/gnupg-tools/run.py"
# The program calls liblzma once (compresses a buffer), as the backdoor's code runs in sshd, then
# waits. (A program that never called it should be `loaded`; this root's liblzma is a `cp` copy,
# and docs/methods.md says why such a copy can look executed even then.)
cat >"$work/holder.c" <<'C'
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
extern int lzma_easy_buffer_encode(uint32_t preset, int check, const void *allocator,
                                   const uint8_t *in, size_t in_size, uint8_t *out,
                                   size_t *out_pos, size_t out_size);
int main(void) {
    static uint8_t in[65536], out[70000];
    size_t pos = 0;
    lzma_easy_buffer_encode(0, 1, NULL, in, sizeof in, out, &pos, sizeof out);
    for (;;) pause();
}
C
gcc -o "$root/usr/bin/sshd-like" "$work/holder.c" -Wl,--no-as-needed /lib/x86_64-linux-gnu/liblzma.so.5
echo "12.5" >"$root/etc/debian_version"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$root/etc/os-release"
echo "/$m" >"$root/etc/ld.so.conf.d/x86_64-linux-gnu.conf"; echo 'include /etc/ld.so.conf.d/*.conf' >"$root/etc/ld.so.conf"
stanza() { printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\nSource: %s\nVersion: %s\n\n' "$@"; }
{ stanza libc6 glibc 2.36-9+deb12u4; stanza liblzma5 xz-utils 5.6.1-1; stanza bzip2 bzip2 1.0.8-5
  stanza libbz2-1.0 bzip2 1.0.8-5; stanza gnupg-tools gnupg-tools 1.0-1; } >"$root/var/lib/dpkg/status"
printf '/%s/libc.so.6\n/%s/ld-linux-x86-64.so.2\n' $m $m >"$root/var/lib/dpkg/info/libc6:amd64.list"
printf '/%s/liblzma.so.5.6.1\n/%s/liblzma.so.5\n' $m $m >"$root/var/lib/dpkg/info/liblzma5:amd64.list"
printf '/bin/bzip2\n' >"$root/var/lib/dpkg/info/bzip2.list"
printf '/%s/libbz2.so.1.0.4\n/%s/libbz2.so.1.0\n' $m $m >"$root/var/lib/dpkg/info/libbz2-1.0:amd64.list"
printf '/usr/share/gnupg-tools/run.py\n' >"$root/var/lib/dpkg/info/gnupg-tools.list"
ldconfig -X -r "$root"

mkdir "$work/osv"
record() { # id source fixed cve summary
    printf '{"schema_version":"1.6.0","id":"%s","modified":"2024-04-01T00:00:00Z","related":["%s"],"summary":"%s","affected":[{"package":{"ecosystem":"Debian:12","name":"%s"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"%s"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]}' \
        "$1" "$4" "$5" "$2" "$3" >"$work/osv/$1.json"
}
record DSA-5649-1 xz-utils 5.6.1+really5.4.5-1 CVE-2024-3094 "xz-utils -- security update (backdoor in liblzma)"
record DSA-9001-1 bzip2 1.0.8-6 CVE-2099-0001 "bzip2 -- staged example"
record DSA-9002-1 gnupg-tools 1.0-2 CVE-2099-0002 "gnupg-tools -- staged example"
"$inuse" db --db "$work/vulns.sqlite" import "$work/osv" >/dev/null

unshare -m chroot "$root" /usr/bin/sshd-like & holder=$!
sleep 1
echo "\$ inuse scan --root $root --min-window 0s"
"$inuse" scan --root "$root" --db "$work/vulns.sqlite" --store "$work/none.sqlite" --offline --min-window 0s --format "${FORMAT:-table}" 2>/dev/null || true
echo
echo "\$ inuse scan --root $root --explain CVE-2024-3094"
"$inuse" scan --root "$root" --db "$work/vulns.sqlite" --store "$work/none.sqlite" --offline --explain CVE-2024-3094 2>/dev/null
echo
echo "\$ inuse unused --root $root"
"$inuse" unused --root "$root" --db "$work/vulns.sqlite" --store "$work/none.sqlite" 2>/dev/null
