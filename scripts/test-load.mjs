#!/usr/bin/env node
// `npm run test:load`: the load suite (vitest project "load", test/load/). The built Worker under
// a realistic mix at the machine's capacity, for 60 s by default (what CI runs):
//
//   npm run test:load                     60 s
//   npm run test:load -- --seconds 20     any duration (s)
//   npm run test:load -- --long           600 s (10 min)
//
// The duration reaches the test as LOAD_SECONDS (without a flag, a LOAD_SECONDS already set in the
// environment is kept); LOAD_CONCURRENCY, LOAD_WARMUP_SECONDS, LOAD_GC_SECONDS, LOAD_SEED and
// LOAD_CASES (diagnosis only, test/load/requests.ts) pass through from the environment. Writes reports/load.json (vitest's JSON report) and
// reports/load-summary.json (the figures); exits with vitest's code.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LONG_SECONDS = 600;
const DEFAULT_SECONDS = 60;

function usage(message) {
  if (message) console.error(`test-load: ${message}`);
  console.error('usage: npm run test:load [-- --seconds N | --long]');
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({ options: { seconds: { type: 'string' }, long: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } }, strict: true }));
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
if (values.help) usage();
if (values.long && values.seconds !== undefined) usage('give --seconds or --long, not both');
const given = values.seconds ?? (process.env.LOAD_SECONDS || undefined);
const seconds = values.long ? LONG_SECONDS : given === undefined ? DEFAULT_SECONDS : Number(given);
if (!Number.isFinite(seconds) || seconds <= 0) usage(`the duration must be a positive number of seconds (got ${given})`);

const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = [vitest, 'run', '--project', 'load', '--reporter=default', '--reporter=json', '--outputFile.json=reports/load.json'];
console.log(`test-load: ${seconds} s of load (LOAD_SECONDS=${seconds})`);
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, LOAD_SECONDS: String(seconds) } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (err) => {
  console.error(`test-load: cannot run vitest: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
