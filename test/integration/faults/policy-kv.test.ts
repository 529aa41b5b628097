// Fault matrix, policy storage (docs/faults.md): `policy:active`, `policy:last-good` and the
// snapshot they point to (`snapshot:<id>`, which carries the named lists), read through a KV
// binding that throws, hangs, answers corrupt or future-schema data, or changes between reads.
// Each cell asks /v1/check, /v1/authorize and the AccessCheck RPC entrypoint, then /healthz,
// then heals the binding and moves the clock past the retry interval (no reset, no new isolate)
// and asks again.
//
// The policy is pushed once through the admin API (a pointer to a snapshot holding the named
// list `fault-banned`); each test writes the texts it produced back into KV.
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FailMode } from '../../../src/engine/policy';
import { ACTIVE_POLICY_KEY, LAST_GOOD_POLICY_KEY } from '../../../src/policy/keys';
import { sha256Hex, snapshotKey } from '../../../src/policy/snapshot';
import { POLICY_LOAD_BUDGET_MS, POLICY_RETRY_MS, POLICY_TTL_MS } from '../../../src/store/active-policy';
import { adminFetch, preconditionFor, push } from '../../admin-client';
import { advance, codes, decide, envWith, expectConsistent, fault, FaultyKv, GARBAGE, healthz, isolateEachTest, settle, TRANSPORTS, unavailable, type Answer, type CheckBody, type ReadPlan } from './harness';

/** A US user the policy allows; a BR user its allow-list denies; a US user its named list denies. */
const US_OK: CheckBody = { ip: '100.64.1.7', geo: { country: 'US', asn: 7922 }, account: { id: 'acct-ok' } };
const BR: CheckBody = { ip: '100.64.2.7', geo: { country: 'BR', asn: 7922 }, account: { id: 'acct-ok' } };
const BANNED: CheckBody = { ...US_OK, account: { id: 'acct-banned' } };

/** What the fail mode answers, by mode. */
const FAIL_ACTION = { closed: 'deny', challenge: 'challenge', open: 'allow' } as const;

/** A budget with room for a busy 2-core machine: the documented load budget plus slack. */
const STALL_BOUND_MS = POLICY_LOAD_BUDGET_MS + 1_500;

/** The texts the admin API wrote for policy A (and B, pushed after it). */
let A: { pointer: string; snapshotId: string; snapshot: string; version: string };
let B: { pointer: string; snapshotId: string; version: string };

async function pushPolicy(version: string, countries: string[]): Promise<{ pointer: string; snapshotId: string; snapshot: string; version: string }> {
  const doc = {
    version,
    rules: [
      { id: 'markets', type: 'country-allowlist', action: 'deny', countries },
      { id: 'banned', type: 'account', action: 'deny', lists: ['fault-banned'] },
    ],
    score: { weights: {}, challengeAt: 50, denyAt: 100 },
    history: { mode: 'off' },
  };
  const res = await push(doc);
  expect(res.status, await res.clone().text()).toBe(200);
  const pointer = (await env.POLICY.get(ACTIVE_POLICY_KEY)) ?? '';
  const snapshotId = (JSON.parse(pointer) as { snapshot: string }).snapshot;
  const snapshot = (await env.POLICY.get(snapshotKey(snapshotId))) ?? '';
  expect(await sha256Hex(snapshot)).toBe(snapshotId);
  return { pointer, snapshotId, snapshot, version };
}

beforeAll(async () => {
  const list = await adminFetch('/v1/lists/fault-banned', { method: 'PUT', body: { kind: 'account', items: ['acct-banned'] }, headers: await preconditionFor('/v1/lists/fault-banned') });
  expect(list.status, await list.clone().text()).toBe(200);
  B = await pushPolicy(`faults-b-${crypto.randomUUID()}`, ['US', 'BR']);
  A = await pushPolicy(`faults-a-${crypto.randomUUID()}`, ['US']);
  // The admin store's isolate (this one) read its own push: forget it.
  await SELF.fetch('https://geogate.test/healthz').then((r) => r.body?.cancel());
});

const kv = new FaultyKv();

