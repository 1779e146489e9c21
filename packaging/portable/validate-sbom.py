#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks a CycloneDX 1.5 JSON SBOM (the portable tree's sbom.cdx.json) against the official
JSON schema, with python3-jsonschema. The schema files (bom-1.5, spdx, jsf-0.82; as shipped in
the npm package @cyclonedx/cyclonedx-library, res/schema/*.SNAPSHOT.schema.json, vendored in
tests/cyclonedx) are read from SCHEMA_DIR. Usage: validate-sbom.py SCHEMA_DIR SBOM. Prints each error (at most 20) and the
count; exits 0 when valid, 1 when not, 2 on a usage or read error."""

import json
import os
import sys

import jsonschema

try:  # jsonschema >= 4.18
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7
except ImportError:  # Debian 12's python3-jsonschema 4.10: RefResolver with a store
    Registry = None
    from jsonschema import _validators

    def _extras_msg(extras):
        # 4.10 sorts the extra items for its message, which fails on objects (a licence
        # choice with two entries): the same message, unsorted
        return ", ".join(repr(e) for e in extras), "was" if len(extras) == 1 else "were"

    _validators.extras_msg = _extras_msg

NAMES = ("bom-1.5", "spdx", "jsf-0.82")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d, sbom = sys.argv[1], sys.argv[2]
    schemas = {}
    store = {}
    try:
        for n in NAMES:
            with open(os.path.join(d, n + ".SNAPSHOT.schema.json"), encoding="utf-8") as f:
                s = json.load(f)
            schemas[n] = s
            # the bom schema names the others relatively, as NAME.SNAPSHOT.schema.json
            store[s["$id"]] = s
            store["http://cyclonedx.org/schema/%s.SNAPSHOT.schema.json" % n] = s
        with open(sbom, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError, KeyError) as e:
        print("cannot read: %s" % e, file=sys.stderr)
        return 2
    bom = schemas["bom-1.5"]
    fc = jsonschema.FormatChecker()
    if Registry is not None:
        reg = Registry()
        for uri, s in store.items():
            reg = reg.with_resource(uri, Resource.from_contents(s, default_specification=DRAFT7))
        v = jsonschema.Draft7Validator(bom, registry=reg, format_checker=fc)
    else:
        v = jsonschema.Draft7Validator(bom, resolver=jsonschema.RefResolver(bom["$id"], bom, store=store),
                                       format_checker=fc)
    errs = sorted(v.iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    for e in errs[:20]:
        print("/".join(str(p) for p in e.path) + ": " + e.message[:300])
    print("%d errors against CycloneDX 1.5" % len(errs))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
