// How a check consults the memory (src/accounts/memory.ts), against test doubles of the store that
// obey its contract or break it (answer, hang, throw, reject): the check never waits past the
// budget, never throws, reports how it got each side, and keeps /healthz honest.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKGROUND_RECORD_TIMEOUT_MS, consultMemory, MEMORY_FAILURE_HOLD_MS, memoryCache, memoryHealth, memoryStatus, RECORD_BATCH_MS, VerdictCache, type MemoryStore } from '../../src/accounts/memory';
import type { CompiledPolicy } from '../../src/engine/compile';
import { decidePrepared, prepare } from '../../src/engine/evaluate';
import type { AccountHistory, AccountObservation, MemoryWindows, OrgHistory, OrgObservation } from '../../src/engine/history';
import type { Facts } from '../../src/engine/types';
import { compile, defaultDocument, facts } from '../helpers';

const policyIn = (mode: 'async' | 'sync' | 'off', syncBudgetMs = 50): CompiledPolicy => compile({ ...defaultDocument(), history: { mode, syncBudgetMs } });

function accountHistory(at: number, over: Partial<AccountHistory> = {}): AccountHistory {
  const none = { count: 0, items: [] };
  return {
    kind: 'account',
    asOf: at,
    windowMs: 600_000,
    events: 1,
    firstSeen: at,
    lastSeen: at,
    networks: none,
    asns: none,
    countries: none,
    timezones: none,
    ips: 1,
    devices: 0,
    signature: { windowMs: 60_000, requests: 0, bare: 0, firstSeen: null, lastSeen: null },
    lastLocation: null,
    travel: null,
    restricted: [],
    truncated: false,
    ...over,
  };
}

/** A store that records what it was sent and answers as told. */
class FakeStore implements MemoryStore {
  readonly accounts: [string, AccountObservation, MemoryWindows][] = [];
  readonly orgs: [string, OrgObservation][] = [];
  constructor(readonly behave: 'answer' | 'hang' | 'throw' | 'reject' = 'answer') {}
  #act<T>(value: T): Promise<T> {
    switch (this.behave) {
      case 'answer':
        return Promise.resolve(value);
      case 'hang':
        return new Promise<T>(() => undefined);
      case 'throw':
        throw new Error('binding exploded (injected fault)');
      case 'reject':
        return Promise.reject(new Error('object overloaded (injected fault)'));
    }
  }
  /** How many calls the store got (a batch is one call). */
  calls = 0;
  recordAccount(id: string, observations: readonly AccountObservation[], windows: MemoryWindows): Promise<AccountHistory> {
    this.calls++;
    for (const obs of observations) this.accounts.push([id, obs, windows]);
    return this.#act(accountHistory(observations[observations.length - 1]?.at ?? 0, { events: this.accounts.length }));
  }
  recordOrg(id: string, observations: readonly OrgObservation[]): Promise<OrgHistory> {
    this.calls++;
    for (const obs of observations) this.orgs.push([id, obs]);
    return this.#act<OrgHistory>({ kind: 'org', asOf: observations[observations.length - 1]?.at ?? 0, windowMs: 2_592_000_000, activeAccounts: 20, restrictedAccounts: 8, restrictedSample: [], truncated: false });
  }
}

const NAMED: Partial<Facts> = { ip: '198.51.100.7', account: { id: 'acct-1', orgId: 'org-1' } };

beforeEach(() => {
  memoryCache.clear();
  memoryHealth.lastOk = undefined;
  memoryHealth.lastFailure = undefined;
  memoryHealth.failures = 0;
});
afterEach(() => memoryCache.clear());

