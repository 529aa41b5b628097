// Shared test helpers: tokens the pool configures, request builders and policy builders.
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { compilePolicy, type CompiledPolicy } from '../src/engine/compile';
import type { Facts } from '../src/engine/types';
import { DEFAULT_POLICY_DOCUMENT } from '../src/policy/default';
import { ACTIVE_INTEL_KEY, ACTIVE_POLICY_KEY, LAST_GOOD_INTEL_KEY, LAST_GOOD_POLICY_KEY } from '../src/policy/keys';
import { parsePolicy, type PolicyDocument } from '../src/policy/schema';
import { activePolicyStore } from '../src/store/active-policy';
import { activeIntelStore } from '../src/store/intel-store';

/** The secrets vitest.config.ts gives the Worker. */
export const CHECK_TOKEN = 'test-check-token-0123456789';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** The clearance secret the pool configures (vitest.config.ts): signs tickets and clearances in tests. */
export const CLEARANCE_SECRET = 'test-clearance-secret-0123456789abcdef';

/** An instant in northern-hemisphere winter, used unless a test needs another. */
export const NOW = Date.parse('2026-11-26T12:00:00Z');

/** Validates and compiles a policy document; throws with zod's message when invalid. */
export function compile(doc: unknown): CompiledPolicy {
  const r = parsePolicy(doc);
  if (!r.ok) throw new Error(r.error.message);
  return compilePolicy(r.policy);
}

/** The default policy document, deep-copied so tests may edit it. */
export function defaultDocument(): PolicyDocument {
  return structuredClone(DEFAULT_POLICY_DOCUMENT) as PolicyDocument;
}

/** A minimal valid policy document with the given rules and score settings. */
export function policyWith(overrides: Partial<PolicyDocument> = {}): PolicyDocument {
  return {
    version: 'test-1',
    rules: [],
    score: { weights: {}, challengeAt: 50, denyAt: 100 },
    ...overrides,
  };
}

/** Facts with defaults: a US ISP request with no client signals. */
export function facts(overrides: Partial<Facts> = {}): Facts {
  return {
    geo: { country: 'US', asn: 7922 },
    geoSource: 'forwarded',
    client: {},
    account: {},
    ...overrides,
  };
}

/** POSTs a JSON body to /v1/check through the Worker. */
export function postCheck(body: unknown, init: { token?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  const token = init.token === undefined ? CHECK_TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return SELF.fetch('https://geogate.test/v1/check', {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A fresh deployment: no policy stored, no last good copy, and an isolate that has loaded nothing. */
export async function resetPolicyState(): Promise<void> {
  await activePolicyStore.settled();
  await activeIntelStore.settled();
  await env.POLICY.delete(ACTIVE_POLICY_KEY);
  await env.POLICY.delete(LAST_GOOD_POLICY_KEY);
  await env.POLICY.delete(ACTIVE_INTEL_KEY);
  await env.POLICY.delete(LAST_GOOD_INTEL_KEY);
  activePolicyStore.reset();
  activeIntelStore.reset();
}

/**
 * Makes `doc` the policy in force from a fresh store: nothing cached in the isolate, no last good
 * copy (reset twice around a pause, so that a load still landing from an earlier test is dropped).
 */
export async function usePolicy(doc: unknown): Promise<void> {
  await resetPolicyState();
  await new Promise((r) => setTimeout(r, 50));
  await resetPolicyState();
  await storePolicy(doc);
}

/** Stores a policy document (or raw text) as the current policy. */
export function storePolicy(doc: unknown): Promise<void> {
  return env.POLICY.put(ACTIVE_POLICY_KEY, typeof doc === 'string' ? doc : JSON.stringify(doc));
}

/** A KV namespace whose every operation fails, as during a storage outage (a fault double, not a mock). */
export const FAILING_KV = new Proxy(
  {},
  {
    get: () => () => Promise.reject(new Error('KV is unavailable (injected fault)')),
  },
) as KVNamespace;
