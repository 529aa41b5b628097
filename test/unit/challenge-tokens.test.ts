// The challenge plumbing below the routes: siteverify's outcomes (Cloudflare's test secrets
// emulated by a stub fetcher, as Cloudflare documents them), the signed tokens (tickets and
// clearances never stand in for each other; rotation), and the settings read from the env.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { challengeConfig, challengeProblems } from '../../src/challenge/config';
import { CompactSign, SignJWT } from 'jose';
import { readClearance, readTicket, signClearance, signTicket } from '../../src/challenge/tokens';
import { siteverify, SITEVERIFY_URL, TURNSTILE_TEST_KEYS, type TurnstileOutcome } from '../../src/challenge/turnstile';
import { NOW } from '../helpers';

const SECRET = 'unit-clearance-secret-0123456789abcdef';
const OLD = 'unit-old-clearance-secret-0123456789abcd';
const TOKENS = { CHECK_TOKEN: 'check-token-0123456789', ADMIN_TOKEN: 'admin-token-0123456789' };

/**
 * siteverify as Cloudflare documents it for its test secrets: 1x… always passes, 2x… always
 * fails, 3x… says the token was already spent. Records every call.
 */
function testSiteverify(calls: { url: string; body: Record<string, unknown> }[], over: Partial<Record<string, unknown>> = {}): typeof fetch {
  return (input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as Record<string, unknown>;
    calls.push({ url: input instanceof Request ? input.url : input.toString(), body });
    switch (body.secret) {
      case TURNSTILE_TEST_KEYS.secretPasses:
        return Promise.resolve(Response.json({ success: true, 'error-codes': [], hostname: 'example.com', action: '', challenge_ts: '2026-11-26T12:00:00Z', ...over }));
      case TURNSTILE_TEST_KEYS.secretFails:
        return Promise.resolve(Response.json({ success: false, 'error-codes': ['invalid-input-response'] }));
      case TURNSTILE_TEST_KEYS.secretSpent:
        return Promise.resolve(Response.json({ success: false, 'error-codes': ['timeout-or-duplicate'] }));
      default:
        return Promise.resolve(Response.json({ success: false, 'error-codes': ['invalid-input-secret'] }));
    }
  };
}

const REQ = { token: TURNSTILE_TEST_KEYS.dummyToken, ip: '198.51.100.7', idempotencyKey: '6f1b2c7e-9b1a-4c1e-8f57-2f4f0f7a1d11' };
const kindOf = (o: TurnstileOutcome) => (o.ok ? 'ok' : o.kind);

