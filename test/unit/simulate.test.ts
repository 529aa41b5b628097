// simulate(): the golden cases replayed in one call give the decisions the golden files pin; a
// candidate policy's differences are counted by transition and reason; invalid requests are
// reported with their issues and never stop the run.
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/default';
import { simulate, SimulateBodySchema, MAX_SIMULATE_REQUESTS, type SimulatedDecision } from '../../src/simulate/simulate';
import defaultGolden from '../fixtures/golden/default-policy.json';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import familiesGolden from '../fixtures/golden/families.json';
import trafficGolden from '../fixtures/golden/traffic.json';
import { GoldenFileSchema, type GoldenOutcome } from '../golden/golden';
import { compile, defaultDocument, NOW } from '../helpers';

const withoutActions = (d: SimulatedDecision | undefined): GoldenOutcome | undefined =>
  d && { decision: d.decision, score: d.score, reasons: d.reasons.map((r) => ({ code: r.code, rule: r.rule, ...(r.liftedBy !== undefined ? { liftedBy: r.liftedBy } : {}) })) };

describe('simulate replays the golden cases', () => {
  it.each([
    ['default-policy.json', defaultGolden],
    ['families.json', familiesGolden],
    ['traffic.json', trafficGolden],
    ['exceptions-policy.json', exceptionsGolden],
  ])('%s: every result is the pinned decision', (_name, raw) => {
    const file = GoldenFileSchema.parse(raw);
    const policy = file.policy === 'default' ? defaultPolicy() : compile(file.policy);
    const report = simulate({
      current: policy,
      requests: file.cases.map((c) => c.request),
      now: Date.parse(file.now),
      instants: file.cases.map((c) => (c.now === undefined ? undefined : Date.parse(c.now))),
    });
    // simulate reports decisions, not the challenge offered (golden cases pin that too).
    expect(report.results.map((r) => withoutActions(r.current))).toEqual(
      file.cases.map((c) => {
        const want: Partial<typeof c.want> = { ...c.want };
        delete want.challenge;
        return want;
      }),
    );
    expect(report.summary.total).toBe(file.cases.length);
    expect(report.summary.invalid).toBe(0);
    expect(report.summary.changed).toBe(0);
    expect(report.summary.transitions).toEqual({});
    expect(report.summary.byReason).toEqual({});
    expect(report.summary.decisions.candidate).toBeUndefined();
    const want = { allow: 0, challenge: 0, deny: 0 };
    for (const c of file.cases) want[c.want.decision]++;
    expect(report.summary.decisions.current).toEqual(want);
    expect(report.results.every((r) => r.candidate === undefined && !r.changed)).toBe(true);
  });
});

describe('simulate with a candidate', () => {
  const US = { ip: '203.0.113.7', geo: { country: 'US', asn: 7922 }, requestId: 'us-1' };
  const CN_CLOCK_ON_US = { ip: '203.0.113.8', geo: { country: 'US', asn: 7922 }, client: { timezone: 'Asia/Shanghai' } };
  const DE = { ip: '203.0.113.9', geo: { country: 'DE', asn: 3320 } };

  function candidateDenyingUs() {
    const doc = defaultDocument();
    doc.version = 'candidate-us';
    doc.rules = [...doc.rules, { id: 'no-us', type: 'country', action: 'deny', countries: ['US'] }];
    return compile(doc);
  }

  it('counts transitions and reason codes added or removed', () => {
    const report = simulate({ current: defaultPolicy(), candidate: candidateDenyingUs(), requests: [US, CN_CLOCK_ON_US, DE], now: NOW });
    const [us, cnClock, de] = report.results;
    expect(us).toMatchObject({ index: 0, requestId: 'us-1', changed: true, current: { decision: 'allow' }, candidate: { decision: 'deny' } });
    expect(us?.candidate?.reasons[0]).toEqual({ code: 'COUNTRY_DENIED', rule: 'no-us', action: 'deny' });
    expect(cnClock).toMatchObject({ changed: true, current: { decision: 'challenge' }, candidate: { decision: 'deny' } });
    expect(de).toMatchObject({ changed: false, current: { decision: 'allow' }, candidate: { decision: 'allow' } });
    expect(report.summary).toEqual({
      total: 3,
      invalid: 0,
      changed: 2,
      policies: { current: defaultPolicy().version, candidate: 'candidate-us' },
      decisions: { current: { allow: 2, challenge: 1, deny: 0 }, candidate: { allow: 1, challenge: 0, deny: 2 } },
      transitions: { 'allow->deny': 1, 'challenge->deny': 1 },
      byReason: { COUNTRY_DENIED: { added: 2, removed: 0 } },
    });
  });

  it('counts codes a candidate removes', () => {
    const report = simulate({ current: candidateDenyingUs(), candidate: defaultPolicy(), requests: [US], now: NOW });
    expect(report.summary.transitions).toEqual({ 'deny->allow': 1 });
    expect(report.summary.byReason).toEqual({ COUNTRY_DENIED: { added: 0, removed: 1 } });
  });

  it('the same policy on both sides changes nothing', () => {
    const report = simulate({ current: defaultPolicy(), candidate: defaultPolicy(), requests: [US, CN_CLOCK_ON_US, DE], now: NOW });
    expect(report.summary.changed).toBe(0);
    expect(report.summary.byReason).toEqual({});
    expect(report.results.map((r) => r.candidate)).toEqual(report.results.map((r) => r.current));
  });
});