describe('async mode (the default)', () => {
  it('a cold isolate judges nothing, records in the background, and the answer warms the cache', async () => {
    const store = new FakeStore();
    const background: Promise<unknown>[] = [];
    const now = Date.now();
    const first = await consultMemory(store, prepare(policyIn('async'), facts(NAMED), now), { waitUntil: (p) => background.push(p) });
    expect(first.report).toEqual({ mode: 'async', account: 'cold', org: 'cold' });
    expect(decidePrepared(prepare(policyIn('async'), facts(NAMED), now), first.memory).signals.RELAY_FANOUT).toBe('undetermined');
    // One background task: the batch's flush, RECORD_BATCH_MS later, so that it costs the response nothing.
    expect(background).toHaveLength(1);
    expect(store.accounts).toHaveLength(0);
    await Promise.all(background);
    const second = await consultMemory(store, prepare(policyIn('async'), facts(NAMED), now + 1000), { waitUntil: (p) => background.push(p) });
    expect(second.report).toEqual({ mode: 'async', account: 'cache', org: 'cache' });
    expect(second.memory.org?.known).toBe(true);
    await Promise.all(background);
    // Every check is recorded, cold or warm.
    expect(store.accounts.map(([id]) => id)).toEqual(['acct-1', 'acct-1']);
    expect(store.accounts[0]?.[1]).toMatchObject({ network: '198.51.100.0/24', ip: '198.51.100.7' });
  });

  it('never waits for a hanging object', async () => {
    const started = Date.now();
    const r = await consultMemory(new FakeStore('hang'), prepare(policyIn('async'), facts({ account: { id: 'hangs' } }), started), { waitUntil: () => undefined });
    expect(Date.now() - started).toBeLessThan(50);
    expect(r.report.account).toBe('cold');
  });

  it('batches: the checks of one flush reach each object in one call, in order; the organisation hears after its accounts', async () => {
    const store = new FakeStore();
    const background: Promise<unknown>[] = [];
    const now = Date.now();
    for (let i = 0; i < 5; i++) await consultMemory(store, prepare(policyIn('async'), facts({ ip: `198.51.100.${i}`, account: { id: 'batched', orgId: 'org-b' } }), now + i), { waitUntil: (p) => background.push(p) });
    await consultMemory(store, prepare(policyIn('async'), facts({ ip: '203.0.113.9', account: { id: 'other', orgId: 'org-b' } }), now + 9), { waitUntil: (p) => background.push(p) });
    // Every request keeps the isolate alive for the same flush.
    expect(new Set(background).size).toBe(1);
    await Promise.all(background);
    expect(store.calls).toBe(3);
    expect(store.accounts.filter(([id]) => id === 'batched').map(([, o]) => o.ip)).toEqual(['198.51.100.0', '198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']);
    expect(store.orgs.map(([id, o]) => [id, o.accountId, o.at])).toEqual([
      ['org-b', 'batched', now],
      ['org-b', 'batched', now + 1],
      ['org-b', 'batched', now + 2],
      ['org-b', 'batched', now + 3],
      ['org-b', 'batched', now + 4],
      ['org-b', 'other', now + 9],
    ]);
  });

  it('a hanging object costs its batch at most BACKGROUND_RECORD_TIMEOUT_MS, reported as a timeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const background: Promise<unknown>[] = [];
      await consultMemory(new FakeStore('hang'), prepare(policyIn('async'), facts({ account: { id: 'slow' } }), Date.now()), { waitUntil: (p) => background.push(p) });
      await vi.advanceTimersByTimeAsync(RECORD_BATCH_MS + BACKGROUND_RECORD_TIMEOUT_MS + 1);
      await Promise.all(background);
      expect(memoryHealth.lastFailure).toMatchObject({ kind: 'timeout', message: `no answer within ${BACKGROUND_RECORD_TIMEOUT_MS} ms` });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a cached summary expires after cacheTtlSeconds', async () => {
    const store = new FakeStore();
    const policy = compile({ ...defaultDocument(), history: { cacheTtlSeconds: 5 } });
    const background: Promise<unknown>[] = [];
    const now = Date.now();
    await consultMemory(store, prepare(policy, facts(NAMED), now), { waitUntil: (p) => background.push(p) });
    await Promise.all(background);
    expect((await consultMemory(store, prepare(policy, facts(NAMED), now + 4000), { waitUntil: () => undefined })).report.account).toBe('cache');
    expect((await consultMemory(store, prepare(policy, facts(NAMED), now + 60_000), { waitUntil: () => undefined })).report.account).toBe('cold');
  });
});

