#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a synthetic rpm-md repository (metadata only) of N packages, for the resolve benchmark.

Usage: gen-rpm-repo.py OUTDIR N [--seed S] [--timestamp T] [--summary FILE]

Writes OUTDIR/repodata/ as createrepo_c 0.17 lays it out (without the optional sqlite
databases): repomd.xml and <sha256>-primary.xml.gz, <sha256>-filelists.xml.gz,
<sha256>-other.xml.gz, each listed in repomd.xml with its checksum, open-checksum, size,
open-size, timestamp and location. The package files themselves are not written (their
<location> is Packages/<first letter>/name-version-release.arch.rpm): resolution reads
metadata only, and `dnf install --assumeno` downloads nothing.

The N packages look like a distribution's: a core (glibc, bash, coreutils, openssl-libs,
python3, perl-interpreter, ...) that provides sonames, /bin/sh-style files and python(abi),
then generated source packages each giving one to four binary packages (NAME, NAME-libs,
NAME-devel, NAME-doc, libNAME, python3-NAME, perl-NAME, rubygem-NAME, golang-...-devel,
texlive-NAME), x86_64 or noarch, with versions, releases (".el9"), an (x86-64) ISA
provide for every x86_64 package, sonames with symbol versions, pythonX.Ydist()/perl()/
rubygem()/golang() provides, file provides in */bin/ and /etc/ (listed in primary as
createrepo_c does), Requires (some Requires(pre)) forming a dependency web towards earlier
packages, Recommends, Obsoletes and Conflicts of names that are not in the repository,
and about 4 % of the sources also in an older version. Every capability has one provider
(one package name; of two versions the newest wins), so any two correct solvers agree on
what a request pulls in.

