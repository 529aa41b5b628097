// geogate/client against a stub geogate on 127.0.0.1 (node:http): decisions, timeouts, bounded
// retries, the fail modes when geogate is unreachable, the errors it throws instead, and aborts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GeogateClient, GeogateError, type CheckResult, type FailMode, type GeogateClientOptions } from '../../client/client';
import { echoDecision, json, refusedUrl, startStub, type Stub } from './stub-server';

const TOKEN = 'check-token-for-tests-0123';

let stub: Stub;
beforeEach(async () => {
  stub = await startStub();
});
afterEach(() => stub.close());

/** A client of the stub with short, test-sized timings. */
function client(options: Partial<GeogateClientOptions> = {}): GeogateClient {
  return new GeogateClient({ baseUrl: stub.url, token: TOKEN, backoff: { baseMs: 1, maxMs: 5 }, ...options });
}

/** The thrown value of a promise that must reject. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Narrows a result to a fail-mode one, failing the test otherwise. */
function failMode(result: CheckResult) {
  if (result.source !== 'fail-mode') throw new Error(`expected the fail mode, got ${result.source}`);
  return result;
}

describe('decisions', () => {
  it.each(['allow', 'deny', 'challenge'] as const)('reports geogate\'s %s as it is', async (decision) => {
    stub.handler = echoDecision({ decision, ...(decision === 'challenge' ? { challenge: { kinds: ['turnstile'], expiresIn: 600, clears: ['TZ_MISMATCH'], ticket: 't' } } : {}) });
    const result = await client().check({ ip: '203.0.113.9', geo: { country: 'US' } });
    expect(result).toMatchObject({ source: 'geogate', decision, failed: false, attempts: 1 });
    if (result.source !== 'geogate') throw new Error('unreachable');
    expect(result.body.decision).toBe(decision);
    expect(result.body.requestId).toBe(result.requestId);
  });

  it('POSTs the request as JSON to /v1/check with the bearer token', async () => {
    await client({ headers: { 'CF-Access-Client-Id': 'svc' } }).check({ requestId: 'req-7', ip: '203.0.113.9', account: { id: 'u1' } });
    expect(stub.received).toHaveLength(1);
    const [req] = stub.received;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/check' });
    expect(req?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'cf-access-client-id': 'svc' });
    expect(JSON.parse(req?.body ?? '')).toEqual({ requestId: 'req-7', ip: '203.0.113.9', account: { id: 'u1' } });
  });

  it('keeps a path prefix of baseUrl', async () => {
    await client({ baseUrl: `${stub.url}/geogate/` }).check({});
    expect(stub.received[0]?.path).toBe('/geogate/v1/check');
  });

  it('makes up one request id per call, the same on every attempt', async () => {
    stub.handler = (req, res, n) => (n === 1 ? json(res, 503, { error: { code: 'INTERNAL', message: 'x' } }) : echoDecision()(req, res, n));
    const result = await client().check({ geo: { country: 'US' } });
    const ids = stub.received.map((r) => (JSON.parse(r.body) as { requestId: string }).requestId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(result.requestId).toBe(ids[0]);
  });

  it("reports geogate's own failed answer (its fallback or fail mode) as failed, from geogate", async () => {
    stub.handler = echoDecision({ decision: 'deny', failed: true, policyVersion: 'none', policySource: 'none' });
    expect(await client().check({})).toMatchObject({ source: 'geogate', decision: 'deny', failed: true });
  });
});

