// GET/POST /challenge: the hosted challenge page, for deployments where the Worker fronts the site
// (CHALLENGE_PAGE = "true"; otherwise /challenge is the app's ordinary 404).
//   GET  /challenge?ticket=…&return=/path  renders the Turnstile widget for a challenge's ticket
//   POST /challenge                        verifies the widget's answer, sets the geogate_clearance
//                                          cookie and sends the visitor back (303) to `return`
// Invariants: the visitor's IP is the connection's (CF-Connecting-IP), never a form field; the
// clearance is planned before siteverify, so a request that would be refused anyway does not spend
// the single-use Turnstile token; `return` is only ever a same-origin path ("/" otherwise); every
// interpolated value is HTML-escaped and pages carry a strict CSP; nothing here answers a 2xx to a
// request carrying credentials or Geogate-* headers (promise 3).
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { challengeConfig, type ChallengeConfig, type TurnstileConfig } from '../challenge/config';
import { planClearance, signPlanned, type GrantRefusal, type GrantRequest } from '../challenge/grant';
import { MAX_TOKEN_LENGTH, readTicket } from '../challenge/tokens';
import { MAX_TURNSTILE_TOKEN_LENGTH, siteverify } from '../challenge/turnstile';
import { TURNSTILE_KIND } from '../engine/clearance';
import { isIpAddress } from '../engine/ip';
import type { AppEnv } from '../env';
import { CLEARANCE_COOKIE } from '../facts/forward-headers';
import { limitBody } from '../http/body';
import { methodNotAllowed } from '../http/errors';
import { refuseCredentialedTraffic } from '../http/guards';
import { TURNSTILE_ERRORS } from './challenge';
import { policyInForce } from './decide';
import { bytesToBase64 } from '../engine/base64';

/** The page's path (also the form's action). */
export const CHALLENGE_PAGE_PATH = '/challenge';

/** Turnstile's client script; the CSP allows scripts and frames from its origin only. */
export const TURNSTILE_SCRIPT_URL = 'https://challenges.cloudflare.com/turnstile/v0/api.js';

/** The global function the widget calls with its answer (`data-callback`). */
export const SOLVED_CALLBACK = 'geogateSolved';

/** Largest accepted form: a ticket, a Turnstile token and a path are at most a few KB together. */
const MAX_FORM_BYTES = 16 * 1024;

/** Longest `return` path kept; a longer one sends the visitor to "/". */
export const MAX_RETURN_PATH_LENGTH = 2048;

/**
 * A same-origin path to send the visitor back to, or "/" for anything else. Accepted: "/" then
 * printable ASCII without spaces or backslashes, at most 2048 characters. Refused: "//host" and "/\host"
 * (browsers read both as another host), absolute URLs and schemes (`https:`, `javascript:`),
 * control characters (a tab or newline inside "/\t/host" is dropped by URL parsing, and CR/LF
 * would split the header) and non-ASCII (origins percent-encode their paths).
 */
export function safeReturnPath(value: string | undefined | null): string {
  if (value === undefined || value === null || value.length > MAX_RETURN_PATH_LENGTH) return '/';
  return /^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/.test(value) ? value : '/';
}

/** Whether CHALLENGE_PAGE turns the page on for this deployment. */
export function challengePageEnabled(env: AppEnv['Bindings']): boolean {
  return challengeConfig(env).page;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe inside an element or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** A fresh CSP nonce: 128 random bits, base64. */
function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return bytesToBase64(bytes);
}

/**
 * The challenge page's policy: its one inline script by nonce, Turnstile's script and frame, inline
 * styles, a form that posts back here only (Chromium also applies form-action to the redirect the
 * post answers, so the 303 must stay same-origin), no base tag, no framing.
 */
function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' https://challenges.cloudflare.com`,
    'frame-src https://challenges.cloudflare.com',
    "style-src 'unsafe-inline'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Error pages run no script, load nothing and post nowhere. */
const ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const STYLE = 'body{font-family:system-ui,sans-serif;margin:0;padding:2rem 1rem;color:#1a1a1a;background:#fafafa}main{max-width:32rem;margin:0 auto}h1{font-size:1.4rem}.note{font-size:.9rem;color:#555}';

