// What every answer of the load suite must be. A 2xx/401/403 is a decision: its body has the
// decision's shape and says what the case must get (the status agrees with it on /v1/authorize);
// a malformed request gets a 4xx JSON error; the RPC caller's answer is the decision or the
// invalid-input value AccessCheck.check returns. Pure functions: the driver runs them on every
// answer, the test on the answers it gets while priming.
import type { Outcome, Surface } from './mix';

/** What a checked answer was. */
export type Verdict =
  | { readonly ok: true; readonly decision?: 'allow' | 'deny' | 'challenge'; readonly error?: string }
  | { readonly ok: false; readonly why: string };

/** The policy every decision must come from. */
export interface Expectations {
  readonly policyVersion: string;
}

const DECISIONS = new Set(['allow', 'deny', 'challenge']);
/** /v1/authorize's status per decision (docs/integrations.md). */
export const AUTHORIZE_STATUS = { allow: 200, challenge: 401, deny: 403 } as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The shape of a decision body. `full`: every field /v1/check and the RPC entrypoint answer;
 * otherwise the core a forward-auth body must keep (decision, reasons, requestId, policyVersion,
 * failed), so that a leaner /v1/authorize body still passes.
 */
export function decisionShape(body: unknown, full: boolean): string | undefined {
  if (!isObject(body)) return 'not a JSON object';
  if (!DECISIONS.has(body.decision as string)) return `decision ${JSON.stringify(body.decision)} is not allow/deny/challenge`;
  if (!Array.isArray(body.reasons)) return 'reasons is not an array';
  for (const r of body.reasons as unknown[]) {
    if (!isObject(r) || !isString(r.code) || r.code === '') return `a reason without a code: ${JSON.stringify(r).slice(0, 200)}`;
  }
  if (!isString(body.requestId) || body.requestId === '') return 'no requestId';
  if (!isString(body.policyVersion) || body.policyVersion === '') return 'no policyVersion';
  if (typeof body.failed !== 'boolean') return 'failed is not a boolean';
  if (!full) return undefined;
  if (!isString(body.summary)) return 'no summary';
  if (typeof body.score !== 'number' || !Number.isFinite(body.score)) return 'score is not a number';
  for (const field of ['policySource', 'snapshot', 'evaluatedAt', 'geoSource'] as const) {
    if (!isString(body[field]) || body[field] === '') return `no ${field}`;
  }
  if (Number.isNaN(Date.parse(body.evaluatedAt as string))) return 'evaluatedAt is not a date';
  if (!isObject(body.signals)) return 'signals is not an object';
  if (!isObject(body.intel) || !isString(body.intel.version)) return 'no intel version';
  if (body.decision === 'challenge') {
    const ch = body.challenge;
    if (!isObject(ch) || !Array.isArray(ch.kinds) || ch.kinds.length === 0 || !isString(ch.ticket)) return 'a challenge without kinds or ticket';
  } else if (body.challenge !== undefined) {
    return `a ${body.decision as string} with a challenge`;
  }
  return undefined;
}

const codes = (body: Record<string, unknown>, standing: boolean): string[] =>
  (body.reasons as Record<string, unknown>[]).filter((r) => !standing || r.liftedBy === undefined).map((r) => r.code as string);

/** Whether a decision body says what a case of `outcome` (with `reason`) must get. */
function outcomeMismatch(body: Record<string, unknown>, outcome: Exclude<Outcome, 'invalid'>, reason: string | undefined, x: Expectations): string | undefined {
  if (body.failed !== false) return 'failed: true (the policy in force did not decide)';
  if (body.policyVersion !== x.policyVersion) return `policyVersion ${JSON.stringify(body.policyVersion)}, not the seeded ${x.policyVersion}`;
  const want = outcome === 'cleared' ? 'allow' : outcome;
  if (body.decision !== want) return `decision ${body.decision as string}, want ${want}`;
  const all = codes(body, false);
  if (outcome === 'cleared' && all[0] !== 'CLEARANCE_VALID') return `an allow not by its clearance (reasons ${all.join(',')})`;
  if (outcome === 'allow' && all.some((c) => c.startsWith('CLEARANCE_'))) return `an allow with clearance reasons (${all.join(',')})`;
  if (reason !== undefined && !codes(body, true).includes(reason)) return `no standing ${reason} (reasons ${all.join(',')})`;
  return undefined;
}

/** An error body: `{ error: { code, message } }`. */
function errorShape(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.error)) return 'not an error body';
  if (!isString(body.error.code) || body.error.code === '') return 'an error without a code';
  if (!isString(body.error.message)) return 'an error without a message';
  return undefined;
}

/** Reads one header of a response (undici gives a string or an array). */
export type HeaderValue = string | string[] | undefined;

/**
 * Checks one answer. `status` and `text` are the HTTP response's; for `rpc`, the caller Worker's
 * (200 with `{ result }` or `{ thrown }`).
 */
export function verify(
  surface: Surface,
  outcome: Outcome,
  reason: string | undefined,
  status: number,
  header: (name: string) => HeaderValue,
  text: string,
  x: Expectations,
): Verdict {
  const body = parse(text);
  const bad = (why: string): Verdict => ({ ok: false, why: `${why} [status ${status}: ${text.slice(0, 300)}]` });
  if (body === undefined) return bad('not JSON');
  const type = header('content-type');
  if (surface !== 'rpc' && !(isString(type) && type.startsWith('application/json'))) return bad(`content-type ${String(type)}`);

  if (surface === 'rpc') {
    if (status !== 200 || !isObject(body)) return bad('the caller Worker failed');
    if ('thrown' in body) return bad('AccessCheck.check threw');
    const result = body.result;
    if (outcome === 'invalid') {
      const e = errorShape(result);
      if (e !== undefined) return bad(`invalid input not answered as an error value: ${e}`);
      const code = (result as { error: { code: string } }).error.code;
      return code === 'INVALID_REQUEST' ? { ok: true, error: code } : bad(`error code ${code}`);
    }
    const shape = decisionShape(result, true);
    if (shape !== undefined) return bad(shape);
    const mismatch = outcomeMismatch(result as Record<string, unknown>, outcome, reason, x);
    return mismatch === undefined ? { ok: true, decision: (result as { decision: 'allow' }).decision } : bad(mismatch);
  }

  if (outcome === 'invalid') {
    if (status < 400 || status > 499) return bad('a malformed request not answered 4xx');
    const e = errorShape(body);
    return e === undefined ? { ok: true, error: (body as { error: { code: string } }).error.code } : bad(e);
  }
  if (surface === 'check' && status !== 200) return bad('a check not answered 200');
  const shape = decisionShape(body, surface === 'check');
  if (shape !== undefined) return bad(shape);
  const decision = (body as { decision: 'allow' | 'deny' | 'challenge' }).decision;
  if (surface === 'authorize') {
    if (status !== AUTHORIZE_STATUS[decision]) return bad(`status ${status} for a ${decision}`);
    if (header('geogate-decision') !== decision) return bad(`Geogate-Decision ${String(header('geogate-decision'))} for a ${decision}`);
    if (decision === 'challenge' && !isString(header('geogate-challenge-ticket'))) return bad('a 401 without Geogate-Challenge-Ticket');
  }
  const mismatch = outcomeMismatch(body as Record<string, unknown>, outcome, reason, x);
  return mismatch === undefined ? { ok: true, decision } : bad(mismatch);
}
