// The memory signals, judged by the pure engine on summaries built here (the objects that keep
// them are exercised in test/integration/memory*.test.ts): thresholds, windows, what the current
// check adds, the count-once rule, and when each signal is undetermined.
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/engine/compile';
import { evaluate, prepare } from '../../src/engine/evaluate';
import {
  distanceKm,
  impossibleTravel,
  isBrowserUserAgent,
  networkPrefixOf,
  type AccountHistory,
  type Located,
  type MemoryFacts,
  type OrgHistory,
  type RestrictedMark,
} from '../../src/engine/history';
import type { Facts } from '../../src/engine/types';
import { defaultPolicy } from '../../src/policy/default';
import { parsePolicy } from '../../src/policy/schema';
import { compile, defaultDocument, facts, NOW, policyWith } from '../helpers';
import { accountHistory, DAY, HOUR, MINUTE, seen } from '../memory-helpers';

const MIN = MINUTE;
const POLICY = defaultPolicy();

/** An account summary as of a minute ago, with nothing remarkable in it. */
const history = accountHistory;

function org(over: Partial<OrgHistory> = {}): OrgHistory {
  return { kind: 'org', asOf: NOW - MIN, windowMs: 30 * DAY, activeAccounts: 20, restrictedAccounts: 0, restrictedSample: [], truncated: false, ...over };
}

const known = (h: AccountHistory): MemoryFacts => ({ account: { known: true, history: h, from: 'object' } });
const ACCOUNT = { account: { id: 'acct-1' } };

/** A US request of account acct-1 (no client signals: an API call). */
function api(over: Partial<Facts> = {}): Facts {
  return facts({ ip: '198.51.100.7', ...ACCOUNT, ...over });
}

function shanghaiMark(over: Partial<RestrictedMark> = {}): RestrictedMark {
  return { kind: 'tz', key: 'Asia/Shanghai', places: ['CN'], strength: 1, ipCountry: 'SG', firstSeen: NOW - 2 * DAY, lastSeen: NOW - 2 * DAY, count: 1, ...over };
}

describe('memory signals are undetermined without a summary', () => {
  it.each<[string, Facts, MemoryFacts, string]>([
    ['no account id', facts({ ip: '198.51.100.7' }), known(history()), 'no account id'],
    ['memory not consulted', api(), {}, 'account memory was not consulted'],
    ['a cold isolate', api(), { account: { known: false, why: 'nothing cached yet' } }, 'nothing cached yet'],
  ])('%s', (_name, f, memory) => {
    const d = evaluate(POLICY, f, NOW, undefined, memory);
    for (const s of ['RELAY_FANOUT', 'RELAY_TZ_FANOUT', 'RELAY_DEVICE_FANOUT', 'RELAY_SIGNATURE', 'IMPOSSIBLE_TRAVEL', 'TZ_RESTRICTED_HISTORY', 'RESTRICTED_IP_HISTORY'] as const) {
      expect(d.signals[s]).toBe('undetermined');
    }
    expect(d.signals.ORG_RESTRICTED_SHARE).toBe('undetermined');
  });

  it('history.mode "off" leaves every memory signal undetermined, even with a summary', () => {
    const doc = defaultDocument();
    const policy = compile({ ...doc, history: { mode: 'off' } });
    const d = evaluate(policy, api({ account: { id: 'a', orgId: 'o' } }), NOW, undefined, { account: { known: true, history: history({ restricted: [shanghaiMark()] }), from: 'cache' }, org: { known: true, history: org({ restrictedAccounts: 10 }), from: 'cache' } });
    expect(d.signals.TZ_RESTRICTED_HISTORY).toBe('undetermined');
    expect(d.signals.ORG_RESTRICTED_SHARE).toBe('undetermined');
    expect(d.decision).toBe('allow');
  });

  it('a quiet account has every memory signal false (travel undetermined: no coordinates)', () => {
    const d = evaluate(POLICY, api(), NOW, undefined, known(history()));
    expect(d.signals).toMatchObject({ RELAY_FANOUT: false, RELAY_TZ_FANOUT: false, RELAY_DEVICE_FANOUT: false, RELAY_SIGNATURE: false, IMPOSSIBLE_TRAVEL: 'undetermined', TZ_RESTRICTED_HISTORY: false, RESTRICTED_IP_HISTORY: false });
    expect(d.decision).toBe('allow');
  });
});