--seed S (default 1) makes the output deterministic: the same seed and N give the same
bytes (gzip mtime 0, timestamps from --timestamp, default 1700000000).
--summary FILE writes a JSON object: package and source counts, the repodata file names,
and "requires": twelve capabilities of different kinds (package names, sonames, files,
python3dist()) from late packages, for a bundle to require.
"""

import argparse
import gzip
import hashlib
import json
import os
import random
import sys
from xml.sax.saxutils import escape, quoteattr

__all__ = ["generate", "main"]

NS_COMMON = "http://linux.duke.edu/metadata/common"
NS_RPM = "http://linux.duke.edu/metadata/rpm"
NS_REPO = "http://linux.duke.edu/metadata/repo"
NS_FILELISTS = "http://linux.duke.edu/metadata/filelists"
NS_OTHER = "http://linux.duke.edu/metadata/other"

ISA = "(x86-64)"
PYVER = "3.9"
LIBC = ["libc.so.6()(64bit)", "libc.so.6(GLIBC_2.2.5)(64bit)", "libc.so.6(GLIBC_2.34)(64bit)",
        "rtld(GNU_HASH)"]

ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
          "z", "br", "cr", "dr", "fl", "gl", "gr", "kl", "pl", "pr", "sk", "sl", "sn", "sp", "st",
          "str", "tr", "th", "sh", "ch", "qu", "x"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y"]
CODAS = ["", "", "", "n", "r", "l", "s", "x", "m", "t", "k", "nd", "rt", "st", "ng", "ck", "ff",
         "z", "p", "sh"]
WORDS = ["util", "core", "tools", "lib", "kit", "fs", "net", "mon", "db", "ctl", "io", "xml",
         "json", "yaml", "http", "ssl", "auth", "crypt", "cache", "queue", "log", "conf", "mail",
         "dns", "time", "img", "font", "sound", "video", "gtk", "qt", "term", "shell", "zip",
         "ssh", "pkg", "sync", "test", "proto", "rpc"]
LICENSES = ["MIT", "GPLv2+", "GPLv3+", "LGPLv2+", "BSD", "ASL 2.0", "MPLv2.0", "ISC",
            "GPL-2.0-or-later", "LGPL-2.1-or-later", "Apache-2.0", "BSD-3-Clause", "Zlib"]
GROUPS = ["Unspecified", "System Environment/Libraries", "Development/Libraries",
          "Applications/System", "Development/Languages", "System Environment/Base"]
PACKAGERS = ["Release Engineering <releng@example.com>", "Builder <builder@example.com>"]
AUTHORS = ["Alex Doe <adoe@example.com>", "Sam Roe <sroe@example.com>",
           "Kim Lee <klee@example.com>", "Jo Park <jpark@example.com>"]


class Pkg:
    """One binary package of the repository."""

    __slots__ = ("name", "arch", "epoch", "ver", "rel", "summary", "description", "url",
                 "license", "group", "sourcerpm", "provides", "requires", "obsoletes",
                 "conflicts", "recommends", "files", "size_installed", "size_package",
                 "size_archive", "time", "changelog", "pkgid", "header_end")

    def __init__(self, name, arch, ver, rel, epoch=0):
        self.name, self.arch, self.ver, self.rel, self.epoch = name, arch, ver, rel, epoch
        self.provides, self.requires, self.obsoletes = [], [], []
        self.conflicts, self.recommends, self.files, self.changelog = [], [], [], []
        # the package's own provides: name = evr, and name(x86-64) = evr for x86_64
        self.provides.append((name, "EQ", epoch, ver, rel))
        if arch == "x86_64":
            self.provides.append((name + ISA, "EQ", epoch, ver, rel))

    def evr(self):
        return (f"{self.epoch}:" if self.epoch else "") + f"{self.ver}-{self.rel}"

    def nevra(self):
        return f"{self.name}-{self.evr()}.{self.arch}"

    def filename(self):
        return f"{self.name}-{self.ver}-{self.rel}.{self.arch}.rpm"


class Gen:
    """Builds the package list: a fixed core, then generated sources."""

    def __init__(self, n, seed):
        self.n = n
        self.rng = random.Random(seed)
        self.pkgs = []
        self.used = set()       # package names
        self.stems = set()
        self.provider = {}      # capability name -> Pkg (exactly one each)
        self.files = {}         # path -> Pkg
        # what later packages may require, by kind: lists of (capability, flags, evr tuple)
        self.pool = {"lib": [], "bin": [], "py": [], "perl": [], "ruby": [], "go": [],
                     "tex": [], "pkg": []}
        self.sources = 0
        self.late = []          # (kind, capability) of recent sources, for --summary

    # ---- helpers ----
    def stem(self):
        r = self.rng
        for _ in range(1000):
            k = r.random()
            if k < 0.55:
                s = "".join(r.choice(ONSETS) + r.choice(VOWELS) for _ in range(r.choice((1, 2, 2, 3))))
                s += r.choice(CODAS)
            elif k < 0.85:
                s = r.choice(ONSETS) + r.choice(VOWELS) + r.choice(CODAS) + r.choice(WORDS)
            else:
                s = r.choice(WORDS) + r.choice(ONSETS) + r.choice(VOWELS) + r.choice(CODAS)
            if len(s) >= 3 and s not in self.stems:
                self.stems.add(s)
                return s
        raise RuntimeError("out of names")

    def version(self):
        r = self.rng
        k = r.random()
        if k < 0.5:
            return f"{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 20)}"
        if k < 0.8:
            return f"{r.randint(0, 40)}.{r.randint(0, 99)}"
        if k < 0.9:
            return f"{r.randint(1, 5)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}"
        return f"{r.randint(2015, 2024)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"

    def release(self):
        r = self.rng
        k = r.random()
        if k < 0.6:
            return f"{r.randint(1, 12)}.el9"
        if k < 0.85:
            return f"{r.randint(1, 9)}.el9_{r.randint(0, 4)}"
        return f"{r.randint(1, 40)}.el9"

    def add_prov(self, p, cap, flags=None, e=0, v=None, rel=None):
        if cap in self.provider:
            return False
        self.provider[cap] = p
        p.provides.append((cap, flags, e, v, rel))
        return True

    def add_file(self, p, path, kind="file"):
        if path in self.files:
            return False
        self.files[path] = p
        p.files.append((path, kind))
        return True

    def finish(self, p, summary, kind):
        r = self.rng
        p.summary = summary
        p.description = (f"{summary}.\n\nThe {p.name} package is part of a generated repository "
                         f"used to benchmark dependency resolution; it holds {len(p.files)} files.")
        p.url = f"https://example.org/{p.name.split('-')[0]}"
        p.license = r.choice(LICENSES)
        p.group = r.choice(GROUPS)
        base = 1650000000 + r.randint(0, 40000000)
        p.time = base
        p.size_installed = r.randint(2000, 9000000) if kind != "doc" else r.randint(2000, 400000)
        p.size_archive = p.size_installed + 300 + 120 * len(p.files)
        p.size_package = max(1200, int(p.size_installed * r.uniform(0.25, 0.6)))
        p.header_end = 4504 + r.randint(1000, 30000)
        p.pkgid = hashlib.sha256(f"{p.nevra()}/{p.time}".encode()).hexdigest()
        t = base
        for i in range(r.choice((1, 1, 2, 3))):
            who = r.choice(AUTHORS)
            evr = f"{p.ver}-{p.rel}" if i == 0 else f"{p.ver}-{max(1, i)}"
            p.changelog.append((f"{who} - {evr}", t - t % 86400,
                                r.choice(["- Rebuilt for the el9 mass rebuild",
                                          f"- Update to {p.ver}", "- Fix CVE in parser (#201)",
                                          "- Spec file clean-up", "- Rebase onto upstream"])))
            t -= r.randint(86400, 86400 * 200)
        self.pkgs.append(p)
        self.used.add(p.name)

    def pick(self, kinds, k):
        """k capabilities of the given kinds, chosen mostly among recent sources (a web,
        not a tree: a request pulls in a few hundred packages, not the whole repository)."""
        out = []
        r = self.rng
        for _ in range(k):
            kind = r.choice(kinds)
            lst = self.pool[kind]
            if not lst:
                continue
            if r.random() < 0.15:
                # core-ish: the first entries are required by many
                i = min(len(lst) - 1, int(r.expovariate(1 / 6)))
            else:
                i = len(lst) - 1 - min(len(lst) - 1, int(r.expovariate(1 / 250)))
            c = lst[i]
            if c not in out:
                out.append(c)
        return out

    # ---- the core: fixed, realistic ----
    def core(self):
        specs = [
            # name, arch, ver, rel, sonames, files, requires (names), extra provides
            ("filesystem", "x86_64", "3.16", "2.el9", [], ["/etc/hosts.d"], ["setup"], []),
            ("setup", "noarch", "2.13.7", "10.el9", [], ["/etc/passwd", "/etc/group", "/etc/shells"], [], []),
            ("basesystem", "noarch", "11", "13.el9", [], [], ["filesystem", "setup"], []),
            ("tzdata", "noarch", "2024a", "1.el9", [], [], [], []),
            ("glibc-common", "x86_64", "2.34", "100.el9_4.2", [], ["/usr/bin/locale", "/usr/sbin/iconvconfig"], ["bash"], []),
            ("glibc", "x86_64", "2.34", "100.el9_4.2", ["libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "ld-linux-x86-64.so.2"],
             ["/usr/sbin/ldconfig", "/usr/bin/ldd", "/etc/ld.so.conf"], ["glibc-common", "basesystem"], ["rtld(GNU_HASH)", "libc.so.6(GLIBC_2.2.5)(64bit)", "libc.so.6(GLIBC_2.34)(64bit)", "libm.so.6(GLIBC_2.29)(64bit)"]),
            ("ncurses-base", "noarch", "6.2", "10.20210508.el9", [], [], [], []),
            ("ncurses-libs", "x86_64", "6.2", "10.20210508.el9", ["libncursesw.so.6", "libtinfo.so.6", "libformw.so.6"], [], ["ncurses-base"], []),
            ("bash", "x86_64", "5.1.8", "9.el9", [], ["/usr/bin/bash", "/usr/bin/sh"], ["filesystem"], ["/bin/sh", "/bin/bash", "config(bash) = 5.1.8-9.el9"]),
            ("zlib", "x86_64", "1.2.11", "40.el9", ["libz.so.1"], [], [], []),
            ("xz-libs", "x86_64", "5.2.5", "8.el9_0", ["liblzma.so.5"], [], [], []),
            ("bzip2-libs", "x86_64", "1.0.8", "8.el9", ["libbz2.so.1"], [], [], []),
            ("libzstd", "x86_64", "1.5.1", "2.el9", ["libzstd.so.1"], [], [], []),
            ("libgcc", "x86_64", "11.4.1", "3.el9", ["libgcc_s.so.1"], [], [], ["libgcc_s.so.1(GCC_3.0)(64bit)"]),
            ("libstdc++", "x86_64", "11.4.1", "3.el9", ["libstdc++.so.6"], [], ["libgcc"], ["libstdc++.so.6(GLIBCXX_3.4)(64bit)", "libstdc++.so.6(CXXABI_1.3)(64bit)"]),
            ("pcre2", "x86_64", "10.40", "5.el9", ["libpcre2-8.so.0"], [], [], []),
            ("libselinux", "x86_64", "3.6", "1.el9", ["libselinux.so.1"], [], ["pcre2"], []),
            ("libattr", "x86_64", "2.5.1", "3.el9", ["libattr.so.1"], [], [], []),
            ("libacl", "x86_64", "2.3.1", "4.el9", ["libacl.so.1"], [], ["libattr"], []),
            ("libcap", "x86_64", "2.48", "9.el9_2", ["libcap.so.2"], [], [], []),
            ("gmp", "x86_64", "6.2.0", "13.el9", ["libgmp.so.10"], [], [], []),
            ("coreutils-common", "x86_64", "8.32", "35.el9", [], [], [], []),
            ("coreutils", "x86_64", "8.32", "35.el9", [], ["/usr/bin/cat", "/usr/bin/ls", "/usr/bin/cp", "/usr/bin/mkdir", "/usr/bin/rm", "/usr/bin/install"],
             ["coreutils-common", "libacl", "libattr", "libcap", "libselinux", "gmp"], []),
            ("grep", "x86_64", "3.6", "5.el9", [], ["/usr/bin/grep"], ["pcre2"], []),
            ("sed", "x86_64", "4.8", "9.el9", [], ["/usr/bin/sed"], ["libselinux", "libacl"], []),
            ("gawk", "x86_64", "5.1.0", "6.el9", [], ["/usr/bin/gawk", "/usr/bin/awk"], ["gmp", "readline"], []),
            ("readline", "x86_64", "8.1", "4.el9", ["libreadline.so.8"], [], ["ncurses-libs"], []),
            ("crypto-policies", "noarch", "20240202", "1.git283706d.el9", [], ["/etc/crypto-policies/config", "/usr/bin/update-crypto-policies"], [], []),
            ("ca-certificates", "noarch", "2023.2.60_v7.0.306", "90.1.el9_2", [], ["/etc/pki/tls/certs/ca-bundle.crt", "/usr/bin/update-ca-trust"], ["coreutils", "grep", "sed"], []),
            ("openssl-libs", "x86_64", "3.0.7", "27.el9", ["libssl.so.3", "libcrypto.so.3"], [], ["ca-certificates", "crypto-policies", "zlib"], ["libcrypto.so.3(OPENSSL_3.0.0)(64bit)", "libssl.so.3(OPENSSL_3.0.0)(64bit)"]),
            ("openssl", "x86_64", "3.0.7", "27.el9", [], ["/usr/bin/openssl"], ["openssl-libs"], []),
            ("krb5-libs", "x86_64", "1.21.1", "1.el9", ["libkrb5.so.3", "libgssapi_krb5.so.2", "libk5crypto.so.3", "libcom_err.so.2"], ["/etc/krb5.conf"], ["openssl-libs", "keyutils-libs"], []),
            ("keyutils-libs", "x86_64", "1.6.3", "1.el9", ["libkeyutils.so.1"], [], [], []),
            ("libffi", "x86_64", "3.4.2", "8.el9", ["libffi.so.8"], [], [], []),
            ("expat", "x86_64", "2.5.0", "2.el9_4", ["libexpat.so.1"], [], [], []),
            ("sqlite-libs", "x86_64", "3.34.1", "7.el9_3", ["libsqlite3.so.0"], [], ["zlib"], []),
            ("libxml2", "x86_64", "2.9.13", "6.el9_4", ["libxml2.so.2"], [], ["zlib", "xz-libs"], ["libxml2.so.2(LIBXML2_2.4.30)(64bit)"]),
            ("libcurl", "x86_64", "7.76.1", "29.el9_4", ["libcurl.so.4"], [], ["openssl-libs", "krb5-libs", "zlib"], []),
            ("curl", "x86_64", "7.76.1", "29.el9_4", [], ["/usr/bin/curl"], ["libcurl"], []),
            ("systemd-libs", "x86_64", "252", "32.el9_4", ["libsystemd.so.0", "libudev.so.1"], [], ["libcap", "libzstd", "xz-libs"], ["libsystemd.so.0(LIBSYSTEMD_209)(64bit)"]),
            ("shadow-utils", "x86_64", "4.9", "8.el9", [], ["/usr/sbin/useradd", "/usr/sbin/groupadd", "/etc/login.defs"], ["libselinux", "libacl", "setup"], []),
            ("systemd", "x86_64", "252", "32.el9_4", [], ["/usr/bin/systemctl", "/usr/bin/journalctl", "/etc/systemd/system.conf"], ["systemd-libs", "shadow-utils", "libcap", "libselinux"], ["/sbin/init"]),
            ("python3-libs", "x86_64", "3.9.18", "3.el9_4.3", ["libpython3.9.so.1.0"], [], ["expat", "libffi", "openssl-libs", "sqlite-libs", "bzip2-libs", "xz-libs", "ncurses-libs", "readline", "tzdata"], ["python(abi) = 3.9", "python3.9dist(pip) = 21.2.3", "python3dist(pip) = 21.2.3"]),
            ("python3", "x86_64", "3.9.18", "3.el9_4.3", [], ["/usr/bin/python3", "/usr/bin/python3.9"], ["python3-libs"], ["python3.9 = 3.9.18-3.el9_4.3", "/usr/libexec/platform-python"]),
            ("python3-setuptools", "noarch", "53.0.0", "12.el9", [], [], ["python3"], ["python3.9dist(setuptools) = 53", "python3dist(setuptools) = 53"]),
            ("perl-libs", "x86_64", "5.32.1", "481.el9", ["libperl.so.5.32"], [], [], ["perl(:MODULE_COMPAT_5.32.1)", "perl(strict) = 1.12", "perl(warnings) = 1.47", "perl(Exporter) = 5.74", "perl(Carp) = 1.50"]),
            ("perl-interpreter", "x86_64", "5.32.1", "481.el9", [], ["/usr/bin/perl"], ["perl-libs"], ["perl(:VERSION) = 5.32.1"]),
            ("ruby-libs", "x86_64", "3.0.4", "161.el9_2", ["libruby.so.3.0"], [], ["gmp", "libffi", "openssl-libs"], ["ruby(release) = 3.0.4"]),
            ("ruby", "x86_64", "3.0.4", "161.el9_2", [], ["/usr/bin/ruby"], ["ruby-libs"], ["ruby(runtime_executable) = 3.0.4"]),
            ("rubygems", "noarch", "3.2.33", "161.el9_2", [], ["/usr/bin/gem"], ["ruby"], ["ruby(rubygems) = 3.2.33"]),
            ("golang-src", "noarch", "1.21.7", "1.el9", [], [], [], ["go-filesystem"]),
            ("texlive-base", "noarch", "20200406", "26.el9_2", [], ["/usr/bin/texhash"], ["perl-interpreter", "coreutils"], ["tex(latex) = 20200406"]),
            ("pkgconf-pkg-config", "x86_64", "1.7.3", "10.el9", [], ["/usr/bin/pkg-config"], [], ["pkgconfig = 1:1.7.3"]),
            ("info", "x86_64", "6.7", "15.el9", [], ["/usr/bin/info", "/usr/sbin/install-info"], ["ncurses-libs"], []),
            ("chkconfig", "x86_64", "1.24", "1.el9", [], ["/usr/sbin/alternatives", "/usr/sbin/update-alternatives"], [], []),
        ]
        byname = {}
        for (name, arch, ver, rel, sonames, files, reqs, extra) in specs:
            p = Pkg(name, arch, ver, rel)
            self.provider[name] = p
            if arch == "x86_64":
                self.provider[name + ISA] = p
            for so in sonames:
                self.add_prov(p, f"{so}()(64bit)")
                self.add_file(p, f"/usr/lib64/{so}")
                self.pool["lib"].append((f"{so}()(64bit)", None, None))
            for x in extra:
                if " = " in x:
                    cap, v = x.split(" = ")
                    e = 0
                    if ":" in v:
                        e, v = v.split(":")
                    ver_, _, rel_ = v.partition("-")
                    self.add_prov(p, cap, "EQ", int(e), ver_, rel_ or None)
                elif x.startswith("/"):
                    self.add_file(p, x)  # a file provide: listed in primary's <file>
                else:
                    self.add_prov(p, x)
            for f in files:
                self.add_file(p, f)
                if "/bin/" in f:
                    self.pool["bin"].append((f, None, None))
            for d in ["/usr/share/doc/" + name, "/usr/share/licenses/" + name]:
                self.add_file(p, d, "dir")
            for rq in reqs:
                p.requires.append((rq, None, 0, None, None, False))
            if arch == "x86_64" and name not in ("glibc", "filesystem", "basesystem", "setup",
                                                 "tzdata", "ncurses-base", "coreutils-common"):
                for c in LIBC:
                    p.requires.append((c, None, 0, None, None, False))
            byname[name] = p
            p.sourcerpm = f"{name}-{ver}-{rel}.src.rpm"
            self.stems.add(name)
            self.finish(p, f"The {name} package of the core", "core")
        self.sources += len(specs)
        # a few core pieces are what later packages lean on
        self.pool["pkg"] += [(n, None, None) for n in ("bash", "coreutils", "systemd", "openssl", "curl", "info", "chkconfig")]
        self.pool["py"].append(("python3.9dist(setuptools)", "GE", ("0", "40", None)))
        self.pool["perl"] += [("perl(strict)", None, None), ("perl(warnings)", None, None),
                              ("perl(Exporter)", None, None), ("perl(Carp)", None, None)]
        self.pool["ruby"].append(("ruby(rubygems)", None, None))
        self.pool["tex"].append(("tex(latex)", None, None))
        self.pool["go"].append(("go-filesystem", None, None))

    # ---- generated sources ----
    def req(self, p, caps, pre=False):
        for (cap, flags, evr) in caps:
            if self.provider.get(cap) is p:
                continue
            if any(r[0] == cap for r in p.requires):
                continue
            if evr:
                p.requires.append((cap, flags, int(evr[0]), evr[1], evr[2], pre))
            else:
                p.requires.append((cap, None, 0, None, None, pre))

    def elf_reqs(self, p, extra_libs):
        p.requires += [(c, None, 0, None, None, False) for c in LIBC]
        r = self.rng
        for so in r.sample(["libz.so.1()(64bit)", "libcrypto.so.3()(64bit)", "libssl.so.3()(64bit)",
                            "libm.so.6()(64bit)", "libstdc++.so.6()(64bit)", "libgcc_s.so.1()(64bit)",
                            "libpthread.so.0()(64bit)", "libselinux.so.1()(64bit)",
                            "libsystemd.so.0()(64bit)", "libxml2.so.2()(64bit)",
                            "libcurl.so.4()(64bit)", "liblzma.so.5()(64bit)"], r.randint(0, 3)):
            self.req(p, [(so, None, None)])
        self.req(p, self.pick(["lib"], extra_libs))

    def source(self):
        r = self.rng
        k = r.random()
        stem = self.stem()
        ver, rel = self.version(), self.release()
        epoch = r.choice([0] * 12 + [1, 2])
        if k < 0.30:
            made = self.src_app(stem, ver, rel, epoch)
        elif k < 0.50:
            made = self.src_lib(stem, ver, rel, epoch)
        elif k < 0.68:
            made = self.src_python(stem, ver, rel)
        elif k < 0.80:
            made = self.src_perl(stem, ver, rel)
        elif k < 0.87:
            made = self.src_ruby(stem, ver, rel)
        elif k < 0.94:
            made = self.src_go(stem, ver, rel)
        else:
            made = self.src_tex(stem, ver, rel)
        self.sources += 1
        return made

    def new(self, name, arch, ver, rel, epoch, src):
        p = Pkg(name, arch, ver, rel, epoch)
        self.provider[name] = p
        if arch == "x86_64":
            self.provider[name + ISA] = p
        p.sourcerpm = src
        return p

    def isa_eq(self, p, dep):
        """Requires: dep%{?_isa} = %{version}-%{release}"""
        nm = dep.name + (ISA if dep.arch == "x86_64" else "")
        p.requires.append((nm, "EQ", dep.epoch, dep.ver, dep.rel, False))

    def src_app(self, stem, ver, rel, epoch):
        r = self.rng
        src = f"{stem}-{ver}-{rel}.src.rpm"
        out = []
        libs = None
        if r.random() < 0.5:
            libs = self.new(f"{stem}-libs", "x86_64", ver, rel, epoch, src)
            major = r.randint(0, 9)
            so = f"lib{stem}.so.{major}"
            self.add_prov(libs, f"{so}()(64bit)")
            self.add_prov(libs, f"{so}({stem.upper()}_{major}.0)(64bit)")
            self.add_file(libs, f"/usr/lib64/{so}")
            self.add_file(libs, f"/usr/lib64/{so}.{r.randint(0, 20)}.{r.randint(0, 9)}")
            self.elf_reqs(libs, r.randint(0, 2))
            self.finish(libs, f"Libraries for {stem}", "lib")
            out.append(libs)
        main = self.new(stem, "x86_64", ver, rel, epoch, src)
        self.add_file(main, f"/usr/bin/{stem}")
        if r.random() < 0.3:
            self.add_file(main, f"/usr/bin/{stem}-{r.choice(WORDS)}")
        if r.random() < 0.4:
            self.add_file(main, f"/etc/{stem}.conf")
            self.add_prov(main, f"config({stem})", "EQ", epoch, ver, rel)
        if r.random() < 0.2:
            self.add_file(main, f"/usr/lib/systemd/system/{stem}.service")
            self.req(main, [("systemd", None, None)])
            self.req(main, [("/usr/sbin/useradd", None, None)], pre=True)
        self.add_file(main, f"/usr/share/man/man1/{stem}.1.gz")
        self.add_file(main, f"/usr/share/doc/{stem}", "dir")
        self.add_file(main, f"/usr/share/doc/{stem}/README")
        if libs:
            self.isa_eq(main, libs)
        self.elf_reqs(main, r.randint(0, 2))
        self.req(main, self.pick(["bin", "pkg", "pkg"], r.choice((0, 0, 1, 1, 2))))
        if r.random() < 0.15:
            main.obsoletes.append((f"{stem}-compat", "LT", epoch, ver, None))
        if r.random() < 0.05:
            main.conflicts.append((f"{stem}-legacy", None, 0, None, None))
        if r.random() < 0.2:
            main.recommends.append((r.choice(self.pool["pkg"])[0], None, 0, None, None))
        self.finish(main, f"{stem.capitalize()}, a command line tool", "app")
        out.append(main)
        self.pool["bin"].append((f"/usr/bin/{stem}", None, None))
        self.pool["pkg"].append((stem, "GE", (str(epoch), ver.split(".")[0], None)))
        self.late.append(("file", f"/usr/bin/{stem}"))
        self.late.append(("name", stem))
        if r.random() < 0.35:
            doc = self.new(f"{stem}-doc", "noarch", ver, rel, epoch, src)
            self.add_file(doc, f"/usr/share/doc/{stem}-doc", "dir")
            self.add_file(doc, f"/usr/share/doc/{stem}-doc/manual.html")
            doc.requires.append((stem, "EQ", epoch, ver, rel, False))
            self.finish(doc, f"Documentation for {stem}", "doc")
            out.append(doc)
        if libs and r.random() < 0.5:
            dev = self.new(f"{stem}-devel", "x86_64", ver, rel, epoch, src)
            self.add_file(dev, f"/usr/include/{stem}/{stem}.h")
            self.add_file(dev, f"/usr/lib64/lib{stem}.so")
            self.add_file(dev, f"/usr/lib64/pkgconfig/{stem}.pc")
            self.add_prov(dev, f"pkgconfig({stem})", "EQ", 0, ver, None)
            self.isa_eq(dev, libs)
            self.req(dev, [("/usr/bin/pkg-config", None, None)])
            self.finish(dev, f"Development files for {stem}", "devel")
            out.append(dev)
        return out

    def src_lib(self, stem, ver, rel, epoch):
        r = self.rng
        name = f"lib{stem}"
        src = f"{name}-{ver}-{rel}.src.rpm"
        lib = self.new(name, "x86_64", ver, rel, epoch, src)
        major = r.randint(0, 12)
        so = f"lib{stem}.so.{major}"
        self.add_prov(lib, f"{so}()(64bit)")
        for sv in range(r.randint(0, 3)):
            self.add_prov(lib, f"{so}(LIB{stem.upper()}_{major}.{sv})(64bit)")
        self.add_file(lib, f"/usr/lib64/{so}")
        self.add_file(lib, f"/usr/lib64/{so}.{r.randint(0, 20)}.{r.randint(0, 9)}")
        self.add_file(lib, f"/usr/share/licenses/{name}", "dir")
        self.add_file(lib, f"/usr/share/licenses/{name}/COPYING")
        self.elf_reqs(lib, r.choice((0, 1, 1, 2)))
        self.finish(lib, f"The {stem} library", "lib")
        self.pool["lib"].append((f"{so}()(64bit)", None, None))
        self.late.append(("soname", f"{so}()(64bit)"))
        out = [lib]
        if r.random() < 0.6:
            dev = self.new(f"{name}-devel", "x86_64", ver, rel, epoch, src)
            self.add_file(dev, f"/usr/include/{stem}.h")
            self.add_file(dev, f"/usr/lib64/lib{stem}.so")
            self.add_file(dev, f"/usr/lib64/pkgconfig/lib{stem}.pc")
            self.add_prov(dev, f"pkgconfig(lib{stem})", "EQ", 0, ver, None)
            self.isa_eq(dev, lib)
            self.req(dev, [("/usr/bin/pkg-config", None, None)])
            self.finish(dev, f"Development files for lib{stem}", "devel")
            out.append(dev)
        if r.random() < 0.25:
            tools = self.new(f"{name}-tools", "x86_64", ver, rel, epoch, src)
            self.add_file(tools, f"/usr/bin/{stem}-tool")
            self.isa_eq(tools, lib)
            self.elf_reqs(tools, 0)
            self.finish(tools, f"Tools for lib{stem}", "app")
            self.pool["bin"].append((f"/usr/bin/{stem}-tool", None, None))
            out.append(tools)
        return out

    def src_python(self, stem, ver, rel):
        r = self.rng
        name = f"python-{stem}"
        src = f"{name}-{ver}-{rel}.src.rpm"
        arch = "noarch" if r.random() < 0.8 else "x86_64"
        p = self.new(f"python3-{stem}", arch, ver, rel, 0, src)
        self.add_prov(p, f"python3.9dist({stem})", "EQ", 0, ver, None)
        self.add_prov(p, f"python3dist({stem})", "EQ", 0, ver, None)
        self.add_prov(p, f"python-{stem}", "EQ", 0, ver, rel)
        sp = "/usr/lib/python3.9" if arch == "noarch" else "/usr/lib64/python3.9"
        self.add_file(p, f"{sp}/site-packages/{stem}", "dir")
        self.add_file(p, f"{sp}/site-packages/{stem}/__init__.py")
        self.add_file(p, f"{sp}/site-packages/{stem}-{ver}-py3.9.egg-info", "dir")
        p.requires.append(("python(abi)", "EQ", 0, PYVER, None, False))
        if arch == "x86_64":
            self.elf_reqs(p, r.choice((0, 1)))
        self.req(p, self.pick(["py"], r.choice((0, 1, 1, 2, 3))))
        if r.random() < 0.2:
            self.add_file(p, f"/usr/bin/{stem}")
            self.req(p, [("/usr/bin/python3", None, None)])
            self.pool["bin"].append((f"/usr/bin/{stem}", None, None))
        self.finish(p, f"Python module {stem}", "py")
        self.pool["py"].append((f"python3.9dist({stem})", "GE", ("0", ver.split(".")[0], None)))
        self.late.append(("python", f"python3dist({stem})"))
        return [p]

    def src_perl(self, stem, ver, rel):
        r = self.rng
        mod = "::".join(w.capitalize() for w in (stem, r.choice(WORDS)))
        name = "perl-" + mod.replace("::", "-")
        if name in self.used:
            name += "-" + r.choice(WORDS)
        src = f"{name}-{ver}-{rel}.src.rpm"
        p = self.new(name, "noarch", ver, rel, 0, src)
        self.add_prov(p, f"perl({mod})", "EQ", 0, ver, None)
        if r.random() < 0.4:
            self.add_prov(p, f"perl({mod}::Util)")
        self.add_file(p, f"/usr/share/perl5/vendor_perl/{mod.replace('::', '/')}.pm")
        p.requires.append(("perl(:MODULE_COMPAT_5.32.1)", None, 0, None, None, False))
        self.req(p, self.pick(["perl"], r.choice((1, 1, 2, 3))))
        self.finish(p, f"Perl module {mod}", "perl")
        self.pool["perl"].append((f"perl({mod})", None, None))
        return [p]

    def src_ruby(self, stem, ver, rel):
        r = self.rng
        name = f"rubygem-{stem}"
        p = self.new(name, "noarch", ver, rel, 0, f"{name}-{ver}-{rel}.src.rpm")
        self.add_prov(p, f"rubygem({stem})", "EQ", 0, ver, None)
        self.add_file(p, f"/usr/share/gems/gems/{stem}-{ver}", "dir")
        self.add_file(p, f"/usr/share/gems/specifications/{stem}-{ver}.gemspec")
        self.req(p, [("ruby(rubygems)", None, None)])
        self.req(p, self.pick(["ruby"], r.choice((0, 1, 2))))
        self.finish(p, f"Ruby gem {stem}", "ruby")
        self.pool["ruby"].append((f"rubygem({stem})", None, None))
        out = [p]
        if r.random() < 0.4:
            d = self.new(f"{name}-doc", "noarch", ver, rel, 0, p.sourcerpm)
            self.add_file(d, f"/usr/share/gems/doc/{stem}-{ver}", "dir")
            d.requires.append((name, "EQ", 0, ver, rel, False))
            self.finish(d, f"Documentation for rubygem {stem}", "doc")
            out.append(d)
        return out

    def src_go(self, stem, ver, rel):
        r = self.rng
        org = r.choice(WORDS) + r.choice(CODAS)
        name = f"golang-github-{org}-{stem}-devel"
        p = self.new(name, "noarch", ver, rel, 0, f"golang-github-{org}-{stem}-{ver}-{rel}.src.rpm")
        imp = f"github.com/{org}/{stem}"
        self.add_prov(p, f"golang({imp})", "EQ", 0, ver, None)
        if r.random() < 0.5:
            self.add_prov(p, f"golang({imp}/internal)", "EQ", 0, ver, None)
        self.add_file(p, f"/usr/share/gocode/src/{imp}", "dir")
        self.add_file(p, f"/usr/share/gocode/src/{imp}/{stem}.go")
        self.req(p, [("go-filesystem", None, None)])
        self.req(p, self.pick(["go"], r.choice((0, 1, 2, 3))))
        self.finish(p, f"Go package {imp}", "go")
        self.pool["go"].append((f"golang({imp})", None, None))
        return [p]

    def src_tex(self, stem, ver, rel):
        r = self.rng
        name = f"texlive-{stem}"
        p = self.new(name, "noarch", "20200406", rel, 9, f"texlive-{ver}-{rel}.src.rpm")
        self.add_prov(p, f"tex({stem}.sty)")
        self.add_file(p, f"/usr/share/texlive/texmf-dist/tex/latex/{stem}/{stem}.sty")
        self.req(p, [("texlive-base", None, None)])
        self.req(p, self.pick(["tex"], r.choice((0, 1, 1, 2))))
        self.finish(p, f"TeX package {stem}", "tex")
        self.pool["tex"].append((f"tex({stem}.sty)", None, None))
        return [p]

    def older(self, made):
        """The same source in an earlier release: same names, lower evr (kept beside it)."""
        r = self.rng
        out = []
        for p in made:
            rel0 = p.rel.split(".", 1)
            try:
                n = int(rel0[0])
            except ValueError:
                continue
            if n < 2:
                continue
            q = Pkg(p.name, p.arch, p.ver, f"{n - 1}.{rel0[1]}" if len(rel0) > 1 else str(n - 1), p.epoch)
            q.provides = [(c, f, e, p.ver if v == p.ver else v, q.rel if rr == p.rel else rr)
                          for (c, f, e, v, rr) in p.provides]
            q.requires = [(c, f, e, v, q.rel if (rr == p.rel and v == p.ver) else rr, pre)
                          for (c, f, e, v, rr, pre) in p.requires]
            q.files = list(p.files)
            q.sourcerpm = p.sourcerpm.replace(p.rel, q.rel)
            self.finish(q, p.summary, "old")
            out.append(q)
        return out

    def run(self):
        self.core()
        r = self.rng
        while len(self.pkgs) < self.n:
            made = self.source()
            if r.random() < 0.04:
                self.older(made)
        del self.pkgs[self.n:]
        return self.pkgs


# ---- XML ----
def _entry(cap, flags, e, v, rel, pre=False):
    s = f'<rpm:entry name={quoteattr(cap)}'
    if flags:
        s += f' flags="{flags}" epoch="{e}"'
        if v is not None:
            s += f' ver={quoteattr(v)}'
        if rel is not None:
            s += f' rel={quoteattr(rel)}'
    if pre:
        s += ' pre="1"'
    return s + "/>"


def _in_primary(path):
    # createrepo_c lists in primary.xml the files matching ^.*bin/.*, ^/etc/.* and
    # ^/usr/lib/sendmail$ (src/misc.c, cr_is_primary); the rest only in filelists
    return "bin/" in path or path.startswith("/etc/") or path == "/usr/lib/sendmail"


def _file(path, kind):
    return f'<file type="dir">{escape(path)}</file>' if kind == "dir" else f"<file>{escape(path)}</file>"


def _deps(tag, lst, with_pre=False):
    if not lst:
        return []
    out = [f"    <rpm:{tag}>"]
    seen = set()
    for d in sorted(lst, key=lambda d: (d[0], d[3] or "")):
        key = d[:5]
        if key in seen:
            continue
        seen.add(key)
        out.append("      " + _entry(*d[:5], pre=(d[5] if with_pre and len(d) > 5 else False)))
    out.append(f"    </rpm:{tag}>")
    return out


def primary_xml(pkgs):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<metadata xmlns="{NS_COMMON}" xmlns:rpm="{NS_RPM}" packages="{len(pkgs)}">']
    for p in pkgs:
        out += [
            '<package type="rpm">',
            f"  <name>{escape(p.name)}</name>",
            f"  <arch>{p.arch}</arch>",
            f'  <version epoch="{p.epoch}" ver={quoteattr(p.ver)} rel={quoteattr(p.rel)}/>',
            f'  <checksum type="sha256" pkgid="YES">{p.pkgid}</checksum>',
            f"  <summary>{escape(p.summary)}</summary>",
            f"  <description>{escape(p.description)}</description>",
            f"  <packager>{escape(PACKAGERS[len(p.name) % 2])}</packager>",
            f"  <url>{escape(p.url)}</url>",
            f'  <time file="{p.time + 3600}" build="{p.time}"/>',
            f'  <size package="{p.size_package}" installed="{p.size_installed}" archive="{p.size_archive}"/>',
            f'  <location href="Packages/{p.name[0].lower()}/{escape(p.filename())}"/>',
            "  <format>",
            f"    <rpm:license>{escape(p.license)}</rpm:license>",
            "    <rpm:vendor>Example Linux</rpm:vendor>",
            f"    <rpm:group>{escape(p.group)}</rpm:group>",
            "    <rpm:buildhost>build01.example.com</rpm:buildhost>",
            f"    <rpm:sourcerpm>{escape(p.sourcerpm)}</rpm:sourcerpm>",
            f'    <rpm:header-range start="4504" end="{p.header_end}"/>',
        ]
        out += _deps("provides", p.provides)
        out += _deps("requires", [r for r in p.requires], with_pre=True)
        out += _deps("conflicts", p.conflicts)
        out += _deps("obsoletes", p.obsoletes)
        out += _deps("recommends", p.recommends)
        for (path, kind) in sorted(p.files):
            if _in_primary(path):
                out.append("    " + _file(path, kind))
        out += ["  </format>", "</package>"]
    out.append("</metadata>")
    return "\n".join(out) + "\n"


def filelists_xml(pkgs):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<filelists xmlns="{NS_FILELISTS}" packages="{len(pkgs)}">']
    for p in pkgs:
        out.append(f'<package pkgid="{p.pkgid}" name={quoteattr(p.name)} arch="{p.arch}">')
        out.append(f'  <version epoch="{p.epoch}" ver={quoteattr(p.ver)} rel={quoteattr(p.rel)}/>')
        for (path, kind) in sorted(p.files):
            out.append("  " + _file(path, kind))
        out.append("</package>")
    out.append("</filelists>")
    return "\n".join(out) + "\n"


def other_xml(pkgs):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<otherdata xmlns="{NS_OTHER}" packages="{len(pkgs)}">']
    for p in pkgs:
        out.append(f'<package pkgid="{p.pkgid}" name={quoteattr(p.name)} arch="{p.arch}">')
        out.append(f'  <version epoch="{p.epoch}" ver={quoteattr(p.ver)} rel={quoteattr(p.rel)}/>')
        for (who, date, text) in p.changelog:
            out.append(f'  <changelog author={quoteattr(who)} date="{date}">{escape(text)}</changelog>')
        out.append("</package>")
    out.append("</otherdata>")
    return "\n".join(out) + "\n"


def write_repodata(outdir, pkgs, timestamp):
    rd = os.path.join(outdir, "repodata")
    os.makedirs(rd, exist_ok=True)
    for f in os.listdir(rd):  # a rerun replaces the metadata, never mixes two
        os.unlink(os.path.join(rd, f))
    records = []
    for kind, text in (("primary", primary_xml(pkgs)), ("filelists", filelists_xml(pkgs)),
                       ("other", other_xml(pkgs))):
        raw = text.encode("utf-8")
        gz = gzip.compress(raw, compresslevel=6, mtime=0)
        digest = hashlib.sha256(gz).hexdigest()
        name = f"{digest}-{kind}.xml.gz"
        with open(os.path.join(rd, name), "wb") as f:
            f.write(gz)
        records.append((kind, digest, hashlib.sha256(raw).hexdigest(), name, len(gz), len(raw)))
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<repomd xmlns="{NS_REPO}" xmlns:rpm="{NS_RPM}">',
           f"  <revision>{timestamp}</revision>"]
    for (kind, digest, odigest, name, size, osize) in records:
        out += [f'  <data type="{kind}">',
                f'    <checksum type="sha256">{digest}</checksum>',
                f'    <open-checksum type="sha256">{odigest}</open-checksum>',
                f'    <location href="repodata/{name}"/>',
                f"    <timestamp>{timestamp}</timestamp>",
                f"    <size>{size}</size>",
                f"    <open-size>{osize}</open-size>",
                "  </data>"]
    out.append("</repomd>")
    tmp = os.path.join(rd, ".repomd.xml.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.rename(tmp, os.path.join(rd, "repomd.xml"))
    return [r[3] for r in records]


def generate(outdir, n, seed=1, timestamp=1700000000):
    """Writes the repository; returns (packages, generator) for the summary."""
    g = Gen(n, seed)
    pkgs = g.run()
    files = write_repodata(outdir, pkgs, timestamp)
    return pkgs, g, files


def summary(pkgs, g, files, seed):
    """Twelve capabilities of late sources, of four kinds, for a bundle's Requires."""
    rng = random.Random(seed * 7919 + 17)
    present = {id(p) for p in pkgs}
    ok = [(k, c) for (k, c) in g.late[len(g.late) // 2:]
          if c in g.provider and id(g.provider[c]) in present or
          (k == "file" and c in g.files and id(g.files[c]) in present)]
    req = []
    for kind in ("name", "soname", "file", "python"):
        cand = [c for (k, c) in ok if k == kind]
        req += rng.sample(cand, min(3, len(cand)))
    return {"packages": len(pkgs), "sources": g.sources, "seed": seed,
            "arches": sorted({p.arch for p in pkgs}), "repodata": files, "requires": req}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timestamp", type=int,
                    default=int(os.environ.get("SOURCE_DATE_EPOCH", "1700000000")))
    ap.add_argument("--summary", metavar="FILE")
    a = ap.parse_args(argv)
    if a.n < 60 or a.n > 1000000:
        ap.error("N must be between 60 and 1000000 (the core alone is 55 packages)")
    pkgs, g, files = generate(a.outdir, a.n, a.seed, a.timestamp)
    if a.summary:
        with open(a.summary, "w", encoding="utf-8") as f:
            json.dump(summary(pkgs, g, files, a.seed), f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
