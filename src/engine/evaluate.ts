// evaluate(compiled, facts, now) -> Decision. Pure: no I/O, no clock, no randomness, so the same
// (policy, facts, now) always gives the same decision, whatever order the rules were written in.
//
// How a decision is made:
// 1. Detectors turn facts into signals (true / false / undetermined; a true signal may count only
//    in part, e.g. an offset shared by restricted and other places).
// 2. Hard rules that match add reasons with their action; an unknown IP country adds GEO_MISSING;
//    memory that failed to answer adds MEMORY_UNAVAILABLE when history.unavailable says challenge.
// 3. Each true signal adds weight x strength to the score (a network that is in several network
//    sets counts once, as VPN with the default weights; a restricted clock seen now and remembered
//    from before counts once); crossing challengeAt / denyAt adds SCORE_*. A score deny needs
//    location evidence (see SIGNAL_CLASS); without it, the score only challenges.
// 4. Matching allow-exceptions lift every challenge, and the denies their `liftDeny` names.
// 5. The most severe reason left standing is the decision (deny > challenge > allow).
// Memory signals judge the account's and organisation's history (detectors/history.ts): the
// transport consults the memory between prepare() (step 1 without it) and decidePrepared().
// Dry-run rules take no part in those steps. When the policy has some, the same steps run again
// with every rule enforced, and their outcome is reported as `dryRun` beside the decision.
import type { CompiledDryRun, CompiledPolicy, ScoreSettings } from './compile';
import { explain } from './explain';
import { RequestView } from './detectors/geo';
import { detectLocale } from './detectors/locale';
import { detectListedNetwork, detectNetwork } from './detectors/network';
import { bundledIntel, type NetworkIntel } from './intel';
import { detectTimezone } from './detectors/timezone';
import { detectFingerprint } from './detectors/fingerprint';
import { detectHistory, evidencedPlaces, observe, type HistorySignals } from './detectors/history';
import { NO_MEMORY, type AccountObservation, type MemoryFacts } from './history';
import { challengeCodes, CLEARANCE_RULE, judgeClearance, uncovered, type ClearanceClaims, type ClearanceInput, type ClearanceInvalidWhy } from './clearance';
import {
  ACTION_SEVERITY,
  LOCATION_EVIDENCE_MIN_STRENGTH,
  SIGNAL_CLASS,
  SIGNAL_NAMES,
  type Action,
  type ChallengeOffer,
  type Decision,
  type DryRunOutcome,
  type Evidence,
  type Facts,
  type Reason,
  type Signal,
  type SignalName,
  type Signals,
  type SignalValue,
} from './types';

/** The id reported as `rule` for the risk score and the signals that feed it. */
export const SCORE_RULE = 'score';
/**
 * The id reported as `rule` for MEMORY_UNAVAILABLE (the policy's `history.unavailable` setting);
 * camel case, like missingGeo, so that no rule id (lower case) can take it.
 */
export const HISTORY_RULE = 'historyUnavailable';
/** The id reported as `rule` for GEO_MISSING (the policy's `missingGeo` setting). */
export const MISSING_GEO_RULE = 'missingGeo';

const ANONYMOUS_PROXY: Signal = Object.freeze({
  value: true,
  message: "The geo provider flags the IP as an anonymous proxy (country code A1).",
  evidence: Object.freeze({ country: 'A1', source: 'geo provider' }),
});

/** The signals that need no memory: what the request alone shows. */
type RequestSignals = Omit<Signals, keyof HistorySignals>;

