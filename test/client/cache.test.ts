// The client's decision cache: served again only for exactly the same facts, for at most its TTL,
// bounded by maxEntries (least recently used out first), and never for a degraded or failed answer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheKey, GeogateClient, MAX_CACHE_KEY_LENGTH, type CheckRequest, type DecisionBody, type GeogateClientOptions } from '../../client/client';
import { echoDecision, json, startStub, type Stub } from './stub-server';

let stub: Stub;
let clock: number;
beforeEach(async () => {
  stub = await startStub(echoDecision());
  clock = 1_000_000;
});
afterEach(() => stub.close());

/** A caching client of the stub whose clock the test moves. */
function client(options: Partial<GeogateClientOptions> = {}): GeogateClient {
  return new GeogateClient({ baseUrl: stub.url, token: 'check-token-for-tests-0123', cache: { ttlMs: 5_000 }, now: () => clock, retries: 0, ...options });
}

const USER: CheckRequest = {
  ip: '203.0.113.9',
  geo: { country: 'US', timezone: 'America/New_York', asn: 7922 },
  client: { timezone: ['America/New_York', 'America/Chicago'], acceptLanguage: 'en-US' },
  account: { id: 'u1', orgId: 'o1' },
  surface: 'login',
  clearance: 'clr-1',
};

describe('cacheKey', () => {
  it('ignores key order at every depth and the request id', () => {
    const reordered: CheckRequest = {
      requestId: 'another-id',
      clearance: 'clr-1',
      surface: 'login',
      account: { orgId: 'o1', id: 'u1' },
      client: { acceptLanguage: 'en-US', timezone: ['America/New_York', 'America/Chicago'] },
      geo: { asn: 7922, timezone: 'America/New_York', country: 'US' },
      ip: '203.0.113.9',
    };
    expect(cacheKey(reordered)).toBe(cacheKey(USER));
  });

  it.each<[string, CheckRequest]>([
    ['another IP', { ...USER, ip: '203.0.113.10' }],
    ['another country', { ...USER, geo: { ...USER.geo, country: 'CA' } }],
    ['another client zone claim', { ...USER, client: { ...USER.client, timezone: ['America/New_York', 'Asia/Shanghai'] } }],
    ['the claims in another order', { ...USER, client: { ...USER.client, timezone: ['America/Chicago', 'America/New_York'] } }],
    ['one more claim', { ...USER, client: { ...USER.client, utcOffsetMinutes: -300 } }],
    ['another account', { ...USER, account: { ...USER.account, id: 'u2' } }],
    ['another organisation', { ...USER, account: { ...USER.account, orgId: 'o2' } }],
    ['an owner country', { ...USER, account: { ...USER.account, ownerCountry: 'US' } }],
    ['another surface', { ...USER, surface: 'checkout' }],
    ['another clearance', { ...USER, clearance: 'clr-2' }],
    ['no clearance', { ...USER, clearance: undefined }],
    ['a device id', { ...USER, client: { ...USER.client, deviceId: 'd1' } }],
    ['the ASN as a string', { ...USER, geo: { ...USER.geo, asn: '7922' as unknown as number } }],
  ])('differs for %s', (_name, other) => {
    expect(cacheKey(other)).not.toBe(cacheKey(USER));
  });

  it('is the JSON geogate receives: an undefined field is absent, as it is in the body', () => {
    expect(cacheKey({ ...USER, surface: undefined })).toBe(cacheKey(Object.fromEntries(Object.entries(USER).filter(([k]) => k !== 'surface'))));
  });

  it('is undefined (no caching) for a request too long to keep', () => {
    expect(cacheKey({ client: { userAgent: 'x'.repeat(MAX_CACHE_KEY_LENGTH) } })).toBeUndefined();
  });
});

