// What the generator scripts share: importing TypeScript sources of src/ in Node, bundled by
// esbuild in memory (no build output on disk, nothing to clean up).
import { Buffer } from 'node:buffer';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository's root directory. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Bundles `source` (TypeScript re-exporting what the script needs, with paths relative to the
 * repository's root, e.g. `export { buildIntel } from './src/intel/build';`) for Node and imports it.
 */
export async function importTs(source) {
  const r = await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'warning',
  });
  return import(`data:text/javascript;base64,${Buffer.from(r.outputFiles[0].text).toString('base64')}`);
}
