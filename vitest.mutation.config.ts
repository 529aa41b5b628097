// Plain-Node vitest config for mutation testing (npm run test:mutation, stryker.config.json):
// only the unit tests that need no workerd binding, so that Stryker does not start a workerd
// per mutant. test/helpers.ts imports `cloudflare:test` and `cloudflare:workers` for its
// integration helpers; here they resolve to a stub that throws if a binding is touched.
// `npm test` keeps running every test, these included, inside workerd (vitest.config.ts).
import { defineConfig } from 'vitest/config';

const stub = new URL('./test/stubs/cloudflare.ts', import.meta.url).pathname;

export default defineConfig({
  resolve: {
    alias: { 'cloudflare:test': stub, 'cloudflare:workers': stub },
  },
  test: {
    include: ['test/unit/**/*.test.ts'],
    // Uses real KV through cloudflare:workers.
    exclude: ['test/unit/store.test.ts'],
    environment: 'node',
    // Instrumented code runs several times slower; Stryker's own timeout catches endless mutants.
    testTimeout: 60_000,
  },
});