isolateEachTest([kv], () => env.POLICY.put(ACTIVE_POLICY_KEY, A.pointer));

/** Stores the good last-good copy (what an earlier isolate mirrored). */
const withLastGood = () => env.POLICY.put(LAST_GOOD_POLICY_KEY, A.pointer);

/** An isolate that loaded policy A (and mirrored it), then sat past the TTL. */
async function warmIsolate(e = envWith({ POLICY: kv.binding })): Promise<void> {
  const first = await decide('check', e, US_OK);
  expect(first.body).toMatchObject({ decision: 'allow', failed: false, policySource: 'kv', policyVersion: A.version });
  await settle();
  expect(await env.POLICY.get(LAST_GOOD_POLICY_KEY)).toBe(A.pointer);
  advance(POLICY_TTL_MS + 1);
}

/** What a cell expects to answer while the fault holds. */
type Served =
  /** No policy: the fail mode decides everything. */
  | { readonly by: 'fail-mode'; readonly cause: string }
  /** Policy A's last good copy decides, and says so. */
  | { readonly by: 'last-known-good'; readonly cause: string }
  /** A warm isolate inside maxStale keeps serving policy A as it is (documented: not yet a failure). */
  | { readonly by: 'stale' };

/** Asks all three transports for US_OK, BR and BANNED and checks what each answered. */
async function expectServed(e: Env, served: Served, failMode: FailMode = 'closed'): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const transport of TRANSPORTS) {
    for (const [body, underPolicy] of [
      [US_OK, 'allow'],
      [BR, 'deny'],
      [BANNED, 'deny'],
    ] as const) {
      const a = await decide(transport, e, body);
      answers.push(a);
      const decision = served.by === 'fail-mode' ? FAIL_ACTION[failMode] : underPolicy;
      expectConsistent(a, { decision, failed: served.by !== 'stale', budgetMs: STALL_BOUND_MS });
      if (served.by === 'stale') {
        expect(a.body).toMatchObject({ policySource: 'kv', policyVersion: A.version, snapshot: A.snapshotId });
        continue;
      }
      expect(unavailable(a), a.transport).toMatchObject({ failure: served.cause });
      if (served.by === 'fail-mode') {
        expect(a.body).toMatchObject({ policySource: 'none', policyVersion: 'none', snapshot: 'none' });
        expect(codes(a)).toEqual(['POLICY_UNAVAILABLE']);
      } else {
        expect(a.body).toMatchObject({ policySource: 'last-known-good', policyVersion: A.version, snapshot: A.snapshotId });
        // The named list is part of what the fallback decides with.
        if (body === BANNED) expect(codes(a)[0]).toBe('ACCOUNT_DENIED');
      }
    }
  }
  return answers;
}

/** /healthz while the fault holds. */
async function expectHealth(e: Env, served: Served, failMode: FailMode = 'closed'): Promise<void> {
  const h = await healthz(e);
  expect(h.ms).toBeLessThan(STALL_BOUND_MS);
  if (served.by === 'stale') {
    expect(h).toMatchObject({ status: 'ok', policy: { version: A.version, source: 'kv' } });
    return;
  }
  expect(h.status).toBe('degraded');
  expect(h.cause).toMatchObject({ kind: served.cause });
  if (served.by === 'fail-mode') expect(h).toMatchObject({ policy: null, failMode: { mode: failMode, from: 'deployment' } });
  else expect(h.policy).toMatchObject({ version: A.version, source: 'last-known-good', snapshot: A.snapshotId });
}

/**
 * The dependency heals; time moves past the retry interval; without any reset the next checks
 * are healthy again (the first may still answer from the fallback while it refreshes), and so
 * is /healthz.
 */
