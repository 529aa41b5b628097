// The evaluator: how rules, score and exceptions combine into one decision.
import { bundledIntel } from '../../src/engine/intel';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate';
import { explain } from '../../src/engine/explain';
import type { Facts, Reason, SignalValue } from '../../src/engine/types';
import { defaultPolicy } from '../../src/policy/default';
import type { PolicyDocument } from '../../src/policy/schema';
import { compile, facts, NOW, policyWith } from '../helpers';

type RuleDoc = PolicyDocument['rules'][number];

function decide(rules: RuleDoc[], f: Facts, extra: Partial<PolicyDocument> = {}) {
  return evaluate(compile(policyWith({ rules, ...extra })), f, NOW);
}

describe('hard rules', () => {
  it.each<[string, RuleDoc, Facts, string, string | undefined]>([
    ['country deny', { id: 'r', type: 'country', action: 'deny', countries: ['CN'] }, facts({ geo: { country: 'CN' } }), 'deny', 'COUNTRY_DENIED'],
    ['country challenge', { id: 'r', type: 'country', action: 'challenge', countries: ['BR'] }, facts({ geo: { country: 'BR' } }), 'challenge', 'COUNTRY_DENIED'],
    ['country miss', { id: 'r', type: 'country', action: 'deny', countries: ['CN'] }, facts(), 'allow', undefined],
    ['country empty list', { id: 'r', type: 'country', action: 'deny', countries: [] }, facts(), 'allow', undefined],
    ['Tor', { id: 'r', type: 'country', action: 'challenge', countries: ['T1'] }, facts({ geo: { country: 'T1' } }), 'challenge', 'TOR'],
    ['allow-list hit', { id: 'r', type: 'country-allowlist', action: 'deny', countries: ['US'] }, facts({ geo: { country: 'FR' } }), 'deny', 'COUNTRY_NOT_ALLOWED'],
    ['allow-list pass', { id: 'r', type: 'country-allowlist', action: 'deny', countries: ['US'] }, facts(), 'allow', undefined],
    ['empty allow-list denies every known country', { id: 'r', type: 'country-allowlist', action: 'deny', countries: [] }, facts(), 'deny', 'COUNTRY_NOT_ALLOWED'],
    ['region', { id: 'r', type: 'region', action: 'deny', regions: ['UA-43'] }, facts({ geo: { country: 'UA', regionCode: '43' } }), 'deny', 'REGION_DENIED'],
    ['region given in full', { id: 'r', type: 'region', action: 'deny', regions: ['UA-43'] }, facts({ geo: { country: 'UA', regionCode: 'UA-43' } }), 'deny', 'REGION_DENIED'],
    ['region of another country', { id: 'r', type: 'region', action: 'deny', regions: ['UA-43'] }, facts({ geo: { country: 'US', regionCode: '43' } }), 'allow', undefined],
    ['owner country', { id: 'r', type: 'owner-country', action: 'deny', countries: ['CN'] }, facts({ account: { ownerCountry: 'CN' } }), 'deny', 'OWNER_RESTRICTED'],
    ['owner country miss', { id: 'r', type: 'owner-country', action: 'deny', countries: ['CN'] }, facts({ account: { ownerCountry: 'SG' } }), 'allow', undefined],
    ['asn', { id: 'r', type: 'asn', action: 'deny', asns: [7922] }, facts(), 'deny', 'ASN_DENIED'],
    ['asn from a list', { id: 'r', type: 'asn', action: 'challenge', lists: ['x4b-datacenter'] }, facts({ geo: { country: 'US', asn: 16509 } }), 'challenge', 'ASN_DENIED'],
    ['asn unknown', { id: 'r', type: 'asn', action: 'deny', asns: [7922] }, facts({ geo: { country: 'US' } }), 'allow', undefined],
    ['cidr v4', { id: 'r', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] }, facts({ ip: '198.51.100.1' }), 'deny', 'IP_DENIED'],
    ['cidr v6', { id: 'r', type: 'cidr', action: 'deny', cidrs: ['2001:db8::/32'] }, facts({ ip: '2001:db8::1' }), 'deny', 'IP_DENIED'],
    ['cidr v4-mapped v6', { id: 'r', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] }, facts({ ip: '::ffff:198.51.100.1' }), 'deny', 'IP_DENIED'],
    ['cidr without an ip', { id: 'r', type: 'cidr', action: 'deny', cidrs: ['0.0.0.0/0'] }, facts(), 'allow', undefined],
    ['account id', { id: 'r', type: 'account', action: 'deny', accounts: ['a1'] }, facts({ account: { id: 'a1' } }), 'deny', 'ACCOUNT_DENIED'],
    ['org id', { id: 'r', type: 'account', action: 'deny', orgs: ['o1'] }, facts({ account: { id: 'a2', orgId: 'o1' } }), 'deny', 'ACCOUNT_DENIED'],
    ['account ids are exact', { id: 'r', type: 'account', action: 'deny', accounts: ['a1'] }, facts({ account: { id: 'A1' } }), 'allow', undefined],
  ])('%s', (_name, rule, f, decision, code) => {
    const d = decide([rule], f);
    expect(d.decision).toBe(decision);
    expect(d.reasons.find((r) => r.rule === 'r')?.code).toBe(code);
  });

  it('names the rule, the action and the evidence', () => {
    const d = decide([{ id: 'no-cn', type: 'country', action: 'deny', countries: ['CN'] }], facts({ geo: { country: 'CN' } }));
    expect(d.reasons).toEqual([
      {
        code: 'COUNTRY_DENIED',
        rule: 'no-cn',
        action: 'deny',
        message: expect.stringContaining('CN') as string,
        evidence: { country: 'CN', geoSource: 'forwarded' },
      },
    ]);
  });

  it.each<[string, RuleDoc, Facts, Omit<Reason, 'rule' | 'action'>]>([
    ['Tor', { id: 'r', type: 'country', action: 'deny', countries: ['T1'] }, facts({ geo: { country: 'T1' } }), { code: 'TOR', message: 'The IP is a Tor exit node (rule r).', evidence: { country: 'T1', geoSource: 'forwarded' } }],
    [
      'a country outside the allow-list',
      { id: 'r', type: 'country-allowlist', action: 'deny', countries: ['US'] },
      facts({ geo: { country: 'FR' }, geoSource: 'cf' }),
      { code: 'COUNTRY_NOT_ALLOWED', message: "The IP's country FR is not in the allow-list of rule r.", evidence: { country: 'FR', geoSource: 'cf' } },
    ],
    [
      'a region',
      { id: 'r', type: 'region', action: 'deny', regions: ['UA-43'] },
      facts({ geo: { country: 'UA', regionCode: '43' } }),
      { code: 'REGION_DENIED', message: "The IP's region UA-43 is listed by rule r.", evidence: { region: 'UA-43', country: 'UA', geoSource: 'forwarded' } },
    ],
    [
      "the owner's country, without account ids",
      { id: 'r', type: 'owner-country', action: 'deny', countries: ['CN'] },
      facts({ account: { ownerCountry: 'CN' } }),
      { code: 'OWNER_RESTRICTED', message: "The account's ultimate owner is in CN, restricted by rule r.", evidence: { ownerCountry: 'CN', source: 'origin', accountId: null, orgId: null } },
    ],
    [
      "the owner's country, with account ids",
      { id: 'r', type: 'owner-country', action: 'deny', countries: ['CN'] },
      facts({ account: { id: 'a1', orgId: 'o1', ownerCountry: 'CN' } }),
      { code: 'OWNER_RESTRICTED', message: "The account's ultimate owner is in CN, restricted by rule r.", evidence: { ownerCountry: 'CN', source: 'origin', accountId: 'a1', orgId: 'o1' } },
    ],
    [
      'an account',
      { id: 'r', type: 'account', action: 'deny', accounts: ['a1'], orgs: ['o1'] },
      facts({ account: { id: 'a1', orgId: 'o1' } }),
      { code: 'ACCOUNT_DENIED', message: 'The account a1 is listed by rule r.', evidence: { accountId: 'a1', source: 'policy' } },
    ],
    [
      'an organisation',
      { id: 'r', type: 'account', action: 'deny', accounts: ['a1'], orgs: ['o1'] },
      facts({ account: { id: 'a2', orgId: 'o1' } }),
      { code: 'ACCOUNT_DENIED', message: 'The organisation o1 is listed by rule r.', evidence: { orgId: 'o1', source: 'policy' } },
    ],
    [
      'an ASN written in the policy',
      { id: 'r', type: 'asn', action: 'deny', asns: [7922] },
      facts(),
      { code: 'ASN_DENIED', message: "The IP's network AS7922 is listed by rule r.", evidence: { asn: 7922, source: 'policy', asOrganization: null } },
    ],
    [
      'an ASN from a built-in list',
      { id: 'r', type: 'asn', action: 'deny', lists: ['x4b-datacenter'] },
      facts({ geo: { country: 'US', asn: 16509, asOrganization: 'Amazon' } }),
      {
        code: 'ASN_DENIED',
        message: "The IP's network AS16509 is listed by rule r (list x4b-datacenter; AMAZON-02 - Amazon.com, Inc., US).",
        evidence: { asn: 16509, source: 'x4b-datacenter', asOrganization: 'Amazon', category: 'datacenter', intel: bundledIntel().version, note: 'AMAZON-02 - Amazon.com, Inc., US' },
      },
    ],
    [
      'an address in a built-in list (the intel\'s blocks of its category)',
      { id: 'r', type: 'cidr', action: 'deny', lists: ['x4b-vpn'] },
      facts({ ip: '2.26.157.9' }),
      {
        code: 'IP_DENIED',
        message: 'The IP 2.26.157.9 is in 2.26.157.0/24 (list x4b-vpn), listed by rule r.',
        evidence: { ip: '2.26.157.9', cidr: '2.26.157.0/24', via: 'address', matchedIp: '2.26.157.9', source: 'x4b-vpn', intel: bundledIntel().version },
      },
    ],
    [
      'an address in a block',
      { id: 'r', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] },
      facts({ ip: '198.51.100.1' }),
      {
        code: 'IP_DENIED',
        message: 'The IP 198.51.100.1 is in 198.51.100.0/24, listed by rule r.',
        evidence: { ip: '198.51.100.1', cidr: '198.51.100.0/24', via: 'address', matchedIp: '198.51.100.1', source: 'policy' },
      },
    ],
    [
      'an IPv4 a 6to4 address embeds',
      { id: 'r', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] },
      facts({ ip: '2002:c633:6401::1' }),
      {
        code: 'IP_DENIED',
        message: 'The IP 2002:c633:6401::1 (embedding 198.51.100.1, 6to4) is in 198.51.100.0/24, listed by rule r.',
        evidence: { ip: '2002:c633:6401::1', cidr: '198.51.100.0/24', via: '6to4', matchedIp: '198.51.100.1', source: 'policy' },
      },
    ],
  ])('explains %s', (_name, rule, f, want) => {
    const d = decide([rule], f);
    expect(d.reasons[0]).toEqual({ ...want, rule: 'r', action: 'deny' });
  });

  it.each<[string, string, RuleDoc, Facts]>([
    ['an ASN', 'ASN_ALLOWED', { id: 'r', type: 'asn', action: 'allow', asns: [7922] }, facts()],
    ['an address', 'IP_ALLOWED', { id: 'r', type: 'cidr', action: 'allow', cidrs: ['198.51.100.0/24'] }, facts({ ip: '198.51.100.1' })],
    ['an account', 'ACCOUNT_ALLOWED', { id: 'r', type: 'account', action: 'allow', accounts: ['a1'] }, facts({ account: { id: 'a1' } })],
  ])('an allow-exception on %s reads %s', (_name, code, rule, f) => {
    const d = decide([rule], f);
    expect(d.reasons).toMatchObject([{ code, rule: 'r', action: 'allow' }]);
  });

  it('the most severe action wins', () => {
    const d = decide(
      [
        { id: 'a', type: 'country', action: 'challenge', countries: ['US'] },
        { id: 'b', type: 'asn', action: 'deny', asns: [7922] },
      ],
      facts(),
    );
    expect(d.decision).toBe('deny');
    expect(d.reasons.map((r) => [r.rule, r.action])).toEqual([
      ['b', 'deny'],
      ['a', 'challenge'],
    ]);
  });
});

