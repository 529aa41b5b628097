// The time-zone detector, claim by claim: every zone, offset and clock is judged at the edge's
// instant; a client clock counts only within the skew tolerance; repeated and malformed claims
// are evidence; offset-only claims weigh the restricted share of the people on that offset.
import { describe, expect, it } from 'vitest';
import { RequestView } from '../../src/engine/detectors/geo';
import { claimList, clockOffsetMinutes, detectTimezone, isRealOffset, type TimezoneSignals } from '../../src/engine/detectors/timezone';
import type { ClientFacts, GeoFacts, Signal, SignalValue } from '../../src/engine/types';
import { facts, NOW } from '../helpers';

const SETTINGS = {
  restricted: {
    countries: new Set(['CN', 'HK', 'MO', 'RU', 'IR', 'KP', 'SY', 'CU']),
    regions: new Set(['UA-43', 'UA-40', 'UA-14', 'UA-09']),
  },
  clockSkewToleranceMs: 300_000,
};
/** NOW is 2026-11-26T12:00:00Z: northern winter. */
const SUMMER = Date.parse('2026-07-15T12:00:00Z');
const U = 'undetermined';

type Want = Partial<Record<keyof TimezoneSignals, SignalValue>>;

function signals(geo: GeoFacts, client: ClientFacts, now = NOW): TimezoneSignals {
  return detectTimezone(new RequestView(facts({ geo, client })), SETTINGS, now);
}

function values(s: TimezoneSignals): Record<keyof TimezoneSignals, SignalValue> {
  return {
    TZ_INVALID: s.TZ_INVALID.value,
    TZ_RESTRICTED: s.TZ_RESTRICTED.value,
    TZ_INCONSISTENT: s.TZ_INCONSISTENT.value,
    TZ_MISMATCH: s.TZ_MISMATCH.value,
    CLOCK_SKEW: s.CLOCK_SKEW.value,
    CLOCK_INVALID: s.CLOCK_INVALID.value,
  };
}

const strength = (s: Signal) => (s.value === true ? (s.strength ?? 1) : 0);

