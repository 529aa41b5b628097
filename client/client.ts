// geogate/client: a typed client for POST /v1/check, for any origin that speaks HTTP (Node 20+,
// Bun, Deno, Workers). Zero runtime dependencies: only fetch, AbortController and setTimeout, so
// the built file (dist/lib/client.js) imports nothing. Three outcomes, as in Envoy's ext_authz:
// geogate's decision; geogate unreachable, answered by the explicit fail mode and reported as such;
// or geogate refusing the call itself (token, invalid request), which throws, because a rotated
// token must be loud rather than quietly open or close the gate.
import { cacheKey, DecisionCache, DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_TTL_MS, isCacheable, MAX_CACHE_TTL_MS, type DecisionCacheOptions } from './decision-cache';
import type { Action, ApiErrorBody, CheckRequest, DecisionBody, InputIssue } from './wire';

export { cacheKey, MAX_CACHE_KEY_LENGTH, MAX_CACHE_TTL_MS, type CacheHit, type DecisionCacheOptions } from './decision-cache';
export type * from './wire';

/**
 * What the client answers when geogate cannot be reached: deny, challenge or allow.
 * @example
 * new GeogateClient({ baseUrl, token, failMode: 'challenge' })
 */
export type FailMode = 'closed' | 'challenge' | 'open';

/**
 * The decision each fail mode stands for.
 * @example
 * FAIL_MODE_DECISION.closed // 'deny'
 */
export const FAIL_MODE_DECISION: Readonly<Record<FailMode, Action>> = { closed: 'deny', challenge: 'challenge', open: 'allow' };

/**
 * Most retries accepted: more would only stretch an outage onto every request.
 * @example
 * new GeogateClient({ baseUrl, token, retries: MAX_RETRIES })
 */
export const MAX_RETRIES = 3;

/**
 * Default budget of one check, all attempts and waits included.
 * @example
 * new GeogateClient({ baseUrl, token, timeoutMs: 2 * DEFAULT_TIMEOUT_MS })
 */
export const DEFAULT_TIMEOUT_MS = 1_000;

/**
 * A retry starts only if at least this much of the budget is left after its wait.
 * @example
 * // timeoutMs 1000, a first attempt failing after 960 ms: no retry (40 ms < MIN_ATTEMPT_MS).
 */
export const MIN_ATTEMPT_MS = 50;

/**
 * The subset of `fetch` the client calls: `globalThis.fetch`, a Worker's `SELF.fetch` or a service binding's fit.
 * @example
 * const viaBinding: FetchLike = (url, init) => env.GEOGATE.fetch(url, init);
 */
export type FetchLike = (url: string, init: CheckFetchInit) => Promise<ResponseLike>;

/**
 * What the client passes to {@link FetchLike}.
 * @example
 * const logged: FetchLike = (url, init) => (console.log(init.method, url), fetch(url, init));
 */
export interface CheckFetchInit {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /** A redirect is answered as an error: following it would resend the token elsewhere, or turn the POST into a GET. */
  redirect: 'manual';
}

/**
 * The subset of `Response` the client reads.
 * @example
 * const stubbed: FetchLike = async () => new Response(JSON.stringify(body), { status: 200 });
 */
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * Backoff between attempts: full jitter, a random wait in [0, min(maxMs, baseMs * 2^(retry-1))].
 * @param baseMs - The first retry's cap, in ms (0 to 1,000). Default 50.
 * @param maxMs - The cap of any wait, in ms (baseMs to 1,000). Default 250.
 * @example
 * new GeogateClient({ baseUrl, token, retries: 2, backoff: { baseMs: 20, maxMs: 100 } })
 */
export interface BackoffOptions {
  /** @default 50 */
  baseMs?: number;
  /** @default 250 */
  maxMs?: number;
}

