// SPDX-License-Identifier: MIT
// Parses HCL2 files with HashiCorp's hcl (the @cdktf/hcl2json WebAssembly build) and prints
// one JSON object: {"FILE": <the file as JSON>, ...}. Exit 1 and the parser's message on
// stderr when a file does not parse. Needs NODE_PATH to hold the installed node_modules.
"use strict";
const fs = require("fs");
const { parse } = require("@cdktf/hcl2json");

(async () => {
  const out = {};
  for (const file of process.argv.slice(2)) {
    out[file] = await parse(file, fs.readFileSync(file, "utf8"));
  }
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
})().catch((e) => {
  process.stderr.write("hcl2json: " + String(e && e.message ? e.message : e) + "\n");
  process.exit(1);
});
