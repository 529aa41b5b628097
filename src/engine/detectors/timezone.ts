// Client time signals: TZ_INVALID, TZ_RESTRICTED, TZ_INCONSISTENT, TZ_MISMATCH, CLOCK_SKEW and
// CLOCK_INVALID.
//
// Invariants (promise 2: nothing a client sends lowers suspicion):
// - Every claim (each zone name, each numeric offset, each clock and the offset written in it,
//   each value of a repeated header) is judged on its own, and a signal fires if ANY claim is
//   suspicious, so adding or repeating a claim can only raise suspicion.
// - Every claim is judged at the EDGE's instant `now`. The client's own clock is consulted only
//   when it is within the skew tolerance (a client whose offset was computed a few seconds before
//   a DST change is consistent); a clock from another season explains nothing.
// - A malformed claim is evidence (TZ_INVALID, CLOCK_INVALID), never an error and never ignored.
import { restrictedShareAt, type RestrictedPlaces } from '../offset-share';
import { countryOffsetsAt, lookupZone, offsetAt, type ZoneInfo } from '../timezone';
import { SIGNAL_FALSE, undetermined, type Claims, type Evidence, type Signal } from '../types';
import { ZONE_REGIONS } from '../zone-regions';
import type { RequestView } from './geo';

/** What the timezone detector needs from the compiled policy. */
export interface TimezoneSettings {
  /** Restricted countries and regions; one object per compiled policy (it keys memos). */
  readonly restricted: RestrictedPlaces;
  readonly clockSkewToleranceMs: number;
}

/** The six time signals. */
export interface TimezoneSignals {
  TZ_INVALID: Signal;
  TZ_RESTRICTED: Signal;
  TZ_INCONSISTENT: Signal;
  TZ_MISMATCH: Signal;
  CLOCK_SKEW: Signal;
  CLOCK_INVALID: Signal;
}

/** Where an offset claim came from. */
type OffsetSource = 'utcOffsetMinutes' | 'clock';

interface OffsetClaim {
  readonly source: OffsetSource;
  readonly minutes: number;
}

interface ZoneClaim {
  /** The name as the client sent it. */
  readonly name: string;
  readonly zone: ZoneInfo;
  /** The zone's offset at `now`, when the runtime can compute it. */
  readonly offset: number | undefined;
}

/** The client's time claims, sorted into valid and invalid. */
interface TimeClaims {
  readonly zones: ZoneClaim[];
  readonly invalidZones: string[];
  readonly offsets: OffsetClaim[];
  readonly invalidOffsets: { readonly source: OffsetSource; readonly claim: string }[];
  /** Valid clocks: text and epoch ms. */
  readonly clocks: { readonly text: string; readonly ms: number }[];
  readonly invalidClocks: string[];
  anyClock: boolean;
}

/** Offsets in use anywhere today run from UTC-12:00 to UTC+14:00, in steps of 15 minutes. */
const MIN_OFFSET = -12 * 60;
const MAX_OFFSET = 14 * 60;
/** Evidence never echoes more of a client's text than this. */
const EVIDENCE_TEXT_MAX = 100;

// Fixed outcomes, built once: the common answers allocate nothing on the hot path.
const NO_TIME = undetermined('no client timezone or offset');
const NO_VALID_TIME = undetermined('no valid client timezone or offset');
const NO_VALID_ZONE = undetermined('no valid client timezone');
const NO_CLAIM = undetermined('no client offset or second zone to compare with its timezone');
const NO_REFERENCE = undetermined('no IP country or timezone to compare with');
const NO_CLOCK = undetermined('no client clock');
const NO_VALID_CLOCK = undetermined('no valid client clock');

/** ISO-8601 instant with a time and a zone designator; anything else is not a clock claim. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** The value(s) of a claim as a list (a repeated header or a JSON array gives several). */
export function claimList<T>(claims: Claims<T> | undefined): readonly T[] {
  if (claims === undefined) return [];
  return Array.isArray(claims) ? (claims as readonly T[]) : [claims as T];
}

/** Shortens a client's text for evidence. */
export function clip(text: string): string {
  return text.length > EVIDENCE_TEXT_MAX ? `${text.slice(0, EVIDENCE_TEXT_MAX)}…` : text;
}

/** Whether `minutes` is a UTC offset some place could be on (whole quarter hours, -12:00..+14:00). */
export function isRealOffset(minutes: number): boolean {
  return Number.isInteger(minutes) && minutes >= MIN_OFFSET && minutes <= MAX_OFFSET && minutes % 15 === 0;
}

