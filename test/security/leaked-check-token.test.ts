// Security review (docs/security.md): a leaked check token cannot read or change policy, lists,
// intel, the audit log, account and organisation memory or clearance revocations. Every admin route
// is enumerated from the app itself (createApp().routes), so a route added later is covered
// without editing this file; each is called with the check token, with every method and a body
// that the admin token would get accepted, and the whole admin-visible state is compared before
// and after.
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app';
import { AccessCheck } from '../../src/rpc/access-check';
import { adminFetch, fresh, preconditionFor, push } from '../admin-client';
import { ADMIN_TOKEN, CHECK_TOKEN, defaultDocument, postCheck, resetPolicyState } from '../helpers';

/** Paths that are not admin routes: the public ones and the check token's own. */
const NOT_ADMIN = new Set(['/*', '/healthz', '/v1/check', '/v1/authorize', '/v1/authorize/*', '/v1/challenge/*', '/v1/challenge/step-up', '/v1/challenge/turnstile', '/challenge', '/openapi.json', '/docs']);

const LIST = 'sec-leak-list';
const ACCOUNT = 'sec-leak-acct';
const ORG = 'sec-leak-org';

/** Every admin path the app serves, with its parameters filled in. */
function adminPaths(): string[] {
  const paths = new Set<string>();
  for (const r of createApp().routes) {
    if (NOT_ADMIN.has(r.path)) continue;
    paths.add(
      r.path
        .replace(':name', LIST)
        .replace(':id', ACCOUNT)
        .replace(/\*$/, 'anything'),
    );
  }
  return [...paths].sort();
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** A body the admin token would get accepted on `path` (so that a refusal is the token's doing). */
function bodyFor(path: string): string | undefined {
  if (path === '/v1/policy' || path === '/v1/policy/validate') return JSON.stringify({ ...defaultDocument(), version: fresh('leak') });
  if (path === '/v1/policy/rollback') return JSON.stringify({ version: 'sec-leak-v1' });
  if (path === `/v1/lists/${LIST}`) return JSON.stringify({ kind: 'cidr', items: ['192.0.2.0/24'], add: ['192.0.2.0/24'] });
  if (path === '/v1/simulate') return JSON.stringify({ requests: [{ geo: { country: 'US' } }] });
  if (path === '/v1/intel') return '{}';
  return undefined;
}

/** What the admin token reads of the whole state, and the KV namespace's raw contents. */
async function snapshot(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const path of ['/v1/policy', '/v1/policy/versions', '/v1/lists', `/v1/lists/${LIST}`, '/v1/intel', '/v1/audit?limit=500', `/v1/accounts/${ACCOUNT}/activity`, `/v1/orgs/${ORG}/activity`, `/v1/accounts/${ACCOUNT}/clearances`]) {
    const res = await adminFetch(path);
    out[path] = { status: res.status, etag: res.headers.get('etag'), body: await res.text() };
  }
  const kv: Record<string, string | null> = {};
  for (const { name } of (await env.POLICY.list()).keys) kv[name] = await env.POLICY.get(name);
  out.kv = kv;
  return out;
}

beforeAll(async () => {
  await resetPolicyState();
  // A policy that awaits the memory, pushed through the API, a list, memory for an account and its
  // organisation, and a clearance revocation: state for each admin route to guard.
  const policy = { ...defaultDocument(), version: 'sec-leak-v1', history: { mode: 'sync', syncBudgetMs: 5000 } };
  expect((await push(policy)).status).toBe(200);
  expect((await adminFetch(`/v1/lists/${LIST}`, { method: 'PUT', body: { kind: 'cidr', items: ['198.51.100.0/24'] }, headers: await preconditionFor(`/v1/lists/${LIST}`) })).status).toBe(200);
  const checked = await postCheck({ ip: '198.51.100.7', geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' }, account: { id: ACCOUNT, orgId: ORG } });
  expect(checked.status).toBe(200);
  await checked.body?.cancel();
  expect((await adminFetch(`/v1/accounts/${ACCOUNT}/clearances`, { method: 'DELETE' })).status).toBe(200);
});

beforeEach(() => {
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

describe('a leaked check token cannot read or change policy or account state', () => {
  it('the enumeration finds every admin route family', () => {
    expect(adminPaths()).toEqual(
      expect.arrayContaining([
        '/v1/policy',
        '/v1/policy/validate',
        '/v1/policy/versions',
        '/v1/policy/rollback',
        '/v1/lists',
        `/v1/lists/${LIST}`,
        '/v1/simulate',
        '/v1/intel',
        '/v1/audit',
        `/v1/accounts/${ACCOUNT}/activity`,
        `/v1/orgs/${ACCOUNT}/activity`,
        `/v1/accounts/${ACCOUNT}/clearances`,
      ]),
    );
  });

  it('every admin route, every method, with the check token: 403 FORBIDDEN, and nothing changes', async () => {
    const before = await snapshot();
    // There is state to guard: a policy, a list, memory for the account and the organisation, a revocation.
    const read = (path: string) => before[path] as { status: number; etag: string | null; body: string };
    for (const path of ['/v1/policy', `/v1/lists/${LIST}`, `/v1/accounts/${ACCOUNT}/activity`, `/v1/orgs/${ORG}/activity`, `/v1/accounts/${ACCOUNT}/clearances`]) expect(read(path).status, path).toBe(200);
    expect(JSON.parse(read(`/v1/accounts/${ACCOUNT}/activity`).body)).toMatchObject({ history: { events: 1 } });
    expect(JSON.parse(read(`/v1/orgs/${ORG}/activity`).body)).toMatchObject({ history: expect.anything() as unknown });
    expect(JSON.parse(read(`/v1/accounts/${ACCOUNT}/clearances`).body)).toMatchObject({ revokedAt: expect.any(String) as unknown });
    const etag = read('/v1/policy').etag ?? '*';
    const paths = [...adminPaths(), `/v1/orgs/${ORG}/activity`];
    const seen: string[] = [];
    for (const path of paths) {
      for (const method of METHODS) {
        const body = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? undefined : bodyFor(path);
        // Every way a caller might present it: the bearer scheme in any case, and with the
        // preconditions a write needs.
        for (const authorization of [`Bearer ${CHECK_TOKEN}`, `bearer ${CHECK_TOKEN}`, `Bearer ${CHECK_TOKEN} `]) {
          const res = await adminFetch(path, { method, token: null, headers: { authorization, 'if-match': etag, 'content-type': 'application/json' }, ...(body !== undefined ? { body } : {}) });
          expect(res.status, `${method} ${path}`).toBe(403);
          if (method !== 'HEAD') expect(await res.json(), `${method} ${path}`).toEqual({ error: { code: 'FORBIDDEN', message: 'The check token cannot administer geogate; use the admin token.' } });
          seen.push(`${method} ${path}`);
        }
      }
    }
    expect(seen.length).toBeGreaterThanOrEqual(paths.length * METHODS.length * 3);
    expect(await snapshot()).toEqual(before);
  });

  it('the check token in Geogate-Token, or beside another value, is no admin credential either', async () => {
    const before = await snapshot();
    const attempts: Record<string, string>[] = [
      { 'geogate-token': CHECK_TOKEN },
      { 'geogate-token': ADMIN_TOKEN },
      { authorization: `Bearer ${CHECK_TOKEN}, Bearer ${ADMIN_TOKEN}` },
      { authorization: `Bearer ${CHECK_TOKEN}${ADMIN_TOKEN}` },
      { authorization: `Basic ${btoa(`admin:${CHECK_TOKEN}`)}` },
      { authorization: CHECK_TOKEN },
    ];
    for (const headers of attempts) {
      for (const [method, path] of [['GET', '/v1/policy'], ['DELETE', `/v1/accounts/${ACCOUNT}/activity`], ['DELETE', `/v1/accounts/${ACCOUNT}/clearances`], ['GET', '/v1/audit']] as const) {
        const res = await adminFetch(path, { method, token: null, headers });
        expect([401, 403], `${JSON.stringify(headers)} ${method} ${path}`).toContain(res.status);
        await res.body?.cancel();
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('the RPC entrypoint (no token at all) offers check and ping only: nothing that reads or writes admin state', () => {
    const methods = Object.getOwnPropertyNames(AccessCheck.prototype).filter((m) => m !== 'constructor');
    expect(methods.sort()).toEqual(['check', 'ping']);
  });
});