describe('surfaces', () => {
  const rule: RuleDoc = { id: 'r', type: 'country', action: 'deny', countries: ['US'], surfaces: ['web'] };
  it.each([
    ['web', 'deny'],
    ['api', 'allow'],
    [undefined, 'allow'],
  ])('a web-only rule on surface %s -> %s', (surface, want) => {
    expect(decide([rule], facts(surface ? { surface } : {})).decision).toBe(want);
  });

  it('per-surface weights and thresholds override the defaults', () => {
    const extra: Partial<PolicyDocument> = {
      network: { hosting: { asns: [7922] } },
      score: { weights: { NETWORK_HOSTING: 60 }, challengeAt: 50, denyAt: 100 },
      surfaces: { api: { weights: { NETWORK_HOSTING: 0 } }, admin: { denyAt: 60 } },
    };
    expect(decide([], facts({ surface: 'web' }), extra).decision).toBe('challenge');
    expect(decide([], facts({ surface: 'api' }), extra).decision).toBe('allow');
    // A score deny needs location evidence; this request has none, so denyAt 60 only challenges.
    expect(decide([], facts({ surface: 'admin' }), extra).decision).toBe('challenge');
    const withLocation = facts({ surface: 'admin', client: { timezone: 'Asia/Shanghai' } });
    const located = { ...extra, restrictedCountries: ['CN'], score: { weights: { NETWORK_HOSTING: 60, TZ_RESTRICTED: 1 }, challengeAt: 50, denyAt: 100 } };
    expect(decide([], withLocation, located).decision).toBe('deny');
  });
});

