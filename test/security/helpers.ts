// What the security tests share: the configured secrets' values, and a call to the Worker's own
// fetch handler with some bindings replaced.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../../src/index';

const secrets = env as unknown as Record<string, string>;

/** The configured secrets' values (those set): none may reach a body or a log. */
export const SECRET_VALUES = ['CHECK_TOKEN', 'ADMIN_TOKEN', 'MEMORY_HASH_SECRET', 'CLEARANCE_SECRET', 'CLEARANCE_SECRET_PREVIOUS', 'TURNSTILE_SECRET'].map((n) => secrets[n] ?? '').filter((v) => v !== '');

/**
 * Calls the Worker's fetch handler with `overrides` in place of those bindings, reads the body and
 * waits for the background work (the decision log is written after the answer); answers a
 * response holding the body read.
 */
export async function call(request: Request, overrides: Record<string, unknown> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return new Response(text, res);
}
