// How the Node-run tests (test/browser, test/proxies, test/cli) start wrangler: the repo's own copy, offline
// and quiet, its logs inside the project.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The repo's wrangler entry point, run with `process.execPath`. */
export const WRANGLER_BIN = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

/**
 * The environment wrangler runs in: no metrics or error reports, no banner (so no version check
 * against the npm registry), no cf fetch; its logs and config inside the project (.xdg/ is
 * gitignored).
 */
export const WRANGLER_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CI: 'true',
  XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME ?? join(ROOT, '.xdg'),
};
