// The shipped proxy examples, run for real: Debian's nginx (examples/nginx/geogate.conf) and Caddy
// (examples/caddy/Caddyfile) in front of a sample origin, asking the built Worker (served by
// Miniflare on loopback, offline) about every request. The "user" is this test, sending what
// Cloudflare in front of the proxy would add (CF-Connecting-IP, CF-IPCountry...: the proxy's own
// view of the user, which the examples map into Geogate-*) plus whatever the user chooses to send,
// forged Geogate-* headers included. scripts/ensure-proxies.mjs installs nginx and Caddy.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Response as MiniflareResponse, type Request as MiniflareRequest } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWorker, type ServedWorker } from '../browser/serve-worker';
import { jsonOf, send, startEchoOrigin, type Answer, type EchoOrigin, type OriginHit } from './http';
import { CADDY, NGINX, startCaddy, startNginx, type ProxyTargets, type RunningProxy } from './proxies';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHECK_TOKEN = 'proxies-check-token-0123456789';
const ADMIN_TOKEN = 'proxies-admin-token-0123456789';
const SITEVERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';

/** The organisation the test policy lets in whatever else it shows: what a forged Geogate-Org-Id would claim. */
const PARTNER_ORG = 'org-partner';

/** Cloudflare's view of a user in New York (the visitor-location headers in front of the proxy). */
const IN_US = { 'cf-connecting-ip': '198.51.100.7', 'cf-ipcountry': 'US', 'cf-timezone': 'America/New_York', 'cf-ipcity': 'New York' };
/** ... in Shanghai. */
const IN_CN = { 'cf-connecting-ip': '198.51.100.8', 'cf-ipcountry': 'CN', 'cf-timezone': 'Asia/Shanghai' };
/** ... behind a Tor exit (the default policy challenges T1). */
const VIA_TOR = { 'cf-connecting-ip': '198.51.100.9', 'cf-ipcountry': 'T1' };

/** No network: siteverify always passes (the hosted page's Turnstile), everything else fails. */
function outbound(request: MiniflareRequest): MiniflareResponse {
  if (request.url !== SITEVERIFY_URL) return new MiniflareResponse('no network in tests', { status: 502 });
  return MiniflareResponse.json({ success: true, 'error-codes': [], hostname: 'localhost', challenge_ts: new Date().toISOString() });
}

let worker: ServedWorker | undefined;
let origin: EchoOrigin | undefined;

/** The served Worker (beforeAll started it). */
function geogate(): ServedWorker {
  if (!worker) throw new Error('the Worker is not served');
  return worker;
}

/** The sample origin (beforeAll started it). */
function app(): EchoOrigin {
  if (!origin) throw new Error('the sample origin is not running');
  return origin;
}

/** Calls geogate's /v1/authorize directly, as a proxy that forwarded everything would. */
function authorizeDirectly(headers: Record<string, string>): Promise<Answer> {
  return send(new URL('/v1/authorize', geogate().url).href, { headers: { authorization: `Bearer ${CHECK_TOKEN}`, ...headers } });
}

beforeAll(async () => {
  for (const binary of [NGINX, CADDY]) {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`node scripts/ensure-proxies.mjs\` (installs Debian's nginx and caddy)`);
  }
  origin = await startEchoOrigin();
  worker = await serveWorker({
    bindings: {
      CHECK_TOKEN,
      ADMIN_TOKEN,
      MEMORY_HASH_SECRET: 'proxies-memory-hash-secret',
      GEO_FROM_CF: 'false',
      CLEARANCE_SECRET: 'proxies-clearance-secret-0123456789abcdef',
      TURNSTILE_SECRET: '1x0000000000000000000000000000000AA',
      TURNSTILE_SITE_KEY: '1x00000000000000000000AA',
      TURNSTILE_HOSTNAMES: 'localhost',
      CHALLENGE_PAGE: 'true',
    },
    outbound,
  });
  // The default policy, plus an allow-exception for one organisation: a Geogate-Org-Id that got
  // through would turn a challenge into an allow.
  const policy = JSON.parse(await readFile(join(root, 'src', 'policy', 'default-policy.json'), 'utf8')) as { version: string; rules: unknown[] };
  policy.version = 'proxies-test-1';
  policy.rules.push({ id: 'partner-org', description: 'A partner organisation, let in whatever else it shows.', type: 'account', action: 'allow', orgs: [PARTNER_ORG] });
  const put = await send(new URL('/v1/policy', geogate().url).href, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'if-none-match': '*' }, body: JSON.stringify(policy) });
  if (put.status !== 200) throw new Error(`PUT /v1/policy: ${put.status} ${put.body}`);
});

afterAll(async () => {
  await Promise.allSettled([worker?.stop(), origin?.stop()]);
});

/** The challenge as each proxy hands it to the user. */
interface ChallengeSeen {
  readonly decision: unknown;
  readonly reasons: string[];
  readonly ticket: unknown;
}

