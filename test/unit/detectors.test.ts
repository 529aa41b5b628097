// Table-driven tests of each detector on its own.
import { describe, expect, it } from 'vitest';
import { RequestView, fullRegionCode } from '../../src/engine/detectors/geo';
import { detectLocale, parseAcceptLanguage, regionOfTag } from '../../src/engine/detectors/locale';
import { detectNetwork, NetworkSet } from '../../src/engine/detectors/network';
import { clockOffsetMinutes, detectTimezone, type TimezoneSignals } from '../../src/engine/detectors/timezone';
import type { ClientFacts, GeoFacts, SignalValue } from '../../src/engine/types';
import { facts, NOW } from '../helpers';

const SETTINGS = {
  restrictedCountries: new Set(['CN', 'HK', 'MO', 'RU', 'IR', 'KP', 'SY', 'CU']),
  restrictedRegions: new Set(['UA-43', 'UA-14', 'UA-09']),
  clockSkewToleranceMs: 300_000,
};
const SUMMER = Date.parse('2026-07-15T12:00:00Z');

function tz(geo: GeoFacts, client: ClientFacts, now = NOW): Record<keyof TimezoneSignals, SignalValue> {
  const s = detectTimezone(new RequestView(facts({ geo, client })), SETTINGS, now);
  return {
    TZ_INVALID: s.TZ_INVALID.value,
    TZ_RESTRICTED: s.TZ_RESTRICTED.value,
    TZ_INCONSISTENT: s.TZ_INCONSISTENT.value,
    TZ_MISMATCH: s.TZ_MISMATCH.value,
    CLOCK_SKEW: s.CLOCK_SKEW.value,
  };
}

