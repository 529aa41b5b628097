// Bearer-token checks for geogate's two audiences: origins calling the check (CHECK_TOKEN) and
// operators administering policies (ADMIN_TOKEN). Each route accepts exactly one of the two.
// Comparison uses the runtime's constant-time primitive and always runs over the secret's own
// bytes, so its duration depends on neither the presented token's content nor its length.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { apiError } from '../routes/errors';

/** Which secret a route requires. */
export type TokenName = 'CHECK_TOKEN' | 'ADMIN_TOKEN';

/** Shortest secret accepted: anything shorter is treated as not configured. */
export const MIN_TOKEN_LENGTH = 16;

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
 * What is wrong with the configured secret `name`, or undefined when it is usable. Fails closed:
 * a missing or short secret, or one equal to the other token, disables the routes that need it.
 */
export function tokenProblem(env: Partial<Record<TokenName, string>>, name: TokenName): string | undefined {
  const value = env[name];
  const other = env[name === 'CHECK_TOKEN' ? 'ADMIN_TOKEN' : 'CHECK_TOKEN'];
  if (!value) return `${name} is not set`;
  if (value.length < MIN_TOKEN_LENGTH) return `${name} is shorter than ${MIN_TOKEN_LENGTH} characters`;
  if (value === other) return 'CHECK_TOKEN and ADMIN_TOKEN must differ';
  return undefined;
}

/** Every problem with the configured secrets, each once (for /healthz). */
export function tokenConfigProblems(env: Partial<Record<TokenName, string>>): string[] {
  const problems = new Set<string>();
  for (const name of ['CHECK_TOKEN', 'ADMIN_TOKEN'] as const) {
    const problem = tokenProblem(env, name);
    if (problem !== undefined) problems.add(problem);
  }
  return [...problems];
}

/** Middleware: requires `Authorization: Bearer <secret named by token>`; 401 otherwise. */
export function requireToken(token: TokenName) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const secret = c.env[token];
    const problem = tokenProblem(c.env, token);
    if (!secret || problem !== undefined) {
      console.error(`geogate: refusing ${c.req.path}: ${problem ?? `${token} is not set`}`);
      return apiError(c, 503, 'NOT_CONFIGURED', 'geogate is not configured to serve this route; see /healthz.');
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match?.[1] || !tokenEquals(match[1], secret)) {
      c.header('WWW-Authenticate', 'Bearer realm="geogate"');
      return apiError(c, 401, 'UNAUTHORIZED', header ? 'The bearer token is not valid for this route.' : 'Missing Authorization: Bearer <token>.');
    }
    await next();
  });
}
