#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seeds of tests/fuzz/corpus/rpmhdr/ (run once by hand; the seeds are committed):
# small .rpm files made from scratch (lead, signature header, header; no payload), with
# hand-made OpenPGP signature packets (their signature values are filler: nothing verifies
# them here, the agent only reads their issuer). No byte of them comes from a real package.
# The armored key seeds were made with gpg 2.2.40 in a temporary GNUPGHOME, not by this script:
#   key-ed25519-subkey.asc: tests/unit/data/rpmhdr-key-subkey.asc (gpg --quick-gen-key ... ed25519 sign never,
#     gpg --quick-add-key FPR cv25519 encr never, gpg --armor --export FPR)
#   key-newformat.asc: tests/unit/data/rpmhdr-key-subkey-newformat.asc (the same packets, new-format headers)
#   key-rsa2048-subkey.asc: the same commands with rsa2048 for both keys
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', 'fuzz', 'corpus', 'rpmhdr')

INT32, STRING, BIN, STRING_ARRAY, I18NSTRING = 4, 6, 7, 8, 9
FPR = bytes.fromhex('1393175113ee10901a5b38c977b81cbcb43fc8b9')  # tests/unit/data/rpmhdr-key-subkey.asc
KEYID = FPR[-8:]


def lead(kind=0, name=b'hello-1.0-1'):
    return (struct.pack('>IBBHH', 0xedabeedb, 3, 0, kind, 1) + name.ljust(66, b'\0')[:66] +
            struct.pack('>HH', 1, 5) + b'\0' * 16)


def header(entries, region=63):
    """entries: (tag, type, count, bytes); values are aligned as rpm aligns them; the region
    tag (63 for the header, 62 for the signature header) first, its trailer last in the store."""
    index, store = b'', b''
    for tag, typ, count, data in entries:
        if typ == INT32:
            store += b'\0' * (-len(store) % 4)
        index += struct.pack('>IIII', tag, typ, len(store), count)
        store += data
    il = len(entries) + 1
    index = struct.pack('>IIII', region, BIN, len(store), 16) + index
    store += struct.pack('>IIiI', region, BIN, -16 * il, 16)
    return b'\x8e\xad\xe8\x01\0\0\0\0' + struct.pack('>II', il, len(store)) + index + store


def sigheader(entries):
    h = header(entries, 62)
    return h + b'\0' * (-len(h) % 8)


def s(v):
    return v.encode() + b'\0'


def subpacket(typ, body):
    n = len(body) + 1
    if n < 192:
        ln = bytes([n])
    else:
        ln = bytes([((n - 192) >> 8) + 192, (n - 192) & 0xff])
    return ln + bytes([typ]) + body


def sig_v4(hashed, unhashed, newformat=False, five=False):
    body = bytes([4, 0x00, 1, 8]) + struct.pack('>H', len(hashed)) + hashed + struct.pack('>H', len(unhashed)) + unhashed
    body += b'\xab\xcd' + struct.pack('>H', 256) + bytes(range(32))  # hash left 16 bits, one 256-bit MPI
    if newformat:
        if five:
            return b'\xc2\xff' + struct.pack('>I', len(body)) + body
        if len(body) < 192:
            return b'\xc2' + bytes([len(body)]) + body
        n = len(body) - 192
        return b'\xc2' + bytes([(n >> 8) + 192, n & 0xff]) + body
    return b'\x89' + struct.pack('>H', len(body)) + body


def sig_v3():
    body = bytes([3, 5, 0x00]) + struct.pack('>I', 1700000000) + KEYID + bytes([17, 8]) + b'\xab\xcd' + struct.pack('>H', 160) + bytes(20)
    return b'\x88' + bytes([len(body)]) + body


CREATED = subpacket(2, struct.pack('>I', 1700000000))
ISSUER_FPR = subpacket(33, b'\x04' + FPR)
ISSUER = subpacket(16, KEYID)


def rpm(name, sig, hdr, kind=0):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(lead(kind) + sigheader(sig) + header(hdr))


def main_header(extra=(), srpm=True, name='hello'):
    e = [(1000, STRING, 1, s(name)), (1001, STRING, 1, s('1.0')), (1002, STRING, 1, s('1')),
         (1003, INT32, 1, struct.pack('>I', 2)), (1021, STRING, 1, s('linux')), (1022, STRING, 1, s('x86_64'))]
    if srpm:
        e.append((1044, STRING, 1, s(name + '-1.0-1.src.rpm')))
    e.append((1125, STRING, 1, s('xz')))
    return e + list(extra)


os.makedirs(out, exist_ok=True)
digests = [(269, STRING, 1, s('0' * 40)), (273, STRING, 1, s('0' * 64)), (1000, INT32, 1, struct.pack('>I', 1234))]
rpm('signed-v4-rsa.rpm', [(268, BIN, len(p := sig_v4(CREATED + ISSUER_FPR, ISSUER)), p)] + digests, main_header())
rpm('signed-v4-newformat-unhashed-fpr.rpm', [(268, BIN, len(p := sig_v4(CREATED, ISSUER + ISSUER_FPR, newformat=True)), p)] + digests,
    main_header())
rpm('signed-v4-5octet-dsa.rpm', [(267, BIN, len(p := sig_v4(CREATED + ISSUER, b'', newformat=True, five=True)), p)] + digests,
    main_header())
rpm('signed-v3-pgp.rpm', [(1002, BIN, len(p := sig_v3()), p), (1004, BIN, 16, bytes(16))] + digests, main_header())
rpm('signed-rpm6-openpgp.rpm', [(278, STRING_ARRAY, 2, s('iQEzBAABCAAdFiEE') + s('iQEzBAABCAAdFiEF'))] + digests, main_header())
rpm('unsigned.rpm', digests, main_header())
rpm('source.rpm', digests, main_header(extra=[(1106, INT32, 1, struct.pack('>I', 1))], srpm=False), kind=1)
rpm('i18n-array.rpm', digests, [(1000, I18NSTRING, 1, s('hello')), (1001, STRING_ARRAY, 2, s('1.0') + s('x')),
                                (1002, STRING, 1, s('1')), (1022, STRING, 1, s('noarch'))])
