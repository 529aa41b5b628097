// The network intel in force, per isolate, in front of a TextStore (Workers KV in production): the
// intel's adapter on an ArtifactCache (./artifact-cache.ts), like the policy's (./policy-store.ts).
//
// Storage: `intel:active` holds a small pointer naming a content-addressed artifact
// `intel:<sha256>` (src/engine/intel.ts; written by PUT /v1/intel). A load reads the pointer
// (one small read per TTL), and the artifact only when the pointer names another one; the
// artifact must hash to its id and decode with every check, or it is refused.
//
// Promise 1, for intel: the intel never goes missing and a broken one is never used.
// - Sources, in order: the artifact `intel:active` names; else the last good intel this isolate
//   holds, else the one `intel:last-good` names (a pointer an isolate wrote after checking its
//   artifact); else the intel bundled with the deployment. A deployment that never pushed intel
//   answers with the bundled copy, healthily.
// - Every fallback carries its failure: decisions say `intel.failed` and /healthz `degraded`.
// - Bounded: reads stop at the byte bound; a cold isolate waits at most the load budget.
import { BUNDLED_INTEL_ID } from '../engine/data/network-intel';
import { bundledIntel, decodeIntel, INTEL_SCHEMA, type NetworkIntel } from '../engine/intel';
import { ACTIVE_INTEL_KEY, intelKey, LAST_GOOD_INTEL_KEY } from '../policy/keys';
import { sha256Hex } from '../policy/snapshot';
import { ArtifactCache, SUPERSEDED, type ArtifactCacheOptions, type LoadContext, type WaitUntilLike } from './artifact-cache';
import type { TextRead, TextStore } from './text-store';

/** Where the intel answering a request came from. */
export type IntelSourceKind = 'kv' | 'bundled' | 'last-known-good';

/** Why the intel `intel:active` names is not the one answering. */
export type IntelFailureKind = 'unreadable' | 'timeout' | 'missing' | 'invalid-pointer' | 'missing-artifact' | 'corrupt' | 'invalid' | 'too-large' | 'internal';

/** A typed intel failure; `message` never carries stored text or storage internals. */
export interface IntelFailure {
  readonly kind: IntelFailureKind;
  readonly message: string;
}

/** The intel a request is decided with. */
export interface IntelAnswer {
  readonly intel: NetworkIntel;
  readonly source: IntelSourceKind;
  /** The artifact's id (SHA-256 of its text), BUNDLED_INTEL_ID for the bundled copy. */
  readonly id: string;
  /** Epoch ms when this intel was first loaded in this isolate. */
  readonly loadedAt: number;
  /** Set when this is a fallback: why the intel `intel:active` names is not answering. */
  readonly failure?: IntelFailure;
}

/** The intel's health, for /healthz. */
export interface IntelStatus {
  readonly status: 'ok' | 'degraded';
  readonly version: string;
  readonly source: IntelSourceKind;
  readonly id: string;
  readonly loadedAt: string;
  readonly blocks: number;
  readonly intervals: number;
  readonly asns: number;
  readonly cause?: { readonly kind: IntelFailureKind; readonly message: string; readonly since: string };
}

/** What `intel:active` (and `intel:last-good`) hold: a pointer to one artifact. */
export interface IntelPointer {
  readonly geogate: 'intel-pointer';
  readonly schema: typeof INTEL_SCHEMA;
  /** SHA-256 (hex) of the artifact's text; the artifact lives at `intel:<artifact>`. */
  readonly artifact: string;
  /** The intel's own version label. */
  readonly version: string;
  readonly storedAt: string;
  readonly storedBy: string;
}

/** The pointer a text holds, or undefined when it is not one. */
export function readIntelPointer(text: string): IntelPointer | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const p = v as Record<string, unknown>;
  const ok =
    p.geogate === 'intel-pointer' &&
    p.schema === INTEL_SCHEMA &&
    typeof p.artifact === 'string' &&
    /^[0-9a-f]{64}$/.test(p.artifact) &&
    typeof p.version === 'string' &&
    typeof p.storedAt === 'string' &&
    typeof p.storedBy === 'string';
  return ok ? (p as unknown as IntelPointer) : undefined;
}

const UNREADABLE: IntelFailure = { kind: 'unreadable', message: 'intel storage could not be read' };
const MISSING: IntelFailure = { kind: 'missing', message: `${ACTIVE_INTEL_KEY} is gone, but intel was pushed before (push the intel you want, even the bundled one)` };

/** Largest pointer text read, in bytes. */
const MAX_POINTER_BYTES = 4096;

/** Largest intel artifact read, in bytes (KV values go up to 25 MiB; the shipped one is ~1.1 MB). */
export const MAX_INTEL_BYTES = 16 * 1024 * 1024;

/** Knobs of an {@link IntelStore}: the cache's, whose adapter the store supplies. */
export type IntelStoreOptions = Omit<ArtifactCacheOptions<IntelAnswer, IntelLoad>, 'adapter'>;

