// How a check consults the account and organisation memory without waiting on it.
//
// An object lives in one location, possibly 100+ ms from the edge running the check. So:
// - `async` (the default): the check judges the summary this isolate cached from the object's
//   last answer (a bounded LRU, entries trusted for the policy's cacheTtlSeconds), and records
//   itself in the background (ctx.waitUntil); the object's answer refreshes the cache. A first
//   check from a cold isolate has the memory signals `undetermined`.
// - `sync`: the check records itself and waits for the answer up to the policy's syncBudgetMs;
//   past it (or when the object fails) it judges the cached summary if one is fresh, else the
//   signals are `undetermined`. The late answer still refreshes the cache.
// Never throws and never blocks past the budget: memory can only add signals, so an unreachable
// object costs detection, never a request.
import type { CompiledPolicy } from '../engine/compile';
import { evidencedPlaces } from '../engine/detectors/history';
import type { PreparedCheck } from '../engine/evaluate';
import {
  type AccountHistory,
  type AccountObservation,
  type HistoryMode,
  type MemoryFacts,
  type MemoryWindows,
  type OrgHistory,
  type OrgObservation,
  type Remembered,
} from '../engine/history';
import { beforeDeadline, LATE } from '../store/deadline';
import { recentStatus, type RecentStatus } from '../store/recent-failures';
import type { WaitUntilLike } from '../store/policy-store';
import { readAccountHistory, readOrgHistory } from './summary';

/** Where the memory lives: the Durable Objects in production, a test double in tests. */
export interface MemoryStore {
  /** Records checks of account `id` (one, or a batch in order); answers the account's summary. */
  recordAccount(id: string, observations: readonly AccountObservation[], windows: MemoryWindows): Promise<AccountHistory>;
  /** Records checks of organisation `id`'s accounts; answers the organisation's summary. */
  recordOrg(id: string, observations: readonly OrgObservation[], windows: MemoryWindows): Promise<OrgHistory>;
}

/** The bindings of the memory objects. */
export interface MemoryBindings {
  readonly ACCOUNT_ACTIVITY: Env['ACCOUNT_ACTIVITY'];
  readonly ORG_ACTIVITY: Env['ORG_ACTIVITY'];
}

const STORES = new WeakMap<object, MemoryStore>();

/**
 * The memory on the deployment's Durable Objects (one per account id, one per organisation id);
 * one store per binding, so that background batches gather the checks of every request.
 */
export function durableMemoryStore(env: MemoryBindings): MemoryStore {
  let store = STORES.get(env.ACCOUNT_ACTIVITY);
  if (store === undefined) {
    store = {
      recordAccount: (id, observations, windows) => env.ACCOUNT_ACTIVITY.get(env.ACCOUNT_ACTIVITY.idFromName(id)).record(observations, windows),
      recordOrg: (id, observations, windows) => env.ORG_ACTIVITY.get(env.ORG_ACTIVITY.idFromName(id)).record(observations, windows),
    };
    STORES.set(env.ACCOUNT_ACTIVITY, store);
  }
  return store;
}

/** A bounded least-recently-used map whose entries expire. */
export class VerdictCache<T> {
  readonly #entries = new Map<string, { readonly value: T; readonly at: number }>();

  /** @param maxEntries Entries kept; the least recently used go first. */
  constructor(readonly maxEntries: number) {}

  /** The value stored under `key` less than `ttlMs` before `now`. */
  get(key: string, now: number, ttlMs: number): T | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (now - e.at >= ttlMs || now < e.at - ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    // Most recently used last: Map keeps insertion order.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.value;
  }

  /** The value stored under `key`, however old, without touching its recency. */
  peek(key: string): T | undefined {
    return this.#entries.get(key)?.value;
  }

  set(key: string, value: T, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, at: now });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** Summaries an isolate keeps: ~2-10 KB each, so at most a few tens of MB. */
