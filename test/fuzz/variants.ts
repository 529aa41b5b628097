// "The same request with a hostile part added", for the differential properties of /v1/check
// and the RPC entrypoint: each variant of a realistic check request says what it adds and what
// geogate must answer compared with the request without it:
//   equal      the same decision (the same value written another way: whitespace, escapes, nulls
//              for absent fields, case of origin codes, a BOM);
//   refused    a 400 (an unknown or prototype key, a repeated key, a type the schema refuses);
//   not-lower  a decision at least as strict, or a 400 (anything a client adds: claims, garbled
//              claims, clearances it forged or replayed, oversized and deeply nested values).
// In every case the variant is never MORE permissive than the base (harness.ts's order).
import fc from 'fast-check';
import { signClearance, signTicket } from '../../src/challenge/tokens';
import { CLEARABLE_CODES, inNetwork, networkOf, type ClearanceBinding } from '../../src/engine/clearance';
import { offsetAt } from '../../src/engine/timezone';
import { AccountInputSchema, CheckRequestSchema, ClientInputSchema, GeoInputSchema } from '../../src/facts/check-request';
import { acceptLanguageArb, originArb, scenarioArb, zoneNameArb } from '../generators';
import { CLEARANCE_SECRET } from '../helpers';
import { asList, hostileClockArb, hostileNumberArb, hostileStringArb, hostileZoneArb, jsonStyleArb, Members, nested, PROTOTYPE_KEYS, RawJson, writeJson, type Body, type JsonStyle } from './hostile';

export type Expectation = 'equal' | 'refused' | 'not-lower';

/** A variant's request: its body (text, or bytes when it is not valid UTF-8) and, when JSON can say it, the value (for RPC). */
export interface Built {
  readonly body: string | Uint8Array;
  /** The body as JSON.parse reads it (undefined when not valid JSON or repeating a key: HTTP only). */
  readonly value?: unknown;
}

/** A hostile variant of a base request. */
export interface Variant {
  readonly kind: string;
  readonly expect: Expectation;
  /** What was added (for the counterexample). */
  readonly detail: string;
  readonly build: (base: Body, now: number) => Built | Promise<Built>;
}

/** The fields the check request's schema knows, per object ('' the top level). */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(CheckRequestSchema.shape),
  geo: Object.keys(GeoInputSchema.shape),
  client: Object.keys(ClientInputSchema.shape),
  account: Object.keys(AccountInputSchema.shape),
};

/** base64url (no padding) of a value's JSON: a JWS part written by hand. */
const b64 = (o: unknown): string => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

const CLAIM_FIELDS = ['timezone', 'utcOffsetMinutes', 'clock', 'acceptLanguage', 'deviceId'] as const;
type ClaimField = (typeof CLAIM_FIELDS)[number];

/** Writes `value` as the variant's text; its parsed value rides along when the text is plain JSON. */
function plain(value: unknown, style?: JsonStyle): Built {
  const text = writeJson(value, style);
  return { body: text, value: JSON.parse(text) as unknown };
}

/** A copy of the base with `client` (a fresh object) changed by `f`. */
function withClient(base: Body, f: (client: Record<string, unknown>) => void): Body {
  const client = { ...((base.client ?? {}) as Record<string, unknown>) };
  f(client);
  return { ...base, client };
}

/** Inserts the extra claims among the base's, at a position the case picks. */
function addClaims(existing: unknown, extra: readonly unknown[], at: number): unknown[] {
  const list = asList(existing);
  const i = list.length === 0 ? 0 : at % (list.length + 1);
  return [...list.slice(0, i), ...extra, ...list.slice(i)];
}

