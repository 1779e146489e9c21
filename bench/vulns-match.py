#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The benchmark's reference (bench/vulns-bench.sh): the same offline match as `pib-agent vulns`,
# in plain Python with Debian's own version comparison (python3-apt's apt_pkg.version_compare).
# Usage: vulns-match.py ROOT FEED ECOSYSTEM; prints "id package arch" of every hit, sorted.
import functools
import json
import os
import sys
import zipfile

import apt_pkg


def installed(root):
    """dpkg's status: (name, version, arch, source, source_version) of installed packages."""
    out = []
    with open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8") as f:
        for stanza in f.read().split("\n\n"):
            fields = {}
            for line in stanza.split("\n"):
                if line and not line[0].isspace() and ":" in line:
                    k, v = line.split(":", 1)
                    fields[k.lower()] = v.strip()
            if "package" not in fields or not fields.get("status", "").endswith(" installed"):
                continue
            name, version = fields["package"], fields.get("version", "")
            src, sver = name, version
            if "source" in fields:
                s = fields["source"]
                if "(" in s:
                    src, sver = s.split("(", 1)[0].strip(), s.split("(", 1)[1].rstrip(")").strip()
                else:
                    src = s
            out.append((name, version, fields.get("architecture", ""), src, sver))
    return out


def records(feed):
    if not os.path.isdir(feed) and zipfile.is_zipfile(feed):  # osv.dev's all.zip
        with zipfile.ZipFile(feed) as z:
            for m in z.infolist():
                base = m.filename.rsplit("/", 1)[-1]
                if m.is_dir() or base.startswith(".") or not base.endswith(".json"):
                    continue
                doc = json.loads(z.read(m))
                yield from (doc if isinstance(doc, list) else [doc])
        return
    files = [os.path.join(feed, n) for n in sorted(os.listdir(feed)) if n.endswith(".json")] \
        if os.path.isdir(feed) else [feed]
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        yield from (doc if isinstance(doc, list) else [doc])


def key_of(e):
    k, v = next(iter(e.items()))
    return k, v


def cmp_event(a, b):
    (ka, va), (kb, vb) = key_of(a), key_of(b)
    za, zb = ka == "introduced" and va == "0", kb == "introduced" and vb == "0"
    if za or zb:
        return zb - za
    return apt_pkg.version_compare(va, vb)


def in_range(events, v):
    affected, limits = False, []
    for e in sorted(events, key=functools.cmp_to_key(cmp_event)):
        k, ev = key_of(e)
        if k == "limit":
            limits.append(ev)
            continue
        if k == "introduced" and ev == "0":
            affected = True
            continue
        c = apt_pkg.version_compare(v, ev)
        if (k == "fixed" and c < 0) or (k == "introduced" and c < 0) or (k == "last_affected" and c <= 0):
            break
        affected = k == "introduced"
    limits += [key_of(e)[1] for e in events if key_of(e)[0] == "limit" and key_of(e)[1] not in limits]
    return affected and (not limits or any(apt_pkg.version_compare(v, l) < 0 for l in limits))


def main():
    apt_pkg.init()
    root, feed, eco = sys.argv[1:4]
    by_source = {}
    for p in installed(root):
        by_source.setdefault(p[3], []).append(p)
    hits = set()
    for r in records(feed):
        if r.get("withdrawn"):
            continue
        for a in r.get("affected", []):
            pkg = a.get("package") or {}
            e = pkg.get("ecosystem", "")
            if not (e == eco or e.startswith(eco + ":")):
                continue
            for name, version, arch, src, sver in by_source.get(pkg.get("name"), []):
                if (r["id"], name, arch) in hits:
                    continue
                hit = any(rg.get("type") == "ECOSYSTEM" and in_range(rg.get("events", []), sver)
                          for rg in a.get("ranges", []))
                hit = hit or any(apt_pkg.version_compare(x, sver) == 0 for x in a.get("versions", []))
                if hit:
                    hits.add((r["id"], name, arch))
    for h in sorted(hits):
        print(" ".join(h))


if __name__ == "__main__":
    main()
