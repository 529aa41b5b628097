// Hostile input on the rest of the surface: every route (and unknown paths) with any method,
// credentials, headers and body never answers a 5xx (but the contractual ones) or a non-JSON
// error, and never a 2xx to check traffic that is not a decision (promise 3); the admin API with
// the admin token and random or near-valid bodies answers 4xx JSON, never 5xx; the challenge API
// and the hosted page, with siteverify answering anything, never reflect markup or redirect off
// the origin; and a sample through SELF.fetch answers as the handler does.
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTicket } from '../../src/challenge/tokens';
import { CLEARABLE_CODES } from '../../src/engine/clearance';
import { ADMIN_TOKEN, CHECK_TOKEN, CLEARANCE_SECRET, defaultDocument } from '../helpers';
import { stubSiteverify, verified } from '../siteverify-stub';
import {
  appAnswer, AUTHORIZE_TOKEN_REFUSED, errorCode, FUZZ_POLICIES, fuzz, quietFile, send, Tally, usePolicy,
  type AllowedServerError, type Answer,
} from './harness';
import { headersFor, hostileStringArb, jsonStyleArb, writeJson } from './hostile';
import { baseArb } from './variants';

const ORIGIN = 'https://geogate.test';
const siteverify = stubSiteverify();

/** A request, described so that it can be built twice (the handler and SELF.fetch each consume one). */
interface Spec {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: string;
}

function build(spec: Spec): Request {
  const headers = new Headers();
  for (const [n, v] of spec.headers) headers.append(n, v);
  const upper = spec.method.toUpperCase();
  const body = spec.body !== undefined && upper !== 'GET' && upper !== 'HEAD' ? spec.body : undefined;
  return new Request(`${ORIGIN}${spec.path}`, { method: spec.method, headers, ...(body !== undefined ? { body } : {}) });
}

/** The 5xx each route answers by contract: forward-auth's refused token, and Turnstile unreachable (502). */
function allowedFor(path: string): AllowedServerError[] {
  return path.startsWith('/v1/authorize') ? [AUTHORIZE_TOKEN_REFUSED] : [{ status: 502, code: 'TURNSTILE_UNAVAILABLE' }];
}

quietFile();
beforeAll(() => usePolicy(FUZZ_POLICIES.default));

// ---------------------------------------------------------------------------------------------
// Generators.

const idArb = fc.oneof(
  fc.constantFrom('acct-1', '..', '.', '%2e%2e', '%2E', '%zz', '%E0%A4%A', 'a%2Fb', '__proto__', 'constructor', '', '%00', '%F0%9F%98%80', '%ED%A0%80'),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.integer({ min: 250, max: 400 }).map((n) => 'a'.repeat(n)),
);
const listNameArb = fc.oneof(fc.constantFrom('blocked', 'x4b-vpn', 'UPPER', 'a..b', '%2e%2e', '__proto__', 'a'.repeat(65), 'ok-list_1.v2'), fc.string({ maxLength: 70 }).map(encodeURIComponent));

const pathArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      '/healthz', '/openapi.json', '/docs', '/challenge', '/v1/check', '/v1/authorize', '/v1/authorize/x', '/v1/policy', '/v1/policy/validate', '/v1/policy/versions', '/v1/policy/rollback',
      '/v1/lists', '/v1/simulate', '/v1/intel', '/v1/audit', '/v1/challenge/step-up', '/v1/challenge/turnstile', '/', '/v1', '/v1/', '/v2/check', '/healthz/', '/HEALTHZ', '/v1/check/',
      '/favicon.ico', '/.well-known/security.txt', '/v1/policy/versions/x', '/v1/accounts', '/v1/accounts/', '/v1/orgs//activity', '/%2e%2e/healthz', '/v1/%2e%2e/healthz', '/v1/check%00',
    ),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('accounts', 'orgs'), idArb, fc.constantFrom('activity', 'clearances', 'x', '')).map(([kind, id, tail]) => `/v1/${kind}/${id}/${tail}`) },
  { weight: 1, arbitrary: listNameArb.map((name) => `/v1/lists/${name}`) },
  { weight: 1, arbitrary: fc.webPath() },
);

