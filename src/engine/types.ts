// The engine's vocabulary: what is known about a request (Facts), what detectors conclude
// (Signals) and what the policy decides (Decision, Reasons). Plain, JSON-friendly data only.
// The engine owns these types: the transport's zod schemas are checked against them
// (`satisfies`), never the other way round.

/** What the policy may do with a request, from most to least permissive. */
export type Action = 'allow' | 'challenge' | 'deny';

/** Severity order used to combine actions: the most severe wins. */
export const ACTION_SEVERITY: Readonly<Record<Action, number>> = { allow: 0, challenge: 1, deny: 2 };

/** Where the geo facts came from: the caller's body/headers, Cloudflare's `request.cf`, or nowhere. */
export type GeoSource = 'forwarded' | 'cf' | 'none';

/** Geo metadata of the end user's IP, in `request.cf` naming. Country codes are upper-case. */
export interface GeoFacts {
  /**
   * ISO 3166-1 alpha-2, or a pseudo-code: `T1` (Tor), `XX` (unknown), MaxMind's `A1` (anonymous
   * proxy), `A2`, `AP`, `EU`, `O1`. Unassigned codes count as unknown.
   */
  country?: string;
  region?: string;
  /** ISO 3166-2 subdivision: either the full code (`UA-43`) or the part after the country (`43`). */
  regionCode?: string;
  city?: string;
  continent?: string;
  /** IANA zone of the IP's location, as Cloudflare reports it. */
  timezone?: string;
  latitude?: number;
  longitude?: number;
  postalCode?: string;
  asn?: number;
  asOrganization?: string;
  colo?: string;
}

/** One client claim, or several when a client repeated it (every value is judged on its own). */
export type Claims<T> = T | readonly T[];

/**
 * What the end user's browser or SDK says about itself. Only ever raises suspicion: every value
 * is a claim, and a malformed claim is evidence (TZ_INVALID, CLOCK_INVALID), never an error.
 */
export interface ClientFacts {
  /** IANA zone name as the client reported it (any case, aliases allowed). */
  timezone?: Claims<string>;
  /**
   * Minutes EAST of UTC (UTC+8 = 480): the negation of JS `getTimezoneOffset()`. A string is a
   * claim as sent in a header: an integer in it is read as a number, anything else is invalid.
   */
  utcOffsetMinutes?: Claims<number | string>;
  acceptLanguage?: Claims<string>;
  userAgent?: string;
  /** ISO-8601 instant the client believes it is; a numeric offset in it is also an offset claim. */
  clock?: Claims<string>;
  /**
   * An opaque device or session id the origin derives (e.g. from the SDK's device id); several when
   * a header was repeated, each a claim of its own. Counted per account (RELAY_DEVICE_FANOUT) and
   * matched against `device` lists (RELAY_FINGERPRINT); stored only as keyed hashes.
   */
  deviceId?: Claims<string>;
}

/** The account the request acts for, as the origin knows it. */
export interface AccountFacts {
  id?: string;
  orgId?: string;
  /** ISO 3166-1 alpha-2 country of the account's ultimate parent. */
  ownerCountry?: string;
}

/** Everything known about one request, normalised by `src/facts/`. */
export interface Facts {
  /** The end user's IP, v4 or v6 (validated by the facts adapter). */
  ip?: string;
  geo: GeoFacts;
  geoSource: GeoSource;
  client: ClientFacts;
  account: AccountFacts;
  /** Lower-case surface name ("web", "api", ...) that policies may scope rules by. */
  surface?: string;
}

/** The signals only the account and organisation memory can make true (detectors/history.ts). */
export const MEMORY_SIGNAL_NAMES = [
  'RELAY_FANOUT',
  'RELAY_TZ_FANOUT',
  'RELAY_DEVICE_FANOUT',
  'RELAY_SIGNATURE',
  'IMPOSSIBLE_TRAVEL',
  'TZ_RESTRICTED_HISTORY',
  'RESTRICTED_IP_HISTORY',
  'ORG_RESTRICTED_SHARE',
] as const;