describe('sync mode', () => {
  it('awaits the objects and judges their answer', async () => {
    const store = new FakeStore();
    const r = await consultMemory(store, prepare(policyIn('sync'), facts(NAMED), Date.now()));
    expect(r.report).toEqual({ mode: 'sync', account: 'object', org: 'object' });
    expect(decidePrepared(prepare(policyIn('sync'), facts(NAMED), Date.now()), r.memory).signals.ORG_RESTRICTED_SHARE).toBe(true);
  });

  it('answers within the budget when the object hangs: undetermined, a timeout on /healthz', async () => {
    const started = Date.now();
    const background: Promise<unknown>[] = [];
    const r = await consultMemory(new FakeStore('hang'), prepare(policyIn('sync', 30), facts(NAMED), started), { waitUntil: (p) => background.push(p) });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(25);
    expect(took).toBeLessThan(500);
    expect(r.report).toEqual({ mode: 'sync', account: 'timeout', org: 'timeout' });
    expect(r.memory.account).toEqual({ known: false, why: 'the account memory did not answer within 30 ms', failed: true });
    // The late answer is still awaited in the background, to refresh the cache.
    expect(background).toHaveLength(2);
    expect(memoryStatus(Date.now())).toMatchObject({ status: 'degraded', lastFailure: { kind: 'timeout' } });
  });

  it.each(['throw', 'reject'] as const)('an object that fails (%s) leaves the signals undetermined, never an error', async (behave) => {
    const r = await consultMemory(new FakeStore(behave), prepare(policyIn('sync'), facts(NAMED), Date.now()));
    expect(r.report).toEqual({ mode: 'sync', account: 'unavailable', org: 'unavailable' });
    const d = decidePrepared(prepare(policyIn('sync'), facts(NAMED), Date.now()), r.memory);
    expect(d.signals.TZ_RESTRICTED_HISTORY).toBe('undetermined');
    expect(d.decision).toBe('allow');
    expect(memoryStatus(Date.now()).status).toBe('degraded');
  });

  it('past the budget, a fresh cached summary answers instead', async () => {
    const now = Date.now();
    memoryCache.set('a:acct-1', accountHistory(now, { devices: 9 }), now);
    const r = await consultMemory(new FakeStore('hang'), prepare(policyIn('sync', 10), facts(NAMED), now + 10), { waitUntil: () => undefined });
    expect(r.report.account).toBe('cache');
    expect(decidePrepared(prepare(policyIn('sync', 10), facts(NAMED), now + 10), r.memory).signals.RELAY_DEVICE_FANOUT).toBe(true);
  });

  it('/healthz recovers as soon as an object answers again', async () => {
    await consultMemory(new FakeStore('reject'), prepare(policyIn('sync'), facts(NAMED), Date.now()));
    expect(memoryStatus(Date.now()).status).toBe('degraded');
    await new Promise((r) => setTimeout(r, 5));
    await consultMemory(new FakeStore('answer'), prepare(policyIn('sync'), facts(NAMED), Date.now()));
    expect(memoryStatus(Date.now())).toMatchObject({ status: 'ok', failures: 2 });
  });
});

