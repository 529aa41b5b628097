// Dry-run rules: evaluated and reported in `dryRun`, never changing the decision. The real
// decision is the policy's decision without its dry-run rules; `dryRun` is the decision with every
// rule enforced. (Randomised versions of both statements: dry-run-properties.test.ts.)
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/engine/compile';
import { evaluate } from '../../src/engine/evaluate';
import { failModeDecision, underFallback } from '../../src/engine/fail';
import type { Action, Decision, Facts } from '../../src/engine/types';
import { parsePolicy, type PolicyDocument } from '../../src/policy/schema';
import { compile, facts, NOW, policyWith } from '../helpers';

type RuleDoc = PolicyDocument['rules'][number];

const dry = <R extends RuleDoc>(rule: R): R => ({ ...rule, mode: 'dry-run' });

const cn: RuleDoc = { id: 'cn', type: 'country', action: 'deny', countries: ['CN'] };
const tor: RuleDoc = { id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] };
const badAsn: RuleDoc = { id: 'bad-asn', type: 'asn', action: 'deny', asns: [64500] };
const hq: RuleDoc = { id: 'hq', type: 'cidr', action: 'allow', cidrs: ['203.0.113.0/24'] };
const fromHq = (geo: Facts['geo']) => facts({ ip: '203.0.113.7', geo });

/** A listed VPN weighing 60 and a restricted clock weighing 50: a score that challenges or denies. */
const scored = {
  network: { vpn: { asns: [9009] } },
  score: { weights: { NETWORK_VPN: 60, TZ_RESTRICTED: 50 }, challengeAt: 50, denyAt: 100 },
} satisfies Partial<PolicyDocument>;

function decide(rules: RuleDoc[], f: Facts, extra: Partial<PolicyDocument> = {}): Decision {
  return evaluate(compile(policyWith({ rules, ...extra })), f, NOW);
}

/** The same policy with the dry-run rules removed, and with every rule enforced. */
function references(rules: RuleDoc[], f: Facts, extra: Partial<PolicyDocument> = {}) {
  const enforced = rules.filter((r) => r.mode !== 'dry-run');
  const all: RuleDoc[] = rules.map((r) => ({ ...r, mode: 'enforce' }));
  // Validation is skipped for the first: an enforced exception may name a dry-run deny.
  const spec = parsePolicy(policyWith({ rules: all, ...extra }));
  if (!spec.ok) throw new Error(spec.error.message);
  const without = evaluate(compilePolicy({ ...spec.policy, rules: spec.policy.rules.filter((r) => enforced.some((e) => e.id === r.id)) }), f, NOW);
  return { without, withAll: decide(all, f, extra) };
}

