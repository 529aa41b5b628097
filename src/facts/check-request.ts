// The check request: what an origin says about one end-user request, as the JSON body of
// POST /v1/check (and, rebuilt from headers, of /v1/authorize). This module validates it and
// turns it into engine Facts; it is one of the only places that reads caller input.
import * as z from 'zod';
import { isIsoCountry, readCountry } from '../engine/countries';
import { isIpAddress } from '../engine/ip';
import { lookupZone } from '../engine/timezone';
import type { AccountFacts, ClientFacts, Facts, GeoFacts, GeoSource } from '../engine/types';
import { surfaceName } from '../policy/schema';
import { withoutUnsetFields, type CfView } from './cf';
import { fastCheckRequest, isNameableId, isPlain, REGION_CODE, REQUEST_ID, TWO_CHARS } from './check-request-fast';

const optional = <T extends z.ZodType>(schema: T) => schema.optional();

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/** Numbers may arrive as numeric strings (request.cf.latitude is a string). */
const coordinate = (limit: number) =>
  z
    .union([z.number(), z.string().regex(/^-?\d{1,3}(\.\d+)?$/, 'must be a decimal number').transform(Number)])
    .pipe(z.number().min(-limit).max(limit));

/**
 * Geo metadata of the end user's IP, named as in Cloudflare's `request.cf`. Origin-side facts:
 * a malformed value is the caller's mistake (400). A well-formed but unassigned country code
 * (`ZZ`, `UK`, `EU`) is accepted and read by the engine as "country unknown".
 */
export const GeoInputSchema = z.strictObject({
  country: optional(
    z
      .string()
      .regex(TWO_CHARS, 'must be a 2-character country code such as "US" (or "T1", "XX")')
      .toUpperCase(),
  ),
  region: optional(text(128)),
  regionCode: optional(z.string().regex(REGION_CODE, 'must be an ISO 3166-2 code such as "43" or "UA-43"')),
  city: optional(text(128)),
  // Cloudflare's continent codes are two letters, and "T1" for a Tor exit: refusing that would
  // answer a Tor user with an error instead of judging them.
  continent: optional(z.string().regex(TWO_CHARS, 'must be a 2-character continent code such as "EU" (or "T1")').toUpperCase()),
  timezone: optional(
    text(64).refine((tz) => lookupZone(tz).kind !== 'invalid', { error: 'must be an IANA time zone such as "Europe/Berlin"' }),
  ),
  latitude: optional(coordinate(90)),
  longitude: optional(coordinate(180)),
  postalCode: optional(text(32)),
  asn: optional(z.int().min(0).max(4_294_967_295)),
  asOrganization: optional(text(256)),
  colo: optional(text(16)),
}) satisfies z.ZodType<GeoFacts>;

/** One claim, or several (the values of a repeated header): each is judged on its own. */
const claims = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]);

/**
 * Client-side signals. Only TYPES are checked here (a string where a string belongs): what the
 * values mean is the engine's job, and a malformed value (a garbled zone, an impossible offset, a
 * clock that is not ISO-8601) is evidence (TZ_INVALID, CLOCK_INVALID), never a 400. Lengths are
 * bounded by the body limit, not per field: a cap per field would be a place to hide a claim.
 */
export const ClientInputSchema = z.strictObject({
  timezone: optional(claims(z.string())),
  /** Minutes east of UTC. Any number is a claim; one no place uses is TZ_INVALID. */
  utcOffsetMinutes: optional(claims(z.number())),
  acceptLanguage: optional(claims(z.string())),
  userAgent: optional(z.string()),
  clock: optional(claims(z.string())),
  /** An opaque device or session id the origin derives (or several); stored only as keyed hashes. */
  deviceId: optional(claims(z.string())),
}) satisfies z.ZodType<ClientFacts>;

/**
 * An account or organisation id: at most 256 characters, and one the admin routes can name in a
 * path (/v1/accounts/{id}/activity): not "." or ".." (URL dot segments) and well-formed Unicode.
 */
export const AccountIdSchema = text(256).refine(isNameableId, {
  error: 'must not be "." or ".." or hold a lone UTF-16 surrogate (the activity routes could not name it)',
});

