// Zod schemas of what geogate answers, written for the OpenAPI document (src/openapi/document.ts).
// The handlers build their bodies from TypeScript interfaces, not from these: the decision and
// error schemas are tied to those interfaces with `satisfies` (a field's type can't drift without
// a type error), and test/integration/openapi.test.ts validates real answers against every schema
// here (a new undocumented field fails the strict ones). Nothing here runs on the check path: only
// the document builder and the tests import this module.
import * as z from 'zod';
import type { ForwardAuthBody } from '../routes/authorize';
import type { ChallengeBody, DecisionBody } from '../routes/decide';
import type { ApiErrorBody, ErrorCode } from '../http/errors';
import type { GrantedClearance } from '../challenge/grant';
import { HISTORY_MODES } from '../engine/history';
import { REASON_CODES, SIGNAL_NAMES } from '../engine/types';

/** Every error code (http/errors.ts `ErrorCode`, as values). */
export const ERROR_CODES = [
  'INVALID_JSON',
  'INVALID_REQUEST',
  'UNAUTHORIZED',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_CONFIGURED',
  'MISROUTED',
  'INTERNAL',
  'FORBIDDEN',
  'POLICY_UNAVAILABLE',
  'TICKET_INVALID',
  'TICKET_MISMATCH',
  'KIND_NOT_OFFERED',
  'TURNSTILE_FAILED',
  'TURNSTILE_SPENT',
  'TURNSTILE_MISMATCH',
  'TURNSTILE_UNAVAILABLE',
  'TURNSTILE_TIMEOUT',
  'INVALID_POLICY',
  'INVALID_LIST',
  'VERSION_EXISTS',
  'LIST_IN_USE',
  'PRECONDITION_FAILED',
  'PRECONDITION_REQUIRED',
  'OUT_OF_BAND_CHANGE',
  'INVALID_INTEL',
  'INTEL_SHRINKS',
  'INTEL_OLDER',
  'STORAGE_UNAVAILABLE',
] as const satisfies readonly ErrorCode[];

// A code added to the union but not to the list above is a type error here, not a silently
// undocumented value: `true` is only assignable when nothing is missing.
type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : Exclude<All, Listed>;
const errorCodesComplete: Missing<ErrorCode, (typeof ERROR_CODES)[number]> = true;
void errorCodesComplete;

const action = z.enum(['allow', 'challenge', 'deny']);
const evidence = z.record(z.string(), z.unknown()).describe('Free-form, JSON-serialisable evidence.');
const instant = z.iso.datetime().describe('An ISO 8601 instant (UTC).');

/** One field-level problem in a caller's input. */
export const InputIssueSchema = z.strictObject({
  path: z.string().describe('Dotted path of the field (`geo.country`), or the header name for /v1/authorize.'),
  code: z.string(),
  message: z.string(),
});

/** The one shape of every error geogate answers. */
export const ErrorResponseSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(ERROR_CODES).describe('A stable code to switch on.'),
      message: z.string().describe('For humans; never carries internals.'),
      issues: z.array(InputIssueSchema).optional(),
    }),
  })
  .describe('Every error: `{ error: { code, message, issues? } }`.') satisfies z.ZodType<ApiErrorBody>;

/** One explained step of a decision. */
export const ReasonSchema = z.strictObject({
  code: z.enum(REASON_CODES).describe('Stable reason code.'),
  rule: z.string().describe('Policy rule id; `score`, `missingGeo`, `failMode`, `historyUnavailable` or `challengeClearance` for built-in reasons.'),
  action,
  message: z.string(),
  evidence,
  liftedBy: z.string().optional().describe('Set when an allow-exception lifted this reason: the id of that rule.'),
});

