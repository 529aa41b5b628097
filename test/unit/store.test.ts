// The policy store against real local KV (wrapped to inject faults: throwing, slow, hanging and
// oversized reads): sources in order, fail modes, bounded work, coalesced loads, last good copy.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { ACTIVE_POLICY_KEY, LAST_GOOD_POLICY_KEY } from '../../src/policy/keys';
import { MAX_POLICY_ENTRIES } from '../../src/policy/limits';
import type { PolicyAnswer } from '../../src/store/policy-store';
import { kvTextStore, type TextStore } from '../../src/store/text-store';
import { defaultDocument, policyWith } from '../helpers';
import {
  clearPolicyKeys,
  newPolicyStore as newStore,
  putPolicy as put,
  STORE_T0,
  STORE_TIMINGS,
  storeRequest as request,
  testClock,
  holdingFirstActiveRead,
} from '../policy-store-helpers';

const { ttlMs: TTL, retryMs: RETRY, loadBudgetMs: BUDGET } = STORE_TIMINGS;
const T0 = STORE_T0;

/** A clock the test moves by hand. */

interface Faults {
  /** Every read throws this. */
  fail?: Error;
  /** Reads of the active key wait this long first. */
  delayMs?: number;
  /** Reads of the active key never settle. */
  hang?: boolean;
}