const queryArb = fc.constantFrom('', '', '', '?limit=-1', '?limit=1e9', '?limit=abc', '?limit=0', '?cursor=%zz', `?cursor=${'x'.repeat(3000)}`, '?allowShrink=true&allowOlder=true', '?return=//evil.example', '?ticket=x&return=%2F%2Fevil', '?a=1&a=2', '?%', '?probe=1');

const METHODS = ['GET', 'GET', 'HEAD', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Credentials: none, the check token, garbage; the admin token rarely (its writes are the admin property's). */
const authArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant<[string, string][]>([]) },
  { weight: 3, arbitrary: fc.constant<[string, string][]>([['authorization', `Bearer ${CHECK_TOKEN}`]]) },
  { weight: 1, arbitrary: fc.constant<[string, string][]>([['geogate-token', CHECK_TOKEN]]) },
  { weight: 1, arbitrary: fc.constantFrom<[string, string][]>([['authorization', 'Bearer junk-token-0123456789']], [['authorization', 'Basic Zm9vOmJhcg==']], [['authorization', '']], [['authorization', `Bearer ${CHECK_TOKEN}`], ['authorization', `Bearer ${ADMIN_TOKEN}`]]) },
  { weight: 1, arbitrary: fc.constant<[string, string][]>([['authorization', `Bearer ${ADMIN_TOKEN}`]]) },
);

const extraHeadersArb = fc.array(
  fc.oneof(
    fc.constantFrom<[string, string]>(['geogate-country', 'US'], ['geogate-ip', '203.0.113.7'], ['geogate-client-timezone', 'Asia/Shanghai'], ['content-type', 'application/json'], ['content-type', 'application/x-www-form-urlencoded'], ['content-type', 'text/plain'], ['if-match', '*'], ['if-match', '"x"'], ['if-none-match', '*'], ['cookie', 'geogate_clearance=x'], ['accept', 'text/html'], ['origin', 'https://evil.example'], ['cf-connecting-ip', '203.0.113.7'], ['x-forwarded-for', '1.2.3.4'], ['content-length', '0']),
    // eslint-disable-next-line no-control-regex
    fc.tuple(fc.constantFrom('geogate-foo', 'x-any', 'if-match', 'accept-language', 'user-agent'), hostileStringArb).map(([n, v]) => [n, v.replace(/[\r\n\u0000]/g, '')] as [string, string]),
  ),
  { maxLength: 3 },
);

const bodyArb = fc.oneof(
  fc.constant<string | undefined>(undefined),
  fc.tuple(fc.jsonValue({ maxDepth: 3 }), jsonStyleArb).map(([v, style]) => writeJson(v, style)),
  fc.constantFrom('', '{', '{"version":"x"}', '{"requests":[{}]}', '{"items":["1.2.3.4"]}', '{"kind":"cidr","items":["10.0.0.0/8"]}', '{"add":[],"remove":[]}', 'ticket=x&cf-turnstile-response=y&return=/', '{"__proto__":{"polluted":1}}', 'x'.repeat(20_000)),
  hostileStringArb,
);

const specArb: fc.Arbitrary<Spec> = fc.tuple(fc.constantFrom(...METHODS), pathArb, queryArb, authArb, extraHeadersArb, bodyArb).map(([method, path, query, auth, extra, body]) => ({
  method,
  path: `${path}${query}`,
  headers: [...auth, ...extra],
  ...(body !== undefined ? { body } : {}),
}));

/** Whether a request is check traffic by promise 3's definition: a Geogate-* header, and not an operator's (admin token). */
function isForwardAuthTraffic(spec: Spec): boolean {
  const admin = spec.headers.some(([n, v]) => n === 'authorization' && v.includes(ADMIN_TOKEN));
  return !admin && spec.headers.some(([n]) => n.toLowerCase().startsWith('geogate-'));
}

// ---------------------------------------------------------------------------------------------