export const MEMORY_CACHE_ENTRIES = 5000;

/** The isolate's cache of summaries, keyed `a:<account id>` and `o:<organisation id>`. */
export const memoryCache = new VerdictCache<AccountHistory | OrgHistory>(MEMORY_CACHE_ENTRIES);

/** How the check got each side of the memory. */
export type MemoryStatus =
  /** The check names no account (or no organisation). */
  | 'none'
  /** The policy turns memory off. */
  | 'off'
  /** The object answered in time (`sync`). */
  | 'object'
  /** The isolate's cached summary. */
  | 'cache'
  /** Nothing cached yet in this isolate (`async`). */
  | 'cold'
  /** The object did not answer within the budget and nothing fresh was cached (`sync`). */
  | 'timeout'
  /** The object failed and nothing fresh was cached (`sync`). */
  | 'unavailable';

/** What the decision body reports of the memory. */
export interface MemoryReport {
  readonly mode: HistoryMode;
  readonly account: MemoryStatus;
  readonly org: MemoryStatus;
}

/** Which memory objects: the accounts' (ACCOUNT_ACTIVITY) or the organisations' (ORG_ACTIVITY). */
export type MemorySide = 'account' | 'org';

/** The isolate's recent experience of the memory objects, for /healthz. */
export interface MemoryHealth {
  lastOk: number | undefined;
  /**
   * `failing`: the sides whose last call failed (no answer from that side's objects since). A
   * check names an account and an organisation, so with one binding down each check sees a
   * failure and a success: the other side's success must not hide the outage (/healthz said ok
   * while every account record failed). Kept on the failure record, so clearing it clears them.
   */
  lastFailure: { at: number; kind: 'timeout' | 'unavailable'; message: string; failing?: Set<MemorySide> } | undefined;
  failures: number;
}

/** This isolate's memory health (module state: one per isolate). */
export const memoryHealth: MemoryHealth = { lastOk: undefined, lastFailure: undefined, failures: 0 };

/** How long a failure keeps /healthz degraded when no success followed it. */
export const MEMORY_FAILURE_HOLD_MS = 5 * 60_000;

/**
 * The memory's health at `now` for /healthz (unauthenticated, so no error text): degraded while
 * the last answer was a failure, or a side has not answered since its failure, for at most
 * MEMORY_FAILURE_HOLD_MS.
 */
export function memoryStatus(now: number): RecentStatus<'timeout' | 'unavailable'> {
  return recentStatus(memoryHealth, now, MEMORY_FAILURE_HOLD_MS, (memoryHealth.lastFailure?.failing?.size ?? 0) > 0);
}

function noteFailure(kind: 'timeout' | 'unavailable', message: string, side: MemorySide): void {
  const failing = new Set(memoryHealth.lastFailure?.failing).add(side);
  memoryHealth.lastFailure = { at: Date.now(), kind, message, failing };
  memoryHealth.failures++;
}

/** Notes an answer from `side`'s objects: that side is no longer failing. */
function noteSuccess(side: MemorySide): void {
  memoryHealth.lastOk = Date.now();
  memoryHealth.lastFailure?.failing?.delete(side);
}

/** The restricted places an account's summary remembers location evidence for, within its window. */
function rememberedPlaces(h: AccountHistory | undefined, policy: CompiledPolicy, now: number): string[] {
  return h === undefined ? [] : evidencedPlaces(h.restricted, policy.timezone.restricted, now - policy.history.restrictedWindowMs);
}

/** Options of {@link consultMemory}. */
export interface ConsultOptions {
  /** Keeps background records alive after the response (ExecutionContext.waitUntil). */
  readonly waitUntil?: WaitUntilLike | undefined;
}

const COLD = { known: false, why: 'no memory of it is cached in this isolate yet (async mode)' } as const;

/** Runs `p` to completion in the background. */
function background(p: Promise<unknown>, waitUntil: WaitUntilLike | undefined): void {
  if (waitUntil) waitUntil(p);
  else void p;
}

