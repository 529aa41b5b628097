// POST /v1/check through the Worker (SELF.fetch in workerd, real local KV).
import { createExecutionContext, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { ACTIVE_POLICY_KEY, LAST_GOOD_POLICY_KEY } from '../../src/policy/keys';
import { activePolicyStore } from '../../src/store/active-policy';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import { ADMIN_TOKEN, CHECK_TOKEN, defaultDocument, FAILING_KV, policyWith, postCheck, resetPolicyState, storePolicy } from '../helpers';

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; code: string; message: string }[] };
}

beforeEach(resetPolicyState);

/** Calls the Worker directly with overridden bindings, waiting for its background work. */
async function callWith(overrides: Partial<Env>, body: unknown) {
  const request = new Request('https://geogate.test/v1/check', {
    method: 'POST',
    headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe('POST /v1/check', () => {
  it('uses the test secrets, not .dev.vars', () => {
    expect(env.CHECK_TOKEN).toBe(CHECK_TOKEN);
    expect(env.ADMIN_TOKEN).toBe(ADMIN_TOKEN);
  });

  it('answers a decision with reasons, policy and request metadata', async () => {
    const res = await postCheck({ requestId: 'req-42', geo: { country: 'CN' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      decision: 'deny',
      summary: "Denied: The IP's country CN is listed by rule sanctioned-countries.",
      reasons: [{ code: 'COUNTRY_DENIED', rule: 'sanctioned-countries', action: 'deny', evidence: { country: 'CN' } }],
      score: 0,
      failed: false,
      policyVersion: defaultDocument().version,
      policySource: 'default',
      requestId: 'req-42',
      geoSource: 'forwarded',
    });
    expect(Date.parse(body.evaluatedAt as string)).not.toBeNaN();
  });

  it('generates a request id when the body has none', async () => {
    const body = await (await postCheck({ geo: { country: 'US' } })).json<{ requestId: string }>();
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the policy stored in KV', async () => {
    await env.POLICY.put(ACTIVE_POLICY_KEY, JSON.stringify(policyWith({ version: 'kv-7', rules: [{ id: 'no-us', type: 'country', action: 'deny', countries: ['US'] }] })));
    const body = await (await postCheck({ geo: { country: 'US' } })).json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision: 'deny', policyVersion: 'kv-7', policySource: 'kv' });
  });

  it('keeps deciding with the last good policy when KV turns corrupt, and says so', async () => {
    await storePolicy(policyWith({ version: 'good-1', rules: [{ id: 'no-us', type: 'country', action: 'deny', countries: ['US'] }] }));
    await postCheck({ geo: { country: 'US' } });
    await storePolicy('{ corrupt');
    // Stands in for the TTL running out in this isolate.
    activePolicyStore.invalidate();
    const res = await postCheck({ geo: { country: 'US' } });
    expect(res.status).toBe(200);
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision: 'deny', failed: true, policyVersion: 'good-1', policySource: 'last-known-good' });
    expect(body.reasons).toMatchObject([{ code: 'COUNTRY_DENIED' }, { code: 'POLICY_UNAVAILABLE', rule: 'failMode', evidence: { failure: 'invalid' } }]);
  });

  describe('promise 1: a broken policy never opens the gate', () => {
    const allowList = exceptionsGolden.policy;

    it('an allow-list denies BR normally', async () => {
      await storePolicy(allowList);
      expect(await (await postCheck({ geo: { country: 'BR' } })).json()).toMatchObject({ decision: 'deny', failed: false });
    });

    it('a new isolate facing a corrupt policy serves the last good copy from KV, not the default', async () => {
      await storePolicy(allowList);
      await callWith({}, { geo: { country: 'US' } });
      expect(JSON.parse((await env.POLICY.get(LAST_GOOD_POLICY_KEY)) ?? '{}')).toMatchObject({ version: 'exceptions-1' });
      await storePolicy('{ corrupt');
      activePolicyStore.reset();
      expect(await (await postCheck({ geo: { country: 'BR' } })).json()).toMatchObject({
        decision: 'deny',
        failed: true,
        policySource: 'last-known-good',
        policyVersion: 'exceptions-1',
      });
    });

    it('a corrupt policy and no last good copy: the deployment fail mode (closed) denies even what the default allows', async () => {
      await storePolicy('{ corrupt');
      const body = await (await postCheck({ geo: { country: 'US' } })).json<Record<string, unknown>>();
      expect(body).toMatchObject({ decision: 'deny', failed: true, policySource: 'none', policyVersion: 'none', reasons: [{ code: 'POLICY_UNAVAILABLE', rule: 'failMode', action: 'deny' }] });
      expect(body.summary).toMatch(/fail mode "closed"/);
    });

    it.each([
      ['challenge', 'challenge'],
      ['open', 'allow'],
      ['nonsense', 'deny'],
    ])('FAIL_MODE = %s answers %s when storage is down on a cold isolate', async (mode, decision) => {
      const res = await callWith({ POLICY: FAILING_KV, FAIL_MODE: mode }, { geo: { country: 'BR' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ decision, failed: true, reasons: [{ code: 'POLICY_UNAVAILABLE', evidence: { failure: 'storage-unavailable' } }] });
    });

    it('KV down on a cold isolate with an allow-list stored: BR is denied, never allowed', async () => {
      await storePolicy(allowList);
      expect(await (await callWith({ POLICY: FAILING_KV }, { geo: { country: 'BR' } })).json()).toMatchObject({ decision: 'deny', failed: true });
    });

    it("the stored document's own failMode answers when only that field is readable and it is stricter than FAIL_MODE", async () => {
      await storePolicy({ version: 'typo-1', failMode: 'challenge', rules: 'oops' });
      const res = await callWith({ FAIL_MODE: 'open' }, { geo: { country: 'US' } });
      expect(await res.json()).toMatchObject({ decision: 'challenge', failed: true, reasons: [{ evidence: { failModeFrom: 'policy' } }] });
      activePolicyStore.reset();
      // It never loosens the deployment's: FAIL_MODE closed stays closed.
      expect(await (await postCheck({ geo: { country: 'US' } })).json()).toMatchObject({ decision: 'deny', reasons: [{ evidence: { failModeFrom: 'deployment' } }] });
    });

    it('refuses forward-auth traffic that a path trick sends to /v1/check', async () => {
      const res = await postCheck({ geo: { country: 'CN' } }, { headers: { 'geogate-country': 'CN' } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'MISROUTED' } });
    });
  });

  it('says geoSource none and GEO_MISSING without geo', async () => {
    const body = await (await postCheck({})).json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision: 'challenge', geoSource: 'none', reasons: [{ code: 'GEO_MISSING' }], challenge: { kinds: ['turnstile', 'step-up'], clears: ['GEO_MISSING'] } });
  });

  it('ignores request.cf unless GEO_FROM_CF is "true"', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/check', {
      method: 'POST',
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
      cf: { country: 'CN' },
    });
    expect(await res.json()).toMatchObject({ decision: 'challenge', geoSource: 'none' });
  });

  describe('under GEO_FROM_CF = "true"', () => {
    async function call(body: unknown, cf: Record<string, unknown>, headers: Record<string, string> = {}) {
      const request = new Request('https://geogate.test/v1/check', {
        method: 'POST',
        headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        cf,
      });
      const ctx = createExecutionContext();
      const res = await worker.fetch(request, { ...env, GEO_FROM_CF: 'true' }, ctx);
      await waitOnExecutionContext(ctx);
      return res.json<Record<string, unknown>>();
    }

    it('fills missing geo from request.cf', async () => {
      expect(await call({}, { country: 'CN', asn: 4134 })).toMatchObject({ decision: 'deny', geoSource: 'cf' });
    });

    it('prefers the forwarded geo when the body names a country', async () => {
      expect(await call({ geo: { country: 'US' } }, { country: 'CN' })).toMatchObject({ decision: 'allow', geoSource: 'forwarded' });
    });

    it('takes the IP from CF-Connecting-IP when the body has none', async () => {
      await env.POLICY.put(ACTIVE_POLICY_KEY, JSON.stringify(policyWith({ rules: [{ id: 'bad-ip', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] }] })));
      expect(await call({}, { country: 'US' }, { 'cf-connecting-ip': '198.51.100.3' })).toMatchObject({ decision: 'deny', reasons: [{ code: 'IP_DENIED' }] });
    });
  });

  describe('authentication', () => {
    it.each([
      ['no token', null],
      ['a wrong token', 'wrong-token-wrong-token'],
      ['the admin token', ADMIN_TOKEN],
      ['the check token with a suffix', `${CHECK_TOKEN}x`],
      ['a prefix of the check token', CHECK_TOKEN.slice(0, -1)],
    ])('refuses %s with 401', async (_name, token) => {
      const res = await postCheck({ geo: { country: 'US' } }, { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await res.json<ErrorBody>()).error.code).toBe('UNAUTHORIZED');
    });

    it('refuses a non-Bearer scheme', async () => {
      const res = await postCheck({}, { token: null, headers: { authorization: `Basic ${CHECK_TOKEN}` } });
      expect(res.status).toBe(401);
    });

    it('checks the token before reading the body', async () => {
      const res = await postCheck('not json', { token: 'wrong-token-wrong-token' });
      expect(res.status).toBe(401);
    });

    it.each([
      ['missing', { CHECK_TOKEN: '' }],
      ['too short', { CHECK_TOKEN: 'short' }],
      ['equal to the admin token', { CHECK_TOKEN: ADMIN_TOKEN }],
    ])('fails closed (503) when CHECK_TOKEN is %s', async (_name, override) => {
      const request = new Request('https://geogate.test/v1/check', {
        method: 'POST',
        headers: { authorization: `Bearer ${override.CHECK_TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const ctx = createExecutionContext();
      const res = await worker.fetch(request, { ...env, ...override }, ctx);
      expect(res.status).toBe(503);
      expect((await res.json<ErrorBody>()).error.code).toBe('NOT_CONFIGURED');
    });
  });

  describe('bad input', () => {
    it('400 for malformed JSON', async () => {
      const res = await postCheck('{"geo": ');
      expect(res.status).toBe(400);
      expect((await res.json<ErrorBody>()).error.code).toBe('INVALID_JSON');
    });

    it('400 for an empty body', async () => {
      expect((await postCheck('')).status).toBe(400);
    });

    it('400 naming every bad field', async () => {
      const res = await postCheck({ ip: 'not-an-ip', geo: { country: 'USA', asn: 'AS7922' }, client: { clock: 1234 }, extra: true });
      expect(res.status).toBe(400);
      const body = await res.json<ErrorBody>();
      expect(body.error.code).toBe('INVALID_REQUEST');
      expect(body.error.issues?.map((i) => i.path).sort()).toEqual(['client.clock', 'extra', 'geo.asn', 'geo.country', 'ip']);
      expect(JSON.stringify(body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
    });

    it('400 for a JSON value that is not an object', async () => {
      const res = await postCheck('[1, 2]');
      expect(res.status).toBe(400);
      expect((await res.json<ErrorBody>()).error.issues?.[0]?.path).toBe('(body)');
    });

    it('413 for a body over 64 KiB', async () => {
      const res = await postCheck({ requestId: 'x', client: { userAgent: 'a'.repeat(70 * 1024) } });
      expect(res.status).toBe(413);
      expect((await res.json<ErrorBody>()).error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('413 for an oversize body sent without Content-Length', async () => {
      const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(chunk);
          controller.close();
        },
      });
      const res = await SELF.fetch('https://geogate.test/v1/check', {
        method: 'POST',
        headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' },
        body: stream,
      });
      expect(res.status).toBe(413);
    });

    it.each([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx'])('415 for content type %s', async (type) => {
      const headers: Record<string, string> = { authorization: `Bearer ${CHECK_TOKEN}` };
      if (type) headers['content-type'] = type;
      const res = await SELF.fetch('https://geogate.test/v1/check', { method: 'POST', headers, body: '{}' });
      expect(res.status).toBe(415);
      expect((await res.json<ErrorBody>()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('accepts JSON content types with parameters or a +json suffix', async () => {
      for (const type of ['application/json; charset=utf-8', 'application/vnd.geogate+json']) {
        expect((await postCheck({}, { headers: { 'content-type': type } })).status).toBe(200);
      }
    });

    it.each(['GET', 'PUT', 'DELETE'])('405 for %s', async (method) => {
      const res = await SELF.fetch('https://geogate.test/v1/check', { method, headers: { authorization: `Bearer ${CHECK_TOKEN}` } });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect((await res.json<ErrorBody>()).error.code).toBe('METHOD_NOT_ALLOWED');
    });

    it('404 in JSON for an unknown path', async () => {
      const res = await SELF.fetch('https://geogate.test/v2/check');
      expect(res.status).toBe(404);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await res.json<ErrorBody>()).error.code).toBe('NOT_FOUND');
    });

    it('bounds and sanitises the path it echoes', async () => {
      const res = await SELF.fetch(`https://geogate.test/${'a'.repeat(5000)}%0d%0a<script>`);
      const body = await res.json<ErrorBody>();
      expect(body.error.message.length).toBeLessThan(260);
      expect(body.error.message).not.toMatch(/[\r\n]/);
    });

    it('400, not a 500, for a request id that cannot be echoed in a header', async () => {
      const res = await postCheck({ requestId: 'a\r\nSet-Cookie: x=1' });
      expect(res.status).toBe(400);
      expect((await res.json<ErrorBody>()).error.issues?.[0]?.path).toBe('requestId');
    });

    it('treats malformed client claims as evidence and decides', async () => {
      const res = await postCheck({ geo: { country: 'US' }, client: { clock: 'soon', utcOffsetMinutes: 9999, timezone: 'Mars/Base' } });
      expect(res.status).toBe(200);
      const body = await res.json<{ signals: Record<string, unknown> }>();
      expect(body.signals).toMatchObject({ CLOCK_INVALID: true, TZ_INVALID: true });
    });
  });
});

describe('POST /v1/check on generated input', () => {
  it('answers 200 or 400, never 5xx, for any JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.record({ geo: fc.jsonValue(), client: fc.jsonValue(), ip: fc.jsonValue(), surface: fc.jsonValue() }, { requiredKeys: [] })),
        async (body) => {
          const res = await postCheck(JSON.stringify(body));
          expect([200, 400]).toContain(res.status);
          const json = await res.json<Record<string, unknown>>();
          expect(res.status === 200 ? 'decision' in json : 'error' in json).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('answers 400, never 5xx, for arbitrary text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
        const res = await postCheck(text);
        expect([200, 400]).toContain(res.status);
      }),
      { numRuns: 60 },
    );
  });
});

describe('POST /v1/check with a repeated key', () => {
  it('refuses a body that repeats a client claim key (JSON.parse would keep only the last)', async () => {
    const res = await postCheck('{"geo":{"country":"US","asn":7922},"client":{"timezone":"Asia/Shanghai","timezone":"America/New_York"}}');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'INVALID_REQUEST', issues: [{ path: 'client.timezone', code: 'duplicate_key' }] } });
  });

  it('takes the same claims as an array and judges each', async () => {
    const res = await postCheck({ geo: { country: 'US', asn: 7922 }, client: { timezone: ['Asia/Shanghai', 'America/New_York'] } });
    expect(await res.json()).toMatchObject({ signals: { TZ_RESTRICTED: true } });
  });
});
