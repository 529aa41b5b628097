// Dry-run on realistic generated policies and requests (test/generators.ts): marking any subset of
// a policy's rules dry-run gives exactly the decision of the policy without them, and a `dryRun`
// that is exactly the decision with every rule enforced. So a dry-run rule can never make a real
// decision more permissive (nor stricter) than leaving it out, and promise 2 holds for both.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/engine/compile';
import { evaluate } from '../../src/engine/evaluate';
import { ACTION_SEVERITY, type Facts } from '../../src/engine/types';
import { factsFromCheckRequest, parseCheckRequest } from '../../src/facts/check-request';
import { defaultPolicy } from '../../src/policy/default';
import { parsePolicy, type PolicyDocument, type PolicySpec } from '../../src/policy/schema';
import { scenarioArb } from '../generators';

/** Fixed seed: Stryker and CI see the same cases every run. */
const SEED = 20261126;

type RuleDoc = PolicyDocument['rules'][number];
const RESTRICTED = ['CN', 'HK', 'MO', 'KP', 'IR', 'SY', 'CU', 'RU'];

function toFacts(body: unknown): Facts {
  const parsed = parseCheckRequest(body);
  if (!parsed.success) throw new Error(`generator produced an invalid body: ${JSON.stringify(parsed.error.issues)}`);
  return factsFromCheckRequest(parsed.data);
}

const restrictive = fc.constantFrom('deny' as const, 'deny' as const, 'challenge' as const);
/** A list that is always the same (a fresh mutable array type, as rule documents want). */
const fixed = <T extends string | number>(...items: T[]): fc.Arbitrary<T[]> => fc.constant(items);
const surfaces = fc.option(
  fc.constantFrom(['web'], ['api'], ['web', 'admin']).map((s): string[] => [...s]),
  { nil: undefined },
);

/**
 * Rules drawn from what operators write: every rule type, both restrictive actions, surface
 * scoping, and allow-exceptions over the IPs, networks and accounts the request generators use.
 */
const ruleArbs: fc.Arbitrary<RuleDoc>[] = [
  fc.record({ id: fc.constant('sanctioned'), type: fc.constant('country' as const), action: restrictive, countries: fc.subarray(RESTRICTED, { minLength: 1 }) }),
  fc.record({ id: fc.constant('tor'), type: fc.constant('country' as const), action: restrictive, countries: fixed('T1'), surfaces }),
  fc.record({ id: fc.constant('markets'), type: fc.constant('country-allowlist' as const), action: restrictive, countries: fc.subarray(['US', 'DE', 'JP', 'SG', 'GB', 'AU', 'BR', 'TW', 'T1']) }),
  fc.record({ id: fc.constant('occupied'), type: fc.constant('region' as const), action: restrictive, regions: fc.subarray(['UA-43', 'UA-40', 'UA-14', 'UA-09'], { minLength: 1 }) }),
  fc.record({ id: fc.constant('owners'), type: fc.constant('owner-country' as const), action: restrictive, countries: fc.subarray(['CN', 'RU', 'SG'], { minLength: 1 }) }),
  fc.record({ id: fc.constant('relays'), type: fc.constant('asn' as const), action: restrictive, asns: fc.subarray([209854, 9009, 60068, 64500]), lists: fc.subarray(['x4b-vpn' as const]), surfaces }),
  fc.record({ id: fc.constant('clouds'), type: fc.constant('asn' as const), action: restrictive, lists: fixed('x4b-datacenter'), surfaces }),
  fc.record({ id: fc.constant('bad-ips'), type: fc.constant('cidr' as const), action: restrictive, cidrs: fc.subarray(['198.51.100.0/24', '2001:db8:bad::/48', '185.153.176.0/24']) }),
  fc.record({ id: fc.constant('banned'), type: fc.constant('account' as const), action: restrictive, accounts: fixed('acct-banned'), orgs: fixed('org-banned') }),
  fc.record({ id: fc.constant('hq'), type: fc.constant('cidr' as const), action: fc.constant('allow' as const), cidrs: fixed('203.0.113.0/24', '2001:db8:1::/48', '192.0.2.0/24'), liftDeny: fc.subarray(['score', 'sanctioned', 'relays', 'bad-ips', 'banned']) }),
  fc.record({ id: fc.constant('partners'), type: fc.constant('account' as const), action: fc.constant('allow' as const), accounts: fixed('acct-partner'), liftDeny: fc.subarray(['score', 'owners', 'clouds']) }),
  fc.record({ id: fc.constant('isp'), type: fc.constant('asn' as const), action: fc.constant('allow' as const), asns: fixed(7922, 701), liftDeny: fc.subarray(['score', 'markets']), surfaces }),
];

/**
 * A valid policy: some of the rules above (exceptions lift only denies that are in it), the
 * default policy's networks and weights or random ones, restricted places listed or derived from
 * the deny rules.
 */
