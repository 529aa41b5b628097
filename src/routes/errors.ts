// The one shape of every error geogate answers: { error: { code, message, issues? } }.
// Codes are stable strings; messages are for humans and never carry stack traces or internals.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
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
  | 'INTERNAL';

/** The JSON body of an error response. */
export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; issues?: InputIssue[] };
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
    return apiError(c, 405, 'METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(' or ')}.`);
  };
}