describe('per-surface thresholds fall back to the policy-wide ones field by field', () => {
  // A listed hosting network weighing 60: challengeAt 50 and denyAt 100 unless a surface says otherwise.
  const extra: Partial<PolicyDocument> = {
    network: { hosting: { asns: [7922] } },
    score: { weights: { NETWORK_HOSTING: 60 }, challengeAt: 50, denyAt: 100, denyRequiresLocation: false },
    surfaces: { admin: { denyAt: 200 }, api: { challengeAt: 70 }, web: { weights: { TZ_MISMATCH: 5 } } },
  };
  it.each<[string, string | undefined, string, number, number]>([
    // [name, surface, decision, challengeAt, denyAt]
    ['no surface', undefined, 'challenge', 50, 100],
    ['a surface without settings', 'partner', 'challenge', 50, 100],
    ['only denyAt set: challengeAt stays', 'admin', 'challenge', 50, 200],
    ['only challengeAt set: denyAt stays', 'api', 'allow', 70, 100],
    ['only weights set: the other weights stay', 'web', 'challenge', 50, 100],
  ])('%s', (_name, surface, decision, challengeAt, denyAt) => {
    const d = decide([], facts(surface === undefined ? {} : { surface }), extra);
    expect(d.decision).toBe(decision);
    expect(d.score).toBe(60);
    if (decision !== 'allow') {
      expect(d.reasons[0]?.evidence).toMatchObject({ challengeAt, denyAt, surface: surface ?? null });
    } else {
      expect(d.summary).toBe(`Allowed: no rule matched and the risk score 60 is below challengeAt (${challengeAt}).`);
    }
  });
});

