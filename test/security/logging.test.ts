// Security review (docs/security.md): nothing geogate logs holds a token, a secret, a clearance, a
// ticket or the user's raw IP. Every console method is watched while requests with right, wrong
// and partial tokens (Authorization and Geogate-Token) go through the check, forward-auth, admin,
// challenge and RPC doors, with their background work (decision logs) finished; the Analytics
// Engine data points are read as well. The stored memory holds no raw IP either
// (test/integration/memory-admin.test.ts, "no table ... holds the raw IP").
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, CHECK_TOKEN, FAILING_KV, resetPolicyState } from '../helpers';
import { stubSiteverify } from '../siteverify-stub';
import { call, SECRET_VALUES } from './helpers';

const WRONG_TOKEN = 'rotated-check-token-9876543210';
const PRESENTED = [CHECK_TOKEN, ADMIN_TOKEN, CHECK_TOKEN.slice(0, -1), `${CHECK_TOKEN}x`, CHECK_TOKEN.slice(0, 12), ADMIN_TOKEN.slice(0, 12), WRONG_TOKEN];
/** Users' raw addresses (and the IPv4 address an IPv4-mapped one carries). */
const IPV4 = '203.0.113.77';
const IPV6 = '2001:db8:1234:5678::abcd';
const MAPPED = '::ffff:198.51.100.23';
const RAW_IPS = [IPV4, IPV6, MAPPED, '198.51.100.23', '2001:db8:1234:5678:0:0:0:abcd'];

const siteverify = stubSiteverify();

/** Everything printed through any console method, each call as one string (errors with their stacks). */
let printed: string[] = [];
const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

beforeEach(async () => {
  await resetPolicyState();
  printed = [];
  for (const m of METHODS) {
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      printed.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}\n${a.stack ?? ''}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
});
afterEach(() => vi.restoreAllMocks());

/** A DECISIONS binding that records what it is given. */
function recorder() {
  const points: AnalyticsEngineDataPoint[] = [];
  const dataset: AnalyticsEngineDataset = { writeDataPoint: (p) => void points.push(p ?? {}) };
  return { points, dataset };
}