/** How each example answers, where they differ. */
interface ProxyCase {
  readonly name: string;
  readonly start: (targets: ProxyTargets) => Promise<RunningProxy>;
  /** Reads the challenge out of the 401's JSON body. */
  readonly challengeOf: (answer: Answer) => ChallengeSeen;
  /** Reads the decision out of the 403's JSON body. */
  readonly denialOf: (answer: Answer) => { decision: unknown; reasons: string[] };
}

/** geogate's own decision body (Caddy returns it as it is). */
interface DecisionBody {
  decision: string;
  reasons: { code: string }[];
  challenge?: { kinds: string[]; ticket?: string };
}

/** The body examples/nginx/geogate.conf builds from geogate's headers (nginx drops the subrequest's body). */
interface NginxBody {
  decision: string;
  reasons: string;
  challengeKinds?: string;
  challengeTicket?: string;
  challengePage?: string;
  requestId: string;
}

const codes = (list: string) => list.split(',').filter(Boolean);

const PROXIES: ProxyCase[] = [
  {
    name: 'nginx auth_request (examples/nginx/geogate.conf)',
    start: startNginx,
    challengeOf: (a) => {
      const body = jsonOf<NginxBody>(a);
      // The link to the hosted page carries the ticket and the path the user asked for.
      expect(body.challengePage).toBe(`/challenge?ticket=${body.challengeTicket ?? ''}&return=/reports/q3`);
      expect(body.challengeKinds).toBe(a.headers['geogate-challenge-kinds']);
      expect(body.requestId).toBe(a.headers['geogate-request-id']);
      return { decision: body.decision, reasons: codes(body.reasons), ticket: body.challengeTicket };
    },
    denialOf: (a) => {
      const body = jsonOf<NginxBody>(a);
      return { decision: body.decision, reasons: codes(body.reasons) };
    },
  },
  {
    name: 'Caddy forward_auth (examples/caddy/Caddyfile)',
    start: startCaddy,
    challengeOf: (a) => {
      const body = jsonOf<DecisionBody>(a);
      expect(body.challenge?.kinds.join(',')).toBe(a.headers['geogate-challenge-kinds']);
      return { decision: body.decision, reasons: body.reasons.map((r) => r.code), ticket: body.challenge?.ticket };
    },
    denialOf: (a) => {
      const body = jsonOf<DecisionBody>(a);
      return { decision: body.decision, reasons: body.reasons.map((r) => r.code) };
    },
  },
];

/** A compact JWS (the ticket's shape). */
const JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;

