// Hostile input on /v1/authorize (forward-auth: facts in headers, any method, any sub-path):
// every dot-segment spelling under /v1/authorize/ either stays there (and is decided exactly as
// /v1/authorize) or lands on a route that never answers 2xx or 401; hostile headers (repeated,
// oversized, non-ASCII, CRLF attempts, other proxies' names, forged clearances) never make a
// decision more permissive; the same IP in another spelling, and hostile zone names, are judged
// as in the JSON body; the token is accepted exactly as documented.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, CHECK_TOKEN, compile } from '../helpers';
import { embeddingSpellings, mappedSpellings, refusedSpellings } from '../ip-helpers';
import { instantArb, originArb } from '../generators';
import {
  appAnswer, AUTHORIZE_TOKEN_REFUSED, checkRequest, FUZZ_POLICIES, FUZZ_POLICY_NAMES, fuzz, pinClock, quietFile, send, severityOfAuthorize, severityOfCheck, Tally, underPolicy, usePolicy,
  type Answer, type DecisionView,
} from './harness';
import { headersFor, headerSafe, hostileClockArb, hostileStringArb, hostileZoneArb, writeJson, type Body } from './hostile';
import { baseArb, hostileClearance, listedCountry } from './variants';

const ORIGIN = 'https://geogate.test';

interface AuthorizeInit {
  readonly method?: string;
  readonly path?: string;
  readonly token?: string | null;
  readonly body?: string;
}

/** Headers from a list of entries, appended in order (a repeated name arrives joined with ", "). */
function headersOf(entries: readonly (readonly [string, string])[]): Headers {
  const h = new Headers();
  for (const [name, value] of entries) h.append(name, value);
  return h;
}

