// Fault matrix, account and organisation memory (docs/faults.md): the ACCOUNT_ACTIVITY and
// ORG_ACTIVITY Durable Objects behind a namespace whose `record` calls throw, hang, answer corrupt,
// oversized or future-shaped summaries, or answer out of order. The documented fail mode
// (docs/policy.md, "Async and sync"): memory can only add signals, so a failed object costs
// detection, never the request: the policy still decides (`failed: false`), the failed side's
// memory signals are `undetermined`, the decision says how (`memory.account` / `memory.org`:
// `timeout` or `unavailable` in sync mode), /v1/authorize adds Geogate-Memory-Failed, a policy
// with `history.unavailable: "challenge"` challenges (MEMORY_UNAVAILABLE), /healthz reports
// `memory` degraded, and the next answer from the object clears it, without a restart.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BACKGROUND_RECORD_TIMEOUT_MS, memoryCache, memoryHealth } from '../../../src/accounts/memory';
import type { AccountHistory } from '../../../src/engine/history';
import type { SignalName } from '../../../src/engine/types';
import { defaultDocument, storePolicy } from '../../helpers';
import { accountHistory } from '../../memory-helpers';
import { advance, codes, decide, envWith, FaultyObjects, healthz, isolateEachTest, settle, T0, TRANSPORTS, type Answer, type CallPlan, type CheckBody } from './harness';

/** The sync budget the policies set: short, so a hanging object costs the test little. */
const SYNC_BUDGET_MS = 300;
const STALL_BOUND_MS = SYNC_BUDGET_MS + 1_500;

const policy = (history: Record<string, unknown>) => ({ ...defaultDocument(), version: `faults-memory-${crypto.randomUUID()}`, history });
const SYNC = () => policy({ mode: 'sync', syncBudgetMs: SYNC_BUDGET_MS });
const SYNC_CHALLENGE = () => policy({ mode: 'sync', syncBudgetMs: SYNC_BUDGET_MS, unavailable: 'challenge' });
const ASYNC = () => policy({ mode: 'async' });

const accounts = new FaultyObjects(env.ACCOUNT_ACTIVITY);
const orgs = new FaultyObjects(env.ORG_ACTIVITY);

/** A clean US user naming a fresh account and organisation (no other test reads their memory). */
function cleanUser(): CheckBody {
  return { ip: '100.64.1.7', geo: { country: 'US', asn: 7922 }, account: { id: `acct-${crypto.randomUUID()}`, orgId: `org-${crypto.randomUUID()}` } };
}

isolateEachTest([accounts, orgs]);

const faultyEnv = () => envWith({ ACCOUNT_ACTIVITY: accounts.binding, ORG_ACTIVITY: orgs.binding });

/** Summaries no deployment of this code writes. */
const ACCOUNT_ANSWERS: Readonly<Record<string, unknown>> = {
  null: null,
  'a string': 'garbage',
  'wrong types': { kind: 'account', asOf: '2026', windowMs: 600000, events: '3', networks: 'x', asns: [], countries: {}, timezones: null, ips: -1, devices: 1, signature: {}, lastLocation: 7, travel: null, restricted: 'CN', truncated: 'no' },
  'truncated (kind and asOf only)': { kind: 'account', asOf: T0 },
  'oversized (10,000 networks listed, the bound is 64)': accountHistory({ asOf: T0, networks: { count: 10_000, items: Array.from({ length: 10_000 }, (_, i) => ({ key: `10.${i >> 8}.${i & 255}.0/24`, firstSeen: T0, lastSeen: T0, count: 1 })) } }),
  'another kind (an organisation summary)': { kind: 'org', asOf: T0, windowMs: 1, activeAccounts: 1, restrictedAccounts: 0, restrictedSample: [], truncated: false },
  'a future schema (schema 2, renamed fields)': { kind: 'account', schema: 2, asOf: T0, window: { ms: 600000 }, dimensions: { network: [] } },
};
const ORG_ANSWERS: Readonly<Record<string, unknown>> = {
  null: null,
  'wrong types': { kind: 'org', asOf: T0, windowMs: 1, activeAccounts: 'many', restrictedAccounts: 3, restrictedSample: 'acct', truncated: false },
  'more restricted than active accounts': { kind: 'org', asOf: T0, windowMs: 1, activeAccounts: 1, restrictedAccounts: 5, restrictedSample: [], truncated: false },
  'another kind (an account summary)': accountHistory({ asOf: T0 }),
  'a future schema (schema 2, renamed fields)': { kind: 'org', schema: 2, asOf: T0, accounts: { active: 3 } },
};

type Side = 'account' | 'org';
/** The memory signal each side's summary decides. */
const SIDE_SIGNAL: Record<Side, SignalName> = { account: 'RELAY_FANOUT', org: 'ORG_RESTRICTED_SHARE' };
const binding = (side: Side) => (side === 'account' ? accounts : orgs);

/** One sync-mode cell: a side, what its object does, and the status the decision must report. */
interface SyncCell {
  readonly name: string;
  readonly side: Side;
  readonly plan: CallPlan;
  readonly status: 'timeout' | 'unavailable';
}

