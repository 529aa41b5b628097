// Hostile input on POST /v1/check (JSON body): random and adversarial bodies never get a 5xx or a
// non-JSON error; a hostile part added to a realistic request never makes its decision more
// permissive; the same IP in any spelling is never judged more permissively than its canonical
// form; hostile time-zone names are judged by what they are (the true offset, or invalid).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { signClearance } from '../../src/challenge/tokens';
import { CLEARABLE_CODES, networkOf } from '../../src/engine/clearance';
import { lookupZone, offsetAt } from '../../src/engine/timezone';
import { clientArb, instantArb, originArb, scenarioArb } from '../generators';
import { ADMIN_TOKEN, CHECK_TOKEN, CLEARANCE_SECRET, compile } from '../helpers';
import { embeddingSpellings, ipv6Spellings, mappedSpellings, refusedSpellings } from '../ip-helpers';
import {
  appAnswer, checkRequest, decisionOf, essentials, expectNoPollution, FUZZ_POLICIES, FUZZ_POLICY_NAMES, fuzz, pinClock, quietFile, send, severityOfCheck, Tally, underPolicy, usePolicy,
  type Answer, type DecisionView,
} from './harness';
import { HOSTILE_ZONES, hostileStringArb, hostileZoneArb, jsonStyleArb, Members, nested, PROTOTYPE_KEYS, setAt, writeJson, type Body } from './hostile';
import { baseArb, listedCountry, variantArb, type Built } from './variants';

/** /v1/check's body limit (src/routes/check.ts). */
const MAX_BODY_BYTES = 64 * 1024;

async function check(body: string | Uint8Array): Promise<Answer> {
  return appAnswer(await send(checkRequest(body)));
}

quietFile();

// ---------------------------------------------------------------------------------------------