describe('timezone detector', () => {
  const U = 'undetermined';
  it.each<[string, GeoFacts, ClientFacts, Partial<Record<keyof TimezoneSignals, SignalValue>>, number?]>([
    ['no client signals', { country: 'US' }, {}, { TZ_INVALID: U, TZ_RESTRICTED: U, TZ_INCONSISTENT: U, TZ_MISMATCH: U, CLOCK_SKEW: U }],
    ['home zone', { country: 'US' }, { timezone: 'America/New_York' }, { TZ_INVALID: false, TZ_RESTRICTED: false, TZ_MISMATCH: false }],
    ['restricted zone abroad', { country: 'US' }, { timezone: 'Asia/Shanghai' }, { TZ_RESTRICTED: true, TZ_MISMATCH: true }],
    ['restricted zone at home', { country: 'CN' }, { timezone: 'Asia/Shanghai' }, { TZ_RESTRICTED: false, TZ_MISMATCH: false }],
    ['alias PRC', { country: 'US' }, { timezone: 'PRC' }, { TZ_RESTRICTED: true }],
    ['alias Asia/Harbin', { country: 'JP' }, { timezone: 'Asia/Harbin' }, { TZ_RESTRICTED: true, TZ_MISMATCH: true }],
    ['Urumqi', { country: 'DE' }, { timezone: 'Asia/Urumqi' }, { TZ_RESTRICTED: true }],
    ['Taipei is not China', { country: 'US' }, { timezone: 'Asia/Taipei' }, { TZ_RESTRICTED: false, TZ_MISMATCH: true }],
    ['case-insensitive', { country: 'US' }, { timezone: 'ASIA/SHANGHAI' }, { TZ_INVALID: false, TZ_RESTRICTED: true }],
    ['shared zone: Singapore (MY, SG) is not restricted', { country: 'US' }, { timezone: 'Asia/Singapore' }, { TZ_RESTRICTED: false }],
    ['Crimea zone from Kyiv region', { country: 'UA', regionCode: '30' }, { timezone: 'Europe/Simferopol' }, { TZ_RESTRICTED: true }],
    ['Crimea zone from Crimea', { country: 'UA', regionCode: '43' }, { timezone: 'Europe/Simferopol' }, { TZ_RESTRICTED: false }],
    ['restricted zone, no IP country', {}, { timezone: 'Asia/Shanghai' }, { TZ_RESTRICTED: true, TZ_MISMATCH: U }],
    ['invalid zone', { country: 'US' }, { timezone: 'Mars/Olympus_Mons' }, { TZ_INVALID: true, TZ_RESTRICTED: U, TZ_MISMATCH: U }],
    ['offset-like zone name is invalid', { country: 'US' }, { timezone: '+08:00' }, { TZ_INVALID: true }],
    ['Etc zone with a plausible offset', { country: 'US' }, { timezone: 'Etc/GMT+5' }, { TZ_INVALID: false, TZ_RESTRICTED: false, TZ_MISMATCH: false }],
    ['Etc zone with an implausible offset', { country: 'US' }, { timezone: 'Etc/GMT-8' }, { TZ_RESTRICTED: false, TZ_MISMATCH: true }],
    ['offset-only, plausible', { country: 'US' }, { utcOffsetMinutes: -300 }, { TZ_MISMATCH: false, TZ_INCONSISTENT: U, TZ_RESTRICTED: U }],
    ['offset-only, UTC+8 from the US', { country: 'US' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: true, TZ_RESTRICTED: U }],
    ['offset-only, UTC+8 from Malaysia', { country: 'MY' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: false }],
    ['offset-only against the IP zone when the country is unknown', { country: 'T1', timezone: 'Europe/Berlin' }, { utcOffsetMinutes: 60 }, { TZ_MISMATCH: false }],
    ['offset-only, IP zone only, implausible', { timezone: 'Europe/Berlin' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: true }],
    ['offset-only, nothing to compare with', { country: 'T1' }, { utcOffsetMinutes: 480 }, { TZ_MISMATCH: U }],
    ['consistent offset', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300 }, { TZ_INCONSISTENT: false }],
    ['inconsistent offset', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -240 }, { TZ_INCONSISTENT: true }],
    ['summer DST offset', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -240 }, { TZ_INCONSISTENT: false }, SUMMER],
    ['winter offset in summer', { country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300 }, { TZ_INCONSISTENT: true, TZ_MISMATCH: false }, SUMMER],
    ['traveller: zone not from here', { country: 'JP' }, { timezone: 'America/Los_Angeles', utcOffsetMinutes: -480 }, { TZ_MISMATCH: true, TZ_INCONSISTENT: false }],
    ['neighbour zone with the same offset', { country: 'DE' }, { timezone: 'Europe/Paris' }, { TZ_MISMATCH: false }],
    ['clock in tolerance', { country: 'US' }, { clock: '2026-11-26T12:04:00Z' }, { CLOCK_SKEW: false }],
    ['clock ahead', { country: 'US' }, { clock: '2026-11-26T12:06:00Z' }, { CLOCK_SKEW: true }],
    ['clock behind', { country: 'US' }, { clock: '2026-11-26T11:00:00Z' }, { CLOCK_SKEW: true }],
    ['clock with an offset is an offset claim', { country: 'US' }, { timezone: 'America/New_York', clock: '2026-11-26T20:00:00+08:00' }, { CLOCK_SKEW: false, TZ_INCONSISTENT: true, TZ_MISMATCH: true }],
    ['clock with a matching offset', { country: 'US' }, { timezone: 'America/New_York', clock: '2026-11-26T07:00:00-05:00' }, { TZ_INCONSISTENT: false, TZ_MISMATCH: false }],
  ])('%s', (_name, geo, client, want, now) => {
    expect(tz(geo, client, now)).toMatchObject(want);
  });

  it('judges the offset at the client clock across a DST change', () => {
    // 2026-03-08 07:00Z New York springs forward. A client whose clock is still before it says -300.
    const now = Date.parse('2026-03-08T07:02:00Z');
    const s = tz({ country: 'US' }, { timezone: 'America/New_York', utcOffsetMinutes: -300, clock: '2026-03-08T06:59:00Z' }, now);
    expect(s.TZ_INCONSISTENT).toBe(false);
  });

  it('explains a restricted zone', () => {
    const s = detectTimezone(new RequestView(facts({ client: { timezone: 'Asia/Chongqing' } })), SETTINGS, NOW);
    expect(s.TZ_RESTRICTED).toEqual({
      value: true,
      message: expect.stringContaining('Asia/Shanghai') as string,
      evidence: { timezone: 'Asia/Chongqing', canonical: 'Asia/Shanghai', zoneCountries: ['CN'], ipCountry: 'US' },
    });
  });

  it.each([
    ['2026-11-26T12:00:00Z', undefined],
    ['2026-11-26T20:00:00+08:00', 480],
    ['2026-11-26T06:30:00-05:30', -330],
    ['2026-11-26T12:00:00+00:00', 0],
    ['2026-11-26T17:45:00+0545', 345],
  ])('clockOffsetMinutes(%s) = %s', (clock, want) => {
    expect(clockOffsetMinutes(clock)).toBe(want);
  });
});

