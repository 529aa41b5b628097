// Account and organisation memory as the engine sees it: the summaries the Durable Objects of
// src/accounts/ keep of an account's and an organisation's recent checks, the observation one
// check adds to them, and the policy settings that judge them. Plain, structured-clonable data;
// no I/O and no clock (every instant is an argument). The detectors that judge a summary live in
// detectors/history.ts; the objects import the helpers here, so both sides agree on keys.
import { parseIp, type ParsedIp } from './ip';

/** How checks consult the memory: not at all, from the isolate's cache, or by awaiting the object. */
export type HistoryMode = 'off' | 'async' | 'sync';

/** Every history mode; `async` is the default. */
export const HISTORY_MODES = ['async', 'sync', 'off'] as const satisfies readonly HistoryMode[];

/** The history settings of a compiled policy (durations in ms). */
export interface HistorySettings {
  readonly mode: HistoryMode;
  /**
   * What a check does when the memory it waited for failed (`sync` mode: timeout or error):
   * `ignore` judges without it (its signals undetermined), `challenge` adds MEMORY_UNAVAILABLE.
   */
  readonly unavailable: 'ignore' | 'challenge';
  /** `sync` only: how long a check waits for the objects before their signals are undetermined. */
  readonly syncBudgetMs: number;
  /** How long an isolate trusts a cached summary. */
  readonly cacheTtlMs: number;
  readonly fanout: {
    readonly windowMs: number;
    /** Distinct /24 (IPv4) or /48 (IPv6) networks that make RELAY_FANOUT. */
    readonly networks: number;
    readonly asns: number;
    readonly countries: number;
    /** Distinct client time zones that make RELAY_TZ_FANOUT. */
    readonly timezones: number;
    /** Distinct device ids that make RELAY_DEVICE_FANOUT. */
    readonly devices: number;
  };
  /** RELAY_SIGNATURE: at least `requests` checks from datacenter networks within `windowMs`. */
  readonly signature: { readonly windowMs: number; readonly requests: number };
  /** IMPOSSIBLE_TRAVEL: faster than `maxKmh` over at least `minKm`. */
  readonly travel: { readonly maxKmh: number; readonly minKm: number };
  /** How long a restricted clock or IP counts (TZ_RESTRICTED_HISTORY, RESTRICTED_IP_HISTORY). */
  readonly restrictedWindowMs: number;
  /** ORG_RESTRICTED_SHARE: `minShare` (0-1) and `minAccounts` of the accounts active within `windowMs`. */
  readonly org: { readonly windowMs: number; readonly minShare: number; readonly minAccounts: number };
  /** What the objects are sent with every record (derived once, when the policy is compiled). */
  readonly windows: MemoryWindows;
}

/** What the objects need of the settings to keep their windows (sent with every observation). */
export interface MemoryWindows {
  readonly fanoutMs: number;
  readonly signatureMs: number;
  readonly restrictedMs: number;
  readonly orgMs: number;
  readonly travel: HistorySettings['travel'];
  /**
   * The countries and regions the policy restricts now (sorted): an organisation counts an account
   * restricted only for evidence of one of them, so a place the operator stops restricting stops
   * counting at once.
   */
  readonly restrictedPlaces: readonly string[];
}

/** The windows the objects keep under `settings`, for a policy restricting `places`. */
export function memoryWindows(settings: Omit<HistorySettings, 'windows'>, places: { readonly countries: ReadonlySet<string>; readonly regions: ReadonlySet<string> }): MemoryWindows {
  return {
    fanoutMs: settings.fanout.windowMs,
    signatureMs: settings.signature.windowMs,
    restrictedMs: settings.restrictedWindowMs,
    orgMs: settings.org.windowMs,
    travel: settings.travel,
    restrictedPlaces: [...places.countries, ...places.regions].sort(),
  };
}

/** Device ids one check may add; more distinct ones than this count as a device fan-out by themselves. */
export const MAX_OBSERVED_DEVICES = 64;

/** Client zones one check may add; more distinct valid zones than this count as a fan-out by themselves. */
export const MAX_OBSERVED_ZONES = 64;

/** Distinct items a summary lists per dimension; the count beyond it is exact up to the object's cap. */
export const SUMMARY_ITEMS = 64;

/**
 * Restricted marks an account keeps of each kind, `tz` and `ip` (the strongest, then the most
 * recent): a summary holds at most this many of each.
 */
export const MARK_CAP = 64;

