// The memory signals' whole output (message, evidence, strength) and their boundaries, pinned
// exactly: what an investigator reads in a decision is part of the contract. Complements
// history.test.ts (behaviour) with the edges a mutation run showed untested.
import { describe, expect, it } from 'vitest';
import { compile, defaultDocument, facts, NOW, policyWith } from '../helpers';
import { accountHistory, DAY, HOUR, MINUTE, seen } from '../memory-helpers';
import { prepare } from '../../src/engine/evaluate';
import { detectHistory } from '../../src/engine/detectors/history';
import { RequestView } from '../../src/engine/detectors/geo';
import type { AccountHistory, MemoryFacts, OrgHistory, RestrictedMark, TravelFinding } from '../../src/engine/history';
import type { Facts, Signal } from '../../src/engine/types';
import { defaultPolicy } from '../../src/policy/default';

const MIN = MINUTE;
const POLICY = defaultPolicy();
const iso = (ms: number) => new Date(ms).toISOString();

/** A summary with nothing in it but what a test sets. */
function history(over: Partial<AccountHistory> = {}): AccountHistory {
  return accountHistory({ networks: seen([]), asns: seen([]), countries: seen([]), ips: 0, devices: 0, ...over });
}

const ACCOUNT: Partial<Facts> = { account: { id: 'acct-1' } };

/** The memory signals of a request judged with `h` at `now` under the default policy's settings. */
function signalsOf(h: AccountHistory, f: Partial<Facts> = {}, now = NOW, from: 'object' | 'cache' = 'object') {
  const check = prepare(POLICY, facts({ ...ACCOUNT, ...f }), now);
  const memory: MemoryFacts = { account: { known: true, history: h, from } };
  return detectHistory(check.view, { settings: POLICY.history, restricted: POLICY.timezone.restricted }, memory, check.observation, now);
}

const WINDOW = (h: AccountHistory, from = 'object') => ({ windowSeconds: 600, events: h.events, firstSeen: iso(h.firstSeen ?? 0), lastSeen: iso(h.lastSeen ?? 0), memory: from });

