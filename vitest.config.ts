// Tests run inside workerd through the Workers pool, against real local KV.
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './src/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Test-only secrets; the suite never reads .dev.vars.
        bindings: {
          CHECK_TOKEN: 'test-check-token-0123456789',
          ADMIN_TOKEN: 'test-admin-token-0123456789',
          GEO_FROM_CF: 'false',
        },
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
  },
});
