// Forward-auth (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth, Envoy ext_authz):
// the proxy calls /v1/authorize with the end user's request headers plus `Geogate-*` headers it
// sets itself. This module turns them into a check request.
//
// Whose facts: on a deployed Worker, `CF-Connecting-IP` and the visitor-location `cf-*` headers
// describe whoever connected to geogate, i.e. the proxy, not the end user. The user's IP and geo
// therefore come from `Geogate-*` headers the proxy sets. The `cf-*` names are read only when the
// deployment sets TRUST_FORWARDED_CF_HEADERS = "true" (geogate not behind Cloudflare, so those
// headers are the proxy's copies of its own Cloudflare's) AND no `Geogate-*` geo header is present.
//
// Origin-side values (IP, geo, account, surface) are validated (400 naming the header); a repeated
// one arrives joined with ", " and is refused, never read as one value (account and organisation
// ids are free text, so a comma in them is read as a repeat: keep commas out of ids). Client
// claims (time zone, offset, clock, languages) are never rejected: each comma-separated value
// (a repeated header arrives joined with ", ") is a claim of its own for the engine to judge.
import type { ClientFacts } from '../engine/types';

/** How one header feeds one check-request field. */
interface HeaderField {
  readonly header: string;
  readonly path: readonly [string] | readonly [string, string];
  /**
   * `int`: converted when it looks like an integer. `single`: free text where a comma means the
   * header was sent twice (the runtime joins a repeated header with ", "): such a value is passed
   * on as its several values, which the schema refuses (400 naming the header) instead of reading
   * "acct-banned, acct-banned" as one more account that no rule lists.
   */
  readonly kind?: 'int' | 'single';
}

/** Origin-side headers the proxy sets; the names are a published contract (docs/integrations.md). */
export const GEOGATE_HEADERS: readonly HeaderField[] = [
  { header: 'geogate-ip', path: ['ip'] },
  { header: 'geogate-country', path: ['geo', 'country'] },
  { header: 'geogate-region', path: ['geo', 'region'] },
  { header: 'geogate-region-code', path: ['geo', 'regionCode'] },
  { header: 'geogate-city', path: ['geo', 'city'] },
  { header: 'geogate-continent', path: ['geo', 'continent'] },
  { header: 'geogate-timezone', path: ['geo', 'timezone'] },
  { header: 'geogate-latitude', path: ['geo', 'latitude'] },
  { header: 'geogate-longitude', path: ['geo', 'longitude'] },
  { header: 'geogate-postal-code', path: ['geo', 'postalCode'] },
  { header: 'geogate-asn', path: ['geo', 'asn'], kind: 'int' },
  { header: 'geogate-as-organization', path: ['geo', 'asOrganization'] },
  { header: 'geogate-account-id', path: ['account', 'id'], kind: 'single' },
  { header: 'geogate-org-id', path: ['account', 'orgId'], kind: 'single' },
  { header: 'geogate-owner-country', path: ['account', 'ownerCountry'] },
  { header: 'geogate-surface', path: ['surface'] },
  { header: 'geogate-request-id', path: ['requestId'] },
  // The user's clearance (docs/challenges.md); the clearance cookie is read when this is absent.
  { header: 'geogate-clearance', path: ['clearance'] },
];

/**
 * The cookie the hosted challenge page sets (HttpOnly, Secure, SameSite=Lax, Path=/). No
 * `__Host-` prefix: nginx cannot name a cookie with "-" in a variable. A cookie planted from a
 * sibling domain could only be a clearance bound to another account: it would be ignored.
 */
export const CLEARANCE_COOKIE = 'geogate_clearance';

/** The `Geogate-*` headers that describe where the user is; any of them turns the cf-* fallback off. */
const GEOGATE_GEO_HEADERS = GEOGATE_HEADERS.filter((f) => f.path[0] === 'ip' || (f.path[0] === 'geo' && f.path[1] !== 'asn' && f.path[1] !== 'asOrganization')).map((f) => f.header);

/** Cloudflare's visitor-location headers, read only under TRUST_FORWARDED_CF_HEADERS = "true". */
export const CF_FALLBACK_HEADERS: readonly HeaderField[] = [
  { header: 'cf-connecting-ip', path: ['ip'] },
  { header: 'cf-ipcountry', path: ['geo', 'country'] },
  { header: 'cf-region', path: ['geo', 'region'] },
  { header: 'cf-region-code', path: ['geo', 'regionCode'] },
  { header: 'cf-ipcity', path: ['geo', 'city'] },
  { header: 'cf-ipcontinent', path: ['geo', 'continent'] },
  { header: 'cf-iplatitude', path: ['geo', 'latitude'] },
  { header: 'cf-iplongitude', path: ['geo', 'longitude'] },
  { header: 'cf-postal-code', path: ['geo', 'postalCode'] },
  { header: 'cf-timezone', path: ['geo', 'timezone'] },
];