describe('invalid requests', () => {
  it('are reported with field-level issues and counted, and the others are still decided', () => {
    const report = simulate({
      current: defaultPolicy(),
      candidate: defaultPolicy(),
      requests: [{ ip: 42, requestId: 'bad-1' }, 'not an object', { geo: { country: 'US' }, extra: true }, { geo: { country: 'US' } }],
      now: NOW,
    });
    expect(report.summary).toMatchObject({ total: 4, invalid: 3, changed: 0 });
    expect(report.results[0]).toMatchObject({ index: 0, requestId: 'bad-1', changed: false, error: { issues: [{ path: 'ip' }] } });
    expect(report.results[0]?.current).toBeUndefined();
    expect(report.results[1]?.error?.issues[0]?.path).toBe('(body)');
    expect(report.results[2]?.error?.issues).toEqual([{ path: 'extra', code: 'unrecognized_keys', message: 'unknown field' }]);
    expect(report.results[3]?.current?.decision).toBe('allow');
    expect(report.summary.decisions.current).toEqual({ allow: 1, challenge: 0, deny: 0 });
  });
});

describe('time and progress', () => {
  it('judges client clocks against the per-request instant when given', () => {
    const req = { geo: { country: 'US', asn: 7922 }, client: { timezone: 'America/New_York', clock: '2026-11-26T07:00:00-05:00' } };
    const at = Date.parse('2026-11-26T12:00:00Z');
    const report = simulate({ current: defaultPolicy(), requests: [req, req], now: at + 3_600_000, instants: [at, undefined] });
    const codes = report.results.map((r) => r.current?.reasons.map((x) => x.code) ?? []);
    expect(codes[0]).not.toContain('CLOCK_SKEW');
    expect(codes[1]).toContain('CLOCK_SKEW');
  });

  it('reports progress every progressEvery requests and at the end', () => {
    const calls: [number, number][] = [];
    simulate({
      current: defaultPolicy(),
      requests: Array.from({ length: 5 }, () => ({})),
      now: NOW,
      progressEvery: 2,
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(calls).toEqual([[2, 5], [4, 5], [5, 5]]);
  });
});

describe('SimulateBodySchema (POST /v1/simulate)', () => {
  it('takes 1 to 10,000 requests and an optional policy', () => {
    expect(SimulateBodySchema.safeParse({ requests: [{}] }).success).toBe(true);
    expect(SimulateBodySchema.safeParse({ requests: [] }).success).toBe(false);
    expect(SimulateBodySchema.safeParse({ requests: Array.from({ length: MAX_SIMULATE_REQUESTS + 1 }, () => ({})) }).success).toBe(false);
    expect(SimulateBodySchema.safeParse({ requests: [{}], other: 1 }).success).toBe(false);
  });

  it('simulates 10,000 requests in one call', () => {
    const requests = Array.from({ length: MAX_SIMULATE_REQUESTS }, (_, i) => ({ requestId: `r${i}`, geo: { country: i % 2 ? 'US' : 'CN' } }));
    const report = simulate({ current: defaultPolicy(), requests, now: NOW });
    expect(report.results).toHaveLength(MAX_SIMULATE_REQUESTS);
    expect(report.summary.decisions.current).toEqual({ allow: 5000, challenge: 0, deny: 5000 });
  });
});