/** The document around a page's body. */
function documentOf(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
${head}</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** What the widget page shows. */
interface WidgetPage {
  readonly ticket: string;
  readonly returnPath: string;
  readonly siteKey: string;
  readonly action?: string;
  readonly nonce: string;
}

/** The page with the Turnstile widget inside a form that posts its answer back here. */
function widgetPage(p: WidgetPage): string {
  const nonce = escapeHtml(p.nonce);
  // Defined before api.js runs (that script is async): Turnstile calls window[data-callback].
  const head = `<script nonce="${nonce}">function ${SOLVED_CALLBACK}(){document.getElementById("geogate-challenge").submit();}</script>
<script src="${TURNSTILE_SCRIPT_URL}" nonce="${nonce}" async defer></script>
`;
  const action = p.action !== undefined ? ` data-action="${escapeHtml(p.action)}"` : '';
  const body = `<h1>Checking that you are human</h1>
<p>This site asks for a quick check before letting you in. It usually completes by itself; if a box appears, tick it.</p>
<form id="geogate-challenge" method="post" action="${CHALLENGE_PAGE_PATH}">
<input type="hidden" name="ticket" value="${escapeHtml(p.ticket)}">
<input type="hidden" name="return" value="${escapeHtml(p.returnPath)}">
<div class="cf-turnstile" data-sitekey="${escapeHtml(p.siteKey)}"${action} data-callback="${SOLVED_CALLBACK}"></div>
</form>
<noscript><p>This check needs JavaScript. Please turn it on and reload the page.</p></noscript>
<p class="note">The check is Cloudflare Turnstile, which may not load in mainland China. If it does not appear, please contact the site.</p>`;
  return documentOf('Checking that you are human', head, body);
}

/** What an error page tells the visitor: no internals, one thing to do. */
interface PageError {
  readonly status: ContentfulStatusCode;
  readonly title: string;
  readonly message: string;
}

const RELOAD = 'Reload the site to get a new check.';

const ERRORS = {
  notConfigured: { status: 503, title: 'Check unavailable', message: 'This check is not available right now. Please try again later, or contact the site.' },
  policy: { status: 503, title: 'Check unavailable', message: 'This check is not available right now. Please try again in a moment.' },
  ticket: { status: 400, title: 'Check expired', message: `This check has expired or is not valid. ${RELOAD}` },
  mismatch: { status: 400, title: 'Check not valid here', message: `This check was issued for another connection or account. ${RELOAD}` },
  notOffered: { status: 409, title: 'Check not available', message: 'This check cannot be completed on this page. Please contact the site.' },
  form: { status: 400, title: 'Check incomplete', message: `The check was not completed. ${RELOAD}` },
  contentType: { status: 415, title: 'Check incomplete', message: `The check was not sent as a form. ${RELOAD}` },
  noIp: { status: 400, title: 'Check incomplete', message: 'Your connection could not be identified. Please try again later, or contact the site.' },
  turnstile: { status: 400, title: 'Check failed', message: `The check could not be verified. ${RELOAD}` },
  unavailable: { status: 502, title: 'Check unavailable', message: 'The check could not be verified right now. Please try again in a moment.' },
} as const satisfies Record<string, PageError>;

/** The answer of every page: HTML, never cached (tickets and cookies are per visitor), no referrer (the ticket is in the URL). */
function page(c: Context<AppEnv>, status: ContentfulStatusCode, html: string, csp: string): Response {
  c.header('Content-Type', 'text/html; charset=utf-8');
  c.header('Cache-Control', 'no-store');
  c.header('Content-Security-Policy', csp);
  c.header('Referrer-Policy', 'no-referrer');
  return c.body(html, status);
}

/** An error page; `back` (a checked same-origin path) is where "reload" leads. */
function errorPage(c: Context<AppEnv>, e: PageError, back = '/'): Response {
  const body = `<h1>${escapeHtml(e.title)}</h1>
<p>${escapeHtml(e.message)}</p>
<p><a href="${escapeHtml(back)}">Back to the site</a></p>`;
  return page(c, e.status, documentOf(e.title, '', body), ERROR_PAGE_CSP);
}

/** Turnstile, the site key and clearance secrets: what the page needs before it can help anyone. */
function ready(config: ChallengeConfig): { turnstile: TurnstileConfig; siteKey: string; secrets: readonly string[] } | undefined {
  if (config.turnstile === undefined || config.siteKey === undefined || config.clearanceSecrets.length === 0) return undefined;
  return { turnstile: config.turnstile, siteKey: config.siteKey, secrets: config.clearanceSecrets };
}

function notConfigured(c: Context<AppEnv>, back?: string): Response {
  console.error('geogate: the challenge page is on but TURNSTILE_SECRET, TURNSTILE_HOSTNAMES, TURNSTILE_SITE_KEY or CLEARANCE_SECRET is not usable; see /healthz');
  return errorPage(c, ERRORS.notConfigured, back);
}

/** The page of a refused grant. */
function refusedPage(c: Context<AppEnv>, r: GrantRefusal, back: string): Response {
  switch (r.code) {
    case 'TICKET_INVALID':
      return errorPage(c, ERRORS.ticket, back);
    case 'TICKET_MISMATCH':
      return errorPage(c, ERRORS.mismatch, back);
    case 'KIND_NOT_OFFERED':
      return errorPage(c, ERRORS.notOffered, back);
    case 'INVALID_REQUEST':
      return errorPage(c, ERRORS.form, back);
  }
}

/** Whether the body is a URL-encoded form (what `<form method="post">` sends without enctype). */
function isUrlEncodedForm(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** The form's fields; a repeated field makes the form unreadable (which copy would count is a guess). */
function formFields(text: string): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (fields.has(name)) return undefined;
    fields.set(name, value);
  }
  return fields;
}

