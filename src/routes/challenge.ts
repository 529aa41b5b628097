// The challenge routes (check token): an origin whose user passed a challenge gets a clearance
// to send back with that user's later checks (docs/challenges.md).
//   POST /v1/challenge/step-up    the origin re-verified the user itself (KYC, OTP, SSO re-login)
//   POST /v1/challenge/turnstile  a Turnstile token, verified with Cloudflare's siteverify
// Forward-auth traffic (any Geogate-* header) is refused before the token is looked at: these
// routes answer 2xx with a clearance, which a proxy must never mistake for an allow (promise 3).
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { CLEARABLE_CODES, STEP_UP_KIND, TURNSTILE_KIND } from '../engine/clearance';
import type { AppEnv } from '../env';
import { challengeConfig, type ChallengeConfig } from '../challenge/config';
import { planClearance, signPlanned, type GrantRefusal, type GrantRequest } from '../challenge/grant';
import { MAX_TOKEN_LENGTH, type ClearanceGrant } from '../challenge/tokens';
import { MAX_TURNSTILE_TOKEN_LENGTH, siteverify, type TurnstileOutcome } from '../challenge/turnstile';
import { AccountIdSchema, AccountInputSchema, RequestIdSchema, toInputIssues } from '../facts/check-request';
import { isIpAddress } from '../engine/ip';
import { requireToken } from '../http/auth';
import { limitBody, readJsonBody } from '../http/body';
import { apiError, methodNotAllowed, type ErrorCode } from '../http/errors';
import { refuseForwardAuthTraffic } from '../http/guards';
import { requireJson } from '../http/json-type';
import { policyInForce } from './decide';

/** Largest accepted body: a ticket and a Turnstile token are at most a few KB together. */
const MAX_BODY_BYTES = 16 * 1024;

const ip = z.string().refine(isIpAddress, { error: 'must be an IPv4 or IPv6 address' });
const ticket = z.string().min(1).max(MAX_TOKEN_LENGTH);
const reasons = z.array(z.enum(CLEARABLE_CODES, { error: 'not a reason code that can challenge' })).min(1).max(64);
/** A kind or method name as the origin calls it. */
const label = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'use 1-32 lower-case letters, digits or "-", starting with a letter');

/** The body of POST /v1/challenge/step-up. */
export const StepUpRequestSchema = z.strictObject({
  account: AccountInputSchema.extend({ id: AccountIdSchema.min(1, 'the account re-verified: 1-256 characters') }),
  ip,
  /** How the origin re-verified the user ("kyc", "otp-email", "sso"); recorded in the clearance. */
  method: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters without spaces'),
  /** The kind passed: `step-up` unless the policy names the origin's check otherwise. */
  kind: label.optional(),
  ticket: ticket.optional(),
  reasons: reasons.optional(),
  requestId: RequestIdSchema.optional(),
});

/** The body of POST /v1/challenge/turnstile. */
export const TurnstileRequestSchema = z.strictObject({
  /** The widget's answer (`cf-turnstile-response`). */
  token: z.string().min(1).max(MAX_TURNSTILE_TOKEN_LENGTH),
  ip,
  account: AccountInputSchema.optional(),
  ticket: ticket.optional(),
  reasons: reasons.optional(),
  requestId: RequestIdSchema.optional(),
});

/** HTTP status and error code of each failed Turnstile verification. */
export const TURNSTILE_ERRORS: Readonly<Record<Exclude<TurnstileOutcome, { ok: true }>['kind'], { status: 400 | 502 | 504; code: ErrorCode }>> = {
  failed: { status: 400, code: 'TURNSTILE_FAILED' },
  spent: { status: 400, code: 'TURNSTILE_SPENT' },
  hostname: { status: 400, code: 'TURNSTILE_MISMATCH' },
  action: { status: 400, code: 'TURNSTILE_MISMATCH' },
  unavailable: { status: 502, code: 'TURNSTILE_UNAVAILABLE' },
  timeout: { status: 504, code: 'TURNSTILE_TIMEOUT' },
};

/**
 * What the clearance would say under the policy in force (its TTL, binding and kinds), or the
 * error to answer: no usable policy (503), or a refusal of the ticket, binding or kind.
 */
async function plan(c: Context<AppEnv>, req: GrantRequest, config: ChallengeConfig, now: number): Promise<{ ok: true; grant: ClearanceGrant } | { ok: false; response: Response }> {
  const answer = await policyInForce(c, now);
  if (answer.kind !== 'policy') return { ok: false, response: apiError(c, 503, 'POLICY_UNAVAILABLE', 'No usable policy: no clearance can be issued; see /healthz.') };
  const planned = await planClearance(req, answer.compiled, config.clearanceSecrets, now);
  return planned.ok ? planned : { ok: false, response: refused(c, planned.refusal) };
}

/** Signs the planned clearance and answers it. */
async function granted(c: Context<AppEnv>, grant: ClearanceGrant, config: ChallengeConfig): Promise<Response> {
  const body = await signPlanned(grant, config.clearanceSecrets[0] ?? '', Date.now());
  c.header('Cache-Control', 'no-store');
  return c.json(body);
}