const challenge = z
  .strictObject({
    kinds: z.array(z.string()).describe('The kinds the origin may present, most preferred first.'),
    expiresIn: z.number().describe('Seconds the challenge (its ticket) may be answered.'),
    clears: z.array(z.string()).describe('The reason codes a clearance must clear to lift it.'),
    turnstile: z.strictObject({ siteKey: z.string() }).optional(),
    ticket: z.string().optional().describe('Signed record of what was challenged; pass it to POST /v1/challenge/*.'),
  })
  .describe('How the user may resolve a challenge (docs/challenges.md).') satisfies z.ZodType<ChallengeBody>;

const dryRun = z
  .strictObject({
    decision: action,
    changed: z.boolean(),
    reasons: z.array(ReasonSchema),
    score: z.number(),
    summary: z.string(),
    matched: z.array(z.string()),
  })
  .describe('What the policy would decide with its dry-run rules enforced; never changes `decision`.');

const memoryStatus = z.enum(['none', 'off', 'object', 'cache', 'cold', 'timeout', 'unavailable']);

/** The answer of POST /v1/check, and the body of /v1/authorize. */
export const DecisionResponseSchema = z
  .strictObject({
    decision: action,
    summary: z.string().describe('One human-readable line: the decision and why.'),
    reasons: z.array(ReasonSchema).describe('The decisive reason first.'),
    score: z.number(),
    failed: z.boolean().describe("True when the operator's current policy did not decide (a fallback, or the fail mode)."),
    policyVersion: z.string(),
    policySource: z.enum(['kv', 'default', 'last-known-good', 'none']),
    snapshot: z.string(),
    requestId: z.string(),
    evaluatedAt: instant,
    geoSource: z.enum(['forwarded', 'cf', 'none']),
    signals: z.record(z.enum(SIGNAL_NAMES), z.union([z.boolean(), z.literal('undetermined')])).describe('Every detector signal.'),
    challenge: challenge.optional(),
    intel: z.strictObject({ version: z.string(), source: z.enum(['kv', 'bundled', 'last-known-good']), id: z.string(), failed: z.boolean() }),
    memory: z.strictObject({ mode: z.enum(HISTORY_MODES), account: memoryStatus, org: memoryStatus }).optional(),
    dryRun: dryRun.optional(),
  })
  .describe('A decision: allow, challenge or deny, and why.') satisfies z.ZodType<DecisionBody>;

/** The lean body of /v1/authorize (without `Geogate-Response: full`). */
export const ForwardAuthResponseSchema = z
  .strictObject({
    decision: action,
    summary: z.string().describe('The decision and the reason codes that stand ("Challenged: TOR."), without the messages.'),
    reasons: z.array(ReasonSchema.pick({ code: true, rule: true, action: true, liftedBy: true })).describe('The decisive reason first; no messages or evidence.'),
    score: z.number(),
    failed: z.boolean(),
    policyVersion: z.string(),
    requestId: z.string(),
    challenge: challenge.optional(),
  })
  .describe('The lean forward-auth body: what a proxy, or the user it hands the answer to, can act on. `Geogate-Response: full` asks for the whole Decision.') satisfies z.ZodType<ForwardAuthBody>;

/** A clearance issued by POST /v1/challenge/*. */
export const ClearanceResponseSchema = z
  .strictObject({
    clearance: z.string().describe('Send it back with the user\'s later checks (`clearance`, or the `Geogate-Clearance` header).'),
    id: z.string(),
    expiresAt: instant,
    kind: z.string(),
    reasons: z.array(z.string()),
    account: z.string().nullable(),
    network: z.string(),
    policyVersion: z.string(),
  })
  .describe('A signed clearance.') satisfies z.ZodType<GrantedClearance>;

