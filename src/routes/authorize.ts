// ALL /v1/authorize: forward-auth for reverse proxies. Facts come from the forwarded request's
// headers; the status code carries the decision (200 allow, 403 deny, 401 challenge) so that
// nginx auth_request, Caddy forward_auth, Traefik ForwardAuth and Envoy ext_authz act on it.
import { Hono, type Context } from 'hono';
import { requireToken } from '../auth/bearer';
import type { Action } from '../engine/types';
import type { AppEnv } from '../env';
import { parseCheckRequest, toInputIssues } from '../facts/check-request';
import { checkRequestFromHeaders, headerForPath } from '../facts/forward-headers';
import { decide } from './decide';
import { apiError } from './errors';

/** Status code per decision (the forward-auth contract). */
export const AUTHORIZE_STATUS: Readonly<Record<Action, 200 | 401 | 403>> = { allow: 200, challenge: 401, deny: 403 };

const authorize = async (c: Context<AppEnv>): Promise<Response> => {
  const parsed = parseCheckRequest(checkRequestFromHeaders(c.req.raw.headers));
  if (!parsed.success) {
    return apiError(c, 400, 'INVALID_REQUEST', 'The forwarded headers have invalid values.', toInputIssues(parsed.error, headerForPath));
  }
  const body = await decide(c, parsed.data);
  c.header('Geogate-Decision', body.decision);
  c.header('Geogate-Reasons', [...new Set(body.reasons.filter((r) => !r.liftedBy).map((r) => r.code))].join(','));
  c.header('Geogate-Policy-Version', body.policyVersion);
  c.header('Geogate-Request-Id', body.requestId);
  c.header('Cache-Control', 'no-store');
  return c.json(body, AUTHORIZE_STATUS[body.decision]);
};

/**
 * Routes of /v1/authorize. Sub-paths answer the same: Envoy's ext_authz appends the original
 * request path to its `path_prefix`.
 */
export const authorizeRoutes = new Hono<AppEnv>()
  .all('/v1/authorize', requireToken('CHECK_TOKEN'), authorize)
  .all('/v1/authorize/*', requireToken('CHECK_TOKEN'), authorize);
