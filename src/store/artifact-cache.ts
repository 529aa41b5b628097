// One stored artifact cached per isolate (the policy today; lists, intel and account data next):
// the cache owns WHEN to load and what to answer meanwhile, an adapter owns WHAT a load is.
//
// Invariants, whatever the artifact:
// - One load at a time: concurrent callers share the load in flight. A load still running after
//   loadTimeoutMs is presumed lost (its request was cancelled) and a new one starts; each load has
//   a generation, and only the latest may change the cache, so a superseded load that lands late
//   is dropped (its adapter sees `current()` turn false and must change nothing of its own either).
// - Freshness: a healthy answer is fresh for ttlMs, a failed one for retryMs (then it is retried).
// - Stale-while-revalidate: a stale but usable answer is returned at once while the refresh runs,
//   up to maxStaleMs old. A cold cache, or one idle past maxStaleMs, waits at most loadBudgetMs;
//   a load that outlasts the budget is recorded as the adapter's typed timeout answer (so health
//   says so and the next callers answer at once) and replaced when it lands.
// - Never throws to callers: a load that throws (a bug) is logged and recorded as the adapter's
//   crash answer, retried like any failure.
// - Bounded memory: one answer, one load in flight, and background work until it settles.
//   Adapters bound what they remember themselves ({@link BoundedMemo}).
import { beforeDeadline, LATE } from './deadline';

/** Schedules work that may outlive the response (the Worker's `ctx.waitUntil`). */
export type WaitUntilLike = (promise: Promise<unknown>) => void;

/** What every caller of an {@link ArtifactCache} passes; adapters extend it with what their load needs. */
export interface CacheRequest {
  /** Schedules work that may outlive the response (the Worker's `ctx.waitUntil`); loads are handed to it. */
  readonly waitUntil?: WaitUntilLike | undefined;
}

/** What the cache tells a running load. */
export interface LoadContext {
  /** False once a newer load superseded this one: the load must stop and return {@link SUPERSEDED}. */
  current(): boolean;
  /** Tracks work the load leaves running (e.g. a mirror write): handed to waitUntil, awaited by `settled()`. */
  background(work: Promise<void>): void;
}

/** What a load returns when it noticed it was superseded: the cache logs it and changes nothing. */
export const SUPERSEDED: unique symbol = Symbol('superseded');

/** The artifact-specific half of a cache: how to load, and what to answer on failure. */
export interface ArtifactAdapter<A, R extends CacheRequest> {
  /** Names the artifact in logs ("policy"). */
  readonly name: string;
  /**
   * Reads and checks the artifact, and returns the answer to serve (a fallback with a typed
   * failure when the artifact is unusable). Expected failures are answers; a throw is a bug.
   */
  load(request: R, context: LoadContext): Promise<A | typeof SUPERSEDED>;
  /** True when the answer carries no failure: fresh for ttlMs (a failed answer: retryMs). */
  healthy(answer: A): boolean;
  /** True when a stale answer may keep answering while a refresh runs (stale-while-revalidate). */
  usable(answer: A): boolean;
  /** The answer once a load outlasted the budget, given what the cache held (undefined when cold). */
  timedOut(previous: A | undefined, request: R): A;
  /** The answer once a load threw (a bug), given what the cache held. */
  crashed(previous: A | undefined, request: R): A;
}

/** Knobs of an {@link ArtifactCache}. */
export interface ArtifactCacheOptions<A, R extends CacheRequest> {
  /** How to load the artifact and answer its failures. */
  adapter: ArtifactAdapter<A, R>;
  /** How long a healthy answer is fresh: at most one load per TTL. */
  ttlMs: number;
  /** How soon a failed answer is retried. */
  retryMs: number;
  /** Past this age a caller waits for the refresh (up to loadBudgetMs) instead of not at all. */
  maxStaleMs: number;
  /** Longest a caller waits for a load; past it, it answers with what the cache has. */
  loadBudgetMs: number;
  /** A load still running after this long is presumed lost and restarted (its result dropped). */
  loadTimeoutMs: number;
  /** Where unexpected failures and dropped loads are reported (Workers logs). */
  log: (message: string) => void;
  /** The clock, for when a load starts and lands (tests inject one). */
  clock: () => number;
}

/** Resolves true when `p` settles within `ms`, false otherwise (never rejects). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return (await beforeDeadline(p.then(() => true, () => true), ms)) !== LATE;
}

/**
 * A per-isolate cache of one stored artifact: coalesced loads, stale-while-revalidate, a bounded
 * wait, typed failures (from the adapter) and tracked background work.
 *
 * @example
 * const cache = new ArtifactCache<Answer, Req>({ adapter, ttlMs: 30_000, retryMs: 5_000,
 *   maxStaleMs: 300_000, loadBudgetMs: 1_500, loadTimeoutMs: 10_000, log: console.error, clock: Date.now });
 * const answer = await cache.get(Date.now(), { waitUntil: (p) => ctx.waitUntil(p), ...req });
 */
export class ArtifactCache<A, R extends CacheRequest> {
  readonly #o: ArtifactCacheOptions<A, R>;
  #answer: A | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #failureSince: number | undefined;
  #loading: Promise<void> | undefined;
  #loadingSince = 0;
  /** Counts loads started; only the latest may change the cache. */
  #generation = 0;
  /** Counts `invalidate` calls; a load started before the latest one is not reused. */
  #invalidations = 0;
  #loadingInvalidations = 0;
  /** Background work (started by loads) not yet settled. */
  readonly #work = new Set<Promise<void>>();

  constructor(options: ArtifactCacheOptions<A, R>) {
    this.#o = options;
  }

  /** The answer held, or undefined before the first load landed (or after `reset`). */
  get answer(): A | undefined {
    return this.#answer;
  }

