// The hosted challenge page (GET/POST /challenge) through the Worker: what it renders and under
// which headers, how a solved widget becomes the geogate_clearance cookie that /v1/authorize
// honours, and every way it refuses (stale tickets, another network, spent or foreign Turnstile
// answers, siteverify down, open redirects, check traffic that lands here). Siteverify is stubbed
// with a spy on globalThis.fetch: the worker runs in this test's isolate (see challenge.test.ts).
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { escapeHtml, safeReturnPath } from '../../src/routes/challenge-page';
import { CHECK_TOKEN, postCheck, resetPolicyState } from '../helpers';
import { stubSiteverify, verified } from '../siteverify-stub';

const SITE_KEY = '1x00000000000000000000AA';
const TURNSTILE_SECRET = '1x0000000000000000000000000000000AA';
const ORIGIN = 'https://example.com';

/** The visitor as the page sees them (CF-Connecting-IP) and as the origin checked them. */
const VISITOR_IP = '198.51.100.7';
const ACCOUNT = 'acct-page';
/** The default policy challenges Tor exits (country T1); the origin saw .20 of the same /24. */
const CHECKED = { ip: '198.51.100.20', geo: { country: 'T1' }, account: { id: ACCOUNT } };

/** A random (v4) UUID, as a typed matcher (vitest's matchers return any). */
const aUuid = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) as unknown as string;

interface DecisionJson {
  decision: string;
  reasons: { code: string }[];
  challenge?: { ticket?: string };
}
interface ErrorJson {
  error: { code: string; message: string };
}



const siteverify = stubSiteverify();

beforeEach(async () => {
  await resetPolicyState();
});

/** A fresh ticket from a challenged /v1/check. */
async function ticketFor(body: unknown = CHECKED): Promise<string> {
  const res = await postCheck(body);
  expect(res.status).toBe(200);
  const d = await res.json<DecisionJson>();
  expect(d.decision).toBe('challenge');
  const ticket = d.challenge?.ticket;
  if (ticket === undefined) throw new Error('the challenge carries no ticket');
  return ticket;
}

function getPage(query: Record<string, string>, headers: Record<string, string> = {}) {
  return SELF.fetch(`${ORIGIN}/challenge?${new URLSearchParams(query).toString()}`, { headers });
}

/** Posts the page's form as a browser would, from `ip`. */
function submit(fields: Record<string, string>, options: { ip?: string | null; headers?: Record<string, string>; body?: string } = {}) {
  const ip = options.ip === undefined ? VISITOR_IP : options.ip;
  return SELF.fetch(`${ORIGIN}/challenge`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(ip !== null ? { 'cf-connecting-ip': ip } : {}), ...options.headers },
    body: options.body ?? new URLSearchParams(fields).toString(),
  });
}

/** A solved widget's form for a fresh ticket. */
async function solvedForm(returnPath = '/after'): Promise<Record<string, string>> {
  return { ticket: await ticketFor(), return: returnPath, 'cf-turnstile-response': 'XXXX.DUMMY.TOKEN.XXXX' };
}

/** The value of `name`'s attribute on the first tag matching `tag` (e.g. `input name="ticket"`). */
function attribute(html: string, tag: RegExp, name: string): string | undefined {
  const element = tag.exec(html)?.[0];
  return element === undefined ? undefined : new RegExp(`\\s${name}="([^"]*)"`).exec(element)?.[1];
}

/** An error page: HTML, uncached, with a message for the visitor. */
async function expectErrorPage(res: Response, status: number, says: RegExp): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('set-cookie')).toBeNull();
  const html = await res.text();
  expect(html).toMatch(says);
  return html;
}

