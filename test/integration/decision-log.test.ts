// Decision logs through the Worker (workerd, real local KV): at most one Analytics Engine data
// point and one log line per request on /v1/check and /v1/authorize, fail-mode decisions logged
// with their fail flag, the policy's sampling and masking applied, no raw IP in any record, and a
// missing or throwing DECISIONS binding never costing a decision.
import { createExecutionContext, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import { DECISION_BLOBS, DECISION_DOUBLES, MASKED, type DecisionLogLine } from '../../src/observability/decision-log';
import { decisionIpHash } from '../../src/observability/decision-log-sink';
import { decideCheck } from '../../src/routes/decide';
import { CHECK_TOKEN, FAILING_KV, policyWith, postCheck, resetPolicyState, storePolicy } from '../helpers';

/** A DECISIONS binding that records what it is given. */
function recorder() {
  const points: AnalyticsEngineDataPoint[] = [];
  const dataset: AnalyticsEngineDataset = { writeDataPoint: (p) => void points.push(p ?? {}) };
  return { points, dataset };
}

/** The decision log lines printed while `spy` watched console.log. */
function decisionLines(spy: { mock: { calls: unknown[][] } }): DecisionLogLine[] {
  return spy.mock.calls
    .map((c) => c[0])
    .filter((x): x is string => typeof x === 'string' && x.includes('"event":"geogate.decision"'))
    .map((x) => JSON.parse(x) as DecisionLogLine);
}

/** Blob `name` of a data point, by its documented position. */
const blob = (p: AnalyticsEngineDataPoint | undefined, name: (typeof DECISION_BLOBS)[number]) => p?.blobs?.[DECISION_BLOBS.indexOf(name)];
const double = (p: AnalyticsEngineDataPoint | undefined, name: (typeof DECISION_DOUBLES)[number]) => p?.doubles?.[DECISION_DOUBLES.indexOf(name)];

/** Calls the Worker with overridden bindings, waiting for its background work. */
async function fetchWith(overrides: Partial<Record<keyof Env, unknown>>, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const checkRequest = (body: unknown) =>
  new Request('https://geogate.test/v1/check', { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const authorizeRequest = (headers: Record<string, string>) => new Request('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', ...headers } });

const SECRET = (env as { MEMORY_HASH_SECRET?: string }).MEMORY_HASH_SECRET;

let log: { mock: { calls: unknown[][] } };
beforeEach(async () => {
  await resetPolicyState();
  log = vi.spyOn(console, 'log');
});
afterEach(() => vi.restoreAllMocks());

describe('one decision, one data point and one log line', () => {
  it('/v1/check writes the decision, its top reason, the facts, the policy and the timings', async () => {
    const r = recorder();
    const res = await fetchWith(
      { DECISIONS: r.dataset },
      checkRequest({ requestId: 'log-check-1', ip: '203.0.113.77', geo: { country: 'CN', asn: 4134 }, account: { id: 'acct_log_1', orgId: 'org_log_1' }, surface: 'web' }),
    );
    expect(res.status).toBe(200);
    const body = await res.json<{ decision: string; policyVersion: string }>();
    expect(body.decision).toBe('deny');
    expect(r.points).toHaveLength(1);
    const [p] = r.points;
    expect(p?.indexes).toEqual(['a:acct_log_1']);
    expect(p?.blobs?.slice(0, 11)).toEqual(['deny', 'COUNTRY_DENIED', 'CN', '4134', 'web', body.policyVersion, 'false', 'acct_log_1', 'org_log_1', '203.0.113.0/24', await decisionIpHash(SECRET, '203.0.113.77')]);
    expect(blob(p, 'requestId')).toBe('log-check-1');
    expect(double(p, 'sampleWeight')).toBe(1);
    expect(double(p, 'evaluationMicros')).toBeGreaterThanOrEqual(0);
    expect(double(p, 'totalMicros')).toBeGreaterThanOrEqual(double(p, 'evaluationMicros') ?? 0);
    const lines = decisionLines(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ requestId: 'log-check-1', decision: 'deny', reasons: ['COUNTRY_DENIED'], failed: false, country: 'CN', asn: 4134, account: 'acct_log_1', network: '203.0.113.0/24', masked: [] });
    expect(lines[0]?.ipHash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('/v1/authorize writes exactly one data point per request', async () => {
    const r = recorder();
    for (const country of ['US', 'CN']) {
      const res = await fetchWith({ DECISIONS: r.dataset }, authorizeRequest({ 'geogate-country': country, 'geogate-asn': '7922', 'geogate-ip': '198.51.100.9', 'geogate-request-id': `log-auth-${country}` }));
      expect([200, 403]).toContain(res.status);
    }
    expect(r.points.map((p) => [blob(p, 'requestId'), blob(p, 'decision')])).toEqual([
      ['log-auth-US', 'allow'],
      ['log-auth-CN', 'deny'],
    ]);
    expect(decisionLines(log).map((l) => l.requestId)).toEqual(['log-auth-US', 'log-auth-CN']);
  });

  it('a 400 (no decision) writes nothing', async () => {
    const r = recorder();
    const res = await fetchWith({ DECISIONS: r.dataset }, checkRequest({ ip: 'not-an-ip' }));
    expect(res.status).toBe(400);
    expect(r.points).toEqual([]);
    expect(decisionLines(log)).toEqual([]);
  });

  it('decideCheck, called without Hono (the RPC entrypoint), logs too', async () => {
    const r = recorder();
    const pending: Promise<unknown>[] = [];
    const body = await decideCheck({ env: { ...env, DECISIONS: r.dataset }, waitUntil: (p) => void pending.push(p) }, { requestId: 'log-rpc-1', geo: { country: 'US', asn: 7922 } });
    await Promise.allSettled(pending);
    expect(body.decision).toBe('allow');
    expect(r.points.map((p) => blob(p, 'requestId'))).toEqual(['log-rpc-1']);
  });
});

describe('no raw IP in any record', () => {
  it.each([
    ['IPv4', '192.0.2.147', '192.0.2.0/24', ['192.0.2.147']],
    ['IPv6', '2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::/48', ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '1319:8a2e:370:7348']],
    ['IPv4-mapped IPv6', '::ffff:192.0.2.147', '192.0.2.0/24', ['::ffff:192.0.2.147', '192.0.2.147']],
  ])('%s', async (_, ip, network, forbidden) => {
    const r = recorder();
    await fetchWith({ DECISIONS: r.dataset }, checkRequest({ ip, geo: { country: 'US', asn: 7922 }, account: { id: 'acct_ip' } }));
    const lines = decisionLines(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.network).toBe(network);
    const texts = [...log.mock.calls.map((c) => c.map(String).join(' ')), JSON.stringify(r.points)];
    for (const text of texts) for (const f of forbidden) expect(text).not.toContain(f);
  });
});

describe('fail-mode decisions', () => {
  it.each([
    ['closed', 'deny'],
    ['open', 'allow'],
  ])('FAIL_MODE %s: logged with the fail flag (failed open = failed and allow), every field masked', async (mode, decision) => {
    const r = recorder();
    const res = await fetchWith({ DECISIONS: r.dataset, POLICY: FAILING_KV, FAIL_MODE: mode }, checkRequest({ ip: '192.0.2.10', geo: { country: 'BR', asn: 28573 }, account: { id: 'acct_fail' } }));
    expect(await res.json()).toMatchObject({ decision, failed: true });
    expect(r.points).toHaveLength(1);
    const [p] = r.points;
    expect([blob(p, 'decision'), blob(p, 'topReason'), blob(p, 'failed'), blob(p, 'policyVersion')]).toEqual([decision, 'POLICY_UNAVAILABLE', 'true', 'none']);
    for (const f of ['country', 'asn', 'account', 'org', 'surface', 'network', 'ipHash'] as const) expect(blob(p, f)).toBe(MASKED);
    expect(p?.indexes).toEqual(['']);
    expect(decisionLines(log)).toMatchObject([{ decision, failed: true, masked: ['country', 'asn', 'account', 'org', 'surface', 'ipHash', 'network'] }]);
  });
});

describe("the policy's decisionLog", () => {
  it('sampleRate 0 logs nothing; the decision is unchanged', async () => {
    await storePolicy(policyWith({ version: 'log-rate-0', decisionLog: { sampleRate: 0 } }));
    const r = recorder();
    const res = await fetchWith({ DECISIONS: r.dataset }, checkRequest({ geo: { country: 'US', asn: 7922 } }));
    expect(await res.json()).toMatchObject({ decision: 'allow', policyVersion: 'log-rate-0' });
    expect(r.points).toEqual([]);
    expect(decisionLines(log)).toEqual([]);
  });

  it('a mask leaves fields out and the index falls back to the organisation', async () => {
    await storePolicy(policyWith({ version: 'log-mask', decisionLog: { mask: ['account', 'ipHash', 'network'] } }));
    const r = recorder();
    await fetchWith({ DECISIONS: r.dataset }, checkRequest({ ip: '192.0.2.10', geo: { country: 'US', asn: 7922 }, account: { id: 'acct_secret', orgId: 'org_visible' } }));
    const [p] = r.points;
    expect(p?.indexes).toEqual(['o:org_visible']);
    expect([blob(p, 'account'), blob(p, 'org'), blob(p, 'ipHash'), blob(p, 'network'), blob(p, 'policyVersion')]).toEqual([MASKED, 'org_visible', MASKED, MASKED, 'log-mask']);
    const [line] = decisionLines(log);
    expect(line?.masked).toEqual(['account', 'ipHash', 'network']);
    expect(JSON.stringify([line, r.points])).not.toContain('acct_secret');
  });
});

describe('a decision never depends on the sink', () => {
  it('a DECISIONS binding that throws: the decision answers, the line is still logged, the failure is reported', async () => {
    const warn = vi.spyOn(console, 'warn');
    const throwing: AnalyticsEngineDataset = {
      writeDataPoint: () => {
        throw new Error('Analytics Engine write failed');
      },
    };
    const res = await fetchWith({ DECISIONS: throwing }, checkRequest({ requestId: 'log-throw', geo: { country: 'CN' } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ decision: 'deny' });
    expect(decisionLines(log).map((l) => l.requestId)).toEqual(['log-throw']);
    expect(warn.mock.calls.some((c) => String(c[0]).includes('"geogate.decision-log.failed"'))).toBe(true);
    const auth = await fetchWith({ DECISIONS: throwing }, authorizeRequest({ 'geogate-country': 'US', 'geogate-asn': '7922' }));
    expect(auth.status).toBe(200);
  });

  it('no DECISIONS binding (local dev without it): the decision answers and the line is logged', async () => {
    const res = await fetchWith({ DECISIONS: undefined }, checkRequest({ requestId: 'log-unbound', geo: { country: 'US', asn: 7922 } }));
    expect(await res.json()).toMatchObject({ decision: 'allow' });
    expect(decisionLines(log).map((l) => l.requestId)).toEqual(['log-unbound']);
  });

  it("the pool's own (simulated) DECISIONS binding takes the writes", async () => {
    expect(typeof env.DECISIONS.writeDataPoint).toBe('function');
    const res = await postCheck({ requestId: 'log-pool', geo: { country: 'US', asn: 7922 } });
    expect(await res.json()).toMatchObject({ decision: 'allow' });
    const auth = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', 'geogate-country': 'CN' } });
    expect(auth.status).toBe(403);
  });
});