/** Names of the detector signals, which double as the reason codes they contribute. */
export const SIGNAL_NAMES = [
  'TZ_RESTRICTED',
  'TZ_MISMATCH',
  'TZ_INCONSISTENT',
  'TZ_INVALID',
  'CLOCK_SKEW',
  'CLOCK_INVALID',
  'LOCALE_RESTRICTED',
  'NETWORK_VPN',
  'NETWORK_HOSTING',
  'NETWORK_LISTED',
  'RELAY_FINGERPRINT',
  ...MEMORY_SIGNAL_NAMES,
] as const;

/** A detector signal's name. */
export type SignalName = (typeof SIGNAL_NAMES)[number];

/**
 * What a signal says about the user:
 * - `location`: evidence of *where* the user is (a restricted country's clock, or an offset mostly
 *   used in restricted places). Only location evidence lets a score deny.
 * - `concealment`: the user hides or garbles where they are (VPN, hosting, contradictions).
 * - `affinity`: a tie to a restricted place that says nothing of location (a browser locale).
 */
export type SignalClass = 'location' | 'concealment' | 'affinity';

/** The class of every signal (see {@link SignalClass}). */
export const SIGNAL_CLASS: Readonly<Record<SignalName, SignalClass>> = {
  TZ_RESTRICTED: 'location',
  TZ_MISMATCH: 'concealment',
  TZ_INCONSISTENT: 'concealment',
  TZ_INVALID: 'concealment',
  CLOCK_SKEW: 'concealment',
  CLOCK_INVALID: 'concealment',
  LOCALE_RESTRICTED: 'affinity',
  NETWORK_VPN: 'concealment',
  NETWORK_HOSTING: 'concealment',
  NETWORK_LISTED: 'concealment',
  RELAY_FINGERPRINT: 'concealment',
  // Account memory (src/engine/detectors/history.ts). Many networks, zones or devices behind one
  // account, or travel no plane could make, hide who is really there: concealment. A restricted
  // clock or IP the same account showed before places its user: location evidence. An
  // organisation whose staff show restricted evidence says nothing of where this user is: affinity.
  RELAY_FANOUT: 'concealment',
  RELAY_TZ_FANOUT: 'concealment',
  RELAY_DEVICE_FANOUT: 'concealment',
  RELAY_SIGNATURE: 'concealment',
  IMPOSSIBLE_TRAVEL: 'concealment',
  TZ_RESTRICTED_HISTORY: 'location',
  RESTRICTED_IP_HISTORY: 'location',
  ORG_RESTRICTED_SHARE: 'affinity',
};

/**
 * A location signal whose strength is at least this counts as location evidence for a score
 * deny: the user is more likely than not in a restricted place.
 */
export const LOCATION_EVIDENCE_MIN_STRENGTH = 0.5;

/** Free-form, JSON-serialisable evidence attached to signals and reasons. */
export type Evidence = Readonly<Record<string, unknown>>;

/** A true signal: what was found, and how strongly it counts. */
export interface TrueSignal {
  readonly value: true;
  readonly message: string;
  readonly evidence: Evidence;
  /**
   * How much of the signal's weight counts, in (0, 1]; 1 when absent. An offset shared by
   * restricted and other places counts by the restricted share of its population.
   */
  readonly strength?: number;
}

/**
 * A detector's conclusion. `undetermined` means the facts did not allow a conclusion
 * (missing or unusable input); it never counts as `false` evidence of innocence.
 */
export type Signal = TrueSignal | { readonly value: false } | { readonly value: 'undetermined'; readonly why: string };

/** The shared, frozen `false` signal: the common answer allocates nothing. */
export const SIGNAL_FALSE: Signal = Object.freeze({ value: false });

/** An `undetermined` signal; detectors build their fixed ones once, at module load. */
export function undetermined(why: string): Signal {
  return Object.freeze({ value: 'undetermined', why });
}

/** Every signal for one request. */
export type Signals = Readonly<Record<SignalName, Signal>>;

/**
 * Reason codes of the hard rules that deny or restrict: the ones whose challenge a clearance may
 * lift (clearance.ts).
 */
