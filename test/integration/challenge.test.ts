// The challenge flow through the Worker (SELF.fetch, real local KV and Durable Objects):
// a challenged check carries a ticket; POST /v1/challenge/step-up and /v1/challenge/turnstile turn
// a passed challenge into a clearance; the clearance lifts that challenge on /v1/check and
// /v1/authorize, and nothing else. Turnstile's siteverify is stubbed (no network): the worker runs
// in the test's isolate, so a spy on globalThis.fetch sees its outbound calls.
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { signClearance } from '../../src/challenge/tokens';
import { ADMIN_TOKEN, CHECK_TOKEN, CLEARANCE_SECRET, postCheck, resetPolicyState } from '../helpers';
import { stubSiteverify, verified } from '../siteverify-stub';

const SECRET = CLEARANCE_SECRET;
const PREVIOUS = 'test-previous-clearance-secret-0123456789';
const TURNSTILE_SECRET = '1x0000000000000000000000000000000AA';

/** A Tor exit user of account acct-1: the default policy challenges Tor (rule id "tor"). */
const TOR_USER = { ip: '198.51.100.7', geo: { country: 'T1' }, account: { id: 'acct-1' } };

interface DecisionJson {
  decision: string;
  reasons: { code: string; rule: string; action: string; liftedBy?: string; evidence: Record<string, unknown> }[];
  requestId: string;
  challenge?: { kinds: string[]; expiresIn: number; clears: string[]; turnstile?: { siteKey: string }; ticket?: string };
}

async function check(body: unknown): Promise<DecisionJson> {
  const res = await postCheck(body);
  expect(res.status).toBe(200);
  return res.json<DecisionJson>();
}

