// Fault matrix, clearance revocations (docs/faults.md): the KV read of
// `clearance-revocation:<sha256 of the account>` a check makes when it presents a clearance that
// names an account. The documented fail mode (docs/storage-schema.md, "Clearance revocations"):
// a read that fails, answers past its 200 ms budget or finds a value not of the documented shape
// counts as "unknown", and the clearance is CLEARANCE_INVALID (`revocation-unknown`): a clearance
// opens a door, so doubt keeps it shut. The policy decides (`failed: false`); the challenge the
// clearance would have lifted stands. Nothing is cached in the isolate, so the next read after the
// store heals counts again.
import { describe, expect, it } from 'vitest';
import { REVOCATION_READ_BUDGET_MS, revocationStatus } from '../../../src/challenge/revocations';
import { signClearance } from '../../../src/challenge/tokens';
import { revocationKey } from '../../../src/policy/keys';
import { sha256Hex } from '../../../src/policy/snapshot';
import { CLEARANCE_SECRET } from '../../helpers';
import { advance, codes, decide, envWith, fault, FaultyKv, GARBAGE, healthz, isolateEachTest, settle, T0, TRANSPORTS, type Answer, type CheckBody, type ReadPlan } from './harness';

const STALL_BOUND_MS = REVOCATION_READ_BUDGET_MS + 1_500;

const kv = new FaultyKv();

isolateEachTest([kv]);

/** A Tor user (the default policy challenges Tor) of a fresh account, with a step-up clearance of that challenge. */
async function clearedTorUser(): Promise<{ body: CheckBody; key: string }> {
  const account = `acct-rev-${crypto.randomUUID()}`;
  const { token } = await signClearance(CLEARANCE_SECRET, {
    kind: 'step-up',
    account,
    network: '198.51.100.0/24',
    reasons: ['TOR'],
    policyVersion: 'default',
    issuedAt: T0 - 60_000,
    expiresAt: T0 + 10 * 60_000,
  });
  return { body: { ip: '198.51.100.7', geo: { country: 'T1' }, account: { id: account }, clearance: token }, key: revocationKey(await sha256Hex(account)) };
}

const why = (a: Answer) => a.body.reasons.find((r) => r.code === 'CLEARANCE_INVALID')?.evidence.why;

async function expectCleared(e: Env, body: CheckBody): Promise<void> {
  for (const transport of TRANSPORTS) {
    const a = await decide(transport, e, body);
    expect(a.body.decision, transport).toBe('allow');
    expect(codes(a)[0], transport).toBe('CLEARANCE_VALID');
    if (transport === 'authorize') expect(a.status).toBe(200);
  }
}

async function expectDoubted(e: Env, body: CheckBody): Promise<void> {
  for (const transport of TRANSPORTS) {
    const a = await decide(transport, e, body);
    const where = `${transport}: ${JSON.stringify({ decision: a.body.decision, reasons: codes(a), ms: Math.round(a.ms) })}`;
    expect(a.ms, where).toBeLessThan(STALL_BOUND_MS);
    // The challenge stands, and the decision says why the clearance did not count.
    expect(a.body.decision, where).toBe('challenge');
    expect(why(a), where).toBe('revocation-unknown');
    expect(codes(a), where).toContain('TOR');
    // The policy decided: not a policy failure.
    expect(a.body.failed, where).toBe(false);
    if (transport === 'authorize') {
      expect(a.status, where).toBe(401);
      expect(a.headers.get('geogate-failed'), where).toBeNull();
    }
  }
}

const stored = (value: unknown) => JSON.stringify(value);
const GOOD_SHAPE = { geogate: 'clearance-revocation', schema: 1, revokedAt: new Date(T0 - 3_600_000).toISOString(), revokedBy: 'admin' };

const CELLS: readonly [string, ReadPlan][] = [
  ['the read throws', fault.throw],
  [`the read hangs (past the ${REVOCATION_READ_BUDGET_MS} ms budget)`, fault.hang],
  ['truncated JSON', fault.text(stored(GOOD_SHAPE).slice(0, 30))],
  ['wrong types', fault.text(stored({ ...GOOD_SHAPE, revokedAt: 1_700_000_000 }))],
  ['binary garbage', fault.bytes(GARBAGE)],
  ['JSON null', fault.text('null')],
  ['oversized (1 MiB)', fault.oversized(1024 * 1024)],
  ['a future schema (schema 2)', fault.text(stored({ ...GOOD_SHAPE, schema: 2 }))],
  ['another record under the key', fault.text(stored({ ...GOOD_SHAPE, geogate: 'intel-pointer' }))],
  ['changes mid-load: garbage on one read, absent on the next', [fault.bytes(GARBAGE), 'real']],
];

describe('fault matrix: clearance revocation reads', () => {
  it.each(CELLS)('%s: the clearance does not count (revocation-unknown), the challenge stands; it counts again once the read is good', async (_name, plan) => {
    const e = envWith({ POLICY: kv.binding });
    const { body, key } = await clearedTorUser();
    await expectCleared(e, body);
    advance(1_000);
    kv.set(key, plan);
    // A sequence's first read is the bad one: one check sees it, then the key reads whole.
    if (Array.isArray(plan)) {
      const a = await decide('check', e, body);
      expect(why(a)).toBe('revocation-unknown');
    } else {
      await expectDoubted(e, body);
    }
    expect(revocationStatus(Date.now())).toMatchObject({ status: 'degraded' });
    expect(await healthz(e)).toMatchObject({ status: 'degraded', revocations: { status: 'degraded' } });
    kv.heal();
    await settle();
    advance(1_000);
    await expectCleared(e, body);
    expect(revocationStatus(Date.now())).toMatchObject({ status: 'ok' });
    expect(await healthz(e)).toMatchObject({ status: 'ok', revocations: { status: 'ok' } });
  });

  it('a revocation written between two reads (a value changing mid-load) counts from the next read: the clearance stops counting', async () => {
    const e = envWith({ POLICY: kv.binding });
    const { body, key } = await clearedTorUser();
    await expectCleared(e, body);
    kv.set(key, [fault.text(stored({ ...GOOD_SHAPE, revokedAt: new Date(T0).toISOString() }))]);
    for (const transport of TRANSPORTS) {
      const a = await decide(transport, e, body);
      expect(a.body.decision).toBe('challenge');
      expect(why(a)).toBe('revoked');
    }
  });

  // Was a GAP (docs/faults.md): /healthz had no revocation section.
  it('fixed (was GAP): /healthz reports failing revocation reads (clearances doubted) as degraded', async () => {
    const e = envWith({ POLICY: kv.binding });
    const { body, key } = await clearedTorUser();
    kv.set(key, fault.throw);
    await expectDoubted(e, body);
    const h = await healthz(e);
    expect(h).toMatchObject({ status: 'degraded', revocations: { status: 'degraded', lastFailure: { kind: 'unavailable' } } });
  });
});
