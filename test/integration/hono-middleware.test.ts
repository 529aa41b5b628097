// geogate/hono (client/hono.ts) in a Hono app: facts from the user's own request (request.cf,
// CF-Connecting-IP, Geogate-Client-* claims, the clearance cookie), decisions from geogate's
// AccessCheck through a real service binding (GEOGATE, bound in vitest.config.ts) or from the
// engine in-process, and the fail mode when geogate cannot be asked.
import type { Hono } from 'hono';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { inProcessEngine, type GeogateDecision } from '../../client/hono';
import type { PolicyDocument } from '../../src/policy/schema';
import { defaultDocument, resetPolicyState } from '../helpers';
import { boundGeogate as bound, honoTestApp as appWith, userRequest, type HonoTestBindings as Bindings, type HonoTestEnv as AppEnv } from '../hono-helpers';

beforeEach(resetPolicyState);

const US = { country: 'US', timezone: 'America/New_York', city: 'New York', asn: 7922 };
const CN = { country: 'CN', timezone: 'Asia/Shanghai', city: 'Shanghai', asn: 4134 };

async function call(app: Hono<AppEnv>, request: Request, bindings: Bindings = bound) {
  const res = await app.fetch(request, bindings);
  return { status: res.status, body: await res.json<{ ran?: boolean; decision?: GeogateDecision } & Record<string, unknown>>() };
}

describe('geogate/hono through the service binding', () => {
  it('runs the route for an allowed user and puts the decision on c.var.geogate', async () => {
    const { status, body } = await call(appWith(), userRequest(US, { 'geogate-client-timezone': 'America/New_York' }));
    expect(status).toBe(200);
    expect(body.ran).toBe(true);
    expect(body.decision).toMatchObject({ decision: 'allow', failed: false, via: 'service', geoSource: 'forwarded' });
  });

  it('answers 403 for a user in a restricted country, without running the route', async () => {
    const { status, body } = await call(appWith(), userRequest(CN));
    expect(status).toBe(403);
    expect(body.ran).toBeUndefined();
    expect(body).toMatchObject({ decision: 'deny', reasons: expect.arrayContaining(['COUNTRY_DENIED']) as unknown });
    expect(typeof body.requestId).toBe('string');
  });

  it('answers 401 with the challenge (kinds and a ticket) when the clock says Shanghai behind a US IP', async () => {
    const { status, body } = await call(appWith(), userRequest(US, { 'geogate-client-timezone': 'Asia/Shanghai', 'accept-language': 'zh-CN,zh;q=0.9' }));
    expect(status).toBe(401);
    expect(body).toMatchObject({ decision: 'challenge', challenge: { kinds: expect.any(Array) as unknown, ticket: expect.any(String) as unknown } });
    expect(body.reasons).toContain('TZ_RESTRICTED');
  });

  it('ignores the origin-side Geogate-* headers a user sends about themselves', async () => {
    const forged = { 'geogate-country': 'US', 'geogate-ip': '198.51.100.1', 'geogate-org-id': 'trusted-org', 'geogate-timezone': 'America/New_York', 'geogate-device-id': 'same-device' };
    const { status, body } = await call(appWith(), userRequest(CN, forged));
    expect(status).toBe(403);
    expect(body.decision).toBe('deny');
  });

  it('passes the facts the app knows (account, surface, request id)', async () => {
    const app = appWith({ facts: () => ({ account: { id: 'hono-acct-1', orgId: 'hono-org-1' }, surface: 'api', requestId: 'hono-req-1' }) });
    const { body } = await call(app, userRequest(US));
    expect(body.decision).toMatchObject({ requestId: 'hono-req-1', memory: { account: expect.any(String) as unknown } });
  });

  it('a garbage clearance cookie is judged (CLEARANCE_INVALID), never lifts anything', async () => {
    const { status, body } = await call(appWith(), userRequest(CN, { cookie: 'geogate_clearance=not.a.token' }));
    expect(status).toBe(403);
    expect(body.reasons).toEqual(expect.arrayContaining(['COUNTRY_DENIED']));
  });

  it.each([
    ['480', 'an honest offset'],
    ['+480', 'a signed offset'],
    ['eight', 'a garbled offset'],
    ['480e0', 'an exponent'],
    ['480, -300', 'two offsets'],
    ['9'.repeat(400), 'a huge number'],
  ])('promise 2: Geogate-Client-UTC-Offset %j (%s) is judged, never refused into the fail mode', async (offset) => {
    // failMode "open": were the claim refused, the user would be let in by the fail mode.
    const app = appWith({ failMode: 'open', onDeny: (c, d) => c.json({ decision: d }, 403), onChallenge: (c, d) => c.json({ decision: d }, 401) });
    const { body } = await call(app, userRequest(US, { 'geogate-client-timezone': 'America/New_York', 'geogate-client-utc-offset': offset }));
    expect(body.decision?.via).toBe('service');
    expect(body.decision?.failed).toBe(false);
  });

  it('a garbled offset header is TZ_INVALID evidence; an honest +480 behind a US IP is a mismatch', async () => {
    const app = appWith({ onDeny: (c, d) => c.json({ decision: d }, 403), onChallenge: (c, d) => c.json({ decision: d }, 401) });
    const garbled = (await call(app, userRequest(US, { 'geogate-client-utc-offset': 'eight' }))).body.decision;
    expect(garbled?.signals.TZ_INVALID).toBe(true);
    const shanghai = (await call(app, userRequest(US, { 'geogate-client-utc-offset': '480' }))).body.decision;
    expect(shanghai?.signals.TZ_MISMATCH).toBe(true);
    expect(shanghai?.signals.TZ_INVALID).toBe(false);
  });

  it('custom onDeny and onChallenge answer instead of the defaults', async () => {
    const app = appWith({
      onDeny: (c, d) => c.text(`blocked ${d.requestId}`, 451),
      onChallenge: (c, d) => c.redirect(`/challenge?ticket=${encodeURIComponent(d.challenge?.ticket ?? '')}`, 303),
    });
    const denied = await app.fetch(userRequest(CN), bound);
    expect(denied.status).toBe(451);
    expect(await denied.text()).toMatch(/^blocked /);
    const challenged = await app.fetch(userRequest(US, { 'geogate-client-timezone': 'Asia/Shanghai' }), bound);
    expect(challenged.status).toBe(303);
    expect(challenged.headers.get('location')).toMatch(/^\/challenge\?ticket=ey/);
  });

  it('trustCf: false ignores request.cf and CF-Connecting-IP (a proxy in front of the app)', async () => {
    const { body } = await call(appWith({ trustCf: false, failMode: 'open', onDeny: (c, d) => c.json({ decision: d }, 403), onChallenge: (c, d) => c.json({ decision: d }, 401) }), userRequest(CN));
    expect(body.decision).toMatchObject({ geoSource: 'none', via: 'service' });
    expect(body.decision?.reasons.map((r) => r.code)).not.toContain('COUNTRY_DENIED');
  });
});

