// The bench-only secrets of every Worker a benchmark serves: random, long enough and distinct, as
// /healthz requires (a dev-only or missing token would make the routes answer 503).
import { randomBytes } from 'node:crypto';

const random = () => randomBytes(24).toString('hex');

/**
 * Fresh tokens and the Worker bindings that carry them, with random clearance and memory-hash
 * secrets and GEO_FROM_CF = "false" (the user's geo comes from the request, as in production
 * behind an origin).
 */
export function benchSecrets() {
  const checkToken = random();
  const adminToken = random();
  return { checkToken, adminToken, bindings: { CHECK_TOKEN: checkToken, ADMIN_TOKEN: adminToken, GEO_FROM_CF: 'false', CLEARANCE_SECRET: random(), MEMORY_HASH_SECRET: random() } };
}