describe('siteverify with Cloudflare test secrets', () => {
  it.each([
    ['always passes', TURNSTILE_TEST_KEYS.secretPasses, 'ok'],
    ['always fails', TURNSTILE_TEST_KEYS.secretFails, 'failed'],
    ['already spent', TURNSTILE_TEST_KEYS.secretSpent, 'spent'],
    ['a secret siteverify does not know', '0x0000000000000000000000000000000AA', 'unavailable'],
  ])('%s', async (_name, secret, want) => {
    const calls: { url: string; body: Record<string, unknown> }[] = [];
    const o = await siteverify({ secret, hostnames: ['example.com'] }, REQ, { fetcher: testSiteverify(calls) });
    expect(kindOf(o)).toBe(want);
    expect(calls).toEqual([{ url: SITEVERIFY_URL, body: { secret, response: REQ.token, remoteip: REQ.ip, idempotency_key: REQ.idempotencyKey } }]);
  });

  it('checks the hostname against the configured ones (case-insensitively) and the action when configured', async () => {
    const passes = { secret: TURNSTILE_TEST_KEYS.secretPasses, hostnames: ['example.com'] };
    expect(kindOf(await siteverify(passes, REQ, { fetcher: testSiteverify([], { hostname: 'EXAMPLE.com' }) }))).toBe('ok');
    expect(kindOf(await siteverify(passes, REQ, { fetcher: testSiteverify([], { hostname: 'example.com.evil.example' }) }))).toBe('hostname');
    expect(kindOf(await siteverify(passes, REQ, { fetcher: testSiteverify([], { hostname: undefined }) }))).toBe('hostname');
    expect(kindOf(await siteverify({ ...passes, action: 'login' }, REQ, { fetcher: testSiteverify([], { action: 'login' }) }))).toBe('ok');
    expect(kindOf(await siteverify({ ...passes, action: 'login' }, REQ, { fetcher: testSiteverify([], { action: 'signup' }) }))).toBe('action');
    expect(kindOf(await siteverify({ ...passes, action: 'login' }, REQ, { fetcher: testSiteverify([], { action: undefined }) }))).toBe('action');
  });

  it('reads internal-error as unavailable, and keeps only well-formed error codes', async () => {
    const fetcher = () => Promise.resolve(Response.json({ success: false, 'error-codes': ['internal-error', '<script>', 'x'.repeat(100)] }));
    const o = await siteverify({ secret: 's', hostnames: ['example.com'] }, REQ, { fetcher });
    expect(o.ok ? undefined : [o.kind, o.errorCodes]).toEqual(['unavailable', ['internal-error']]);
  });

  it('a refused secret among other codes is still geogate\'s problem (unavailable), not the user\'s', async () => {
    const fetcher = () => Promise.resolve(Response.json({ success: false, 'error-codes': ['invalid-input-response', 'invalid-input-secret'] }));
    expect(kindOf(await siteverify({ secret: 's', hostnames: ['example.com'] }, REQ, { fetcher }))).toBe('unavailable');
  });

  it('answers the whole verified outcome', async () => {
    const passes = { secret: TURNSTILE_TEST_KEYS.secretPasses, hostnames: ['example.com'] };
    expect(await siteverify(passes, REQ, { fetcher: testSiteverify([], { action: 'login' }) })).toEqual({ ok: true, hostname: 'example.com', action: 'login', challengeTs: '2026-11-26T12:00:00Z' });
    expect(await siteverify(passes, REQ, { fetcher: testSiteverify([], { action: undefined, challenge_ts: undefined }) })).toEqual({ ok: true, hostname: 'example.com' });
  });

  it.each<[string, (n: number) => Promise<Response>, string, number]>([
    ['a 500, then an answer: retried once', (n) => Promise.resolve(n === 1 ? new Response('x', { status: 500 }) : Response.json({ success: true, hostname: 'example.com' })), 'ok', 2],
    ['a network error, then an answer: retried once', (n) => (n === 1 ? Promise.reject(new TypeError('reset')) : Promise.resolve(Response.json({ success: true, hostname: 'example.com' }))), 'ok', 2],
    ['5xx every time: two calls, then unavailable', () => Promise.resolve(new Response('x', { status: 503 })), 'unavailable', 2],
    ['network errors every time: two calls, then unavailable', () => Promise.reject(new TypeError('down')), 'unavailable', 2],
    ['a 4xx is an answer, not retried', () => Promise.resolve(new Response('<html>', { status: 400 })), 'unavailable', 1],
    ['a body that is not JSON', () => Promise.resolve(new Response('<html>', { status: 200 })), 'unavailable', 1],
  ])('%s', async (_name, answer, want, calls) => {
    let n = 0;
    const o = await siteverify({ secret: 's', hostnames: ['example.com'] }, REQ, { fetcher: () => answer(++n) });
    expect([kindOf(o), n]).toEqual([want, calls]);
  });

  it('times out within its budget even when the fetch never settles', async () => {
    const started = Date.now();
    const o = await siteverify({ secret: 's', hostnames: ['example.com'] }, REQ, { fetcher: () => new Promise<Response>(() => undefined), timeoutMs: 50 });
    expect(kindOf(o)).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('retries a 429 once', async () => {
    let n = 0;
    const fetcher = () => Promise.resolve(++n === 1 ? new Response('slow down', { status: 429 }) : Response.json({ success: true, hostname: 'example.com' }));
    expect(kindOf(await siteverify({ secret: 's', hostnames: ['example.com'] }, REQ, { fetcher }))).toBe('ok');
    expect(n).toBe(2);
  });
});

describe('signed tokens', () => {
  const grant = { kind: 'step-up', method: 'kyc', account: 'acct-1', network: '198.51.100.0/24', reasons: ['TOR'], policyVersion: 'p-1', issuedAt: NOW, expiresAt: NOW + 60_000 };

  it('a clearance reads back as what was granted, under the current or the previous secret', async () => {
    const { token, id } = await signClearance(SECRET, grant);
    const want = { status: 'signed', claims: { id, kind: 'step-up', account: 'acct-1', network: '198.51.100.0/24', reasons: ['TOR'], policyVersion: 'p-1', issuedAt: NOW, expiresAt: NOW + 60_000 } };
    expect(await readClearance(token, [SECRET])).toEqual(want);
    expect(await readClearance(token, [OLD, SECRET])).toEqual(want);
    expect(await readClearance(token, [OLD])).toEqual({ status: 'invalid', why: 'signature' });
    expect(await readClearance(token, [])).toEqual({ status: 'invalid', why: 'not-configured' });
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['four parts', 'a.b.c.d'],
    ['a character outside base64url', 'eyJh.eyJi.c!'],
    ['a token over 4096 characters', `${'a'.repeat(2100)}.${'b'.repeat(2100)}.c`],
  ])('refuses %s as malformed, for clearances and tickets', async (_name, token) => {
    expect(await readClearance(token, [SECRET])).toEqual({ status: 'invalid', why: 'malformed' });
    expect(await readTicket(token, [SECRET], NOW)).toEqual({ ok: false, why: 'malformed' });
  });

  it('a correctly signed token of another type or shape is malformed, not a clearance', async () => {
    const key = new TextEncoder().encode(SECRET);
    const payload = { iss: 'geogate', aud: 'geogate:clearance', jti: 'x', sub: 'acct-1', net: '198.51.100.0/24', knd: 'step-up', rsn: ['TOR'], pv: 'p', iat: 1, exp: 2 };
    const noType = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const badCode = await new SignJWT({ ...payload, rsn: ['EVERYTHING'] }).setProtectedHeader({ alg: 'HS256', typ: 'gg-clearance+jwt' }).sign(key);
    const notJson = await new CompactSign(new TextEncoder().encode('not json')).setProtectedHeader({ alg: 'HS256', typ: 'gg-clearance+jwt' }).sign(key);
    const good = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'gg-clearance+jwt' }).sign(key);
    expect(await readClearance(noType, [SECRET])).toEqual({ status: 'invalid', why: 'malformed' });
    expect(await readClearance(badCode, [SECRET])).toEqual({ status: 'invalid', why: 'malformed' });
    expect(await readClearance(notJson, [SECRET])).toEqual({ status: 'invalid', why: 'malformed' });
    expect((await readClearance(good, [SECRET])).status).toBe('signed');
    const ticketPayload = { iss: 'geogate', aud: 'geogate:ticket', jti: 'r', rsn: ['NOT_A_CODE'], knd: ['turnstile'], pv: 'p', iat: Math.floor(NOW / 1000), exp: Math.floor(NOW / 1000) + 60 };
    const badTicket = await new SignJWT(ticketPayload).setProtectedHeader({ alg: 'HS256', typ: 'gg-ticket+jwt' }).sign(key);
    expect(await readTicket(badTicket, [SECRET], NOW)).toEqual({ ok: false, why: 'malformed' });
  });

  it('an accountless clearance has no account', async () => {
    const { token } = await signClearance(SECRET, { ...grant, account: undefined });
    const read = await readClearance(token, [SECRET]);
    expect(read.status === 'signed' && read.claims).not.toHaveProperty('account');
  });

  it('tickets and clearances never stand in for each other', async () => {
    const ticket = await signTicket(SECRET, { requestId: 'r-1', account: 'acct-1', network: '198.51.100.0/24', reasons: ['TOR'], kinds: ['turnstile'], policyVersion: 'p-1', issuedAt: NOW, expiresAt: NOW + 600_000 });
    const { token } = await signClearance(SECRET, grant);
    expect(await readClearance(ticket, [SECRET])).toEqual({ status: 'invalid', why: 'malformed' });
    expect(await readTicket(token, [SECRET], NOW)).toEqual({ ok: false, why: 'malformed' });
    expect(await readTicket(ticket, [SECRET], NOW)).toEqual({
      ok: true,
      ticket: { requestId: 'r-1', account: 'acct-1', network: '198.51.100.0/24', reasons: ['TOR'], kinds: ['turnstile'], policyVersion: 'p-1', issuedAt: NOW, expiresAt: NOW + 600_000 },
    });
    expect(await readTicket(ticket, [OLD, SECRET], NOW + 600_000)).toEqual({ ok: false, why: 'expired' });
    expect(await readTicket(ticket, [OLD], NOW)).toEqual({ ok: false, why: 'signature' });
  });
});