async function expectRecovery(e: Env): Promise<void> {
  kv.heal();
  // Reads the hang held answer now; what they load lands before the clock moves on.
  await settle();
  advance(POLICY_RETRY_MS + 1);
  await decide('check', e, US_OK);
  await settle();
  for (const transport of TRANSPORTS) {
    const a = await decide(transport, e, BANNED);
    expectConsistent(a, { decision: 'deny', failed: false, budgetMs: STALL_BOUND_MS });
    expect(a.body).toMatchObject({ policySource: 'kv', policyVersion: A.version, snapshot: A.snapshotId });
    expect(codes(a)).toEqual(['ACCOUNT_DENIED']);
    const ok = await decide(transport, e, US_OK);
    expectConsistent(ok, { decision: 'allow', failed: false, budgetMs: STALL_BOUND_MS });
  }
  const h = await healthz(e);
  expect(h).toMatchObject({ status: 'ok', policy: { version: A.version, source: 'kv', snapshot: A.snapshotId } });
  expect(h.cause).toBeUndefined();
}

/** A pointer whose snapshot format is newer than this deployment knows. */
const futurePointer = () => JSON.stringify({ ...(JSON.parse(A.pointer) as object), schema: 2 });
/** A pointer naming a snapshot that does not exist. */
const danglingPointer = () => JSON.stringify({ ...(JSON.parse(A.pointer) as object), snapshot: 'f'.repeat(64) });

const TRUNCATED = () => A.pointer.slice(0, Math.floor(A.pointer.length / 2));
const WRONG_TYPES = '{"version":3,"rules":"all","score":{"denyAt":"high"},"failMode":42}';
const OVERSIZED_POLICY = 4 * 1024 * 1024 + 65_536;
const OVERSIZED_SNAPSHOT = 16 * 1024 * 1024 + 65_536;

/** One cell: the fault (key -> plan), the isolate it hits, and what must answer meanwhile. */
interface Cell {
  readonly name: string;
  readonly faults: () => Readonly<Record<string, ReadPlan>>;
  readonly isolate: 'cold' | 'warm';
  readonly lastGood?: boolean;
  readonly served: Served;
  /** Past maxStale (5 min) before asking (a warm isolate whose refresh hangs). */
  readonly pastMaxStale?: boolean;
}

/** A plan, or one built when the cell runs (texts of policy A exist only then). */
type Lazy = ReadPlan | (() => ReadPlan);
const now = (p: Lazy): ReadPlan => (typeof p === 'function' ? p() : p);
const active = (plan: Lazy) => () => ({ [ACTIVE_POLICY_KEY]: now(plan) });
const snapshot = (plan: Lazy) => () => ({ [snapshotKey(A.snapshotId)]: now(plan) });
const TORN_SNAPSHOT = () => fault.text(A.snapshot.slice(0, 100));

