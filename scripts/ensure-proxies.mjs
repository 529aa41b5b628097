#!/usr/bin/env node
// Makes sure Debian's nginx and Caddy are installed for the proxy tests (vitest project "proxies",
// test/proxies/), which run the shipped examples/nginx and examples/caddy configurations for real.
// Prints nothing when both are there. Otherwise installs the missing Debian packages with apt-get,
// as root or through passwordless sudo, running `apt-get update` first only if the install fails
// (stale or missing package lists); exits non-zero with a message saying what to do when it cannot.
// The packages' own services are not needed: the tests start each proxy themselves, on loopback.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Each binary the tests run, and the Debian package that ships it. */
const PROXIES = [
  { binary: '/usr/sbin/nginx', pkg: 'nginx' },
  { binary: '/usr/bin/caddy', pkg: 'caddy' },
];

const missing = PROXIES.filter((p) => !existsSync(p.binary));
if (missing.length === 0) process.exit(0);
const packages = missing.map((p) => p.pkg);
const names = missing.map((p) => p.binary).join(' and ');

/** Stops with a message naming the way out. */
function fail(why) {
  console.error(`ensure-proxies: ${why}`);
  console.error(`ensure-proxies: the proxy tests need ${names}; install Debian's packages with \`apt-get install -y ${packages.join(' ')}\` as root.`);
  process.exit(1);
}

if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) fail(`${names} missing and this system has no apt-get.`);
const root = process.getuid?.() === 0;
if (!root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) fail(`${names} missing, and installing needs root or passwordless sudo.`);

/** Runs apt-get (non-interactively, its output shown); answers whether it succeeded. */
function aptGet(...args) {
  const command = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
  const [file, ...argv] = root ? command : ['sudo', '-n', ...command];
  const r = spawnSync(file, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status === 0;
}

// --no-install-recommends: the binaries are all the tests need. Debian's nginx package starts its
// service on install where a service manager runs; the tests use their own ports and prefix.
const install = ['install', '-y', '--no-install-recommends', ...packages];
console.log(`ensure-proxies: ${names} missing; installing Debian's ${packages.join(' and ')}`);
if (!aptGet(...install)) {
  console.log('ensure-proxies: the install failed; running apt-get update, then trying again');
  if (!aptGet('update')) fail('apt-get update failed (no network or no reachable Debian mirror?).');
  if (!aptGet(...install)) fail(`apt-get ${install.join(' ')} failed.`);
}
const still = missing.filter((p) => !existsSync(p.binary)).map((p) => p.binary);
if (still.length > 0) fail(`apt-get installed ${packages.join(' and ')}, but ${still.join(' and ')} still missing.`);