/** Client claim headers: the user's by nature, so they can only add suspicion. */
export const CLIENT_HEADERS = {
  timezone: 'geogate-client-timezone',
  utcOffsetMinutes: 'geogate-client-utc-offset',
  clock: 'geogate-client-clock',
  acceptLanguage: 'accept-language',
  userAgent: 'user-agent',
  deviceId: 'geogate-device-id',
} as const;

/** User agents are not judged; they are kept for evidence up to this length. */
const USER_AGENT_MAX = 4096;

/** Options of {@link checkInputFromHeaders}. */
export interface ForwardedHeadersOptions {
  /** TRUST_FORWARDED_CF_HEADERS = "true": read cf-* when no Geogate-* geo header is present. */
  trustCfHeaders: boolean;
}

/** What the headers say: origin-side fields to validate, client claims, and how to name fields in errors. */
export interface ForwardedInput {
  /** A check-request-shaped object without `client`, for ForwardedRequestSchema to validate. */
  readonly request: Record<string, unknown>;
  readonly client: ClientFacts;
  /** The header a field came from (`geo.country` -> `geogate-country`), for error messages. */
  readonly headerForPath: (path: string) => string;
}

/** The separate claims of a client header: a repeated header arrives joined with commas. */
function splitClaims(value: string): string | string[] | undefined {
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : parts;
}

/**
 * Builds the check input from forwarded headers. Empty headers count as absent; integers are
 * converted only when they look like integers, so anything else fails validation clearly.
 */
export function checkInputFromHeaders(headers: Headers, options: ForwardedHeadersOptions): ForwardedInput {
  const request: Record<string, unknown> = {};
  const used = new Map<string, string>();
  const read = (fields: readonly HeaderField[]) => {
    for (const f of fields) {
      const raw = headers.get(f.header)?.trim();
      if (raw === undefined || raw === '') continue;
      const value: unknown = f.kind === 'int' && /^[+-]?\d{1,10}$/.test(raw) ? Number(raw) : f.kind === 'single' && raw.includes(',') ? raw.split(',').map((p) => p.trim()) : raw;
      const [first, second] = f.path;
      if (second === undefined) {
        request[first] = value;
      } else {
        const group = (request[first] ??= {}) as Record<string, unknown>;
        group[second] = value;
      }
      used.set(f.path.join('.'), f.header);
    }
  };
  read(GEOGATE_HEADERS);
  if (options.trustCfHeaders && !GEOGATE_GEO_HEADERS.some((h) => headers.has(h))) read(CF_FALLBACK_HEADERS);

  if (request.clearance === undefined) {
    const cookie = clearanceCookie(headers.get('cookie'));
    if (cookie !== undefined) request.clearance = cookie;
  }

  const client = clientClaimsFromHeaders(headers);
  // The origin's device or session id for the user (RELAY_DEVICE_FANOUT, RELAY_FINGERPRINT); a
  // repeated header arrives joined with commas, and each value is a device of its own.
  const deviceId = splitClaims((headers.get(CLIENT_HEADERS.deviceId) ?? '').slice(0, USER_AGENT_MAX));
  if (deviceId !== undefined) client.deviceId = deviceId;

  return { request, client, headerForPath: (path) => used.get(path) ?? path };
}

/**
 * The claims an end user's own request carries about its client: the Geogate-Client-* headers
 * (set by the browser snippet, geogate/browser), Accept-Language and User-Agent. Never the device
 * id: that is the origin's to derive, and a user choosing it could hide a fan-out of devices.
 */
export function clientClaimsFromHeaders(headers: Headers): ClientFacts {
  const client: ClientFacts = {};
  const timezone = splitClaims(headers.get(CLIENT_HEADERS.timezone) ?? '');
  if (timezone !== undefined) client.timezone = timezone;
  const offset = splitClaims(headers.get(CLIENT_HEADERS.utcOffsetMinutes) ?? '');
  if (offset !== undefined) client.utcOffsetMinutes = offset;
  const clock = splitClaims(headers.get(CLIENT_HEADERS.clock) ?? '');
  if (clock !== undefined) client.clock = clock;
  // A repeated Accept-Language is the same list joined: one header value, parsed whole.
  const languages = headers.get(CLIENT_HEADERS.acceptLanguage)?.trim();
  if (languages) client.acceptLanguage = languages;
  const userAgent = headers.get(CLIENT_HEADERS.userAgent)?.trim();
  if (userAgent) client.userAgent = userAgent.slice(0, USER_AGENT_MAX);
  return client;
}

/**
 * The clearance cookie in a forwarded Cookie header. Several different values (a cookie set on
 * several paths, or forged) read as one malformed clearance: never the choice of the best one.
 */
export function clearanceCookie(header: string | null): string | undefined {
  if (header === null || !header.includes(CLEARANCE_COOKIE)) return undefined;
  const values = new Set<string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== CLEARANCE_COOKIE) continue;
    values.add(part.slice(eq + 1).trim());
  }
  if (values.size === 0) return undefined;
  return values.size === 1 ? [...values][0] : [...values].join(', ');
}
