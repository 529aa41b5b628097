// geogate/browser in a real browser (Debian's headless Chromium, driven by playwright-core, its
// time zone emulated), on the sample origin Worker (examples/workers-origin) served by
// `wrangler dev` with geogate beside it in the same process: the page loads the built snippet
// (dist/lib/browser.js, the file the package ships), calls the origin's API route through the
// wrapped fetch, the route asks geogate over the GEOGATE service binding (AccessCheck), and the
// page shows the decision. Offline: wrangler's request.cf is its fixed placeholder (US,
// America/Chicago), and the browser reaches nothing but the origin.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWranglerDev, type WranglerDev } from './wrangler-dev';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SNIPPET = join(root, 'dist', 'lib', 'browser.js');
const SNIPPET_SOURCE = join(root, 'client', 'browser.ts');

const CHROMIUM = '/usr/bin/chromium';
/** TOOLCHAIN.md's flags for Debian's Chromium here; playwright's launch adds a fresh user-data-dir. */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The budget of the minified snippet. */
const SIZE_BUDGET = 1024;

/** Requests the wrapper may send to other origins (answered by the browser's router, never sent). */
const LISTED_ORIGIN = 'http://api.partner.invalid';
const UNLISTED_ORIGIN = 'http://tracker.invalid';

let server: WranglerDev | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node scripts/ensure-chromium.mjs\` (installs Debian's chromium)`);
  // The page must run what the package ships: a build older than its source would prove nothing.
  const [built, source] = await Promise.all([stat(SNIPPET).catch(() => undefined), stat(SNIPPET_SOURCE)]);
  if (!built || built.mtimeMs < source.mtimeMs) throw new Error('dist/lib/browser.js is missing or older than client/browser.ts: run `npm run build:lib`');
  server = await startWranglerDev({
    config: 'examples/workers-origin/wrangler.toml',
    geogateVars: {
      CHECK_TOKEN: 'snippet-check-token-0123456789',
      ADMIN_TOKEN: 'snippet-admin-token-0123456789',
      MEMORY_HASH_SECRET: 'snippet-memory-hash-secret-0123456789',
      CLEARANCE_SECRET: 'snippet-clearance-secret-0123456789abcdef',
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
});

afterAll(async () => {
  // Both, whatever happened to the other.
  await Promise.allSettled([browser?.close(), server?.stop()]);
});

/** The decision as the sample page shows it (examples/workers-origin/src/index.ts, decisionView). */
interface ShownDecision {
  decision: 'allow' | 'challenge' | 'deny';
  summary: string;
  reasons: { code: string; evidence: Record<string, unknown>; liftedBy?: string }[];
  failed: boolean;
  via: string;
  claims: { timezone: string | null; utcOffset: string | null; clock: string | null };
}

/** One request the browser made, as the router saw it. */
interface SeenRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
}

/** A context whose router lets only the origin through and records every request. */
async function offlineContext(options: BrowserContextOptions, seen: SeenRequest[], blocked: string[]): Promise<BrowserContext> {
  if (!browser || !server) throw new Error('not started');
  const origin = server.origin;
  const context = await browser.newContext(options);
  // Captured before any page script runs, to prove the snippet leaves the global fetch alone.
  await context.addInitScript({ content: 'window.originalFetch = window.fetch;' });
  await context.route('**/*', async (route) => {
    const request = route.request();
    const url = request.url();
    seen.push({ url, method: request.method(), headers: await request.allHeaders() });
    if (url.startsWith(`${origin}/`)) return route.continue();
    if (url.startsWith(`${LISTED_ORIGIN}/`) || url.startsWith(`${UNLISTED_ORIGIN}/`)) {
      // Stand-ins for other sites, willing to be read cross-origin with any header.
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'ok', headers: { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' } });
    }
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return context;
}

/** Opens the sample page and waits for the decision it shows. */
async function shownDecision(page: Page, problems: string[]): Promise<{ status: string; shown: ShownDecision }> {
  if (!server) throw new Error('not started');
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.origin}/`);
  const out = page.locator('#decision[data-status]');
  await out.waitFor({ timeout: 20_000 }).catch((err: unknown) => {
    throw new Error(`the page showed no decision; browser errors: ${JSON.stringify(problems)}; wrangler:\n${server?.output() ?? ''}`, { cause: err });
  });
  const status = (await out.getAttribute('data-status')) ?? '';
  return { status, shown: JSON.parse(await out.textContent() ?? 'null') as ShownDecision };
}

/** geogate decided (over the binding, with the operator's policy), not the middleware's fail mode. */
async function expectDecidedByGeogate(shown: ShownDecision): Promise<void> {
  if (shown.via === 'service' && !shown.failed) return;
  // geogate/hono logs why it fell back to its fail mode (the log may trail the response a little).
  let why: string[] = [];
  for (let i = 0; i < 20 && why.length === 0; i++) {
    why = (server?.output() ?? '').split('\n').filter((line) => line.includes('geogate/hono:'));
    if (why.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the fail mode decided, not geogate (${shown.summary}); wrangler: ${why.join(' | ') || '(no geogate/hono line)'}`);
}

/** The wrapped call to the API route, as the router saw it. */
function apiCalls(seen: SeenRequest[]): SeenRequest[] {
  return seen.filter((r) => new URL(r.url).pathname === '/api/decision');
}

/** One load of the sample page: what it showed, and what the browser did meanwhile. */
interface PageLoad {
  readonly page: Page;
  /** The page's `data-status`: the HTTP status of its API call. */
  readonly status: string;
  readonly shown: ShownDecision;
  /** Every request the browser made, as the router saw it. */
  readonly seen: SeenRequest[];
  /** The requests the router aborted. */
  readonly blocked: string[];
  /** Console errors and uncaught page errors. */
  readonly problems: string[];
}

/**
 * Loads the sample page in a fresh offline context at `timezoneId` (the locale is en-US in every
 * run: only the time zone differs), checks that the page made one API call carrying that zone's
 * claims and that geogate decided, then hands the load to `check`; the context is closed after.
 */
async function withDecisionPage(timezoneId: string, check: (load: PageLoad) => void | Promise<void>): Promise<void> {
  const seen: SeenRequest[] = [];
  const blocked: string[] = [];
  const context = await offlineContext({ timezoneId, locale: 'en-US' }, seen, blocked);
  try {
    const problems: string[] = [];
    const page = await context.newPage();
    const { status, shown } = await shownDecision(page, problems);
    const calls = apiCalls(seen);
    expect(calls).toHaveLength(1);
    expectClaims(calls[0]?.headers ?? {}, timezoneId);
    await expectDecidedByGeogate(shown);
    await check({ page, status, shown, seen, blocked, problems });
  } finally {
    await context.close();
  }
}

/** The UTC offset of `zone` now, in minutes east (what the browser should claim). */
function offsetNow(zone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value ?? '';
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!m) throw new Error(`no offset for ${zone}: ${name}`);
  const minutes = m[1] ? Number(m[2]) * 60 + Number(m[3]) : 0;
  return m[1] === '-' ? -minutes : minutes;
}

