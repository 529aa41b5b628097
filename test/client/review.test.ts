// Red-team review of geogate/client's decision cache (issue 10): a hit only ever serves a decision
// geogate took for exactly the facts it would receive. "fixed: ..." tests failed on the code as
// reviewed; the fix is in the same commit.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheKey, GeogateClient, type CheckRequest } from '../../client/client';
import { echoDecision, startStub, type Stub } from './stub-server';

let stub: Stub;
beforeEach(async () => {
  stub = await startStub(echoDecision());
});
afterEach(() => stub.close());

const USER: CheckRequest = { ip: '203.0.113.9', geo: { country: 'US' }, client: { timezone: 'America/New_York' }, account: { id: 'u1' } };

/** USER with an own "__proto__" member at `where`, as JSON.parse builds one (an origin relaying parsed JSON). */
function withProtoKey(where: 'top' | 'geo' | 'client'): CheckRequest {
  const text = JSON.stringify(USER);
  const member = '"__proto__":{"country":"CN"}';
  if (where === 'top') return JSON.parse(`{${member},${text.slice(1)}`) as CheckRequest;
  return JSON.parse(text.replace(`"${where}":{`, `"${where}":{${member},`)) as CheckRequest;
}

describe('review: cache keys of requests with a "__proto__" member', () => {
  it.each(['top', 'geo', 'client'] as const)('fixed: a "__proto__" member (%s) is part of the key, as it is part of the body sent', (where) => {
    const request = withProtoKey(where);
    // The body geogate receives holds the member (and geogate refuses it: unknown field).
    expect(JSON.stringify(request)).toContain('__proto__');
    expect(cacheKey(request)).not.toBe(cacheKey(USER));
    expect(cacheKey(request)).toContain('__proto__');
  });

  it('fixed: a decision cached for other facts is never served to a request with a "__proto__" member', async () => {
    const client = new GeogateClient({ baseUrl: stub.url, token: 'check-token-for-tests-0123', cache: { ttlMs: 5_000 }, retries: 0 });
    expect((await client.check(USER)).source).toBe('geogate');
    const again = await client.check(withProtoKey('geo'));
    expect(again.source).toBe('geogate');
    expect(stub.received).toHaveLength(2);
  });
});