interface IntelLoad {
  readonly store: TextStore;
  readonly waitUntil?: WaitUntilLike | undefined;
}

/** A checked artifact, or why it was refused. */
type Checked = { readonly ok: true; readonly intel: NetworkIntel } | { readonly ok: false; readonly failure: IntelFailure };

/**
 * Per-isolate cache of the network intel in front of a {@link TextStore}: never throws, never
 * answers without intel (the bundled copy is the floor), and says when it falls back.
 */
export class IntelStore {
  readonly #o: IntelStoreOptions;
  readonly #cache: ArtifactCache<IntelAnswer, IntelLoad>;
  /** The last intel this isolate loaded from KV and checked. */
  #good: { readonly intel: NetworkIntel; readonly id: string; readonly loadedAt: number } | undefined;

  constructor(options: IntelStoreOptions) {
    this.#o = options;
    this.#cache = new ArtifactCache<IntelAnswer, IntelLoad>({
      adapter: {
        name: 'intel',
        load: (request, context) => this.#load(request.store, context),
        healthy: (answer) => !answer.failure,
        usable: () => true,
        timedOut: (previous) => this.#fallbackNow(previous, { kind: 'timeout', message: `intel storage did not answer within ${this.#o.loadBudgetMs} ms` }),
        crashed: (previous) => this.#fallbackNow(previous, { kind: 'internal', message: 'loading the intel failed unexpectedly (see the Workers logs)' }),
      },
      ...options,
    });
  }

  /** The intel for a request at `now`. Never throws; waits only on a cold isolate, at most the budget. */
  get(store: TextStore, now: number, options: { waitUntil?: WaitUntilLike | undefined } = {}): Promise<IntelAnswer> {
    return this.#cache.get(now, { store, waitUntil: options.waitUntil });
  }

  /** For /healthz: the status now, never waiting on a refresh (a cold isolate waits at most the budget). */
  async peek(store: TextStore, now: number, options: { waitUntil?: WaitUntilLike | undefined } = {}): Promise<IntelStatus | undefined> {
    await this.#cache.peek(now, { store, waitUntil: options.waitUntil });
    return this.status();
  }

  /** Health of the intel, or undefined before the first load in this isolate has finished. */
  status(): IntelStatus | undefined {
    const a = this.#cache.answer;
    if (!a) return undefined;
    const stats = a.intel.stats;
    const since = new Date(this.#cache.failureSince ?? this.#o.clock()).toISOString();
    return {
      status: a.failure ? 'degraded' : 'ok',
      version: a.intel.version,
      source: a.source,
      id: a.id,
      loadedAt: new Date(a.loadedAt).toISOString(),
      blocks: stats.blocks,
      intervals: stats.intervals,
      asns: stats.asns,
      ...(a.failure ? { cause: { kind: a.failure.kind, message: a.failure.message, since } } : {}),
    };
  }

  /** Makes the next `get` re-read storage (tests; after a push). */
  invalidate(): void {
    this.#cache.invalidate();
  }

  /** Forgets everything (tests; a new isolate behaves the same). */
  reset(): void {
    this.#cache.reset();
    this.#good = undefined;
  }

  /** Settles when the load in flight and the background writes have finished (tests). */
  settled(): Promise<void> {
    return this.#cache.settled();
  }

  #bundled(failure?: IntelFailure): IntelAnswer {
    return { intel: bundledIntel(), source: 'bundled', id: BUNDLED_INTEL_ID, loadedAt: this.#o.clock(), ...(failure ? { failure } : {}) };
  }

  /** A fallback without reading storage: the isolate's last good intel, else the bundled copy. */
  #fallbackNow(previous: IntelAnswer | undefined, failure: IntelFailure): IntelAnswer {
    const good = this.#good;
    if (good) return { intel: good.intel, source: 'last-known-good', id: good.id, loadedAt: good.loadedAt, failure };
    if (previous && previous.source !== 'bundled') return { ...previous, source: 'last-known-good', failure };
    return this.#bundled(failure);
  }

  /** Reads and checks the artifact `id`. */
  async #artifact(store: TextStore, id: string): Promise<Checked> {
    let read;
    try {
      read = await store.read(intelKey(id), MAX_INTEL_BYTES);
    } catch {
      return { ok: false, failure: UNREADABLE };
    }
    if (read.kind === 'absent') return { ok: false, failure: { kind: 'missing-artifact', message: `the intel artifact ${id.slice(0, 12)}… the pointer names is not stored` } };
    if (read.kind === 'too-large') return { ok: false, failure: { kind: 'too-large', message: `the intel artifact is over ${MAX_INTEL_BYTES} bytes` } };
    if ((await sha256Hex(read.text)) !== id) return { ok: false, failure: { kind: 'corrupt', message: 'the intel artifact does not match its id (corrupt or truncated)' } };
    const decoded = decodeIntel(read.text);
    if (!decoded.ok) return { ok: false, failure: { kind: 'invalid', message: `the intel artifact is refused: ${decoded.message}` } };
    return { ok: true, intel: decoded.intel };
  }

  async #load(store: TextStore, context: LoadContext): Promise<IntelAnswer | typeof SUPERSEDED> {
    let read;
    try {
      read = await store.read(ACTIVE_INTEL_KEY, MAX_POINTER_BYTES);
    } catch {
      return this.#fallback(store, context, UNREADABLE);
    }
    if (!context.current()) return SUPERSEDED;
    if (read.kind === 'absent') {
      // Never pushed: the deployment's own intel answers, healthily. But a pointer that existed
      // (this isolate loaded one, or intel:last-good says one did) and is gone is a failure, like
      // a deleted policy: the last good intel answers and says so. To go back to the bundled copy
      // on purpose, push it (`npm run intel:push`).
      if (this.#good) return this.#fallback(store, context, MISSING);
      let lastGood;
      try {
        lastGood = await store.read(LAST_GOOD_INTEL_KEY, MAX_POINTER_BYTES);
      } catch {
        // Whether intel was ever pushed cannot be told: degraded, as storage is.
        return this.#fallback(store, context, UNREADABLE);
      }
      if (!context.current()) return SUPERSEDED;
      return lastGood.kind === 'absent' ? this.#bundled() : this.#fallback(store, context, MISSING, lastGood);
    }
    const pointer = read.kind === 'text' ? readIntelPointer(read.text) : undefined;
    if (!pointer || read.kind !== 'text') return this.#fallback(store, context, { kind: 'invalid-pointer', message: `${ACTIVE_INTEL_KEY} does not hold an intel pointer` });
    const good = this.#good;
    if (good && good.id === pointer.artifact) return { intel: good.intel, source: 'kv', id: good.id, loadedAt: good.loadedAt };
    const checked = await this.#artifact(store, pointer.artifact);
    if (!context.current()) return SUPERSEDED;
    if (!checked.ok) return this.#fallback(store, context, checked.failure);
    const loadedAt = this.#o.clock();
    this.#good = { intel: checked.intel, id: pointer.artifact, loadedAt };
    context.background(this.#mirror(store, read.text));
    return { intel: checked.intel, source: 'kv', id: pointer.artifact, loadedAt };
  }

  /** Writes `intel:last-good` when it holds another pointer (so new isolates can fall back to it). */
  async #mirror(store: TextStore, pointerText: string): Promise<void> {
    try {
      const held = await store.read(LAST_GOOD_INTEL_KEY, MAX_POINTER_BYTES);
      if (held.kind === 'text' && held.text === pointerText) return;
      await store.write(LAST_GOOD_INTEL_KEY, pointerText);
    } catch (e) {
      this.#o.log(`geogate: could not mirror ${LAST_GOOD_INTEL_KEY}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * The fallback after a failed load: the isolate's good intel, else the stored last good one,
   * else the bundled copy. `lastGood`: `intel:last-good` as the load already read it, if it did.
   */
  async #fallback(store: TextStore, context: LoadContext, failure: IntelFailure, lastGood?: TextRead): Promise<IntelAnswer | typeof SUPERSEDED> {
    this.#o.log(`geogate: intel load failed (${failure.kind}): ${failure.message}`);
    const good = this.#good;
    if (good) return { intel: good.intel, source: 'last-known-good', id: good.id, loadedAt: good.loadedAt, failure };
    // Tried even after a failed read: storage that threw once may answer the next read.
    try {
      const read = lastGood ?? (await store.read(LAST_GOOD_INTEL_KEY, MAX_POINTER_BYTES));
      const pointer = read.kind === 'text' ? readIntelPointer(read.text) : undefined;
      if (pointer) {
        const checked = await this.#artifact(store, pointer.artifact);
        if (!context.current()) return SUPERSEDED;
        if (checked.ok) {
          const loadedAt = this.#o.clock();
          this.#good = { intel: checked.intel, id: pointer.artifact, loadedAt };
          return { intel: checked.intel, source: 'last-known-good', id: pointer.artifact, loadedAt, failure };
        }
      }
    } catch {
      // Storage failed mid-fallback: the bundled copy answers.
    }
    if (!context.current()) return SUPERSEDED;
    return this.#bundled(failure);
  }
}

/** How long loaded intel is fresh in an isolate, in ms: one small pointer read per minute. */
export const INTEL_TTL_MS = 60_000;

/** The isolate's intel store. */
export const activeIntelStore = new IntelStore({
  ttlMs: INTEL_TTL_MS,
  retryMs: 10_000,
  maxStaleMs: 10 * INTEL_TTL_MS,
  loadBudgetMs: 1_500,
  loadTimeoutMs: 10_000,
  log: (message) => console.error(message),
  clock: () => Date.now(),
});
