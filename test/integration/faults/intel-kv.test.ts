// Fault matrix, network intel storage (docs/faults.md): `intel:active` (the pointer), the artifact
// it names (`intel:<id>`) and `intel:last-good`, read through a KV binding that throws, hangs,
// answers corrupt or future-schema data, or changes between reads. The documented fail mode of
// the intel (docs/storage-schema.md, "Network intel"): the isolate's last good intel, else the
// artifact intel:last-good names, else the intel bundled with the deployment; decisions say
// `intel.failed: true` (Geogate-Intel-Failed on /v1/authorize) while the policy still decides
// (`failed: false`), and /healthz is degraded with the cause. Then the binding heals and the
// clock moves past the retry interval: no reset, no new isolate.
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_INTEL_ID } from '../../../src/engine/data/network-intel';
import { ACTIVE_INTEL_KEY, intelKey, LAST_GOOD_INTEL_KEY } from '../../../src/policy/keys';
import { sha256Hex } from '../../../src/policy/snapshot';
import { INTEL_TTL_MS } from '../../../src/store/intel-store';
import { pushIntel, testIntel } from '../../admin-client';
import { advance, decide, envWith, fault, FaultyKv, GARBAGE, healthz, isolateEachTest, settle, TRANSPORTS, type Answer, type CheckBody, type ReadPlan } from './harness';

/** How soon a failed intel load is retried (src/store/intel-store.ts, activeIntelStore). */
const INTEL_RETRY_MS = 10_000;
/** The intel's load budget plus slack for a busy machine. */
const STALL_BOUND_MS = 1_500 + 1_500;

/** Only the pushed intel lists this address (as a VPN); the bundled copy does not. */
const PUSHED_ONLY: CheckBody = { ip: '198.51.100.7', geo: { country: 'US', asn: 7922 } };
/** Only the bundled intel lists this address (2.26.164.0/24, a VPN); the pushed one does not. */
const BUNDLED_ONLY: CheckBody = { ip: '2.26.164.5', geo: { country: 'US', asn: 7922 } };

/** The pushed intel: pointer and artifact, as the admin API wrote them. */
let A: { pointer: string; id: string; text: string; version: string };

beforeAll(async () => {
  const { version, text, id } = await testIntel('faults-intel');
  const res = await pushIntel(text);
  expect(res.status, await res.clone().text()).toBe(200);
  const pointer = (await env.POLICY.get(ACTIVE_INTEL_KEY)) ?? '';
  A = { pointer, id, text, version };
  expect(JSON.parse(pointer)).toMatchObject({ artifact: A.id });
});

const kv = new FaultyKv();

isolateEachTest([kv], () => env.POLICY.put(ACTIVE_INTEL_KEY, A.pointer));

/** What answers while the fault holds. */
type Served =
  /** The pushed intel A, as the isolate's or intel:last-good's last good copy. */
  | { readonly by: 'last-known-good'; readonly cause: string }
  /** The intel bundled with the deployment. */
  | { readonly by: 'bundled'; readonly cause: string }
  /** A warm isolate within maxStale keeps intel A, healthily (documented). */
  | { readonly by: 'stale' };

const vpn = (a: Answer) => a.body.signals.NETWORK_VPN;

async function expectServed(e: Env, served: Served): Promise<void> {
  for (const transport of TRANSPORTS) {
    for (const body of [PUSHED_ONLY, BUNDLED_ONLY]) {
      const a = await decide(transport, e, body);
      const where = `${transport} ${body.ip ?? ''}: ${JSON.stringify(a.body.intel)} ${Math.round(a.ms)} ms`;
      expect(a.ms, where).toBeLessThan(STALL_BOUND_MS);
      // The policy decides as ever: an intel failure is not a policy failure.
      expect(a.body.failed, where).toBe(false);
      const failed = served.by !== 'stale';
      expect(a.body.intel.failed, where).toBe(failed);
      if (transport === 'authorize') expect(a.headers.get('geogate-intel-failed'), where).toBe(failed ? 'true' : null);
      if (served.by === 'bundled') {
        expect(a.body.intel, where).toMatchObject({ source: 'bundled', id: BUNDLED_INTEL_ID });
        // Never missing, never broken: the deployment's own intel detects what it lists.
        expect(vpn(a), where).toBe(body === BUNDLED_ONLY);
      } else {
        expect(a.body.intel, where).toMatchObject({ source: served.by === 'stale' ? 'kv' : 'last-known-good', id: A.id, version: A.version });
        expect(vpn(a), where).toBe(body === PUSHED_ONLY);
      }
    }
  }
  const h = await healthz(e);
  expect(h.ms).toBeLessThan(STALL_BOUND_MS);
  if (served.by === 'stale') {
    expect(h).toMatchObject({ status: 'ok', intel: { status: 'ok', source: 'kv', id: A.id } });
    return;
  }
  expect(h).toMatchObject({ status: 'degraded', intel: { status: 'degraded', cause: { kind: served.cause } } });
  // The policy is fine: only the intel is degraded.
  expect(h.cause).toBeUndefined();
}