describe('dry-run rules never decide; dryRun says what they would have done', () => {
  it.each<[string, RuleDoc[], Facts, Partial<PolicyDocument>, Action, Action, string[], string | undefined]>([
    // [name, rules, facts, policy, decision, dryRun.decision, dryRun.matched, dryRun's decisive code]
    ['a dry-run deny that matches', [dry(cn)], facts({ geo: { country: 'CN' } }), {}, 'allow', 'deny', ['cn'], 'COUNTRY_DENIED'],
    ['a dry-run deny that does not match', [dry(cn)], facts(), {}, 'allow', 'allow', [], undefined],
    ['a dry-run challenge that matches', [dry(tor)], facts({ geo: { country: 'T1' } }), {}, 'allow', 'challenge', ['tor'], 'TOR'],
    ['a dry-run deny under an enforced deny', [cn, dry(badAsn)], facts({ geo: { country: 'CN', asn: 64500 } }), {}, 'deny', 'deny', ['bad-asn'], 'ASN_DENIED'],
    ['a dry-run deny over an enforced challenge', [tor, dry({ ...badAsn, id: 'tor-asn' })], facts({ geo: { country: 'T1', asn: 64500 } }), {}, 'challenge', 'deny', ['tor-asn'], 'ASN_DENIED'],
    ['a dry-run challenge under the score', [dry(tor)], facts({ geo: { country: 'T1', asn: 9009 } }), scored, 'challenge', 'challenge', ['tor'], 'TOR'],
    ['a dry-run exception lifts no real challenge', [tor, dry(hq)], fromHq({ country: 'T1' }), {}, 'challenge', 'allow', ['hq'], undefined],
    ['a dry-run exception lifts no real deny it names', [badAsn, dry({ ...hq, liftDeny: ['bad-asn'] })], fromHq({ country: 'US', asn: 64500 }), {}, 'deny', 'allow', ['hq'], undefined],
    ['a dry-run exception lifts no real score deny', [dry({ ...hq, liftDeny: ['score'] })], fromHq({ country: 'US', asn: 9009 }), { ...scored, score: { ...scored.score, weights: { NETWORK_VPN: 100 }, denyRequiresLocation: false } }, 'deny', 'allow', ['hq'], undefined],
    ['an enforced exception lifts a dry-run deny only in dryRun', [dry(badAsn), { ...hq, liftDeny: ['bad-asn'] }], fromHq({ country: 'US', asn: 64500 }), {}, 'allow', 'allow', ['bad-asn'], undefined],
    ['an enforced exception lifts a dry-run challenge only in dryRun', [dry(tor), hq], fromHq({ country: 'T1' }), {}, 'allow', 'allow', ['tor'], undefined],
    ['an enforced exception does not lift a dry-run deny it does not name', [dry(badAsn), hq], fromHq({ country: 'US', asn: 64500 }), {}, 'allow', 'deny', ['bad-asn'], 'ASN_DENIED'],
    ['a dry-run rule scoped to another surface', [dry({ ...cn, surfaces: ['web'] })], facts({ geo: { country: 'CN' }, surface: 'api' }), {}, 'allow', 'allow', [], undefined],
    ['a dry-run rule scoped to this surface', [dry({ ...cn, surfaces: ['web'] })], facts({ geo: { country: 'CN' }, surface: 'web' }), {}, 'allow', 'deny', ['cn'], 'COUNTRY_DENIED'],
    ['several dry-run rules, listed in id order', [dry(tor), dry({ ...badAsn, id: 'a-asn' })], facts({ geo: { country: 'T1', asn: 64500 } }), {}, 'allow', 'deny', ['a-asn', 'tor'], 'ASN_DENIED'],
  ])('%s', (_name, rules, f, extra, decision, dryDecision, matched, dryCode) => {
    const d = decide(rules, f, extra);
    expect(d.decision).toBe(decision);
    expect(d.dryRun).toMatchObject({ decision: dryDecision, changed: decision !== dryDecision, matched });
    if (dryCode !== undefined) expect(d.dryRun?.reasons[0]).toMatchObject({ code: dryCode, action: dryDecision });
    if (dryDecision === 'allow') expect(d.dryRun?.reasons.every((r) => r.action === 'allow' || r.liftedBy !== undefined)).toBe(true);
    // The real decision is the policy without its dry-run rules, whole; dryRun is the policy with every rule enforced.
    const { without, withAll } = references(rules, f, extra);
    const { dryRun, ...real } = d;
    expect(real).toEqual(without);
    expect(dryRun).toEqual({ decision: withAll.decision, changed: withAll.decision !== d.decision, reasons: withAll.reasons, score: withAll.score, summary: withAll.summary, matched });
  });

  it('leaves the dry-run rules out of the real reasons and summary', () => {
    const d = decide([dry(cn)], facts({ geo: { country: 'CN' } }));
    expect(d.reasons).toEqual([]);
    expect(d.summary).toBe('Allowed: no rule matched and the risk score 0 is below challengeAt (50).');
    expect(d.dryRun?.summary).toBe("Denied: The IP's country CN is listed by rule cn.");
    expect(d.dryRun?.reasons).toEqual([{ code: 'COUNTRY_DENIED', rule: 'cn', action: 'deny', message: "The IP's country CN is listed by rule cn.", evidence: { country: 'CN', geoSource: 'forwarded' } }]);
  });

  it('offers no challenge for a challenge only dryRun would give, and keeps the real one', () => {
    expect(decide([dry(tor)], facts({ geo: { country: 'T1' } })).challenge).toBeUndefined();
    const d = decide([tor, dry(cn)], facts({ geo: { country: 'T1' } }));
    expect(d.challenge).toEqual({ kinds: ['turnstile'], expiresIn: 600, clears: ['TOR'] });
    expect(d.dryRun).not.toHaveProperty('challenge');
  });

  it('is present whenever the policy has dry-run rules, and only then', () => {
    expect(decide([cn], facts())).not.toHaveProperty('dryRun');
    expect(decide([{ ...cn, mode: 'enforce' }], facts())).not.toHaveProperty('dryRun');
    expect(decide([cn, dry(tor)], facts()).dryRun).toEqual({
      decision: 'allow',
      changed: false,
      reasons: [],
      score: 0,
      summary: 'Allowed: no rule matched and the risk score 0 is below challengeAt (50).',
      matched: [],
    });
  });

  it('reports an enforced rule unchanged when it is marked enforce explicitly', () => {
    const f = facts({ geo: { country: 'CN' } });
    expect(decide([{ ...cn, mode: 'enforce' }], f)).toEqual(decide([cn], f));
  });
});

