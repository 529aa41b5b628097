// The intel store (src/store/intel-store.ts) over an in-memory TextStore that counts reads per key
// and injects faults (throwing, hanging, oversized and held reads), with an injected clock: the
// sources in order (intel:active's artifact, the isolate's last good, intel:last-good's artifact,
// the bundled copy), typed failures, one artifact read per new pointer, the mirror, recovery, and
// loads that land late.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_INTEL_ID } from '../../src/engine/data/network-intel';
import { bundledIntel, encodeIntel } from '../../src/engine/intel';
import { parseIp } from '../../src/engine/ip';
import { buildIntel } from '../../src/intel/build';
import { ACTIVE_INTEL_KEY, intelKey, LAST_GOOD_INTEL_KEY } from '../../src/policy/keys';
import { sha256Hex } from '../../src/policy/snapshot';
import { IntelStore, MAX_INTEL_BYTES, readIntelPointer, type IntelAnswer, type IntelFailureKind } from '../../src/store/intel-store';
import type { TextRead, TextStore } from '../../src/store/text-store';

const TTL = 30_000;
const RETRY = 5_000;
const MAX_STALE = 300_000;
const BUDGET = 50;
const LOAD_TIMEOUT = 10_000;
const T0 = Date.parse('2026-11-26T12:00:00Z');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- artifacts --------------------------------------------------------------------------------

interface Artifact {
  readonly version: string;
  readonly text: string;
  readonly id: string;
}

const SOURCE = { repository: 'test/intel', commit: 'abc1234', date: '2026-11-01', license: 'MIT' };

/** A small artifact of its own version: one VPN block, one datacenter block, two ASNs. */
async function artifact(version: string, vpn = '198.51.100.0/24'): Promise<Artifact> {
  const built = buildIntel({
    version,
    source: SOURCE,
    asns: { vpn: 'AS64500 # Test VPN', datacenter: 'AS64501' },
    cidrs: { vpn: [vpn], datacenter: ['203.0.113.0/24'] },
  });
  if (!built.ok) throw new Error(`test artifact does not build: ${JSON.stringify(built.problems)}`);
  const text = encodeIntel(built.intel);
  return { version, text, id: await sha256Hex(text) };
}

/** The pointer text naming `id` (as PUT /v1/intel writes it). */
function pointer(id: string, version: string, storedBy = 'test'): string {
  return JSON.stringify({ geogate: 'intel-pointer', schema: 1, artifact: id, version, storedAt: new Date(T0).toISOString(), storedBy });
}

let A: Artifact;
let B: Artifact;
let C: Artifact;
/** Hashes to its id, but is not a schema-1 artifact: refused by decoding. */
let UNDECODABLE: Artifact;

beforeAll(async () => {
  A = await artifact('test-1');
  B = await artifact('test-2', '192.0.2.0/24');
  C = await artifact('test-3', '100.64.0.0/10');
  const text = JSON.stringify({ ...(JSON.parse(A.text) as object), schema: 2 });
  UNDECODABLE = { version: 'test-1', text, id: await sha256Hex(text) };
});

// --- an in-memory TextStore -------------------------------------------------------------------

type Fault = 'throw' | 'hang' | 'too-large';

