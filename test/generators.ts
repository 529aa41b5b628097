// Realistic fast-check generators, so that properties exercise the engine where it can be wrong:
// real zone names and aliases with their TRUE offsets at the instant, instants next to real DST
// transitions, clocks near (within the skew tolerance) and far (another season), repeated
// values, real IP forms (embedded IPv4 included), real country codes and pseudo-codes, listed
// and unlisted networks. Uniform noise (offsets drawn from +-1080 minutes, arbitrary strings)
// almost never lands on a real zone's offset; it is mixed in, but never alone.
import type { AccountHistory, DistinctSeen, Located, MemoryFacts, OrgHistory, RestrictedMark } from '../src/engine/history';
import fc from 'fast-check';
import { TZ_ROWS } from '../src/engine/data/tz-zones';
import { lookupZone, offsetAt } from '../src/engine/timezone';

/** Every tzdata name and alias, with its canonical zone. */
const ZONES = TZ_ROWS.map((row) => {
  const [name = '', target = ''] = row.split('|');
  return { name, canonical: target || name };
});

/** Zones whose offsets matter most to the default policy, drawn more often. */
const HOT_ZONES = [
  'Asia/Shanghai', 'PRC', 'Asia/Urumqi', 'Asia/Hong_Kong', 'Asia/Macau', 'Asia/Tehran', 'Europe/Moscow', 'Asia/Pyongyang',
  'America/Havana', 'Asia/Damascus', 'Europe/Simferopol', 'Europe/Kyiv', 'America/New_York', 'America/Los_Angeles',
  'Europe/Berlin', 'Europe/London', 'Asia/Singapore', 'Asia/Taipei', 'Asia/Tokyo', 'Australia/Sydney', 'Australia/Perth',
  'America/Sao_Paulo', 'Asia/Kolkata', 'Asia/Kathmandu', 'Etc/GMT-8', 'Etc/GMT+3', 'Etc/GMT-3', 'UTC',
];

/** Names ICU knows that tzdata's tables do not (they resolve to a tzdata zone). */
const ICU_ONLY = ['CTT', 'IST', 'JST', 'PST', 'BET', 'AET', 'MIT', 'NET', 'EST', 'MST', 'HST'];

/** Zones with DST, whose transitions the instants are drawn next to. */
const DST_ZONES = ['America/New_York', 'America/Los_Angeles', 'Europe/Berlin', 'Europe/London', 'Australia/Sydney', 'America/Havana', 'America/Santiago', 'America/Sao_Paulo'];

const YEAR_MS = 365.25 * 86_400_000;
const FROM = Date.parse('2024-01-01T00:00:00Z');
const TO = Date.parse('2030-01-01T00:00:00Z');

/** Instants at which some DST zone changes offset (found by bisection over 2024-2029). */
export const DST_TRANSITIONS: readonly number[] = (() => {
  const out: number[] = [];
  const step = 6 * 3_600_000;
  for (const zone of DST_ZONES) {
    let prev = offsetAt(zone, FROM);
    for (let t = FROM + step; t < TO; t += step) {
      const cur = offsetAt(zone, t);
      if (cur === prev) continue;
      let lo = t - step;
      let hi = t;
      while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetAt(zone, mid) === prev) lo = mid;
        else hi = mid;
      }
      out.push(hi);
      prev = cur;
    }
  }
  return out.sort((a, b) => a - b);
})();

/** An instant: anywhere in 2024-2029, or within ten minutes of a real DST transition. */
export const instantArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: FROM, max: TO - 1 }),
  fc.tuple(fc.constantFrom(...DST_TRANSITIONS), fc.integer({ min: -600_000, max: 600_000 })).map(([t, d]) => t + d),
);

const caseVariant = (name: string) => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase(), ` ${name} `);