describe('CHALLENGE_PAGE', () => {
  // Bindings are fixed per pool: the app is called with a copy of them, switched off.
  it('off: /challenge is the ordinary JSON 404, for every method and with or without credentials', async () => {
    const off = { ...env, CHALLENGE_PAGE: 'false' };
    const app = createApp();
    const missing = await app.request('/no-such-page', {}, off);
    expect(missing.status).toBe(404);
    const inits: RequestInit[] = [{}, { method: 'POST', body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, { headers: { authorization: `Bearer ${CHECK_TOKEN}` } }];
    for (const init of inits) {
      const res = await app.request('/challenge?ticket=x', init, off);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await res.json<ErrorJson>()).error.code).toBe('NOT_FOUND');
    }
    // The same app and bindings with the switch on: the page answers (here: no ticket).
    const on = await app.request('/challenge', {}, { ...env });
    expect(on.status).toBe(400);
    expect(on.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });
});

describe('GET /challenge', () => {
  it('renders the widget for the ticket: site key, callback, hidden ticket and escaped return path', async () => {
    const ticket = await ticketFor();
    const returnPath = `/after?a=1&b=<"x'>`;
    const res = await getPage({ ticket, return: returnPath });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toMatch(/<title>[^<]+<\/title>/);
    expect(html).not.toMatch(/<link|@import|url\(/);
    expect(html).toContain('<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" nonce="');
    expect(html).toMatch(/api\.js" nonce="[^"]+" async defer><\/script>/);
    expect(html).toContain('<form id="geogate-challenge" method="post" action="/challenge">');
    expect(attribute(html, /<input[^>]*name="ticket"[^>]*>/, 'value')).toBe(ticket);
    expect(html).toContain('<input type="hidden" name="return" value="/after?a=1&amp;b=&lt;&quot;x&#39;&gt;">');
    expect(html).toContain(`<div class="cf-turnstile" data-sitekey="${SITE_KEY}" data-callback="geogateSolved"></div>`);
    expect(html).toMatch(/<noscript>.*JavaScript.*<\/noscript>/);
    expect(html).toMatch(/may not load in mainland China\. If it does not appear, please contact the site\./);
  });

  it('sends a strict CSP whose nonce is the inline script’s, new on every render', async () => {
    const ticket = await ticketFor();
    const nonces: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await getPage({ ticket, return: '/' });
      const csp = res.headers.get('content-security-policy') ?? '';
      const nonce = /'nonce-([A-Za-z0-9+/=]{22,})'/.exec(csp)?.[1] ?? '';
      expect(csp).toBe(
        `default-src 'none'; script-src 'nonce-${nonce}' https://challenges.cloudflare.com; frame-src https://challenges.cloudflare.com; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
      );
      const html = await res.text();
      const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1] ?? '');
      expect(scripts).toHaveLength(2);
      for (const s of scripts) expect(s).toContain(` nonce="${nonce}"`);
      expect(html).toContain(`<script nonce="${nonce}">function geogateSolved(){document.getElementById("geogate-challenge").submit();}</script>`);
      nonces.push(nonce);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it.each([
    ['no ticket', {}],
    ['an empty ticket', { ticket: '' }],
    ['something that is not a ticket', { ticket: '<script>alert(1)</script>' }],
    ['a ticket over 4096 characters', { ticket: 'x'.repeat(4097) }],
  ])('answers %s with a 400 page saying to reload the site, echoing nothing', async (_name, query) => {
    const html = await expectErrorPage(await getPage(query), 400, /Reload the site to get a new check\./);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('alert');
  });

  it('renders a return path that is not a same-origin path as "/"', async () => {
    const ticket = await ticketFor();
    const html = await (await getPage({ ticket, return: '//evil.example/x' })).text();
    expect(html).toContain('<input type="hidden" name="return" value="/">');
  });
});

describe('check traffic that lands on /challenge (promise 3)', () => {
  it.each([
    ['GET with the check token in Authorization', 'GET', { authorization: `Bearer ${CHECK_TOKEN}` }],
    ['GET with a Geogate-Ip header', 'GET', { 'geogate-ip': VISITOR_IP }],
    ['GET with Geogate-Token', 'GET', { 'geogate-token': CHECK_TOKEN }],
    ['POST with the check token and Geogate-* headers', 'POST', { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': VISITOR_IP, 'geogate-country': 'T1' }],
  ])('%s: 400 MISROUTED, siteverify never called', async (_name, method, headers) => {
    const ticket = await ticketFor();
    const query = new URLSearchParams({ ticket, return: '/' }).toString();
    const init: RequestInit = method === 'GET' ? { headers } : { method, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': VISITOR_IP }, body: `${query}&cf-turnstile-response=tok`, redirect: 'manual' };
    const res = await SELF.fetch(`${ORIGIN}/challenge?${query}`, init);
    expect(res.status).toBe(400);
    expect((await res.json<ErrorJson>()).error.code).toBe('MISROUTED');
    expect(siteverify.calls).toHaveLength(0);
  });

  it('a forward-auth request whose path resolves to /challenge never gets a 2xx', async () => {
    const ticket = await ticketFor();
    const res = await SELF.fetch(`${ORIGIN}/v1/authorize/%2e%2e/%2e%2e/challenge?ticket=${ticket}`, {
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': VISITOR_IP, 'geogate-country': 'T1', 'geogate-account-id': ACCOUNT },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).not.toBe(401);
    await res.body?.cancel();
  });
});

describe('POST /challenge', () => {
  it('verifies the answer, sets the clearance cookie and sends the visitor back (303); /v1/authorize then allows', async () => {
    const headers = { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-ip': VISITOR_IP, 'geogate-country': 'T1', 'geogate-account-id': ACCOUNT };
    const before = await SELF.fetch(`${ORIGIN}/v1/authorize`, { headers });
    expect(before.status).toBe(401);
    await before.body?.cancel();

    const form = await solvedForm('/after?x=1');
    const res = await submit(form);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/after?x=1');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^geogate_clearance=[\w-]+\.[\w-]+\.[\w-]+; Max-Age=1800; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(siteverify.calls).toEqual([{ secret: TURNSTILE_SECRET, response: 'XXXX.DUMMY.TOKEN.XXXX', remoteip: VISITOR_IP, idempotency_key: aUuid }]);

    const clearance = /^geogate_clearance=([^;]+)/.exec(cookie)?.[1] ?? '';
    const after = await SELF.fetch(`${ORIGIN}/v1/authorize`, { headers: { ...headers, cookie: `session=abc; geogate_clearance=${clearance}` } });
    expect(after.status).toBe(200);
    expect(after.headers.get('geogate-decision')).toBe('allow');
    expect(after.headers.get('geogate-reasons')).toBe('CLEARANCE_VALID');
    expect((await after.json<DecisionJson>()).reasons.map((r) => r.code)).toEqual(['CLEARANCE_VALID', 'TOR']);
  });

  it.each([['//evil.example'], ['https://evil.example'], ['/\\evil.example'], ['javascript:alert(1)'], ['/\t/evil.example'], ['/after\r\nSet-Cookie: x=1'], [''], [`/${'a'.repeat(2048)}`]])(
    'sends the visitor to "/" when return is %j',
    async (returnPath) => {
      const res = await submit(await solvedForm(returnPath));
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/');
      expect(res.headers.get('set-cookie')).toMatch(/^geogate_clearance=/);
    },
  );

  it('refuses a visitor in another network than the ticket’s without spending the token', async () => {
    const html = await expectErrorPage(await submit(await solvedForm(), { ip: '203.0.113.9' }), 400, /issued for another connection/);
    expect(html).toContain('<a href="/after">');
    expect(siteverify.calls).toHaveLength(0);
  });

  it('refuses a spent token (timeout-or-duplicate): 400 page, no cookie', async () => {
    siteverify.answer = () => Response.json({ success: false, 'error-codes': ['timeout-or-duplicate'] });
    await expectErrorPage(await submit(await solvedForm()), 400, /could not be verified\. Reload the site/);
    expect(siteverify.calls).toHaveLength(1);
  });

  it('refuses an answer solved on a hostname the deployment does not list: 400', async () => {
    siteverify.answer = () => verified({ hostname: 'evil.example' });
    await expectErrorPage(await submit(await solvedForm()), 400, /could not be verified/);
  });

  it('answers 502 when siteverify fails twice', async () => {
    siteverify.answer = () => new Response('down', { status: 503 });
    await expectErrorPage(await submit(await solvedForm()), 502, /try again in a moment/);
    expect(siteverify.calls).toHaveLength(2);
  });

  it('gives up after 3 s when siteverify does not answer: 504', async () => {
    siteverify.answer = () => new Promise<Response>(() => undefined);
    const form = await solvedForm();
    const started = Date.now();
    await expectErrorPage(await submit(form), 504, /try again in a moment/);
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('refuses a stale or forged ticket before siteverify', async () => {
    const form = await solvedForm();
    await expectErrorPage(await submit({ ...form, ticket: `${form.ticket}x` }), 400, /Reload the site to get a new check\./);
    expect(siteverify.calls).toHaveLength(0);
  });

  it('needs the connection’s IP (CF-Connecting-IP): 400 without it', async () => {
    await expectErrorPage(await submit(await solvedForm(), { ip: null }), 400, /connection could not be identified/);
    await expectErrorPage(await submit(await solvedForm(), { ip: 'not-an-ip' }), 400, /connection could not be identified/);
    expect(siteverify.calls).toHaveLength(0);
  });

  it.each([
    ['no Turnstile answer', (f: Record<string, string>) => ({ ticket: f.ticket ?? '', return: '/' }), 400],
    ['an answer over 2048 characters', (f: Record<string, string>) => ({ ...f, 'cf-turnstile-response': 'x'.repeat(2049) }), 400],
  ])('refuses a form with %s without calling siteverify', async (_name, edit, status) => {
    await expectErrorPage(await submit(edit(await solvedForm())), status, /not completed/);
    expect(siteverify.calls).toHaveLength(0);
  });

  it('refuses a repeated field (which copy counts would be a guess)', async () => {
    const form = await solvedForm();
    const body = `${new URLSearchParams(form).toString()}&ticket=other`;
    await expectErrorPage(await submit({}, { body }), 400, /not completed/);
    expect(siteverify.calls).toHaveLength(0);
  });

  it('takes URL-encoded forms only (415), at most 16 KB (413)', async () => {
    const form = await solvedForm();
    await expectErrorPage(await submit({}, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(form) }), 415, /not sent as a form/);
    const big = await submit({}, { body: `${new URLSearchParams(form).toString()}&pad=${'x'.repeat(17 * 1024)}` });
    expect(big.status).toBe(413);
    await big.body?.cancel();
    expect(siteverify.calls).toHaveLength(0);
  });

  it('serves GET and POST only', async () => {
    const res = await SELF.fetch(`${ORIGIN}/challenge`, { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    await res.body?.cancel();
  });
});

describe('safeReturnPath', () => {
  it.each([
    ['/', '/'],
    ['/after', '/after'],
    ['/a/b?c=d&e=%2F%2Fx#frag', '/a/b?c=d&e=%2F%2Fx#frag'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['/a\\b', '/'],
    ['https://evil.example/', '/'],
    ['javascript:alert(1)', '/'],
    ['after', '/'],
    ['/a b', '/'],
    ['/café', '/'],
    ['/\x00', '/'],
    ['/\x7f', '/'],
    ['', '/'],
    [undefined, '/'],
    [`/${'a'.repeat(2047)}`, `/${'a'.repeat(2047)}`],
    [`/${'a'.repeat(2048)}`, '/'],
  ])('%j -> %j', (value, want) => {
    expect(safeReturnPath(value)).toBe(want);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that end text or a quoted attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });
});
