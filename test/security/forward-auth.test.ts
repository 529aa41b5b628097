// Security review (docs/security.md): header tricks on forward-auth. A proxy forwards the user's own
// headers beside the ones it sets; whatever the user adds, repeats or disguises, /v1/authorize
// answers a decision no more permissive than without it, or an error that is never 2xx and never
// the 401 proxies read as "challenge". Path tricks (dot segments, encodings) that land a
// forward-auth request on another route are in test/integration/authorize.test.ts ("only a
// decision says 2xx") and the MISROUTED guards (src/http/guards.ts) in test/review/final-review.test.ts.
import { SELF } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHECK_TOKEN, policyWith, resetPolicyState, storePolicy } from '../helpers';

beforeEach(async () => {
  await resetPolicyState();
  await storePolicy(policyWith({ version: 'sec-fa-1', rules: [{ id: 'cn', type: 'country', action: 'deny', countries: ['CN'] }, { id: 'tor', type: 'country', action: 'challenge', countries: ['T1'] }] }));
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

/** A forward-auth call; `headers` may repeat a name (appended, as a proxy forwards both copies). */
function authorize(headers: [string, string][], path = '/v1/authorize') {
  const h = new Headers();
  for (const [name, value] of headers) h.append(name, value);
  return SELF.fetch(`https://geogate.test${path}`, { headers: h });
}

const TOKEN: [string, string] = ['authorization', `Bearer ${CHECK_TOKEN}`];
const isSuccess = (status: number) => status >= 200 && status < 300;

describe('header tricks on /v1/authorize', () => {
  it.each<[string, [string, string][]]>([
    ['a repeated Geogate-Country (the proxy’s CN and the user’s US)', [['geogate-country', 'CN'], ['geogate-country', 'US']]],
    ['a repeated Geogate-Country in the other order', [['geogate-country', 'US'], ['geogate-country', 'CN']]],
    ['a comma list in Geogate-Country', [['geogate-country', 'US,CN']]],
    ['a repeated Geogate-IP', [['geogate-country', 'CN'], ['geogate-ip', '203.0.113.9'], ['geogate-ip', '198.51.100.3']]],
    ['a repeated Geogate-ASN', [['geogate-country', 'CN'], ['geogate-asn', '4134'], ['geogate-asn', '7922']]],
    ['a repeated Geogate-Surface', [['geogate-country', 'CN'], ['geogate-surface', 'web'], ['geogate-surface', 'api']]],
  ])('%s is refused (400), never allowed', async (_name, headers) => {
    const res = await authorize([TOKEN, ...headers]);
    expect(res.status).toBe(400);
    expect(res.headers.get('geogate-decision')).toBeNull();
    await res.body?.cancel();
  });

  it('fixed (was OPEN): a repeated Geogate-Account-Id (a proxy that appends instead of setting) no longer reads as one new account escaping an account deny rule', async () => {
    // geogate cannot tell the proxy's copy from the user's: the ids joined as "acct-banned, acct-x",
    // an account no rule names and no memory knows. src/facts/forward-headers.ts now reads a comma
    // in the id headers as several values, which are refused (400, not a decision).
    await storePolicy(policyWith({ version: 'sec-fa-acct', rules: [{ id: 'banned', type: 'account', action: 'deny', accounts: ['acct-banned'] }] }));
    const alone = await authorize([TOKEN, ['geogate-country', 'US'], ['geogate-account-id', 'acct-banned']]);
    expect(alone.status).toBe(403);
    await alone.body?.cancel();
    const appended = await authorize([TOKEN, ['geogate-country', 'US'], ['geogate-account-id', 'acct-banned'], ['geogate-account-id', 'acct-x']]);
    expect(isSuccess(appended.status), `-> ${appended.status} ${appended.headers.get('geogate-decision')}`).toBe(false);
    expect(appended.status).toBe(400);
    await appended.body?.cancel();
  });

  it('padding, case and invisible characters around a denied country do not turn it into something else', async () => {
    for (const value of [' CN ', 'cn', 'Cn', '\tCN', 'CN\t']) {
      const res = await authorize([TOKEN, ['geogate-country', value]]);
      expect(isSuccess(res.status), `${JSON.stringify(value)} -> ${res.status}`).toBe(false);
      expect(res.status, JSON.stringify(value)).not.toBe(401);
      await res.body?.cancel();
    }
  });

  it('verdict headers a user sends in (Geogate-Decision, Geogate-Reasons, X-Geogate-*) are not inputs; the answer’s are geogate’s own', async () => {
    const res = await authorize([
      TOKEN,
      ['geogate-country', 'CN'],
      ['geogate-decision', 'allow'],
      ['geogate-reasons', ''],
      ['geogate-failed', 'false'],
      ['geogate-dry-run-decision', 'allow'],
      ['x-geogate-decision', 'allow'],
      ['x-original-url', '/healthz'],
      ['x-rewrite-url', '/healthz'],
      ['x-http-method-override', 'OPTIONS'],
      ['x-forwarded-host', 'localhost'],
      ['x-forwarded-proto', 'http'],
    ]);
    expect(res.status).toBe(403);
    expect(res.headers.get('geogate-decision')).toBe('deny');
    expect(res.headers.get('geogate-reasons')).toBe('COUNTRY_DENIED');
    await res.body?.cancel();
  });

  it.each<[string, [string, string][]]>([
    ['two Authorization headers (the proxy’s and the user’s)', [TOKEN, ['authorization', 'Bearer sk-users-own-key-0123456789']]],
    ['the user’s Authorization before the proxy’s', [['authorization', 'Bearer sk-users-own-key-0123456789'], TOKEN]],
    ['a repeated Geogate-Token', [['geogate-token', CHECK_TOKEN], ['geogate-token', CHECK_TOKEN]]],
    ['a Geogate-Token the user sent beside the proxy’s Authorization', [TOKEN, ['geogate-token', 'guess-guess-guess-guess']]],
    ['the token with a trailing NUL-free suffix', [['authorization', `Bearer ${CHECK_TOKEN}.`]]],
  ])('%s: a 500 the proxy reports, never a decision and never 401', async (_name, headers) => {
    const res = await authorize([...headers, ['geogate-country', 'US']]);
    expect(res.status).toBe(500);
    expect(res.headers.get('geogate-decision')).toBeNull();
    await res.body?.cancel();
  });

  it('a body, a Content-Length or a Transfer-Encoding the user sends changes nothing (the body is never read)', async () => {
    const baseline = await authorize([TOKEN, ['geogate-country', 'CN']]);
    for (const init of [
      { method: 'POST', body: JSON.stringify({ geo: { country: 'US' } }), headers: { 'content-type': 'application/json' } },
      { method: 'POST', body: 'geo[country]=US', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { method: 'PUT', body: 'x'.repeat(100_000), headers: { 'content-type': 'application/octet-stream' } },
    ]) {
      const res = await SELF.fetch('https://geogate.test/v1/authorize', { method: init.method, body: init.body, headers: { ...init.headers, authorization: TOKEN[1], 'geogate-country': 'CN' } });
      expect(res.status).toBe(baseline.status);
      expect(res.headers.get('geogate-decision')).toBe('deny');
      await res.body?.cancel();
    }
    await baseline.body?.cancel();
  });

  it('several clearance cookies are one malformed clearance, never the best of them', async () => {
    const res = await authorize([TOKEN, ['geogate-country', 'T1'], ['cookie', 'geogate_clearance=a.b.c; geogate_clearance=d.e.f']]);
    expect(res.status).toBe(401);
    expect(res.headers.get('geogate-decision')).toBe('challenge');
    const body = await res.json<{ reasons: { code: string; evidence?: Record<string, unknown> }[] }>();
    expect(body.reasons.find((r) => r.code === 'CLEARANCE_INVALID')).toBeDefined();
  });

  it('a non-ASCII byte in an origin-side header is refused, never read as a lookalike', async () => {
    // Latin-1 lookalikes (Headers carry bytes up to 0xFF): "ÇN", a soft hyphen, a no-break space.
    for (const value of ['\u00c7N', 'C\u00adN', '\u00a0CN']) {
      const res = await authorize([TOKEN, ['geogate-country', value]]);
      expect(isSuccess(res.status), `${JSON.stringify(value)} -> ${res.status}`).toBe(false);
      expect(res.status).not.toBe(401);
      await res.body?.cancel();
    }
  });
});
