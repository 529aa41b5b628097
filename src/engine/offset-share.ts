// Who lives on a UTC offset at an instant, and what share of them lives in restricted places: the
// weight of a client claim that names only an offset (`utcOffsetMinutes`, `Etc/GMT-8`). PURE: no
// I/O, no clock; the instant is passed in. Offsets come from offsetAt (ICU at that instant, DST
// included), populations from the generated zone.tab table. Zones are grouped by offset once per
// 15-minute bucket (no tzdb transition of the current era falls inside one), and each
// RestrictedPlaces object gets its answers for every offset in use computed once per bucket.
import { ZONE_POPULATION } from './data/zone-population';
import { lookupZone, offsetAt } from './timezone';
import { ZONE_REGIONS } from './zone-regions';

/** Countries and ISO 3166-2 regions whose population counts as restricted. */
export interface RestrictedPlaces {
  readonly countries: ReadonlySet<string>;
  readonly regions: ReadonlySet<string>;
}

/** Who lives on one UTC offset at one instant. */
export interface OffsetShare {
  readonly offsetMinutes: number;
  /** restrictedPopulation / totalPopulation, 0..1 */
  readonly share: number;
  readonly restrictedPopulation: number;
  readonly totalPopulation: number;
  /** Restricted countries or regions living on the offset, largest population first (e.g. ["CN","HK","MO"]). */
  readonly restrictedPlaces: readonly string[];
}

interface PopulatedZone {
  /** Canonical tzdb name, the key offsetAt memoises on. */
  readonly zone: string;
  readonly country: string;
  readonly population: number;
  readonly regions: readonly string[];
}

/** Must match timezone.ts: offsets are constant within a bucket, so groupings are too. */
const BUCKET_MS = 15 * 60 * 1000;
/** Intl refuses instants beyond ECMAScript's time range (±8.64e15 ms). */
const MAX_EPOCH_MS = 8.64e15;
const NO_REGIONS: readonly string[] = [];

/** Rows with people, parsed once. Zero-population rows would only add offsets nobody lives on. */
const POPULATED: readonly PopulatedZone[] = ZONE_POPULATION.flatMap((row) => {
  const [name = '', country = '', count = ''] = row.split('|');
  const population = Number(count);
  const lookup = lookupZone(name);
  // Both come from the same tzdata, and a test holds every row to it; skip rather than guess.
  if (!(population > 0) || lookup.kind !== 'known') return [];
  const zone = lookup.zone.canonical;
  return [{ zone, country, population, regions: ZONE_REGIONS[zone] ?? NO_REGIONS }];
});

interface OffsetGroup {
  readonly totalPopulation: number;
  readonly zones: readonly PopulatedZone[];
}

/** Populated zones by offset for one bucket: one isolate-wide memo, replaced when the bucket changes. */
let grouping: { readonly bucket: number; readonly groups: ReadonlyMap<number, OffsetGroup> } | undefined;

function groupsAt(bucket: number, epochMs: number): ReadonlyMap<number, OffsetGroup> {
  if (grouping?.bucket === bucket) return grouping.groups;
  const zones = new Map<number, PopulatedZone[]>();
  for (const z of POPULATED) {
    const offset = offsetAt(z.zone, epochMs);
    // A zone this runtime's ICU does not know has no offset to be on; its people go uncounted.
    if (offset === undefined) continue;
    const list = zones.get(offset);
    if (list) list.push(z);
    else zones.set(offset, [z]);
  }
  const groups = new Map<number, OffsetGroup>();
  for (const [offset, list] of zones) {
    groups.set(offset, { totalPopulation: list.reduce((sum, z) => sum + z.population, 0), zones: list });
  }
  grouping = { bucket, groups };
  return groups;
}

/**
 * Answers for one RestrictedPlaces object in one bucket, for every offset in use (so at most a few
 * dozen entries: the cache is bounded by the offsets people live on, not by what clients send).
 */
interface PlacesAnswers {
  readonly bucket: number;
  readonly shares: ReadonlyMap<number, OffsetShare>;
}
const answersByPlaces = new WeakMap<RestrictedPlaces, PlacesAnswers>();

function shareOf(offsetMinutes: number, group: OffsetGroup, places: RestrictedPlaces): OffsetShare {
  let restrictedPopulation = 0;
  const byPlace = new Map<string, number>();
  const count = (place: string, population: number) => byPlace.set(place, (byPlace.get(place) ?? 0) + population);
  for (const z of group.zones) {
    if (places.countries.has(z.country)) {
      restrictedPopulation += z.population;
      count(z.country, z.population);
      continue;
    }
    // A restricted region: its zone's people count once, and each matching region is named with
    // the zone's population, since tzdb cannot split a zone between the regions it covers.
    const regions = z.regions.filter((r) => places.regions.has(r));
    if (regions.length === 0) continue;
    restrictedPopulation += z.population;
    for (const r of regions) count(r, z.population);
  }
  const restrictedPlaces = [...byPlace]
    .sort(([a, pa], [b, pb]) => pb - pa || (a < b ? -1 : a > b ? 1 : 0))
    .map(([place]) => place);
  // Frozen: the same object is handed to every caller asking within the bucket.
  return Object.freeze({
    offsetMinutes,
    share: restrictedPopulation / group.totalPopulation,
    restrictedPopulation,
    totalPopulation: group.totalPopulation,
    restrictedPlaces: Object.freeze(restrictedPlaces),
  });
}

/**
 * The share of the people on UTC offset `offsetMinutes` (minutes EAST of UTC: `+03:30` -> 210,
 * `Etc/GMT-8` -> 480) at `epochMs` who live in `places`. A zone's people are restricted when its
 * zone.tab country is in `places.countries`, or one of its {@link ZONE_REGIONS} is in
 * `places.regions` (`Europe/Simferopol` under `UA-43`); the region is then what
 * `restrictedPlaces` names.
 *
 * Answers are cached per `places` object (in a WeakMap) and per 15-minute bucket: pass the same,
 * never-mutated object for a given policy (build it once when the policy is compiled), or every
 * call recomputes.
 *
 * @param offsetMinutes UTC offset claimed by the client, in minutes east of UTC.
 * @param epochMs The instant to evaluate at (the request's `now`), epoch milliseconds.
 * @param places Restricted countries (ISO 3166-1 alpha-2) and regions (ISO 3166-2).
 * @returns `undefined` when no populated zone uses `offsetMinutes` at `epochMs` (`+01:17`; `+14:00`
 *   in a year Kiribati's Line Islands stop using it), or when `epochMs` is not a representable instant.
 * @example
 * restrictedShareAt(210, Date.parse('2026-11-26T12:00:00Z'), places); // { share: 1, restrictedPlaces: ['IR'], ... }
 */
export function restrictedShareAt(offsetMinutes: number, epochMs: number, places: RestrictedPlaces): OffsetShare | undefined {
  if (!(Math.abs(epochMs) <= MAX_EPOCH_MS)) return undefined;
  const bucket = Math.floor(epochMs / BUCKET_MS);
  const cached = answersByPlaces.get(places);
  if (cached?.bucket === bucket) return cached.shares.get(offsetMinutes);
  const shares = new Map<number, OffsetShare>();
  for (const [offset, group] of groupsAt(bucket, epochMs)) shares.set(offset, shareOf(offset, group, places));
  answersByPlaces.set(places, { bucket, shares });
  return shares.get(offsetMinutes);
}
