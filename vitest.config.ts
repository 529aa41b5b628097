// Six projects, one `npm test` ("fuzz", "proxies" and "load" run after the others, as
// `npm run test:fuzz`, `test:proxies`, `test:load`): "workers" runs
// inside workerd through the Workers pool, against real local KV; "cli" runs the CLI's tests in plain Node (the CLI is Node code: it
// spawns, reads files and talks to a stub admin server on 127.0.0.1); "browser" drives Debian's
// headless Chromium against the built Worker served by Miniflare on localhost, offline
// (scripts/ensure-chromium.mjs installs Chromium when it is missing); "proxies" puts Debian's
// nginx and Caddy in front of the built Worker (scripts/ensure-proxies.mjs installs them).
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

/**
 * The Workers pool: the main Worker inside workerd with real local KV and Durable Objects. The
 * "workers" and "fuzz" projects share it (`extraBindings` adds to the test-only secrets).
 */
const workersPool = (project: string, extraBindings: Record<string, string> = {}) =>
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
        ...extraBindings,
      },
      // A customer's Worker calling geogate through a real service binding (Workers RPC).
      // GEOGATE: the main Worker's own AccessCheck, as the Hono middleware's tests bind it.
      serviceBindings: { RPC_ORIGIN: 'rpc-origin', GEOGATE: { name: `vitest-pool-workers-runner-${project}`, entrypoint: 'AccessCheck' } },
      workers: [
        {
          name: 'rpc-origin',
          modules: true,
          scriptPath: './test/fixtures/workers/rpc-origin.js',
          compatibilityDate: '2026-05-01',
          // The pool runs the main Worker as vitest-pool-workers-runner-<project name>.
          serviceBindings: { GEOGATE: { name: `vitest-pool-workers-runner-${project}`, entrypoint: 'AccessCheck' } },
        },
      ],
    },
  });

export default defineConfig({
  test: {
    // Every decision prints one JSON line (docs/decision-logs.md): kept out of the test output,
    // still seen by the tests that spy on console.log.
    onConsoleLog: (log) => !log.includes('"event":"geogate.decision"'),
    projects: [
      {
        plugins: [workersPool('workers')],
        test: {
          name: 'workers',
          include: ['test/**/*.test.ts'],
          exclude: ['test/cli/**', 'test/client/**', 'test/browser/**', 'test/proxies/**', 'test/fuzz/**', 'test/load/**'],
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
        // Hostile input (`npm run test:fuzz`, scripts/test-fuzz.mjs): fast-check over the HTTP and RPC
        // surface inside workerd. FUZZ_RUNS sets the number of cases per property (fixed seed).
        plugins: [workersPool('fuzz', { FUZZ_RUNS: process.env.FUZZ_RUNS ?? '', FUZZ_SEED: process.env.FUZZ_SEED ?? '' })],
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          testTimeout: 30 * 60_000,
        },
      },
      {
        // Load (`npm run test:load`, scripts/test-load.mjs): the built Worker served by Miniflare on
        // 127.0.0.1, driven at the machine's capacity for LOAD_SECONDS.
        test: {
          name: 'load',
          include: ['test/load/**/*.test.ts'],
          environment: 'node',
          hookTimeout: 120_000,
          testTimeout: 30 * 60_000,
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
