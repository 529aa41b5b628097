// Account memory: RELAY_FANOUT, RELAY_TZ_FANOUT, RELAY_DEVICE_FANOUT, RELAY_SIGNATURE,
// IMPOSSIBLE_TRAVEL, TZ_RESTRICTED_HISTORY, RESTRICTED_IP_HISTORY and ORG_RESTRICTED_SHARE judge
// the summaries the account's and organisation's objects keep (src/engine/history.ts), together
// with what the current check shows; and `observe` says what the current check adds to them.
// PURE: summaries, the check and `now` in, signals out.
//
// Invariants:
// - Without a summary (no account id, memory off, a cold isolate in `async` mode, an object past
//   its budget) every memory signal is `undetermined`, never `false`.
// - The current check only ever ADDS to a summary (its network, ASN, country and client zones
//   join the distinct counts), so a client claim can raise a count, never lower it. Counts the
//   objects keep as hashes (IPs, devices) and datacenter checks are judged as the object counted
//   them. RELAY_SIGNATURE counts checks by an origin-side fact (datacenter egress): gating it on
//   the ABSENCE of client fields would let a relay forge one header to escape it.
// - Restricted evidence counts only for places the policy restricts NOW: a mark recorded under an
//   older policy whose country is no longer restricted is ignored.
import type { RestrictedPlaces } from '../offset-share';
import { formatIp } from '../ip';
import { lookupZone } from '../timezone';
import {
  impossibleTravel,
  isBrowserUserAgent,
  MAX_OBSERVED_ZONES,
  MAX_OBSERVED_DEVICES,
  networkPrefix,
  roundCoordinate,
  type AccountHistory,
  type AccountObservation,
  type DistinctSeen,
  type HistorySettings,
  type Located,
  type MemoryFacts,
  type OrgHistory,
  type RestrictedEvidence,
  type RestrictedMark,
  type TravelFinding,
} from '../history';
import { LOCATION_EVIDENCE_MIN_STRENGTH, MEMORY_SIGNAL_NAMES, SIGNAL_FALSE, undetermined, type Evidence, type Signal, type Signals } from '../types';
import type { RequestView } from './geo';
import { claimList } from './timezone';

/** The memory signals. */
export type HistorySignals = Pick<
  Signals,
  | 'RELAY_FANOUT'
  | 'RELAY_TZ_FANOUT'
  | 'RELAY_DEVICE_FANOUT'
  | 'RELAY_SIGNATURE'
  | 'IMPOSSIBLE_TRAVEL'
  | 'TZ_RESTRICTED_HISTORY'
  | 'RESTRICTED_IP_HISTORY'
  | 'ORG_RESTRICTED_SHARE'
>;

/** The signals only the account and organisation memory can make true. */
export const MEMORY_SIGNALS: readonly (keyof HistorySignals)[] = MEMORY_SIGNAL_NAMES;

function allOf(signal: Signal): HistorySignals {
  return {
    RELAY_FANOUT: signal,
    RELAY_TZ_FANOUT: signal,
    RELAY_DEVICE_FANOUT: signal,
    RELAY_SIGNATURE: signal,
    IMPOSSIBLE_TRAVEL: signal,
    TZ_RESTRICTED_HISTORY: signal,
    RESTRICTED_IP_HISTORY: signal,
    ORG_RESTRICTED_SHARE: signal,
  };
}

// Fixed outcomes, built once.
const MEMORY_OFF = allOf(undetermined('account memory is off in the policy (history.mode)'));
const NO_ACCOUNT = undetermined('no account id');
const NO_ORG = undetermined('no organisation id');
const NOT_CONSULTED = undetermined('account memory was not consulted');
const NO_COORDINATES = undetermined('no city-level coordinates to compare');
const UNKNOWN = new Map<string, Signal>();

