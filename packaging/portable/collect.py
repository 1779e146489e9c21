#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fills a portable pib-agent tree with what the binary needs, for packaging/portable.sh.

Given the tree (already holding libexec/pib-agent) and the root the binary was built against
("/" for a native build, the cross build's sysroot otherwise), it:
  - walks DT_NEEDED (readelf -d) recursively from the binary, resolving each soname in the
    root's library folders in order (/lib/TRIPLET, /usr/lib/TRIPLET, /lib, /usr/lib, /lib64,
    /usr/lib64, /usr/TRIPLET/lib), following links inside the root (an absolute link target
    is taken relative to the root, never the build machine's), and copies the real files to
    TREE/lib/SONAME; the program interpreter (PT_INTERP) is copied as TREE/lib/<its name>;
    a soname that cannot be found, or an object of another machine, stops with an error
    naming it and who needs it;
  - carries libgcc_s.so.1 too (glibc dlopens it to unwind threads on pthread_exit/cancel);
  - finds the Debian package that owns each carried file (the root's
    var/lib/dpkg/info/*.list, usrmerge aliases /lib <-> /usr/lib included) and its version
    (var/lib/dpkg/status), copies usr/share/doc/PKG/copyright to
    TREE/share/licenses/PKG/copyright;
  - writes TREE/sbom.cdx.json: CycloneDX 1.5, the agent as metadata.component, one
    component per Debian package carried (purl pkg:deb/debian/NAME@VERSION?arch=A&distro=D,
    licences from the copyright file's License: fields when machine-readable), each carried
    file as a nested "file" component with its SHA-256.
Usage: collect.py --tree DIR --root DIR --arch x86_64|aarch64 --version V --mtime EPOCH
                  [--distro debian-12] [--project-license FILE]
Prints a summary on stderr; exits 1 on a missing library or package.
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import uuid

ARCHES = {
    # arch: (triplet, ELF machine as readelf names it, Debian arch, loader soname)
    "x86_64": ("x86_64-linux-gnu", "Advanced Micro Devices X86-64", "amd64", "ld-linux-x86-64.so.2"),
    "aarch64": ("aarch64-linux-gnu", "AArch64", "arm64", "ld-linux-aarch64.so.1"),
}

# Debian copyright short names -> SPDX ids (the common ones; others are kept as names).
SPDX = {
    "gpl-2+": "GPL-2.0-or-later", "gpl-2": "GPL-2.0-only", "gpl-2.0+": "GPL-2.0-or-later",
    "gpl-3+": "GPL-3.0-or-later", "gpl-3": "GPL-3.0-only", "gplv3+": "GPL-3.0-or-later",
    "gpl-1+": "GPL-1.0-or-later", "lgpl-2+": "LGPL-2.0-or-later", "lgpl-2": "LGPL-2.0-only",
    "lgpl-2.1+": "LGPL-2.1-or-later", "lgpl-2.1": "LGPL-2.1-only", "lgpl-3+": "LGPL-3.0-or-later",
    "lgpl-3": "LGPL-3.0-only", "expat": "MIT", "mit": "MIT", "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause", "apache-2.0": "Apache-2.0", "apache-2": "Apache-2.0",
    "zlib": "Zlib", "isc": "ISC", "curl": "curl", "bsl-1.0": "BSL-1.0", "cc0-1.0": "CC0-1.0",
    "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "openssl": "OpenSSL", "x11": "X11",
    "artistic": "Artistic-1.0-Perl", "unicode-dfs-2016": "Unicode-DFS-2016", "icu": "ICU",
    "libpng": "Libpng", "bzip2-1.0.6": "bzip2-1.0.6", "pcre": "BSD-3-Clause", "0bsd": "0BSD",
    "openldap-2.8": "OLDAP-2.8", "gfdl-1.3+": "GFDL-1.3-or-later", "gfdl-nis": "GFDL-1.3-no-invariants-or-later",
}


def die(msg):
    print("portable: error: " + msg, file=sys.stderr)
    sys.exit(1)


def in_root(root, path, limit=64):
    """The path on this machine of PATH as seen inside ROOT, every link followed inside ROOT.
    Returns (real path on this machine, real path inside the root) or None if it is missing."""
    parts = [p for p in path.split("/") if p]
    cur = "/"
    hops = 0
    while parts:
        p = parts.pop(0)
        if p == ".":
            continue
        if p == "..":
            cur = os.path.dirname(cur) or "/"
            continue
        nxt = os.path.join(cur, p)
        host = root.rstrip("/") + nxt
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > limit:
                die("too many links resolving %s in %s" % (path, root))
            t = os.readlink(host)
            parts = [q for q in t.split("/") if q] + parts
            if t.startswith("/"):
                cur = "/"
            continue
        cur = nxt
    return root.rstrip("/") + cur, cur


def readelf(args, path):
    r = subprocess.run(["readelf"] + args + [path], capture_output=True, text=True)
    if r.returncode != 0:
        die("readelf %s %s: %s" % (" ".join(args), path, r.stderr.strip()))
    return r.stdout


_ELF = {}


def elf_info(path):
    if path not in _ELF:
        _ELF[path] = _elf_info(path)
    return _ELF[path]


def _elf_info(path):
    """(machine, class, NEEDED list, RPATH/RUNPATH list, interpreter or None)."""
    out = readelf(["-hldW"], path)  # one run: file header, program headers, dynamic section
    mach = re.search(r"^\s*Machine:\s*(.+?)\s*$", out, re.M)
    cls = re.search(r"^\s*Class:\s*(\S+)", out, re.M)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    paths = re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", out)
    m = re.search(r"Requesting program interpreter: ([^\]]+)\]", out)
    interp = m.group(1) if m else None
    return (mach.group(1) if mach else "?", cls.group(1) if cls else "?", needed, paths, interp)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class Dpkg:
    """The root's dpkg database: which package owns a path, and installed versions."""

    def __init__(self, root):
        self.owner = {}
        info = os.path.join(root, "var/lib/dpkg/info")
        if not os.path.isdir(info):
            die("no dpkg database in %s (var/lib/dpkg/info): cannot name the packages carried" % root)
        for name in sorted(os.listdir(info)):
            if not name.endswith(".list"):
                continue
            pkg = name[:-5]
            with open(os.path.join(info, name), encoding="utf-8", errors="surrogateescape") as f:
                for line in f:
                    self.owner.setdefault(line.rstrip("\n"), pkg)
        self.status = {}
        with open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8", errors="replace") as f:
            for stanza in f.read().split("\n\n"):
                fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.M))
                # files on disk: installed, or unpacked only (a sysroot extracted by mmdebstrap
                # without configuring it, as packaging/cross-build.sh makes)
                state = fields.get("Status", "").rsplit(" ", 1)[-1]
                if state in ("installed", "unpacked", "half-configured", "triggers-awaited",
                             "triggers-pending") and "Package" in fields:
                    self.status[(fields["Package"], fields.get("Architecture", ""))] = fields["Version"]

    def find(self, *paths):
        for p in paths:
            for alias in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):
                if alias in self.owner:
                    return self.owner[alias]
        return None

    def version(self, pkg, default_arch):
        name, _, arch = pkg.partition(":")
        for a in ([arch] if arch else [default_arch, "all"]):
            if (name, a) in self.status:
                return name, a, self.status[(name, a)]
        die("package %s owns a carried file but is not installed in the root's dpkg status" % pkg)


def licenses_of(copyright_path):
    ids = []
    try:
        with open(copyright_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    if not re.match(r"^Format:\s*\S+", text):
        return []  # not machine-readable (DEP-5): no licence ids to take
    for m in re.finditer(r"^License:[ \t]*(\S.*)$", text, re.M):
        for part in re.split(r"\s+(?:or|and)\s+|\s*[,|]\s*", m.group(1).strip()):
            part = part.strip().strip("()")
            if not part or part.lower() in ("with", "exception"):
                continue
            if part not in ids:
                ids.append(part)
    out = []
    seen = set()
    for i in ids:
        spdx = SPDX.get(i.lower())
        key = spdx or i
        if key in seen:
            continue
        seen.add(key)
        out.append({"license": {"id": spdx}} if spdx else {"license": {"name": i}})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", required=True)
    ap.add_argument("--root", default="/")
    ap.add_argument("--arch", required=True, choices=sorted(ARCHES))
    ap.add_argument("--version", required=True)
    ap.add_argument("--mtime", type=int, required=True)
    ap.add_argument("--distro", default="debian-12")
    ap.add_argument("--project-license")
    a = ap.parse_args()
    triplet, machine, debarch, loader_name = ARCHES[a.arch]
    root = os.path.abspath(a.root)
    tree = os.path.abspath(a.tree)
    binary = os.path.join(tree, "libexec/pib-agent")
    libdir = os.path.join(tree, "lib")
    os.makedirs(libdir, exist_ok=True)
    search = ["/lib/" + triplet, "/usr/lib/" + triplet, "/lib", "/usr/lib", "/lib64", "/usr/lib64",
              "/usr/%s/lib" % triplet]

    mach, cls, needed, rpaths, interp = elf_info(binary)
    if mach != machine or cls != "ELF64":
        die("%s is %s %s, not %s ELF64" % (binary, mach, cls, machine))
    if rpaths:
        die("%s has an RPATH/RUNPATH (%s): the tree must not search the build's folders" % (binary, rpaths))
    if not interp:
        die("%s has no program interpreter (static?)" % binary)
    if os.path.basename(interp) != loader_name:
        die("%s asks for the loader %s, expected %s" % (binary, interp, loader_name))

    carried = {}  # soname -> (host real path, in-root path where found, in-root real path)

    def carry(soname, found_in, hostpath, rootpath, realroot):
        carried[soname] = (hostpath, found_in, realroot)
        dest = os.path.join(libdir, soname)
        shutil.copyfile(hostpath, dest)
        os.chmod(dest, 0o755 if soname == loader_name else 0o644)

    r = in_root(root, interp)
    if r is None:
        die("the loader %s is not in %s" % (interp, root))
    carry(loader_name, interp, r[0], interp, r[1])

    def resolve(soname, who):
        for d in search:
            p = d + "/" + soname
            r = in_root(root, p)
            if r is None or not os.path.isfile(r[0]):
                continue
            m, c, _, _, _ = elf_info(r[0])
            if m == machine and c == "ELF64":
                return p, r
        die("missing library %s (needed by %s): not found in %s under %s" % (soname, who, ", ".join(search), root))

    queue = [(n, "libexec/pib-agent") for n in needed]
    extra = ["libgcc_s.so.1"]
    while queue or extra:
        soname, who = queue.pop(0) if queue else (extra.pop(0), "glibc's dlopen for thread unwinding")
        if soname in carried:
            continue
        if "/" in soname:
            die("NEEDED %s of %s is a path, not a soname" % (soname, who))
        p, r = resolve(soname, who)
        carry(soname, p, r[0], p, r[1])
        _, _, sub, rp, _ = elf_info(r[0])
        if rp:
            print("portable: note: %s has RPATH/RUNPATH %s (ignored: its needs are resolved in the tree)" % (soname, rp), file=sys.stderr)
        queue += [(n, soname) for n in sub]

    dpkg = Dpkg(root)
    pkgs = {}  # name -> dict
    for soname in sorted(carried):
        hostpath, found, realroot = carried[soname]
        owner = dpkg.find(realroot, found)
        if owner is None:
            die("no Debian package of %s owns %s (%s): cannot say what it is" % (root, soname, realroot))
        name, arch, ver = dpkg.version(owner, debarch)
        e = pkgs.setdefault(name, {"arch": arch, "version": ver, "files": []})
        e["files"].append(("lib/" + soname, sha256(os.path.join(libdir, soname)), realroot))

    lic_root = os.path.join(tree, "share/licenses")
    for name in sorted(pkgs):
        r = in_root(root, "/usr/share/doc/%s/copyright" % name)
        if r is None or not os.path.isfile(r[0]):
            die("package %s has no /usr/share/doc/%s/copyright in %s" % (name, name, root))
        os.makedirs(os.path.join(lic_root, name), exist_ok=True)
        shutil.copyfile(r[0], os.path.join(lic_root, name, "copyright"))
        pkgs[name]["licenses"] = licenses_of(r[0])
    if a.project_license:
        os.makedirs(os.path.join(lic_root, "pib-agent"), exist_ok=True)
        shutil.copyfile(a.project_license, os.path.join(lic_root, "pib-agent/LICENSE"))

    # the agent's own files: everything in the tree that is not a carried library or licence
    own = []
    for dp, dns, fns in os.walk(tree):
        dns.sort()
        for fn in sorted(fns):
            rel = os.path.relpath(os.path.join(dp, fn), tree)
            if rel.startswith("lib/") or rel.startswith("share/licenses/") or rel == "sbom.cdx.json":
                continue
            own.append(rel)
    own.sort()

    ts = datetime.datetime.fromtimestamp(a.mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    agent_ref = "pkg:generic/pib-agent@%s?arch=%s" % (a.version, a.arch)

    def filecomp(rel, digest):
        return {"type": "file", "bom-ref": "file:" + rel, "name": rel,
                "hashes": [{"alg": "SHA-256", "content": digest}]}

    comps = []
    for name in sorted(pkgs):
        e = pkgs[name]
        purl = "pkg:deb/debian/%s@%s?arch=%s&distro=%s" % (name, e["version"].replace(":", "%3A").replace("+", "%2B"),
                                                             e["arch"], a.distro)
        c = {"type": "library", "bom-ref": purl, "name": name, "version": e["version"],
             "supplier": {"name": "Debian"}, "purl": purl}
        if e["licenses"]:
            c["licenses"] = e["licenses"]
        c["properties"] = [{"name": "pib:copyright", "value": "share/licenses/%s/copyright" % name}] + \
            [{"name": "pib:source-path", "value": "%s <- %s" % (rel, src)} for rel, _, src in sorted(e["files"])]
        c["components"] = [filecomp(rel, d) for rel, d, _ in sorted(e["files"])]
        comps.append(c)
    agent = {"type": "application", "bom-ref": agent_ref, "name": "pib-agent", "version": a.version,
             "purl": agent_ref, "licenses": [{"license": {"id": "MIT"}}],
             "hashes": [{"alg": "SHA-256", "content": sha256(binary)}],
             "components": [filecomp(rel, sha256(os.path.join(tree, rel))) for rel in own]}
    seed = json.dumps([agent, comps], sort_keys=True)
    bom = {
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "pib-agent-sbom:" + hashlib.sha256(seed.encode()).hexdigest())),
        "version": 1,
        "metadata": {"timestamp": ts,
                     "tools": {"components": [{"type": "application", "name": "pib-agent packaging/portable.sh",
                                               "version": a.version}]},
                     "component": agent,
                     "properties": [{"name": "pib:arch", "value": a.arch},
                                    {"name": "pib:loader", "value": "lib/" + loader_name},
                                    {"name": "pib:gconv", "value": "none carried: the agent runs in the C locale, whose conversions (ASCII, UTF-8, UCS, ISO-8859-1) are built into glibc"},
                                    {"name": "pib:nss", "value": "files and dns are built into the carried glibc (>= 2.34); no NSS module is carried"},
                                    {"name": "pib:openssl-providers", "value": "default provider built into libcrypto; no provider module carried"}]},
        "components": comps,
        "dependencies": [{"ref": agent_ref, "dependsOn": [c["bom-ref"] for c in comps]}] +
                        [{"ref": c["bom-ref"], "dependsOn": []} for c in comps],
    }
    with open(os.path.join(tree, "sbom.cdx.json"), "w", encoding="utf-8") as f:
        json.dump(bom, f, indent=2, sort_keys=False)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(libdir, s)) for s in carried)
    print("portable: %d libraries (%d MB) from %d Debian packages of %s" % (len(carried), total >> 20, len(pkgs), root),
          file=sys.stderr)


if __name__ == "__main__":
    main()
