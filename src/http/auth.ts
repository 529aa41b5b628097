// Bearer-token checks for geogate's two audiences: origins and proxies calling the check
// (CHECK_TOKEN) and operators administering policies (ADMIN_TOKEN). Each route accepts exactly
// one of the two. Comparison uses the runtime's constant-time primitive and always runs over the
// secret's own bytes, so its duration depends on neither the presented token's content nor its
// length. Tokens are never logged. The dev-only tokens of .dev.vars.example serve only requests
// to a loopback host (`npm start`): anywhere else they count as not configured (docs/security.md).
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { apiError } from './errors';

/** The two bearer tokens. */
export const TOKEN_NAMES = ['CHECK_TOKEN', 'ADMIN_TOKEN'] as const;

/** Which secret a route requires. */
export type TokenName = (typeof TOKEN_NAMES)[number];

/** Shortest secret accepted: anything shorter is treated as not configured. */
export const MIN_TOKEN_LENGTH = 16;

/** Header a proxy may use instead of Authorization on forward-auth (see {@link RequireTokenOptions}). */
export const TOKEN_HEADER = 'geogate-token';

const encoder = new TextEncoder();
/** UTF-8 bytes of each configured secret, encoded once per isolate and secret value. */
const secretBytes = new Map<string, Uint8Array>();

/**
 * Constant-time equality of a presented token and the configured secret. Synchronous on purpose:
 * it sits on every request, and hashing both sides first (an async digest) would add latency
 * without hiding more than this does.
 */
export function tokenEquals(presented: string, secret: string): boolean {
  let expected = secretBytes.get(secret);
  if (!expected) {
    if (secretBytes.size > 8) secretBytes.clear();
    expected = encoder.encode(secret);
    secretBytes.set(secret, expected);
  }
  const given = encoder.encode(presented);
  const sameLength = given.byteLength === expected.byteLength;
  // On a length mismatch, compare the secret with itself: same work, and the answer is false.
  return crypto.subtle.timingSafeEqual(sameLength ? given : expected, expected) && sameLength;
}

/**
 * The dev-only tokens `.dev.vars.example` ships for `npm start` (published in the README, so known
 * to everyone). A Worker configured with one of them, for either audience, refuses the routes it
 * guards unless the request was sent to a loopback host; `npm run deploy` refuses to deploy them
 * at all (scripts/predeploy.mjs).
 */
export const DEV_DEFAULT_TOKENS: readonly string[] = ['dev-check-token-not-secret', 'dev-admin-token-not-secret'];

/** Hostnames of a request made on this machine (`wrangler dev` listens on 127.0.0.1). */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a request URL names a loopback host. On Cloudflare the URL's host is the one that routed
 * the request to the Worker (a route, a custom domain or workers.dev), never a loopback name.
 */
