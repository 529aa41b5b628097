// The active policy, per isolate, in front of a TextStore (Workers KV in production): the policy's
// adapter on an ArtifactCache (./artifact-cache.ts), which owns freshness, coalesced loads, the
// load budget, superseded loads and background work; this module owns what a policy load means.
//
// Promise 1: a broken policy never opens the gate, and loading never stalls a check.
// - Sources, in order: the current policy (`policy:active`); else the last good copy this isolate
//   holds, else the one in storage (`policy:last-good`, written only with a text that validated
//   and compiled); else the fail mode: the stored document's own `failMode` when it is readable,
//   else the deployment's FAIL_MODE. The embedded default applies only when storage holds no
//   policy and never did (a fresh deployment), never in place of one that exists but is unusable.
// - Every answer under a fallback carries the failure, so decisions say `failed` and /healthz
//   says `degraded` with a typed cause.
// - Bounded work: reads stop at the byte bound; texts are recognised by SHA-256, so a rejected
//   text is never validated twice and an unchanged one is never recompiled; concurrent loads are
//   coalesced into one; a warm isolate keeps answering from what it has while a refresh runs in
//   the background; a cold one waits at most the load budget, then answers under the fail mode
//   (the last four by the ArtifactCache).
import { compilePolicy, type CompiledPolicy } from '../engine/compile';
import type { FailModeOrigin, PolicyFailure, PolicyFailureKind } from '../engine/fail';
import type { FailMode } from '../engine/policy';
import { checkPolicySize } from '../policy/limits';
import { FailModeSchema, parsePolicy } from '../policy/schema';
import { decodeSnapshot, MAX_SNAPSHOT_BYTES, readPointer, sha256Hex, snapshotKey } from '../policy/snapshot';
import { ArtifactCache, BoundedMemo, SUPERSEDED, type LoadContext, type WaitUntilLike } from './artifact-cache';
import type { TextStore } from './text-store';

export type { WaitUntilLike } from './artifact-cache';

/** Where the policy answering a request came from. */
export type PolicySource = 'kv' | 'default' | 'last-known-good';

/** What a request is decided under. */
export type PolicyAnswer =
  | {
      readonly kind: 'policy';
      readonly compiled: CompiledPolicy;
      readonly source: PolicySource;
      /**
       * What decided, by content: the snapshot id a pointer names, or the SHA-256 of a policy
       * document written straight to KV; "default" for the built-in default.
       */
      readonly snapshot: string;
      /** Epoch ms when this policy was first loaded in this isolate. */
      readonly loadedAt: number;
      /** Set when this is a fallback: why the current policy is not the one answering. */
      readonly failure?: PolicyFailure;
    }
  | {
      readonly kind: 'unavailable';
      readonly failMode: FailMode;
      readonly failModeFrom: FailModeOrigin;
      readonly failure: PolicyFailure;
    };

/** The store's health, for /healthz. */
export interface PolicyStatus {
  readonly status: 'ok' | 'degraded';
  /** The policy answering requests, or null when the fail mode answers. */
  readonly policy: {
    readonly version: string;
    readonly source: PolicySource;
    readonly snapshot: string;
    /** The version of each named list in force. */
    readonly lists: Readonly<Record<string, number>>;
    readonly loadedAt: string;
  } | null;
  /** Why the current policy is not in force (never the stored text or storage internals). */
  readonly cause?: { readonly kind: PolicyFailureKind; readonly message: string; readonly since: string };
  /** Present when no policy answers: the fail mode in force and where it came from. */
  readonly failMode?: { readonly mode: FailMode; readonly from: FailModeOrigin };
}

