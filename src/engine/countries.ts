// Country and region codes: which two-letter codes are countries, which are the pseudo-codes geo
// providers use (Cloudflare's T1 and XX, MaxMind's A1, A2, AP, EU, O1), and how a subdivision
// code is completed. Only ISO 3166-1 *assigned* codes are countries: `ZZ`, `UK`, `EU`, `A1` or
// any other well-formed code is never mistaken for a known, unrestricted country.
import { ISO_COUNTRY_CODES } from './data/iso-countries';

/** Cloudflare's code for "country unknown". */
export const UNKNOWN_COUNTRY = 'XX';
/** Cloudflare's pseudo-country for Tor exit nodes. */
export const TOR_COUNTRY = 'T1';
/** MaxMind's pseudo-country for anonymous proxies: no country, but a concealment signal. */
export const ANONYMOUS_PROXY_COUNTRY = 'A1';

const ISO_COUNTRIES: ReadonlySet<string> = new Set(ISO_COUNTRY_CODES);

/** Whether `code` is an assigned ISO 3166-1 alpha-2 country code (upper case; not `T1` or `XX`). */
export function isIsoCountry(code: string): boolean {
  return ISO_COUNTRIES.has(code);
}

/** How a geo provider's country code reads. */
export type CountryReading =
  /** An assigned ISO 3166-1 country. */
  | { readonly kind: 'country'; readonly country: string }
  /** Cloudflare's Tor exit pseudo-country `T1`: rules may match it; it has no time zone. */
  | { readonly kind: 'tor' }
  /** MaxMind's anonymous proxy `A1`: location unknown, and the network hides it. */
  | { readonly kind: 'anonymous-proxy' }
  /** Absent, `XX`, another pseudo-code (`A2`, `AP`, `EU`, `O1`) or an unassigned code. */
  | { readonly kind: 'unknown' };

const UNKNOWN: CountryReading = Object.freeze({ kind: 'unknown' });
const TOR: CountryReading = Object.freeze({ kind: 'tor' });
const ANONYMOUS: CountryReading = Object.freeze({ kind: 'anonymous-proxy' });
const READINGS = new Map<string, CountryReading>(ISO_COUNTRY_CODES.map((c) => [c, Object.freeze({ kind: 'country', country: c })]));

/** Reads a (case-insensitive) country code from geo facts. */
export function readCountry(code: string | undefined): CountryReading {
  if (code === undefined) return UNKNOWN;
  const upper = code.toUpperCase();
  if (upper === TOR_COUNTRY) return TOR;
  if (upper === ANONYMOUS_PROXY_COUNTRY) return ANONYMOUS;
  return READINGS.get(upper) ?? UNKNOWN;
}

/**
 * The full ISO 3166-2 code of a subdivision: `("UA", "43")`, `("UA", "ua-43")` -> `UA-43`.
 * A code naming another country is ignored (`("US", "UA-43")` -> undefined).
 */
export function fullRegionCode(country: string | undefined, regionCode: string | undefined): string | undefined {
  if (!country || !regionCode) return undefined;
  const code = regionCode.trim().toUpperCase();
  if (code.includes('-')) return code.startsWith(`${country}-`) ? code : undefined;
  return `${country}-${code}`;
}

/** Whether `code` is written like an ISO 3166-2 subdivision of an assigned country (`UA-43`). */
export function isRegionCode(code: string): boolean {
  return /^[A-Z]{2}-[A-Z0-9]{1,3}$/.test(code) && isIsoCountry(code.slice(0, 2));
}
