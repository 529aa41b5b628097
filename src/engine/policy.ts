// The validated policy, as the engine consumes it. The engine owns this shape; the zod schema in
// src/policy/schema.ts (the single source of the *document* format, with defaults and messages)
// is type-checked to produce exactly this, so the engine never imports the transport's schema.
import type { ClearableCode } from './clearance';
import type { HistoryMode } from './history';
import type { Action, SignalName } from './types';

/** What a decision answers when geogate has no usable policy (see fail.ts). */
export type FailMode = 'closed' | 'challenge' | 'open';

/** Every fail mode, most restrictive first. */
export const FAIL_MODES = ['closed', 'challenge', 'open'] as const satisfies readonly FailMode[];

/** The action each fail mode answers with. */
export const FAIL_MODE_ACTION: Readonly<Record<FailMode, Action>> = { closed: 'deny', challenge: 'challenge', open: 'allow' };

/**
 * Whether a rule decides (`enforce`) or is only watched (`dry-run`: evaluated and reported in the
 * decision's `dryRun`, never changing the decision itself).
 */
export type RuleMode = 'enforce' | 'dry-run';

/** Every rule mode; the first is the default. */
export const RULE_MODES = ['enforce', 'dry-run'] as const satisfies readonly RuleMode[];

/** Fields every rule has. */
export interface RuleBaseSpec {
  id: string;
  description?: string | undefined;
  /** When present, the rule applies only to requests whose `surface` is listed. */
  surfaces?: string[] | undefined;
  /** Absent means `enforce`. A `dry-run` rule is as if absent from the decision (see DryRunOutcome). */
  mode?: RuleMode | undefined;
}

/** Only allow-exceptions may name the denies they lift. */
interface Lifting {
  liftDeny?: string[] | undefined;
}

/** A `country` rule: the IP country (or `T1`, Tor) is listed. */
export interface CountryRuleSpec extends RuleBaseSpec {
  type: 'country';
  action: 'deny' | 'challenge';
  countries: string[];
}
/** A `country-allowlist` rule: every known IP country NOT listed is hit. */
export interface CountryAllowlistRuleSpec extends RuleBaseSpec {
  type: 'country-allowlist';
  action: 'deny' | 'challenge';
  countries: string[];
}
/** A `region` rule on ISO 3166-2 subdivisions. */
export interface RegionRuleSpec extends RuleBaseSpec {
  type: 'region';
  action: 'deny' | 'challenge';
  regions: string[];
}
/** An `owner-country` rule on the account's ultimate parent. */
export interface OwnerCountryRuleSpec extends RuleBaseSpec {
  type: 'owner-country';
  action: 'deny' | 'challenge';
  countries: string[];
  /** Named `org-owner` lists: an organisation's owner country when the origin does not send one. */
  lists: string[];
}
/** An `asn` rule (or allow-exception). */
export interface AsnRuleSpec extends RuleBaseSpec, Lifting {
  type: 'asn';
  action: Action;
  asns: number[];
  /** Built-in ASN lists and named `asn` lists. */
  lists: string[];
}
/** A `cidr` rule (or allow-exception). */
export interface CidrRuleSpec extends RuleBaseSpec, Lifting {
  type: 'cidr';
  action: Action;
  cidrs: string[];
  /** Named `cidr` lists. */
  lists: string[];
}
/** An `account` rule (or allow-exception) on account or organisation ids. */
export interface AccountRuleSpec extends RuleBaseSpec, Lifting {
  type: 'account';
  action: Action;
  accounts: string[];
  orgs: string[];
  /** Named `account` and `org` lists. */
  lists: string[];
}

/** One validated hard rule. */
export type RuleSpec =
  | CountryRuleSpec
  | CountryAllowlistRuleSpec
  | RegionRuleSpec
  | OwnerCountryRuleSpec
  | AsnRuleSpec
  | CidrRuleSpec
  | AccountRuleSpec;

/** A set of networks: ASNs, CIDR blocks, built-in lists (intel categories) and named `asn` / `cidr` lists. */
export interface NetworkSetSpec {
  asns: number[];
  lists: string[];
  cidrs: string[];
}