/** A zone claim: a real name or alias (any case), an ICU-only alias, or junk. */
export const zoneNameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOT_ZONES).chain(caseVariant) },
  { weight: 3, arbitrary: fc.constantFrom(...ZONES.map((z) => z.name)) },
  { weight: 1, arbitrary: fc.constantFrom(...ICU_ONLY) },
  { weight: 1, arbitrary: fc.constantFrom('Mars/Olympus_Mons', '+08:00', 'GMT+8', '../../etc/passwd', '', 'Asia/', 'x'.repeat(300)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

/** The canonical zone of a tzdata name (for true offsets); undefined for ICU-only or junk. */
export function canonicalOf(name: string): string | undefined {
  const lower = name.trim().toLowerCase();
  return ZONES.find((z) => z.name.toLowerCase() === lower)?.canonical;
}

/** Real offsets in use somewhere (minutes east of UTC). */
const REAL_OFFSETS = [-600, -540, -480, -420, -360, -300, -240, -210, -180, -120, -60, 0, 60, 120, 180, 210, 240, 270, 300, 330, 345, 360, 390, 420, 480, 525, 540, 570, 600, 630, 660, 720, 765, 780, 840];

/** An offset claim given the instant and the zone claimed: its true offset, a neighbour's, a real one, or noise. */
export function offsetArb(now: number, zone: string | undefined): fc.Arbitrary<number> {
  const canonical = zone === undefined ? undefined : canonicalOf(zone);
  const truth = canonical === undefined ? undefined : offsetAt(canonical, now);
  const arbs: fc.Arbitrary<number>[] = [fc.constantFrom(...REAL_OFFSETS), fc.integer({ min: -1080, max: 1080 })];
  if (truth !== undefined) {
    arbs.unshift(fc.constant(truth), fc.constant(truth), fc.constantFrom(truth - 60, truth + 60));
    const half = offsetAt(canonical as string, now + YEAR_MS / 2);
    if (half !== undefined) arbs.push(fc.constant(half));
  }
  return fc.oneof(...arbs);
}

function isoAt(ms: number, offsetMinutes: number | undefined): string {
  if (offsetMinutes === undefined) return new Date(ms).toISOString();
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** A clock claim near `now` (within the 300 s tolerance) or far (hours to months), in UTC or a local offset, or junk. */
export function clockArb(now: number, zone: string | undefined): fc.Arbitrary<string> {
  const canonical = zone === undefined ? undefined : canonicalOf(zone);
  const when = fc.oneof(
    fc.integer({ min: -300_000, max: 300_000 }),
    fc.integer({ min: -400_000, max: 400_000 }),
    fc.integer({ min: -200 * 86_400_000, max: 200 * 86_400_000 }),
    fc.constant(Math.round(YEAR_MS / 2)),
  );
  const written = fc.tuple(when, fc.constantFrom('utc', 'zone', 'real')).chain(([d, form]) => {
    const ms = now + d;
    if (form === 'utc') return fc.constant(isoAt(ms, undefined));
    if (form === 'zone' && canonical !== undefined) return fc.constant(isoAt(ms, offsetAt(canonical, ms)));
    return fc.constantFrom(...REAL_OFFSETS).map((o) => isoAt(ms, o));
  });
  return fc.oneof({ weight: 5, arbitrary: written }, { weight: 1, arbitrary: fc.constantFrom('yesterday', '2026-11-26T12:00:00', 'Thu, 26 Nov 2026 12:00:00 GMT', '2026-13-45T12:00:00Z', '2026-11-26T12:00:00+13:37') });
}

/** Accept-Language values: real browser headers, restricted locales hidden in many forms, junk. */
export const acceptLanguageArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'en-US,en;q=0.9',
    'zh-CN,zh;q=0.9,en;q=0.8',
    'fa-IR,fa;q=0.9',
    'ru-RU,ru;q=0.9,en-US;q=0.8',
    'zh-TW,zh;q=0.9',
    'en-GB',
    'es-419,es;q=0.9',
    'zh-cmn-Hans-CN',
    'en-US-u-rg-cnzzzz',
    'zh-CN;q=0;q=1',
    `${Array.from({ length: 40 }, () => 'en').join(',')},zh-CN`,
    'zh-CN;q=0',
  ),
  fc.string({ maxLength: 40 }),
);

/** One claim or a repeated one (2-3 values, duplicates included), as a repeated header gives. */
export function claimsArb<T>(item: fc.Arbitrary<T>): fc.Arbitrary<T | T[]> {
  return fc.oneof({ weight: 3, arbitrary: item }, { weight: 1, arbitrary: fc.array(item, { minLength: 2, maxLength: 3 }) }, { weight: 1, arbitrary: item.map((v) => [v, v]) });
}

/** Client fields for an instant: a zone, offsets and clocks consistent or not with it, languages. */
export function clientArb(now: number): fc.Arbitrary<Record<string, unknown>> {
  return zoneNameArb.chain((zone) =>
    fc.record(
      {
        timezone: fc.oneof(fc.constant(zone), claimsArb(zoneNameArb)),
        utcOffsetMinutes: claimsArb(offsetArb(now, zone)),
        clock: claimsArb(clockArb(now, zone)),
        acceptLanguage: fc.oneof(acceptLanguageArb, fc.array(acceptLanguageArb, { minLength: 2, maxLength: 2 })),
        userAgent: fc.constantFrom('Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'curl/8.5.0', 'Go-http-client/2.0'),
      },
      { requiredKeys: [] },
    ),
  );
}

/** IP countries: mostly assigned codes that matter, plus Tor, unknown, anonymous proxy, unassigned. */
export const countryArb: fc.Arbitrary<string> = fc.constantFrom('US', 'US', 'DE', 'JP', 'SG', 'MY', 'AU', 'BR', 'GB', 'UA', 'TW', 'CN', 'RU', 'IR', 'HK', 'CU', 'KP', 'T1', 'XX', 'A1', 'ZZ', 'EU');

/** End-user IPs in the forms origins send, including IPv6 forms that embed an IPv4 address. */
export const ipArb: fc.Arbitrary<string> = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom('203.0.113.7', '198.51.100.5', '::ffff:198.51.100.5', '2002:c633:6405::1', '64:ff9b::198.51.100.5', '::c633:6405', '2001:db8:1::5', '192.0.2.9', '185.153.176.9'),
  // Addresses in the shipped network intel: VPN and datacenter blocks, IPv4 and IPv6, and a 6to4
  // address embedding a VPN IPv4 (2.26.157.5), so that properties run with the IP signals true.
  fc.constantFrom('2.26.157.5', '1.12.0.1', '2001:ac8::1', '2001:310::1', '2002:21a:9d05::1', '::ffff:2.26.157.5'),
);

/** ASNs: listed VPN (M247, Datacamp), hosting (AWS, DigitalOcean), ISPs, unknown. */
export const asnArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(9009, 60068, 209854, 16509, 14061, 7922, 701, 4134, 64500), fc.integer({ min: 1, max: 400_000 }));

