// IANA zone names -> countries, and UTC offsets at a given instant. No clock: every offset is
// computed for an instant the caller passes. Names come from tzdata (generated table) plus the
// legacy IDs ICU accepts that tzdata lacks (a fixed table): a name is resolved the same way in
// every isolate, whatever other requests asked before. Offsets come from the runtime's ICU
// through Intl, so they follow DST rules for the instant asked.
// Results are memoised per zone and per 15-minute bucket: every tzdb transition of the current
// era falls on a 15-minute boundary of UTC, so a bucket never straddles one.
import { TZ_ROWS } from './data/tz-zones';

/** A zone name resolved against tzdata. */
export interface ZoneInfo {
  /** The canonical tzdb zone (`PRC` -> `Asia/Shanghai`). */
  readonly canonical: string;
  /** ISO 3166-1 alpha-2 codes of the countries that use the zone (empty for `Etc/*`, `UTC`...). */
  readonly countries: readonly string[];
}

/** Outcome of resolving a client-supplied zone name. */
export type ZoneLookup = { readonly kind: 'known'; readonly zone: ZoneInfo } | { readonly kind: 'invalid' };

/**
 * The legacy three-letter IDs ICU accepts that tzdata does not list, and the tzdata zone each
 * resolves to (Java's old IDs, kept by ICU: `new Intl.DateTimeFormat('en', { timeZone: 'CTT' })`
 * is Asia/Shanghai). A test checks every row against the runtime's ICU. Browsers report tzdata
 * names, so any other name ICU might accept is judged invalid: one table, no per-request
 * runtime lookups that a client could make decisions depend on.
 */
export const ICU_LEGACY_ZONES: Readonly<Record<string, string>> = {
  ACT: 'Australia/Darwin',
  AET: 'Australia/Sydney',
  AGT: 'America/Argentina/Buenos_Aires',
  ART: 'Africa/Cairo',
  AST: 'America/Anchorage',
  BET: 'America/Sao_Paulo',
  BST: 'Asia/Dhaka',
  CAT: 'Africa/Maputo',
  CNT: 'America/St_Johns',
  CST: 'America/Chicago',
  CTT: 'Asia/Shanghai',
  EAT: 'Africa/Nairobi',
  ECT: 'Europe/Paris',
  IET: 'America/Indiana/Indianapolis',
  IST: 'Asia/Kolkata',
  JST: 'Asia/Tokyo',
  MIT: 'Pacific/Apia',
  NET: 'Asia/Yerevan',
  NST: 'Pacific/Auckland',
  PLT: 'Asia/Karachi',
  PNT: 'America/Phoenix',
  PRT: 'America/Puerto_Rico',
  PST: 'America/Los_Angeles',
  SST: 'Pacific/Guadalcanal',
  VST: 'Asia/Ho_Chi_Minh',
};

const BUCKET_MS = 15 * 60 * 1000;

/** Every tzdata name, lower-cased, with its lookup result built once (lookups sit on the hot path). */
const byLowerName = new Map<string, ZoneLookup>();
const zonesByCountry = new Map<string, string[]>();
for (const row of TZ_ROWS) {
  const [name = '', target = '', ccs = ''] = row.split('|');
  const canonical = target || name;
  const countries = ccs ? ccs.split(',') : [];
  byLowerName.set(name.toLowerCase(), { kind: 'known', zone: { canonical, countries } });
  if (canonical !== name) continue;
  for (const cc of countries) {
    const list = zonesByCountry.get(cc) ?? [];
    list.push(name);
    zonesByCountry.set(cc, list);
  }
}

for (const [alias, target] of Object.entries(ICU_LEGACY_ZONES)) {
  const resolved = byLowerName.get(target.toLowerCase());
  if (resolved && !byLowerName.has(alias.toLowerCase())) byLowerName.set(alias.toLowerCase(), resolved);
}

const INVALID: ZoneLookup = Object.freeze({ kind: 'invalid' });

/**
 * Resolves a zone name, case-insensitively, aliases included (`asia/chongqing` -> Asia/Shanghai,
 * CN; `CTT` -> Asia/Shanghai, CN). Anything neither tzdata nor {@link ICU_LEGACY_ZONES} lists is
 * `invalid`. Pure and deterministic: no runtime lookup, no memo a client could fill.
 */
export function lookupZone(name: string): ZoneLookup {
  return byLowerName.get(name.trim().toLowerCase()) ?? INVALID;
}

interface OffsetMemo {
  format: Intl.DateTimeFormat | undefined;
  bucket: number;
  offset: number | undefined;
}
const offsetMemo = new Map<string, OffsetMemo>();

function parseLongOffset(text: string): number | undefined {
  const i = text.lastIndexOf('GMT');
  if (i < 0) return undefined;
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(text.slice(i));
  if (!m) return undefined;
  if (!m[1]) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/**
 * UTC offset of `zone` at `epochMs`, in minutes east of UTC (Asia/Shanghai -> 480), DST included.
 * `undefined` when the runtime cannot compute it. Pass canonical names from {@link lookupZone}.
 */
export function offsetAt(zone: string, epochMs: number): number | undefined {
  const bucket = Math.floor(epochMs / BUCKET_MS);
  let memo = offsetMemo.get(zone);
  if (memo?.bucket === bucket) return memo.offset;
  if (!memo) {
    let format: Intl.DateTimeFormat | undefined;
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    } catch {
      format = undefined;
    }
    // Callers pass canonical names from lookupZone, so the memo stays bounded by tzdata.
    if (offsetMemo.size > byLowerName.size) offsetMemo.clear();
    memo = { format, bucket: Number.NaN, offset: undefined };
    offsetMemo.set(zone, memo);
  }
  memo.bucket = bucket;
  memo.offset = memo.format ? parseLongOffset(memo.format.format(epochMs)) : undefined;
  return memo.offset;
}

interface CountryOffsetMemo {
  bucket: number;
  offsets: ReadonlySet<number>;
}
const countryOffsetMemo = new Map<string, CountryOffsetMemo>();

const NO_OFFSETS: ReadonlySet<number> = new Set();

/** Every UTC offset in use somewhere in `country` at `epochMs` (empty if tzdata has no zone for it). */
export function countryOffsetsAt(country: string, epochMs: number): ReadonlySet<number> {
  const zones = zonesByCountry.get(country);
  if (!zones) return NO_OFFSETS;
  const bucket = Math.floor(epochMs / BUCKET_MS);
  const memo = countryOffsetMemo.get(country);
  if (memo?.bucket === bucket) return memo.offsets;
  const offsets = new Set<number>();
  for (const zone of zones) {
    const o = offsetAt(zone, epochMs);
    if (o !== undefined) offsets.add(o);
  }
  countryOffsetMemo.set(country, { bucket, offsets });
  return offsets;
}
