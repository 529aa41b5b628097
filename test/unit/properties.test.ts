// Invariants, checked on generated requests (fast-check): the engine never throws, a denied
// country is always denied, client signals only ever raise suspicion, rule order never matters.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy, type CompiledPolicy } from '../../src/engine/compile';
import { evaluate } from '../../src/engine/evaluate';
import { ACTION_SEVERITY, type ClientFacts, type Facts } from '../../src/engine/types';
import { factsFromCheckRequest, parseCheckRequest } from '../../src/facts/check-request';
import { defaultPolicy } from '../../src/policy/default';
import { parsePolicy, type PolicySpec } from '../../src/policy/schema';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import { NOW } from '../helpers';

const DENIED = ['CN', 'HK', 'MO', 'KP', 'IR', 'SY', 'CU', 'RU'];

const country = fc.constantFrom('US', 'CN', 'JP', 'SG', 'DE', 'RU', 'UA', 'T1', 'XX', 'BR', 'HK', 'IR', 'MY', 'TW', 'KP');
const zoneName = fc.oneof(
  fc.constantFrom('Asia/Shanghai', 'PRC', 'America/New_York', 'Europe/Kiev', 'Asia/Taipei', 'Etc/GMT-8', 'asia/urumqi', 'UTC', 'Europe/Simferopol', 'Mars/Base', 'Asia/Singapore', 'America/Los_Angeles', 'Europe/Moscow'),
  fc.string({ maxLength: 40 }),
);
const instant = fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2099-12-31T00:00:00Z') });
const clock = fc.oneof(
  instant.map((t) => new Date(t).toISOString()),
  fc.tuple(instant, fc.integer({ min: -12, max: 14 })).map(([t, h]) => {
    const local = new Date(t + h * 3_600_000).toISOString().slice(0, 19);
    return `${local}${h < 0 ? '-' : '+'}${String(Math.abs(h)).padStart(2, '0')}:00`;
  }),
);
const language = fc.oneof(fc.constantFrom('zh-CN', 'en-US', 'ru-RU,en;q=0.5', 'fa-IR', 'zh-TW', 'en-US,zh-CN;q=0.1'), fc.string({ maxLength: 60 }));
const asn = fc.oneof(fc.constantFrom(9009, 209854, 16509, 14061, 7922, 4134), fc.integer({ min: 0, max: 4_294_967_295 }));
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('203.0.113.7', '::ffff:198.51.100.5', '2001:db8:1::5'));

const clientArb = fc.record(
  {
    timezone: zoneName,
    utcOffsetMinutes: fc.integer({ min: -1080, max: 1080 }),
    acceptLanguage: language,
    userAgent: fc.string({ maxLength: 80 }),
    clock,
  },
  { requiredKeys: [] },
);

/** A check request body shaped like what origins send, with adversarial values. */
const checkBody = fc.record(
  {
    requestId: fc.string({ minLength: 1, maxLength: 20 }),
    ip,
    geo: fc.record(
      {
        country,
        regionCode: fc.constantFrom('43', '14', '09', '30', 'CA', 'UA-43'),
        timezone: fc.constantFrom('Asia/Shanghai', 'America/Chicago', 'Europe/Berlin', 'Asia/Tokyo', 'Europe/Simferopol'),
        asn,
        latitude: fc.double({ min: -90, max: 90, noNaN: true }),
      },
      { requiredKeys: [] },
    ),
    client: clientArb,
    account: fc.record(
      { id: fc.constantFrom('acct-1', 'acct-partner', 'acct-banned'), orgId: fc.constantFrom('org-1', 'org-banned'), ownerCountry: fc.constantFrom('US', 'CN', 'SG', 'RU') },
      { requiredKeys: [] },
    ),
    surface: fc.constantFrom('web', 'api', 'admin'),
  },
  { requiredKeys: [] },
);

function toFacts(body: unknown): Facts {
  const parsed = parseCheckRequest(body);
  if (!parsed.success) throw new Error(`generator produced an invalid body: ${parsed.error.message}`);
  return factsFromCheckRequest(parsed.data);
}

const exceptionsPolicy = (() => {
  const r = parsePolicy(exceptionsGolden.policy);
  if (!r.ok) throw new Error(r.error.message);
  return r.policy;
})();
const POLICIES: [string, CompiledPolicy][] = [
  ['default', defaultPolicy()],
  ['exceptions', compilePolicy(exceptionsPolicy)],
];

const severity = (p: CompiledPolicy, f: Facts, now: number) => ACTION_SEVERITY[evaluate(p, f, now).decision];

