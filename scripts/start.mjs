#!/usr/bin/env node
// `npm start`: runs geogate locally, offline, on 127.0.0.1:8787.
// 1. Creates .dev.vars from .dev.vars.example when missing (dev-only tokens).
// 2. Seeds local KV with the default policy unless a policy is already stored, and with the
//    bundled network intel (intel:<sha256> and the intel:active pointer) unless intel is already
//    stored (idempotent: what you pushed locally survives restarts; delete .wrangler/state to
//    start over).
// 3. Runs `wrangler dev` with telemetry and network look-ups switched off.
// Extra arguments are passed to wrangler dev and override the defaults (e.g. `npm start -- --port 8788`).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundledIntel } from './build-intel.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const POLICY_KEY = 'policy:active';
const INTEL_KEY = 'intel:active';
const DEFAULT_POLICY = 'src/policy/default-policy.json';

const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  // The banner comes with a version check against the npm registry: no network, no banner.
  WRANGLER_HIDE_BANNER: 'true',
  // Keeps wrangler's logs and config inside the project instead of the user's home.
  XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME ?? join(root, '.xdg'),
};
mkdirSync(env.XDG_CONFIG_HOME, { recursive: true });

const wrangler = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

function runWrangler(args) {
  const r = spawnSync(process.execPath, [wrangler, ...args], { cwd: root, env: { ...env, CI: 'true' }, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error(`wrangler ${args.join(' ')} failed (exit ${r.status})`);
  }
  return r.stdout;
}

function wranglerVersion() {
  return JSON.parse(readFileSync(join(root, 'node_modules', 'wrangler', 'package.json'), 'utf8')).version;
}

if (!existsSync(join(root, '.dev.vars'))) {
  copyFileSync(join(root, '.dev.vars.example'), join(root, '.dev.vars'));
  console.log('geogate: created .dev.vars from .dev.vars.example (dev-only tokens, never deploy them)');
}

const listed = JSON.parse(runWrangler(['kv', 'key', 'list', '--binding', 'POLICY', '--local', '--prefix', POLICY_KEY]));
if (listed.some((k) => k.name === POLICY_KEY)) {
  console.log(`geogate: local KV already holds ${POLICY_KEY}; leaving it as it is`);
} else {
  runWrangler(['kv', 'key', 'put', POLICY_KEY, '--path', DEFAULT_POLICY, '--binding', 'POLICY', '--local']);
  console.log(`geogate: seeded local KV ${POLICY_KEY} with ${DEFAULT_POLICY}`);
}

const intelListed = JSON.parse(runWrangler(['kv', 'key', 'list', '--binding', 'POLICY', '--local', '--prefix', INTEL_KEY]));
if (intelListed.some((k) => k.name === INTEL_KEY)) {
  console.log(`geogate: local KV already holds ${INTEL_KEY}; leaving it as it is`);
} else {
  const { text, id, version } = readBundledIntel();
  const dir = mkdtempSync(join(tmpdir(), 'geogate-intel-'));
  try {
    // The artifact first (the pointer must never name a missing key), then the pointer.
    const artifact = join(dir, 'intel.json');
    writeFileSync(artifact, text);
    runWrangler(['kv', 'key', 'put', `intel:${id}`, '--path', artifact, '--binding', 'POLICY', '--local']);
    const pointer = join(dir, 'pointer.json');
    writeFileSync(pointer, JSON.stringify({ geogate: 'intel-pointer', schema: 1, artifact: id, version, storedAt: new Date().toISOString(), storedBy: 'npm start' }));
    runWrangler(['kv', 'key', 'put', INTEL_KEY, '--path', pointer, '--binding', 'POLICY', '--local']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`geogate: seeded local KV ${INTEL_KEY} with the bundled network intel ${version}`);
}

console.log(`geogate: starting wrangler ${wranglerVersion()} dev (offline, local KV, no telemetry)`);
// Defaults apply only where the caller did not choose: wrangler refuses a flag given twice.
const extra = process.argv.slice(2);
const given = (flag) => extra.some((a) => a === flag || a.startsWith(`${flag}=`));
const defaults = [];
if (!given('--ip')) defaults.push('--ip', '127.0.0.1');
if (!given('--port')) defaults.push('--port', '8787');
if (!given('--show-interactive-dev-session')) defaults.push('--show-interactive-dev-session=false');
const dev = spawn(process.execPath, [wrangler, 'dev', ...defaults, ...extra], { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
dev.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