describe('RELAY_FANOUT: distinct networks, ASNs or countries in the window', () => {
  const nets = (n: number) => Array.from({ length: n }, (_, i) => `198.51.${i}.0/24`);
  it.each<[string, Partial<AccountHistory>, Partial<Facts>, boolean]>([
    ['7 networks, the current one among them', { networks: seen(nets(7)) }, { ip: '198.51.0.9' }, false],
    ['7 networks, and the current check is an 8th', { networks: seen(nets(7)) }, { ip: '192.0.2.1' }, true],
    ['8 networks, all older than the window', { networks: seen(nets(8), NOW - 11 * MIN) }, { ip: '198.51.0.9' }, false],
    ['4 ASNs and a 5th now', { asns: seen(['1', '2', '3', '4']) }, { geo: { country: 'US', asn: 5 } }, true],
    ['2 countries and a 3rd now', { countries: seen(['DE', 'SG']) }, {}, true],
    ['2 countries, the current one among them', { countries: seen(['US', 'SG']) }, {}, false],
    ['a truncated list: the object counted 200', { networks: { count: 200, items: seen(nets(64)).items } }, {}, true],
  ])('%s', (_name, h, f, want) => {
    const d = evaluate(POLICY, api(f), NOW, undefined, known(history(h)));
    expect(d.signals.RELAY_FANOUT).toBe(want);
  });

  it('says what it counted', () => {
    const d = evaluate(POLICY, api(), NOW, undefined, known(history({ countries: seen(['DE', 'SG', 'JP']), ips: 41, events: 60 })));
    const r = d.reasons.find((x) => x.code === 'RELAY_FANOUT');
    expect(r?.evidence).toMatchObject({ countries: ['DE', 'JP', 'SG', 'US'], ips: 41, events: 60, windowSeconds: 600, thresholds: { networks: 8, asns: 5, countries: 3 }, memory: 'object' });
  });
});

describe('RELAY_TZ_FANOUT and RELAY_DEVICE_FANOUT', () => {
  it.each<[string, string[], string | undefined, boolean]>([
    ['2 zones and a 3rd now', ['Europe/Berlin', 'Asia/Tokyo'], 'America/New_York', true],
    ['2 zones, the current one an alias of one of them', ['Europe/Berlin', 'Asia/Tokyo'], 'Japan', false],
    ['2 zones and no clock now (an API call)', ['Europe/Berlin', 'Asia/Tokyo'], undefined, false],
    ['3 zones', ['Europe/Berlin', 'Asia/Tokyo', 'Asia/Singapore'], undefined, true],
  ])('%s', (_name, zones, now, want) => {
    const d = evaluate(POLICY, api({ client: now ? { timezone: now } : {} }), NOW, undefined, known(history({ timezones: seen(zones) })));
    expect(d.signals.RELAY_TZ_FANOUT).toBe(want);
  });

  it.each<[number, boolean]>([
    [4, false],
    [5, true],
  ])('%d devices in the window -> %s', (devices, want) => {
    expect(evaluate(POLICY, api(), NOW, undefined, known(history({ devices }))).signals.RELAY_DEVICE_FANOUT).toBe(want);
  });

  it('a summary older than its window counts no devices', () => {
    expect(evaluate(POLICY, api(), NOW, undefined, known(history({ devices: 9, asOf: NOW - 11 * MIN }))).signals.RELAY_DEVICE_FANOUT).toBe(false);
  });
});

describe('RELAY_SIGNATURE: relay-shaped checks in the signature window', () => {
  it.each<[string, AccountHistory['signature'], boolean]>([
    ['29 in the last minute', { windowMs: MIN, requests: 29, bare: 0, firstSeen: NOW - 50_000, lastSeen: NOW - 1000 }, false],
    ['30 in the last minute', { windowMs: MIN, requests: 30, bare: 0, firstSeen: NOW - 50_000, lastSeen: NOW - 1000 }, true],
    ['30, the last of them 2 minutes ago', { windowMs: MIN, requests: 30, bare: 0, firstSeen: NOW - 3 * MIN, lastSeen: NOW - 2 * MIN }, false],
  ])('%s', (_name, signature, want) => {
    expect(evaluate(POLICY, api(), NOW, undefined, known(history({ signature }))).signals.RELAY_SIGNATURE).toBe(want);
  });
});