/** Offset written in an ISO-8601 instant (`+08:00` -> 480); `Z` says nothing about the client's zone. */
export function clockOffsetMinutes(clock: string): number | undefined {
  const m = /([+-])(\d{2}):?(\d{2})?$/.exec(clock);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? '0');
  return m[1] === '-' ? -minutes : minutes;
}

/**
 * The integer an offset header carries (`480`, `+480`, `-300`, spaces around), or undefined when
 * it is written any other way (hex, exponents, fractions, text): a header's syntax only, whether
 * any place uses the offset is {@link isRealOffset}'s question.
 */
export function offsetFromText(raw: string): number | undefined {
  const text = raw.trim();
  return /^[+-]?\d{1,4}$/.test(text) ? Number(text) : undefined;
}

/** Reads an offset claim: a number, or an integer written in a header. */
function readOffset(raw: number | string): number | undefined {
  const n = typeof raw === 'number' ? raw : offsetFromText(raw);
  return n !== undefined && isRealOffset(n) ? n : undefined;
}

/** Sorts the client's claims; never throws, whatever the client sent. */
function readClaims(view: RequestView, now: number): TimeClaims {
  const { client } = view.facts;
  const claims: TimeClaims = { zones: [], invalidZones: [], offsets: [], invalidOffsets: [], clocks: [], invalidClocks: [], anyClock: false };
  const seenZones = new Set<string>();
  for (const name of claimList(client.timezone)) {
    const key = name.trim().toLowerCase();
    if (seenZones.has(key)) continue;
    seenZones.add(key);
    const lookup = lookupZone(name);
    if (lookup.kind === 'invalid') claims.invalidZones.push(name);
    else claims.zones.push({ name, zone: lookup.zone, offset: offsetAt(lookup.zone.canonical, now) });
  }
  for (const raw of claimList(client.utcOffsetMinutes)) {
    const minutes = readOffset(raw);
    if (minutes === undefined) claims.invalidOffsets.push({ source: 'utcOffsetMinutes', claim: String(raw) });
    else claims.offsets.push({ source: 'utcOffsetMinutes', minutes });
  }
  for (const text of claimList(client.clock)) {
    claims.anyClock = true;
    const ms = ISO_INSTANT.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
    if (Number.isNaN(ms)) {
      claims.invalidClocks.push(text);
      continue;
    }
    claims.clocks.push({ text, ms });
    const minutes = clockOffsetMinutes(text.trim());
    if (minutes === undefined) continue;
    if (isRealOffset(minutes)) claims.offsets.push({ source: 'clock', minutes });
    else claims.invalidOffsets.push({ source: 'clock', claim: text });
  }
  return claims;
}

/** Computes the time signals of one request at `now` (epoch ms, the edge's clock). */
export function detectTimezone(view: RequestView, settings: TimezoneSettings, now: number): TimezoneSignals {
  const claims = readClaims(view, now);
  const reference = plausibleOffsets(view, now);
  return {
    TZ_INVALID: invalid(claims),
    TZ_RESTRICTED: restricted(view, settings.restricted, claims, reference, now),
    TZ_INCONSISTENT: inconsistent(claims, settings.clockSkewToleranceMs, now),
    TZ_MISMATCH: mismatch(view, claims, reference),
    CLOCK_SKEW: skew(claims, settings.clockSkewToleranceMs, now),
    CLOCK_INVALID: badClock(claims),
  };
}

function invalid(claims: TimeClaims): Signal {
  const badZone = claims.invalidZones[0];
  if (badZone !== undefined) {
    return {
      value: true,
      message: `The client's time zone ${JSON.stringify(clip(badZone))} is not an IANA zone.`,
      evidence: { timezone: clip(badZone) },
    };
  }
  const badOffset = claims.invalidOffsets[0];
  if (badOffset !== undefined) {
    return {
      value: true,
      message: `The client's UTC offset claim ${JSON.stringify(clip(badOffset.claim))} (${badOffset.source}) is not an offset any place uses.`,
      evidence: { claim: clip(badOffset.claim), claimSource: badOffset.source },
    };
  }
  return claims.zones.length === 0 && claims.offsets.length === 0 ? NO_TIME : SIGNAL_FALSE;
}

