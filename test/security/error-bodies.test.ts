// Security review (docs/security.md): error bodies leak no internals. Every error geogate answers is
// the JSON shape { error: { code, message, issues? } } (HTML pages on /challenge) whose text is
// fixed by the code, never an exception's message, a stack trace, a file path or a secret. Each
// error is forced here: invalid and oversized bodies, unknown routes and methods, failing storage,
// a corrupt stored policy, and exceptions thrown inside handlers by bindings that break. The
// app-level boundary itself is in test/integration/errors.test.ts.
import { SELF } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, CHECK_TOKEN, FAILING_KV, resetPolicyState, storePolicy } from '../helpers';
import { call, SECRET_VALUES } from './helpers';

/** What an internal would look like in a body: a stack frame, a source path, an exception's name or text. */
const INTERNALS = [
  /\bat \S+ \(/,
  /\.(ts|js|mjs):\d+/,
  /node_modules|file:\/\/|\/src\/|workerd|miniflare/i,
  /\b(Type|Syntax|Range|Reference)?Error:/,
  /\bstack\b/i,
  /injected fault|exploded|Unexpected (token|end)|JSON input|is not a function|undefined is not/,
];

/** An Error whose message carries everything a body must never show. */
const boom = () => new Error(`exploded at /work/src/admin/policy-admin.ts:42 with ${ADMIN_TOKEN} and ${CHECK_TOKEN}`);
/** A Durable Object namespace binding whose every use throws, as a bug or an outage would. */
const THROWING_NAMESPACE = {
  idFromName: () => {
    throw boom();
  },
  get: () => {
    throw boom();
  },
};

beforeEach(async () => {
  await resetPolicyState();
  // The boundary logs bugs whole (for the operator); kept out of the test output.
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

const json = { 'content-type': 'application/json' };
const asCheck = { authorization: `Bearer ${CHECK_TOKEN}` };
const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Asserts that an answer holds nothing internal or secret; answers its text. */
async function expectNoInternals(res: Response): Promise<string> {
  const text = await res.text();
  for (const pattern of INTERNALS) expect(text, `${pattern} in ${text}`).not.toMatch(pattern);
  for (const secret of SECRET_VALUES) expect(text.includes(secret), `a secret in ${text}`).toBe(false);
  return text;
}

/** Asserts an error answer: its status, the JSON error shape (or an HTML page), and nothing internal or secret in it. */
async function expectCleanError(res: Response, status: number, code?: string): Promise<string> {
  expect(res.status).toBe(status);
  const text = await expectNoInternals(res);
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error?.code).toBe('string');
    expect(typeof body.error?.message).toBe('string');
    if (code !== undefined) expect(body.error?.code).toBe(code);
  }
  return text;
}

describe('requests the caller got wrong', () => {
  it.each<[string, () => Request, number, string]>([
    ['invalid JSON on /v1/check', () => new Request('https://geogate.test/v1/check', { method: 'POST', headers: { ...asCheck, ...json }, body: '{"geo": {' }), 400, 'INVALID_JSON'],
    ['invalid JSON on PUT /v1/policy', () => new Request('https://geogate.test/v1/policy', { method: 'PUT', headers: { ...asAdmin, ...json, 'if-none-match': '*' }, body: '{"version": ' }), 400, 'INVALID_JSON'],
    ['invalid JSON on the step-up route', () => new Request('https://geogate.test/v1/challenge/step-up', { method: 'POST', headers: { ...asCheck, ...json }, body: 'nope' }), 400, 'INVALID_JSON'],
    ['a 65 KB check', () => new Request('https://geogate.test/v1/check', { method: 'POST', headers: { ...asCheck, ...json }, body: JSON.stringify({ requestId: 'x'.repeat(65 * 1024) }) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['a 17 KB step-up', () => new Request('https://geogate.test/v1/challenge/step-up', { method: 'POST', headers: { ...asCheck, ...json }, body: JSON.stringify({ method: 'x'.repeat(17 * 1024) }) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['a check sent as text', () => new Request('https://geogate.test/v1/check', { method: 'POST', headers: { ...asCheck, 'content-type': 'text/plain' }, body: '{}' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a check with invalid fields', () => new Request('https://geogate.test/v1/check', { method: 'POST', headers: { ...asCheck, ...json }, body: JSON.stringify({ ip: 'x', geo: { country: 42 }, __proto__: { admin: true }, constructor: 1 }) }), 400, 'INVALID_REQUEST'],
    ['a policy nested 100 deep', () => new Request('https://geogate.test/v1/policy/validate', { method: 'POST', headers: { ...asAdmin, ...json }, body: `${'['.repeat(100)}${']'.repeat(100)}` }), 400, 'INVALID_REQUEST'],
    ['an invalid policy', () => new Request('https://geogate.test/v1/policy', { method: 'PUT', headers: { ...asAdmin, ...json, 'if-none-match': '*' }, body: JSON.stringify({ version: 1, rules: 'all' }) }), 400, 'INVALID_POLICY'],
    ['a list name with a path in it', () => new Request('https://geogate.test/v1/lists/..%2f..%2fetc%2fpasswd', { headers: asAdmin }), 400, 'INVALID_REQUEST'],
    ['a malformed percent-encoding in an id', () => new Request('https://geogate.test/v1/accounts/%E0%A4%A/activity', { method: 'GET', headers: asAdmin }), 200, ''],
    ['an unknown route', () => new Request('https://geogate.test/v1/nowhere/<script>alert(1)</script>'), 404, 'NOT_FOUND'],
    ['an unknown method', () => new Request('https://geogate.test/v1/check', { method: 'PATCH', headers: asCheck }), 405, 'METHOD_NOT_ALLOWED'],
    ['no token', () => new Request('https://geogate.test/v1/check', { method: 'POST', headers: json, body: '{}' }), 401, 'UNAUTHORIZED'],
    ['the check token on an admin route', () => new Request('https://geogate.test/v1/audit', { headers: asCheck }), 403, 'FORBIDDEN'],
    ['a refused forward-auth token', () => new Request('https://geogate.test/v1/authorize', { headers: { authorization: 'Bearer nope-nope-nope-nope' } }), 500, 'UNAUTHORIZED'],
    ['a misrouted forward-auth request', () => new Request('https://geogate.test/healthz', { headers: { ...asCheck, 'geogate-country': 'US' } }), 400, 'MISROUTED'],
  ])('%s', async (_name, request, status, code) => {
    const res = await call(request());
    if (status === 200) {
      // A malformed escape is read as text, not thrown: an ordinary answer.
      expect([200, 400]).toContain(res.status);
      await expectNoInternals(res);
      return;
    }
    await expectCleanError(res, status, code);
  });

  it('echoes at most 100 printable characters of a path, without control characters', async () => {
    const text = await expectCleanError(await SELF.fetch(`https://geogate.test/${'a'.repeat(300)}%0d%0aSet-Cookie:x=1`), 404, 'NOT_FOUND');
    const message = (JSON.parse(text) as { error: { message: string } }).error.message;
    expect(message.length).toBeLessThan(140);
    expect(message).not.toMatch(/[\r\n]/);
  });
});

describe('failures on geogate’s side', () => {
  it('policy storage down: decisions say failed, with a fixed cause, and /healthz names only the kind', async () => {
    const decision = await call(new Request('https://geogate.test/v1/check', { method: 'POST', headers: { ...asCheck, ...json }, body: '{"geo":{"country":"US"}}' }), { POLICY: FAILING_KV });
    expect(decision.status).toBe(200);
    expect(JSON.parse(await expectNoInternals(decision))).toMatchObject({ failed: true });
    const health = await call(new Request('https://geogate.test/healthz'), { POLICY: FAILING_KV });
    expect(await expectNoInternals(health)).toContain('"kind":"storage-unavailable"');
    await expectCleanError(await call(new Request('https://geogate.test/v1/accounts/acct-1/clearances', { headers: asAdmin }), { POLICY: FAILING_KV }), 503, 'POLICY_UNAVAILABLE');
    await expectCleanError(await call(new Request('https://geogate.test/v1/simulate', { method: 'POST', headers: { ...asAdmin, ...json }, body: '{"requests":[{}]}' }), { POLICY: FAILING_KV }), 503, 'NOT_CONFIGURED');
  });

  it('a corrupt stored policy: the parser’s message stays in the log', async () => {
    await storePolicy('{"version": "corrupt-1", "rules": [');
    const decision = await call(new Request('https://geogate.test/v1/check', { method: 'POST', headers: { ...asCheck, ...json }, body: '{"geo":{"country":"US"}}' }));
    expect(JSON.parse(await expectNoInternals(decision))).toMatchObject({ failed: true });
    const health = await call(new Request('https://geogate.test/healthz'));
    expect(await expectNoInternals(health)).toContain('"kind":"invalid"');
  });

  it.each<[string, () => Request, Record<string, unknown>]>([
    ['GET /v1/policy with the admin store broken', () => new Request('https://geogate.test/v1/policy', { headers: asAdmin }), { POLICY_ADMIN: THROWING_NAMESPACE }],
    ['PUT /v1/lists with the admin store broken', () => new Request('https://geogate.test/v1/lists/x', { method: 'PUT', headers: { ...asAdmin, ...json, 'if-none-match': '*' }, body: '{"kind":"cidr","items":[]}' }), { POLICY_ADMIN: THROWING_NAMESPACE }],
    ['GET /v1/accounts/{id}/activity with the memory broken', () => new Request('https://geogate.test/v1/accounts/acct-1/activity', { headers: asAdmin }), { ACCOUNT_ACTIVITY: THROWING_NAMESPACE }],
    ['DELETE /v1/orgs/{id}/activity with the admin store broken', () => new Request('https://geogate.test/v1/orgs/org-1/activity', { method: 'DELETE', headers: asAdmin }), { POLICY_ADMIN: THROWING_NAMESPACE }],
    ['DELETE /v1/accounts/{id}/clearances with the admin store broken', () => new Request('https://geogate.test/v1/accounts/acct-1/clearances', { method: 'DELETE', headers: asAdmin }), { POLICY_ADMIN: THROWING_NAMESPACE }],
  ])('an exception thrown inside the handler (%s) is a bare, retryable 503 STORAGE_UNAVAILABLE', async (_name, request, overrides) => {
    const res = await call(request(), overrides);
    const text = await expectCleanError(res, 503, 'STORAGE_UNAVAILABLE');
    expect(JSON.parse(text)).toEqual({ error: { code: 'STORAGE_UNAVAILABLE', message: 'The store behind this route did not answer, so a change may not have been made: read the current state, then retry.' } });
  });

  it('the memory broken during a check: still a decision, without the exception', async () => {
    const res = await call(
      new Request('https://geogate.test/v1/check', { method: 'POST', headers: { ...asCheck, ...json }, body: JSON.stringify({ geo: { country: 'US' }, account: { id: 'acct-1', orgId: 'org-1' } }) }),
      { ACCOUNT_ACTIVITY: THROWING_NAMESPACE, ORG_ACTIVITY: THROWING_NAMESPACE, DECISIONS: { writeDataPoint: () => { throw boom(); } } },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(await expectNoInternals(res))).toMatchObject({ decision: 'allow' });
  });

  it('the hosted challenge page: storage down and a forged ticket get plain pages', async () => {
    const form = new URLSearchParams({ ticket: 'a.b.c', 'cf-turnstile-response': 'XXXX.DUMMY.TOKEN.XXXX', return: '/' }).toString();
    const posted = await call(new Request('https://example.com/challenge', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': '198.51.100.7' }, body: form }), { POLICY: FAILING_KV });
    expect((await expectCleanError(posted, 400)).startsWith('<!doctype html>')).toBe(true);
    await expectCleanError(await call(new Request('https://example.com/challenge?ticket=forged')), 400);
  });
});