/**
 * Options of {@link GeogateClient}.
 *
 * @param baseUrl - Where geogate answers, e.g. `https://geogate.example.workers.dev` (a path prefix is kept). Required.
 * @param token - The deployment's CHECK_TOKEN, sent as `Authorization: Bearer`. Required.
 * @param fetch - The fetch to call. Default `globalThis.fetch` (looked up on each call).
 * @param timeoutMs - Budget of one `check()`, every attempt and backoff wait included: the most an
 *   origin waits for geogate before the fail mode answers. 1 to 60,000. Default 1,000.
 * @param attemptTimeoutMs - Budget of one attempt, at most `timeoutMs`. Default `timeoutMs`, so a
 *   hung attempt uses the whole budget; set it lower (e.g. 400) to retry a hung attempt in time.
 * @param retries - Further attempts after a network error, a timeout, a 5xx or a 429; 0 to 3. Default 1.
 * @param backoff - Wait before a retry: full jitter. Default `{ baseMs: 50, maxMs: 250 }`.
 *   A 429/503's `Retry-After` is honoured when it fits the remaining budget, else no retry.
 * @param failMode - The decision when geogate cannot be reached: `closed` (deny), `challenge` or
 *   `open` (allow). Default `closed`.
 * @param cache - Serve geogate's decisions again for the same facts for `ttlMs` (≤ 60,000). Default off.
 * @param headers - Extra request headers (e.g. Cloudflare Access service-token headers);
 *   `Authorization`, `Content-Type` and `Geogate-*` are refused. Default none.
 * @param now - The cache's clock in ms. Default `Date.now`.
 * @example
 * import { GeogateClient } from 'geogate/client';
 *
 * const geogate = new GeogateClient({
 *   baseUrl: 'https://geogate.example.workers.dev',
 *   token: process.env.GEOGATE_CHECK_TOKEN,
 *   timeoutMs: 800,
 *   failMode: 'challenge',
 *   cache: { ttlMs: 5_000 },
 * });
 */
export interface GeogateClientOptions {
  baseUrl: string;
  token: string;
  fetch?: FetchLike | undefined;
  /** @default 1000 */
  timeoutMs?: number | undefined;
  /** @default timeoutMs */
  attemptTimeoutMs?: number | undefined;
  /** @default 1 */
  retries?: number | undefined;
  /** @default { baseMs: 50, maxMs: 250 } */
  backoff?: BackoffOptions | undefined;
  /** @default 'closed' */
  failMode?: FailMode | undefined;
  /** @default off */
  cache?: DecisionCacheOptions | false | undefined;
  headers?: Record<string, string> | undefined;
  /** @default Date.now */
  now?: (() => number) | undefined;
}

/**
 * Options of one {@link GeogateClient.check} call.
 * @param signal - Aborts the call: `check()` then rejects with the signal's reason (no fail mode:
 *   the caller no longer wants an answer). Default none.
 * @param cache - `false` neither reads nor stores the cache for this call. Default `true`.
 * @example
 * await geogate.check(request, { signal: AbortSignal.timeout(500), cache: false })
 */
export interface CheckOptions {
  signal?: AbortSignal | undefined;
  /** @default true */
  cache?: boolean | undefined;
}

/**
 * geogate answered this call with a decision. `failed` is geogate's own (its fallback or fail mode).
 * @example
 * if (result.source === 'geogate') log.info({ policy: result.body.policyVersion, attempts: result.attempts });
 */
export interface GeogateResult {
  source: 'geogate';
  decision: Action;
  failed: boolean;
  body: DecisionBody;
  /** The request id sent (yours, or one the client made up). */
  requestId: string;
  /** Attempts made, the answered one included. */
  attempts: number;
}

/**
 * A decision geogate took earlier for exactly these facts, served from the client's cache.
 * @example
 * if (result.source === 'cache') metrics.increment('geogate.cache_hit');
 */
export interface CachedResult {
  source: 'cache';
  decision: Action;
  /** Always false: failed answers are never cached. */
  failed: false;
  /** A copy of the earlier body; its `requestId` and `evaluatedAt` are the earlier call's. */
  body: DecisionBody;
  /** This call's request id (nothing was sent). */
  requestId: string;
  /** How long ago geogate decided, in ms. */
  ageMs: number;
}

/**
 * geogate could not be reached: the client's fail mode decided.
 * @example
 * if (result.source === 'fail-mode') log.error({ kind: result.error.kind, failMode: result.failMode }, 'geogate unreachable');
 */
export interface FailModeResult {
  source: 'fail-mode';
  decision: Action;
  failed: true;
  failMode: FailMode;
  /** Why: the last attempt's error (`timeout`, `network`, `unavailable` or `bad-response`). */
  error: GeogateError;
  requestId: string;
  attempts: number;
}

/**
 * What {@link GeogateClient.check} resolves to; switch on `source`, act on `decision`.
 * @example
 * const { decision, source, failed } = await geogate.check(request);
 */
export type CheckResult = GeogateResult | CachedResult | FailModeResult;

/**
 * What went wrong with a call to geogate.
 * - Reported on a {@link FailModeResult} (geogate unreachable, the fail mode decided):
 *   `timeout` (no answer within the budget), `network` (fetch failed: DNS, refused, reset),
 *   `unavailable` (5xx or 429), `bad-response` (a 2xx that is not a decision).
 * - Thrown by `check()` (geogate refused the call; a fail mode would hide a bug or a rotated token):
 *   `unauthorized` (401/403: the token), `invalid-request` (400: `issues` name the fields),
 *   `rejected` (any other 3xx/4xx: a wrong `baseUrl`, a body over 64 KB).
 * @example
 * if (result.source === 'fail-mode' && result.error.kind === 'timeout') metrics.increment('geogate.timeout');
 */