/** An in-memory TextStore: counts reads per key, honours the byte bound, and injects faults per key ('*': every key). */
function memoryStore() {
  const texts = new Map<string, string>();
  const reads = new Map<string, number>();
  const bounds = new Map<string, number>();
  const writes: string[] = [];
  const faults = new Map<string, Fault>();
  const hung: (() => void)[] = [];
  const holds = new Map<string, Promise<TextRead>[]>();
  let failWrites = false;
  const store: TextStore = {
    async read(key, maxBytes) {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      bounds.set(key, maxBytes);
      const held = holds.get(key)?.shift();
      if (held) return held;
      const fault = faults.get(key) ?? faults.get('*');
      if (fault === 'throw') throw new Error('KV down (injected)');
      if (fault === 'hang') return new Promise<TextRead>((resolve) => hung.push(() => resolve({ kind: 'absent' })));
      if (fault === 'too-large') return { kind: 'too-large', bytes: maxBytes + 1 };
      await sleep(0);
      const text = texts.get(key);
      if (text === undefined) return { kind: 'absent' };
      const bytes = new TextEncoder().encode(text).byteLength;
      return bytes > maxBytes ? { kind: 'too-large', bytes } : { kind: 'text', text };
    },
    async write(key, text) {
      writes.push(key);
      await sleep(0);
      if (failWrites) throw new Error('KV write refused (injected)');
      texts.set(key, text);
    },
    metadata: () => Promise.resolve(undefined),
  };
  return {
    store,
    texts,
    faults,
    writes,
    bounds,
    reads: (key: string) => reads.get(key) ?? 0,
    failWrites: (on: boolean) => void (failWrites = on),
    /** Publishes an artifact as PUT /v1/intel does: the artifact, then the pointer naming it. */
    publish(a: Artifact) {
      texts.set(intelKey(a.id), a.text);
      texts.set(ACTIVE_INTEL_KEY, pointer(a.id, a.version));
    },
    /** The next read of `key` waits until the returned function settles it (a text, or an error to throw). */
    hold(key: string) {
      let settle!: (outcome: string | Error) => void;
      const p = new Promise<TextRead>((resolve, reject) => {
        settle = (o) => (o instanceof Error ? reject(o) : resolve({ kind: 'text', text: o }));
      });
      holds.set(key, [...(holds.get(key) ?? []), p]);
      return (outcome: string | Error) => settle(outcome);
    },
    /** Lets every hung read finish (as absent). */
    releaseHung: () => hung.splice(0).forEach((f) => f()),
  };
}
type Memory = ReturnType<typeof memoryStore>;

/** An IntelStore with the test timings, a hand-moved clock and collected logs. */
function newStore(opts: { throwOnLog?: RegExp } = {}) {
  let now = T0;
  const logs: string[] = [];
  const store = new IntelStore({
    ttlMs: TTL,
    retryMs: RETRY,
    maxStaleMs: MAX_STALE,
    loadBudgetMs: BUDGET,
    loadTimeoutMs: LOAD_TIMEOUT,
    log: (m) => {
      logs.push(m);
      if (opts.throwOnLog?.test(m)) throw new Error('injected bug');
    },
    clock: () => now,
  });
  const at = (t: number) => (now = t);
  /** A get at the clock's time. */
  const get = (mem: Memory) => store.get(mem.store, now);
  return { store, logs, at, get, now: () => now };
}

/** What every answer must be: some intel, never undefined, with its version and source. */
function summary(a: IntelAnswer) {
  expect(a).toBeDefined();
  expect(a.intel).toBeDefined();
  return { version: a.intel.version, source: a.source, id: a.id, failure: a.failure?.kind };
}

const vpnBlock = (a: IntelAnswer, ip: string) => {
  const parsed = parseIp(ip);
  if (!parsed) throw new Error(`bad test IP ${ip}`);
  return a.intel.matchIp(parsed, 'vpn', 'exact')?.cidr;
};

// --- tests ------------------------------------------------------------------------------------