describe('timeouts and retries', () => {
  it('answers with the fail mode when geogate hangs past timeoutMs', async () => {
    stub.handler = () => undefined;
    const started = Date.now();
    const result = failMode(await client({ timeoutMs: 150, retries: 0 }).check({}));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ decision: 'deny', failed: true, failMode: 'closed', attempts: 1 });
    expect(result.error).toMatchObject({ kind: 'timeout', unreachable: true });
  });

  it('never waits much past timeoutMs, retries included: a hung attempt uses the whole budget', async () => {
    stub.handler = () => undefined;
    const started = Date.now();
    const result = failMode(await client({ timeoutMs: 200, retries: 3 }).check({}));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.attempts).toBe(1);
    expect(stub.received).toHaveLength(1);
  });

  it('retries a hung attempt when attemptTimeoutMs leaves room in the budget', async () => {
    stub.handler = (req, res, n) => (n === 1 ? undefined : echoDecision()(req, res, n));
    const result = await client({ timeoutMs: 2_000, attemptTimeoutMs: 150, retries: 1 }).check({});
    expect(result).toMatchObject({ source: 'geogate', decision: 'allow', attempts: 2 });
  });

  it('times out a body that stalls after the headers', async () => {
    stub.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"decision":');
    };
    const result = failMode(await client({ timeoutMs: 150, retries: 0 }).check({}));
    expect(result.error.kind).toBe('timeout');
  });

  it.each([0, 1, 2, 3])('makes 1 + %i attempts at most on 5xx', async (retries) => {
    stub.handler = (_req, res) => json(res, 503, { error: { code: 'NOT_CONFIGURED', message: 'see /healthz' } });
    const result = failMode(await client({ retries, timeoutMs: 5_000 }).check({}));
    expect(stub.received).toHaveLength(retries + 1);
    expect(result.attempts).toBe(retries + 1);
    expect(result.error).toMatchObject({ kind: 'unavailable', status: 503, code: 'NOT_CONFIGURED' });
  });

  it('answers from geogate when a 5xx is followed by a decision', async () => {
    stub.handler = (req, res, n) => (n === 1 ? json(res, 500, { error: { code: 'INTERNAL', message: 'boom' } }) : echoDecision({ decision: 'deny' })(req, res, n));
    expect(await client().check({})).toMatchObject({ source: 'geogate', decision: 'deny', attempts: 2 });
  });

  it('retries a 429 after its Retry-After when that fits the budget', async () => {
    stub.handler = (req, res, n) => (n === 1 ? json(res, 429, {}, { 'retry-after': '0' }) : echoDecision()(req, res, n));
    expect(await client().check({})).toMatchObject({ source: 'geogate', attempts: 2 });
  });

  it('does not retry when Retry-After is past the budget', async () => {
    stub.handler = (_req, res) => json(res, 429, {}, { 'retry-after': '5' });
    const result = failMode(await client({ timeoutMs: 1_000, retries: 3 }).check({}));
    expect(stub.received).toHaveLength(1);
    expect(result.error).toMatchObject({ kind: 'unavailable', status: 429 });
  });

  it('does not retry a 2xx that is not a decision, and takes the fail mode', async () => {
    stub.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    };
    const result = failMode(await client({ retries: 3 }).check({}));
    expect(stub.received).toHaveLength(1);
    expect(result.error).toMatchObject({ kind: 'bad-response', status: 200 });
  });
});

describe('unreachable: the fail mode decides and says so', () => {
  it.each<[FailMode, string]>([
    ['closed', 'deny'],
    ['challenge', 'challenge'],
    ['open', 'allow'],
  ])('failMode %s answers %s when the connection is refused', async (mode, decision) => {
    const geogate = new GeogateClient({ baseUrl: await refusedUrl(), token: TOKEN, failMode: mode, retries: 2, backoff: { baseMs: 1 } });
    const result = failMode(await geogate.check({ requestId: 'r-1' }));
    expect(result).toMatchObject({ source: 'fail-mode', decision, failed: true, failMode: mode, attempts: 3, requestId: 'r-1' });
    expect(result.error).toBeInstanceOf(GeogateError);
    expect(result.error).toMatchObject({ kind: 'network', unreachable: true, requestId: 'r-1', attempts: 3 });
  });

  it('defaults to closed', async () => {
    const geogate = new GeogateClient({ baseUrl: await refusedUrl(), token: TOKEN });
    expect(await geogate.check({})).toMatchObject({ source: 'fail-mode', decision: 'deny', failMode: 'closed' });
  });
});

describe('refusals throw: they are not outages', () => {
  it('throws unauthorized on 401 (a rotated token), without retrying or the fail mode', async () => {
    stub.handler = (_req, res) => json(res, 401, { error: { code: 'UNAUTHORIZED', message: 'The token is not valid for this route.' } });
    const error = await rejection(client({ failMode: 'open', retries: 3 }).check({}));
    expect(error).toBeInstanceOf(GeogateError);
    expect(error).toMatchObject({ kind: 'unauthorized', status: 401, code: 'UNAUTHORIZED', unreachable: false, attempts: 1 });
    expect(stub.received).toHaveLength(1);
  });

  it('throws invalid-request on 400 with the fields geogate names, without retrying', async () => {
    const issues = [{ path: 'geo.country', code: 'invalid_format', message: 'must be a 2-character country code' }];
    stub.handler = (_req, res) => json(res, 400, { error: { code: 'INVALID_REQUEST', message: 'The check request has invalid fields.', issues } });
    const error = await rejection(client({ retries: 3 }).check({ geo: { country: 'USA' } }));
    expect(error).toMatchObject({ kind: 'invalid-request', status: 400, code: 'INVALID_REQUEST', issues });
    expect(stub.received).toHaveLength(1);
  });

  it('throws rejected on another 4xx (a wrong baseUrl)', async () => {
    stub.handler = (_req, res) => json(res, 404, { error: { code: 'NOT_FOUND', message: 'No route.' } });
    expect(await rejection(client().check({}))).toMatchObject({ kind: 'rejected', status: 404, code: 'NOT_FOUND' });
  });

  it('does not follow a redirect (it would resend the token elsewhere) and says why', async () => {
    stub.handler = (_req, res) => {
      res.writeHead(301, { location: 'https://elsewhere.example/v1/check' });
      res.end();
    };
    const error = await rejection(client().check({}));
    expect(error).toMatchObject({ kind: 'rejected', status: 301 });
    expect((error as Error).message).toMatch(/redirect/);
    expect(stub.received).toHaveLength(1);
  });
});

