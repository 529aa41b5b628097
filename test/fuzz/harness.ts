// What every hostile-input property shares (npm run test:fuzz, scripts/test-fuzz.mjs): the number
// of cases and the seed, the way requests reach the Worker, what every answer from the app must
// look like, and the order of permissiveness the differential properties compare.
//
// Requests go to the Worker's own fetch handler (`worker.fetch(request, env, ctx)`, the function
// the runtime calls), not through SELF.fetch: inside the Workers pool every SELF.fetch (and every
// call through a service binding) gets slower the more of them a test file has made (5 ms at the
// start, 100-400 ms after a thousand, measured here), which would cap the suite at a few thousand
// cases; the handler itself answers in ~0.3 ms. One property (surface.test.ts, "surface.self")
// sends a sample through SELF.fetch and checks that both paths answer the same, and the RPC
// properties send a sample through the real service binding.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import type { ErrorCode } from '../../src/http/errors';
import worker from '../../src/index';
import { CHECK_TOKEN, defaultDocument, usePolicy } from '../helpers';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import weights from './weights.json';

declare module 'vitest' {
  interface TaskMeta {
    /** Cases a fuzz property ran (scripts/test-fuzz.mjs sums them from reports/fuzz.json). */
    fuzzCases?: number;
    fuzzSeed?: number;
  }
}

type FuzzEnv = { FUZZ_RUNS?: string; FUZZ_SEED?: string };
const fuzzEnv = env as unknown as FuzzEnv;

/** The fixed seed (FUZZ_SEED, else a constant): every run sees the same cases. */
export const SEED = /^-?\d+$/.test(fuzzEnv.FUZZ_SEED ?? '') ? Number(fuzzEnv.FUZZ_SEED) : 20261126;

/** Cases per unit of weight (FUZZ_RUNS; scripts/test-fuzz.mjs sets it, 200 when run bare). */
export const BASE_RUNS = /^\d+$/.test(fuzzEnv.FUZZ_RUNS ?? '') && Number(fuzzEnv.FUZZ_RUNS) > 0 ? Number(fuzzEnv.FUZZ_RUNS) : 200;

/** A property's name: a key of weights.json. */
export type PropertyName = Exclude<keyof typeof weights, '_comment'>;

/** Properties whose cases are capped whatever FUZZ_RUNS says (SELF.fetch and the service binding slow down with use). */
const CAPS: Partial<Record<PropertyName, number>> = { 'surface.self': 250, 'rpc.binding': 250, 'check.large': 150 };

/** How many cases the property runs. */
export function runsOf(name: PropertyName): number {
  const n = Math.max(1, Math.round(BASE_RUNS * weights[name]));
  return Math.min(n, CAPS[name] ?? n);
}

/**
 * Runs an async property with the fixed seed and its share of cases, records how many ran (the
 * test's meta, read by scripts/test-fuzz.mjs) and prints it. On failure fast-check's error names
 * the seed, the path and the (shrunk) counterexample.
 */
export async function fuzz<T>(task: { meta: { fuzzCases?: number; fuzzSeed?: number } }, name: PropertyName, arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, tally?: Tally): Promise<number> {
  const numRuns = runsOf(name);
  let ran = 0;
  let failing = false;
  const started = realNow();
  try {
    await fc.assert(
      fc.asyncProperty(arb, async (value) => {
        if (!failing) ran++;
        try {
          await predicate(value);
        } catch (e) {
          failing = true;
          throw e;
        }
      }),
      { seed: SEED, numRuns, endOnFailure: false },
    );
  } finally {
    // A failed property ran the cases up to its first counterexample (shrinking not counted).
    task.meta.fuzzCases = ran;
    task.meta.fuzzSeed = SEED;
    realConsole.warn(`fuzz ${name}: ${ran}${ran === numRuns ? '' : ` of ${numRuns}`} cases (seed ${SEED}, ${((realNow() - started) / 1000).toFixed(1)} s)${failing ? ' FAILED' : ''}`);
    if (tally && tally.counts.size > 0) realConsole.warn(`  ${name}: ${tally.toString()}`);
  }
  return numRuns;
}

