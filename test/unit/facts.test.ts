// The facts adapters: what callers may send, and how it becomes engine Facts.
import { describe, expect, it } from 'vitest';
import { cfView, geoFromCf } from '../../src/facts/cf';
import { CheckRequestSchema, factsFromCheckRequest, ForwardedRequestSchema, mergeGeo, parseCheckRequest, toInputIssues } from '../../src/facts/check-request';
import { checkInputFromHeaders } from '../../src/facts/forward-headers';

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

  it.each<[string, unknown]>([
    ['an invalid zone', { timezone: 'Mars/Olympus_Mons' }],
    ['an impossible offset', { utcOffsetMinutes: 5000 }],
    ['a fractional offset', { utcOffsetMinutes: 1.5 }],
    ['a clock that is not ISO', { clock: 'yesterday' }],
    ['a clock without a zone', { clock: '2026-11-26T12:00:00' }],
    ['repeated claims', { timezone: ['Asia/Shanghai', 'Asia/Shanghai'], utcOffsetMinutes: [480, 480], clock: ['x', 'y'], acceptLanguage: ['zh-CN', 'en'] }],
    ['a very long user agent', { userAgent: 'x'.repeat(20_000) }],
    ['a very long Accept-Language', { acceptLanguage: 'en,'.repeat(10_000) + 'zh-CN' }],
  ])('keeps %s for the engine to judge (bad claims are evidence, not errors)', (_name, client) => {
    expect(issues({ client })).toEqual([]);
  });

  it('keeps a well-formed but unassigned IP country for the engine (it reads as unknown)', () => {
    expect(issues({ geo: { country: 'ZZ' } })).toEqual([]);
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
    ['offset of the wrong type', { client: { utcOffsetMinutes: '480' } }, 'client.utcOffsetMinutes', /expected number|Invalid input/],
    ['clock of the wrong type', { client: { clock: 1_700_000_000 } }, 'client.clock', /expected string|Invalid input/],
    ['zone list with a non-string', { client: { timezone: ['Asia/Shanghai', 8] } }, 'client.timezone', /Invalid input|expected string/],
    ['owner not ISO', { account: { ownerCountry: 'ZZ' } }, 'account.ownerCountry', /ISO 3166-1/],
    ['surface with spaces', { surface: 'web app' }, 'surface', /lower-case/],
    ['geo not an object', { geo: 'US' }, 'geo', /expected object/],
    ['body not an object', ['US'], '(body)', /expected object/],
    ['request id with a newline', { requestId: 'a\nb' }, 'requestId', /printable ASCII/],
    ['request id too long', { requestId: 'x'.repeat(129) }, 'requestId', /printable ASCII/],
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
  it.each(['XX', 'ZZ', 'A1', 'EU'])('treats %s as no country', (code) => {
    expect(mergeGeo({ country: code }, { country: 'JP' }).geoSource).toBe('cf');
    expect(mergeGeo({ country: code }, undefined).geoSource).toBe('none');
  });
  it('says none without any country', () => {
    expect(mergeGeo(undefined, undefined)).toEqual({ geo: {}, geoSource: 'none' });
  });
  it("takes Tor (T1) from the forwarded geo as a place, over cf's country", () => {
    expect(mergeGeo({ country: 'T1' }, { country: 'US', asn: 13335 })).toEqual({ geo: { country: 'T1', asn: 13335 }, geoSource: 'forwarded' });
  });
  it.each<[string, string | undefined, string | undefined, string | undefined]>([
    // [name, forwarded asOrganization, cf's, merged]
    ["the forwarded network's name first", 'Comcast', 'Cloudflare', 'Comcast'],
    ["cf's when the forwarded geo has none", undefined, 'Cloudflare', 'Cloudflare'],
    ['none from either', undefined, undefined, undefined],
  ])('fills the network field by field: %s', (_name, fwd, cf, want) => {
    const forwarded = { country: 'US', ...(fwd === undefined ? {} : { asOrganization: fwd }) };
    const cloudflare = { country: 'US', ...(cf === undefined ? {} : { asOrganization: cf }) };
    expect(mergeGeo(forwarded, cloudflare).geo.asOrganization).toBe(want);
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
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['a three-letter country', { country: 'USA' }, {}],
    ['a country with a prefix', { country: 'XUS' }, {}],
    ['a one-letter country', { country: 'U' }, {}],
    ['a country starting with a digit', { country: '1A' }, {}],
    ['a lower-case country, upper-cased', { country: 'sg' }, { country: 'SG' }],
    ['Tor', { country: 'T1' }, { country: 'T1' }],
    ['text fields that are not text', { city: 42, region: true, colo: {} }, {}],
    ['empty text fields', { city: '', region: '', postalCode: '' }, {}],
    ['coordinates that are not numbers', { latitude: true, longitude: '' }, {}],
    ['coordinates as numbers or numeric text', { latitude: 1.5, longitude: '-0.5' }, { latitude: 1.5, longitude: -0.5 }],
    ['a fractional ASN', { asn: 1.5 }, {}],
    ['a negative ASN', { asn: -1 }, {}],
    ['ASN 0', { asn: 0 }, { asn: 0 }],
    ['an ASN as text', { asn: '13335' }, { asn: 13335 }],
  ])('reads %s', (_name, cf, want) => {
    expect(geoFromCf(cf)).toEqual(want);
  });
  it("takes the connecting IP from CF-Connecting-IP when it is an address", () => {
    expect(cfView(new Request('https://geogate.test/', { headers: { 'cf-connecting-ip': '203.0.113.7' } }))).toEqual({ geo: undefined, ip: '203.0.113.7' });
    expect(cfView(new Request('https://geogate.test/', { headers: { 'cf-connecting-ip': 'unknown' } }))).toEqual({ geo: undefined });
    expect(cfView(new Request('https://geogate.test/'))).toEqual({ geo: undefined });
  });
});

