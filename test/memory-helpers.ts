// Builders of account memory summaries for the engine-level memory tests (the objects that keep
// them are exercised through the Worker in test/integration/memory*.test.ts).
import type { AccountHistory, DistinctSeen } from '../src/engine/history';
import { NOW } from './helpers';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Distinct values all seen at `at` (a minute before NOW unless given). */
export function seen(keys: readonly string[], at = NOW - MINUTE): DistinctSeen {
  return { count: keys.length, items: keys.map((key) => ({ key, firstSeen: at, lastSeen: at, count: 1 })) };
}

/** An account summary as of a minute before NOW: a quiet US account on one network, unless overridden. */
export function accountHistory(over: Partial<AccountHistory> = {}): AccountHistory {
  return {
    kind: 'account',
    asOf: NOW - MINUTE,
    windowMs: 10 * MINUTE,
    events: 3,
    firstSeen: NOW - 5 * MINUTE,
    lastSeen: NOW - MINUTE,
    networks: seen(['203.0.113.0/24']),
    asns: seen(['7922']),
    countries: seen(['US']),
    timezones: seen([]),
    ips: 1,
    devices: 1,
    signature: { windowMs: MINUTE, requests: 0, bare: 0, firstSeen: null, lastSeen: null },
    lastLocation: null,
    travel: null,
    restricted: [],
    truncated: false,
    ...over,
  };
}