describe('every route', () => {
  it('any method, path, credentials, headers and body: no 5xx but the contractual ones, JSON errors, no 2xx to check traffic but a decision', async ({ task }) => {
    const tally = new Tally();
    await fuzz(task, 'surface.requests', specArb, async (spec) => {
      siteverify.answer = () => verified();
      let request: Request;
      try {
        request = build(spec);
      } catch (e) {
        // Not from the app: a GET with a body, or a header value the runtime refuses.
        expect(e, JSON.stringify(spec).slice(0, 300)).toBeInstanceOf(TypeError);
        tally.add('runtime-refused');
        return;
      }
      const landed = new URL(request.url).pathname;
      const answer = await appAnswer(await send(request), { method: request.method, allow: allowedFor(landed), html: landed === '/challenge' });
      const context = `${spec.method} ${spec.path} ${JSON.stringify(spec.headers)} ${JSON.stringify(spec.body ?? '').slice(0, 100)}: ${answer.status} ${answer.text.slice(0, 300)}`;
      tally.add(`${answer.status}`);
      if (isForwardAuthTraffic(spec) && answer.status >= 200 && answer.status < 300) {
        expect(answer.headers.get('geogate-decision'), `a 2xx to check traffic that is not a decision: ${context}`).not.toBeNull();
      }
      // Only a decision challenges: a 401 from anything else must not read as one to a proxy.
      if (answer.status === 401 && landed.startsWith('/v1/authorize')) expect(answer.headers.get('geogate-decision'), context).toBe('challenge');
    }, tally);
    for (const s of ['200', '400', '401', '404', '405']) expect(tally.get(s), tally.toString()).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the challenge API and the hosted page (siteverify answering anything)', () => {
  /** What siteverify answers: verified, refused, a spent or foreign token, or something unreadable. */
  const verdictArb = fc.constantFrom('ok', 'ok', 'ok', 'failed', 'spent', 'hostname', 'action', 'garbage', 'status500', 'empty');
  function answerOf(verdict: string): Response {
    switch (verdict) {
      case 'ok': return verified();
      case 'failed': return Response.json({ success: false, 'error-codes': ['invalid-input-response'] });
      case 'spent': return Response.json({ success: false, 'error-codes': ['timeout-or-duplicate'] });
      case 'hostname': return verified({ hostname: 'evil.example' });
      case 'action': return verified({ action: 'other' });
      case 'garbage': return new Response('<html>not json</html>', { status: 200 });
      case 'status500': return new Response('oops', { status: 500 });
      default: return new Response('', { status: 200 });
    }
  }
  /** Verdicts that pass: without TURNSTILE_ACTION (the test deployment sets none) any action is accepted. */
  const PASSES = new Set(['ok', 'action']);
  /** 502 (Turnstile unavailable) only when siteverify answered something unreadable. */
  const UNREADABLE = new Set(['garbage', 'status500', 'empty']);

  const XSS = '"><script>alert(1)</script>';

  it('POST /v1/challenge/*: 2xx only with a clearance, errors JSON, 502 only when siteverify was unreadable', async ({ task }) => {
    const tally = new Tally();
    const secret = CLEARANCE_SECRET;
    const ipArb = fc.oneof(fc.constantFrom('203.0.113.7', '2.26.157.5', '::ffff:203.0.113.7', '64:ff9b::203.0.113.7', '2002:cb00:7107::1', '203.0.113.007', 'fe80::1%eth0', ''), fc.ipV4());
    const ticketArb = fc.oneof(
      fc.constantFrom('x', 'a.b.c', '', 'eyJ.eyJ.x', XSS),
      fc.tuple(fc.constantFrom('acct-1', undefined), fc.constantFrom('203.0.113.0/24', '2.26.157.0/24', undefined), fc.integer({ min: -700_000, max: 600_000 }), fc.constantFrom(['step-up'], ['turnstile'], ['turnstile', 'step-up'], ['custom'])).map(([account, network, age, kinds]) => ({ account, network, age, kinds })),
    );
    /** Mostly the valid value, sometimes a hostile one. */
    const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostile });
    /** Absent but one time in `n`. */
    const sometimes = <T,>(arb: fc.Arbitrary<T>, n: number) => fc.oneof({ weight: n - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
    const cases = fc.tuple(
      fc.constantFrom('step-up', 'turnstile'),
      fc.record({
        account: mostly(fc.record({ id: fc.constantFrom('acct-1', 'acct-2') }), fc.option(fc.record({ id: fc.oneof(fc.constantFrom('acct-1', '', '..', 'x'.repeat(300)), hostileStringArb), ownerCountry: fc.constantFrom('US', 'RU', 'uk', 'ZZ') }, { requiredKeys: [] }), { nil: undefined })),
        ip: mostly(fc.constantFrom('203.0.113.7', '2.26.157.5'), fc.option(ipArb, { nil: undefined })),
        method: mostly(fc.constantFrom('otp', 'kyc'), fc.option(fc.oneof(fc.constantFrom('sso', 'a b', ''), hostileStringArb), { nil: undefined })),
        kind: sometimes(fc.constantFrom('step-up', 'turnstile', 'custom', 'Step-Up', 'x'.repeat(40)), 4),
        token: mostly(fc.constant('XXXX.DUMMY.TOKEN.XXXX'), fc.option(fc.oneof(fc.constant(''), fc.integer({ min: 2000, max: 3000 }).map((n) => 't'.repeat(n))), { nil: undefined })),
        reasons: mostly(fc.constantFrom(['TZ_RESTRICTED'], ['TOR'], ['NETWORK_VPN', 'TZ_MISMATCH']), fc.option(fc.array(fc.oneof(fc.constantFrom(...CLEARABLE_CODES), fc.constantFrom('COUNTRY_DENIED', 'POLICY_UNAVAILABLE', 'x', '')), { maxLength: 4 }), { nil: undefined })),
        ticket: sometimes(ticketArb, 3),
        requestId: sometimes(fc.constantFrom('r-1', 'has space', ''), 4),
        extra: sometimes(fc.constantFrom('__proto__', 'constructor', 'clearance'), 6),
      }),
      verdictArb,
      fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    );
    await fuzz(task, 'surface.challenge', cases, async ([route, fields, verdict, forwardAuth]) => {
      siteverify.answer = () => answerOf(verdict);
      const now = Date.now();
      const body: Record<string, unknown> = { ...fields };
      delete body.extra;
      // Each route's own fields (a field of the other route is an unknown field: a 400 either way).
      if (route === 'turnstile') {
        delete body.method;
        delete body.kind;
      } else {
        delete body.token;
      }
      if (body.ticket !== undefined) delete body.reasons;
      if (fields.ticket !== undefined && typeof fields.ticket === 'object') {
        const t = fields.ticket;
        body.ticket = await signTicket(secret, { requestId: 'r-1', ...(t.account ? { account: t.account } : {}), ...(t.network ? { network: t.network } : {}), reasons: ['TZ_RESTRICTED'], kinds: t.kinds, policyVersion: 'fuzz-default', issuedAt: now - 1000 + t.age, expiresAt: now + t.age });
      }
      const text = fields.extra !== undefined ? writeJson({ ...body, [fields.extra]: { polluted: 1 } }) : writeJson(body);
      const headers: [string, string][] = [['authorization', `Bearer ${CHECK_TOKEN}`], ['content-type', 'application/json']];
      if (forwardAuth) headers.push(['geogate-country', 'US']);
      const calls = siteverify.calls.length;
      const answer = await appAnswer(await send(build({ method: 'POST', path: `/v1/challenge/${route}`, headers, body: text })), { allow: [{ status: 502, code: 'TURNSTILE_UNAVAILABLE' }] });
      const asked = siteverify.calls.length > calls;
      const context = `${route} ${text.slice(0, 300)} (siteverify ${asked ? verdict : 'not asked'}): ${answer.status} ${answer.text.slice(0, 300)}`;
      tally.add(`${route}:${answer.status}:${errorCode(answer.json) ?? 'ok'}`);
      if (forwardAuth) expect(answer.status, context).toBe(400);
      if (answer.status === 502) expect(asked && UNREADABLE.has(verdict), context).toBe(true);
      if (answer.status === 200) {
        expect(typeof (answer.json as { clearance?: unknown }).clearance, context).toBe('string');
        expect((answer.json as { decision?: unknown }).decision, context).toBeUndefined();
        if (route === 'turnstile') expect(asked && PASSES.has(verdict), context).toBe(true);
      }
    }, tally);
    expect(tally.get('step-up:200:ok'), tally.toString()).toBeGreaterThan(0);
  });

  it('GET and POST /challenge: HTML that reflects no markup, redirects only to this origin, 5xx only when siteverify was unreadable', async ({ task }) => {
    const tally = new Tally();
    const secret = CLEARANCE_SECRET;
    const returnArb = fc.oneof(fc.constantFrom('/', '/reports/q3', '//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', `/${XSS}`, '/\t/evil', '/%0d%0aSet-Cookie:x=1', `/${'a'.repeat(3000)}`, ''), fc.webPath());
    const rarely = fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
    const cases = fc.tuple(
      fc.constantFrom('GET', 'POST', 'POST', 'POST', 'HEAD', 'PUT'),
      returnArb,
      fc.oneof({ weight: 1, arbitrary: fc.constantFrom('', 'x', XSS) }, { weight: 4, arbitrary: fc.constantFrom('valid', 'valid', 'valid', 'expired', 'no-turnstile', 'other-network') }),
      fc.constantFrom('tok-1', 'tok-1', 'tok-1', '', XSS),
      fc.constantFrom('203.0.113.7', '203.0.113.7', '203.0.113.7', '', 'not-an-ip', '2.26.157.5'),
      fc.oneof({ weight: 4, arbitrary: fc.constant('application/x-www-form-urlencoded') }, { weight: 1, arbitrary: fc.constantFrom('application/json', 'multipart/form-data; boundary=x', '') }),
      verdictArb,
      rarely,
      rarely,
    );
    const valid = fc.tuple(fc.constant('POST'), returnArb, fc.constant('valid'), fc.constant('tok-1'), fc.constant('203.0.113.7'), fc.constant('application/x-www-form-urlencoded'), verdictArb, fc.constant(false), fc.constant(false));
    await fuzz(task, 'surface.challenge-page', fc.oneof(cases, valid), async ([method, back, ticketKind, token, ip, type, verdict, repeatField, credentials]) => {
      siteverify.answer = () => answerOf(verdict);
      const now = Date.now();
      const network = ticketKind === 'other-network' ? '198.18.0.0/24' : '203.0.113.0/24';
      const ticket = ['valid', 'expired', 'no-turnstile', 'other-network'].includes(ticketKind)
        ? await signTicket(secret, { requestId: 'r-1', network, reasons: ['TZ_RESTRICTED'], kinds: ticketKind === 'no-turnstile' ? ['step-up'] : ['turnstile', 'step-up'], policyVersion: 'fuzz-default', issuedAt: now - 1000, expiresAt: ticketKind === 'expired' ? now - 1 : now + 600_000 })
        : ticketKind;
      const headers: [string, string][] = [];
      if (ip !== '') headers.push(['cf-connecting-ip', ip]);
      if (type !== '') headers.push(['content-type', type]);
      if (credentials) headers.push(['authorization', `Bearer ${CHECK_TOKEN}`]);
      const form = new URLSearchParams({ ticket, 'cf-turnstile-response': token, return: back });
      if (repeatField) form.append('ticket', 'x');
      const path = method === 'GET' || method === 'HEAD' ? `/challenge?${new URLSearchParams({ ticket, return: back }).toString()}` : '/challenge';
      const calls = siteverify.calls.length;
      const res = await send(build({ method, path, headers, body: form.toString() }));
      const asked = siteverify.calls.length > calls;
      const answer = await appAnswer(res, { method, html: true, html5xx: asked && UNREADABLE.has(verdict) ? [502] : [] });
      const context = `${method} ${path.slice(0, 200)} ${JSON.stringify(headers)} ${form.toString().slice(0, 200)} (siteverify ${asked ? verdict : 'not asked'}): ${answer.status} ${answer.text.slice(0, 300)}`;
      tally.add(`${method}:${answer.status}`);
      if (credentials) expect(answer.status, context).toBe(400);
      expect(answer.text, context).not.toContain('<script>alert(1)');
      if ((answer.headers.get('content-type') ?? '').startsWith('text/html')) expect(answer.headers.get('content-security-policy'), context).toContain("default-src 'none'");
      if (answer.status === 303) {
        const location = answer.headers.get('location') ?? '';
        expect(location, context).toMatch(/^\/(?![/\\])[\x21-\x7e]*$/);
        expect(asked && PASSES.has(verdict), context).toBe(true);
        expect(answer.headers.get('set-cookie'), context).toMatch(/^geogate_clearance=[\w.-]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      }
      expect(answer.status >= 200 && answer.status < 300 && method === 'POST', `a 2xx to a form post: ${context}`).toBe(false);
    }, tally);
    expect(tally.get('POST:303'), tally.toString()).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the admin API with the admin token: random and near-valid bodies', () => {
  afterAll(() => usePolicy(FUZZ_POLICIES.default));

  /** A policy document with one field replaced by arbitrary JSON or a hostile value. */
  const policyBody = fc
    .tuple(fc.constantFrom('(whole)', 'version', 'rules', 'score', 'score.weights', 'score.denyAt', 'surfaces', 'network', 'challenge', 'history', 'decisionLog', 'failMode', 'missingGeo', 'restrictedCountries', 'rules.0', '__proto__', 'extra'), fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileStringArb), fc.boolean())
    .map(([path, junk, keep]) => {
      const doc = defaultDocument() as unknown as Record<string, unknown>;
      if (keep) return writeJson({ ...doc, version: `fuzz-${JSON.stringify(junk).length}` });
      if (path === '(whole)') return writeJson(junk);
      const [head = '', tail] = path.split('.');
      if (tail === undefined) doc[head] = junk;
      else if (Array.isArray(doc[head])) (doc[head] as unknown[])[Number(tail)] = junk;
      else doc[head] = { ...((doc[head] ?? {})), [tail]: junk };
      return writeJson(doc);
    });

  const listBody = fc.oneof(
    fc.tuple(fc.constantFrom('cidr', 'asn', 'account', 'org', 'org-owner', 'user-agent', 'device', 'x'), fc.array(fc.oneof(fc.ipV4(), fc.constantFrom('10.0.0.0/8', '::/0', '0.0.0.0/0', '1.2.3.4/33', '*', 64500, -1, 'acct-1', { org: 'o', country: 'CN' }), hostileStringArb), { maxLength: 5 })).map(([kind, items]) => writeJson({ kind, items })),
    fc.tuple(fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 })).map(([add, remove]) => writeJson({ add, remove })),
    fc.jsonValue({ maxDepth: 2 }).map((v) => writeJson(v)),
  );

  const simulateBody = fc.tuple(fc.array(baseArb.map(([, b]) => b as unknown), { maxLength: 4 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 2 }), fc.option(policyBody)).map(([requests, junk, policy]) => `{"requests":${writeJson([...requests, ...junk])}${policy !== null ? `,"policy":${policy}` : ''}}`);

  const adminSpec: fc.Arbitrary<Spec> = fc.oneof(
    fc.tuple(fc.constantFrom('PUT', 'POST'), policyBody, fc.constantFrom(undefined, '*', '"x"', 'W/"x"', '"a", "b"')).map(([method, body, ifMatch]) => ({ method, path: method === 'PUT' ? '/v1/policy' : '/v1/policy/validate', headers: ifMatch ? [['if-match', ifMatch] as [string, string]] : [], body })),
    fc.oneof(fc.jsonValue({ maxDepth: 2 }).map((v) => writeJson(v)), fc.constantFrom('{"version":"default-2026-11-26.5"}', '{"version":""}', '{"version":"../x"}', '{"version":1}')).map((body) => ({ method: 'POST', path: '/v1/policy/rollback', headers: [], body })),
    fc.tuple(fc.constantFrom('PUT', 'PATCH', 'DELETE', 'GET'), listNameArb, listBody, fc.constantFrom(undefined, '*', '"x"')).map(([method, name, body, ifMatch]) => ({ method, path: `/v1/lists/${name}`, headers: ifMatch ? [['if-match', ifMatch] as [string, string]] : [], body })),
    simulateBody.map((body) => ({ method: 'POST', path: '/v1/simulate', headers: [], body })),
    fc.tuple(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((v) => writeJson(v)), fc.constant('{"version":"x","blocks":[]}')), fc.constantFrom(undefined, '*', '"x"'), queryArb).map(([body, ifMatch, query]) => ({ method: 'PUT', path: `/v1/intel${query}`, headers: ifMatch ? [['if-match', ifMatch] as [string, string]] : [], body })),
    fc.tuple(fc.constantFrom('/v1/audit', '/v1/policy/versions', '/v1/lists', '/v1/policy', '/v1/intel'), queryArb).map(([path, query]) => ({ method: 'GET', path: `${path}${query}`, headers: [] })),
    fc.tuple(fc.constantFrom('accounts', 'orgs'), idArb, fc.constantFrom('activity', 'clearances'), fc.constantFrom('GET', 'DELETE')).map(([kind, id, what, method]) => ({ method, path: `/v1/${kind}/${id}/${what}`, headers: [] })),
  );

  it('answers JSON: 2xx or 4xx, never 5xx', async ({ task }) => {
    const tally = new Tally();
    await fuzz(task, 'surface.admin', fc.tuple(adminSpec, fc.constantFrom('application/json', 'application/json', 'text/plain')), async ([spec, type]) => {
      const full: Spec = { ...spec, headers: [['authorization', `Bearer ${ADMIN_TOKEN}`], ['content-type', type], ...spec.headers] };
      const answer = await appAnswer(await send(build(full)), { method: spec.method });
      tally.add(`${spec.method} ${spec.path.split('/').slice(0, 3).join('/')}:${answer.status}`);
      expect(answer.status, `${spec.method} ${spec.path}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
    }, tally);
    expect([...tally.counts.keys()].some((k) => k.endsWith(':200')), tally.toString()).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe('through SELF.fetch (the runtime entry point)', () => {
  /** Check and forward-auth traffic built from realistic requests, and the surface's random requests (no admin writes). */
  const sampleArb: fc.Arbitrary<Spec> = fc.oneof(
    specArb.filter((s) => !s.headers.some(([, v]) => v.includes(ADMIN_TOKEN))),
    baseArb.map(([, base]) => ({ method: 'POST', path: '/v1/check', headers: [['authorization', `Bearer ${CHECK_TOKEN}`], ['content-type', 'application/json']] as [string, string][], body: writeJson(base) })),
    fc.tuple(baseArb, fc.constantFrom('/v1/authorize', '/v1/authorize/%2e%2e/check', '/v1/authorize/a/../b', '/v1/authorize/%2e%2e/%2e%2e/healthz')).map(([[, base], path]) => ({ method: 'GET', path, headers: [['authorization', `Bearer ${CHECK_TOKEN}`], ...headersFor(base)] as [string, string][] })),
  );

  it('answers what the fetch handler answers (status, decision, error code)', async ({ task }) => {
    const tally = new Tally();
    await fuzz(task, 'surface.self', sampleArb, async (spec) => {
      siteverify.answer = () => verified();
      let direct: Answer;
      try {
        direct = await appAnswer(await send(build(spec)), { method: spec.method.toUpperCase(), allow: allowedFor(spec.path), html: spec.path.startsWith('/challenge') });
      } catch (e) {
        if (!(e instanceof TypeError)) throw e;
        tally.add('runtime-refused');
        return;
      }
      const viaSelf = await appAnswer(await SELF.fetch(build(spec)), { method: spec.method.toUpperCase(), allow: allowedFor(spec.path), html: spec.path.startsWith('/challenge') });
      const summary = (a: Answer) => ({ status: a.status, decision: (a.json as { decision?: unknown } | undefined)?.decision ?? a.headers.get('geogate-decision'), code: errorCode(a.json) ?? null });
      tally.add(String(direct.status));
      expect(summary(viaSelf), `${spec.method} ${spec.path}: ${viaSelf.text.slice(0, 200)} / ${direct.text.slice(0, 200)}`).toEqual(summary(direct));
    }, tally);
  });
});
