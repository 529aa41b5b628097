// Geo facts: where the IP is. Turns the raw geo facts into the values rules match on (usable
// country, full ISO 3166-2 region) and matches country, allow-list and region rules.
import { ISO_COUNTRY_CODES } from '../data/iso-countries';
import { parseIp, type ParsedIp } from '../ip';
import type { Evidence, Facts, RuleReasonCode } from '../types';

/** Cloudflare's code for "country unknown". */
const UNKNOWN_COUNTRY = 'XX';
/** Cloudflare's pseudo-country for Tor exit nodes. */
export const TOR_COUNTRY = 'T1';

const ISO_COUNTRIES: ReadonlySet<string> = new Set(ISO_COUNTRY_CODES);

/** Whether `code` is an ISO 3166-1 alpha-2 country code (upper case; not `T1` or `XX`). */
export function isIsoCountry(code: string): boolean {
  return ISO_COUNTRIES.has(code);
}

/** A rule's verdict on one request: which code, why, and with what evidence. */
export interface RuleHit {
  readonly code: RuleReasonCode;
  readonly message: string;
  readonly evidence: Evidence;
}

/** Derived, per-request values shared by detectors and rules; computed once per evaluation. */
export class RequestView {
  /** The IP's country, or undefined when unknown (absent, empty or `XX`). */
  readonly country: string | undefined;
  /** The IP's ISO 3166-2 subdivision (`UA-43`), when both country and region code are known. */
  readonly region: string | undefined;
  #ip: ParsedIp | null | undefined;

  constructor(readonly facts: Facts) {
    const c = facts.geo.country;
    this.country = c && c !== UNKNOWN_COUNTRY ? c : undefined;
    this.region = fullRegionCode(this.country, facts.geo.regionCode);
  }

  /** The parsed end-user IP (parsed on first use: most policies never need it). */
  get ip(): ParsedIp | undefined {
    if (this.#ip === undefined) this.#ip = (this.facts.ip && parseIp(this.facts.ip)) || null;
    return this.#ip ?? undefined;
  }
}

/** `("UA", "43")` and `("UA", "ua-43")` -> `UA-43`; a code naming another country is ignored. */
export function fullRegionCode(country: string | undefined, regionCode: string | undefined): string | undefined {
  if (!country || !regionCode) return undefined;
  const code = regionCode.toUpperCase();
  if (code.includes('-')) return code.startsWith(`${country}-`) ? code : undefined;
  return `${country}-${code}`;
}

/** Matches a `country` rule: the IP country is one of `countries` (T1 reports as TOR). */
export function matchCountry(view: RequestView, countries: ReadonlySet<string>, ruleId: string): RuleHit | undefined {
  const country = view.country;
  if (!country || !countries.has(country)) return undefined;
  const evidence = { country, geoSource: view.facts.geoSource };
  if (country === TOR_COUNTRY) {
    return { code: 'TOR', message: `The IP is a Tor exit node (rule ${ruleId}).`, evidence };
  }
  return { code: 'COUNTRY_DENIED', message: `The IP's country ${country} is listed by rule ${ruleId}.`, evidence };
}

/** Matches a `country-allowlist` rule: the IP country is known and NOT one of `allowed`. */
export function matchCountryNotAllowed(
  view: RequestView,
  allowed: ReadonlySet<string>,
  ruleId: string,
): RuleHit | undefined {
  const country = view.country;
  if (!country || allowed.has(country)) return undefined;
  return {
    code: 'COUNTRY_NOT_ALLOWED',
    message: `The IP's country ${country} is not in the allow-list of rule ${ruleId}.`,
    evidence: { country, geoSource: view.facts.geoSource },
  };
}

/** Matches a `region` rule on the IP's full ISO 3166-2 code. */
export function matchRegion(view: RequestView, regions: ReadonlySet<string>, ruleId: string): RuleHit | undefined {
  const region = view.region;
  if (!region || !regions.has(region)) return undefined;
  return {
    code: 'REGION_DENIED',
    message: `The IP's region ${region} is listed by rule ${ruleId}.`,
    evidence: { region, country: view.country, geoSource: view.facts.geoSource },
  };
}
