// ALL /v1/authorize: forward-auth as nginx, Caddy, Traefik and Envoy call it. Promise 3: it judges
// the END USER (Geogate-* headers the proxy sets, never the proxy's own cf-* view), and only a
// decision ever answers 2xx.
import { createExecutionContext, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { ADMIN_TOKEN, CHECK_TOKEN, defaultDocument, policyWith, resetPolicyState, storePolicy } from '../helpers';

function authorize(headers: HeadersInit, init: { method?: string; token?: string | null; path?: string } = {}) {
  const h = new Headers(headers);
  const token = init.token === undefined ? CHECK_TOKEN : init.token;
  if (token !== null) h.set('authorization', `Bearer ${token}`);
  // The whole decision body, so that tests can read its evidence (the lean body has its own tests).
  if (!h.has('geogate-response')) h.set('geogate-response', 'full');
  return SELF.fetch(`https://geogate.test${init.path ?? '/v1/authorize'}`, { method: init.method ?? 'GET', headers: h });
}

/** Calls the Worker with overridden vars (e.g. TRUST_FORWARDED_CF_HEADERS). */
async function authorizeWith(overrides: Partial<Env>, headers: Record<string, string>, cf?: Record<string, unknown>) {
  const request = new Request('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', ...headers }, ...(cf ? { cf } : {}) });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const reasonsOf = (res: Response) => (res.headers.get('geogate-reasons') ?? '').split(',').filter(Boolean).sort();

beforeEach(resetPolicyState);

describe('/v1/authorize decisions', () => {
  it.each<[string, Record<string, string>, number, string, string[]]>([
    ['allow -> 200', { 'geogate-country': 'US', 'geogate-asn': '7922', 'geogate-client-timezone': 'America/New_York', 'accept-language': 'en-US' }, 200, 'allow', []],
    ['deny -> 403', { 'geogate-country': 'CN' }, 403, 'deny', ['COUNTRY_DENIED']],
    ['challenge -> 401', { 'geogate-country': 'US', 'geogate-asn': '7922', 'geogate-client-timezone': 'Asia/Shanghai' }, 401, 'challenge', ['SCORE_CHALLENGE', 'TZ_MISMATCH', 'TZ_RESTRICTED']],
    ['no geo -> 401', {}, 401, 'challenge', ['GEO_MISSING']],
    ['owner -> 403', { 'geogate-country': 'SG', 'geogate-owner-country': 'CN' }, 403, 'deny', ['OWNER_RESTRICTED']],
    ['region -> 403', { 'geogate-country': 'UA', 'geogate-region-code': '43' }, 403, 'deny', ['REGION_DENIED']],
    ['Sevastopol -> 403', { 'geogate-country': 'UA', 'geogate-region-code': 'UA-40' }, 403, 'deny', ['REGION_DENIED']],
    ['unassigned country reads as unknown -> 401', { 'geogate-country': 'ZZ' }, 401, 'challenge', ['GEO_MISSING']],
  ])('%s', async (_name, headers, status, decision, reasons) => {
    const res = await authorize(headers);
    expect(res.status).toBe(status);
    expect(res.headers.get('geogate-decision')).toBe(decision);
    expect(reasonsOf(res)).toEqual(reasons);
    expect(res.headers.get('geogate-policy-version')).toBe(defaultDocument().version);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('geogate-failed')).toBeNull();
    expect(await res.json()).toMatchObject({ decision, failed: false, policySource: 'default' });
  });

  it('reads every Geogate-* geo header', async () => {
    const res = await authorize({
      'geogate-ip': '203.0.113.7',
      'geogate-country': 'JP',
      'geogate-region': 'Tokyo',
      'geogate-region-code': '13',
      'geogate-city': 'Tokyo',
      'geogate-continent': 'AS',
      'geogate-timezone': 'Asia/Tokyo',
      'geogate-latitude': '35.68',
      'geogate-longitude': '139.69',
      'geogate-postal-code': '100-0001',
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
    const res = await authorize({ 'geogate-country': 'CN' }, { method });
    expect(res.status).toBe(403);
    expect(res.headers.get('geogate-decision')).toBe('deny');
  });

  it('answers sub-paths too (Envoy appends the original path)', async () => {
    expect((await authorize({ 'geogate-country': 'CN' }, { path: '/v1/authorize/shop/cart?item=1' })).status).toBe(403);
  });

  it('ignores a request body', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/authorize', {
      method: 'POST',
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-country': 'US', 'content-type': 'text/plain' },
      body: 'the user upload, not ours to read',
    });
    expect(res.status).toBe(200);
  });

  it('ignores client-supplied headers it does not know', async () => {
    const res = await authorize({ 'geogate-country': 'CN', 'x-geogate-decision': 'allow', 'geogate-decision': 'allow' });
    expect(res.status).toBe(403);
  });
});