describe('POST /v1/check: any body', () => {
  beforeAll(() => usePolicy(FUZZ_POLICIES.default));

  /** Junk texts that are not JSON, or are JSON of the wrong shape. */
  const junkTexts = fc.constantFrom(
    '', ' ', 'null', 'true', '0', '""', '[]', '{}', '{', '}', '{"geo":', '{"geo":{"country":"US"}', '{"geo":{"country":"US"}}}', '{}{}', '{} x', '/* c */{}', "{'geo':{}}", '{geo:{}}',
    '{"geo":{"country":"US",}}', '{"client":{"utcOffsetMinutes":NaN}}', '{"client":{"utcOffsetMinutes":Infinity}}', '{"client":{"utcOffsetMinutes":-Infinity}}', '{"client":{"utcOffsetMinutes":1e999}}',
    '{"client":{"utcOffsetMinutes":0x1E0}}', '{"client":{"utcOffsetMinutes":+480}}', '{"client":{"utcOffsetMinutes":0480}}', '\u0000{}', '{"geo":{"country":"U\u0000S"}}',
    '{"client":{"timezone":"\\ud800"}}', '{"client":{"timezone":"\\u0000"}}', '{"client":{"timezone":"\\x41"}}', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}',
    '{"geo":{"__proto__":{"polluted":true},"country":"US"}}', '{"client":{"constructor":{"prototype":{"polluted":1}}}}', '\ufeff{}', '\ufeff\ufeff{}',
  );

  /** A realistic body with one field replaced by arbitrary JSON, a hostile string or a prototype key. */
  const mutatedBody = fc
    .tuple(scenarioArb, fc.constantFrom('ip', 'geo', 'client', 'account', 'surface', 'requestId', 'clearance', 'geo.country', 'geo.asn', 'geo.timezone', 'geo.latitude', 'client.timezone', 'client.utcOffsetMinutes', 'client.clock', 'client.acceptLanguage', 'client.userAgent', 'client.deviceId', 'account.id', 'account.ownerCountry'), fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileStringArb, fc.constantFrom<unknown>(...PROTOTYPE_KEYS)), fc.option(fc.constantFrom(...PROTOTYPE_KEYS)), jsonStyleArb)
    .map(([[, origin, client], path, junk, protoKey, style]) => {
      const body: Body = { ...origin, client: { ...client } };
      setAt(body, path, junk);
      if (protoKey === null) return writeJson(body, style);
      return writeJson(new Members([...Object.entries(body), [protoKey, { polluted: true }]]), style);
    });

  /** Bytes: a realistic body with invalid UTF-8 spliced in anywhere, or encoded as UTF-16. */
  const bytesBody = fc
    .tuple(scenarioArb, fc.nat(), fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00]), fc.boolean())
    .map(([[, origin, client], at, bytes, utf16]) => {
      const text = writeJson({ ...origin, client });
      if (utf16) {
        const out = new Uint8Array(text.length * 2 + 2);
        out.set([0xff, 0xfe]);
        for (let i = 0; i < text.length; i++) {
          const c = text.charCodeAt(i);
          out[2 + 2 * i] = c & 0xff;
          out[3 + 2 * i] = c >>> 8;
        }
        return out;
      }
      const encoded = new TextEncoder().encode(text);
      const i = at % (encoded.length + 1);
      const out = new Uint8Array(encoded.length + bytes.length);
      out.set(encoded.subarray(0, i));
      out.set(bytes, i);
      out.set(encoded.subarray(i), i + bytes.length);
      return out;
    });

  /** A realistic body with hostile (but well-typed) client claims: these reach the engine. */
  const claimsBody = fc
    .tuple(baseArb, fc.array(hostileZoneArb, { maxLength: 3 }), fc.array(hostileStringArb, { maxLength: 3 }), fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 2 }), jsonStyleArb)
    .map(([[, base], zones, strings, offsets, style]) => {
      const client = { ...((base.client ?? {}) as Record<string, unknown>) };
      if (zones.length > 0) client.timezone = zones;
      if (strings.length > 0) client.clock = strings;
      if (strings.length > 1) client.acceptLanguage = strings.slice(1);
      if (offsets.length > 0) client.utcOffsetMinutes = offsets;
      return writeJson({ ...base, client }, style);
    });

  const bodyArb: fc.Arbitrary<string | Uint8Array> = fc.oneof(
    { weight: 4, arbitrary: claimsBody },
    { weight: 2, arbitrary: fc.tuple(fc.jsonValue(), jsonStyleArb).map(([v, style]) => writeJson(v, style)) },
    { weight: 4, arbitrary: mutatedBody },
    { weight: 1, arbitrary: junkTexts },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: bytesBody },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(10, 500, 5000, 30_000), fc.constantFrom('[', '{"a":')).map(([n, open]) => `${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}`) },
  );

  const contentTypeArb = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/problem+json', 'application/json;charset=utf-16', 'application/json\t; x=y', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'json', '', 'application/json, text/plain', 'multipart/form-data; boundary=x') },
  );

  const tokenArb = fc.oneof({ weight: 10, arbitrary: fc.constant<string | null>(CHECK_TOKEN) }, { weight: 1, arbitrary: fc.constantFrom<string | null>(null, '', ADMIN_TOKEN, `${CHECK_TOKEN} `, `${CHECK_TOKEN}x`, CHECK_TOKEN.toUpperCase()) });

  const extraHeadersArb = fc.oneof(
    { weight: 8, arbitrary: fc.constant<[string, string][]>([]) },
    { weight: 1, arbitrary: fc.constantFrom<[string, string][]>([['geogate-country', 'US']], [['geogate-token', CHECK_TOKEN]], [['x-forwarded-for', '1.2.3.4']], [['content-length', '1']], [['content-encoding', 'gzip']], [['transfer-encoding', 'chunked']], [['expect', '100-continue']]) },
  );

  it('never answers a 5xx or a non-JSON error, and a 200 is always a decision', async ({ task }) => {
    const tally = new Tally();
    await fuzz(task, 'check.bodies', fc.tuple(bodyArb, contentTypeArb, tokenArb, extraHeadersArb), async ([body, type, token, extra]) => {
      let request: Request;
      try {
        request = checkRequest(body, { token, contentType: type, headers: extra });
      } catch (e) {
        // Only a header the Fetch standard refuses (none of these) could stop the request being built.
        throw new Error(`could not build the request: ${String(e)}`, { cause: e });
      }
      const answer = await appAnswer(await send(request));
      tally.add(String(answer.status));
      expect([200, 400, 401, 413, 415]).toContain(answer.status);
      if (answer.status === 200) decisionOf(answer);
      expectNoPollution();
    }, tally);
    // The generators reach the engine, and each way of refusing.
    for (const s of ['200', '400', '401', '415']) expect(tally.get(s), tally.toString()).toBeGreaterThan(0);
  });

  it('large bodies: 1 MB, 60 KB strings, 6,000-element arrays, 30,000 levels of nesting', async ({ task }) => {
    const tally = new Tally();
    const large = fc.oneof(
      fc.integer({ min: 65_537, max: 1_048_576 }).map((n) => `{"client":{"timezone":"${'A'.repeat(n)}"}}`),
      fc.integer({ min: 10_000, max: 60_000 }).map((n) => writeJson({ geo: { country: 'US' }, client: { timezone: ['Asia/Shanghai', 'x'.repeat(n)], userAgent: 'u'.repeat(Math.min(n, 4000)) } })),
      fc.integer({ min: 1000, max: 6000 }).map((n) => writeJson({ geo: { country: 'US' }, client: { timezone: [...Array.from({ length: n }, () => 'UTC'), 'Asia/Tehran'], utcOffsetMinutes: Array.from({ length: n }, (_, k) => k % 841) } })),
      fc.integer({ min: 1000, max: 30_000 }).map((n) => writeJson({ geo: { country: 'US' }, client: { timezone: nested(n) } })),
      fc.integer({ min: 1000, max: 30_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
      fc.constant(writeJson({ geo: { country: 'US' }, client: { clock: Array.from({ length: 2000 }, (_, k) => `2026-11-26T12:00:${String(k % 60).padStart(2, '0')}Z`) } })),
    );
    await fuzz(task, 'check.large', large, async (body) => {
      const answer = await check(body);
      tally.add(String(answer.status));
      expect([200, 400, 413]).toContain(answer.status);
      if (body.length > 64 * 1024) expect(answer.status).toBe(413);
      const d = decisionOf(answer);
      // A 10-60 KB zone name or thousands of claims are judged: the Tehran or junk claim is seen.
      if (d && body.includes('Asia/Tehran')) expect(d.signals.TZ_RESTRICTED).toBe(true);
    }, tally);
  });
});