describe('sources', () => {
  it('nothing stored (a deployment that never pushed intel): the bundled copy answers, healthily', async () => {
    const mem = memoryStore();
    const { store, get } = newStore();
    expect(store.status()).toBeUndefined();
    const a = await get(mem);
    expect(summary(a)).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: undefined });
    expect(a.intel).toBe(bundledIntel());
    expect(store.status()).toMatchObject({ status: 'ok', source: 'bundled', version: bundledIntel().version, id: BUNDLED_INTEL_ID });
    expect(store.status()?.cause).toBeUndefined();
    // The pointer, then intel:last-good (absent: no intel was ever pushed): no artifact read.
    expect(mem.reads(ACTIVE_INTEL_KEY)).toBe(1);
    expect(mem.reads(LAST_GOOD_INTEL_KEY)).toBe(1);
    expect(mem.writes).toEqual([]);
  });

  it('a good pointer and artifact: the artifact answers (source kv, its version and id), healthily', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, get } = newStore();
    const a = await get(mem);
    expect(summary(a)).toEqual({ version: 'test-1', source: 'kv', id: A.id, failure: undefined });
    expect(a.loadedAt).toBe(T0);
    // It is the artifact's data, not the bundled copy's.
    expect(vpnBlock(a, '198.51.100.7')).toBe('198.51.100.0/24');
    expect(vpnBlock(a, '2.26.157.9')).toBeUndefined();
    const stats = a.intel.stats;
    expect(store.status()).toEqual({
      status: 'ok',
      version: 'test-1',
      source: 'kv',
      id: A.id,
      loadedAt: new Date(T0).toISOString(),
      blocks: stats.blocks,
      intervals: stats.intervals,
      asns: 2,
    });
  });

  it('reads the pointer with a small bound and the artifact with MAX_INTEL_BYTES', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { get } = newStore();
    await get(mem);
    expect(mem.bounds.get(ACTIVE_INTEL_KEY)).toBeLessThanOrEqual(4096);
    expect(mem.bounds.get(intelKey(A.id))).toBe(MAX_INTEL_BYTES);
  });

  it('one artifact read per new pointer: after the TTL the same pointer re-reads only the pointer', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, at, get } = newStore();
    const first = await get(mem);
    at(T0 + TTL - 1);
    await get(mem);
    expect(mem.reads(ACTIVE_INTEL_KEY)).toBe(1);
    // Stale: the same intel answers at once while the pointer is re-read in the background.
    at(T0 + TTL);
    expect((await get(mem)).intel).toBe(first.intel);
    await store.settled();
    at(T0 + TTL + 1);
    const second = await get(mem);
    expect(mem.reads(ACTIVE_INTEL_KEY)).toBe(2);
    expect(mem.reads(intelKey(A.id))).toBe(1);
    expect(second.intel).toBe(first.intel);
    expect(summary(second)).toEqual({ version: 'test-1', source: 'kv', id: A.id, failure: undefined });
    expect(second.loadedAt).toBe(T0);
    // A new pointer: its artifact is read once, the old one never again.
    mem.publish(B);
    at(T0 + 2 * TTL);
    await get(mem);
    await store.settled();
    at(T0 + 2 * TTL + 1);
    expect(summary(await get(mem))).toEqual({ version: 'test-2', source: 'kv', id: B.id, failure: undefined });
    at(T0 + 3 * TTL);
    await get(mem);
    await store.settled();
    expect(mem.reads(ACTIVE_INTEL_KEY)).toBe(4);
    expect(mem.reads(intelKey(B.id))).toBe(1);
    expect(mem.reads(intelKey(A.id))).toBe(1);
  });

  it('intel:active deleted after a push: the last good intel answers, failed (missing), like a deleted policy', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, at, get } = newStore();
    await get(mem);
    mem.texts.delete(ACTIVE_INTEL_KEY);
    store.invalidate();
    at(T0 + 1);
    expect(summary(await get(mem))).toEqual({ version: 'test-1', source: 'last-known-good', id: A.id, failure: 'missing' });
    expect(store.status()).toMatchObject({ status: 'degraded', cause: { kind: 'missing' } });
  });

  it('intel:active deleted after a push, on a new isolate: intel:last-good answers, failed (missing)', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const first = newStore();
    await first.get(mem);
    await first.store.settled();
    mem.texts.delete(ACTIVE_INTEL_KEY);
    const { get } = newStore();
    const before = mem.reads(LAST_GOOD_INTEL_KEY);
    expect(summary(await get(mem))).toEqual({ version: 'test-1', source: 'last-known-good', id: A.id, failure: 'missing' });
    // intel:last-good is read once: the read that tells a push happened also serves the fallback.
    expect(mem.reads(LAST_GOOD_INTEL_KEY) - before).toBe(1);
  });

  it('both intel keys deleted: the bundled copy answers again, healthily (the way back to it is to push it)', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, at, get } = newStore();
    await get(mem);
    await store.settled();
    mem.texts.delete(ACTIVE_INTEL_KEY);
    mem.texts.delete(LAST_GOOD_INTEL_KEY);
    store.reset();
    at(T0 + 1);
    expect(summary(await get(mem))).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: undefined });
  });
});

