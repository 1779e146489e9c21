#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Makes the benchmark's inputs (bench/vulns-bench.sh): a fake Debian 12 root whose dpkg status
# lists N_PKGS installed packages (source names, binNMU source versions, epochs, tildes, stable
# updates), and a folder of N_RECS OSV records as Debian's feed writes them (Debian:11/12/13,
# source names, introduced/fixed ranges with epochs and tildes, some open, some `versions`
# lists, last_affected, urgencies), about a third naming the image's sources.
# Usage: vulns-gen.py ROOT FEED N_PKGS N_RECS [SEED]
import json
import os
import random
import sys

root, feed, n_pkgs, n_recs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 14)
os.makedirs(os.path.join(root, "etc"), exist_ok=True)
os.makedirs(os.path.join(root, "var/lib/dpkg"), exist_ok=True)
os.makedirs(feed, exist_ok=True)
with open(os.path.join(root, "etc/os-release"), "w") as f:
    f.write('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
            'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n')

SYL = ["ab", "ac", "ad", "ba", "be", "co", "da", "de", "fi", "ga", "gl", "ib", "io", "ka", "li", "lo", "ma",
       "mo", "ne", "no", "pa", "po", "qu", "ra", "re", "sa", "so", "ta", "to", "ur", "va", "xi", "ze"]


def word(i):
    s = ""
    while True:
        s += SYL[i % len(SYL)]
        i //= len(SYL)
        if not i:
            return s


def upstream():
    v = "%d.%d" % (rnd.randint(0, 30), rnd.randint(0, 20))
    if rnd.random() < 0.5:
        v += ".%d" % rnd.randint(0, 40)
    if rnd.random() < 0.08:
        v += "~rc%d" % rnd.randint(1, 3)
    if rnd.random() < 0.1:
        v += "+dfsg"
    return v


def full(up, epoch, rev):
    return ("%d:" % epoch if epoch else "") + up + "-" + rev


# sources of the image, each with 1-4 binary packages
srcs, pkgs = [], []
i = 0
while len(pkgs) < n_pkgs:
    name = "src" + word(i)
    i += 1
    epoch = rnd.choice([0] * 8 + [1, 2])
    up = upstream()
    rev = "%d" % rnd.randint(1, 9) + (rnd.choice(["", "", "+deb12u%d" % rnd.randint(1, 5)]))
    sver = full(up, epoch, rev)
    srcs.append((name, sver, epoch, up))
    for b in range(rnd.randint(1, 4)):
        if len(pkgs) >= n_pkgs:
            break
        bname = name[3:] + ("" if b == 0 else "-%s" % ["doc", "dev", "bin", "data"][b - 1])
        binnmu = rnd.random() < 0.05
        pkgs.append((bname, sver + ("+b1" if binnmu else ""), rnd.choice(["amd64", "amd64", "all"]), name, sver, binnmu))
with open(os.path.join(root, "var/lib/dpkg/status"), "w") as f:
    for bname, ver, arch, src, sver, binnmu in pkgs:
        f.write("Package: %s\nStatus: install ok installed\nPriority: optional\nArchitecture: %s\n" % (bname, arch))
        if src != bname or binnmu:
            f.write("Source: %s%s\n" % (src, " (%s)" % sver if binnmu else ""))
        f.write("Version: %s\nDescription: bench package\n\n" % ver)
    f.write("Package: removed\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n\n")


def bump(up, epoch, rev, how):
    """A version near sver: below, equal or above, with the forms Debian's feed uses."""
    if how == "above":
        return rnd.choice([full(up, epoch, rev + "+deb12u9"), full(up + ".1", epoch, "1"),
                           full(up, epoch + 1, "1") if rnd.random() < 0.2 else full(up + "+really", epoch, "0")])
    if how == "below":
        return rnd.choice([full(up + "~rc0", epoch, "1"), full(up, epoch, "0"),
                           full(up, epoch - 1, "9") if epoch else full("0." + up, 0, "1")])
    return full(up, epoch, rev)


n = 0
for r in range(n_recs):
    rid = rnd.choice(["DEBIAN-CVE-%d-%05d" % (rnd.randint(2005, 2026), r), "DSA-%d-1" % (r + 1000),
                      "DLA-%d-1" % (r + 1000)])
    affected = []
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        eco = rnd.choice(["Debian:12"] * 5 + ["Debian:11"] * 3 + ["Debian:13"] * 2)
        if rnd.random() < 0.35:
            name, sver, epoch, up = rnd.choice(srcs)
            rev = sver.split("-")[-1]
        else:
            name, epoch, up, rev = "src" + word(rnd.randint(n_pkgs, n_pkgs * 12)), 0, upstream(), "1"
        a = {"package": {"ecosystem": eco, "name": name, "purl": "pkg:deb/debian/%s?arch=source" % name}}
        kind = rnd.random()
        if kind < 0.75:
            ev = [{"introduced": "0"}]
            how = rnd.choice(["above", "below", "below", "equal"])
            if rnd.random() < 0.1:
                ev.append({"last_affected": bump(up, epoch, rev, how)})
            elif rnd.random() < 0.85:
                ev.append({"fixed": bump(up, epoch, rev, how)})
            a["ranges"] = [{"type": "ECOSYSTEM", "events": ev}]
        elif kind < 0.9:
            a["ranges"] = [{"type": "ECOSYSTEM", "events": [{"introduced": bump(up, epoch, rev, "below")},
                                                           {"fixed": bump(up, epoch, rev, rnd.choice(["above", "below"]))}]}]
        else:
            a["versions"] = [bump(up, epoch, rev, rnd.choice(["equal", "below"])) for _ in range(rnd.randint(1, 4))]
        a["ecosystem_specific"] = {"urgency": rnd.choice(["unimportant", "low", "medium", "high", "not yet assigned"])}
        affected.append(a)
    rec = {"schema_version": "1.6.0", "id": rid, "modified": "2026-12-0%dT0%d:00:00Z" % (rnd.randint(1, 2), rnd.randint(0, 9)),
           "published": "2024-01-01T00:00:00Z", "aliases": ["CVE-%d-%05d" % (rnd.randint(2005, 2026), r)],
           "summary": "%s: a flaw in %s" % (rid, affected[0]["package"]["name"]),
           "details": "A long description of the flaw. " * rnd.randint(2, 12),
           "affected": affected,
           "references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/%s" % rid}]}
    if rnd.random() < 0.01:
        rec["withdrawn"] = "2026-11-01T00:00:00Z"
    with open(os.path.join(feed, "%s-%d.json" % (rid, r)), "w") as f:
        json.dump(rec, f)
print("%d packages (%d sources) in %s, %d records in %s" % (len(pkgs), len(srcs), root, n_recs, feed))