describe('forwarded headers', () => {
  const NO_CF = { trustCfHeaders: false };

  it('reads the user from Geogate-* headers and client claims as they are', () => {
    const h = new Headers({
      'Geogate-IP': '203.0.113.7',
      'Geogate-Country': 'US',
      'Geogate-Region': 'California',
      'Geogate-Region-Code': 'CA',
      'Geogate-City': 'San Jose',
      'Geogate-Continent': 'NA',
      'Geogate-Timezone': 'America/Los_Angeles',
      'Geogate-Latitude': '37.7',
      'Geogate-Longitude': '-121.9',
      'Geogate-Postal-Code': '95110',
      'Geogate-ASN': '7922',
      'Geogate-AS-Organization': 'Comcast',
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
      'Geogate-City-Extra': 'ignored',
    });
    const input = checkInputFromHeaders(h, NO_CF);
    expect(input.request).toEqual({
      ip: '203.0.113.7',
      geo: { country: 'US', region: 'California', regionCode: 'CA', city: 'San Jose', continent: 'NA', timezone: 'America/Los_Angeles', latitude: '37.7', longitude: '-121.9', postalCode: '95110', asn: 7922, asOrganization: 'Comcast' },
      account: { id: 'a1', orgId: 'o1', ownerCountry: 'SG' },
      surface: 'web',
      requestId: 'req-1',
    });
    expect(input.client).toEqual({ timezone: 'Asia/Shanghai', utcOffsetMinutes: '480', clock: '2026-11-26T20:00:00+08:00', acceptLanguage: 'zh-CN', userAgent: 'ua' });
    expect(ForwardedRequestSchema.safeParse(input.request).success).toBe(true);
  });

  it('never reads cf-* or CF-Connecting-IP by default: they describe the proxy', () => {
    const input = checkInputFromHeaders(new Headers({ 'CF-Connecting-IP': '198.51.100.1', 'cf-ipcountry': 'US', 'cf-timezone': 'America/Chicago' }), NO_CF);
    expect(input.request).toEqual({});
  });

  it('reads cf-* under TRUST_FORWARDED_CF_HEADERS when no Geogate-* geo header is present', () => {
    const cf = new Headers({ 'CF-Connecting-IP': '198.51.100.1', 'cf-ipcountry': 'CN', 'cf-region-code': '11' });
    expect(checkInputFromHeaders(cf, { trustCfHeaders: true }).request).toEqual({ ip: '198.51.100.1', geo: { country: 'CN', regionCode: '11' } });
    cf.set('Geogate-Country', 'US');
    expect(checkInputFromHeaders(cf, { trustCfHeaders: true }).request).toEqual({ geo: { country: 'US' } });
  });

  it('splits repeated client headers into separate claims', () => {
    const h = new Headers();
    h.append('Geogate-Client-Timezone', 'Asia/Shanghai');
    h.append('Geogate-Client-Timezone', 'Asia/Shanghai');
    h.append('Geogate-Client-UTC-Offset', '480');
    h.append('Geogate-Client-UTC-Offset', 'garbage');
    h.append('Accept-Language', 'en-US');
    h.append('Accept-Language', 'zh-CN');
    expect(checkInputFromHeaders(h, NO_CF).client).toEqual({
      timezone: ['Asia/Shanghai', 'Asia/Shanghai'],
      utcOffsetMinutes: ['480', 'garbage'],
      acceptLanguage: 'en-US, zh-CN',
    });
  });

  it('names the header of a malformed origin-side value', () => {
    const input = checkInputFromHeaders(new Headers({ 'Geogate-IP': '1.2.3.999', 'Geogate-Country': 'US, CN' }), NO_CF);
    const r = ForwardedRequestSchema.safeParse(input.request);
    expect(r.success).toBe(false);
    if (!r.success) expect(toInputIssues(r.error, input.headerForPath).map((i) => i.path).sort()).toEqual(['geogate-country', 'geogate-ip']);
  });

  it('counts empty and blank headers as absent', () => {
    const input = checkInputFromHeaders(
      new Headers({ 'Geogate-Country': '  ', 'Geogate-IP': '', 'Geogate-Client-Timezone': ' ', 'Accept-Language': ' ', 'User-Agent': ' ' }),
      NO_CF,
    );
    expect(input.request).toEqual({});
    expect(input.client).toEqual({});
    expect(checkInputFromHeaders(new Headers(), NO_CF).client).toEqual({});
  });

  it('trims the Accept-Language and User-Agent it keeps', () => {
    expect(checkInputFromHeaders(new Headers({ 'Accept-Language': ' zh-CN ', 'User-Agent': ' curl/8.5.0 ' }), NO_CF).client).toEqual({ acceptLanguage: 'zh-CN', userAgent: 'curl/8.5.0' });
  });

  it.each<[string, unknown]>([
    // [Geogate-ASN, what validation then sees]: only an integer as written becomes a number.
    ['13335', 13335],
    ['+13335', 13335],
    ['-5', -5],
    ['AS13335', 'AS13335'],
    ['13335x', '13335x'],
    ['1.5', '1.5'],
  ])('reads Geogate-ASN %j as %j', (header, want) => {
    expect(checkInputFromHeaders(new Headers({ 'Geogate-ASN': header }), NO_CF).request).toEqual({ geo: { asn: want } });
  });

  it('truncates an overlong User-Agent instead of refusing the user', () => {
    expect(checkInputFromHeaders(new Headers({ 'User-Agent': 'x'.repeat(10_000) }), NO_CF).client.userAgent).toHaveLength(4096);
  });
});