export type GeogateErrorKind = 'timeout' | 'network' | 'unavailable' | 'bad-response' | 'unauthorized' | 'invalid-request' | 'rejected';

/** The error kinds that mean "unreachable" and take the fail mode. */
const UNREACHABLE: ReadonlySet<GeogateErrorKind> = new Set(['timeout', 'network', 'unavailable', 'bad-response']);

/**
 * Fields of a {@link GeogateError}.
 * @example
 * const { kind, status, code, issues } = error;
 */
export interface GeogateErrorDetails {
  kind: GeogateErrorKind;
  requestId: string;
  attempts: number;
  status?: number | undefined;
  code?: string | undefined;
  issues?: InputIssue[] | undefined;
  cause?: unknown;
}

/**
 * A failed call to geogate: thrown for `unauthorized`, `invalid-request` and `rejected`, reported
 * as `error` of a fail-mode result otherwise.
 * @example
 * try {
 *   await geogate.check(request);
 * } catch (e) {
 *   if (e instanceof GeogateError && e.kind === 'unauthorized') alert('CHECK_TOKEN rotated?');
 *   throw e;
 * }
 */
export class GeogateError extends Error {
  override readonly name = 'GeogateError';
  readonly kind: GeogateErrorKind;
  /** The HTTP status, when geogate (or something in front of it) answered. */
  readonly status: number | undefined;
  /** geogate's error code (`UNAUTHORIZED`, `INVALID_REQUEST`, `NOT_CONFIGURED`…), when it sent one. */
  readonly code: string | undefined;
  /** The fields a 400 names. */
  readonly issues: InputIssue[] | undefined;
  readonly requestId: string;
  readonly attempts: number;

  /** Built by the client; `message` says what happened in one line. */
  constructor(message: string, details: GeogateErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.status = details.status;
    this.code = details.code;
    this.issues = details.issues;
    this.requestId = details.requestId;
    this.attempts = details.attempts;
  }

  /** True when geogate could not be reached (the fail mode answers), false when it refused the call. */
  get unreachable(): boolean {
    return UNREACHABLE.has(this.kind);
  }
}

/** One attempt's outcome: a decision, or an error and whether another attempt may help. */
type Attempt =
  | { ok: true; body: DecisionBody; text: string }
  | { ok: false; kind: GeogateErrorKind; message: string; retryable: boolean; status?: number; code?: string; issues?: InputIssue[]; retryAfterMs?: number; cause?: unknown };

/** Resolved options. */
interface Settings {
  url: string;
  headers: Record<string, string>;
  fetch: FetchLike;
  timeoutMs: number;
  attemptTimeoutMs: number;
  retries: number;
  baseMs: number;
  maxMs: number;
  failMode: FailMode;
}

/**
 * A client for geogate's POST /v1/check. Create one per process (or per Worker isolate) and share
 * it: the cache lives in the instance.
 * @example
 * const result = await geogate.check({
 *   ip: req.headers['cf-connecting-ip'],
 *   geo: { country: req.headers['cf-ipcountry'] },
 *   account: { id: session.userId },
 *   surface: 'login',
 * });
 * if (result.decision === 'deny') return res.status(403).end();
 * if (result.decision === 'challenge') return res.redirect('/verify');
 * if (result.failed) log.warn('geogate degraded', result);
 */
export class GeogateClient {
  readonly #settings: Settings;
  readonly #cache: DecisionCache | undefined;

  /** Validates the options; a wrong option throws (TypeError / RangeError) here, never on a request. */
  constructor(options: GeogateClientOptions) {
    this.#settings = settingsOf(options);
    const cache = options.cache;
    if (cache !== undefined && cache !== false) {
      const ttlMs = cache.ttlMs ?? DEFAULT_CACHE_TTL_MS;
      const maxEntries = cache.maxEntries ?? DEFAULT_CACHE_ENTRIES;
      checkInteger('cache.ttlMs', ttlMs, 1, MAX_CACHE_TTL_MS);
      checkInteger('cache.maxEntries', maxEntries, 1, 10_000_000);
      const now = options.now ?? Date.now;
      this.#cache = new DecisionCache(ttlMs, maxEntries, () => now());
    }
  }

