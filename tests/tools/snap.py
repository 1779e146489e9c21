#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints a listing of every path under the given directories, to prove a tree unchanged.

Usage: snap.py DIR|FILE...
One line per path, sorted: path, type, mode, uid:gid, link count, size (regular files
and symlinks), then the SHA-256 of a regular file, the target of a symlink, or the
major:minor of a device. Nothing is excluded; mount points below a DIR are listed but not
entered (so a /proc mounted inside a root is not walked). Modification times are left out
on purpose: the listing shows what a tree holds, not when it was touched. Paths are
printed relative to the DIR given, with unprintable bytes escaped.
"""

import hashlib
import os
import stat
import sys


def _digest(path):
    h = hashlib.sha256()
    flags = os.O_RDONLY | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = os.open(path, flags)
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


def _line(rel, full, st):
    m = st.st_mode
    kind = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFCHR: "c",
            stat.S_IFBLK: "b", stat.S_IFIFO: "p", stat.S_IFSOCK: "s"}.get(stat.S_IFMT(m), "?")
    size = str(st.st_size) if kind in ("f", "l") else "-"
    links = str(st.st_nlink) if kind != "d" else "-"
    if kind == "f":
        extra = _digest(full)
    elif kind == "l":
        extra = os.fsdecode(os.readlink(full)).encode("utf-8", "backslashreplace").decode()
    elif kind in ("c", "b"):
        extra = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    else:
        extra = "-"
    name = os.fsdecode(rel).encode("utf-8", "backslashreplace").decode()
    return f"{name!s}\t{kind}\t{stat.S_IMODE(m):04o}\t{st.st_uid}:{st.st_gid}\t{links}\t{size}\t{extra}"


def snap(top, out):
    top_b = os.fsencode(top)
    st = os.lstat(top_b)
    lines = [_line(b".", top_b, st)]
    if stat.S_ISDIR(st.st_mode):
        dev = st.st_dev
        stack = [b""]
        while stack:
            rel_dir = stack.pop()
            full_dir = os.path.join(top_b, rel_dir) if rel_dir else top_b
            with os.scandir(full_dir) as it:
                entries = list(it)
            for e in entries:
                rel = os.path.join(rel_dir, e.name) if rel_dir else e.name
                full = os.path.join(top_b, rel)
                est = os.lstat(full)
                lines.append(_line(b"./" + rel, full, est))
                if stat.S_ISDIR(est.st_mode) and est.st_dev == dev:
                    stack.append(rel)
    lines.sort()
    for line in lines:
        out.write(line + "\n")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for top in argv[1:]:
        if len(argv) > 2:
            sys.stdout.write(f"== {top}\n")
        snap(top, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
