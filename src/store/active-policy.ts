// The isolate's policy store, shared by every route, with the bounds documented in
// docs/storage-schema.md.
import { defaultPolicy } from '../policy/default';
import { ACTIVE_POLICY_KEY, LAST_GOOD_POLICY_KEY } from '../policy/keys';
import { MAX_POLICY_BYTES } from '../policy/limits';
import { PolicyStore } from './policy-store';

/** How long a loaded policy is fresh in an isolate, in ms (at most 30 s by contract). */
export const POLICY_TTL_MS = 30_000;
/** How soon a failed load is retried, in ms. */
export const POLICY_RETRY_MS = 5_000;
/** Longest a request waits for a policy load before answering with what the isolate has, in ms. */
export const POLICY_LOAD_BUDGET_MS = 1_500;

/** The isolate's policy store. */
export const activePolicyStore = new PolicyStore({
  activeKey: ACTIVE_POLICY_KEY,
  lastGoodKey: LAST_GOOD_POLICY_KEY,
  ttlMs: POLICY_TTL_MS,
  retryMs: POLICY_RETRY_MS,
  maxStaleMs: 10 * POLICY_TTL_MS,
  loadBudgetMs: POLICY_LOAD_BUDGET_MS,
  loadTimeoutMs: 10_000,
  maxBytes: MAX_POLICY_BYTES,
  fallback: defaultPolicy,
  log: (message) => console.error(message),
  clock: () => Date.now(),
});