  /**
   * Asks geogate about one end-user request. Resolves with geogate's decision, a cached one, or the
   * fail mode's (see {@link CheckResult}); rejects with a {@link GeogateError} when geogate refuses
   * the call (401/403, 400, other 4xx), and with the signal's reason when `options.signal` aborts.
   * @example
   * const { decision, source } = await geogate.check({ ip, geo: { country: 'US' } });
   */
  async check(request: CheckRequest, options: CheckOptions = {}): Promise<CheckResult> {
    const { signal } = options;
    throwIfAborted(signal);
    const requestId = request.requestId ?? newRequestId();
    // Serialised once, at the call: later changes to `request` change neither the body nor the key.
    const body = JSON.stringify({ ...request, requestId });
    const cache = options.cache === false ? undefined : this.#cache;
    const key = cache === undefined ? undefined : cacheKey(request);
    if (cache !== undefined && key !== undefined) {
      const hit = cache.get(key);
      if (hit !== undefined) return { source: 'cache', decision: hit.body.decision, failed: false, body: hit.body, requestId, ageMs: hit.ageMs };
    }
    const s = this.#settings;
    const deadline = Date.now() + s.timeoutMs;
    for (let attempts = 1; ; attempts++) {
      const budget = Math.min(s.attemptTimeoutMs, deadline - Date.now());
      const outcome = await attempt(s, body, budget, signal);
      if (outcome.ok) {
        if (cache !== undefined && key !== undefined && isCacheable(outcome.body)) cache.set(key, outcome.text);
        return { source: 'geogate', decision: outcome.body.decision, failed: outcome.body.failed, body: outcome.body, requestId, attempts };
      }
      const error = new GeogateError(outcome.message, { ...outcome, requestId, attempts });
      if (!error.unreachable) throw error;
      const wait = outcome.retryable && attempts <= s.retries ? retryWait(s, attempts, outcome.retryAfterMs) : undefined;
      if (wait === undefined || Date.now() + wait + MIN_ATTEMPT_MS > deadline) {
        return { source: 'fail-mode', decision: FAIL_MODE_DECISION[s.failMode], failed: true, failMode: s.failMode, error, requestId, attempts };
      }
      await sleep(wait, signal);
    }
  }

  /** Drops every cached decision (after an account change the origin knows of, say). */
  clearCache(): void {
    this.#cache?.clear();
  }
}

/** Validates and resolves the options. */
function settingsOf(options: GeogateClientOptions): Settings {
  if (typeof options.token !== 'string' || options.token === '') throw new TypeError('geogate client: `token` (the CHECK_TOKEN) is required');
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new TypeError('geogate client: `baseUrl` must be an absolute http(s) URL');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError('geogate client: `baseUrl` must be an absolute http(s) URL');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  checkInteger('timeoutMs', timeoutMs, 1, 60_000);
  const attemptTimeoutMs = options.attemptTimeoutMs ?? timeoutMs;
  checkInteger('attemptTimeoutMs', attemptTimeoutMs, 1, timeoutMs);
  const retries = options.retries ?? 1;
  checkInteger('retries', retries, 0, MAX_RETRIES);
  const baseMs = options.backoff?.baseMs ?? 50;
  const maxMs = options.backoff?.maxMs ?? Math.max(250, baseMs);
  checkInteger('backoff.baseMs', baseMs, 0, 1_000);
  checkInteger('backoff.maxMs', maxMs, baseMs, 1_000);
  const failMode = options.failMode ?? 'closed';
  if (!Object.hasOwn(FAIL_MODE_DECISION, failMode)) throw new TypeError('geogate client: `failMode` must be "closed", "challenge" or "open"');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const lower = name.toLowerCase();
    // /v1/check refuses any Geogate-* header (it would be forward-auth traffic) with a 400.
    if (lower === 'authorization' || lower === 'content-type' || lower.startsWith('geogate-')) {
      throw new TypeError(`geogate client: header ${name} is set by the client or refused by geogate`);
    }
    headers[lower] = value;
  }
  headers['content-type'] = 'application/json';
  headers.accept = 'application/json';
  headers.authorization = `Bearer ${options.token}`;
  const userFetch = options.fetch;
  return {
    // Joined by hand: new URL('/v1/check', base) would drop a path prefix such as /geogate.
    url: `${base.origin}${base.pathname.replace(/\/+$/, '')}/v1/check`,
    headers,
    // Called as a plain function, and globalThis.fetch looked up per call: a fetch invoked as a
    // method of another object throws "Illegal invocation" in Workers.
    fetch: userFetch ?? ((url, init) => globalThis.fetch(url, init)),
    timeoutMs,
    attemptTimeoutMs,
    retries,
    baseMs,
    maxMs,
    failMode,
  };
}

