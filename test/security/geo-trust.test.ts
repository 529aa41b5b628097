// Security review (docs/security.md): no header a client can send sets the user's location unless
// the deployment says it comes from a party it trusts. /v1/authorize reads the user's IP and geo
// from the Geogate-* headers the proxy sets, and Cloudflare's cf-* names only under
// TRUST_FORWARDED_CF_HEADERS = "true" (and only without any Geogate-* geo header); /v1/check reads
// the JSON body, and request.cf only under GEO_FROM_CF = "true". No X-Forwarded-For, X-Real-IP,
// True-Client-IP or Forwarded header is ever read. The basic cases are in
// test/integration/authorize.test.ts and check.test.ts ("whose facts"); this file sweeps every
// header name, in both directions (a header claiming a restricted place must not deny either:
// ignored means ignored).
import { beforeEach, describe, expect, it } from 'vitest';
import { CHECK_TOKEN, policyWith, resetPolicyState, storePolicy } from '../helpers';
import { call } from './helpers';

/** A policy that denies CN and the address block 198.51.100.0/24, and challenges unknown places. */
const POLICY = policyWith({
  version: 'sec-geo-1',
  rules: [
    { id: 'cn', type: 'country', action: 'deny', countries: ['CN'] },
    { id: 'bad-net', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] },
  ],
});

beforeEach(async () => {
  await resetPolicyState();
  await storePolicy(POLICY);
});

interface Decision {
  decision: string;
  geoSource: string;
  reasons: { code: string }[];
  score: number;
}

async function send(request: Request, overrides: Record<string, string> = {}): Promise<{ status: number; body: Decision }> {
  const res = await call(request, overrides);
  return { status: res.status, body: await res.json<Decision>() };
}

/** What a decision says about the user's place: comparable between two calls. */
const verdict = (d: { status: number; body: Decision }) => ({ status: d.status, decision: d.body.decision, geoSource: d.body.geoSource, reasons: d.body.reasons.map((r) => r.code), score: d.body.score });

