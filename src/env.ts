// Types of the Worker's environment. Binding types come from `wrangler types`
// (worker-configuration.d.ts, regenerate after editing wrangler.toml).

/** Hono environment of every route: the Worker's bindings. */
export interface AppEnv {
  Bindings: Env;
}
