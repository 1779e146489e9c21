#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes EC2 user-data that injects pib-agent into a build instance: a cloud-init MIME
multipart message with two parts,

  text/x-shellscript                   packaging/cloud-init/pib-agent-inject.sh with the
                                       agent's URL, SHA-256 and (optional) CA filled in: it
                                       fetches the portable tarball over HTTPS, checks its
                                       SHA-256, unpacks it privately and runs
                                       `pib-agent run --job imds`
  application/vnd.pib-agent.job+json   the job, byte for byte as given, which the agent reads
                                       back from IMDS (cloud-init ignores this type)

usage: make-user-data.py --agent-url URL --agent-sha256 HEX --job JOB.json [--ca CA.pem]
                         [--output FILE]

The message goes to standard output (or FILE). It is refused (exit 1, nothing written) when
it would be larger than EC2's user-data limit, 16384 bytes. --ca is the CA the script trusts
for the download only; the agent itself trusts the job's ca_bundle or the image's CA store.
Standard library only.
"""
import argparse
import hashlib
import json
import os
import re
import sys

EC2_USER_DATA_MAX = 16384
JOB_MAX = 64 * 1024
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cloud-init", "pib-agent-inject.sh")


def die(msg):
    print("make-user-data: " + msg, file=sys.stderr)
    sys.exit(1)


def check_url(url):
    if not url.startswith("https://") or len(url) > 2048:
        die("--agent-url must be an https:// URL of at most 2048 characters")
    # it goes between single quotes in the script: printable ASCII only, no quote, no space
    if not re.fullmatch(r"https://[\x21-\x7e]+", url) or "'" in url:
        die("--agent-url holds a character that is not printable ASCII, a space or a quote")
    return url


def check_sha(sha):
    if not re.fullmatch(r"[0-9a-fA-F]{64}", sha):
        die("--agent-sha256 must be 64 hex digits")
    return sha.lower()


def read_ca(path):
    try:
        text = open(path, "rb").read().decode("ascii")
    except (OSError, UnicodeDecodeError) as e:
        die("--ca %s: %s" % (path, e if isinstance(e, OSError) else "not ASCII"))
    text = text.replace("\r\n", "\n").strip()
    if "-----BEGIN CERTIFICATE-----" not in text or "'" in text:
        die("--ca %s: not a PEM certificate" % path)
    return text


def read_job(path):
    try:
        raw = open(path, "rb").read(JOB_MAX + 1)
    except OSError as e:
        die("--job %s: %s" % (path, e))
    if len(raw) > JOB_MAX:
        die("--job %s: larger than 64 KiB" % path)
    try:
        job = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        die("--job %s: not JSON: %s" % (path, e))
    if not isinstance(job, dict) or not isinstance(job.get("build_id"), str):
        die("--job %s: not a job (a JSON object with a build_id)" % path)
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    return raw if raw.endswith(b"\n") else raw + b"\n"


def encoding_of(body):
    """The Content-Transfer-Encoding that says the truth about body (RFC 2045 line limits)."""
    long_lines = any(len(line) > 998 for line in body.split(b"\n"))
    if long_lines:
        return "binary"
    return "7bit" if all(b < 0x80 for b in body) else "8bit"


def main():
    p = argparse.ArgumentParser(description="EC2 user-data that fetches pib-agent and runs the job")
    p.add_argument("--agent-url", required=True)
    p.add_argument("--agent-sha256", required=True)
    p.add_argument("--job", required=True)
    p.add_argument("--ca")
    p.add_argument("--output")
    a = p.parse_args()

    url = check_url(a.agent_url)
    sha = check_sha(a.agent_sha256)
    ca = read_ca(a.ca) if a.ca else ""
    job = read_job(a.job)

    script = open(TEMPLATE, encoding="ascii").read()
    for key, value in (("@AGENT_URL@", url), ("@AGENT_SHA256@", sha), ("@AGENT_CA@", ca)):
        if script.count(key) != 1:
            die("%s: the placeholder %s is not there exactly once" % (TEMPLATE, key))
        script = script.replace(key, value)
    script = script.encode("ascii")

    # a boundary of the content's digest: the same inputs make the same bytes
    boundary = "==pib-agent-" + hashlib.sha256(script + job).hexdigest()[:24] + "=="
    if boundary.encode() in script or boundary.encode() in job:
        die("the boundary %s occurs in a part" % boundary)

    out = b"".join([
        b'Content-Type: multipart/mixed; boundary="%s"\n' % boundary.encode(),
        b"MIME-Version: 1.0\n",
        b"\n",
        b"--%s\n" % boundary.encode(),
        b'Content-Type: text/x-shellscript; charset="us-ascii"\n',
        b"MIME-Version: 1.0\n",
        b"Content-Transfer-Encoding: 7bit\n",
        b'Content-Disposition: attachment; filename="pib-agent-inject.sh"\n',
        b"\n",
        script,
        b"\n--%s\n" % boundary.encode(),
        b"Content-Type: application/vnd.pib-agent.job+json\n",
        b"MIME-Version: 1.0\n",
        b"Content-Transfer-Encoding: %s\n" % encoding_of(job).encode(),
        b'Content-Disposition: attachment; filename="job.json"\n',
        b"\n",
        job,
        b"--%s--\n" % boundary.encode(),
    ])
    if len(out) > EC2_USER_DATA_MAX:
        die("the user-data would be %d bytes, over EC2's limit of %d (a smaller job, or no --ca)"
            % (len(out), EC2_USER_DATA_MAX))
    if a.output:
        with open(a.output, "wb") as f:
            f.write(out)
    else:
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
