// The hosted challenge page in a real browser (Debian's headless Chromium, driven by
// playwright-core), against the built Worker served by Miniflare on localhost, fully offline:
// siteverify is Miniflare's outbound stub, Turnstile's api.js a fake served by the browser's
// router that solves at once (as Cloudflare's always-pass test site key does), and every other
// non-local request is aborted. What only a browser proves: the CSP lets the nonce'd callback and
// Turnstile's script run, the form posts, the 303 lands on the return path, and Chromium keeps
// and sends back the HttpOnly + Secure + SameSite=Lax cookie on http://localhost.
import { existsSync } from 'node:fs';
import { Response as MiniflareResponse, type Request as MiniflareRequest } from 'miniflare';
import { chromium, type Browser, type BrowserContext, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWorker, type ServedWorker } from './serve-worker';

const CHROMIUM = '/usr/bin/chromium';
/** TOOLCHAIN.md's flags for Debian's Chromium here; playwright's launch adds a fresh user-data-dir. */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const CHECK_TOKEN = 'browser-check-token-0123456789';
const SITE_KEY = '1x00000000000000000000AA';
const TURNSTILE_SECRET = '1x0000000000000000000000000000000AA';
const DUMMY_TOKEN = 'XXXX.DUMMY.TOKEN.XXXX';
const SITEVERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';
const TURNSTILE_SCRIPT = 'https://challenges.cloudflare.com/turnstile/v0/api.js';

/** The check the origin makes: a Tor exit (challenged by the default policy) on this machine. */
const VISITOR = { ip: '127.0.0.1', geo: { country: 'T1' }, account: { id: 'acct-browser' } };

/**
 * Stands in for Turnstile's api.js: finds the widget, checks its site key, adds the answer to the
 * form as the real widget does (`cf-turnstile-response`) and calls `data-callback` with it.
 */
const FAKE_TURNSTILE = `(function () {
  var widget = document.querySelector('.cf-turnstile');
  if (!widget) throw new Error('fake turnstile: no .cf-turnstile element');
  if (widget.getAttribute('data-sitekey') !== ${JSON.stringify(SITE_KEY)}) throw new Error('fake turnstile: wrong site key');
  var input = document.createElement('input');
  input.type = 'hidden';
  input.name = 'cf-turnstile-response';
  input.value = ${JSON.stringify(DUMMY_TOKEN)};
  widget.appendChild(input);
  var callback = window[widget.getAttribute('data-callback')];
  if (typeof callback !== 'function') throw new Error('fake turnstile: data-callback is not a function');
  callback(${JSON.stringify(DUMMY_TOKEN)});
})();`;

/** Every siteverify call the Worker made: its JSON body. */
const siteverifyCalls: Record<string, unknown>[] = [];
/** Outbound fetches the Worker tried other than siteverify. */
const otherOutbound: string[] = [];

async function outbound(request: MiniflareRequest): Promise<MiniflareResponse> {
  if (request.url !== SITEVERIFY_URL) {
    otherOutbound.push(request.url);
    return new MiniflareResponse('no network in tests', { status: 502 });
  }
  siteverifyCalls.push((await request.json()) as Record<string, unknown>);
  return MiniflareResponse.json({ success: true, 'error-codes': [], hostname: 'localhost', challenge_ts: new Date().toISOString() });
}

let worker: ServedWorker | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node scripts/ensure-chromium.mjs\` (installs Debian's chromium)`);
  worker = await serveWorker({
    bindings: {
      CHECK_TOKEN,
      ADMIN_TOKEN: 'browser-admin-token-0123456789',
      MEMORY_HASH_SECRET: 'browser-memory-hash-secret',
      CLEARANCE_SECRET: 'browser-clearance-secret-0123456789abcdef',
      TURNSTILE_SECRET,
      TURNSTILE_SITE_KEY: SITE_KEY,
      TURNSTILE_HOSTNAMES: 'localhost',
      CHALLENGE_PAGE: 'true',
    },
    outbound,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
});

afterAll(async () => {
  // Both, whatever happened to the other.
  await Promise.allSettled([browser?.close(), worker?.stop()]);
});

interface CheckAnswer {
  decision: string;
  reasons: { code: string; liftedBy?: string }[];
  challenge?: { ticket?: string };
}

/** A random UUID, as a typed matcher (vitest's matchers return any). */
const aUuid = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) as unknown as string;

/** POST /v1/check from the origin's side (Node, not the browser). */
async function check(body: unknown): Promise<CheckAnswer> {
  if (!worker) throw new Error('the Worker is not served');
  const res = await fetch(new URL('/v1/check', worker.url), { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return res.json<CheckAnswer>();
}

/** A browser context that reaches only the Worker, with Turnstile's script faked. */
async function offlineContext(origin: string, blocked: string[]): Promise<BrowserContext> {
  if (!browser) throw new Error('no browser');
  const context = await browser.newContext();
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    if (url.split('?')[0] === TURNSTILE_SCRIPT) return route.fulfill({ status: 200, contentType: 'text/javascript', body: FAKE_TURNSTILE });
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return context;
}

describe('the hosted challenge page in Chromium', () => {
  it('solves, lands on the return path with the clearance cookie, and the clearance lifts the challenge', async () => {
    if (!worker) throw new Error('the Worker is not served');
    const origin = `http://localhost:${worker.port}`;
    const challenged = await check(VISITOR);
    expect(challenged.decision).toBe('challenge');
    const ticket = challenged.challenge?.ticket ?? '';
    expect(ticket).not.toBe('');

    const blocked: string[] = [];
    const context = await offlineContext(origin, blocked);
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      /** The browser's requests for the return path, to see the cookie it sent. */
      const landings: Request[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/after') landings.push(r);
      });

      await page.goto(`${origin}/challenge?${new URLSearchParams({ ticket, return: '/after' }).toString()}`);
      // A blocked script (CSP) leaves the page where it is: say why instead of only timing out.
      await page.waitForURL(`${origin}/after`, { timeout: 10_000 }).catch((err: unknown) => {
        throw new Error(`the page did not reach /after (${page.url()}); browser errors: ${JSON.stringify(problems)}`, { cause: err });
      });
      expect(landings).toHaveLength(1);
      const cookieSent = (await landings[0]?.allHeaders())?.cookie ?? '';

      // CSP violations and script errors show up as console errors; /after itself is a 404 here
      // (the Worker serves no site), which Chromium also logs: only that one is expected.
      expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
      expect(blocked).toEqual([]);

      const cookies = await context.cookies(origin);
      const clearance = cookies.find((c) => c.name === 'geogate_clearance');
      expect(clearance).toMatchObject({ domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });
      const ttl = (clearance?.expires ?? 0) - Date.now() / 1000;
      expect(ttl).toBeGreaterThan(1790);
      expect(ttl).toBeLessThanOrEqual(1800);
      // Secure cookies count on http://localhost (a potentially trustworthy origin): sent back at once.
      expect(cookieSent).toBe(`geogate_clearance=${clearance?.value}`);

      expect(siteverifyCalls).toEqual([{ secret: TURNSTILE_SECRET, response: DUMMY_TOKEN, remoteip: '127.0.0.1', idempotency_key: aUuid }]);
      expect(otherOutbound).toEqual([]);

      const cleared = await check({ ...VISITOR, clearance: clearance?.value });
      expect(cleared.decision).toBe('allow');
      expect(cleared.reasons.map((r) => [r.code, r.liftedBy ?? null])).toEqual([
        ['CLEARANCE_VALID', null],
        ['TOR', 'challengeClearance'],
      ]);
    } finally {
      await context.close();
    }
  });
});
