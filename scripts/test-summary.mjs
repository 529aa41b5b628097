#!/usr/bin/env node
// Prints the plain closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON
// reports (default: the reports of test:workers, test:fuzz, test:proxies and test:load, summed). Exits non-zero when a
// report is missing or records a failure.
import { existsSync, readFileSync } from 'node:fs';

const paths = process.argv.length > 2 ? process.argv.slice(2) : ['reports/vitest.json', 'reports/fuzz.json', 'reports/proxies.json', 'reports/load.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
let ok = true;
for (const path of paths) {
  if (!existsSync(path)) {
    console.log(`no test report at ${path}: that suite did not run (type-check, lint or an earlier suite failed first?)`);
    ok = false;
    continue;
  }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (report.success === false) ok = false;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || !ok ? 1 : 0);
