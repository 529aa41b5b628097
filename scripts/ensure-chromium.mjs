#!/usr/bin/env node
// Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests (vitest project
// "browser"; playwright-core drives it, and `npx playwright install` cannot download here).
// Prints nothing when it is there. Otherwise installs Debian's `chromium` with apt-get, as root or
// through passwordless sudo, running `apt-get update` first only if the install fails (stale or
// missing package lists); exits non-zero with a message saying what to do when it cannot.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

if (existsSync(CHROMIUM)) process.exit(0);

/** Stops with a message naming the way out. */
function fail(why) {
  console.error(`ensure-chromium: ${why}`);
  console.error(`ensure-chromium: the browser tests need ${CHROMIUM}; install Debian's package with \`apt-get install -y chromium\` as root.`);
  process.exit(1);
}

if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) fail(`${CHROMIUM} is missing and this system has no apt-get.`);
const root = process.getuid?.() === 0;
if (!root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) fail(`${CHROMIUM} is missing, and installing it needs root or passwordless sudo.`);

/** Runs apt-get (non-interactively, its output shown); answers whether it succeeded. */
function aptGet(...args) {
  const command = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
  const [file, ...argv] = root ? command : ['sudo', '-n', ...command];
  const r = spawnSync(file, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status === 0;
}

console.log(`ensure-chromium: ${CHROMIUM} is missing; installing Debian's chromium`);
if (!aptGet('install', '-y', 'chromium')) {
  console.log('ensure-chromium: the install failed; running apt-get update, then trying again');
  if (!aptGet('update')) fail('apt-get update failed (no network or no reachable Debian mirror?).');
  if (!aptGet('install', '-y', 'chromium')) fail('apt-get install -y chromium failed.');
}
if (!existsSync(CHROMIUM)) fail(`apt-get installed chromium, but ${CHROMIUM} is still missing.`);