async function expectRecovery(e: Env): Promise<void> {
  kv.heal();
  await settle();
  advance(INTEL_RETRY_MS + 1);
  await decide('check', e, PUSHED_ONLY);
  await settle();
  for (const transport of TRANSPORTS) {
    const a = await decide(transport, e, PUSHED_ONLY);
    expect(a.body.intel, transport).toEqual({ version: A.version, source: 'kv', id: A.id, failed: false });
    expect(vpn(a), transport).toBe(true);
    if (transport === 'authorize') expect(a.headers.get('geogate-intel-failed')).toBeNull();
  }
  expect(await healthz(e)).toMatchObject({ status: 'ok', intel: { status: 'ok', source: 'kv', id: A.id } });
}

/** An isolate that loaded intel A (and mirrored intel:last-good), then sat past the TTL. */
async function warmIsolate(e: Env): Promise<void> {
  const first = await decide('check', e, PUSHED_ONLY);
  expect(first.body.intel).toMatchObject({ source: 'kv', id: A.id, failed: false });
  await settle();
  expect(await env.POLICY.get(LAST_GOOD_INTEL_KEY)).toBe(A.pointer);
  advance(INTEL_TTL_MS + 1);
}

/** An artifact stored under its own hash (intact) and a pointer naming it. */
async function storedArtifact(text: string): Promise<string> {
  const id = await sha256Hex(text);
  await env.POLICY.put(intelKey(id), text);
  return JSON.stringify({ ...(JSON.parse(A.pointer) as object), artifact: id });
}
const futureArtifactPointer = () => storedArtifact(JSON.stringify({ ...(JSON.parse(A.text) as object), schema: 2 }));
const wrongTypesArtifactPointer = () => storedArtifact(JSON.stringify({ ...(JSON.parse(A.text) as object), categories: 'vpn', asns: { numbers: 7 } }));

interface Cell {
  readonly name: string;
  readonly faults: () => Promise<Readonly<Record<string, ReadPlan>>> | Readonly<Record<string, ReadPlan>>;
  readonly isolate: 'cold' | 'warm';
  /** intel:last-good holds A's pointer (an earlier isolate mirrored it). */
  readonly lastGood?: boolean;
  readonly served: Served;
  readonly pastMaxStale?: boolean;
}

const pointer = (plan: () => ReadPlan) => () => ({ [ACTIVE_INTEL_KEY]: plan() });
const artifact = (plan: () => ReadPlan) => () => ({ [intelKey(A.id)]: plan() });

