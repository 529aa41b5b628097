// Security review (docs/security.md), tokens: compared in constant time over the secret's own bytes,
// two distinct audiences, and the dev-only tokens of .dev.vars.example refused off loopback. The
// settings themselves (missing, short, equal) are unit-tested in test/unit/auth.test.ts; this file
// adds what an attacker would probe.
import { createExecutionContext, SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import devVarsExample from '../../.dev.vars.example?raw';
import { DEV_DEFAULT_TOKENS, isLoopbackUrl, TOKEN_NAMES, tokenConfigProblems, tokenEquals, tokenProblem } from '../../src/http/auth';
import { DEV_DEFAULT_SECRETS, devSecretProblems } from '../../src/settings';
import { signClearance } from '../../src/challenge/tokens';
import { AccessCheck } from '../../src/rpc/access-check';
import { ADMIN_TOKEN, CHECK_TOKEN, resetPolicyState } from '../helpers';
import { call } from './helpers';

beforeEach(async () => {
  await resetPolicyState();
  // Refusals are logged (without the token); kept out of the test output.
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

/** Calls the Worker at `url` with overridden bindings, waiting for its background work. */
const fetchWith = (overrides: Record<string, unknown>, url: string, init: RequestInit = {}): Promise<Response> => call(new Request(url, init), overrides);

/** Every call of crypto.subtle.timingSafeEqual while `run` runs: the byte lengths of its two buffers. */
async function comparisons(run: () => unknown): Promise<[number, number][]> {
  const spy = vi.spyOn(crypto.subtle, 'timingSafeEqual');
  try {
    await run();
    return spy.mock.calls.map(([a, b]) => [a.byteLength, b.byteLength]);
  } finally {
    spy.mockRestore();
  }
}

describe('tokens are compared in constant time, over the secret’s own bytes', () => {
  const SECRET = 'a-secret-of-32-characters-012345';
  const PRESENTED: [string, string][] = [
    ['the right token', SECRET],
    ['a wrong token of the same length', `${SECRET.slice(0, -1)}x`],
    ['a wrong first character', `x${SECRET.slice(1)}`],
    ['a one-character prefix', 'a'],
    ['all but the last character', SECRET.slice(0, -1)],
    ['the token and one more character', `${SECRET}x`],
    ['a token ten times as long', SECRET.repeat(10)],
    ['as many characters but more bytes (UTF-8)', `é${SECRET.slice(1)}`.slice(0, SECRET.length)],
    ['an empty string', ''],
  ];

  it.each(PRESENTED)('%s: exactly one timingSafeEqual over two buffers of the secret’s length, no early return', async (_name, presented) => {
    let result: boolean | undefined;
    const calls = await comparisons(() => (result = tokenEquals(presented, SECRET)));
    expect(calls).toEqual([[bytes(SECRET), bytes(SECRET)]]);
    expect(result).toBe(presented === SECRET);
  });

  it('compares the presented bytes themselves when the length matches (a wrong token of the right length is false)', () => {
    const spy = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    expect(tokenEquals(`${SECRET.slice(0, -1)}x`, SECRET)).toBe(false);
    const [given, expected] = spy.mock.calls[0] ?? [];
    expect(new TextDecoder().decode(given as ArrayBufferView)).toBe(`${SECRET.slice(0, -1)}x`);
    expect(new TextDecoder().decode(expected as ArrayBufferView)).toBe(SECRET);
  });

  it.each([
    ['a wrong token', 'wrong-token-0123456789'],
    ['a one-character token', 'x'],
    ['a 4 KB token', 'x'.repeat(4096)],
    ['a prefix of the check token', CHECK_TOKEN.slice(0, 8)],
    ['the check token', CHECK_TOKEN],
  ])('through the Worker, %s on every route family is compared over a configured secret’s length only', async (_name, presented) => {
    const lengths = new Set([bytes(CHECK_TOKEN), bytes(ADMIN_TOKEN)]);
    const calls = await comparisons(async () => {
      const auth = { authorization: `Bearer ${presented}` };
      const answers = await Promise.all([
        SELF.fetch('https://geogate.test/v1/check', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' }),
        SELF.fetch('https://geogate.test/v1/authorize', { headers: { 'geogate-token': presented, 'geogate-country': 'US' } }),
        SELF.fetch('https://geogate.test/v1/policy', { headers: auth }),
        SELF.fetch('https://geogate.test/v1/accounts/acct-1/activity', { headers: auth }),
      ]);
      for (const r of answers) await r.body?.cancel();
    });
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (const [a, b] of calls) {
      expect(a).toBe(b);
      expect(lengths.has(a)).toBe(true);
    }
  });
});

describe('two audiences: the check token and the admin token are distinct', () => {
  it.each([
    ['POST', '/v1/check', { 'content-type': 'application/json' }, '{}'],
    ['GET', '/v1/authorize', { 'geogate-country': 'US' }, undefined],
    ['POST', '/v1/challenge/step-up', { 'content-type': 'application/json' }, '{}'],
    ['GET', '/v1/policy', {}, undefined],
    ['GET', '/v1/accounts/acct-1/activity', {}, undefined],
    ['GET', '/v1/accounts/acct-1/clearances', {}, undefined],
  ] as const)('CHECK_TOKEN equal to ADMIN_TOKEN: %s %s refuses (503) with either', async (method, path, headers, body) => {
    for (const token of [CHECK_TOKEN, ADMIN_TOKEN]) {
      const res = await fetchWith({ CHECK_TOKEN: token, ADMIN_TOKEN: token }, `https://geogate.test${path}`, { method, headers: { ...headers, authorization: `Bearer ${token}` }, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_CONFIGURED' } });
    }
  });

  it('CHECK_TOKEN equal to ADMIN_TOKEN: /healthz is degraded and names the problem for both', async () => {
    const res = await fetchWith({ ADMIN_TOKEN: CHECK_TOKEN }, 'https://geogate.test/healthz');
    const body = await res.json<{ status: string; configProblems: { setting: string; problem: string }[] }>();
    expect(body.status).toBe('degraded');
    expect(body.configProblems.filter((p) => p.problem === 'same-as-other').map((p) => p.setting)).toEqual(['CHECK_TOKEN', 'ADMIN_TOKEN']);
  });

  it('the admin token makes no decision and issues no clearance (401 on /v1/check and the challenge routes, 500 on forward-auth)', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const check = await SELF.fetch('https://geogate.test/v1/check', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(check.status).toBe(401);
    const stepUp = await SELF.fetch('https://geogate.test/v1/challenge/step-up', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(stepUp.status).toBe(401);
    const forward = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { ...auth, 'geogate-country': 'US' } });
    expect(forward.status).toBe(500);
    for (const r of [check, stepUp, forward]) await r.body?.cancel();
  });
});

describe('the dev-only tokens of .dev.vars.example serve loopback hosts only', () => {
  const DEV_CHECK = 'dev-check-token-not-secret';
  const DEV_ADMIN = 'dev-admin-token-not-secret';
  const DEV = { CHECK_TOKEN: DEV_CHECK, ADMIN_TOKEN: DEV_ADMIN };

  it('knows every token and secret .dev.vars.example ships (the Worker’s lists match the file)', () => {
    const values = new Map(
      devVarsExample
        .split('\n')
        .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    expect(DEV_DEFAULT_TOKENS).toEqual([values.get('CHECK_TOKEN'), values.get('ADMIN_TOKEN')]);
    expect(DEV_DEFAULT_SECRETS).toEqual({ MEMORY_HASH_SECRET: values.get('MEMORY_HASH_SECRET'), CLEARANCE_SECRET: values.get('CLEARANCE_SECRET') });
    // The vitest pool's own tokens are not dev defaults (the suite runs on https://geogate.test).
    expect(DEV_DEFAULT_TOKENS).not.toContain(CHECK_TOKEN);
    expect(DEV_DEFAULT_TOKENS).not.toContain(ADMIN_TOKEN);
  });

  it.each([
    ['http://127.0.0.1:8787/', true],
    ['http://localhost:8787/', true],
    ['http://[::1]:8787/', true],
    ['http://LOCALHOST/', true],
    ['https://geogate.example.workers.dev/', false],
    ['https://localhost.example.com/', false],
    ['https://127.0.0.1.example.com/', false],
    ['http://127.0.0.2/', false],
    ['http://0.0.0.0:8787/', false],
    ['http://192.168.1.10:8787/', false],
    ['not a url', false],
  ])('%s is loopback: %s', (url, want) => {
    expect(isLoopbackUrl(url)).toBe(want);
  });

  it('without a request URL, a dev-only token is a problem (fail closed), and the message says how to fix it', () => {
    expect(tokenProblem(DEV, 'CHECK_TOKEN')).toEqual({
      setting: 'CHECK_TOKEN',
      problem: 'dev-default',
      affects: 'check routes (/v1/check, /v1/authorize, /v1/challenge/*)',
      message: 'CHECK_TOKEN is the dev-only value from .dev.vars.example, which serves localhost only: set a real secret with `npx wrangler secret put CHECK_TOKEN`',
    });
    expect(tokenConfigProblems(DEV, 'https://geogate.example.com/healthz').map((p) => [p.setting, p.problem])).toEqual([
      ['CHECK_TOKEN', 'dev-default'],
      ['ADMIN_TOKEN', 'dev-default'],
    ]);
    expect(tokenConfigProblems(DEV, 'http://127.0.0.1:8787/healthz')).toEqual([]);
    // Either dev value, for either audience: swapping them does not help.
    expect(tokenProblem({ CHECK_TOKEN: DEV_ADMIN, ADMIN_TOKEN }, 'CHECK_TOKEN', 'https://geogate.example.com/')?.problem).toBe('dev-default');
    for (const name of TOKEN_NAMES) expect(tokenProblem({ CHECK_TOKEN, ADMIN_TOKEN }, name)).toBeUndefined();
  });

  it.each(['https://geogate.example.workers.dev', 'https://geogate.example.com', 'http://192.168.1.10:8787'])(
    'on %s the routes they guard refuse (503, saying to set a real secret) and /healthz is degraded',
    async (origin) => {
      const check = await fetchWith(DEV, `${origin}/v1/check`, { method: 'POST', headers: { authorization: `Bearer ${DEV_CHECK}`, 'content-type': 'application/json' }, body: '{"geo":{"country":"US"}}' });
      expect(check.status).toBe(503);
      const error = await check.json<{ error: { code: string; message: string } }>();
      expect(error.error.code).toBe('NOT_CONFIGURED');
      expect(error.error.message).toContain('npx wrangler secret put CHECK_TOKEN');
      expect(error.error.message).not.toContain(DEV_CHECK);

      const forward = await fetchWith(DEV, `${origin}/v1/authorize`, { headers: { authorization: `Bearer ${DEV_CHECK}`, 'geogate-country': 'US' } });
      expect(forward.status).toBe(503);
      expect(forward.headers.get('geogate-decision')).toBeNull();
      await forward.body?.cancel();

      const admin = await fetchWith(DEV, `${origin}/v1/policy`, { headers: { authorization: `Bearer ${DEV_ADMIN}` } });
      expect(admin.status).toBe(503);
      expect((await admin.json<{ error: { message: string } }>()).error.message).toContain('npx wrangler secret put ADMIN_TOKEN');

      const health = await fetchWith(DEV, `${origin}/healthz`);
      const body = await health.json<{ status: string; configProblems: { setting: string; problem: string; message: string }[] }>();
      expect(body.status).toBe('degraded');
      expect(body.configProblems.filter((p) => p.problem === 'dev-default').map((p) => p.setting)).toEqual(['CHECK_TOKEN', 'ADMIN_TOKEN']);
      expect(JSON.stringify(body)).not.toContain(DEV_CHECK);
    },
  );

  it.each(['http://127.0.0.1:8787', 'http://localhost:8787', 'http://[::1]:8787'])('on %s (npm start) they work as before', async (origin) => {
    const check = await fetchWith(DEV, `${origin}/v1/check`, { method: 'POST', headers: { authorization: `Bearer ${DEV_CHECK}`, 'content-type': 'application/json' }, body: '{"geo":{"country":"US"}}' });
    expect(check.status).toBe(200);
    expect(await check.json()).toMatchObject({ decision: 'allow' });
    const forward = await fetchWith(DEV, `${origin}/v1/authorize`, { headers: { authorization: `Bearer ${DEV_CHECK}`, 'geogate-country': 'US' } });
    expect(forward.status).toBe(200);
    await forward.body?.cancel();
    const admin = await fetchWith(DEV, `${origin}/v1/audit`, { headers: { authorization: `Bearer ${DEV_ADMIN}` } });
    expect(admin.status).toBe(200);
    await admin.body?.cancel();
    // The other audience's dev token is still refused: a dev check token cannot administer.
    const wrongDoor = await fetchWith(DEV, `${origin}/v1/audit`, { headers: { authorization: `Bearer ${DEV_CHECK}` } });
    expect(wrongDoor.status).toBe(403);
    await wrongDoor.body?.cancel();
    const health = await fetchWith(DEV, `${origin}/healthz`);
    const body = await health.json<{ configProblems?: { problem: string }[] }>();
    expect((body.configProblems ?? []).filter((p) => p.problem === 'dev-default')).toEqual([]);
  });

  describe('a dev CLEARANCE_SECRET signs and verifies for loopback requests only (anyone can forge with it)', () => {
    const DEV_CLEARANCE = DEV_DEFAULT_SECRETS.CLEARANCE_SECRET;
    const REAL = 'a-real-clearance-secret-0123456789abcdefgh';
    /** The dev value as the only clearance secret. */
    const dev = { CLEARANCE_SECRET: DEV_CLEARANCE, CLEARANCE_SECRET_PREVIOUS: undefined };
    /** A Tor exit in T1: a challenge (TOR) under the default policy, which a step-up clearance lifts. */
    const TOR_USER = { ip: '198.51.100.7', geo: { country: 'T1' }, account: { id: 'acct-dev-secret' } };
    const clearanceBy = async (secret: string) => {
      const now = Date.now();
      return (await signClearance(secret, { kind: 'step-up', account: TOR_USER.account.id, network: '198.51.100.0/24', reasons: ['TOR'], policyVersion: 'p', issuedAt: now, expiresAt: now + 60_000 })).token;
    };
    type Decision = { decision: string; reasons: { code: string; evidence?: { why?: string } }[]; challenge?: { ticket?: string } };
    const checkAt = async (origin: string, secrets: Record<string, string | undefined>, body: unknown): Promise<Decision> => {
      const res = await fetchWith(secrets, `${origin}/v1/check`, { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return res.json<Decision>();
    };
    const why = (d: Decision) => d.reasons.find((r) => r.code === 'CLEARANCE_INVALID')?.evidence?.why;

    it.each(['https://geogate.example.workers.dev', 'https://geogate.example.com', 'http://192.168.1.10:8787'])('on %s: a forged clearance lifts nothing, no ticket is signed, nothing is issued', async (origin) => {
        const challenged = await checkAt(origin, dev, TOR_USER);
      expect(challenged.decision).toBe('challenge');
      expect(challenged.challenge?.ticket).toBeUndefined();
      const forged = await checkAt(origin, dev, { ...TOR_USER, clearance: await clearanceBy(DEV_CLEARANCE) });
      expect([forged.decision, why(forged)]).toEqual(['challenge', 'not-configured']);
      const forward = await fetchWith(dev, `${origin}/v1/authorize`, {
        headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': TOR_USER.ip, 'geogate-country': 'T1', 'geogate-account-id': TOR_USER.account.id, 'geogate-clearance': await clearanceBy(DEV_CLEARANCE) },
      });
      expect(forward.status).toBe(401);
      await forward.body?.cancel();
      const stepUp = await fetchWith(dev, `${origin}/v1/challenge/step-up`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ account: TOR_USER.account, ip: TOR_USER.ip, method: 'mfa', reasons: ['TOR'] }),
      });
      expect(stepUp.status).toBe(503);
      expect((await stepUp.json<{ error: { code: string } }>()).error.code).toBe('NOT_CONFIGURED');
      const health = await (await fetchWith(dev, `${origin}/healthz`)).json<{ challenge: { clearances: string; keys: number } }>();
      expect(health.challenge).toMatchObject({ clearances: 'not-configured', keys: 0 });
    });

    it('over RPC (no URL to call loopback): a forged clearance lifts nothing and no ticket is signed', async () => {
      const e = { ...env, ...dev } as Env;
      const rpc = new AccessCheck(createExecutionContext(), e);
      const challenged = (await rpc.check(TOR_USER)) as unknown as Decision;
      expect([challenged.decision, challenged.challenge?.ticket]).toEqual(['challenge', undefined]);
      const forged = (await rpc.check({ ...TOR_USER, clearance: await clearanceBy(DEV_CLEARANCE) })) as unknown as Decision;
      expect([forged.decision, why(forged)]).toEqual(['challenge', 'not-configured']);
    });

    it('a real CLEARANCE_SECRET with the dev value as CLEARANCE_SECRET_PREVIOUS: off loopback only the real one is honoured', async () => {
      const rotated = { CLEARANCE_SECRET: REAL, CLEARANCE_SECRET_PREVIOUS: DEV_CLEARANCE };
      const origin = 'https://geogate.example.com';
      const forged = await checkAt(origin, rotated, { ...TOR_USER, clearance: await clearanceBy(DEV_CLEARANCE) });
      expect([forged.decision, why(forged)]).toEqual(['challenge', 'signature']);
      expect((await checkAt(origin, rotated, { ...TOR_USER, clearance: await clearanceBy(REAL) })).decision).toBe('allow');
      expect((await checkAt(origin, rotated, TOR_USER)).challenge?.ticket).toEqual(expect.any(String));
    });

    it.each(['http://127.0.0.1:8787', 'http://localhost:8787'])('on %s (npm start): the dev value signs tickets and its clearances lift the challenge', async (origin) => {
        expect((await checkAt(origin, dev, TOR_USER)).challenge?.ticket).toEqual(expect.any(String));
      expect((await checkAt(origin, dev, { ...TOR_USER, clearance: await clearanceBy(DEV_CLEARANCE) })).decision).toBe('allow');
    });
  });

  it('/healthz also reports the dev MEMORY_HASH_SECRET and CLEARANCE_SECRET off loopback, and not on it', async () => {
    const devSecrets = { MEMORY_HASH_SECRET: DEV_DEFAULT_SECRETS.MEMORY_HASH_SECRET, CLEARANCE_SECRET: DEV_DEFAULT_SECRETS.CLEARANCE_SECRET, CLEARANCE_SECRET_PREVIOUS: undefined };
    const remote = await (await fetchWith(devSecrets, 'https://geogate.example.com/healthz')).json<{ status: string; configProblems: { setting: string; problem: string }[] }>();
    expect(remote.status).toBe('degraded');
    expect(remote.configProblems.filter((p) => p.problem === 'dev-default').map((p) => p.setting)).toEqual(['MEMORY_HASH_SECRET', 'CLEARANCE_SECRET']);
    const local = await (await fetchWith(devSecrets, 'http://127.0.0.1:8787/healthz')).json<{ configProblems?: { problem: string }[] }>();
    expect((local.configProblems ?? []).filter((p) => p.problem === 'dev-default')).toEqual([]);
    expect(devSecretProblems({ CLEARANCE_SECRET_PREVIOUS: DEV_DEFAULT_SECRETS.CLEARANCE_SECRET }, false).map((p) => p.setting)).toEqual(['CLEARANCE_SECRET_PREVIOUS']);
    expect(devSecretProblems(env, false)).toEqual([]);
  });
});
