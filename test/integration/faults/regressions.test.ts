// Regressions the fault suite found (docs/faults.md, "Bugs found"), each pinned at the level of
// the store or module that was fixed; the matrix files show the same end to end.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { ACTIVE_POLICY_KEY } from '../../../src/policy/keys';
import { buildSnapshot, snapshotKey } from '../../../src/policy/snapshot';
import { kvTextStore, type TextStore } from '../../../src/store/text-store';
import { policyWith } from '../../helpers';
import { clearPolicyKeys, newPolicyStore, putPolicy, STORE_T0, STORE_TIMINGS, storeRequest } from '../../policy-store-helpers';

beforeEach(clearPolicyKeys);

/** A pointer to a snapshot stored in KV, as the admin store writes them. */
async function storedPointer(version: string): Promise<{ pointer: string; id: string; text: string }> {
  const built = await buildSnapshot(policyWith({ version, rules: [{ id: 'markets', type: 'country-allowlist', action: 'deny', countries: ['US'] }] }), new Map());
  if (!built.ok) throw new Error(JSON.stringify(built.issues));
  await env.POLICY.put(snapshotKey(built.id), built.text);
  const pointer = JSON.stringify({ geogate: 'pointer', schema: 1, snapshot: built.id, policyVersion: version, lists: {}, revision: 1, storedAt: new Date(STORE_T0).toISOString(), storedBy: 'test' });
  await putPolicy(ACTIVE_POLICY_KEY, pointer);
  return { pointer, id: built.id, text: built.text };
}

/** Real KV, except that reads of `key` answer `bad` (a torn or oversized read) while `broken()` says so. */
function storeBreaking(key: string, bad: () => ReturnType<TextStore['read']>, broken: () => boolean): TextStore {
  const real = kvTextStore(env.POLICY);
  return { read: (k, max) => (k === key && broken() ? bad() : real.read(k, max)), write: (k, t, m) => real.write(k, t, m), metadata: (k) => real.metadata(k) };
}

describe('policy store: a snapshot read that is not the snapshot is retried, not held against the pointer', () => {
  it.each<[string, (text: string) => ReturnType<TextStore['read']>]>([
    ['a torn read (half the text: it does not hash to the id)', (text) => Promise.resolve({ kind: 'text', text: text.slice(0, text.length >> 1) })],
    ['an oversized read', () => Promise.resolve({ kind: 'too-large', bytes: 16 * 1024 * 1024 + 1 })],
  ])('%s: the fail mode answers meanwhile; once reads are whole the same pointer loads, without a reset', async (_name, bad) => {
    const { id, text } = await storedPointer(`torn-${crypto.randomUUID()}`);
    let broken = true;
    const kv = storeBreaking(snapshotKey(id), () => bad(text), () => broken);
    const { store, clock } = newPolicyStore();
    const r1 = storeRequest();
    const first = await store.get(kv, STORE_T0, r1.options);
    expect(first.kind === 'unavailable' && ['invalid', 'too-large'].includes(first.failure.kind)).toBe(true);
    await r1.drain();
    // Was: the pointer's text was remembered as rejected, so the isolate kept the fail mode until
    // the operator pushed a new pointer (or the isolate was replaced).
    broken = false;
    clock.set(STORE_T0 + STORE_TIMINGS.retryMs + 1);
    const r2 = storeRequest();
    const a = await store.get(kv, STORE_T0 + STORE_TIMINGS.retryMs + 1, r2.options);
    await r2.drain();
    expect(a).toMatchObject({ kind: 'policy', source: 'kv', snapshot: id });
    expect(store.status()).toMatchObject({ status: 'ok' });
  });

  it('a snapshot that is intact (hashes to its id) but refused, e.g. a future format, stays refused without being read again', async () => {
    // Written under its own hash, as a newer deployment's admin store would.
    const future = JSON.stringify({ geogate: 'snapshot', schema: 2, policy: policyWith({ version: 'future-1' }), lists: {} });
    const { sha256Hex } = await import('../../../src/policy/snapshot');
    const id = await sha256Hex(future);
    await env.POLICY.put(snapshotKey(id), future);
    await putPolicy(ACTIVE_POLICY_KEY, JSON.stringify({ geogate: 'pointer', schema: 1, snapshot: id, policyVersion: 'future-1', lists: {}, revision: 1, storedAt: new Date(STORE_T0).toISOString(), storedBy: 'test' }));
    let snapshotReads = 0;
    const real = kvTextStore(env.POLICY);
    const kv: TextStore = { read: (k, max) => (k === snapshotKey(id) && ++snapshotReads, real.read(k, max)), write: (k, t, m) => real.write(k, t, m), metadata: (k) => real.metadata(k) };
    const { store, clock } = newPolicyStore();
    for (let i = 0; i < 3; i++) {
      const now = STORE_T0 + i * (STORE_TIMINGS.retryMs + 1);
      clock.set(now);
      const r = storeRequest();
      expect(await store.get(kv, now, r.options)).toMatchObject({ kind: 'unavailable', failure: { kind: 'invalid' } });
      await r.drain();
    }
    expect(snapshotReads).toBe(1);
  });
});
