// GET /healthz: liveness, the state of the policy in force, and configuration problems.
// Unauthenticated and cheap: it never refreshes in the foreground (a stale policy is refreshed in
// the background; only a cold isolate waits, at most the load budget, for its first load).
// A request carrying credentials or Geogate-* headers is check traffic that landed here by
// mistake (see src/http/guards.ts): it gets an error, never a 200.
import { Hono } from 'hono';
import { memoryStatus } from '../accounts/memory';
import type { AppEnv } from '../env';
import { challengeConfig, challengeProblems } from '../challenge/config';
import { revocationStatus } from '../challenge/revocations';
import { isLoopbackUrl, tokenConfigProblems } from '../http/auth';
import { methodNotAllowed } from '../http/errors';
import { refuseCredentialedTraffic } from '../http/guards';
import { deploymentSettings, devSecretProblems, settingProblems } from '../settings';
import { activePolicyStore } from '../store/active-policy';
import { activeIntelStore } from '../store/intel-store';
import { kvTextStore } from '../store/text-store';
import { waitUntilOf } from './decide';

/** Routes of /healthz. */
export const healthRoutes = new Hono<AppEnv>()
  .get('/healthz', refuseCredentialedTraffic, async (c) => {
    const now = Date.now();
    const kv = kvTextStore(c.env.POLICY);
    const waitUntil = waitUntilOf(c);
    const [store, intel] = await Promise.all([
      activePolicyStore.peek(kv, now, { waitUntil, failMode: deploymentSettings(c.env).failMode }),
      activeIntelStore.peek(kv, now, { waitUntil }),
    ]);
    // Dev-only secrets are expected on a loopback host (`npm start`) and a problem anywhere else.
    const url = c.req.url;
    const problems = [...tokenConfigProblems(c.env, url), ...settingProblems(c.env), ...devSecretProblems(c.env, isLoopbackUrl(url)), ...challengeProblems(c.env)];
    const challenge = challengeConfig(c.env, url);
    const memory = memoryStatus(now);
    const revocations = revocationStatus(now);
    const ok = store?.status === 'ok' && intel?.status === 'ok' && memory.status === 'ok' && revocations.status === 'ok' && problems.length === 0;
    c.header('Cache-Control', 'no-store');
    return c.json({
      // A cold isolate waits at most the load budget, then records a timeout: status is never unknown.
      status: ok ? 'ok' : 'degraded',
      policy: store?.policy ?? null,
      ...(store?.cause ? { error: store.cause.message, cause: store.cause } : {}),
      ...(store?.failMode ? { failMode: store.failMode } : {}),
      intel: intel ?? null,
      // This isolate's recent experience of the account and organisation memory objects.
      memory,
      // This isolate's recent clearance revocation reads: while they fail, clearances naming an
      // account are doubted (CLEARANCE_INVALID, revocation-unknown) and users are challenged again.
      revocations,
      // Whether challenged users can be cleared: clearances signed, Turnstile answers verified.
      challenge: {
        clearances: challenge.clearanceSecrets.length > 0 ? 'ok' : 'not-configured',
        keys: challenge.clearanceSecrets.length,
        turnstile: challenge.turnstile ? 'ok' : 'not-configured',
        page: challenge.page,
      },
      ...(problems.length > 0 ? { config: problems.map((p) => p.message), configProblems: problems } : {}),
    });
  })
  .all('/healthz', methodNotAllowed(['GET', 'HEAD']));
