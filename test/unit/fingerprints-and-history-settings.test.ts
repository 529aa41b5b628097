// RELAY_FINGERPRINT (known relay user agents and device ids, inline and in named `user-agent` /
// `device` lists) and the policy's `history` settings: defaults, limits, and what a snapshot
// stores so that a deployment rolled back to the previous code still reads it.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate';
import type { Facts } from '../../src/engine/types';
import { parseListDocument, patchList } from '../../src/policy/lists';
import { parsePolicy } from '../../src/policy/schema';
import { policyWarnings } from '../../src/policy/warnings';
import { buildSnapshot, decodeSnapshot, type StoredList } from '../../src/policy/snapshot';
import { compile, defaultDocument, facts, NOW, policyWith } from '../helpers';

const FINGERPRINTED = policyWith({
  fingerprints: { userAgents: ['python-httpx/*', 'Go-http-client/1.1'], devices: ['relay-device-0001'] },
  score: { weights: { RELAY_FINGERPRINT: 50 }, challengeAt: 50, denyAt: 100 },
});

describe('RELAY_FINGERPRINT', () => {
  const policy = compile(FINGERPRINTED);
  it.each<[string, Facts['client'], boolean | 'undetermined', string | undefined]>([
    ['an exact user agent', { userAgent: 'Go-http-client/1.1' }, true, 'Go-http-client/1.1'],
    ['a prefix', { userAgent: 'python-httpx/0.27.2' }, true, 'python-httpx/*'],
    ['exact means exact (another version)', { userAgent: 'Go-http-client/2.0' }, false, undefined],
    ['case-sensitive', { userAgent: 'PYTHON-HTTPX/0.27.2' }, false, undefined],
    ['a listed device id', { deviceId: 'relay-device-0001' }, true, 'relay-device-0001'],
    ['the device wins over a clean user agent', { deviceId: 'relay-device-0001', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0' }, true, 'relay-device-0001'],
    ['a browser', { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0' }, false, undefined],
    ['no user agent and no device id', {}, 'undetermined', undefined],
  ])('%s', (_name, client, want, pattern) => {
    const d = evaluate(policy, facts({ client }), NOW);
    expect(d.signals.RELAY_FINGERPRINT).toBe(want);
    if (pattern) expect(d.reasons.find((r) => r.code === 'RELAY_FINGERPRINT')?.evidence).toMatchObject({ pattern, source: 'policy' });
  });

  it('is false, not undetermined, when the policy lists no fingerprint', () => {
    expect(evaluate(compile(policyWith()), facts(), NOW).signals.RELAY_FINGERPRINT).toBe(false);
  });

  it('a lone "*" is refused: it would match every request', () => {
    const r = parsePolicy({ ...FINGERPRINTED, fingerprints: { userAgents: ['*'] } });
    expect(r.ok).toBe(false);
    expect(parseListDocument({ kind: 'device', items: ['*'] }).ok).toBe(false);
  });
});

describe('user-agent and device lists', () => {
  it('normalise like id lists (sorted, no duplicates) and patch', () => {
    const r = parseListDocument({ kind: 'user-agent', items: ['relay/2', 'relay/1', 'relay/2', 'sdk/*'] });
    expect(r).toMatchObject({ ok: true, list: { kind: 'user-agent', items: ['relay/1', 'relay/2', 'sdk/*'] } });
    if (!r.ok) return;
    expect(patchList(r.list, { add: ['relay/3'], remove: ['relay/1'] })).toMatchObject({ ok: true, list: { items: ['relay/2', 'relay/3', 'sdk/*'] } });
  });

  it('a policy names them in fingerprints.lists; the snapshot carries and decodes them', async () => {
    const lists = new Map<string, StoredList>([
      ['relay-uas', { kind: 'user-agent', items: ['one-api/*'], version: 3 }],
      ['relay-devices', { kind: 'device', items: ['dev-constant'], version: 1 }],
      ['partners', { kind: 'account', items: ['p-1'], version: 1 }],
    ]);
    const doc = { ...FINGERPRINTED, fingerprints: { lists: ['relay-uas', 'relay-devices'] } };
    const built = await buildSnapshot(doc, lists);
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    const decoded = await decodeSnapshot(built.text, built.id);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const ua = evaluate(decoded.compiled, facts({ client: { userAgent: 'one-api/0.6' } }), NOW);
    expect(ua.reasons.find((r) => r.code === 'RELAY_FINGERPRINT')?.evidence).toMatchObject({ matchedBy: 'user-agent', source: 'relay-uas' });
    expect(evaluate(decoded.compiled, facts({ client: { deviceId: 'dev-constant' } }), NOW).signals.RELAY_FINGERPRINT).toBe(true);
    // A list of another kind is refused, with its path.
    const wrong = await buildSnapshot({ ...FINGERPRINTED, fingerprints: { lists: ['partners'] } }, lists);
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.issues[0]).toMatchObject({ path: ['fingerprints', 'lists', 0], message: 'list "partners" holds account items; fingerprints takes user-agent or device lists' });
  });
});

describe('history settings', () => {
  it('a policy that says nothing gets the documented defaults', () => {
    const r = parsePolicy(policyWith());
    expect(r.ok && r.policy.history).toEqual({
      mode: 'async',
      unavailable: 'ignore',
      syncBudgetMs: 50,
      cacheTtlSeconds: 300,
      fanout: { windowSeconds: 600, networks: 8, asns: 5, countries: 3, timezones: 3, devices: 5 },
      signature: { windowSeconds: 60, requests: 30 },
      travel: { maxKmh: 1000, minKm: 500 },
      restrictedDays: 30,
      org: { windowDays: 30, minShare: 0.3, minAccounts: 3 },
    });
  });

  it('a partial section keeps the other defaults', () => {
    const r = parsePolicy(policyWith({ history: { mode: 'sync', fanout: { networks: 20 } } }));
    expect(r.ok && r.policy.history).toMatchObject({ mode: 'sync', syncBudgetMs: 50, fanout: { windowSeconds: 600, networks: 20, asns: 5 } });
  });

  it.each<[string, unknown, string]>([
    ['an unknown mode', { mode: 'eventually' }, 'history.mode'],
    ['a budget of 0 ms', { syncBudgetMs: 0 }, 'history.syncBudgetMs'],
    ['a window under a minute', { fanout: { windowSeconds: 59 } }, 'history.fanout.windowSeconds'],
    ['a window over an hour (the objects keep a row per second)', { fanout: { windowSeconds: 3601 } }, 'history.fanout.windowSeconds'],
    ['a threshold summaries cannot show', { fanout: { networks: 65 } }, 'history.fanout.networks'],
    ['a threshold of 1 (every account)', { fanout: { countries: 1 } }, 'history.fanout.countries'],
    ['a share of 0', { org: { minShare: 0 } }, 'history.org.minShare'],
    ['a share over 1', { org: { minShare: 1.5 } }, 'history.org.minShare'],
    ['a misspelt field', { restrictedDay: 30 }, 'history'],
  ])('refuses %s', (_name, history, path) => {
    const r = parsePolicy(policyWith({ history } as never));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('a snapshot leaves out default history and empty fingerprints (the previous code reads it), and keeps them when set', async () => {
    const plain = await buildSnapshot(defaultDocument(), new Map());
    expect(plain.ok).toBe(true);
    if (!plain.ok) return;
    const stored = JSON.parse(plain.text) as { policy: Record<string, unknown> };
    expect(Object.keys(stored.policy)).not.toContain('history');
    expect(Object.keys(stored.policy)).not.toContain('fingerprints');
    const custom = await buildSnapshot({ ...defaultDocument(), history: { mode: 'sync' }, fingerprints: { userAgents: ['relay/*'] } }, new Map());
    expect(custom.ok).toBe(true);
    if (!custom.ok) return;
    const kept = JSON.parse(custom.text) as { policy: { history: { mode: string }; fingerprints: { userAgents: string[] } } };
    expect(kept.policy.history.mode).toBe('sync');
    expect(kept.policy.fingerprints.userAgents).toEqual(['relay/*']);
    const decoded = await decodeSnapshot(custom.text, custom.id);
    expect(decoded.ok && decoded.compiled.history.mode).toBe('sync');
  });
});

describe('warnings', () => {
  it('fingerprints that weigh nothing, and memory signals weighed while memory is off', () => {
    const r1 = parsePolicy(policyWith({ fingerprints: { userAgents: ['relay/*'] } }));
    const r2 = parsePolicy({ ...defaultDocument(), history: { mode: 'off' } });
    expect(r1.ok && r2.ok).toBe(true);
    if (!r1.ok || !r2.ok) return;
    expect(policyWarnings(r1.policy).map((w) => w.message)).toContain('RELAY_FINGERPRINT weighs 0, so the listed relay fingerprints never add to the score');
    expect(policyWarnings(r2.policy)).toContainEqual({
      path: ['history', 'mode'],
      message: 'history.mode is "off", so RELAY_FANOUT, RELAY_TZ_FANOUT, RELAY_DEVICE_FANOUT, RELAY_SIGNATURE, IMPOSSIBLE_TRAVEL, TZ_RESTRICTED_HISTORY, RESTRICTED_IP_HISTORY, ORG_RESTRICTED_SHARE are always undetermined and never add to the score',
    });
    const r3 = parsePolicy(defaultDocument());
    expect(r3.ok && policyWarnings(r3.policy)).toEqual([]);
  });
});

describe('RELAY_FINGERPRINT, whole', () => {
  const weights = { score: { weights: { RELAY_FINGERPRINT: 50 }, challengeAt: 50, denyAt: 100 } };
  it('names the value, the pattern and where it is listed', () => {
    const d = evaluate(compile(FINGERPRINTED), facts({ client: { userAgent: 'python-httpx/0.27.2' } }), NOW);
    expect(d.reasons.find((r) => r.code === 'RELAY_FINGERPRINT')).toMatchObject({
      message: 'The user agent "python-httpx/0.27.2" matches the known relay fingerprint "python-httpx/*" (the policy).',
      evidence: { matchedBy: 'user-agent', value: 'python-httpx/0.27.2', pattern: 'python-httpx/*', source: 'policy' },
    });
    const dev = evaluate(compile(FINGERPRINTED), facts({ client: { deviceId: ' relay-device-0001 ' } }), NOW);
    expect(dev.reasons.find((r) => r.code === 'RELAY_FINGERPRINT')?.message).toBe('The device id " relay-device-0001 " matches the known relay fingerprint "relay-device-0001" (the policy).');
  });

  it('a policy listing only devices, or only user agents, still matches what it lists', () => {
    const devicesOnly = compile(policyWith({ fingerprints: { devices: ['d-1'] }, ...weights }));
    expect(evaluate(devicesOnly, facts({ client: { deviceId: 'd-1' } }), NOW).signals.RELAY_FINGERPRINT).toBe(true);
    expect(evaluate(devicesOnly, facts({ client: { userAgent: 'd-1' } }), NOW).signals.RELAY_FINGERPRINT).toBe(false);
    const uasOnly = compile(policyWith({ fingerprints: { userAgents: ['ua/1'] }, ...weights }));
    expect(evaluate(uasOnly, facts({ client: { userAgent: 'ua/1' } }), NOW).signals.RELAY_FINGERPRINT).toBe(true);
    expect(evaluate(uasOnly, facts({ client: { deviceId: 'ua/1' } }), NOW).signals.RELAY_FINGERPRINT).toBe(false);
  });

  it('a repeated User-Agent header is matched part by part; a single one only whole', () => {
    const policy = compile(policyWith({ fingerprints: { userAgents: ['RelayProxy/2.1', 'sdk/*'] }, ...weights }));
    expect(evaluate(policy, facts({ client: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0, RelayProxy/2.1' } }), NOW).signals.RELAY_FINGERPRINT).toBe(true);
    expect(evaluate(policy, facts({ client: { userAgent: 'other, sdk/3' } }), NOW).signals.RELAY_FINGERPRINT).toBe(true);
    expect(evaluate(policy, facts({ client: { userAgent: 'RelayProxy/2.1x' } }), NOW).signals.RELAY_FINGERPRINT).toBe(false);
  });

  it('the same pattern in the policy and in a list is reported from the policy (listed first)', async () => {
    const lists = new Map<string, StoredList>([['uas', { kind: 'user-agent', items: ['RelayProxy/2.1'], version: 1 }]]);
    const built = await buildSnapshot({ ...policyWith(weights), fingerprints: { userAgents: ['RelayProxy/2.1'], lists: ['uas'] } }, lists);
    if (!built.ok) throw new Error('build failed');
    const decoded = await decodeSnapshot(built.text, built.id);
    if (!decoded.ok) throw new Error('decode failed');
    expect(evaluate(decoded.compiled, facts({ client: { userAgent: 'RelayProxy/2.1' } }), NOW).reasons.find((r) => r.code === 'RELAY_FINGERPRINT')?.evidence).toMatchObject({ source: 'policy' });
  });
});
