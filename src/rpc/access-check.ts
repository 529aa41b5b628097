// The service-binding entrypoint: a Worker bound to geogate calls `check(input)` over Workers RPC
// instead of HTTP. Same input, same pipeline and same answer as POST /v1/check; no token, because
// only Workers on the same account that declare the binding can reach it (it has no URL).
import { WorkerEntrypoint } from 'cloudflare:workers';
import { invalidCheckRequest, parseCheckRequest, type CheckRequestInput, type InvalidCheckRequest } from '../facts/check-request';
import { decideCheck, type DecisionBody } from '../routes/decide';

/** The check request as an RPC caller writes it: the JSON body of POST /v1/check. */
export type AccessCheckInput = CheckRequestInput;

/** What `check` answers for invalid input: the body of /v1/check's 400, field by field. */
export type AccessCheckInputError = InvalidCheckRequest;

type JsonLeaf = string | number | boolean | null;
type Json2 = JsonLeaf | JsonLeaf[] | { [key: string]: JsonLeaf | JsonLeaf[] };
/**
 * A JSON value, four levels deep: what evidence holds (the HTTP route serialises it as JSON). Not
 * recursive on purpose: RPC's serialisability check would recurse through it without end.
 */
export type JsonValue = Json2 | Json2[] | { [key: string]: Json2 | Json2[] };

/**
 * `T` with every `unknown` (the free-form evidence of reasons and signals) read as a JSON value.
 * Workers RPC types a binding's results by what it can serialise, and `unknown` is not provably
 * serialisable: typed as DecisionBody, the decision would vanish from `Service<AccessCheck>`.
 */
export type Jsonish<T> = unknown extends T ? JsonValue : T extends readonly (infer U)[] ? Jsonish<U>[] : T extends object ? { [K in keyof T]: Jsonish<T[K]> } : T;

/** The answer of `check`: a decision, or the invalid-input error (the bodies /v1/check answers). */
export type AccessCheckResult = Jsonish<DecisionBody> | AccessCheckInputError;

/**
 * geogate as a Workers RPC service. Bind it from the caller's wrangler.toml:
 *
 * ```toml
 * [[services]]
 * binding = "GEOGATE"
 * service = "geogate"
 * entrypoint = "AccessCheck"
 * ```
 *
 * @example
 * ```ts
 * const answer = await env.GEOGATE.check({ ip, geo: { country: request.cf?.country }, account: { id } });
 * if ('error' in answer) throw new Error(answer.error.message); // a bug in the caller's input
 * if (answer.decision !== 'allow') return new Response('Forbidden', { status: 403 });
 * ```
 *
 * `request.cf` in the caller describes whoever connected to the CALLER: pass it as `geo` only when
 * the caller fronts the end user (a Worker on the user-facing route), as in the example.
 */
export class AccessCheck extends WorkerEntrypoint<Env> {
  /**
   * Decides one end-user request. Answers exactly what POST /v1/check would for the same body:
   * a policy that cannot be used still answers (its fail mode, `failed: true`), never throws.
   *
   * Invalid input is the caller's mistake, answered as a value (the body of /v1/check's 400:
   * `{ error: { code: "INVALID_REQUEST", message, issues } }`, each issue naming its field), not
   * thrown: an exception thrown by an RPC method is also reported as uncaught in geogate's own
   * logs, with a stack trace, for what is only a bad argument. Tell the two apart with
   * `'error' in result`.
   *
   * @param input The check request (every field optional; unknown fields are refused).
   */
  async check(input: AccessCheckInput): Promise<AccessCheckResult> {
    const parsed = parseCheckRequest(input);
    if (!parsed.success) return invalidCheckRequest(parsed.error);
    // There is no request.cf here: the caller's facts are all there is (geoSource "forwarded" or "none").
    // Evidence is built from JSON-safe values only (the HTTP route serialises the same body).
    return (await decideCheck({ env: this.env, waitUntil: (p) => this.ctx.waitUntil(p) }, parsed.data)) as Jsonish<DecisionBody>;
  }

  /**
   * Does nothing and answers "ok": a liveness probe for callers, and the baseline `npm run bench`
   * compares `check` with. It takes (and ignores) an argument so that the bench can send it the
   * same check request: the difference is then geogate's work, not the argument's trip.
   */
  ping(ignored?: unknown): Promise<'ok'> {
    void ignored;
    return Promise.resolve('ok');
  }
}
