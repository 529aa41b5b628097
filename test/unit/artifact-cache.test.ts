// The generic ArtifactCache with a tiny artifact (a number stored as text) over an in-memory
// TextStore that injects faults (throwing, slow, held and corrupt reads): coalescing,
// stale-while-revalidate, the load budget, superseded loads, last-known-good, crashes, memory.
import { describe, expect, it } from 'vitest';
import {
  ArtifactCache,
  BoundedMemo,
  SUPERSEDED,
  type ArtifactAdapter,
  type CacheRequest,
  type LoadContext,
} from '../../src/store/artifact-cache';
import type { TextRead, TextStore } from '../../src/store/text-store';

const KEY = 'n';
const TTL = 30_000;
const RETRY = 5_000;
const MAX_STALE = 300_000;
const BUDGET = 50;
const LOAD_TIMEOUT = 10_000;
const T0 = Date.parse('2026-11-26T12:00:00Z');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An in-memory TextStore of a few keys: counts reads, and injects faults. */
function memoryStore(initial?: string) {
  const texts = new Map<string, string>(initial === undefined ? [] : [[KEY, initial]]);
  const faults: { fail?: Error; delayMs?: number } = {};
  /** One-shot outcomes for the next reads, in order (to hold a read, or make it throw later). */
  const next: Promise<TextRead>[] = [];
  let reads = 0;
  const store: TextStore = {
    async read(key) {
      reads++;
      const once = next.shift();
      if (once) return once;
      if (faults.fail) throw faults.fail;
      const text = texts.get(key);
      if (faults.delayMs) await sleep(faults.delayMs);
      return text === undefined ? { kind: 'absent' } : { kind: 'text', text };
    },
    write(key, text) {
      texts.set(key, text);
      return Promise.resolve();
    },
    metadata: () => Promise.resolve(undefined),
  };
  /** The next read waits until `settle` is called with its outcome (a text, or an error to throw). */
  const hold = () => {
    let settle!: (outcome: string | Error) => void;
    next.push(
      new Promise<TextRead>((resolve, reject) => {
        settle = (o) => (o instanceof Error ? reject(o) : resolve({ kind: 'text', text: o }));
      }),
    );
    return (outcome: string | Error) => settle(outcome);
  };
  return { store, texts, faults, hold, reads: () => reads };
}

/** The tiny artifact's answer: a number, possibly a fallback with a typed failure, or none at all. */
type Failure = 'storage-unavailable' | 'invalid' | 'missing' | 'timeout' | 'internal';
type NumberAnswer =
  | { readonly kind: 'value'; readonly value: number; readonly failure?: Failure }
  | { readonly kind: 'none'; readonly failure: Failure };

interface NumberRequest extends CacheRequest {
  readonly store: TextStore;
}

/** The number's adapter: parse, keep the last good value on failure, mirror it in the background. */
function numberAdapter(hooks: { crash?: boolean; afterLoad?: (ctx: LoadContext) => void } = {}) {
  let good: number | undefined;
  const fallBack = (failure: Failure): NumberAnswer =>
    good === undefined ? { kind: 'none', failure } : { kind: 'value', value: good, failure };
  const mark = (previous: NumberAnswer | undefined, failure: Failure): NumberAnswer =>
    previous?.kind === 'value' ? { kind: 'value', value: previous.value, failure } : { kind: 'none', failure };
  const adapter: ArtifactAdapter<NumberAnswer, NumberRequest> = {
    name: 'number',
    async load({ store }, context) {
      if (hooks.crash) throw new Error('bug');
      let read: TextRead;
      try {
        read = await store.read(KEY, 100);
      } catch {
        // No `current()` check here: the cache itself must drop a superseded load's answer.
        return fallBack('storage-unavailable');
      }
      if (!context.current()) return SUPERSEDED;
      if (read.kind !== 'text') return fallBack(read.kind === 'absent' ? 'missing' : 'invalid');
      const value = Number(read.text);
      if (read.text.trim() === '' || !Number.isFinite(value)) return fallBack('invalid');
      good = value;
      hooks.afterLoad?.(context);
      return { kind: 'value', value };
    },
    healthy: (a) => a.failure === undefined,
    usable: (a) => a.kind === 'value',
    timedOut: (previous) => (previous?.kind === 'none' ? previous : mark(previous, 'timeout')),
    crashed: (previous) => mark(previous, 'internal'),
  };
  return adapter;
}

