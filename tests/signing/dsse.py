#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent DSSE helpers for the signing tests: nothing here uses pib-agent's code.

Run with Debian's /usr/bin/python3 (python3-securesystemslib and python3-jsonschema live there).

Usage:
  dsse.py pae REPORT PAE_OUT SIG_OUT     PAE(payloadType, base64-decoded payload) and the raw
                                        signature of signatures[0], for openssl pkeyutl -rawin
  dsse.py tamper REPORT WHAT OUT        one flipped byte: WHAT is payload (a byte of the decoded
                                        payload), payloadType (a character of it) or signature (a
                                        byte of the decoded signature); also status (the predicate's
                                        status set to succeeded), keyid (a hex digit of the keyid
                                        hint only) and unsign (an empty signatures list)
  dsse.py sslib REPORT PUB              securesystemslib 0.26: SSlibKey.verify_signature over the
                                        PAE built here; exit 0 when it verifies, 1 when it does not
  dsse.py schema SCHEMA REPORT...       each REPORT (an envelope) against $defs/envelope, its
                                        payload against the root (the Statement); exit 1 on error
  dsse.py payload REPORT                the decoded payload bytes on stdout
  dsse.py text HTML                     the visible text of an HTML document (script/style dropped)
  dsse.py probe HTML OUT                a copy of a show --html page, its CSP removed and a script
                                        added that writes the viewport height and the bottom edge of
                                        the status, signature, error, last detection and failed
                                        policy and check rows into <body data-layout=JSON>
  dsse.py layout DOM                    that JSON, from Chromium's --dump-dom of the probe
"""

import base64
import hashlib
import json
import sys
from html.parser import HTMLParser


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read())


def b64d(s):
    return base64.b64decode(s, validate=True)


def pae(payload_type, body):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def cmd_pae(report, pae_out, sig_out):
    env = load(report)
    with open(pae_out, "wb") as f:
        f.write(pae(env["payloadType"], b64d(env["payload"])))
    with open(sig_out, "wb") as f:
        f.write(b64d(env["signatures"][0]["sig"]))
    return 0


def flip(data, i):
    b = bytearray(data)
    b[i] ^= 0x01
    return bytes(b)


def cmd_tamper(report, what, out):
    env = load(report)
    if what == "payload":
        body = b64d(env["payload"])
        env["payload"] = base64.b64encode(flip(body, len(body) // 2)).decode()
    elif what == "status":  # a meaningful forgery: findings or failed made to look succeeded
        st = json.loads(b64d(env["payload"]))
        st["predicate"]["status"] = "succeeded"
        env["payload"] = base64.b64encode(json.dumps(st, separators=(",", ":")).encode()).decode()
    elif what == "payloadType":
        t = env["payloadType"].encode()
        env["payloadType"] = flip(t, len(t) - 1).decode()  # ...+json -> ...+jsoo
    elif what == "signature":
        sig = b64d(env["signatures"][0]["sig"])
        env["signatures"][0]["sig"] = base64.b64encode(flip(sig, 10)).decode()
    elif what == "keyid":
        k = env["signatures"][0]["keyid"]
        env["signatures"][0]["keyid"] = ("0" if k[0] != "0" else "1") + k[1:]
    elif what == "unsign":
        env["signatures"] = []
    else:
        print(f"unknown tampering {what}", file=sys.stderr)
        return 2
    with open(out, "w") as f:
        json.dump(env, f, indent=1)
    return 0


def cmd_sslib(report, pub_path):
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.signer import Signature, SSlibKey

    with open(pub_path, "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keyid = hashlib.sha256(raw).hexdigest()
    key = SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})
    env = load(report)
    data = pae(env["payloadType"], b64d(env["payload"]))
    sigs = env["signatures"]
    if not sigs:
        print("unsigned: no signature to verify")
        return 1
    try:
        key.verify_signature(Signature(keyid, b64d(sigs[0]["sig"]).hex()), data)
    except Exception as e:  # securesystemslib raises UnverifiedSignatureError
        print(f"securesystemslib: {type(e).__name__}: {e}")
        return 1
    print("securesystemslib: verified signatures: 1")
    return 0


def cmd_schema(schema_path, reports):
    import jsonschema

    schema = load(schema_path)
    jsonschema.Draft202012Validator.check_schema(schema)
    st_v = jsonschema.Draft202012Validator(schema)
    env_v = jsonschema.Draft202012Validator({"$ref": "#/$defs/envelope", "$defs": schema["$defs"]})
    bad = 0
    for r in reports:
        env = load(r)
        errs = [f"envelope: {e.json_path}: {e.message}" for e in env_v.iter_errors(env)]
        try:
            st = json.loads(b64d(env["payload"]))
            errs += [f"statement: {e.json_path}: {e.message}" for e in st_v.iter_errors(st)]
        except (KeyError, ValueError) as e:
            errs.append(f"payload: {e}")
        for e in errs[:20]:
            print(f"{r}: {e}")
        bad += bool(errs)
    return 1 if bad else 0


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def cmd_text(path):
    p = _Text()
    with open(path, encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    sys.stdout.write(" ".join(p.parts))
    return 0


PROBE = """<script>
addEventListener("load", function () {
  var r = {innerHeight: innerHeight, innerWidth: innerWidth};
  ["#status", "#signature", "#error", "#detections tr:last-child", "#policy tr.hit", "#checks tr.hit"]
    .forEach(function (q) {
      var e = document.querySelector(q);
      r[q] = e ? Math.round(e.getBoundingClientRect().bottom) : null;
    });
  document.body.setAttribute("data-layout", JSON.stringify(r));
});
</script>"""


def cmd_probe(path, out):
    import re

    with open(path, encoding="utf-8") as f:
        s = f.read()
    s = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", s)
    with open(out, "w", encoding="utf-8") as f:
        f.write(s.replace("</body>", PROBE + "</body>"))
    return 0


def cmd_layout(path):
    import html
    import re

    with open(path, encoding="utf-8", errors="replace") as f:
        m = re.search(r'data-layout="([^"]*)"', f.read())
    if not m:
        print("no data-layout in the dumped DOM", file=sys.stderr)
        return 1
    print(html.unescape(m.group(1)))
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "pae":
        return cmd_pae(argv[2], argv[3], argv[4])
    if len(argv) == 5 and argv[1] == "tamper":
        return cmd_tamper(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "sslib":
        return cmd_sslib(argv[2], argv[3])
    if len(argv) >= 4 and argv[1] == "schema":
        return cmd_schema(argv[2], argv[3:])
    if len(argv) == 3 and argv[1] == "payload":
        sys.stdout.buffer.write(b64d(load(argv[2])["payload"]))
        return 0
    if len(argv) == 4 and argv[1] == "probe":
        return cmd_probe(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "layout":
        return cmd_layout(argv[2])
    if len(argv) == 3 and argv[1] == "text":
        return cmd_text(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
