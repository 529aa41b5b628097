// evaluate(compiled, facts, now) -> Decision. Pure: no I/O, no clock, no randomness, so the same
// (policy, facts, now) always gives the same decision, whatever order the rules were written in.
//
// How a decision is made:
// 1. Detectors turn facts into signals (true / false / undetermined).
// 2. Hard rules that match add reasons with their action; unknown IP country adds GEO_MISSING.
// 3. The weights of true signals add up to the score; crossing challengeAt / denyAt adds SCORE_*.
// 4. Matching allow-exceptions lift every challenge, and the denies their `liftDeny` names.
// 5. The most severe reason left standing is the decision (deny > challenge > allow).
import type { CompiledPolicy, ScoreSettings } from './compile';
import { RequestView } from './detectors/geo';
import { detectLocale } from './detectors/locale';
import { detectNetwork } from './detectors/network';
import { detectTimezone } from './detectors/timezone';
import {
  ACTION_SEVERITY,
  SIGNAL_NAMES,
  type Action,
  type Decision,
  type Facts,
  type Reason,
  type SignalName,
  type Signals,
  type SignalValue,
} from './types';

/** The id reported as `rule` for the risk score and the signals that feed it. */
export const SCORE_RULE = 'score';
/** The id reported as `rule` for GEO_MISSING (the policy's `missingGeo` setting). */
export const MISSING_GEO_RULE = 'missingGeo';

/** Runs every detector for one request. */
export function detectSignals(policy: CompiledPolicy, view: RequestView, now: number): Signals {
  const tz = detectTimezone(view, policy.timezone, now);
  // Spelled out rather than spread: this runs on every request and spreads are slow in V8.
  return {
    TZ_RESTRICTED: tz.TZ_RESTRICTED,
    TZ_MISMATCH: tz.TZ_MISMATCH,
    TZ_INCONSISTENT: tz.TZ_INCONSISTENT,
    TZ_INVALID: tz.TZ_INVALID,
    CLOCK_SKEW: tz.CLOCK_SKEW,
    LOCALE_RESTRICTED: detectLocale(view.facts.client.acceptLanguage, policy.timezone.restrictedCountries),
    NETWORK_VPN: detectNetwork(view, policy.vpn, 'VPN'),
    NETWORK_HOSTING: detectNetwork(view, policy.hosting, 'hosting'),
  };
}

function bandOf(score: number, s: ScoreSettings): Action {
  if (score >= s.denyAt) return 'deny';
  if (score >= s.challengeAt) return 'challenge';
  return 'allow';
}

function compareReasons(a: Reason, b: Reason): number {
  return (
    ACTION_SEVERITY[b.action] - ACTION_SEVERITY[a.action] ||
    (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
    (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)
  );
}

/**
 * Decides one request under a compiled policy at instant `now` (epoch milliseconds).
 * Never throws for any `facts` the facts adapters can produce.
 */
export function evaluate(policy: CompiledPolicy, facts: Facts, now: number): Decision {
  const view = new RequestView(facts);
  const signals = detectSignals(policy, view, now);
  const surface = facts.surface;

  // Reasons whose action can decide (rules, GEO_MISSING, SCORE_*), and the allow-exceptions.
  const decisive: Reason[] = [];
  const exceptions: { reason: Reason; liftDeny: ReadonlySet<string> }[] = [];

  if (view.country === undefined) {
    decisive.push({
      code: 'GEO_MISSING',
      rule: MISSING_GEO_RULE,
      action: policy.missingGeo,
      message: 'The IP country is unknown.',
      evidence: { geoSource: facts.geoSource, country: facts.geo.country ?? null },
    });
  }

  for (const rule of policy.rules) {
    if (rule.surfaces && !(surface !== undefined && rule.surfaces.has(surface))) continue;
    const hit = rule.match(view);
    if (!hit) continue;
    const reason: Reason = { code: hit.code, rule: rule.id, action: rule.action, message: hit.message, evidence: hit.evidence };
    if (rule.action === 'allow') exceptions.push({ reason, liftDeny: rule.liftDeny });
    else decisive.push(reason);
  }

  const settings = (surface !== undefined && policy.scoreBySurface.get(surface)) || policy.score;
  let score = 0;
  const contributing: SignalName[] = [];
  for (const name of SIGNAL_NAMES) {
    const weight = settings.weights[name];
    if (signals[name].value === true && weight > 0) {
      score += weight;
      contributing.push(name);
    }
  }
  const band = bandOf(score, settings);
  let scoreReason: Reason | undefined;
  if (band !== 'allow') {
    scoreReason = {
      code: band === 'deny' ? 'SCORE_DENY' : 'SCORE_CHALLENGE',
      rule: SCORE_RULE,
      action: band,
      message: `Risk score ${score} reaches ${band === 'deny' ? 'denyAt' : 'challengeAt'} (${band === 'deny' ? settings.denyAt : settings.challengeAt}).`,
      evidence: { score, challengeAt: settings.challengeAt, denyAt: settings.denyAt, surface: surface ?? null, signals: contributing },
    };
    decisive.push(scoreReason);
  }

  let decision: Action = 'allow';
  for (const reason of decisive) {
    if (exceptions.length > 0 && reason.action === 'challenge') {
      reason.liftedBy = exceptions[0]?.reason.rule;
    } else if (reason.action === 'deny') {
      const lifter = exceptions.find((x) => x.liftDeny.has(reason.rule));
      if (lifter) reason.liftedBy = lifter.reason.rule;
    }
    if (reason.liftedBy === undefined && ACTION_SEVERITY[reason.action] > ACTION_SEVERITY[decision]) {
      decision = reason.action;
    }
  }

  const reasons = decisive.concat(exceptions.map((x) => x.reason));
  for (const name of contributing) {
    const signal = signals[name];
    if (signal.value !== true) continue;
    reasons.push({
      code: name,
      rule: SCORE_RULE,
      action: band,
      message: signal.message,
      evidence: { ...signal.evidence, weight: settings.weights[name] },
      ...(scoreReason?.liftedBy !== undefined ? { liftedBy: scoreReason.liftedBy } : {}),
    });
  }
  reasons.sort(compareReasons);

  const signalValues = {} as Record<SignalName, SignalValue>;
  for (const name of SIGNAL_NAMES) signalValues[name] = signals[name].value;

  const result: Decision = { decision, reasons, score, signals: signalValues };
  if (decision === 'challenge') result.challenge = { kinds: [...policy.challengeKinds] };
  return result;
}