/** Throws a RangeError unless `value` is an integer in [min, max]. */
function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`geogate client: \`${name}\` must be an integer from ${min} to ${max}`);
}

/** A request id for a call that has none, so that every attempt and the logs share one. */
function newRequestId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  return `gg-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/**
 * One attempt: POST, read the answer within `budgetMs`, classify it. Rejects only when `signal`
 * aborts. The deadline is raced rather than left to the fetch's signal alone, so that a fetch that
 * ignores its signal (a test double, an older runtime) cannot hold the call past its budget.
 */
async function attempt(s: Settings, body: string, budgetMs: number, signal: AbortSignal | undefined): Promise<Attempt> {
  throwIfAborted(signal);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<Attempt>((resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, kind: 'timeout', message: `geogate did not answer within ${budgetMs} ms`, retryable: true });
    }, Math.max(0, budgetMs));
    onAbort = () => {
      controller.abort();
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller's abort reason passes through as given, as fetch does
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const answered = (async (): Promise<Attempt> => {
    try {
      const fetch = s.fetch;
      // The same signal bounds the body read: a server that sends headers and then stalls times out too.
      const res = await fetch(s.url, { method: 'POST', headers: { ...s.headers }, body, signal: controller.signal, redirect: 'manual' });
      const text = await res.text();
      return classify(res, text);
    } catch (cause) {
      // After a timeout or an abort `stopped` has already settled the race: this value is unused.
      return { ok: false, kind: 'network', message: `geogate could not be reached: ${describe(cause)}`, retryable: true, cause };
    }
  })();
  try {
    return await Promise.race([answered, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/** An HTTP answer as a decision or an error. */
function classify(res: ResponseLike, text: string): Attempt {
  const status = res.status;
  if (status >= 200 && status < 300) {
    const body = parseJson(text);
    if (status === 200 && isDecisionBody(body)) return { ok: true, body, text };
    return { ok: false, kind: 'bad-response', message: `geogate answered ${status} without a decision body`, retryable: false, status };
  }
  const error = errorOf(parseJson(text));
  const said = error ? `: ${error.code}: ${error.message}` : '';
  const details = { status, code: error?.code, issues: error?.issues };
  if (status === 429 || status >= 500) {
    const retryAfterMs = status === 429 || status === 503 ? retryAfter(res.headers.get('retry-after')) : undefined;
    return { ok: false, kind: 'unavailable', message: `geogate answered ${status}${said}`, retryable: true, ...details, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status === 401 || status === 403) {
    return { ok: false, kind: 'unauthorized', message: `geogate refused the token (${status}${said}): check CHECK_TOKEN`, retryable: false, ...details };
  }
  if (status === 400) return { ok: false, kind: 'invalid-request', message: `geogate refused the check request (400${said})`, retryable: false, ...details };
  const hint = status >= 300 && status < 400 ? ' (a redirect: check baseUrl, https and the path)' : '';
  return { ok: false, kind: 'rejected', message: `geogate answered ${status}${said}${hint}`, retryable: false, ...details };
}

/** Whether a parsed 200 body is a decision (checked lightly: geogate's own schema is the contract). */
function isDecisionBody(value: unknown): value is DecisionBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<keyof DecisionBody, unknown>>;
  const decision = v.decision;
  return (decision === 'allow' || decision === 'deny' || decision === 'challenge') && typeof v.failed === 'boolean' && Array.isArray(v.reasons) && typeof v.requestId === 'string' && typeof v.intel === 'object' && v.intel !== null;
}

/** geogate's `{ error: { code, message, issues? } }`, when the body is one. */
function errorOf(value: unknown): ApiErrorBody['error'] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const error = (value as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, issues } = error as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return { code, message, ...(Array.isArray(issues) ? { issues: issues as InputIssue[] } : {}) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After in ms (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The wait before retry number `retry`: full jitter, or the server's Retry-After when longer. */
function retryWait(s: Settings, retry: number, retryAfterMs: number | undefined): number {
  const cap = Math.min(s.maxMs, s.baseMs * 2 ** (retry - 1));
  const jitter = Math.floor(Math.random() * (cap + 1));
  return Math.max(jitter, retryAfterMs ?? 0);
}

/** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller's abort reason passes through as given, as fetch does
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- as above
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** The signal's reason; an Error naming the abort when it has none (older runtimes). */
function abortReason(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  return reason ?? Object.assign(new Error('The check was aborted'), { name: 'AbortError' });
}

/** A thrown value as one line (fetch's TypeError hides the useful part in `cause`). */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return `${e.message}${cause}`;
}
