// Decision logs, the pure part and the policy section: what one decision writes to Analytics
// Engine and to the log (field order pinned), masking, sampling, the index bound, the keyed IP
// hash, and how `decisionLog` is validated, compiled and stored.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hmacHex } from '../../src/accounts/sql';
import type { DecisionLogSettings } from '../../src/engine/compile';
import { DECISION_LOG_FIELDS, type DecisionLogField } from '../../src/engine/policy';
import type { Facts } from '../../src/engine/types';
import {
  DECISION_BLOBS,
  DECISION_DOUBLES,
  decisionDataPoint,
  decisionIndex,
  decisionLogLine,
  FAIL_MODE_LOG_SETTINGS,
  fitIndex,
  INDEX_MAX_BYTES,
  ipHashInput,
  isSampled,
  MASKED,
  type DecisionLogInput,
  type LoggedDecision,
} from '../../src/observability/decision-log';
import { DECISION_LOG_KEY_LABEL, decisionIpHash, writeDecisionLog } from '../../src/observability/decision-log-sink';
import { utf8Length } from '../../src/policy/limits';
import { parsePolicy } from '../../src/policy/schema';
import { buildSnapshot, decodeSnapshot } from '../../src/policy/snapshot';
import { compile, defaultDocument, facts, policyWith } from '../helpers';

const DECISION: LoggedDecision = {
  decision: 'challenge',
  reasons: [{ code: 'SCORE_CHALLENGE' }, { code: 'TZ_RESTRICTED' }, { code: 'TZ_MISMATCH' }],
  score: 70,
  failed: false,
  policyVersion: 'p-7',
  policySource: 'kv',
  snapshot: 'ab'.repeat(32),
  requestId: 'req-1',
  evaluatedAt: '2026-11-26T12:00:00.000Z',
  geoSource: 'forwarded',
};

const FACTS: Facts = facts({
  ip: '203.0.113.77',
  geo: { country: 'SG', asn: 7473 },
  account: { id: 'acct_42', orgId: 'org_9' },
  surface: 'web',
});

const settings = (sampleRate = 1, mask: DecisionLogField[] = []): DecisionLogSettings => ({ sampleRate, mask: new Set(mask) });

function input(over: Partial<DecisionLogInput> = {}): DecisionLogInput {
  return { decision: DECISION, facts: FACTS, settings: settings(), timings: { evaluationMicros: 41.6, totalMicros: 812.2 }, ipHash: 'f'.repeat(32), ...over };
}

/** Blob `name` of a data point, by its pinned position. */
const blob = (p: AnalyticsEngineDataPoint, name: (typeof DECISION_BLOBS)[number]) => p.blobs?.[DECISION_BLOBS.indexOf(name)];

describe('the Analytics Engine data point', () => {
  it('has its blobs, doubles and index in the documented order', () => {
    expect(DECISION_BLOBS).toEqual(['decision', 'topReason', 'country', 'asn', 'surface', 'policyVersion', 'failed', 'account', 'org', 'network', 'ipHash', 'geoSource', 'policySource', 'dryRun', 'requestId']);
    expect(DECISION_DOUBLES).toEqual(['score', 'evaluationMicros', 'sampleWeight', 'totalMicros']);
    expect(decisionDataPoint(input())).toEqual({
      blobs: ['challenge', 'SCORE_CHALLENGE', 'SG', '7473', 'web', 'p-7', 'false', 'acct_42', 'org_9', '203.0.113.0/24', 'f'.repeat(32), 'forwarded', 'kv', '', 'req-1'],
      doubles: [70, 42, 1, 812],
      indexes: ['a:acct_42'],
    });
  });

  it('stays within Analytics Engine limits (20 blobs, 20 doubles, one index)', () => {
    const p = decisionDataPoint(input());
    expect(p.blobs?.length).toBeLessThanOrEqual(20);
    expect(p.doubles?.length).toBeLessThanOrEqual(20);
    expect(p.indexes).toHaveLength(1);
  });

  it('writes unknown facts as empty blobs, an allow without reasons with an empty top reason, and the dry-run decision', () => {
    const p = decisionDataPoint(input({ decision: { ...DECISION, decision: 'allow', reasons: [], score: 0, dryRun: { decision: 'deny' } }, facts: facts({ geo: {}, geoSource: 'none' }), ipHash: undefined }));
    expect(p.blobs).toEqual(['allow', '', '', '', '', 'p-7', 'false', '', '', '', '', 'forwarded', 'kv', 'deny', 'req-1']);
    expect(p.indexes).toEqual(['']);
  });

  it('marks a failed decision (the fail flag) and weighs a sampled one by 1/sampleRate', () => {
    const p = decisionDataPoint(input({ decision: { ...DECISION, decision: 'allow', failed: true, policyVersion: 'none', policySource: 'none' }, settings: settings(0.25) }));
    expect(blob(p, 'failed')).toBe('true');
    expect(p.doubles?.[DECISION_DOUBLES.indexOf('sampleWeight')]).toBe(4);
  });

  it('never writes a negative or non-finite time', () => {
    const p = decisionDataPoint(input({ timings: { evaluationMicros: -3, totalMicros: Number.NaN } }));
    expect(p.doubles).toEqual([70, 0, 1, 0]);
  });
});

