// Hostile parts for the fuzz properties: a JSON writer that can say what JSON.stringify cannot
// (repeated keys, escaped key spellings, raw number tokens, odd whitespace), hostile strings,
// numbers and time-zone names, and the "add a hostile part to a realistic request" variants the
// differential properties compare with the request without it.
import fc from 'fast-check';
import { clockArb, zoneNameArb } from '../generators';

// ---------------------------------------------------------------------------------------------
// A JSON writer.

/** Raw JSON text, written as is (`1e999`, `-0`, `NaN`, a nested document). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object written with these members in this order, repeated keys included. */
export class Members {
  constructor(readonly pairs: readonly (readonly [string, unknown])[]) {}
}

/** How a document is written: the same value, another text. */
export interface JsonStyle {
  /** Whitespace between tokens. */
  readonly space: string;
  /** Every k-th character of each string (keys included) written as a \u escape; 0: none. */
  readonly escapeEvery: number;
}

export const PLAIN_STYLE: JsonStyle = { space: '', escapeEvery: 0 };

export const jsonStyleArb: fc.Arbitrary<JsonStyle> = fc.record({
  space: fc.constantFrom('', ' ', '\n', '\t', '\r\n  ', '   '),
  escapeEvery: fc.constantFrom(0, 0, 1, 2, 3, 7),
});

/** A JSON string literal of `s`, escaping as `style` says (the value is the same). */
export function quote(s: string, style: JsonStyle = PLAIN_STYLE): string {
  if (style.escapeEvery === 0) return JSON.stringify(s);
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (i % style.escapeEvery === 0 || c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      const hex = c.toString(16).padStart(4, '0');
      out += `\\u${i % 2 === 0 ? hex : hex.toUpperCase()}`;
    } else {
      out += s[i];
    }
  }
  return `${out}"`;
}