describe('locale detector', () => {
  const restricted = new Set(['CN', 'RU', 'IR', 'HK']);
  it.each([
    ['zh-CN', true],
    ['zh-Hans-CN', true],
    ['zh_CN', true],
    ['en-US,en;q=0.9,zh-CN;q=0.8', true],
    ['en-US,zh-CN;q=0', false],
    ['zh', false],
    ['zh-Hans', false],
    ['zh-TW,zh;q=0.9', false],
    ['fa-IR', true],
    ['ru-UA', false],
    ['en-HK', true],
    ['*', false],
    ['', false],
    [';;;,,,=', false],
    ['es-419', false],
  ])('%j -> %s', (header, want) => {
    expect(detectLocale(header, restricted).value).toBe(want);
  });

  it('is undetermined without a header', () => {
    expect(detectLocale(undefined, restricted).value).toBe('undetermined');
  });

  it('reports the tag and the country', () => {
    expect(detectLocale('en-GB, zh-CN;q=0.5', restricted)).toMatchObject({ value: true, evidence: { tag: 'zh-CN', country: 'CN' } });
  });

  it('reads at most 32 tags', () => {
    const header = [...Array.from({ length: 40 }, () => 'en-US'), 'zh-CN'].join(',');
    expect(detectLocale(header, restricted).value).toBe(false);
  });

  it.each([
    ['sr-Latn-RS', 'RS'],
    ['en', undefined],
    ['en-gb', 'GB'],
  ])('regionOfTag(%s) = %s', (tag, want) => {
    expect(regionOfTag(tag)).toBe(want);
  });

  it('parses qualities and skips malformed entries', () => {
    expect(parseAcceptLanguage('en-US;q=0.8, fr;q=0, de-DE, !!, ja;q=abc')).toEqual(['en-US', 'de-DE']);
  });
});

describe('network detector', () => {
  const vpn = new NetworkSet({ lists: ['x4b-vpn'], asns: [64500], cidrs: ['192.0.2.0/24', '2001:db8::/32'] });
  it.each<[string, Partial<{ asn: number; ip: string }>, SignalValue]>([
    ['listed ASN', { asn: 209854 }, true],
    ['inline ASN', { asn: 64500 }, true],
    ['ISP ASN', { asn: 7922 }, false],
    ['listed CIDR', { ip: '192.0.2.9' }, true],
    ['listed IPv6 CIDR', { ip: '2001:db8::9' }, true],
    ['mapped IPv6 in a v4 CIDR', { ip: '::ffff:192.0.2.9' }, true],
    ['unlisted IP, no ASN', { ip: '198.51.100.1' }, false],
    ['nothing known', {}, 'undetermined'],
  ])('%s', (_name, { asn, ip }, want) => {
    const f = facts({ geo: { country: 'US', ...(asn !== undefined ? { asn } : {}) }, ...(ip ? { ip } : {}) });
    expect(detectNetwork(new RequestView(f), vpn, 'VPN').value).toBe(want);
  });

  it('is undetermined when the policy lists nothing', () => {
    expect(detectNetwork(new RequestView(facts()), new NetworkSet({}), 'VPN').value).toBe('undetermined');
  });

  it('names the list an ASN came from', () => {
    const s = detectNetwork(new RequestView(facts({ geo: { country: 'US', asn: 9009 } })), vpn, 'VPN');
    expect(s).toMatchObject({ value: true, evidence: { asn: 9009, source: 'x4b-vpn' } });
  });
});

describe('geo facts', () => {
  it.each([
    ['UA', '43', 'UA-43'],
    ['UA', 'ua-43', 'UA-43'],
    ['UA', 'RU-43', undefined],
    [undefined, '43', undefined],
    ['US', undefined, undefined],
  ])('fullRegionCode(%s, %s) = %s', (country, code, want) => {
    expect(fullRegionCode(country, code)).toBe(want);
  });

  it('treats XX as an unknown country', () => {
    expect(new RequestView(facts({ geo: { country: 'XX' } })).country).toBeUndefined();
  });
});