describe('score', () => {
  // A US ISP user whose client claims Tokyo: TZ_MISMATCH (concealment), on a listed VPN ASN.
  const tokyo = facts({ client: { timezone: 'Asia/Tokyo' } });
  const extra = (weights: Record<string, number>, denyRequiresLocation = false): Partial<PolicyDocument> => ({
    network: { vpn: { asns: [7922] } },
    score: { weights, challengeAt: 50, denyAt: 100, denyRequiresLocation },
  });
  it.each([
    [{}, 'allow', 0],
    [{ NETWORK_VPN: 49 }, 'allow', 49],
    [{ NETWORK_VPN: 50 }, 'challenge', 50],
    [{ NETWORK_VPN: 50, TZ_MISMATCH: 49 }, 'challenge', 99],
    [{ NETWORK_VPN: 50, TZ_MISMATCH: 50 }, 'deny', 100],
  ])('weights %j -> %s (score %i)', (weights, decision, score) => {
    const d = decide([], tokyo, extra(weights));
    expect(d.decision).toBe(decision);
    expect(d.score).toBe(score);
  });

  it('lists each contributing signal with its weight, under the score band, after the score reason', () => {
    const d = decide([], facts(), extra({ NETWORK_VPN: 60, NETWORK_HOSTING: 0 }));
    expect(d.reasons.map((r) => [r.code, r.rule, r.action])).toEqual([
      ['SCORE_CHALLENGE', 'score', 'challenge'],
      ['NETWORK_VPN', 'score', 'challenge'],
    ]);
    expect(d.reasons[1]?.evidence).toMatchObject({ asn: 7922, weight: 60 });
    expect(d.reasons[0]?.evidence).toMatchObject({ score: 60, challengeAt: 50, denyAt: 100, signals: ['NETWORK_VPN'], points: { NETWORK_VPN: 60 } });
  });

  it('orders contributing signals by the points they add', () => {
    const d = decide([], tokyo, extra({ NETWORK_VPN: 30, TZ_MISMATCH: 40 }));
    expect(d.reasons.map((r) => r.code)).toEqual(['SCORE_CHALLENGE', 'TZ_MISMATCH', 'NETWORK_VPN']);
  });

  it('counts a network on both the VPN and the hosting list once, as VPN', () => {
    const both: Partial<PolicyDocument> = {
      network: { vpn: { asns: [7922] }, hosting: { asns: [7922] } },
      score: { weights: { NETWORK_VPN: 50, NETWORK_HOSTING: 25 }, challengeAt: 50, denyAt: 70, denyRequiresLocation: false },
    };
    const d = decide([], facts(), both);
    expect(d.signals).toMatchObject({ NETWORK_VPN: true, NETWORK_HOSTING: true });
    expect(d.score).toBe(50);
    expect(d.decision).toBe('challenge');
    expect(d.reasons.map((r) => r.code)).not.toContain('NETWORK_HOSTING');
  });

  it('counts a network on both lists under the heavier weight when a surface zeroes VPN', () => {
    const both: Partial<PolicyDocument> = {
      network: { vpn: { asns: [7922] }, hosting: { asns: [7922] } },
      score: { weights: { NETWORK_VPN: 50, NETWORK_HOSTING: 25 }, challengeAt: 20, denyAt: 100 },
      surfaces: { api: { weights: { NETWORK_VPN: 0 } } },
    };
    const d = decide([], facts({ surface: 'api' }), both);
    expect(d.score).toBe(25);
    expect(d.reasons.map((r) => r.code)).toEqual(['SCORE_CHALLENGE', 'NETWORK_HOSTING']);
  });

  it('counts hosting alone when the network is not a VPN', () => {
    const d = decide([], facts(), { network: { hosting: { asns: [7922] } }, score: { weights: { NETWORK_VPN: 50, NETWORK_HOSTING: 25 }, challengeAt: 20, denyAt: 100 } });
    expect(d.score).toBe(25);
    expect(d.reasons.map((r) => r.code)).toEqual(['SCORE_CHALLENGE', 'NETWORK_HOSTING']);
  });

  it("reads MaxMind's A1 (anonymous proxy) as a VPN, and as an unknown country", () => {
    const d = decide([], facts({ geo: { country: 'A1' } }), { score: { weights: { NETWORK_VPN: 50 }, challengeAt: 50, denyAt: 100 }, missingGeo: 'allow' });
    expect(d.signals.NETWORK_VPN).toBe(true);
    expect(d.reasons.map((r) => r.code)).toEqual(['SCORE_CHALLENGE', 'GEO_MISSING', 'NETWORK_VPN']);
    expect(d.reasons.find((r) => r.code === 'NETWORK_VPN')?.evidence).toMatchObject({ country: 'A1' });
    expect(d.reasons.find((r) => r.code === 'NETWORK_VPN')?.message).toBe('The geo provider flags the IP as an anonymous proxy (country code A1).');
  });

  it('reports the listed VPN network rather than the A1 flag when the network is listed too', () => {
    const d = decide([], facts({ geo: { country: 'A1', asn: 7922 } }), {
      network: { vpn: { asns: [7922] } },
      score: { weights: { NETWORK_VPN: 50 }, challengeAt: 50, denyAt: 100 },
      missingGeo: 'allow',
    });
    expect(d.reasons.find((r) => r.code === 'NETWORK_VPN')?.evidence).toMatchObject({ asn: 7922, source: 'policy' });
  });
});

describe('a score deny needs location evidence', () => {
  const weights = { NETWORK_VPN: 50, NETWORK_HOSTING: 25, TZ_MISMATCH: 20, TZ_RESTRICTED: 50, LOCALE_RESTRICTED: 20, CLOCK_SKEW: 15, TZ_INCONSISTENT: 30 };
  const policy = (denyRequiresLocation?: boolean): Partial<PolicyDocument> => ({
    restrictedCountries: ['CN', 'IR', 'RU', 'CU'],
    network: { vpn: { asns: [1136] } },
    score: { weights, challengeAt: 50, denyAt: 80, ...(denyRequiresLocation === undefined ? {} : { denyRequiresLocation }) },
  });
  // An Iranian-American in Los Angeles on a VPN, fa-IR browser, clock 20 minutes slow: no location evidence.
  const diaspora = facts({
    geo: { country: 'US', asn: 1136, timezone: 'America/Los_Angeles' },
    client: { timezone: 'America/Los_Angeles', utcOffsetMinutes: -480, acceptLanguage: 'fa-IR,fa;q=0.9,en;q=0.8', clock: '2026-11-26T11:40:00Z' },
  });

  it('concealment and affinity alone only challenge, and say why', () => {
    const d = decide([], diaspora, policy());
    expect(d.score).toBe(85);
    expect(d.decision).toBe('challenge');
    expect(d.reasons[0]).toMatchObject({ code: 'SCORE_CHALLENGE', evidence: { denyNeedsLocation: true } });
    expect(d.summary).toMatch(/no signal places the user in a restricted location/);
  });

  it('a restricted zone is location evidence: the same score denies', () => {
    const shanghai = facts({ geo: { country: 'US', asn: 1136 }, client: { timezone: 'Asia/Shanghai', acceptLanguage: 'zh-CN' } });
    expect(decide([], shanghai, policy()).decision).toBe('deny');
  });

  it('an offset mostly used in restricted places is location evidence', () => {
    const tehranOffset = facts({ geo: { country: 'US', asn: 1136 }, client: { utcOffsetMinutes: 210, acceptLanguage: 'fa-IR' } });
    const d = decide([], tehranOffset, policy());
    expect(d.decision).toBe('deny');
  });

  it('an offset with a small restricted share is not', () => {
    const moscowTime = facts({ geo: { country: 'US', asn: 1136 }, client: { utcOffsetMinutes: 180, acceptLanguage: 'ru-RU', clock: '2026-11-26T11:00:00Z' } });
    const d = decide([], moscowTime, policy());
    expect(d.signals.TZ_RESTRICTED).toBe(true);
    expect(d.score).toBeGreaterThanOrEqual(80);
    expect(d.decision).toBe('challenge');
  });

  it('is a policy setting: denyRequiresLocation false lets concealment deny', () => {
    expect(decide([], diaspora, policy(false)).decision).toBe('deny');
  });

  it('undetermined signals weigh nothing', () => {
    const d = decide([], facts({ geo: { country: 'US' } }), { score: { weights: { NETWORK_VPN: 100 }, challengeAt: 50, denyAt: 100 } });
    expect(d.signals.NETWORK_VPN).toBe('undetermined');
    expect(d.decision).toBe('allow');
  });
});

