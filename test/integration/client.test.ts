// geogate/client against the real Worker (SELF.fetch in workerd, real local KV): the decisions,
// errors and cache rules of client/client.ts hold with geogate's own answers, and the client's
// hand-written wire types (client/wire.ts) are the server's types, checked here by the compiler.
import { SELF } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { GeogateClient, GeogateError, type ApiErrorBody as ClientErrorBody, type CheckRequest, type DecisionBody as ClientDecisionBody, type GeogateClientOptions, type MemoryReport as ClientMemoryReport } from '../../client/client';
import type { MemoryReport } from '../../src/accounts/memory';
import type { CheckRequestInput } from '../../src/facts/check-request';
import type { ApiErrorBody } from '../../src/http/errors';
import type { DecisionBody } from '../../src/routes/decide';
import { CHECK_TOKEN, resetPolicyState } from '../helpers';

beforeEach(resetPolicyState);

/** True when each type is assignable to the other. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only when `T` is `true`. */
function typeHolds<T extends true>(): T | undefined {
  return undefined;
}

/** A client whose fetch is the Worker itself; a generous budget, for a busy 2-core machine. */
function client(options: Partial<GeogateClientOptions> = {}): GeogateClient {
  return new GeogateClient({ baseUrl: 'https://geogate.test', token: CHECK_TOKEN, fetch: (url, init) => SELF.fetch(url, init), timeoutMs: 20_000, ...options });
}

const US_USER: CheckRequest = { ip: '203.0.113.9', geo: { country: 'US', timezone: 'America/New_York' }, client: { timezone: 'America/New_York' } };

describe('the wire types of geogate/client', () => {
  it('are the server\'s (a compile-time check: a drift breaks `tsc`)', () => {
    typeHolds<Mutual<ClientDecisionBody, DecisionBody>>();
    typeHolds<Mutual<CheckRequest, CheckRequestInput>>();
    typeHolds<Mutual<ClientMemoryReport, MemoryReport>>();
    // The server's error codes are a closed list; the client reads any string, to stay forward-compatible.
    typeHolds<ApiErrorBody extends ClientErrorBody ? true : false>();
    expect(true).toBe(true);
  });
});

describe('geogate/client through the Worker', () => {
  it('reports an allow for a US user', async () => {
    const result = await client().check({ requestId: 'client-1', ...US_USER });
    expect(result).toMatchObject({ source: 'geogate', decision: 'allow', failed: false, requestId: 'client-1', attempts: 1 });
    expect(result.source === 'geogate' && result.body).toMatchObject({ decision: 'allow', requestId: 'client-1', policySource: 'default', geoSource: 'forwarded' });
  });

  it('reports a deny for a user in a restricted country, with its reason', async () => {
    const result = await client().check({ ip: '203.0.113.9', geo: { country: 'CN' } });
    expect(result).toMatchObject({ source: 'geogate', decision: 'deny', failed: false });
    expect(result.source === 'geogate' && result.body.reasons[0]).toMatchObject({ code: 'COUNTRY_DENIED', evidence: { country: 'CN' } });
  });

  it('reports a challenge with its ticket, and never serves it from the cache', async () => {
    const geogate = client({ cache: { ttlMs: 60_000 } });
    const request: CheckRequest = { ...US_USER, client: { timezone: 'Asia/Shanghai', acceptLanguage: 'zh-CN' } };
    const first = await geogate.check(request);
    expect(first).toMatchObject({ source: 'geogate', decision: 'challenge' });
    expect(first.source === 'geogate' && typeof first.body.challenge?.ticket).toBe('string');
    expect((await geogate.check(request)).source).toBe('geogate');
  });

  it('throws the typed error for an invalid field, naming it', async () => {
    const error = await client({ failMode: 'open' })
      .check({ geo: { country: 'USA' } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(GeogateError);
    expect(error).toMatchObject({ kind: 'invalid-request', status: 400, code: 'INVALID_REQUEST', unreachable: false });
    expect((error as GeogateError).issues).toEqual([expect.objectContaining({ path: 'geo.country' })]);
  });

  it('throws unauthorized for a wrong token instead of taking the fail mode', async () => {
    const error = await client({ token: 'a-rotated-token-0123456789', failMode: 'open' })
      .check(US_USER)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ kind: 'unauthorized', status: 401, code: 'UNAUTHORIZED' });
  });

  it("serves geogate's allow again from the cache for the same facts", async () => {
    const geogate = client({ cache: { ttlMs: 60_000 } });
    const first = await geogate.check({ ...US_USER, requestId: 'c-1' });
    const again = await geogate.check({ ...US_USER, requestId: 'c-2' });
    expect(first).toMatchObject({ source: 'geogate', decision: 'allow' });
    expect(again).toMatchObject({ source: 'cache', decision: 'allow', requestId: 'c-2' });
    expect(again.source === 'cache' && again.body.requestId).toBe('c-1');
    // The same user claiming Shanghai's clock is other facts: geogate is asked, and challenges.
    expect(await geogate.check({ ...US_USER, client: { timezone: 'Asia/Shanghai' } })).toMatchObject({ source: 'geogate' });
  });

  it("does not keep an answer the account's memory could not inform yet (cold), so the next check is recorded and judged", async () => {
    const geogate = client({ cache: { ttlMs: 60_000 } });
    const request: CheckRequest = { ...US_USER, account: { id: `cold-${crypto.randomUUID()}` } };
    const first = await geogate.check(request);
    expect(first.source === 'geogate' && first.body.memory).toEqual({ mode: 'async', account: 'cold', org: 'none' });
    expect((await geogate.check(request)).source).toBe('geogate');
  });

  it('takes the fail mode when the fetch fails (geogate unreachable)', async () => {
    const geogate = client({
      failMode: 'challenge',
      retries: 0,
      fetch: () => Promise.reject(new TypeError('Network connection lost.')),
    });
    const result = await geogate.check(US_USER);
    expect(result).toMatchObject({ source: 'fail-mode', decision: 'challenge', failed: true, failMode: 'challenge' });
    expect(result.source === 'fail-mode' && result.error).toMatchObject({ kind: 'network', unreachable: true });
  });
});