/** Writes a value as JSON text; `RawJson` and `Members` as they say; `undefined` members are left out. */
export function writeJson(value: unknown, style: JsonStyle = PLAIN_STYLE): string {
  const sp = style.space;
  if (value instanceof RawJson) return value.text;
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value, style);
  if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? '-0' : String(value)) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${sp}${value.map((v) => writeJson(v, style)).join(`,${sp}`)}${sp}]`;
  const pairs = value instanceof Members ? value.pairs : Object.entries(value as object).filter(([, v]) => v !== undefined);
  return `{${sp}${pairs.map(([k, v]) => `${quote(k, style)}${sp}:${sp}${writeJson(v, style)}`).join(`,${sp}`)}${sp}}`;
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

/** Keys that mean something to JavaScript objects. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf', 'toJSON', 'then'];

/**
 * Zone names built to trip a resolver: paths (`../../etc/x`, zoneinfo paths), names that are a
 * real zone with something around it (a NUL, a slash, a percent-encoding, look-alike letters), 10 KB
 * names, POSIX `Etc/GMT±N` and the offset notations that are not zone names, legacy ids, JavaScript
 * property names, empty and blank names.
 */
export const HOSTILE_ZONES: readonly string[] = [
  '../../etc/x', '../../etc/passwd', '../../../../../../etc/localtime', '/etc/localtime', '/usr/share/zoneinfo/Asia/Shanghai', 'zoneinfo/Asia/Shanghai',
  'Asia/../Asia/Shanghai', 'Asia/Shanghai/..', 'Asia/./Shanghai', 'Asia//Shanghai', 'Asia/Shanghai/', '/Asia/Shanghai', 'Asia\\Shanghai', 'Asia%2FShanghai', 'Asia/Shanghai%00',
  'Asia/Shanghai\u0000', '\u0000Asia/Shanghai', 'Asia/Shanghai\u200b', 'Asia/Shangha\u0456', '\uff21sia/Shanghai', 'Asia/Shanghai\ud800', 'ASIA/SHANGHAI', ' asia/shanghai ',
  'right/Asia/Shanghai', 'posix/Asia/Shanghai', 'posixrules', 'localtime', 'Factory', 'GMT0', 'Etc/Unknown',
  'Etc/GMT+8', 'Etc/GMT-8', 'etc/gmt-8', 'Etc/GMT+08', 'Etc/GMT-08', 'Etc/GMT+8:00', 'Etc/GMT-3:30', 'Etc/GMT-14', 'Etc/GMT+12', 'Etc/GMT-15', 'Etc/GMT+13', 'Etc/GMT+0', 'Etc/GMT-0',
  'GMT+8', 'GMT-8', 'UTC+8', 'UTC+08:00', 'UTC-3:30', '+08:00', '-05:00', '+0330', 'CST-8', 'EST5EDT', 'CST6CDT', 'PST8PDT', 'CTT', 'PRC', 'ROC', 'Iran', 'W-SU', 'Cuba',
  'constructor', '__proto__', 'hasOwnProperty', 'toString', 'Asia/constructor', '', ' ', '\t', ',', 'Asia/Shanghai,America/New_York',
  `Asia/${'x'.repeat(10_240)}`, 'A'.repeat(10_240), `${'../'.repeat(3000)}etc/passwd`, `Asia/Shanghai${' '.repeat(10_000)}`,
];

/** A hostile zone name: one of {@link HOSTILE_ZONES}, a real name in any case, or random text (any UTF-16, lone surrogates included). */
export const hostileZoneArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_ZONES) },
  { weight: 2, arbitrary: zoneNameArb },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Etc/GMT', 'Etc/GMT+', 'Etc/GMT-', 'GMT', 'UTC', 'Etc/UTC'), fc.integer({ min: -20, max: 20 })).map(([p, n]) => `${p}${n}`) },
);

/** Strings that are not what they look like: control characters, lone surrogates, bidi overrides, numbers written as text, long runs. */
export const hostileStringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\ud800b', '\u202eNC-hz', '\ufeff', '\r\n', '\\', '"', '</script>', '${x}', '%00', '480', '+480', '0x1e0', '4.8e2', ' 480 ', 'NaN', 'Infinity', '-0', 'null', 'true', '[]', '{}') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 12_000 }).map((n) => 'zh-CN,'.repeat(Math.ceil(n / 6)).slice(0, n)) },
  { weight: 1, arbitrary: hostileZoneArb },
);

/** Numbers (and number tokens) a JSON body may carry: non-finite once parsed, -0, huge, tiny, fractional, exponent forms of a real offset. */
export const hostileNumberArb: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.constantFrom<number | RawJson>(
    new RawJson('1e999'), new RawJson('-1e999'), new RawJson('1e-999'), new RawJson('-0'), new RawJson('4.8e2'), new RawJson('480.0000000000000000001'),
    new RawJson('0.00000000000000000000000000000000000000000000000001'), new RawJson('123456789012345678901234567890'), new RawJson('-0.0e0'),
    Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, -(2 ** 31), 0.5, 479.99, 481, 525, 765, -720, 840, 855,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -2000, max: 2000 }),
);

/** Clocks near the real ones and hostile ones: impossible dates, year 0 and 275760, odd offsets, NUL-terminated. */
export function hostileClockArb(now: number): fc.Arbitrary<string> {
  return fc.oneof(
    clockArb(now, undefined),
    fc.constantFrom(
      '9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '2026-02-30T12:00:00Z', '2026-11-26T24:00:00Z', '2026-11-26T12:00:00+99:99',
      '2026-11-26T12:00:00-00:00', '2026-11-26T12:00:00+14:01', `${new Date(now).toISOString()}\u0000`, ` ${new Date(now).toISOString()} `, new Date(now).toISOString().toLowerCase(),
      `${new Date(now).toISOString().slice(0, 19)}.1234567890123Z`, `${new Date(now).toISOString().slice(0, 19)}+0800`, '1e999', '',
    ),
  );
}

/** Deep nesting of `inner` in arrays (depth levels). */
export function nested(depth: number, inner: unknown = 'Asia/Shanghai'): RawJson {
  return new RawJson(`${'['.repeat(depth)}${writeJson(inner)}${']'.repeat(depth)}`);
}

// ---------------------------------------------------------------------------------------------
// Realistic requests, as the generators draw them, and as other transports carry them.

/** A check-request body as a plain object (generators' origin fields plus `client`). */
export type Body = Record<string, unknown>;

/** Sets `path` (`geo` or `geo.asn`: one level deep) of `body` to `value`, copying the object it changes. */
export function setAt(body: Body, path: string, value: unknown): void {
  const [head = '', tail] = path.split('.');
  if (tail === undefined) body[head] = value;
  else body[head] = { ...((body[head] ?? {}) as Body), [tail]: value };
}

/** The claims of a client field as a list. */
export function asList(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? [...(v as unknown[])] : [v];
}

/** Printable ASCII only (the generators' junk may hold characters no header can carry). */
export function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').trim();
}

/**
 * The forward-auth headers a proxy would send for a check-request body (docs/integrations.md):
 * origin-side `Geogate-*` headers and the user's client claims, repeated claims joined with ", "
 * as a repeated header arrives. Values a header cannot carry are made printable.
 */
export function headersFor(body: Body): [string, string][] {
  const out: [string, string][] = [];
  const geo = (body.geo ?? {}) as Record<string, unknown>;
  const account = (body.account ?? {}) as Record<string, unknown>;
  const client = (body.client ?? {}) as Record<string, unknown>;
  const put = (name: string, v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number') out.push([name, String(v)]);
  };
  put('geogate-ip', body.ip);
  put('geogate-country', geo.country);
  put('geogate-region-code', geo.regionCode);
  put('geogate-timezone', geo.timezone);
  put('geogate-asn', geo.asn);
  put('geogate-account-id', account.id);
  put('geogate-org-id', account.orgId);
  put('geogate-owner-country', account.ownerCountry);
  put('geogate-surface', body.surface);
  const claims = (name: string, v: unknown) => {
    const values = asList(v).map((x) => headerSafe(String(x)).replace(/,/g, ' ')).filter((x) => x !== '');
    if (values.length > 0) out.push([name, values.join(', ')]);
  };
  claims('geogate-client-timezone', client.timezone);
  claims('geogate-client-utc-offset', client.utcOffsetMinutes);
  claims('geogate-client-clock', client.clock);
  const languages = asList(client.acceptLanguage).map((x) => headerSafe(String(x))).filter((x) => x !== '');
  if (languages.length > 0) out.push(['accept-language', languages.join(', ')]);
  if (typeof client.userAgent === 'string' && headerSafe(client.userAgent) !== '') out.push(['user-agent', headerSafe(client.userAgent)]);
  return out;
}