describe('tickets are the JWS jose would sign', () => {
  // signTicket writes the compact JWS out by hand (it is on every challenge decision's latency):
  // it must be byte for byte what jose's SignJWT signs for the same claims, whatever the text.
  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('acct-1', 'Zoë', '客户-7', '😀', 'a"b\\c', ''));
  const ticketArb = fc.record(
    {
      requestId: text.filter((s) => s.length > 0),
      account: text,
      network: fc.constantFrom('198.51.100.0/24', '2001:db8::/48'),
      reasons: fc.array(fc.constantFrom('TOR', 'NETWORK_VPN', 'TZ_MISMATCH'), { maxLength: 3 }),
      kinds: fc.array(fc.constantFrom('turnstile', 'step-up'), { minLength: 1, maxLength: 2 }),
      policyVersion: text,
      issuedAt: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      expiresIn: fc.integer({ min: 1, max: 86_400_000 }),
    },
    { requiredKeys: ['requestId', 'reasons', 'kinds', 'policyVersion', 'issuedAt', 'expiresIn'] },
  );

  it('equals SignJWT byte for byte, and readTicket reads it back', async () => {
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    await fc.assert(
      fc.asyncProperty(ticketArb, async ({ expiresIn, ...t }) => {
        const ticket = { ...t, expiresAt: t.issuedAt + expiresIn };
        const ours = await signTicket(SECRET, ticket);
        const jose = await new SignJWT({ ...(t.account !== undefined ? { sub: t.account } : {}), ...(t.network !== undefined ? { net: t.network } : {}), rsn: [...t.reasons], knd: [...t.kinds], pv: t.policyVersion })
          .setProtectedHeader({ alg: 'HS256', typ: 'gg-ticket+jwt' })
          .setIssuer('geogate')
          .setAudience('geogate:ticket')
          .setJti(t.requestId)
          .setIssuedAt(Math.floor(t.issuedAt / 1000))
          .setExpirationTime(Math.floor(ticket.expiresAt / 1000))
          .sign(key);
        expect(ours).toBe(jose);
      }),
      { numRuns: 200 },
    );
    const unicode = { requestId: 'r-ü', account: '客户-7😀', network: '198.51.100.0/24', reasons: ['TOR'], kinds: ['turnstile'], policyVersion: 'p-ü', issuedAt: NOW, expiresAt: NOW + 600_000 };
    expect(await readTicket(await signTicket(SECRET, unicode), [SECRET], NOW)).toEqual({ ok: true, ticket: unicode });
  });
});

