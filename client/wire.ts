// The JSON geogate's POST /v1/check takes and answers, as the client sees it. Written out here
// rather than imported from src/routes and src/facts because those modules pull in the Workers
// runtime's types (request.cf, KV, Durable Objects): an origin on Node, Bun or Deno type-checks
// this file without them. Only the engine's plain vocabulary (reasons, signals) is shared, and
// test/integration/client.test.ts proves each type here equals the server's own, so they cannot
// drift apart unnoticed.
import type { Action, ChallengeOffer, Decision, DryRunOutcome, GeoSource, Reason, ReasonCode, SignalName, SignalValue } from '../src/engine/types';

export type { Action, GeoSource, Reason, ReasonCode, SignalName, SignalValue };

/** One value, or several (the values of a repeated header): each is judged on its own. */
export type Claims<T> = T | T[];

/**
 * Geo metadata of the end user's IP, named as in Cloudflare's `request.cf` (origin-side facts:
 * a malformed value is a 400).
 */
export interface GeoInput {
  /** ISO 3166-1 alpha-2 code, or Cloudflare's `T1` (Tor) / `XX` (unknown). */
  country?: string | undefined;
  region?: string | undefined;
  /** ISO 3166-2 subdivision code, `43` or `UA-43`. */
  regionCode?: string | undefined;
  city?: string | undefined;
  continent?: string | undefined;
  /** IANA zone of the IP's location, `Europe/Berlin`. */
  timezone?: string | undefined;
  latitude?: number | string | undefined;
  longitude?: number | string | undefined;
  postalCode?: string | undefined;
  asn?: number | undefined;
  asOrganization?: string | undefined;
  colo?: string | undefined;
}

/** What the user's browser claims (client-side signals: never a 400, only evidence). */
export interface ClientInput {
  timezone?: Claims<string> | undefined;
  /** Minutes east of UTC. */
  utcOffsetMinutes?: Claims<number> | undefined;
  acceptLanguage?: Claims<string> | undefined;
  userAgent?: string | undefined;
  /** The browser's clock, ISO-8601. */
  clock?: Claims<string> | undefined;
  /** An opaque device or session id the origin derives. */
  deviceId?: Claims<string> | undefined;
}

/** The account acting, as the origin knows it (origin-side facts). */
export interface AccountInput {
  id?: string | undefined;
  orgId?: string | undefined;
  /** ISO 3166-1 alpha-2 country of the account's owner. */
  ownerCountry?: string | undefined;
}

/**
 * The body of POST /v1/check: one end-user request as the origin describes it. Every field is
 * optional; unknown fields are refused (400). See docs/integrations.md.
 * @example
 * const request: CheckRequest = { ip: '203.0.113.9', geo: { country: 'US' }, account: { id: 'u1' }, surface: 'login' };
 */
export interface CheckRequest {
  /** Echoed in the decision and in logs; the client makes one up when absent (1-128 printable ASCII). */
  requestId?: string | undefined;
  /** The user's clearance from a passed challenge (the `geogate_clearance` cookie). */
  clearance?: string | undefined;
  /** The end user's IP address (never the origin's). */
  ip?: string | undefined;
  geo?: GeoInput | undefined;
  client?: ClientInput | undefined;
  account?: AccountInput | undefined;
  /** The policy surface the request reaches (`login`, `checkout`). */
  surface?: string | undefined;
}

/** How the account and organisation memory was consulted (docs/integrations.md, "the memory field"). */
export interface MemoryReport {
  readonly mode: 'off' | 'async' | 'sync';
  readonly account: MemoryStatus;
  readonly org: MemoryStatus;
}

/** One side of {@link MemoryReport}: `timeout` and `unavailable` mean its signals are undetermined. */
export type MemoryStatus = 'none' | 'off' | 'object' | 'cache' | 'cold' | 'timeout' | 'unavailable';

/** A challenge as geogate answers it: the engine's offer, the Turnstile site key and a signed ticket. */
export interface ChallengeBody extends ChallengeOffer {
  /** Present when `kinds` includes turnstile and the deployment set TURNSTILE_SITE_KEY. */
  turnstile?: { siteKey: string };
  /** Signed record of what was challenged; pass it to POST /v1/challenge/*. */
  ticket?: string;
}

/**
 * The JSON body of a decision (POST /v1/check, 200).
 * @example
 * for (const reason of body.reasons) log.info(reason.code, reason.rule);
 */
export interface DecisionBody {
  decision: Action;
  /** One human-readable line: the decision and why. */
  summary: string;
  reasons: Reason[];
  score: number;
  /** True when the operator's current policy did not decide (a fallback, or geogate's fail mode). */
  failed: boolean;
  /** The version of the policy that decided; "none" when geogate's fail mode decided. */
  policyVersion: string;
  policySource: 'kv' | 'default' | 'last-known-good' | 'none';
  /** The snapshot that decided (policy and list versions, by content). */
  snapshot: string;
  requestId: string;
  evaluatedAt: string;
  geoSource: GeoSource;
  signals: Decision['signals'];
  /** Present when the decision is `challenge`: how the user may resolve it (docs/challenges.md). */
  challenge?: ChallengeBody;
  /** The network intel used; `failed` when a fallback intel answered. */
  intel: { version: string; source: 'kv' | 'bundled' | 'last-known-good'; id: string; failed: boolean };
  /** How the account and organisation memory was consulted; absent under geogate's fail mode. */
  memory?: MemoryReport;
  /** What the policy's dry-run rules would have done; never changes `decision`. */
  dryRun?: DryRunOutcome;
}

/** One field-level problem in a check request, as a 400 names it. */
export interface InputIssue {
  /** Dotted path of the field (`geo.country`). */
  path: string;
  code: string;
  message: string;
}

/**
 * The JSON body of every geogate error: `{ error: { code, message, issues? } }`.
 * @example
 * { "error": { "code": "INVALID_REQUEST", "message": "The check request has invalid fields.", "issues": [] } }
 */
export interface ApiErrorBody {
  error: { code: string; message: string; issues?: InputIssue[] };
}