describe('dry-run rules and the score', () => {
  // A US IP whose client says Shanghai: TZ_RESTRICTED only when CN counts as restricted.
  const shanghai = facts({ client: { timezone: 'Asia/Shanghai' } });

  it('a dry-run country deny does not make its countries restricted for the real decision', () => {
    const d = decide([dry(cn)], shanghai, scored);
    expect(d).toMatchObject({ decision: 'allow', score: 0, signals: { TZ_RESTRICTED: false } });
    // ...but does in dryRun, as it would once enforced: the score challenges though the rule itself did not match.
    expect(d.dryRun).toMatchObject({ decision: 'challenge', changed: true, score: 50, matched: [] });
    expect(d.dryRun?.reasons.map((r) => r.code)).toEqual(['SCORE_CHALLENGE', 'TZ_RESTRICTED']);
  });

  it('an explicit restrictedCountries list makes the score the same in both', () => {
    const d = decide([dry(cn)], shanghai, { ...scored, restrictedCountries: ['CN'] });
    expect(d).toMatchObject({ decision: 'challenge', score: 50 });
    expect(d.dryRun).toMatchObject({ decision: 'challenge', changed: false, score: 50, matched: [] });
  });

  it('a dry-run region deny widens the restricted regions only in dryRun', () => {
    const crimea = facts({ geo: { country: 'DE' }, client: { timezone: 'Europe/Simferopol' } });
    const d = decide([dry({ id: 'crimea', type: 'region', action: 'deny', regions: ['UA-43'] })], crimea, scored);
    expect(d.signals.TZ_RESTRICTED).toBe(false);
    expect(d.dryRun).toMatchObject({ decision: 'challenge', score: 50 });
  });

  it('reuses the real signals when the dry-run rules leave the restricted places as they are', () => {
    const same = compile(policyWith({ rules: [cn, dry({ ...cn, id: 'cn-2' }), dry(tor)] }));
    expect(same.dryRun?.policy.timezone).toBe(same.timezone);
    const wider = compile(policyWith({ rules: [dry(cn)] }));
    expect(wider.dryRun?.policy.timezone).not.toBe(wider.timezone);
    expect([...(wider.dryRun?.policy.timezone.restricted.countries ?? [])]).toEqual(['CN']);
    expect([...wider.timezone.restricted.countries]).toEqual([]);
  });

  it('compiles each rule once: the dry-run variant shares the enforced rules and the networks', () => {
    const p = compile(policyWith({ rules: [cn, dry(tor)], ...scored }));
    expect(p.rules.map((r) => r.id)).toEqual(['cn']);
    expect(p.dryRun?.policy.rules.map((r) => r.id)).toEqual(['cn', 'tor']);
    expect(p.dryRun?.policy.rules[0]).toBe(p.rules[0]);
    expect(p.dryRun?.policy.vpn).toBe(p.vpn);
    expect(p.dryRun?.policy.dryRun).toBeUndefined();
    expect([...(p.dryRun?.ruleIds ?? [])]).toEqual(['tor']);
  });
});

describe('the policy format', () => {
  it.each([
    ['absent', undefined, true],
    ['enforce', 'enforce', true],
    ['dry-run', 'dry-run', true],
    ['an unknown mode', 'shadow', false],
    ['the wrong case', 'Dry-Run', false],
  ])('mode %s', (_name, mode, ok) => {
    const r = parsePolicy(policyWith({ rules: [{ ...cn, ...(mode === undefined ? {} : { mode }) } as RuleDoc] }));
    expect(r.ok).toBe(ok);
    if (r.ok) expect(r.policy.rules[0]?.mode).toBe(mode);
  });

  it('lets an exception name a dry-run deny, and a dry-run exception name an enforced one', () => {
    expect(parsePolicy(policyWith({ rules: [dry(badAsn), { ...hq, liftDeny: ['bad-asn'] }] })).ok).toBe(true);
    expect(parsePolicy(policyWith({ rules: [badAsn, dry({ ...hq, liftDeny: ['bad-asn'] })] })).ok).toBe(true);
  });
});

describe('decisions without the current policy', () => {
  const failure = { kind: 'invalid', message: 'not valid JSON' } as const;

  it('the fail mode reports no dryRun', () => {
    expect(failModeDecision('closed', 'deployment', failure)).not.toHaveProperty('dryRun');
  });

  it("a fallback policy's dryRun is reported as that policy gave it", () => {
    const d = decide([dry(cn)], facts({ geo: { country: 'CN' } }));
    const fallback = underFallback(d, failure, 'last-known-good');
    expect(fallback.failed).toBe(true);
    expect(fallback.dryRun).toEqual(d.dryRun);
    expect(fallback.dryRun?.reasons.map((r) => r.code)).toEqual(['COUNTRY_DENIED']);
  });
});
