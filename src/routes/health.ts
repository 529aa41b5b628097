// GET /healthz: liveness plus the state of the policy in force. Unauthenticated and cheap: it
// reads KV only when the isolate's cached policy is older than the TTL, like any check would.
import { Hono } from 'hono';
import { tokenConfigProblems } from '../auth/bearer';
import type { AppEnv } from '../env';
import { activePolicyStore } from '../policy/store';
import { methodNotAllowed } from './errors';

/** Routes of /healthz. */
export const healthRoutes = new Hono<AppEnv>()
  .get('/healthz', async (c) => {
    const now = Date.now();
    await activePolicyStore.get(c.env.POLICY, now);
    const store = activePolicyStore.status();
    const config = tokenConfigProblems(c.env);
    const ok = store?.status === 'ok' && config.length === 0;
    c.header('Cache-Control', 'no-store');
    return c.json({
      status: ok ? 'ok' : 'degraded',
      ...(store ? { policy: store.policy } : {}),
      ...(store?.error !== undefined ? { error: store.error } : {}),
      ...(config.length > 0 ? { config } : {}),
    });
  })
  .all('/healthz', methodNotAllowed(['GET', 'HEAD']));
