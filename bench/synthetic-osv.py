#!/usr/bin/env python3
"""Writes N synthetic Debian:12 OSV records as an osv.dev-style zip, for benchmarks.

One record in twenty names a source package installed on this host (from a file of
"name version" lines); half of those match (fixed above the installed version), half are
already fixed. The rest name packages that do not exist.

Usage: synthetic-osv.py SOURCES OUT.zip N
"""
import json
import random
import sys
import zipfile

sources = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 2]
n = int(sys.argv[3])
rnd = random.Random(4)
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(n):
        if i % 20 == 0 and sources:
            name, version = rnd.choice(sources)
            fixed = version + ("+bench1" if i % 40 == 0 else "~bench0")
        else:
            name, fixed = "synthetic-%d" % rnd.randrange(n // 4), "1.%d-1" % rnd.randrange(100)
        rec = {
            "schema_version": "1.6.0", "id": "BENCH-%07d" % i,
            "modified": "2024-01-01T00:00:00Z", "published": "2024-01-01T00:00:00Z",
            "aliases": ["CVE-2099-%07d" % i], "summary": "synthetic record %d" % i,
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
        }
        z.writestr("BENCH-%07d.json" % i, json.dumps(rec))