/** The account acting, as the origin knows it (origin-side facts). */
export const AccountInputSchema = z.strictObject({
  id: optional(AccountIdSchema),
  orgId: optional(AccountIdSchema),
  ownerCountry: optional(
    z
      .string()
      .toUpperCase()
      .refine((c) => isIsoCountry(c), { error: 'must be an assigned ISO 3166-1 alpha-2 country code' }),
  ),
}) satisfies z.ZodType<AccountFacts>;

/** Request ids are echoed in a header and in logs: printable ASCII only, bounded. */
export const RequestIdSchema = z
  .string()
  .regex(REQUEST_ID, 'must be 1-128 printable ASCII characters without spaces');

/** The body of POST /v1/check. Every field is optional; unknown fields are rejected. */
export const CheckRequestSchema = z.strictObject({
  requestId: optional(RequestIdSchema),
  /** A clearance from a passed challenge (POST /v1/challenge/*); judged, never a 400 when bad. */
  clearance: optional(z.string()),
  ip: optional(z.string().refine(isIpAddress, { error: 'must be an IPv4 or IPv6 address' })),
  geo: optional(GeoInputSchema),
  client: optional(ClientInputSchema),
  account: optional(AccountInputSchema),
  surface: optional(z.string().toLowerCase().pipe(surfaceName)),
});

/** The origin-side part of a check request, as forward-auth headers carry it (client claims apart). */
export const ForwardedRequestSchema = CheckRequestSchema.omit({ client: true });

/**
 * Validates a check request. `null` reads as "absent" (many origins serialise missing values that
 * way): nulls are dropped from the body and its objects before the schema sees them, which keeps
 * the schema itself plain. The common shape is validated by {@link fastCheckRequest}, which
 * answers what the schema would; everything else (and every error) is the schema's.
 */
export function parseCheckRequest(value: unknown): z.ZodSafeParseResult<CheckRequest> {
  const notPlain = notPlainAt(value);
  if (notPlain !== undefined) {
    return { success: false, error: new z.ZodError([{ code: 'custom', path: notPlain, message: 'must be a plain object (a Map, Set, Date or class instance is not read)', input: undefined }]) as z.ZodError<CheckRequest> };
  }
  const cleaned = withoutNulls(value);
  const fast = fastCheckRequest(cleaned);
  return fast !== undefined ? { success: true, data: fast } : CheckRequestSchema.safeParse(cleaned);
}

/**
 * Validates the origin-side part of a forward-auth request (rebuilt from headers, never holding
 * `client`), by the same fast path as {@link parseCheckRequest} when it applies.
 */
export function parseForwardedRequest(value: unknown): z.ZodSafeParseResult<z.output<typeof ForwardedRequestSchema>> {
  const fast = typeof value === 'object' && value !== null && !('client' in value) ? fastCheckRequest(value) : undefined;
  return fast !== undefined ? { success: true, data: fast } : ForwardedRequestSchema.safeParse(value);
}

/**
 * Where the request (or its geo, client or account) is an object that is not plain: zod's object
 * schemas take any non-array object and read its own properties, so a Map (what an RPC caller may
 * pass by mistake) would read as an empty object and silently drop a place, claims or an owner.
 */
function notPlainAt(value: unknown): string[] | undefined {
  const notPlain = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && !isPlain(v);
  if (notPlain(value)) return [];
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of ['geo', 'client', 'account']) if (notPlain(record[key])) return [key];
  return undefined;
}

/** The value with null members dropped (top level and one level down); the same object if none. */
function withoutNulls(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || depth > 1) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const v = record[key];
    const cleaned = v === null ? undefined : withoutNulls(v, depth + 1);
    if (cleaned === v) continue;
    copy ??= { ...record };
    if (cleaned === undefined) delete copy[key];
    else copy[key] = cleaned;
  }
  return copy ?? value;
}

/** A validated check request. */
export type CheckRequest = z.output<typeof CheckRequestSchema>;
/** A check request as callers write it (the JSON body of POST /v1/check, the RPC `check` input). */
export type CheckRequestInput = z.input<typeof CheckRequestSchema>;
/** A validated check request whose client claims may also be raw header text. */
export type CheckInput = Omit<CheckRequest, 'client'> & { client?: ClientFacts | undefined };
/** Validated geo input. */
export type GeoInput = z.output<typeof GeoInputSchema>;