/** The real KV binding behind the TextStore interface, counting calls and injecting faults. */
function faultyStore(faults: Faults = {}) {
  const real = kvTextStore(env.POLICY);
  const calls = { reads: [] as string[], writes: [] as string[], maxBytes: [] as number[] };
  const store: TextStore = {
    async read(key, maxBytes) {
      calls.reads.push(key);
      calls.maxBytes.push(maxBytes);
      if (faults.fail) throw faults.fail;
      if (key === ACTIVE_POLICY_KEY && faults.hang) return new Promise(() => undefined);
      if (key === ACTIVE_POLICY_KEY && faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
      return real.read(key, maxBytes);
    },
    async write(key, text, metadata) {
      calls.writes.push(key);
      if (faults.fail) throw faults.fail;
      return real.write(key, text, metadata);
    },
    async metadata(key) {
      if (faults.fail) throw faults.fail;
      return real.metadata(key);
    },
  };
  return { store, calls, faults };
}


const versionOf = (a: PolicyAnswer) => (a.kind === 'policy' ? a.compiled.version : `fail-mode:${a.failMode}`);

beforeEach(clearPolicyKeys);

describe('sources', () => {
  it('serves the embedded default when storage holds no policy and never did (a fresh deployment)', async () => {
    const { store } = newStore();
    const a = await store.get(faultyStore().store, T0, request().options);
    expect(a).toMatchObject({ kind: 'policy', source: 'default' });
    expect(versionOf(a)).toBe(defaultDocument().version);
    expect(a.kind === 'policy' && a.failure).toBeFalsy();
    expect(store.status()?.status).toBe('ok');
  });

  it('serves a valid stored policy, and mirrors it to the last good copy once', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'stored-1' }));
    const { store } = newStore();
    const { store: kv, calls } = faultyStore();
    const r = request();
    expect(await store.get(kv, T0, r.options)).toMatchObject({ kind: 'policy', source: 'kv' });
    await r.drain();
    expect(calls.writes).toEqual([LAST_GOOD_POLICY_KEY]);
    const copy = await env.POLICY.getWithMetadata<Record<string, string>>(LAST_GOOD_POLICY_KEY, 'text');
    expect(JSON.parse(copy.value ?? '')).toMatchObject({ version: 'stored-1' });
    expect(copy.metadata).toMatchObject({ version: 'stored-1', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as string });
    // A second isolate accepting the same text does not write it again.
    const other = newStore();
    const r2 = request();
    await other.store.get(kv, T0, r2.options);
    await r2.drain();
    expect(calls.writes).toEqual([LAST_GOOD_POLICY_KEY]);
  });

  it.each([
    ['corrupt JSON', '{"version": "broken",'],
    ['a document that fails validation', JSON.stringify({ version: 'bad', rules: [{ id: 'x', type: 'country', action: 'deny', countries: ['ZZ'] }], score: { weights: {}, challengeAt: 1, denyAt: 2 } })],
    ['an empty value', ''],
    ['invalid UTF-8 turned to replacement characters', '{"version":"\uFFFD\uFFFD","rules":[],"score":{"weights":{},"challengeAt":1,"denyAt":2}}'],
  ])('keeps the last good policy (this isolate) when storage holds %s', async (_name, bad) => {
    const logs: string[] = [];
    const { store, clock } = newStore(testClock(), logs);
    const { store: kv } = faultyStore();
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'good-1' }));
    await store.get(kv, T0, request().options);
    await put(ACTIVE_POLICY_KEY, bad);
    clock.set(T0 + TTL);
    const a = await store.get(kv, T0 + TTL + 10 * TTL + 1, request().options);
    expect(a).toMatchObject({ kind: 'policy', source: 'last-known-good', loadedAt: T0, failure: { kind: 'invalid' } });
    expect(versionOf(a)).toBe('good-1');
    expect(store.status()).toMatchObject({ status: 'degraded', policy: { source: 'last-known-good', version: 'good-1' }, cause: { kind: 'invalid' } });
    expect(JSON.stringify(store.status())).not.toContain('ZZ');
    expect(logs.join('\n')).toMatch(/stored policy rejected/);
  });

  it('a NEW isolate facing a corrupt policy serves the last good copy from storage, never the default', async () => {
    // The allow-list policy denies BR; the default would allow it.
    await put(LAST_GOOD_POLICY_KEY, policyWith({ version: 'allow-list-1', rules: [{ id: 'markets', type: 'country-allowlist', action: 'deny', countries: ['US'] }] }));
    await put(ACTIVE_POLICY_KEY, 'not json');
    const { store } = newStore();
    const a = await store.get(faultyStore().store, T0, request().options);
    expect(a).toMatchObject({ kind: 'policy', source: 'last-known-good', failure: { kind: 'invalid' } });
    expect(versionOf(a)).toBe('allow-list-1');
  });

  it('with neither a usable policy nor a last good copy, the deployment fail mode answers', async () => {
    await put(ACTIVE_POLICY_KEY, 'not json');
    for (const mode of ['closed', 'challenge', 'open'] as const) {
      const { store } = newStore();
      const a = await store.get(faultyStore().store, T0, request(mode).options);
      expect(a).toEqual({ kind: 'unavailable', failMode: mode, failModeFrom: 'deployment', failure: { kind: 'invalid', message: expect.any(String) as string } });
    }
  });

  it("uses the stored document's own failMode when that field is readable and stricter than the deployment's", async () => {
    await put(ACTIVE_POLICY_KEY, JSON.stringify({ version: 'typo', failMode: 'challenge', rules: 'oops' }));
    const { store } = newStore();
    const a = await store.get(faultyStore().store, T0, request('open').options);
    expect(a).toMatchObject({ kind: 'unavailable', failMode: 'challenge', failModeFrom: 'policy' });
    expect(store.status()).toMatchObject({ status: 'degraded', policy: null, failMode: { mode: 'challenge', from: 'policy' } });
  });

  it('never lets a broken document loosen the deployment fail mode', async () => {
    await put(ACTIVE_POLICY_KEY, '{"version": "typo", "failMode": "open", "failMode": "open", "rules": 1}');
    const { store } = newStore();
    expect(await store.get(faultyStore().store, T0, request('closed').options)).toMatchObject({ kind: 'unavailable', failMode: 'closed', failModeFrom: 'deployment' });
  });

  it('ignores an unusable last good copy (edited by hand) and fails by the fail mode', async () => {
    await put(LAST_GOOD_POLICY_KEY, '{"broken"');
    await put(ACTIVE_POLICY_KEY, '{"broken too"');
    const { store, logs } = newStore();
    expect(await store.get(faultyStore().store, T0, request().options)).toMatchObject({ kind: 'unavailable', failMode: 'closed' });
    expect(logs.join('\n')).toMatch(/last good policy copy is itself unusable/);
  });

  it('a deleted policy is "missing" (not a fresh deployment) once a last good copy exists', async () => {
    await put(LAST_GOOD_POLICY_KEY, policyWith({ version: 'was-there' }));
    const { store } = newStore();
    const a = await store.get(faultyStore().store, T0, request().options);
    expect(a).toMatchObject({ kind: 'policy', source: 'last-known-good', failure: { kind: 'missing' } });
  });

  it('a policy deleted after this isolate loaded it is "missing" too', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'stored-1' }));
    const { store } = newStore();
    const { store: kv } = faultyStore();
    await store.get(kv, T0, request().options);
    await env.POLICY.delete(ACTIVE_POLICY_KEY);
    await env.POLICY.delete(LAST_GOOD_POLICY_KEY);
    store.invalidate();
    expect(await store.get(kv, T0 + 1, request().options)).toMatchObject({ source: 'last-known-good', failure: { kind: 'missing' } });
  });

  it('recovers when a valid policy is stored again', async () => {
    const { store, clock } = newStore();
    const { store: kv } = faultyStore();
    await put(ACTIVE_POLICY_KEY, 'not json');
    await store.get(kv, T0, request().options);
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'fixed-1' }));
    clock.set(T0 + RETRY);
    expect(await store.get(kv, T0 + 10 * TTL + 1, request().options)).toMatchObject({ kind: 'policy', source: 'kv' });
    expect(store.status()).toMatchObject({ status: 'ok' });
    expect(store.status()?.cause).toBeUndefined();
  });
});

