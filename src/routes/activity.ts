// The investigator's view of the account and organisation memory (docs/admin-api.md):
//   GET    /v1/accounts/{id}/activity   what the account's object holds (as of its newest check)
//   DELETE /v1/accounts/{id}/activity   forgets it (audited as account.reset)
//   GET    /v1/orgs/{id}/activity       the organisation's accounts and restricted share
//   DELETE /v1/orgs/{id}/activity       forgets it (audited as org.reset)
// Admin token only: the check token cannot read or reset memory. The ids are the origin's own
// (at most 256 characters, percent-encoded in the path as any path segment).
import { Hono, type Context } from 'hono';
import { memoryCache } from '../accounts/memory';
import { POLICY_ADMIN_NAME } from '../admin/policy-admin';
import type { AppEnv } from '../env';
import { requireToken } from '../http/auth';
import { apiError, methodNotAllowed, storeFailuresRetryable } from '../http/errors';
import { actor } from './admin';

/** The account or organisation id in the path (1-256 characters), or the error response. */
export function idParam(c: Context<AppEnv>): { ok: true; id: string } | { ok: false; response: Response } {
  const id = c.req.param('id') ?? '';
  if (id.length === 0 || id.length > 256) {
    return { ok: false, response: apiError(c, 400, 'INVALID_REQUEST', 'The id must be 1-256 characters.', [{ path: 'id', code: 'too_big', message: 'must be 1-256 characters' }]) };
  }
  return { ok: true, id };
}

/** One kind of memory: its path segment, its namespace, its cache-key prefix and audit name. */
interface MemoryKind {
  readonly path: 'accounts' | 'orgs';
  readonly field: 'account' | 'org';
  readonly namespace: (env: Env) => Env['ACCOUNT_ACTIVITY'] | Env['ORG_ACTIVITY'];
  readonly cacheKey: (id: string) => string;
}

const KINDS: readonly MemoryKind[] = [
  { path: 'accounts', field: 'account', namespace: (env) => env.ACCOUNT_ACTIVITY, cacheKey: (id) => `a:${id}` },
  { path: 'orgs', field: 'org', namespace: (env) => env.ORG_ACTIVITY, cacheKey: (id) => `o:${id}` },
];

/** The admin store (its audit log). */
export const admin = (c: Context<AppEnv>) => c.env.POLICY_ADMIN.get(c.env.POLICY_ADMIN.idFromName(POLICY_ADMIN_NAME));

/** Routes of the memory's admin API. */
export const activityRoutes = new Hono<AppEnv>();
for (const kind of KINDS) {
  const object = (c: Context<AppEnv>, id: string) => {
    const ns = kind.namespace(c.env);
    return ns.get(ns.idFromName(id));
  };
  activityRoutes
    .use(`/v1/${kind.path}/*`, requireToken('ADMIN_TOKEN'), storeFailuresRetryable)
    .get(`/v1/${kind.path}/:id/activity`, async (c) => {
      const id = idParam(c);
      if (!id.ok) return id.response;
      c.header('Cache-Control', 'no-store');
      return c.json({ [kind.field]: id.id, ...(await object(c, id.id).view()) });
    })
    .delete(`/v1/${kind.path}/:id/activity`, async (c) => {
      const id = idParam(c);
      if (!id.ok) return id.response;
      // Audited first: a reset that the audit log cannot record does not happen.
      await admin(c).recordReset(kind.field, id.id, actor(c));
      await object(c, id.id).reset();
      // This isolate forgets it now; others within their cacheTtlSeconds.
      memoryCache.delete(kind.cacheKey(id.id));
      c.header('Cache-Control', 'no-store');
      return c.json({ [kind.field]: id.id, reset: true });
    })
    .all(`/v1/${kind.path}/:id/activity`, methodNotAllowed(['GET', 'DELETE']));
}
