// Clearances in the engine (src/engine/clearance.ts, step 6 of evaluate): how a presented
// clearance is judged (expiry, account, network, revocation) and what it may lift. A clearance
// lifts a challenge whose every reason it cleared, and nothing else: never a deny, never a reason
// it did not clear. Properties over realistic requests try to make it do more.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { challengeCodes, CLEARANCE_RULE, judgeClearance, networkOf, type ClearanceClaims, type ClearanceInput } from '../../src/engine/clearance';
import { compilePolicy } from '../../src/engine/compile';
import { evaluate } from '../../src/engine/evaluate';
import { ACTION_SEVERITY, type Decision, type Facts } from '../../src/engine/types';
import { factsFromCheckRequest, parseCheckRequest } from '../../src/facts/check-request';
import { defaultPolicy } from '../../src/policy/default';
import { clientArb, instantArb, memoryArb, originArb } from '../generators';
import { compile, defaultDocument, facts, NOW, policyWith } from '../helpers';

const SEED = 20261126;
const MIN = 60_000;

/** A signed clearance input for account `acct-1` on 203.0.113.0/24, issued a minute before NOW. */
function signed(over: Partial<ClearanceClaims> = {}, revokedAt?: number | 'unknown'): ClearanceInput {
  return {
    status: 'signed',
    claims: {
      id: 'c-1',
      kind: 'turnstile',
      account: 'acct-1',
      network: '203.0.113.0/24',
      reasons: ['NETWORK_VPN'],
      policyVersion: 'p-1',
      issuedAt: NOW - MIN,
      expiresAt: NOW + 29 * MIN,
      ...over,
    },
    ...(revokedAt !== undefined ? { revokedAt } : {}),
  };
}

const REQUEST = { ip: '203.0.113.77', account: 'acct-1' };

