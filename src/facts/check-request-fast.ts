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

function isPlain(v: unknown): v is Plain {
  const proto: unknown = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.getPrototypeOf(v) : undefined;
  return proto === Object.prototype || proto === null;
}

/** Whether every own key of `o` is in `allowed`. */
function keysWithin(o: Plain, allowed: ReadonlySet<string>): boolean {
  for (const key of Object.keys(o)) if (!allowed.has(key)) return false;
  return true;
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

function geoOf(g: unknown): Result<NonNullable<CheckRequest['geo']>> {
  if (!isPlain(g) || !keysWithin(g, GEO_KEYS)) return DECLINE;
  const out: Plain = {};
  for (const key of Object.keys(g)) {
    const v = g[key];
    if (v === undefined) {
      // zod keeps a key given as undefined (an RPC caller can send one).
      out[key] = undefined;
      continue;
    }
    switch (key) {
      case 'country':
      case 'continent':
        if (typeof v !== 'string' || !TWO_CHARS.test(v)) return DECLINE;
        out[key] = v.toUpperCase();
        break;
      case 'region':
      case 'city':
        if (!boundedText(v, 128)) return DECLINE;
        out[key] = v;
        break;
      case 'regionCode':
        if (typeof v !== 'string' || !REGION_CODE.test(v)) return DECLINE;
        out[key] = v;
        break;
      case 'timezone':
        if (!boundedText(v, 64) || lookupZone(v).kind === 'invalid') return DECLINE;
        out[key] = v;
        break;
      case 'latitude':
      case 'longitude': {
        // Numeric strings are zod's to convert.
        const limit = key === 'latitude' ? 90 : 180;
        if (typeof v !== 'number' || !(v >= -limit && v <= limit)) return DECLINE;
        out[key] = v;
        break;
      }
      case 'postalCode':
        if (!boundedText(v, 32)) return DECLINE;
        out[key] = v;
        break;
      case 'asn':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 4_294_967_295 || Object.is(v, -0)) return DECLINE;
        out[key] = v;
        break;
      case 'asOrganization':
        if (!boundedText(v, 256)) return DECLINE;
        out[key] = v;
        break;
      case 'colo':
        if (!boundedText(v, 16)) return DECLINE;
        out[key] = v;
        break;
    }
  }
  return out;
}

function clientOf(cl: unknown): Result<NonNullable<CheckRequest['client']>> {
  if (!isPlain(cl) || !keysWithin(cl, CLIENT_KEYS)) return DECLINE;
  const out: Plain = {};
  for (const key of Object.keys(cl)) {
    const v = cl[key];
    if (v === undefined) {
      // zod keeps a key given as undefined (an RPC caller can send one).
      out[key] = undefined;
      continue;
    }
    if (key === 'userAgent') {
      if (typeof v !== 'string') return DECLINE;
      out[key] = v;
      continue;
    }
    const claim = key === 'utcOffsetMinutes' ? numberClaims(v) : stringClaims(v);
    if (claim === DECLINE) return DECLINE;
    out[key] = claim;
  }
  return out;
}

const accountId = (v: unknown): v is string => boundedText(v, 256) && isNameableId(v);

function accountOf(a: unknown): Result<NonNullable<CheckRequest['account']>> {
  if (!isPlain(a) || !keysWithin(a, ACCOUNT_KEYS)) return DECLINE;
  const out: Plain = {};
  for (const key of Object.keys(a)) {
    const v = a[key];
    if (v === undefined) {
      // zod keeps a key given as undefined (an RPC caller can send one).
      out[key] = undefined;
      continue;
    }
    if (key === 'ownerCountry') {
      if (typeof v !== 'string') return DECLINE;
      const upper = v.toUpperCase();
      if (!isIsoCountry(upper)) return DECLINE;
      out[key] = upper;
    } else {
      if (!accountId(v)) return DECLINE;
      out[key] = v;
    }
  }
  return out;
}

/**
 * The validated check request, exactly as `CheckRequestSchema.parse(value)` would answer it, when
 * `value` has the common shape; `undefined` otherwise (then ask zod). Never throws.
 */
export function fastCheckRequest(value: unknown): CheckRequest | undefined {
  if (!isPlain(value) || !keysWithin(value, TOP_KEYS)) return undefined;
  const out: Plain = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) {
      // zod keeps a key given as undefined (an RPC caller can send one).
      out[key] = undefined;
      continue;
    }
    let field: unknown;
    switch (key) {
      case 'requestId':
        if (typeof v !== 'string' || !REQUEST_ID.test(v)) return undefined;
        field = v;
        break;
      case 'clearance':
        if (typeof v !== 'string') return undefined;
        field = v;
        break;
      case 'ip':
        if (typeof v !== 'string' || !isIpAddress(v)) return undefined;
        field = v;
        break;
      case 'surface': {
        if (typeof v !== 'string') return undefined;
        const lower = v.toLowerCase();
        if (!SURFACE_NAME.test(lower)) return undefined;
        field = lower;
        break;
      }
      case 'geo':
        field = geoOf(v);
        break;
      case 'client':
        field = clientOf(v);
        break;
      case 'account':
        field = accountOf(v);
        break;
    }
    if (field === DECLINE) return undefined;
    out[key] = field;
  }
  return out;
}