describe('zones', () => {
  it.each<[string, GeoFacts, ClientFacts, Want]>([
    ['no client signals', { country: 'US' }, {}, { TZ_INVALID: U, TZ_RESTRICTED: U, TZ_INCONSISTENT: U, TZ_MISMATCH: U, CLOCK_SKEW: U, CLOCK_INVALID: U }],
    ['home zone', { country: 'US' }, { timezone: 'America/New_York' }, { TZ_INVALID: false, TZ_RESTRICTED: false, TZ_MISMATCH: false }],
    ['restricted zone abroad', { country: 'US' }, { timezone: 'Asia/Shanghai' }, { TZ_RESTRICTED: true, TZ_MISMATCH: true }],
    ['restricted zone at home', { country: 'CN' }, { timezone: 'Asia/Shanghai' }, { TZ_RESTRICTED: false, TZ_MISMATCH: false }],
    ['alias PRC', { country: 'US' }, { timezone: 'PRC' }, { TZ_RESTRICTED: true }],
    ['alias Asia/Harbin', { country: 'JP' }, { timezone: 'Asia/Harbin' }, { TZ_RESTRICTED: true, TZ_MISMATCH: true }],
    ['ICU-only alias CTT inherits Asia/Shanghai', { country: 'US' }, { timezone: 'CTT' }, { TZ_INVALID: false, TZ_RESTRICTED: true }],
    ['ICU-only alias, lower case', { country: 'US' }, { timezone: 'ctt' }, { TZ_INVALID: false, TZ_RESTRICTED: true }],
    ['Urumqi', { country: 'DE' }, { timezone: 'Asia/Urumqi' }, { TZ_RESTRICTED: true }],
    ['Kashgar (alias of Urumqi)', { country: 'DE' }, { timezone: 'Asia/Kashgar' }, { TZ_RESTRICTED: true }],
    ['Tehran', { country: 'US' }, { timezone: 'Asia/Tehran' }, { TZ_RESTRICTED: true }],
    ['Taipei is not China', { country: 'US' }, { timezone: 'Asia/Taipei' }, { TZ_RESTRICTED: false, TZ_MISMATCH: true }],
    ['case-insensitive', { country: 'US' }, { timezone: 'ASIA/SHANGHAI' }, { TZ_INVALID: false, TZ_RESTRICTED: true }],
    ['Crimea zone from Kyiv region', { country: 'UA', regionCode: '30' }, { timezone: 'Europe/Simferopol' }, { TZ_RESTRICTED: true }],
    ['Crimea zone from Crimea', { country: 'UA', regionCode: '43' }, { timezone: 'Europe/Simferopol' }, { TZ_RESTRICTED: false }],
    ['Crimea zone from Sevastopol', { country: 'UA', regionCode: 'UA-40' }, { timezone: 'Europe/Simferopol' }, { TZ_RESTRICTED: false }],
    ['Crimea zone from Kyiv without a region', { country: 'UA' }, { timezone: 'Europe/Simferopol' }, { TZ_RESTRICTED: true }],
    ['restricted zone, no IP country', {}, { timezone: 'Asia/Shanghai' }, { TZ_RESTRICTED: true, TZ_MISMATCH: U }],
    ['restricted zone, unassigned IP country', { country: 'ZZ' }, { timezone: 'Asia/Shanghai' }, { TZ_RESTRICTED: true, TZ_MISMATCH: U }],
    ['invalid zone', { country: 'US' }, { timezone: 'Mars/Olympus_Mons' }, { TZ_INVALID: true, TZ_RESTRICTED: U, TZ_MISMATCH: U }],
    ['path-like zone', { country: 'US' }, { timezone: '../../etc/passwd' }, { TZ_INVALID: true }],
    ['offset-like zone name is invalid', { country: 'US' }, { timezone: '+08:00' }, { TZ_INVALID: true }],
    ['Etc zone with a plausible offset', { country: 'US' }, { timezone: 'Etc/GMT+5' }, { TZ_INVALID: false, TZ_RESTRICTED: false, TZ_MISMATCH: false }],
    ['neighbour zone with the same offset', { country: 'DE' }, { timezone: 'Europe/Paris' }, { TZ_MISMATCH: false }],
    ['traveller: zone not from here', { country: 'JP' }, { timezone: 'America/Los_Angeles', utcOffsetMinutes: -480 }, { TZ_MISMATCH: true, TZ_INCONSISTENT: false, TZ_RESTRICTED: false }],
  ])('%s', (_name, geo, client, want) => {
    expect(values(signals(geo, client))).toMatchObject(want);
  });

  it('explains a restricted zone, at full strength', () => {
    const s = signals({ country: 'US' }, { timezone: 'Asia/Chongqing' }).TZ_RESTRICTED;
    expect(s).toEqual({
      value: true,
      message: expect.stringContaining('Asia/Shanghai') as string,
      evidence: { timezone: 'Asia/Chongqing', canonical: 'Asia/Shanghai', zoneCountries: ['CN'], ipCountry: 'US' },
      strength: 1,
    });
  });

  it.each<[string, string[], SignalValue]>([
    ['restricting neither country', ['CN'], false],
    ['restricting one of its two countries (SG)', ['SG'], false],
    ['restricting two of its three (SG, MY)', ['SG', 'MY'], false],
    ['restricting all three (SG, MY and AQ: zone1970.tab adds an Antarctic station)', ['SG', 'MY', 'AQ'], true],
  ])('a zone shared by several countries (Asia/Singapore: SG, MY, AQ) is restricted only when all are: %s', (_name, countries, want) => {
    const settings = { ...SETTINGS, restricted: { countries: new Set(countries), regions: new Set<string>() } };
    const s = detectTimezone(new RequestView(facts({ geo: { country: 'US' }, client: { timezone: 'Asia/Singapore' } })), settings, NOW);
    expect(s.TZ_RESTRICTED.value).toBe(want);
  });

  it('names the region of a regional zone', () => {
    const s = signals({ country: 'DE' }, { timezone: 'Europe/Simferopol' }).TZ_RESTRICTED;
    expect(s).toMatchObject({ value: true, evidence: { zoneRegion: 'UA-43' } });
  });
});

