// The fault suite's harness (test/integration/faults/*.test.ts, documented in docs/faults.md): the
// real local KV namespace and Durable Object namespaces wrapped in proxies whose behaviour a test
// switches at runtime (a read that throws, hangs until the dependency heals, answers corrupt or
// future-schema data, or changes from one read to the next), and the three ways into a decision
// (POST /v1/check, /v1/authorize, the AccessCheck RPC entrypoint) plus /healthz, all run through
// the Worker's own default export with an env that holds the faulty bindings. Nothing is mocked
// but the binding: the stores, the engine, the routes and the objects are the deployed code.
//
// Recovery "without a restart": a test never resets the isolate's caches after it injected a
// fault. It heals the binding and moves the pinned clock past the retry interval, as time would.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { memoryCache, memoryHealth } from '../../../src/accounts/memory';
import { revocationHealth } from '../../../src/challenge/revocations';
import worker from '../../../src/index';
import type { DecisionBody } from '../../../src/routes/decide';
import { AccessCheck } from '../../../src/rpc/access-check';
import type { RecentCalls } from '../../../src/store/recent-failures';
import { CHECK_TOKEN, resetPolicyState } from '../../helpers';

// --- injected faults --------------------------------------------------------------------------

/** What one read does instead of reading the real binding. */
export type ReadFault =
  /** The read throws (KV: "unavailable"; an object: its RPC rejects). */
  | { readonly kind: 'throw' }
  /** The read never answers until the dependency heals (then it answers the real value). */
  | { readonly kind: 'hang' }
  /** The read answers this text (corrupt, truncated, wrong types, a future schema). */
  | { readonly kind: 'text'; readonly text: string }
  /** The read answers these bytes (binary garbage, invalid UTF-8). */
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  /** The read answers `size` bytes of JSON-ish filler (oversized), streamed. */
  | { readonly kind: 'oversized'; readonly size: number }
  /** The read finds nothing. */
  | { readonly kind: 'absent' };

/** One read's plan: a fault, or `real`. A sequence is consumed read by read, its last entry repeating. */
export type ReadPlan = ReadFault | 'real' | readonly (ReadFault | 'real')[];

/** Shorthands for the fault table. */
export const fault = {
  throw: { kind: 'throw' } as ReadFault,
  hang: { kind: 'hang' } as ReadFault,
  absent: { kind: 'absent' } as ReadFault,
  text: (text: string): ReadFault => ({ kind: 'text', text }),
  bytes: (bytes: Uint8Array): ReadFault => ({ kind: 'bytes', bytes }),
  oversized: (size: number): ReadFault => ({ kind: 'oversized', size }),
};

/** Binary garbage: invalid UTF-8, a NUL, a lone continuation byte. */
export const GARBAGE = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x7b, 0x22, 0xed, 0xa0, 0x80]);

/** Reads held by a `hang` fault, released when the dependency heals. */
class Held {
  readonly #waiting: (() => void)[] = [];

  /** A promise that runs `then` once released (or after `maxMs`, so that a forgotten hang never outlives its test file). */
  hold<T>(then: () => Promise<T>, maxMs = 20_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const go = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        then().then(resolve, reject);
      };
      const timer = setTimeout(go, maxMs);
      this.#waiting.push(go);
    });
  }

  release(): void {
    for (const go of this.#waiting.splice(0)) go();
  }
}

function next(plans: Map<string, ReadPlan>, counts: Map<string, number>, key: string): ReadFault | 'real' {
  const n = counts.get(key) ?? 0;
  counts.set(key, n + 1);
  const plan = plans.get(key);
  if (plan === undefined) return 'real';
  if (typeof plan === 'string' || !Array.isArray(plan)) return plan as ReadFault | 'real';
  const seq = plan as readonly (ReadFault | 'real')[];
  return seq[Math.min(n, seq.length - 1)] ?? 'real';
}

const encoder = new TextEncoder();