describe('restricted places: the explicit list, else what deny rules name', () => {
  // A US IP whose client says Shanghai and zh-CN, or Crimea's zone (Europe/Simferopol).
  const shanghai = facts({ client: { timezone: 'Asia/Shanghai', acceptLanguage: 'zh-CN' } });
  const crimea = facts({ geo: { country: 'DE' }, client: { timezone: 'Europe/Simferopol' } });
  const cn = (action: 'deny' | 'challenge'): RuleDoc => ({ id: 'cn', type: 'country', action, countries: ['CN'] });
  const crimeaRule = (action: 'deny' | 'challenge'): RuleDoc => ({ id: 'crimea', type: 'region', action, regions: ['UA-43'] });
  it.each<[string, RuleDoc[], Partial<PolicyDocument>, Facts, SignalValue, SignalValue]>([
    // [name, rules, policy, facts, TZ_RESTRICTED, LOCALE_RESTRICTED]
    ['countries a deny rule names', [cn('deny')], {}, shanghai, true, true],
    ['not countries a challenge rule names', [cn('challenge')], {}, shanghai, false, false],
    ['the explicit list, when given, instead of the rules', [cn('deny')], { restrictedCountries: ['IR'] }, shanghai, false, false],
    ['regions a deny rule names', [crimeaRule('deny')], {}, crimea, true, 'undetermined'],
    ['not regions a challenge rule names', [crimeaRule('challenge')], {}, crimea, false, 'undetermined'],
  ])('%s', (_name, rules, extra, f, tz, locale) => {
    const d = decide(rules, f, extra);
    expect(d.signals.TZ_RESTRICTED).toBe(tz);
    expect(d.signals.LOCALE_RESTRICTED).toBe(locale);
  });
});

describe('missing geo', () => {
  it.each(['allow', 'challenge', 'deny'] as const)('missingGeo: %s', (missingGeo) => {
    const d = decide([], facts({ geo: {}, geoSource: 'none' }), { missingGeo });
    expect(d.decision).toBe(missingGeo);
    expect(d.reasons[0]).toMatchObject({ code: 'GEO_MISSING', rule: 'missingGeo', action: missingGeo });
  });

  it.each<[string, Facts, Reason['evidence']]>([
    ['no geo at all', facts({ geo: {}, geoSource: 'none' }), { geoSource: 'none', country: null }],
    ['an unassigned code', facts({ geo: { country: 'ZZ' } }), { geoSource: 'forwarded', country: 'ZZ' }],
    ["Cloudflare's unknown", facts({ geo: { country: 'XX' }, geoSource: 'cf' }), { geoSource: 'cf', country: 'XX' }],
  ])('says what was known: %s', (_name, f, evidence) => {
    expect(decide([], f).reasons[0]).toEqual({ code: 'GEO_MISSING', rule: 'missingGeo', action: 'challenge', message: 'The IP country is unknown.', evidence });
  });
});