describe('a zone is a restricted clock only when every country on it is restricted', () => {
  it.each<[string, string[], GeoFacts, string, SignalValue]>([
    // [name, restricted countries, IP geo, client zone, TZ_RESTRICTED]
    ["a restricted country's own zone (Mogadishu)", ['SO'], { country: 'US' }, 'Africa/Mogadishu', true],
    ['a zone it shares with unrestricted countries (Nairobi: KE, ET, SO...)', ['SO'], { country: 'US' }, 'Africa/Nairobi', false],
    ['a shared zone all of whose countries are restricted', ['DJ', 'ER', 'ET', 'KE', 'KM', 'MG', 'SO', 'TZ', 'UG', 'YT'], { country: 'US' }, 'Africa/Nairobi', true],
    ['the same zone seen from one of its countries', ['DJ', 'ER', 'ET', 'KE', 'KM', 'MG', 'SO', 'TZ', 'UG', 'YT'], { country: 'KE' }, 'Africa/Nairobi', false],
    ['Crimea zone (RU, UA) when only RU is restricted and no region is', ['RU'], { country: 'DE' }, 'Europe/Simferopol', false],
  ])('%s', (_name, countries, geo, zone, want) => {
    const settings = { restricted: { countries: new Set(countries), regions: new Set<string>() }, clockSkewToleranceMs: 300_000 };
    const s = detectTimezone(new RequestView(facts({ geo, client: { timezone: zone } })), settings, NOW);
    expect(s.TZ_RESTRICTED.value).toBe(want);
  });
});

describe('offset-only claims weigh the restricted share of the people on the offset', () => {
  it.each<[string, GeoFacts, ClientFacts, number, number]>([
    // [name, geo, client, minimum strength, maximum strength]
    ['+03:30 is Iran only', { country: 'US' }, { utcOffsetMinutes: 210 }, 1, 1],
    ['+08:00 is mostly China', { country: 'US' }, { utcOffsetMinutes: 480 }, 0.8, 0.95],
    ['Etc/GMT-8 is UTC+8 (inverted sign)', { country: 'US' }, { timezone: 'Etc/GMT-8' }, 0.8, 0.95],
    ['Etc/GMT+3 is UTC-3: no restricted place', { country: 'US' }, { timezone: 'Etc/GMT+3' }, 0, 0],
    ['+03:00 is partly Moscow', { country: 'US' }, { utcOffsetMinutes: 180 }, 0.05, 0.5],
    ['-05:00 in November is a little Cuba', { country: 'DE' }, { utcOffsetMinutes: -300 }, 0.001, 0.1],
    ['+05:45 is Nepal', { country: 'US' }, { utcOffsetMinutes: 345 }, 0, 0],
    ['an offset plausible where the IP is explains itself (SG on +08:00)', { country: 'SG' }, { utcOffsetMinutes: 480 }, 0, 0],
    ['the same from Perth', { country: 'AU' }, { utcOffsetMinutes: 480 }, 0, 0],
    ['no IP location: the share counts', { country: 'T1' }, { utcOffsetMinutes: 210 }, 1, 1],
    ['an offset in the clock counts too', { country: 'US' }, { clock: '2026-11-26T15:30:00+03:30' }, 1, 1],
    ['a zone tied to no country says its offset (EST is -05:00)', { country: 'DE' }, { timezone: 'EST' }, 0.001, 0.1],
  ])('%s', (_name, geo, client, min, max) => {
    const s = signals(geo, client).TZ_RESTRICTED;
    expect(strength(s)).toBeGreaterThanOrEqual(min);
    expect(strength(s)).toBeLessThanOrEqual(max);
    if (max === 0) expect(s.value).toBe(false);
  });

  it('puts the share and the places in the evidence', () => {
    const s = signals({ country: 'US' }, { utcOffsetMinutes: 480 }).TZ_RESTRICTED;
    expect(s).toMatchObject({ value: true, evidence: { claimSource: 'utcOffsetMinutes', offsetMinutes: 480, ipCountry: 'US' } });
    const evidence = s.value === true ? s.evidence : {};
    expect((evidence.restrictedPlaces as string[])[0]).toBe('CN');
    expect(evidence.restrictedShare).toBeCloseTo(strength(s), 3);
  });

  it('takes the strongest of several claims', () => {
    const weak = strength(signals({ country: 'US' }, { utcOffsetMinutes: 180 }).TZ_RESTRICTED);
    const both = strength(signals({ country: 'US' }, { utcOffsetMinutes: [180, 210] }).TZ_RESTRICTED);
    expect(weak).toBeLessThan(1);
    expect(both).toBe(1);
  });
});

