// What one decision writes to the decision logs (docs/decision-logs.md): one Workers Analytics
// Engine data point and one structured JSON log line, built from the decision, its facts and the
// policy's `decisionLog` settings. Pure: the caller supplies the random draw, the timings and the
// keyed IP hash, so nothing here reads the clock, the environment or a binding. Neither record
// ever holds the raw IP, a token, a clearance or a ticket: only the address's keyed hash and its
// /24 or /48.
import { networkOf } from '../engine/clearance';
import type { DecisionLogSettings } from '../engine/compile';
import { parseIp, formatIp } from '../engine/ip';
import { DECISION_LOG_FIELDS, type DecisionLogField } from '../engine/policy';
import type { Action, Facts, GeoSource, ReasonCode } from '../engine/types';
import { utf8Length } from '../policy/limits';

/** What a masked field reads as in the Analytics Engine data point. */
export const MASKED = 'masked';

/** The largest index Analytics Engine takes, in UTF-8 bytes. */
export const INDEX_MAX_BYTES = 96;

/**
 * The network a decision log names: the /24 of an IPv4 address, the /48 of an IPv6 one (the
 * embedded IPv4 address of an IPv4-mapped, NAT64 or SIIT address counts as IPv4). Fixed, not the
 * policy's clearance binding, which may be a /32: a log must never narrow down to one address.
 */
export const LOG_NETWORK_PREFIX = { ipv4Prefix: 24, ipv6Prefix: 48 } as const;

/**
 * The settings when no policy decided (the fail mode): every decision logged, and every field
 * masked, since the operator's own mask cannot be known and a log must never say more than the
 * policy allowed.
 */
export const FAIL_MODE_LOG_SETTINGS: DecisionLogSettings = Object.freeze({ sampleRate: 1, mask: new Set(DECISION_LOG_FIELDS) });

/**
 * The blobs of a data point, in order: blob1 is `decision`, blob2 `topReason` and so on. Appending
 * is the only compatible change (SQL names columns by position).
 */
export const DECISION_BLOBS = [
  'decision',
  'topReason',
  'country',
  'asn',
  'surface',
  'policyVersion',
  'failed',
  'account',
  'org',
  'network',
  'ipHash',
  'geoSource',
  'policySource',
  'dryRun',
  'requestId',
] as const;

/** The doubles of a data point, in order (double1 is `score`); append only. */
export const DECISION_DOUBLES = ['score', 'evaluationMicros', 'sampleWeight', 'totalMicros'] as const;

/** The parts of a decision the logs read (the /v1/check body has them all). */
export interface LoggedDecision {
  readonly decision: Action;
  readonly reasons: readonly { readonly code: ReasonCode }[];
  readonly score: number;
  readonly failed: boolean;
  readonly policyVersion: string;
  readonly policySource: string;
  readonly snapshot: string;
  readonly requestId: string;
  readonly evaluatedAt: string;
  readonly geoSource: GeoSource;
  readonly dryRun?: { readonly decision: Action } | undefined;
}

/** How long deciding took, in microseconds (coarse on deployed Workers: see docs/decision-logs.md). */
export interface DecisionTimings {
  /** The engine alone: preparing the signals and deciding (no I/O). */
  readonly evaluationMicros: number;
  /** The whole decision: facts, policy and intel loads, memory, clearance, challenge ticket. */
  readonly totalMicros: number;
}

/** Everything one decision's log records are built from. */
export interface DecisionLogInput {
  readonly decision: LoggedDecision;
  readonly facts: Facts;
  /** The deciding policy's settings, or {@link FAIL_MODE_LOG_SETTINGS}. */
  readonly settings: DecisionLogSettings;
  readonly timings: DecisionTimings;
  /** The keyed hash of the user's address ({@link ipHashInput}); absent without a secret or an address. */
  readonly ipHash?: string | undefined;
}

/** The structured log line of one decision (one `console.log` of its JSON). */
export interface DecisionLogLine {
  readonly event: 'geogate.decision';
  readonly requestId: string;
  readonly decision: Action;
  /** Every reason code, in the decision's reading order (decisive first). */
  readonly reasons: readonly ReasonCode[];
  readonly score: number;
  readonly failed: boolean;
  readonly policyVersion: string;
  readonly policySource: string;
  readonly snapshot: string;
  readonly geoSource: GeoSource;
  /** What the dry-run rules would have decided; null when the policy has none. */
  readonly dryRun: Action | null;
  /** Each maskable field: its value, null when unknown, absent when masked (and listed in `masked`). */
  readonly country?: string | null;
  readonly asn?: number | null;
  readonly surface?: string | null;
  readonly account?: string | null;
  readonly org?: string | null;
  readonly ipHash?: string | null;
  readonly network?: string | null;
  /** The fields the policy masked, in {@link DECISION_LOG_FIELDS} order. */
  readonly masked: readonly DecisionLogField[];
  /** The rate this decision was sampled at: each logged decision stands for 1/sampleRate. */
  readonly sampleRate: number;
  readonly evaluationMicros: number;
  readonly totalMicros: number;
  readonly evaluatedAt: string;
}

/**
 * Whether a decision is logged, given `draw`, uniform in [0, 1): a rate of 0 logs nothing and a
 * rate of 1 everything. One draw decides both the data point and the log line.
 */
export function isSampled(settings: DecisionLogSettings, draw: number): boolean {
  return draw < settings.sampleRate;
}

/**
 * The text whose keyed hash stands for the user's address: `ip:` and its canonical form (dotted
 * quad for IPv4 and IPv4-mapped IPv6, RFC 5952 otherwise), so one address has one hash whatever
 * form the check sent. Undefined when there is no address.
 */