/** One way intel:active's intel becomes unusable, and the failure kind it must be reported as. */
interface FaultCase {
  readonly name: string;
  readonly kind: IntelFailureKind;
  /** Breaks the store (which holds A, published): usually by publishing a broken B. */
  readonly apply: (mem: Memory) => void;
}

/** Every way to break it; the artifacts are resolved when a test runs (they are built in beforeAll). */
const FAULTS: readonly FaultCase[] = [
  {
    name: 'a corrupt artifact (one character altered)',
    kind: 'corrupt',
    apply: (mem) => {
      mem.publish(B);
      const i = B.text.indexOf('test-2');
      mem.texts.set(intelKey(B.id), `${B.text.slice(0, i)}test-9${B.text.slice(i + 6)}`);
    },
  },
  {
    name: 'a truncated artifact (the first half of its text under its id)',
    kind: 'corrupt',
    apply: (mem) => {
      mem.publish(B);
      mem.texts.set(intelKey(B.id), B.text.slice(0, Math.floor(B.text.length / 2)));
    },
  },
  {
    name: 'an artifact that hashes to its id but fails decoding',
    kind: 'invalid',
    apply: (mem) => mem.publish(UNDECODABLE),
  },
  {
    name: 'a missing artifact',
    kind: 'missing-artifact',
    apply: (mem) => mem.texts.set(ACTIVE_INTEL_KEY, pointer(B.id, B.version)),
  },
  {
    name: 'a malformed pointer (not JSON)',
    kind: 'invalid-pointer',
    apply: (mem) => mem.texts.set(ACTIVE_INTEL_KEY, '{"geogate": "intel-pointer", "schema": 1, "artifact"'),
  },
  {
    name: 'a pointer whose artifact is not a SHA-256',
    kind: 'invalid-pointer',
    apply: (mem) => mem.texts.set(ACTIVE_INTEL_KEY, pointer('../policy:active', 'x')),
  },
  {
    name: 'a pointer over its byte bound',
    kind: 'invalid-pointer',
    apply: (mem) => mem.texts.set(ACTIVE_INTEL_KEY, pointer(B.id, B.version, 'x'.repeat(5000))),
  },
  {
    name: 'an oversized artifact',
    kind: 'too-large',
    apply: (mem) => {
      mem.publish(B);
      mem.faults.set(intelKey(B.id), 'too-large');
    },
  },
  {
    name: 'storage throwing',
    kind: 'unreadable',
    apply: (mem) => mem.faults.set('*', 'throw'),
  },
  {
    name: 'storage hanging past the load budget',
    kind: 'timeout',
    apply: (mem) => mem.faults.set('*', 'hang'),
  },
];

/** Faults that leave intel:last-good readable (a throwing or hanging storage reads nothing). */
const lastGoodReadable = (f: FaultCase) => f.kind !== 'unreadable' && f.kind !== 'timeout';

