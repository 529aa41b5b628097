// The AccessCheck entrypoint through a REAL service binding: a second Worker ("rpc-origin",
// test/fixtures/workers/rpc-origin.js, bound in vitest.config.ts) calls geogate over Workers RPC,
// as a customer's Worker would. It must answer what POST /v1/check answers for the same body.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DecisionBody } from '../../src/routes/decide';
import type { AccessCheck, AccessCheckInputError } from 'geogate/rpc';
import { policyWith, postCheck, resetPolicyState, storePolicy } from '../helpers';

beforeEach(resetPolicyState);

/** The Worker that holds the service binding. */
const origin = (env as unknown as { RPC_ORIGIN: Fetcher }).RPC_ORIGIN;

type RpcAnswer<T> = { result: T; thrown?: undefined } | { result?: undefined; thrown: { name: string; message: string } };

/** Has the origin Worker call one RPC method of geogate. */
async function rpc<T = DecisionBody>(method: 'check' | 'ping', input?: unknown): Promise<RpcAnswer<T>> {
  const res = await origin.fetch('https://origin.test/', { method: 'POST', body: JSON.stringify({ method, input }) });
  expect(res.status).toBe(200);
  return res.json<RpcAnswer<T>>();
}

/** The parts of a decision that do not vary between two calls (no clock, no request id). */
function stable(body: DecisionBody) {
  const { evaluatedAt, requestId, ...rest } = body;
  expect(typeof evaluatedAt).toBe('string');
  expect(typeof requestId).toBe('string');
  // The ticket binds the request id and the instant: it differs between two calls by design.
  if (rest.challenge) delete rest.challenge.ticket;
  return rest;
}

const CASES: [string, Record<string, unknown>, DecisionBody['decision']][] = [
  ['an allowed US user', { ip: '203.0.113.9', geo: { country: 'US', timezone: 'America/New_York' }, client: { timezone: 'America/New_York' } }, 'allow'],
  ['a user in a restricted country', { ip: '203.0.113.9', geo: { country: 'CN' } }, 'deny'],
  ['a US IP whose clock says Shanghai', { ip: '203.0.113.9', geo: { country: 'US', timezone: 'America/New_York' }, client: { timezone: 'Asia/Shanghai', acceptLanguage: 'zh-CN' } }, 'challenge'],
];

describe('AccessCheck.check over a service binding', () => {
  it.each(CASES)('%s: the same decision as POST /v1/check', async (_name, input, want) => {
    const body = { requestId: 'rpc-1', ...input, account: { id: `rpc-${want}` } };
    const viaRpc = await rpc('check', body);
    expect(viaRpc.thrown).toBeUndefined();
    const viaHttp = await (await postCheck(body)).json<DecisionBody>();
    expect(viaRpc.result?.decision).toBe(want);
    expect(stable(viaRpc.result as DecisionBody)).toEqual(stable(viaHttp));
  });

  it('needs no token: the binding is the credential', async () => {
    const answer = await rpc('check', { geo: { country: 'CN' } });
    expect(answer.result).toMatchObject({ decision: 'deny', failed: false, geoSource: 'forwarded' });
  });

  it('keeps the request id the caller sent, and makes one up otherwise', async () => {
    expect((await rpc('check', { requestId: 'origin-req-7' })).result?.requestId).toBe('origin-req-7');
    expect((await rpc('check', {})).result?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers invalid fields with the 400 body of /v1/check, as a value, naming each field', async () => {
    const body = { geo: { country: 'China' }, ip: '999.1.1.1', colour: 'red' };
    const answer = await rpc<AccessCheckInputError>('check', body);
    expect(answer.thrown).toBeUndefined();
    const viaHttp = await postCheck(body);
    expect(viaHttp.status).toBe(400);
    expect(answer.result).toEqual(await viaHttp.json());
    expect(answer.result?.error.issues.map((i) => i.path).sort()).toEqual(['colour', 'geo.country', 'ip']);
  });

  it.each(['CN', 42, [], [{ geo: { country: 'US' } }]])('answers INVALID_REQUEST for a non-object input (%j)', async (input) => {
    const answer = await rpc<AccessCheckInputError>('check', input);
    expect(answer.result?.error).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ path: '(body)' }] });
  });

  it('reads null as absent, like the HTTP route (null input included)', async () => {
    expect((await rpc('check', { ip: null, geo: { country: 'CN', city: null } })).result).toMatchObject({ decision: 'deny' });
  });

  it('promise 1: a corrupt policy and no last good copy answers the fail mode, failed, instead of throwing', async () => {
    await storePolicy('{ corrupt');
    const answer = await rpc('check', { geo: { country: 'US' } });
    expect(answer.result).toMatchObject({ decision: 'deny', failed: true, policyVersion: 'none', reasons: [{ code: 'POLICY_UNAVAILABLE' }] });
  });

  it('serves the policy in KV, as the HTTP route does', async () => {
    await storePolicy(policyWith({ version: 'rpc-7', rules: [{ id: 'no-us', type: 'country', action: 'deny', countries: ['US'] }] }));
    expect((await rpc('check', { geo: { country: 'US' } })).result).toMatchObject({ decision: 'deny', policyVersion: 'rpc-7', policySource: 'kv' });
  });

  it('promise 2: a client claim added over RPC never makes the decision more permissive', async () => {
    const base = { ip: '203.0.113.9', geo: { country: 'US', timezone: 'America/New_York' }, account: { id: 'rpc-p2' } };
    const plain = (await rpc('check', base)).result;
    const claimed = (await rpc('check', { ...base, client: { timezone: ['America/New_York', 'Asia/Shanghai'] } })).result;
    const rank = { allow: 0, challenge: 1, deny: 2 } as const;
    expect(plain?.decision).toBe('allow');
    expect(rank[claimed?.decision ?? 'allow']).toBeGreaterThanOrEqual(rank.allow + 1);
  });
});

describe('the types a caller imports from geogate/rpc', () => {
  it('type the binding: check takes the /v1/check body and answers its body', async () => {
    const binding = (env as unknown as { GEOGATE: Service<AccessCheck> }).GEOGATE;
    const answer = await binding.check({ geo: { country: 'CN' } });
    expect('error' in answer ? answer.error.code : answer.decision).toBe('deny');
  });
});

describe('AccessCheck.ping', () => {
  it('answers "ok" (the RPC baseline the bench compares check with)', async () => {
    expect(await rpc<string>('ping')).toEqual({ result: 'ok' });
  });
});
