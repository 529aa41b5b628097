// A Hono app on Workers guarded by geogate/hono. The README's "Integrate" section shows the region
// below; test/integration/readme-examples.test.ts runs this app against the real AccessCheck
// entrypoint and checks the README still matches.
import type { Context, Next } from 'hono';
import { Hono } from 'hono';
import { geogate, type GeogateVariables } from 'geogate/hono';

// #region readme
type AppEnv = { Bindings: { GEOGATE: Service }; Variables: GeogateVariables & { userId?: string } };
const app = new Hono<AppEnv>();
app.use('/api/*', yourSession); // sets c.var.userId from a verified session, never from a header the user sends
app.use('/api/*', geogate<AppEnv>({ facts: (c) => ({ account: { id: c.var.userId }, surface: 'api' }) }));
app.get('/api/hello', (c) => c.json({ hello: 'world', decision: c.var.geogate.decision }));
// #endregion

/**
 * Stands in for the app's session layer, which sets `userId` once it has verified the user's
 * session. Here every user is anonymous. The account must never come from a header of the user's
 * request (an `X-User-Id`, say): the user would pick the account geogate judges and records.
 */
async function yourSession(_c: Context<AppEnv>, next: Next): Promise<void> {
  await next();
}

export default app;
