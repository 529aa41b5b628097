// POST /v1/check: the origin describes one end-user request as JSON and gets a decision.
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { cfView } from '../facts/cf';
import { INVALID_CHECK_REQUEST_MESSAGE, parseCheckRequest, toInputIssues } from '../facts/check-request';
import { requireToken } from '../http/auth';
import { limitBody, readJsonBody } from '../http/body';
import { apiError, methodNotAllowed } from '../http/errors';
import { refuseForwardAuthTraffic } from '../http/guards';
import { requireJson } from '../http/json-type';
import { deploymentSettings } from '../settings';
import { decide } from './decide';

/** Largest accepted body: a check request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;


/** Routes of /v1/check. */
export const checkRoutes = new Hono<AppEnv>()
  .use('/v1/check', refuseForwardAuthTraffic)
  .post('/v1/check', requireToken('CHECK_TOKEN'), requireJson, limitBody(MAX_BODY_BYTES), async (c) => {
    const body = await readJsonBody(c, { what: 'check request', repeatedKeyHint: 'send repeated claims as an array' });
    if (!body.ok) return body.response;
    const parsed = parseCheckRequest(body.value);
    if (!parsed.success) {
      return apiError(c, 400, 'INVALID_REQUEST', INVALID_CHECK_REQUEST_MESSAGE, toInputIssues(parsed.error));
    }
    // request.cf describes the end user only when the Worker fronts them (GEO_FROM_CF = "true");
    // otherwise it describes the origin server calling us.
    const cf = deploymentSettings(c.env).geoFromCf ? cfView(c.req.raw) : undefined;
    c.header('Cache-Control', 'no-store');
    return c.json(await decide(c, parsed.data, cf));
  })
  .all('/v1/check', methodNotAllowed(['POST']));
