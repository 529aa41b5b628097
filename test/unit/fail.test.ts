// Decisions taken without the operator's current policy: the fail mode's answer when no policy
// can be used, and the mark a fallback (last good) policy's decision carries. Both say failed.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate';
import { failModeDecision, underFallback, type FailModeOrigin, type PolicyFailure } from '../../src/engine/fail';
import type { FailMode } from '../../src/engine/policy';
import { SIGNAL_NAMES, type Action } from '../../src/engine/types';
import { defaultPolicy } from '../../src/policy/default';
import { facts, NOW } from '../helpers';

const STORAGE_DOWN: PolicyFailure = { kind: 'storage-unavailable', message: 'reading KV failed' };
const ALL_UNDETERMINED = Object.fromEntries(SIGNAL_NAMES.map((name) => [name, 'undetermined']));

describe('no usable policy: the fail mode decides', () => {
  it.each<[FailMode, FailModeOrigin, Action, string, string]>([
    // [mode, where it came from, decision, whose, verb]
    ['closed', 'policy', 'deny', "policy's", 'Denied'],
    ['challenge', 'deployment', 'challenge', "deployment's", 'Challenged'],
    ['open', 'deployment', 'allow', "deployment's", 'Allowed'],
  ])('fail mode %s (from the %s) -> %s', (mode, origin, action, whose, verb) => {
    const message = `No usable policy (reading KV failed); the ${whose} fail mode "${mode}" decides.`;
    expect(failModeDecision(mode, origin, STORAGE_DOWN)).toEqual({
      decision: action,
      reasons: [
        {
          code: 'POLICY_UNAVAILABLE',
          rule: 'failMode',
          action,
          message,
          evidence: { failure: 'storage-unavailable', failMode: mode, failModeFrom: origin },
        },
      ],
      score: 0,
      signals: ALL_UNDETERMINED,
      summary: `${verb}: ${message}`,
      failed: true,
      ...(action === 'challenge' ? { challenge: { kinds: ['turnstile'], expiresIn: 600, clears: [] } } : {}),
    });
  });
});

describe('a fallback policy decided: its decision stands, marked failed', () => {
  const failure: PolicyFailure = { kind: 'invalid', message: 'the stored policy is not valid JSON' };
  const unavailable = {
    code: 'POLICY_UNAVAILABLE',
    rule: 'failMode',
    action: 'allow',
    message: 'The current policy is unusable (the stored policy is not valid JSON); the last good policy decided.',
    evidence: { failure: 'invalid', servedBy: 'last good' },
  };

  it('puts POLICY_UNAVAILABLE right after the decisive reason of a deny', () => {
    const decided = evaluate(defaultPolicy(), facts({ geo: { country: 'CN' }, account: { ownerCountry: 'CN' } }), NOW);
    expect(decided.reasons.length).toBeGreaterThan(1);
    const d = underFallback(decided, failure, 'last good');
    expect(d.decision).toBe('deny');
    expect(d.failed).toBe(true);
    expect(d.reasons).toEqual([decided.reasons[0], unavailable, ...decided.reasons.slice(1)]);
    expect(d.summary).toBe(`${decided.summary} (Policy unavailable: last good policy used.)`);
    expect(d.signals).toEqual(decided.signals);
    expect(d.score).toBe(decided.score);
  });

  it('puts it first when nothing decided (an allow)', () => {
    // A client zone of another country: TZ_MISMATCH adds a little, below challengeAt.
    const decided = evaluate(defaultPolicy(), facts({ client: { timezone: 'Asia/Tokyo' } }), NOW);
    expect(decided.reasons.length).toBeGreaterThan(0);
    const d = underFallback(decided, failure, 'last good');
    expect(d.decision).toBe('allow');
    expect(d.reasons).toEqual([unavailable, ...decided.reasons]);
    expect(d.failed).toBe(true);
  });

  it('leaves the original decision as it was', () => {
    const decided = evaluate(defaultPolicy(), facts({ geo: { country: 'CN' } }), NOW);
    const before = structuredClone(decided);
    underFallback(decided, failure, 'last good');
    expect(decided).toEqual(before);
  });
});