/** `+08:00` for 480, `-05:00` for -300. */
function isoOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Checks the three claims one request carried for `zone`. */
function expectClaims(headers: Record<string, string | null | undefined>, zone: string, reportedZone = zone): void {
  const offset = offsetNow(zone);
  expect(headers['geogate-client-timezone']).toBe(reportedZone);
  expect(headers['geogate-client-utc-offset']).toBe(String(offset));
  const clock = headers['geogate-client-clock'] ?? '';
  // Local wall time with milliseconds and the local offset: what geogate's ISO_INSTANT accepts.
  expect(clock).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}${isoOffset(offset).replace('+', '\\+')}$`));
  expect(Math.abs(Date.parse(clock) - Date.now())).toBeLessThan(60_000);
}

// Code run in the page is written as text: vitest rewrites `import()` (and may wrap functions) in
// test code, and the page must run exactly what is written here.

/** True when the page's global fetch is the one it started with, native; then calls it plainly. */
const UNTOUCHED_CHECK = `(async () => {
  await fetch('/api/decision?plain');
  return window.originalFetch === window.fetch && Function.prototype.toString.call(window.fetch).includes('[native code]');
})()`;

/** Calls the wrapped fetch in every form, to the page's origin, a listed origin and an unlisted one; answers the errors. */
const FORMS_SCRIPT = `(async () => {
  const { withGeogate } = await import('/geogate-browser.js');
  const api = withGeogate(undefined, { origins: [${JSON.stringify(`${LISTED_ORIGIN}/any/path`)}] });
  const errors = [];
  const call = async (input, init) => {
    try {
      await api(input, init);
    } catch (e) {
      errors.push(String(e));
    }
  };
  await call('/forms/string');
  await call(new URL('/forms/url', location.href));
  await call(new Request('/forms/request', { headers: { 'x-app': 'request' } }));
  await call(new Request('/forms/request-init', { headers: { 'x-app': 'dropped' } }), { headers: new Headers({ 'x-app': 'init' }) });
  await call('/forms/pairs', { method: 'POST', body: 'x', headers: [['geogate-client-timezone', 'Europe/Paris'], ['content-type', 'text/plain']] });
  await call('/forms/object', { headers: { 'Geogate-Client-UTC-Offset': '60' } });
  await call(${JSON.stringify(`${LISTED_ORIGIN}/v1/thing`)});
  await call(${JSON.stringify(`${UNLISTED_ORIGIN}/pixel`)});
  await call(new Request(${JSON.stringify(`${UNLISTED_ORIGIN}/cross-request`)}, { headers: { 'x-app': 'request' } }));
  return errors;
})()`;

describe('geogate/browser, the built snippet', () => {
  it('is an ES module with no imports, under 1 KiB minified', async () => {
    const code = await readFile(SNIPPET);
    const gzip = gzipSync(code, { level: 9 }).length;
    console.log(`dist/lib/browser.js: ${code.length} bytes minified, ${gzip} bytes gzip -9`);
    expect(code.length).toBeLessThan(SIZE_BUDGET);
    const text = code.toString('utf8');
    expect(text).toMatch(/export\s*\{[^}]*\bas withGeogate\b/);
    expect(text).not.toMatch(/\bimport\s*[({"'\w*]/);
  });
});

describe('geogate/browser in Chromium, through wrangler dev and geogate', () => {
  it('Asia/Shanghai: the page shows TZ_RESTRICTED with the Shanghai evidence, from the headers the wrapper added', async () => {
    await withDecisionPage('Asia/Shanghai', ({ status, shown, seen, blocked, problems }) => {
      expect(shown.claims.utcOffset).toBe('480');
      expect(shown.claims.clock).toMatch(/\+08:00$/);

      const restricted = shown.reasons.find((r) => r.code === 'TZ_RESTRICTED');
      expect(restricted?.evidence).toMatchObject({ timezone: 'Asia/Shanghai', canonical: 'Asia/Shanghai', zoneCountries: ['CN'], ipCountry: 'US' });
      expect(restricted?.liftedBy).toBeUndefined();
      expect(shown.decision).not.toBe('allow');
      expect(status).toBe(shown.decision === 'deny' ? '403' : '401');

      // The page loaded its own scripts only, under its CSP, without errors (a 401/403 is logged).
      expect(problems.filter((p) => !/status of 40[13]/.test(p))).toEqual([]);
      expect(blocked).toEqual([]);
      expect(seen.map((r) => new URL(r.url).pathname).sort()).toEqual(['/', '/api/decision', '/app.js', '/geogate-browser.js']);
    });
  });

  it('America/New_York: no TZ_RESTRICTED; window.fetch stays native and sends no claims', async () => {
    await withDecisionPage('America/New_York', async ({ page, status, shown, seen, blocked, problems }) => {
      expect(shown.reasons.map((r) => r.code)).not.toContain('TZ_RESTRICTED');
      // Placeholder geo US / America/Chicago: New York's offset is one the US uses.
      expect(shown.reasons.map((r) => r.code)).not.toContain('TZ_MISMATCH');
      expect(shown.decision).toBe('allow');
      expect(status).toBe('200');
      expect(problems).toEqual([]);
      expect(blocked).toEqual([]);

      // Not a monkey-patch: the global fetch is the one the page started with, and a plain call
      // from the same page carries no claim.
      const untouched = await page.evaluate<boolean>(UNTOUCHED_CHECK);
      expect(untouched).toBe(true);
      const plain = seen.find((r) => r.url.endsWith('/api/decision?plain'));
      expect(plain).toBeDefined();
      expect(Object.keys(plain?.headers ?? {}).filter((h) => h.startsWith('geogate-'))).toEqual([]);
    });
  });

  it('adds the claims to same-origin and listed origins only, in every fetch form, keeping the headers the app set', async () => {
    if (!server) throw new Error('not started');
    const seen: SeenRequest[] = [];
    const blocked: string[] = [];
    // India's half-hour offset (+05:30); Chromium reports ICU's name for Asia/Kolkata, which geogate resolves.
    // bypassCSP: the test itself calls other origins, which the page's connect-src refuses.
    const context = await offlineContext({ timezoneId: 'Asia/Kolkata', locale: 'en-US', bypassCSP: true }, seen, blocked);
    try {
      const page = await context.newPage();
      await page.goto(`${server.origin}/`);
      await page.locator('#decision[data-status]').waitFor({ timeout: 20_000 });
      seen.length = 0;
      const errors = await page.evaluate<string[]>(FORMS_SCRIPT);
      expect(errors).toEqual([]);
      expect(blocked).toEqual([]);
      const at = (suffix: string) => seen.filter((r) => r.url.endsWith(suffix) && r.method !== 'OPTIONS').map((r) => r.headers);
      const one = (suffix: string) => {
        const found = at(suffix);
        expect(found, suffix).toHaveLength(1);
        return found[0] ?? {};
      };

      for (const path of ['/forms/string', '/forms/url', '/forms/request', '/forms/request-init', '/v1/thing']) expectClaims(one(path), 'Asia/Kolkata', 'Asia/Calcutta');
      expect(one('/forms/request')['x-app']).toBe('request');
      // As fetch does: init.headers replace the Request's own.
      expect(one('/forms/request-init')['x-app']).toBe('init');
      // Headers the app set itself are kept; the missing ones are added.
      expect(one('/forms/pairs')).toMatchObject({ 'geogate-client-timezone': 'Europe/Paris', 'geogate-client-utc-offset': '330', 'content-type': 'text/plain' });
      expect(one('/forms/object')).toMatchObject({ 'geogate-client-timezone': 'Asia/Calcutta', 'geogate-client-utc-offset': '60' });
      expect(one('/forms/object')['geogate-client-clock']).toMatch(/\+05:30$/);

      // Other origins: nothing, and so no preflight either.
      for (const path of ['/pixel', '/cross-request']) expect(Object.keys(one(path)).filter((h) => h.startsWith('geogate-'))).toEqual([]);
      expect(one('/cross-request')['x-app']).toBe('request');
      expect(seen.filter((r) => r.url.startsWith(UNLISTED_ORIGIN) && r.method === 'OPTIONS')).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