/** Extra values for one claim field. */
function extraClaimsArb(field: ClaimField, now: number): fc.Arbitrary<unknown[]> {
  const one: fc.Arbitrary<unknown> =
    field === 'timezone'
      ? fc.oneof(hostileZoneArb, zoneNameArb)
      : field === 'utcOffsetMinutes'
        ? hostileNumberArb
        : field === 'clock'
          ? hostileClockArb(now)
          : field === 'acceptLanguage'
            ? fc.oneof(acceptLanguageArb, hostileStringArb, fc.constantFrom('zh-CN;q=0', '*;q=0', 'zh-CN;q=0.0001', 'en;q=2', 'zh-Hans-CN-x-private', 'i-default', 'x-klingon'))
            : hostileStringArb;
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(one, { minLength: 1, maxLength: 3 }) },
    // Huge arrays: hundreds to thousands of claims (within the 64 KiB body limit, mostly).
    { weight: 1, arbitrary: fc.tuple(one, fc.integer({ min: 100, max: 6000 })).map(([v, n]) => Array.from({ length: n }, (_, k) => (k % 7 === 0 ? v : field === 'utcOffsetMinutes' ? 0 : 'UTC'))) },
  );
}

// ---------------------------------------------------------------------------------------------
// Base requests.

/** Unrestricted countries, a zone of each, and a language spoken there. */
const HONEST: readonly (readonly [string, string, string])[] = [
  ['US', 'America/New_York', 'en-US,en;q=0.9'],
  ['US', 'America/Los_Angeles', 'en-US'],
  ['DE', 'Europe/Berlin', 'de-DE,de;q=0.9,en;q=0.8'],
  ['JP', 'Asia/Tokyo', 'ja-JP'],
  ['SG', 'Asia/Singapore', 'en-SG,en;q=0.9'],
  ['GB', 'Europe/London', 'en-GB'],
  ['AU', 'Australia/Sydney', 'en-AU'],
  ['BR', 'America/Sao_Paulo', 'pt-BR'],
];

/**
 * A realistic base request at an instant: the generators' scenario (random client claims, which
 * mostly raise suspicion), the same without client fields, or an honest user (a zone of the IP's
 * country at its true offset, a clock on time, a local language) so that many bases are allowed
 * and a hostile part has something to lower.
 */
export const baseArb: fc.Arbitrary<readonly [number, Body]> = scenarioArb.chain(([now, origin, client]) =>
  fc.oneof(
    fc.constant([now, { ...origin, client }] as const),
    fc.constant([now, { ...origin }] as const),
    fc.tuple(fc.constantFrom(...HONEST), originArb, fc.boolean()).map(([[country, zone, language], o, full]) => {
      const geo = { ...((o.geo ?? {}) as Record<string, unknown>), country, timezone: zone };
      const honest: Record<string, unknown> = { timezone: zone, acceptLanguage: language };
      if (full) {
        honest.utcOffsetMinutes = offsetAt(zone, now);
        honest.clock = new Date(now).toISOString();
        honest.userAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)';
      }
      const { ip: _ip, ...rest } = o;
      void _ip;
      return [now, { ...rest, geo, client: honest }] as const;
    }),
  ),
);

/**
 * The origin with, most of the time, an IP country both policies let through (the allow-list
 * policy denies most others outright, which leaves a hostile part nothing to lower).
 */
export function listedCountry(origin: Body): fc.Arbitrary<Body> {
  return fc.oneof(
    fc.constant(origin),
    fc.constantFrom('US', 'DE', 'JP', 'SG', 'GB').map((country) => ({ ...origin, geo: { ...((origin.geo ?? {})), country } })),
    fc.constantFrom('US', 'DE', 'JP', 'SG', 'GB').map((country) => ({ ...origin, geo: { ...((origin.geo ?? {})), country } })),
  );
}

// ---------------------------------------------------------------------------------------------
// Clearances a client might forge or replay.

const OTHER_NETWORK = '198.18.0.0/24';
const SPARE_NETWORK = '198.19.0.0/24';
const WRONG_SECRET = 'not-the-clearance-secret-0123456789abcdef';

type ClearanceKind = 'garbage' | 'alg-none' | 'other-network' | 'other-account' | 'expired' | 'wrong-secret' | 'tampered' | 'ticket' | 'joined';

/** The clearance secret the Worker signs with (vitest.config.ts). */
const secret = () => CLEARANCE_SECRET;

