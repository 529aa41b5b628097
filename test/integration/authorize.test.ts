// ALL /v1/authorize: forward-auth as nginx, Caddy, Traefik and Envoy call it.
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { ACTIVE_POLICY_KEY } from '../../src/policy/keys';
import { activePolicyStore } from '../../src/policy/store';
import { ADMIN_TOKEN, CHECK_TOKEN, defaultDocument } from '../helpers';

function authorize(headers: Record<string, string>, init: { method?: string; token?: string | null } = {}) {
  const h: Record<string, string> = { ...headers };
  const token = init.token === undefined ? CHECK_TOKEN : init.token;
  if (token !== null) h.authorization = `Bearer ${token}`;
  return SELF.fetch('https://geogate.test/v1/authorize', { method: init.method ?? 'GET', headers: h });
}

beforeEach(async () => {
  await env.POLICY.delete(ACTIVE_POLICY_KEY);
  activePolicyStore.reset();
});

describe('/v1/authorize', () => {
  it.each<[string, Record<string, string>, number, string, string]>([
    ['allow -> 200', { 'cf-ipcountry': 'US', 'geogate-asn': '7922', 'geogate-client-timezone': 'America/New_York', 'accept-language': 'en-US' }, 200, 'allow', ''],
    ['deny -> 403', { 'cf-ipcountry': 'CN' }, 403, 'deny', 'COUNTRY_DENIED'],
    ['challenge -> 401', { 'cf-ipcountry': 'US', 'geogate-asn': '7922', 'geogate-client-timezone': 'Asia/Shanghai' }, 401, 'challenge', 'TZ_RESTRICTED,SCORE_CHALLENGE,TZ_MISMATCH'],
    ['no geo -> 401', {}, 401, 'challenge', 'GEO_MISSING'],
    ['owner -> 403', { 'cf-ipcountry': 'SG', 'geogate-owner-country': 'CN' }, 403, 'deny', 'OWNER_RESTRICTED'],
    ['region -> 403', { 'cf-ipcountry': 'UA', 'cf-region-code': '43' }, 403, 'deny', 'REGION_DENIED'],
  ])('%s', async (_name, headers, status, decision, reasons) => {
    const res = await authorize(headers);
    expect(res.status).toBe(status);
    expect(res.headers.get('geogate-decision')).toBe(decision);
    expect(res.headers.get('geogate-reasons')?.split(',').filter(Boolean).sort()).toEqual(reasons.split(',').filter(Boolean).sort());
    expect(res.headers.get('geogate-policy-version')).toBe(defaultDocument().version);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision, policySource: 'default' });
  });

  it('answers the same body as /v1/check', async () => {
    const res = await authorize({
      'cf-connecting-ip': '203.0.113.7',
      'cf-ipcountry': 'JP',
      'cf-timezone': 'Asia/Tokyo',
      'geogate-client-timezone': 'America/Los_Angeles',
      'geogate-client-utc-offset': '-480',
      'geogate-surface': 'web',
      'geogate-request-id': 'fwd-1',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      decision: 'allow',
      reasons: [{ code: 'TZ_MISMATCH', rule: 'score', action: 'allow' }],
      score: 20,
      requestId: 'fwd-1',
      geoSource: 'forwarded',
      signals: { TZ_MISMATCH: true, TZ_INCONSISTENT: false },
    });
    expect(res.headers.get('geogate-request-id')).toBe('fwd-1');
  });

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('accepts %s (proxies forward any method)', async (method) => {
    const res = await authorize({ 'cf-ipcountry': 'CN' }, { method });
    expect(res.status).toBe(403);
    expect(res.headers.get('geogate-decision')).toBe('deny');
  });

  it('answers sub-paths too (Envoy appends the original path)', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/authorize/shop/cart?item=1', {
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'cf-ipcountry': 'CN' },
    });
    expect(res.status).toBe(403);
  });

  it('ignores a request body', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/authorize', {
      method: 'POST',
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'cf-ipcountry': 'US', 'content-type': 'text/plain' },
      body: 'the user upload, not ours to read',
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['no token', null],
    ['the admin token', ADMIN_TOKEN],
  ])('refuses %s with 401 and no decision headers', async (_name, token) => {
    const res = await authorize({ 'cf-ipcountry': 'US' }, { token });
    expect(res.status).toBe(401);
    expect(res.headers.get('geogate-decision')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('400 naming the header of a malformed value', async () => {
    const res = await authorize({ 'cf-ipcountry': 'US', 'geogate-client-utc-offset': 'eight', 'cf-connecting-ip': '1.2.3.999' });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; issues: { path: string }[] } }>();
    expect(body.error.code).toBe('INVALID_REQUEST');
    expect(body.error.issues.map((i) => i.path).sort()).toEqual(['cf-connecting-ip', 'geogate-client-utc-offset']);
  });

  it('treats a garbled client time zone header as evidence, not an error', async () => {
    const res = await authorize({ 'cf-ipcountry': 'US', 'geogate-client-timezone': '../../etc/passwd' });
    expect(res.status).toBe(200);
    expect(res.headers.get('geogate-reasons')).toBe('TZ_INVALID');
  });

  it('ignores client-supplied headers it does not know', async () => {
    const res = await authorize({ 'cf-ipcountry': 'CN', 'x-geogate-decision': 'allow', 'geogate-decision': 'allow' });
    expect(res.status).toBe(403);
  });
});