describe.each(FAULTS)('when intel:active has $name', (fault) => {
  it(`a warm isolate keeps its last good intel (source last-known-good), degraded with cause ${fault.kind}`, async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, at, get } = newStore();
    await get(mem);
    await store.settled();
    fault.apply(mem);
    // Past maxStale: the caller waits for the load (at most the budget) instead of answering stale.
    at(T0 + MAX_STALE);
    const started = Date.now();
    const a = await get(mem);
    expect(Date.now() - started).toBeLessThan(BUDGET + 250);
    expect(summary(a)).toEqual({ version: 'test-1', source: 'last-known-good', id: A.id, failure: fault.kind });
    expect(a.loadedAt).toBe(T0);
    expect(vpnBlock(a, '198.51.100.7')).toBe('198.51.100.0/24');
    expect(store.status()).toMatchObject({
      status: 'degraded',
      version: 'test-1',
      source: 'last-known-good',
      id: A.id,
      cause: { kind: fault.kind, message: expect.any(String) as string, since: new Date(T0 + MAX_STALE).toISOString() },
    });
    // The cause never carries stored text.
    expect(JSON.stringify(store.status())).not.toContain('"geogate":"intel"');
    expect(JSON.stringify(store.status())).not.toContain('xxxxxxxx');
    // A fallback never overwrites the last good copy.
    expect(mem.writes).toEqual([LAST_GOOD_INTEL_KEY]);
    expect(mem.texts.get(LAST_GOOD_INTEL_KEY)).toBe(pointer(A.id, A.version));
    mem.releaseHung();
  });

  it(`a new isolate answers from intel:last-good's artifact${lastGoodReadable(fault) ? '' : ' when it can read it, else the bundled copy'}`, async () => {
    const mem = memoryStore();
    mem.texts.set(intelKey(A.id), A.text);
    mem.texts.set(LAST_GOOD_INTEL_KEY, pointer(A.id, A.version));
    fault.apply(mem);
    const { store, get } = newStore();
    const a = await get(mem);
    if (lastGoodReadable(fault)) {
      expect(summary(a)).toEqual({ version: 'test-1', source: 'last-known-good', id: A.id, failure: fault.kind });
    } else {
      expect(summary(a)).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: fault.kind });
    }
    expect(store.status()).toMatchObject({ status: 'degraded', cause: { kind: fault.kind } });
    mem.releaseHung();
  });

  it('a new isolate with no last good copy anywhere answers with the bundled copy, saying why', async () => {
    const mem = memoryStore();
    fault.apply(mem);
    const { store, get } = newStore();
    const a = await get(mem);
    expect(summary(a)).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: fault.kind });
    expect(a.intel).toBe(bundledIntel());
    expect(store.status()).toMatchObject({ status: 'degraded', source: 'bundled', cause: { kind: fault.kind } });
    mem.releaseHung();
  });

  it('recovers without a reset once the fault is fixed: the next load after retryMs is healthy', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, at, get } = newStore();
    await get(mem);
    await store.settled();
    fault.apply(mem);
    at(T0 + MAX_STALE);
    expect((await get(mem)).failure?.kind).toBe(fault.kind);
    // Fixed: the faults go and a good C is published.
    mem.faults.clear();
    mem.publish(C);
    const pointerReads = mem.reads(ACTIVE_INTEL_KEY);
    // A failed answer is fresh for retryMs: no read before it.
    at(T0 + MAX_STALE + RETRY - 1);
    expect((await get(mem)).failure?.kind).toBe(fault.kind);
    expect(mem.reads(ACTIVE_INTEL_KEY)).toBe(pointerReads);
    // A hung load is only given up once presumed lost (loadTimeoutMs); any other is retried after retryMs.
    at(T0 + MAX_STALE + (fault.kind === 'timeout' ? LOAD_TIMEOUT : RETRY));
    await get(mem);
    await store.settled();
    at(T0 + MAX_STALE + LOAD_TIMEOUT + 1);
    expect(summary(await get(mem))).toEqual({ version: 'test-3', source: 'kv', id: C.id, failure: undefined });
    expect(store.status()?.status).toBe('ok');
    expect(store.status()?.cause).toBeUndefined();
    mem.releaseHung();
    await sleep(0);
    expect(store.status()).toMatchObject({ status: 'ok', source: 'kv', version: 'test-3' });
  });
});

