#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes WiX XML for wixl packing the regular files of SRC (up to MB megabytes, files of at most
MAX_MB each, names wixl and Windows accept) under [ProgramFiles64Folder]PibBench, one component per
folder, one embedded cabinet; hard links of one file packed once. Sources are symlinks in OUT/src (relative Source paths).
Usage: msi-wxs.py SRC OUT MB [MAX_MB]; prints "FILES BYTES"."""
import os
import re
import sys
import uuid

src, out, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
max_mb = int(sys.argv[4]) if len(sys.argv) > 4 else 50
ok = re.compile(r'^[A-Za-z0-9._+-]{1,200}$')
budget = mb * 1000 * 1000
files = []
total = 0
inodes = set()  # a file with several hard links is packed once: an MSI rarely holds one file twice
for root, dirs, names in os.walk(src):
    dirs.sort()
    rel = os.path.relpath(root, src)
    if rel != '.' and not all(ok.match(p) for p in rel.split(os.sep)):
        dirs[:] = []
        continue
    for n in sorted(names):
        p = os.path.join(root, n)
        if not ok.match(n) or os.path.islink(p) or not os.path.isfile(p):
            continue
        size = os.path.getsize(p)
        if size == 0 or size > max_mb * 1000 * 1000 or total + size > budget:
            continue
        st = os.stat(p)
        if not os.access(p, os.R_OK) or (st.st_dev, st.st_ino) in inodes:
            continue
        inodes.add((st.st_dev, st.st_ino))
        files.append((rel, n, p))
        total += size
os.makedirs(os.path.join(out, 'src'), exist_ok=True)
tree = {}
for i, (rel, n, p) in enumerate(files):
    os.symlink(p, os.path.join(out, 'src', 'f%d' % i))
    tree.setdefault(rel, []).append((i, n))
ids = {'.': 'INSTALLDIR'}
comps = []


def dir_id(rel):
    if rel not in ids:
        ids[rel] = 'd%d' % len(ids)
    return ids[rel]


children = {}
for rel in tree:
    parts = [] if rel == '.' else rel.split(os.sep)
    for k in range(len(parts)):
        parent = '.' if k == 0 else os.sep.join(parts[:k])
        children.setdefault(parent, set()).add(os.sep.join(parts[:k + 1]))


def emit(rel, ind):
    s = ''
    if rel in tree:
        cid = 'c' + dir_id(rel)
        comps.append(cid)
        s += '%s<Component Id="%s" Guid="%s" Win64="yes">\n' % (ind, cid, uuid.uuid4())
        for i, n in tree[rel]:
            s += '%s  <File Id="f%d" Source="src/f%d" Name="%s"/>\n' % (ind, i, i, n)
        s += '%s</Component>\n' % ind
    for c in sorted(children.get(rel, ())):
        s += '%s<Directory Id="%s" Name="%s">\n' % (ind, dir_id(c), os.path.basename(c))
        s += emit(c, ind + '  ')
        s += '%s</Directory>\n' % ind
    return s


body = emit('.', '          ')
refs = ''.join('<ComponentRef Id="%s"/>' % c for c in comps)
with open(os.path.join(out, 'bench.wxs'), 'w') as f:
    f.write('''<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="PibBench" Language="1033" Version="1.0.0" Manufacturer="pib-agent bench"
           UpgradeCode="6d1c2f7e-3b7a-4f0e-9d55-1f2a3b4c5d6e">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="bench.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="PibBench">
%s        </Directory>
      </Directory>
    </Directory>
    <Feature Id="All" Level="1">%s</Feature>
  </Product>
</Wix>
''' % (body, refs))
print(len(files), total)
