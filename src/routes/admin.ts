// The admin API (docs/admin-api.md): policy versions, named lists, validate, simulate, audit,
// and the network intel (PUT /v1/intel: `npm run intel:push`).
// Every route needs `Authorization: Bearer <ADMIN_TOKEN>` (no token: 401; the check token: 403).
// Thin: parse and check the request, call the admin store (a Durable Object, which serialises
// writes and publishes snapshots to KV), answer. Simulate runs here, in the isolate, against the
// policy in force and a candidate compiled from the snapshot the store builds for it.
import { Hono, type Context } from 'hono';
import type { AdminFailure, AdminResult, PolicyView, Precondition } from '../admin/policy-admin';
import { POLICY_ADMIN_NAME } from '../admin/policy-admin';
import type { AppEnv } from '../env';
import { requireToken } from '../http/auth';
import { limitBody, readJsonBody } from '../http/body';
import { apiError, methodNotAllowed, storeFailuresRetryable } from '../http/errors';
import { MAX_POLICY_BYTES } from '../policy/limits';
import { ListNameSchema } from '../policy/schema';
import { decodeSnapshot } from '../policy/snapshot';
import { simulate, SimulateBodySchema } from '../simulate/simulate';
import { deploymentSettings } from '../settings';
import { activePolicyStore } from '../store/active-policy';
import { activeIntelStore, MAX_INTEL_BYTES } from '../store/intel-store';
import { kvTextStore } from '../store/text-store';
import { toInputIssues } from '../facts/check-request';
import { waitUntilOf } from './decide';

/** Largest list body (150,000 items of up to 64 characters, with room for JSON). */
const MAX_LIST_BYTES = 12 * 1024 * 1024;
/** Largest simulate body: 10,000 check requests (a few hundred bytes each) and a candidate policy. */
const MAX_SIMULATE_BYTES = 16 * 1024 * 1024;
/** Deepest nesting an admin body may have (a policy needs 6 levels). */
const MAX_JSON_DEPTH = 64;
/** Page size of the listings, by default and at most. */
const PAGE_DEFAULT = 50;
const PAGE_MAX = 500;

/** Who wrote: the admin token's label (one admin token today; ADMIN_TOKEN_LABEL names it). */
export function actor(c: Context<AppEnv>): string {
  const label = (c.env as { ADMIN_TOKEN_LABEL?: string }).ADMIN_TOKEN_LABEL;
  return label && /^[\x21-\x7e]{1,64}$/.test(label) ? label : 'admin';
}

function admin(c: Context<AppEnv>) {
  return c.env.POLICY_ADMIN.get(c.env.POLICY_ADMIN.idFromName(POLICY_ADMIN_NAME));
}

function precondition(c: Context<AppEnv>): Precondition {
  return { ifMatch: c.req.header('if-match'), ifNoneMatch: c.req.header('if-none-match') };
}

/** The failure as the JSON error shape (with every issue's path and message, and the current ETag on 412). */
function failure(c: Context<AppEnv>, f: AdminFailure): Response {
  if (f.etag !== undefined && f.etag !== 'none') c.header('ETag', `"${f.etag}"`);
  const issues = f.issues?.map((i) => ({ path: i.path.join('.'), code: 'invalid', message: i.message }));
  const res = apiError(c, f.status, f.code, f.message, issues);
  return res;
}

function answer<T extends object>(c: Context<AppEnv>, r: AdminResult<T>, etagOf?: (v: T) => string | undefined): Response {
  if (!r.ok) return failure(c, r);
  const etag = etagOf?.(r.value);
  if (etag !== undefined && etag !== 'none') c.header('ETag', `"${etag}"`);
  c.header('Cache-Control', 'no-store');
  return c.json(r.value);
}

/** The JSON body, or an error response (invalid JSON, a repeated key, nesting past MAX_JSON_DEPTH). */
const jsonBody = (c: Context<AppEnv>) => readJsonBody(c, { what: 'body', maxDepth: MAX_JSON_DEPTH });