// ---------------------------------------------------------------------------------------------
// The clock and the console.

const realConsole = { log: console.log, warn: console.warn };
const realNow = Date.now.bind(Date);

/**
 * Keeps the decision logs (one console.log line per decision, docs/decision-logs.md) out of the
 * test output: vitest's onConsoleLog filter would drop them too, but only after each line crossed
 * to the host. Anything else still prints.
 */
export function quietDecisionLogs(): () => void {
  const original = console.log;
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('{"event":"geogate.decision"')) return;
    original(...args);
  };
  return () => {
    console.log = original;
  };
}

/** Pins the clock of the Worker (it runs in this isolate) to `ms`: a base request and its hostile variant are judged at the same instant. */
export function pinClock(ms: number): void {
  vi.setSystemTime(ms);
}

/** Fakes Date only (timers stay real: the Worker's background work still runs). */
export function fakeDate(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
}

export function realDate(): void {
  vi.useRealTimers();
}

/** Called at a test file's top level: the decision logs kept quiet for the file, the console and the real clock restored after it. */
export function quietFile(): void {
  let restoreConsole: () => void;
  beforeAll(() => {
    restoreConsole = quietDecisionLogs();
  });
  afterAll(() => {
    restoreConsole();
    realDate();
  });
}

// ---------------------------------------------------------------------------------------------
// Reaching the Worker.

