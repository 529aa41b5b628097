// What the geogate/hono tests share (test/integration/hono-middleware.test.ts,
// test/review/integrations-review.test.ts): an app guarded by the middleware, a user's request as
// a user-facing Worker receives it, and the real service binding to geogate's AccessCheck.
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { geogate, type GeogateOptions, type GeogateVariables } from '../client/hono';

/** The test app's bindings: GEOGATE, or none (geogate cannot be asked). */
export type HonoTestBindings = { GEOGATE?: unknown };
/** The test app's Hono environment. */
export type HonoTestEnv = { Bindings: HonoTestBindings; Variables: GeogateVariables };

/** The real service binding to the main Worker's AccessCheck (vitest.config.ts binds GEOGATE). */
export const boundGeogate: HonoTestBindings = { GEOGATE: (env as unknown as { GEOGATE: unknown }).GEOGATE };

/** An app with the middleware on /api/*, whose route reports that it ran and the decision it saw. */
export function honoTestApp(options: GeogateOptions<HonoTestEnv> = {}): Hono<HonoTestEnv> {
  const app = new Hono<HonoTestEnv>();
  app.use('/api/*', geogate<HonoTestEnv>(options));
  app.get('/api/hello', (c) => c.json({ ran: true, decision: c.var.geogate }));
  return app;
}

/** A user's request as the user-facing Worker receives it: Cloudflare's cf and CF-Connecting-IP. */
export function userRequest(cf: Record<string, unknown> | undefined, headers: Record<string, string> = {}, ip = '203.0.113.9'): Request {
  return new Request('https://app.test/api/hello', { headers: { 'cf-connecting-ip': ip, ...headers }, ...(cf ? { cf } : {}) });
}
