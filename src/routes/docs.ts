// GET /openapi.json and GET /docs: the OpenAPI document and an interactive reference (Scalar)
// reading it. API_DOCS switches them: "false" neither, "json" (the default) the document only,
// "true" both. The page is opt-in because it runs a script from a CDN (jsdelivr) on geogate's
// origin, which may also serve the challenge page. The document is built at build time (`npm run
// gen:openapi`, from src/openapi/document.ts) into the JSON text of src/openapi/openapi-document.ts;
// that module is imported on the first request for it, so no check evaluates it, and the
// generator is not in the Worker at all. Both routes take no credentials: a forward-auth request
// routed here by a path trick gets 400 MISROUTED, never a 2xx (src/http/guards.ts).
import { Scalar } from '@scalar/hono-api-reference';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { methodNotAllowed } from '../http/errors';
import { refuseCredentialedTraffic } from '../http/guards';
import { bytesToBase64 } from '../engine/base64';

/** What API_DOCS serves. */
export type ApiDocsMode = 'false' | 'json' | 'true';

/**
 * The Scalar standalone script, pinned (the package's default is jsdelivr's unversioned latest,
 * which would change what the page runs without a deploy).
 */
export const SCALAR_SCRIPT_URL = 'https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.76.0/dist/browser/standalone.js';

/** The document's path. */
export const OPENAPI_PATH = '/openapi.json';

/** The reference page's path. */
export const DOCS_PATH = '/docs';

/**
 * API_DOCS as a mode. Unset means "json": the document holds no secrets and client generators
 * want it. Any other value than the three is read as "false": a typo exposes nothing.
 */
export function apiDocsMode(env: AppEnv['Bindings']): ApiDocsMode {
  const value = (env as { API_DOCS?: string }).API_DOCS?.trim().toLowerCase();
  if (value === undefined || value === '') return 'json';
  return value === 'true' || value === 'json' ? value : 'false';
}

/** 404 (the app's ordinary not-found) unless API_DOCS serves `what`. */
const served =
  (what: 'json' | 'page'): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const mode = apiDocsMode(c.env);
    if (mode === 'false' || (what === 'page' && mode !== 'true')) return c.notFound();
    await next();
  };

/** SHA-256 of an inline script, as a CSP source. */
async function scriptHash(script: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(script)));
  return `'sha256-${bytesToBase64(digest)}'`;
}

/**
 * The page's CSP: Scalar's pinned script and the page's own inline script (by hash), styles
 * inline (Scalar injects them), the document and "try it" requests to this origin only, no
 * fonts from elsewhere (`withDefaultFonts: false`), no framing, no forms.
 */
function pageCsp(inlineHashes: readonly string[]): string {
  return [
    "default-src 'none'",
    `script-src ${[...inlineHashes, SCALAR_SCRIPT_URL].join(' ')}`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const reference = Scalar<AppEnv>({
  url: OPENAPI_PATH,
  cdn: SCALAR_SCRIPT_URL,
  pageTitle: 'geogate API reference',
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
});

/** Routes of the API reference. */
export const docsRoutes = new Hono<AppEnv>()
  .get(OPENAPI_PATH, served('json'), refuseCredentialedTraffic, async (c) => {
    // Loaded here, not at the top: ~200 KB of text that no check should evaluate on a cold
    // isolate. The module is evaluated once and kept for the isolate's life (the text cannot
    // change without a deploy), so later requests pay only the lookup.
    const { OPENAPI_DOCUMENT_JSON } = await import('../openapi/openapi-document');
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(OPENAPI_DOCUMENT_JSON, 200, { 'Content-Type': 'application/json; charset=UTF-8' });
  })
  .all(OPENAPI_PATH, methodNotAllowed(['GET', 'HEAD']))
  .get(DOCS_PATH, served('page'), refuseCredentialedTraffic, async (c) => {
    // Scalar's handler answers itself and never calls next.
    const res = await reference(c, async () => {});
    if (!(res instanceof Response)) return c.notFound();
    const page = await res.text();
    // Scalar's HTML carries one inline script (its initialisation); allow exactly that text.
    const inline = [...page.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    const hashes = await Promise.all(inline.map(scriptHash));
    c.header('Content-Security-Policy', pageCsp(hashes));
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'public, max-age=300');
    return c.html(page);
  })
  .all(DOCS_PATH, methodNotAllowed(['GET', 'HEAD']));
