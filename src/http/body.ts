// Reading request bodies: one size bound and one JSON reader for every route that takes JSON,
// so that invalid JSON, a repeated key (promise 2: JSON.parse would silently keep the last) and,
// where asked, deep nesting get the same 400s everywhere.
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { findDuplicateKey, nestsDeeperThan, repeatsKey } from '../facts/json';
import { apiError } from './errors';

/** Middleware: a body over `maxSize` bytes is a 413, before it is read. */
export function limitBody(maxSize: number) {
  return bodyLimit({ maxSize, onError: (c: Context) => apiError(c, 413, 'PAYLOAD_TOO_LARGE', `The body exceeds ${maxSize} bytes.`) });
}

/** Options of {@link readJsonBody}. */
export interface JsonBodyOptions {
  /** What the body is, in messages ("check request"). */
  what: string;
  /** Advice added to a repeated key's issue. */
  repeatedKeyHint?: string;
  /** Deepest nesting accepted; deeper is a 400 (for bodies that code walks recursively). */
  maxDepth?: number;
}

/** The body parsed as JSON, or the error response to send. */
export async function readJsonBody(c: Context, options: JsonBodyOptions): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, response: apiError(c, 400, 'INVALID_JSON', 'The body is not valid JSON.') };
  }
  if (options.maxDepth !== undefined && nestsDeeperThan(text, options.maxDepth)) {
    return { ok: false, response: apiError(c, 400, 'INVALID_REQUEST', `The ${options.what} nests arrays and objects deeper than ${options.maxDepth} levels.`) };
  }
  // The exact scan (which names the key) only runs when the cheap count finds a repeat.
  const duplicate = repeatsKey(text, value) ? findDuplicateKey(text) : undefined;
  if (duplicate) {
    const message = `this key appears twice in one object${options.repeatedKeyHint ? `; ${options.repeatedKeyHint}` : ''}`;
    return { ok: false, response: apiError(c, 400, 'INVALID_REQUEST', `The ${options.what} repeats a key.`, [{ path: duplicate.path, code: 'duplicate_key', message }]) };
  }
  return { ok: true, value };
}
