// What the benchmarks share to get at the code and data they measure: the TypeScript sources
// bundled by esbuild for Node, and the shipped network-intel lists.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Bundles bench/<entry>.mjs (and the sources it imports) into dist/bench/<out>.mjs; returns its path. */
export async function bundleEntry(entry, out) {
  const outfile = join(root, 'dist', 'bench', `${out}.mjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({ entryPoints: [join(root, 'bench', `${entry}.mjs`)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return outfile;
}

/**
 * Bundles bench/<entry>.mjs for workerd (an ES module Worker, no Node built-ins) into
 * dist/bench/<out>.mjs, minified like the deployed script; returns its path.
 */
export async function bundleWorkerEntry(entry, out) {
  const outfile = join(root, 'dist', 'bench', `${out}.mjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({ entryPoints: [join(root, 'bench', `${entry}.mjs`)], outfile, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', minify: true, logLevel: 'warning' });
  return outfile;
}

/** Bundles and imports an entry. */
export async function importEntry(entry, out) {
  return import(pathToFileURL(await bundleEntry(entry, out)).href);
}

/** The entries of one data/network-intel list file (comments and blank lines dropped). */
export function readIntelList(file) {
  return readFileSync(join(root, 'data', 'network-intel', file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * A fresh workerd isolate running the built Worker (Miniflare API, real local KV and the Durable
 * Objects of wrangler.toml), with random tokens (both returned, for /v1/check and the admin API)
 * and `bindings` added to (or replacing) the defaults, e.g. CLEARANCE_SECRET;
 * `await mf.ready` before use and `mf.dispose()` after.
 */
export function freshIsolate(scriptPath, settings, bindings = {}) {
  const checkToken = randomBytes(24).toString('hex');
  const adminToken = randomBytes(24).toString('hex');
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    compatibilityDate: settings.compatibilityDate,
    compatibilityFlags: settings.compatibilityFlags,
    kvNamespaces: ['POLICY'],
    // Every Durable Object binding of wrangler.toml (wranglerSettings().durableObjects): the admin
    // store and the account and organisation memory that checks naming an account consult.
    durableObjects: settings.durableObjects,
    bindings: { CHECK_TOKEN: checkToken, ADMIN_TOKEN: adminToken, GEO_FROM_CF: 'false', FAIL_MODE: 'closed', ...bindings },
  });
  return { mf, checkToken, adminToken };
}