const policyArb: fc.Arbitrary<PolicySpec> = fc
  .record({
    rules: fc.tuple(...ruleArbs).chain((rules) => fc.subarray(rules, { minLength: 1 })),
    weights: fc.option(fc.dictionary(fc.constantFrom('TZ_RESTRICTED', 'TZ_MISMATCH', 'TZ_INVALID', 'LOCALE_RESTRICTED', 'NETWORK_VPN', 'NETWORK_HOSTING', 'CLOCK_SKEW'), fc.integer({ min: 0, max: 100 })), { nil: undefined }),
    restrictedCountries: fc.option(fc.subarray(RESTRICTED), { nil: undefined }),
    denyRequiresLocation: fc.boolean(),
    missingGeo: fc.constantFrom('allow' as const, 'challenge' as const, 'deny' as const),
  })
  .map(({ rules, weights, restrictedCountries, denyRequiresLocation, missingGeo }) => {
    const base = defaultPolicy().spec;
    const denies = new Set(rules.filter((r) => r.action === 'deny').map((r) => r.id));
    const doc = {
      version: 'generated',
      rules: rules.map((r) => ('liftDeny' in r && r.liftDeny ? { ...r, liftDeny: r.liftDeny.filter((t) => t === 'score' || denies.has(t)) } : r)),
      ...(restrictedCountries ? { restrictedCountries } : {}),
      network: base.network,
      score: { ...base.score, ...(weights ? { weights } : {}), denyRequiresLocation },
      surfaces: base.surfaces,
      missingGeo,
    };
    const r = parsePolicy(doc);
    if (!r.ok) throw new Error(`generated an invalid policy: ${r.error.message}`);
    return r.policy;
  });

/** A policy, which of its rules are marked dry-run (at least one), and a request. */
const caseArb = policyArb.chain((spec) =>
  fc.tuple(
    fc.constant(spec),
    fc.array(fc.boolean(), { minLength: spec.rules.length, maxLength: spec.rules.length }).filter((m) => m.includes(true)),
    scenarioArb,
  ),
);

const markDryRun = (spec: PolicySpec, mask: readonly boolean[]): PolicySpec => ({ ...spec, rules: spec.rules.map((r, i) => (mask[i] ? { ...r, mode: 'dry-run' } : r)) });
const without = (spec: PolicySpec, mask: readonly boolean[]): PolicySpec => ({ ...spec, rules: spec.rules.filter((_r, i) => !mask[i]) });

describe('dry-run rules never change the decision', () => {
  it('marking rules dry-run decides exactly as removing them, and dryRun is the decision with every rule enforced', () => {
    let changed = 0;
    let matched = 0;
    let runs = 0;
    fc.assert(
      fc.property(caseArb, ([spec, mask, [now, origin, client]]) => {
        const f = toFacts({ ...origin, client });
        const { dryRun, ...real } = evaluate(compilePolicy(markDryRun(spec, mask)), f, now);
        const removed = evaluate(compilePolicy(without(spec, mask)), f, now);
        const enforced = evaluate(compilePolicy(spec), f, now);
        expect(real).toEqual(removed);
        const dryIds = new Set(spec.rules.filter((_r, i) => mask[i]).map((r) => r.id));
        const wantMatched = [...new Set(enforced.reasons.filter((r) => dryIds.has(r.rule)).map((r) => r.rule))].sort();
        expect(dryRun).toEqual({
          decision: enforced.decision,
          changed: enforced.decision !== removed.decision,
          reasons: enforced.reasons,
          score: enforced.score,
          summary: enforced.summary,
          matched: wantMatched,
        });
        runs++;
        if (dryRun?.changed) changed++;
        if (wantMatched.length > 0) matched++;
      }),
      { seed: SEED, numRuns: 400 },
    );
    // The generators must reach requests that dry-run rules match, and decisions they would change.
    expect(matched / runs).toBeGreaterThan(0.2);
    expect(changed / runs).toBeGreaterThan(0.1);
  });

  it('a policy without dry-run rules reports no dryRun', () => {
    fc.assert(
      fc.property(policyArb, scenarioArb, (spec, [now, origin, client]) => {
        expect(evaluate(compilePolicy(spec), toFacts({ ...origin, client }), now)).not.toHaveProperty('dryRun');
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});

describe('promise 2 with dry-run rules: client fields never make either decision more permissive', () => {
  it('adding realistic client fields never lowers the decision, the dryRun decision or their scores', () => {
    let raised = 0;
    let runs = 0;
    fc.assert(
      fc.property(caseArb, ([spec, mask, [now, origin, client]]) => {
        const policy = compilePolicy(markDryRun(spec, mask));
        const a = evaluate(policy, toFacts(origin), now);
        const b = evaluate(policy, toFacts({ ...origin, client }), now);
        expect(ACTION_SEVERITY[b.decision]).toBeGreaterThanOrEqual(ACTION_SEVERITY[a.decision]);
        expect(b.score).toBeGreaterThanOrEqual(a.score);
        const [da, db] = [a.dryRun, b.dryRun];
        if (!da || !db) throw new Error('a policy with dry-run rules reported no dryRun');
        expect(ACTION_SEVERITY[db.decision]).toBeGreaterThanOrEqual(ACTION_SEVERITY[da.decision]);
        expect(db.score).toBeGreaterThanOrEqual(da.score);
        runs++;
        if (ACTION_SEVERITY[db.decision] > ACTION_SEVERITY[da.decision]) raised++;
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect(raised / runs).toBeGreaterThan(0.05);
  });
});