describe('properties', () => {
  it('validation and evaluation never throw on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ geo: fc.jsonValue(), client: fc.jsonValue(), ip: fc.jsonValue(), account: fc.jsonValue() }, { requiredKeys: [] })), instant, (body, now) => {
        const parsed = parseCheckRequest(body);
        if (parsed.success) evaluate(defaultPolicy(), factsFromCheckRequest(parsed.data), now);
      }),
      { numRuns: 500 },
    );
  });

  it('evaluation never throws on any well-formed request', () => {
    fc.assert(
      fc.property(checkBody, instant, (body, now) => {
        for (const [, p] of POLICIES) {
          const d = evaluate(p, toFacts(body), now);
          expect(['allow', 'challenge', 'deny']).toContain(d.decision);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a denied country is denied whatever else the request says', () => {
    fc.assert(
      fc.property(checkBody, fc.constantFrom(...DENIED), instant, (body, denied, now) => {
        const f = toFacts({ ...body, geo: { ...body.geo, country: denied } });
        const d = evaluate(defaultPolicy(), f, now);
        expect(d.decision).toBe('deny');
        expect(d.reasons.some((r) => r.code === 'COUNTRY_DENIED' && r.liftedBy === undefined)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a restricted owner is denied whatever else the request says', () => {
    fc.assert(
      fc.property(checkBody, fc.constantFrom(...DENIED), (body, owner) => {
        const f = toFacts({ ...body, account: { ...body.account, ownerCountry: owner } });
        expect(evaluate(defaultPolicy(), f, NOW).decision).toBe('deny');
      }),
      { numRuns: 300 },
    );
  });

  it.each(POLICIES)('adding client signals never makes a decision more permissive (%s policy)', (_name, policy) => {
    fc.assert(
      fc.property(checkBody, clientArb, instant, (body, extra, now) => {
        const base = toFacts(body);
        const more: ClientFacts = { ...extra, ...base.client };
        const withMore = toFacts({ ...body, client: more });
        const withNone = toFacts({ ...body, client: {} });
        expect(severity(policy, withMore, now)).toBeGreaterThanOrEqual(severity(policy, base, now));
        expect(severity(policy, base, now)).toBeGreaterThanOrEqual(severity(policy, withNone, now));
      }),
      { numRuns: 400 },
    );
  });

  it('adding client signals never lowers the score', () => {
    fc.assert(
      fc.property(checkBody, clientArb, instant, (body, extra, now) => {
        const base = toFacts(body);
        const more = toFacts({ ...body, client: { ...extra, ...base.client } });
        expect(evaluate(defaultPolicy(), more, now).score).toBeGreaterThanOrEqual(evaluate(defaultPolicy(), base, now).score);
      }),
      { numRuns: 400 },
    );
  });

  it('adding client signals never lowers the score, whatever the weights', () => {
    const weight = fc.integer({ min: 0, max: 100 });
    const weights = fc.record({
      TZ_RESTRICTED: weight,
      TZ_MISMATCH: weight,
      TZ_INCONSISTENT: weight,
      TZ_INVALID: weight,
      CLOCK_SKEW: weight,
      LOCALE_RESTRICTED: weight,
      NETWORK_VPN: weight,
      NETWORK_HOSTING: weight,
    });
    fc.assert(
      fc.property(checkBody, clientArb, instant, weights, (body, extra, now, w) => {
        const spec = defaultPolicy().spec;
        const policy = compilePolicy({ ...spec, score: { ...spec.score, weights: w }, surfaces: {} });
        const base = toFacts(body);
        const more = toFacts({ ...body, client: { ...extra, ...base.client } });
        expect(evaluate(policy, more, now).score).toBeGreaterThanOrEqual(evaluate(policy, base, now).score);
        expect(severity(policy, more, now)).toBeGreaterThanOrEqual(severity(policy, base, now));
      }),
      { numRuns: 1000 },
    );
  });

  it('the decision does not depend on rule order', () => {
    const specs: PolicySpec[] = [defaultPolicy().spec, exceptionsPolicy];
    fc.assert(
      fc.property(checkBody, fc.constantFrom(...specs), fc.integer(), (body, spec, seed) => {
        const shuffled = [...spec.rules].sort((a, b) => ((hash(a.id, seed) - hash(b.id, seed)) | 0));
        const f = toFacts(body);
        expect(evaluate(compilePolicy({ ...spec, rules: shuffled }), f, NOW)).toEqual(evaluate(compilePolicy(spec), f, NOW));
      }),
      { numRuns: 100 },
    );
  });
});

function hash(s: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x9e3779b1);
  return h;
}
