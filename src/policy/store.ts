// Loads the active policy from KV and keeps it per isolate: at most one KV read per TTL,
// parse + validate + compile only when the stored text changes. A stored policy that is corrupt
// or invalid is never evaluated: the last good one keeps serving (else the embedded default) and
// the store reports `degraded` until KV holds a valid policy again.
import { compilePolicy, type CompiledPolicy } from '../engine/compile';
import { defaultPolicy } from './default';
import { ACTIVE_POLICY_KEY } from './keys';
import { parsePolicyText } from './schema';

/** Where the policy answering a request came from. */
export type PolicySource = 'kv' | 'default' | 'last-known-good';

/** The policy in force, with its provenance. */
export interface ActivePolicy {
  readonly compiled: CompiledPolicy;
  readonly source: PolicySource;
  /** Epoch ms when this policy was loaded (for last-known-good: when it was first loaded). */
  readonly loadedAt: number;
}

/** The store's health, for /healthz. */
export interface PolicyStatus {
  readonly status: 'ok' | 'degraded';
  readonly policy: { readonly version: string; readonly source: PolicySource; readonly loadedAt: string };
  /** Why the store is degraded (no policy text or storage detail). */
  readonly error?: string;
}

/** Knobs of a {@link PolicyStore}. */
export interface PolicyStoreOptions {
  /** KV key of the policy document. */
  key: string;
  /** How long a loaded policy is fresh; at most one KV read per isolate per TTL. */
  ttlMs: number;
  /** A policy older than the TTL but younger than this keeps serving while a refresh runs. */
  maxStaleMs: number;
  /** The policy used when KV holds none, or holds a broken one and nothing good was seen yet. */
  fallback: () => CompiledPolicy;
  /** Where load failures are reported (operators read them in Workers logs). */
  log: (message: string) => void;
}

/** Schedules work that may outlive the response (the Worker's `ctx.waitUntil`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** A refresh that has not settled after this long is presumed lost (its request was cancelled). */
const REFRESH_TIMEOUT_MS = 10_000;

/** Per-isolate cache of the active policy in front of KV. */
export class PolicyStore {
  readonly #options: PolicyStoreOptions;
  #active: ActivePolicy | undefined;
  #lastGood: ActivePolicy | undefined;
  #lastRaw: string | null | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #error: string | undefined;
  #refreshingSince: number | undefined;

  constructor(options: PolicyStoreOptions) {
    this.#options = options;
  }

  /**
   * The policy for a request at `now` (epoch ms). Reads KV only when the cached policy is older
   * than the TTL; with `waitUntil`, a slightly stale policy answers while KV is re-read in the
   * background, so only a cold isolate (or one idle past maxStale) waits for KV.
   */
  async get(kv: KVNamespace, now: number, waitUntil?: WaitUntil): Promise<ActivePolicy> {
    const active = this.#active;
    const age = now - this.#checkedAt;
    if (active && age < this.#options.ttlMs) return active;
    if (active && age < this.#options.maxStaleMs && waitUntil) {
      const since = this.#refreshingSince;
      if (since === undefined || now - since > REFRESH_TIMEOUT_MS) {
        this.#refreshingSince = now;
        waitUntil(this.#refresh(kv, now));
      }
      return active;
    }
    return this.#refresh(kv, now);
  }

  /** Health of the store, or undefined before the first load in this isolate. */
  status(): PolicyStatus | undefined {
    const active = this.#active;
    if (!active) return undefined;
    return {
      status: this.#error === undefined ? 'ok' : 'degraded',
      policy: { version: active.compiled.version, source: active.source, loadedAt: new Date(active.loadedAt).toISOString() },
      ...(this.#error !== undefined ? { error: this.#error } : {}),
    };
  }

  /** Makes the next `get` re-read KV in the foreground, keeping the last good policy. */
  invalidate(): void {
    this.#checkedAt = Number.NEGATIVE_INFINITY;
  }

  /** Forgets everything cached (tests; a new isolate behaves the same). */
  reset(): void {
    this.#active = this.#lastGood = this.#lastRaw = this.#error = this.#refreshingSince = undefined;
    this.#checkedAt = Number.NEGATIVE_INFINITY;
  }

  async #refresh(kv: KVNamespace, now: number): Promise<ActivePolicy> {
    let raw: string | null;
    try {
      raw = await kv.get(this.#options.key, 'text');
    } catch (e) {
      return this.#fail(`policy storage unavailable: ${e instanceof Error ? e.message : String(e)}`, now);
    } finally {
      this.#refreshingSince = undefined;
    }
    this.#checkedAt = now;
    if (this.#active && this.#error === undefined && raw === this.#lastRaw) return this.#active;
    this.#lastRaw = raw;
    if (raw === null) {
      this.#error = undefined;
      this.#active = { compiled: this.#options.fallback(), source: 'default', loadedAt: now };
      return this.#active;
    }
    const parsed = parsePolicyText(raw);
    if (!parsed.ok) {
      const first = parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      return this.#fail(`stored policy is invalid (${parsed.error.issues.length} issue(s)): ${first}`, now);
    }
    let compiled: CompiledPolicy;
    try {
      compiled = compilePolicy(parsed.policy);
    } catch (e) {
      return this.#fail(`stored policy failed to compile: ${e instanceof Error ? e.message : String(e)}`, now);
    }
    this.#error = undefined;
    this.#active = this.#lastGood = { compiled, source: 'kv', loadedAt: now };
    return this.#active;
  }

  #fail(detail: string, now: number): ActivePolicy {
    this.#checkedAt = now;
    const fallbackSource: PolicySource = this.#lastGood ? 'last-known-good' : 'default';
    this.#options.log(`geogate: ${detail}; serving the ${fallbackSource} policy`);
    // Callers see why without the stored text or storage internals.
    this.#error = detail.startsWith('policy storage')
      ? `policy storage unavailable; serving the ${fallbackSource} policy`
      : `stored policy rejected; serving the ${fallbackSource} policy`;
    this.#active = this.#lastGood
      ? { ...this.#lastGood, source: 'last-known-good' }
      : { compiled: this.#options.fallback(), source: 'default', loadedAt: now };
    return this.#active;
  }
}

/** How long a loaded policy is fresh in an isolate, in ms (at most 30 s by contract). */
export const POLICY_TTL_MS = 30_000;

/** The isolate's policy store, shared by every route. */
export const activePolicyStore = new PolicyStore({
  key: ACTIVE_POLICY_KEY,
  ttlMs: POLICY_TTL_MS,
  maxStaleMs: 2 * POLICY_TTL_MS,
  fallback: defaultPolicy,
  log: (message) => console.error(message),
});
