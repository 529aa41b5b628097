// Regressions the fault suite found (docs/faults.md, "Bugs found"), each pinned at the level of
// the store or module that was fixed; the matrix files show the same end to end.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { consultMemory, memoryCache, memoryHealth, memoryStatus, RECORD_BATCH_MS, STRANDED_BATCH_MS, type MemoryStore } from '../../../src/accounts/memory';
import { decidePrepared, prepare } from '../../../src/engine/evaluate';
import type { AccountHistory, OrgHistory } from '../../../src/engine/history';
import { ACTIVE_POLICY_KEY } from '../../../src/policy/keys';
import { buildSnapshot, sha256Hex, snapshotKey } from '../../../src/policy/snapshot';
import { kvTextStore, type TextStore } from '../../../src/store/text-store';
import { compile, defaultDocument, facts, policyWith } from '../../helpers';
import { accountHistory } from '../../memory-helpers';
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

describe('account memory: what an object answers is checked before it is judged or cached', () => {
  const policyIn = (mode: 'sync' | 'async') => compile({ ...defaultDocument(), history: { mode, syncBudgetMs: 200 } });
  const NAMED = facts({ ip: '198.51.100.7', account: { id: 'acct-r', orgId: 'org-r' } });
  const ORG: OrgHistory = { kind: 'org', asOf: 0, windowMs: 1, activeAccounts: 1, restrictedAccounts: 0, restrictedSample: [], truncated: false };

  /** A store whose account objects answer `account` (anything) and organisation objects a good summary, after `orgDelayMs`. */
  function storeAnswering(account: () => Promise<unknown>, orgDelayMs = 0): MemoryStore {
    return {
      recordAccount: () => account() as Promise<AccountHistory>,
      recordOrg: (_id, obs) => new Promise((r) => setTimeout(() => r({ ...ORG, asOf: obs[obs.length - 1]?.at ?? 0 }), orgDelayMs)),
    };
  }

  beforeEach(() => {
    memoryCache.clear();
    memoryHealth.lastOk = undefined;
    memoryHealth.lastFailure = undefined;
    memoryHealth.failures = 0;
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['wrong types', { kind: 'account', asOf: 1, networks: 'x' }],
    ['an organisation summary', { ...ORG }],
  ])('sync: an answer that is %s is a failure (memory "unavailable"), not a crash of the check, and is never cached', async (_name, garbage) => {
    const now = Date.now();
    const check = prepare(policyIn('sync'), NAMED, now);
    const consulted = await consultMemory(storeAnswering(() => Promise.resolve(garbage)), check);
    // Was: the answer was cached and judged, and the engine threw (a 500 on /v1/check and
    // /v1/authorize, a thrown RPC), for this check and every check of the account for cacheTtlSeconds.
    expect(consulted.report).toMatchObject({ account: 'unavailable', org: 'object' });
    expect(() => decidePrepared(check, consulted.memory)).not.toThrow();
    expect(memoryCache.peek('a:acct-r')).toBeUndefined();
    expect(memoryStatus(Date.now())).toMatchObject({ status: 'degraded', lastFailure: { kind: 'unavailable' } });
  });

  it('async: a garbage answer is never cached, so the next check of the account is "cold", not a crash', async () => {
    const pending: Promise<unknown>[] = [];
    const store = storeAnswering(() => Promise.resolve({ kind: 'account', asOf: 1, restricted: 'CN' }));
    await consultMemory(store, prepare(policyIn('async'), NAMED, Date.now()), { waitUntil: (p) => pending.push(p) });
    await Promise.all(pending);
    const next = prepare(policyIn('async'), NAMED, Date.now());
    const consulted = await consultMemory(store, next, { waitUntil: (p) => pending.push(p) });
    expect(consulted.report).toMatchObject({ account: 'cold', org: 'cache' });
    expect(() => decidePrepared(next, consulted.memory)).not.toThrow();
    await Promise.all(pending);
  });

  it("one side down, the other answering: /healthz stays degraded (the organisation's success does not hide the accounts' outage)", async () => {
    // The account object rejects at once; the organisation answers 5 ms later, on every check.
    const store = storeAnswering(() => Promise.reject(new Error('ACCOUNT_ACTIVITY unavailable')), 5);
    for (let i = 0; i < 3; i++) await consultMemory(store, prepare(policyIn('sync'), NAMED, Date.now()));
    // Was: "ok", since the last call (the organisation's) succeeded.
    expect(memoryStatus(Date.now())).toMatchObject({ status: 'degraded', lastFailure: { kind: 'unavailable' } });
    // The accounts answer again: ok.
    await consultMemory(storeAnswering(() => Promise.resolve(accountHistory({ asOf: Date.now() }))), prepare(policyIn('sync'), NAMED, Date.now()));
    expect(memoryStatus(Date.now()).status).toBe('ok');
  });

  it('answers that land out of order never replace a newer cached summary with an older one', async () => {
    const now = Date.now();
    let release!: (h: AccountHistory) => void;
    const late = new Promise<AccountHistory>((r) => (release = r));
    const answers = [late, Promise.resolve(accountHistory({ asOf: now + 1_000, events: 2 }))];
    const store = storeAnswering(() => answers.shift() ?? Promise.reject(new Error('no more')));
    const first = consultMemory(store, prepare(policyIn('sync'), NAMED, now));
    await consultMemory(store, prepare(policyIn('sync'), NAMED, now + 1_000));
    expect(memoryCache.peek('a:acct-r')?.asOf).toBe(now + 1_000);
    // The first check's answer (as of `now`, one event) lands last.
    release(accountHistory({ asOf: now, events: 1 }));
    await first;
    // Was: the older summary replaced the newer one, so checks were judged on less than the object knew.
    expect(memoryCache.peek('a:acct-r')).toMatchObject({ asOf: now + 1_000, events: 2 });
  });
});

