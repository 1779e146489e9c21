#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a .deb by hand, for tests of malformed control data that dpkg-deb refuses to build.

A .deb is an ar archive of debian-binary ("2.0\\n"), control.tar.gz (./control holding the
given text) and data.tar.gz (one file, ./usr/share/doc/pib-rawdeb/README). Nothing in the
control text is checked: any bytes go in (use \\n, \\t, \\x1b escapes with --escapes).

Usage: rawdeb.py OUT (--control FILE | --control-text TEXT) [--escapes]
"""

import argparse
import io
import sys
import tarfile

MTIME = 1700000000


def tar_gz(files):
    """A gzip-compressed tar of {name: bytes}, with ./ directory entries as dpkg-deb writes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        dirs = set()
        for name in files:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for d in sorted(dirs):
            ti = tarfile.TarInfo(d + "/")
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            ti.mtime = MTIME
            t.addfile(ti)
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = MTIME
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def ar(members):
    """A common (System V / GNU) ar archive of [(name, bytes)], names of at most 15 bytes."""
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        if len(name) > 15:
            raise ValueError("ar member name too long: " + name)
        hdr = "%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name, MTIME, 0, 0, "100644", len(data))
        out += hdr.encode("ascii")
        out += data
        if len(data) % 2:
            out += b"\n"
    return bytes(out)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--control", help="file whose bytes are ./control")
    g.add_argument("--control-text", help="the text of ./control")
    p.add_argument("--escapes", action="store_true",
                   help="decode backslash escapes (\\n, \\x1b, ...) in --control-text")
    a = p.parse_args(argv)
    if a.control:
        with open(a.control, "rb") as f:
            control = f.read()
    else:
        text = a.control_text
        if a.escapes:
            text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
            control = text.encode("latin-1")
        else:
            control = text.encode("utf-8", "surrogateescape")
    deb = ar([
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", tar_gz({"./control": control})),
        ("data.tar.gz", tar_gz({"./usr/share/doc/pib-rawdeb/README": b"pib-agent test\n"})),
    ])
    with open(a.out, "wb") as f:
        f.write(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