describe('offsets, clocks and the edge instant', () => {
  it.each<[string, GeoFacts, ClientFacts, Want, number?]>([
    ['offset-only, plausible', { country: 'US' }, { utcOffsetMinutes: -300 }, { TZ_MISMATCH: false, TZ_INCONSISTENT: U, TZ_RESTRICTED: false, TZ_INVALID: false }],
    ['offset-only, UTC+8 from the US', { country: 'US' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: true }],
    ['offset-only, UTC+8 from Malaysia', { country: 'MY' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: false }],
    ['offset-only against the IP zone when the country is unknown', { country: 'T1', timezone: 'Europe/Berlin' }, { utcOffsetMinutes: 60 }, { TZ_MISMATCH: false }],
    ['offset-only, IP zone only, implausible', { timezone: 'Europe/Berlin' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: true }],
    ['offset-only, nothing to compare with', { country: 'T1' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: U }],
    ['consistent offset', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300 }, { TZ_INCONSISTENT: false }],
    ['inconsistent offset', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -240 }, { TZ_INCONSISTENT: true }],
    ['summer DST offset', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -240 }, { TZ_INCONSISTENT: false }, SUMMER],
    ['winter offset in summer', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300 }, { TZ_INCONSISTENT: true, TZ_MISMATCH: false }, SUMMER],
    ['clock in tolerance', { country: 'US' }, { clock: '2026-11-26T12:04:00Z' }, { CLOCK_SKEW: false, CLOCK_INVALID: false }],
    ['clock exactly at the tolerance', { country: 'US' }, { clock: '2026-11-26T12:05:00Z' }, { CLOCK_SKEW: false }],
    ['clock one second past the tolerance', { country: 'US' }, { clock: '2026-11-26T12:05:01Z' }, { CLOCK_SKEW: true }],
    ['clock ahead', { country: 'US' }, { clock: '2026-11-26T12:06:00Z' }, { CLOCK_SKEW: true }],
    ['clock behind', { country: 'US' }, { clock: '2026-11-26T11:00:00Z' }, { CLOCK_SKEW: true }],
    ['clock with an offset is an offset claim', { country: 'US' }, { timezone: 'America/New_York', clock: '2026-11-26T20:00:00+08:00' }, { CLOCK_SKEW: false, TZ_INCONSISTENT: true, TZ_MISMATCH: true, TZ_RESTRICTED: true }],
    ['clock with a matching offset', { country: 'US' }, { timezone: 'America/New_York', clock: '2026-11-26T07:00:00-05:00' }, { TZ_INCONSISTENT: false, TZ_MISMATCH: false }],
  ])('%s', (_name, geo, client, want, now) => {
    expect(values(signals(geo, client, now))).toMatchObject(want);
  });

  it('accepts an offset computed at a clock just across a DST change', () => {
    // 2026-03-08 07:00Z New York springs forward; a clock 3 minutes behind still says -300.
    const now = Date.parse('2026-03-08T07:02:00Z');
    const s = signals({ country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300, clock: '2026-03-08T06:59:00Z' }, now);
    expect(s.TZ_INCONSISTENT.value).toBe(false);
    expect(s.CLOCK_SKEW.value).toBe(false);
  });

  it('accepts it with the clock exactly at the tolerance', () => {
    const now = Date.parse('2026-03-08T07:04:00Z');
    const s = signals({ country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300, clock: '2026-03-08T06:59:00Z' }, now);
    expect(s.TZ_INCONSISTENT.value).toBe(false);
    expect(s.CLOCK_SKEW.value).toBe(false);
  });

  it('does not read a claim at a clock from another season (the evader sets the clock to July)', () => {
    const base = signals({ country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -240 });
    const withJulyClock = signals({ country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -240, clock: '2026-07-01T12:00:00Z' });
    expect(base.TZ_INCONSISTENT.value).toBe(true);
    expect(withJulyClock.TZ_INCONSISTENT.value).toBe(true);
    expect(withJulyClock.CLOCK_SKEW.value).toBe(true);
  });

  it('does not read a claim at a clock just past the tolerance either', () => {
    const now = Date.parse('2026-03-08T07:06:00Z');
    const s = signals({ country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300, clock: '2026-03-08T06:59:00Z' }, now);
    expect(s.TZ_INCONSISTENT.value).toBe(true);
  });
});