/** The refusal as an error response. */
function refused(c: Context<AppEnv>, r: GrantRefusal): Response {
  const status = r.code === 'KIND_NOT_OFFERED' ? 409 : 400;
  return apiError(c, status, r.code, r.code === 'INVALID_REQUEST' ? 'The request cannot be cleared.' : r.message, [{ path: r.path, code: r.code.toLowerCase(), message: r.message }]);
}

/** Reads and validates a JSON body against `schema`. */
async function bodyOf<T extends z.ZodType>(c: Context<AppEnv>, schema: T, what: string): Promise<{ ok: true; value: z.output<T> } | { ok: false; response: Response }> {
  const body = await readJsonBody(c, { what });
  if (!body.ok) return body;
  const parsed = schema.safeParse(body.value);
  if (!parsed.success) return { ok: false, response: apiError(c, 400, 'INVALID_REQUEST', `The ${what} has invalid fields.`, toInputIssues(parsed.error)) };
  return { ok: true, value: parsed.data };
}

/** The challenge settings, or 503 when clearances cannot be signed. */
function configured(c: Context<AppEnv>): { ok: true; config: ChallengeConfig } | { ok: false; response: Response } {
  const config = challengeConfig(c.env, c.req.url);
  if (config.clearanceSecrets.length > 0) return { ok: true, config };
  console.error('geogate: refusing a challenge request: CLEARANCE_SECRET is not usable');
  return { ok: false, response: apiError(c, 503, 'NOT_CONFIGURED', 'geogate cannot issue clearances (CLEARANCE_SECRET); see /healthz.') };
}

const checkToken = requireToken('CHECK_TOKEN');

/** Routes of /v1/challenge/*. */
export const challengeRoutes = new Hono<AppEnv>()
  .use('/v1/challenge/*', refuseForwardAuthTraffic)
  .post('/v1/challenge/step-up', checkToken, requireJson, limitBody(MAX_BODY_BYTES), async (c) => {
    const config = configured(c);
    if (!config.ok) return config.response;
    const body = await bodyOf(c, StepUpRequestSchema, 'step-up request');
    if (!body.ok) return body.response;
    const b = body.value;
    const kind = b.kind ?? STEP_UP_KIND;
    if (kind === TURNSTILE_KIND) {
      const message = 'Turnstile is verified by geogate itself: send the token to POST /v1/challenge/turnstile.';
      return apiError(c, 400, 'INVALID_REQUEST', message, [{ path: 'kind', code: 'invalid_value', message }]);
    }
    if (b.ticket !== undefined && b.reasons !== undefined) return bothSent(c);
    const planned = await plan(c, { kind, method: b.method, account: b.account.id, ip: b.ip, ...pick(b) }, config.config, Date.now());
    return planned.ok ? granted(c, planned.grant, config.config) : planned.response;
  })
  .post('/v1/challenge/turnstile', checkToken, requireJson, limitBody(MAX_BODY_BYTES), async (c) => {
    const config = configured(c);
    if (!config.ok) return config.response;
    const turnstile = config.config.turnstile;
    if (!turnstile) {
      console.error('geogate: refusing a Turnstile answer: TURNSTILE_SECRET or TURNSTILE_HOSTNAMES is not set');
      return apiError(c, 503, 'NOT_CONFIGURED', 'geogate cannot verify Turnstile answers (TURNSTILE_SECRET, TURNSTILE_HOSTNAMES); see /healthz.');
    }
    const body = await bodyOf(c, TurnstileRequestSchema, 'Turnstile request');
    if (!body.ok) return body.response;
    const b = body.value;
    if (b.ticket !== undefined && b.reasons !== undefined) return bothSent(c);
    const account = b.account?.id === '' ? undefined : b.account?.id;
    const req: GrantRequest = { kind: TURNSTILE_KIND, ...(account !== undefined ? { account } : {}), ip: b.ip, ...pick(b) };
    // Refuse what cannot be cleared before spending the single-use token.
    const planned = await plan(c, req, config.config, Date.now());
    if (!planned.ok) return planned.response;
    const outcome = await siteverify(turnstile, { token: b.token, ip: b.ip, idempotencyKey: crypto.randomUUID() });
    if (!outcome.ok) {
      const e = TURNSTILE_ERRORS[outcome.kind];
      return apiError(c, e.status, e.code, outcome.message, outcome.errorCodes ? [{ path: 'token', code: outcome.errorCodes.join(',') || outcome.kind, message: outcome.message }] : undefined);
    }
    return granted(c, planned.grant, config.config);
  })
  .all('/v1/challenge/step-up', methodNotAllowed(['POST']))
  .all('/v1/challenge/turnstile', methodNotAllowed(['POST']));

/** The optional fields both bodies share. */
function pick(b: { ticket?: string | undefined; reasons?: readonly string[] | undefined; requestId?: string | undefined }) {
  return { ...(b.ticket !== undefined ? { ticket: b.ticket } : {}), ...(b.reasons !== undefined ? { reasons: b.reasons } : {}), ...(b.requestId !== undefined ? { requestId: b.requestId } : {}) };
}

function bothSent(c: Context<AppEnv>): Response {
  const message = 'send either the ticket or the reasons, not both';
  return apiError(c, 400, 'INVALID_REQUEST', 'The request cannot be cleared.', [{ path: 'reasons', code: 'invalid_union', message }]);
}
