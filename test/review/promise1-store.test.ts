// Red-team review, promise 1 ("a broken policy never opens the gate") against the PolicyStore
// itself, with a TextStore over real local KV that injects faults per key.
//
// Tests named "fixed: ..." FAIL on the current code: each demonstrates a promise or documented
// rule that does not hold (see the review report). Tests named "holds: ..." pass and are kept as
// regression tests.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/evaluate';
import { ACTIVE_POLICY_KEY, LAST_GOOD_POLICY_KEY } from '../../src/policy/keys';
import type { PolicyAnswer } from '../../src/store/policy-store';
import { kvTextStore, type TextStore } from '../../src/store/text-store';
import { facts, policyWith } from '../helpers';
import { clearPolicyKeys, newPolicyStore as newStore, putPolicy as put, STORE_T0, STORE_TIMINGS, storeRequest as request } from '../policy-store-helpers';

const { loadBudgetMs: BUDGET } = STORE_TIMINGS;
const T0 = STORE_T0;

type KeyFault = 'throw' | 'hang' | 'absent';

/** Real KV behind the TextStore interface; `faults` says what each key's reads do instead. */
function storeWith(faults: Partial<Record<string, KeyFault>> = {}) {
  const real = kvTextStore(env.POLICY);
  const store: TextStore = {
    async read(key, maxBytes) {
      const fault = faults[key];
      if (fault === 'throw') throw new Error(`injected: ${key} unreadable`);
      if (fault === 'hang') return new Promise(() => undefined);
      if (fault === 'absent') return { kind: 'absent' };
      return real.read(key, maxBytes);
    },
    write: (key, text, metadata) => real.write(key, text, metadata),
    metadata: (key) => real.metadata(key),
  };
  return store;
}




/** An operator's allow-list: only US. The built-in default would allow BR. */
const US_ONLY = policyWith({ version: 'us-only-1', rules: [{ id: 'markets', type: 'country-allowlist', action: 'deny', countries: ['US'] }] });

function decisionFor(a: PolicyAnswer, country: string): string {
  if (a.kind === 'unavailable') return `fail-mode:${a.failMode}`;
  return evaluate(a.compiled, facts({ geo: { country } }), T0).decision;
}

beforeEach(clearPolicyKeys);

describe('review: the embedded default must not replace a policy that existed', () => {
  it('fixed: policy:active absent and policy:last-good UNREADABLE (KV fault) -> the built-in default answers as "ok"', async () => {
    // A policy existed (its last good copy is in KV), but the read of that copy throws.
    await put(LAST_GOOD_POLICY_KEY, US_ONLY);
    const { store } = newStore();
    const a = await store.get(storeWith({ [LAST_GOOD_POLICY_KEY]: 'throw' }), T0, request().options);
    // Observed: { kind: 'policy', source: 'default' } with no failure, status "ok": BR is allowed.
    // Expected: a failure (storage-unavailable / missing) and the fail mode, never the default.
    expect(a.kind === 'policy' ? a.source : a.kind).not.toBe('default');
    expect(decisionFor(a, 'BR')).not.toBe('allow');
    expect(store.status()?.status).toBe('degraded');
  });

  it('fixed: policy:active absent and policy:last-good present but UNUSABLE -> the built-in default answers as "ok"', async () => {
    // E.g. a copy written by an older geogate that a stricter schema now rejects, or a damaged value.
    await put(LAST_GOOD_POLICY_KEY, '{"version":"us-only-1","rules":[{"id":"markets"');
    const { store } = newStore();
    const a = await store.get(storeWith(), T0, request().options);
    // KV still holds a copy of a policy, so this is not "a fresh deployment" (docs/policy.md, failMode).
    expect(a.kind === 'policy' ? a.source : a.kind).not.toBe('default');
    expect(store.status()?.status).toBe('degraded');
  });

  it('holds: policy:active absent and policy:last-good readable -> last-known-good with cause "missing"', async () => {
    await put(LAST_GOOD_POLICY_KEY, US_ONLY);
    const { store } = newStore();
    const a = await store.get(storeWith(), T0, request().options);
    expect(a).toMatchObject({ kind: 'policy', source: 'last-known-good', failure: { kind: 'missing' } });
    expect(decisionFor(a, 'BR')).toBe('deny');
  });
});

describe('review: unreachable (hanging) storage must say so', () => {
  it('fixed: a cold isolate whose storage hangs answers "timeout" decisions, but its status never becomes degraded', async () => {
    await put(ACTIVE_POLICY_KEY, US_ONLY);
    const { store, clock } = newStore();
    const kv = storeWith({ [ACTIVE_POLICY_KEY]: 'hang', [LAST_GOOD_POLICY_KEY]: 'hang' });
    const a = await store.get(kv, T0, request().options);
    expect(a).toMatchObject({ kind: 'unavailable', failure: { kind: 'timeout' } });
    // Even a minute later, after the lost load has been restarted:
    clock.set(T0 + 60_000);
    await store.get(kv, T0 + 60_000, request().options);
    const status = await store.peek(kv, T0 + 60_000, request().options);
    // Observed: undefined, which /healthz reports as "starting" forever; cause "timeout" (listed
    // in the docs as a /healthz cause) can never appear there.
    expect(status).toMatchObject({ status: 'degraded', cause: { kind: 'timeout' } });
  });

  it('fixed: a warm isolate whose storage hangs serves its stale policy forever with failed=false and status "ok"', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'v1' }));
    const { store, clock } = newStore();
    const first = request();
    await store.get(storeWith(), T0, first.options);
    await first.drain();
    // The operator pushes v2 (say, a newly sanctioned country), but reads now hang.
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'v2' }));
    const hung = storeWith({ [ACTIVE_POLICY_KEY]: 'hang', [LAST_GOOD_POLICY_KEY]: 'hang' });
    const later = T0 + 60 * 60_000; // an hour on, far past maxStale (5 min)
    clock.set(later);
    const a = await store.get(hung, later, request().options);
    expect(a.kind === 'policy' && a.compiled.version).toBe('v1');
    // Observed: no failure at all, status "ok": nothing tells the operator v2 is not in force.
    expect(a.kind === 'policy' ? a.failure?.kind : 'n/a').toBe('timeout');
    expect(store.status()?.status).toBe('degraded');
  });
});