/** How long an isolate gathers the checks it records in the background (async mode) before sending them. */
export const RECORD_BATCH_MS = 10;

/** The async checks of one store waiting to be recorded, and when their timer was set. */
interface Batch {
  checks: PreparedCheck[];
  readonly since: number;
}

/**
 * How long a background record may take: a hanging object must not hold its batch (and the
 * organisations waiting for its accounts) open until the platform cuts waitUntil off.
 */
export const BACKGROUND_RECORD_TIMEOUT_MS = 5000;

/** `p`, or a rejection once BACKGROUND_RECORD_TIMEOUT_MS passed. */
async function capped<T>(p: Promise<T>): Promise<T> {
  const r = await beforeDeadline(p, BACKGROUND_RECORD_TIMEOUT_MS);
  if (r === LATE) throw new RecordTimeout(`no answer within ${BACKGROUND_RECORD_TIMEOUT_MS} ms`);
  return r;
}

/** A background record given up at BACKGROUND_RECORD_TIMEOUT_MS: /healthz says `timeout`, not `unavailable`. */
class RecordTimeout extends Error {}

/**
 * A batch whose timer has not fired this long after it was set is presumed lost (the request that
 * set it was cancelled, and its timer with it): the next check opens another, which takes the
 * stranded checks along.
 */
export const STRANDED_BATCH_MS = 1000;

/**
 * The open batch of each store (a store is a deployment's bindings: one in production, so one
 * batch gathers the checks of every request; tests use several, and a test's checks never ride on
 * another test's batch).
 */
const batches = new Map<MemoryStore, Batch>();

/**
 * Refreshes the cache with an object's answer, or notes its failure; never rejects. An answer
 * that is not a summary this deployment can read (another version's, a corrupted one) is a
 * failure like a rejection: never cached, never judged. Answers can land out of order (two
 * batches, or a late sync answer, in flight for one object): a summary older than the one held
 * (its `asOf`, the newest check it counts) never replaces it.
 */
function remember<T extends AccountHistory | OrgHistory>(key: string, p: Promise<T>, at: number): Promise<T | Error> {
  // Keys are `a:<account id>` and `o:<organisation id>` (see memoryCache).
  const side: MemorySide = key.startsWith('o:') ? 'org' : 'account';
  return p.then(
    (answer) => {
      const h = (side === 'org' ? readOrgHistory(answer) : readAccountHistory(answer)) as T | undefined;
      if (h === undefined) {
        noteFailure('unavailable', 'the memory object answered a summary this deployment cannot read', side);
        return new Error('unreadable memory summary');
      }
      const held = memoryCache.peek(key);
      if (held === undefined || held.asOf <= h.asOf) memoryCache.set(key, h, at);
      noteSuccess(side);
      return h;
    },
    (e: unknown) => {
      noteFailure(e instanceof RecordTimeout ? 'timeout' : 'unavailable', e instanceof Error ? e.message.slice(0, 200) : 'error', side);
      return e instanceof Error ? e : new Error('memory object failed');
    },
  );
}

/** The places the organisation should count the check's account restricted for. */
function placesOf(check: PreparedCheck, account: AccountHistory | undefined): string[] {
  return [...new Set([...check.restrictedPlaces, ...rememberedPlaces(account, check.policy, check.now)])].sort();
}

/**
 * Sends the queued checks: one call per account with its checks in order, then, once the accounts
 * answered (their fresh memory says what the organisation should count), one call per organisation.
 */
