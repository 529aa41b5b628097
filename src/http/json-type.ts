// Routes that take JSON bodies require a JSON media type, so that a form post or a proxy's
// forwarded request is refused (415) before its body is read.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { apiError } from './errors';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Middleware: 415 unless Content-Type is application/json (or a +json type). */
export const requireJson = createMiddleware<AppEnv>(async (c, next) => {
  if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    return apiError(c, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as Content-Type: application/json.');
  }
  await next();
});
