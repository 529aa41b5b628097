// Security review (docs/security.md): what a decision discloses, and to whom. /v1/check answers the
// origin (the check token's holder, who owns the accounts and organisations it names); /v1/authorize
// answers a proxy, and Caddy, Traefik and Envoy return its non-2xx answers (the 401 challenge, the
// 403 deny) to the END USER as they are, body included (docs/integrations.md). A ticket travels to
// the user's browser on the hosted page. None may name another account; the forward-auth body
// should carry nothing about the organisation beyond the user's own request.
import { beforeAll, describe, expect, it } from 'vitest';
import { SELF } from 'cloudflare:test';
import caddyfile from '../../examples/caddy/Caddyfile?raw';
import { CHECK_TOKEN, defaultDocument, postCheck, resetPolicyState, storePolicy } from '../helpers';

const ORG = `sec-org-${crypto.randomUUID()}`;
const ACCOUNTS = Array.from({ length: 20 }, () => `acct-${crypto.randomUUID()}`);
const CLEAN = ACCOUNTS[19] ?? '';
/** An address in its own /24 of shared address space (on no VPN or datacenter list). */
const addressIn = (n: number) => `100.${64 + (n >> 8)}.${n & 255}.7`;

beforeAll(async () => {
  await resetPolicyState();
  // The default policy, awaiting the memory so that each check is judged on it.
  await storePolicy({ ...defaultDocument(), version: 'sec-disclosure-1', history: { mode: 'sync', syncBudgetMs: 5000 } });
  // 8 of the organisation's 20 accounts on a Shanghai clock from Singapore.
  for (const [i, id] of ACCOUNTS.entries()) {
    const res = await postCheck({ ip: addressIn(600 + i), geo: { country: 'SG' }, client: { timezone: i < 8 ? 'Asia/Shanghai' : 'Asia/Singapore' }, account: { id, orgId: ORG } });
    expect(res.status).toBe(200);
    await res.body?.cancel();
  }
}, 120_000);

/**
 * The forward-auth answer for the organisation's clean account (an API call from Singapore);
 * `userHeaders` are what the user adds and a proxy that copies the user's headers (Caddy's
 * forward_auth) passes on.
 */
async function forwardAuth(userHeaders: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await SELF.fetch('https://geogate.test/v1/authorize/api/reports', {
    headers: { ...userHeaders, authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': addressIn(619), 'geogate-country': 'SG', 'geogate-surface': 'api', 'geogate-account-id': CLEAN, 'geogate-org-id': ORG },
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('what decisions disclose', () => {
  it('the organisation’s share challenges its clean account (the set-up works)', async () => {
    const { status, headers } = await forwardAuth();
    expect(status).toBe(401);
    expect(headers.get('geogate-reasons')?.split(',')).toContain('ORG_RESTRICTED_SHARE');
  });

  it('no decision names another account, on /v1/check or /v1/authorize', async () => {
    const check = await (await postCheck({ ip: addressIn(619), geo: { country: 'SG' }, surface: 'api', account: { id: CLEAN, orgId: ORG } })).text();
    const forward = (await forwardAuth()).text;
    for (const other of ACCOUNTS.slice(0, 19)) {
      expect(check.includes(`"${other}"`), other).toBe(false);
      expect(forward.includes(`"${other}"`), other).toBe(false);
    }
  });

  it('the ticket (which the hosted page puts in the user’s URL) carries the user’s own account, network and the reason codes only', async () => {
    const body = await (await postCheck({ ip: addressIn(619), geo: { country: 'SG' }, surface: 'api', account: { id: CLEAN, orgId: ORG } })).json<{ challenge?: { ticket?: string } }>();
    const [, payload = ''] = (body.challenge?.ticket ?? '').split('.');
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'knd', 'net', 'pv', 'rsn', 'sub']);
    expect(claims).toMatchObject({ sub: CLEAN, net: '100.66.107.0/24', rsn: ['ORG_RESTRICTED_SHARE'] });
    expect(JSON.stringify(claims)).not.toContain(ORG);
  });

  it('/v1/check tells the origin (which owns the organisation) the organisation’s counts', async () => {
    const body = await (await postCheck({ ip: addressIn(619), geo: { country: 'SG' }, surface: 'api', account: { id: CLEAN, orgId: ORG } })).json<{ reasons: { code: string; evidence: Record<string, unknown> }[] }>();
    expect(body.reasons.find((r) => r.code === 'ORG_RESTRICTED_SHARE')?.evidence).toMatchObject({ activeAccounts: 20, restrictedAccounts: 8 });
  });

  it('the forward-auth body (which Caddy, Traefik and Envoy hand to the end user) carries reason codes, never the organisation’s counts or other evidence', async () => {
    // Was (before the lean forward-auth body): the 401 body said "8 of the organisation's 20
    // active accounts (40%) showed restricted location evidence within 30 days" and carried
    // { activeAccounts: 20, restrictedAccounts: 8, share: 0.4 } as evidence.
    const { status, text } = await forwardAuth();
    expect(status).toBe(401);
    expect(text).not.toMatch(/activeAccounts|restrictedAccounts|active accounts|evidence|"signals"|"memory"/);
  });

  it('DESIGN: geogate answers the whole decision to whoever sends Geogate-Response: full, so the shipped Caddyfile overwrites the user’s copy', async () => {
    // Caddy's forward_auth copies every header the user sent onto the auth request: without the
    // Caddyfile's line, a user sending `Geogate-Response: full` read the organisation's counts
    // (the proxies test sends it through nginx and Caddy: test/proxies/forward-auth.test.ts).
    const { status, text } = await forwardAuth({ 'geogate-response': 'full' });
    expect(status).toBe(401);
    expect(text).toMatch(/"activeAccounts":20/);
    expect(caddyfile).toMatch(/^\s*header_up Geogate-Response ""\s*$/m);
  });
});