describe('networkOf', () => {
  it.each([
    ['203.0.113.77', 24, 48, '203.0.113.0/24'],
    ['203.0.113.77', 32, 48, '203.0.113.77/32'],
    ['203.0.113.77', 16, 48, '203.0.0.0/16'],
    ['203.0.113.77', 8, 48, '203.0.0.0/8'],
    ['::ffff:203.0.113.77', 24, 48, '203.0.113.0/24'],
    ['2001:db8:1:2::5', 24, 48, '2001:db8:1::/48'],
    ['2001:db8:1:2::5', 24, 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2::5', 24, 128, '2001:db8:1:2:0:0:0:5/128'],
    ['2001:DB8:ffff:2::5', 24, 32, '2001:db8::/32'],
    // A 6to4 address embedding 203.0.113.77 is an IPv6 network of its own.
    ['2002:cb00:714d::1', 24, 48, '2002:cb00:714d::/48'],
    ['203.0.113.77', 0, 0, '0.0.0.0/0'],
    ['2001:db8::1', 0, 0, '::/0'],
  ])('%s at /%i (v4) /%i (v6) is %s', (ip, v4, v6, want) => {
    expect(networkOf(ip, { ipv4Prefix: v4, ipv6Prefix: v6 })).toBe(want);
  });
  it('is undefined for what is not an address', () => {
    expect(networkOf('203.0.113.256', { ipv4Prefix: 24, ipv6Prefix: 48 })).toBeUndefined();
  });
});

describe('judgeClearance', () => {
  it.each<[string, ClearanceInput, { ip?: string; account?: string }, string | true]>([
    ['a fresh clearance for this account and network', signed(), REQUEST, true],
    ['another address in the same /24', signed(), { ...REQUEST, ip: '203.0.113.1' }, true],
    ['the IPv4-mapped form of an address in the /24', signed(), { ...REQUEST, ip: '::ffff:203.0.113.9' }, true],
    ['another /24', signed(), { ...REQUEST, ip: '203.0.114.77' }, 'network'],
    ['a 6to4 address embedding an address of the /24', signed(), { ...REQUEST, ip: '2002:cb00:714d::1' }, 'network'],
    ['no IP at all', signed(), { account: 'acct-1' }, 'network'],
    ['another account', signed(), { ...REQUEST, account: 'acct-2' }, 'account'],
    ['a request without an account', signed(), { ip: REQUEST.ip }, 'account'],
    ['an accountless clearance presented with an account', signed({ account: undefined }), REQUEST, 'account'],
    ['an accountless clearance without an account', signed({ account: undefined }), { ip: REQUEST.ip }, true],
    ['an expired clearance', signed({ expiresAt: NOW }), REQUEST, 'expired'],
    ['a clearance issued far in the future', signed({ issuedAt: NOW + 2 * MIN }), REQUEST, 'expired'],
    ['a clearance issued within the clock leeway', signed({ issuedAt: NOW + 30_000 }), REQUEST, true],
    ['a clearance issued exactly a leeway ahead', signed({ issuedAt: NOW + 60_000 }), REQUEST, true],
    ['a clearance issued just past the leeway', signed({ issuedAt: NOW + 60_001 }), REQUEST, 'expired'],
    ['a clearance whose last millisecond is now', signed({ expiresAt: NOW + 1 }), REQUEST, true],
    ['a network claiming more bits than an address has', signed({ network: '203.0.113.77/33' }), REQUEST, 'network'],
    ['a network with text after it', signed({ network: '203.0.113.0/24x' }), REQUEST, 'network'],
    ['a clearance revoked after it was issued', signed({}, NOW - 1000), REQUEST, 'revoked'],
    ['a clearance revoked the second it was issued', signed({}, NOW - MIN), REQUEST, 'revoked'],
    ['a clearance issued after the revocation', signed({}, NOW - 2 * MIN), REQUEST, true],
    ['a revocation that cannot be read', signed({}, 'unknown'), REQUEST, 'revocation-unknown'],
    ['a network text that is no network', signed({ network: 'nonsense' }), REQUEST, 'network'],
    ['an IPv6 network for an IPv4 request', signed({ network: '2001:db8:1::/48' }), REQUEST, 'network'],
    ['an IPv6 clearance', signed({ network: '2001:db8:1::/48' }), { ...REQUEST, ip: '2001:db8:1:ffff::1' }, true],
    ['a refused token', { status: 'invalid', why: 'signature' }, REQUEST, 'signature'],
  ])('%s', (_name, input, request, want) => {
    const v = judgeClearance(input, request, NOW);
    expect(v.valid ? true : v.why).toBe(want);
  });
});

/** A policy that challenges a listed VPN network and a Tor exit, and denies CN. */
const POLICY = compile(
  policyWith({
    rules: [
      { id: 'deny-cn', type: 'country', action: 'deny', countries: ['CN'] },
      { id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] },
    ],
    network: { vpn: { cidrs: ['203.0.113.0/24'] } },
    score: { weights: { NETWORK_VPN: 60, TZ_MISMATCH: 30, TZ_RESTRICTED: 100 }, challengeAt: 50, denyAt: 100 },
    challenge: { kinds: ['turnstile', 'step-up'], offers: [{ reasons: ['TZ_RESTRICTED'], kinds: ['step-up'] }] },
  }),
);
const VPN_USER: Facts = facts({ ip: '203.0.113.77', account: { id: 'acct-1' } });

const reasonsOf = (d: Decision) => d.reasons.map((r) => [r.code, r.rule, r.action, r.liftedBy ?? null]);

