// Shared test helpers: tokens the pool configures, request builders and policy builders.
import { SELF } from 'cloudflare:test';
import { compilePolicy, type CompiledPolicy } from '../src/engine/compile';
import type { Facts } from '../src/engine/types';
import { DEFAULT_POLICY_DOCUMENT } from '../src/policy/default';
import { parsePolicy, type PolicyDocument } from '../src/policy/schema';

/** The secrets vitest.config.ts gives the Worker. */
export const CHECK_TOKEN = 'test-check-token-0123456789';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

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