describe('the lean body (proxies discard it; Caddy hands it to the user)', () => {
  const LEAN_KEYS = ['challenge', 'decision', 'failed', 'policyVersion', 'reasons', 'requestId', 'score', 'summary'];
  it.each([
    ['allow', { 'geogate-country': 'US', 'geogate-ip': '198.51.100.7' }, 200],
    ['challenge', { 'geogate-country': 'T1', 'geogate-ip': '198.51.100.7' }, 401],
    ['deny', { 'geogate-country': 'KP', 'geogate-ip': '198.51.100.7' }, 403],
  ] as const)('%s: the decision, its reasons without messages or evidence, and the challenge; the full body on request is the same decision', async (decision, headers, status) => {
    const lean = await authorize({ ...headers, 'geogate-request-id': `lean-${decision}`, 'geogate-response': 'lean' });
    const full = await authorize({ ...headers, 'geogate-request-id': `lean-${decision}`, 'geogate-response': ' FULL ' });
    expect([lean.status, full.status]).toEqual([status, status]);
    const l = await lean.json<Record<string, unknown> & { reasons: Record<string, unknown>[]; challenge?: Record<string, unknown> }>();
    const f = await full.json<Record<string, unknown> & { reasons: Record<string, unknown>[]; challenge?: Record<string, unknown> }>();
    expect(l.decision).toBe(decision);
    expect(Object.keys(l).every((k) => LEAN_KEYS.includes(k))).toBe(true);
    for (const k of ['decision', 'score', 'failed', 'policyVersion', 'requestId']) expect(l[k]).toEqual(f[k]);
    // The lean summary names the codes that stand; the full one quotes the decisive reason's message.
    const standing = [...new Set(f.reasons.filter((r) => r.liftedBy === undefined).map((r) => r.code as string))];
    expect(l.summary).toBe(standing.length > 0 ? `${String(f.summary).split(':')[0]}: ${standing.join(', ')}.` : `${String(f.summary).split(':')[0]}.`);
    expect(l.reasons).toEqual(f.reasons.map((r) => ({ code: r.code, rule: r.rule, action: r.action, ...(r.liftedBy !== undefined ? { liftedBy: r.liftedBy } : {}) })));
    expect(l.reasons.every((r) => !('evidence' in r) && !('message' in r))).toBe(true);
    expect({ ...l.challenge, ticket: undefined }).toEqual({ ...f.challenge, ticket: undefined });
    if (decision === 'challenge') expect(l.challenge?.ticket).toEqual(expect.any(String));
    // Headers are the same either way: the body never changes what a proxy acts on.
    for (const h of ['geogate-decision', 'geogate-reasons', 'geogate-policy-version']) expect(lean.headers.get(h)).toBe(full.headers.get(h));
    expect(JSON.stringify(l).length).toBeLessThan(JSON.stringify(f).length);
  });
});

