// Red-team review of issue 10's integrations (geogate/hono, AccessCheck over RPC, geogate/client's
// cache, decision logs, the API reference), against the three promises.
//
// "fixed: ..." tests failed on the code as reviewed; the fix is in the same commit.
// "holds: ..." an attack the code withstood, kept as a regression test.
import { SELF } from 'cloudflare:test';
import type { Hono } from 'hono';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { inProcessEngine, type AccessCheckService, type GeogateDecision, type GeogateOptions } from '../../client/hono';
import honoApp from '../../examples/integrate/hono-app';
import { CHECK_TOKEN, defaultDocument, resetPolicyState } from '../helpers';
import { boundGeogate as bound, honoTestApp, userRequest, type HonoTestBindings as Bindings, type HonoTestEnv as AppEnv } from '../hono-helpers';

beforeEach(resetPolicyState);

/** An app whose deny and challenge answers carry the whole decision, and whose route reports it. */
function appWith(options: GeogateOptions<AppEnv> = {}) {
  return honoTestApp({ onDeny: (c, d) => c.json({ decision: d }, 403), onChallenge: (c, d) => c.json({ decision: d }, 401), ...options });
}

async function decisionOf(app: Hono<AppEnv>, request: Request, bindings: Bindings = bound) {
  const res = await app.fetch(request, bindings);
  const body = await res.json<{ ran?: boolean; decision?: GeogateDecision }>();
  return { status: res.status, ran: body.ran === true, decision: body.decision };
}

describe('review: geogate/hono, request.cf values the check schema refuses', () => {
  beforeEach(() => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  // Cloudflare's cf for a Tor exit: country "T1" and continent "T1" (the continent code of the Tor
  // network, developers.cloudflare.com ip.src.continent). Anyone can connect over Tor.
  const TOR = { country: 'T1', continent: 'T1', asn: 60729, timezone: 'Europe/Berlin' };

  it.each([
    ['a Tor exit (continent "T1")', TOR],
    ['a long AS organisation name', { country: 'US', asn: 7922, asOrganization: 'x'.repeat(300) }],
    ['an odd region code', { country: 'US', asn: 7922, regionCode: 'ABCD-12' }],
  ])('fixed: %s is judged by the policy, never refused into the fail mode ("open" would let it in)', async (_name, cf) => {
    const { decision } = await decisionOf(appWith({ failMode: 'open' }), userRequest(cf));
    expect(decision?.via).toBe('service');
    expect(decision?.failed).toBe(false);
  });
});

describe('review: geogate/hono, a Tor exit under a policy that denies Tor', () => {
  const noTor = { ...defaultDocument(), version: 'review-no-tor', rules: [{ id: 'no-tor', type: 'country', action: 'deny', countries: ['T1'] }] };

  it('fixed: in-process with failMode "open", a Tor user is denied by the rule (TOR), not let in by the fail mode', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const engine = inProcessEngine(noTor as ReturnType<typeof defaultDocument>);
    const { status, ran, decision } = await decisionOf(appWith({ engine, failMode: 'open' }), userRequest({ country: 'T1', continent: 'T1', asn: 60729 }), {});
    expect(ran).toBe(false);
    expect(status).toBe(403);
    expect(decision).toMatchObject({ decision: 'deny', failed: false, via: 'in-process' });
    expect(decision?.reasons.map((r) => r.code)).toContain('TOR');
  });
});

describe('review: the README\'s geogate/hono example (examples/integrate/hono-app.ts)', () => {
  /** The real binding, recording every input the app sends it. */
  function recording() {
    const real = bound.GEOGATE as AccessCheckService;
    const inputs: Parameters<AccessCheckService['check']>[0][] = [];
    return { inputs, env: { GEOGATE: { check: (input: (typeof inputs)[number]) => (inputs.push(input), real.check(input)) } } };
  }
  const US = { country: 'US', timezone: 'America/New_York' };

  it('fixed: an X-User-Id header the user sends never names the account geogate judges and records', async () => {
    // The example read the account from X-User-Id, a header of the user's own request on a
    // user-facing Worker: anyone could act as an account an allow-exception lists, or write a
    // Shanghai clock into someone else's memory (docs/policy.md: only once authenticated).
    const { inputs, env: recorded } = recording();
    await honoApp.fetch(userRequest(US, { 'x-user-id': 'someone-else', 'geogate-client-timezone': 'Asia/Shanghai' }), recorded);
    expect(inputs).toHaveLength(1);
    expect(inputs[0]?.account?.id).not.toBe('someone-else');
  });

  it('fixed: an X-User-Id geogate would refuse ("..") never hands the decision to the fail mode', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const res = await honoApp.fetch(userRequest(US, { 'x-user-id': '..' }), bound);
    expect(res.status).toBe(200);
  });
});

describe('review: Tor through forward-auth', () => {
  // nginx and Caddy as shipped forward CF-IPContinent as Geogate-Continent, and Cloudflare sends
  // "T1" for a Tor exit. geo.continent took two letters only, so every Tor user was a 400 (nginx
  // turns it into a 500) instead of the policy's decision. Fixed: the pattern takes "T1".
  it('Geogate-Continent "T1" (a Tor exit, as Cloudflare says) is decided, not refused with a 400', async () => {
    const res = await SELF.fetch('https://geogate.test/v1/authorize', {
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': '198.51.100.7', 'geogate-country': 'T1', 'geogate-continent': 'T1' },
    });
    expect(res.headers.get('geogate-decision')).not.toBeNull();
    expect(res.status).not.toBe(400);
  });
});
