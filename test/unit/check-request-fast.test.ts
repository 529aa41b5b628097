// The check request's fast path (src/facts/check-request-fast.ts) against zod, the single source
// of truth: whenever the fast path answers, zod accepts the same value and answers the same data;
// and the shapes origins really send are answered by the fast path (else it would be dead weight).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccountInputSchema, CheckRequestSchema, ClientInputSchema, ForwardedRequestSchema, GeoInputSchema, parseCheckRequest, parseForwardedRequest, toInputIssues } from '../../src/facts/check-request';
import { fastCheckRequest } from '../../src/facts/check-request-fast';
import defaultGolden from '../fixtures/golden/default-policy.json';
import families from '../fixtures/golden/families.json';
import traffic from '../fixtures/golden/traffic.json';
import { scenarioArb } from '../generators';

// The fields the schema knows (so a field added to it is exercised here too).
const GEO_KEYS = Object.keys(GeoInputSchema.shape);
const CLIENT_KEYS = Object.keys(ClientInputSchema.shape);
const ACCOUNT_KEYS = Object.keys(AccountInputSchema.shape);
/** The top-level fields that are not objects. */
const TOP_KEYS = Object.keys(CheckRequestSchema.shape).filter((k) => !['geo', 'client', 'account'].includes(k));

/** A string of exactly `n` characters drawn from `chars`. */
const ofLength = (n: number, chars = 'aZ9-') => fc.array(fc.constantFrom(...chars), { minLength: n, maxLength: n }).map((a) => a.join(''));

/** Values at and around every bound and refinement of the schema, and every JSON/RPC type. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 16, 17, 31, 32, 33, 64, 65, 127, 128, 129, 256, 257).chain((n) => ofLength(n)),
  fc.constantFrom('', '.', '..', 'US', 'us', 'cN', 'T1', 't1', 'XX', 'EU', 'UK', 'ZZ', '1A', 'U', 'USA', 'de', 'sg', 'ru', 'ir'),
  fc.constantFrom('43', 'UA-43', 'ua-43', 'UA-', '-43', 'ABCD', 'CA-ON'),
  fc.constantFrom('Asia/Shanghai', 'asia/shanghai', ' Asia/Shanghai ', 'PRC', 'Etc/GMT+8', 'Etc/GMT-14', 'Mars/Olympus', '../../etc/passwd', 'UTC', 'Europe/Kiev'),
  fc.constantFrom('45.5', '-0', '91', '-180.0', '180.0001', '1e2', ' 45', '0x10', 'NaN', 'Infinity'),
  fc.constantFrom(0, -0, 1, -1, 45.5, -90, 90, -90.0001, 180, 180.5, 4_294_967_295, 4_294_967_296, 2 ** 53, 2 ** 53 + 2, 1.5, Number.NaN, Infinity, -Infinity, 1e-7),
  fc.constantFrom('\ud800', 'a\udc00', '\ud83d\ude00', '客户', 'Zoë', 'web', 'WEB', 'Api', 'admin panel', '_x', 'x'.repeat(33)),
  fc.constantFrom('203.0.113.7', '::ffff:198.51.100.5', '2001:db8::1%eth0', '010.1.1.1', '1.2.3', '64:ff9b::198.51.100.5', '[::1]', ' 1.2.3.4'),
  fc.constantFrom(true, false, null, undefined),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constant(null), fc.double()), { maxLength: 3 }),
  fc.constantFrom<unknown>({}, [], { x: 1 }, JSON.parse('{"__proto__":{"country":"US"}}'), Object.create(null), new Date(0), [[]]),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

type Mutation = { path: string[]; value: unknown };
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ path: fc.constantFrom(...TOP_KEYS, 'geo', 'client', 'account', 'extra', '__proto__', 'constructor').map((k) => [k]), value: hostileValue }),
  fc.record({ path: fc.constantFrom(...GEO_KEYS, 'extra', '__proto__').map((k) => ['geo', k]), value: hostileValue }),
  fc.record({ path: fc.constantFrom(...CLIENT_KEYS, 'extra').map((k) => ['client', k]), value: hostileValue }),
  fc.record({ path: fc.constantFrom(...ACCOUNT_KEYS, 'extra').map((k) => ['account', k]), value: hostileValue }),
);

/** The request with `value` set at `path` as an own property (objects on the way are made). */
function mutate(request: Record<string, unknown>, { path, value }: Mutation): Record<string, unknown> {
  const root: Record<string, unknown> = { ...request };
  let at = root;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      Object.defineProperty(at, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      const next = at[key];
      const copy: Record<string, unknown> = typeof next === 'object' && next !== null && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {};
      Object.defineProperty(at, key, { value: copy, enumerable: true, writable: true, configurable: true });
      at = copy;
    }
  }
  return root;
}