/**
 * Merges forwarded geo with Cloudflare's (`cf` is present only under GEO_FROM_CF). The place
 * (country, region, city, zone, coordinates) comes whole from the forwarded geo when it names a
 * country, else whole from `cf`, so that a region code is never read against another source's
 * country; the network fields (asn, asOrganization, colo) fill field by field.
 */
export function mergeGeo(forwarded: GeoInput | undefined, cf: GeoFacts | undefined): { geo: GeoFacts; geoSource: GeoSource } {
  const fwd: GeoFacts = forwarded ?? {};
  const geoSource: GeoSource = knowsCountry(fwd) ? 'forwarded' : cf && knowsCountry(cf) ? 'cf' : 'none';
  // The common case (an origin calling over HTTP) has no cf: the forwarded geo is the geo.
  if (!cf) return { geo: fwd, geoSource };
  const place = geoSource === 'cf' ? cf : fwd;
  const geo: GeoFacts = {
    country: place.country,
    region: place.region,
    regionCode: place.regionCode,
    city: place.city,
    continent: place.continent,
    timezone: place.timezone,
    latitude: place.latitude,
    longitude: place.longitude,
    postalCode: place.postalCode,
    asn: fwd.asn ?? cf.asn,
    asOrganization: fwd.asOrganization ?? cf.asOrganization,
    colo: fwd.colo ?? cf.colo,
  };
  return { geo: withoutUnsetFields(geo), geoSource };
}

/** Whether a geo source names a place: a country, or Tor (`XX`, `A1` and unassigned codes do not). */
function knowsCountry(geo: GeoFacts): boolean {
  const kind = readCountry(geo.country).kind;
  return kind === 'country' || kind === 'tor';
}

/**
 * Turns a validated check request into engine Facts. `cf` (Cloudflare's view of the connecting
 * client) is passed only when the deployment trusts it to be the end user: it fills the geo the
 * request lacks (see {@link mergeGeo}) and the IP. The validated objects are used as they are
 * (the schema leaves absent fields out).
 */
export function factsFromCheckRequest(req: CheckInput, cf?: CfView): Facts {
  const { geo, geoSource } = mergeGeo(req.geo, cf?.geo);
  const facts: Facts = { geo, geoSource, client: req.client ?? {}, account: withoutEmptyIds(req.account) };
  const ip = req.ip ?? cf?.ip;
  if (ip !== undefined) facts.ip = ip;
  if (req.surface !== undefined) facts.surface = req.surface;
  return facts;
}

/**
 * The account facts with an empty `id` or `orgId` read as absent: some origins send "" for "no
 * account", and an empty id names nothing a rule lists or the memory could keep apart.
 */
function withoutEmptyIds(account: AccountFacts | undefined): AccountFacts {
  if (account === undefined) return {};
  if (account.id !== '' && account.orgId !== '') return account;
  const out: AccountFacts = { ...account };
  if (out.id === '') delete out.id;
  if (out.orgId === '') delete out.orgId;
  return out;
}

/** One field-level problem in a caller's input, as the API reports it. */
export interface InputIssue {
  /** Dotted path of the field (`geo.country`), or the header name for /v1/authorize. */
  path: string;
  code: string;
  message: string;
}

/** What an invalid check request is answered: the body of /v1/check's 400, the RPC's and the in-process engine's value. */
export interface InvalidCheckRequest {
  error: { code: 'INVALID_REQUEST'; message: string; issues: InputIssue[] };
}

/** The message of an invalid check request, wherever it is answered. */
export const INVALID_CHECK_REQUEST_MESSAGE = 'The check request has invalid fields.';

/** The answer to a check request the schema refused, each issue naming its field. */
export function invalidCheckRequest(error: z.ZodError): InvalidCheckRequest {
  return { error: { code: 'INVALID_REQUEST', message: INVALID_CHECK_REQUEST_MESSAGE, issues: toInputIssues(error) } };
}

/** Flattens zod issues into API issues; an unknown key is reported at its own path. */
export function toInputIssues(error: z.ZodError, rename?: (path: string) => string): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => (base ? `${base}.${k}` : k)) : [base];
    for (const p of paths) {
      const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
      out.push({ path: rename ? rename(p) : p || '(body)', code: issue.code, message });
    }
  }
  return out;
}