function newCache(adapter = numberAdapter()) {
  let now = T0;
  const logs: string[] = [];
  const cache = new ArtifactCache<NumberAnswer, NumberRequest>({
    adapter,
    ttlMs: TTL,
    retryMs: RETRY,
    maxStaleMs: MAX_STALE,
    loadBudgetMs: BUDGET,
    loadTimeoutMs: LOAD_TIMEOUT,
    log: (m) => logs.push(m),
    clock: () => now,
  });
  return { cache, logs, at: (t: number) => (now = t) };
}

/** A request over `store`, collecting what it hands to waitUntil. */
function request(store: TextStore) {
  const pending: Promise<unknown>[] = [];
  return { store, waitUntil: (p: Promise<unknown>) => void pending.push(p), pending };
}

describe('one load at a time', () => {
  it('coalesces N concurrent cold gets into one read, and all get its answer', async () => {
    const mem = memoryStore('42');
    mem.faults.delayMs = 10;
    const { cache } = newCache();
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.get(T0, request(mem.store))));
    expect(mem.reads()).toBe(1);
    for (const a of answers) expect(a).toEqual({ kind: 'value', value: 42 });
  });

  it('reads at most once per TTL, and again after it', async () => {
    const mem = memoryStore('1');
    const { cache, at } = newCache();
    await cache.get(T0, request(mem.store));
    await cache.get(T0 + TTL - 1, request(mem.store));
    expect(mem.reads()).toBe(1);
    at(T0 + TTL);
    await cache.get(T0 + TTL, request(mem.store));
    await cache.settled();
    expect(mem.reads()).toBe(2);
  });

  it('hands each load, and the background work it starts, to waitUntil; settled() awaits both', async () => {
    let finished = false;
    const mem = memoryStore('1');
    const { cache } = newCache(
      numberAdapter({ afterLoad: (ctx) => ctx.background(sleep(20).then(() => void (finished = true))) }),
    );
    const r = request(mem.store);
    await cache.get(T0, r);
    expect(r.pending).toHaveLength(2);
    expect(finished).toBe(false);
    await cache.settled();
    expect(finished).toBe(true);
  });
});

describe('stale-while-revalidate', () => {
  it('answers a stale value at once while the refresh runs, then serves the refreshed one', async () => {
    const mem = memoryStore('1');
    const { cache, at } = newCache();
    await cache.get(T0, request(mem.store));
    mem.texts.set(KEY, '2');
    mem.faults.delayMs = 300;
    at(T0 + TTL);
    const started = Date.now();
    expect(await cache.get(T0 + TTL, request(mem.store))).toEqual({ kind: 'value', value: 1 });
    expect(Date.now() - started).toBeLessThan(BUDGET);
    await cache.settled();
    expect(await cache.get(T0 + TTL + 1, request(mem.store))).toEqual({ kind: 'value', value: 2 });
    expect(mem.reads()).toBe(2);
  });

  it('past maxStale a caller waits for the refresh (within the budget) instead', async () => {
    const mem = memoryStore('1');
    const { cache, at } = newCache();
    await cache.get(T0, request(mem.store));
    mem.texts.set(KEY, '2');
    at(T0 + MAX_STALE);
    expect(await cache.get(T0 + MAX_STALE, request(mem.store))).toEqual({ kind: 'value', value: 2 });
  });

  it('peek never waits on a warm refresh, but starts it', async () => {
    const mem = memoryStore('1');
    const { cache, at } = newCache();
    expect(await cache.peek(T0, request(mem.store))).toEqual({ kind: 'value', value: 1 });
    mem.texts.set(KEY, '2');
    mem.faults.delayMs = 300;
    at(T0 + MAX_STALE);
    const started = Date.now();
    expect(await cache.peek(T0 + MAX_STALE, request(mem.store))).toEqual({ kind: 'value', value: 1 });
    expect(Date.now() - started).toBeLessThan(BUDGET);
    await cache.settled();
    expect(cache.answer).toEqual({ kind: 'value', value: 2 });
  });
});