const SYNC_CELLS: readonly SyncCell[] = (['account', 'org'] as const).flatMap((side): SyncCell[] => [
  { name: `${side} object throws`, side, plan: { kind: 'throw' }, status: 'unavailable' },
  { name: `${side} object hangs (past the ${SYNC_BUDGET_MS} ms budget)`, side, plan: { kind: 'hang' }, status: 'timeout' },
  ...Object.entries(side === 'account' ? ACCOUNT_ANSWERS : ORG_ANSWERS).map(([what, value]): SyncCell => ({ name: `${side} object answers ${what}`, side, plan: { kind: 'answer', value }, status: 'unavailable' })),
]);

/** Asks every transport about `body` and checks the memory's report (sync mode). */
async function expectMemoryFailed(e: Env, body: CheckBody, side: Side, status: SyncCell['status'], challenge: boolean): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const transport of TRANSPORTS) {
    const a = await decide(transport, e, body);
    out.push(a);
    const where = `${transport}: ${JSON.stringify({ status: a.status, decision: a.body.decision, memory: a.body.memory, reasons: codes(a), ms: Math.round(a.ms) })}`;
    expect(a.ms, where).toBeLessThan(STALL_BOUND_MS);
    // Memory is not the policy: the policy decided, and says so.
    expect(a.body.failed, where).toBe(false);
    expect(a.body.memory, where).toMatchObject({ mode: 'sync', [side]: status, [side === 'account' ? 'org' : 'account']: 'object' });
    expect(a.body.signals[SIDE_SIGNAL[side]], where).toBe('undetermined');
    expect(a.body.decision, where).toBe(challenge ? 'challenge' : 'allow');
    if (challenge) expect(codes(a), where).toContain('MEMORY_UNAVAILABLE');
    else expect(codes(a), where).not.toContain('MEMORY_UNAVAILABLE');
    if (transport === 'authorize') {
      expect(a.status, where).toBe(challenge ? 401 : 200);
      expect(a.headers.get('geogate-memory-failed'), where).toBe('true');
      expect(a.headers.get('geogate-failed'), where).toBeNull();
    }
  }
  return out;
}

/** The object answers again: the next checks are judged on it and /healthz clears, no reset. */
async function expectRecovered(e: Env, body: CheckBody, side: Side): Promise<void> {
  binding(side).heal();
  await settle();
  for (const transport of TRANSPORTS) {
    const a = await decide(transport, e, body);
    expect(a.body.memory, transport).toMatchObject({ mode: 'sync', account: 'object', org: 'object' });
    expect(a.body.signals[SIDE_SIGNAL[side]], transport).toBe(false);
    expect(a.body.decision, transport).toBe('allow');
    if (transport === 'authorize') expect(a.headers.get('geogate-memory-failed')).toBeNull();
  }
  const h = await healthz(e);
  expect(h.memory).toMatchObject({ status: 'ok' });
  expect(h.status).toBe('ok');
}

describe('fault matrix: memory objects, sync mode (the check waits at most syncBudgetMs)', () => {
  it.each(SYNC_CELLS.map((c) => [c.name, c] as const))('%s', async (_name, cell) => {
    await storePolicy(SYNC());
    const e = faultyEnv();
    const body = cleanUser();
    binding(cell.side).set('*', cell.plan);
    await expectMemoryFailed(e, body, cell.side, cell.status, false);
    const h = await healthz(e);
    // The other side answered every check: that must not hide this side's outage.
    expect(h).toMatchObject({ status: 'degraded', memory: { status: 'degraded', lastFailure: { kind: cell.status } } });
    expect(JSON.stringify(h)).not.toContain('injected');
    await expectRecovered(e, body, cell.side);
  });

  it.each<[Side]>([['account'], ['org']])('history.unavailable "challenge": the %s object throwing challenges every check (MEMORY_UNAVAILABLE), and stops once it answers', async (side) => {
    await storePolicy(SYNC_CHALLENGE());
    const e = faultyEnv();
    const body = cleanUser();
    binding(side).set('*', { kind: 'throw' });
    const answers = await expectMemoryFailed(e, body, side, 'unavailable', true);
    for (const a of answers) expect(a.body.reasons.find((r) => r.code === 'MEMORY_UNAVAILABLE')).toMatchObject({ rule: 'historyUnavailable', action: 'challenge' });
    await expectRecovered(e, body, side);
  });

  it('the account object changes mid-load: a good summary, then garbage: the cached summary answers (memory "cache"), never an error', async () => {
    await storePolicy(SYNC());
    const e = faultyEnv();
    const body = cleanUser();
    accounts.set('*', ['real', { kind: 'answer', value: { kind: 'account', asOf: 'garbage' } }]);
    const first = await decide('check', e, body);
    expect(first.body.memory).toMatchObject({ account: 'object' });
    advance(1_000);
    for (const transport of TRANSPORTS) {
      const a = await decide(transport, e, body);
      expect(a.body.memory, transport).toMatchObject({ mode: 'sync', account: 'cache', org: 'object' });
      expect(a.body.signals.RELAY_FANOUT, transport).toBe(false);
      expect(a.body.failed).toBe(false);
    }
    // Judged on the cache: the check is not "without memory", but the object did fail.
    expect((await healthz(e)).memory).toMatchObject({ status: 'degraded', lastFailure: { kind: 'unavailable' } });
    await expectRecovered(e, body, 'account');
  });
});