describe('malformed claims are evidence', () => {
  it.each<[string, ClientFacts, Want]>([
    ['offset out of range', { utcOffsetMinutes: 5000 }, { TZ_INVALID: true }],
    ['offset not on a quarter hour', { utcOffsetMinutes: 481 }, { TZ_INVALID: true }],
    ['fractional offset', { utcOffsetMinutes: 480.5 }, { TZ_INVALID: true }],
    ['offset header that is not a number', { utcOffsetMinutes: 'eight' }, { TZ_INVALID: true }],
    ['offset header with an integer', { utcOffsetMinutes: '-300' }, { TZ_INVALID: false, TZ_MISMATCH: false }],
    ['offset header with a sign and spaces', { utcOffsetMinutes: ' +480 ' }, { TZ_INVALID: false, TZ_MISMATCH: true }],
    ['offset header without a sign', { utcOffsetMinutes: '480' }, { TZ_INVALID: false, TZ_MISMATCH: true }],
    ['offset header in hex', { utcOffsetMinutes: '0x1e0' }, { TZ_INVALID: true, TZ_MISMATCH: U }],
    ['offset header with an exponent', { utcOffsetMinutes: '480e0' }, { TZ_INVALID: true, TZ_MISMATCH: U }],
    ['offset header with a fraction', { utcOffsetMinutes: '4.8e2' }, { TZ_INVALID: true, TZ_MISMATCH: U }],
    ['offset header with text before the number', { utcOffsetMinutes: 'UTC+480' }, { TZ_INVALID: true, TZ_MISMATCH: U }],
    ['a clock padded with spaces is still read, its offset too', { timezone: 'America/New_York', clock: ' 2026-11-26T20:00:00+08:00 ' }, { CLOCK_INVALID: false, CLOCK_SKEW: false, TZ_INCONSISTENT: true }],
    ['the most extreme real offsets', { utcOffsetMinutes: [-720, 840] }, { TZ_INVALID: false }],
    ['clock that is not ISO', { clock: 'yesterday' }, { CLOCK_INVALID: true, CLOCK_SKEW: U }],
    ['clock without a zone', { clock: '2026-11-26T12:00:00' }, { CLOCK_INVALID: true }],
    ['clock in another format Date.parse would take', { clock: 'Thu, 26 Nov 2026 12:00:00 GMT' }, { CLOCK_INVALID: true }],
    ['clock with an impossible date', { clock: '2026-13-45T12:00:00Z' }, { CLOCK_INVALID: true }],
    ['clock with an offset no place uses', { clock: '2026-11-26T12:00:00+13:37' }, { CLOCK_INVALID: false, TZ_INVALID: true }],
    ['a bad clock among good ones', { clock: ['2026-11-26T12:00:00Z', 'garbage'] }, { CLOCK_INVALID: true, CLOCK_SKEW: false }],
  ])('%s', (_name, client, want) => {
    expect(values(signals({ country: 'US' }, client))).toMatchObject(want);
  });

  it('bounds what evidence echoes', () => {
    const s = signals({ country: 'US' }, { timezone: `x${'a'.repeat(5000)}` }).TZ_INVALID;
    expect(s.value).toBe(true);
    expect(JSON.stringify(s).length).toBeLessThan(400);
  });
});