describe('masking', () => {
  it.each(DECISION_LOG_FIELDS.map((f) => [f]))('%s masked: "masked" in the data point, absent from the line and listed in `masked`', (field) => {
    const i = input({ settings: settings(1, [field]) });
    expect(blob(decisionDataPoint(i), field)).toBe(MASKED);
    const line = decisionLogLine(i);
    expect(line).not.toHaveProperty(field);
    expect(line.masked).toEqual([field]);
    for (const other of DECISION_LOG_FIELDS) if (other !== field) expect(line).toHaveProperty(other);
  });

  it.each<[string, DecisionLogField[], Facts['account'], string]>([
    ['the account', [], { id: 'acct_42', orgId: 'org_9' }, 'a:acct_42'],
    ['the organisation when the account is masked', ['account'], { id: 'acct_42', orgId: 'org_9' }, 'o:org_9'],
    ['the organisation when there is no account', [], { orgId: 'org_9' }, 'o:org_9'],
    ['the organisation when the account id is empty', [], { id: '', orgId: 'org_9' }, 'o:org_9'],
    ['nothing when both are masked', ['account', 'org'], { id: 'acct_42', orgId: 'org_9' }, ''],
    ['nothing when the organisation is masked and there is no account', ['org'], { orgId: 'org_9' }, ''],
    ['nothing without ids', [], {}, ''],
  ])('the index is %s', (_, mask, account, want) => {
    expect(decisionIndex(facts({ account }), new Set(mask))).toBe(want);
  });

  it('masks every field under the fail mode, whose policy (and mask) is unknown', () => {
    const i = input({ settings: FAIL_MODE_LOG_SETTINGS });
    const p = decisionDataPoint(i);
    for (const f of DECISION_LOG_FIELDS) expect(blob(p, f)).toBe(MASKED);
    expect(p.indexes).toEqual(['']);
    expect(decisionLogLine(i).masked).toEqual([...DECISION_LOG_FIELDS]);
    expect(FAIL_MODE_LOG_SETTINGS.sampleRate).toBe(1);
  });
});

describe('the log line', () => {
  it('has the decision, every reason code, the facts, the timings and the sample rate', () => {
    expect(decisionLogLine(input({ settings: settings(0.5) }))).toEqual({
      event: 'geogate.decision',
      requestId: 'req-1',
      decision: 'challenge',
      reasons: ['SCORE_CHALLENGE', 'TZ_RESTRICTED', 'TZ_MISMATCH'],
      score: 70,
      failed: false,
      policyVersion: 'p-7',
      policySource: 'kv',
      snapshot: 'ab'.repeat(32),
      geoSource: 'forwarded',
      dryRun: null,
      country: 'SG',
      asn: 7473,
      account: 'acct_42',
      org: 'org_9',
      surface: 'web',
      ipHash: 'f'.repeat(32),
      network: '203.0.113.0/24',
      masked: [],
      sampleRate: 0.5,
      evaluationMicros: 42,
      totalMicros: 812,
      evaluatedAt: '2026-11-26T12:00:00.000Z',
    });
  });

  it('writes unknown facts as null', () => {
    const line = decisionLogLine(input({ facts: facts({ geo: {} }), ipHash: undefined }));
    expect(line).toMatchObject({ country: null, asn: null, account: null, org: null, surface: null, ipHash: null, network: null });
  });

  it.each([
    ['IPv4', '198.51.100.23', '198.51.100.0/24'],
    ['IPv6', '2001:db8:abcd:12:3456:789a:bcde:f012', '2001:db8:abcd::/48'],
    ['IPv4-mapped IPv6', '::ffff:198.51.100.23', '198.51.100.0/24'],
    ['IPv4-mapped IPv6, hex form', '::ffff:c633:6417', '198.51.100.0/24'],
    ['NAT64', '64:ff9b::198.51.100.23', '198.51.100.0/24'],
  ])('names the network of an %s address and never the address', (_, ip, network) => {
    const i = input({ facts: facts({ ip }) });
    const line = JSON.stringify(decisionLogLine(i));
    const point = JSON.stringify(decisionDataPoint(i));
    expect(JSON.parse(line)).toMatchObject({ network });
    for (const text of [line, point]) {
      expect(text).not.toContain(ip);
      expect(text).not.toContain('198.51.100.23');
      expect(text).not.toContain('c633:6417');
    }
  });
});

