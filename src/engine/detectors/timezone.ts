// Client time signals: TZ_INVALID, TZ_RESTRICTED, TZ_INCONSISTENT, TZ_MISMATCH and CLOCK_SKEW.
// Every client claim (zone name, numeric offset, the offset inside an ISO clock) is judged on its
// own and a signal fires if ANY claim is suspicious, so adding a claim can only raise suspicion.
// Offsets are computed at the request instant (`now`), never from a static table.
import { countryOffsetsAt, lookupZone, offsetAt, type ZoneInfo } from '../timezone';
import { SIGNAL_FALSE, undetermined, type Signal } from '../types';
import type { RequestView } from './geo';

/** Zones that lie wholly inside one ISO 3166-2 region, for regional restrictions. */
const ZONE_REGIONS: Readonly<Record<string, string>> = {
  // Crimea: tzdb gives it its own zone, Moscow time since 2014.
  'Europe/Simferopol': 'UA-43',
};

/** What the timezone detector needs from the compiled policy. */
export interface TimezoneSettings {
  readonly restrictedCountries: ReadonlySet<string>;
  readonly restrictedRegions: ReadonlySet<string>;
  readonly clockSkewToleranceMs: number;
}

/** The five time signals. */
export interface TimezoneSignals {
  TZ_INVALID: Signal;
  TZ_RESTRICTED: Signal;
  TZ_INCONSISTENT: Signal;
  TZ_MISMATCH: Signal;
  CLOCK_SKEW: Signal;
}

interface OffsetClaim {
  readonly source: 'utcOffsetMinutes' | 'clock';
  readonly minutes: number;
}

// Fixed outcomes, built once: the common answers allocate nothing on the hot path.
const NO_ZONE = undetermined('no client timezone');
const NO_VALID_ZONE = undetermined('no valid client timezone');
const NO_CLAIM = undetermined('no client offset to compare with its timezone');
const NO_CLIENT_TIME = undetermined('no client timezone or offset');
const NO_REFERENCE = undetermined('no IP country or timezone to compare with');
const NO_CLOCK = undetermined('no client clock');
const BAD_CLOCK = undetermined('client clock is not an ISO-8601 instant');