const CELLS: readonly Cell[] = [
  // policy:active
  { name: 'policy:active read throws, cold isolate, no last good copy', faults: active(fault.throw), isolate: 'cold', served: { by: 'fail-mode', cause: 'storage-unavailable' } },
  { name: 'policy:active read throws, cold isolate, last good copy in KV', faults: active(fault.throw), isolate: 'cold', lastGood: true, served: { by: 'last-known-good', cause: 'storage-unavailable' } },
  { name: 'policy:active read throws, warm isolate', faults: active(fault.throw), isolate: 'warm', served: { by: 'last-known-good', cause: 'storage-unavailable' } },
  { name: 'policy:active read hangs, cold isolate (past the 1.5 s budget)', faults: active(fault.hang), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'timeout' } },
  { name: 'policy:active read hangs, warm isolate within maxStale (5 min): still policy A, not failed', faults: active(fault.hang), isolate: 'warm', served: { by: 'stale' } },
  { name: 'policy:active read hangs, warm isolate past maxStale', faults: active(fault.hang), isolate: 'warm', pastMaxStale: true, served: { by: 'last-known-good', cause: 'timeout' } },
  { name: 'policy:active truncated JSON, cold isolate, no last good copy', faults: active(() => fault.text(TRUNCATED())), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'policy:active truncated JSON, cold isolate, last good copy in KV', faults: active(() => fault.text(TRUNCATED())), isolate: 'cold', lastGood: true, served: { by: 'last-known-good', cause: 'invalid' } },
  { name: 'policy:active wrong types, warm isolate', faults: active(fault.text(WRONG_TYPES)), isolate: 'warm', served: { by: 'last-known-good', cause: 'invalid' } },
  { name: 'policy:active binary garbage, cold isolate, no last good copy', faults: active(fault.bytes(GARBAGE)), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'policy:active oversized (4 MiB + 64 KiB), cold isolate, last good copy in KV', faults: active(fault.oversized(OVERSIZED_POLICY)), isolate: 'cold', lastGood: true, served: { by: 'last-known-good', cause: 'too-large' } },
  { name: 'policy:active future schema (pointer schema 2), cold isolate, no last good copy', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.text(futurePointer()) }), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'policy:active future schema (pointer schema 2), warm isolate', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.text(futurePointer()) }), isolate: 'warm', served: { by: 'last-known-good', cause: 'invalid' } },
  { name: 'policy:active absent after a policy existed, warm isolate', faults: active(fault.absent), isolate: 'warm', served: { by: 'last-known-good', cause: 'missing' } },
  { name: 'policy:active changes mid-load: garbage on one read, good on the next', faults: active([fault.bytes(GARBAGE), 'real']), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },

  // policy:last-good (read only when policy:active is unusable or absent, on a cold isolate)
  { name: 'policy:last-good read throws (policy:active absent)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.absent, [LAST_GOOD_POLICY_KEY]: fault.throw }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'storage-unavailable' } },
  { name: 'policy:last-good read throws (policy:active corrupt)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.bytes(GARBAGE), [LAST_GOOD_POLICY_KEY]: fault.throw }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'policy:last-good read hangs (policy:active corrupt)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.bytes(GARBAGE), [LAST_GOOD_POLICY_KEY]: fault.hang }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'timeout' } },
  { name: 'policy:last-good truncated JSON (policy:active absent)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.absent, [LAST_GOOD_POLICY_KEY]: fault.text(TRUNCATED()) }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'missing' } },
  { name: 'policy:last-good wrong types (policy:active corrupt)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.text(TRUNCATED()), [LAST_GOOD_POLICY_KEY]: fault.text(WRONG_TYPES) }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'policy:last-good binary garbage (policy:active absent)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.absent, [LAST_GOOD_POLICY_KEY]: fault.bytes(GARBAGE) }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'missing' } },
  { name: 'policy:last-good oversized (policy:active absent)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.absent, [LAST_GOOD_POLICY_KEY]: fault.oversized(OVERSIZED_POLICY) }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'missing' } },
  { name: 'policy:last-good future schema (policy:active corrupt)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.bytes(GARBAGE), [LAST_GOOD_POLICY_KEY]: fault.text(futurePointer()) }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'policy:last-good changes mid-load: garbage on one read, good on the next (policy:active corrupt)', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.bytes(GARBAGE), [LAST_GOOD_POLICY_KEY]: [fault.bytes(GARBAGE), 'real'] }), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'invalid' } },

  // snapshot:<id>: the policy and its named lists
  { name: 'snapshot (named lists) read throws, cold isolate', faults: snapshot(fault.throw), isolate: 'cold', lastGood: true, served: { by: 'fail-mode', cause: 'storage-unavailable' } },
  { name: 'snapshot (named lists) read hangs, cold isolate', faults: snapshot(fault.hang), isolate: 'cold', served: { by: 'fail-mode', cause: 'timeout' } },
  { name: 'snapshot (named lists) truncated, cold isolate', faults: snapshot(TORN_SNAPSHOT), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'snapshot (named lists) binary garbage, cold isolate', faults: snapshot(fault.bytes(GARBAGE)), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'snapshot (named lists) oversized (16 MiB + 64 KiB), cold isolate', faults: snapshot(fault.oversized(OVERSIZED_SNAPSHOT)), isolate: 'cold', served: { by: 'fail-mode', cause: 'too-large' } },
  { name: 'snapshot (named lists) absent (the pointer names a snapshot not yet visible), cold isolate', faults: snapshot(fault.absent), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },
  { name: 'snapshot (named lists) absent for a new pointer, warm isolate', faults: () => ({ [ACTIVE_POLICY_KEY]: fault.text(danglingPointer()) }), isolate: 'warm', served: { by: 'last-known-good', cause: 'invalid' } },
  { name: 'snapshot (named lists) changes mid-load: torn on one read, good on the next', faults: snapshot(() => [TORN_SNAPSHOT(), 'real']), isolate: 'cold', served: { by: 'fail-mode', cause: 'invalid' } },
];

describe('fault matrix: policy storage', () => {
  it.each(CELLS.map((c) => [c.name, c] as const))('%s', async (_name, cell) => {
    const e = envWith({ POLICY: kv.binding });
    if (cell.lastGood) await withLastGood();
    if (cell.isolate === 'warm') await warmIsolate(e);
    // Texts that depend on policy A are built now that it exists.
    const faults = cell.faults();
    for (const [key, plan] of Object.entries(faults)) kv.set(key, plan);
    if (cell.isolate === 'warm') {
      // The first check past the TTL answers from what the isolate has and refreshes behind it.
      const first = await decide('check', e, US_OK);
      expect(first.body).toMatchObject({ decision: 'allow', policyVersion: A.version });
      expect(first.ms).toBeLessThan(STALL_BOUND_MS);
      if (!Object.values(faults).some((p) => p === fault.hang)) await settle();
    }
    if (cell.pastMaxStale) advance(5 * 60_000);
    await expectServed(e, cell.served);
    await expectHealth(e, cell.served);
    await expectRecovery(e);
  });
});

describe('fault matrix: the fail mode the deployment sets', () => {
  it.each<[FailMode]>([['closed'], ['challenge'], ['open']])('policy:active read throws with FAIL_MODE=%s: the fail mode decides, failed, and recovers', async (mode) => {
    const e = envWith({ POLICY: kv.binding, FAIL_MODE: mode });
    kv.set(ACTIVE_POLICY_KEY, fault.throw);
    const answers = await expectServed(e, { by: 'fail-mode', cause: 'storage-unavailable' }, mode);
    for (const a of answers) {
      expect(unavailable(a)).toMatchObject({ failMode: mode, failModeFrom: 'deployment' });
      // Nothing can clear a fail-mode challenge: no ticket, nothing it clears.
      if (mode === 'challenge') expect(a.body.challenge).toMatchObject({ clears: [] });
      if (mode === 'challenge') expect(a.body.challenge?.ticket).toBeUndefined();
    }
    await expectHealth(e, { by: 'fail-mode', cause: 'storage-unavailable' }, mode);
    await expectRecovery(e);
  });
});

describe('fault matrix: policy:active changes between reads (a push lands mid-load)', () => {
  it('concurrent cold checks share one load: all answer policy A (never a mix), the next load after the TTL answers B, and policy:last-good follows', async () => {
    const e = envWith({ POLICY: kv.binding });
    kv.set(ACTIVE_POLICY_KEY, [fault.text(A.pointer), fault.text(B.pointer)]);
    const answers = await Promise.all(TRANSPORTS.flatMap((t) => [decide(t, e, BR), decide(t, e, US_OK)]));
    for (const a of answers) expect(a.body).toMatchObject({ policyVersion: A.version, snapshot: A.snapshotId, failed: false });
    expect(answers.filter((a) => a.body.decision === 'deny')).toHaveLength(3);
    expect(kv.reads(ACTIVE_POLICY_KEY)).toBe(1);
    await settle();
    expect(await env.POLICY.get(LAST_GOOD_POLICY_KEY)).toBe(A.pointer);
    advance(POLICY_TTL_MS + 1);
    await decide('check', e, BR);
    await settle();
    for (const t of TRANSPORTS) {
      const a = await decide(t, e, BR);
      expectConsistent(a, { decision: 'allow', failed: false, budgetMs: STALL_BOUND_MS });
      expect(a.body).toMatchObject({ policyVersion: B.version, snapshot: B.snapshotId });
    }
    expect(await env.POLICY.get(LAST_GOOD_POLICY_KEY)).toBe(B.pointer);
    expect(await healthz(e)).toMatchObject({ status: 'ok', policy: { version: B.version } });
  });
});