describe('fault matrix: memory objects, async mode (the default: checks never wait)', () => {
  it.each<[string, Side, CallPlan]>([
    ['account object throws', 'account', { kind: 'throw' }],
    ['org object throws', 'org', { kind: 'throw' }],
    ['account object answers garbage', 'account', { kind: 'answer', value: ACCOUNT_ANSWERS['wrong types'] }],
    ['org object answers garbage', 'org', { kind: 'answer', value: ORG_ANSWERS['wrong types'] }],
    ['account object answers a future schema', 'account', { kind: 'answer', value: ACCOUNT_ANSWERS['a future schema (schema 2, renamed fields)'] }],
  ])('%s: checks answer at once (memory "cold", never cached garbage), /healthz degrades after the background record, then recovers', async (_name, side, plan) => {
    await storePolicy(ASYNC());
    const e = faultyEnv();
    const body = cleanUser();
    binding(side).set('*', plan);
    for (let round = 0; round < 2; round++) {
      for (const transport of TRANSPORTS) {
        const a = await decide(transport, e, body);
        expect(a.ms).toBeLessThan(STALL_BOUND_MS);
        expect(a.body.failed).toBe(false);
        expect(a.body.decision).toBe('allow');
        // The failed side stays cold (nothing usable was ever cached); the other warms up.
        expect(a.body.memory?.[side], `${transport} round ${round}`).toBe('cold');
        expect(a.body.signals[SIDE_SIGNAL[side]]).toBe('undetermined');
      }
      await settle();
    }
    expect(memoryCache.peek(`${side === 'account' ? 'a' : 'o'}:${side === 'account' ? body.account?.id : body.account?.orgId}`)).toBeUndefined();
    expect(await healthz(e)).toMatchObject({ status: 'degraded', memory: { status: 'degraded', lastFailure: { kind: 'unavailable' } } });
    binding(side).heal();
    await decide('check', e, body);
    await settle();
    for (const transport of TRANSPORTS) {
      const a = await decide(transport, e, body);
      expect(a.body.memory).toMatchObject({ mode: 'async', account: 'cache', org: 'cache' });
      expect(a.body.signals[SIDE_SIGNAL[side]]).toBe(false);
    }
    expect(await healthz(e)).toMatchObject({ status: 'ok', memory: { status: 'ok' } });
  });

  it(`account object hangs: checks answer at once; the background record is given up after ${BACKGROUND_RECORD_TIMEOUT_MS} ms and /healthz says so; it recovers`, async () => {
    await storePolicy(ASYNC());
    const e = faultyEnv();
    const body = cleanUser();
    accounts.set('*', { kind: 'hang' });
    for (const transport of TRANSPORTS) {
      const a = await decide(transport, e, body);
      expect(a.ms).toBeLessThan(STALL_BOUND_MS);
      expect(a.body.memory).toMatchObject({ account: 'cold' });
    }
    const started = performance.now();
    await settle();
    // The batch is cut off at the cap, not held until the platform ends waitUntil.
    expect(performance.now() - started).toBeLessThan(BACKGROUND_RECORD_TIMEOUT_MS + 2_000);
    // A record given up at the cap is a timeout (was reported as `unavailable`, like an object that threw).
    expect((await healthz(e)).memory).toMatchObject({ status: 'degraded', lastFailure: { kind: 'timeout' } });
    accounts.heal();
    await settle();
    await decide('check', e, body);
    await settle();
    expect((await decide('rpc', e, body)).body.memory).toMatchObject({ account: 'cache' });
    expect((await healthz(e)).memory).toMatchObject({ status: 'ok' });
  }, 20_000);

  it('answers land out of order (a late, older summary after a newer one): the cache keeps the newer summary', async () => {
    await storePolicy(ASYNC());
    const e = faultyEnv();
    const body = cleanUser();
    const id = body.account?.id ?? '';
    // The first batch's call is held and then answers a summary as of a minute before T0; the
    // second batch's call reaches the object and answers as of now.
    const older: AccountHistory = accountHistory({ asOf: T0 - 60_000, events: 0 });
    accounts.set('*', [{ kind: 'late', value: older }, 'real']);
    await decide('check', e, body);
    await new Promise((r) => setTimeout(r, 50));
    advance(1_000);
    await decide('check', e, body);
    await new Promise((r) => setTimeout(r, 200));
    expect(memoryCache.peek(`a:${id}`)?.asOf).toBe(T0 + 1_000);
    accounts.heal();
    await settle();
    expect(memoryCache.peek(`a:${id}`)?.asOf).toBe(T0 + 1_000);
    expect(memoryHealth.lastFailure).toBeUndefined();
  });
});