/** The offsets plausible where the IP is: those of the IP's country, and its own zone's. */
interface Reference {
  readonly country: string | undefined;
  readonly ipTimezone: string | undefined;
  /** Undefined when neither the IP's country nor its zone gives any offset. */
  readonly offsets: ReadonlySet<number> | undefined;
}

function plausibleOffsets(view: RequestView, now: number): Reference {
  const country = view.country;
  const countryOffsets = country ? countryOffsetsAt(country, now) : undefined;
  const ipTimezone = view.facts.geo.timezone;
  const ipZone = ipTimezone === undefined ? undefined : lookupZone(ipTimezone);
  const ipZoneOffset = ipZone && ipZone.kind !== 'invalid' ? offsetAt(ipZone.zone.canonical, now) : undefined;
  let offsets: ReadonlySet<number> | undefined = countryOffsets?.size ? countryOffsets : undefined;
  if (ipZoneOffset !== undefined && !offsets?.has(ipZoneOffset)) {
    const merged = new Set(offsets);
    merged.add(ipZoneOffset);
    offsets = merged;
  }
  return { country, ipTimezone, offsets };
}

/** Strongest restricted-location reading of one claim. */
interface Restriction {
  readonly strength: number;
  readonly message: string;
  readonly evidence: Evidence;
}

function restricted(view: RequestView, places: RestrictedPlaces, claims: TimeClaims, ref: Reference, now: number): Signal {
  if (claims.zones.length === 0 && claims.offsets.length === 0) return NO_VALID_TIME;
  let best: Restriction | undefined;
  const consider = (r: Restriction | undefined) => {
    if (r && r.strength > (best?.strength ?? 0)) best = r;
  };
  for (const claim of claims.zones) {
    if (claim.zone.countries.length > 0) consider(restrictedZone(view, places, claim));
    // A zone tied to no country (Etc/GMT-8, UTC, EST5EDT) says only its offset.
    else if (claim.offset !== undefined) consider(restrictedOffset(places, { source: 'utcOffsetMinutes', minutes: claim.offset }, ref, now, claim));
  }
  for (const claim of claims.offsets) consider(restrictedOffset(places, claim, ref, now));
  if (!best) return SIGNAL_FALSE;
  return { value: true, message: best.message, evidence: best.evidence, strength: best.strength };
}

function restrictedZone(view: RequestView, places: RestrictedPlaces, claim: ZoneClaim): Restriction | undefined {
  const { zone } = claim;
  const regions = ZONE_REGIONS[zone.canonical] ?? [];
  const region = regions.find((r) => places.regions.has(r));
  const byCountry = zone.countries.every((c) => places.countries.has(c));
  if (region === undefined && !byCountry) return undefined;
  // Seen from inside the restricted place itself, the zone is expected: the geo rules judge that IP.
  const inside =
    view.country !== undefined &&
    zone.countries.includes(view.country) &&
    (region === undefined || (view.region !== undefined && regions.includes(view.region)));
  if (inside) return undefined;
  return {
    strength: 1,
    message: `The client's time zone ${zone.canonical} belongs to a restricted ${region !== undefined ? 'region' : 'country'}, and the IP is outside it.`,
    evidence: {
      timezone: clip(claim.name),
      canonical: zone.canonical,
      zoneCountries: zone.countries,
      ...(region !== undefined ? { zoneRegion: region } : {}),
      ipCountry: view.country ?? null,
    },
  };
}

function restrictedOffset(places: RestrictedPlaces, claim: OffsetClaim, ref: Reference, now: number, zone?: ZoneClaim): Restriction | undefined {
  // An offset in use where the IP is explains itself: a Singapore user on UTC+8 is not suspicious.
  if (ref.offsets?.has(claim.minutes)) return undefined;
  const share = restrictedShareAt(claim.minutes, now, places);
  if (!share || share.share <= 0) return undefined;
  const percent = Math.round(share.share * 1000) / 10;
  const what = zone ? `time zone ${zone.zone.canonical} (UTC offset ${claim.minutes} min)` : `UTC offset ${claim.minutes} min (${claim.source})`;
  return {
    strength: share.share,
    message: `${percent}% of the people on the client's ${what} live in restricted places (${share.restrictedPlaces.join(', ')}).`,
    evidence: {
      ...(zone ? { timezone: clip(zone.name), canonical: zone.zone.canonical } : { claimSource: claim.source }),
      offsetMinutes: claim.minutes,
      restrictedShare: Math.round(share.share * 1000) / 1000,
      restrictedPlaces: share.restrictedPlaces,
      ipCountry: ref.country ?? null,
    },
  };
}

