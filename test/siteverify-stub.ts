// Turnstile's siteverify, stubbed for tests that run the Worker through SELF.fetch: the Worker runs
// in the test's isolate, so a spy on globalThis.fetch sees its outbound calls (no network; every
// other URL passes through). Call once at a test file's top level: it installs the spy before each
// test and restores it after.
import { afterEach, beforeEach, vi } from 'vitest';
import { SITEVERIFY_URL } from '../src/challenge/turnstile';

/** A verified answer, as siteverify gives it for a token solved on example.com. */
export const verified = (over: Record<string, unknown> = {}): Response =>
  Response.json({ success: true, 'error-codes': [], hostname: 'example.com', action: '', challenge_ts: '2026-11-26T12:00:00Z', ...over });

/** What the stub saw and what it answers next. */
export interface SiteverifyStub {
  /** Every siteverify call the Worker made this test: its parsed JSON body. */
  calls: Record<string, unknown>[];
  /** The answer to call number `n` (from 1); `verified()` unless a test sets it. */
  answer: (n: number, body: Record<string, unknown>) => Response | Promise<Response>;
}

/** Stubs siteverify for every test of the calling file. */
export function stubSiteverify(): SiteverifyStub {
  const stub: SiteverifyStub = { calls: [], answer: () => verified() };
  beforeEach(() => {
    stub.calls = [];
    stub.answer = () => verified();
    const real = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url !== SITEVERIFY_URL) return real(input, init);
      const body = JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as Record<string, unknown>;
      stub.calls.push(body);
      return stub.answer(stub.calls.length, body);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return stub;
}
