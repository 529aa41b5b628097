#!/usr/bin/env node
// Builds the packages origins import (package.json "exports"): `geogate/client` and
// `geogate/browser` as plain ES modules in dist/lib/, so that Node 20 (which cannot run
// TypeScript), Bun, Deno, browsers and Workers all load the same file. `geogate/hono` ships as
// TypeScript: it only runs inside a bundled Worker, whose bundler compiles it.
// Runs on `npm install` (prepare) and before the tests; `--check` only reports sizes.
import { build } from 'esbuild';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What is built: the browser snippet is minified (its budget is 1 KiB), the client kept readable. */
const ENTRIES = [
  { entry: 'client/client.ts', out: 'dist/lib/client.js', minify: false, platform: 'neutral' },
  { entry: 'client/browser.ts', out: 'dist/lib/browser.js', minify: true, platform: 'browser' },
];

for (const { entry, out, minify, platform } of ENTRIES) {
  if (!existsSync(join(root, entry))) continue;
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform,
    minify,
    legalComments: 'none',
    logLevel: 'warning',
  });
  if (process.argv.includes('--verbose')) console.log(`${out}: ${statSync(join(root, out)).size} bytes`);
}