/** Knobs of a {@link PolicyStore}. */
export interface PolicyStoreOptions {
  /** Key of the current policy document. */
  activeKey: string;
  /** Key of the last good copy (written by the store itself). */
  lastGoodKey: string;
  /** How long a good answer is fresh: at most one storage read per isolate per TTL. */
  ttlMs: number;
  /** How soon a failed load is retried. */
  retryMs: number;
  /** Past this age a request waits for the refresh (up to the load budget) instead of not at all. */
  maxStaleMs: number;
  /** Longest a request waits for a load; past it, it answers with what the isolate has. */
  loadBudgetMs: number;
  /** A load still running after this long is presumed lost (its request was cancelled) and restarted. */
  loadTimeoutMs: number;
  /** Largest policy text read, in bytes. */
  maxBytes: number;
  /** The embedded default: a fresh deployment's policy. */
  fallback: () => CompiledPolicy;
  /** Where load failures are reported (operators read them in Workers logs). */
  log: (message: string) => void;
  /** The clock, for when a load completes (tests inject one). */
  clock: () => number;
}

/** Per-request context of {@link PolicyStore.get}. */
export interface GetOptions {
  /** Schedules work that may outlive the response (the Worker's `ctx.waitUntil`). */
  waitUntil?: WaitUntilLike | undefined;
  /** The deployment's FAIL_MODE, used when no policy and no readable `failMode` exist. */
  failMode: FailMode;
}

/** One load's request to the cache: the storage to read, and the context of the request that asked. */
interface PolicyLoad extends GetOptions {
  readonly store: TextStore;
}

/** A policy this isolate accepted from storage. */
interface Good {
  readonly compiled: CompiledPolicy;
  /** SHA-256 of the text read at the key (a pointer or a document). */
  readonly hash: string;
  /** The snapshot id (pointer) or the document's hash. */
  readonly snapshot: string;
  readonly loadedAt: number;
  readonly source: 'kv' | 'default';
}

/** A text rejected once, remembered by hash so that it is never validated again. */
interface Rejected {
  readonly failure: PolicyFailure;
  /** The document's own `failMode`, when that field alone was readable. */
  readonly failMode: FailMode | undefined;
}

/** The outcome of checking a stored text. */
type Checked =
  | { readonly ok: true; readonly compiled: CompiledPolicy; readonly snapshot: string }
  | {
      readonly ok: false;
      readonly failure: PolicyFailure;
      readonly failMode: FailMode | undefined;
      readonly detail: string;
      /** A failure of storage rather than of the text (a snapshot read threw): not remembered, retried. */
      readonly transient?: boolean;
    };

/** Rejected texts remembered per isolate (a few operators' mistakes, not an unbounded log; when full, all are forgotten). */
const MAX_REJECTED = 16;

/** How much each fail mode refuses: the stored document's own mode counts only when stricter. */
const FAIL_MODE_STRICTNESS: Readonly<Record<FailMode, number>> = { open: 0, challenge: 1, closed: 2 };

function isGood(x: Good | 'absent' | PolicyFailure): x is Good {
  return typeof x === 'object' && 'compiled' in x;
}
const DEFAULT_HASH = 'default';

/**
 * Per-isolate cache of the active policy in front of a {@link TextStore}: the policy's adapter on
 * an {@link ArtifactCache} (which decides when to load and what to answer meanwhile). It supplies
 * the load (pointer or document, snapshot, checks, the `policy:last-good` mirror), the fallbacks
 * (last good policy, fail mode, the default of a fresh deployment) and the typed failures.
 */
export class PolicyStore {
  readonly #o: PolicyStoreOptions;
  readonly #cache: ArtifactCache<PolicyAnswer, PolicyLoad>;
  #good: Good | undefined;
  readonly #rejected = new BoundedMemo<Rejected>(MAX_REJECTED);