describe('account memory, async mode: a request never waits on a promise another request created', () => {
  const policy = () => compile({ ...defaultDocument(), history: { mode: 'async' } });
  /** A store that counts its calls and the checks each carried. */
  function countingStore() {
    const calls: number[] = [];
    const store: MemoryStore = {
      recordAccount: (_id, obs) => {
        calls.push(obs.length);
        return Promise.resolve(accountHistory({ asOf: obs[obs.length - 1]?.at ?? 0 }));
      },
      recordOrg: () => Promise.reject(new Error('no organisation in these checks')),
    };
    return { store, calls };
  }
  /** One request's waitUntil: what it was handed. */
  const request = () => {
    const handed: Promise<unknown>[] = [];
    return { handed, options: { waitUntil: (p: Promise<unknown>) => void handed.push(p) } };
  };

  it('the request that opens a batch keeps itself alive for its flush; the requests that join it are handed nothing; one call carries all their checks', async () => {
    // Was: every request of a batch passed the batch's one promise (made by the request that opened
    // it) to its own waitUntil. workerd binds a promise to its request, so under load it logged "A
    // promise was resolved or rejected from a different request context" and cancelled the
    // continuation (260 such warnings in a 60 s run of the load suite; none since).
    const { store, calls } = countingStore();
    const requests = [request(), request(), request()];
    for (const [i, r] of requests.entries()) await consultMemory(store, prepare(policy(), facts({ ip: `198.51.100.${i}`, account: { id: 'acct-batch' } }), Date.now()), r.options);
    expect(requests.map((r) => r.handed.length)).toEqual([1, 0, 0]);
    await Promise.all(requests[0]?.handed ?? []);
    expect(calls).toEqual([3]);
  });

  it(`a batch whose timer never fired within ${STRANDED_BATCH_MS} ms (its request was cancelled) is taken over by the next check, its checks with it`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { store, calls } = countingStore();
      const first = request();
      await consultMemory(store, prepare(policy(), facts({ ip: '198.51.100.1', account: { id: 'acct-stranded' } }), Date.now()), first.options);
      // Its timer does not run (as if its request had been cancelled), and time passes.
      vi.setSystemTime(Date.now() + STRANDED_BATCH_MS + 1);
      const next = request();
      await consultMemory(store, prepare(policy(), facts({ ip: '198.51.100.2', account: { id: 'acct-stranded' } }), Date.now()), next.options);
      expect(next.handed).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(RECORD_BATCH_MS + 1);
      await Promise.all([...first.handed, ...next.handed]);
      // Both checks in one call, none twice (the stranded timer found its batch emptied).
      expect(calls).toEqual([2]);
    } finally {
      vi.useRealTimers();
    }
  });
});