describe('fallbacks', () => {
  it('a last good copy that is itself broken is passed over for the bundled copy', async () => {
    const mem = memoryStore();
    mem.texts.set(LAST_GOOD_INTEL_KEY, pointer(A.id, A.version));
    mem.texts.set(intelKey(A.id), A.text.slice(0, 100));
    mem.texts.set(ACTIVE_INTEL_KEY, 'garbage');
    const { store, get } = newStore();
    expect(summary(await get(mem))).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: 'invalid-pointer' });
    expect(store.status()?.status).toBe('degraded');
  });

  it('a last good copy that is not a pointer is passed over for the bundled copy', async () => {
    const mem = memoryStore();
    mem.texts.set(LAST_GOOD_INTEL_KEY, A.text);
    mem.texts.set(intelKey(A.id), A.text);
    mem.texts.set(ACTIVE_INTEL_KEY, pointer(B.id, B.version));
    const { get } = newStore();
    expect(summary(await get(mem))).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: 'missing-artifact' });
  });

  it('a load that throws (a bug) never throws to callers: the last good intel answers, cause internal', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, at, get, logs } = newStore({ throwOnLog: /intel load failed \(/ });
    await get(mem);
    mem.texts.set(ACTIVE_INTEL_KEY, 'garbage');
    at(T0 + MAX_STALE);
    expect(summary(await get(mem))).toEqual({ version: 'test-1', source: 'last-known-good', id: A.id, failure: 'internal' });
    expect(logs.join('\n')).toMatch(/intel load failed unexpectedly/);
    expect(store.status()).toMatchObject({ status: 'degraded', cause: { kind: 'internal' } });
  });

  it('a cold load that throws (a bug) answers with the bundled copy, cause internal', async () => {
    const mem = memoryStore();
    mem.texts.set(ACTIVE_INTEL_KEY, 'garbage');
    const { get } = newStore({ throwOnLog: /intel load failed \(/ });
    expect(summary(await get(mem))).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: 'internal' });
  });
});

describe('the mirror (intel:last-good)', () => {
  it('after a good load, intel:last-good holds the pointer text; another isolate loading it writes nothing', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, get } = newStore();
    await get(mem);
    await store.settled();
    expect(mem.texts.get(LAST_GOOD_INTEL_KEY)).toBe(mem.texts.get(ACTIVE_INTEL_KEY));
    expect(readIntelPointer(mem.texts.get(LAST_GOOD_INTEL_KEY) ?? '')).toMatchObject({ artifact: A.id, version: 'test-1' });
    expect(mem.writes).toEqual([LAST_GOOD_INTEL_KEY]);
    const other = newStore();
    await other.get(mem);
    await other.store.settled();
    expect(mem.writes).toEqual([LAST_GOOD_INTEL_KEY]);
  });

  it('a new isolate facing a corrupt intel:active answers from the artifact intel:last-good names', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const first = newStore();
    await first.get(mem);
    await first.store.settled();
    // A newer push whose artifact is corrupt in storage.
    mem.publish(B);
    mem.texts.set(intelKey(B.id), 'garbage');
    const second = newStore();
    const a = await second.get(mem);
    expect(summary(a)).toEqual({ version: 'test-1', source: 'last-known-good', id: A.id, failure: 'corrupt' });
    expect(vpnBlock(a, '198.51.100.7')).toBe('198.51.100.0/24');
    // It holds it now: the next failed load does not read the copy again.
    const copyReads = mem.reads(LAST_GOOD_INTEL_KEY);
    second.at(T0 + RETRY);
    await second.get(mem);
    await second.store.settled();
    second.at(T0 + RETRY + 1);
    expect(summary(await second.get(mem))).toEqual({ version: 'test-1', source: 'last-known-good', id: A.id, failure: 'corrupt' });
    expect(mem.reads(LAST_GOOD_INTEL_KEY)).toBe(copyReads);
    await second.store.settled();
    expect(mem.texts.get(LAST_GOOD_INTEL_KEY)).toBe(pointer(A.id, A.version));
  });

  it('a mirror write that fails is logged; the answer stays healthy', async () => {
    const mem = memoryStore();
    mem.publish(A);
    mem.failWrites(true);
    const { store, get, logs } = newStore();
    expect(summary(await get(mem))).toEqual({ version: 'test-1', source: 'kv', id: A.id, failure: undefined });
    await store.settled();
    expect(logs.join('\n')).toMatch(/could not mirror intel:last-good/);
    expect(store.status()?.status).toBe('ok');
  });

  it('hands the mirror write to waitUntil, and settled() awaits it', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store } = newStore();
    const pending: Promise<unknown>[] = [];
    await store.get(mem.store, T0, { waitUntil: (p) => void pending.push(p) });
    // The load and the mirror write.
    expect(pending).toHaveLength(2);
    await store.settled();
    expect(mem.texts.get(LAST_GOOD_INTEL_KEY)).toBe(pointer(A.id, A.version));
  });
});