/** GET /healthz. */
export const HealthResponseSchema = z
  .looseObject({
    status: z.enum(['ok', 'degraded']),
    policy: z.looseObject({ version: z.string(), source: z.string() }).nullable(),
    error: z.string().optional(),
    cause: z.looseObject({}).optional(),
    failMode: z.string().optional(),
    intel: z.looseObject({}).nullable(),
    memory: z.looseObject({ status: z.string() }),
    revocations: z.looseObject({ status: z.enum(['ok', 'degraded']) }).describe("This isolate's recent clearance revocation reads: degraded while they fail (clearances naming an account are then doubted)."),
    challenge: z.strictObject({
      clearances: z.enum(['ok', 'not-configured']),
      keys: z.number(),
      turnstile: z.enum(['ok', 'not-configured']),
      page: z.boolean(),
    }),
    config: z.array(z.string()).optional(),
    configProblems: z.array(z.looseObject({ message: z.string() })).optional(),
  })
  .describe('Liveness, the policy and intel in force, and configuration problems.');

const stored = { etag: z.string(), storedAt: instant, storedBy: z.string() };

/** GET /v1/policy. */
export const PolicyViewSchema = z.looseObject({ policy: z.looseObject({}), version: z.string(), ...stored, snapshot: z.string().nullable() });

/** What a policy or list write answers (PUT /v1/policy, rollback, list writes). */
export const WriteResponseSchema = z.looseObject({ version: z.string(), ...stored, snapshot: z.string().nullable(), warnings: z.array(z.unknown()) });

/** POST /v1/policy/validate. */
export const ValidateResponseSchema = z.looseObject({ ok: z.boolean(), issues: z.array(z.unknown()), warnings: z.array(z.unknown()) });

/** GET /v1/policy/versions. */
export const VersionsResponseSchema = z.strictObject({
  versions: z.array(z.strictObject({ version: z.string(), sha256: z.string(), storedAt: instant, storedBy: z.string(), current: z.boolean() })),
  cursor: z.string().optional().describe('Pass it back as `cursor` for the next (older) page.'),
});

/** GET /v1/lists. */
export const ListsResponseSchema = z.strictObject({
  lists: z.array(z.looseObject({ name: z.string(), kind: z.string(), version: z.string(), etag: z.string(), size: z.number() })),
});

/** GET /v1/lists/{name}. */
export const ListViewSchema = z.looseObject({ name: z.string(), kind: z.string(), items: z.array(z.unknown()), description: z.string().optional(), version: z.string(), ...stored });

/** GET and PUT /v1/intel. */
export const IntelViewSchema = z.looseObject({ version: z.string(), artifact: z.string(), ...stored, source: z.unknown(), blocks: z.number(), intervals: z.number(), asns: z.number(), coverage: z.looseObject({}), changed: z.boolean() });

/** POST /v1/simulate. */
export const SimulateResponseSchema = z.strictObject({
  results: z.array(z.looseObject({ index: z.number(), changed: z.boolean() })),
  summary: z.looseObject({ total: z.number(), invalid: z.number(), changed: z.number() }),
});

/** GET /v1/audit. */
export const AuditResponseSchema = z.strictObject({
  entries: z.array(
    z.looseObject({ seq: z.number(), at: instant, who: z.string(), action: z.string(), target: z.string().nullable(), previous: z.string().nullable(), next: z.string().nullable(), snapshot: z.string().nullable() }),
  ),
  cursor: z.string().optional(),
});

/** GET /v1/accounts/{id}/activity and /v1/orgs/{id}/activity. */
export const ActivityResponseSchema = z.looseObject({
  account: z.string().optional(),
  org: z.string().optional(),
  history: z.looseObject({}).nullable().describe("The object's summary as of its newest check; null when it holds nothing."),
  windows: z.looseObject({}).nullable(),
  rows: z.record(z.string(), z.number()),
});

/** DELETE /v1/accounts/{id}/activity and /v1/orgs/{id}/activity. */
export const ResetResponseSchema = z.looseObject({ account: z.string().optional(), org: z.string().optional(), reset: z.literal(true) });

/** GET /v1/accounts/{id}/clearances. */
export const RevocationResponseSchema = z.strictObject({ account: z.string(), revokedAt: instant.nullable() });

/** DELETE /v1/accounts/{id}/clearances. */
export const RevokedResponseSchema = z.strictObject({ account: z.string(), revoked: z.literal(true), revokedAt: instant });