export const RESTRICTING_RULE_CODES = [
  'COUNTRY_DENIED',
  'COUNTRY_NOT_ALLOWED',
  'REGION_DENIED',
  'TOR',
  'ASN_DENIED',
  'IP_DENIED',
  'ACCOUNT_DENIED',
  'OWNER_RESTRICTED',
] as const;

/** Reason codes produced by hard rules: the restricting ones, then the allow-exceptions. */
export const RULE_REASON_CODES = [...RESTRICTING_RULE_CODES, 'IP_ALLOWED', 'ASN_ALLOWED', 'ACCOUNT_ALLOWED'] as const;

/** A reason code produced by a hard rule. */
export type RuleReasonCode = (typeof RULE_REASON_CODES)[number];

/**
 * Every stable reason code an origin may switch on, as values (the OpenAPI document's enum lists
 * them in this order).
 */
export const REASON_CODES = [
  ...RULE_REASON_CODES,
  ...SIGNAL_NAMES,
  'GEO_MISSING',
  'SCORE_CHALLENGE',
  'SCORE_DENY',
  'POLICY_UNAVAILABLE',
  'MEMORY_UNAVAILABLE',
  'CLEARANCE_VALID',
  'CLEARANCE_INSUFFICIENT',
  'CLEARANCE_INVALID',
] as const;

/** A stable reason code an origin may switch on. */
export type ReasonCode = (typeof REASON_CODES)[number];

/** One explained step of a decision. */
export interface Reason {
  code: ReasonCode;
  /**
   * Policy rule id; `score` for the risk score and its signals; `missingGeo` for GEO_MISSING;
   * `failMode` for POLICY_UNAVAILABLE; `historyUnavailable` for MEMORY_UNAVAILABLE;
   * `challengeClearance` for CLEARANCE_* (and as `liftedBy` of what a clearance lifted).
   */
  rule: string;
  /** What this reason asks for; signal reasons carry the action of the score band they produced. */
  action: Action;
  message: string;
  evidence: Evidence;
  /** Set when an allow-exception lifted this reason: the id of that rule. */
  liftedBy?: string;
}

/** JSON form of a signal's value in responses. */
export type SignalValue = boolean | 'undetermined';

/** The engine's answer for one request. */
export interface Decision {
  decision: Action;
  /**
   * The decisive reason first, then the other reasons that stand, then the contributing
   * signals by weight, then allow-exceptions, then what they lifted.
   */
  reasons: Reason[];
  score: number;
  signals: Record<SignalName, SignalValue>;
  /** One human-readable line: the decision and why. */
  summary: string;
  /** True when the decision was not taken under the operator's current policy (see fail.ts). */
  failed: boolean;
  /** Present when the decision is `challenge`: how the user may resolve it. */
  challenge?: ChallengeOffer;
  /**
   * Present whenever the deciding policy has dry-run rules (even when none matched): what the
   * decision would be with every rule enforced. Never present under the fail mode.
   */
  dryRun?: DryRunOutcome;
}

/**
 * How a challenge may be resolved: the kinds the origin may present (most preferred first), how
 * long the challenge may be answered, and the reason codes a clearance must clear to lift it.
 * The transport adds the Turnstile site key and a signed ticket.
 */
export interface ChallengeOffer {
  kinds: string[];
  /** Seconds the challenge (its ticket) may be answered. */
  expiresIn: number;
  /** The reason codes this challenge is about (a score's: the signals that fed it), sorted. */
  clears: string[];
}

/**
 * What a policy's dry-run rules would have done to one request: the decision the same policy
 * gives with every rule enforced, read like any decision (decisive reason first). The real
 * decision is the one the policy gives without its dry-run rules.
 */
export interface DryRunOutcome {
  /** The decision with every rule enforced. */
  decision: Action;
  /** True when `decision` differs from the real decision (reasons or score may differ either way). */
  changed: boolean;
  /** That decision's reasons, in the same reading order as a decision's. */
  reasons: Reason[];
  /** That decision's risk score (a dry-run deny rule may also widen the restricted countries). */
  score: number;
  /** That decision's one-line summary. */
  summary: string;
  /** Ids of the dry-run rules that matched the request, sorted; empty when none did. */
  matched: string[];
}