describe('allow-exceptions', () => {
  const hq: RuleDoc = { id: 'hq', type: 'cidr', action: 'allow', cidrs: ['203.0.113.0/24'] };
  const hqLiftingAsn: RuleDoc = { ...hq, liftDeny: ['bad-asn'] };
  const hqLiftingScore: RuleDoc = { ...hq, liftDeny: ['score'] };
  const badAsn: RuleDoc = { id: 'bad-asn', type: 'asn', action: 'deny', asns: [7922] };
  const tor: RuleDoc = { id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] };
  const cn: RuleDoc = { id: 'cn', type: 'country', action: 'deny', countries: ['CN'] };
  const fromHq = (geo: Facts['geo']) => facts({ ip: '203.0.113.7', geo });

  it('lift every challenge', () => {
    const d = decide([hq, tor], fromHq({ country: 'T1' }));
    expect(d.decision).toBe('allow');
    expect(d.reasons.find((r) => r.code === 'TOR')?.liftedBy).toBe('hq');
    expect(d.challenge).toBeUndefined();
  });

  it('lift GEO_MISSING challenges', () => {
    expect(decide([hq], fromHq({})).decision).toBe('allow');
  });

  it('do not lift a deny they do not name', () => {
    const d = decide([hq, badAsn], fromHq({ country: 'US', asn: 7922 }));
    expect(d.decision).toBe('deny');
    expect(d.reasons.find((r) => r.code === 'ASN_DENIED')?.liftedBy).toBeUndefined();
  });

  it('lift a deny they name', () => {
    const d = decide([hqLiftingAsn, badAsn], fromHq({ country: 'US', asn: 7922 }));
    expect(d.decision).toBe('allow');
    expect(d.reasons.find((r) => r.code === 'ASN_DENIED')?.liftedBy).toBe('hq');
  });

  it('never lift a country deny they do not name', () => {
    expect(decide([hqLiftingScore, cn], fromHq({ country: 'CN' })).decision).toBe('deny');
  });

  it('lift a score deny and its signals when they name "score"', () => {
    const d = decide([hqLiftingScore], fromHq({ country: 'US', asn: 7922 }), {
      network: { vpn: { asns: [7922] } },
      score: { weights: { NETWORK_VPN: 200 }, challengeAt: 50, denyAt: 100 },
    });
    expect(d.decision).toBe('allow');
    expect(d.reasons.filter((r) => r.rule === 'score').every((r) => r.liftedBy === 'hq')).toBe(true);
  });

  it('do nothing when they do not match', () => {
    const d = decide([hqLiftingScore, tor], facts({ ip: '198.51.100.1', geo: { country: 'T1' } }));
    expect(d.decision).toBe('challenge');
  });

  it('lift a challenge in the name of the first matching exception by id, whatever the document order', () => {
    const office: RuleDoc = { id: 'office', type: 'cidr', action: 'allow', cidrs: ['203.0.113.0/24'] };
    const audit: RuleDoc = { id: 'audit', type: 'account', action: 'allow', accounts: ['a1'] };
    const f = facts({ ip: '203.0.113.7', geo: { country: 'T1' }, account: { id: 'a1' } });
    for (const rules of [[office, audit, tor], [tor, audit, office]]) {
      const d = decide(rules, f);
      expect(d.reasons.map((r) => [r.code, r.liftedBy])).toEqual([
        ['ACCOUNT_ALLOWED', undefined],
        ['IP_ALLOWED', undefined],
        ['TOR', 'audit'],
      ]);
    }
  });

  it('lift a deny in the name of the first exception by id that names it', () => {
    const office: RuleDoc = { id: 'office', type: 'cidr', action: 'allow', cidrs: ['203.0.113.0/24'], liftDeny: ['bad-asn'] };
    const audit: RuleDoc = { id: 'audit', type: 'account', action: 'allow', accounts: ['a1'], liftDeny: ['bad-asn'] };
    const f = facts({ ip: '203.0.113.7', account: { id: 'a1' } });
    for (const rules of [[office, audit, badAsn], [badAsn, audit, office]]) {
      expect(decide(rules, f).reasons.find((r) => r.code === 'ASN_DENIED')?.liftedBy).toBe('audit');
    }
  });

  it('appear as allow reasons', () => {
    const d = decide([hq], fromHq({ country: 'US' }));
    expect(d.reasons).toMatchObject([{ code: 'IP_ALLOWED', rule: 'hq', action: 'allow' }]);
  });
});

describe('decision shape', () => {
  it('reports every signal as true, false or undetermined', () => {
    const d = evaluate(defaultPolicy(), facts({ client: { timezone: 'Asia/Shanghai' } }), NOW);
    expect(d.signals).toEqual({
      TZ_RESTRICTED: true,
      TZ_MISMATCH: true,
      TZ_INCONSISTENT: 'undetermined',
      TZ_INVALID: false,
      CLOCK_SKEW: 'undetermined',
      CLOCK_INVALID: 'undetermined',
      LOCALE_RESTRICTED: 'undetermined',
      NETWORK_VPN: false,
      NETWORK_HOSTING: false,
      NETWORK_LISTED: 'undetermined',
      // The default policy lists no relay fingerprints; no account, so no memory.
      RELAY_FINGERPRINT: false,
      RELAY_FANOUT: 'undetermined',
      RELAY_TZ_FANOUT: 'undetermined',
      RELAY_DEVICE_FANOUT: 'undetermined',
      RELAY_SIGNATURE: 'undetermined',
      IMPOSSIBLE_TRAVEL: 'undetermined',
      TZ_RESTRICTED_HISTORY: 'undetermined',
      RESTRICTED_IP_HISTORY: 'undetermined',
      ORG_RESTRICTED_SHARE: 'undetermined',
    });
  });

  it('is taken under the policy it was given (failed: false)', () => {
    expect(evaluate(defaultPolicy(), facts(), NOW).failed).toBe(false);
    expect(evaluate(defaultPolicy(), facts({ geo: { country: 'CN' } }), NOW).failed).toBe(false);
  });

  it.each<[string, number | undefined, string, SignalValue]>([
    // [name, clockSkewToleranceSeconds, client clock (NOW is 12:00:00Z), CLOCK_SKEW]
    ['default tolerance (300 s), 2 minutes off', undefined, '2026-11-26T12:02:00Z', false],
    ['default tolerance (300 s), 6 minutes off', undefined, '2026-11-26T11:54:00Z', true],
    ['a 60 s tolerance, 30 s off', 60, '2026-11-26T12:00:30Z', false],
    ['a 60 s tolerance, 2 minutes off', 60, '2026-11-26T12:02:00Z', true],
  ])('reads the clock skew tolerance in seconds: %s', (_name, clockSkewToleranceSeconds, clock, skew) => {
    const extra: Partial<PolicyDocument> = clockSkewToleranceSeconds === undefined ? {} : { clockSkewToleranceSeconds };
    expect(decide([], facts({ client: { clock } }), extra).signals.CLOCK_SKEW).toBe(skew);
  });

  it('offers the policy challenge kinds only with a challenge', () => {
    expect(evaluate(defaultPolicy(), facts({ geo: { country: 'T1' } }), NOW).challenge).toEqual({ kinds: ['turnstile', 'step-up'], expiresIn: 600, clears: ['TOR'] });
    expect(evaluate(defaultPolicy(), facts(), NOW).challenge).toBeUndefined();
  });

  it('does not depend on rule order', () => {
    const rules: RuleDoc[] = [
      { id: 'a', type: 'country', action: 'challenge', countries: ['US'] },
      { id: 'b', type: 'asn', action: 'deny', asns: [7922] },
      { id: 'c', type: 'cidr', action: 'allow', cidrs: ['0.0.0.0/0'], liftDeny: ['b'] },
    ];
    const f = facts({ ip: '192.0.2.1' });
    const forward = decide(rules, f);
    const backward = decide([...rules].reverse(), f);
    expect(backward).toEqual(forward);
    expect(forward.decision).toBe('allow');
  });

  it('is deterministic for the same (policy, facts, now)', () => {
    const f = facts({ client: { timezone: 'Asia/Shanghai', acceptLanguage: 'zh-CN', clock: '2026-11-26T13:00:00+08:00' } });
    expect(evaluate(defaultPolicy(), f, NOW)).toEqual(evaluate(defaultPolicy(), f, NOW));
  });

  it('judges offsets at the instant it is given', () => {
    const f = facts({ client: { timezone: 'America/New_York', utcOffsetMinutes: -240 } });
    expect(evaluate(defaultPolicy(), f, Date.parse('2026-07-01T12:00:00Z')).signals.TZ_INCONSISTENT).toBe(false);
    expect(evaluate(defaultPolicy(), f, Date.parse('2026-12-01T12:00:00Z')).signals.TZ_INCONSISTENT).toBe(true);
  });
});