describe('loads that land late', () => {
  it('a pointer read that lands after a newer load answered is dropped: the newer intel stands', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const releaseOld = mem.hold(ACTIVE_INTEL_KEY);
    const { store, at, get, logs } = newStore();
    // Cold and held: the budget passes, the bundled copy answers, marked as a timeout.
    expect(summary(await get(mem))).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failure: 'timeout' });
    // Presumed lost: a new load reads the newer pointer.
    mem.publish(B);
    at(T0 + LOAD_TIMEOUT);
    await get(mem);
    await store.settled();
    expect(summary(await get(mem))).toEqual({ version: 'test-2', source: 'kv', id: B.id, failure: undefined });
    // The old load lands with the old pointer: nothing changes, and its artifact is never read.
    releaseOld(pointer(A.id, A.version));
    await sleep(10);
    await store.settled();
    expect(store.status()).toMatchObject({ status: 'ok', source: 'kv', version: 'test-2' });
    expect(mem.reads(intelKey(A.id))).toBe(0);
    expect(mem.texts.get(LAST_GOOD_INTEL_KEY)).toBe(pointer(B.id, B.version));
    expect(logs.join('\n')).toMatch(/intel load outlived its timeout and was superseded/);
  });

  it('an artifact read that lands late changes nothing: not the answer, not the isolate\'s last good, not the mirror', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const releaseOld = mem.hold(intelKey(A.id));
    const { store, at, get } = newStore();
    expect(summary(await get(mem)).failure).toBe('timeout');
    mem.publish(B);
    at(T0 + LOAD_TIMEOUT);
    await get(mem);
    await store.settled();
    releaseOld(A.text);
    await sleep(10);
    await store.settled();
    expect(summary(await get(mem))).toEqual({ version: 'test-2', source: 'kv', id: B.id, failure: undefined });
    expect(mem.texts.get(LAST_GOOD_INTEL_KEY)).toBe(pointer(B.id, B.version));
    // The isolate's last good is still B: after the TTL the same pointer re-reads no artifact.
    at(T0 + LOAD_TIMEOUT + TTL);
    await get(mem);
    await store.settled();
    expect(mem.reads(intelKey(B.id))).toBe(1);
    // And when B breaks, B (not A) is what keeps answering.
    mem.texts.set(ACTIVE_INTEL_KEY, 'garbage');
    at(T0 + LOAD_TIMEOUT + TTL + MAX_STALE);
    expect(summary(await get(mem))).toEqual({ version: 'test-2', source: 'last-known-good', id: B.id, failure: 'invalid-pointer' });
  });

  it('a late read that throws cannot mark the newer answer as failed', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const releaseOld = mem.hold(ACTIVE_INTEL_KEY);
    const { store, at, get } = newStore();
    await get(mem);
    at(T0 + LOAD_TIMEOUT);
    await get(mem);
    await store.settled();
    releaseOld(new Error('KV down'));
    await sleep(10);
    await store.settled();
    expect(store.status()).toMatchObject({ status: 'ok', source: 'kv', version: 'test-1' });
    expect(store.status()?.cause).toBeUndefined();
  });

  // Fixed (found by this suite): invalidate() (called by PUT /v1/intel so that this isolate
  // re-reads the pointer) used to let the next get join a refresh already in flight, which read
  // the pointer before the push, so the old intel stayed fresh for a whole TTL. ArtifactCache no
  // longer reuses a load started before the latest invalidate().
  it('after invalidate(), the next get reads the pointer again even if a refresh was in flight', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { store, at, get } = newStore();
    await get(mem);
    await store.settled();
    // A background refresh starts; its pointer read is slow and sees the pointer before the push.
    const releaseRefresh = mem.hold(ACTIVE_INTEL_KEY);
    at(T0 + TTL);
    expect(summary(await get(mem)).version).toBe('test-1');
    // The push lands, and the route invalidates this isolate's cache.
    mem.publish(B);
    store.invalidate();
    at(T0 + TTL + 1);
    const next = get(mem);
    releaseRefresh(pointer(A.id, A.version));
    await next;
    await store.settled();
    at(T0 + TTL + 2);
    expect(summary(await get(mem))).toEqual({ version: 'test-2', source: 'kv', id: B.id, failure: undefined });
  });
});

