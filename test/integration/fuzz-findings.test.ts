// Regression tests for what the hostile-input suite (npm run test:fuzz, test/fuzz/) found, each
// pinned here so that the ordinary suite keeps it fixed.
import { SELF } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import { CHECK_TOKEN, usePolicy } from '../helpers';

// exceptions-1: "banned-accounts" denies account acct-banned and organisation org-banned.
beforeEach(() => usePolicy(exceptionsGolden.policy));

function authorize(entries: [string, string][]): Promise<Response> {
  const headers = new Headers({ authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-country': 'US' });
  for (const [name, value] of entries) headers.append(name, value);
  return SELF.fetch('https://geogate.test/v1/authorize', { headers });
}

describe('fuzz finding: a repeated Geogate-Account-Id or Geogate-Org-Id (test/fuzz/authorize.test.ts, "repeat-origin")', () => {
  it('the banned account alone is denied', async () => {
    const res = await authorize([['geogate-account-id', 'acct-banned']]);
    expect(res.status).toBe(403);
  });

  it.each<[string, [string, string][]]>([
    ['the banned account sent twice', [['geogate-account-id', 'acct-banned'], ['geogate-account-id', 'acct-banned']]],
    ["the proxy's banned account after the user's own", [['geogate-account-id', 'acct-1'], ['geogate-account-id', 'acct-banned']]],
    ['the banned organisation sent twice', [['geogate-org-id', 'org-banned'], ['geogate-org-id', 'org-banned']]],
    ['a comma inside one value', [['geogate-org-id', 'org-banned,x']]],
  ])('%s is refused (400 naming the header), never read as another id that no rule lists', async (_name, entries) => {
    // The runtime joins a repeated header with ", ": read as one id, "acct-banned, acct-banned"
    // named no banned account and the request was allowed (200).
    const res = await authorize(entries);
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; issues: { path: string }[] } }>();
    expect(body.error.code).toBe('INVALID_REQUEST');
    expect(body.error.issues.map((i) => i.path)).toContain(entries[0]?.[0]);
  });
});
