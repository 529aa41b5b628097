// Reads Cloudflare's own view of the connecting client (`request.cf`). Used only when the
// deployment says the Worker sits in front of end users (GEO_FROM_CF = "true"); otherwise
// request.cf describes the origin server that called us and must not be mistaken for the user.
import { isIpAddress } from '../engine/ip';
import { lookupZone } from '../engine/timezone';
import type { GeoFacts } from '../engine/types';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** Drops the fields of `geo` that are undefined, so that facts list only what is known. */
export function withoutUnsetFields(geo: GeoFacts): GeoFacts {
  for (const k of Object.keys(geo) as (keyof GeoFacts)[]) if (geo[k] === undefined) delete geo[k];
  return geo;
}

/**
 * Geo facts from `request.cf`, or undefined when there is none (tests, service bindings without
 * cf). Values Cloudflare leaves empty or that fail a sanity check are dropped, not reported:
 * the caller did not send them.
 */
export function geoFromCf(cf: Record<string, unknown> | undefined): GeoFacts | undefined {
  if (!cf) return undefined;
  const country = str(cf.country)?.toUpperCase();
  const timezone = str(cf.timezone);
  const asn = num(cf.asn);
  const geo: GeoFacts = {
    country: country && /^[A-Z][A-Z0-9]$/.test(country) ? country : undefined,
    region: str(cf.region),
    regionCode: str(cf.regionCode),
    city: str(cf.city),
    continent: str(cf.continent),
    timezone: timezone && lookupZone(timezone).kind !== 'invalid' ? timezone : undefined,
    latitude: num(cf.latitude),
    longitude: num(cf.longitude),
    postalCode: str(cf.postalCode),
    asn: asn !== undefined && Number.isInteger(asn) && asn >= 0 ? asn : undefined,
    asOrganization: str(cf.asOrganization),
    colo: str(cf.colo),
  };
  return withoutUnsetFields(geo);
}

/** What Cloudflare itself says about the client connecting to this Worker. */
export interface CfView {
  readonly geo?: GeoFacts;
  /** CF-Connecting-IP, which Cloudflare sets (and overwrites) on requests reaching a Worker. */
  readonly ip?: string;
}

/** Cloudflare's view of the connecting client; only meaningful when it is the end user. */
export function cfView(request: Request): CfView {
  const ip = request.headers.get('cf-connecting-ip') ?? undefined;
  return {
    geo: geoFromCf(request.cf),
    ...(ip !== undefined && isIpAddress(ip) ? { ip } : {}),
  };
}