describe('the load budget', () => {
  it('a slow cold load answers a typed timeout within the budget, then recovers when it lands', async () => {
    const mem = memoryStore('7');
    mem.faults.delayMs = BUDGET + 300;
    const { cache } = newCache();
    const started = Date.now();
    expect(await cache.get(T0, request(mem.store))).toEqual({ kind: 'none', failure: 'timeout' });
    expect(Date.now() - started).toBeLessThan(BUDGET + 250);
    // Recorded: the next callers answer at once, and the failure has a start time.
    expect(cache.answer).toEqual({ kind: 'none', failure: 'timeout' });
    expect(cache.failureSince).toBe(T0);
    const again = Date.now();
    expect(await cache.get(T0 + 1, request(mem.store))).toEqual({ kind: 'none', failure: 'timeout' });
    expect(Date.now() - again).toBeLessThan(BUDGET);
    await cache.settled();
    expect(await cache.get(T0 + 2, request(mem.store))).toEqual({ kind: 'value', value: 7 });
    expect(cache.failureSince).toBeUndefined();
    expect(mem.reads()).toBe(1);
  });

  it('a warm cache past maxStale whose refresh is slow keeps its value, marked as timed out', async () => {
    const mem = memoryStore('1');
    const { cache, at } = newCache();
    await cache.get(T0, request(mem.store));
    mem.faults.delayMs = BUDGET + 300;
    at(T0 + MAX_STALE);
    expect(await cache.get(T0 + MAX_STALE, request(mem.store))).toEqual({ kind: 'value', value: 1, failure: 'timeout' });
    await cache.settled();
    expect(cache.answer).toEqual({ kind: 'value', value: 1 });
  });
});

describe('superseded loads', () => {
  it('restarts a load presumed lost, and drops its result when it lands late', async () => {
    const mem = memoryStore('1');
    const { cache, logs, at } = newCache();
    const releaseLost = mem.hold();
    expect(await cache.get(T0, request(mem.store))).toEqual({ kind: 'none', failure: 'timeout' });
    // Within loadTimeoutMs the held load is still the one in flight: no second read.
    at(T0 + LOAD_TIMEOUT - 1);
    await cache.get(T0 + RETRY, request(mem.store));
    expect(mem.reads()).toBe(1);
    // Past it, a new load starts and lands with the newer text.
    mem.texts.set(KEY, '2');
    at(T0 + LOAD_TIMEOUT);
    expect(await cache.get(T0 + LOAD_TIMEOUT, request(mem.store))).toEqual({ kind: 'value', value: 2 });
    expect(mem.reads()).toBe(2);
    // The lost load lands with the older text: nothing changes.
    releaseLost('1');
    await cache.settled();
    await sleep(0);
    expect(cache.answer).toEqual({ kind: 'value', value: 2 });
    expect(logs.join('\n')).toMatch(/number load outlived its timeout and was superseded/);
  });

  it('drops a superseded load that fails too (it cannot mark the newer answer as failed)', async () => {
    const mem = memoryStore('1');
    const { cache, at } = newCache();
    const releaseLost = mem.hold();
    await cache.get(T0, request(mem.store));
    at(T0 + LOAD_TIMEOUT);
    expect(await cache.get(T0 + LOAD_TIMEOUT, request(mem.store))).toEqual({ kind: 'value', value: 1 });
    releaseLost(new Error('KV down'));
    await sleep(0);
    await cache.settled();
    expect(cache.answer).toEqual({ kind: 'value', value: 1 });
    expect(cache.failureSince).toBeUndefined();
  });

  it('a load started after reset supersedes the one in flight', async () => {
    const mem = memoryStore('1');
    const { cache } = newCache();
    const releaseOld = mem.hold();
    await cache.get(T0, request(mem.store));
    cache.reset();
    expect(cache.answer).toBeUndefined();
    mem.texts.set(KEY, '3');
    expect(await cache.get(T0, request(mem.store))).toEqual({ kind: 'value', value: 3 });
    releaseOld('1');
    await sleep(0);
    expect(cache.answer).toEqual({ kind: 'value', value: 3 });
  });
});