describe('what a clearance lifts', () => {
  it('challenges a VPN user and offers the policy kinds for the signals that fed the score', () => {
    const d = evaluate(POLICY, VPN_USER, NOW);
    expect(d.decision).toBe('challenge');
    expect(d.challenge).toEqual({ kinds: ['turnstile', 'step-up'], expiresIn: 600, clears: ['NETWORK_VPN'] });
  });

  it('lifts the challenge for the reasons it cleared: the whole decision', () => {
    const d = evaluate(POLICY, VPN_USER, NOW, undefined, undefined, signed());
    expect(d.decision).toBe('allow');
    expect(d.challenge).toBeUndefined();
    expect(d.score).toBe(60);
    expect(reasonsOf(d)).toEqual([
      ['CLEARANCE_VALID', CLEARANCE_RULE, 'allow', null],
      ['SCORE_CHALLENGE', 'score', 'challenge', CLEARANCE_RULE],
      ['NETWORK_VPN', 'score', 'challenge', CLEARANCE_RULE],
    ]);
    expect(d.reasons[0]?.evidence).toEqual({ clearance: 'c-1', kind: 'turnstile', cleared: ['NETWORK_VPN'], policyVersion: 'p-1', expiresAt: new Date(NOW + 29 * MIN).toISOString(), lifted: ['NETWORK_VPN'] });
    expect(d.summary).toBe('Allowed: SCORE_CHALLENGE lifted by challengeClearance.');
  });

  it('a new, different reason challenges again', () => {
    const f = { ...VPN_USER, client: { timezone: 'Europe/Berlin' } };
    const d = evaluate(POLICY, f, NOW, undefined, undefined, signed());
    expect(d.decision).toBe('challenge');
    expect(d.challenge?.clears).toEqual(['NETWORK_VPN', 'TZ_MISMATCH']);
    const insufficient = d.reasons.find((r) => r.code === 'CLEARANCE_INSUFFICIENT');
    expect(insufficient).toMatchObject({ rule: CLEARANCE_RULE, action: 'allow', evidence: { uncovered: ['TZ_MISMATCH'] } });
    expect(d.reasons.some((r) => r.liftedBy !== undefined)).toBe(false);
  });

  it('a rule challenge needs its own code cleared', () => {
    const tor = facts({ ip: '198.51.100.7', geo: { country: 'T1' }, account: { id: 'acct-1' } });
    const clearance = signed({ network: '198.51.100.0/24' });
    expect(evaluate(POLICY, tor, NOW, undefined, undefined, clearance).decision).toBe('challenge');
    expect(evaluate(POLICY, tor, NOW, undefined, undefined, signed({ network: '198.51.100.0/24', reasons: ['TOR'] })).decision).toBe('allow');
  });

  it('never lifts a deny, whatever it cleared', () => {
    const cn = facts({ ip: '203.0.113.77', geo: { country: 'CN' }, account: { id: 'acct-1' } });
    const d = evaluate(POLICY, cn, NOW, undefined, undefined, signed({ reasons: ['COUNTRY_DENIED', 'NETWORK_VPN'] }));
    expect(d.decision).toBe('deny');
    expect(d.reasons.find((r) => r.code === 'CLEARANCE_INSUFFICIENT')).toMatchObject({ message: 'A clearance never lifts a deny.', evidence: { deny: true } });
    expect(d.reasons.some((r) => r.liftedBy === CLEARANCE_RULE)).toBe(false);
  });

  it('says nothing on an allow, and leaves it as it is', () => {
    const clean = facts({ ip: '198.51.100.7', account: { id: 'acct-1' } });
    const d = evaluate(POLICY, clean, NOW, undefined, undefined, signed({ network: '198.51.100.0/24' }));
    expect(d).toEqual(evaluate(POLICY, clean, NOW));
  });

  it('an invalid clearance is reported and changes nothing else', () => {
    const d = evaluate(POLICY, VPN_USER, NOW, undefined, undefined, signed({ account: 'acct-2' }));
    const without = evaluate(POLICY, VPN_USER, NOW);
    expect(d.decision).toBe('challenge');
    expect(d.reasons.filter((r) => r.code !== 'CLEARANCE_INVALID')).toEqual(without.reasons);
    expect(d.reasons.find((r) => r.code === 'CLEARANCE_INVALID')).toEqual({
      code: 'CLEARANCE_INVALID',
      rule: CLEARANCE_RULE,
      action: 'allow',
      message: 'The clearance was issued for another account; it is ignored.',
      evidence: { why: 'account' },
    });
    expect(d.challenge).toEqual(without.challenge);
  });

  it('offers step-up first when the facts point to a restricted clock (Turnstile does not load in mainland China)', () => {
    const f = { ...VPN_USER, client: { timezone: 'Asia/Shanghai' } };
    const p = compile(policyWith({ ...POLICY.spec, score: { ...POLICY.spec.score, denyAt: 1000 }, restrictedCountries: ['CN'] }));
    const d = evaluate(p, f, NOW);
    expect(d.decision).toBe('challenge');
    expect(d.challenge).toEqual({ kinds: ['step-up'], expiresIn: 600, clears: ['NETWORK_VPN', 'TZ_MISMATCH', 'TZ_RESTRICTED'] });
  });

  it('an allow-exception lifts first; the clearance then has nothing to lift', () => {
    const p = compile(policyWith({ ...POLICY.spec, rules: [...POLICY.spec.rules, { id: 'partner', type: 'account', action: 'allow', accounts: ['acct-1'] }] }));
    const d = evaluate(p, VPN_USER, NOW, undefined, undefined, signed());
    expect(d.decision).toBe('allow');
    expect(d.reasons.filter((r) => r.liftedBy !== undefined).map((r) => r.liftedBy)).toEqual(['partner', 'partner']);
    expect(d.reasons.some((r) => r.code.startsWith('CLEARANCE_'))).toBe(false);
  });

  it('the dry-run outcome is judged with the same clearance', () => {
    const p = compile(policyWith({ ...POLICY.spec, rules: [...POLICY.spec.rules, { id: 'us-dry', type: 'country', action: 'challenge', countries: ['US'], mode: 'dry-run' }] }));
    const d = evaluate(p, VPN_USER, NOW, undefined, undefined, signed());
    expect(d.decision).toBe('allow');
    expect(d.dryRun?.decision).toBe('challenge');
    expect(d.dryRun?.reasons.find((r) => r.code === 'CLEARANCE_INSUFFICIENT')?.evidence).toMatchObject({ uncovered: ['COUNTRY_DENIED'] });
  });
});

