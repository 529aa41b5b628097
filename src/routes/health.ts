// GET /healthz: liveness, the state of the policy in force, and configuration problems.
// Unauthenticated and cheap: it never refreshes in the foreground (a stale policy is refreshed in
// the background; only a cold isolate waits, at most the load budget, for its first load).
//
// Promise 3: only a decision says yes. A request carrying credentials or Geogate-* headers is a
// forward-auth or check request that landed here by mistake (a path such as
// /v1/authorize/%2e%2e/%2e%2e/healthz normalises to /healthz): it gets an error, never a 200.
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { TOKEN_HEADER, tokenConfigProblems } from '../http/auth';
import { apiError, methodNotAllowed } from '../http/errors';
import { deploymentSettings, settingProblems } from '../settings';
import { activePolicyStore } from '../store/active-policy';
import { kvTextStore } from '../store/text-store';
import { waitUntilOf } from './decide';

/** Refuses requests that carry a token or any Geogate-* header (see the module comment). */
export const refuseCheckTraffic = createMiddleware<AppEnv>(async (c, next) => {
  const headers = c.req.raw.headers;
  let misrouted = headers.has('authorization') || headers.has(TOKEN_HEADER);
  if (!misrouted) for (const name of headers.keys()) if (name.startsWith('geogate-')) misrouted = true;
  if (misrouted) {
    return apiError(c, 400, 'MISROUTED', 'This route takes no credentials and no Geogate-* headers: a check or forward-auth request reached it by mistake.');
  }
  await next();
});

/** Routes of /healthz. */
export const healthRoutes = new Hono<AppEnv>()
  .get('/healthz', refuseCheckTraffic, async (c) => {
    const now = Date.now();
    const store = await activePolicyStore.peek(kvTextStore(c.env.POLICY), now, {
      waitUntil: waitUntilOf(c),
      failMode: deploymentSettings(c.env).failMode,
    });
    const problems = [...tokenConfigProblems(c.env), ...settingProblems(c.env)];
    const ok = store?.status === 'ok' && problems.length === 0;
    c.header('Cache-Control', 'no-store');
    return c.json({
      status: store === undefined ? 'starting' : ok ? 'ok' : 'degraded',
      policy: store?.policy ?? null,
      ...(store?.cause ? { error: store.cause.message, cause: store.cause } : {}),
      ...(store?.failMode ? { failMode: store.failMode } : {}),
      ...(problems.length > 0 ? { config: problems.map((p) => p.message), configProblems: problems } : {}),
    });
  })
  .all('/healthz', methodNotAllowed(['GET', 'HEAD']));
