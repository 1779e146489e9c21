#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Builds pib-agent bundles for tests: good ones, and ones with a chosen defect.

A bundle is an archive (tar.gz, tar.zst or zip) holding manifest.json at its root and
the package files (design.md, "Bundle"). The manifest comes from --manifest (a JSON file)
or is made from --deb files (one Debian 12 x86_64 target named "debian"). In a
--manifest, a package entry may carry "_src": "/path/to/file" (removed from the written
manifest; that file becomes the member named by "file"); a package without "sha256", or
with "sha256": "auto", gets the SHA-256 of its member's bytes.

Usage: mkbundle.py OUT [options]
  --format F             tar.gz | tar.zst | zip (default: from OUT's suffix)
  --deb FILE             package FILE as member debs/<basename> (default manifest only)
  --manifest FILE        the manifest (JSON; "-" reads stdin)
  --raw-manifest FILE    manifest.json is FILE's bytes, verbatim (e.g. malformed JSON)
  --print-manifest       print the manifest as written on stdout
Defects and extra members (repeatable, written in the order given, after the packages):
  --file NAME=SRC        a member NAME with the bytes of file SRC (any name: ../x, /etc/x)
  --text NAME=TEXT       a member NAME holding TEXT
  --dir NAME             a directory entry
  --symlink NAME=TARGET  a symbolic link member
  --hardlink NAME=TARGET a hard link member (tar formats only)
  --dup NAME             the member NAME a second time, same bytes
  --dup-manifest FILE    a second manifest.json member, with FILE's bytes
  --omit NAME            leave the listed package NAME out of the archive (an extra
                         member of the same name, e.g. a --symlink, is still written)
  --bad-digest NAME      list package NAME with a wrong SHA-256 (last hex digit changed)
  --bomb NAME=SIZE       add a package NAME to targets[0] holding SIZE zero bytes
                         (e.g. 1G; its true SHA-256 is listed, so only size limits stop it)
  --manifest-last        write manifest.json after the other members
  --no-manifest          write no manifest.json member at all
  --dot-prefix           write names as ./NAME and add ./ directory entries (like tar -C d .)
Prints nothing on success unless --print-manifest; exits 2 on a usage error.
"""

import copy
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import time
import warnings
import zipfile

__all__ = ["Bundle", "default_manifest", "sha256_file", "main"]

CHUNK = 1 << 20
MTIME = 1700000000


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def sha256_zeros(size):
    h = hashlib.sha256()
    block = bytes(CHUNK)
    left = size
    while left > 0:
        n = min(left, CHUNK)
        h.update(block[:n])
        left -= n
    return h.hexdigest()


def parse_size(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().rstrip("IB")
    if t and t[-1] in mult:
        return int(t[:-1]) * mult[t[-1]]
    return int(t)


def default_manifest(debs, name="debian"):
    """One Debian 12 x86_64 deb target with the given .deb paths as debs/<basename>."""
    return {
        "schema": "pib-agent/bundle/v1",
        "product": {"name": "pib-test", "version": "1.0", "seller": "pib-agent tests"},
        "targets": [{
            "name": name,
            "os": [{"id": "debian", "versions": ["12"]}],
            "arch": ["x86_64"],
            "installer": "deb",
            "packages": [{"file": "debs/" + os.path.basename(d), "_src": d} for d in debs],
        }],
    }


class _Zeros(io.RawIOBase):
    """A readable stream of n zero bytes."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


class Bundle:
    """Members in order; each is (kind, name, payload). kinds: file, bytes, zeros, dir,
    symlink, hardlink."""

    def __init__(self):
        self.members = []

    def add(self, kind, name, payload=None):
        self.members.append((kind, name, payload))

    def _size(self, kind, payload):
        if kind == "file":
            return os.path.getsize(payload)
        if kind == "bytes":
            return len(payload)
        if kind == "zeros":
            return payload
        return 0

    def _open(self, kind, payload):
        if kind == "file":
            return open(payload, "rb")
        if kind == "bytes":
            return io.BytesIO(payload)
        if kind == "zeros":
            return io.BufferedReader(_Zeros(payload), CHUNK)
        raise ValueError(kind)

    def _tar(self, tf):
        for kind, name, payload in self.members:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.uname = ti.gname = "root"
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                tf.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = payload
                ti.mode = 0o777
                tf.addfile(ti)
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = payload
                ti.mode = 0o644
                tf.addfile(ti)
            else:
                ti.mode = 0o644
                ti.size = self._size(kind, payload)
                with self._open(kind, payload) as f:
                    tf.addfile(ti, f)

    def _zip(self, zf):
        for kind, name, payload in self.members:
            zi = zipfile.ZipInfo(name, date_time=time.gmtime(MTIME)[:6])
            zi.create_system = 3
            zi.compress_type = zipfile.ZIP_DEFLATED
            if kind == "dir":
                if not zi.filename.endswith("/"):
                    zi.filename += "/"
                zi.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                zi.compress_type = zipfile.ZIP_STORED
                zf.writestr(zi, b"")
            elif kind == "symlink":
                zi.external_attr = (stat.S_IFLNK | 0o777) << 16
                zi.compress_type = zipfile.ZIP_STORED
                zf.writestr(zi, payload.encode())
            elif kind == "hardlink":
                raise SystemExit("mkbundle.py: zip has no hard links")
            else:
                zi.external_attr = (stat.S_IFREG | 0o644) << 16
                size = self._size(kind, payload)
                with self._open(kind, payload) as src, \
                        zf.open(zi, "w", force_zip64=size >= (1 << 31)) as dst:
                    while True:
                        b = src.read(CHUNK)
                        if not b:
                            break
                        dst.write(b)

    def write(self, out, fmt):
        tmp = out + ".tmp"
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names: intended here
        if fmt == "tar.gz":
            with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as tf:
                self._tar(tf)
        elif fmt == "tar.zst":
            with open(tmp, "wb") as f:
                p = subprocess.Popen(["zstd", "-q", "-c", "-"], stdin=subprocess.PIPE, stdout=f)
                with tarfile.open(fileobj=p.stdin, mode="w|", format=tarfile.PAX_FORMAT) as tf:
                    self._tar(tf)
                p.stdin.close()
                if p.wait() != 0:
                    raise SystemExit("mkbundle.py: zstd failed")
        elif fmt == "zip":
            with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
                self._zip(zf)
        else:
            raise SystemExit(f"mkbundle.py: unknown format {fmt}")
        os.replace(tmp, out)


def _fmt_from_name(out):
    for suf, fmt in ((".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".tar.zst", "tar.zst"),
                     (".tzst", "tar.zst"), (".zip", "zip")):
        if out.endswith(suf):
            return fmt
    return None


def _split(arg, opt):
    if "=" not in arg:
        raise SystemExit(f"mkbundle.py: {opt} wants NAME=VALUE, got {arg!r}")
    return arg.split("=", 1)


def main(argv):
    args = argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    out = args.pop(0)
    fmt = _fmt_from_name(out)
    debs, manifest_path, raw_manifest = [], None, None
    extras, omit, bad, bombs, dup_manifest = [], set(), set(), [], None
    manifest_last = dot = print_manifest = no_manifest = False
    it = iter(args)
    for a in it:
        def val():
            try:
                return next(it)
            except StopIteration:
                raise SystemExit(f"mkbundle.py: {a} needs a value")
        if a == "--format":
            fmt = val()
        elif a == "--deb":
            debs.append(val())
        elif a == "--manifest":
            manifest_path = val()
        elif a == "--raw-manifest":
            with open(val(), "rb") as f:
                raw_manifest = f.read()
        elif a == "--print-manifest":
            print_manifest = True
        elif a == "--file":
            n, s = _split(val(), a)
            extras.append(("file", n, s))
        elif a == "--text":
            n, s = _split(val(), a)
            extras.append(("bytes", n, s.encode()))
        elif a == "--dir":
            extras.append(("dir", val(), None))
        elif a == "--symlink":
            n, s = _split(val(), a)
            extras.append(("symlink", n, s))
        elif a == "--hardlink":
            n, s = _split(val(), a)
            extras.append(("hardlink", n, s))
        elif a == "--dup":
            extras.append(("dup", val(), None))
        elif a == "--dup-manifest":
            with open(val(), "rb") as f:
                dup_manifest = f.read()
        elif a == "--omit":
            omit.add(val())
        elif a == "--bad-digest":
            bad.add(val())
        elif a == "--bomb":
            n, s = _split(val(), a)
            bombs.append((n, parse_size(s)))
        elif a == "--no-manifest":
            no_manifest = True
        elif a == "--manifest-last":
            manifest_last = True
        elif a == "--dot-prefix":
            dot = True
        else:
            raise SystemExit(f"mkbundle.py: unknown option {a}")
    if fmt is None:
        raise SystemExit("mkbundle.py: give --format (tar.gz, tar.zst, zip)")

    if manifest_path is not None:
        if manifest_path == "-":
            manifest = json.load(sys.stdin)
        else:
            with open(manifest_path) as f:
                manifest = json.load(f)
        if debs:
            manifest["targets"][0]["packages"] += default_manifest(debs)["targets"][0]["packages"]
    elif debs or bombs or raw_manifest is None:
        manifest = default_manifest(debs)
    else:
        manifest = None

    # Package members, in manifest order: (kind, name, payload).
    pkg_members = []
    if manifest is not None:
        manifest = copy.deepcopy(manifest)
        for n, size in bombs:
            manifest["targets"][0].setdefault("packages", []).append(
                {"file": n, "sha256": sha256_zeros(size), "_zeros": size})
        extra_src = {n: (k, p) for k, n, p in extras if k in ("file", "bytes")}
        for t in manifest.get("targets", []) if isinstance(manifest.get("targets"), list) else []:
            pkgs = t.get("packages") if isinstance(t, dict) else None
            for p in pkgs if isinstance(pkgs, list) else []:
                if not isinstance(p, dict):
                    continue
                name = p.get("file")
                src = None
                if "_src" in p:
                    src = ("file", p.pop("_src"))
                elif "_zeros" in p:
                    src = ("zeros", p.pop("_zeros"))
                elif name in extra_src:
                    src = extra_src[name]
                if src is not None and p.get("sha256", "auto") == "auto":
                    k, pl = src
                    if k == "file":
                        p["sha256"] = sha256_file(pl)
                    elif k == "zeros":
                        p["sha256"] = sha256_zeros(pl)
                    else:
                        p["sha256"] = hashlib.sha256(pl).hexdigest()
                if name in bad:
                    d = p.get("sha256", "0" * 64)
                    p["sha256"] = d[:-1] + ("0" if d[-1] != "0" else "1")
                if src is not None and isinstance(name, str) and name not in extra_src \
                        and name not in omit \
                        and name not in [m[1] for m in pkg_members]:
                    pkg_members.append((src[0], name, src[1]))
        mbytes = (json.dumps(manifest, indent=2) + "\n").encode()
    else:
        mbytes = None
    if raw_manifest is not None:
        mbytes = raw_manifest
    if print_manifest:
        sys.stdout.write(mbytes.decode("utf-8", "replace"))

    b = Bundle()
    listed = pkg_members + [(k, n, p) for k, n, p in extras if k != "dup"]
    if dot:
        b.add("dir", "./")
        seen = set()
        for _, n, _ in listed:
            d = os.path.dirname(n)
            if d and not d.startswith(("/", "..")) and d not in seen:
                seen.add(d)
                b.add("dir", "./" + d + "/")

    def name_of(n):
        return "./" + n if dot and not n.startswith(("/", "..")) else n

    if no_manifest:
        mbytes = None
    if not manifest_last and mbytes is not None:
        b.add("bytes", name_of("manifest.json"), mbytes)
    by_name = {}
    for k, n, p in pkg_members:
        b.add(k, name_of(n), p)
        by_name[n] = (k, p)
    for k, n, p in extras:
        if k == "dup":
            if n == "manifest.json" and mbytes is not None:
                b.add("bytes", name_of(n), mbytes)
            elif n in by_name:
                b.add(by_name[n][0], name_of(n), by_name[n][1])
            else:
                raise SystemExit(f"mkbundle.py: --dup {n}: no such member")
            continue
        b.add(k, name_of(n) if k != "symlink" and k != "hardlink" else n, p)
        by_name[n] = (k, p)
    if dup_manifest is not None:
        b.add("bytes", name_of("manifest.json"), dup_manifest)
    if manifest_last and mbytes is not None:
        b.add("bytes", name_of("manifest.json"), mbytes)
    b.write(out, fmt)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