describe('IMPOSSIBLE_TRAVEL', () => {
  const tokyo: Omit<Located, 'at'> = { lat: 35.69, lon: 139.69, country: 'JP', city: 'Tokyo' };
  const sf = { latitude: 37.77, longitude: -122.42, city: 'San Francisco' };
  const beijing: Omit<Located, 'at'> = { lat: 39.9, lon: 116.41, country: 'CN', city: 'Beijing' };
  const ny = { latitude: 40.71, longitude: -74.01, city: 'New York' };

  it('Tokyo -> San Francisco in 11 hours is a flight', () => {
    const d = evaluate(POLICY, api({ geo: { country: 'US', ...sf } }), NOW, undefined, known(history({ lastLocation: { at: NOW - 11 * HOUR, ...tokyo } })));
    expect(d.signals.IMPOSSIBLE_TRAVEL).toBe(false);
  });

  it('Beijing -> New York in 20 minutes is not', () => {
    const d = evaluate(POLICY, api({ geo: { country: 'US', ...ny } }), NOW, undefined, known(history({ lastLocation: { at: NOW - 20 * MIN, ...beijing } })));
    expect(d.signals.IMPOSSIBLE_TRAVEL).toBe(true);
    const r = d.reasons.find((x) => x.code === 'IMPOSSIBLE_TRAVEL');
    expect(r?.evidence).toMatchObject({ from: { country: 'CN', city: 'Beijing' }, to: { country: 'US', city: 'New York' }, maxKmh: 1000 });
    expect(r?.evidence.km).toBeGreaterThan(10_000);
    expect(r?.evidence.kmh).toBeGreaterThan(30_000);
  });

  it('country-level coordinates (no city) are skipped: undetermined without a located check', () => {
    const d = evaluate(POLICY, api({ geo: { country: 'US', latitude: 37.75, longitude: -97.82 } }), NOW, undefined, known(history()));
    expect(d.signals.IMPOSSIBLE_TRAVEL).toBe('undetermined');
  });

  it('a pair the object found stays true within the fan-out window, and false after', () => {
    const finding = { from: { at: NOW - 9 * MIN, ...beijing }, to: { at: NOW - 8 * MIN, lat: 40.71, lon: -74.01, country: 'US', city: 'New York' }, km: 11_000, kmh: 660_000 };
    expect(evaluate(POLICY, api(), NOW, undefined, known(history({ travel: finding }))).signals.IMPOSSIBLE_TRAVEL).toBe(true);
    expect(evaluate(POLICY, api(), NOW + 3 * MIN, undefined, known(history({ travel: finding }))).signals.IMPOSSIBLE_TRAVEL).toBe(false);
  });

  it.each<[string, number, number, number, boolean]>([
    // [name, km apart (roughly), minutes apart, then impossible?]
    ['Paris -> Brussels (264 km) in 10 min: under minKm', 48.86, 2.35, 10, false],
  ])('%s', (_name, lat, lon, minutes, want) => {
    const a: Located = { at: NOW - minutes * MIN, lat, lon, country: 'FR', city: 'Paris' };
    const b: Located = { at: NOW, lat: 50.85, lon: 4.35, country: 'BE', city: 'Brussels' };
    expect(impossibleTravel(a, b, { maxKmh: 1000, minKm: 500 }) !== undefined).toBe(want);
  });

  it('two places at the same instant are infinitely fast, in either order', () => {
    const a: Located = { at: NOW, lat: 39.9, lon: 116.41, country: 'CN', city: 'Beijing' };
    const b: Located = { at: NOW, lat: 40.71, lon: -74.01, country: 'US', city: 'New York' };
    expect(impossibleTravel(a, b, { maxKmh: 1000, minKm: 500 })?.km).toBe(impossibleTravel(b, a, { maxKmh: 1000, minKm: 500 })?.km);
    expect(distanceKm(a, b)).toBeGreaterThan(10_900);
    expect(distanceKm(a, b)).toBeLessThan(11_100);
  });
});