/** The clearance cookie, as /v1/authorize reads it back from the forwarded Cookie header. */
function clearanceCookie(token: string, maxAgeSeconds: number): string {
  return `${CLEARANCE_COOKIE}=${token}; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; Secure; SameSite=Lax`;
}

/** Off unless CHALLENGE_PAGE = "true": then /challenge answers exactly as a path that does not exist. */
const pageSwitch: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!challengePageEnabled(c.env)) return c.notFound();
  await next();
};

/** Routes of the hosted challenge page. */
export const challengePageRoutes = new Hono<AppEnv>()
  .use(CHALLENGE_PAGE_PATH, pageSwitch, refuseCredentialedTraffic)
  .get(CHALLENGE_PAGE_PATH, async (c) => {
    const returnPath = safeReturnPath(c.req.query('return'));
    const config = ready(challengeConfig(c.env, c.req.url));
    if (!config) return notConfigured(c, returnPath);
    const ticket = c.req.query('ticket') ?? '';
    // Read here so that a stale link says "reload" before the visitor solves anything.
    const read = await readTicket(ticket, config.secrets, Date.now());
    if (!read.ok) return errorPage(c, ERRORS.ticket, returnPath);
    if (!read.ticket.kinds.includes(TURNSTILE_KIND)) return errorPage(c, ERRORS.notOffered, returnPath);
    const nonce = newNonce();
    const action = config.turnstile.action;
    const html = widgetPage({ ticket, returnPath, siteKey: config.siteKey, nonce, ...(action !== undefined ? { action } : {}) });
    return page(c, 200, html, pageCsp(nonce));
  })
  .post(CHALLENGE_PAGE_PATH, limitBody(MAX_FORM_BYTES), async (c) => {
    const config = ready(challengeConfig(c.env, c.req.url));
    if (!config) return notConfigured(c);
    if (!isUrlEncodedForm(c.req.header('content-type'))) return errorPage(c, ERRORS.contentType);
    // Read as bytes: workerd warns when .text() is called on a body whose type is not text.
    const fields = formFields(new TextDecoder().decode(await c.req.arrayBuffer()));
    if (!fields) return errorPage(c, ERRORS.form);
    const back = safeReturnPath(fields.get('return'));
    const ticket = fields.get('ticket') ?? '';
    const token = fields.get('cf-turnstile-response') ?? '';
    if (ticket === '' || ticket.length > MAX_TOKEN_LENGTH) return errorPage(c, ERRORS.ticket, back);
    if (token === '' || token.length > MAX_TURNSTILE_TOKEN_LENGTH) return errorPage(c, ERRORS.form, back);
    // Cloudflare sets CF-Connecting-IP on every request to a Worker (replacing any the client sent).
    const ip = c.req.header('cf-connecting-ip')?.trim() ?? '';
    if (!isIpAddress(ip)) return errorPage(c, ERRORS.noIp, back);

    const now = Date.now();
    const read = await readTicket(ticket, config.secrets, now);
    if (!read.ok) return errorPage(c, ERRORS.ticket, back);
    const answer = await policyInForce(c, now);
    if (answer.kind !== 'policy') return errorPage(c, ERRORS.policy, back);
    const policy = answer.compiled;
    // The account is the ticket's own: the page knows nothing else about the visitor.
    const account = read.ticket.account;
    const req: GrantRequest = { kind: TURNSTILE_KIND, ...(account !== undefined ? { account } : {}), ip, ticket };
    // Refuse what cannot be cleared before spending the single-use token.
    const plan = await planClearance(req, policy, config.secrets, now);
    if (!plan.ok) return refusedPage(c, plan.refusal, back);

    const outcome = await siteverify(config.turnstile, { token, ip, idempotencyKey: crypto.randomUUID() });
    if (!outcome.ok) {
      const status = TURNSTILE_ERRORS[outcome.kind].status;
      return errorPage(c, status === 400 ? ERRORS.turnstile : { ...ERRORS.unavailable, status }, back);
    }
    const granted = await signPlanned(plan.grant, config.secrets[0] ?? '', Date.now());
    c.header('Set-Cookie', clearanceCookie(granted.clearance, policy.challenge.clearanceTtlSeconds));
    c.header('Cache-Control', 'no-store');
    c.header('Referrer-Policy', 'no-referrer');
    return c.redirect(back, 303);
  })
  .all(CHALLENGE_PAGE_PATH, methodNotAllowed(['GET', 'POST']));
