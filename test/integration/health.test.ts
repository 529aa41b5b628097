// GET /healthz: liveness and the state of the policy in force.
import { createExecutionContext, SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { ACTIVE_POLICY_KEY } from '../../src/policy/keys';
import { activePolicyStore } from '../../src/policy/store';
import { defaultDocument, policyWith } from '../helpers';

beforeEach(async () => {
  await env.POLICY.delete(ACTIVE_POLICY_KEY);
  activePolicyStore.reset();
});

const health = async () => {
  const res = await SELF.fetch('https://geogate.test/healthz');
  expect(res.status).toBe(200);
  return res.json<Record<string, unknown>>();
};

describe('GET /healthz', () => {
  it('is ok on the default policy, without authentication', async () => {
    const body = await health();
    expect(body).toMatchObject({ status: 'ok', policy: { version: defaultDocument().version, source: 'default' } });
    expect(Date.parse((body.policy as { loadedAt: string }).loadedAt)).not.toBeNaN();
  });

  it('reports the stored policy', async () => {
    await env.POLICY.put(ACTIVE_POLICY_KEY, JSON.stringify(policyWith({ version: 'kv-3' })));
    expect(await health()).toMatchObject({ status: 'ok', policy: { version: 'kv-3', source: 'kv' } });
  });

  it('is degraded, naming the fallback, when the stored policy is corrupt', async () => {
    await env.POLICY.put(ACTIVE_POLICY_KEY, JSON.stringify(policyWith({ version: 'kv-3' })));
    await health();
    await env.POLICY.put(ACTIVE_POLICY_KEY, '{"version": 3}');
    activePolicyStore.invalidate();
    const body = await health();
    expect(body).toMatchObject({ status: 'degraded', policy: { version: 'kv-3', source: 'last-known-good' } });
    expect(body.error).toMatch(/last-known-good/);
  });

  it('does not read KV on every call', async () => {
    await health();
    await env.POLICY.put(ACTIVE_POLICY_KEY, JSON.stringify(policyWith({ version: 'kv-4' })));
    expect(await health()).toMatchObject({ policy: { source: 'default' } });
  });

  it('is degraded when a token is missing or shared', async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request('https://geogate.test/healthz'), { ...env, ADMIN_TOKEN: env.CHECK_TOKEN }, ctx);
    expect(await res.json()).toMatchObject({ status: 'degraded', config: ['CHECK_TOKEN and ADMIN_TOKEN must differ'] });
  });

  it('names each missing token', async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request('https://geogate.test/healthz'), { ...env, ADMIN_TOKEN: '' }, ctx);
    expect(await res.json()).toMatchObject({ status: 'degraded', config: ['ADMIN_TOKEN is not set'] });
  });

  it('answers HEAD and refuses other methods with 405', async () => {
    expect((await SELF.fetch('https://geogate.test/healthz', { method: 'HEAD' })).status).toBe(200);
    const res = await SELF.fetch('https://geogate.test/healthz', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});