/** Sends a request to the Worker's fetch handler and waits for its background work. */
export async function send(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

// ---------------------------------------------------------------------------------------------
// What every answer from the app looks like.

/** Every code apiError may answer (src/http/errors.ts ErrorCode, the admin store's included): a code added there fails the type check here. */
const ERROR_CODE_LIST: Record<ErrorCode, true> = {
  INVALID_JSON: true, INVALID_REQUEST: true, UNAUTHORIZED: true, NOT_FOUND: true, METHOD_NOT_ALLOWED: true, PAYLOAD_TOO_LARGE: true,
  UNSUPPORTED_MEDIA_TYPE: true, NOT_CONFIGURED: true, MISROUTED: true, INTERNAL: true, FORBIDDEN: true, POLICY_UNAVAILABLE: true,
  TICKET_INVALID: true, TICKET_MISMATCH: true, KIND_NOT_OFFERED: true, TURNSTILE_FAILED: true, TURNSTILE_SPENT: true,
  TURNSTILE_MISMATCH: true, TURNSTILE_UNAVAILABLE: true, TURNSTILE_TIMEOUT: true, INVALID_POLICY: true, INVALID_LIST: true,
  VERSION_EXISTS: true, LIST_IN_USE: true, PRECONDITION_FAILED: true, PRECONDITION_REQUIRED: true, OUT_OF_BAND_CHANGE: true,
  INVALID_INTEL: true, INTEL_SHRINKS: true, INTEL_OLDER: true, STORAGE_UNAVAILABLE: true,
};
const ERROR_CODES: ReadonlySet<string> = new Set(Object.keys(ERROR_CODE_LIST));

/** A 5xx the app answers by contract, not by failure: the status, the code, and why it is allowed. */
export interface AllowedServerError {
  readonly status: number;
  readonly code: ErrorCode;
}

/** /v1/authorize refuses a missing or wrong token with 500 (a 401 would challenge every user after a rotation): docs/integrations.md. */
export const AUTHORIZE_TOKEN_REFUSED: AllowedServerError = { status: 500, code: 'UNAUTHORIZED' };

/** What {@link appAnswer} read. */
export interface Answer {
  readonly status: number;
  /** The parsed JSON body (undefined for HEAD, a redirect or an HTML page). */
  readonly json: unknown;
  readonly headers: Headers;
  readonly text: string;
}

/** The error code of a JSON error body, if it is one. */
export function errorCode(json: unknown): string | undefined {
  const error = (json as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}

/**
 * Reads an answer of the app and checks what every answer must be: never a 5xx (but the listed
 * contractual ones), `nosniff`, and every error (4xx/5xx) a JSON body `{ error: { code, message,
 * issues? } }` with a known code, each issue `{ path, code, message }` strings. `html` allows the
 * hosted challenge page's HTML pages (errors included: a page for people, not for programs).
 */
export async function appAnswer(res: Response, options: { method?: string; allow?: readonly AllowedServerError[]; html?: boolean; html5xx?: readonly number[] } = {}): Promise<Answer> {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const context = () => `${res.status} ${type} ${text.slice(0, 300)}`;
  expect(res.headers.get('x-content-type-options'), context()).toBe('nosniff');
  let json: unknown;
  if (type.startsWith('application/json') && options.method !== 'HEAD') {
    json = JSON.parse(text);
  }
  // /v1/authorize answers a challenge with 401 and a deny with 403: decisions, not errors.
  const decided = res.headers.get('geogate-decision');
  if (decided !== null) {
    expect([200, 401, 403], context()).toContain(res.status);
    if (json !== undefined) expect((json as { decision?: unknown }).decision, context()).toBe(decided);
    return { status: res.status, json, headers: res.headers, text };
  }
  if (res.status >= 400) {
    if (options.html && type.startsWith('text/html')) {
      if (res.status >= 500) expect(options.html5xx ?? [], `an HTML ${res.status} the page does not answer by contract: ${context()}`).toContain(res.status);
      return { status: res.status, json, headers: res.headers, text };
    }
    expect(type, context()).toMatch(/^application\/json/);
    if (options.method !== 'HEAD') {
      const code = errorCode(json);
      expect(code !== undefined && ERROR_CODES.has(code), context()).toBe(true);
      const error = (json as { error: { message?: unknown; issues?: unknown } }).error;
      expect(typeof error.message, context()).toBe('string');
      if (error.issues !== undefined) {
        expect(Array.isArray(error.issues), context()).toBe(true);
        for (const issue of error.issues as Record<string, unknown>[]) {
          expect([typeof issue.path, typeof issue.code, typeof issue.message], context()).toEqual(['string', 'string', 'string']);
        }
      }
      expect(Object.keys(json as object), context()).toEqual(['error']);
    }
    if (res.status >= 500) {
      const allowed = (options.allow ?? []).some((a) => a.status === res.status && (options.method === 'HEAD' || a.code === errorCode(json)));
      expect(allowed, `a 5xx the app does not answer by contract: ${context()}`).toBe(true);
    }
  }
  return { status: res.status, json, headers: res.headers, text };
}

// ---------------------------------------------------------------------------------------------
// Decisions and permissiveness.

export type Action = 'allow' | 'challenge' | 'deny';
const ACTIONS: readonly Action[] = ['allow', 'challenge', 'deny'];

/** The decision body's essentials. */
export interface DecisionView {
  decision: Action;
  score: number;
  reasons: { code: string; liftedBy?: string }[];
  signals: Record<string, unknown>;
  failed: boolean;
}

/** The decision a 200 from /v1/check carries (checked to be one), else undefined. */
export function decisionOf(answer: Answer): DecisionView | undefined {
  if (answer.status !== 200) return undefined;
  const body = answer.json as DecisionView;
  expect(ACTIONS, JSON.stringify(body).slice(0, 300)).toContain(body.decision);
  expect(typeof body.score).toBe('number');
  expect(Array.isArray(body.reasons)).toBe(true);
  expect(body.failed).toBe(false);
  return body;
}

/** What two decisions must share to be "the same decision". */
export function essentials(d: DecisionView) {
  return {
    decision: d.decision,
    score: d.score,
    reasons: d.reasons.map((r) => `${r.code}${r.liftedBy ? `/${r.liftedBy}` : ''}`).sort(),
    signals: d.signals,
  };
}

/**
 * How permissive an answer is, for the differential properties: allow 0 < challenge 1 < deny 2;
 * anything that is not a decision (a 400, 401, 413, 415: the request was refused) is Infinity,
 * i.e. never more permissive than a decision.
 */
export function severityOfCheck(answer: Answer): number {
  const d = decisionOf(answer);
  return d === undefined ? Number.POSITIVE_INFINITY : ACTIONS.indexOf(d.decision);
}

/**
 * The same for /v1/authorize, read as a proxy reads it: 200 (allow) < 401 (challenge) < 403
 * (deny), each only with the matching Geogate-Decision; every other status (400, 500) is not a
 * decision. A 2xx, 401 or 403 without its Geogate-Decision fails the property (promise 3).
 */
export function severityOfAuthorize(answer: Answer): number {
  const decision = answer.headers.get('geogate-decision');
  const expected: Record<number, Action> = { 200: 'allow', 401: 'challenge', 403: 'deny' };
  const action = expected[answer.status];
  if (answer.status >= 200 && answer.status < 300) expect(decision, `a ${answer.status} without Geogate-Decision`).toBe('allow');
  // A 403 without Geogate-Decision is an error (the check token at an admin route: FORBIDDEN);
  // proxies read it as a deny, so it is never more permissive. A 401 without one would be read as a
  // challenge: only a decision challenges.
  if (action === undefined || (answer.status === 403 && decision === null)) {
    expect(decision, `Geogate-Decision on a ${answer.status}`).toBeNull();
    return Number.POSITIVE_INFINITY;
  }
  expect(decision, `a ${answer.status} with Geogate-Decision ${decision}`).toBe(action);
  if (answer.json !== undefined) expect((answer.json as DecisionView).decision).toBe(action);
  return ACTIONS.indexOf(action);
}

/** Counts what the differential properties met, so that a property cannot pass by never trying. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  toString(): string {
    return [...this.counts].map(([k, v]) => `${k}=${v}`).join(' ');
  }
}

// ---------------------------------------------------------------------------------------------
// Policies the differential properties run under. Account memory is off: with it, every check
// writes the account's memory and the next one reads it, so a base request and its variant would
// not be judged on the same facts (memory only ever adds suspicion: test/unit/properties.test.ts).

/** The shipped default policy, memory off. */
export const DEFAULT_FUZZ_POLICY = { ...defaultDocument(), version: 'fuzz-default', history: { mode: 'off' } };

/** The allow-list policy with allow-exceptions and CIDR rules (test/fixtures/golden/exceptions-policy.json), memory off. */
export const EXCEPTIONS_FUZZ_POLICY = { ...exceptionsGolden.policy, version: 'fuzz-exceptions', history: { mode: 'off' } };

export const FUZZ_POLICIES = { default: DEFAULT_FUZZ_POLICY, exceptions: EXCEPTIONS_FUZZ_POLICY } as const;
export type FuzzPolicyName = keyof typeof FUZZ_POLICIES;

/** Every fuzz policy's name, for describe.each. */
export const FUZZ_POLICY_NAMES = Object.keys(FUZZ_POLICIES) as FuzzPolicyName[];

/** The URL the fuzz suite posts checks to. */
export const CHECK_URL = 'https://geogate.test/v1/check';

/** A POST /v1/check as an origin sends it (token and JSON type unless told otherwise). */
export function checkRequest(body: string | Uint8Array, init: { token?: string | null; contentType?: string | null; headers?: readonly [string, string][] } = {}): Request {
  const headers = new Headers(init.headers as [string, string][] | undefined);
  const token = init.token === undefined ? CHECK_TOKEN : init.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  const type = init.contentType === undefined ? 'application/json' : init.contentType;
  if (type !== null) headers.set('content-type', type);
  return new Request(CHECK_URL, { method: 'POST', headers, body });
}

export { usePolicy };

/** Called in a describe block: `doc` the policy in force and Date faked (fakeDate) for its tests, the real clock after them. */
export function underPolicy(doc: unknown): void {
  beforeAll(async () => {
    await usePolicy(doc);
    fakeDate();
  });
  afterAll(() => realDate());
}

/** The names Object.prototype has: a body must never add one (prototype pollution). */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

/** Fails when anything added a property to Object.prototype or Array.prototype. */
export function expectNoPollution(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(PROTOTYPE_NAMES);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
}
