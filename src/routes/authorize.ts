// ALL /v1/authorize: forward-auth for reverse proxies. Facts come from the forwarded request's
// headers (src/facts/forward-headers.ts); the status code carries the decision (200 allow,
// 403 deny, 401 challenge) so that nginx auth_request, Caddy forward_auth, Traefik ForwardAuth
// and Envoy ext_authz act on it. Every other outcome is an error status proxies do NOT read as a
// decision: a refused token is 500 (401 would challenge every user after a token rotation),
// bad origin-side headers 400, a missing configuration 503. Dry-run outcomes travel in headers
// and the body only: they never change the status.
// The body is lean (proxies act on the status and headers and mostly discard it; Caddy hands it
// to a denied or challenged user): the decision, its reasons without messages or evidence, and the
// challenge. `Geogate-Response: full` asks for the whole /v1/check body (debugging a proxy set-up).
import { Hono, type Context } from 'hono';
import { VERB } from '../engine/explain';
import type { Action, Reason } from '../engine/types';
import type { AppEnv } from '../env';
import { parseForwardedRequest, toInputIssues } from '../facts/check-request';
import { checkInputFromHeaders } from '../facts/forward-headers';
import { requireToken } from '../http/auth';
import { apiError } from '../http/errors';
import { deploymentSettings } from '../settings';
import { decide, type DecisionBody } from './decide';

/** Status code per decision (the forward-auth contract). */
export const AUTHORIZE_STATUS: Readonly<Record<Action, 200 | 401 | 403>> = { allow: 200, challenge: 401, deny: 403 };

/** Request header: `full` asks /v1/authorize for the whole decision body instead of the lean one. */
export const RESPONSE_HEADER = 'geogate-response';

/** One reason in the lean body: what stands and why, without the message and evidence. */
export type ForwardAuthReason = Pick<Reason, 'code' | 'rule' | 'action' | 'liftedBy'>;

/** The lean body of /v1/authorize: what a proxy or a denied user can act on. */
export interface ForwardAuthBody {
  decision: DecisionBody['decision'];
  summary: string;
  reasons: ForwardAuthReason[];
  score: number;
  failed: boolean;
  policyVersion: string;
  requestId: string;
  challenge?: DecisionBody['challenge'];
}

/**
 * The lean body of a decision (see {@link ForwardAuthBody}). Its summary names the reason codes
 * that stand, not the full summary, which quotes the decisive reason's message (an organisation's
 * counts, the policy's thresholds).
 */
export function forwardAuthBody(body: DecisionBody): ForwardAuthBody {
  const reasons = body.reasons.map((r): ForwardAuthReason => (r.liftedBy === undefined ? { code: r.code, rule: r.rule, action: r.action } : { code: r.code, rule: r.rule, action: r.action, liftedBy: r.liftedBy }));
  const standing = [...new Set(reasons.filter((r) => r.liftedBy === undefined).map((r) => r.code))];
  const summary = standing.length > 0 ? `${VERB[body.decision]}: ${standing.join(', ')}.` : `${VERB[body.decision]}.`;
  const lean: ForwardAuthBody = { decision: body.decision, summary, reasons, score: body.score, failed: body.failed, policyVersion: body.policyVersion, requestId: body.requestId };
  if (body.challenge) lean.challenge = body.challenge;
  return lean;
}

const authorize = async (c: Context<AppEnv>): Promise<Response> => {
  const forwarded = checkInputFromHeaders(c.req.raw.headers, { trustCfHeaders: deploymentSettings(c.env).trustForwardedCfHeaders });
  const parsed = parseForwardedRequest(forwarded.request);
  if (!parsed.success) {
    return apiError(c, 400, 'INVALID_REQUEST', 'The forwarded headers have invalid values.', toInputIssues(parsed.error, forwarded.headerForPath));
  }
  // request.cf describes the proxy calling us, never the end user: it is not used here.
  const body = await decide(c, { ...parsed.data, client: forwarded.client });
  c.header('Geogate-Decision', body.decision);
  c.header('Geogate-Reasons', [...new Set(body.reasons.filter((r) => r.liftedBy === undefined).map((r) => r.code))].join(','));
  c.header('Geogate-Policy-Version', body.policyVersion);
  c.header('Geogate-Intel-Version', body.intel.version);
  c.header('Geogate-Request-Id', body.requestId);
  if (body.failed) c.header('Geogate-Failed', 'true');
  if (body.intel.failed) c.header('Geogate-Intel-Failed', 'true');
  // The account or organisation memory did not answer (sync mode): its signals are undetermined.
  if (body.memory && [body.memory.account, body.memory.org].some((s) => s === 'timeout' || s === 'unavailable')) c.header('Geogate-Memory-Failed', 'true');
  // What a proxy needs to send a challenged user on (nginx: auth_request_set from these).
  if (body.challenge) {
    c.header('Geogate-Challenge-Kinds', body.challenge.kinds.join(','));
    if (body.challenge.ticket !== undefined) c.header('Geogate-Challenge-Ticket', body.challenge.ticket);
  }
  if (body.dryRun) {
    c.header('Geogate-Dry-Run-Decision', body.dryRun.decision);
    c.header('Geogate-Dry-Run-Rules', body.dryRun.matched.join(','));
  }
  c.header('Cache-Control', 'no-store');
  const full = c.req.header(RESPONSE_HEADER)?.trim().toLowerCase() === 'full';
  return c.json(full ? body : forwardAuthBody(body), AUTHORIZE_STATUS[body.decision]);
};

const checkToken = requireToken('CHECK_TOKEN', { refusedStatus: 500, tokenHeader: true });

/**
 * Routes of /v1/authorize. Sub-paths answer the same: Envoy's ext_authz appends the original
 * request path to its `path_prefix`.
 */
export const authorizeRoutes = new Hono<AppEnv>().all('/v1/authorize', checkToken, authorize).all('/v1/authorize/*', checkToken, authorize);
