// Builds the Hono app: mounts the route families and turns every failure into the JSON error
// shape. No decision logic lives here.
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './env';
import { apiError, echo } from './http/errors';
import { activityRoutes } from './routes/activity';
import { adminRoutes } from './routes/admin';
import { authorizeRoutes } from './routes/authorize';
import { challengeRoutes } from './routes/challenge';
import { challengePageRoutes } from './routes/challenge-page';
import { checkRoutes } from './routes/check';
import { clearanceRoutes } from './routes/clearances';
import { docsRoutes } from './routes/docs';
import { healthRoutes } from './routes/health';

/** The geogate application. */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Every answer is JSON: browsers must never sniff an echoed value into something else.
  app.use(async (c, next) => {
    c.header('X-Content-Type-Options', 'nosniff');
    await next();
  });
  app.route('/', healthRoutes);
  app.route('/', checkRoutes);
  app.route('/', authorizeRoutes);
  app.route('/', adminRoutes);
  app.route('/', activityRoutes);
  app.route('/', clearanceRoutes);
  app.route('/', challengeRoutes);
  app.route('/', challengePageRoutes);
  app.route('/', docsRoutes);
  app.notFound((c) => apiError(c, 404, 'NOT_FOUND', `Nothing at ${echo(c.req.method)} ${echo(c.req.path)}.`));
  app.onError((err, c) => {
    if (err instanceof HTTPException && err.status < 500) {
      return apiError(c, err.status, 'INVALID_REQUEST', err.message || 'Bad request.');
    }
    // A bug, not the caller's fault: log it whole, answer without internals. Forward-auth
    // proxies treat a 5xx as "not allowed", so the gate stays closed.
    console.error('geogate: unhandled error', err);
    return apiError(c, 500, 'INTERNAL', 'Internal error: the request was not decided.');
  });
  return app;
}
