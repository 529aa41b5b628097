// IANA zone names -> countries, and UTC offsets at a given instant. No clock: every offset is
// computed for an instant the caller passes. Names come from tzdata (generated table); offsets
// come from the runtime's ICU through Intl, so they follow DST rules for the instant asked.
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
export type ZoneLookup =
  | { readonly kind: 'known'; readonly zone: ZoneInfo }
  /** The runtime accepts the name but tzdata has no row for it: the zone ICU resolves it to. */
  | { readonly kind: 'unlisted'; readonly zone: ZoneInfo }
  | { readonly kind: 'invalid' };

const BUCKET_MS = 15 * 60 * 1000;
/** Bound on memo entries for names outside tzdata, which any client can invent. */
const MAX_UNLISTED = 256;

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

const unlisted = new Map<string, ZoneLookup>();

const INVALID: ZoneLookup = Object.freeze({ kind: 'invalid' });

/**
 * Resolves a zone name, case-insensitively, aliases included (`asia/chongqing` -> Asia/Shanghai, CN).
 * Names tzdata lacks are checked against the runtime's ICU and inherit the countries of the zone
 * ICU resolves them to (`CTT` -> Asia/Shanghai -> CN); anything else is `invalid`.
 *
 * @param useRuntime Whether a name tzdata lacks may be asked of ICU (a few microseconds each, and
 *   any client can invent names): when false, such a name is `invalid` unless already memoised.
 */
export function lookupZone(name: string, useRuntime = true): ZoneLookup {
  const lower = name.trim().toLowerCase();
  const known = byLowerName.get(lower);
  if (known) return known;
  const memo = unlisted.get(lower);
  if (memo) return memo;
  if (!useRuntime) return INVALID;
  let result = INVALID;
  // IANA names start with a letter; ICU also takes offsets such as "+08:00", which are not zones.
  if (/^[a-z][a-z0-9_+/-]{0,63}$/.test(lower)) {
    try {
      const icuName = new Intl.DateTimeFormat('en-US', { timeZone: name.trim() }).resolvedOptions().timeZone;
      // ICU's canonical names are tzdata names or their legacy aliases (Asia/Calcutta): resolve
      // them through tzdata so that the countries of the zone are known.
      const viaTzdata = byLowerName.get(icuName.toLowerCase());
      result = { kind: 'unlisted', zone: viaTzdata && viaTzdata.kind !== 'invalid' ? viaTzdata.zone : { canonical: icuName, countries: [] } };
    } catch {
      // RangeError: not a zone this runtime knows.
    }
  }
  if (unlisted.size >= MAX_UNLISTED) unlisted.clear();
  unlisted.set(lower, result);
  return result;
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
    // Only canonical names reach here, so the memo stays bounded by tzdata plus MAX_UNLISTED.
    if (offsetMemo.size > byLowerName.size + MAX_UNLISTED) offsetMemo.clear();
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