function post(path: string, body: unknown, token: string | null = CHECK_TOKEN, headers: Record<string, string> = {}) {
  return SELF.fetch(`https://geogate.test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

interface ErrorJson {
  error: { code: string; message: string; issues?: { path: string; code: string; message: string }[] };
}
interface GrantJson {
  clearance: string;
  id: string;
  expiresAt: string;
  kind: string;
  reasons: string[];
  account: string | null;
  network: string;
  policyVersion: string;
}


/** Typed asymmetric matchers (vitest's return any). */
const anyString = expect.any(String) as unknown as string;
const matching = (re: RegExp) => expect.stringMatching(re) as unknown as string;


const siteverify = stubSiteverify();

beforeEach(async () => {
  await resetPolicyState();
});

async function challengedTicket(body: unknown = TOR_USER): Promise<DecisionJson & { challenge: { ticket: string } }> {
  const d = await check(body);
  expect(d.decision).toBe('challenge');
  expect(d.challenge?.ticket).toEqual(anyString);
  return d as DecisionJson & { challenge: { ticket: string } };
}

describe('a challenge decision', () => {
  it('offers the policy kinds, the Turnstile site key, what it is about, and a signed ticket', async () => {
    const d = await challengedTicket();
    expect(d.challenge).toEqual({ kinds: ['turnstile', 'step-up'], expiresIn: 600, clears: ['TOR'], turnstile: { siteKey: '1x00000000000000000000AA' }, ticket: matching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
  });

  it('on /v1/authorize comes with Geogate-Challenge-Kinds and Geogate-Challenge-Ticket', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', 'geogate-ip': TOR_USER.ip, 'geogate-country': 'T1' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('geogate-challenge-kinds')).toBe('turnstile,step-up');
    const body = await res.json<DecisionJson>();
    expect(res.headers.get('geogate-challenge-ticket')).toBe(body.challenge?.ticket);
  });
});

describe('POST /v1/challenge/step-up', () => {
  it('turns a ticket into a clearance that lifts exactly that challenge', async () => {
    const d = await challengedTicket();
    const res = await post('/v1/challenge/step-up', { account: { id: 'acct-1' }, ip: '198.51.100.200', method: 'otp-email', ticket: d.challenge.ticket, requestId: d.requestId });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const g = await res.json<GrantJson>();
    expect(g).toEqual({
      clearance: anyString,
      id: anyString,
      expiresAt: anyString,
      kind: 'step-up',
      reasons: ['TOR'],
      account: 'acct-1',
      network: '198.51.100.0/24',
      policyVersion: matching(/^default-/),
    });
    const ttl = Date.parse(g.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(1790_000);
    expect(ttl).toBeLessThanOrEqual(1800_000);

    const cleared = await check({ ...TOR_USER, clearance: g.clearance });
    expect(cleared.decision).toBe('allow');
    expect(cleared.challenge).toBeUndefined();
    expect(cleared.reasons.map((r) => [r.code, r.liftedBy ?? null])).toEqual([
      ['CLEARANCE_VALID', null],
      ['TOR', 'challengeClearance'],
    ]);
    expect(cleared.reasons[0]?.evidence).toMatchObject({ clearance: g.id, kind: 'step-up', cleared: ['TOR'] });
  });

  it('takes the reason codes instead of a ticket (the origin names what it verified)', async () => {
    const res = await post('/v1/challenge/step-up', { account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', reasons: ['TOR', 'TOR'] });
    expect(res.status).toBe(200);
    const g = await res.json<GrantJson>();
    expect(g.reasons).toEqual(['TOR']);
    expect((await check({ ...TOR_USER, clearance: g.clearance })).decision).toBe('allow');
  });

  it.each<[string, (t: string, id: string) => Record<string, unknown>, number, string, string]>([
    ['neither ticket nor reasons', () => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc' }), 400, 'INVALID_REQUEST', 'ticket'],
    ['both ticket and reasons', (t) => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', ticket: t, reasons: ['TOR'] }), 400, 'INVALID_REQUEST', 'reasons'],
    ['a ticket of another account', (t) => ({ account: { id: 'acct-2' }, ip: TOR_USER.ip, method: 'kyc', ticket: t }), 400, 'TICKET_MISMATCH', 'account.id'],
    ['a ticket of another network', (t) => ({ account: { id: 'acct-1' }, ip: '198.51.101.7', method: 'kyc', ticket: t }), 400, 'TICKET_MISMATCH', 'ip'],
    ['a ticket of another request id', (t) => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', ticket: t, requestId: 'other' }), 400, 'TICKET_MISMATCH', 'requestId'],
    ['a tampered ticket', (t) => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', ticket: `${t.slice(0, -2)}xx` }), 400, 'TICKET_INVALID', 'ticket'],
    ['a kind the challenge did not offer', (t) => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', kind: 'sso', ticket: t }), 409, 'KIND_NOT_OFFERED', 'kind'],
    ['turnstile as a step-up', (t) => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', kind: 'turnstile', ticket: t }), 400, 'INVALID_REQUEST', 'kind'],
    ['a reason code that cannot challenge', () => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', reasons: ['IP_ALLOWED'] }), 400, 'INVALID_REQUEST', 'reasons.0'],
    ['no account id', (t) => ({ account: {}, ip: TOR_USER.ip, method: 'kyc', ticket: t }), 400, 'INVALID_REQUEST', 'account.id'],
    ['an empty account id', (t) => ({ account: { id: '' }, ip: TOR_USER.ip, method: 'kyc', ticket: t }), 400, 'INVALID_REQUEST', 'account.id'],
    ['an account id no admin route could name', (t) => ({ account: { id: '..' }, ip: TOR_USER.ip, method: 'kyc', ticket: t }), 400, 'INVALID_REQUEST', 'account.id'],
    ['no IP', (t) => ({ account: { id: 'acct-1' }, method: 'kyc', ticket: t }), 400, 'INVALID_REQUEST', 'ip'],
    ['an IP with a zone id', (t) => ({ account: { id: 'acct-1' }, ip: 'fe80::1%eth0', method: 'kyc', ticket: t }), 400, 'INVALID_REQUEST', 'ip'],
    ['no method', (t) => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, ticket: t }), 400, 'INVALID_REQUEST', 'method'],
    ['an unknown field', (t) => ({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', ticket: t, admin: true }), 400, 'INVALID_REQUEST', 'admin'],
  ])('refuses %s with a clear error and no clearance', async (_name, body, status, code, path) => {
    const d = await challengedTicket();
    const res = await post('/v1/challenge/step-up', body(d.challenge.ticket, d.requestId));
    expect(res.status).toBe(status);
    const e = await res.json<ErrorJson>();
    expect(e.error.code).toBe(code);
    expect(e.error.issues?.map((i) => i.path)).toContain(path);
    expect(JSON.stringify(e)).not.toMatch(/eyJ/);
  });

  it('refuses an expired ticket', async () => {
    const d = await challengedTicket();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 601_000);
      const res = await post('/v1/challenge/step-up', { account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', ticket: d.challenge.ticket });
      expect(res.status).toBe(400);
      expect((await res.json<ErrorJson>()).error).toMatchObject({ code: 'TICKET_INVALID', message: matching(/expired/) });
    } finally {
      vi.useRealTimers();
    }
  });

  it('needs the check token: none, a wrong one and the admin token are refused', async () => {
    const body = { account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', reasons: ['TOR'] };
    expect((await post('/v1/challenge/step-up', body, null)).status).toBe(401);
    expect((await post('/v1/challenge/step-up', body, 'not-the-token-0123456789')).status).toBe(401);
    expect((await post('/v1/challenge/step-up', body, ADMIN_TOKEN)).status).toBe(401);
  });

  it('refuses forward-auth traffic (a Geogate-* header) before the token, and other methods', async () => {
    const body = { account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', reasons: ['TOR'] };
    const misrouted = await post('/v1/challenge/step-up', body, CHECK_TOKEN, { 'geogate-ip': '198.51.100.7' });
    expect(misrouted.status).toBe(400);
    expect((await misrouted.json<ErrorJson>()).error.code).toBe('MISROUTED');
    const viaAuthorize = await SELF.fetch('https://geogate.test/v1/authorize/%2e%2e/challenge/step-up', {
      method: 'POST',
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': '198.51.100.7', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(viaAuthorize.status).not.toBe(200);
    const get = await SELF.fetch('https://geogate.test/v1/challenge/step-up', { headers: { authorization: `Bearer ${CHECK_TOKEN}` } });
    expect(get.status).toBe(405);
    const form = await post('/v1/challenge/step-up', 'a=b', CHECK_TOKEN, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
  });
});

describe('POST /v1/challenge/turnstile', () => {
  it('verifies the token with siteverify (secret, response, remoteip, idempotency_key) and clears the ticket', async () => {
    const d = await challengedTicket();
    const res = await post('/v1/challenge/turnstile', { token: 'XXXX.DUMMY.TOKEN.XXXX', ip: TOR_USER.ip, account: { id: 'acct-1' }, requestId: d.requestId, ticket: d.challenge.ticket });
    expect(res.status).toBe(200);
    expect(siteverify.calls).toEqual([{ secret: TURNSTILE_SECRET, response: 'XXXX.DUMMY.TOKEN.XXXX', remoteip: TOR_USER.ip, idempotency_key: matching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) }]);
    const g = await res.json<GrantJson>();
    expect(g).toMatchObject({ kind: 'turnstile', reasons: ['TOR'], account: 'acct-1', network: '198.51.100.0/24' });
    expect((await check({ ...TOR_USER, clearance: g.clearance })).decision).toBe('allow');
  });

  it('clears a visitor without an account, bound to the network alone', async () => {
    const anon = { ip: TOR_USER.ip, geo: { country: 'T1' } };
    const d = await challengedTicket(anon);
    const res = await post('/v1/challenge/turnstile', { token: 't', ip: TOR_USER.ip, ticket: d.challenge.ticket });
    expect(res.status).toBe(200);
    const g = await res.json<GrantJson>();
    expect(g.account).toBeNull();
    expect((await check({ ...anon, clearance: g.clearance })).decision).toBe('allow');
    // The same clearance presented for an account is another binding.
    const bound = await check({ ...TOR_USER, clearance: g.clearance });
    expect(bound.decision).toBe('challenge');
    expect(bound.reasons.find((r) => r.code === 'CLEARANCE_INVALID')?.evidence).toEqual({ why: 'account' });
  });

  it.each<[string, (n: number) => Response | Promise<Response>, number, string]>([
    ['siteverify says the token is invalid', () => Response.json({ success: false, 'error-codes': ['invalid-input-response'] }), 400, 'TURNSTILE_FAILED'],
    ['the token was already spent (timeout-or-duplicate)', () => Response.json({ success: false, 'error-codes': ['timeout-or-duplicate'] }), 400, 'TURNSTILE_SPENT'],
    ['the challenge was solved on another hostname', () => verified({ hostname: 'evil.example' }), 400, 'TURNSTILE_MISMATCH'],
    ['siteverify refuses geogate secret', () => Response.json({ success: false, 'error-codes': ['invalid-input-secret'] }), 502, 'TURNSTILE_UNAVAILABLE'],
    ['siteverify answers something that is not JSON', () => new Response('<html>oops</html>', { status: 200 }), 502, 'TURNSTILE_UNAVAILABLE'],
    ['siteverify answers JSON of another shape', () => Response.json({ ok: true }), 502, 'TURNSTILE_UNAVAILABLE'],
    ['siteverify answers success as a string', () => Response.json({ success: 'true', hostname: 'example.com' }), 502, 'TURNSTILE_UNAVAILABLE'],
    ['siteverify fails twice (5xx)', () => new Response('bad gateway', { status: 503 }), 502, 'TURNSTILE_UNAVAILABLE'],
    ['the network fails twice', () => Promise.reject(new TypeError('network down')), 502, 'TURNSTILE_UNAVAILABLE'],
  ])('answers a clear error and no clearance when %s', async (_name, answer, status, code) => {
    siteverify.answer = answer;
    const d = await challengedTicket();
    const res = await post('/v1/challenge/turnstile', { token: 'tok', ip: TOR_USER.ip, account: { id: 'acct-1' }, ticket: d.challenge.ticket });
    expect(res.status).toBe(status);
    const e = await res.json<ErrorJson>();
    expect(e.error.code).toBe(code);
    expect(JSON.stringify(e)).not.toContain('clearance"');
    expect(JSON.stringify(e)).not.toContain(TURNSTILE_SECRET);
  });

  it('retries a failed siteverify once, with the same idempotency key', async () => {
    siteverify.answer = (n) => (n === 1 ? new Response('oops', { status: 500 }) : verified());
    const d = await challengedTicket();
    const res = await post('/v1/challenge/turnstile', { token: 'tok', ip: TOR_USER.ip, account: { id: 'acct-1' }, ticket: d.challenge.ticket });
    expect(res.status).toBe(200);
    expect(siteverify.calls).toHaveLength(2);
    expect(siteverify.calls[1]?.idempotency_key).toBe(siteverify.calls[0]?.idempotency_key);
  });

  it('gives up after 3 s when siteverify does not answer: 504', async () => {
    siteverify.answer = () => new Promise<Response>(() => undefined);
    const d = await challengedTicket();
    const started = Date.now();
    const res = await post('/v1/challenge/turnstile', { token: 'tok', ip: TOR_USER.ip, account: { id: 'acct-1' }, ticket: d.challenge.ticket });
    expect(res.status).toBe(504);
    expect((await res.json<ErrorJson>()).error.code).toBe('TURNSTILE_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('does not spend the token when the request could not be cleared anyway', async () => {
    const d = await challengedTicket();
    const res = await post('/v1/challenge/turnstile', { token: 'tok', ip: '203.0.113.9', account: { id: 'acct-1' }, ticket: d.challenge.ticket });
    expect(res.status).toBe(400);
    expect((await res.json<ErrorJson>()).error.code).toBe('TICKET_MISMATCH');
    expect(siteverify.calls).toHaveLength(0);
  });

  it.each([
    ['an empty token', { token: '' }],
    ['a token over 2048 characters', { token: 'x'.repeat(2049) }],
    ['a token that is not a string', { token: 42 }],
  ])('refuses %s (400 naming token) without calling siteverify', async (_name, over) => {
    const res = await post('/v1/challenge/turnstile', { ip: TOR_USER.ip, reasons: ['TOR'], ...over });
    expect(res.status).toBe(400);
    expect((await res.json<ErrorJson>()).error.issues?.map((i) => i.path)).toEqual(['token']);
    expect(siteverify.calls).toHaveLength(0);
  });
});

describe('clearances on the check routes', () => {
  async function stepUp(over: Record<string, unknown> = {}): Promise<GrantJson> {
    const res = await post('/v1/challenge/step-up', { account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'kyc', reasons: ['TOR'], ...over });
    expect(res.status).toBe(200);
    return res.json<GrantJson>();
  }

  const invalidWhy = (d: DecisionJson) => d.reasons.find((r) => r.code === 'CLEARANCE_INVALID')?.evidence.why;

  it('lifts the challenge on /v1/authorize from Geogate-Clearance or the geogate_clearance cookie', async () => {
    const g = await stepUp();
    const base = { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', 'geogate-ip': TOR_USER.ip, 'geogate-country': 'T1', 'geogate-account-id': 'acct-1' };
    const ways: Record<string, string>[] = [{ 'geogate-clearance': g.clearance }, { cookie: `session=abc; geogate_clearance=${g.clearance}; theme=dark` }];
    for (const extra of ways) {
      const res = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { ...base, ...extra } });
      expect(res.status).toBe(200);
      expect(res.headers.get('geogate-decision')).toBe('allow');
      expect(res.headers.get('geogate-reasons')).toBe('CLEARANCE_VALID');
    }
    // Two different cookies, or a repeated header: one malformed clearance, never the better one.
    const other = await stepUp({ method: 'sso' });
    const twice: Record<string, string>[] = [{ cookie: `geogate_clearance=${g.clearance}; geogate_clearance=${other.clearance}` }, { 'geogate-clearance': `${g.clearance}, ${other.clearance}` }];
    for (const extra of twice) {
      const res = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { ...base, ...extra } });
      expect(res.status).toBe(401);
      expect(invalidWhy(await res.json<DecisionJson>())).toBe('malformed');
    }
  });

  it('ignores a re-bound clearance: another account, another network, no account', async () => {
    const g = await stepUp();
    expect(invalidWhy(await check({ ...TOR_USER, account: { id: 'acct-2' }, clearance: g.clearance }))).toBe('account');
    expect(invalidWhy(await check({ ...TOR_USER, account: undefined, clearance: g.clearance }))).toBe('account');
    expect(invalidWhy(await check({ ...TOR_USER, ip: '198.51.101.7', clearance: g.clearance }))).toBe('network');
    expect(invalidWhy(await check({ ...TOR_USER, ip: '::ffff:198.51.101.7', clearance: g.clearance }))).toBe('network');
    expect(invalidWhy(await check({ ...TOR_USER, ip: undefined, clearance: g.clearance }))).toBe('network');
    // The same network in its IPv4-mapped form is the same network.
    expect((await check({ ...TOR_USER, ip: '::ffff:198.51.100.99', clearance: g.clearance })).decision).toBe('allow');
  });

  it('ignores every tampered, forged or expired clearance', async () => {
    const g = await stepUp();
    const [head = '', payload = '', sig = ''] = g.clearance.split('.');
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const key = (s: string) => new TextEncoder().encode(s);
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, string][] = [
      ['a flipped signature', `${head}.${payload}.${sig.slice(0, -3)}${sig.slice(-3) === 'AAA' ? 'BBB' : 'AAA'}`, 'signature'],
      ['a widened payload under the old signature', `${head}.${b64({ ...claims, rsn: ['TOR', 'COUNTRY_DENIED'] })}.${sig}`, 'signature'],
      ['another account under the old signature', `${head}.${b64({ ...claims, sub: 'acct-2' })}.${sig}`, 'signature'],
      ['alg none', `${b64({ alg: 'none', typ: 'gg-clearance+jwt' })}.${payload}.`, 'malformed'],
      ['signed with a key not in force', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'gg-clearance+jwt' }).sign(key('some-other-secret-0123456789abcdefgh')), 'signature'],
      ['a ticket presented as a clearance', (await challengedTicket()).challenge.ticket, 'malformed'],
      ['the right key but no type', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key(SECRET)), 'malformed'],
      ['the right key but HS512', await new SignJWT(claims).setProtectedHeader({ alg: 'HS512', typ: 'gg-clearance+jwt' }).sign(key(SECRET)), 'signature'],
      ['the right key but another audience', await new SignJWT({ ...claims, aud: 'geogate:ticket' }).setProtectedHeader({ alg: 'HS256', typ: 'gg-clearance+jwt' }).sign(key(SECRET)), 'malformed'],
      ['an expired clearance', await new SignJWT({ ...claims, iat: now - 4000, exp: now - 10 }).setProtectedHeader({ alg: 'HS256', typ: 'gg-clearance+jwt' }).sign(key(SECRET)), 'expired'],
      ['a clearance for a reason code that does not exist', await new SignJWT({ ...claims, rsn: ['EVERYTHING'] }).setProtectedHeader({ alg: 'HS256', typ: 'gg-clearance+jwt' }).sign(key(SECRET)), 'malformed'],
      ['garbage', 'not-a-token', 'malformed'],
      ['a 10 KB token', `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`, 'malformed'],
    ];
    for (const [name, token, why] of cases) {
      const d = await check({ ...TOR_USER, clearance: token });
      expect([name, d.decision, invalidWhy(d)]).toEqual([name, 'challenge', why]);
    }
  });

  it('accepts a clearance signed with CLEARANCE_SECRET_PREVIOUS (rotation)', async () => {
    const now = Date.now();
    const { token } = await signClearance(PREVIOUS, { kind: 'step-up', account: 'acct-1', network: '198.51.100.0/24', reasons: ['TOR'], policyVersion: 'old', issuedAt: now, expiresAt: now + 60_000 });
    expect((await check({ ...TOR_USER, clearance: token })).decision).toBe('allow');
  });

  it('never lifts a deny', async () => {
    // An account of its own: the memory would otherwise remember this CN IP for acct-1.
    const g = await stepUp({ account: { id: 'acct-cn' }, reasons: ['COUNTRY_DENIED', 'TOR'] });
    const d = await check({ ...TOR_USER, account: { id: 'acct-cn' }, geo: { country: 'CN' }, clearance: g.clearance });
    expect(d.decision).toBe('deny');
    expect(d.reasons.find((r) => r.code === 'CLEARANCE_INSUFFICIENT')).toBeDefined();
    const res = await SELF.fetch('https://geogate.test/v1/authorize', {
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': TOR_USER.ip, 'geogate-country': 'CN', 'geogate-account-id': 'acct-cn', 'geogate-clearance': g.clearance },
    });
    expect(res.status).toBe(403);
  });

  it('a malformed clearance in the body is evidence, never a 400', async () => {
    for (const clearance of ['', ' ', 'x'.repeat(60_000)]) {
      const res = await postCheck({ ...TOR_USER, clearance });
      expect(res.status).toBe(200);
    }
    expect((await postCheck({ ...TOR_USER, clearance: 42 })).status).toBe(400);
  });

  it('revocation: DELETE /v1/accounts/{id}/clearances revokes what was issued before, audited; a new clearance counts again', async () => {
    const g = await stepUp();
    const first = await check({ ...TOR_USER, clearance: g.clearance });
    expect([first.decision, first.reasons.map((r) => [r.code, r.evidence.why])]).toEqual(['allow', [['CLEARANCE_VALID', undefined], ['TOR', undefined]]]);
    const admin = (method: string, path: string, token = ADMIN_TOKEN) => SELF.fetch(`https://geogate.test${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    expect((await admin('GET', '/v1/accounts/acct-1/clearances')).status).toBe(200);
    expect(await (await admin('GET', '/v1/accounts/acct-1/clearances')).json()).toEqual({ account: 'acct-1', revokedAt: null });
    // The check token can neither read nor revoke.
    expect((await admin('DELETE', '/v1/accounts/acct-1/clearances', CHECK_TOKEN)).status).toBe(403);
    const revoked = await admin('DELETE', '/v1/accounts/acct-1/clearances');
    expect(revoked.status).toBe(200);
    const body = await revoked.json<{ revokedAt: string }>();
    expect(body).toEqual({ account: 'acct-1', revoked: true, revokedAt: anyString });
    expect(await (await admin('GET', '/v1/accounts/acct-1/clearances')).json()).toEqual({ account: 'acct-1', revokedAt: body.revokedAt });
    const d = await check({ ...TOR_USER, clearance: g.clearance });
    expect(d.decision).toBe('challenge');
    expect(invalidWhy(d)).toBe('revoked');
    // Another account's clearances are untouched.
    const other = await stepUp({ account: { id: 'acct-9' } });
    expect((await check({ ...TOR_USER, account: { id: 'acct-9' }, clearance: other.clearance })).decision).toBe('allow');
    // A clearance issued after the revocation counts.
    const later = Date.parse(body.revokedAt) + 1000;
    const { token } = await signClearance(SECRET, { kind: 'step-up', account: 'acct-1', network: '198.51.100.0/24', reasons: ['TOR'], policyVersion: 'p', issuedAt: later, expiresAt: later + 60_000 });
    expect((await check({ ...TOR_USER, clearance: token })).decision).toBe('allow');
    const audit = await (await admin('GET', '/v1/audit?limit=100')).json<{ entries: { action: string; target: string }[] }>();
    expect(audit.entries.filter((e) => e.target === 'acct-1').map((e) => e.action)).toEqual(['account.clearances.revoke']);
  });

  it('an unreadable revocation keeps the challenge (fail closed)', async () => {
    const g = await stepUp();
    const { revocationKey } = await import('../../src/policy/keys');
    const { sha256Hex } = await import('../../src/policy/snapshot');
    await env.POLICY.put(revocationKey(await sha256Hex('acct-1')), '{not json');
    const d = await check({ ...TOR_USER, clearance: g.clearance });
    expect(d.decision).toBe('challenge');
    expect(invalidWhy(d)).toBe('revocation-unknown');
  });
});

describe('/healthz', () => {
  it('reports the challenge settings', async () => {
    const res = await SELF.fetch('https://geogate.test/healthz');
    const body = await res.json<{ challenge: unknown }>();
    expect(body.challenge).toEqual({ clearances: 'ok', keys: 2, turnstile: 'ok', page: true });
  });
});