/** The origin-side part of a check request (everything but `client`). */
export const originArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    ip: ipArb,
    geo: fc.record(
      {
        country: countryArb,
        regionCode: fc.constantFrom('43', '40', '14', '09', '30', 'CA', 'UA-43'),
        timezone: fc.constantFrom('Asia/Shanghai', 'America/Chicago', 'Europe/Berlin', 'Asia/Tokyo', 'Europe/Simferopol', 'America/Los_Angeles'),
        asn: asnArb,
      },
      { requiredKeys: [] },
    ),
    account: fc.record({ id: fc.constantFrom('acct-1', 'acct-partner', 'acct-banned'), orgId: fc.constantFrom('org-1', 'org-banned'), ownerCountry: fc.constantFrom('US', 'CN', 'SG', 'RU') }, { requiredKeys: [] }),
    surface: fc.constantFrom('web', 'api', 'admin'),
  },
  { requiredKeys: [] },
);

/** An instant, an origin-side request, and client fields drawn for that instant. */
export const scenarioArb = instantArb.chain((now) => fc.tuple(fc.constant(now), originArb, clientArb(now)));

const MIN_MS = 60_000;
const DAY_MS = 86_400_000;

/** Distinct values of one dimension, seen within the last `spanMs` before `now`. */
function seenArb(now: number, keys: fc.Arbitrary<string>, spanMs: number): fc.Arbitrary<DistinctSeen> {
  return fc.uniqueArray(fc.tuple(keys, fc.integer({ min: 0, max: spanMs })), { maxLength: 12, selector: ([k]) => k }).map((xs) => ({
    count: xs.length,
    items: xs.map(([key, ago]) => ({ key, firstSeen: now - ago, lastSeen: now - ago, count: 1 })),
  }));
}

