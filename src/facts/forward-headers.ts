// Forward-auth (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth, Envoy ext_authz):
// the proxy forwards the end user's request headers. This module rebuilds a check request from
// them, so /v1/authorize validates and decides exactly like /v1/check, and maps validation
// issues back to header names.

/** How one header feeds one check-request field. */
interface HeaderField {
  readonly header: string;
  readonly path: readonly [string] | readonly [string, string];
  readonly kind?: 'int' | 'truncate';
}

/** Header -> field map; the header names are a published contract. */
export const FORWARDED_HEADERS: readonly HeaderField[] = [
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
  { header: 'geogate-asn', path: ['geo', 'asn'], kind: 'int' },
  { header: 'geogate-client-timezone', path: ['client', 'timezone'] },
  { header: 'geogate-client-utc-offset', path: ['client', 'utcOffsetMinutes'], kind: 'int' },
  { header: 'geogate-client-clock', path: ['client', 'clock'] },
  { header: 'accept-language', path: ['client', 'acceptLanguage'], kind: 'truncate' },
  { header: 'user-agent', path: ['client', 'userAgent'], kind: 'truncate' },
  { header: 'geogate-account-id', path: ['account', 'id'] },
  { header: 'geogate-org-id', path: ['account', 'orgId'] },
  { header: 'geogate-owner-country', path: ['account', 'ownerCountry'] },
  { header: 'geogate-surface', path: ['surface'] },
  { header: 'geogate-request-id', path: ['requestId'] },
];

/** Browsers' headers are the user's to make long; they are cut, not rejected, at this length. */
const TRUNCATE_AT = 4096;

const HEADER_OF_PATH = new Map(FORWARDED_HEADERS.map((f) => [f.path.join('.'), f.header]));

/**
 * A check-request-shaped object from forwarded headers, for CheckRequestSchema to validate.
 * Empty headers count as absent; integers are converted only when they look like integers,
 * so that anything else fails validation with a clear message.
 */
export function checkRequestFromHeaders(headers: Headers): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FORWARDED_HEADERS) {
    const raw = headers.get(f.header)?.trim();
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (f.kind === 'int' && /^[+-]?\d{1,10}$/.test(raw)) value = Number(raw);
    if (f.kind === 'truncate') value = raw.slice(0, TRUNCATE_AT);
    const [first, second] = f.path;
    if (second === undefined) {
      out[first] = value;
    } else {
      const group = (out[first] ??= {}) as Record<string, unknown>;
      group[second] = value;
    }
  }
  return out;
}

/** The header that carried a check-request field (`geo.country` -> `cf-ipcountry`). */
export function headerForPath(path: string): string {
  return HEADER_OF_PATH.get(path) ?? path;
}
