// Stand-in for `cloudflare:test` and `cloudflare:workers` when unit tests run in plain Node
// (vitest.mutation.config.ts, for Stryker). Only test/helpers.ts imports them, for helpers the
// unit tests run there never call; touching a binding here is a mistake, so it throws.
function unavailable(name: string): never {
  throw new Error(`${name} is a workerd binding: this test needs the Workers pool (npm run test:workers), not the plain-Node mutation config`);
}

const binding = (name: string) =>
  new Proxy(
    {},
    {
      get: (_target, key) => (key === 'then' ? undefined : unavailable(`${name}.${String(key)}`)),
    },
  );

/** `cloudflare:test`'s SELF: no Worker to call in plain Node. */
export const SELF = binding('SELF');
/** `cloudflare:workers`' env: no bindings in plain Node. */
export const env = binding('env');