describe('each true signal says what it found', () => {
  it.each<[string, GeoFacts, ClientFacts, keyof TimezoneSignals, Signal]>([
    [
      'an invalid zone',
      { country: 'US' },
      { timezone: 'Mars/Olympus_Mons' },
      'TZ_INVALID',
      { value: true, message: 'The client\'s time zone "Mars/Olympus_Mons" is not an IANA zone.', evidence: { timezone: 'Mars/Olympus_Mons' } },
    ],
    [
      'an offset no place uses',
      { country: 'US' },
      { utcOffsetMinutes: 481 },
      'TZ_INVALID',
      { value: true, message: 'The client\'s UTC offset claim "481" (utcOffsetMinutes) is not an offset any place uses.', evidence: { claim: '481', claimSource: 'utcOffsetMinutes' } },
    ],
    [
      'a clock written at an offset no place uses',
      { country: 'US' },
      { clock: '2026-11-26T12:00:00+13:37' },
      'TZ_INVALID',
      {
        value: true,
        message: 'The client\'s UTC offset claim "2026-11-26T12:00:00+13:37" (clock) is not an offset any place uses.',
        evidence: { claim: '2026-11-26T12:00:00+13:37', claimSource: 'clock' },
      },
    ],
    [
      "a restricted region's zone",
      { country: 'DE' },
      { timezone: 'Europe/Simferopol' },
      'TZ_RESTRICTED',
      {
        value: true,
        message: 'The client\'s time zone Europe/Simferopol belongs to a restricted region, and the IP is outside it.',
        evidence: { timezone: 'Europe/Simferopol', canonical: 'Europe/Simferopol', zoneCountries: ['RU', 'UA'], zoneRegion: 'UA-43', ipCountry: 'DE' },
        strength: 1,
      },
    ],
    [
      "a restricted country's zone, without an IP country",
      { country: 'XX' },
      { timezone: 'PRC' },
      'TZ_RESTRICTED',
      {
        value: true,
        message: 'The client\'s time zone Asia/Shanghai belongs to a restricted country, and the IP is outside it.',
        evidence: { timezone: 'PRC', canonical: 'Asia/Shanghai', zoneCountries: ['CN'], ipCountry: null },
        strength: 1,
      },
    ],
    [
      'an offset only restricted places use',
      { country: 'US' },
      { utcOffsetMinutes: 210 },
      'TZ_RESTRICTED',
      {
        value: true,
        message: '100% of the people on the client\'s UTC offset 210 min (utcOffsetMinutes) live in restricted places (IR).',
        evidence: { claimSource: 'utcOffsetMinutes', offsetMinutes: 210, restrictedShare: 1, restrictedPlaces: ['IR'], ipCountry: 'US' },
        strength: 1,
      },
    ],
    [
      'the same offset written in the clock',
      { country: 'US' },
      { clock: '2026-11-26T15:30:00+03:30' },
      'TZ_RESTRICTED',
      {
        value: true,
        message: '100% of the people on the client\'s UTC offset 210 min (clock) live in restricted places (IR).',
        evidence: { claimSource: 'clock', offsetMinutes: 210, restrictedShare: 1, restrictedPlaces: ['IR'], ipCountry: 'US' },
        strength: 1,
      },
    ],
    [
      'an offset that contradicts the zone',
      { country: 'US' },
      { timezone: 'America/New_York', utcOffsetMinutes: -240 },
      'TZ_INCONSISTENT',
      {
        value: true,
        message: 'The client claims UTC offset -240 min (utcOffsetMinutes), but America/New_York is at -300 min.',
        evidence: { canonical: 'America/New_York', zoneOffsetMinutes: -300, claimedOffsetMinutes: -240, claimSource: 'utcOffsetMinutes' },
      },
    ],
    [
      'a clock whose offset contradicts the zone',
      { country: 'US' },
      { timezone: 'America/New_York', clock: '2026-11-26T20:00:00+08:00' },
      'TZ_INCONSISTENT',
      {
        value: true,
        message: 'The client claims UTC offset 480 min (clock), but America/New_York is at -300 min.',
        evidence: { canonical: 'America/New_York', zoneOffsetMinutes: -300, claimedOffsetMinutes: 480, claimSource: 'clock' },
      },
    ],
    [
      'two zones at different offsets',
      { country: 'US' },
      { timezone: ['America/New_York', 'Asia/Tokyo'] },
      'TZ_INCONSISTENT',
      {
        value: true,
        message: 'The client claims two time zones at different offsets: America/New_York (-300 min) and Asia/Tokyo (540 min).',
        evidence: { canonical: 'America/New_York', zoneOffsetMinutes: -300, otherCanonical: 'Asia/Tokyo', otherOffsetMinutes: 540 },
      },
    ],
    [
      'a zone not used where the IP is',
      { country: 'JP', timezone: 'Asia/Tokyo' },
      { timezone: 'US/Pacific' },
      'TZ_MISMATCH',
      {
        value: true,
        message: 'The client\'s time zone America/Los_Angeles (UTC offset -480 min) is not used where the IP is.',
        evidence: { ipCountry: 'JP', ipTimezone: 'Asia/Tokyo', plausibleOffsetsMinutes: [540], timezone: 'US/Pacific', canonical: 'America/Los_Angeles', clientOffsetMinutes: -480 },
      },
    ],
    [
      'an offset not used where the IP is (the plausible offsets in order)',
      { country: 'US' },
      { utcOffsetMinutes: 60 },
      'TZ_MISMATCH',
      {
        value: true,
        message: 'The client\'s UTC offset 60 min (utcOffsetMinutes) is not used where the IP is.',
        evidence: { ipCountry: 'US', ipTimezone: null, plausibleOffsetsMinutes: [-600, -540, -480, -420, -360, -300], clientOffsetMinutes: 60, claimSource: 'utcOffsetMinutes' },
      },
    ],
    [
      'a clock far from edge time',
      { country: 'US' },
      { clock: '2026-11-26T11:00:00Z' },
      'CLOCK_SKEW',
      {
        value: true,
        message: 'The client\'s clock is -3600 s off edge time (tolerance 300 s).',
        evidence: { clientClock: '2026-11-26T11:00:00Z', skewSeconds: -3600, toleranceSeconds: 300 },
      },
    ],
    [
      'a clock that is not an instant',
      { country: 'US' },
      { clock: 'yesterday' },
      'CLOCK_INVALID',
      { value: true, message: 'The client\'s clock "yesterday" is not an ISO-8601 instant.', evidence: { clientClock: 'yesterday' } },
    ],
  ])('%s', (_name, geo, client, name, want) => {
    expect(signals(geo, client)[name]).toEqual(want);
  });

  it('weighs a zone tied to no country by the share on its offset, and says how much', () => {
    const s = signals({ country: 'US' }, { timezone: 'Etc/GMT-8' }).TZ_RESTRICTED;
    if (s.value !== true) throw new Error('TZ_RESTRICTED should be true');
    const share = s.strength ?? 1;
    expect(share).toBeGreaterThan(0.5);
    expect(share).toBeLessThan(1);
    expect(s.message).toBe(
      `${Math.round(share * 1000) / 10}% of the people on the client's time zone Etc/GMT-8 (UTC offset 480 min) live in restricted places (${(s.evidence.restrictedPlaces as string[]).join(', ')}).`,
    );
    expect(s.evidence).toEqual({
      timezone: 'Etc/GMT-8',
      canonical: 'Etc/GMT-8',
      offsetMinutes: 480,
      restrictedShare: Math.round(share * 1000) / 1000,
      restrictedPlaces: expect.arrayContaining(['CN', 'HK', 'MO']) as string[],
      ipCountry: 'US',
    });
  });

  it.each<[string, number, string]>([
    // [name, length of the client's text, what evidence shows]
    ['shown whole up to 100 characters', 100, 'x'.repeat(100)],
    ['cut at 100 characters beyond', 101, `${'x'.repeat(100)}…`],
  ])("the client's text is %s", (_name, length, shown) => {
    const text = 'x'.repeat(length);
    expect(signals({ country: 'US' }, { timezone: text }).TZ_INVALID).toMatchObject({ evidence: { timezone: shown } });
    expect(signals({ country: 'US' }, { clock: text }).CLOCK_INVALID).toMatchObject({ evidence: { clientClock: shown } });
  });

  it('reports the first of equally strong claims', () => {
    const s = signals({ country: 'US' }, { timezone: ['Asia/Chongqing', 'PRC'] }).TZ_RESTRICTED;
    expect(s).toMatchObject({ value: true, evidence: { timezone: 'Asia/Chongqing' } });
  });
});

