// Four projects, one `npm test` ("proxies" runs last, as `npm run test:proxies`): "workers" runs
// inside workerd through the Workers pool, against real local KV; "cli" runs the CLI's tests in plain Node (the CLI is Node code: it
// spawns, reads files and talks to a stub admin server on 127.0.0.1); "browser" drives Debian's
// headless Chromium against the built Worker served by Miniflare on localhost, offline
// (scripts/ensure-chromium.mjs installs Chromium when it is missing); "proxies" puts Debian's
// nginx and Caddy in front of the built Worker (scripts/ensure-proxies.mjs installs them).
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every decision prints one JSON line (docs/decision-logs.md): kept out of the test output,
    // still seen by the tests that spy on console.log.
    onConsoleLog: (log) => !log.includes('"event":"geogate.decision"'),
    projects: [
      {
        plugins: [
          cloudflareTest({
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // Test-only secrets; the suite never reads .dev.vars.
              bindings: {
                CHECK_TOKEN: 'test-check-token-0123456789',
                ADMIN_TOKEN: 'test-admin-token-0123456789',
                MEMORY_HASH_SECRET: 'test-memory-hash-secret',
                GEO_FROM_CF: 'false',
                // Cloudflare's Turnstile test keys (always pass); siteverify itself is stubbed.
                CLEARANCE_SECRET: 'test-clearance-secret-0123456789abcdef',
                CLEARANCE_SECRET_PREVIOUS: 'test-previous-clearance-secret-0123456789',
                TURNSTILE_SECRET: '1x0000000000000000000000000000000AA',
                TURNSTILE_SITE_KEY: '1x00000000000000000000AA',
                TURNSTILE_HOSTNAMES: 'example.com,localhost',
                CHALLENGE_PAGE: 'true',
              },
              // A customer's Worker calling geogate through a real service binding (Workers RPC).
              // GEOGATE: the main Worker's own AccessCheck, as the Hono middleware's tests bind it.
              serviceBindings: { RPC_ORIGIN: 'rpc-origin', GEOGATE: { name: 'vitest-pool-workers-runner-workers', entrypoint: 'AccessCheck' } },
              workers: [
                {
                  name: 'rpc-origin',
                  modules: true,
                  scriptPath: './test/fixtures/workers/rpc-origin.js',
                  compatibilityDate: '2026-05-01',
                  // The pool runs the main Worker under this name (the project's name is "workers").
                  serviceBindings: { GEOGATE: { name: 'vitest-pool-workers-runner-workers', entrypoint: 'AccessCheck' } },
                },
              ],
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/**/*.test.ts'],
          exclude: ['test/cli/**', 'test/client/**', 'test/browser/**', 'test/proxies/**'],
          // Property tests take ~2 s on an idle 2-core machine and more on a busy one; vitest's
          // 5 s default would fail them for the machine, not for the code.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'cli',
          include: ['test/cli/**/*.test.ts', 'test/client/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          // Building the bundle (wrangler deploy --dry-run), starting workerd and Chromium take ~3 s
          // on an idle 2-core machine; the bounds are for a busy one (a bench running beside it).
          hookTimeout: 120_000,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'proxies',
          include: ['test/proxies/**/*.test.ts'],
          environment: 'node',
          // Building the bundle and starting workerd, nginx and Caddy take a few seconds on an idle
          // 2-core machine; the bounds are for a busy one.
          hookTimeout: 120_000,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