describe('storage faults', () => {
  it('a cold isolate with storage down answers under the deployment fail mode', async () => {
    const { store } = newStore();
    const a = await store.get(faultyStore({ fail: new Error('KV down') }).store, T0, request('challenge').options);
    expect(a).toMatchObject({ kind: 'unavailable', failMode: 'challenge', failModeFrom: 'deployment', failure: { kind: 'storage-unavailable' } });
    expect(JSON.stringify(store.status())).not.toContain('KV down');
  });

  it('a warm isolate keeps its policy through an outage, says so, and recovers without a restart', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'good-1' }));
    const { store, clock } = newStore();
    await store.get(faultyStore().store, T0, request().options);
    const down = faultyStore({ fail: new Error('KV down') });
    clock.set(T0 + TTL);
    expect(await store.get(down.store, T0 + 11 * TTL, request().options)).toMatchObject({ source: 'last-known-good', failure: { kind: 'storage-unavailable' } });
    clock.set(T0 + TTL + RETRY);
    expect(await store.get(faultyStore().store, T0 + 12 * TTL, request().options)).toMatchObject({ source: 'kv' });
    expect(store.status()?.status).toBe('ok');
  });

  it('a cold isolate waits at most the load budget for slow storage, then the load completes in the background', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'slow-1' }));
    const { store } = newStore();
    const r = request();
    const started = Date.now();
    const a = await store.get(faultyStore({ delayMs: BUDGET + 300 }).store, T0, r.options);
    expect(Date.now() - started).toBeLessThan(BUDGET + 250);
    expect(a).toMatchObject({ kind: 'unavailable', failMode: 'closed', failure: { kind: 'timeout' } });
    await r.drain();
    expect(await store.get(faultyStore().store, T0 + 1, request().options)).toMatchObject({ kind: 'policy', source: 'kv' });
  });

  it('restarts a load that never settles once it is presumed lost', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'v1' }));
    const { store, clock } = newStore();
    const hung = faultyStore({ hang: true });
    expect((await store.get(hung.store, T0, request().options)).kind).toBe('unavailable');
    clock.set(T0 + 10_001);
    const healthy = faultyStore();
    expect(await store.get(healthy.store, T0 + 10_001, request().options)).toMatchObject({ kind: 'policy', source: 'kv' });
  });
  it('a load presumed lost whose read then throws changes nothing: the newer load stands, healthy', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'v1' }));
    let fail!: (e: Error) => void;
    const held = new Promise<never>((_resolve, reject) => (fail = reject));
    const kv = holdingFirstActiveRead(held);
    const { store, clock } = newStore();
    const r1 = request();
    expect((await store.get(kv, T0, r1.options)).kind).toBe('unavailable');
    clock.set(T0 + 10_001);
    expect(await store.get(kv, T0 + 10_001, request().options)).toMatchObject({ kind: 'policy', source: 'kv' });
    fail(new Error('KV down'));
    await r1.drain();
    await store.settled();
    expect(await store.get(kv, T0 + 10_002, request().options)).toMatchObject({ kind: 'policy', source: 'kv', snapshot: expect.any(String) as string });
    expect(store.status()?.status).toBe('ok');
  });
});

