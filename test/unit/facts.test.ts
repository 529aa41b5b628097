// The facts adapters: what callers may send, and how it becomes engine Facts.
import { describe, expect, it } from 'vitest';
import { geoFromCf } from '../../src/facts/cf';
import { CheckRequestSchema, factsFromCheckRequest, mergeGeo, parseCheckRequest, toInputIssues } from '../../src/facts/check-request';
import { checkRequestFromHeaders, headerForPath } from '../../src/facts/forward-headers';

function issues(body: unknown) {
  const r = parseCheckRequest(body);
  return r.success ? [] : toInputIssues(r.error);
}

describe('check request schema', () => {
  it('accepts an empty body', () => {
    expect(parseCheckRequest({}).success).toBe(true);
  });

  it('accepts a full body and normalises codes', () => {
    const r = CheckRequestSchema.parse({
      requestId: 'r-1',
      ip: '2001:db8::1',
      geo: { country: 'us', region: 'New York', regionCode: 'NY', city: 'NYC', continent: 'na', timezone: 'America/New_York', latitude: '40.7', longitude: -74, postalCode: '10001', asn: 7922, asOrganization: 'Comcast', colo: 'EWR' },
      client: { timezone: 'America/New_York', utcOffsetMinutes: -300, acceptLanguage: 'en-US', userAgent: 'Mozilla/5.0', clock: '2026-11-26T07:00:00-05:00' },
      account: { id: 'a', orgId: 'o', ownerCountry: 'us' },
      surface: 'WEB',
    });
    expect(r.geo).toMatchObject({ country: 'US', continent: 'NA', latitude: 40.7 });
    expect(r.account?.ownerCountry).toBe('US');
    expect(r.surface).toBe('web');
  });

  it('reads null as absent', () => {
    const r = parseCheckRequest({ ip: null, geo: { country: 'US', asn: null }, client: null });
    expect(r.success && r.data).toEqual({ geo: { country: 'US' } });
  });

  it('keeps an invalid client time zone for the engine to judge', () => {
    expect(issues({ client: { timezone: 'Mars/Olympus_Mons' } })).toEqual([]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['unknown top-level field', { colour: 'red' }, 'colour', /unknown field/],
    ['unknown nested field', { geo: { countryCode: 'US' } }, 'geo.countryCode', /unknown field/],
    ['garbage IP', { ip: '999.1.1.1' }, 'ip', /IPv4 or IPv6/],
    ['IP with a port', { ip: '1.2.3.4:443' }, 'ip', /IPv4 or IPv6/],
    ['IP of the wrong type', { ip: 1234 }, 'ip', /expected string/],
    ['bad country', { geo: { country: 'USA' } }, 'geo.country', /2-character country code/],
    ['invalid IP time zone', { geo: { timezone: 'Mars/Base' } }, 'geo.timezone', /IANA time zone/],
    ['latitude out of range', { geo: { latitude: 91 } }, 'geo.latitude', /too big|<=/],
    ['latitude not a number', { geo: { latitude: 'north' } }, 'geo.latitude', /decimal number|Invalid/],
    ['ASN as a string', { geo: { asn: '7922' } }, 'geo.asn', /expected int|expected number/],
    ['fractional offset', { client: { utcOffsetMinutes: 1.5 } }, 'client.utcOffsetMinutes', /expected int/],
    ['offset out of range', { client: { utcOffsetMinutes: 5000 } }, 'client.utcOffsetMinutes', /too big|<=/],
    ['clock not ISO', { client: { clock: 'yesterday' } }, 'client.clock', /ISO-8601/],
    ['clock without a zone', { client: { clock: '2026-11-26T12:00:00' } }, 'client.clock', /ISO-8601/],
    ['owner not ISO', { account: { ownerCountry: 'ZZ' } }, 'account.ownerCountry', /ISO 3166-1/],
    ['surface with spaces', { surface: 'web app' }, 'surface', /lower-case/],
    ['geo not an object', { geo: 'US' }, 'geo', /expected object/],
    ['body not an object', ['US'], '(body)', /expected object/],
    ['oversize user agent', { client: { userAgent: 'x'.repeat(5000) } }, 'client.userAgent', /at most 4096/],
  ])('rejects %s', (_name, body, path, message) => {
    const found = issues(body);
    expect(found.find((i) => i.path === path && message.test(i.message)), JSON.stringify(found)).toBeDefined();
  });

  it('reports every bad field at once', () => {
    expect(issues({ ip: 'x', geo: { country: 'USA' }, extra: 1 }).map((i) => i.path).sort()).toEqual(['extra', 'geo.country', 'ip']);
  });
});

describe('geo merge', () => {
  it('uses forwarded geo when it names a country', () => {
    expect(mergeGeo({ country: 'US', regionCode: 'NY' }, { country: 'CN', regionCode: '11', asn: 4134, colo: 'HKG' })).toEqual({
      geo: { country: 'US', regionCode: 'NY', asn: 4134, colo: 'HKG' },
      geoSource: 'forwarded',
    });
  });
  it('takes the whole place from cf when the forwarded geo has no country', () => {
    expect(mergeGeo({ asn: 7922, city: 'Nowhere' }, { country: 'UA', regionCode: '43', timezone: 'Europe/Simferopol', asn: 1 })).toEqual({
      geo: { country: 'UA', regionCode: '43', timezone: 'Europe/Simferopol', asn: 7922 },
      geoSource: 'cf',
    });
  });
  it('treats XX as no country', () => {
    expect(mergeGeo({ country: 'XX' }, { country: 'JP' }).geoSource).toBe('cf');
    expect(mergeGeo({ country: 'XX' }, undefined).geoSource).toBe('none');
  });
  it('says none without any country', () => {
    expect(mergeGeo(undefined, undefined)).toEqual({ geo: {}, geoSource: 'none' });
  });
});

describe('facts from a check request', () => {
  it('drops absent fields', () => {
    expect(factsFromCheckRequest(CheckRequestSchema.parse({ geo: { country: 'US' }, client: {} }))).toEqual({
      geo: { country: 'US' },
      geoSource: 'forwarded',
      client: {},
      account: {},
    });
  });
});

describe('request.cf adapter', () => {
  it('maps Cloudflare fields, converting strings to numbers', () => {
    expect(
      geoFromCf({ country: 'SG', regionCode: '01', city: 'Singapore', timezone: 'Asia/Singapore', latitude: '1.28967', longitude: '103.85007', asn: 4773, asOrganization: 'MobileOne', colo: 'SIN', tlsVersion: 'TLSv1.3' }),
    ).toEqual({ country: 'SG', regionCode: '01', city: 'Singapore', timezone: 'Asia/Singapore', latitude: 1.28967, longitude: 103.85007, asn: 4773, asOrganization: 'MobileOne', colo: 'SIN' });
  });
  it('drops empty and implausible values', () => {
    expect(geoFromCf({ country: '', timezone: 'Nowhere/Land', asn: -3, latitude: 'x' })).toEqual({});
  });
  it('is undefined without cf', () => {
    expect(geoFromCf(undefined)).toBeUndefined();
  });
});

describe('forwarded headers', () => {
  it('rebuilds a check request from headers', () => {
    const h = new Headers({
      'CF-Connecting-IP': '203.0.113.7',
      'cf-ipcountry': 'US',
      'cf-region-code': 'CA',
      'cf-iplatitude': '37.7',
      'cf-timezone': 'America/Los_Angeles',
      'Geogate-ASN': '7922',
      'Geogate-Client-Timezone': 'Asia/Shanghai',
      'Geogate-Client-UTC-Offset': '480',
      'Geogate-Client-Clock': '2026-11-26T20:00:00+08:00',
      'Accept-Language': 'zh-CN',
      'User-Agent': 'ua',
      'Geogate-Account-Id': 'a1',
      'Geogate-Org-Id': 'o1',
      'Geogate-Owner-Country': 'SG',
      'Geogate-Surface': 'web',
      'Geogate-Request-Id': 'req-1',
      'cf-ipcity': '',
    });
    expect(checkRequestFromHeaders(h)).toEqual({
      ip: '203.0.113.7',
      geo: { country: 'US', regionCode: 'CA', latitude: '37.7', timezone: 'America/Los_Angeles', asn: 7922 },
      client: { timezone: 'Asia/Shanghai', utcOffsetMinutes: 480, clock: '2026-11-26T20:00:00+08:00', acceptLanguage: 'zh-CN', userAgent: 'ua' },
      account: { id: 'a1', orgId: 'o1', ownerCountry: 'SG' },
      surface: 'web',
      requestId: 'req-1',
    });
  });

  it('leaves non-integers as text so validation names the header', () => {
    const body = checkRequestFromHeaders(new Headers({ 'Geogate-Client-UTC-Offset': '+8h' }));
    const r = parseCheckRequest(body);
    expect(r.success).toBe(false);
    if (!r.success) expect(toInputIssues(r.error, headerForPath)[0]?.path).toBe('geogate-client-utc-offset');
  });

  it('truncates an overlong User-Agent instead of refusing the user', () => {
    const body = checkRequestFromHeaders(new Headers({ 'User-Agent': 'x'.repeat(10_000) }));
    expect(parseCheckRequest(body).success).toBe(true);
  });
});