// ---------------------------------------------------------------------------------------------

describe.each(FUZZ_POLICY_NAMES)('POST /v1/check under the %s policy: hostile parts never make a decision more permissive', (policyName) => {
  const policy = FUZZ_POLICIES[policyName];
  const bind = compile(policy).challenge.bind;
  underPolicy(policy);

  it('adding a hostile part to a realistic request', async ({ task }) => {
    const tally = new Tally();
    const cases = baseArb.chain(([now, base]) => fc.tuple(fc.constant(now), fc.constant(base), variantArb(base, now, bind)));
    await fuzz(task, `check.differential.${policyName}`, cases, async ([now, base, variant]) => {
      pinClock(now);
      const baseAnswer = await check(writeJson(base));
      const baseDecision = decisionOf(baseAnswer);
      expect(baseDecision, `the generators' base request must be valid: ${baseAnswer.text.slice(0, 300)}`).toBeDefined();
      const built: Built = await variant.build(base, now);
      const answer = await check(built.body);
      const before = severityOfCheck(baseAnswer);
      const after = severityOfCheck(answer);
      tally.add(`${variant.kind}:${answer.status}`);
      tally.add(`base:${baseDecision?.decision}`);
      if (after > before && after !== Number.POSITIVE_INFINITY) tally.add('raised');
      const context = `${variant.kind} (${variant.detail}) at ${new Date(now).toISOString()}: base ${baseDecision?.decision} -> ${answer.status} ${answer.text.slice(0, 400)}`;
      expect(after, context).toBeGreaterThanOrEqual(before);
      // A variant past the body limit (a long hostile value, a body written with every character
      // escaped) is refused before it is read, whatever it says.
      const size = typeof built.body === 'string' ? new TextEncoder().encode(built.body).length : built.body.length;
      if (size > MAX_BODY_BYTES) {
        expect(answer.status, context).toBe(413);
        return;
      }
      if (variant.expect === 'refused') expect(answer.status, context).toBe(400);
      if (variant.expect === 'equal') {
        const d = decisionOf(answer);
        expect(d, context).toBeDefined();
        expect(essentials(d as DecisionView), context).toEqual(essentials(baseDecision as DecisionView));
      }
      expectNoPollution();
    }, tally);
    // The bases span the decisions (so a hostile part has room to lower one), and some variants raise them.
    expect(tally.get('base:allow'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('base:challenge') + tally.get('base:deny'), tally.toString()).toBeGreaterThan(0);
    if (policyName === 'default') expect(tally.get('raised'), tally.toString()).toBeGreaterThan(0);
  });

  it('the same IP in other spellings is never judged more permissively than its canonical form', async ({ task }) => {
    const tally = new Tally();
    const v4Arb = fc.oneof(
      fc.constantFrom('198.51.100.5', '198.51.100.200', '203.0.113.7', '203.0.113.250', '192.0.2.9', '2.26.157.5', '1.12.0.1', '185.153.176.9', '8.8.8.8', '0.0.0.2', '255.255.255.255'),
      fc.ipV4(),
    );
    const spellingArb = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(v4Arb, fc.nat(), fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([v4, salt, zeros, upper]) => {
        const style = { zeros, upper };
        const same = mappedSpellings(v4, style).map((text) => ({ text, via: 'mapped', same: true }));
        const embedded = embeddingSpellings(v4, salt, style).map((e) => ({ text: e.text, via: e.via, same: false }));
        const refused = refusedSpellings(v4).map((text) => ({ text, via: 'refused', same: false }));
        // Embedding forms most often, the same address next, refused spellings least.
        const group = [embedded, embedded, embedded, same, same, refused][salt % 6] ?? same;
        const pick = group[Math.floor(salt / 6) % group.length] ?? { text: v4, via: 'mapped', same: true };
        return { canonical: v4, ...pick };
      }) },
      { weight: 1, arbitrary: fc.tuple(fc.oneof(fc.ipV6(), fc.constantFrom('2001:db8:1::5', '2001:db8:bad::1', '2001:ac8::1', '2001:310::1', '2001:db8::1')), fc.nat(), fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([v6, salt, zeros, upper]) => {
        const spellings = ipv6Spellings(v6, { zeros, upper });
        const canonical = spellings[0] ?? v6;
        const forms = [...spellings.map((text) => ({ text, via: 'ipv6', same: true })), { text: `${canonical}%eth0`, via: 'refused', same: false }, { text: `[${canonical}]`, via: 'refused', same: false }];
        return { canonical, ...(forms[salt % forms.length] ?? { text: canonical, via: 'ipv6', same: true }) };
      }) },
    );
    const cases = fc.tuple(instantArb, spellingArb, originArb.chain(listedCountry), fc.boolean(), fc.boolean()).chain(([now, spelling, origin, withClient, cleared]) =>
      fc.tuple(fc.constant(now), fc.constant(spelling), fc.constant(origin), withClient ? clientArb(now) : fc.constant({}), fc.constant(cleared)),
    );
    await fuzz(task, `check.ip-spellings.${policyName}`, cases, async ([now, spelling, origin, client, cleared]) => {
      pinClock(now);
      const base: Body = { ...origin, ip: spelling.canonical, client };
      if (cleared) {
        // A clearance the canonical request legitimately holds (its account, its network): the
        // other spellings must not get more out of it.
        const account = ((origin.account ?? {}) as { id?: string }).id;
        const network = networkOf(spelling.canonical, bind);
        if (network !== undefined) {
          const secret = CLEARANCE_SECRET;
          base.clearance = (await signClearance(secret, { kind: 'step-up', ...(account ? { account } : {}), network, reasons: [...CLEARABLE_CODES], policyVersion: 'fuzz', issuedAt: now - 1000, expiresAt: now + 600_000 })).token;
        }
      }
      const canonical = await check(writeJson(base));
      const baseDecision = decisionOf(canonical);
      expect(baseDecision, canonical.text.slice(0, 300)).toBeDefined();
      const answer = await check(writeJson({ ...base, ip: spelling.text }));
      const context = `${spelling.canonical} as ${spelling.text} (${spelling.via}): ${baseDecision?.decision} -> ${answer.status} ${answer.text.slice(0, 400)}`;
      tally.add(`${spelling.via}:${answer.status === 200 ? (answer.json as DecisionView).decision : answer.status}`);
      tally.add(`base:${baseDecision?.decision}`);
      expect(severityOfCheck(answer), context).toBeGreaterThanOrEqual(severityOfCheck(canonical));
      if (spelling.via === 'refused') expect(answer.status, context).toBe(400);
      if (spelling.same) expect(essentials(decisionOf(answer) as DecisionView), context).toEqual(essentials(baseDecision as DecisionView));
    }, tally);
    expect(tally.get('base:allow'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('base:challenge') + tally.get('base:deny'), tally.toString()).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('POST /v1/check: hostile time-zone names are judged by what they are', () => {
  underPolicy(FUZZ_POLICIES.default);

  /** A zone claim and the claim it must be judged exactly as. */
  interface ZoneCase {
    readonly claim: string;
    readonly reference: Record<string, unknown>;
    readonly why: string;
  }

  /**
   * What a name must be judged as: a POSIX `Etc/GMT±N` (sign inverted: Etc/GMT-8 is UTC+8) as its
   * offset claim; any other name tzdata or ICU's legacy table knows as its canonical zone; any
   * other text as an invalid zone (the same as a name nobody uses).
   */
  function referenceFor(claim: string): ZoneCase {
    const etc = /^etc\/gmt([+-])(\d{1,2})$/i.exec(claim.trim());
    const lookup = lookupZone(claim);
    if (etc && lookup.kind === 'known') {
      const minutes = (etc[1] === '-' ? 1 : -1) * Number(etc[2]) * 60;
      return { claim, reference: { utcOffsetMinutes: minutes }, why: `POSIX sign: ${claim.trim()} is UTC${minutes >= 0 ? '+' : ''}${minutes / 60}` };
    }
    if (lookup.kind === 'known') return { claim, reference: { timezone: lookup.zone.canonical }, why: `an alias of ${lookup.zone.canonical}` };
    return { claim, reference: { timezone: 'Not/A_Zone' }, why: 'not a zone' };
  }

  it('Etc/GMT±N by its true offset, aliases as their zone, paths, 10 KB names and junk as invalid', async ({ task }) => {
    const tally = new Tally();
    const claimArb = fc.oneof(
      fc.constantFrom(...HOSTILE_ZONES),
      fc.tuple(fc.constantFrom('Etc/GMT+', 'Etc/GMT-', 'etc/gmt+', 'ETC/GMT-', ' Etc/GMT-'), fc.integer({ min: 0, max: 14 })).map(([p, n]) => `${p}${n}`),
      fc.string({ unit: 'binary', maxLength: 16 }),
    );
    const cases = fc.tuple(instantArb, claimArb, fc.constantFrom('US', 'SG', 'DE', 'JP', 'BR', 'AU', 'IN', 'T1'), fc.constantFrom(undefined, 7922, 9009, 16509), fc.constantFrom(undefined, '2.26.157.5', '203.0.113.7'));
    await fuzz(task, 'check.timezones', cases, async ([now, claim, country, asn, ip]) => {
      pinClock(now);
      const origin: Body = { geo: { country, ...(asn !== undefined ? { asn } : {}) }, ...(ip !== undefined ? { ip } : {}) };
      const zoneCase = referenceFor(claim);
      const judged = await check(writeJson({ ...origin, client: { timezone: claim } }));
      const reference = await check(writeJson({ ...origin, client: zoneCase.reference }));
      const d = decisionOf(judged);
      const r = decisionOf(reference);
      const context = `${JSON.stringify(claim.length > 60 ? `${claim.slice(0, 60)}…(${claim.length})` : claim)} judged as ${JSON.stringify(zoneCase.reference)} (${zoneCase.why}) at ${new Date(now).toISOString()}, ${country}: ${judged.text.slice(0, 300)}`;
      expect(d, context).toBeDefined();
      expect(r, context).toBeDefined();
      const e = essentials(d as DecisionView);
      const re = essentials(r as DecisionView);
      tally.add(zoneCase.why.split(':')[0] ?? '');
      if ('utcOffsetMinutes' in zoneCase.reference) {
        // A zone claim alone cannot be inconsistent, an offset alone has no zone: TZ_INCONSISTENT
        // is undetermined either way; everything else is the offset's.
        expect({ ...e, signals: { ...e.signals, TZ_INCONSISTENT: null, TZ_INVALID: null } }, context).toEqual({ ...re, signals: { ...re.signals, TZ_INCONSISTENT: null, TZ_INVALID: null } });
        expect(e.signals.TZ_INVALID, context).toBe(false);
        // The sign trap is visible: the opposite offset is judged differently somewhere.
        const minutes = zoneCase.reference.utcOffsetMinutes as number;
        const opposite = await check(writeJson({ ...origin, client: { utcOffsetMinutes: -minutes } }));
        if (JSON.stringify(essentials(decisionOf(opposite) as DecisionView)) !== JSON.stringify(re)) tally.add('sign-matters');
      } else {
        expect(e, context).toEqual(re);
        if (zoneCase.why === 'not a zone') expect(e.signals.TZ_INVALID, context).toBe(true);
        else {
          const canonical = (zoneCase.reference.timezone as string) ?? '';
          expect(offsetAt(canonical, now), `${canonical} has an offset`).toBeTypeOf('number');
        }
      }
    }, tally);
    expect(tally.get('POSIX sign'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('not a zone'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('sign-matters'), tally.toString()).toBeGreaterThan(0);
  });
});