describe('failures', () => {
  it.each<[string, (mem: ReturnType<typeof memoryStore>) => void, Failure]>([
    ['storage throws', (mem) => (mem.faults.fail = new Error('KV down')), 'storage-unavailable'],
    ['the text is corrupt', (mem) => mem.texts.set(KEY, '4x'), 'invalid'],
    ['the text is gone', (mem) => mem.texts.delete(KEY), 'missing'],
  ])('keeps the last known good value when %s, retries after retryMs, and recovers', async (_name, fault, failure) => {
    const mem = memoryStore('1');
    const { cache, at } = newCache();
    await cache.get(T0, request(mem.store));
    fault(mem);
    at(T0 + MAX_STALE);
    expect(await cache.get(T0 + MAX_STALE, request(mem.store))).toEqual({ kind: 'value', value: 1, failure });
    expect(cache.failureSince).toBe(T0 + MAX_STALE);
    // A failed answer is fresh for retryMs only.
    await cache.get(T0 + MAX_STALE + RETRY - 1, request(mem.store));
    expect(mem.reads()).toBe(2);
    delete mem.faults.fail;
    mem.texts.set(KEY, '5');
    at(T0 + MAX_STALE + RETRY);
    await cache.get(T0 + MAX_STALE + RETRY, request(mem.store));
    await cache.settled();
    expect(await cache.get(T0 + MAX_STALE + RETRY + 1, request(mem.store))).toEqual({ kind: 'value', value: 5 });
    expect(mem.reads()).toBe(3);
    expect(cache.failureSince).toBeUndefined();
  });

  it('a cold cache whose first load fails answers the typed failure, not a value', async () => {
    const mem = memoryStore('not a number');
    const { cache } = newCache();
    expect(await cache.get(T0, request(mem.store))).toEqual({ kind: 'none', failure: 'invalid' });
  });

  it('a load that throws (a bug) never throws to callers: it is logged and recorded as the crash answer', async () => {
    const mem = memoryStore('1');
    const { cache, logs } = newCache(numberAdapter({ crash: true }));
    expect(await cache.get(T0, request(mem.store))).toEqual({ kind: 'none', failure: 'internal' });
    expect(logs).toEqual(['geogate: number load failed unexpectedly: bug']);
    expect(cache.failureSince).toBe(T0);
  });

  it('invalidate keeps the answer, and makes the next get load again and wait for it (as past maxStale)', async () => {
    const mem = memoryStore('1');
    const { cache } = newCache();
    await cache.get(T0, request(mem.store));
    mem.texts.set(KEY, '2');
    cache.invalidate();
    expect(cache.answer).toEqual({ kind: 'value', value: 1 });
    expect(await cache.get(T0 + 1, request(mem.store))).toEqual({ kind: 'value', value: 2 });
    expect(mem.reads()).toBe(2);
  });
});

describe('BoundedMemo', () => {
  it('holds at most max entries, forgetting all when full', () => {
    const memo = new BoundedMemo<number>(3);
    for (const k of ['a', 'b', 'c']) memo.set(k, 1);
    expect(memo.size).toBe(3);
    memo.set('d', 4);
    expect(memo.size).toBe(1);
    expect(memo.get('a')).toBeUndefined();
    expect(memo.get('d')).toBe(4);
  });
});