function inconsistent(claims: TimeClaims, toleranceMs: number, now: number): Signal {
  if (claims.zones.length === 0) return NO_VALID_ZONE;
  if (claims.offsets.length === 0 && claims.zones.length < 2) return NO_CLAIM;
  // A clock within tolerance may sit across a DST change from `now`: its offset is consistent too.
  // A clock from further away (another season) explains nothing.
  const nearClocks = claims.clocks.filter((c) => Math.abs(c.ms - now) <= toleranceMs);
  let judged = false;
  for (const claim of claims.zones) {
    if (claim.offset === undefined) continue;
    judged = true;
    const accepted = (minutes: number) => minutes === claim.offset || nearClocks.some((c) => offsetAt(claim.zone.canonical, c.ms) === minutes);
    const bad = claims.offsets.find((o) => !accepted(o.minutes));
    if (bad) {
      return {
        value: true,
        message: `The client claims UTC offset ${bad.minutes} min (${bad.source}), but ${claim.zone.canonical} is at ${claim.offset} min.`,
        evidence: { canonical: claim.zone.canonical, zoneOffsetMinutes: claim.offset, claimedOffsetMinutes: bad.minutes, claimSource: bad.source },
      };
    }
    const other = claims.zones.find((z) => z.offset !== undefined && !accepted(z.offset));
    if (other) {
      return {
        value: true,
        message: `The client claims two time zones at different offsets: ${claim.zone.canonical} (${claim.offset} min) and ${other.zone.canonical} (${other.offset} min).`,
        evidence: { canonical: claim.zone.canonical, zoneOffsetMinutes: claim.offset, otherCanonical: other.zone.canonical, otherOffsetMinutes: other.offset },
      };
    }
  }
  return judged ? SIGNAL_FALSE : undetermined('no offset known for the client timezone');
}

function mismatch(view: RequestView, claims: TimeClaims, ref: Reference): Signal {
  if (claims.zones.length === 0 && claims.offsets.length === 0) return NO_VALID_TIME;
  const plausible = ref.offsets;
  if (!plausible) return NO_REFERENCE;
  // Evidence is built only for the rare true outcome.
  const evidenceBase = () => ({
    ipCountry: ref.country ?? null,
    ipTimezone: ref.ipTimezone ?? null,
    plausibleOffsetsMinutes: [...plausible].sort((a, b) => a - b),
  });
  for (const claim of claims.zones) {
    if (claim.offset === undefined || plausible.has(claim.offset)) continue;
    if (view.country !== undefined && claim.zone.countries.includes(view.country)) continue;
    return {
      value: true,
      message: `The client's time zone ${claim.zone.canonical} (UTC offset ${claim.offset} min) is not used where the IP is.`,
      evidence: { ...evidenceBase(), timezone: clip(claim.name), canonical: claim.zone.canonical, clientOffsetMinutes: claim.offset },
    };
  }
  for (const claim of claims.offsets) {
    if (plausible.has(claim.minutes)) continue;
    return {
      value: true,
      message: `The client's UTC offset ${claim.minutes} min (${claim.source}) is not used where the IP is.`,
      evidence: { ...evidenceBase(), clientOffsetMinutes: claim.minutes, claimSource: claim.source },
    };
  }
  return SIGNAL_FALSE;
}

function skew(claims: TimeClaims, toleranceMs: number, now: number): Signal {
  if (!claims.anyClock) return NO_CLOCK;
  if (claims.clocks.length === 0) return NO_VALID_CLOCK;
  for (const clock of claims.clocks) {
    const skewMs = clock.ms - now;
    if (Math.abs(skewMs) <= toleranceMs) continue;
    const skewSeconds = Math.round(skewMs / 1000);
    return {
      value: true,
      message: `The client's clock is ${skewSeconds} s off edge time (tolerance ${toleranceMs / 1000} s).`,
      evidence: { clientClock: clip(clock.text), skewSeconds, toleranceSeconds: toleranceMs / 1000 },
    };
  }
  return SIGNAL_FALSE;
}

function badClock(claims: TimeClaims): Signal {
  if (!claims.anyClock) return NO_CLOCK;
  const bad = claims.invalidClocks[0];
  if (bad === undefined) return SIGNAL_FALSE;
  return {
    value: true,
    message: `The client's clock ${JSON.stringify(clip(bad))} is not an ISO-8601 instant.`,
    evidence: { clientClock: clip(bad) },
  };
}
