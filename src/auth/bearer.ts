// Bearer-token checks for geogate's two audiences: origins calling the check (CHECK_TOKEN) and
// operators administering policies (ADMIN_TOKEN). Comparison is constant-time over SHA-256
// digests (so neither content nor length leaks), and each route accepts exactly one of the two.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { apiError } from '../routes/errors';

/** Which secret a route requires. */
export type TokenName = 'CHECK_TOKEN' | 'ADMIN_TOKEN';

/** Shortest secret accepted: anything shorter is treated as not configured. */
export const MIN_TOKEN_LENGTH = 16;

const encoder = new TextEncoder();
/** Digest of each configured secret, computed once per isolate and secret value. */
const expectedDigests = new Map<string, Promise<ArrayBuffer>>();

function digest(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(value));
}

/** Constant-time equality of a presented token and the configured secret. */
export async function tokenEquals(presented: string, secret: string): Promise<boolean> {
  let expected = expectedDigests.get(secret);
  if (!expected) {
    if (expectedDigests.size > 8) expectedDigests.clear();
    expected = digest(secret);
    expectedDigests.set(secret, expected);
  }
  const [a, b] = await Promise.all([digest(presented), expected]);
  return crypto.subtle.timingSafeEqual(a, b);
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
    if (!match?.[1] || !(await tokenEquals(match[1], secret))) {
      c.header('WWW-Authenticate', 'Bearer realm="geogate"');
      return apiError(c, 401, 'UNAUTHORIZED', header ? 'The bearer token is not valid for this route.' : 'Missing Authorization: Bearer <token>.');
    }
    await next();
  });
}