/** Signal weights: unlisted signals weigh 0. */
export type WeightsSpec = Partial<Record<SignalName, number | undefined>>;

/** Per-surface score overrides. */
export interface SurfaceSpec {
  weights?: WeightsSpec | undefined;
  challengeAt?: number | undefined;
  denyAt?: number | undefined;
}

/** How the account and organisation memory is kept and judged (durations in the units named). */
export interface HistorySpec {
  mode: HistoryMode;
  unavailable: 'ignore' | 'challenge';
  syncBudgetMs: number;
  cacheTtlSeconds: number;
  fanout: { windowSeconds: number; networks: number; asns: number; countries: number; timezones: number; devices: number };
  signature: { windowSeconds: number; requests: number };
  travel: { maxKmh: number; minKm: number };
  restrictedDays: number;
  org: { windowDays: number; minShare: number; minAccounts: number };
}

/** Known relay fingerprints (RELAY_FINGERPRINT): exact values or `prefix*`, inline and in named lists. */
export interface FingerprintsSpec {
  userAgents: string[];
  devices: string[];
  /** Named `user-agent` and `device` lists. */
  lists: string[];
}

/** The `challenge` section: the kinds the origin presents, and the clearances that resolve them. */
export interface ChallengeSpec {
  /** Kinds the origin supports, most preferred first (`turnstile`, `step-up`, custom names). */
  kinds: string[];
  /** Other kinds (in order) for challenges with particular reasons; the first match wins. */
  offers: { reasons: ClearableCode[]; kinds: string[] }[];
  /** Seconds a challenge's ticket may be answered. */
  expiresInSeconds: number;
  /** Seconds a clearance lifts what it cleared. */
  clearanceTtlSeconds: number;
  /** Leading bits of the user's IP a clearance is bound to. */
  bind: { ipv4Prefix: number; ipv6Prefix: number };
}

/**
 * The request fields a decision log may leave out (`decisionLog.mask`): where the user is
 * (`country`, `asn`), who they are (`account`, `org`), which product they used (`surface`), and
 * their address in the only forms ever logged (`ipHash`, a keyed hash; `network`, its /24 or /48).
 */
export const DECISION_LOG_FIELDS = ['country', 'asn', 'account', 'org', 'surface', 'ipHash', 'network'] as const;

/** A field of the decision log that `decisionLog.mask` may leave out. */
export type DecisionLogField = (typeof DECISION_LOG_FIELDS)[number];

/** The `decisionLog` section: how many decisions are logged, and which fields are left out. */
export interface DecisionLogSpec {
  /** Share of decisions logged, 0 (none) to 1 (every one). */
  sampleRate: number;
  /** Fields written as masked instead of their value. */
  mask: DecisionLogField[];
}

/** A validated policy (defaults applied). */
export interface PolicySpec {
  $schema?: string | undefined;
  version: string;
  description?: string | undefined;
  rules: RuleSpec[];
  restrictedCountries?: string[] | undefined;
  network: {
    vpn?: NetworkSetSpec | undefined;
    hosting?: NetworkSetSpec | undefined;
    /** The policy's own network categories (e.g. `relay`): a network in one adds NETWORK_LISTED. */
    categories: Record<string, NetworkSetSpec>;
  };
  score: {
    weights: WeightsSpec;
    challengeAt: number;
    denyAt: number;
    /** A score deny needs at least one location signal; without one it challenges. */
    denyRequiresLocation: boolean;
  };
  surfaces: Record<string, SurfaceSpec>;
  missingGeo: Action;
  clockSkewToleranceSeconds: number;
  challenge: ChallengeSpec;
  /** What to answer when this policy is meant to be in force but no usable copy can be loaded. */
  failMode: FailMode;
  history: HistorySpec;
  fingerprints: FingerprintsSpec;
  /** Decision logs (Analytics Engine and the log line): sampling and masked fields. */
  decisionLog: DecisionLogSpec;
}