describe('repeated claims: each value counts, the most suspicious wins', () => {
  it.each<[string, ClientFacts, Want]>([
    ['the same restricted zone twice', { timezone: ['Asia/Shanghai', 'Asia/Shanghai'] }, { TZ_RESTRICTED: true, TZ_MISMATCH: true, TZ_INVALID: false }],
    ['a restricted zone after a plausible one', { timezone: ['America/New_York', 'Asia/Shanghai'] }, { TZ_RESTRICTED: true, TZ_MISMATCH: true, TZ_INCONSISTENT: true }],
    ['an invalid zone among valid ones', { timezone: ['America/New_York', 'Nowhere/Land'] }, { TZ_INVALID: true, TZ_RESTRICTED: false }],
    ['two zones at one offset are consistent', { timezone: ['America/New_York', 'America/Toronto'] }, { TZ_INCONSISTENT: false }],
    ['a second offset that contradicts the zone', { timezone: 'America/New_York', utcOffsetMinutes: [-300, 480] }, { TZ_INCONSISTENT: true, TZ_MISMATCH: true, TZ_RESTRICTED: true }],
    ['a second clock far off', { clock: ['2026-11-26T12:00:00Z', '2026-11-26T18:00:00Z'] }, { CLOCK_SKEW: true }],
  ])('%s', (_name, client, want) => {
    expect(values(signals({ country: 'US' }, client))).toMatchObject(want);
  });

  it('hides no restricted zone behind many unknown names (runtime lookups are budgeted, tzdata names are not)', () => {
    const junk = Array.from({ length: 40 }, (_, i) => `Nowhere/Place_${i}`);
    const s = signals({ country: 'US' }, { timezone: [...junk, 'Asia/Shanghai'] });
    expect(s.TZ_RESTRICTED.value).toBe(true);
    expect(s.TZ_INVALID.value).toBe(true);
  });
});