describe('fan-out signals, whole', () => {
  it('RELAY_FANOUT names its counts, thresholds and window', () => {
    const h = history({ networks: seen(['a', 'b']), asns: seen(['1']), countries: seen(['DE', 'SG', 'JP']), ips: 9 });
    expect(signalsOf(h, { ip: '203.0.113.5', geo: { country: 'US', asn: 7922 } }, NOW, 'cache').RELAY_FANOUT).toEqual({
      value: true,
      message: 'The account was seen from 3 networks, 2 ASNs and 4 countries in 10 min (thresholds 8 / 5 / 3).',
      evidence: { networks: 3, asns: 2, countries: ['DE', 'JP', 'SG', 'US'], ips: 9, thresholds: { networks: 8, asns: 5, countries: 3 }, ...WINDOW(h, 'cache') },
    });
  });

  it('RELAY_TZ_FANOUT and RELAY_DEVICE_FANOUT', () => {
    const h = history({ timezones: seen(['Europe/Berlin', 'Asia/Tokyo']), devices: 5 });
    const s = signalsOf(h, { client: { timezone: 'America/New_York' } });
    expect(s.RELAY_TZ_FANOUT).toEqual({
      value: true,
      message: 'The account presented 3 client time zones in 10 min (threshold 3).',
      evidence: { timezones: ['America/New_York', 'Asia/Tokyo', 'Europe/Berlin'], count: 3, threshold: 3, ...WINDOW(h) },
    });
    expect(s.RELAY_DEVICE_FANOUT).toEqual({ value: true, message: 'The account was used from 5 devices in 10 min (threshold 5).', evidence: { devices: 5, threshold: 5, ...WINDOW(h) } });
  });

  it('RELAY_SIGNATURE', () => {
    const h = history({ signature: { windowMs: MIN, requests: 30, bare: 12, firstSeen: NOW - 59_000, lastSeen: NOW - MIN } });
    expect(signalsOf(h).RELAY_SIGNATURE).toEqual({
      value: true,
      message: '30 checks in 60 s came from datacenter networks (threshold 30); 12 of them showed no client clock, locale or browser.',
      evidence: { requests: 30, bare: 12, windowSeconds: 60, threshold: 30, firstSeen: iso(NOW - 59_000), lastSeen: iso(NOW - MIN), memory: 'object' },
    });
    // One millisecond older and the last of them left the window.
    const stale = history({ signature: { windowMs: MIN, requests: 30, bare: 0, firstSeen: NOW - 59_000, lastSeen: NOW - MIN - 1 } });
    expect(signalsOf(stale).RELAY_SIGNATURE.value).toBe(false);
  });

  it.each<[string, number, boolean]>([
    ['a value last seen exactly at the start of the window counts', NOW - 10 * MIN, true],
    ['one millisecond before it does not', NOW - 10 * MIN - 1, false],
  ])('%s', (_name, at, counted) => {
    const h = history({ countries: seen(['DE', 'SG'], at) });
    expect(signalsOf(h).RELAY_FANOUT.value).toBe(counted);
  });

  it('a summary exactly one window old still counts its devices; older does not', () => {
    expect(signalsOf(history({ devices: 5, asOf: NOW - 10 * MIN })).RELAY_DEVICE_FANOUT.value).toBe(true);
    expect(signalsOf(history({ devices: 5, asOf: NOW - 10 * MIN - 1 })).RELAY_DEVICE_FANOUT.value).toBe(false);
  });

  it('a check without an IP or ASN adds no network or ASN', () => {
    const h = history({ networks: seen(['1', '2', '3', '4', '5', '6', '7']), asns: seen(['1', '2', '3', '4']) });
    expect(signalsOf(h, { geo: { country: 'DE' } }).RELAY_FANOUT).toMatchObject({ value: false });
    expect(signalsOf(h, { ip: '192.0.2.1', geo: { country: 'DE' } }).RELAY_FANOUT).toMatchObject({ value: true, evidence: { networks: 8, asns: 4 } });
    expect(signalsOf(h, { geo: { country: 'DE', asn: 64500 } }).RELAY_FANOUT).toMatchObject({ value: true, evidence: { networks: 7, asns: 5 } });
  });

  it('a truncated list keeps its count and lists its keys', () => {
    const h = history({ countries: { count: 100, items: seen(['DE', 'SG']).items } });
    expect(signalsOf(h).RELAY_FANOUT).toMatchObject({ value: true, evidence: { countries: ['DE', 'SG'] } });
  });
});

