// Revoking an account's clearances (docs/admin-api.md):
//   GET    /v1/accounts/{id}/clearances   when they were last revoked, if ever
//   DELETE /v1/accounts/{id}/clearances   revokes every clearance issued so far (audited first)
// Admin token only. A revocation reaches every location within about a minute (Workers KV); to
// revoke every clearance of every account at once, rotate CLEARANCE_SECRET without keeping the
// old one as CLEARANCE_SECRET_PREVIOUS.
import { Hono } from 'hono';
import { revokeClearances, revokedAt } from '../challenge/revocations';
import type { AppEnv } from '../env';
import { requireToken } from '../http/auth';
import { apiError, methodNotAllowed, storeFailuresRetryable } from '../http/errors';
import { idParam, admin } from './activity';
import { actor } from './admin';

/** Routes of the clearance admin API. */
export const clearanceRoutes = new Hono<AppEnv>()
  .use('/v1/accounts/:id/clearances', requireToken('ADMIN_TOKEN'), storeFailuresRetryable)
  .get('/v1/accounts/:id/clearances', async (c) => {
    const id = idParam(c);
    if (!id.ok) return id.response;
    // Read past the edge cache's staleness budget: an operator checking a revocation wants storage.
    const at = await revokedAt(c.env.POLICY, id.id, 5000);
    c.header('Cache-Control', 'no-store');
    if (at === 'unknown') return apiError(c, 503, 'POLICY_UNAVAILABLE', 'The revocation could not be read; try again.');
    return c.json({ account: id.id, revokedAt: at === undefined ? null : new Date(at).toISOString() });
  })
  .delete('/v1/accounts/:id/clearances', async (c) => {
    const id = idParam(c);
    if (!id.ok) return id.response;
    const who = actor(c);
    // Audited first: a revocation that the audit log cannot record does not happen.
    await admin(c).recordRevocation(id.id, who);
    const { revokedAt: at } = await revokeClearances(c.env.POLICY, id.id, Date.now(), who);
    c.header('Cache-Control', 'no-store');
    return c.json({ account: id.id, revoked: true, revokedAt: at });
  })
  .all('/v1/accounts/:id/clearances', methodNotAllowed(['GET', 'DELETE']));
