// The policy store against real local KV: TTL caching, last-known-good, degraded status.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/default';
import { ACTIVE_POLICY_KEY } from '../../src/policy/keys';
import { PolicyStore, type WaitUntil } from '../../src/policy/store';
import { defaultDocument, policyWith } from '../helpers';

const TTL = 30_000;
const T0 = Date.parse('2026-11-26T12:00:00Z');

/** The real KV binding, counting reads (a spy around the real thing, not a mock). */
function countingKv(failWith?: Error) {
  let reads = 0;
  const kv = {
    get: (key: string, type: 'text') => {
      reads++;
      if (failWith) return Promise.reject(failWith);
      return env.POLICY.get(key, type);
    },
  } as unknown as KVNamespace;
  return { kv, reads: () => reads };
}

function newStore(logs: string[] = []) {
  return new PolicyStore({ key: ACTIVE_POLICY_KEY, ttlMs: TTL, maxStaleMs: 2 * TTL, fallback: defaultPolicy, log: (m) => logs.push(m) });
}

const put = (value: unknown) => env.POLICY.put(ACTIVE_POLICY_KEY, typeof value === 'string' ? value : JSON.stringify(value));

beforeEach(async () => {
  await env.POLICY.delete(ACTIVE_POLICY_KEY);
});

describe('PolicyStore', () => {
  it('serves the embedded default when KV holds no policy', async () => {
    const store = newStore();
    const active = await store.get(env.POLICY, T0);
    expect(active.source).toBe('default');
    expect(active.compiled.version).toBe(defaultDocument().version);
    expect(store.status()?.status).toBe('ok');
  });

  it('serves a valid stored policy', async () => {
    await put(policyWith({ version: 'stored-1' }));
    const active = await newStore().get(env.POLICY, T0);
    expect(active).toMatchObject({ source: 'kv', loadedAt: T0 });
    expect(active.compiled.version).toBe('stored-1');
  });

  it('reads KV at most once per TTL, and again after it', async () => {
    await put(policyWith({ version: 'stored-1' }));
    const store = newStore();
    const { kv, reads } = countingKv();
    await store.get(kv, T0);
    await store.get(kv, T0 + 1_000);
    await store.get(kv, T0 + TTL - 1);
    expect(reads()).toBe(1);
    await put(policyWith({ version: 'stored-2' }));
    expect((await store.get(kv, T0 + TTL)).compiled.version).toBe('stored-2');
    expect(reads()).toBe(2);
  });

  it('compiles once per stored text', async () => {
    await put(policyWith({ version: 'stored-1' }));
    const store = newStore();
    const first = await store.get(env.POLICY, T0);
    const second = await store.get(env.POLICY, T0 + TTL);
    expect(second.compiled).toBe(first.compiled);
  });

  it('answers from the stale policy while refreshing in the background', async () => {
    await put(policyWith({ version: 'stored-1' }));
    const store = newStore();
    await store.get(env.POLICY, T0);
    await put(policyWith({ version: 'stored-2' }));
    const pending: Promise<unknown>[] = [];
    const waitUntil: WaitUntil = (p) => pending.push(p);
    expect((await store.get(env.POLICY, T0 + TTL + 1, waitUntil)).compiled.version).toBe('stored-1');
    expect((await store.get(env.POLICY, T0 + TTL + 2, waitUntil)).compiled.version).toBe('stored-1');
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect((await store.get(env.POLICY, T0 + TTL + 3, waitUntil)).compiled.version).toBe('stored-2');
  });

  it('waits for KV when the cached policy is older than maxStale', async () => {
    await put(policyWith({ version: 'stored-1' }));
    const store = newStore();
    await store.get(env.POLICY, T0);
    await put(policyWith({ version: 'stored-2' }));
    const active = await store.get(env.POLICY, T0 + 3 * TTL, () => {
      throw new Error('must not refresh in the background');
    });
    expect(active.compiled.version).toBe('stored-2');
  });

  it.each([
    ['corrupt JSON', '{"version": "broken",'],
    ['a policy that fails validation', JSON.stringify({ version: 'bad', rules: [{ id: 'x', type: 'country', action: 'deny', countries: ['ZZ'] }], score: { weights: {}, challengeAt: 1, denyAt: 2 } })],
    ['an empty value', ''],
  ])('keeps the last good policy when KV holds %s', async (_name, bad) => {
    const logs: string[] = [];
    const store = newStore(logs);
    await put(policyWith({ version: 'good-1' }));
    await store.get(env.POLICY, T0);
    await put(bad);
    const active = await store.get(env.POLICY, T0 + TTL);
    expect(active.source).toBe('last-known-good');
    expect(active.compiled.version).toBe('good-1');
    expect(active.loadedAt).toBe(T0);
    expect(store.status()).toMatchObject({ status: 'degraded', policy: { source: 'last-known-good', version: 'good-1' } });
    expect(store.status()?.error).not.toContain('ZZ');
    expect(logs.join('\n')).toMatch(/stored policy/);
  });

  it('falls back to the default when the first policy it sees is broken', async () => {
    await put('not json');
    const store = newStore();
    const active = await store.get(env.POLICY, T0);
    expect(active.source).toBe('default');
    expect(store.status()?.status).toBe('degraded');
  });

  it('recovers when a valid policy is stored again', async () => {
    const store = newStore();
    await put('not json');
    await store.get(env.POLICY, T0);
    await put(policyWith({ version: 'fixed-1' }));
    const active = await store.get(env.POLICY, T0 + TTL);
    expect(active).toMatchObject({ source: 'kv' });
    expect(store.status()?.status).toBe('ok');
  });

  it('recovers from a storage outage once the same good text reads again', async () => {
    await put(policyWith({ version: 'good-1' }));
    const store = newStore();
    await store.get(env.POLICY, T0);
    const down = countingKv(new Error('KV unavailable'));
    expect((await store.get(down.kv, T0 + TTL)).source).toBe('last-known-good');
    expect(store.status()?.error).toMatch(/storage unavailable/);
    expect((await store.get(env.POLICY, T0 + 2 * TTL)).source).toBe('kv');
    expect(store.status()?.status).toBe('ok');
  });

  it('serves the default, degraded, when storage fails before any load', async () => {
    const store = newStore();
    const active = await store.get(countingKv(new Error('boom')).kv, T0);
    expect(active.source).toBe('default');
    expect(store.status()?.status).toBe('degraded');
  });

  it('returns to the default when the stored policy is deleted', async () => {
    await put(policyWith({ version: 'stored-1' }));
    const store = newStore();
    await store.get(env.POLICY, T0);
    await env.POLICY.delete(ACTIVE_POLICY_KEY);
    expect((await store.get(env.POLICY, T0 + TTL)).source).toBe('default');
  });

  it('has no status before its first load, and none after reset', async () => {
    const store = newStore();
    expect(store.status()).toBeUndefined();
    await store.get(env.POLICY, T0);
    store.reset();
    expect(store.status()).toBeUndefined();
  });
});