describe('coalescing', () => {
  it('concurrent cold gets share one pointer read and one artifact read', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const { get } = newStore();
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(mem)));
    expect(new Set(answers.map((a) => a.id))).toEqual(new Set([A.id]));
    expect(mem.reads(ACTIVE_INTEL_KEY)).toBe(1);
    expect(mem.reads(intelKey(A.id))).toBe(1);
  });
});

describe('readIntelPointer: only the exact pointer shape is a pointer', () => {
  const good = { geogate: 'intel-pointer', schema: 1, artifact: 'ab'.repeat(32), version: 'v1', storedAt: '2026-11-26T00:00:00Z', storedBy: 'admin' };

  it('reads a pointer', () => {
    expect(readIntelPointer(JSON.stringify(good))).toEqual(good);
  });

  it.each<[string, unknown]>([
    ['not JSON', '{'],
    ['null', null],
    ['a number', 7],
    ['an array', [good]],
    ['another geogate value', { ...good, geogate: 'pointer' }],
    ['another schema', { ...good, schema: 2 }],
    ['a numeric artifact', { ...good, artifact: 1 }],
    ['an artifact of 63 hex digits', { ...good, artifact: 'a'.repeat(63) }],
    ['an artifact of 65 hex digits', { ...good, artifact: 'a'.repeat(65) }],
    ['an artifact with a prefix', { ...good, artifact: `x${'a'.repeat(64)}` }],
    ['an artifact with a suffix', { ...good, artifact: `${'a'.repeat(64)}x` }],
    ['an upper-case artifact', { ...good, artifact: 'AB'.repeat(32) }],
    ['a numeric version', { ...good, version: 1 }],
    ['no storedAt', { ...good, storedAt: undefined }],
    ['a numeric storedBy', { ...good, storedBy: 1 }],
  ])('refuses %s', (_name, value) => {
    expect(readIntelPointer(typeof value === 'string' ? value : JSON.stringify(value))).toBeUndefined();
  });
});

describe('the intel:last-good mirror writes only when it would change', () => {
  it('isolates loading the same pointer write intel:last-good once', async () => {
    const mem = memoryStore();
    mem.publish(A);
    for (let i = 0; i < 3; i++) {
      const { store, get } = newStore();
      await get(mem);
      await store.settled();
    }
    expect(mem.writes.filter((k) => k === LAST_GOOD_INTEL_KEY)).toHaveLength(1);
  });

  it('a new pointer is mirrored over the old one', async () => {
    const mem = memoryStore();
    mem.publish(A);
    const first = newStore();
    await first.get(mem);
    await first.store.settled();
    mem.publish(B);
    const second = newStore();
    await second.get(mem);
    await second.store.settled();
    expect(mem.writes.filter((k) => k === LAST_GOOD_INTEL_KEY)).toHaveLength(2);
    expect(readIntelPointer(mem.texts.get(LAST_GOOD_INTEL_KEY) ?? '')).toMatchObject({ artifact: B.id });
  });
});