describe('challenge settings', () => {
  it('reads secrets, hostnames and the page switch; unusable secrets read as not configured', () => {
    expect(challengeConfig({ ...TOKENS, CLEARANCE_SECRET: SECRET, CLEARANCE_SECRET_PREVIOUS: OLD, TURNSTILE_SECRET: 's', TURNSTILE_HOSTNAMES: ' Example.com, ,app.example.com ', TURNSTILE_SITE_KEY: ' k ', CHALLENGE_PAGE: 'true' })).toEqual({
      clearanceSecrets: [SECRET, OLD],
      turnstile: { secret: 's', hostnames: ['example.com', 'app.example.com'] },
      siteKey: 'k',
      page: true,
    });
    expect(challengeConfig({ ...TOKENS, CLEARANCE_SECRET: 'short', CLEARANCE_SECRET_PREVIOUS: OLD }).clearanceSecrets).toEqual([]);
    expect(challengeConfig({ ...TOKENS, CLEARANCE_SECRET: SECRET, CLEARANCE_SECRET_PREVIOUS: 'short' }).clearanceSecrets).toEqual([SECRET]);
    expect(challengeConfig({ ...TOKENS, CLEARANCE_SECRET: TOKENS.CHECK_TOKEN.padEnd(40, 'x') }).clearanceSecrets).toHaveLength(1);
    expect(challengeConfig({ CHECK_TOKEN: SECRET, CLEARANCE_SECRET: SECRET }).clearanceSecrets).toEqual([]);
    expect(challengeConfig({ TURNSTILE_SECRET: 's' })).not.toHaveProperty('turnstile');
    expect(challengeConfig({ TURNSTILE_SECRET: 's', TURNSTILE_HOSTNAMES: 'a', TURNSTILE_ACTION: ' login ' }).turnstile).toEqual({ secret: 's', hostnames: ['a'], action: 'login' });
    expect(challengeConfig({ CHALLENGE_PAGE: 'TRUE' }).page).toBe(false);
    // 32 characters is the shortest secret accepted.
    expect(challengeConfig({ CLEARANCE_SECRET: 'x'.repeat(32) }).clearanceSecrets).toHaveLength(1);
    expect(challengeConfig({ CLEARANCE_SECRET: 'x'.repeat(31) }).clearanceSecrets).toHaveLength(0);
  });

  it('reports each problem for /healthz', () => {
    expect(challengeProblems({ ...TOKENS, CLEARANCE_SECRET: SECRET, TURNSTILE_SECRET: 's', TURNSTILE_HOSTNAMES: 'a' })).toEqual([]);
    expect(challengeProblems({ ...TOKENS }).map((p) => [p.setting, p.problem])).toEqual([['CLEARANCE_SECRET', 'missing']]);
    expect(challengeProblems({ ...TOKENS, CLEARANCE_SECRET: 'short', CLEARANCE_SECRET_PREVIOUS: TOKENS.ADMIN_TOKEN, TURNSTILE_SECRET: 's' }).map((p) => [p.setting, p.problem])).toEqual([
      ['CLEARANCE_SECRET', 'too-short'],
      ['CLEARANCE_SECRET_PREVIOUS', 'too-short'],
      ['TURNSTILE_HOSTNAMES', 'incomplete'],
    ]);
    expect(challengeProblems({ ...TOKENS, CLEARANCE_SECRET: '', TURNSTILE_SECRET: ' ', TURNSTILE_HOSTNAMES: ' ' }).map((p) => [p.setting, p.problem])).toEqual([['CLEARANCE_SECRET', 'missing']]);
    expect(challengeProblems({ ...TOKENS, CLEARANCE_SECRET: 'x'.repeat(32) })).toEqual([]);
    expect(challengeProblems({ ...TOKENS, CLEARANCE_SECRET: 'x'.repeat(31) })).toEqual([
      { setting: 'CLEARANCE_SECRET', problem: 'too-short', affects: 'clearances (challenged users cannot be cleared)', message: 'CLEARANCE_SECRET is shorter than 32 characters' },
    ]);
    const sameAsToken = 'x'.repeat(40);
    expect(challengeProblems({ CHECK_TOKEN: sameAsToken, CLEARANCE_SECRET: sameAsToken, TURNSTILE_HOSTNAMES: 'a' }).map((p) => [p.setting, p.problem])).toEqual([
      ['CLEARANCE_SECRET', 'same-as-token'],
      ['TURNSTILE_SECRET', 'incomplete'],
    ]);
  });
});