describe('whose facts: the end user, never the proxy that connects', () => {
  it('ignores CF-Connecting-IP and cf-* visitor headers by default (they describe the proxy)', async () => {
    await storePolicy(policyWith({ rules: [{ id: 'bad-ip', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] }] }));
    const res = await authorize({ 'cf-connecting-ip': '198.51.100.3', 'cf-ipcountry': 'US', 'geogate-ip': '203.0.113.9', 'geogate-country': 'US' });
    expect(res.status).toBe(200);
    const cfOnly = await authorize({ 'cf-ipcountry': 'US' });
    expect(await cfOnly.json()).toMatchObject({ decision: 'challenge', geoSource: 'none' });
  });

  it('never reads request.cf on forward-auth, even under GEO_FROM_CF', async () => {
    const res = await authorizeWith({ GEO_FROM_CF: 'true' }, {}, { country: 'US', asn: 7922 });
    expect(await res.json()).toMatchObject({ decision: 'challenge', geoSource: 'none' });
  });

  it('falls back to cf-* only under TRUST_FORWARDED_CF_HEADERS and only without Geogate-* geo', async () => {
    const trusted = await authorizeWith({ TRUST_FORWARDED_CF_HEADERS: 'true' }, { 'cf-ipcountry': 'CN' });
    expect(trusted.status).toBe(403);
    const overridden = await authorizeWith({ TRUST_FORWARDED_CF_HEADERS: 'true' }, { 'cf-ipcountry': 'CN', 'geogate-country': 'US' });
    expect(overridden.status).toBe(200);
  });

  it('names in Geogate-Reasons only the reasons that stand, never one an allow-exception lifted', async () => {
    await storePolicy(policyWith({ rules: [{ id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] }, { id: 'hq', type: 'cidr', action: 'allow', cidrs: ['203.0.113.0/24'] }] }));
    const res = await authorize({ 'geogate-country': 'T1', 'geogate-ip': '203.0.113.7' });
    expect(res.status).toBe(200);
    expect(reasonsOf(res)).toEqual(['IP_ALLOWED']);
    const body = await res.json<{ reasons: { code: string; liftedBy?: string }[] }>();
    expect(body.reasons.map((r) => [r.code, r.liftedBy])).toEqual([
      ['IP_ALLOWED', undefined],
      ['TOR', 'hq'],
    ]);
  });

  it('an org allow-exception matches only the exact org id (the header is the proxy\'s to set and clear)', async () => {
    // geogate cannot tell a forged Geogate-Org-Id from the proxy's own: the examples in
    // docs/integrations.md clear every client-sent Geogate-* header. What geogate owns is that a
    // look-alike id never matches.
    await storePolicy(policyWith({ rules: [{ id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] }, { id: 'partner', type: 'account', action: 'allow', orgs: ['org-partner'] }] }));
    expect((await authorize({ 'geogate-country': 'T1', 'geogate-org-id': 'ORG-PARTNER' })).status).toBe(401);
    expect((await authorize({ 'geogate-country': 'T1', 'geogate-org-id': 'org-partner ' })).status).toBe(200);
  });
});

describe('client claims in headers are evidence', () => {
  it('a garbled time zone header is TZ_INVALID, not an error', async () => {
    const res = await authorize({ 'geogate-country': 'US', 'geogate-client-timezone': '../../etc/passwd' });
    expect(res.status).toBe(200);
    expect(reasonsOf(res)).toEqual(['TZ_INVALID']);
  });

  it.each([
    ['an unparseable offset', { 'geogate-client-utc-offset': 'eight' }, 'TZ_INVALID'],
    ['an offset no place uses', { 'geogate-client-utc-offset': '481' }, 'TZ_INVALID'],
    ['an unparseable clock', { 'geogate-client-clock': 'yesterday' }, 'CLOCK_INVALID'],
  ])('%s is evidence, and the request is decided (never 400 or 500)', async (_name, headers, code) => {
    const res = await authorize({ 'geogate-country': 'US', ...headers });
    expect([200, 401, 403]).toContain(res.status);
    expect(reasonsOf(res)).toContain(code);
  });

  it('a repeated zone header is two claims, not one invalid value', async () => {
    const headers = new Headers({ 'geogate-country': 'US', 'geogate-asn': '7922' });
    headers.append('geogate-client-timezone', 'Asia/Shanghai');
    headers.append('geogate-client-timezone', 'Asia/Shanghai');
    const once = await authorize({ 'geogate-country': 'US', 'geogate-asn': '7922', 'geogate-client-timezone': 'Asia/Shanghai' });
    const twice = await authorize(headers);
    expect(twice.status).toBe(once.status);
    expect(reasonsOf(twice)).toEqual(reasonsOf(once));
    expect(reasonsOf(twice)).toContain('TZ_RESTRICTED');
    expect(reasonsOf(twice)).not.toContain('TZ_INVALID');
  });

  it('a plausible zone repeated before a restricted one still counts the restricted one', async () => {
    const headers = new Headers({ 'geogate-country': 'US' });
    headers.append('geogate-client-timezone', 'America/New_York');
    headers.append('geogate-client-timezone', 'Asia/Shanghai');
    expect(reasonsOf(await authorize(headers))).toContain('TZ_RESTRICTED');
  });

  it('400 naming the header of a malformed ORIGIN-side value', async () => {
    const res = await authorize({ 'geogate-country': 'US, CN', 'geogate-ip': '1.2.3.999' });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; issues: { path: string }[] } }>();
    expect(body.error.code).toBe('INVALID_REQUEST');
    expect(body.error.issues.map((i) => i.path).sort()).toEqual(['geogate-country', 'geogate-ip']);
  });
});