/** A stream of `bytes`, in 64 KiB chunks. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + 65_536));
      at += 65_536;
    },
  });
}

/** `size` bytes of a JSON string that never ends, generated chunk by chunk. */
function oversizedStream(size: number): ReadableStream<Uint8Array> {
  const chunk = encoder.encode('"' + 'x'.repeat(65_535));
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

type KvGetType = 'text' | 'json' | 'arrayBuffer' | 'stream';

/** A value a fault answers, in the form `get` was asked for. */
async function asType(f: Extract<ReadFault, { kind: 'text' | 'bytes' | 'oversized' }>, type: KvGetType): Promise<unknown> {
  if (type === 'stream') return f.kind === 'oversized' ? oversizedStream(f.size) : streamOf(f.kind === 'text' ? encoder.encode(f.text) : f.bytes);
  const bytes = f.kind === 'text' ? encoder.encode(f.text) : f.kind === 'bytes' ? f.bytes : new Uint8Array(await new Response(oversizedStream(f.size)).arrayBuffer());
  if (type === 'arrayBuffer') return bytes.slice().buffer;
  const text = new TextDecoder().decode(bytes);
  return type === 'json' ? (JSON.parse(text) as unknown) : text;
}

/**
 * The real POLICY namespace behind a proxy whose reads follow a plan per key. Writes, deletes and
 * lists go through (a write fault is `writeFault`). `heal()` drops every plan and releases the
 * reads a `hang` holds: they answer the real value, late, as a recovered store would.
 */
export class FaultyKv {
  readonly plans = new Map<string, ReadPlan>();
  readonly #counts = new Map<string, number>();
  readonly #held = new Held();
  /**
   * What writes (put, delete) of a key do: `throw` (refused, nothing stored), `land-then-throw`
   * (stored, but the call fails: a lost acknowledgement), or go through (undefined).
   */
  writeFault: ((key: string) => 'throw' | 'land-then-throw' | undefined) | undefined;
  readonly binding: KVNamespace;

  constructor(readonly real: KVNamespace = env.POLICY) {
    const get = async (key: string, options?: KvGetType | { type?: KvGetType; cacheTtl?: number }): Promise<unknown> => {
      const type: KvGetType = typeof options === 'string' ? options : (options?.type ?? 'text');
      const realGet = () => (this.real.get as (k: string, o: unknown) => Promise<unknown>)(key, options);
      const step = next(this.plans, this.#counts, key);
      if (step === 'real') return realGet();
      switch (step.kind) {
        case 'throw':
          throw new Error(`injected fault: KV get ${key} failed`);
        case 'hang':
          return this.#held.hold(realGet);
        case 'absent':
          return null;
        default:
          return asType(step, type);
      }
    };
    const write = (name: 'put' | 'delete') => async (...args: unknown[]) => {
      const f = this.writeFault?.(String(args[0]));
      if (f === 'throw') throw new Error(`injected fault: KV ${name} ${String(args[0])} failed`);
      await (this.real[name] as (...a: unknown[]) => Promise<unknown>).apply(this.real, args);
      if (f === 'land-then-throw') throw new Error(`injected fault: KV ${name} ${String(args[0])} timed out (it landed)`);
    };
    this.binding = new Proxy(this.real, {
      get: (target, prop) => {
        if (prop === 'get') return get;
        if (prop === 'put' || prop === 'delete') return write(prop);
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** Sets what reads of `key` do from now on (the read count restarts). */
  set(key: string, plan: ReadPlan): this {
    this.plans.set(key, plan);
    this.#counts.set(key, 0);
    return this;
  }

  /** How many reads of `key` the Worker made since its plan was set (or since the start). */
  reads(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** The dependency is back: no more faults, and held reads answer the real value now. */
  heal(): void {
    this.plans.clear();
    this.writeFault = undefined;
    this.#held.release();
  }
}

/** What one call to a memory object does instead of calling it. */
export type CallFault =
  | { readonly kind: 'throw'; readonly message?: string }
  | { readonly kind: 'hang' }
  /** The object answers this value (corrupt, a future shape). */
  | { readonly kind: 'answer'; readonly value: unknown }
  /** The object is called, and its real answer is transformed (an older summary, another kind). */
  | { readonly kind: 'transform'; readonly f: (real: unknown) => unknown }
  /** The call hangs until the dependency heals, then answers this value (a late, older answer). */
  | { readonly kind: 'late'; readonly value: unknown };

export type CallPlan = CallFault | 'real' | readonly (CallFault | 'real')[];

type RecordingStub = { record(...args: unknown[]): Promise<unknown> } & Record<string, unknown>;

/**
 * A Durable Object namespace (ACCOUNT_ACTIVITY, ORG_ACTIVITY) behind a proxy whose `record` calls
 * follow a plan (per object name, or `*` for every one). Other methods reach the real object.
 */
export class FaultyObjects<N extends { idFromName(name: string): DurableObjectId; get(id: DurableObjectId): unknown }> {
  readonly plans = new Map<string, CallPlan>();
  readonly #counts = new Map<string, number>();
  readonly #held = new Held();
  /** Names by id, so that a plan can name the object. */
  readonly #names = new Map<string, string>();
  readonly binding: N;

  constructor(readonly real: N) {
    const record = (name: string, realStub: RecordingStub) => async (...args: unknown[]): Promise<unknown> => {
      const key = this.plans.has(name) ? name : '*';
      const step = next(this.plans as Map<string, ReadPlan>, this.#counts, key) as CallFault | 'real';
      const call = () => realStub.record(...args);
      if (step === 'real') return call();
      switch (step.kind) {
        case 'throw':
          throw new Error(step.message ?? 'injected fault: the Durable Object is unavailable');
        case 'hang':
          return this.#held.hold(call);
        case 'answer':
          return step.value;
        case 'transform':
          return step.f(await call());
        case 'late':
          return this.#held.hold(() => Promise.resolve(step.value));
      }
    };
    this.binding = new Proxy(real, {
      get: (target, prop) => {
        if (prop === 'idFromName') {
          return (name: string) => {
            const id = target.idFromName(name);
            this.#names.set(id.toString(), name);
            return id;
          };
        }
        if (prop === 'get') {
          return (id: DurableObjectId) => {
            const realStub = target.get(id) as RecordingStub;
            const name = this.#names.get(id.toString()) ?? id.toString();
            return new Proxy(realStub, {
              get: (stub, p) => (p === 'record' ? record(name, stub) : (Reflect.get(stub, p) as unknown)),
            });
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** Sets what `record` calls to the object named `name` (or `*`: every object) do from now on. */
  set(name: string, plan: CallPlan): this {
    this.plans.set(name, plan);
    this.#counts.set(name, 0);
    return this;
  }

  heal(): void {
    this.plans.clear();
    this.#held.release();
  }
}

// --- the ways into a decision -----------------------------------------------------------------

/** A check request as the fault tests write it (the /v1/check body; /v1/authorize gets it as headers). */
export interface CheckBody {
  ip?: string;
  geo?: { country?: string; asn?: number };
  account?: { id?: string; orgId?: string };
  clearance?: string;
  surface?: string;
}

/** A decision as any transport answered it. */
export interface Answer {
  readonly transport: Transport;
  /** HTTP status (RPC: 200). */
  readonly status: number;
  readonly body: DecisionBody;
  /** /v1/authorize's headers (empty for the others). */
  readonly headers: Headers;
  /** How long the answer took, wall clock. */
  readonly ms: number;
}

export type Transport = 'check' | 'authorize' | 'rpc';
export const TRANSPORTS: readonly Transport[] = ['check', 'authorize', 'rpc'];

/** Execution contexts whose background work is still running (a held read, a batch). */
const running: ExecutionContext[] = [];

/** Waits for the background work of every call made so far (heal hung faults first). */
export async function settle(): Promise<void> {
  while (running.length > 0) await Promise.all(running.splice(0).map((ctx) => waitOnExecutionContext(ctx)));
}

/** The env a faulty deployment runs with: the real bindings, some replaced. */
export function envWith(overrides: Partial<Env> & Record<string, unknown> = {}): Env {
  return { ...env, ...overrides };
}

function headersOf(body: CheckBody): Headers {
  // The whole decision body (the default is a lean one for proxies): the suite compares fields.
  const h = new Headers({ authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full' });
  if (body.ip !== undefined) h.set('geogate-ip', body.ip);
  if (body.geo?.country !== undefined) h.set('geogate-country', body.geo.country);
  if (body.geo?.asn !== undefined) h.set('geogate-asn', String(body.geo.asn));
  if (body.account?.id !== undefined) h.set('geogate-account-id', body.account.id);
  if (body.account?.orgId !== undefined) h.set('geogate-org-id', body.account.orgId);
  if (body.clearance !== undefined) h.set('geogate-clearance', body.clearance);
  if (body.surface !== undefined) h.set('geogate-surface', body.surface);
  return h;
}

/** One fetch through the Worker's default export with `e`; its background work keeps running. */
export async function fetchWith(e: Env, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  running.push(ctx);
  return worker.fetch(request, e, ctx);
}

/** Asks for a decision through `transport`, with the deployment's bindings `e`. */
export async function decide(transport: Transport, e: Env, body: CheckBody): Promise<Answer> {
  const wall = performance.now();
  if (transport === 'rpc') {
    const ctx = createExecutionContext();
    running.push(ctx);
    const result = await new AccessCheck(ctx, e).check(body);
    expect(result, JSON.stringify(result)).not.toHaveProperty('error');
    return { transport, status: 200, body: result as unknown as DecisionBody, headers: new Headers(), ms: performance.now() - wall };
  }
  const request =
    transport === 'check'
      ? new Request('https://geogate.test/v1/check', { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      : new Request('https://geogate.test/v1/authorize', { headers: headersOf(body) });
  const res = await fetchWith(e, request);
  const text = await res.text();
  const ms = performance.now() - wall;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${transport} answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  expect(json, `${transport} answered ${res.status}: ${text.slice(0, 400)}`).toHaveProperty('decision');
  return { transport, status: res.status, body: json as DecisionBody, headers: res.headers, ms };
}

/** The status /v1/authorize answers for a decision. */
export const AUTHORIZE_STATUS = { allow: 200, challenge: 401, deny: 403 } as const;

/** /healthz's body. */
export interface Health {
  status: 'ok' | 'degraded';
  policy: { version: string; source: string; snapshot: string } | null;
  cause?: { kind: string; message: string; since: string };
  failMode?: { mode: string; from: string };
  intel: { status: string; source: string; id: string; cause?: { kind: string } } | null;
  memory: { status: string; failures: number; lastFailure?: { kind: string } };
  [k: string]: unknown;
}

/** GET /healthz with the deployment's bindings `e`; `ms` is how long it took. */
export async function healthz(e: Env): Promise<Health & { ms: number }> {
  const wall = performance.now();
  const res = await fetchWith(e, new Request('https://geogate.test/healthz'));
  expect(res.status).toBe(200);
  const body = await res.json<Health>();
  return { ...body, ms: performance.now() - wall };
}

// --- state --------------------------------------------------------------------------------------

/**
 * The next whole hour a day from now: the pinned clock every file starts at (ahead of the real
 * clock, so the memory objects' idle alarms never fire mid-test).
 */
export const T0 = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 86_400_000;

/** Pins the clock of the Worker and the objects (vitest's fake Date; timers stay real). */
export function at(ms: number): void {
  vi.setSystemTime(ms);
}

/** Moves the pinned clock on by `ms`. */
export function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

/**
 * A new isolate's state, between tests only (never inside one: recovery must come without it):
 * every fault healed, background work settled, the module caches and the dependencies' health
 * forgotten, the keys emptied.
 */
export async function freshIsolate(faults: readonly { heal(): void }[] = []): Promise<void> {
  for (const f of faults) f.heal();
  await settle();
  await resetPolicyState();
  memoryCache.clear();
  for (const health of [memoryHealth, revocationHealth] as RecentCalls<string>[]) {
    health.lastOk = undefined;
    health.lastFailure = undefined;
    health.failures = 0;
  }
}

/**
 * Registers a fault file's isolation of each test: before it, Date faked at T0, a fresh isolate
 * and then `setup` (e.g. the pointer in force); after it, every fault healed, a fresh isolate and
 * the real clock (a fake clock left behind would leak into the next file's tests).
 */
export function isolateEachTest(faults: readonly { heal(): void }[], setup?: () => Promise<void>): void {
  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(T0);
    await freshIsolate(faults);
    await setup?.();
  });
  afterEach(async () => {
    await freshIsolate(faults);
    vi.useRealTimers();
  });
}

/** The reason codes of a decision. */
export const codes = (a: Answer | DecisionBody): string[] => ('body' in a ? a.body : a).reasons.map((r) => r.code);

/** The POLICY_UNAVAILABLE reason's evidence, if any. */
export function unavailable(a: Answer): Record<string, unknown> | undefined {
  return a.body.reasons.find((r) => r.code === 'POLICY_UNAVAILABLE')?.evidence;
}

/**
 * What every transport must say about one decision: the same decision (authorize: as its status),
 * `failed` and Geogate-Failed alike, and an answer within `budgetMs`.
 */
export function expectConsistent(a: Answer, want: { decision: DecisionBody['decision']; failed: boolean; budgetMs: number }): void {
  const where = `${a.transport}: ${JSON.stringify({ decision: a.body.decision, failed: a.body.failed, reasons: codes(a), ms: Math.round(a.ms) })}`;
  expect(a.body.decision, where).toBe(want.decision);
  expect(a.body.failed, where).toBe(want.failed);
  expect(a.ms, where).toBeLessThan(want.budgetMs);
  if (a.transport === 'authorize') {
    expect(a.status, where).toBe(AUTHORIZE_STATUS[want.decision]);
    expect(a.headers.get('geogate-failed'), where).toBe(want.failed ? 'true' : null);
  }
}
