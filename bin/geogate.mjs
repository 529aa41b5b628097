#!/usr/bin/env node
// `npx geogate …` / `node bin/geogate.mjs …`: runs the CLI (src/cli/main.ts) on Node 20.
//
// Node 20 cannot run TypeScript, and the CLI must use the very schema and engine the Worker
// runs, so this launcher bundles src/cli/main.ts with esbuild (a devDependency) into
// dist/cli/geogate.mjs on first use, and again whenever a source it depends on changes: it keeps a
// SHA-256 of every file under src/ plus package-lock.json next to the bundle and rebuilds on any
// mismatch (~0.5 s; a check costs a few ms). No prepare/postinstall script is involved, so a fresh
// clone works after `npm ci`, and a checkout of another commit never runs a stale bundle. The
// bundle is written to a temporary name and renamed, so two first runs at once cannot see half a
// file. GEOGATE_CLI_REBUILD=1 forces a rebuild.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'cli');
const bundlePath = join(outDir, 'geogate.mjs');
const hashPath = join(outDir, 'geogate.sha256');

/** Hash of every source file the bundle can depend on (names and contents). */
function sourceHash() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) hash.update(`${relative(root, path)}\0`).update(readFileSync(path)).update('\0');
    }
  };
  walk(join(root, 'src'));
  hash.update(readFileSync(join(root, 'package-lock.json')));
  return hash.digest('hex');
}

function readOr(path, fallback) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

async function ensureBundle() {
  const want = sourceHash();
  if (process.env.GEOGATE_CLI_REBUILD !== '1' && readOr(hashPath, '') === want && readOr(bundlePath, '') !== '') return;
  let build;
  try {
    ({ build } = await import('esbuild'));
  } catch {
    process.stderr.write('geogate: the CLI is built on first use with esbuild, which is not installed: run `npm ci` (dev dependencies included) first\n');
    process.exit(2);
  }
  mkdirSync(outDir, { recursive: true });
  const tmp = `${bundlePath}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // commander is CommonJS: give its require() calls a real require in the ESM bundle.
    banner: { js: "import { createRequire as __geogateCreateRequire } from 'node:module'; const require = __geogateCreateRequire(import.meta.url);" },
  });
  renameSync(tmp, bundlePath);
  writeFileSync(`${hashPath}.${process.pid}.tmp`, want);
  renameSync(`${hashPath}.${process.pid}.tmp`, hashPath);
}

/** Node's side of the CLI's CliIo. */
function nodeIo() {
  return {
    stdout: { write: (s) => void process.stdout.write(s), isTTY: Boolean(process.stdout.isTTY) },
    stderr: { write: (s) => void process.stderr.write(s), isTTY: Boolean(process.stderr.isTTY) },
    env: process.env,
    readFile: (path) => readFile(path, 'utf8'),
    fetch: (input, init) => fetch(input, init),
    now: () => Date.now(),
  };
}

// `geogate … | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

await ensureBundle();
const { main } = await import(pathToFileURL(bundlePath).href);
process.exitCode = await main(process.argv.slice(2), nodeIo());