describe('reading order and summary', () => {
  const vpnPolicy = (weights: Record<string, number>, challengeAt = 50, denyAt = 100): Partial<PolicyDocument> => ({
    network: { vpn: { asns: [7922] } },
    score: { weights, challengeAt, denyAt, denyRequiresLocation: false },
  });
  const tokyo = facts({ client: { timezone: 'Asia/Tokyo' } });
  const hq: RuleDoc = { id: 'hq', type: 'cidr', action: 'allow', cidrs: ['203.0.113.0/24'] };

  it.each<[string, RuleDoc[], Facts, Partial<PolicyDocument>, string[], string]>([
    // [name, rules, facts, policy, reasons as code/rule, summary]
    [
      'denies first, then challenges; among equals, by code; the others counted',
      [
        { id: 'us', type: 'country', action: 'deny', countries: ['US'] },
        { id: 'bad-asn', type: 'asn', action: 'deny', asns: [7922] },
        { id: 'acct', type: 'account', action: 'challenge', accounts: ['a1'] },
      ],
      facts({ account: { id: 'a1' } }),
      {},
      ['ASN_DENIED/bad-asn', 'COUNTRY_DENIED/us', 'ACCOUNT_DENIED/acct'],
      "Denied: The IP's network AS7922 is listed by rule bad-asn. 2 more reasons stand.",
    ],
    [
      'one other reason',
      [
        { id: 'us', type: 'country', action: 'deny', countries: ['US'] },
        { id: 'asn', type: 'asn', action: 'challenge', asns: [7922] },
      ],
      facts(),
      {},
      ['COUNTRY_DENIED/us', 'ASN_DENIED/asn'],
      "Denied: The IP's country US is listed by rule us. 1 more reason stands.",
    ],
    [
      'a hard rule before GEO_MISSING before the score, at the same action',
      [{ id: 'acct', type: 'account', action: 'challenge', accounts: ['a1'] }],
      facts({ geo: { asn: 7922 }, geoSource: 'none', account: { id: 'a1' } }),
      vpnPolicy({ NETWORK_VPN: 60 }),
      ['ACCOUNT_DENIED/acct', 'GEO_MISSING/missingGeo', 'SCORE_CHALLENGE/score', 'NETWORK_VPN/score'],
      'Challenged: The account a1 is listed by rule acct. 2 more reasons stand.',
    ],
    [
      'the score, with the points each signal added, most first',
      [],
      tokyo,
      vpnPolicy({ NETWORK_VPN: 30, TZ_MISMATCH: 40 }),
      ['SCORE_CHALLENGE/score', 'TZ_MISMATCH/score', 'NETWORK_VPN/score'],
      'Challenged: Risk score 70 reaches challengeAt (50). (TZ_MISMATCH +40, NETWORK_VPN +30)',
    ],
    [
      'a score deny; signals with equal points by name',
      [],
      tokyo,
      vpnPolicy({ NETWORK_VPN: 50, TZ_MISMATCH: 50 }),
      ['SCORE_DENY/score', 'NETWORK_VPN/score', 'TZ_MISMATCH/score'],
      'Denied: Risk score 100 reaches denyAt (100). (NETWORK_VPN +50, TZ_MISMATCH +50)',
    ],
    [
      'signals with equal points by name, whichever the detectors list first',
      [],
      facts({ client: { clock: '2026-11-26T11:00:00Z', acceptLanguage: 'zh-CN' } }),
      { restrictedCountries: ['CN'], score: { weights: { CLOCK_SKEW: 30, LOCALE_RESTRICTED: 30 }, challengeAt: 50, denyAt: 100 } },
      ['SCORE_CHALLENGE/score', 'CLOCK_SKEW/score', 'LOCALE_RESTRICTED/score'],
      'Challenged: Risk score 60 reaches challengeAt (50). (CLOCK_SKEW +30, LOCALE_RESTRICTED +30)',
    ],
    [
      'GEO_MISSING',
      [],
      facts({ geo: {}, geoSource: 'none' }),
      {},
      ['GEO_MISSING/missingGeo'],
      'Challenged: The IP country is unknown.',
    ],
    [
      'allow-exceptions after what stands, then what they lifted',
      [hq, { id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] }],
      facts({ ip: '203.0.113.7', geo: { country: 'T1' } }),
      {},
      ['IP_ALLOWED/hq', 'TOR/tor'],
      'Allowed: TOR lifted by hq.',
    ],
    [
      'a lifted score, and its signals last',
      [{ ...hq, liftDeny: ['score'] }],
      facts({ ip: '203.0.113.7' }),
      vpnPolicy({ NETWORK_VPN: 200 }),
      ['IP_ALLOWED/hq', 'SCORE_DENY/score', 'NETWORK_VPN/score'],
      'Allowed: SCORE_DENY lifted by hq.',
    ],
    [
      'each lifted code and exception named once',
      [hq, { id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] }, { id: 'tor2', type: 'country', action: 'challenge', countries: ['T1'] }],
      facts({ ip: '203.0.113.7', geo: { country: 'T1' } }),
      {},
      ['IP_ALLOWED/hq', 'TOR/tor', 'TOR/tor2'],
      'Allowed: TOR lifted by hq.',
    ],
    [
      'what several exceptions lifted, each named once',
      [
        hq,
        { id: 'partner', type: 'account', action: 'allow', accounts: ['a1'], liftDeny: ['bad-asn'] },
        { id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] },
        { id: 'bad-asn', type: 'asn', action: 'deny', asns: [7922] },
      ],
      facts({ ip: '203.0.113.7', geo: { country: 'T1', asn: 7922 }, account: { id: 'a1' } }),
      {},
      ['IP_ALLOWED/hq', 'ACCOUNT_ALLOWED/partner', 'ASN_DENIED/bad-asn', 'TOR/tor'],
      'Allowed: ASN_DENIED, TOR lifted by partner, hq.',
    ],
    [
      'nothing matched: the score and the threshold',
      [],
      tokyo,
      { score: { weights: { TZ_MISMATCH: 20 }, challengeAt: 50, denyAt: 100 } },
      ['TZ_MISMATCH/score'],
      'Allowed: no rule matched and the risk score 20 is below challengeAt (50).',
    ],
  ])('%s', (_name, rules, f, extra, reasons, summary) => {
    const d = decide(rules, f, extra);
    expect(d.reasons.map((r) => `${r.code}/${r.rule}`)).toEqual(reasons);
    expect(d.summary).toBe(summary);
  });

  it('a partial signal reports its strength and points; a whole one only its weight', () => {
    const d = decide([], facts({ client: { utcOffsetMinutes: 480 } }), {
      restrictedCountries: ['CN'],
      network: { vpn: { asns: [7922] } },
      score: { weights: { TZ_RESTRICTED: 100, NETWORK_VPN: 10 }, challengeAt: 50, denyAt: 1000 },
    });
    const restricted = d.reasons.find((r) => r.code === 'TZ_RESTRICTED');
    const strength = restricted?.evidence.strength as number;
    expect(strength).toBeGreaterThan(0.5);
    expect(strength).toBeLessThan(1);
    expect(restricted?.evidence).toMatchObject({ weight: 100, points: Math.round(100 * strength) });
    expect(d.score).toBe(Math.round(100 * strength) + 10);
    expect(d.summary).toContain(`(TZ_RESTRICTED +${Math.round(100 * strength)}, NETWORK_VPN +10)`);
    const vpn = d.reasons.find((r) => r.code === 'NETWORK_VPN');
    expect(vpn?.evidence).toMatchObject({ weight: 10 });
    expect(vpn?.evidence).not.toHaveProperty('strength');
    expect(vpn?.evidence).not.toHaveProperty('points');
  });
});

