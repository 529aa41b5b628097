#!/usr/bin/env node
// npm run test:fuzz: the hostile-input suite (test/fuzz/, vitest project "fuzz", inside workerd).
//
//   npm run test:fuzz                  CI size: FUZZ_RUNS=200 cases per unit of weight (a few thousand in all)
//   npm run test:fuzz -- --full        at least 100 000 cases in total (FUZZ_RUNS sized from test/fuzz/weights.json)
//   npm run test:fuzz -- --runs 1000   FUZZ_RUNS=1000
//   npm run test:fuzz -- --seed 42     another fixed seed (default 20261126, or FUZZ_SEED)
//
// Each property runs round(FUZZ_RUNS x its weight) cases (test/fuzz/weights.json; a few are
// capped) with the same seed, records the count in its test's meta, and the summary below adds
// them up from reports/fuzz.json. Other arguments go to vitest (e.g. -t 'IP'). The exit code is
// vitest's, or 1 when --full ran fewer than 100 000 cases.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPORT = 'reports/fuzz.json';
const CI_RUNS = 200;
const FULL_TOTAL = 100_000;
const DEFAULT_SEED = 20261126;

function usage(message) {
  if (message) console.error(`test:fuzz: ${message}`);
  console.error('usage: npm run test:fuzz -- [--full | --runs N] [--seed S] [vitest arguments]');
  process.exit(2);
}

const weightsFile = JSON.parse(readFileSync(join(root, 'test/fuzz/weights.json'), 'utf8'));
const weights = Object.entries(weightsFile).filter(([name]) => !name.startsWith('_'));
const totalWeight = weights.reduce((sum, [, w]) => sum + w, 0);

let runs;
let full = false;
let seed = /^-?\d+$/.test(process.env.FUZZ_SEED ?? '') ? Number(process.env.FUZZ_SEED) : DEFAULT_SEED;
const passThrough = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const value = () => {
    const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
    if (v === undefined) usage(`${arg} needs a value`);
    return v;
  };
  if (arg === '--full') full = true;
  else if (arg === '--runs' || arg.startsWith('--runs=')) {
    const v = value();
    if (!/^\d+$/.test(v) || Number(v) < 1) usage(`--runs takes a positive integer, not ${v}`);
    runs = Number(v);
  } else if (arg === '--seed' || arg.startsWith('--seed=')) {
    const v = value();
    if (!/^-?\d+$/.test(v)) usage(`--seed takes an integer, not ${v}`);
    seed = Number(v);
  } else if (arg === '--help' || arg === '-h') usage();
  else passThrough.push(arg);
}
if (full && runs !== undefined) usage('--full and --runs are exclusive');
// Capped properties (harness.ts CAPS) run fewer than their weight says: 8% of headroom covers them.
if (full) runs = Math.ceil((FULL_TOTAL / totalWeight) * 1.08);
runs ??= /^\d+$/.test(process.env.FUZZ_RUNS ?? '') && Number(process.env.FUZZ_RUNS) > 0 ? Number(process.env.FUZZ_RUNS) : CI_RUNS;

const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
console.log(`test:fuzz: FUZZ_RUNS=${runs} (cases per unit of weight, ${Math.round(runs * totalWeight)} planned), FUZZ_SEED=${seed}${full ? ' (--full)' : ''}`);
const started = Date.now();
const result = spawnSync(
  process.execPath,
  [vitest, 'run', '--project', 'fuzz', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`, ...passThrough],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed) } },
);
const seconds = ((Date.now() - started) / 1000).toFixed(1);

let total = 0;
if (existsSync(join(root, REPORT))) {
  const report = JSON.parse(readFileSync(join(root, REPORT), 'utf8'));
  const rows = [];
  for (const file of report.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      const cases = test.meta?.fuzzCases;
      if (typeof cases !== 'number') continue;
      total += cases;
      rows.push(`  ${String(cases).padStart(7)}  ${test.status.padEnd(6)} ${relative(root, file.name)} > ${test.fullName}`);
    }
  }
  console.log(`\ntest:fuzz: cases per property (seed ${seed}):\n${rows.join('\n')}`);
}
console.log(`test:fuzz: ${total} cases in ${seconds} s (seed ${seed}, FUZZ_RUNS=${runs})`);
if (result.error) {
  console.error(`test:fuzz: could not run vitest: ${result.error.message}`);
  process.exit(1);
}
let code = result.status ?? 1;
if (full && code === 0 && total < FULL_TOTAL) {
  console.error(`test:fuzz: --full ran ${total} cases, fewer than ${FULL_TOTAL}`);
  code = 1;
}
process.exit(code);