describe.each(PROXIES)('$name', (proxyCase) => {
  let proxy: RunningProxy | undefined;
  /** The same example, configured with a token geogate refuses (a rotation gone wrong). */
  let misconfigured: RunningProxy | undefined;

  beforeAll(async () => {
    const targets = { geogatePort: geogate().port, appPort: app().port };
    proxy = await proxyCase.start({ ...targets, token: CHECK_TOKEN });
    misconfigured = await proxyCase.start({ ...targets, token: 'a-rotated-away-token-0123456789' });
  });

  afterAll(async () => {
    await Promise.allSettled([proxy?.stop(), misconfigured?.stop()]);
  });

  /** Sends a request through the proxy; answers what came back and what reached the app. */
  async function through(target: RunningProxy | undefined, path: string, headers: Record<string, string>): Promise<{ answer: Answer; hits: OriginHit[] }> {
    if (!target) throw new Error('the proxy is not running');
    const before = app().hits.length;
    const answer = await send(`${target.url}${path}`, { headers });
    return { answer, hits: app().hits.slice(before) };
  }

  it('denies a user Cloudflare places in CN (403, JSON decision), and the app never sees the request, whatever the user claims', async () => {
    const { answer, hits } = await through(proxy, '/', { ...IN_CN, 'geogate-country': 'US', 'geogate-decision': 'allow', 'geogate-token': CHECK_TOKEN });
    expect(answer.status).toBe(403);
    expect(answer.headers['geogate-decision']).toBe('deny');
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(proxyCase.denialOf(answer)).toEqual({ decision: 'deny', reasons: ['COUNTRY_DENIED'] });
    expect(hits).toEqual([]);
  });

  it("lets an allowed user through to the app, which sees geogate's Geogate-Decision: allow and none of the user's own verdict headers", async () => {
    // A client-sent Geogate-Country: CN would be denied if it reached geogate; Geogate-Decision and
    // Geogate-Reasons from the user must not reach the app either.
    const user = { ...IN_US, 'geogate-client-timezone': 'America/New_York', 'accept-language': 'en-US', 'geogate-country': 'CN', 'geogate-decision': 'deny', 'geogate-reasons': 'FORGED', 'geogate-request-id': 'forged-id' };
    const { answer, hits } = await through(proxy, '/orders/42?page=2', user);
    expect(answer.status).toBe(200);
    expect(answer.headers['x-sample-origin']).toBe('yes');
    expect(hits).toHaveLength(1);
    const [hit] = hits;
    expect(hit?.url).toBe('/orders/42?page=2');
    expect(hit?.headers['geogate-decision']).toBe('allow');
    // geogate's reasons for this request are none: the app sees them empty, not the user's.
    expect(hit?.headers['geogate-reasons'] ?? '').toBe('');
    expect(hit?.headers['geogate-request-id']).toMatch(/^[\w-]{16,}$/);
    expect(hit?.headers['geogate-request-id']).not.toBe('forged-id');
  });

  it('hands a challenge back as the challenge: 401, Geogate-Decision: challenge, the ticket, and the decision as JSON', async () => {
    // A browser claiming Shanghai's clock from a New York address (the client claim passes through).
    const { answer, hits } = await through(proxy, '/reports/q3', { ...IN_US, 'geogate-client-timezone': 'Asia/Shanghai' });
    expect(answer.status).toBe(401);
    expect(answer.headers['geogate-decision']).toBe('challenge');
    expect(answer.headers['geogate-challenge-kinds']).toBe('step-up,turnstile');
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers.location).toBeUndefined();
    const ticket = answer.headers['geogate-challenge-ticket'];
    expect(ticket).toMatch(JWS);
    const seen = proxyCase.challengeOf(answer);
    expect(seen.decision).toBe('challenge');
    expect(seen.ticket).toBe(ticket);
    expect(seen.reasons).toEqual(expect.arrayContaining(['TZ_RESTRICTED', 'TZ_MISMATCH', 'SCORE_CHALLENGE']));
    expect(hits).toEqual([]);
  });

  it("never lets a user-sent Geogate-Response: full turn the challenge body into the whole decision (its evidence)", async () => {
    const { answer } = await through(proxy, '/reports/q3', { ...IN_US, 'geogate-client-timezone': 'Asia/Shanghai', 'geogate-response': 'full' });
    expect(answer.status).toBe(401);
    expect(answer.body).not.toMatch(/"evidence"|"signals"|"intel"|"memory"/);
    expect(proxyCase.challengeOf(answer).decision).toBe('challenge');
  });

  it('never lets a user-sent Geogate-Org-Id reach geogate', async () => {
    const user = { ...VIA_TOR, 'geogate-org-id': PARTNER_ORG };
    // Had the header reached geogate, the partner exception would let this Tor user in:
    const direct = await authorizeDirectly({ 'geogate-country': 'T1', 'geogate-org-id': PARTNER_ORG });
    expect(direct.status).toBe(200);
    // Through the proxy, geogate judges a Tor user without an organisation: a challenge.
    const { answer, hits } = await through(proxy, '/', user);
    expect(answer.status).toBe(401);
    expect(answer.headers['geogate-decision']).toBe('challenge');
    expect(answer.headers['geogate-reasons']).toBe('TOR');
    expect(hits).toEqual([]);
  });

  it('answers a refused check token with an error (500), never a challenge or a redirect, and never reaches the app', async () => {
    for (const user of [VIA_TOR, IN_US]) {
      const { answer, hits } = await through(misconfigured, '/', user);
      expect(answer.status).toBe(500);
      expect(answer.headers['geogate-decision']).toBeUndefined();
      expect(answer.headers.location).toBeUndefined();
      expect(hits).toEqual([]);
    }
    // The same requests through the correctly configured proxy are decided: the token made the difference.
    expect((await through(proxy, '/', VIA_TOR)).answer.status).toBe(401);
  });

  it("carries the hosted page's clearance cookie to geogate, which lifts the challenge", async () => {
    const challenged = await through(proxy, '/reports/q3', VIA_TOR);
    expect(challenged.answer.status).toBe(401);
    const ticket = challenged.answer.headers['geogate-challenge-ticket'];
    if (typeof ticket !== 'string') throw new Error('no ticket');
    // The hosted page on the Worker, from the user's address (Cloudflare's CF-Connecting-IP).
    const form = new URLSearchParams({ ticket, return: '/reports/q3', 'cf-turnstile-response': 'XXXX.DUMMY.TOKEN.XXXX' });
    const solved = await send(new URL('/challenge', geogate().url).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': VIA_TOR['cf-connecting-ip'] }, body: form.toString() });
    expect(solved.status).toBe(303);
    const cookie = (solved.headers['set-cookie'] ?? []).map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith('geogate_clearance='));
    if (cookie === undefined) throw new Error(`no clearance cookie: ${JSON.stringify(solved.headers)}`);
    const { answer, hits } = await through(proxy, '/reports/q3', { ...VIA_TOR, cookie: `session=abc; ${cookie}` });
    expect(answer.status).toBe(200);
    expect(hits).toHaveLength(1);
    expect(hits[0]?.headers['geogate-decision']).toBe('allow');
    expect(codes(String(hits[0]?.headers['geogate-reasons']))).toContain('CLEARANCE_VALID');
  });
});