/** Runs the detectors that judge the request alone. */
function detectRequest(policy: CompiledPolicy, view: RequestView, now: number): RequestSignals {
  const tz = detectTimezone(view, policy.timezone, now);
  const restricted = policy.timezone.restricted;
  const vpn = detectNetwork(view, policy.vpn, 'VPN');
  // Spelled out rather than spread: this runs on every request and spreads are slow in V8.
  return {
    TZ_RESTRICTED: tz.TZ_RESTRICTED,
    TZ_MISMATCH: tz.TZ_MISMATCH,
    TZ_INCONSISTENT: tz.TZ_INCONSISTENT,
    TZ_INVALID: tz.TZ_INVALID,
    CLOCK_SKEW: tz.CLOCK_SKEW,
    CLOCK_INVALID: tz.CLOCK_INVALID,
    LOCALE_RESTRICTED: detectLocale(view.facts.client.acceptLanguage, restricted.countries, restricted.regions),
    // MaxMind's A1 says "anonymous proxy" whatever the policy lists.
    NETWORK_VPN: vpn.value !== true && view.anonymousProxy ? ANONYMOUS_PROXY : vpn,
    NETWORK_HOSTING: detectNetwork(view, policy.hosting, 'hosting'),
    NETWORK_LISTED: detectListedNetwork(view, policy.networkCategories),
    RELAY_FINGERPRINT: detectFingerprint(view, policy.fingerprints),
  };
}

/** Every signal: the request's, and the memory's. */
function withMemory(r: RequestSignals, h: HistorySignals): Signals {
  return {
    TZ_RESTRICTED: r.TZ_RESTRICTED,
    TZ_MISMATCH: r.TZ_MISMATCH,
    TZ_INCONSISTENT: r.TZ_INCONSISTENT,
    TZ_INVALID: r.TZ_INVALID,
    CLOCK_SKEW: r.CLOCK_SKEW,
    CLOCK_INVALID: r.CLOCK_INVALID,
    LOCALE_RESTRICTED: r.LOCALE_RESTRICTED,
    NETWORK_VPN: r.NETWORK_VPN,
    NETWORK_HOSTING: r.NETWORK_HOSTING,
    NETWORK_LISTED: r.NETWORK_LISTED,
    RELAY_FINGERPRINT: r.RELAY_FINGERPRINT,
    RELAY_FANOUT: h.RELAY_FANOUT,
    RELAY_TZ_FANOUT: h.RELAY_TZ_FANOUT,
    RELAY_DEVICE_FANOUT: h.RELAY_DEVICE_FANOUT,
    RELAY_SIGNATURE: h.RELAY_SIGNATURE,
    IMPOSSIBLE_TRAVEL: h.IMPOSSIBLE_TRAVEL,
    TZ_RESTRICTED_HISTORY: h.TZ_RESTRICTED_HISTORY,
    RESTRICTED_IP_HISTORY: h.RESTRICTED_IP_HISTORY,
    ORG_RESTRICTED_SHARE: h.ORG_RESTRICTED_SHARE,
  };
}

/**
 * One check whose request signals are known but whose decision waits for the account memory:
 * the transport builds it, sends its observation to the account's object (awaiting the answer in
 * `sync` mode), then {@link decidePrepared} decides with whatever memory it has.
 */
export class PreparedCheck {
  readonly view: RequestView;
  readonly signals: RequestSignals;
  #observation: AccountObservation | undefined;

  constructor(
    readonly policy: CompiledPolicy,
    facts: Facts,
    readonly now: number,
    intel: NetworkIntel,
  ) {
    this.view = new RequestView(facts, intel);
    this.signals = detectRequest(policy, this.view, now);
  }

  /** What this check adds to its account's memory (built on first use: most checks name no account). */
  get observation(): AccountObservation {
    this.#observation ??= observe(this.view, this.signals, this.policy.timezone.restricted, this.now);
    return this.#observation;
  }

  /** The restricted places this check shows location evidence for (what its organisation's memory counts). */
  get restrictedPlaces(): readonly string[] {
    return evidencedPlaces(this.observation.restricted, this.policy.timezone.restricted);
  }
}

/** Detects the request signals of one check (see {@link PreparedCheck}). */
export function prepare(policy: CompiledPolicy, facts: Facts, now: number, intel: NetworkIntel = bundledIntel()): PreparedCheck {
  return new PreparedCheck(policy, facts, now, intel);
}