export function ipHashInput(ip: string | undefined): string | undefined {
  const parsed = ip === undefined ? undefined : parseIp(ip);
  return parsed && `ip:${formatIp(parsed)}`;
}

/** The value of each maskable field, undefined when unknown (before masking). */
function fieldValues(input: DecisionLogInput): { [F in DecisionLogField]: F extends 'asn' ? number | undefined : string | undefined } {
  const { facts } = input;
  const nonEmpty = (s: string | undefined) => (s === undefined || s === '' ? undefined : s);
  return {
    country: facts.geo.country,
    asn: facts.geo.asn,
    account: nonEmpty(facts.account.id),
    org: nonEmpty(facts.account.orgId),
    surface: facts.surface,
    ipHash: input.ipHash,
    network: facts.ip === undefined ? undefined : networkOf(facts.ip, LOG_NETWORK_PREFIX),
  };
}

/** FNV-1a (32-bit) of a text's UTF-16 units, as 8 hex digits: tells apart ids cut to one prefix. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * `text` as an index of at most {@link INDEX_MAX_BYTES} UTF-8 bytes: itself when it fits, else
 * its longest prefix of at most 86 bytes that ends on a whole character, `~` and the FNV-1a of the
 * whole text (95 bytes at most), so that two long ids sharing a prefix still index apart.
 */
export function fitIndex(text: string): string {
  if (utf8Length(text) <= INDEX_MAX_BYTES) return text;
  let cut = '';
  let bytes = 0;
  for (const ch of text) {
    const n = utf8Length(ch);
    if (bytes + n > INDEX_MAX_BYTES - 10) break;
    cut += ch;
    bytes += n;
  }
  return `${cut}~${fnv1a(text)}`;
}

/**
 * The data point's index (Analytics Engine samples per index value): `a:<account id>`, else
 * `o:<organisation id>` when the account is unknown or masked, else empty. Written in clear so
 * that "accounts with the most challenges" names accounts operators can look up; fitted to
 * {@link INDEX_MAX_BYTES} by {@link fitIndex}.
 */
export function decisionIndex(facts: Facts, mask: ReadonlySet<DecisionLogField>): string {
  const account = facts.account.id;
  if (account !== undefined && account !== '' && !mask.has('account')) return fitIndex(`a:${account}`);
  const org = facts.account.orgId;
  if (org !== undefined && org !== '' && !mask.has('org')) return fitIndex(`o:${org}`);
  return '';
}

/** Microseconds as a whole non-negative number. */
const micros = (x: number) => (Number.isFinite(x) && x > 0 ? Math.round(x) : 0);

/**
 * The Analytics Engine data point of one decision: blobs in {@link DECISION_BLOBS} order (unknown
 * values empty, masked ones {@link MASKED}), doubles in {@link DECISION_DOUBLES} order, and the
 * index of {@link decisionIndex}. `sampleWeight` is 1/sampleRate: weigh counts by it (and by
 * Analytics Engine's own `_sample_interval`). Call it only for a sampled decision (rate > 0).
 */
export function decisionDataPoint(input: DecisionLogInput): AnalyticsEngineDataPoint {
  const { decision: d, settings } = input;
  const values = fieldValues(input);
  const field = (f: DecisionLogField) => {
    if (settings.mask.has(f)) return MASKED;
    const v = values[f];
    return v === undefined ? '' : String(v);
  };
  const blobs: Record<(typeof DECISION_BLOBS)[number], string> = {
    decision: d.decision,
    topReason: d.reasons[0]?.code ?? '',
    country: field('country'),
    asn: field('asn'),
    surface: field('surface'),
    policyVersion: d.policyVersion,
    failed: d.failed ? 'true' : 'false',
    account: field('account'),
    org: field('org'),
    network: field('network'),
    ipHash: field('ipHash'),
    geoSource: d.geoSource,
    policySource: d.policySource,
    dryRun: d.dryRun?.decision ?? '',
    requestId: d.requestId,
  };
  const doubles: Record<(typeof DECISION_DOUBLES)[number], number> = {
    score: d.score,
    evaluationMicros: micros(input.timings.evaluationMicros),
    sampleWeight: settings.sampleRate > 0 ? 1 / settings.sampleRate : 0,
    totalMicros: micros(input.timings.totalMicros),
  };
  return {
    blobs: DECISION_BLOBS.map((b) => blobs[b]),
    doubles: DECISION_DOUBLES.map((x) => doubles[x]),
    indexes: [decisionIndex(input.facts, settings.mask)],
  };
}

/** The structured log line of one decision (see {@link DecisionLogLine}). */
export function decisionLogLine(input: DecisionLogInput): DecisionLogLine {
  const { decision: d, settings } = input;
  const values = fieldValues(input);
  const fields: { -readonly [F in DecisionLogField]?: DecisionLogLine[F] } = {};
  // Each value has its field's type (fieldValues' signature); the loop cannot say so per field.
  for (const f of DECISION_LOG_FIELDS) if (!settings.mask.has(f)) (fields as Record<DecisionLogField, unknown>)[f] = values[f] ?? null;
  return {
    event: 'geogate.decision',
    requestId: d.requestId,
    decision: d.decision,
    reasons: d.reasons.map((r) => r.code),
    score: d.score,
    failed: d.failed,
    policyVersion: d.policyVersion,
    policySource: d.policySource,
    snapshot: d.snapshot,
    geoSource: d.geoSource,
    dryRun: d.dryRun?.decision ?? null,
    ...fields,
    masked: DECISION_LOG_FIELDS.filter((f) => settings.mask.has(f)),
    sampleRate: settings.sampleRate,
    evaluationMicros: micros(input.timings.evaluationMicros),
    totalMicros: micros(input.timings.totalMicros),
    evaluatedAt: d.evaluatedAt,
  };
}
