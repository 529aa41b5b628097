// Shared set-up for tests of the PolicyStore (test/unit/store.test.ts, test/review/*): one
// store with a test clock and short, fixed timings over the real local KV binding.
import { env } from 'cloudflare:workers';
import { defaultPolicy } from '../src/policy/default';
import { ACTIVE_POLICY_KEY, LAST_GOOD_POLICY_KEY } from '../src/policy/keys';
import { PolicyStore, type GetOptions } from '../src/store/policy-store';
import { kvTextStore, type TextRead, type TextStore } from '../src/store/text-store';

/** Fresh for 30 s, retried 5 s after a failure, waited on for at most 200 ms (production: 1.5 s). */
export const STORE_TIMINGS = { ttlMs: 30_000, retryMs: 5_000, maxStaleMs: 300_000, loadBudgetMs: 200, loadTimeoutMs: 10_000 } as const;
/** The instant every store test starts at. */
export const STORE_T0 = Date.parse('2026-11-26T12:00:00Z');

/** A clock the test moves by hand. */
export function testClock(start = STORE_T0) {
  let now = start;
  return { now: () => now, set: (t: number) => (now = t) };
}

/** A PolicyStore on the keys production uses, the test clock and STORE_TIMINGS; `logs` collects what it logs. */
export function newPolicyStore(clock = testClock(), logs: string[] = [], maxBytes = 4 * 1024 * 1024) {
  const store = new PolicyStore({
    activeKey: ACTIVE_POLICY_KEY,
    lastGoodKey: LAST_GOOD_POLICY_KEY,
    ...STORE_TIMINGS,
    maxBytes,
    fallback: defaultPolicy,
    log: (m) => logs.push(m),
    clock: clock.now,
  });
  return { store, clock, logs };
}

/** One request's options; `drain` awaits the background work it handed to waitUntil, including work that work schedules. */
export function storeRequest(failMode: GetOptions['failMode'] = 'closed') {
  const pending: Promise<unknown>[] = [];
  const options: GetOptions = { waitUntil: (p) => pending.push(p), failMode };
  const drain = async () => {
    while (pending.length) await Promise.all(pending.splice(0));
  };
  return { options, drain };
}

/** Stores a policy document (or a raw text) under `key` in the local KV. */
export const putPolicy = (key: string, value: unknown) => env.POLICY.put(key, typeof value === 'string' ? value : JSON.stringify(value));

/** Empties both policy keys (a fresh deployment). */
export async function clearPolicyKeys(): Promise<void> {
  await env.POLICY.delete(ACTIVE_POLICY_KEY);
  await env.POLICY.delete(LAST_GOOD_POLICY_KEY);
}

/**
 * The real KV behind the TextStore interface, except that the first read of `policy:active`
 * answers with `held` (a promise the test settles when it wants: a slow read landing late).
 */
export function holdingFirstActiveRead(held: Promise<TextRead>): TextStore {
  const real = kvTextStore(env.POLICY);
  let activeReads = 0;
  return {
    read: (key, maxBytes) => (key === ACTIVE_POLICY_KEY && ++activeReads === 1 ? held : real.read(key, maxBytes)),
    write: (key, text, metadata) => real.write(key, text, metadata),
    metadata: (key) => real.metadata(key),
  };
}