/** The memory signals of a prepared check under `policy` (the policy's own, or its dry-run variant). */
function memorySignals(policy: CompiledPolicy, check: PreparedCheck, memory: MemoryFacts): HistorySignals {
  // The observation is only built when there is a summary to merge it into.
  const current = memory.account?.known === true && check.view.facts.account.id !== undefined ? check.observation : undefined;
  return detectHistory(check.view, { settings: policy.history, restricted: policy.timezone.restricted }, memory, current, check.now);
}

/** The MEMORY_UNAVAILABLE reason, when the policy challenges on a memory that failed to answer. */
function memoryFailure(policy: CompiledPolicy, memory: MemoryFacts): Reason | undefined {
  if (policy.history.unavailable !== 'challenge' || policy.history.mode === 'off') return undefined;
  const failed = (['account', 'org'] as const).filter((side) => {
    const m = memory[side];
    return m !== undefined && !m.known && m.failed === true;
  });
  if (failed.length === 0) return undefined;
  return {
    code: 'MEMORY_UNAVAILABLE',
    rule: HISTORY_RULE,
    action: 'challenge',
    message: `The ${failed.map((f) => (f === 'org' ? 'organisation' : 'account')).join(' and ')} memory did not answer, and the policy challenges then (history.unavailable).`,
    evidence: Object.fromEntries(failed.map((side) => [side, (memory[side] as { why: string }).why])),
  };
}

/**
 * Decides a prepared check with the memory the transport could get (none by default) and the
 * clearance the request presented (see clearance.ts: it can lift a challenge, never a deny).
 */
export function decidePrepared(check: PreparedCheck, memory: MemoryFacts = NO_MEMORY, clearance?: ClearanceInput): Decision {
  const { policy, view } = check;
  const signals = withMemory(check.signals, memorySignals(policy, check, memory));
  const result = decideOn(policy, view, signals, check.now, memoryFailure(policy, memory), clearance);
  // A policy without dry-run rules pays one property read for them.
  if (policy.dryRun !== undefined) result.dryRun = dryRunOf(policy.dryRun, policy, check, signals, memory, result.decision, clearance);
  return result;
}

function bandOf(score: number, s: ScoreSettings): Action {
  if (score >= s.denyAt) return 'deny';
  if (score >= s.challengeAt) return 'challenge';
  return 'allow';
}

/** What one true signal adds to the score. */
export interface Contribution {
  readonly name: SignalName;
  readonly weight: number;
  readonly strength: number;
  /** round(weight x strength): what the score gained. */
  readonly points: number;
}

/**
 * Signals that describe one thing and so count once, under the one that adds most (the first
 * listed on a tie): one network on several lists (VPN, the policy's own, hosting), and one
 * restricted clock seen now and remembered from before.
 */
const COUNT_ONCE = [
  ['NETWORK_VPN', 'NETWORK_LISTED', 'NETWORK_HOSTING'],
  ['TZ_RESTRICTED', 'TZ_RESTRICTED_HISTORY'],
] as const satisfies readonly (readonly SignalName[])[];

/** Each signal's group in COUNT_ONCE. */
const GROUP_OF: Partial<Record<SignalName, readonly SignalName[]>> = Object.fromEntries(COUNT_ONCE.flatMap((g) => g.map((n) => [n, g])));

const pointsOf = (signals: Signals, weights: ScoreSettings['weights'], name: SignalName) => {
  const s = signals[name];
  return s.value === true ? Math.round(weights[name] * (s.strength ?? 1)) : -1;
};

/** The member of a COUNT_ONCE group that counts: the true one adding most points, the first on a tie. */
function countedOf(group: readonly SignalName[], signals: Signals, weights: ScoreSettings['weights']): SignalName | undefined {
  let best: SignalName | undefined;
  let bestPoints = -1;
  for (const name of group) {
    const p = pointsOf(signals, weights, name);
    if (p > bestPoints) {
      best = name;
      bestPoints = p;
    }
  }
  return bestPoints >= 0 ? best : undefined;
}

