// GET /healthz: liveness, the policy in force with a typed cause when it is not the current one,
// configuration problems naming what they affect, and no 2xx for misrouted check traffic.
import { createExecutionContext, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { ACTIVE_POLICY_KEY } from '../../src/policy/keys';
import { activePolicyStore } from '../../src/store/active-policy';
import { CHECK_TOKEN, defaultDocument, FAILING_KV, policyWith, resetPolicyState, storePolicy } from '../helpers';

beforeEach(resetPolicyState);

const health = async () => {
  const res = await SELF.fetch('https://geogate.test/healthz');
  expect(res.status).toBe(200);
  return res.json<Record<string, unknown>>();
};

async function healthWith(overrides: Partial<Env>) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request('https://geogate.test/healthz'), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res.json<Record<string, unknown>>();
}

describe('GET /healthz', () => {
  it('is ok on the default policy, without authentication', async () => {
    const body = await health();
    expect(body).toMatchObject({ status: 'ok', policy: { version: defaultDocument().version, source: 'default' } });
    expect(body.cause).toBeUndefined();
    expect(Date.parse((body.policy as { loadedAt: string }).loadedAt)).not.toBeNaN();
  });

  it('reports the stored policy', async () => {
    await storePolicy(policyWith({ version: 'kv-3' }));
    expect(await health()).toMatchObject({ status: 'ok', policy: { version: 'kv-3', source: 'kv' } });
  });

  it('is degraded with a typed cause when the stored policy is corrupt', async () => {
    await storePolicy(policyWith({ version: 'kv-3' }));
    await health();
    await storePolicy('{"version": 3}');
    activePolicyStore.invalidate();
    await health();
    await activePolicyStore.settled();
    const body = await health();
    expect(body).toMatchObject({ status: 'degraded', policy: { version: 'kv-3', source: 'last-known-good' }, cause: { kind: 'invalid' } });
    expect(Date.parse((body.cause as { since: string }).since)).not.toBeNaN();
  });

  it('names the fail mode when no policy can be used', async () => {
    await storePolicy('not json');
    expect(await health()).toMatchObject({ status: 'degraded', policy: null, cause: { kind: 'invalid' }, failMode: { mode: 'closed', from: 'deployment' } });
  });

  it('is degraded, not failing, when storage is down', async () => {
    expect(await healthWith({ POLICY: FAILING_KV })).toMatchObject({ status: 'degraded', cause: { kind: 'storage-unavailable' } });
  });

  it('says degraded (cause timeout), without waiting past the load budget, when storage is slower than the budget', async () => {
    // The real binding, with every read of the current policy held back 2.5 s (over the 1.5 s budget).
    const real = env.POLICY;
    const slow = {
      get: async (key: string, type: 'stream') => {
        if (key === ACTIVE_POLICY_KEY) await new Promise((r) => setTimeout(r, 2_500));
        return real.get(key, type);
      },
      list: (options: KVNamespaceListOptions) => real.list(options),
      put: (key: string, value: string) => real.put(key, value),
    } as unknown as KVNamespace;
    const ctx = createExecutionContext();
    const started = Date.now();
    const res = await worker.fetch(new Request('https://geogate.test/healthz'), { ...env, POLICY: slow }, ctx);
    expect(Date.now() - started).toBeLessThan(2_400);
    expect(await res.json()).toMatchObject({ status: 'degraded', policy: null, cause: { kind: 'timeout' }, failMode: { mode: 'closed' } });
    await waitOnExecutionContext(ctx);
  });

  it('does not read KV on every call', async () => {
    await health();
    await storePolicy(policyWith({ version: 'kv-4' }));
    expect(await health()).toMatchObject({ policy: { source: 'default' } });
  });

  it.each<[string, Partial<Env>, Record<string, unknown>]>([
    ['check token missing', { CHECK_TOKEN: '' }, { setting: 'CHECK_TOKEN', problem: 'missing', affects: expect.stringContaining('/v1/check') as string }],
    ['admin token missing: affects admin routes, not the checks', { ADMIN_TOKEN: '' }, { setting: 'ADMIN_TOKEN', problem: 'missing', affects: expect.stringContaining('admin') as string }],
    ['FAIL_MODE invalid', { FAIL_MODE: 'sometimes' }, { setting: 'FAIL_MODE', problem: 'invalid' }],
    ['TRUST_FORWARDED_CF_HEADERS invalid', { TRUST_FORWARDED_CF_HEADERS: 'yes' }, { setting: 'TRUST_FORWARDED_CF_HEADERS', problem: 'invalid' }],
  ])('is degraded and names the setting when %s', async (_name, overrides, problem) => {
    const body = await healthWith(overrides);
    expect(body.status).toBe('degraded');
    expect(body.configProblems).toEqual([expect.objectContaining(problem)]);
    expect((body.config as string[]).length).toBe(1);
  });

  it('names both routes families when the two tokens are equal', async () => {
    const body = await healthWith({ ADMIN_TOKEN: CHECK_TOKEN });
    expect(body).toMatchObject({ status: 'degraded' });
    expect(body.configProblems).toEqual([
      expect.objectContaining({ setting: 'CHECK_TOKEN', problem: 'same-as-other' }),
      expect.objectContaining({ setting: 'ADMIN_TOKEN', problem: 'same-as-other' }),
    ]);
  });

  it('a missing ADMIN_TOKEN does not stop the check routes', async () => {
    const ctx = createExecutionContext();
    const request = new Request('https://geogate.test/v1/check', { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect((await worker.fetch(request, { ...env, ADMIN_TOKEN: '' }, ctx)).status).toBe(200);
  });

  it('answers HEAD and refuses other methods with 405', async () => {
    expect((await SELF.fetch('https://geogate.test/healthz', { method: 'HEAD' })).status).toBe(200);
    const res = await SELF.fetch('https://geogate.test/healthz', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it.each([
    ['the check token', { authorization: `Bearer ${CHECK_TOKEN}` }],
    ['any Authorization', { authorization: 'Bearer whatever-token-0123456' }],
    ['Geogate-Token', { 'geogate-token': CHECK_TOKEN }],
    ['a Geogate-* header', { 'geogate-country': 'US' }],
  ])('refuses a request carrying %s (misrouted check traffic never gets a 200)', async (_name, headers) => {
    for (const method of ['GET', 'HEAD']) {
      const res = await SELF.fetch('https://geogate.test/healthz', { method, headers });
      expect(res.status).toBe(400);
    }
  });
});
