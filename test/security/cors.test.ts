// Security review (docs/security.md): geogate answers no CORS on any route. A browser page on
// another origin cannot read an admin answer, cannot send a preflighted (Authorization-carrying)
// request, and gets no Access-Control-* header anywhere, whatever Origin it sends.
import { SELF } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, CHECK_TOKEN, resetPolicyState } from '../helpers';

beforeEach(async () => {
  await resetPolicyState();
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

const ORIGINS = ['https://evil.example', 'null', 'https://geogate.test'];

/** Every route family, with the token it takes. */
const ROUTES: [method: string, path: string, token: string | null, body?: string][] = [
  ['GET', '/v1/policy', ADMIN_TOKEN],
  ['PUT', '/v1/policy', ADMIN_TOKEN, '{}'],
  ['POST', '/v1/policy/validate', ADMIN_TOKEN, '{}'],
  ['GET', '/v1/policy/versions', ADMIN_TOKEN],
  ['POST', '/v1/policy/rollback', ADMIN_TOKEN, '{}'],
  ['GET', '/v1/lists', ADMIN_TOKEN],
  ['GET', '/v1/lists/some-list', ADMIN_TOKEN],
  ['POST', '/v1/simulate', ADMIN_TOKEN, '{"requests":[]}'],
  ['GET', '/v1/intel', ADMIN_TOKEN],
  ['GET', '/v1/audit', ADMIN_TOKEN],
  ['GET', '/v1/accounts/acct-1/activity', ADMIN_TOKEN],
  ['DELETE', '/v1/orgs/org-1/activity', ADMIN_TOKEN],
  ['GET', '/v1/accounts/acct-1/clearances', ADMIN_TOKEN],
  ['POST', '/v1/check', CHECK_TOKEN, '{"geo":{"country":"US"}}'],
  ['GET', '/v1/authorize', CHECK_TOKEN],
  ['POST', '/v1/challenge/step-up', CHECK_TOKEN, '{}'],
  ['POST', '/v1/challenge/turnstile', CHECK_TOKEN, '{}'],
  ['GET', '/healthz', null],
  ['GET', '/openapi.json', null],
  ['GET', '/challenge', null],
  ['GET', '/nowhere', null],
];

/** The Access-Control-* headers of a response. */
const corsHeaders = (res: Response) => [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));

describe('no CORS anywhere', () => {
  it.each(ROUTES)('%s %s: a preflight from another origin gets no Access-Control-* header and no 2xx', async (method, path) => {
    for (const origin of ORIGINS) {
      const res = await SELF.fetch(`https://geogate.test${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(corsHeaders(res), `${origin} OPTIONS ${path}`).toEqual([]);
      expect(res.status >= 200 && res.status < 300, `${origin} OPTIONS ${path} -> ${res.status}`).toBe(false);
      await res.body?.cancel();
    }
  });

  it.each(ROUTES)('%s %s with its token and an Origin: answered without any Access-Control-* header', async (method, path, token, body) => {
    for (const origin of ORIGINS) {
      const res = await SELF.fetch(`https://geogate.test${path}`, {
        method,
        headers: {
          origin,
          ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(path === '/v1/authorize' ? { 'geogate-country': 'US' } : {}),
        },
        ...(body !== undefined ? { body } : {}),
      });
      expect(corsHeaders(res), `${origin} ${method} ${path}`).toEqual([]);
      // Authenticated: the answer is the route's own, not a refusal.
      expect([401, 403, 503], `${origin} ${method} ${path} -> ${res.status}`).not.toContain(res.status);
      // Every answer is typed and never sniffed (src/app.ts).
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      await res.body?.cancel();
    }
  });

  it('a simple cross-origin POST (no preflight: text/plain, no Authorization) never reaches a handler as authenticated', async () => {
    for (const path of ['/v1/policy/validate', '/v1/check', '/v1/simulate', '/v1/challenge/step-up']) {
      const res = await SELF.fetch(`https://geogate.test${path}`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: '{}' });
      expect(res.status, path).toBe(401);
      expect(corsHeaders(res)).toEqual([]);
      await res.body?.cancel();
    }
  });
});