/**
 * The signals that add to the score, and the score. A network in several network sets (on the
 * VPN and the hosting list, or in one of the policy's own categories too) is one network, and a
 * restricted clock seen now and remembered is one clock: each counts once, under the member that
 * adds most (VPN, and the current TZ_RESTRICTED, on a tie).
 */
export function scoreSignals(signals: Signals, weights: ScoreSettings['weights']): { score: number; contributions: Contribution[] } {
  const contributions: Contribution[] = [];
  let score = 0;
  for (const name of SIGNAL_NAMES) {
    const signal = signals[name];
    if (signal.value !== true) continue;
    const group = GROUP_OF[name];
    if (group !== undefined && countedOf(group, signals, weights) !== name) continue;
    const weight = weights[name];
    const strength = signal.strength ?? 1;
    const points = Math.round(weight * strength);
    if (points <= 0) continue;
    score += points;
    contributions.push({ name, weight, strength, points });
  }
  return { score, contributions };
}

/**
 * Whether a true location signal that the policy weighs makes it more likely than not that the
 * user is in a restricted place. Every such signal counts, including one that a count-once group
 * kept out of the score: a weak restricted offset claimed now must not hide a full-strength
 * restricted clock remembered from before (a client claim never removes location evidence).
 */
function hasLocationEvidence(signals: Signals, weights: ScoreSettings['weights']): boolean {
  for (const name of SIGNAL_NAMES) {
    const s = signals[name];
    if (SIGNAL_CLASS[name] !== 'location' || s.value !== true) continue;
    const strength = s.strength ?? 1;
    if (strength >= LOCATION_EVIDENCE_MIN_STRENGTH && Math.round(weights[name] * strength) > 0) return true;
  }
  return false;
}

/**
 * Decides one request under a compiled policy at instant `now` (epoch milliseconds), with the
 * network intel in force (the deployment's bundled copy unless given) and the account memory the
 * transport could get (none unless given: the memory signals are then undetermined). Never throws
 * for any `facts` the facts adapters can produce.
 */
export function evaluate(
  policy: CompiledPolicy,
  facts: Facts,
  now: number,
  intel: NetworkIntel = bundledIntel(),
  memory: MemoryFacts = NO_MEMORY,
  clearance?: ClearanceInput,
): Decision {
  return decidePrepared(prepare(policy, facts, now, intel), memory, clearance);
}

/** The decision with every rule enforced, and which dry-run rules matched. */
function dryRunOf(dry: CompiledDryRun, policy: CompiledPolicy, check: PreparedCheck, signals: Signals, memory: MemoryFacts, real: Action, clearance?: ClearanceInput): DryRunOutcome {
  // Same restricted places (the settings object is shared, see compilePolicy): same signals.
  const all =
    dry.policy.timezone === policy.timezone
      ? signals
      : withMemory(detectRequest(dry.policy, check.view, check.now), memorySignals(dry.policy, check, memory));
  const d = decideOn(dry.policy, check.view, all, check.now, memoryFailure(dry.policy, memory), clearance);
  const matched = [...new Set(d.reasons.filter((r) => dry.ruleIds.has(r.rule)).map((r) => r.rule))].sort();
  return { decision: d.decision, changed: d.decision !== real, reasons: d.reasons, score: d.score, summary: d.summary, matched };
}