/** Distinct items an object keeps per dimension and window (the oldest go first). */
export const MEMORY_ITEM_CAP = 256;

/** Largest threshold a policy may set for a distinct count: summaries list this many items. */
export const MAX_DISTINCT_THRESHOLD = SUMMARY_ITEMS;

/** One distinct value seen in a window: a network prefix, an ASN, a country or a zone. */
export interface SeenItem {
  readonly key: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
}

/** The distinct values of one dimension in the window. */
export interface DistinctSeen {
  /** How many distinct values the window holds (exact up to MEMORY_ITEM_CAP). */
  readonly count: number;
  /** Up to SUMMARY_ITEMS of them, most recently seen first. */
  readonly items: readonly SeenItem[];
}

/** Where a located request came from: the IP's city coordinates (rounded to 0.01°). */
export interface Located {
  readonly at: number;
  readonly lat: number;
  readonly lon: number;
  readonly country: string | null;
  readonly city: string | null;
}

/** Two located requests further apart than a plane flies in the time between them. */
export interface TravelFinding {
  readonly from: Located;
  readonly to: Located;
  readonly km: number;
  /** The speed the pair implies, km/h (Infinity is reported as the distance over one second). */
  readonly kmh: number;
}

/**
 * Restricted location evidence one request showed: a client time zone (or offset) of a restricted
 * place seen from outside it (`tz`), or an IP in a restricted country or region (`ip`).
 */
export interface RestrictedEvidence {
  readonly kind: 'tz' | 'ip';
  /** The zone's canonical name or `UTC+480` for an offset (`tz`); the country or region (`ip`). */
  readonly key: string;
  /** The restricted countries and regions the evidence points to (sorted). */
  readonly places: readonly string[];
  /** How strongly it places the user there (the restricted share of an offset; 1 otherwise). */
  readonly strength: number;
  /** The IP country the request came from. */
  readonly ipCountry: string | null;
}

/** Restricted evidence an account showed within the restricted window. */
export interface RestrictedMark extends RestrictedEvidence {
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
}

/** What an account's object answers: its recent history, as of its newest observation. */
export interface AccountHistory {
  readonly kind: 'account';
  /** The newest observation's instant. */
  readonly asOf: number;
  /** The fan-out window the counts cover, ending at `asOf`. */
  readonly windowMs: number;
  /** Checks recorded in the fan-out window. */
  readonly events: number;
  readonly firstSeen: number | null;
  readonly lastSeen: number | null;
  readonly networks: DistinctSeen;
  readonly asns: DistinctSeen;
  readonly countries: DistinctSeen;
  readonly timezones: DistinctSeen;
  /** Distinct IPs and devices in the window (kept only as keyed hashes, so counts only). */
  readonly ips: number;
  readonly devices: number;
  /**
   * Checks from datacenter networks in the signature window, and how many of them were bare (no
   * client clock or locale, no browser user agent: an SDK behind a relay). Only `requests` is
   * judged: `bare` depends on client fields, which may add evidence but never decide (promise 2).
   */
  readonly signature: { readonly windowMs: number; readonly requests: number; readonly bare: number; readonly firstSeen: number | null; readonly lastSeen: number | null };
  readonly lastLocation: Located | null;
  /** The newest impossible pair the object saw within the fan-out window. */
  readonly travel: TravelFinding | null;
  /** Restricted evidence within the restricted window, strongest first. */
  readonly restricted: readonly RestrictedMark[];
  /** A dimension reached MEMORY_ITEM_CAP and dropped its oldest values. */
  readonly truncated: boolean;
}

/** What an organisation's object answers. */
export interface OrgHistory {
  readonly kind: 'org';
  readonly asOf: number;
  /** The window, ending at `asOf`, whose active accounts are counted. */
  readonly windowMs: number;
  readonly activeAccounts: number;
  /** Active accounts that showed restricted location evidence in the window, for a place the policy restricts now. */
  readonly restrictedAccounts: number;
  /** Up to 20 of them, most recent first. */
  readonly restrictedSample: readonly string[];
  /** The organisation had more accounts than the object keeps (the least recent were dropped). */
  readonly truncated: boolean;
}