describe('sampling', () => {
  it.each<[number, number, boolean]>([
    [0, 0, false],
    [0, 0.5, false],
    [0, 0.999999, false],
    [1, 0, true],
    [1, 0.999999, true],
    [0.25, 0.2499, true],
    [0.25, 0.25, false],
    [0.25, 0.9, false],
  ])('rate %d, draw %d: logged %s', (rate, draw, want) => {
    expect(isSampled(settings(rate), draw)).toBe(want);
  });
});

describe('the index bound', () => {
  const fits = (s: string) => {
    expect(utf8Length(s)).toBeLessThanOrEqual(INDEX_MAX_BYTES);
    // Cut on whole characters: no lone surrogate, so UTF-8 round-trips.
    expect(new TextDecoder().decode(new TextEncoder().encode(s))).toBe(s);
  };

  it.each([
    ['ASCII', 'a'.repeat(256)],
    ['two-byte', 'é'.repeat(256)],
    ['three-byte', '账'.repeat(256)],
    ['four-byte (surrogate pairs)', '😀'.repeat(128)],
    ['mixed', `x${'😀账é'.repeat(60)}`.slice(0, 256)],
  ])('a 256-character %s account id indexes within 96 bytes', (_, id) => {
    const index = decisionIndex(facts({ account: { id } }), new Set());
    fits(index);
    expect(index.startsWith('a:')).toBe(true);
    expect(index).toBe(decisionIndex(facts({ account: { id } }), new Set()));
  });

  it('keeps ids that fit as they are, and tells apart long ids that share their first 96 bytes', () => {
    expect(fitIndex('a:acct_42')).toBe('a:acct_42');
    const exact = `a:${'x'.repeat(94)}`;
    expect(fitIndex(exact)).toBe(exact);
    const a = fitIndex(`a:${'x'.repeat(200)}1`);
    const b = fitIndex(`a:${'x'.repeat(200)}2`);
    fits(a);
    fits(b);
    expect(a).not.toBe(b);
  });
});

describe('the keyed IP hash', () => {
  it('hashes the canonical address: plain and IPv4-mapped forms, and any IPv6 spelling, hash alike', async () => {
    expect(ipHashInput('::ffff:192.0.2.7')).toBe('ip:192.0.2.7');
    expect(ipHashInput('2001:DB8:0:0:0:0:0:1')).toBe('ip:2001:db8::1');
    expect(ipHashInput(undefined)).toBeUndefined();
    const a = await decisionIpHash('s3cret', '192.0.2.7');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(await decisionIpHash('s3cret', '::ffff:192.0.2.7')).toBe(a);
    expect(await decisionIpHash('s3cret', '192.0.2.8')).not.toBe(a);
    expect(await decisionIpHash('other', '192.0.2.7')).not.toBe(a);
  });

  it('is absent without a secret or an address (an unkeyed hash of an IPv4 address is reversible)', async () => {
    expect(await decisionIpHash(undefined, '192.0.2.7')).toBeUndefined();
    expect(await decisionIpHash('', '192.0.2.7')).toBeUndefined();
    expect(await decisionIpHash('s3cret', undefined)).toBeUndefined();
  });

  it('is recomputable by an operator holding the secret, as docs/decision-logs.md shows', async () => {
    const hmacKey = (raw: string) => crypto.subtle.importKey('raw', new TextEncoder().encode(raw), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const derived = await hmacHex(await hmacKey('s3cret'), DECISION_LOG_KEY_LABEL);
    expect(DECISION_LOG_KEY_LABEL).toBe('geogate:decision-log:v1');
    expect(await decisionIpHash('s3cret', '192.0.2.7')).toBe(await hmacHex(await hmacKey(derived), 'ip:192.0.2.7'));
    // The value the documented openssl recipe prints.
    expect(await decisionIpHash('s3cret', '192.0.2.7')).toBe('ca8449fa9bbd11f15bc74d5f4f0d6680');
  });
});

describe('writing', () => {
  afterEach(() => vi.restoreAllMocks());

  const recorder = () => {
    const points: AnalyticsEngineDataPoint[] = [];
    return { points, dataset: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p ?? {}) } };
  };
  const decisionLines = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"geogate.decision"'));

  it('writes one data point and one log line for a sampled decision', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const r = recorder();
    writeDecisionLog({ DECISIONS: r.dataset }, input(), 0.5);
    expect(r.points).toEqual([decisionDataPoint(input())]);
    expect(decisionLines(log).map((l) => JSON.parse(l) as unknown)).toEqual([decisionLogLine(input())]);
  });

  it('writes nothing for a decision the rate leaves out', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const r = recorder();
    writeDecisionLog({ DECISIONS: r.dataset }, input({ settings: settings(0) }), 0);
    writeDecisionLog({ DECISIONS: r.dataset }, input({ settings: settings(0.1) }), 0.1);
    expect(r.points).toEqual([]);
    expect(decisionLines(log)).toEqual([]);
  });

  it('still logs the line without the binding, and when the binding throws (reporting it), and never throws', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(() => writeDecisionLog({}, input(), 0)).not.toThrow();
    const throwing = {
      writeDataPoint: () => {
        throw new TypeError('Analytics Engine is unavailable');
      },
    };
    expect(() => writeDecisionLog({ DECISIONS: throwing }, input(), 0)).not.toThrow();
    expect(decisionLines(log)).toHaveLength(2);
    expect(warn.mock.calls.map((c) => JSON.parse(String(c[0])) as unknown)).toEqual([{ event: 'geogate.decision-log.failed', sink: 'DECISIONS', requestId: 'req-1', error: 'TypeError' }]);
  });

  it('survives a console that throws', () => {
    vi.spyOn(console, 'log').mockImplementation(() => {
      throw new Error('no console');
    });
    expect(() => writeDecisionLog({}, input(), 0)).not.toThrow();
  });
});

