#!/usr/bin/env node
// `npm run gen:openapi`: src/openapi/document.ts (the routes' zod schemas through
// @hono/zod-openapi) -> src/openapi/openapi-document.ts, the document's JSON text that
// GET /openapi.json serves. Built here, not in the Worker, so that the generator and zod's
// locales stay out of the deployed script. Deterministic: rerun it after changing a route's
// schema or documentation (or bumping zod / @hono/zod-openapi), review the diff, commit both.
// `--check` rebuilds in memory and fails when the committed module differs (run by `npm run lint`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { importTs, root } from './lib/import-ts.mjs';

const OUT = 'src/openapi/openapi-document.ts';

const { renderOpenApiModule } = await importTs("export { renderOpenApiModule } from './src/openapi/document';");
const module = renderOpenApiModule();
let current = '';
try {
  current = readFileSync(join(root, OUT), 'utf8');
} catch {
  // missing file: written below, or reported as stale under --check
}
if (process.argv.includes('--check')) {
  if (current !== module) {
    console.error(`${OUT} is out of date with the routes' schemas (src/openapi/document.ts): run npm run gen:openapi`);
    process.exit(1);
  }
} else if (current === module) {
  console.log(`${OUT} is up to date`);
} else {
  writeFileSync(join(root, OUT), module);
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`wrote ${OUT}: ${kib(module.length)} (gzip ${kib(gzipSync(module).length)})`);
}
