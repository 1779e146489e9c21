#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads a pib-agent report and answers small queries on its predicate.

A report is either the bare predicate object, an in-toto Statement (predicate under
"predicate"), or a DSSE envelope whose base64 payload is such a Statement. load()
returns the predicate whichever form the file has.

Usage:
  report.py FILE                 the predicate, pretty JSON
  report.py FILE QUERY           the values QUERY selects, one per line
  report.py --json FILE QUERY    the values QUERY selects, as one JSON list
  report.py --form FILE          predicate | statement | envelope
  report.py --statement FILE [QUERY]
                                 the in-toto Statement (envelope or statement forms only),
                                 or the values QUERY selects in it (e.g. subject.digest.sha256)

QUERY is a dotted path; a list is walked element by element when no index is given:
  status                        succeeded
  error.code                    package.digest_mismatch
  packages.name                 every package name, one per line
  packages[name=jq].files       jq's files, one per line
  steps[name=install].status    ok
  packages[0].sha256            the first package's digest
Strings print as they are, null as "null", booleans as true/false, objects and lists
inside a value as compact JSON. Exit status: 0 when the query selected at least one
value, 1 when it selected nothing (e.g. error.code when error is null), 2 on a bad
file or query.
"""

import base64
import json
import re
import sys

__all__ = ["load", "load_statement", "form", "query", "render"]


class ReportError(Exception):
    pass


def _read(path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise ReportError(f"{path}: {e}") from e


def _is_envelope(doc):
    return isinstance(doc, dict) and "payloadType" in doc and "payload" in doc


def _is_statement(doc):
    return isinstance(doc, dict) and "predicate" in doc and ("_type" in doc or "subject" in doc)


def _decode_payload(env, path):
    payload = env["payload"]
    if not isinstance(payload, str):
        raise ReportError(f"{path}: payload is not a string")
    pad = "=" * (-len(payload) % 4)
    try:
        if "-" in payload or "_" in payload:
            raw = base64.urlsafe_b64decode(payload + pad)
        else:
            raw = base64.b64decode(payload + pad, validate=True)
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: payload: {e}") from e


def form(path):
    """'envelope', 'statement' or 'predicate'."""
    doc = _read(path)
    if _is_envelope(doc):
        return "envelope"
    if _is_statement(doc):
        return "statement"
    return "predicate"


def load_statement(path):
    """The in-toto Statement of an envelope or statement file."""
    doc = _read(path)
    if _is_envelope(doc):
        return _decode_payload(doc, path)
    if _is_statement(doc):
        return doc
    raise ReportError(f"{path}: not an envelope or a statement")


def load(path):
    """The predicate, whichever form the report has."""
    doc = _read(path)
    if _is_envelope(doc):
        doc = _decode_payload(doc, path)
    if _is_statement(doc):
        doc = doc["predicate"]
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: the predicate is not a JSON object")
    return doc


_SEG = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]|(\.)")


def _parse(q):
    """'a.b[name=x][0].c' -> [('key','a'),('key','b'),('filter',('name','x')),('index',0),('key','c')]"""
    out = []
    pos = 0
    while pos < len(q):
        m = _SEG.match(q, pos)
        if not m:
            raise ReportError(f"bad query at {pos}: {q!r}")
        pos = m.end()
        if m.group(1) is not None:
            out.append(("key", m.group(1)))
        elif m.group(2) is not None:
            inner = m.group(2)
            if re.fullmatch(r"-?\d+", inner):
                out.append(("index", int(inner)))
            elif "=" in inner:
                k, v = inner.split("=", 1)
                out.append(("filter", (k, v)))
            elif inner == "*":
                out.append(("all", None))
            else:
                raise ReportError(f"bad selector [{inner}] in {q!r}")
    return out


def _scalar_text(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def query(pred, q):
    """The list of values q selects in pred (see the module doc)."""
    stream = [pred]
    for kind, arg in _parse(q):
        nxt = []
        for v in stream:
            if kind == "key":
                if isinstance(v, dict):
                    if arg in v:
                        nxt.append(v[arg])
                elif isinstance(v, list):
                    nxt.extend(e[arg] for e in v if isinstance(e, dict) and arg in e)
            elif kind == "index":
                if isinstance(v, list) and -len(v) <= arg < len(v):
                    nxt.append(v[arg])
            elif kind == "all":
                if isinstance(v, list):
                    nxt.extend(v)
            else:
                k, want = arg
                cands = v if isinstance(v, list) else [v]
                nxt.extend(e for e in cands if isinstance(e, dict) and k in e and _scalar_text(e[k]) == want)
        stream = nxt
    return stream


def render(values):
    """Lines for the selected values; a selected list prints one element per line."""
    lines = []
    for v in values:
        if isinstance(v, list):
            lines.extend(_scalar_text(e) for e in v)
        else:
            lines.append(_scalar_text(v))
    return lines


def main(argv):
    as_json = False
    mode = None
    args = []
    for a in argv[1:]:
        if a == "--json":
            as_json = True
        elif a in ("--form", "--statement"):
            mode = a
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            args.append(a)
    if not args or len(args) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if mode == "--form":
            print(form(args[0]))
            return 0
        doc = load_statement(args[0]) if mode == "--statement" else load(args[0])
        if len(args) == 1:
            print(json.dumps(doc, indent=2, sort_keys=True))
            return 0
        values = query(doc, args[1])
    except ReportError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(values, sort_keys=True))
    else:
        for line in render(values):
            print(line)
    return 0 if values else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