async function flush(store: MemoryStore, batch: Batch): Promise<void> {
  if (batches.get(store) === batch) batches.delete(store);
  const queued = batch.checks;
  batch.checks = [];
  /** The batch's checks by id, in order. */
  const group = (field: 'id' | 'orgId') => {
    const byId = new Map<string, PreparedCheck[]>();
    for (const check of queued) {
      const id = check.view.facts.account[field];
      if (id === undefined) continue;
      let checks = byId.get(id);
      if (checks === undefined) byId.set(id, (checks = []));
      checks.push(check);
    }
    return [...byId].map(([id, checks]) => ({ id, checks }));
  };
  const accounts = new Map<string, AccountHistory>();
  await Promise.all(
    group('id').map(async ({ id, checks }) => {
      const last = checks[checks.length - 1] as PreparedCheck;
      const h = await remember(`a:${id}`, capped(safely(() => store.recordAccount(id, checks.map((c) => c.observation), last.policy.history.windows))), last.now);
      if (!(h instanceof Error)) accounts.set(id, h);
    }),
  );
  await Promise.all(
    group('orgId').map(async ({ id: orgId, checks }) => {
      const last = checks[checks.length - 1] as PreparedCheck;
      const observations = checks.map((c): OrgObservation => {
        const id = c.view.facts.account.id;
        const account = id === undefined ? undefined : (accounts.get(id) ?? (memoryCache.get(`a:${id}`, c.now, c.policy.history.cacheTtlMs) as AccountHistory | undefined));
        return { at: c.now, accountId: id, places: placesOf(c, account) };
      });
      await remember(`o:${orgId}`, capped(safely(() => store.recordOrg(orgId, observations, last.policy.history.windows))), last.now);
    }),
  );
}

/**
 * Queues an async check for the next flush (at most RECORD_BATCH_MS away). Per check this costs a
 * push: the timer and the RPCs are shared by every check of the batch, and happen after the
 * response (even starting an RPC costs ~0.1 ms of CPU), and a busy account's object gets one call
 * per batch instead of one per check.
 *
 * The request that opens a batch sets its timer, runs its flush and keeps itself alive for it
 * (waitUntil); the others only add their check. No request waits on, or attaches a continuation
 * to, a promise another request created: workerd binds a promise to the request that made it and
 * refuses to settle it once that request has ended ("A promise was resolved or rejected from a
 * different request context ..."), cancelling the continuation. Each request of a batch used to
 * waitUntil the batch's shared promise, which logged that warning under load (bench/README.md,
 * the load suite) whenever a joining request's context ended before the flush settled. The flush
 * runs in the opening request's context either way (its timer), so the joiners' waits kept nothing
 * alive that was not already.
 */
function enqueue(store: MemoryStore, check: PreparedCheck, waitUntil: WaitUntilLike | undefined): void {
  const now = Date.now();
  const open = batches.get(store);
  if (open !== undefined && now - open.since < STRANDED_BATCH_MS) {
    open.checks.push(check);
    return;
  }
  // A stranded batch's checks move to the new one (and leave the old: should its timer fire after
  // all, it finds nothing to send).
  const batch: Batch = { checks: [...(open?.checks ?? []), check], since: now };
  if (open !== undefined) open.checks = [];
  batches.set(store, batch);
  background(new Promise<void>((resolve) => setTimeout(resolve, RECORD_BATCH_MS)).then(() => flush(store, batch)), waitUntil);
}

/**
 * Records the check in its account's and organisation's memory and returns what the check may
 * judge, with how it got it. Never throws; waits at most the policy's budget (`sync`), else not at all.
 */
