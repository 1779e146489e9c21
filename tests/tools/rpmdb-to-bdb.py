#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Converts an rpm 4.16+ sqlite rpmdb into a Berkeley DB one (RHEL 8 / Amazon Linux 2 format).

Usage: rpmdb-to-bdb.py DBDIR      (e.g. ROOT/var/lib/rpm, holding rpmdb.sqlite)

Reads rpmdb.sqlite with Python's sqlite3 and writes, with db5.3_load (bytevalue dump format):
  Packages  a hash database: key = the header number as 4 bytes in native byte order, value =
            the header blob (the sqlite Packages table's hnum and blob columns), plus key 0 =
            the largest header number (the "join key" rpm's db3 backend keeps there; 0 in an
            empty db, which bdb_ro could not read without any record: "bdb_ro error reading
            Packages database");
  one btree database per index table of the sqlite db (Name, Basenames, Providename,
            Requirename, Dirnames, Group, Installtid, Sigmd5, Sha1header, ...; empty ones too,
            as on RHEL 8, else rpm warns "could not open .../Requirename"): key = the table's key (text without NUL, or the blob), value =
            the packed (hnum, idx) pairs, each a native-order uint32, as rpm's db3 backend does.
Then removes rpmdb.sqlite (and its -wal/-shm files). rpm 4.18 reads the result with its
read-only bdb_ro backend (`--define '_db_backend bdb_ro'`; without it rpm warns "Found bdb_ro
Packages database while attempting sqlite backend" and switches on its own).
Exit 0 on success, 1 with a message otherwise.
"""
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

DB_LOAD = "/usr/bin/db5.3_load"


def die(msg):
    sys.stderr.write(f"rpmdb-to-bdb.py: {msg}\n")
    sys.exit(1)


def native_u32(n):
    return struct.pack("=I", n)


def as_bytes(v):
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape")
    if isinstance(v, int):  # an integer key stored as such (not seen with rpm 4.18)
        return native_u32(v)
    raise TypeError(f"unexpected key type {type(v)}")


def write_dump(path, dbtype, records):
    """A db_load bytevalue dump of (key, value) byte strings."""
    with open(path, "w") as f:
        f.write("VERSION=3\nformat=bytevalue\ntype=%s\ndb_pagesize=4096\nHEADER=END\n" % dbtype)
        for k, v in records:
            f.write(" " + k.hex() + "\n")
            f.write(" " + v.hex() + "\n")
        f.write("DATA=END\n")


def load(dbdir, name, dbtype, records, tmp):
    dump = os.path.join(tmp, name + ".dump")
    write_dump(dump, dbtype, records)
    out = os.path.join(dbdir, name)
    if os.path.exists(out):
        die(f"{out} exists already")
    r = subprocess.run([DB_LOAD, "-f", dump, out], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"db5.3_load {name} failed: {r.stderr.strip()}")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: rpmdb-to-bdb.py DBDIR\n")
        sys.exit(2)
    dbdir = sys.argv[1]
    sq = os.path.join(dbdir, "rpmdb.sqlite")
    if not os.path.isfile(sq):
        die(f"{sq}: no such file")
    if not os.access(DB_LOAD, os.X_OK):
        die(f"{DB_LOAD} is missing (apt-get install db5.3-util)")
    con = sqlite3.connect(f"file:{sq}?mode=ro", uri=True)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info('Packages')")]
        if cols[:2] != ["hnum", "blob"]:
            die(f"{sq}: unexpected Packages columns {cols}")
        pkgs = [(h, bytes(b)) for h, b in con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum")]
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'Packages' ORDER BY name")]
        indexes = {}
        for t in tables:
            tcols = [r[1] for r in con.execute(f"PRAGMA table_info('{t}')")]
            if tcols[:3] != ["key", "hnum", "idx"]:
                die(f"{sq}: table {t}: unexpected columns {tcols}")
            groups = {}
            for k, h, i in con.execute(f"SELECT key, hnum, idx FROM '{t}' ORDER BY rowid"):
                groups.setdefault(as_bytes(k), []).append(native_u32(h) + native_u32(i))
            indexes[t] = groups
    finally:
        con.close()

    with tempfile.TemporaryDirectory(prefix="rpmdb-to-bdb.") as tmp:
        # key 0 always: an empty hash database has no bucket page and bdb_ro fails on it
        recs = [(native_u32(0), native_u32(max((h for h, _ in pkgs), default=0)))]
        recs += [(native_u32(h), b) for h, b in pkgs]
        load(dbdir, "Packages", "hash", recs, tmp)
        for t, groups in indexes.items():
            load(dbdir, t, "btree", sorted((k, b"".join(v)) for k, v in groups.items()), tmp)
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(sq + suffix)
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