  /** Epoch ms since when the answers held have been failures; undefined while healthy. */
  get failureSince(): number | undefined {
    return this.#failureSince;
  }

  /**
   * The answer for a caller at `now` (epoch ms). Never throws. A fresh answer is returned at
   * once; a stale usable one too, while a refresh runs in the background (coalesced with any
   * other); a cold cache, or one idle past maxStaleMs, waits for the load at most loadBudgetMs.
   */
  async get(now: number, request: R): Promise<A> {
    const answer = this.#answer;
    const age = now - this.#checkedAt;
    if (answer !== undefined && age < this.#freshFor(answer)) return answer;
    const inFlight = this.#loading;
    const overBudget = this.#o.clock() - this.#loadingSince >= this.#o.loadBudgetMs;
    const load = this.#startLoad(request);
    // A usable answer answers while the refresh runs. Otherwise wait for the load, at most the
    // budget, unless the load in flight has already outlasted it (it said so: no new stall).
    if (answer !== undefined && this.#o.adapter.usable(answer) && age < this.#o.maxStaleMs) return answer;
    if (answer !== undefined && load === inFlight && overBudget) return answer;
    if (!(await within(load, this.#o.loadBudgetMs))) this.#timedOut(request);
    return this.#answer ?? this.#o.adapter.timedOut(undefined, request);
  }

  /**
   * The answer held, without waiting on a refresh (for health checks). A stale answer triggers a
   * background refresh; a cold cache starts its first load and waits for it at most the budget.
   */
  async peek(now: number, request: R): Promise<A | undefined> {
    const answer = this.#answer;
    if (answer === undefined) {
      if (!(await within(this.#startLoad(request), this.#o.loadBudgetMs))) this.#timedOut(request);
    } else if (now - this.#checkedAt >= this.#freshFor(answer)) {
      void this.#startLoad(request);
    }
    return this.#answer;
  }

  /**
   * Makes the next `get` load again, keeping the answer held meanwhile. A load already in flight
   * read storage before the change that prompted this (an admin write), so it is not reused: the
   * next `get` starts a new one, which supersedes it.
   */
  invalidate(): void {
    this.#checkedAt = Number.NEGATIVE_INFINITY;
    this.#invalidations++;
  }

  /** Forgets the answer and the load in flight (which, should it land, is superseded by the next). */
  reset(): void {
    this.#answer = this.#loading = this.#failureSince = undefined;
    this.#checkedAt = Number.NEGATIVE_INFINITY;
  }

  /** Settles when the load in flight and the background work, if any, have finished (tests). */
  async settled(): Promise<void> {
    await this.#loading;
    await Promise.all([...this.#work]);
  }

  #freshFor(answer: A): number {
    return this.#o.adapter.healthy(answer) ? this.#o.ttlMs : this.#o.retryMs;
  }

  /** Records an answer as checked now; a failed one keeps the time the failures began. */
  #record(answer: A): void {
    this.#answer = answer;
    this.#checkedAt = this.#o.clock();
    this.#failureSince = this.#o.adapter.healthy(answer) ? undefined : (this.#failureSince ?? this.#o.clock());
  }

  /**
   * A load outlasted the budget: record the adapter's timeout answer, so that health reports it
   * and the next callers answer at once (the load goes on and replaces it when it lands).
   */
  #timedOut(request: R): void {
    this.#record(this.#o.adapter.timedOut(this.#answer, request));
  }

  #startLoad(request: R): Promise<void> {
    const started = this.#o.clock();
    if (this.#loading && started - this.#loadingSince < this.#o.loadTimeoutMs && this.#loadingInvalidations === this.#invalidations) return this.#loading;
    this.#loadingSince = started;
    this.#loadingInvalidations = this.#invalidations;
    const generation = ++this.#generation;
    const tracked = this.#run(request, generation).finally(() => {
      if (this.#loading === tracked) this.#loading = undefined;
    });
    this.#loading = tracked;
    request.waitUntil?.(tracked);
    return tracked;
  }

  async #run(request: R, generation: number): Promise<void> {
    const current = () => generation === this.#generation;
    const context: LoadContext = {
      current,
      background: (work) => {
        const tracked = work.finally(() => this.#work.delete(tracked));
        this.#work.add(tracked);
        request.waitUntil?.(tracked);
      },
    };
    let answer: A | typeof SUPERSEDED;
    try {
      answer = await this.#o.adapter.load(request, context);
    } catch (e) {
      // A bug, not a storage failure. Say so in the logs, and record it like any failed load so
      // that callers and health see a failure, and the retry waits retryMs.
      this.#o.log(`geogate: ${this.#o.adapter.name} load failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
      if (current()) this.#record(this.#o.adapter.crashed(this.#answer, request));
      return;
    }
    if (answer === SUPERSEDED || !current()) {
      this.#o.log(`geogate: a ${this.#o.adapter.name} load outlived its timeout and was superseded; its result is dropped`);
      return;
    }
    this.#record(answer);
  }
}

/**
 * A map that holds at most `max` entries: when full, it forgets them all (a few recomputations,
 * never unbounded memory). For what adapters remember per isolate, e.g. texts rejected by digest.
 */
export class BoundedMemo<V> {
  readonly #max: number;
  readonly #entries = new Map<string, V>();

  /** @param max How many entries are held at most. */
  constructor(max: number) {
    this.#max = max;
  }

  /** The entry for `key`, if held. */
  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  /** Holds `value` under `key`, forgetting everything first when full. */
  set(key: string, value: V): void {
    if (this.#entries.size >= this.#max) this.#entries.clear();
    this.#entries.set(key, value);
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries.clear();
  }

  /** How many entries are held. */
  get size(): number {
    return this.#entries.size;
  }
}