describe('bounded work', () => {
  it('reads storage at most once per TTL, and again after it', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'stored-1' }));
    const { store, clock } = newStore();
    const { store: kv, calls } = faultyStore();
    await store.get(kv, T0, request().options);
    await store.get(kv, T0 + 1_000, request().options);
    await store.get(kv, T0 + TTL - 1, request().options);
    expect(calls.reads.filter((k) => k === ACTIVE_POLICY_KEY)).toHaveLength(1);
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'stored-2' }));
    clock.set(T0 + TTL);
    const r = request();
    // Stale: answers at once from what it has, refreshing in the background.
    expect(versionOf(await store.get(kv, T0 + TTL, r.options))).toBe('stored-1');
    await r.drain();
    expect(versionOf(await store.get(kv, T0 + TTL + 1, request().options))).toBe('stored-2');
    expect(calls.reads.filter((k) => k === ACTIVE_POLICY_KEY)).toHaveLength(2);
  });

  it('compiles once per stored text', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'stored-1' }));
    const { store, clock } = newStore();
    const { store: kv } = faultyStore();
    const first = await store.get(kv, T0, request().options);
    clock.set(T0 + TTL);
    store.invalidate();
    const second = await store.get(kv, T0 + 20 * TTL, request().options);
    expect(first.kind === 'policy' && second.kind === 'policy' && second.compiled === first.compiled).toBe(true);
  });

  it('coalesces concurrent cold loads into one storage read', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'stored-1' }));
    const { store } = newStore();
    const { store: kv, calls } = faultyStore({ delayMs: 20 });
    const answers = await Promise.all(Array.from({ length: 50 }, () => store.get(kv, T0, request().options)));
    expect(calls.reads.filter((k) => k === ACTIVE_POLICY_KEY)).toHaveLength(1);
    expect(new Set(answers.map(versionOf))).toEqual(new Set(['stored-1']));
  });

  it('never validates a rejected text twice', async () => {
    await put(ACTIVE_POLICY_KEY, '{"version": "broken"');
    const logs: string[] = [];
    const { store, clock } = newStore(testClock(), logs);
    const { store: kv } = faultyStore();
    for (let i = 0; i < 5; i++) {
      clock.set(T0 + i * RETRY);
      store.invalidate();
      await store.get(kv, T0 + i * 20 * TTL, request().options);
    }
    expect(logs.filter((l) => l.includes('stored policy rejected'))).toHaveLength(1);
  });

  it('stops reading at the byte bound', async () => {
    await put(ACTIVE_POLICY_KEY, JSON.stringify({ ...policyWith(), description: 'x'.repeat(200_000) }));
    const { store } = newStore(testClock(), [], 64 * 1024);
    const { store: kv, calls } = faultyStore();
    const a = await store.get(kv, T0, request().options);
    expect(calls.maxBytes[0]).toBe(64 * 1024);
    expect(a).toMatchObject({ kind: 'unavailable', failure: { kind: 'too-large' } });
  });

  it('rejects a document with too many entries before validating it', async () => {
    const cidrs = Array.from({ length: MAX_POLICY_ENTRIES + 1 }, () => '10.0.0.0/8');
    await put(ACTIVE_POLICY_KEY, JSON.stringify(policyWith({ rules: [{ id: 'big', type: 'cidr', action: 'deny', cidrs }] })));
    const { store } = newStore();
    const started = Date.now();
    const a = await store.get(faultyStore().store, T0, request().options);
    expect(a).toMatchObject({ kind: 'unavailable', failure: { kind: 'too-large' } });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('has no status before its first load, and none after reset', async () => {
    const { store } = newStore();
    expect(store.status()).toBeUndefined();
    await store.get(faultyStore().store, T0, request().options);
    store.reset();
    expect(store.status()).toBeUndefined();
  });
});

describe('peek (for /healthz)', () => {
  it('never waits on a refresh: a stale status comes back at once and refreshes in the background', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'v1' }));
    const { store, clock } = newStore();
    await store.get(faultyStore().store, T0, request().options);
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'v2' }));
    clock.set(T0 + TTL);
    const slow = faultyStore({ delayMs: 500 });
    const r = request();
    const started = Date.now();
    expect(await store.peek(slow.store, T0 + TTL, r.options)).toMatchObject({ policy: { version: 'v1' } });
    expect(Date.now() - started).toBeLessThan(200);
    await r.drain();
    expect(store.status()).toMatchObject({ policy: { version: 'v2' } });
  });
});