const cityArb: fc.Arbitrary<Omit<Located, 'at'>> = fc.constantFrom(
  { lat: 39.9, lon: 116.41, country: 'CN', city: 'Beijing' },
  { lat: 40.71, lon: -74.01, country: 'US', city: 'New York' },
  { lat: 35.69, lon: 139.69, country: 'JP', city: 'Tokyo' },
  { lat: 1.29, lon: 103.85, country: 'SG', city: 'Singapore' },
  { lat: 52.52, lon: 13.4, country: 'DE', city: 'Berlin' },
);

const markArb = (now: number): fc.Arbitrary<RestrictedMark> =>
  fc
    .tuple(
      fc.constantFrom<[RestrictedMark['kind'], string, string[], number]>(
        ['tz', 'Asia/Shanghai', ['CN'], 1],
        ['tz', 'Asia/Tehran', ['IR'], 1],
        ['tz', 'UTC+180', ['RU'], 0.16],
        ['tz', 'Europe/Simferopol', ['UA-43'], 1],
        ['ip', 'CN', ['CN'], 1],
        ['ip', 'RU', ['RU'], 1],
      ),
      fc.integer({ min: 0, max: 40 * DAY_MS }),
      fc.constantFrom('SG', 'US', 'DE', null),
    )
    .map(([[kind, key, places, strength], ago, ipCountry]) => ({ kind, key, places, strength, ipCountry, firstSeen: now - ago, lastSeen: now - ago, count: 1 }));

/**
 * Account and organisation memory as the objects answer it, at `now`: distinct networks, ASNs,
 * countries and real zones seen within (and just beyond) the fan-out window, devices, relay-shaped
 * checks, a last location in a real city, restricted marks within (and beyond) 30 days, and an
 * organisation's restricted share; or memory that is unknown.
 */
export function memoryArb(now: number): fc.Arbitrary<MemoryFacts> {
  const account: fc.Arbitrary<AccountHistory> = fc
    .record({
      networks: seenArb(now, fc.integer({ min: 0, max: 255 }).map((i) => `198.51.${i}.0/24`), 12 * MIN_MS),
      asns: seenArb(now, asnArb.map(String), 12 * MIN_MS),
      countries: seenArb(now, countryArb, 12 * MIN_MS),
      timezones: seenArb(now, zoneNameArb.map((name) => { const z = lookupZone(name); return z.kind === 'invalid' ? 'UTC' : z.zone.canonical; }), 12 * MIN_MS),
      devices: fc.integer({ min: 0, max: 12 }),
      relayed: fc.integer({ min: 0, max: 60 }),
      location: fc.option(fc.tuple(cityArb, fc.integer({ min: 0, max: 30 * 3_600_000 }))),
      restricted: fc.array(markArb(now), { maxLength: 3 }),
    })
    .map((r) => ({
      kind: 'account' as const,
      asOf: now - MIN_MS,
      windowMs: 10 * MIN_MS,
      events: 10,
      firstSeen: now - 9 * MIN_MS,
      lastSeen: now - MIN_MS,
      networks: r.networks,
      asns: r.asns,
      countries: r.countries,
      timezones: r.timezones,
      ips: r.networks.count,
      devices: r.devices,
      signature: { windowMs: MIN_MS, requests: r.relayed, bare: Math.floor(r.relayed / 2), firstSeen: r.relayed > 0 ? now - 50_000 : null, lastSeen: r.relayed > 0 ? now - 1000 : null },
      lastLocation: r.location ? { at: now - r.location[1], ...r.location[0] } : null,
      travel: null,
      restricted: r.restricted,
      truncated: false,
    }));
  const org: fc.Arbitrary<OrgHistory> = fc
    .tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 60 }))
    .map(([active, restricted]) => ({ kind: 'org', asOf: now - MIN_MS, windowMs: 30 * DAY_MS, activeAccounts: active, restrictedAccounts: Math.min(active, restricted), restrictedSample: [], truncated: false }));
  const side = <T>(h: fc.Arbitrary<T>) => fc.oneof(h.map((history) => ({ known: true as const, history, from: 'object' as const })), fc.constant({ known: false as const, why: 'cold' }));
  return fc.record({ account: side(account), org: side(org) });
}
