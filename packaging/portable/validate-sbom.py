#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks a CycloneDX 1.5 JSON SBOM (the portable tree's sbom.cdx.json) against the official
JSON schema, with python3-jsonschema. The schema files (bom-1.5, spdx, jsf-0.82; as shipped in
the npm package @cyclonedx/cyclonedx-library, res/schema/*.SNAPSHOT.schema.json) are read from
SCHEMA_DIR. Usage: validate-sbom.py SCHEMA_DIR SBOM. Prints each error (at most 20) and the
count; exits 0 when valid, 1 when not, 2 on a usage or read error."""

import json
import os
import sys

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

NAMES = ("bom-1.5", "spdx", "jsf-0.82")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d, sbom = sys.argv[1], sys.argv[2]
    reg = Registry()
    schemas = {}
    try:
        for n in NAMES:
            with open(os.path.join(d, n + ".SNAPSHOT.schema.json"), encoding="utf-8") as f:
                s = json.load(f)
            schemas[n] = s
            r = Resource.from_contents(s, default_specification=DRAFT7)
            # the bom schema names the others relatively, as NAME.SNAPSHOT.schema.json
            reg = reg.with_resource(s["$id"], r).with_resource(
                "http://cyclonedx.org/schema/%s.SNAPSHOT.schema.json" % n, r)
        with open(sbom, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError, KeyError) as e:
        print("cannot read: %s" % e, file=sys.stderr)
        return 2
    v = jsonschema.Draft7Validator(schemas["bom-1.5"], registry=reg, format_checker=jsonschema.FormatChecker())
    errs = sorted(v.iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    for e in errs[:20]:
        print("/".join(str(p) for p in e.path) + ": " + e.message[:300])
    print("%d errors against CycloneDX 1.5" % len(errs))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