function pageParams(c: Context<AppEnv>): { limit: number; cursor?: string } {
  const n = Number(c.req.query('limit') ?? PAGE_DEFAULT);
  const cursor = c.req.query('cursor');
  return { limit: Number.isInteger(n) && n > 0 ? Math.min(n, PAGE_MAX) : PAGE_DEFAULT, ...(cursor ? { cursor } : {}) };
}

/** The list name of the path, or an error response. */
function listName(c: Context<AppEnv>): { ok: true; name: string } | { ok: false; response: Response } {
  const name = c.req.param('name') ?? '';
  const r = ListNameSchema.safeParse(name);
  return r.success ? { ok: true, name } : { ok: false, response: apiError(c, 400, 'INVALID_REQUEST', 'Invalid list name.', toInputIssues(r.error, () => 'name')) };
}

/** Makes this isolate re-read the policy on its next check; other isolates follow within their TTL. */
function afterWrite(): void {
  activePolicyStore.invalidate();
}

const adminOnly = [requireToken('ADMIN_TOKEN'), storeFailuresRetryable] as const;

/** Routes of the admin API. */
export const adminRoutes = new Hono<AppEnv>()
  .use('/v1/policy', ...adminOnly)
  .use('/v1/policy/*', ...adminOnly)
  .use('/v1/lists', ...adminOnly)
  .use('/v1/lists/*', ...adminOnly)
  .use('/v1/simulate', ...adminOnly)
  .use('/v1/audit', ...adminOnly)
  .use('/v1/intel', ...adminOnly)

  .get('/v1/policy', async (c) => {
    const r: AdminResult<PolicyView> = await admin(c).getPolicy();
    return answer<PolicyView>(c, r, (v) => v.etag);
  })
  .put('/v1/policy', limitBody(MAX_POLICY_BYTES), async (c) => {
    const body = await jsonBody(c);
    if (!body.ok) return body.response;
    const r = await admin(c).putPolicy(body.value, precondition(c), actor(c));
    if (r.ok) afterWrite();
    return answer(c, r, (v) => v.etag);
  })
  .all('/v1/policy', methodNotAllowed(['GET', 'PUT']))

  .post('/v1/policy/validate', limitBody(MAX_POLICY_BYTES), async (c) => {
    const body = await jsonBody(c);
    if (!body.ok) return body.response;
    c.header('Cache-Control', 'no-store');
    return c.json(await admin(c).validatePolicy(body.value));
  })
  .all('/v1/policy/validate', methodNotAllowed(['POST']))

  .get('/v1/policy/versions', async (c) => {
    const { limit: n, cursor } = pageParams(c);
    const page = await admin(c).versions(n, cursor);
    c.header('Cache-Control', 'no-store');
    return c.json({ versions: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) });
  })
  .all('/v1/policy/versions', methodNotAllowed(['GET']))

  .post('/v1/policy/rollback', async (c) => {
    const body = await jsonBody(c);
    if (!body.ok) return body.response;
    const v = body.value;
    if (typeof v !== 'object' || v === null || !('version' in v) || typeof v.version !== 'string' || Object.keys(v).length !== 1) {
      return apiError(c, 400, 'INVALID_REQUEST', 'Send { "version": "<a stored policy version>" }.', [{ path: 'version', code: 'invalid_type', message: 'a string is required' }]);
    }
    const r = await admin(c).rollback(v.version, precondition(c), actor(c));
    if (r.ok) afterWrite();
    return answer(c, r, (x) => x.etag);
  })
  .all('/v1/policy/rollback', methodNotAllowed(['POST']))

  .get('/v1/lists', async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json({ lists: await admin(c).listLists() });
  })
  .all('/v1/lists', methodNotAllowed(['GET']))

  .get('/v1/lists/:name', async (c) => {
    const name = listName(c);
    if (!name.ok) return name.response;
    return answer(c, await admin(c).getList(name.name), (v) => v.etag);
  })
  .put('/v1/lists/:name', limitBody(MAX_LIST_BYTES), async (c) => {
    const name = listName(c);
    if (!name.ok) return name.response;
    const body = await jsonBody(c);
    if (!body.ok) return body.response;
    const r = await admin(c).putList(name.name, body.value, precondition(c), actor(c));
    if (r.ok) afterWrite();
    return answer(c, r, (v) => v.etag);
  })
  .patch('/v1/lists/:name', limitBody(MAX_LIST_BYTES), async (c) => {
    const name = listName(c);
    if (!name.ok) return name.response;
    const body = await jsonBody(c);
    if (!body.ok) return body.response;
    const pre = precondition(c);
    const r = await admin(c).patchList(name.name, body.value, pre.ifMatch !== undefined ? pre : undefined, actor(c));
    if (r.ok) afterWrite();
    return answer(c, r, (v) => v.etag);
  })
  .delete('/v1/lists/:name', async (c) => {
    const name = listName(c);
    if (!name.ok) return name.response;
    const pre = precondition(c);
    const r = await admin(c).deleteList(name.name, pre.ifMatch !== undefined ? pre : undefined, actor(c));
    if (r.ok) afterWrite();
    return answer(c, r);
  })
  .all('/v1/lists/:name', methodNotAllowed(['GET', 'PUT', 'PATCH', 'DELETE']))

  .post('/v1/simulate', limitBody(MAX_SIMULATE_BYTES), async (c) => {
    const body = await jsonBody(c);
    if (!body.ok) return body.response;
    const parsed = SimulateBodySchema.safeParse(body.value);
    if (!parsed.success) return apiError(c, 400, 'INVALID_REQUEST', 'The simulate request has invalid fields.', toInputIssues(parsed.error));
    const now = Date.now();
    const kv = kvTextStore(c.env.POLICY);
    const [current, intel] = await Promise.all([
      activePolicyStore.get(kv, now, { waitUntil: waitUntilOf(c), failMode: deploymentSettings(c.env).failMode }),
      activeIntelStore.get(kv, now, { waitUntil: waitUntilOf(c) }),
    ]);
    if (current.kind !== 'policy') return apiError(c, 503, 'NOT_CONFIGURED', 'No policy is in force (see /healthz), so there is nothing to compare against.');
    let candidate;
    if (parsed.data.policy !== undefined) {
      const built = await admin(c).candidateSnapshot(parsed.data.policy);
      if (!built.ok) return failure(c, built);
      const decoded = await decodeSnapshot(built.value.text, built.value.id);
      if (!decoded.ok) return apiError(c, 500, 'INTERNAL', 'The candidate could not be loaded.');
      candidate = decoded.compiled;
    }
    c.header('Cache-Control', 'no-store');
    return c.json(simulate({ current: current.compiled, candidate, requests: parsed.data.requests, now, intel: intel.intel }));
  })
  .all('/v1/simulate', methodNotAllowed(['POST']))

  .get('/v1/intel', async (c) => answer(c, await admin(c).getIntel(), (v) => v.etag))
  .put('/v1/intel', limitBody(MAX_INTEL_BYTES), async (c) => {
    // The artifact's exact text: its SHA-256 is its id, so it is stored byte for byte as sent.
    const text = await c.req.text();
    const r = await admin(c).putIntel(text, precondition(c), actor(c), { allowShrink: c.req.query('allowShrink') === 'true', allowOlder: c.req.query('allowOlder') === 'true' });
    if (r.ok) activeIntelStore.invalidate();
    return answer(c, r, (v) => v.etag);
  })
  .all('/v1/intel', methodNotAllowed(['GET', 'PUT']))

  .get('/v1/audit', async (c) => {
    const { limit: n, cursor } = pageParams(c);
    const page = await admin(c).audit(n, cursor);
    c.header('Cache-Control', 'no-store');
    return c.json({ entries: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) });
  })
  .all('/v1/audit', methodNotAllowed(['GET']));