  constructor(options: PolicyStoreOptions) {
    this.#o = options;
    this.#cache = new ArtifactCache<PolicyAnswer, PolicyLoad>({
      adapter: {
        name: 'policy',
        load: (request, context) => this.#load(request.store, request, context),
        healthy: (answer) => answer.kind === 'policy' && !answer.failure,
        usable: (answer) => answer.kind === 'policy',
        timedOut: (previous, request) => this.#timedOut(previous, request),
        crashed: (previous, request) => this.#crashed(previous, request),
      },
      ttlMs: options.ttlMs,
      retryMs: options.retryMs,
      maxStaleMs: options.maxStaleMs,
      loadBudgetMs: options.loadBudgetMs,
      loadTimeoutMs: options.loadTimeoutMs,
      log: options.log,
      clock: options.clock,
    });
  }

  /**
   * What a request at `now` (epoch ms) is decided under. Never throws. A fresh answer is
   * returned at once; a stale one too, while a refresh runs in the background (coalesced with
   * any other); only a cold isolate, or one idle past maxStale, waits, and at most loadBudgetMs.
   */
  get(store: TextStore, now: number, options: GetOptions): Promise<PolicyAnswer> {
    return this.#cache.get(now, { store, waitUntil: options.waitUntil, failMode: options.failMode });
  }

  /**
   * For /healthz: the status now, without ever waiting on a refresh. A stale answer triggers a
   * background refresh; a cold isolate starts its first load and waits for it at most the budget.
   */
  async peek(store: TextStore, now: number, options: GetOptions): Promise<PolicyStatus | undefined> {
    await this.#cache.peek(now, { store, waitUntil: options.waitUntil, failMode: options.failMode });
    return this.status();
  }

  /** Health of the store, or undefined before the first load in this isolate has finished. */
  status(): PolicyStatus | undefined {
    const state = this.#cache.answer;
    if (!state) return undefined;
    const since = new Date(this.#cache.failureSince ?? this.#o.clock()).toISOString();
    if (state.kind === 'unavailable') {
      return {
        status: 'degraded',
        policy: null,
        cause: { kind: state.failure.kind, message: state.failure.message, since },
        failMode: { mode: state.failMode, from: state.failModeFrom },
      };
    }
    return {
      status: state.failure ? 'degraded' : 'ok',
      policy: {
        version: state.compiled.version,
        source: state.source,
        snapshot: state.snapshot,
        lists: state.compiled.lists,
        loadedAt: new Date(state.loadedAt).toISOString(),
      },
      ...(state.failure ? { cause: { kind: state.failure.kind, message: state.failure.message, since } } : {}),
    };
  }

  /** Makes the next `get` re-read storage, keeping everything else (tests; operators' tools). */
  invalidate(): void {
    this.#cache.invalidate();
  }

  /** Forgets everything (tests; a new isolate behaves the same). */
  reset(): void {
    this.#cache.reset();
    this.#good = undefined;
    this.#rejected.clear();
  }

  /** Settles when the load in flight and the background writes, if any, have finished (tests). */
  settled(): Promise<void> {
    return this.#cache.settled();
  }

  #timeoutAnswer(options: GetOptions): PolicyAnswer {
    return {
      kind: 'unavailable',
      failMode: options.failMode,
      failModeFrom: 'deployment',
      failure: { kind: 'timeout', message: `policy storage did not answer within ${this.#o.loadBudgetMs} ms` },
    };
  }

  /**
   * A load outlasted the budget. A cold isolate answers under the fail mode; a warm one keeps its
   * policy, marked as a fallback; one already under the fail mode keeps it.
   */
  #timedOut(state: PolicyAnswer | undefined, options: GetOptions): PolicyAnswer {
    const timeout = this.#timeoutAnswer(options);
    return state?.kind === 'policy'
      ? // A fresh deployment's default stays labelled as the default it is.
        { ...state, source: state.source === 'default' ? 'default' : 'last-known-good', failure: timeout.failure }
      : state?.kind === 'unavailable'
        ? state
        : timeout;
  }

  /** A load threw (a bug): keep a policy the isolate has, marked as a fallback, else the fail mode. */
  #crashed(state: PolicyAnswer | undefined, options: GetOptions): PolicyAnswer {
    const failure: PolicyFailure = { kind: 'invalid', message: 'the policy could not be loaded (internal error)' };
    return state?.kind === 'policy'
      ? { ...state, source: state.source === 'default' ? 'default' : 'last-known-good', failure }
      : { kind: 'unavailable', failMode: options.failMode, failModeFrom: 'deployment', failure };
  }

  /** One load: read `policy:active`, check it, and say what answers (the cache records it). */
  async #load(store: TextStore, options: GetOptions, context: LoadContext): Promise<PolicyAnswer | typeof SUPERSEDED> {
    const current = () => context.current();
    let read;
    try {
      read = await store.read(this.#o.activeKey, this.#o.maxBytes);
    } catch (e) {
      this.#o.log(`geogate: policy storage unavailable: ${e instanceof Error ? e.message : String(e)}`);
      return this.#fallBack(store, options, current, { kind: 'storage-unavailable', message: 'policy storage is unavailable' });
    }
    if (!current()) return SUPERSEDED;
    if (read.kind === 'too-large') {
      return this.#fallBack(store, options, current, {
        kind: 'too-large',
        message: `the stored policy is over ${this.#o.maxBytes} bytes`,
      });
    }
    if (read.kind === 'absent') return this.#absent(store, options, current);

    const hash = await sha256Hex(read.text);
    if (!current()) return SUPERSEDED;
    if (hash === this.#good?.hash) return this.#serve(this.#good, 'kv');
    const known = this.#rejected.get(hash);
    if (known) return this.#fallBack(store, options, current, known.failure, known.failMode);

    const checked = await this.#check(store, read.text, hash);
    if (!current()) return SUPERSEDED;
    if (!checked.ok) {
      this.#o.log(`geogate: stored policy rejected: ${checked.detail}`);
      if (!checked.transient) this.#rejected.set(hash, { failure: checked.failure, failMode: checked.failMode });
      return this.#fallBack(store, options, current, checked.failure, checked.failMode);
    }
    const good: Good = { compiled: checked.compiled, hash, snapshot: checked.snapshot, loadedAt: this.#o.clock(), source: 'kv' };
    this.#good = good;
    const answer = this.#serve(good, 'kv');
    context.background(this.#mirror(store, read.text, hash, checked.compiled.version));
    return answer;
  }

  /**
   * Checks a stored text: a pointer loads and checks the snapshot it names; a policy document
   * (written straight to KV) is validated and compiled. On failure, reads a document's own
   * `failMode` alone if it can.
   */
  async #check(store: TextStore, text: string, hash: string): Promise<Checked> {
    try {
      return await this.#checkUnguarded(store, text, hash);
    } catch (e) {
      // Whatever throws while checking a text (a validator's own limits, a bug) makes the text
      // unusable, recorded by hash like any rejected text: never a crash, never re-checked.
      const detail = `could not be checked: ${e instanceof Error ? e.message : String(e)}`;
      return { ok: false, failure: { kind: 'invalid', message: 'the stored policy could not be validated' }, failMode: undefined, detail };
    }
  }

  async #checkUnguarded(store: TextStore, text: string, hash: string): Promise<Checked> {
    const bytes = checkPolicySize(text);
    if (bytes) return { ok: false, failure: { kind: 'too-large', message: bytes.message }, failMode: undefined, detail: bytes.message };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const detail = `not valid JSON: ${e instanceof Error ? e.message : String(e)}`;
      return { ok: false, failure: { kind: 'invalid', message: 'the stored policy is not valid JSON' }, failMode: undefined, detail };
    }
    const pointer = readPointer(value);
    if (pointer === 'malformed') {
      return { ok: false, failure: { kind: 'invalid', message: 'the stored policy pointer is malformed' }, failMode: undefined, detail: 'malformed pointer' };
    }
    if (pointer) return this.#checkSnapshot(store, pointer.snapshot);
    const ownMode =
      typeof value === 'object' && value !== null && 'failMode' in value ? FailModeSchema.safeParse(value.failMode) : undefined;
    const failMode = ownMode?.success ? ownMode.data : undefined;
    const parsed = parsePolicy(value);
    if (!parsed.ok) {
      const issues = parsed.error.issues;
      const detail = `${issues.length} issue(s): ${issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`;
      const failure: PolicyFailure = parsed.tooLarge
        ? { kind: 'too-large', message: parsed.tooLarge.message }
        : { kind: 'invalid', message: `the stored policy fails validation (${issues.length} issue(s))` };
      return { ok: false, failure, failMode, detail };
    }
    try {
      return { ok: true, compiled: compilePolicy(parsed.policy), snapshot: hash };
    } catch (e) {
      const detail = `failed to compile: ${e instanceof Error ? e.message : String(e)}`;
      return { ok: false, failure: { kind: 'invalid', message: 'the stored policy fails to compile' }, failMode, detail };
    }
  }

  /** Reads and checks the snapshot a pointer names (see src/policy/snapshot.ts). */
  async #checkSnapshot(store: TextStore, id: string): Promise<Checked> {
    let read;
    try {
      read = await store.read(snapshotKey(id), MAX_SNAPSHOT_BYTES);
    } catch (e) {
      const detail = `snapshot ${id} unreadable: ${e instanceof Error ? e.message : String(e)}`;
      return { ok: false, failure: { kind: 'storage-unavailable', message: 'policy storage is unavailable' }, failMode: undefined, detail, transient: true };
    }
    if (read.kind === 'absent') {
      // Written before the pointer, so absent means deleted, or not yet visible here: retried.
      return { ok: false, failure: { kind: 'invalid', message: 'the snapshot the policy pointer names is missing' }, failMode: undefined, detail: `snapshot ${id} absent`, transient: true };
    }
    // A snapshot is content-addressed: a read that is not the text whose SHA-256 is `id` (over the
    // bound, or hashing to something else) is a torn or altered read, not what the pointer names.
    // It is retried like a failed read, never remembered against the pointer, so the isolate
    // recovers once storage answers the snapshot whole (the pointer itself is fine).
    if (read.kind === 'too-large') {
      return { ok: false, failure: { kind: 'too-large', message: `the snapshot is over ${MAX_SNAPSHOT_BYTES} bytes` }, failMode: undefined, detail: 'snapshot too large', transient: true };
    }
    const decoded = await decodeSnapshot(read.text, id);
    if (!decoded.ok) {
      // Only a text that is the snapshot (its hash is the id) is refused for good: the id names it forever.
      return decoded.corrupt
        ? { ok: false, failure: { kind: 'invalid', message: 'the policy snapshot read was corrupt (it does not match its id)' }, failMode: undefined, detail: decoded.message, transient: true }
        : { ok: false, failure: { kind: 'invalid', message: 'the policy snapshot is unusable' }, failMode: undefined, detail: decoded.message };
    }
    return { ok: true, compiled: decoded.compiled, snapshot: id };
  }

  /** Storage holds no current policy: a fresh deployment gets the default, one that had a policy fails. */
  async #absent(store: TextStore, options: GetOptions, current: () => boolean): Promise<PolicyAnswer | typeof SUPERSEDED> {
    if (this.#good?.source === 'kv') {
      return this.#fallBack(store, options, current, { kind: 'missing', message: 'no policy is stored, but one was before' });
    }
    const copy = await this.#readLastGood(store);
    if (!current()) return SUPERSEDED;
    if (copy !== 'absent') {
      // A copy exists (a policy did), or storage cannot say: never the built-in default then.
      if (isGood(copy)) this.#good = copy;
      const failure: PolicyFailure = isGood(copy) || copy.kind !== 'storage-unavailable' ? { kind: 'missing', message: 'no policy is stored, but one was before' } : copy;
      return this.#fallBack(store, options, current, failure);
    }
    if (this.#good?.source !== 'default') this.#good = { compiled: this.#o.fallback(), hash: DEFAULT_HASH, snapshot: DEFAULT_HASH, loadedAt: this.#o.clock(), source: 'default' };
    return this.#serve(this.#good, 'default');
  }

  /** The answer of a policy accepted from storage (or the default). */
  #serve(good: Good, source: 'kv' | 'default'): PolicyAnswer {
    return { kind: 'policy', compiled: good.compiled, source, snapshot: good.snapshot, loadedAt: good.loadedAt };
  }

  /** The current policy is unusable: the last good copy answers, else the fail mode. */
  async #fallBack(
    store: TextStore,
    options: GetOptions,
    current: () => boolean,
    failure: PolicyFailure,
    ownMode?: FailMode,
  ): Promise<PolicyAnswer | typeof SUPERSEDED> {
    let good = this.#good?.source === 'kv' ? this.#good : undefined;
    if (!good) {
      const copy = await this.#readLastGood(store);
      if (!current()) return SUPERSEDED;
      if (isGood(copy)) good = copy;
    }
    if (good) {
      this.#good = good;
      return { kind: 'policy', compiled: good.compiled, source: 'last-known-good', snapshot: good.snapshot, loadedAt: good.loadedAt, failure };
    }
    // A broken document may tighten the deployment's fail mode, never loosen it.
    const own = ownMode !== undefined && FAIL_MODE_STRICTNESS[ownMode] > FAIL_MODE_STRICTNESS[options.failMode] ? ownMode : undefined;
    return {
      kind: 'unavailable',
      failMode: own ?? options.failMode,
      failModeFrom: own ? 'policy' : 'deployment',
      failure,
    };
  }

  /**
   * The last good copy in storage: usable (checked like any text), absent, or a failure (storage
   * threw, or the copy is there but unusable). Only `absent` means no policy ever existed.
   */
  async #readLastGood(store: TextStore): Promise<Good | 'absent' | PolicyFailure> {
    let read;
    try {
      read = await store.read(this.#o.lastGoodKey, this.#o.maxBytes);
    } catch {
      return { kind: 'storage-unavailable', message: 'policy storage is unavailable' };
    }
    if (read.kind === 'absent') return 'absent';
    if (read.kind === 'too-large') return { kind: 'too-large', message: 'the last good policy copy is over the size bound' };
    const hash = await sha256Hex(read.text);
    if (hash === this.#good?.hash) return this.#good;
    const known = this.#rejected.get(hash);
    if (known) return known.failure;
    const checked = await this.#check(store, read.text, hash);
    if (!checked.ok) {
      this.#o.log(`geogate: the last good policy copy is itself unusable: ${checked.detail}`);
      if (!checked.transient) this.#rejected.set(hash, { failure: checked.failure, failMode: checked.failMode });
      return checked.failure;
    }
    return { compiled: checked.compiled, hash, snapshot: checked.snapshot, loadedAt: this.#o.clock(), source: 'kv' };
  }

  /** Keeps storage's last good copy equal to the policy just accepted (background; one write per change). */
  async #mirror(store: TextStore, text: string, hash: string, version: string): Promise<void> {
    try {
      const meta = await store.metadata(this.#o.lastGoodKey);
      // Skip when the copy is already this text, or when this isolate has since accepted another
      // text (its own mirror writes that one; an older text must not land after it).
      if (meta?.sha256 === hash || this.#good?.hash !== hash) return;
      await store.write(this.#o.lastGoodKey, text, { sha256: hash, version, storedAt: new Date(this.#o.clock()).toISOString() });
    } catch (e) {
      // Another isolate may have written it this second (KV allows one write per key per second).
      this.#o.log(`geogate: could not update the last good policy copy: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
