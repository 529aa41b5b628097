// The fast path of check-request validation. zod is the single source of truth
// (CheckRequestSchema in ./check-request.ts); it runs without its JIT in workerd (code generation
// is forbidden there) and cost ~20 µs of every check. This module accepts only the common shape
// (plain objects, known keys, strings and finite numbers that plainly pass every refinement) and
// answers exactly what zod would answer for it; anything else, valid or not, is `undefined` and
// goes to zod, which also writes every error message. A differential property test
// (test/unit/check-request-fast.test.ts) holds the two equal.
import { isIsoCountry } from '../engine/countries';
import { isIpAddress } from '../engine/ip';
import { lookupZone } from '../engine/timezone';
import { SURFACE_NAME } from '../policy/schema';
import type { CheckRequest } from './check-request';

type Plain = Record<string, unknown>;

const TOP_KEYS = new Set(['requestId', 'clearance', 'ip', 'geo', 'client', 'account', 'surface']);
const GEO_KEYS = new Set(['country', 'region', 'regionCode', 'city', 'continent', 'timezone', 'latitude', 'longitude', 'postalCode', 'asn', 'asOrganization', 'colo']);
const CLIENT_KEYS = new Set(['timezone', 'utcOffsetMinutes', 'acceptLanguage', 'userAgent', 'clock', 'deviceId']);
const ACCOUNT_KEYS = new Set(['id', 'orgId', 'ownerCountry']);

// The patterns the schema (./check-request.ts) validates with: one copy, read by both.
/** A country or continent code: two characters, a letter first (`US`, `T1`, `XX`). */
export const TWO_CHARS = /^[A-Za-z][A-Za-z0-9]$/;
/** An ISO 3166-2 subdivision code, with or without its country (`43`, `UA-43`). */
export const REGION_CODE = /^[A-Za-z0-9]{1,3}(-[A-Za-z0-9]{1,3})?$/;
/** A request id: 1-128 printable ASCII characters without spaces. */
export const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** Lone UTF-16 surrogates: text no URL can carry, so an id holding one could never be inspected or reset. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether an account or organisation id can be named in a path (/v1/accounts/{id}/activity): not
 * "." or ".." (URL dot segments) and well-formed Unicode. Its length is the schema's to bound.
 */
export const isNameableId = (id: string): boolean => id !== '.' && id !== '..' && !LONE_SURROGATE.test(id);

/** Declines: the value is not in the shape this path handles. */
const DECLINE = Symbol('decline');
type Result<T> = T | typeof DECLINE;

/** Whether `v` is a plain object: made by a literal or JSON.parse (prototype Object or null), not a Map, Date, array or class instance. */
export function isPlain(v: unknown): v is Plain {
  const proto: unknown = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.getPrototypeOf(v) : undefined;
  return proto === Object.prototype || proto === null;
}

/** Whether every own key of `o` is in `allowed`. */
function keysWithin(o: Plain, allowed: ReadonlySet<string>): boolean {
  for (const key of Object.keys(o)) if (!allowed.has(key)) return false;
  return true;
}

/**
 * `o`'s fields, each as `field` reads it, when `o` is a plain object with only `allowed` keys and
 * `field` declines none. A key given as undefined stays undefined, unread: zod keeps such a key
 * (an RPC caller can send one).
 */
function readFields(o: unknown, allowed: ReadonlySet<string>, field: (key: string, v: unknown) => unknown): Result<Plain> {
  if (!isPlain(o) || !keysWithin(o, allowed)) return DECLINE;
  const out: Plain = {};
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (v === undefined) {
      out[key] = undefined;
      continue;
    }
    const read = field(key, v);
    if (read === DECLINE) return DECLINE;
    out[key] = read;
  }
  return out;
}

const boundedText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** A string, or an array of strings (a repeated claim): the array is copied, as zod copies it. */
function stringClaims(v: unknown): Result<string | string[]> {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return DECLINE;
  for (const item of v) if (typeof item !== 'string') return DECLINE;
  return v.slice() as string[];
}

function numberClaims(v: unknown): Result<number | number[]> {
  if (typeof v === 'number') return Number.isFinite(v) ? v : DECLINE;
  if (!Array.isArray(v)) return DECLINE;
  for (const item of v) if (typeof item !== 'number' || !Number.isFinite(item)) return DECLINE;
  return v.slice() as number[];
}

/** A field of `geo`: its value as zod would answer it, or DECLINE. */
function geoField(key: string, v: unknown): unknown {
  switch (key) {
    case 'country':
    case 'continent':
      return typeof v === 'string' && TWO_CHARS.test(v) ? v.toUpperCase() : DECLINE;
    case 'region':
    case 'city':
      return boundedText(v, 128) ? v : DECLINE;
    case 'regionCode':
      return typeof v === 'string' && REGION_CODE.test(v) ? v : DECLINE;
    case 'timezone':
      return boundedText(v, 64) && lookupZone(v).kind !== 'invalid' ? v : DECLINE;
    case 'latitude':
    case 'longitude': {
      // Numeric strings are zod's to convert.
      const limit = key === 'latitude' ? 90 : 180;
      return typeof v === 'number' && v >= -limit && v <= limit ? v : DECLINE;
    }
    case 'postalCode':
      return boundedText(v, 32) ? v : DECLINE;
    case 'asn':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 4_294_967_295 && !Object.is(v, -0) ? v : DECLINE;
    case 'asOrganization':
      return boundedText(v, 256) ? v : DECLINE;
    case 'colo':
      return boundedText(v, 16) ? v : DECLINE;
    default:
      return DECLINE;
  }
}

/** A field of `client`: the user agent as it is, every other claim one value or several. */
function clientField(key: string, v: unknown): unknown {
  if (key === 'userAgent') return typeof v === 'string' ? v : DECLINE;
  return key === 'utcOffsetMinutes' ? numberClaims(v) : stringClaims(v);
}

const accountId = (v: unknown): v is string => boundedText(v, 256) && isNameableId(v);

/** A field of `account`: the owner country upper-cased, the ids as they are. */
function accountField(key: string, v: unknown): unknown {
  if (key !== 'ownerCountry') return accountId(v) ? v : DECLINE;
  if (typeof v !== 'string') return DECLINE;
  const upper = v.toUpperCase();
  return isIsoCountry(upper) ? upper : DECLINE;
}

/** A top-level field of the request. */
function topField(key: string, v: unknown): unknown {
  switch (key) {
    case 'requestId':
      return typeof v === 'string' && REQUEST_ID.test(v) ? v : DECLINE;
    case 'clearance':
      return typeof v === 'string' ? v : DECLINE;
    case 'ip':
      return typeof v === 'string' && isIpAddress(v) ? v : DECLINE;
    case 'surface': {
      if (typeof v !== 'string') return DECLINE;
      const lower = v.toLowerCase();
      return SURFACE_NAME.test(lower) ? lower : DECLINE;
    }
    case 'geo':
      return readFields(v, GEO_KEYS, geoField);
    case 'client':
      return readFields(v, CLIENT_KEYS, clientField);
    case 'account':
      return readFields(v, ACCOUNT_KEYS, accountField);
    default:
      return DECLINE;
  }
}

/**
 * The validated check request, exactly as `CheckRequestSchema.parse(value)` would answer it, when
 * `value` has the common shape; `undefined` otherwise (then ask zod). Never throws.
 */
export function fastCheckRequest(value: unknown): CheckRequest | undefined {
  const out = readFields(value, TOP_KEYS, topField);
  return out === DECLINE ? undefined : out;
}