/** A clearance of `kind` for the base request at `now`: never one that lifts anything for it. */
export async function hostileClearance(kind: ClearanceKind, base: Body, now: number, bind: ClearanceBinding, salt: number): Promise<string> {
  const ip = typeof base.ip === 'string' ? base.ip : undefined;
  const account = ((base.account ?? {}) as { id?: string }).id || undefined;
  const own = ip === undefined ? undefined : networkOf(ip, bind);
  const elsewhere = ip !== undefined && inNetwork(ip, OTHER_NETWORK) ? SPARE_NETWORK : OTHER_NETWORK;
  const grant = (over: Partial<Parameters<typeof signClearance>[1]>) => ({
    kind: 'step-up',
    method: 'otp',
    ...(account !== undefined ? { account } : {}),
    network: own ?? elsewhere,
    reasons: [...CLEARABLE_CODES],
    policyVersion: 'fuzz',
    issuedAt: now - 1000,
    expiresAt: now + 3_600_000,
    ...over,
  });
  switch (kind) {
    case 'garbage':
      return ['x', 'a.b.c', `${'A'.repeat(2000)}.${'B'.repeat(2000)}.${'C'.repeat(200)}`, 'eyJhbGciOiJIUzI1NiJ9..', '\u0000', ' ', `${salt}`][salt % 7] ?? 'x';
    case 'alg-none':
      return `${b64({ alg: 'none', typ: 'geogate-clearance+jwt' })}.${b64({ iss: 'geogate', aud: 'geogate:clearance', jti: 'x', net: own ?? elsewhere, knd: 'step-up', rsn: CLEARABLE_CODES, pv: 'x', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600 })}.`;
    case 'other-network':
      return (await signClearance(secret(), grant({ network: elsewhere }))).token;
    case 'other-account':
      return (await signClearance(secret(), grant({ account: `someone-else-${salt % 100}` }))).token;
    case 'expired':
      return (await signClearance(secret(), grant({ issuedAt: now - 7_200_000, expiresAt: now - 1000 }))).token;
    case 'wrong-secret':
      return (await signClearance(WRONG_SECRET, grant({}))).token;
    case 'tampered': {
      const token = (await signClearance(secret(), grant({ account: `someone-else-${salt % 100}` }))).token;
      // The payload swapped for the base's binding, the signature kept: a forged binding.
      const [header, , signature] = token.split('.');
      const payload = b64({ ...(account !== undefined ? { sub: account } : {}), net: own ?? elsewhere, knd: 'step-up', rsn: CLEARABLE_CODES, pv: 'x', iss: 'geogate', aud: 'geogate:clearance', jti: 'x', iat: Math.floor(now / 1000) - 1, exp: Math.floor(now / 1000) + 3600 });
      return `${header}.${payload}.${signature}`;
    }
    case 'ticket':
      return signTicket(secret(), { requestId: 'r', ...(account !== undefined ? { account } : {}), ...(own !== undefined ? { network: own } : {}), reasons: [...CLEARABLE_CODES], kinds: ['step-up'], policyVersion: 'x', issuedAt: now - 1000, expiresAt: now + 3_600_000 });
    case 'joined':
      return `${(await signClearance(secret(), grant({ network: elsewhere }))).token}, ${(await signClearance(WRONG_SECRET, grant({}))).token}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The variants.

/** Invalid UTF-8 byte sequences: a lone continuation byte, an overlong '/', a UTF-16 surrogate as CESU-8, bytes that never occur, a truncated sequence. */
const INVALID_UTF8: readonly (readonly number[])[] = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xfe, 0xff], [0xe4, 0xb8], [0xf4, 0x90, 0x80, 0x80], [0xc3]];
const MARK = '~INVALID-UTF8~';

/** Variants of one base request at `now` (the base must already be a valid request). */
export function variantArb(base: Body, now: number, bind: ClearanceBinding): fc.Arbitrary<Variant> {
  const client = (base.client ?? {}) as Record<string, unknown>;
  const objectsPresent = ['', ...(['geo', 'client', 'account'] as const).filter((k) => typeof base[k] === 'object' && base[k] !== null)];

  const unknownKey: fc.Arbitrary<Variant> = fc
    .tuple(
      fc.constantFrom('', 'geo', 'client', 'account'),
      fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.constantFrom('Timezone', 'IP', 'timeZone', 'utc_offset_minutes', 'Country', 'accountId', 'ip ', ' ip'), fc.string({ maxLength: 12 })),
      fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileStringArb),
      jsonStyleArb,
    )
    .filter(([where, key]) => !(KNOWN_KEYS[where] ?? []).includes(key))
    .map(([where, key, value, style]) => ({
      kind: value === null ? 'unknown-key-null' : 'unknown-key',
      // A null member reads as absent (check-request.ts drops nulls before the schema), unknown or not.
      expect: value === null ? ('equal' as const) : ('refused' as const),
      detail: `${where || '(top)'}.${JSON.stringify(key)} = ${JSON.stringify(value).slice(0, 80)}`,
      build: (b: Body) => {
        const target = where === '' ? b : ((b[where] ?? {}) as Record<string, unknown>);
        const obj = new Members([...Object.entries(target).filter(([, v]) => v !== undefined), [key, value]]);
        return plain(where === '' ? obj : { ...b, [where]: obj }, style);
      },
    }));

  const duplicateKey: fc.Arbitrary<Variant> = fc
    .tuple(fc.constantFrom(...objectsPresent), fc.nat(), fc.oneof(fc.constant<unknown>(undefined), hostileStringArb, hostileZoneArb, fc.jsonValue({ maxDepth: 1 })), jsonStyleArb)
    .map(([where, pick, other, style]) => ({
      kind: 'duplicate-key',
      expect: 'refused' as const,
      detail: `${where || '(top)'} key #${pick} repeated with ${other === undefined ? 'the same value' : JSON.stringify(other).slice(0, 60)}, escapes every ${style.escapeEvery}`,
      build: (b: Body) => {
        const target = (where === '' ? b : b[where]) as Record<string, unknown>;
        const pairs = Object.entries(target).filter(([, v]) => v !== undefined);
        if (pairs.length === 0) pairs.push(['requestId', 'r-1']);
        const [key, value] = pairs[pick % pairs.length] ?? ['requestId', 'r-1'];
        // The repeat first or last: JSON.parse keeps the last, and neither may win silently.
        const repeated: [string, unknown] = [key, other === undefined ? value : other];
        const members = new Members(pick % 2 === 0 ? [...pairs, repeated] : [repeated, ...pairs]);
        const text = writeJson(where === '' ? members : { ...b, [where]: members }, style);
        return { body: text };
      },
    }));

  const extraClaims: fc.Arbitrary<Variant> = fc
    .constantFrom(...CLAIM_FIELDS)
    .chain((field) => fc.tuple(fc.constant(field), extraClaimsArb(field, now), fc.nat(), jsonStyleArb))
    .map(([field, extra, at, style]) => ({
      kind: extra.length >= 100 ? 'huge-array' : `extra-${field}`,
      expect: 'not-lower' as const,
      detail: `client.${field} += ${JSON.stringify(extra.length > 6 ? [...extra.slice(0, 3), `… ${extra.length} claims`] : extra, (_k, v: unknown) => (v instanceof RawJson ? `raw:${v.text}` : typeof v === 'string' && v.length > 60 ? `${v.slice(0, 20)}…(${v.length})` : v))}`,
      build: (b: Body) => {
        const body = withClient(b, (c) => {
          c[field] = addClaims(c[field], extra, at);
        });
        const text = writeJson(body, style);
        return extra.some((e) => e instanceof RawJson) ? { body: text, value: JSON.parse(text) as unknown } : plain(body, style);
      },
    }));

  const nulls: fc.Arbitrary<Variant> = jsonStyleArb.map((style) => ({
    kind: 'null-members',
    expect: 'equal' as const,
    detail: 'null for every absent field (top level and one level down)',
    build: (b: Body) => {
      const out: Record<string, unknown> = { ...b };
      for (const key of KNOWN_KEYS[''] ?? []) if (out[key] === undefined) out[key] = null;
      for (const where of ['geo', 'client', 'account'] as const) {
        const obj = out[where];
        if (typeof obj !== 'object' || obj === null) continue;
        const copy: Record<string, unknown> = { ...(obj as Record<string, unknown>) };
        for (const key of KNOWN_KEYS[where] ?? []) if (copy[key] === undefined) copy[key] = null;
        out[where] = copy;
      }
      return plain(out, style);
    },
  }));

  const restyle: fc.Arbitrary<Variant> = fc.tuple(jsonStyleArb, fc.boolean(), fc.boolean()).map(([style, bom, single]) => ({
    kind: 'restyled',
    expect: 'equal' as const,
    detail: `whitespace ${JSON.stringify(style.space)}, escapes every ${style.escapeEvery}${bom ? ', a UTF-8 BOM' : ''}${single ? ', single claims as one-element arrays' : ''}`,
    build: (b: Body) => {
      const body = single ? withClient(b, (c) => {
        for (const f of CLAIM_FIELDS) if (c[f] !== undefined && !Array.isArray(c[f])) c[f] = [c[f]];
      }) : b;
      const text = writeJson(body, style);
      if (!bom) return { body: text, value: JSON.parse(text) as unknown };
      const bytes = new TextEncoder().encode(text);
      const out = new Uint8Array(bytes.length + 3);
      out.set([0xef, 0xbb, 0xbf]);
      out.set(bytes, 3);
      return { body: out, value: JSON.parse(text) as unknown };
    },
  }));

  const caseOf: fc.Arbitrary<Variant> = fc.tuple(fc.boolean(), jsonStyleArb).map(([lower, style]) => ({
    kind: 'code-case',
    expect: 'equal' as const,
    detail: `country, continent and owner codes ${lower ? 'lower' : 'mixed'}-cased, surface upper-cased`,
    build: (b: Body) => {
      const flip = (s: unknown) => (typeof s === 'string' ? (lower ? s.toLowerCase() : `${s.charAt(0).toLowerCase()}${s.slice(1)}`) : s);
      const geo = b.geo as Record<string, unknown> | undefined;
      const account = b.account as Record<string, unknown> | undefined;
      const out: Body = { ...b };
      if (geo) out.geo = { ...geo, country: flip(geo.country) };
      if (account && account.ownerCountry !== undefined) out.account = { ...account, ownerCountry: flip(account.ownerCountry) };
      if (typeof b.surface === 'string') out.surface = b.surface.toUpperCase();
      return plain(out, style);
    },
  }));

  const numbersAsText: fc.Arbitrary<Variant> = fc.constantFrom('asn', 'offsets', 'offset-extra').map((what) => ({
    kind: `number-as-string-${what}`,
    // An ASN or an offset written as a string is a type the schema refuses.
    expect: 'refused' as const,
    detail: what,
    build: (b: Body) => {
      if (what === 'asn') return plain({ ...b, geo: { ...((b.geo ?? {})), asn: String(((b.geo ?? {}) as { asn?: number }).asn ?? 7922) } });
      return plain(withClient(b, (c) => {
        c.utcOffsetMinutes = what === 'offsets' && c.utcOffsetMinutes !== undefined ? asList(c.utcOffsetMinutes).map(String) : addClaims(c.utcOffsetMinutes, ['480'], 0);
      }));
    },
  }));

  const nonFinite: fc.Arbitrary<Variant> = fc
    .tuple(fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '+1', '01', '.5', '0x1E0'), fc.constantFrom('utcOffsetMinutes', 'asn', 'latitude'))
    .map(([token, where]) => ({
      kind: 'non-finite',
      expect: 'refused' as const,
      detail: `${where}: ${token}`,
      build: (b: Body) => {
        const raw = new RawJson(token);
        const body =
          where === 'utcOffsetMinutes'
            ? withClient(b, (c) => {
                c.utcOffsetMinutes = addClaims(c.utcOffsetMinutes, [raw], 1);
              })
            : { ...b, geo: { ...((b.geo ?? {})), [where]: raw } };
        const text = writeJson(body);
        let value: unknown;
        try {
          value = JSON.parse(text) as unknown;
        } catch {
          value = undefined;
        }
        return value === undefined ? { body: text } : { body: text, value };
      },
    }));

  const invalidUtf8: fc.Arbitrary<Variant> = fc
    .tuple(fc.constantFrom('timezone', 'acceptLanguage', 'clock', 'deviceId', 'userAgent'), fc.constantFrom(...INVALID_UTF8), fc.constantFrom('Asia/Shanghai', 'zh-CN', '', 'x'))
    .map(([field, bytes, around]) => ({
      kind: 'invalid-utf8',
      expect: 'not-lower' as const,
      detail: `client.${field}: ${JSON.stringify(around)} with bytes ${bytes.map((x) => x.toString(16)).join(' ')}`,
      build: (b: Body) => {
        const body = withClient(b, (c) => {
          // userAgent is one value, not claims: only where the base has none (else a device id).
          if (field === 'userAgent' && c.userAgent === undefined) c.userAgent = `${around}${MARK}`;
          else c[field === 'userAgent' ? 'deviceId' : field] = addClaims(c[field === 'userAgent' ? 'deviceId' : field], [`${around}${MARK}`], 0);
        });
        const encoded = new TextEncoder().encode(writeJson(body));
        const mark = new TextEncoder().encode(MARK);
        const at = indexOf(encoded, mark);
        const out = new Uint8Array(encoded.length - mark.length + bytes.length);
        out.set(encoded.subarray(0, at));
        out.set(bytes, at);
        out.set(encoded.subarray(at + mark.length), at + bytes.length);
        return { body: out };
      },
    }));

  const deep: fc.Arbitrary<Variant> = fc.tuple(fc.constantFrom(2, 3, 50, 1000, 20_000), fc.constantFrom('client.timezone', 'client.clock', 'unknown')).map(([depth, where]) => ({
    kind: 'deep-nesting',
    expect: 'refused' as const,
    detail: `${where} nested ${depth} deep`,
    build: (b: Body) => {
      const value = nested(depth, where === 'client.clock' ? '2026-11-26T12:00:00Z' : 'Asia/Shanghai');
      const body = where === 'unknown' ? { ...b, nested: value } : withClient(b, (c) => {
        c[where === 'client.timezone' ? 'timezone' : 'clock'] = value;
      });
      const text = writeJson(body);
      return { body: text, value: JSON.parse(text) as unknown };
    },
  }));

  const clearance: fc.Arbitrary<Variant> = fc
    .tuple(fc.constantFrom<ClearanceKind>('garbage', 'alg-none', 'other-network', 'other-account', 'expired', 'wrong-secret', 'tampered', 'ticket', 'joined'), fc.nat())
    .map(([kind, salt]) => ({
      kind: `clearance-${kind}`,
      expect: 'not-lower' as const,
      detail: `a ${kind} clearance`,
      build: async (b: Body, at: number) => plain({ ...b, clearance: await hostileClearance(kind, b, at, bind, salt) }),
    }));

  const requestId: fc.Arbitrary<Variant> = hostileStringArb.map((id) => ({
    kind: 'request-id',
    expect: 'not-lower' as const,
    detail: `requestId ${JSON.stringify(id.slice(0, 60))}`,
    build: (b: Body) => plain({ ...b, requestId: id }),
  }));

  const userAgent: fc.Arbitrary<Variant> = fc
    .oneof(hostileStringArb, fc.constantFrom('python-requests/2.31.0', 'curl/8.5.0', 'Go-http-client/1.1', 'Mozilla/5.0'), fc.integer({ min: 5000, max: 60_000 }).map((n) => 'M'.repeat(n)))
    .map((ua) => ({
      kind: 'user-agent',
      expect: 'not-lower' as const,
      detail: `userAgent ${JSON.stringify(ua.slice(0, 40))} (${ua.length})`,
      build: (b: Body) =>
        plain(withClient(b, (c) => {
          c.userAgent = ua;
        })),
    }));

  const arbs: { weight: number; arbitrary: fc.Arbitrary<Variant> }[] = [
    { weight: 2, arbitrary: unknownKey },
    { weight: 2, arbitrary: duplicateKey },
    { weight: 8, arbitrary: extraClaims },
    { weight: 1, arbitrary: nulls },
    { weight: 2, arbitrary: restyle },
    { weight: 1, arbitrary: caseOf },
    { weight: 1, arbitrary: numbersAsText },
    { weight: 1, arbitrary: nonFinite },
    { weight: 1, arbitrary: invalidUtf8 },
    { weight: 1, arbitrary: deep },
    { weight: 2, arbitrary: clearance },
    { weight: 1, arbitrary: requestId },
    { weight: client.userAgent === undefined ? 1 : 0, arbitrary: userAgent },
  ];
  return fc.oneof(...arbs.filter((a) => a.weight > 0));
}

/** The first index of `needle` in `hay` (the marker is there by construction). */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('marker not found');
}