const CELLS: readonly Cell[] = [
  // intel:active
  { name: 'intel:active read throws, cold isolate, no intel:last-good', faults: pointer(() => fault.throw), isolate: 'cold', served: { by: 'bundled', cause: 'unreadable' } },
  { name: 'intel:active read throws, cold isolate, intel:last-good in KV', faults: pointer(() => fault.throw), isolate: 'cold', lastGood: true, served: { by: 'last-known-good', cause: 'unreadable' } },
  { name: 'intel:active read throws, warm isolate', faults: pointer(() => fault.throw), isolate: 'warm', served: { by: 'last-known-good', cause: 'unreadable' } },
  { name: 'intel:active read hangs, cold isolate (past the 1.5 s budget)', faults: pointer(() => fault.hang), isolate: 'cold', lastGood: true, served: { by: 'bundled', cause: 'timeout' } },
  { name: 'intel:active read hangs, warm isolate within maxStale (10 min): still intel A, healthy', faults: pointer(() => fault.hang), isolate: 'warm', served: { by: 'stale' } },
  { name: 'intel:active read hangs, warm isolate past maxStale', faults: pointer(() => fault.hang), isolate: 'warm', pastMaxStale: true, served: { by: 'last-known-good', cause: 'timeout' } },
  { name: 'intel:active truncated JSON, cold isolate, intel:last-good in KV', faults: pointer(() => fault.text(A.pointer.slice(0, 40))), isolate: 'cold', lastGood: true, served: { by: 'last-known-good', cause: 'invalid-pointer' } },
  { name: 'intel:active wrong types, warm isolate', faults: pointer(() => fault.text('{"geogate":"intel-pointer","schema":1,"artifact":42,"version":null}')), isolate: 'warm', served: { by: 'last-known-good', cause: 'invalid-pointer' } },
  { name: 'intel:active binary garbage, cold isolate, no intel:last-good', faults: pointer(() => fault.bytes(GARBAGE)), isolate: 'cold', served: { by: 'bundled', cause: 'invalid-pointer' } },
  { name: 'intel:active oversized (over its 4 KiB bound), cold isolate, no intel:last-good', faults: pointer(() => fault.oversized(8192)), isolate: 'cold', served: { by: 'bundled', cause: 'invalid-pointer' } },
  { name: 'intel:active future schema (pointer schema 2), warm isolate', faults: pointer(() => fault.text(JSON.stringify({ ...(JSON.parse(A.pointer) as object), schema: 2 }))), isolate: 'warm', served: { by: 'last-known-good', cause: 'invalid-pointer' } },
  { name: 'intel:active changes mid-load: garbage on one read, good on the next', faults: pointer(() => [fault.bytes(GARBAGE), 'real']), isolate: 'cold', served: { by: 'bundled', cause: 'invalid-pointer' } },

  // the artifact intel:<id>
  { name: 'artifact read throws, cold isolate, no intel:last-good', faults: artifact(() => fault.throw), isolate: 'cold', served: { by: 'bundled', cause: 'unreadable' } },
  { name: 'artifact read hangs, cold isolate', faults: artifact(() => fault.hang), isolate: 'cold', served: { by: 'bundled', cause: 'timeout' } },
  { name: 'artifact truncated (does not match its id), cold isolate', faults: artifact(() => fault.text(A.text.slice(0, A.text.length >> 1))), isolate: 'cold', served: { by: 'bundled', cause: 'corrupt' } },
  { name: 'artifact binary garbage, cold isolate', faults: artifact(() => fault.bytes(GARBAGE)), isolate: 'cold', served: { by: 'bundled', cause: 'corrupt' } },
  { name: 'artifact oversized (16 MiB + 64 KiB), cold isolate', faults: artifact(() => fault.oversized(16 * 1024 * 1024 + 65_536)), isolate: 'cold', served: { by: 'bundled', cause: 'too-large' } },
  { name: 'artifact absent (the pointer names a missing artifact), cold isolate', faults: artifact(() => fault.absent), isolate: 'cold', served: { by: 'bundled', cause: 'missing-artifact' } },
  { name: 'artifact wrong types (intact: it hashes to its id), warm isolate', faults: async () => ({ [ACTIVE_INTEL_KEY]: fault.text(await wrongTypesArtifactPointer()) }), isolate: 'warm', served: { by: 'last-known-good', cause: 'invalid' } },
  { name: 'artifact future schema (schema 2, intact), cold isolate, no intel:last-good', faults: async () => ({ [ACTIVE_INTEL_KEY]: fault.text(await futureArtifactPointer()) }), isolate: 'cold', served: { by: 'bundled', cause: 'invalid' } },
  { name: 'artifact changes mid-load: torn on one read, whole on the next', faults: artifact(() => [fault.text(A.text.slice(0, A.text.length >> 1)), 'real']), isolate: 'cold', served: { by: 'bundled', cause: 'corrupt' } },

  // intel:last-good (read when intel:active is unusable or gone and the isolate holds no good intel)
  { name: 'intel:last-good read throws (intel:active gone)', faults: () => ({ [ACTIVE_INTEL_KEY]: fault.absent, [LAST_GOOD_INTEL_KEY]: fault.throw }), isolate: 'cold', lastGood: true, served: { by: 'bundled', cause: 'unreadable' } },
  { name: 'intel:last-good read hangs (intel:active corrupt)', faults: () => ({ [ACTIVE_INTEL_KEY]: fault.bytes(GARBAGE), [LAST_GOOD_INTEL_KEY]: fault.hang }), isolate: 'cold', lastGood: true, served: { by: 'bundled', cause: 'timeout' } },
  { name: 'intel:last-good garbage (intel:active gone)', faults: () => ({ [ACTIVE_INTEL_KEY]: fault.absent, [LAST_GOOD_INTEL_KEY]: fault.bytes(GARBAGE) }), isolate: 'cold', lastGood: true, served: { by: 'bundled', cause: 'missing' } },
  { name: 'intel:last-good future schema (intel:active corrupt)', faults: () => ({ [ACTIVE_INTEL_KEY]: fault.bytes(GARBAGE), [LAST_GOOD_INTEL_KEY]: fault.text(JSON.stringify({ ...(JSON.parse(A.pointer) as object), schema: 2 })) }), isolate: 'cold', lastGood: true, served: { by: 'bundled', cause: 'invalid-pointer' } },
  { name: 'intel:last-good names a torn artifact (intel:active corrupt)', faults: () => ({ [ACTIVE_INTEL_KEY]: fault.bytes(GARBAGE), [intelKey(A.id)]: fault.text(A.text.slice(0, A.text.length >> 1)) }), isolate: 'cold', lastGood: true, served: { by: 'bundled', cause: 'invalid-pointer' } },
];

describe('fault matrix: network intel storage', () => {
  it.each(CELLS.map((c) => [c.name, c] as const))('%s', async (_name, cell) => {
    const e = envWith({ POLICY: kv.binding });
    if (cell.lastGood) await env.POLICY.put(LAST_GOOD_INTEL_KEY, A.pointer);
    if (cell.isolate === 'warm') await warmIsolate(e);
    const faults = await cell.faults();
    for (const [key, plan] of Object.entries(faults)) kv.set(key, plan);
    const hangs = Object.values(faults).some((p) => p === fault.hang);
    if (cell.isolate === 'warm') {
      // Past the TTL: the first check answers with what the isolate has and refreshes behind it.
      const first = await decide('check', e, PUSHED_ONLY);
      expect(first.body.intel).toMatchObject({ id: A.id, failed: false });
      if (!hangs) await settle();
    }
    if (cell.pastMaxStale) advance(10 * INTEL_TTL_MS);
    await expectServed(e, cell.served);
    await expectRecovery(e);
  });
});