describe('what is consulted', () => {
  it.each<[string, CompiledPolicy, Partial<Facts>, object]>([
    ['memory off', policyIn('off'), NAMED, { mode: 'off', account: 'off', org: 'off' }],
    ['no account and no organisation', policyIn('sync'), { ip: '198.51.100.7' }, { mode: 'sync', account: 'none', org: 'none' }],
    ['an organisation without an account', policyIn('sync'), { account: { orgId: 'org-1' } }, { mode: 'sync', account: 'none', org: 'object' }],
  ])('%s', async (_name, policy, f, want) => {
    const store = new FakeStore();
    const r = await consultMemory(store, prepare(policy, facts(f), Date.now()));
    expect(r.report).toEqual(want);
    if ((want as { account: string }).account !== 'object') expect(store.accounts).toHaveLength(0);
  });

  it('the organisation counts the account restricted when the check shows a restricted clock', async () => {
    const store = new FakeStore();
    await consultMemory(store, prepare(policyIn('sync'), facts({ ...NAMED, geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' } }), Date.now()));
    await consultMemory(store, prepare(policyIn('sync'), facts({ ...NAMED, account: { id: 'acct-2', orgId: 'org-1' }, geo: { country: 'SG' } }), Date.now()));
    expect(store.orgs.map(([, o]) => [o.accountId, o.places])).toEqual([
      ['acct-1', ['CN']],
      ['acct-2', []],
    ]);
  });

  it("…or when the account's cached memory remembers one", async () => {
    const store = new FakeStore();
    const now = Date.now();
    memoryCache.set('a:acct-1', accountHistory(now, { restricted: [{ kind: 'tz', key: 'Asia/Shanghai', places: ['CN'], strength: 1, ipCountry: 'SG', firstSeen: now - 1000, lastSeen: now - 1000, count: 1 }] }), now);
    await consultMemory(store, prepare(policyIn('sync'), facts(NAMED), now));
    expect(store.orgs[0]?.[1].places).toEqual(['CN']);
  });

  it('…but not for a place the policy no longer restricts', async () => {
    const store = new FakeStore();
    const now = Date.now();
    memoryCache.set('a:acct-1', accountHistory(now, { restricted: [{ kind: 'ip', key: 'RU', places: ['RU'], strength: 1, ipCountry: 'RU', firstSeen: now - 1000, lastSeen: now - 1000, count: 1 }] }), now);
    const withoutRu = compile({ ...defaultDocument(), restrictedCountries: ['CN', 'IR'], history: { mode: 'sync' } });
    await consultMemory(store, prepare(withoutRu, facts(NAMED), now));
    expect(store.orgs[0]?.[1].places).toEqual([]);
    // The object is told which places count now.
    expect(store.accounts[0]?.[2].restrictedPlaces).toEqual(['CN', 'IR', 'UA-09', 'UA-14', 'UA-40', 'UA-43']);
  });
});

describe('VerdictCache', () => {
  it('keeps at most maxEntries, dropping the least recently used', () => {
    const c = new VerdictCache<number>(3);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    c.set('c', 3, 0);
    expect(c.get('a', 1, 100)).toBe(1); // a is now the most recent
    c.set('d', 4, 0);
    expect(c.size).toBe(3);
    expect(c.get('b', 1, 100)).toBeUndefined();
    expect([c.get('a', 1, 100), c.get('c', 1, 100), c.get('d', 1, 100)]).toEqual([1, 3, 4]);
  });

  it('forgets entries at their TTL, and entries from the future beyond it (a clock that jumped back)', () => {
    const c = new VerdictCache<number>(10);
    c.set('a', 1, 1000);
    expect(c.get('a', 1999, 1000)).toBe(1);
    expect(c.get('a', 2000, 1000)).toBeUndefined();
    c.set('b', 2, 5000);
    expect(c.get('b', 3000, 1000)).toBeUndefined();
  });
});

describe('the organisation learns what the account remembers', () => {
  it("when the account's fresh answer remembers restricted evidence the check did not show, the organisation is told in the background", async () => {
    const now = Date.now();
    const store = new FakeStore();
    const remembered = accountHistory(now, { restricted: [{ kind: 'tz', key: 'Asia/Shanghai', places: ['CN'], strength: 1, ipCountry: 'SG', firstSeen: now - 60_000, lastSeen: now - 60_000, count: 1 }] });
    store.recordAccount = (id, observations, windows) => {
      for (const obs of observations) store.accounts.push([id, obs, windows]);
      return Promise.resolve(remembered);
    };
    const background: Promise<unknown>[] = [];
    await consultMemory(store, prepare(policyIn('sync'), facts(NAMED), now), { waitUntil: (p) => background.push(p) });
    await Promise.all(background);
    expect(store.orgs.map(([, o]) => o.places)).toEqual([[], ['CN']]);
  });

  it('tells it nothing more when the account remembers nothing restricted', async () => {
    const store = new FakeStore();
    const background: Promise<unknown>[] = [];
    await consultMemory(store, prepare(policyIn('sync'), facts(NAMED), Date.now()), { waitUntil: (p) => background.push(p) });
    await Promise.all(background);
    expect(store.orgs).toHaveLength(1);
  });
});

describe('history.unavailable: what a sync check does when the memory it waited for failed', () => {
  const challenging = compile({ ...defaultDocument(), history: { mode: 'sync', syncBudgetMs: 20, unavailable: 'challenge' } });

  it.each(['hang', 'reject'] as const)('"challenge" challenges (MEMORY_UNAVAILABLE) when the object does not answer (%s)', async (behave) => {
    const check = prepare(challenging, facts(NAMED), Date.now());
    const { memory } = await consultMemory(new FakeStore(behave), check, { waitUntil: () => undefined });
    const d = decidePrepared(check, memory);
    expect(d.decision).toBe('challenge');
    expect(d.reasons[0]).toMatchObject({ code: 'MEMORY_UNAVAILABLE', rule: 'historyUnavailable', action: 'challenge' });
    expect(d.reasons[0]?.evidence).toHaveProperty('account');
  });

  it('"ignore" (the default) judges without it', async () => {
    const check = prepare(policyIn('sync', 20), facts(NAMED), Date.now());
    const { memory } = await consultMemory(new FakeStore('reject'), check);
    expect(decidePrepared(check, memory).decision).toBe('allow');
  });

  it('a cold isolate (async) is not a failure: no challenge', async () => {
    const asyncChallenging = compile({ ...defaultDocument(), history: { unavailable: 'challenge' } });
    const check = prepare(asyncChallenging, facts(NAMED), Date.now());
    const { memory } = await consultMemory(new FakeStore('reject'), check, { waitUntil: () => undefined });
    expect(decidePrepared(check, memory).decision).toBe('allow');
  });

  it('a fresh cached summary answers instead: no challenge', async () => {
    const now = Date.now();
    memoryCache.set('a:acct-1', accountHistory(now), now);
    const check = prepare(challenging, facts({ ...NAMED, account: { id: 'acct-1' } }), now + 5);
    const { memory } = await consultMemory(new FakeStore('hang'), check, { waitUntil: () => undefined });
    expect(decidePrepared(check, memory).decision).toBe('allow');
  });
});

describe('what async mode answers, side by side', () => {
  const now = Date.now();
  const org: OrgHistory = { kind: 'org', asOf: now, windowMs: 2_592_000_000, activeAccounts: 1, restrictedAccounts: 0, restrictedSample: [], truncated: false };
  it.each<[string, Partial<Facts>, boolean, boolean, object]>([
    ['account and org, both cached', NAMED, true, true, { account: 'cache', org: 'cache' }],
    ['account and org, account cached', NAMED, true, false, { account: 'cache', org: 'cold' }],
    ['account and org, org cached', NAMED, false, true, { account: 'cold', org: 'cache' }],
    ['account only, cached', { account: { id: 'acct-1' } }, true, false, { account: 'cache', org: 'none' }],
    ['org only, cached', { account: { orgId: 'org-1' } }, false, true, { account: 'none', org: 'cache' }],
  ])('%s', async (_name, f, cacheAccount, cacheOrg, report) => {
    if (cacheAccount) memoryCache.set('a:acct-1', accountHistory(now), now);
    if (cacheOrg) memoryCache.set('o:org-1', org, now);
    const r = await consultMemory(new FakeStore(), prepare(policyIn('async'), facts(f), now + 1), { waitUntil: () => undefined });
    expect(r.report).toEqual({ mode: 'async', ...report });
    const side = (status: string, history: unknown) => (status === 'none' ? undefined : status === 'cache' ? { known: true, history, from: 'cache' } : { known: false, why: 'no memory of it is cached in this isolate yet (async mode)' });
    const want = report as { account: string; org: string };
    expect(r.memory).toEqual({ account: side(want.account, accountHistory(now)), org: side(want.org, org) });
  });

  it('an account id and an org id with the same text are two entries (a: and o:)', async () => {
    memoryCache.set('o:same', org, now);
    const r = await consultMemory(new FakeStore(), prepare(policyIn('async'), facts({ account: { id: 'same' } }), now + 1), { waitUntil: () => undefined });
    expect(r.report.account).toBe('cold');
  });

  it('the org observation carries the account id, the instant and the windows', async () => {
    const store = new FakeStore();
    await consultMemory(store, prepare(policyIn('sync'), facts(NAMED), now));
    expect(store.orgs[0]).toEqual(['org-1', { at: now, accountId: 'acct-1', places: [] }]);
    expect(store.accounts[0]?.[2]).toMatchObject({ fanoutMs: 600_000, signatureMs: 60_000, restrictedMs: 30 * 86_400_000, orgMs: 30 * 86_400_000, travel: { maxKmh: 1000, minKm: 500 } });
  });

  it('remembered places: only strength 0.5 or more, and only within restrictedDays', async () => {
    const store = new FakeStore();
    const mark = (strength: number, lastSeen: number, key: string, place: string) => ({ kind: 'tz' as const, key, places: [place], strength, ipCountry: 'SG', firstSeen: lastSeen - 1, lastSeen, count: 1 });
    memoryCache.set('a:acct-1', accountHistory(now, { restricted: [mark(0.49, now - 1000, 'UTC+180', 'RU'), mark(0.5, now - 1000, 'Asia/Tehran', 'IR'), mark(1, now - 30 * 86_400_000, 'Asia/Shanghai', 'CN'), mark(1, now - 30 * 86_400_000 - 1, 'Asia/Pyongyang', 'KP')] }), now);
    await consultMemory(store, prepare(policyIn('sync'), facts(NAMED), now));
    expect(store.orgs[0]?.[1].places).toEqual(['CN', 'IR']);
  });
});

describe('/healthz memory status', () => {
  it('is degraded for MEMORY_FAILURE_HOLD_MS after a failure with no success since, then ok again', () => {
    memoryHealth.lastOk = 1000;
    memoryHealth.lastFailure = { at: 2000, kind: 'timeout', message: 'x' };
    memoryHealth.failures = 1;
    expect(memoryStatus(2000 + MEMORY_FAILURE_HOLD_MS - 1)).toEqual({ status: 'degraded', failures: 1, lastFailure: { at: new Date(2000).toISOString(), kind: 'timeout' } });
    expect(memoryStatus(2000 + MEMORY_FAILURE_HOLD_MS).status).toBe('ok');
    memoryHealth.lastOk = 2000;
    expect(memoryStatus(2001).status).toBe('ok');
    memoryHealth.lastOk = undefined;
    expect(memoryStatus(2001).status).toBe('degraded');
    memoryHealth.lastFailure = undefined;
    expect(memoryStatus(2001)).toEqual({ status: 'ok', failures: 1 });
  });
});