/** Offset written in an ISO-8601 instant (`+08:00` -> 480); `Z` says nothing about the client's zone. */
export function clockOffsetMinutes(clock: string): number | undefined {
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(clock);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/** Computes the time signals of one request at `now` (epoch ms). */
export function detectTimezone(view: RequestView, settings: TimezoneSettings, now: number): TimezoneSignals {
  const { client, geo } = view.facts;
  const clockMs = client.clock === undefined ? Number.NaN : Date.parse(client.clock);
  const claims: OffsetClaim[] = [];
  if (client.utcOffsetMinutes !== undefined) claims.push({ source: 'utcOffsetMinutes', minutes: client.utcOffsetMinutes });
  const clockOffset = client.clock === undefined ? undefined : clockOffsetMinutes(client.clock);
  if (clockOffset !== undefined) claims.push({ source: 'clock', minutes: clockOffset });

  const lookup = client.timezone === undefined ? undefined : lookupZone(client.timezone);
  const zone = lookup && lookup.kind !== 'invalid' ? lookup.zone : undefined;
  const zoneOffset = zone ? offsetAt(zone.canonical, now) : undefined;

  return {
    TZ_INVALID:
      lookup === undefined
        ? NO_ZONE
        : lookup.kind === 'invalid'
          ? {
              value: true,
              message: `The client's time zone ${JSON.stringify(client.timezone)} is not an IANA zone.`,
              evidence: { timezone: client.timezone },
            }
          : SIGNAL_FALSE,
    TZ_RESTRICTED: restricted(view, settings, zone),
    TZ_INCONSISTENT: inconsistent(zone, zoneOffset, claims, clockMs),
    TZ_MISMATCH: mismatch(view, geo.timezone, zone, zoneOffset, claims, now),
    CLOCK_SKEW: skew(client.clock, clockMs, settings.clockSkewToleranceMs, now),
  };
}

function restricted(view: RequestView, settings: TimezoneSettings, zone: ZoneInfo | undefined): Signal {
  if (!zone) return NO_VALID_ZONE;
  const region = ZONE_REGIONS[zone.canonical];
  const byRegion = region !== undefined && settings.restrictedRegions.has(region);
  const byCountry = zone.countries.length > 0 && zone.countries.every((c) => settings.restrictedCountries.has(c));
  if (!byRegion && !byCountry) return SIGNAL_FALSE;
  // Seen from inside the restricted place itself, the zone is expected; the geo rules judge that IP.
  const inside =
    view.country !== undefined &&
    zone.countries.includes(view.country) &&
    (region === undefined || view.region === region);
  if (inside) return SIGNAL_FALSE;
  return {
    value: true,
    message: `The client's time zone ${zone.canonical} belongs to a restricted ${byRegion ? 'region' : 'country'}, and the IP is outside it.`,
    evidence: {
      timezone: view.facts.client.timezone,
      canonical: zone.canonical,
      zoneCountries: zone.countries,
      ...(byRegion ? { zoneRegion: region } : {}),
      ipCountry: view.country ?? null,
    },
  };
}

function inconsistent(
  zone: ZoneInfo | undefined,
  zoneOffset: number | undefined,
  claims: readonly OffsetClaim[],
  clockMs: number,
): Signal {
  if (!zone) return NO_VALID_ZONE;
  if (claims.length === 0) return NO_CLAIM;
  if (zoneOffset === undefined) return undetermined(`no offset known for ${zone.canonical}`);
  // A client that computed its offset at its own (skewed) clock across a DST change is consistent too.
  const atClock = Number.isNaN(clockMs) ? undefined : offsetAt(zone.canonical, clockMs);
  const bad = claims.find((c) => c.minutes !== zoneOffset && c.minutes !== atClock);
  if (!bad) return SIGNAL_FALSE;
  return {
    value: true,
    message: `The client claims UTC offset ${bad.minutes} min (${bad.source}), but ${zone.canonical} is at ${zoneOffset} min.`,
    evidence: {
      canonical: zone.canonical,
      zoneOffsetMinutes: zoneOffset,
      claimedOffsetMinutes: bad.minutes,
      claimSource: bad.source,
    },
  };
}

function mismatch(
  view: RequestView,
  ipZoneName: string | undefined,
  zone: ZoneInfo | undefined,
  zoneOffset: number | undefined,
  claims: readonly OffsetClaim[],
  now: number,
): Signal {
  if (!zone && claims.length === 0) return NO_CLIENT_TIME;
  const country = view.country;
  const countryOffsets = country ? countryOffsetsAt(country, now) : undefined;
  const ipZone = ipZoneName === undefined ? undefined : lookupZone(ipZoneName);
  const ipZoneOffset = ipZone && ipZone.kind !== 'invalid' ? offsetAt(ipZone.zone.canonical, now) : undefined;
  if (!countryOffsets?.size && ipZoneOffset === undefined) return NO_REFERENCE;
  const plausible = (minutes: number) => minutes === ipZoneOffset || countryOffsets?.has(minutes) === true;

  // Evidence is built only for the rare true outcome.
  const evidenceBase = () => {
    const offsets = new Set(countryOffsets);
    if (ipZoneOffset !== undefined) offsets.add(ipZoneOffset);
    return {
      ipCountry: country ?? null,
      ipTimezone: ipZoneName ?? null,
      plausibleOffsetsMinutes: [...offsets].sort((a, b) => a - b),
    };
  };
  if (zone && zoneOffset !== undefined && !plausible(zoneOffset) && !(country !== undefined && zone.countries.includes(country))) {
    return {
      value: true,
      message: `The client's time zone ${zone.canonical} (UTC offset ${zoneOffset} min) is not used where the IP is.`,
      evidence: { ...evidenceBase(), timezone: view.facts.client.timezone, canonical: zone.canonical, clientOffsetMinutes: zoneOffset },
    };
  }
  for (const claim of claims) {
    if (plausible(claim.minutes)) continue;
    return {
      value: true,
      message: `The client's UTC offset ${claim.minutes} min (${claim.source}) is not used where the IP is.`,
      evidence: { ...evidenceBase(), clientOffsetMinutes: claim.minutes, claimSource: claim.source },
    };
  }
  return SIGNAL_FALSE;
}

function skew(clock: string | undefined, clockMs: number, toleranceMs: number, now: number): Signal {
  if (clock === undefined) return NO_CLOCK;
  if (Number.isNaN(clockMs)) return BAD_CLOCK;
  const skewMs = clockMs - now;
  if (Math.abs(skewMs) <= toleranceMs) return SIGNAL_FALSE;
  const skewSeconds = Math.round(skewMs / 1000);
  return {
    value: true,
    message: `The client's clock is ${skewSeconds} s off edge time (tolerance ${toleranceMs / 1000} s).`,
    evidence: { clientClock: clock, skewSeconds, toleranceSeconds: toleranceMs / 1000 },
  };
}