describe('review: a policy within the size bounds must not stall the check', () => {
  // Both documents are far inside the documented bounds (4 MiB, 150,000 list entries).
  const repeatedLists = policyWith({
    version: 'lists-x149',
    rules: Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, type: 'asn' as const, action: 'deny' as const, asns: [], lists: Array<'x4b-datacenter'>(149).fill('x4b-datacenter') })),
  });
  const manySurfaces = {
    ...policyWith({ version: 'surfaces-300k' }),
    surfaces: Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`s${i}`, {}])),
  };

  it.each([
    ['1000 asn rules each naming the x4b-datacenter list 149 times (2.6 MB, 149,000 entries)', repeatedLists],
    ['300,000 surfaces (3.8 MB, 0 list entries: object keys are not counted)', manySurfaces],
  ])('fixed: a cold isolate waits far past the load budget for %s', async (_name, doc) => {
    const text = JSON.stringify(doc);
    expect(text.length).toBeLessThan(4 * 1024 * 1024);
    await put(ACTIVE_POLICY_KEY, text);
    const { store } = newStore();
    const r = request();
    const started = Date.now();
    const answer = await store.get(storeWith(), T0, r.options);
    const waited = Date.now() - started;
    await r.drain();
    // What the fix changed, deterministically: object members count against the entry bound
    // (rule objects and surfaces alike), so both documents are rejected by the bound, before the
    // schema.
    expect(answer).toMatchObject({ kind: 'unavailable', failure: { kind: 'too-large' } });
    // And no stall: observed before the fixes, 1,100-1,300 ms and more; now about 300 ms on an
    // idle 2-core machine. The bound is loose on purpose (a busy CI machine is slower), so the
    // deterministic checks above carry the test; this one only catches a return of the stall.
    expect(waited).toBeLessThan(BUDGET + 2_500);
  }, 60_000);
});

describe('review: hostile policy texts (holds)', () => {
  it.each([
    ['4 MiB of nested arrays', '['.repeat(2_000_000) + ']'.repeat(2_000_000)],
    ['deeply nested objects under an unknown key', `{"version":"x","rules":[],"score":{"weights":{},"challengeAt":1,"denyAt":2},"junk":${'{"a":'.repeat(500_000)}1${'}'.repeat(500_000)}}`],
    ['a __proto__ key carrying a failMode', '{"__proto__":{"failMode":"open"},"version":"x"}'],
    ['a constructor key at the top level', '{"constructor":{},"version":"x","rules":[],"score":{"weights":{},"challengeAt":1,"denyAt":2}}'],
  ])('holds: %s is rejected quickly and the deployment fail mode (closed) answers', async (_name, text) => {
    await put(ACTIVE_POLICY_KEY, text);
    const { store } = newStore();
    const started = Date.now();
    const a = await store.get(storeWith(), T0, request('closed').options);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(a).toMatchObject({ kind: 'unavailable', failMode: 'closed', failModeFrom: 'deployment' });
  }, 30_000);

  it('holds: a UTF-8 byte order mark before a valid policy is not a corrupt policy', async () => {
    const bytes = new TextEncoder().encode(`\uFEFF${JSON.stringify(policyWith({ version: 'bom-1' }))}`);
    await env.POLICY.put(ACTIVE_POLICY_KEY, bytes);
    const { store } = newStore();
    const r = request();
    const a = await store.get(storeWith(), T0, r.options);
    await r.drain();
    expect(a).toMatchObject({ kind: 'policy', source: 'kv' });
    expect(a.kind === 'policy' && a.compiled.version).toBe('bom-1');
  });

  it('holds: a policy whose surface is named "constructor" compiles, and other requests are not affected', async () => {
    await put(ACTIVE_POLICY_KEY, policyWith({ version: 'proto-1', surfaces: { constructor: { challengeAt: 1, denyAt: 1 } } }));
    const { store } = newStore();
    const r = request();
    const a = await store.get(storeWith(), T0, r.options);
    await r.drain();
    expect(a.kind).toBe('policy');
    if (a.kind !== 'policy') return;
    const us = (surface?: string) => evaluate(a.compiled, facts({ geo: { country: 'US' }, ...(surface ? { surface } : {}) }), T0).decision;
    expect(us()).toBe('allow');
    expect(us('tostring')).toBe('allow');
    expect(us('__proto__')).toBe('allow');
  });
});
