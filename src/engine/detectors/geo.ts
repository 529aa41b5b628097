// Geo facts: where the IP is. Turns the raw geo facts into the values rules match on (a usable
// country, the full ISO 3166-2 region) and matches country, allow-list and region rules.
import { bundledIntel, type NetworkIntel } from '../intel';
import { fullRegionCode, readCountry, TOR_COUNTRY } from '../countries';
import { parseIp, type ParsedIp } from '../ip';
import type { Evidence, Facts, RuleReasonCode } from '../types';

/** A rule's verdict on one request: which code, why, and with what evidence. */
export interface RuleHit {
  readonly code: RuleReasonCode;
  readonly message: string;
  readonly evidence: Evidence;
}

/** Derived, per-request values shared by detectors and rules; computed once per evaluation. */
export class RequestView {
  /**
   * The IP's country: an assigned ISO code, or `T1` for Tor; undefined when unknown (absent,
   * `XX`, `A1`, another pseudo-code or an unassigned code).
   */
  readonly country: string | undefined;
  /** The IP's ISO 3166-2 subdivision (`UA-43`), when both country and region code are known. */
  readonly region: string | undefined;
  /** The geo provider flags the IP as an anonymous proxy (MaxMind's `A1`). */
  readonly anonymousProxy: boolean;
  #ip: ParsedIp | null | undefined;

  /**
   * @param facts What is known about the request.
   * @param intel The network intel in force (the deployment's bundled copy unless given).
   */
  constructor(
    readonly facts: Facts,
    readonly intel: NetworkIntel = bundledIntel(),
  ) {
    const reading = readCountry(facts.geo.country);
    this.country = reading.kind === 'country' ? reading.country : reading.kind === 'tor' ? TOR_COUNTRY : undefined;
    this.anonymousProxy = reading.kind === 'anonymous-proxy';
    this.region = reading.kind === 'country' ? fullRegionCode(reading.country, facts.geo.regionCode) : undefined;
  }

  /** The parsed end-user IP (parsed on first use: most policies never need it). */
  get ip(): ParsedIp | undefined {
    if (this.#ip === undefined) this.#ip = (this.facts.ip !== undefined && parseIp(this.facts.ip)) || null;
    return this.#ip ?? undefined;
  }
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
export function matchCountryNotAllowed(view: RequestView, allowed: ReadonlySet<string>, ruleId: string): RuleHit | undefined {
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