describe('zone names, whatever else the client sends', () => {
  it.each<[string, string[], SignalValue]>([
    // [name, client zones, TZ_MISMATCH for a US IP]
    ['after a repeated unknown name', [...Array<string>(9).fill('Nowhere/Land'), 'JST'], true],
    ['after many distinct unknown names', [...Array.from({ length: 40 }, (_, i) => `Nowhere/Place_${i}`), 'BET'], true],
  ])('a legacy ID counts %s', (_name, timezone, mismatch) => {
    const s = signals({ country: 'US' }, { timezone });
    expect(s.TZ_INVALID).toMatchObject({ value: true, evidence: { timezone: timezone[0] } });
    expect(s.TZ_MISMATCH.value).toBe(mismatch);
  });

  it('judges the same claims the same way whatever earlier requests asked', () => {
    const timezone = [...Array.from({ length: 8 }, (_, i) => `Nowhere/Before_${i}`), 'MIT'];
    const before = values(signals({ country: 'US' }, { timezone }));
    expect(signals({ country: 'US' }, { timezone: 'MIT' }).TZ_MISMATCH.value).toBe(true);
    expect(values(signals({ country: 'US' }, { timezone }))).toEqual(before);
    expect(before.TZ_MISMATCH).toBe(true);
  });

  it('an IP zone the runtime does not know adds no plausible offset', () => {
    const s = signals({ country: 'US', timezone: 'Mars/Olympus_Mons' }, { utcOffsetMinutes: -300 });
    expect(s.TZ_MISMATCH).toEqual({ value: false });
  });
});

describe('helpers', () => {
  it.each([
    ['2026-11-26T12:00:00Z', undefined],
    ['2026-11-26T20:00:00+08:00', 480],
    ['2026-11-26T06:30:00-05:30', -330],
    ['2026-11-26T12:00:00+00:00', 0],
    ['2026-11-26T17:45:00+0545', 345],
    ['2026-11-26T20:00:00+08', 480],
  ])('clockOffsetMinutes(%s) = %s', (clock, want) => {
    expect(clockOffsetMinutes(clock)).toBe(want);
  });

  it.each([
    [0, true],
    [-720, true],
    [840, true],
    [345, true],
    [-721, false],
    [-735, false],
    [855, false],
    [10, false],
    [Number.NaN, false],
  ])('isRealOffset(%s) = %s', (minutes, want) => {
    expect(isRealOffset(minutes)).toBe(want);
  });

  it('reads one claim or several', () => {
    expect(claimList(undefined)).toEqual([]);
    expect(claimList('a')).toEqual(['a']);
    expect(claimList(['a', 'b'])).toEqual(['a', 'b']);
  });
});