/** Steps 2-6 for one compiled policy, given the request's signals under that policy. */
function decideOn(policy: CompiledPolicy, view: RequestView, signals: Signals, now: number, memoryFailed?: Reason, clearance?: ClearanceInput): Decision {
  const facts = view.facts;
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

  // A fresh object per decision: lifting it writes liftedBy (the dry-run variant decides again).
  if (memoryFailed) decisive.push({ ...memoryFailed });

  for (const rule of policy.rules) {
    if (rule.surfaces && !(surface !== undefined && rule.surfaces.has(surface))) continue;
    const hit = rule.match(view);
    if (!hit) continue;
    const reason: Reason = { code: hit.code, rule: rule.id, action: rule.action, message: hit.message, evidence: hit.evidence };
    if (rule.action === 'allow') exceptions.push({ reason, liftDeny: rule.liftDeny });
    else decisive.push(reason);
  }

  const settings = (surface !== undefined && policy.scoreBySurface.get(surface)) || policy.score;
  const { score, contributions } = scoreSignals(signals, settings.weights);
  let band = bandOf(score, settings);
  const locationBlocked = band === 'deny' && settings.denyRequiresLocation && !hasLocationEvidence(signals, settings.weights);
  if (locationBlocked) band = 'challenge';
  let scoreReason: Reason | undefined;
  if (band !== 'allow') {
    const points = Object.fromEntries(contributions.map((c) => [c.name, c.points]));
    scoreReason = {
      code: band === 'deny' ? 'SCORE_DENY' : 'SCORE_CHALLENGE',
      rule: SCORE_RULE,
      action: band,
      message: locationBlocked
        ? `Risk score ${score} reaches denyAt (${settings.denyAt}), but no signal places the user in a restricted location, so it challenges.`
        : `Risk score ${score} reaches ${band === 'deny' ? 'denyAt' : 'challengeAt'} (${band === 'deny' ? settings.denyAt : settings.challengeAt}).`,
      evidence: {
        score,
        challengeAt: settings.challengeAt,
        denyAt: settings.denyAt,
        surface: surface ?? null,
        signals: contributions.map((c) => c.name),
        points,
        ...(locationBlocked ? { denyNeedsLocation: true } : {}),
      },
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

  // Step 6: a clearance lifts a challenge whose every reason it cleared; never a deny.
  const informational = exceptions.map((x) => x.reason);
  let offer = decision === 'challenge' ? offerOf(policy, decisive) : undefined;
  if (clearance !== undefined) {
    const outcome = clear(clearance, policy, view, now, decision, decisive, offer);
    if (outcome.lifted) {
      decision = 'allow';
      offer = undefined;
    }
    if (outcome.reason) informational.push(outcome.reason);
  }

  const signalReasons: Reason[] = [];
  const byPoints = [...contributions].sort((a, b) => b.points - a.points || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of byPoints) {
    const signal = signals[c.name];
    if (signal.value !== true) continue;
    signalReasons.push({
      code: c.name,
      rule: SCORE_RULE,
      action: band,
      message: signal.message,
      evidence: { ...signal.evidence, weight: c.weight, ...(c.strength < 1 ? { strength: c.strength, points: c.points } : {}) },
      ...(scoreReason?.liftedBy !== undefined ? { liftedBy: scoreReason.liftedBy } : {}),
    });
  }

  const signalValues = {} as Record<SignalName, SignalValue>;
  for (const name of SIGNAL_NAMES) signalValues[name] = signals[name].value;

  const { reasons, summary } = explain({ decision, score, challengeAt: settings.challengeAt }, decisive, signalReasons, informational);
  const result: Decision = { decision, reasons, score, signals: signalValues, summary, failed: false };
  if (offer) result.challenge = offer;
  return result;
}

/** How a challenge may be resolved: the codes it is about, and the kinds every one of them allows. */
function offerOf(policy: CompiledPolicy, decisive: readonly Reason[]): ChallengeOffer {
  const clears = challengeCodes(decisive);
  // Every reason must be answerable by the kinds offered: each code allows the kinds of its first
  // matching offer (or the policy's kinds), and the challenge offers, in the order of the first
  // offer naming any of its codes, only the kinds all of them allow; so adding a reason (a client
  // claim) can never widen what answers another.
  const first = (policy.challenge.offers.find((o) => o.reasons.some((r) => clears.includes(r))) ?? policy.challenge).kinds;
  let kinds: readonly string[] = first;
  for (const code of clears) {
    const own = (policy.challenge.offers.find((o) => o.reasons.includes(code as never)) ?? policy.challenge).kinds;
    kinds = kinds.filter((k) => own.includes(k));
  }
  return { kinds: [...kinds], expiresIn: policy.challenge.expiresInSeconds, clears };
}

const INVALID_MESSAGE: Readonly<Record<ClearanceInvalidWhy, string>> = {
  malformed: 'is not a clearance token',
  signature: 'is not signed by a key in force',
  expired: 'has expired',
  account: 'was issued for another account',
  network: "was issued for another network than the request's IP",
  revoked: "was revoked for the account",
  'revocation-unknown': "cannot be checked against the account's revocations (storage did not answer)",
  'not-configured': 'cannot be verified: the deployment has no CLEARANCE_SECRET',
};

/**
 * Judges a presented clearance against the decision taken without it (`offer`: that decision's
 * challenge, when it is one): lifts every standing challenge reason when the clearance cleared all
 * of the challenge's codes with a kind it offers, and says what happened (CLEARANCE_VALID,
 * CLEARANCE_INSUFFICIENT or CLEARANCE_INVALID; nothing for a valid clearance on an allow).
 */
function clear(input: ClearanceInput, policy: CompiledPolicy, view: RequestView, now: number, decision: Action, decisive: Reason[], offer: ChallengeOffer | undefined): { lifted: boolean; reason?: Reason } {
  const account = view.facts.account.id;
  const verdict = judgeClearance(input, { ...(view.facts.ip !== undefined ? { ip: view.facts.ip } : {}), ...(account !== undefined ? { account } : {}) }, now, policy.challenge);
  if (!verdict.valid) {
    return {
      lifted: false,
      reason: { code: 'CLEARANCE_INVALID', rule: CLEARANCE_RULE, action: 'allow', message: `The clearance ${INVALID_MESSAGE[verdict.why]}; it is ignored.`, evidence: { why: verdict.why } },
    };
  }
  const c = verdict.claims;
  if (decision === 'allow') return { lifted: false };
  const insufficient = (message: string, evidence: Evidence) => ({
    lifted: false,
    reason: { code: 'CLEARANCE_INSUFFICIENT' as const, rule: CLEARANCE_RULE, action: 'allow' as const, message, evidence: { ...evidenceOf(c), ...evidence } },
  });
  if (decision === 'deny' || offer === undefined) return insufficient('A clearance never lifts a deny.', { deny: true });
  const left = uncovered(offer.clears, c.reasons);
  if (left.length > 0) return insufficient(`The clearance does not cover ${left.join(', ')}, so the challenge stands.`, { uncovered: left });
  // The kind passed must be one this challenge offers now: a client claim that once moved the
  // challenge to an easier offer must not make that kind lift a reason whose offer excludes it.
  if (!offer.kinds.includes(c.kind)) {
    return insufficient(`The clearance was earned by ${c.kind}, which this challenge does not offer (${offer.kinds.join(', ')}), so the challenge stands.`, { kind: c.kind, offered: [...offer.kinds] });
  }
  for (const r of decisive) if (r.liftedBy === undefined && r.action === 'challenge') r.liftedBy = CLEARANCE_RULE;
  return {
    lifted: true,
    reason: {
      code: 'CLEARANCE_VALID',
      rule: CLEARANCE_RULE,
      action: 'allow',
      message: `A ${c.kind} clearance lifts the challenge (${offer.clears.join(', ')}).`,
      evidence: { ...evidenceOf(c), lifted: [...offer.clears] },
    },
  };
}

function evidenceOf(c: ClearanceClaims) {
  return { clearance: c.id, kind: c.kind, cleared: c.reasons, policyVersion: c.policyVersion, expiresAt: new Date(c.expiresAt).toISOString() };
}