describe('challengeCodes', () => {
  it('reads standing challenge reasons only, a score as its signals', () => {
    const codes = challengeCodes([
      { code: 'TOR', rule: 'tor', action: 'challenge', message: '', evidence: {} },
      { code: 'GEO_MISSING', rule: 'missingGeo', action: 'challenge', message: '', evidence: {}, liftedBy: 'x' },
      { code: 'COUNTRY_DENIED', rule: 'cn', action: 'deny', message: '', evidence: {} },
      { code: 'SCORE_CHALLENGE', rule: 'score', action: 'challenge', message: '', evidence: { signals: ['TZ_MISMATCH', 'NETWORK_VPN', 7] } },
    ]);
    expect(codes).toEqual(['NETWORK_VPN', 'TOR', 'TZ_MISMATCH']);
  });
});

// ----- properties ---------------------------------------------------------------------------

function toFacts(body: unknown): Facts {
  const parsed = parseCheckRequest(body);
  if (!parsed.success) throw new Error(`generator produced an invalid body: ${JSON.stringify(parsed.error.issues)}`);
  return factsFromCheckRequest(parsed.data);
}

const CODES = ['NETWORK_VPN', 'NETWORK_HOSTING', 'TZ_MISMATCH', 'TZ_RESTRICTED', 'TZ_INVALID', 'CLOCK_SKEW', 'LOCALE_RESTRICTED', 'TOR', 'GEO_MISSING', 'COUNTRY_DENIED', 'REGION_DENIED', 'RELAY_FANOUT', 'TZ_RESTRICTED_HISTORY', 'ORG_RESTRICTED_SHARE'];

/** A clearance for the request's own account and network (so that it is valid), clearing a random set of codes. */
function clearanceFor(f: Facts, now: number, reasons: string[], kind: string): ClearanceInput | undefined {
  const network = f.ip === undefined ? undefined : networkOf(f.ip, { ipv4Prefix: 24, ipv6Prefix: 48 });
  if (network === undefined) return undefined;
  return {
    status: 'signed',
    claims: { id: 'p', kind, ...(f.account.id !== undefined ? { account: f.account.id } : {}), network, reasons, policyVersion: 'x', issuedAt: now - MIN, expiresAt: now + MIN },
  };
}

const scenario = instantArb.chain((now) =>
  fc.tuple(fc.constant(now), originArb, clientArb(now), fc.option(memoryArb(now), { nil: undefined }), fc.subarray(CODES), fc.constantFrom('turnstile', 'step-up', 'sso')),
);