describe('the decision cache', () => {
  it('serves the same facts from memory, with the age and a fresh request id', async () => {
    const geogate = client();
    const first = await geogate.check({ ...USER, requestId: 'r-1' });
    clock += 1_200;
    const second = await geogate.check({ ...USER, requestId: 'r-2', geo: { asn: 7922, country: 'US', timezone: 'America/New_York' } });
    expect(first).toMatchObject({ source: 'geogate', decision: 'allow' });
    expect(second).toMatchObject({ source: 'cache', decision: 'allow', failed: false, ageMs: 1_200, requestId: 'r-2' });
    // The body is geogate's earlier answer: its request id says which call decided.
    expect(second.source === 'cache' && second.body.requestId).toBe('r-1');
    expect(stub.received).toHaveLength(1);
  });

  it('asks geogate again for different facts', async () => {
    const geogate = client();
    await geogate.check(USER);
    const other = await geogate.check({ ...USER, geo: { ...USER.geo, country: 'CN' } });
    expect(other.source).toBe('geogate');
    expect(stub.received).toHaveLength(2);
  });

  it('forgets a decision ttlMs after geogate took it (a hit does not extend it)', async () => {
    const geogate = client();
    await geogate.check(USER);
    clock += 4_999;
    expect((await geogate.check(USER)).source).toBe('cache');
    clock += 1;
    expect((await geogate.check(USER)).source).toBe('geogate');
    expect(stub.received).toHaveLength(2);
  });

  it('treats a clock that went backwards as expired', async () => {
    const geogate = client();
    await geogate.check(USER);
    clock -= 1;
    expect((await geogate.check(USER)).source).toBe('geogate');
  });

  it('drops the least recently used past maxEntries', async () => {
    const geogate = client({ cache: { ttlMs: 60_000, maxEntries: 2 } });
    const a = { ...USER, ip: '203.0.113.1' };
    const b = { ...USER, ip: '203.0.113.2' };
    const c = { ...USER, ip: '203.0.113.3' };
    await geogate.check(a);
    await geogate.check(b);
    expect((await geogate.check(a)).source).toBe('cache'); // a is now the most recently used
    await geogate.check(c); // evicts b
    expect((await geogate.check(a)).source).toBe('cache');
    expect((await geogate.check(c)).source).toBe('cache');
    expect((await geogate.check(b)).source).toBe('geogate');
    expect(stub.received).toHaveLength(4);
  });

  it.each<[string, Partial<DecisionBody>]>([
    ["geogate's failed answer (fallback policy or its fail mode)", { decision: 'deny', failed: true }],
    ['a challenge (its ticket is signed for one request)', { decision: 'challenge', challenge: { kinds: ['turnstile'], expiresIn: 600, clears: ['TZ_MISMATCH'], ticket: 't' } }],
    ['an answer on fallback intel', { intel: { version: 'bundled', source: 'bundled', id: 'b', failed: true } }],
    ['an answer whose account memory timed out', { memory: { mode: 'sync', account: 'timeout', org: 'none' } }],
    ['an answer whose organisation memory failed', { memory: { mode: 'sync', account: 'object', org: 'unavailable' } }],
    ['an answer from a cold memory cache', { memory: { mode: 'async', account: 'cold', org: 'none' } }],
  ])('never keeps %s', async (_name, overrides) => {
    stub.handler = echoDecision(overrides);
    const geogate = client();
    await geogate.check(USER);
    expect((await geogate.check(USER)).source).toBe('geogate');
    expect(stub.received).toHaveLength(2);
  });

  it('keeps an answer whose memory was read, or is off', async () => {
    stub.handler = echoDecision({ memory: { mode: 'sync', account: 'object', org: 'cache' } });
    const geogate = client();
    await geogate.check(USER);
    expect((await geogate.check(USER)).source).toBe('cache');
  });

  it('never keeps a fail-mode answer', async () => {
    stub.handler = (req, res, n) => (n === 1 ? json(res, 503, {}) : echoDecision({ decision: 'deny' })(req, res, n));
    const geogate = client({ failMode: 'open' });
    expect(await geogate.check(USER)).toMatchObject({ source: 'fail-mode', decision: 'allow' });
    expect(await geogate.check(USER)).toMatchObject({ source: 'geogate', decision: 'deny' });
  });

  it('hands out copies: changing a served body changes nothing cached', async () => {
    const geogate = client();
    await geogate.check(USER);
    const hit = await geogate.check(USER);
    if (hit.source !== 'cache') throw new Error('expected a hit');
    hit.body.decision = 'deny';
    expect((await geogate.check(USER)).decision).toBe('allow');
  });

  it('is skipped by cache: false, both ways', async () => {
    const geogate = client();
    await geogate.check(USER, { cache: false });
    expect((await geogate.check(USER)).source).toBe('geogate');
    expect((await geogate.check(USER, { cache: false })).source).toBe('geogate');
    expect((await geogate.check(USER)).source).toBe('cache');
  });

  it('is emptied by clearCache()', async () => {
    const geogate = client();
    await geogate.check(USER);
    geogate.clearCache();
    expect((await geogate.check(USER)).source).toBe('geogate');
  });

  it('is off unless asked for', async () => {
    const geogate = new GeogateClient({ baseUrl: stub.url, token: 'check-token-for-tests-0123' });
    await geogate.check(USER);
    expect((await geogate.check(USER)).source).toBe('geogate');
  });

  it('keys on the request as sent: changing the request object after the call changes nothing', async () => {
    const geogate = client();
    const request: CheckRequest = { ...USER, geo: { country: 'US' } };
    const pending = geogate.check(request);
    if (request.geo) request.geo.country = 'CN';
    await pending;
    expect(JSON.parse(stub.received[0]?.body ?? '')).toMatchObject({ geo: { country: 'US' } });
    expect((await geogate.check({ ...USER, geo: { country: 'CN' } })).source).toBe('geogate');
  });
});