/** A realistic request (origin-side fields and client claims at an instant) with 0-4 hostile edits. */
const requestArb = fc.tuple(scenarioArb, fc.array(mutationArb, { maxLength: 4 }), fc.option(fc.constantFrom('req-1', 'x'.repeat(128)), { nil: undefined })).map(([[, origin, client], mutations, requestId]) => {
  const base: Record<string, unknown> = { ...origin, ...(Object.keys(client).length > 0 ? { client } : {}), ...(requestId !== undefined ? { requestId } : {}) };
  return mutations.reduce(mutate, base);
});

function agreesWithZod(value: unknown) {
  const fast = fastCheckRequest(value);
  if (fast === undefined) return;
  const zod = CheckRequestSchema.safeParse(value);
  // The fast path accepted: zod must accept the same value and answer the same data.
  expect(zod.success, `zod refused what the fast path accepted: ${JSON.stringify(value)}`).toBe(true);
  expect(fast).toStrictEqual(zod.data);
}

describe('the check request fast path', () => {
  it('answers exactly what zod answers, whenever it answers (realistic requests with hostile edits)', () => {
    let answered = 0;
    let declined = 0;
    fc.assert(
      fc.property(requestArb, (value) => {
        agreesWithZod(value);
        if (fastCheckRequest(value) === undefined) declined++;
        else answered++;
      }),
      { numRuns: 3000, seed: 20261127 },
    );
    // Both branches are exercised: the property is not vacuous.
    expect(answered).toBeGreaterThan(300);
    expect(declined).toBeGreaterThan(300);
  });

  it('answers exactly what zod answers on arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), agreesWithZod), { numRuns: 1000 });
    fc.assert(fc.property(fc.dictionary(fc.constantFrom(...TOP_KEYS, 'geo', 'client', 'account'), fc.jsonValue({ maxDepth: 2 })), agreesWithZod), { numRuns: 1000 });
  });

  it('answers every realistic request without hostile edits (the path is taken)', () => {
    fc.assert(
      fc.property(scenarioArb, ([, origin, client]) => {
        expect(fastCheckRequest({ ...origin, client })).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });

  it('answers every golden request zod accepts, except coordinates sent as text', () => {
    const requests = [defaultGolden, families, traffic].flatMap((file) => (file as { cases: { request: unknown }[] }).cases.map((c) => c.request));
    expect(requests.length).toBeGreaterThan(100);
    for (const request of requests) {
      if (!CheckRequestSchema.safeParse(request).success) continue;
      const geo = (request as { geo?: Record<string, unknown> }).geo;
      if (typeof geo?.latitude === 'string' || typeof geo?.longitude === 'string') continue;
      expect(fastCheckRequest(request), JSON.stringify(request)).toBeDefined();
      agreesWithZod(request);
    }
  });

  it('declines what it does not handle: zod answers (and explains) those', () => {
    for (const value of [null, [], 'x', { geo: { latitude: '45.5' } }, { geo: { country: 'USA' } }, { extra: 1 }, JSON.parse('{"__proto__":{}}'), { account: { id: '..' } }, { client: { utcOffsetMinutes: Number.NaN } }, { geo: new Date(0) }]) {
      expect(fastCheckRequest(value)).toBeUndefined();
    }
    // Through parseCheckRequest, zod still converts and refuses as before.
    expect(parseCheckRequest({ geo: { latitude: '45.5' } })).toMatchObject({ success: true, data: { geo: { latitude: 45.5 } } });
    expect(parseCheckRequest({ geo: { country: 'USA' } }).success).toBe(false);
    expect(parseCheckRequest({ geo: { country: null }, ip: null })).toEqual({ success: true, data: { geo: {} } });
  });

  it('the forwarded request takes the same path, and zod refuses a client there', () => {
    expect(parseForwardedRequest({ ip: '203.0.113.7', geo: { country: 'us' } })).toEqual({ success: true, data: { ip: '203.0.113.7', geo: { country: 'US' } } });
    expect(parseForwardedRequest({ client: {} }).success).toBe(false);
    expect(ForwardedRequestSchema.safeParse({ client: {} }).success).toBe(false);
  });

  it('a Map, Set, Date or class instance in place of the request, geo, client or account is refused, never read as empty', () => {
    class Geo {
      country = 'CN';
    }
    for (const [value, path] of [
      [new Map([['geo', { country: 'CN' }]]), '(body)'],
      [{ geo: new Map([['country', 'CN']]) }, 'geo'],
      [{ geo: new Geo() }, 'geo'],
      [{ client: new Map([['timezone', 'Asia/Shanghai']]) }, 'client'],
      [{ account: new Map([['ownerCountry', 'RU']]) }, 'account'],
      [{ account: new Set(['x']) }, 'account'],
      [{ geo: new Date(0) }, 'geo'],
    ] as const) {
      const parsed = parseCheckRequest(value);
      expect(parsed.success).toBe(false);
      if (!parsed.success) expect(toInputIssues(parsed.error).map((i) => i.path)).toEqual([path]);
    }
    // Null-prototype objects (what some RPC callers build) are plain.
    expect(parseCheckRequest({ geo: Object.assign(Object.create(null) as object, { country: 'US' }) })).toMatchObject({ success: true, data: { geo: { country: 'US' } } });
  });
});