export function isLoopbackUrl(url: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** What is wrong with one configured secret. */
export type TokenProblemKind = 'missing' | 'too-short' | 'dev-default' | 'same-as-other';

/** A problem with a configured secret, and the routes it disables. */
export interface TokenProblem {
  readonly setting: TokenName;
  readonly problem: TokenProblemKind;
  /** The routes that refuse to serve because of it. */
  readonly affects: string;
  readonly message: string;
}

/** Routes each token guards (for /healthz). */
const AFFECTS: Readonly<Record<TokenName, string>> = {
  CHECK_TOKEN: 'check routes (/v1/check, /v1/authorize, /v1/challenge/*)',
  ADMIN_TOKEN: 'admin routes (policy administration)',
};

/**
 * What is wrong with the configured secret `name`, or undefined when it is usable. Fails closed:
 * a missing or short secret, one equal to the other token, or a dev-only default
 * ({@link DEV_DEFAULT_TOKENS}) unless `requestUrl` names a loopback host, disables the routes
 * that need it. Without `requestUrl`, a dev-only default is a problem.
 */
export function tokenProblem(env: Partial<Record<TokenName, string>>, name: TokenName, requestUrl?: string): TokenProblem | undefined {
  const value = env[name];
  const other = env[name === 'CHECK_TOKEN' ? 'ADMIN_TOKEN' : 'CHECK_TOKEN'];
  const problem = (kind: TokenProblemKind, message: string): TokenProblem => ({ setting: name, problem: kind, affects: AFFECTS[name], message });
  if (!value) return problem('missing', `${name} is not set`);
  if (value.length < MIN_TOKEN_LENGTH) return problem('too-short', `${name} is shorter than ${MIN_TOKEN_LENGTH} characters`);
  // The URL is parsed only for a dev value: the check of a real token costs two string compares.
  if (DEV_DEFAULT_TOKENS.includes(value) && (requestUrl === undefined || !isLoopbackUrl(requestUrl))) {
    return problem('dev-default', `${name} is the dev-only value from .dev.vars.example, which serves localhost only: set a real secret with \`npx wrangler secret put ${name}\``);
  }
  if (value === other) return problem('same-as-other', 'CHECK_TOKEN and ADMIN_TOKEN must differ');
  return undefined;
}

/** Every problem with the configured secrets, one per secret (for /healthz, asked at `requestUrl`). */
export function tokenConfigProblems(env: Partial<Record<TokenName, string>>, requestUrl?: string): TokenProblem[] {
  const out: TokenProblem[] = [];
  for (const name of TOKEN_NAMES) {
    const problem = tokenProblem(env, name, requestUrl);
    if (problem !== undefined) out.push(problem);
  }
  return out;
}

/** The bearer token of an Authorization header (scheme case-insensitive), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

/** Options of {@link requireToken}. */
export interface RequireTokenOptions {
  /**
   * Status of a missing or wrong token. Default 401. Forward-auth passes 500: proxies read 401
   * from /v1/authorize as a *challenge*, so a rotated token must look like an error instead.
   * @default 401
   */
  refusedStatus?: 401 | 500;
  /**
   * Also accept the token in `Geogate-Token`, for proxies that cannot set Authorization on the
   * auth request alone (Traefik) without overwriting the user's own. When both are present,
   * a non-empty `Geogate-Token` is the one judged; an empty one counts as absent.
   * @default false
   */
  tokenHeader?: boolean;
}

/**
 * Middleware: requires the secret named by `token` as `Authorization: Bearer <secret>`;
 * 503 when that secret is not usable, `refusedStatus` when the caller's token is missing or wrong.
 * @example
 * app.post('/v1/check', requireToken('CHECK_TOKEN'), handler)
 */
export function requireToken(token: TokenName, options: RequireTokenOptions = {}) {
  const refusedStatus = options.refusedStatus ?? 401;
  return createMiddleware<AppEnv>(async (c, next) => {
    const secret = c.env[token];
    const problem = tokenProblem(c.env, token, c.req.url);
    if (!secret || problem !== undefined) {
      console.error(`geogate: refusing a request: ${problem?.message ?? `${token} is not set`}`);
      const message =
        problem?.problem === 'dev-default'
          ? `geogate is not configured to serve this route: ${token} is a dev-only default, which serves localhost only; set a real secret (npx wrangler secret put ${token}). See /healthz.`
          : 'geogate is not configured to serve this route; see /healthz.';
      return apiError(c, 503, 'NOT_CONFIGURED', message);
    }
    // An empty Geogate-Token is a proxy clearing a client's copy: it counts as absent.
    const fromHeader = options.tokenHeader ? c.req.header(TOKEN_HEADER)?.trim() || undefined : undefined;
    const authorization = c.req.header('authorization');
    const presented = fromHeader ?? bearerToken(authorization);
    // The other audience's token: a known caller at the wrong door (a leaked check token must
    // never read or change policy), told so with 403 rather than "who are you".
    const other = c.env[token === 'ADMIN_TOKEN' ? 'CHECK_TOKEN' : 'ADMIN_TOKEN'];
    if (token === 'ADMIN_TOKEN' && presented && other && tokenEquals(presented, other) && !tokenEquals(presented, secret)) {
      return apiError(c, 403, 'FORBIDDEN', 'The check token cannot administer geogate; use the admin token.');
    }
    if (presented === undefined || presented === '' || !tokenEquals(presented, secret)) {
      if (refusedStatus === 401) c.header('WWW-Authenticate', 'Bearer realm="geogate"');
      const sent = fromHeader !== undefined || authorization !== undefined;
      return apiError(c, refusedStatus, 'UNAUTHORIZED', sent ? 'The token is not valid for this route.' : 'Missing Authorization: Bearer <token>.');
    }
    await next();
  });
}
