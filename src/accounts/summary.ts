// What a memory object's answer must look like before an isolate judges or caches it. The objects
// are this deployment's own code, but an answer crosses an RPC boundary: an object of another
// version (a gradual deploy, a rollback), a corrupted row, or a bug can answer anything, and a
// summary the engine cannot read would fail the check (a 500) and, once cached, every check of the
// account for cacheTtlSeconds. An unreadable answer is a memory failure like an object that threw:
// never cached, never judged, reported on /healthz (docs/faults.md).
//
// Bounds as well as types: each dimension lists at most SUMMARY_ITEMS values and an account keeps
// at most MARK_CAP marks of each kind, so an oversized answer is refused instead of being walked.
import { MARK_CAP, SUMMARY_ITEMS, type AccountHistory, type OrgHistory } from '../engine/history';

/** Marks an account's summary lists: MARK_CAP of each kind, `tz` and `ip`. */
const MAX_MARKS = 2 * MARK_CAP;

/** Restricted accounts an organisation's summary names (org-activity.ts keeps 20; room for a later version). */
const MAX_SAMPLE = 64;

type Rec = Record<string, unknown>;

const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isInstant = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInstantOrNull = (v: unknown): boolean => v === null || isInstant(v);
const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isStrings = (v: unknown, max: number): boolean => Array.isArray(v) && v.length <= max && v.every((s) => typeof s === 'string');

function isDistinct(v: unknown): boolean {
  return (
    isRecord(v) &&
    isCount(v.count) &&
    Array.isArray(v.items) &&
    v.items.length <= SUMMARY_ITEMS &&
    v.items.every((i) => isRecord(i) && typeof i.key === 'string' && isInstant(i.firstSeen) && isInstant(i.lastSeen) && isCount(i.count))
  );
}

function isLocated(v: unknown): boolean {
  return isRecord(v) && isInstant(v.at) && isInstant(v.lat) && isInstant(v.lon) && isStringOrNull(v.country) && isStringOrNull(v.city);
}

function isMark(v: unknown): boolean {
  return (
    isRecord(v) &&
    (v.kind === 'tz' || v.kind === 'ip') &&
    typeof v.key === 'string' &&
    isStrings(v.places, 512) &&
    typeof v.strength === 'number' &&
    v.strength >= 0 &&
    v.strength <= 1 &&
    isStringOrNull(v.ipCountry) &&
    isInstant(v.firstSeen) &&
    isInstant(v.lastSeen) &&
    isCount(v.count)
  );
}

/** `v` when it is an account summary the engine can judge, else undefined. */
export function readAccountHistory(v: unknown): AccountHistory | undefined {
  if (!isRecord(v) || v.kind !== 'account') return undefined;
  const s = v.signature;
  const ok =
    isInstant(v.asOf) &&
    isCount(v.windowMs) &&
    isCount(v.events) &&
    isInstantOrNull(v.firstSeen) &&
    isInstantOrNull(v.lastSeen) &&
    isDistinct(v.networks) &&
    isDistinct(v.asns) &&
    isDistinct(v.countries) &&
    isDistinct(v.timezones) &&
    isCount(v.ips) &&
    isCount(v.devices) &&
    isRecord(s) &&
    isCount(s.windowMs) &&
    isCount(s.requests) &&
    isCount(s.bare) &&
    isInstantOrNull(s.firstSeen) &&
    isInstantOrNull(s.lastSeen) &&
    (v.lastLocation === null || isLocated(v.lastLocation)) &&
    (v.travel === null || (isRecord(v.travel) && isLocated(v.travel.from) && isLocated(v.travel.to) && isCount(v.travel.km) && isCount(v.travel.kmh))) &&
    Array.isArray(v.restricted) &&
    v.restricted.length <= MAX_MARKS &&
    v.restricted.every(isMark) &&
    typeof v.truncated === 'boolean';
  return ok ? (v as unknown as AccountHistory) : undefined;
}

/** `v` when it is an organisation summary the engine can judge, else undefined. */
export function readOrgHistory(v: unknown): OrgHistory | undefined {
  if (!isRecord(v) || v.kind !== 'org') return undefined;
  const ok =
    isInstant(v.asOf) &&
    isCount(v.windowMs) &&
    isCount(v.activeAccounts) &&
    isCount(v.restrictedAccounts) &&
    v.restrictedAccounts <= v.activeAccounts &&
    isStrings(v.restrictedSample, MAX_SAMPLE) &&
    typeof v.truncated === 'boolean';
  return ok ? (v as unknown as OrgHistory) : undefined;
}