describe('explain orders whatever it is given', () => {
  const reason = (code: Reason['code'], rule: string, action: Reason['action'], liftedBy?: string): Reason => ({
    code,
    rule,
    action,
    message: `${code} by ${rule}.`,
    evidence: {},
    ...(liftedBy === undefined ? {} : { liftedBy }),
  });
  const ctx = { decision: 'challenge', score: 0, challengeAt: 50 } as const;

  it('hard rules, then the settings that can decide (GEO_MISSING, the fail mode), then the score; ties by code, then rule', () => {
    const { reasons, summary } = explain(
      ctx,
      [
        reason('SCORE_CHALLENGE', 'score', 'challenge'),
        reason('POLICY_UNAVAILABLE', 'failMode', 'challenge'),
        reason('ASN_DENIED', 'zeta', 'challenge'),
        reason('ASN_DENIED', 'alpha', 'challenge'),
        reason('TOR', 'aaa', 'challenge'),
        reason('GEO_MISSING', 'missingGeo', 'challenge'),
      ],
      [],
      [],
    );
    expect(reasons.map((r) => `${r.code}/${r.rule}`)).toEqual([
      'ASN_DENIED/alpha',
      'ASN_DENIED/zeta',
      'TOR/aaa',
      'GEO_MISSING/missingGeo',
      'POLICY_UNAVAILABLE/failMode',
      'SCORE_CHALLENGE/score',
    ]);
    expect(summary).toBe('Challenged: ASN_DENIED by alpha. 5 more reasons stand.');
  });

  it('allow-exceptions by rule id, then what they lifted, in the order of what stands', () => {
    const { reasons } = explain(
      { decision: 'allow', score: 0, challengeAt: 50 },
      [reason('GEO_MISSING', 'missingGeo', 'challenge', 'b-office'), reason('TOR', 'tor', 'challenge', 'b-office')],
      [],
      [reason('IP_ALLOWED', 'b-office', 'allow'), reason('ACCOUNT_ALLOWED', 'a-partner', 'allow')],
    );
    expect(reasons.map((r) => `${r.code}/${r.rule}`)).toEqual(['ACCOUNT_ALLOWED/a-partner', 'IP_ALLOWED/b-office', 'TOR/tor', 'GEO_MISSING/missingGeo']);
  });
});