export async function consultMemory(store: MemoryStore, check: PreparedCheck, options: ConsultOptions = {}): Promise<{ memory: MemoryFacts; report: MemoryReport }> {
  const s = check.policy.history;
  const { id, orgId } = check.view.facts.account;
  if (s.mode === 'off') return { memory: {}, report: { mode: 'off', account: id === undefined ? 'none' : 'off', org: orgId === undefined ? 'none' : 'off' } };
  if (id === undefined && orgId === undefined) return { memory: {}, report: { mode: s.mode, account: 'none', org: 'none' } };
  const now = check.now;
  const windows = s.windows;
  const accountKey = id === undefined ? undefined : `a:${id}`;
  const orgKey = orgId === undefined ? undefined : `o:${orgId}`;
  const cachedAccount = accountKey === undefined ? undefined : (memoryCache.get(accountKey, now, s.cacheTtlMs) as AccountHistory | undefined);
  const cachedOrg = orgKey === undefined ? undefined : (memoryCache.get(orgKey, now, s.cacheTtlMs) as OrgHistory | undefined);

  if (s.mode === 'async') {
    enqueue(store, check, options.waitUntil);
    return {
      memory: {
        account: id === undefined ? undefined : cachedAccount ? { known: true, history: cachedAccount, from: 'cache' } : COLD,
        org: orgId === undefined ? undefined : cachedOrg ? { known: true, history: cachedOrg, from: 'cache' } : COLD,
      },
      report: { mode: 'async', account: id === undefined ? 'none' : cachedAccount ? 'cache' : 'cold', org: orgId === undefined ? 'none' : cachedOrg ? 'cache' : 'cold' },
    };
  }

  // sync: record now, both objects at once. The organisation counts the account restricted for the
  // places this check, or the account's cached memory, shows location evidence for.
  const places = orgId === undefined ? [] : placesOf(check, cachedAccount);
  const pending: { account?: Promise<AccountHistory | Error>; org?: Promise<OrgHistory | Error> } = {};
  if (orgId !== undefined && orgKey !== undefined) {
    pending.org = remember(orgKey, safely(() => store.recordOrg(orgId, [{ at: now, accountId: id, places }], windows)), now);
  }
  if (id !== undefined && accountKey !== undefined) {
    pending.account = remember(accountKey, safely(() => store.recordAccount(id, [check.observation], windows)), now).then((h) => {
      // The account's fresh answer remembers places the organisation was not told about (nothing
      // cached here): tell it, in the background.
      if (orgId !== undefined && orgKey !== undefined && !(h instanceof Error)) {
        const fresh = rememberedPlaces(h, check.policy, now).filter((p) => !places.includes(p));
        if (fresh.length > 0) background(remember(orgKey, safely(() => store.recordOrg(orgId, [{ at: now, accountId: id, places: [...places, ...fresh].sort() }], windows)), now), options.waitUntil);
      }
      return h;
    });
  }

  // sync: wait for both answers, together, at most the budget.
  const settle = async <T extends AccountHistory | OrgHistory>(p: Promise<T | Error> | undefined, cached: T | undefined, side: MemorySide): Promise<[Remembered<T> | undefined, MemoryStatus]> => {
    if (p === undefined) return [undefined, 'none'];
    const what = side === 'org' ? 'organisation' : 'account';
    const r = await beforeDeadline(p, s.syncBudgetMs);
    if (r === LATE) {
      background(p, options.waitUntil);
      noteFailure('timeout', `the ${what} memory did not answer within ${s.syncBudgetMs} ms`, side);
      return cached ? [{ known: true, history: cached, from: 'cache' }, 'cache'] : [{ known: false, why: `the ${what} memory did not answer within ${s.syncBudgetMs} ms`, failed: true }, 'timeout'];
    }
    if (r instanceof Error) return cached ? [{ known: true, history: cached, from: 'cache' }, 'cache'] : [{ known: false, why: `the ${what} memory is unavailable`, failed: true }, 'unavailable'];
    return [{ known: true, history: r, from: 'object' }, 'object'];
  };
  const [[account, accountStatus], [org, orgStatus]] = await Promise.all([settle(pending.account, cachedAccount, 'account'), settle(pending.org, cachedOrg, 'org')]);
  return { memory: { account, org }, report: { mode: 'sync', account: accountStatus, org: orgStatus } };
}

/** `f()`, with a synchronous throw turned into a rejection. */
function safely<T>(f: () => Promise<T>): Promise<T> {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
