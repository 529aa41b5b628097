// Decisions taken without the operator's current policy (promise 1: a broken policy never opens
// the gate). Two cases, both marked `failed: true` with the reason POLICY_UNAVAILABLE:
// - a fallback policy answered (the last good copy): its decision stands, and says so;
// - no policy could be used at all: the fail mode answers (closed = deny, challenge, open = allow).
// Pure: the transport says what failed; this module only shapes the decision.
import { FAIL_MODE_ACTION, type FailMode } from './policy';
import { SIGNAL_NAMES, type Decision, type Reason, type SignalName, type SignalValue } from './types';

/** The id reported as `rule` for POLICY_UNAVAILABLE. */
export const FAIL_MODE_RULE = 'failMode';

/** Why the operator's current policy could not be used. */
export type PolicyFailureKind =
  /** Reading storage threw. */
  | 'storage-unavailable'
  /** Storage did not answer within the load budget (a cold isolate). */
  | 'timeout'
  /** The stored text is not JSON, fails validation, or fails to compile. */
  | 'invalid'
  /** The stored text is over the size or entry bounds. */
  | 'too-large'
  /** No policy is stored, but one was before (a last good copy exists). */
  | 'missing';

/** A policy failure as decisions and /healthz report it (never the stored text or storage internals). */
export interface PolicyFailure {
  readonly kind: PolicyFailureKind;
  readonly message: string;
}

/** Where the fail mode in force came from: the stored policy's own `failMode`, or the deployment's FAIL_MODE. */
export type FailModeOrigin = 'policy' | 'deployment';

/** `expiresIn` of a fail-mode challenge: the default of a policy's challenge.expiresInSeconds. */
const FAIL_MODE_CHALLENGE_SECONDS = 600;

const VERB = { deny: 'Denied', challenge: 'Challenged', allow: 'Allowed' } as const;

/** The decision when no policy can be used: the fail mode's action, and why. No policy, so no `dryRun`. */
export function failModeDecision(mode: FailMode, origin: FailModeOrigin, failure: PolicyFailure): Decision {
  const action = FAIL_MODE_ACTION[mode];
  const reason: Reason = {
    code: 'POLICY_UNAVAILABLE',
    rule: FAIL_MODE_RULE,
    action,
    message: `No usable policy (${failure.message}); the ${origin === 'policy' ? "policy's" : "deployment's"} fail mode "${mode}" decides.`,
    evidence: { failure: failure.kind, failMode: mode, failModeFrom: origin },
  };
  const signals = {} as Record<SignalName, SignalValue>;
  for (const name of SIGNAL_NAMES) signals[name] = 'undetermined';
  const decision: Decision = {
    decision: action,
    reasons: [reason],
    score: 0,
    signals,
    summary: `${VERB[action]}: ${reason.message}`,
    failed: true,
  };
  // No policy judged the request, so there is nothing a clearance could clear (`clears` is empty
  // and no ticket is issued): the challenge stands until a policy is usable again.
  if (action === 'challenge') decision.challenge = { kinds: ['turnstile'], expiresIn: FAIL_MODE_CHALLENGE_SECONDS, clears: [] };
  return decision;
}

/**
 * Marks a decision taken under a fallback policy (the last good copy) instead of the current one:
 * `failed: true`, and POLICY_UNAVAILABLE (informational: action `allow`, it decides nothing)
 * right after the decisive reason. A `dryRun` is kept as the fallback policy reported it: it
 * shows that policy's dry-run rules, and POLICY_UNAVAILABLE is not added to it.
 */
export function underFallback(decision: Decision, failure: PolicyFailure, fallback: string): Decision {
  const reason: Reason = {
    code: 'POLICY_UNAVAILABLE',
    rule: FAIL_MODE_RULE,
    action: 'allow',
    message: `The current policy is unusable (${failure.message}); the ${fallback} policy decided.`,
    evidence: { failure: failure.kind, servedBy: fallback },
  };
  // Right after the decisive reason; first when nothing decided (an allow).
  const at = decision.decision !== 'allow' ? 1 : 0;
  const reasons = [...decision.reasons.slice(0, at), reason, ...decision.reasons.slice(at)];
  return { ...decision, reasons, failed: true, summary: `${decision.summary} (Policy unavailable: ${fallback} policy used.)` };
}