const authorize = (headers: Record<string, string>, overrides: Record<string, string> = {}) =>
  send(new Request('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, ...headers } }), overrides);

const check = (body: unknown, headers: Record<string, string> = {}, overrides: Record<string, string> = {}, cf?: Record<string, unknown>) =>
  send(new Request('https://geogate.test/v1/check', { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), ...(cf ? { cf } : {}) }), overrides);

/** Headers a client (or a proxy in the middle) can add, each claiming a place or an address. */
const CLIENT_PLACE_HEADERS: [string, string, string][] = [
  // [header, a value placing the user in a denied place, a value placing them somewhere allowed]
  ['cf-ipcountry', 'CN', 'US'],
  ['cf-connecting-ip', '198.51.100.3', '203.0.113.9'],
  ['cf-connecting-ipv6', '2001:db8::1', '2001:db8::2'],
  ['cf-region', 'Beijing', 'California'],
  ['cf-region-code', 'BJ', 'CA'],
  ['cf-ipcity', 'Beijing', 'San Francisco'],
  ['cf-ipcontinent', 'AS', 'NA'],
  ['cf-iplatitude', '39.9', '37.7'],
  ['cf-iplongitude', '116.4', '-122.4'],
  ['cf-postal-code', '100000', '94105'],
  ['cf-timezone', 'Asia/Shanghai', 'America/Los_Angeles'],
  ['x-forwarded-for', '198.51.100.3', '203.0.113.9, 10.0.0.1'],
  ['x-real-ip', '198.51.100.3', '203.0.113.9'],
  ['true-client-ip', '198.51.100.3', '203.0.113.9'],
  ['x-client-ip', '198.51.100.3', '203.0.113.9'],
  ['forwarded', 'for=198.51.100.3', 'for=203.0.113.9'],
  ['x-country-code', 'CN', 'US'],
  ['x-geo-country', 'CN', 'US'],
];

describe('/v1/authorize: client headers do not set geo by default', () => {
  it.each(CLIENT_PLACE_HEADERS)('%s is ignored, whether it claims a denied or an allowed place', async (header, denied, allowed) => {
    // With no Geogate-* geo at all (the place is unknown: a challenge), and beside the proxy's.
    for (const base of [{}, { 'geogate-country': 'US', 'geogate-ip': '203.0.113.9' }] as Record<string, string>[]) {
      const baseline = verdict(await authorize(base));
      for (const value of [denied, allowed]) {
        expect(verdict(await authorize({ ...base, [header]: value })), `${header}: ${value} beside ${JSON.stringify(base)}`).toEqual(baseline);
      }
    }
  });

  it('under TRUST_FORWARDED_CF_HEADERS the cf-* names are read, the others still are not', async () => {
    const trust = { TRUST_FORWARDED_CF_HEADERS: 'true' };
    expect(verdict(await authorize({ 'cf-ipcountry': 'CN' }, trust))).toMatchObject({ status: 403, decision: 'deny' });
    expect(verdict(await authorize({ 'cf-connecting-ip': '198.51.100.3', 'cf-ipcountry': 'US' }, trust))).toMatchObject({ status: 403, reasons: ['IP_DENIED'] });
    const baseline = verdict(await authorize({ 'cf-ipcountry': 'US' }, trust));
    for (const [header, denied] of CLIENT_PLACE_HEADERS.filter(([h]) => !h.startsWith('cf-'))) {
      expect(verdict(await authorize({ 'cf-ipcountry': 'US', [header]: denied }, trust)), header).toEqual(baseline);
    }
  });

  it('under TRUST_FORWARDED_CF_HEADERS any Geogate-* geo header turns every cf-* name off', async () => {
    const trust = { TRUST_FORWARDED_CF_HEADERS: 'true' };
    for (const geogate of ['geogate-country', 'geogate-ip', 'geogate-timezone', 'geogate-city']) {
      const value = geogate === 'geogate-ip' ? '203.0.113.9' : geogate === 'geogate-timezone' ? 'America/New_York' : geogate === 'geogate-city' ? 'Boston' : 'US';
      const res = await authorize({ [geogate]: value, 'cf-ipcountry': 'CN', 'cf-connecting-ip': '198.51.100.3' }, trust);
      expect(res.body.reasons.map((r) => r.code), geogate).not.toContain('COUNTRY_DENIED');
      expect(res.body.reasons.map((r) => r.code), geogate).not.toContain('IP_DENIED');
    }
  });

  it('a setting other than "true" (a typo) trusts nothing', async () => {
    for (const value of ['TRUE', 'yes', '1', ' true']) {
      expect(verdict(await authorize({ 'cf-ipcountry': 'CN' }, { TRUST_FORWARDED_CF_HEADERS: value })), value).toEqual(verdict(await authorize({})));
    }
  });

  it('request.cf (whoever connected: the proxy) is never read, whatever the settings', async () => {
    const request = () => new Request('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}` }, cf: { country: 'CN', asn: 4134, timezone: 'Asia/Shanghai' } });
    const baseline = verdict(await authorize({}));
    for (const overrides of [{}, { GEO_FROM_CF: 'true' }, { TRUST_FORWARDED_CF_HEADERS: 'true' }, { GEO_FROM_CF: 'true', TRUST_FORWARDED_CF_HEADERS: 'true' }] as Record<string, string>[]) {
      expect(verdict(await send(request(), overrides)), JSON.stringify(overrides)).toEqual(baseline);
    }
  });
});

describe('/v1/check: geo comes from the body, and request.cf only under GEO_FROM_CF', () => {
  it.each(CLIENT_PLACE_HEADERS.filter(([h]) => h !== 'cf-connecting-ip'))('%s is ignored, with GEO_FROM_CF false or true', async (header, denied, allowed) => {
    for (const overrides of [{}, { GEO_FROM_CF: 'true' }] as Record<string, string>[]) {
      for (const body of [{}, { ip: '203.0.113.9', geo: { country: 'US' } }]) {
        const baseline = verdict(await check(body, {}, overrides));
        for (const value of [denied, allowed]) {
          expect(verdict(await check(body, { [header]: value }, overrides)), `${header}: ${value} ${JSON.stringify(overrides)}`).toEqual(baseline);
        }
      }
    }
  });

  it('CF-Connecting-IP (which Cloudflare overwrites on a deployed Worker) is read only under GEO_FROM_CF, and never over the body’s IP', async () => {
    expect(verdict(await check({ geo: { country: 'US' } }, { 'cf-connecting-ip': '198.51.100.3' }))).toMatchObject({ decision: 'allow' });
    expect(verdict(await check({ geo: { country: 'US' } }, { 'cf-connecting-ip': '198.51.100.3' }, { GEO_FROM_CF: 'true' }))).toMatchObject({ decision: 'deny', reasons: ['IP_DENIED'] });
    expect(verdict(await check({ ip: '203.0.113.9', geo: { country: 'US' } }, { 'cf-connecting-ip': '198.51.100.3' }, { GEO_FROM_CF: 'true' }))).toMatchObject({ decision: 'allow' });
  });

  it('request.cf is read only under GEO_FROM_CF = "true" exactly', async () => {
    const cf = { country: 'CN', asn: 4134 };
    for (const value of ['false', 'TRUE', '1', 'yes', '']) {
      expect(verdict(await check({}, {}, { GEO_FROM_CF: value }, cf)), value).toMatchObject({ geoSource: 'none' });
    }
    expect(verdict(await check({}, {}, { GEO_FROM_CF: 'true' }, cf))).toMatchObject({ decision: 'deny', geoSource: 'cf' });
  });
});