describe('the policy section `decisionLog`', () => {
  const issuesOf = (decisionLog: unknown) => {
    const r = parsePolicy({ ...policyWith(), decisionLog });
    return r.ok ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };

  it('defaults to every decision logged, nothing masked', () => {
    const r = parsePolicy(policyWith());
    expect(r.ok && r.policy.decisionLog).toEqual({ sampleRate: 1, mask: [] });
    expect(compile(policyWith()).decisionLog).toEqual({ sampleRate: 1, mask: new Set() });
  });

  it('compiles a rate and a mask', () => {
    const c = compile(policyWith({ decisionLog: { sampleRate: 0.1, mask: ['account', 'ipHash'] } }));
    expect(c.decisionLog).toEqual({ sampleRate: 0.1, mask: new Set(['account', 'ipHash']) });
    expect(compile(policyWith({ decisionLog: { sampleRate: 0 } })).decisionLog.sampleRate).toBe(0);
  });

  it.each<[string, unknown, string, string]>([
    ['a rate above 1', { sampleRate: 1.5 }, 'decisionLog.sampleRate', 'must be from 0 (log no decision) to 1 (log every decision)'],
    ['a negative rate', { sampleRate: -0.1 }, 'decisionLog.sampleRate', 'must be from 0 (log no decision) to 1 (log every decision)'],
    ['a rate as text', { sampleRate: '0.5' }, 'decisionLog.sampleRate', 'must be a number from 0 (log no decision) to 1 (log every decision)'],
    ['an unknown field to mask', { mask: ['ip'] }, 'decisionLog.mask.0', 'not a field the decision log can mask (one of country, asn, account, org, surface, ipHash, network)'],
    ['a field masked twice', { mask: ['asn', 'asn'] }, 'decisionLog.mask', 'names a field twice'],
    ['an unknown setting', { sample: 0.5 }, 'decisionLog', 'Unrecognized key: "sample"'],
  ])('rejects %s with a message naming the field', (_, section, path, message) => {
    expect(issuesOf(section)).toEqual([{ path, message }]);
  });

  it('is left out of a snapshot at its defaults (snapshot ids of existing policies do not change), and kept when set', async () => {
    const doc = defaultDocument();
    const bare = await buildSnapshot(doc, new Map());
    const explicit = await buildSnapshot({ ...doc, decisionLog: { sampleRate: 1, mask: [] } }, new Map());
    const empty = await buildSnapshot({ ...doc, decisionLog: {} }, new Map());
    expect(bare.ok && explicit.ok && empty.ok).toBe(true);
    if (!bare.ok || !explicit.ok || !empty.ok) return;
    expect(Object.keys((JSON.parse(bare.text) as { policy: object }).policy)).not.toContain('decisionLog');
    expect(explicit.id).toBe(bare.id);
    expect(empty.id).toBe(bare.id);
    const custom = await buildSnapshot({ ...doc, decisionLog: { sampleRate: 0.2, mask: ['network'] } }, new Map());
    expect(custom.ok).toBe(true);
    if (!custom.ok) return;
    expect(custom.id).not.toBe(bare.id);
    expect((JSON.parse(custom.text) as { policy: { decisionLog: unknown } }).policy.decisionLog).toEqual({ sampleRate: 0.2, mask: ['network'] });
    const decoded = await decodeSnapshot(custom.text, custom.id);
    expect(decoded.ok && decoded.compiled.decisionLog).toEqual({ sampleRate: 0.2, mask: new Set(['network']) });
  });
});
