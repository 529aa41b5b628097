// The client's short-lived decision cache: geogate's answers kept for a few seconds, keyed by
// every fact of the check request (everything but `requestId`), so that a busy origin does not pay
// a round trip per request for the same user. Invariant: a hit only ever serves a decision geogate
// computed for exactly the same facts; a request that differs in any field, any claim or any
// claim's order is a miss. No I/O; the clock is passed in.
import type { CheckRequest, DecisionBody } from './wire';

/** Longest TTL accepted: past a minute, policy and account changes would wait too long to be seen. */
export const MAX_CACHE_TTL_MS = 60_000;

/** Default TTL when the cache is on. */
export const DEFAULT_CACHE_TTL_MS = 5_000;

/** Default bound on entries when the cache is on. */
export const DEFAULT_CACHE_ENTRIES = 10_000;

/**
 * Longest key cached (characters of canonical JSON). A larger request (long claim lists) is sent
 * every time: this bounds the cache's memory at `maxEntries` times a few KB.
 */
export const MAX_CACHE_KEY_LENGTH = 4_096;

/**
 * Options of the decision cache (off unless given).
 * @param ttlMs - How long a decision is served from memory, in ms; 1 to 60,000. Default 5,000.
 * @param maxEntries - How many decisions are kept; the least recently used goes first. Default 10,000.
 * @example
 * new GeogateClient({ baseUrl, token, cache: { ttlMs: 10_000, maxEntries: 50_000 } })
 */
export interface DecisionCacheOptions {
  /** @default 5000 */
  ttlMs?: number;
  /** @default 10000 */
  maxEntries?: number;
}

/** A decision served from the cache: a fresh copy of the body and how old it is. */
export interface CacheHit {
  body: DecisionBody;
  ageMs: number;
}

interface Entry {
  /** The body as geogate sent it; parsed on each hit so that callers get a copy they may change. */
  text: string;
  storedAt: number;
}

/**
 * The cache key of a check request: its canonical JSON (object keys sorted at every depth,
 * arrays in order) without `requestId`, or undefined when too long to cache. Built from the same
 * JSON serialisation as the body sent, so two requests share a key exactly when geogate would
 * receive the same facts.
 * @example
 * cacheKey({ ip: '203.0.113.9', geo: { country: 'US', city: 'Austin' } }) ===
 *   cacheKey({ geo: { city: 'Austin', country: 'US' }, ip: '203.0.113.9', requestId: 'r-2' }) // true
 */
export function cacheKey(request: CheckRequest): string | undefined {
  // `requestId` names the call, not the user: it is the only field that cannot change a decision.
  const facts: CheckRequest = { ...request };
  delete facts.requestId;
  const key = JSON.stringify(facts, sortKeys);
  return key.length > MAX_CACHE_KEY_LENGTH ? undefined : key;
}

/**
 * JSON.stringify replacer: plain objects re-made with their keys in sorted order. The copy has no
 * prototype, so that an own "__proto__" member (JSON.parse makes one) stays a member of the key,
 * as it is of the body sent, instead of setting the copy's prototype and vanishing from the key.
 */
function sortKeys(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const sorted = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(record).sort()) sorted[k] = record[k];
  return sorted;
}

/**
 * Whether geogate's answer may be served again to the same facts: only a decision the operator's
 * current policy took with every input it wanted. Not `failed` (a fallback or geogate's own fail
 * mode), not on fallback intel, not with the account memory missing (its signals undetermined),
 * and not a challenge: a challenge carries a ticket signed for one request, with its own expiry.
 */
export function isCacheable(body: DecisionBody): boolean {
  if (body.failed || body.intel.failed || body.decision === 'challenge') return false;
  const memory = body.memory;
  if (memory === undefined) return true;
  return isComplete(memory.account) && isComplete(memory.org);
}

/** A memory side that was read (or is not wanted); `cold`, `timeout` and `unavailable` were not. */
function isComplete(status: string): boolean {
  return status === 'object' || status === 'cache' || status === 'none' || status === 'off';
}

/**
 * A TTL-bounded LRU of decision bodies by {@link cacheKey}. Entries expire `ttlMs` after they were
 * stored (a hit does not extend them); past `maxEntries` the least recently used is dropped.
 */
export class DecisionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  /** Options are validated by the client; `now` is the clock in ms. */
  constructor(ttlMs: number, maxEntries: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  /** The decision stored under `key` if still fresh; marks it recently used. */
  get(key: string): CacheHit | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const ageMs = this.#now() - entry.storedAt;
    // A clock that went backwards (an injected one, a VM resumed) counts as expired too.
    if (ageMs >= this.#ttlMs || ageMs < 0) {
      this.#entries.delete(key);
      return undefined;
    }
    // Map keeps insertion order: re-inserting makes this entry the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return { body: JSON.parse(entry.text) as DecisionBody, ageMs };
  }

  /** Stores geogate's body text under `key`, dropping the least recently used past the bound. */
  set(key: string, text: string): void {
    this.#entries.delete(key);
    this.#entries.set(key, { text, storedAt: this.#now() });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }

  /** How many entries are held (expired ones included until touched or evicted). */
  get size(): number {
    return this.#entries.size;
  }
}