describe('IMPOSSIBLE_TRAVEL, whole', () => {
  const beijing = { lat: 39.9, lon: 116.41, country: 'CN', city: 'Beijing' };
  const ny = { latitude: 40.71, longitude: -74.01, city: 'New York' };

  it('from the last location to this check', () => {
    const s = signalsOf(history({ lastLocation: { at: NOW - 20 * MIN, ...beijing } }), { geo: { country: 'US', ...ny } });
    expect(s.IMPOSSIBLE_TRAVEL).toEqual({
      value: true,
      message: 'The account was in Beijing and New York, 10990 km apart, 20 min apart: 32969 km/h (a plane flies 1000).',
      evidence: { from: { at: iso(NOW - 20 * MIN), country: 'CN', city: 'Beijing' }, to: { at: iso(NOW), country: 'US', city: 'New York' }, km: 10990, hours: 0.33, kmh: 32969, maxKmh: 1000, memory: 'object' },
    });
  });

  it('a recorded pair over hours, named by country when the city is unknown', () => {
    const travel: TravelFinding = { from: { at: NOW - 9 * MIN - 3 * HOUR, lat: 0, lon: 0, country: 'CN', city: null }, to: { at: NOW - 9 * MIN, lat: 0, lon: 0, country: null, city: null }, km: 9000, kmh: 3000 };
    expect(signalsOf(history({ travel })).IMPOSSIBLE_TRAVEL).toEqual({
      value: true,
      message: 'The account was in CN and ?, 9000 km apart, 3 h apart: 3000 km/h (a plane flies 1000).',
      evidence: { from: { at: iso(travel.from.at), country: 'CN', city: null }, to: { at: iso(travel.to.at), country: null, city: null }, km: 9000, hours: 3, kmh: 3000, maxKmh: 1000, memory: 'object' },
    });
  });

  it('two places within the same second read as one second apart', () => {
    const s = signalsOf(history({ lastLocation: { at: NOW, ...beijing } }), { geo: { country: 'US', ...ny } });
    expect(s.IMPOSSIBLE_TRAVEL).toMatchObject({ value: true, evidence: { hours: 0, kmh: 39_563_273 } });
    expect((s.IMPOSSIBLE_TRAVEL as { message: string }).message).toContain(', 1 min apart:');
  });

  it('the faster of the recorded pair and the current one is reported; a recorded pair at the window edge still counts', () => {
    const slow: TravelFinding = { from: { at: NOW - 10 * MIN - 1000, lat: 0, lon: 0, country: 'CN', city: 'X' }, to: { at: NOW - 10 * MIN, lat: 0, lon: 0, country: 'US', city: 'Y' }, km: 1000, kmh: 3600 };
    expect(signalsOf(history({ travel: slow })).IMPOSSIBLE_TRAVEL).toMatchObject({ value: true, evidence: { kmh: 3600 } });
    const s = signalsOf(history({ travel: slow, lastLocation: { at: NOW - 20 * MIN, ...beijing } }), { geo: { country: 'US', ...ny } });
    expect(s.IMPOSSIBLE_TRAVEL).toMatchObject({ evidence: { kmh: 32969 } });
    const fast = { ...slow, kmh: 100_000 };
    expect(signalsOf(history({ travel: fast, lastLocation: { at: NOW - 20 * MIN, ...beijing } }), { geo: { country: 'US', ...ny } }).IMPOSSIBLE_TRAVEL).toMatchObject({ evidence: { kmh: 100_000 } });
  });

  it('a last location alone (no coordinates now) is judged false, not undetermined', () => {
    expect(signalsOf(history({ lastLocation: { at: NOW - HOUR, ...beijing } })).IMPOSSIBLE_TRAVEL).toBe(signalsOf(history({ lastLocation: { at: NOW - HOUR, ...beijing } })).IMPOSSIBLE_TRAVEL);
    expect(signalsOf(history({ lastLocation: { at: NOW - HOUR, ...beijing } })).IMPOSSIBLE_TRAVEL.value).toBe(false);
  });
});