/** The `undetermined` signal for a reason the memory gave (one frozen object per reason). */
function unknown(why: string): Signal {
  let s = UNKNOWN.get(why);
  if (s === undefined) {
    s = undetermined(why);
    if (UNKNOWN.size < 64) UNKNOWN.set(why, s);
  }
  return s;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const seconds = (ms: number) => Math.round(ms / 1000);

/** What the memory signals need of the compiled policy. */
export interface HistoryContext {
  readonly settings: HistorySettings;
  readonly restricted: RestrictedPlaces;
}

/**
 * Judges the account's and organisation's memory, with the current check's observation (undefined
 * when the check names no account).
 */
export function detectHistory(view: RequestView, ctx: HistoryContext, memory: MemoryFacts, current: AccountObservation | undefined, now: number): HistorySignals {
  if (ctx.settings.mode === 'off') return MEMORY_OFF;
  const { id, orgId } = view.facts.account;
  const org = orgId === undefined ? NO_ORG : memory.org === undefined ? NOT_CONSULTED : memory.org.known ? orgShare(memory.org.history, ctx.settings, now, memory.org.from) : unknown(memory.org.why);
  let account: Omit<HistorySignals, 'ORG_RESTRICTED_SHARE'>;
  if (id === undefined) account = allOf(NO_ACCOUNT);
  else if (memory.account === undefined) account = allOf(NOT_CONSULTED);
  else if (!memory.account.known) account = allOf(unknown(memory.account.why));
  else account = accountSignals(memory.account.history, ctx, current, now, memory.account.from);
  return {
    RELAY_FANOUT: account.RELAY_FANOUT,
    RELAY_TZ_FANOUT: account.RELAY_TZ_FANOUT,
    RELAY_DEVICE_FANOUT: account.RELAY_DEVICE_FANOUT,
    RELAY_SIGNATURE: account.RELAY_SIGNATURE,
    IMPOSSIBLE_TRAVEL: account.IMPOSSIBLE_TRAVEL,
    TZ_RESTRICTED_HISTORY: account.TZ_RESTRICTED_HISTORY,
    RESTRICTED_IP_HISTORY: account.RESTRICTED_IP_HISTORY,
    ORG_RESTRICTED_SHARE: org,
  };
}

/** Distinct values of one dimension in the window ending `now`, the current check's included. */
function distinct(seen: DistinctSeen, windowStart: number, current: readonly (string | undefined)[], threshold: number): { readonly count: number; readonly keys: readonly string[] } {
  // The object lists every value when it has at most SUMMARY_ITEMS; beyond that its count stands
  // (it is then above any threshold a policy may set).
  if (seen.count > seen.items.length) return { count: seen.count, keys: seen.items.map((i) => i.key) };
  // Far below the threshold (the common case) the exact count does not matter: none of the
  // signals it feeds can fire, and their evidence is never built.
  if (seen.count + current.length < threshold) return FEW;
  const keys = seen.items.filter((i) => i.lastSeen >= windowStart).map((i) => i.key);
  for (const k of current) if (k !== undefined && !keys.includes(k)) keys.push(k);
  return { count: keys.length, keys };
}

/** A count too low to fire (see distinct). */
const FEW: { readonly count: number; readonly keys: readonly string[] } = Object.freeze({ count: 0, keys: Object.freeze([]) });

function accountSignals(h: AccountHistory, ctx: HistoryContext, current: AccountObservation | undefined, now: number, from: 'object' | 'cache'): Omit<HistorySignals, 'ORG_RESTRICTED_SHARE'> {
  const s = ctx.settings;
  const fan = s.fanout;
  const start = now - fan.windowMs;
  // Evidence is built only for the rare true outcome: the common quiet account allocates little.
  const window = () => ({ windowSeconds: seconds(fan.windowMs), events: h.events, firstSeen: iso(h.firstSeen), lastSeen: iso(h.lastSeen), memory: from });
  const networks = distinct(h.networks, start, [current?.network], fan.networks);
  const asns = distinct(h.asns, start, [current?.asn === undefined ? undefined : String(current.asn)], fan.asns);
  const countries = distinct(h.countries, start, [current?.country], fan.countries);
  const fanoutSignal = (networkCount: number, asnCount: number, countryKeys: readonly string[]): Signal => ({
    value: true,
    message: `The account was seen from ${networkCount} networks, ${asnCount} ASNs and ${countryKeys.length} countries in ${seconds(fan.windowMs) / 60} min (thresholds ${fan.networks} / ${fan.asns} / ${fan.countries}).`,
    evidence: { networks: networkCount, asns: asnCount, countries: countryKeys.slice().sort(), ips: fresh ? h.ips : 0, thresholds: { networks: fan.networks, asns: fan.asns, countries: fan.countries }, ...window() },
  });
  const merged = distinct(h.timezones, start, current?.timezones ?? [], fan.timezones);
  const zones = current?.timezonesTruncated ? { count: Math.max(merged.count, MAX_OBSERVED_ZONES + 1), keys: merged.keys } : merged;
  // A summary older than the window says nothing of it any more.
  const fresh = h.asOf >= start;
  // The object counts devices as keyed hashes, the current check's included in sync mode; a check
  // claiming more than MAX_OBSERVED_DEVICES is a device fan-out by itself.
  const devices = Math.max(fresh ? h.devices : 0, current?.devicesTruncated ? MAX_OBSERVED_DEVICES + 1 : 0);

  const fanout: Signal =
    networks.count >= fan.networks || asns.count >= fan.asns || countries.count >= fan.countries
      ? fanoutSignal(
          // Exact counts for the evidence (one dimension may have been below its threshold).
          distinct(h.networks, start, [current?.network], 0).count,
          distinct(h.asns, start, [current?.asn === undefined ? undefined : String(current.asn)], 0).count,
          distinct(h.countries, start, [current?.country], 0).keys,
        )
      : SIGNAL_FALSE;
  const tzFanout: Signal =
    zones.count >= fan.timezones
      ? {
          value: true,
          message: `The account presented ${zones.count} client time zones in ${seconds(fan.windowMs) / 60} min (threshold ${fan.timezones}).`,
          evidence: { timezones: zones.keys.slice().sort(), count: zones.count, threshold: fan.timezones, ...window() },
        }
      : SIGNAL_FALSE;
  const deviceFanout: Signal =
    devices >= fan.devices
      ? {
          value: true,
          message: `The account was used from ${devices} devices in ${seconds(fan.windowMs) / 60} min (threshold ${fan.devices}).`,
          evidence: { devices, threshold: fan.devices, ...window() },
        }
      : SIGNAL_FALSE;

  const sig = h.signature;
  const sigFresh = sig.lastSeen !== null && sig.lastSeen >= now - s.signature.windowMs;
  const relayed = sigFresh ? sig.requests : 0;
  const signature: Signal =
    relayed >= s.signature.requests
      ? {
          value: true,
          message: `${relayed} checks in ${seconds(s.signature.windowMs)} s came from datacenter networks (threshold ${s.signature.requests}); ${sig.bare} of them showed no client clock, locale or browser.`,
          evidence: { requests: relayed, bare: sig.bare, windowSeconds: seconds(s.signature.windowMs), threshold: s.signature.requests, firstSeen: iso(sig.firstSeen), lastSeen: iso(sig.lastSeen), memory: from },
        }
      : SIGNAL_FALSE;

  return {
    RELAY_FANOUT: fanout,
    RELAY_TZ_FANOUT: tzFanout,
    RELAY_DEVICE_FANOUT: deviceFanout,
    RELAY_SIGNATURE: signature,
    IMPOSSIBLE_TRAVEL: travelSignal(h, s, current, now, from),
    TZ_RESTRICTED_HISTORY: restrictedHistory(h.restricted, 'tz', ctx, now, from),
    RESTRICTED_IP_HISTORY: restrictedHistory(h.restricted, 'ip', ctx, now, from),
  };
}

const place = (l: Located) => ({ at: iso(l.at), country: l.country, city: l.city });

function travelSignal(h: AccountHistory, s: HistorySettings, current: AccountObservation | undefined, now: number, from: 'object' | 'cache'): Signal {
  const here: Located | undefined = current?.location ? { at: now, ...current.location } : undefined;
  let found: TravelFinding | undefined;
  if (here && h.lastLocation) found = impossibleTravel(h.lastLocation, here, s.travel);
  const recorded = h.travel;
  if (recorded && recorded.to.at >= now - s.fanout.windowMs && (!found || recorded.kmh > found.kmh)) found = recorded;
  if (!found) return here || h.lastLocation || recorded ? SIGNAL_FALSE : NO_COORDINATES;
  const hours = Math.max(found.to.at - found.from.at, 1000) / 3_600_000;
  return {
    value: true,
    message: `The account was in ${found.from.city ?? found.from.country ?? '?'} and ${found.to.city ?? found.to.country ?? '?'}, ${found.km} km apart, ${formatHours(hours)} apart: ${found.kmh} km/h (a plane flies ${s.travel.maxKmh}).`,
    evidence: { from: place(found.from), to: place(found.to), km: found.km, hours: Math.round(hours * 100) / 100, kmh: found.kmh, maxKmh: s.travel.maxKmh, memory: from },
  };
}

function formatHours(hours: number): string {
  return hours >= 1 ? `${Math.round(hours * 10) / 10} h` : `${Math.max(1, Math.round(hours * 60))} min`;
}

/** Whether `place` (a country or an ISO 3166-2 region) is one the policy restricts. */
function isRestrictedPlace(place: string, restricted: RestrictedPlaces): boolean {
  return restricted.countries.has(place) || restricted.regions.has(place);
}

/** Whether restricted evidence points to a place the policy restricts now. */
function stillRestricted(mark: RestrictedEvidence, places: RestrictedPlaces): boolean {
  return mark.places.some((p) => isRestrictedPlace(p, places));
}

/**
 * The places the policy restricts now that evidence places the user in (strength 0.5 or more),
 * marks last seen before `since` left out: what an organisation counts an account restricted for.
 */
export function evidencedPlaces(evidence: readonly (RestrictedEvidence & { readonly lastSeen?: number })[], restricted: RestrictedPlaces, since = -Infinity): string[] {
  const out = new Set<string>();
  for (const e of evidence) {
    if (e.strength < LOCATION_EVIDENCE_MIN_STRENGTH || (e.lastSeen ?? Infinity) < since) continue;
    for (const p of e.places) if (isRestrictedPlace(p, restricted)) out.add(p);
  }
  return [...out];
}

function restrictedHistory(marks: readonly RestrictedMark[], kind: 'tz' | 'ip', ctx: HistoryContext, now: number, from: 'object' | 'cache'): Signal {
  const since = now - ctx.settings.restrictedWindowMs;
  let best: RestrictedMark | undefined;
  for (const m of marks) {
    if (m.kind !== kind || m.lastSeen < since || !stillRestricted(m, ctx.restricted)) continue;
    // A mark only the current check made (sync mode records before judging) is not history:
    // sync and async judge the same check alike.
    if (m.firstSeen >= now) continue;
    if (!best || m.strength > best.strength || (m.strength === best.strength && m.lastSeen > best.lastSeen)) best = m;
  }
  if (!best) return SIGNAL_FALSE;
  const days = Math.round(ctx.settings.restrictedWindowMs / 86_400_000);
  const evidence: Evidence = {
    ...(kind === 'tz' ? { timezone: best.key } : { ipPlace: best.key }),
    places: best.places,
    ipCountry: best.ipCountry,
    firstSeen: iso(best.firstSeen),
    lastSeen: iso(best.lastSeen),
    count: best.count,
    windowDays: days,
    memory: from,
  };
  const message =
    kind === 'tz'
      ? `The account presented the restricted client time zone ${best.key} (${best.places.join(', ')}) from ${best.ipCountry ?? 'an unknown country'} on ${iso(best.lastSeen)}, within ${days} days.`
      : `The account was seen from an IP in ${best.key}, a restricted place, on ${iso(best.lastSeen)}, within ${days} days.`;
  return best.strength < 1 ? { value: true, message, evidence, strength: best.strength } : { value: true, message, evidence };
}

function orgShare(h: OrgHistory, s: HistorySettings, now: number, from: 'object' | 'cache'): Signal {
  // The summary counted the window ending at its asOf; a summary older than the window is empty now.
  if (h.asOf < now - s.org.windowMs || h.activeAccounts === 0) return SIGNAL_FALSE;
  const share = h.restrictedAccounts / h.activeAccounts;
  if (h.restrictedAccounts < s.org.minAccounts || share < s.org.minShare) return SIGNAL_FALSE;
  const percent = Math.round(share * 1000) / 10;
  const days = Math.round(s.org.windowMs / 86_400_000);
  return {
    value: true,
    message: `${h.restrictedAccounts} of the organisation's ${h.activeAccounts} active accounts (${percent}%) showed restricted location evidence within ${days} days (thresholds ${Math.round(s.org.minShare * 100)}% and ${s.org.minAccounts} accounts).`,
    evidence: { activeAccounts: h.activeAccounts, restrictedAccounts: h.restrictedAccounts, share: Math.round(share * 1000) / 1000, minShare: s.org.minShare, minAccounts: s.org.minAccounts, windowDays: days, memory: from },
  };
}

// ---------------------------------------------------------------------------------------------
// What the current check adds to the memory.

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The restricted evidence a true TZ_RESTRICTED signal carries (see detectors/timezone.ts). */
function tzEvidence(signal: Signal, ipCountry: string | null): RestrictedEvidence | undefined {
  if (signal.value !== true) return undefined;
  const e = signal.evidence;
  const canonical = typeof e.canonical === 'string' ? e.canonical : undefined;
  const offset = typeof e.offsetMinutes === 'number' ? e.offsetMinutes : undefined;
  const places = typeof e.zoneRegion === 'string' ? [e.zoneRegion] : isStringArray(e.restrictedPlaces) ? e.restrictedPlaces : isStringArray(e.zoneCountries) ? e.zoneCountries : [];
  const key = canonical ?? (offset === undefined ? undefined : `UTC${offset >= 0 ? '+' : ''}${offset}`);
  if (key === undefined || places.length === 0) return undefined;
  return { kind: 'tz', key, places: [...places].sort(), strength: signal.strength ?? 1, ipCountry };
}

/** Whether the intel in force lists the request's IP or ASN as a datacenter (whatever the policy's hosting set says). */
function datacenterByIntel(view: RequestView): boolean {
  const ip = view.ip;
  const asn = view.facts.geo.asn;
  return (ip !== undefined && view.intel.matchIp(ip, 'datacenter', 'with-embedded') !== undefined) || (asn !== undefined && view.intel.asnIn(asn, 'datacenter'));
}

/**
 * What a check adds to its account's memory, given its TZ_RESTRICTED and NETWORK_HOSTING signals
 * under the policy (datacenter egress is the policy's hosting set or the intel's datacenter list). Raw IP and device id travel to the object, which keeps only keyed hashes.
 */
export function observe(view: RequestView, signals: Pick<Signals, 'TZ_RESTRICTED' | 'NETWORK_HOSTING'>, restricted: RestrictedPlaces, now: number): AccountObservation {
  const { geo, client } = view.facts;
  const ip = view.ip;
  // Every valid zone claimed counts (a client padding its claims with zones the account already
  // showed must not push a new one out); past MAX_OBSERVED_ZONES the check is a fan-out by itself.
  const zones: string[] = [];
  let timezonesTruncated = false;
  for (const name of claimList(client.timezone)) {
    const z = lookupZone(name);
    if (z.kind === 'invalid' || zones.includes(z.zone.canonical)) continue;
    if (zones.length >= MAX_OBSERVED_ZONES) {
      timezonesTruncated = true;
      break;
    }
    zones.push(z.zone.canonical);
  }
  const devices: string[] = [];
  let devicesTruncated = false;
  for (const d of claimList(client.deviceId)) {
    const id = d.trim();
    // A blank device id names no device.
    if (id === '' || devices.includes(id)) continue;
    if (devices.length >= MAX_OBSERVED_DEVICES) {
      devicesTruncated = true;
      break;
    }
    devices.push(id);
  }
  const evidence: RestrictedEvidence[] = [];
  const ipCountry = view.country ?? null;
  const tz = tzEvidence(signals.TZ_RESTRICTED, ipCountry);
  if (tz) evidence.push(tz);
  if (view.region !== undefined && restricted.regions.has(view.region)) evidence.push({ kind: 'ip', key: view.region, places: [view.region], strength: 1, ipCountry });
  else if (view.country !== undefined && restricted.countries.has(view.country)) evidence.push({ kind: 'ip', key: view.country, places: [view.country], strength: 1, ipCountry });
  const noClientTime =
    claimList(client.timezone).length === 0 && claimList(client.utcOffsetMinutes).length === 0 && claimList(client.clock).length === 0 && claimList(client.acceptLanguage).length === 0;
  const located = typeof geo.latitude === 'number' && typeof geo.longitude === 'number' && typeof geo.city === 'string' && geo.city !== '';
  return {
    at: now,
    // Canonical text, so that ::ffff:198.51.100.5 and 198.51.100.5 (or IPv6 in other cases) hash alike.
    ip: ip && formatIp(ip),
    network: ip && networkPrefix(ip),
    asn: geo.asn,
    country: view.country,
    location: located ? { lat: roundCoordinate(geo.latitude ?? 0), lon: roundCoordinate(geo.longitude ?? 0), country: view.country ?? null, city: geo.city ?? null } : undefined,
    timezones: zones,
    timezonesTruncated,
    devices,
    devicesTruncated,
    datacenter: signals.NETWORK_HOSTING.value === true || datacenterByIntel(view),
    bare: noClientTime && !isBrowserUserAgent(client.userAgent),
    restricted: evidence,
  };
}