const checkRequest = (token: string | null, body: unknown, origin = 'https://geogate.test') =>
  new Request(`${origin}/v1/check`, { method: 'POST', headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Asserts that no printed line and no data point holds any of `values`. */
function expectNowhere(values: readonly string[], points: readonly AnalyticsEngineDataPoint[] = []) {
  const haystack = [...printed, JSON.stringify(points)];
  for (const value of values) {
    for (const line of haystack) expect(line.includes(value), `${JSON.stringify(value)} in ${line.slice(0, 300)}`).toBe(false);
  }
}

describe('no token, secret or raw IP in any log', () => {
  it('decisions on /v1/check and /v1/authorize, with every kind of token and the users’ IPs', async () => {
    const r = recorder();
    const bodies = [
      { requestId: 'sec-log-1', ip: IPV4, geo: { country: 'US', asn: 7922 }, client: { timezone: 'America/New_York' }, account: { id: 'acct-log', orgId: 'org-log' } },
      { requestId: 'sec-log-2', ip: IPV6, geo: { country: 'CN' }, account: { id: 'acct-log' } },
      { requestId: 'sec-log-3', ip: MAPPED, geo: { country: 'T1' }, account: { id: 'acct-log' } },
    ];
    for (const token of PRESENTED) {
      for (const body of bodies) expect([200, 401]).toContain((await call(checkRequest(token, body), { DECISIONS: r.dataset })).status);
      for (const ip of [IPV4, IPV6, MAPPED]) {
        const viaAuthorization = await call(new Request('https://geogate.test/v1/authorize/some/path', { headers: { authorization: `Bearer ${token}`, 'geogate-ip': ip, 'geogate-country': 'US', 'geogate-account-id': 'acct-log' } }), { DECISIONS: r.dataset });
        const viaHeader = await call(new Request('https://geogate.test/v1/authorize', { headers: { 'geogate-token': token, authorization: 'Bearer sk-users-own-key-0123456789', 'geogate-ip': ip, 'geogate-country': 'T1' } }), { DECISIONS: r.dataset });
        expect([200, 401, 403, 500]).toContain(viaAuthorization.status);
        expect([200, 401, 403, 500]).toContain(viaHeader.status);
      }
    }
    // The decisions were logged (so the watch saw them) and carried the network and hash only.
    const lines = printed.filter((l) => l.includes('"event":"geogate.decision"'));
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.some((l) => l.includes('"network":"203.0.113.0/24"') && /"ipHash":"[0-9a-f]{32}"/.test(l))).toBe(true);
    expect(r.points.length).toBeGreaterThanOrEqual(6);
    expectNowhere([...SECRET_VALUES, ...PRESENTED, 'sk-users-own-key-0123456789', ...RAW_IPS], r.points);
  });

  it('refusals: wrong tokens, the other audience’s token, unconfigured and dev-only tokens', async () => {
    for (const token of PRESENTED) {
      await call(new Request('https://geogate.test/v1/policy', { headers: { authorization: `Bearer ${token}` } }));
      await call(new Request('https://geogate.test/v1/accounts/acct-log/activity', { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }));
      await call(checkRequest(token, { ip: IPV4 }), { CHECK_TOKEN: '' });
      await call(checkRequest(token, { ip: IPV4 }), { ADMIN_TOKEN: CHECK_TOKEN });
    }
    const dev = { CHECK_TOKEN: 'dev-check-token-not-secret', ADMIN_TOKEN: 'dev-admin-token-not-secret' };
    await call(checkRequest(dev.CHECK_TOKEN, { ip: IPV4 }, 'https://geogate.example.com'), dev);
    await call(new Request('https://geogate.example.com/v1/policy', { headers: { authorization: `Bearer ${dev.ADMIN_TOKEN}` } }), dev);
    // The refusals that are logged say why without the value.
    expect(printed.some((l) => l.includes('CHECK_TOKEN is not set'))).toBe(true);
    expect(printed.some((l) => l.includes('CHECK_TOKEN is the dev-only value'))).toBe(true);
    expectNowhere([...SECRET_VALUES, ...PRESENTED, ...Object.values(dev), IPV4]);
  });

  it('fail-mode decisions and storage faults', async () => {
    const r = recorder();
    for (const token of [CHECK_TOKEN, WRONG_TOKEN]) {
      await call(checkRequest(token, { ip: IPV4, geo: { country: 'US' }, account: { id: 'acct-log' } }), { POLICY: FAILING_KV, DECISIONS: r.dataset });
      await call(new Request('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${token}`, 'geogate-ip': IPV6, 'geogate-country': 'US' } }), { POLICY: FAILING_KV, DECISIONS: r.dataset });
    }
    await call(new Request('https://geogate.test/v1/accounts/acct-log/clearances', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }), { POLICY: FAILING_KV });
    expect(printed.some((l) => l.includes('injected fault'))).toBe(true);
    expectNowhere([...SECRET_VALUES, ...PRESENTED, ...RAW_IPS], r.points);
  });

  it('challenges: the ticket, the clearance and the Turnstile token are never logged either', async () => {
    const r = recorder();
    const challenged = await call(checkRequest(CHECK_TOKEN, { ip: IPV4, geo: { country: 'T1' }, account: { id: 'acct-log' } }), { DECISIONS: r.dataset });
    const ticket = (await challenged.json<{ challenge?: { ticket?: string } }>()).challenge?.ticket ?? '';
    expect(ticket).not.toBe('');
    const stepUp = await call(
      new Request('https://geogate.test/v1/challenge/step-up', { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ account: { id: 'acct-log' }, ip: IPV4, method: 'otp', ticket }) }),
    );
    expect(stepUp.status).toBe(200);
    const clearance = (await stepUp.json<{ clearance: string }>()).clearance;
    const turnstileToken = 'XXXX.DUMMY.TOKEN.XXXX';
    const ticket2 = (await (await call(checkRequest(CHECK_TOKEN, { ip: IPV4, geo: { country: 'T1' } }))).json<{ challenge?: { ticket?: string } }>()).challenge?.ticket ?? '';
    const turnstile = await call(
      new Request('https://geogate.test/v1/challenge/turnstile', { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ token: turnstileToken, ip: IPV4, ticket: ticket2 }) }),
    );
    expect(turnstile.status).toBe(200);
    expect(siteverify.calls).toHaveLength(1);
    // The clearance presented on later checks, good and forged.
    await call(checkRequest(CHECK_TOKEN, { ip: IPV4, geo: { country: 'T1' }, account: { id: 'acct-log' }, clearance }), { DECISIONS: r.dataset });
    await call(new Request('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': IPV4, 'geogate-country': 'T1', cookie: `geogate_clearance=${clearance}x` } }), { DECISIONS: r.dataset });
    expectNowhere([...SECRET_VALUES, ticket, ticket2, clearance, turnstileToken, IPV4], r.points);
  });

  it('the RPC entrypoint, called by another Worker through its service binding', async () => {
    const origin = (env as unknown as { RPC_ORIGIN: Fetcher }).RPC_ORIGIN;
    for (const input of [{ requestId: 'sec-log-rpc', ip: IPV4, geo: { country: 'CN' }, account: { id: 'acct-log' } }, { ip: IPV6, geo: { country: 'US' } }, { ip: 'not-an-ip' }]) {
      const res = await origin.fetch('https://origin.test/', { method: 'POST', body: JSON.stringify({ method: 'check', input }) });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    // Its decision log is written after the answer: wait for it to show (same isolate).
    for (let i = 0; i < 50 && !printed.some((l) => l.includes('sec-log-rpc')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(printed.some((l) => l.includes('"requestId":"sec-log-rpc"'))).toBe(true);
    expectNowhere([...SECRET_VALUES, ...RAW_IPS]);
  });
});