describe('auth and configuration failures are errors, never a challenge', () => {
  it.each([
    ['no token', null],
    ['a rotated (old) token', 'old-check-token-0123456789'],
    ['the admin token', ADMIN_TOKEN],
  ])('refuses %s with 500 and no decision headers', async (_name, token) => {
    const res = await authorize({ 'geogate-country': 'US' }, { token });
    expect(res.status).toBe(500);
    expect(res.headers.get('geogate-decision')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('accepts a lower-case bearer scheme', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { authorization: `bearer ${CHECK_TOKEN}`, 'geogate-country': 'US' } });
    expect(res.status).toBe(200);
  });

  it('accepts the token in Geogate-Token (for proxies that must keep the user Authorization)', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/authorize', {
      headers: { 'geogate-token': CHECK_TOKEN, authorization: 'Bearer sk-the-users-own-api-key', 'geogate-country': 'US' },
    });
    expect(res.status).toBe(200);
    const wrong = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { 'geogate-token': 'nope', authorization: `Bearer ${CHECK_TOKEN}` } });
    expect(wrong.status).toBe(500);
    // A proxy that clears the client's copy sends it empty: Authorization is judged then.
    const cleared = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { 'geogate-token': '', authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', 'geogate-country': 'US' } });
    expect(cleared.status).toBe(200);
  });

  it('answers 503 when the check token is not configured', async () => {
    const res = await authorizeWith({ CHECK_TOKEN: '' }, { 'geogate-country': 'US' });
    expect(res.status).toBe(503);
    expect(res.headers.get('geogate-decision')).toBeNull();
  });
});

describe('only a decision says 2xx: path tricks never reach another route', () => {
  const TRICKS = [
    '/v1/authorize/%2e%2e/%2e%2e/healthz',
    '/v1/authorize/%2E%2E/%2E%2E/healthz',
    '/v1/authorize/.%2e/.%2e/healthz',
    '/v1/authorize/%2e./%2e./healthz',
    '/v1/authorize/../../healthz',
    '/v1/authorize/..\\..\\healthz',
    '/v1/authorize/..%5c..%5chealthz',
    '/v1/authorize/..%2f..%2fhealthz',
    '/v1/authorize/%252e%252e/%252e%252e/healthz',
    '/v1/authorize/./../../healthz',
    '/v1/authorize//../../healthz',
    '/v1/authorize/%2e%2e/check',
    '/v1/authorize/../check',
    '/v1/authorize/..;/..;/healthz',
    '/v1/authorize/%c0%ae%c0%ae/%c0%ae%c0%ae/healthz',
    '/healthz',
    '/healthz/',
    '/HEALTHZ',
  ];

  it.each(TRICKS)('%s with the check token is a decision or an error, never another 2xx', async (path) => {
    for (const method of ['GET', 'HEAD', 'POST']) {
      const res = await authorize({ 'geogate-country': 'US' }, { path, method });
      if (res.status >= 200 && res.status < 300) {
        expect(res.headers.get('geogate-decision'), `${method} ${path} -> ${res.status}`).toBe('allow');
      }
    }
  });

  it.each(TRICKS)('%s with a rotated token and a Geogate-* header is never a 2xx', async (path) => {
    const res = await authorize({ 'geogate-country': 'US' }, { path, token: 'rotated-token-0123456789' });
    expect(res.status >= 200 && res.status < 300, `${path} -> ${res.status}`).toBe(false);
  });

  it('/healthz refuses a request carrying only a Geogate-* header', async () => {
    const res = await SELF.fetch('https://geogate.test/healthz', { headers: { 'geogate-client-timezone': 'UTC' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'MISROUTED' } });
  });

  it('any path, token, method and Geogate-* header: 2xx only with Geogate-Decision', async () => {
    const segment = fc.constantFrom('..', '.', '%2e%2e', '%2E.', '.%2e', 'healthz', 'v1', 'check', 'authorize', '%2f', '%5c', '\\', '', 'x');
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 6 }), fc.constantFrom(CHECK_TOKEN, 'rotated-token-0123456789', null), fc.constantFrom('GET', 'POST', 'HEAD'), async (segments, token, method) => {
        const path = `/v1/authorize/${segments.join('/')}`;
        const res = await authorize({ 'geogate-country': 'US' }, { path, token, method });
        if (res.status >= 200 && res.status < 300) expect(res.headers.get('geogate-decision')).not.toBeNull();
      }),
      { seed: 5, numRuns: 120 },
    );
  });
});