/** What one check adds to its account's memory. */
export interface AccountObservation {
  readonly at: number;
  /** The end user's IP: hashed by the object with its own key, never stored. */
  readonly ip?: string | undefined;
  /** The IP's /24 (IPv4) or /48 (IPv6). */
  readonly network?: string | undefined;
  readonly asn?: number | undefined;
  readonly country?: string | undefined;
  /** City-level coordinates only (country-level ones prove nothing about travel). */
  readonly location?: Omit<Located, 'at'> | undefined;
  /** Canonical names of the valid client zones claimed (at most MAX_OBSERVED_ZONES). */
  readonly timezones: readonly string[];
  /** The check claimed more distinct valid zones than MAX_OBSERVED_ZONES. */
  readonly timezonesTruncated: boolean;
  /** The device ids claimed (at most MAX_OBSERVED_DEVICES): hashed by the object with its own key, never stored. */
  readonly devices: readonly string[];
  /** The check claimed more distinct device ids than MAX_OBSERVED_DEVICES. */
  readonly devicesTruncated: boolean;
  /** The IP or ASN is a datacenter's (the policy's hosting set or the intel's datacenter list): origin-side. */
  readonly datacenter: boolean;
  /** No client clock or locale and no browser user agent (reported beside `datacenter`, never judged alone). */
  readonly bare: boolean;
  readonly restricted: readonly RestrictedEvidence[];
}

/** What one check adds to its organisation's memory. */
export interface OrgObservation {
  readonly at: number;
  /** The account acting; absent when the check names only the organisation (nothing is counted then). */
  readonly accountId?: string | undefined;
  /**
   * The restricted places (countries, regions) whose location evidence (strength 0.5 or more) the
   * check or its account's memory showed; empty when none.
   */
  readonly places: readonly string[];
}

/** A summary the check could use, or why there is none. */
export type Remembered<T> =
  | { readonly known: true; readonly history: T; readonly from: 'object' | 'cache' }
  /** `failed`: the memory was asked and did not answer (not merely nothing cached yet). */
  | { readonly known: false; readonly why: string; readonly failed?: boolean };

/** The memory one evaluation judges; an absent side reads as "not consulted". */
export interface MemoryFacts {
  readonly account?: Remembered<AccountHistory> | undefined;
  readonly org?: Remembered<OrgHistory> | undefined;
}

/** No memory consulted (the engine's default). */
export const NO_MEMORY: MemoryFacts = Object.freeze({});

/** The /24 of an IPv4 (or IPv4-mapped) address, or the /48 of an IPv6 one. */
export function networkPrefix(ip: ParsedIp): string {
  if (ip.version === 4) {
    const v = ip.value;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.0/24`;
  }
  const top = ip.value >> 80n;
  const g = [Number((top >> 32n) & 0xffffn), Number((top >> 16n) & 0xffffn), Number(top & 0xffffn)];
  return `${g.map((x) => x.toString(16)).join(':')}::/48`;
}

/** {@link networkPrefix} of an address text; undefined when it is not an address. */
export function networkPrefixOf(ip: string): string | undefined {
  const parsed = parseIp(ip);
  return parsed && networkPrefix(parsed);
}

const EARTH_RADIUS_KM = 6371.0088;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance in km (haversine). */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The impossible pair `a` -> `b` makes, or undefined: at least `minKm` apart and faster than
 * `maxKmh` (two places at the same instant are infinitely fast). Order does not matter.
 */
export function impossibleTravel(a: Located, b: Located, travel: HistorySettings['travel']): TravelFinding | undefined {
  const km = distanceKm(a, b);
  if (km < travel.minKm) return undefined;
  const [from, to] = a.at <= b.at ? [a, b] : [b, a];
  // Two requests in the same second: the distance over one second.
  const hours = Math.max(to.at - from.at, 1000) / 3_600_000;
  const kmh = km / hours;
  if (kmh <= travel.maxKmh) return undefined;
  return { from, to, km: Math.round(km), kmh: Math.round(kmh) };
}

/** Rounds a coordinate to 0.01° (about 1 km): city-level, and all the travel check needs. */
export function roundCoordinate(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Whether a user agent is a web browser's. Browsers all send `Mozilla/5.0 (<platform>) ...` with
 * an engine token; SDKs and HTTP libraries (python-httpx, Go-http-client, node-fetch, OpenAI/Python)
 * do not. Only reported: RELAY_SIGNATURE's evidence says how many datacenter checks were bare.
 */
export function isBrowserUserAgent(ua: string | undefined): boolean {
  if (ua === undefined) return false;
  return /^Mozilla\/5\.0 \([^)]+\)/.test(ua) && /(?:AppleWebKit|Gecko|Trident)\//.test(ua);
}
