// GET /openapi.json and GET /docs, inside workerd: the Worker serves the document the Node test
// (test/cli/openapi.test.ts) validates, byte for byte what the routes' schemas build today (the
// Worker serves the committed src/openapi/openapi-document.ts; this test, not the Worker, imports
// the builder); the document lists exactly the routes the app serves; real
// answers validate against the documented response schemas, so the documented shapes can't drift;
// API_DOCS switches the routes; the page's CSP allows only the pinned CDN script and its own
// inline script; misrouted forward-auth traffic never gets a 2xx here.
import { createExecutionContext, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { inspectRoutes } from 'hono/dev';
import { beforeEach, describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { createApp } from '../../src/app';
import worker from '../../src/index';
import { AUTHORIZE_METHODS, openApiDocumentText } from '../../src/openapi/document';
import {
  ActivityResponseSchema,
  AuditResponseSchema,
  ClearanceResponseSchema,
  DecisionResponseSchema,
  ForwardAuthResponseSchema,
  ErrorResponseSchema,
  HealthResponseSchema,
  ListsResponseSchema,
  ResetResponseSchema,
  RevocationResponseSchema,
  RevokedResponseSchema,
  SimulateResponseSchema,
  ValidateResponseSchema,
  VersionsResponseSchema,
} from '../../src/openapi/responses';
import { SCALAR_SCRIPT_URL } from '../../src/routes/docs';
import { ADMIN_TOKEN, CHECK_TOKEN, defaultDocument, postCheck, resetPolicyState } from '../helpers';

beforeEach(resetPolicyState);

const BASE = 'https://geogate.test';
type Document = { openapi: string; paths: Record<string, Record<string, unknown>> };

/** A request through the Worker with extra vars (API_DOCS is not in the pool's bindings). */
async function fetchWith(path: string, vars: Record<string, string>, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Parses a response body with a documented schema; the failure names every mismatch. */
async function expectShape(res: Response, schema: z.ZodType, status: number): Promise<void> {
  expect(res.status).toBe(status);
  const body: unknown = await res.json();
  const parsed = schema.safeParse(body);
  expect(parsed.success ? [] : parsed.error.issues, JSON.stringify(body).slice(0, 500)).toEqual([]);
}

const admin = (path: string, init: RequestInit = {}) =>
  SELF.fetch(`${BASE}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });

/** The app's routes as OpenAPI operations: `post /v1/lists/{name}`; ALL expands to what it serves. */
function servedOperations(): { operations: Set<string>; notAllowed: Map<string, string> } {
  const routes = inspectRoutes(createApp()).filter((r) => !r.isMiddleware);
  const toPath = (p: string) => p.replace(/:([^/]+)/g, '{$1}').replace(/\/\*$/, '/{path}');
  const specific = new Set(routes.filter((r) => r.method !== 'ALL').map((r) => r.path));
  const operations = new Set<string>();
  // The catch-all `.all(path, methodNotAllowed(...))` of a path that also has method routes.
  const notAllowed = new Map<string, string>();
  for (const r of routes) {
    if (r.method !== 'ALL') operations.add(`${r.method.toLowerCase()} ${toPath(r.path)}`);
    else if (specific.has(r.path)) notAllowed.set(r.path, toPath(r.path));
    else for (const m of AUTHORIZE_METHODS) operations.add(`${m} ${toPath(r.path)}`);
  }
  return { operations, notAllowed };
}

describe('GET /openapi.json', () => {
  it('serves the built document, without credentials, cacheable', async () => {
    const res = await SELF.fetch(`${BASE}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const text = await res.text();
    // Structurally first (a stale artifact shows its diff), then byte for byte.
    const fresh = openApiDocumentText();
    expect(JSON.parse(text), 'stale src/openapi/openapi-document.ts: run npm run gen:openapi').toEqual(JSON.parse(fresh));
    expect(text === fresh).toBe(true);
  });

  it('answers HEAD like GET, without the body', async () => {
    const res = await SELF.fetch(`${BASE}/openapi.json`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(await res.text()).toBe('');
  });

  it('lists every route the app serves, and nothing it does not serve', async () => {
    const doc = await (await SELF.fetch(`${BASE}/openapi.json`)).json<Document>();
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    const { operations } = servedOperations();
    expect(operations.size).toBeGreaterThan(30);
    expect([...operations].filter((o) => !documented.has(o))).toEqual([]);
    expect([...documented].filter((o) => !operations.has(o))).toEqual([]);
  });

  it("documents exactly the methods each path's 405 answer allows", async () => {
    const doc = await (await SELF.fetch(`${BASE}/openapi.json`)).json<Document>();
    const { notAllowed } = servedOperations();
    expect(notAllowed.size).toBeGreaterThan(15);
    for (const [route, path] of notAllowed) {
      const url = route.replace(/:[^/]+/g, 'x');
      // The admin routes check the token before the 405; the others refuse credentials (MISROUTED).
      const headers: Record<string, string> = url.startsWith('/v1/') ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {};
      const res = await SELF.fetch(`${BASE}${url}`, { method: 'PROPFIND', headers });
      expect(res.status, route).toBe(405);
      const allowed = (res.headers.get('allow') ?? '').split(', ').filter((m) => m !== 'HEAD').map((m) => m.toLowerCase());
      expect(Object.keys(doc.paths[path] ?? {}).sort(), route).toEqual(allowed.sort());
    }
  });

  it('is off with API_DOCS = "false", and a typo counts as "false"', async () => {
    for (const value of ['false', 'yes']) {
      const res = await fetchWith('/openapi.json', { API_DOCS: value });
      await expectShape(res, ErrorResponseSchema, 404);
    }
    expect((await fetchWith('/openapi.json', { API_DOCS: 'json' })).status).toBe(200);
  });

  it('answers misrouted forward-auth traffic with 400 MISROUTED, never a 2xx', async () => {
    for (const headers of [{ 'geogate-token': CHECK_TOKEN }, { authorization: `Bearer ${CHECK_TOKEN}` }, { 'geogate-country': 'US' }] as Record<string, string>[]) {
      const res = await SELF.fetch(`${BASE}/openapi.json`, { headers });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'MISROUTED' } });
    }
  });

  it('refuses other methods with 405', async () => {
    const res = await SELF.fetch(`${BASE}/openapi.json`, { method: 'POST' });
    await expectShape(res, ErrorResponseSchema, 405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('GET /docs', () => {
  it('is off unless API_DOCS = "true" (the page runs a CDN script on this origin)', async () => {
    expect((await SELF.fetch(`${BASE}/docs`)).status).toBe(404);
    expect((await fetchWith('/docs', { API_DOCS: 'json' })).status).toBe(404);
    expect((await fetchWith('/docs', { API_DOCS: 'false' })).status).toBe(404);
  });

  it('serves the reference with a CSP that allows only the pinned script and its own inline script', async () => {
    const res = await fetchWith('/docs', { API_DOCS: 'true' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toContain(`<script src="${SCALAR_SCRIPT_URL}">`);
    expect(page).toContain('"url": "/openapi.json"');
    const csp = res.headers.get('content-security-policy') ?? '';
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src ')) ?? '';
    const inline = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(inline)));
    expect(scriptSrc.split(' ').sort()).toEqual(['script-src', `'sha256-${btoa(String.fromCharCode(...digest))}'`, SCALAR_SCRIPT_URL].sort());
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('answers misrouted forward-auth traffic with 400 MISROUTED', async () => {
    const res = await fetchWith('/docs', { API_DOCS: 'true' }, { headers: { 'geogate-token': CHECK_TOKEN } });
    await expectShape(res, ErrorResponseSchema, 400);
  });
});

describe('real answers match the documented response schemas', () => {
  const TOR_USER = { ip: '198.51.100.7', geo: { country: 'T1' }, account: { id: 'acct-1' } };

  it('decisions: allow, deny and challenge (with its ticket), from /v1/check and /v1/authorize', async () => {
    await expectShape(await postCheck({ ip: '198.51.100.7', geo: { country: 'US' }, account: { id: 'acct-1', orgId: 'org-1' } }), DecisionResponseSchema, 200);
    await expectShape(await postCheck({ geo: { country: 'KP' } }), DecisionResponseSchema, 200);
    await expectShape(await postCheck(TOR_USER), DecisionResponseSchema, 200);
    const forward = (country: string, full = false) => SELF.fetch(`${BASE}/v1/authorize`, { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-country': country, 'geogate-ip': '198.51.100.7', ...(full ? { 'geogate-response': 'full' } : {}) } });
    await expectShape(await forward('US'), ForwardAuthResponseSchema, 200);
    await expectShape(await forward('T1'), ForwardAuthResponseSchema, 401);
    await expectShape(await forward('KP'), ForwardAuthResponseSchema, 403);
    await expectShape(await forward('T1', true), DecisionResponseSchema, 401);
  });

  it('a clearance from POST /v1/challenge/step-up', async () => {
    const d = await (await postCheck(TOR_USER)).json<{ challenge: { ticket: string } }>();
    const res = await SELF.fetch(`${BASE}/v1/challenge/step-up`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ account: { id: 'acct-1' }, ip: TOR_USER.ip, method: 'otp-email', ticket: d.challenge.ticket }),
    });
    await expectShape(res, ClearanceResponseSchema, 200);
  });

  it('errors: 400 with issues, 401, 403, 404, 405, 415', async () => {
    await expectShape(await postCheck({ geo: { country: 'not a country' }, extra: 1 }), ErrorResponseSchema, 400);
    await expectShape(await postCheck({}, { token: null }), ErrorResponseSchema, 401);
    await expectShape(await admin('/v1/lists', { headers: { authorization: `Bearer ${CHECK_TOKEN}` } }), ErrorResponseSchema, 403);
    await expectShape(await SELF.fetch(`${BASE}/nowhere`), ErrorResponseSchema, 404);
    await expectShape(await SELF.fetch(`${BASE}/v1/check`), ErrorResponseSchema, 405);
    await expectShape(await postCheck('{}', { headers: { 'content-type': 'text/plain' } }), ErrorResponseSchema, 415);
    await expectShape(await admin('/v1/policy'), ErrorResponseSchema, 404);
  });

  it('/healthz', async () => {
    await expectShape(await SELF.fetch(`${BASE}/healthz`), HealthResponseSchema, 200);
  });

  it('the admin API: validate, versions, lists, simulate, audit, memory and clearances', async () => {
    await expectShape(await admin('/v1/policy/validate', { method: 'POST', body: JSON.stringify(defaultDocument()) }), ValidateResponseSchema, 200);
    await expectShape(await admin('/v1/policy/versions'), VersionsResponseSchema, 200);
    await expectShape(await admin('/v1/lists'), ListsResponseSchema, 200);
    await expectShape(await admin('/v1/simulate', { method: 'POST', body: JSON.stringify({ requests: [{ geo: { country: 'US' } }, { geo: 'bad' }] }) }), SimulateResponseSchema, 200);
    await expectShape(await admin('/v1/accounts/acct-1/activity'), ActivityResponseSchema, 200);
    await expectShape(await admin('/v1/orgs/org-1/activity'), ActivityResponseSchema, 200);
    await expectShape(await admin('/v1/accounts/acct-1/activity', { method: 'DELETE' }), ResetResponseSchema, 200);
    await expectShape(await admin('/v1/accounts/acct-1/clearances'), RevocationResponseSchema, 200);
    await expectShape(await admin('/v1/accounts/acct-1/clearances', { method: 'DELETE' }), RevokedResponseSchema, 200);
    await expectShape(await admin('/v1/audit'), AuditResponseSchema, 200);
  });
});
