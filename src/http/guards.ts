// Promise 3: only a decision says yes. A forward-auth request always carries the check token
// and Geogate-* headers; a path such as /v1/authorize/%2e%2e/%2e%2e/healthz (Envoy appends the
// user's path unnormalised, and the runtime resolves dot segments before routing) can land it on
// another route. These guards answer such misrouted requests with an error, never a 2xx and never
// a 401 (which proxies read as "challenge").
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { TOKEN_HEADER } from './auth';
import { apiError } from './errors';

/** Whether the request carries any Geogate-* header (Geogate-Token included). */
function hasGeogateHeader(headers: Headers): boolean {
  for (const name of headers.keys()) if (name.startsWith('geogate-')) return true;
  return false;
}

const MISROUTED_MESSAGE = 'A forward-auth request reached a route that does not decide it: send it to /v1/authorize.';

/**
 * For routes that take no credentials (/healthz): refuses a request carrying Authorization,
 * Geogate-Token or any Geogate-* header.
 */
export const refuseCredentialedTraffic = createMiddleware<AppEnv>(async (c, next) => {
  const headers = c.req.raw.headers;
  if (headers.has('authorization') || headers.has(TOKEN_HEADER) || hasGeogateHeader(headers)) {
    return apiError(c, 400, 'MISROUTED', 'This route takes no credentials and no Geogate-* headers: a check or forward-auth request reached it by mistake.');
  }
  await next();
});

/**
 * For /v1/check, whose callers send JSON and never Geogate-* headers: refuses forward-auth traffic
 * before the token is checked, so that a rotated token reached through a path trick is not a 401.
 */
export const refuseForwardAuthTraffic = createMiddleware<AppEnv>(async (c, next) => {
  if (hasGeogateHeader(c.req.raw.headers)) return apiError(c, 400, 'MISROUTED', MISROUTED_MESSAGE);
  await next();
});