/** A forward-auth request as a proxy sends it. */
function authorizeRequest(entries: readonly (readonly [string, string])[], init: AuthorizeInit = {}): Request {
  const headers = headersOf(entries);
  const token = init.token === undefined ? CHECK_TOKEN : init.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return new Request(`${ORIGIN}${init.path ?? '/v1/authorize'}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: init.body } : {}) });
}

async function authorize(entries: readonly (readonly [string, string])[], init: AuthorizeInit = {}): Promise<Answer> {
  return appAnswer(await send(authorizeRequest(entries, init)), { method: init.method ?? 'GET', allow: [AUTHORIZE_TOKEN_REFUSED] });
}

/** The decision of an authorize answer, as a comparable summary (status, Geogate-Decision, reasons). */
function verdict(a: Answer) {
  return { status: a.status, decision: a.headers.get('geogate-decision'), reasons: a.headers.get('geogate-reasons') };
}

quietFile();

// ---------------------------------------------------------------------------------------------

/** Path pieces: every dot-segment spelling the URL parser resolves (or does not), other routes' paths, encodings. */
const SEGMENTS = [
  '', '/', '/x', '/app/reports/q3', '/..', '/.', '/%2e%2e', '/%2E%2E', '/%2e%2E', '/.%2e', '/%2e.', '/%2e', '/%2E', '/%252e%252e', '/..%2f', '/%2f..', '/..%2F..%2Fhealthz',
  '/..%5c', '/%5c..', '/..\\', '/\\..', '/;/..', '/..;', '/..;/', '//', '///..', '/%00', '/%zz', '/%', '/\u00e9', '/%C3%A9', '/%ef%bc%8e%ef%bc%8e', '/\uff0e\uff0e', '/..%00', '/%2e%2e%00',
  '/v1/check', '/healthz', '/v1/policy', '/challenge', '/openapi.json', '/docs', '/v1/challenge/step-up', '/v1/accounts/x/activity', '/v1/orgs/o/activity', '/v1/accounts/x/clearances', '/v1/lists/l', '/v1/simulate', '/v1/intel', '/v1/audit',
  '/../..', '/%2e%2e/%2e%2e', '/./../../v1/check', '/%2e%2e/%2e%2e/healthz', '/%2e%2e/%2e%2e/v1/policy', '/%2e%2e/%2e%2e/challenge', '/%2e%2e/check', '/../../v1/authorize', '/%2e%2e/%2e%2e/v1/authorize/x',
];

const METHODS = ['GET', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'X-CUSTOM', 'get', 'post'];

describe('/v1/authorize under the default policy: paths and methods', () => {
  underPolicy(FUZZ_POLICIES.default);

  it('a path under /v1/authorize is decided as /v1/authorize, whatever the method; one that normalises elsewhere never answers 2xx or 401', async ({ task }) => {
    const tally = new Tally();
    const cases = fc.tuple(
      baseArb,
      fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 5 }),
      fc.constantFrom('', '', '?', '?x=1', '?a=..%2f..%2fhealthz', '?%zz', '#f', '?return=/%2e%2e/'),
      fc.constantFrom(...METHODS),
      fc.constantFrom(undefined, '{"geo":{"country":"US"},"ip":"203.0.113.7"}', '{"decision":"allow"}', 'x'.repeat(70_000)),
    );
    await fuzz(task, 'authorize.paths', cases, async ([[now, base], segments, query, method, body]) => {
      pinClock(now);
      const entries = headersFor(base);
      const baseAnswer = await authorize(entries);
      const baseSeverity = severityOfAuthorize(baseAnswer);
      expect(baseSeverity, `the base must be decided: ${baseAnswer.status} ${baseAnswer.text.slice(0, 200)}`).toBeLessThan(3);
      const path = `/v1/authorize${segments.join('')}${query}`;
      const upper = method.toUpperCase();
      const withBody = body !== undefined && upper !== 'GET' && upper !== 'HEAD';
      let request: Request;
      try {
        request = authorizeRequest(withBody ? [...entries, ['content-type', 'application/json']] : entries, { method, path, ...(withBody ? { body } : {}) });
      } catch (e) {
        // Not from the app: workerd refuses methods outside its list (X-CUSTOM, PROPFIND...), on
        // the wire as in the constructor, before any Worker runs.
        expect(String(e), method).toMatch(/Invalid HTTP method/);
        tally.add(`runtime-refused:${method}`);
        return;
      }
      const landed = new URL(request.url).pathname;
      const answer = await appAnswer(await send(request), { method: upper, allow: [AUTHORIZE_TOKEN_REFUSED] });
      const context = `${method} ${path} (lands on ${landed}): base ${baseAnswer.status} -> ${answer.status} ${answer.text.slice(0, 300)}`;
      const onAuthorize = landed === '/v1/authorize' || landed.startsWith('/v1/authorize/');
      tally.add(onAuthorize ? 'authorize' : `elsewhere:${answer.status}`);
      if (onAuthorize) {
        expect(verdict(answer), context).toEqual(verdict(baseAnswer));
      } else {
        // Promise 3: no 2xx but a decision, and no 401 (read as "challenge") but a decision's.
        expect(answer.status >= 200 && answer.status < 300, context).toBe(false);
        expect(answer.status, context).not.toBe(401);
        expect(answer.headers.get('geogate-decision'), context).toBeNull();
      }
      expect(severityOfAuthorize(answer), context).toBeGreaterThanOrEqual(baseSeverity);
    }, tally);
    expect(tally.get('authorize'), tally.toString()).toBeGreaterThan(0);
    expect([...tally.counts.keys()].filter((k) => k.startsWith('elsewhere')).length, tally.toString()).toBeGreaterThan(2);
  });
});

// ---------------------------------------------------------------------------------------------

/** Header names the proxy or the user might add that geogate must not read (TRUST_FORWARDED_CF_HEADERS is off). */
const FOREIGN_HEADERS: readonly (readonly [string, fc.Arbitrary<string>])[] = [
  ['cf-connecting-ip', fc.constantFrom('203.0.113.7', '8.8.8.8', '::1')],
  ['cf-ipcountry', fc.constantFrom('US', 'SG', 'T1', 'XX')],
  ['cf-ipcontinent', fc.constantFrom('NA', 'EU')],
  ['cf-timezone', fc.constantFrom('America/New_York', 'UTC')],
  ['cf-region-code', fc.constantFrom('CA', '43')],
  ['x-forwarded-for', fc.constantFrom('203.0.113.7', '203.0.113.7, 10.0.0.1', 'unknown')],
  ['x-real-ip', fc.constantFrom('203.0.113.7')],
  ['true-client-ip', fc.constantFrom('203.0.113.7')],
  ['forwarded', fc.constantFrom('for=203.0.113.7;proto=https', 'for="[2001:db8:1::1]"')],
  ['x-geogate-country', fc.constantFrom('US')],
  ['geogate-country-code', fc.constantFrom('US')],
  ['geogate-decision', fc.constantFrom('allow')],
  ['geogate-reasons', fc.constantFrom('')],
  ['geogate-failed', fc.constantFrom('false')],
  ['geogate-foo', fc.string({ maxLength: 10 }).map(headerSafe)],
  ['x-original-url', fc.constantFrom('/healthz')],
  ['x-http-method-override', fc.constantFrom('GET')],
  ['content-type', fc.constantFrom('application/json')],
];

const CLIENT_HEADERS = ['geogate-client-timezone', 'geogate-client-utc-offset', 'geogate-client-clock', 'accept-language', 'geogate-device-id', 'user-agent'] as const;
const ORIGIN_HEADERS = ['geogate-ip', 'geogate-country', 'geogate-region-code', 'geogate-timezone', 'geogate-asn', 'geogate-account-id', 'geogate-org-id', 'geogate-owner-country', 'geogate-surface'] as const;

type HeaderExpectation = 'equal' | 'refused' | 'not-lower';

interface HeaderVariant {
  readonly kind: string;
  readonly expect: HeaderExpectation;
  readonly detail: string;
  readonly apply: (entries: [string, string][], base: Body, now: number) => [string, string][] | Promise<[string, string][]>;
}

/** A value for a client claim header (may hold characters a header cannot carry: those are the runtime's to refuse). */
function claimValueArb(header: (typeof CLIENT_HEADERS)[number], now: number): fc.Arbitrary<string> {
  const text = header === 'geogate-client-timezone'
    ? hostileZoneArb
    : header === 'geogate-client-utc-offset'
      ? fc.oneof(fc.constantFrom('480', '+480', ' 525 ', '0x1E0', '4.8e2', '1e999', 'NaN', '-0', '99999', '210', '-300', '480.5', '\u0661\u0662\u0660'), fc.integer({ min: -1000, max: 1000 }).map(String))
      : header === 'geogate-client-clock'
        ? hostileClockArb(now)
        : header === 'accept-language'
          ? fc.oneof(fc.constantFrom('zh-CN;q=0', '*;q=0', 'zh-CN', 'fa-IR;q=0.001', 'en;q=2', 'ru'), hostileStringArb)
          : hostileStringArb;
  return fc.oneof({ weight: 9, arbitrary: text.map(headerSafe) }, { weight: 1, arbitrary: text });
}

function headerVariantArb(base: Body, now: number, bind: { ipv4Prefix: number; ipv6Prefix: number }): fc.Arbitrary<HeaderVariant> {
  const present = headersFor(base).map(([n]) => n).filter((n) => (ORIGIN_HEADERS as readonly string[]).includes(n));

  const claims: fc.Arbitrary<HeaderVariant> = fc
    .constantFrom(...CLIENT_HEADERS)
    .chain((header) => fc.tuple(fc.constant(header), fc.array(claimValueArb(header, now), { minLength: 1, maxLength: 3 }), fc.boolean()))
    .map(([header, values, first]) => ({
      kind: `claim:${header}`,
      expect: 'not-lower' as const,
      detail: `${header} += ${JSON.stringify(values.map((v) => (v.length > 60 ? `${v.slice(0, 20)}…(${v.length})` : v)))}${first ? ' (before the proxy\'s)' : ''}`,
      apply: (entries) => {
        const added = values.map((v) => [header, v] as [string, string]);
        return first ? [...added, ...entries] : [...entries, ...added];
      },
    }));

  const oversized: fc.Arbitrary<HeaderVariant> = fc
    .tuple(fc.constantFrom(...CLIENT_HEADERS), fc.integer({ min: 8_000, max: 120_000 }), fc.constantFrom('Asia/Shanghai', 'zh-CN', 'x', 'UTC, '))
    .map(([header, n, unit]) => ({
      kind: 'oversized',
      expect: 'not-lower' as const,
      detail: `${header}: ${n} characters of ${JSON.stringify(unit)}`,
      apply: (entries) => [...entries, [header, unit.repeat(Math.ceil(n / unit.length)).slice(0, n)]],
    }));

  const repeatOrigin: fc.Arbitrary<HeaderVariant> = fc
    .tuple(present.length > 0 ? fc.constantFrom(...present) : fc.constant('geogate-country'), fc.oneof(fc.constant<string | undefined>(undefined), fc.constantFrom('US', 'CN', '203.0.113.7', 'acct-partner', 'org-1', '7922', 'web', 'Asia/Shanghai')))
    .map(([header, other]) => ({
      kind: 'repeat-origin',
      // A repeated origin-side header is several values where one belongs: refused, never guessed (docs/integrations.md).
      expect: 'refused' as const,
      detail: `${header} sent twice${other === undefined ? ' (same value)' : ` (${other})`}`,
      apply: (entries) => {
        const value = entries.find(([n]) => n === header)?.[1] ?? 'US';
        return [...entries, [header, other ?? value]];
      },
    }));

  const padded: fc.Arbitrary<HeaderVariant> = fc.tuple(fc.constantFrom(' ', '\t', '  \t'), fc.boolean()).map(([pad, upper]) => ({
    kind: 'padded-origin',
    expect: 'equal' as const,
    detail: `origin-side values padded with ${JSON.stringify(pad)}${upper ? ', header names upper-cased' : ''}`,
    apply: (entries) => entries.map(([n, v]) => [upper ? n.toUpperCase() : n, (ORIGIN_HEADERS as readonly string[]).includes(n) ? `${pad}${v}${pad}` : v]),
  }));

  const foreign: fc.Arbitrary<HeaderVariant> = fc
    .subarray([...FOREIGN_HEADERS], { minLength: 1, maxLength: 4 })
    .chain((picked) => fc.tuple(...picked.map(([name, value]) => value.map((v) => [name, v] as [string, string]))))
    .map((added) => ({
      kind: 'foreign',
      expect: 'equal' as const,
      detail: JSON.stringify(added),
      apply: (entries) => [...entries, ...added],
    }));

  const emptyOrigin: fc.Arbitrary<HeaderVariant> = fc.subarray([...ORIGIN_HEADERS], { minLength: 1 }).map((names) => ({
    kind: 'empty-origin',
    // An empty origin-side header reads as absent (Caddy clears headers that way).
    expect: 'equal' as const,
    detail: `empty ${names.join(', ')} where absent`,
    apply: (entries) => [...entries, ...names.filter((n) => !entries.some(([e]) => e === n)).map((n) => [n, ''] as [string, string])],
  }));

  const clearance: fc.Arbitrary<HeaderVariant> = fc
    .tuple(fc.constantFrom('garbage', 'alg-none', 'other-network', 'other-account', 'expired', 'wrong-secret', 'tampered', 'ticket', 'joined') as fc.Arbitrary<Parameters<typeof hostileClearance>[0]>, fc.nat(), fc.constantFrom('header', 'cookie', 'cookies', 'both'))
    .map(([kind, salt, where]) => ({
      kind: `clearance:${where}`,
      expect: 'not-lower' as const,
      detail: `a ${kind} clearance in ${where}`,
      apply: async (entries, b, at) => {
        const token = await hostileClearance(kind, b, at, bind, salt);
        const safe = headerSafe(token);
        const cookie: [string, string] = ['cookie', `theme=dark; geogate_clearance=${safe}; other=1`];
        if (where === 'header') return [...entries, ['geogate-clearance', safe]];
        if (where === 'cookie') return [...entries, cookie];
        if (where === 'cookies') return [...entries, cookie, ['cookie', 'geogate_clearance=forged']];
        return [...entries, ['geogate-clearance', safe], cookie];
      },
    }));

  const methodBody: fc.Arbitrary<HeaderVariant> = fc.constantFrom('POST', 'PUT', 'DELETE').map((method) => ({
    kind: 'method',
    expect: 'equal' as const,
    detail: method,
    apply: (entries) => entries,
  }));

  const control: fc.Arbitrary<HeaderVariant> = fc
    .tuple(fc.constantFrom(...CLIENT_HEADERS, ...ORIGIN_HEADERS, 'x-injected', 'geogate-country\r\ngeogate-ip', 'geogate country', 'geogate-country:', '\u00e9'), fc.constantFrom('US\r\nGeogate-Country: CN', 'a\nb', 'a\rb', 'a\u0000b', 'Asia/Shanghai\r\n\r\n{"geo":{}}'))
    .map(([name, value]) => ({
      kind: 'runtime-refused',
      expect: 'equal' as const,
      detail: `${JSON.stringify(name)}: ${JSON.stringify(value)}`,
      apply: (entries) => [...entries, [name, value]],
    }));

  return fc.oneof(
    { weight: 8, arbitrary: claims },
    { weight: 1, arbitrary: oversized },
    { weight: 2, arbitrary: repeatOrigin },
    { weight: 1, arbitrary: padded },
    { weight: 2, arbitrary: foreign },
    { weight: 1, arbitrary: emptyOrigin },
    { weight: 2, arbitrary: clearance },
    { weight: 1, arbitrary: methodBody },
    { weight: 1, arbitrary: control },
  );
}

/**
 * Whether the Fetch standard (and workerd) refuses this header: a name that is not a token, or a
 * value holding CR, LF or NUL once the leading and trailing HTTP whitespace (tab, space, CR, LF)
 * is stripped, as Headers does before checking.
 */
function forbiddenHeader(name: string, value: string): boolean {
  const trimmed = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  // eslint-disable-next-line no-control-regex
  return !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\u0000]/.test(trimmed);
}

describe.each(FUZZ_POLICY_NAMES)('/v1/authorize under the %s policy: hostile headers never make a decision more permissive', (policyName) => {
  const policy = FUZZ_POLICIES[policyName];
  const bind = compile(policy).challenge.bind;
  underPolicy(policy);

  it('adding hostile headers to a realistic forward-auth request', async ({ task }) => {
    const tally = new Tally();
    const cases = baseArb.chain(([now, base]) => fc.tuple(fc.constant(now), fc.constant(base), headerVariantArb(base, now, bind)));
    await fuzz(task, `authorize.differential.${policyName}`, cases, async ([now, base, variant]) => {
      pinClock(now);
      const entries = headersFor(base);
      const baseAnswer = await authorize(entries);
      const before = severityOfAuthorize(baseAnswer);
      expect(before, `the base must be decided: ${baseAnswer.text.slice(0, 300)}`).toBeLessThan(3);
      tally.add(`base:${baseAnswer.headers.get('geogate-decision')}`);
      const hostile = await variant.apply(entries, base, now);
      let request: Request;
      try {
        request = authorizeRequest(hostile, { method: variant.kind === 'method' ? variant.detail : 'GET' });
      } catch (e) {
        // Not from the app: the runtime refuses to build (and, on the wire, to parse) such a
        // request; check it is exactly the standard's rule that refused it.
        expect(e, variant.detail).toBeInstanceOf(TypeError);
        const offending = hostile.filter(([n, v]) => forbiddenHeader(n, v));
        expect(offending.length, `the runtime refused ${variant.detail}: ${String(e)}`).toBeGreaterThan(0);
        tally.add('runtime-refused');
        return;
      }
      expect(hostile.some(([n, v]) => forbiddenHeader(n, v)), `the runtime accepted ${variant.detail}`).toBe(false);
      const answer = await appAnswer(await send(request), { allow: [AUTHORIZE_TOKEN_REFUSED] });
      const after = severityOfAuthorize(answer);
      const context = `${variant.kind} (${variant.detail}) at ${new Date(now).toISOString()}, base ${JSON.stringify(entries)}: ${baseAnswer.status} -> ${answer.status} ${answer.text.slice(0, 400)}`;
      tally.add(`${variant.kind}:${answer.status}`);
      expect(after, context).toBeGreaterThanOrEqual(before);
      if (variant.expect === 'refused') expect(answer.status, context).toBe(400);
      if (variant.expect === 'equal') expect(verdict(answer), context).toEqual(verdict(baseAnswer));
    }, tally);
    expect(tally.get('base:allow'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('base:challenge') + tally.get('base:deny'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('runtime-refused'), tally.toString()).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('/v1/authorize under the exceptions policy: IP spellings and zone names in headers', () => {
  underPolicy(FUZZ_POLICIES.exceptions);

  it('Geogate-IP in another spelling is never judged more permissively than the dotted quad', async ({ task }) => {
    const tally = new Tally();
    const v4Arb = fc.oneof(fc.constantFrom('198.51.100.5', '203.0.113.7', '192.0.2.9', '2.26.157.5', '1.12.0.1', '8.8.8.8'), fc.ipV4());
    const cases = fc.tuple(instantArb, v4Arb, fc.nat(), fc.integer({ min: 0, max: 3 }), fc.boolean(), originArb.chain(listedCountry), fc.constantFrom('', ' ', '\t'));
    await fuzz(task, 'authorize.ip-spellings', cases, async ([now, v4, salt, zeros, upper, origin, pad]) => {
      pinClock(now);
      const style = { zeros, upper };
      const mapped = mappedSpellings(v4, style).map((text) => ({ text, via: 'mapped' }));
      const embedded = embeddingSpellings(v4, salt, style).map((e) => ({ text: e.text, via: e.via }));
      const refused = refusedSpellings(v4).map((text) => ({ text, via: 'refused' }));
      const group = [embedded, embedded, embedded, mapped, mapped, refused][salt % 6] ?? mapped;
      const form = group[Math.floor(salt / 6) % group.length] ?? { text: v4, via: 'mapped' };
      const entries = headersFor({ ...origin, ip: v4 });
      const canonical = await authorize(entries);
      const answer = await authorize(entries.map(([n, v]) => [n, n === 'geogate-ip' ? `${pad}${form.text}${pad}` : v]));
      const context = `${v4} as ${JSON.stringify(form.text)} (${form.via}): ${canonical.status} -> ${answer.status} ${answer.text.slice(0, 300)}`;
      tally.add(`${form.via}:${answer.status}`);
      expect(severityOfAuthorize(answer), context).toBeGreaterThanOrEqual(severityOfAuthorize(canonical));
      if (form.via === 'mapped') expect(verdict(answer), context).toEqual(verdict(canonical));
      if (form.via === 'refused') expect(answer.status, context).toBe(400);
    }, tally);
    expect(tally.get('mapped:200') + tally.get('6to4:403') + tally.get('nat64:403'), tally.toString()).toBeGreaterThan(0);
  });

  it('a client zone or clock header is judged as the same claims in a JSON body (each comma-separated value a claim)', async ({ task }) => {
    const tally = new Tally();
    const cases = instantArb.chain((now) =>
      fc.tuple(fc.constant(now), originArb.chain(listedCountry), fc.array(hostileZoneArb.map(headerSafe), { minLength: 1, maxLength: 3 }), fc.option(fc.array(hostileClockArb(now).map(headerSafe), { minLength: 1, maxLength: 2 }))),
    );
    await fuzz(task, 'authorize.timezones', cases, async ([now, origin, zones, clocks]) => {
      pinClock(now);
      const split = (values: string[]) => values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
      const entries: [string, string][] = [...headersFor(origin), ['geogate-client-timezone', zones.join(', ')]];
      if (clocks) entries.push(['geogate-client-clock', clocks.join(', ')]);
      const viaHeaders = await authorize(entries);
      const client: Record<string, unknown> = {};
      if (split(zones).length > 0) client.timezone = split(zones);
      if (clocks && split(clocks).length > 0) client.clock = split(clocks);
      const viaBody = await appAnswer(await send(checkRequest(writeJson({ ...origin, client }))));
      const context = `${JSON.stringify(entries.slice(-2)).slice(0, 300)}: authorize ${viaHeaders.status} ${viaHeaders.text.slice(0, 200)} / check ${viaBody.text.slice(0, 200)}`;
      const d = viaBody.json as DecisionView;
      expect(severityOfCheck(viaBody), context).toBeLessThan(3);
      tally.add(d.decision);
      // What a proxy reads: the status, Geogate-Decision and Geogate-Reasons (the standing reasons).
      expect(severityOfAuthorize(viaHeaders), context).toBe(severityOfCheck(viaBody));
      expect(viaHeaders.headers.get('geogate-decision'), context).toBe(d.decision);
      expect(viaHeaders.headers.get('geogate-reasons'), context).toBe([...new Set(d.reasons.filter((r) => r.liftedBy === undefined).map((r) => r.code))].join(','));
      expect((viaHeaders.json as DecisionView).score, context).toBe(d.score);
    }, tally);
    expect(tally.counts.size, tally.toString()).toBeGreaterThan(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe('/v1/authorize: the token', () => {
  beforeAll(async () => {
    await usePolicy(FUZZ_POLICIES.default);
  });

  /** The documented rule (src/http/auth.ts): a non-empty Geogate-Token is the one judged, else `Authorization: Bearer <token>`. */
  function accepted(authorization: string | undefined, geogateToken: string | undefined): boolean {
    const fromHeader = geogateToken?.trim() || undefined;
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization?.trim() ?? '')?.[1];
    return (fromHeader ?? bearer) === CHECK_TOKEN;
  }

  it('is accepted exactly as documented; anything else is a 500 without a decision', async ({ task }) => {
    const tally = new Tally();
    const tokenText = fc.constantFrom(CHECK_TOKEN, CHECK_TOKEN, ADMIN_TOKEN, `${CHECK_TOKEN}x`, CHECK_TOKEN.slice(0, -1), '', CHECK_TOKEN.toUpperCase(), `${CHECK_TOKEN}, Bearer ${CHECK_TOKEN}`, `"${CHECK_TOKEN}"`, `${CHECK_TOKEN}\u00e9`);
    const authorization = fc.option(
      fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', '', 'Bearer:'), fc.constantFrom(' ', '\t', '  ', '', ' \t'), tokenText, fc.constantFrom('', ' ', '\t', ' x')).map(([s, sep, t, tail]) => `${s}${sep}${t}${tail}`),
      { nil: undefined },
    );
    const geogateToken = fc.option(fc.oneof(tokenText, fc.constantFrom(' ', `  ${CHECK_TOKEN}  `, 'junk')), { nil: undefined, freq: 2 });
    const cases = fc.tuple(authorization, geogateToken, fc.boolean(), fc.constantFrom('US', 'CN', 'T1'));
    await fuzz(task, 'authorize.tokens', cases, async ([auth, gt, twice, country]) => {
      const entries: [string, string][] = [['geogate-country', country]];
      if (auth !== undefined) entries.push(['authorization', auth]);
      if (auth !== undefined && twice) entries.push(['authorization', auth]);
      if (gt !== undefined) entries.push(['geogate-token', gt]);
      let headers: Headers;
      try {
        headers = headersOf(entries);
      } catch (e) {
        expect(e).toBeInstanceOf(TypeError);
        tally.add('runtime-refused');
        return;
      }
      const answer = await authorize([...headers], { token: null });
      const ok = accepted(headers.get('authorization') ?? undefined, headers.get('geogate-token') ?? undefined);
      const context = `authorization ${JSON.stringify(headers.get('authorization'))}, geogate-token ${JSON.stringify(headers.get('geogate-token'))}: ${answer.status} ${answer.text.slice(0, 200)}`;
      tally.add(ok ? 'accepted' : 'refused');
      if (ok) expect(severityOfAuthorize(answer), context).toBeLessThan(3);
      else {
        expect(answer.status, context).toBe(500);
        expect((answer.json as { error: { code: string } }).error.code, context).toBe('UNAUTHORIZED');
        expect(answer.headers.get('geogate-decision'), context).toBeNull();
      }
    }, tally);
    expect(tally.get('accepted'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('refused'), tally.toString()).toBeGreaterThan(0);
  });
});