describe('aborts', () => {
  it('rejects with the signal\'s reason when aborted mid-attempt, with no fail mode', async () => {
    stub.handler = () => undefined;
    const controller = new AbortController();
    const reason = new Error('user went away');
    setTimeout(() => controller.abort(reason), 50);
    const started = Date.now();
    expect(await rejection(client({ timeoutMs: 5_000 }).check({}, { signal: controller.signal }))).toBe(reason);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('rejects at once, sending nothing, when the signal is already aborted', async () => {
    const error = await rejection(client().check({}, { signal: AbortSignal.abort() }));
    expect((error as Error).name).toBe('AbortError');
    expect(stub.received).toHaveLength(0);
  });

  it('rejects when aborted while waiting to retry', async () => {
    stub.handler = (_req, res) => json(res, 429, {}, { 'retry-after': '1' });
    const controller = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 100);
    expect(await rejection(client({ timeoutMs: 5_000 }).check({}, { signal: controller.signal }))).toBe(reason);
    expect(stub.received).toHaveLength(1);
  });
});

describe('options are checked when the client is made', () => {
  const base = { baseUrl: 'https://geogate.test', token: TOKEN };
  it.each<[string, Partial<GeogateClientOptions>]>([
    ['more than 3 retries', { retries: 4 }],
    ['negative retries', { retries: -1 }],
    ['a fractional timeout', { timeoutMs: 1.5 }],
    ['an attempt timeout over the call timeout', { timeoutMs: 500, attemptTimeoutMs: 600 }],
    ['a cache TTL over a minute', { cache: { ttlMs: 60_001 } }],
    ['an empty cache', { cache: { maxEntries: 0 } }],
    ['a backoff over a second', { backoff: { maxMs: 5_000 } }],
  ])('refuses %s (RangeError)', (_name, options) => {
    expect(() => new GeogateClient({ ...base, ...options })).toThrow(RangeError);
  });

  it.each<[string, Partial<GeogateClientOptions>]>([
    ['no token', { token: '' }],
    ['a relative baseUrl', { baseUrl: '/geogate' }],
    ['a non-http baseUrl', { baseUrl: 'ftp://geogate.test' }],
    ['an unknown fail mode', { failMode: 'allow' as FailMode }],
    ['a Geogate-* header (/v1/check refuses them)', { headers: { 'Geogate-Country': 'US' } }],
    ['an Authorization header', { headers: { Authorization: 'Bearer other' } }],
  ])('refuses %s (TypeError)', (_name, options) => {
    expect(() => new GeogateClient({ ...base, ...options })).toThrow(TypeError);
  });
});

describe('a fetch that ignores its signal', () => {
  /** A fetch that never settles, whatever its signal says. */
  const stuck = () => new Promise<never>(() => undefined);

  it('still answers with the fail mode within the budget', async () => {
    const started = Date.now();
    const geogate = new GeogateClient({ baseUrl: 'https://geogate.test', token: TOKEN, fetch: stuck, timeoutMs: 150, failMode: 'open' });
    const result = failMode(await geogate.check({}));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ decision: 'allow', error: { kind: 'timeout' } });
  });

  it('still rejects when the caller aborts', async () => {
    const geogate = new GeogateClient({ baseUrl: 'https://geogate.test', token: TOKEN, fetch: stuck, timeoutMs: 5_000 });
    const controller = new AbortController();
    const reason = new Error('gone');
    setTimeout(() => controller.abort(reason), 30);
    expect(await rejection(geogate.check({}, { signal: controller.signal }))).toBe(reason);
  });
});