describe('restricted history, whole', () => {
  const mark = (over: Partial<RestrictedMark>): RestrictedMark => ({ kind: 'tz', key: 'Asia/Shanghai', places: ['CN'], strength: 1, ipCountry: 'SG', firstSeen: NOW - 2 * DAY, lastSeen: NOW - DAY, count: 3, ...over });

  it('TZ_RESTRICTED_HISTORY', () => {
    expect(signalsOf(history({ restricted: [mark({})] })).TZ_RESTRICTED_HISTORY).toEqual({
      value: true,
      message: `The account presented the restricted client time zone Asia/Shanghai (CN) from SG on ${iso(NOW - DAY)}, within 30 days.`,
      evidence: { timezone: 'Asia/Shanghai', places: ['CN'], ipCountry: 'SG', firstSeen: iso(NOW - 2 * DAY), lastSeen: iso(NOW - DAY), count: 3, windowDays: 30, memory: 'object' },
    });
    expect(signalsOf(history({ restricted: [mark({ ipCountry: null })] })).TZ_RESTRICTED_HISTORY).toMatchObject({ message: `The account presented the restricted client time zone Asia/Shanghai (CN) from an unknown country on ${iso(NOW - DAY)}, within 30 days.` });
  });

  it('RESTRICTED_IP_HISTORY', () => {
    expect(signalsOf(history({ restricted: [mark({ kind: 'ip', key: 'IR', places: ['IR'], ipCountry: 'IR' })] })).RESTRICTED_IP_HISTORY).toEqual({
      value: true,
      message: `The account was seen from an IP in IR, a restricted place, on ${iso(NOW - DAY)}, within 30 days.`,
      evidence: { ipPlace: 'IR', places: ['IR'], ipCountry: 'IR', firstSeen: iso(NOW - 2 * DAY), lastSeen: iso(NOW - DAY), count: 3, windowDays: 30, memory: 'object' },
    });
  });

  it('the strongest mark speaks, then the most recent; a full-strength one carries no strength', () => {
    const weak = mark({ key: 'UTC+180', places: ['RU'], strength: 0.16, lastSeen: NOW - HOUR });
    const older = mark({ key: 'Asia/Tehran', places: ['IR'], lastSeen: NOW - 3 * DAY });
    const newer = mark({ key: 'Asia/Shanghai', lastSeen: NOW - 2 * DAY });
    const s: Signal = signalsOf(history({ restricted: [weak, older, newer] })).TZ_RESTRICTED_HISTORY;
    expect(s).toMatchObject({ evidence: { timezone: 'Asia/Shanghai' } });
    expect(s).not.toHaveProperty('strength');
    expect(signalsOf(history({ restricted: [newer, older] })).TZ_RESTRICTED_HISTORY).toMatchObject({ evidence: { timezone: 'Asia/Shanghai' } });
    expect(signalsOf(history({ restricted: [weak] })).TZ_RESTRICTED_HISTORY).toMatchObject({ strength: 0.16 });
    expect(signalsOf(history({ restricted: [mark({ strength: 0.99 })] })).TZ_RESTRICTED_HISTORY).toMatchObject({ strength: 0.99 });
  });

  it('a mark counts while ANY of its places is restricted, and from exactly restrictedDays ago', () => {
    expect(signalsOf(history({ restricted: [mark({ places: ['XX', 'CN'] })] })).TZ_RESTRICTED_HISTORY.value).toBe(true);
    expect(signalsOf(history({ restricted: [mark({ places: ['XX'] })] })).TZ_RESTRICTED_HISTORY.value).toBe(false);
    expect(signalsOf(history({ restricted: [mark({ firstSeen: NOW - 40 * DAY, lastSeen: NOW - 30 * DAY })] })).TZ_RESTRICTED_HISTORY.value).toBe(true);
    expect(signalsOf(history({ restricted: [mark({ firstSeen: NOW - 40 * DAY, lastSeen: NOW - 30 * DAY - 1 })] })).TZ_RESTRICTED_HISTORY.value).toBe(false);
  });
});

describe('ORG_RESTRICTED_SHARE, whole', () => {
  const orgOf = (over: Partial<OrgHistory>): OrgHistory => ({ kind: 'org', asOf: NOW - MIN, windowMs: 30 * DAY, activeAccounts: 20, restrictedAccounts: 8, restrictedSample: [], truncated: false, ...over });
  const judge = (o: OrgHistory) => {
    const view = new RequestView(facts({ account: { id: 'a', orgId: 'o' } }));
    return detectHistory(view, { settings: POLICY.history, restricted: POLICY.timezone.restricted }, { org: { known: true, history: o, from: 'cache' } }, undefined, NOW).ORG_RESTRICTED_SHARE;
  };

  it('names the share and the thresholds', () => {
    expect(judge(orgOf({}))).toEqual({
      value: true,
      message: "8 of the organisation's 20 active accounts (40%) showed restricted location evidence within 30 days (thresholds 30% and 3 accounts).",
      evidence: { activeAccounts: 20, restrictedAccounts: 8, share: 0.4, minShare: 0.3, minAccounts: 3, windowDays: 30, memory: 'cache' },
    });
  });

  it.each<[string, Partial<OrgHistory>, boolean]>([
    ['exactly minAccounts', { activeAccounts: 3, restrictedAccounts: 3 }, true],
    ['no active account', { activeAccounts: 0, restrictedAccounts: 0 }, false],
    ['a summary exactly one window old', { asOf: NOW - 30 * DAY }, true],
    ['one millisecond older', { asOf: NOW - 30 * DAY - 1 }, false],
  ])('%s', (_name, over, want) => {
    expect(judge(orgOf(over)).value).toBe(want);
  });
});