describe('a clearance never does more than lift what it cleared', () => {
  const policies = [
    ['default', defaultPolicy()],
    ['vpn-challenge', POLICY],
    ['default with denyRequiresLocation off', compilePolicy({ ...defaultPolicy().spec, score: { ...defaultPolicy().spec.score, denyRequiresLocation: false } })],
  ] as const;

  it.each(policies)('no clearance turns a deny into anything else, or lifts a reason it did not clear (%s policy)', (_name, policy) => {
    let lifted = 0;
    let denies = 0;
    let runs = 0;
    fc.assert(
      fc.property(scenario, ([now, origin, client, memory, reasons, kind]) => {
        const f = toFacts({ ...origin, client });
        const clearance = clearanceFor(f, now, reasons, kind);
        if (!clearance) return;
        runs++;
        const without = evaluate(policy, f, now, undefined, memory);
        const withC = evaluate(policy, f, now, undefined, memory, clearance);
        // Never more severe, and a deny stays a deny with the same standing reasons.
        expect(ACTION_SEVERITY[withC.decision]).toBeLessThanOrEqual(ACTION_SEVERITY[without.decision]);
        expect(withC.score).toBe(without.score);
        if (without.decision === 'deny') {
          denies++;
          expect(withC.decision).toBe('deny');
        }
        if (without.decision === 'allow') expect(withC).toEqual(without);
        // What it lifted, it cleared; and it lifted only challenges.
        const byClearance = withC.reasons.filter((r) => r.liftedBy === CLEARANCE_RULE);
        for (const r of byClearance) {
          expect(r.action).toBe('challenge');
          const signals = (r.evidence.signals ?? []) as string[];
          const needed = r.code === 'SCORE_CHALLENGE' ? signals : [r.code];
          for (const code of needed) expect(reasons).toContain(code);
        }
        if (withC.decision !== without.decision) {
          lifted++;
          expect(without.decision).toBe('challenge');
          expect(withC.decision).toBe('allow');
          // Every code the challenge was about was cleared, by a kind it offered.
          for (const code of without.challenge?.clears ?? []) expect(reasons).toContain(code);
          expect(without.challenge?.kinds).toContain(kind);
        } else if (without.decision === 'challenge') {
          // A challenge that stands has a code the clearance did not clear, or was not offered its kind.
          expect((without.challenge?.clears ?? []).some((c) => !reasons.includes(c)) || !(without.challenge?.kinds ?? []).includes(kind)).toBe(true);
          expect(withC.challenge).toEqual(without.challenge);
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
    // The generators reach both sides: challenges that clearances lift, and denies they must not.
    expect(lifted).toBeGreaterThan(0);
    expect(denies / Math.max(runs, 1)).toBeGreaterThan(0.02);
  });

  it('an invalid clearance changes nothing but the CLEARANCE_INVALID reason', () => {
    const invalid = fc.constantFrom<ClearanceInput>(
      { status: 'invalid', why: 'signature' },
      { status: 'invalid', why: 'malformed' },
      signed({ account: 'someone-else' }),
      signed({ network: '192.0.2.0/24', account: undefined }),
      signed({ expiresAt: 0 }),
    );
    fc.assert(
      fc.property(instantArb.chain((now) => fc.tuple(fc.constant(now), originArb, clientArb(now))), invalid, ([now, origin, client], clearance) => {
        const f = toFacts({ ...origin, client });
        const without = evaluate(defaultPolicy(), f, now);
        const withC = evaluate(defaultPolicy(), f, now, undefined, undefined, clearance);
        const judged = judgeClearance(clearance, { ...(f.ip ? { ip: f.ip } : {}), ...(f.account.id ? { account: f.account.id } : {}) }, now);
        if (judged.valid) return;
        expect(withC.decision).toBe(without.decision);
        expect(withC.reasons.filter((r) => r.code !== 'CLEARANCE_INVALID')).toEqual(without.reasons);
        expect(withC.reasons.filter((r) => r.code === 'CLEARANCE_INVALID')).toHaveLength(1);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('policy', () => {
  it('the default policy offers turnstile, then step-up; step-up first when the facts point to a restricted place', () => {
    const spec = compile(defaultDocument()).spec;
    expect(spec.challenge).toEqual({
      kinds: ['turnstile', 'step-up'],
      offers: [{ reasons: ['TZ_RESTRICTED', 'TZ_RESTRICTED_HISTORY', 'LOCALE_RESTRICTED', 'RESTRICTED_IP_HISTORY'], kinds: ['step-up', 'turnstile'] }],
      expiresInSeconds: 600,
      clearanceTtlSeconds: 1800,
      bind: { ipv4Prefix: 24, ipv6Prefix: 48 },
    });
  });

  it('a policy that says nothing of challenges gets the documented defaults', () => {
    expect(compile(policyWith()).spec.challenge).toEqual({ kinds: ['turnstile'], offers: [], expiresInSeconds: 600, clearanceTtlSeconds: 1800, bind: { ipv4Prefix: 24, ipv6Prefix: 48 } });
  });
});