describe('TZ_RESTRICTED_HISTORY and RESTRICTED_IP_HISTORY: location evidence the account showed before', () => {
  it('a Shanghai clock seen two days ago counts on an API call with no clock, and lets a VPN deny', () => {
    const memory = known(history({ restricted: [shanghaiMark()] }));
    const plain = evaluate(POLICY, api(), NOW, undefined, memory);
    expect(plain.signals.TZ_RESTRICTED_HISTORY).toBe(true);
    expect(plain.decision).toBe('challenge');
    // AS9009 (M247) is on the shipped intel's VPN list.
    const vpn = evaluate(POLICY, api({ geo: { country: 'US', asn: 9009 } }), NOW, undefined, memory);
    expect(vpn.signals.NETWORK_VPN).toBe(true);
    expect(vpn.decision).toBe('deny');
  });

  it('a mark only the current check made is not history (sync mode records before judging)', () => {
    const memory = known(history({ restricted: [shanghaiMark({ firstSeen: NOW, lastSeen: NOW })] }));
    expect(evaluate(POLICY, api(), NOW, undefined, memory).signals.TZ_RESTRICTED_HISTORY).toBe(false);
    const again = known(history({ restricted: [shanghaiMark({ firstSeen: NOW - 1000, lastSeen: NOW, count: 2 })] }));
    expect(evaluate(POLICY, api(), NOW, undefined, again).signals.TZ_RESTRICTED_HISTORY).toBe(true);
  });

  it('expires after restrictedDays', () => {
    const memory = known(history({ restricted: [shanghaiMark({ lastSeen: NOW - 31 * DAY })] }));
    expect(evaluate(POLICY, api(), NOW, undefined, memory).signals.TZ_RESTRICTED_HISTORY).toBe(false);
  });

  it('counts only places the policy restricts now', () => {
    const doc = defaultDocument();
    const policy = compile({ ...doc, restrictedCountries: ['IR'] });
    expect(evaluate(policy, api(), NOW, undefined, known(history({ restricted: [shanghaiMark()] }))).signals.TZ_RESTRICTED_HISTORY).toBe(false);
  });

  it('an offset mark counts by its restricted share', () => {
    const mark = shanghaiMark({ key: 'UTC+180', places: ['RU'], strength: 0.16 });
    const d = evaluate(POLICY, api(), NOW, undefined, known(history({ restricted: [mark] })));
    const r = d.reasons.find((x) => x.code === 'TZ_RESTRICTED_HISTORY');
    expect(r?.evidence).toMatchObject({ strength: 0.16, points: 8 });
  });

  it('a restricted clock now and the same clock remembered count once (the heavier)', () => {
    const memory = known(history({ restricted: [shanghaiMark()] }));
    const d = evaluate(POLICY, api({ geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' } }), NOW, undefined, memory);
    expect(d.signals.TZ_RESTRICTED).toBe(true);
    expect(d.signals.TZ_RESTRICTED_HISTORY).toBe(true);
    const codes = d.reasons.map((r) => r.code);
    expect(codes).toContain('TZ_RESTRICTED');
    expect(codes).not.toContain('TZ_RESTRICTED_HISTORY');
    expect(d.score).toBe(evaluate(POLICY, api({ geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' } }), NOW).score);
  });

  it('an IP seen in a restricted country within 30 days counts on a later US request', () => {
    const mark: RestrictedMark = { kind: 'ip', key: 'CN', places: ['CN'], strength: 1, ipCountry: 'CN', firstSeen: NOW - DAY, lastSeen: NOW - DAY, count: 4 };
    const d = evaluate(POLICY, api(), NOW, undefined, known(history({ restricted: [mark] })));
    expect(d.signals.RESTRICTED_IP_HISTORY).toBe(true);
    expect(d.reasons.find((r) => r.code === 'RESTRICTED_IP_HISTORY')?.evidence).toMatchObject({ ipPlace: 'CN', count: 4, windowDays: 30 });
  });
});

describe('ORG_RESTRICTED_SHARE', () => {
  const withOrg = (h: OrgHistory, f: Partial<Facts> = {}) => evaluate(POLICY, api({ account: { id: 'clean-1', orgId: 'org-1' }, ...f }), NOW, undefined, { account: { known: true, history: history(), from: 'cache' }, org: { known: true, history: h, from: 'cache' } });
  it.each<[string, Partial<OrgHistory>, boolean]>([
    ['8 of 20 accounts', { activeAccounts: 20, restrictedAccounts: 8 }, true],
    ['6 of 20 accounts (30%)', { activeAccounts: 20, restrictedAccounts: 6 }, true],
    ['5 of 20 accounts (25%)', { activeAccounts: 20, restrictedAccounts: 5 }, false],
    ['1 traveller of 50', { activeAccounts: 50, restrictedAccounts: 1 }, false],
    ['2 of 3 (67%, but under minAccounts)', { activeAccounts: 3, restrictedAccounts: 2 }, false],
    ['8 of 20, but the summary is older than the window', { activeAccounts: 20, restrictedAccounts: 8, asOf: NOW - 31 * DAY }, false],
  ])('%s', (_name, h, want) => {
    expect(withOrg(org(h)).signals.ORG_RESTRICTED_SHARE).toBe(want);
  });

  it('challenges a clean account of such an organisation (affinity: never a deny on its own)', () => {
    const d = withOrg(org({ activeAccounts: 20, restrictedAccounts: 8 }));
    expect(d.decision).toBe('challenge');
    expect(d.reasons.find((r) => r.code === 'ORG_RESTRICTED_SHARE')?.evidence).toMatchObject({ activeAccounts: 20, restrictedAccounts: 8, share: 0.4 });
  });

  it('is undetermined without an organisation id', () => {
    expect(evaluate(POLICY, api(), NOW, undefined, { org: { known: true, history: org({ restrictedAccounts: 10 }), from: 'cache' } }).signals.ORG_RESTRICTED_SHARE).toBe('undetermined');
  });
});

describe('what a check adds to its account memory (observe)', () => {
  it('network prefix, ASN, country, zones, device, city coordinates and the relay shape', () => {
    const obs = prepare(
      POLICY,
      facts({
        ip: '203.0.113.77',
        geo: { country: 'SG', asn: 16509, latitude: 1.2897, longitude: 103.8501, city: 'Singapore' },
        client: { timezone: ['Asia/Shanghai', 'PRC', 'bogus/zone', 'Europe/Berlin'], deviceId: 'dev-1' },
        account: { id: 'a' },
      }),
      NOW,
    ).observation;
    expect(obs).toMatchObject({
      at: NOW,
      ip: '203.0.113.77',
      network: '203.0.113.0/24',
      asn: 16509,
      country: 'SG',
      location: { lat: 1.29, lon: 103.85, country: 'SG', city: 'Singapore' },
      timezones: ['Asia/Shanghai', 'Europe/Berlin'],
      devices: ['dev-1'],
      // AS16509 is Amazon's: a datacenter; the check claims zones, so it is not bare.
      datacenter: true,
      bare: false,
      restricted: [{ kind: 'tz', key: 'Asia/Shanghai', places: ['CN'], strength: 1, ipCountry: 'SG' }],
    });
  });

  it('a restricted IP country or region is IP evidence', () => {
    expect(prepare(POLICY, facts({ geo: { country: 'CN' }, account: { id: 'a' } }), NOW).observation.restricted).toEqual([{ kind: 'ip', key: 'CN', places: ['CN'], strength: 1, ipCountry: 'CN' }]);
    expect(prepare(POLICY, facts({ geo: { country: 'UA', regionCode: '43' }, account: { id: 'a' } }), NOW).observation.restricted).toEqual([{ kind: 'ip', key: 'UA-43', places: ['UA-43'], strength: 1, ipCountry: 'UA' }]);
  });

  it.each<[string, Partial<Facts>, boolean, boolean]>([
    // [name, facts, datacenter, bare]; 3.5.140.1 is an AWS block in the shipped intel (datacenter).
    ['datacenter, no clock, an SDK user agent', { ip: '3.5.140.1', client: { userAgent: 'OpenAI/Python 1.54.0' } }, true, true],
    ['datacenter, no clock, no user agent', { ip: '3.5.140.1' }, true, true],
    ['datacenter with a browser', { ip: '3.5.140.1', client: { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' } }, true, false],
    ['datacenter with a client zone', { ip: '3.5.140.1', client: { timezone: 'America/New_York' } }, true, false],
    ['datacenter with a locale', { ip: '3.5.140.1', client: { acceptLanguage: 'en-US' } }, true, false],
    ['a home ISP', { ip: '198.51.100.7' }, false, true],
  ])('%s', (_name, f, datacenter, bare) => {
    const check = prepare(POLICY, facts({ account: { id: 'a' }, ...f }), NOW);
    expect(check.observation).toMatchObject({ datacenter, bare });
  });

  it("datacenter egress is the intel's datacenter list even when the policy has no hosting set", () => {
    const noHosting = compile(policyWith());
    const check = prepare(noHosting, facts({ ip: '3.5.140.1', account: { id: 'a' } }), NOW);
    expect(check.signals.NETWORK_HOSTING.value).not.toBe(true);
    expect(check.observation.datacenter).toBe(true);
  });

  it('keeps every valid zone a check claims, and a check claiming more than 64 is a zone fan-out by itself', () => {
    const zones = ['Europe/Berlin', 'Europe/Paris', 'Asia/Tokyo', 'Asia/Singapore', 'America/New_York', 'America/Chicago'];
    expect(prepare(POLICY, facts({ client: { timezone: zones }, account: { id: 'a' } }), NOW).observation.timezones).toHaveLength(6);
    const many = Intl.supportedValuesOf('timeZone').slice(0, 80);
    const check = prepare(POLICY, facts({ client: { timezone: many }, account: { id: 'a' } }), NOW);
    expect(check.observation).toMatchObject({ timezonesTruncated: true });
    expect(check.observation.timezones).toHaveLength(64);
    const d = evaluate(POLICY, facts({ client: { timezone: many }, account: { id: 'a' } }), NOW, undefined, known(history()));
    expect(d.signals.RELAY_TZ_FANOUT).toBe(true);
  });

  it('padding the claims with zones the account already showed never pushes a new zone out', () => {
    const known4 = ['Europe/Berlin', 'Europe/Paris', 'Europe/Rome', 'Europe/Madrid'];
    const d = evaluate(POLICY, api({ client: { timezone: [...known4, 'Europe/Vienna'] } }), NOW, undefined, known(history({ timezones: seen(known4.slice(0, 2)) })));
    expect(d.reasons.find((r) => r.code === 'RELAY_TZ_FANOUT')?.evidence).toMatchObject({ count: 5 });
  });

  it('every device id a check claims is observed (a repeated header), blank ones are not', () => {
    expect(prepare(POLICY, facts({ client: { deviceId: ['d1', ' d2 ', '', 'd1'] }, account: { id: 'a' } }), NOW).observation.devices).toEqual(['d1', 'd2']);
  });
});

describe('helpers', () => {
  it.each<[string, string | undefined]>([
    ['203.0.113.77', '203.0.113.0/24'],
    ['::ffff:203.0.113.77', '203.0.113.0/24'],
    ['2001:db8:abcd:12::1', '2001:db8:abcd::/48'],
    ['2002:cb00:714d::1', '2002:cb00:714d::/48'],
    ['not an ip', undefined],
  ])('networkPrefixOf(%s) = %s', (ip, want) => {
    expect(networkPrefixOf(ip)).toBe(want);
  });

  it.each<[string | undefined, boolean]>([
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', true],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', true],
    ['Mozilla/5.0', false],
    ['Go-http-client/1.1', false],
    ['python-httpx/0.27.0', false],
    ['node-fetch', false],
    [undefined, false],
  ])('isBrowserUserAgent(%j) = %s', (ua, want) => {
    expect(isBrowserUserAgent(ua)).toBe(want);
  });
});

describe('the ownership registry (org-owner lists): the stricter of registry and request wins', () => {
  const r = parsePolicy(
    policyWith({ rules: [{ id: 'restricted-owner', type: 'owner-country', action: 'deny', countries: ['CN', 'RU'], lists: ['owners'] }] }),
    { lists: 'unchecked' },
  );
  if (!r.ok) throw new Error(r.error.message);
  const policy = compilePolicy(r.policy, new Map([['owners', { kind: 'org-owner', version: 1, owners: new Map([['acme-sg', 'CN'], ['globex-sg', 'SG']]) }]]));
  it.each<[string, Facts['account'], boolean]>([
    ['the registry says CN, the origin says nothing', { id: 'a', orgId: 'acme-sg' }, true],
    ['the registry says CN, the origin says SG', { id: 'a', orgId: 'acme-sg', ownerCountry: 'SG' }, true],
    ['the registry says SG, the origin says RU', { id: 'a', orgId: 'globex-sg', ownerCountry: 'RU' }, true],
    ['both say SG', { id: 'a', orgId: 'globex-sg', ownerCountry: 'SG' }, false],
    ['an organisation the registry does not know', { id: 'a', orgId: 'initech' }, false],
  ])('%s', (_name, account, denied) => {
    const d = evaluate(policy, facts({ account }), NOW);
    expect(d.reasons.some((x) => x.code === 'OWNER_RESTRICTED')).toBe(denied);
    expect(d.decision).toBe(denied ? 'deny' : 'allow');
  });
});

describe('device claims', () => {
  it('a check claiming more than 64 distinct device ids is a device fan-out by itself', () => {
    const many = Array.from({ length: 70 }, (_, i) => `dev-${i}`);
    const check = prepare(POLICY, api({ client: { deviceId: many } }), NOW);
    expect(check.observation).toMatchObject({ devicesTruncated: true });
    expect(check.observation.devices).toHaveLength(64);
    const policy = compile({ ...defaultDocument(), history: { fanout: { devices: 64 } } });
    expect(evaluate(policy, api({ client: { deviceId: many } }), NOW, undefined, known(history({ devices: 0 }))).signals.RELAY_DEVICE_FANOUT).toBe(true);
  });

  it('blank device ids name nothing: no fingerprint to judge without a user agent', () => {
    const policy = compile(policyWith({ fingerprints: { devices: ['relay-*'] }, score: { weights: { RELAY_FINGERPRINT: 50 }, challengeAt: 50, denyAt: 100 } }));
    expect(evaluate(policy, facts({ client: { deviceId: ['', '  '] } }), NOW).signals.RELAY_FINGERPRINT).toBe('undetermined');
    expect(evaluate(policy, facts({ client: { deviceId: ['', 'relay-7'] } }), NOW).signals.RELAY_FINGERPRINT).toBe(true);
  });
});

describe('impossibleTravel and isBrowserUserAgent at their edges', () => {
  const at = (ms: number, lat: number, lon: number): Located => ({ at: ms, lat, lon, country: null, city: null });
  it('exactly minKm apart is judged; exactly maxKmh is a plane', () => {
    const a = at(NOW, 0, 0);
    const b = at(NOW + HOUR, 0, 1);
    const km = distanceKm(a, b);
    expect(impossibleTravel(a, b, { maxKmh: km - 1, minKm: km })).toMatchObject({ km: Math.round(km) });
    expect(impossibleTravel(a, b, { maxKmh: km - 1, minKm: km + 1 })).toBeUndefined();
    expect(impossibleTravel(a, b, { maxKmh: km, minKm: 0 })).toBeUndefined();
  });
  it('reports the pair in time order, whichever is given first', () => {
    const early = at(NOW - HOUR, 39.9, 116.41);
    const late = at(NOW, 40.71, -74.01);
    expect(impossibleTravel(late, early, { maxKmh: 1000, minKm: 500 })).toMatchObject({ from: early, to: late });
    expect(impossibleTravel(early, late, { maxKmh: 1000, minKm: 500 })).toMatchObject({ from: early, to: late });
  });
  it.each<[string, boolean]>([
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', false],
    ['curl/8.5 AppleWebKit/537.36', false],
    ['xMozilla/5.0 (X11) Gecko/20100101', false],
  ])('isBrowserUserAgent(%j) = %s', (ua, want) => {
    expect(isBrowserUserAgent(ua)).toBe(want);
  });
});
