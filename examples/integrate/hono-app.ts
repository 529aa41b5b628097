// A Hono app on Workers guarded by geogate/hono. The README's "Integrate" section shows the region
// below; test/integration/readme-examples.test.ts runs this app against the real AccessCheck
// entrypoint and checks the README still matches.
import { Hono } from 'hono';
import { geogate, type GeogateVariables } from 'geogate/hono';

// #region readme
const app = new Hono<{ Bindings: { GEOGATE: Service }; Variables: GeogateVariables }>();
app.use('/api/*', geogate({ facts: (c) => ({ account: { id: c.req.header('X-User-Id') }, surface: 'api' }) }));
app.get('/api/hello', (c) => c.json({ hello: 'world', decision: c.var.geogate.decision }));
// #endregion

export default app;
