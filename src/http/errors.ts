// The one shape of every error geogate answers: { error: { code, message, issues? } }.
// Codes are stable strings; messages are for humans and never carry stack traces or internals.
// Anything echoed from the request (a path, a method) is bounded and stripped of control
// characters before it is written into a message.
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AdminErrorCode } from '../admin/policy-admin';
import type { InputIssue } from '../facts/check-request';

/** Stable error codes. */
export type ErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_CONFIGURED'
  | 'MISROUTED'
  | 'INTERNAL'
  | 'FORBIDDEN'
  | 'POLICY_UNAVAILABLE'
  | 'TICKET_INVALID'
  | 'TICKET_MISMATCH'
  | 'KIND_NOT_OFFERED'
  | 'TURNSTILE_FAILED'
  | 'TURNSTILE_SPENT'
  | 'TURNSTILE_MISMATCH'
  | 'TURNSTILE_UNAVAILABLE'
  | 'TURNSTILE_TIMEOUT'
  | AdminErrorCode;

/** The JSON body of an error response. */
export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; issues?: InputIssue[] };
}

/** Longest piece of a request echoed in a message. */
const ECHO_MAX = 100;

/** A request value made safe to echo: printable ASCII only (others become "?"), at most 100 characters. */
export function echo(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > ECHO_MAX ? `${clean.slice(0, ECHO_MAX)}…` : clean;
}

/** Answers with an error body; decisions and errors are never cached. */
export function apiError(
  c: Context,
  status: ContentfulStatusCode,
  code: ErrorCode,
  message: string,
  issues?: InputIssue[],
): Response {
  const body: ApiErrorBody = { error: { code, message, ...(issues ? { issues } : {}) } };
  c.header('Cache-Control', 'no-store');
  return c.json(body, status);
}

/** Handler for a known path asked with a method it does not serve. */
export function methodNotAllowed(allowed: readonly string[]) {
  return (c: Context): Response => {
    c.header('Allow', allowed.join(', '));
    return apiError(c, 405, 'METHOD_NOT_ALLOWED', `${echo(c.req.method)} is not allowed on ${echo(c.req.path)}; use ${allowed.join(' or ')}.`);
  };
}

/**
 * Middleware for the admin routes: a store call that throws (the admin store's or a memory
 * Durable Object unreachable, reset or overloaded) is a 503 STORAGE_UNAVAILABLE the operator can
 * retry, not the app's 500 "not decided" (written for checks). Whether a write landed before the
 * object went away is unknown: the message says to read, then retry. The exception itself is
 * logged by the app's error handler and never echoed.
 */
export const storeFailuresRetryable = createMiddleware(async (c, next) => {
  await next();
  if (c.error !== undefined && !(c.error instanceof HTTPException)) {
    const body: ApiErrorBody = { error: { code: 'STORAGE_UNAVAILABLE', message: 'The store behind this route did not answer, so a change may not have been made: read the current state, then retry.' } };
    // Replaces the error handler's 500 (whose headers, no-store included, carry over).
    c.res = Response.json(body, { status: 503, headers: { 'Cache-Control': 'no-store' } });
  }
});