describe('geogate/hono when geogate cannot be asked', () => {
  beforeEach(() => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  it.each([
    ['closed', 403, 'deny'],
    ['challenge', 401, 'challenge'],
  ] as const)('no binding, fail mode %s: %i, failed', async (failMode, status, decision) => {
    const res = await call(appWith({ failMode }), userRequest(US), {});
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ decision, reasons: ['POLICY_UNAVAILABLE'] });
  });

  it('fail mode open runs the route, and the decision says failed', async () => {
    const { status, body } = await call(appWith({ failMode: 'open' }), userRequest(US), {});
    expect(status).toBe(200);
    expect(body.decision).toMatchObject({ decision: 'allow', failed: true, via: 'fail-mode', policyVersion: 'none' });
  });

  it('the default is closed, even for a user the policy would allow', async () => {
    expect((await call(appWith(), userRequest(US), {})).status).toBe(403);
  });

  it('a binding that throws, a facts callback that throws, and facts geogate refuses all take the fail mode', async () => {
    const throwing = { GEOGATE: { check: () => Promise.reject(new Error('network lost')) } };
    expect((await call(appWith(), userRequest(US), throwing)).status).toBe(403);
    const badFacts = appWith({ facts: () => Promise.reject(new Error('session store down')) });
    expect((await call(badFacts, userRequest(US))).status).toBe(403);
    const refused = appWith({ facts: () => ({ account: { id: '..' } }) });
    const res = await call(refused, userRequest(US));
    expect(res).toMatchObject({ status: 403, body: { decision: 'deny', reasons: ['POLICY_UNAVAILABLE'] } });
  });

  it('a user header never turns the fail mode into anything else', async () => {
    const res = await call(appWith(), userRequest(US, { 'geogate-decision': 'allow', 'geogate-client-timezone': 'America/New_York' }), {});
    expect(res.status).toBe(403);
  });
});

describe('geogate/hono in-process', () => {
  const engine = inProcessEngine(defaultDocument());

  it.each([
    ['allowed', US, {}, 200, 'allow'],
    ['restricted country', CN, {}, 403, 'deny'],
    ['Shanghai clock behind a US IP', US, { 'geogate-client-timezone': 'Asia/Shanghai' }, 401, 'challenge'],
  ] as const)('%s: the same decision as the service', async (_name, cf, headers, status, decision) => {
    const inProcess = await call(appWith({ engine }), userRequest(cf, headers), {});
    const service = await call(appWith(), userRequest(cf, headers));
    expect(inProcess.status).toBe(status);
    expect(service.status).toBe(status);
    if (status !== 200) expect(inProcess.body.reasons).toEqual(service.body.reasons);
    else expect(inProcess.body.decision).toMatchObject({ decision, via: 'in-process', policyVersion: service.body.decision?.policyVersion });
  });

  it('promise 1: an invalid bundled policy denies, failed, never opens', async () => {
    const broken = inProcessEngine({ version: 'x', rules: [{ id: 'r', type: 'country', action: 'allow', countries: ['NOT-A-COUNTRY'] }] } as unknown as PolicyDocument);
    const { status, body } = await call(appWith({ engine: broken, onDeny: (c, d) => c.json({ decision: d }, 403) }), userRequest(US), {});
    expect(status).toBe(403);
    expect(body.decision).toMatchObject({ decision: 'deny', failed: true, via: 'in-process', reasons: [{ code: 'POLICY_UNAVAILABLE' }] });
    expect(body.decision?.summary).toMatch(/bundled policy is invalid/);
  });

  it('an in-process engine refuses invalid facts like the service, and the fail mode decides', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const res = await call(appWith({ engine, failMode: 'challenge', facts: () => ({ surface: 'NOT A SURFACE!' }) }), userRequest(US), {});
    expect(res.status).toBe(401);
  });
});