describe('observe: edges', () => {
  it.each<[string, Facts['client'], boolean]>([
    ['no client fields', {}, true],
    ['a zone', { timezone: 'UTC' }, false],
    ['an offset', { utcOffsetMinutes: 0 }, false],
    ['a clock', { clock: '2026-11-26T12:00:00Z' }, false],
    ['a locale', { acceptLanguage: 'en' }, false],
    ['an SDK user agent', { userAgent: 'Go-http-client/1.1' }, true],
  ])('bare with %s: %s', (_name, client, bare) => {
    expect(prepare(POLICY, facts({ ...ACCOUNT, client }), NOW).observation.bare).toBe(bare);
  });

  it.each<[string, Facts['geo'], boolean]>([
    ['city, latitude and longitude', { country: 'DE', city: 'Berlin', latitude: 52.52, longitude: 13.4 }, true],
    ['no city', { country: 'DE', latitude: 52.52, longitude: 13.4 }, false],
    ['an empty city', { country: 'DE', city: '', latitude: 52.52, longitude: 13.4 }, false],
    ['no longitude', { country: 'DE', city: 'Berlin', latitude: 52.52 }, false],
    ['no latitude', { country: 'DE', city: 'Berlin', longitude: 13.4 }, false],
  ])('located with %s: %s', (_name, geo, located) => {
    expect(prepare(POLICY, facts({ ...ACCOUNT, geo }), NOW).observation.location !== undefined).toBe(located);
  });

  it('a datacenter by ASN alone, and by IP alone', () => {
    const noHosting = compile(policyWith());
    expect(prepare(noHosting, facts({ ...ACCOUNT, geo: { country: 'US', asn: 16509 } }), NOW).observation.datacenter).toBe(true);
    expect(prepare(noHosting, facts({ ...ACCOUNT, ip: '3.5.140.1', geo: { country: 'US' } }), NOW).observation.datacenter).toBe(true);
    expect(prepare(noHosting, facts({ ...ACCOUNT, ip: '198.51.100.7', geo: { country: 'US', asn: 7922 } }), NOW).observation.datacenter).toBe(false);
  });

  it.each<[string, Partial<Facts>, unknown[]]>([
    ['a restricted region of an unrestricted country', { geo: { country: 'UA', regionCode: '43' } }, [{ kind: 'ip', key: 'UA-43', places: ['UA-43'], strength: 1, ipCountry: 'UA' }]],
    ['an unrestricted region of that country', { geo: { country: 'UA', regionCode: '30' } }, []],
    ['a restricted country', { geo: { country: 'IR' } }, [{ kind: 'ip', key: 'IR', places: ['IR'], strength: 1, ipCountry: 'IR' }]],
    ['an offset only restricted places use (Iran, +03:30)', { geo: { country: 'DE' }, client: { utcOffsetMinutes: 210 } }, [{ kind: 'tz', key: 'UTC+210', places: ['IR'], strength: 1, ipCountry: 'DE' }]],
    ['Etc/GMT-8 (UTC+8), a zone of no country', { geo: { country: 'DE' }, client: { timezone: 'Etc/GMT-8' } }, [{ kind: 'tz', key: 'Etc/GMT-8' }]],
    ['Crimea\'s zone from Germany (a region)', { geo: { country: 'DE' }, client: { timezone: 'Europe/Simferopol' } }, [{ kind: 'tz', key: 'Europe/Simferopol', places: ['UA-43'], strength: 1 }]],
  ])('restricted evidence: %s', (_name, f, want) => {
    expect(prepare(POLICY, facts({ ...ACCOUNT, ...f }), NOW).observation.restricted).toMatchObject(want);
  });

  it('a negative offset share keys as UTC-<minutes>', () => {
    const policy = compile({ ...defaultDocument(), restrictedCountries: ['CU'] });
    const obs = prepare(policy, facts({ ...ACCOUNT, geo: { country: 'DE' }, client: { utcOffsetMinutes: -300 } }), NOW).observation;
    expect(obs.restricted[0]).toMatchObject({ kind: 'tz', key: 'UTC-300', places: ['CU'] });
    expect(obs.restricted[0]?.strength).toBeGreaterThan(0);
    expect(obs.restricted[0]?.strength).toBeLessThan(1);
  });
});
