// geogate/hono: middleware for Hono apps on Workers that front their end users. It builds the
// check input from the user's own request (Cloudflare's `request.cf` and CF-Connecting-IP, which
// describe the user here because this app IS the user-facing Worker; the client-claim headers of
// geogate/browser; the clearance cookie), asks geogate (its service binding, or the engine
// in-process), puts the decision on `c.var.geogate` and answers a deny or a challenge itself.
// It never reads the origin-side Geogate-* headers (Geogate-IP, Geogate-Country, Geogate-Org-Id):
// here they would be the user's own words about themselves.
import type { Context, Env, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { failModeDecision, type PolicyFailure } from '../src/engine/fail';
import { evaluate } from '../src/engine/evaluate';
import { compilePolicy, type CompiledPolicy } from '../src/engine/compile';
import type { FailMode } from '../src/engine/policy';
import { offsetFromText } from '../src/engine/detectors/timezone';
import type { GeoFacts } from '../src/engine/types';
import { cfView } from '../src/facts/cf';
import { factsFromCheckRequest, GeoInputSchema, invalidCheckRequest, parseCheckRequest, type CheckRequestInput, type InvalidCheckRequest } from '../src/facts/check-request';
import { CLEARANCE_COOKIE, clearanceCookie, clientClaimsFromHeaders } from '../src/facts/forward-headers';
import { parsePolicy, type PolicyDocument } from '../src/policy/schema';
import type { DecisionBody } from '../src/routes/decide';
import type { AccessCheckResult } from '../src/rpc/access-check';

/**
 * The decision the middleware puts on `c.var.geogate`: geogate's answer (the body of POST
 * /v1/check) and where it came from. `via: "fail-mode"` means geogate could not be asked, or
 * answered an error: `failMode` decided and `failed` is true.
 */
export type GeogateDecision = Pick<DecisionBody, 'decision' | 'summary' | 'reasons' | 'score' | 'failed' | 'policyVersion' | 'requestId' | 'evaluatedAt' | 'signals' | 'challenge' | 'dryRun'> &
  Partial<DecisionBody> & { via: 'service' | 'in-process' | 'fail-mode' };

/** The variables the middleware sets: `c.var.geogate`. */
export interface GeogateVariables {
  geogate: GeogateDecision;
}

/** What the middleware needs of the bound service: AccessCheck's `check` (src/rpc/access-check.ts). */
export interface AccessCheckService {
  check(input: CheckRequestInput): Promise<AccessCheckResult>;
}

/** Decides in the app's own isolate; build one with {@link inProcessEngine}. */
export interface GeogateEngine {
  decide(input: CheckRequestInput, now: number): GeogateDecision | InvalidCheckRequest;
}

/** Origin-side facts only the app knows (its session, its auth layer). */
export type GeogateOriginFacts = Pick<CheckRequestInput, 'account' | 'surface' | 'requestId'> & {
  /** The user's device or session id as the app derives it (never read from the user's headers). */
  deviceId?: string | string[] | undefined;
};

/** Options of {@link geogate}. */
export interface GeogateOptions<E extends Env = Env> {
  /**
   * The service binding to geogate's AccessCheck entrypoint, by name in `c.env`.
   * @default "GEOGATE"
   */
  binding?: string;
  /** Decide in-process instead of through the binding (see {@link inProcessEngine}). */
  engine?: GeogateEngine;
  /**
   * Facts only the app knows, per request: the account and organisation acting, the surface, a
   * request id, a device id. May be async (a session lookup). Never from the user's own headers:
   * an `X-User-Id` would let the user pick the account judged and recorded, and a value geogate
   * refuses (an id of ".") hands the decision to `failMode`.
   * @default no account, no surface
   */
  facts?: (c: Context<E>) => GeogateOriginFacts | Promise<GeogateOriginFacts>;
  /**
   * Whether `request.cf` and CF-Connecting-IP describe the end user: true when this app is the
   * Worker users connect to. Set false when a proxy or another Worker calls this app: its cf
   * would be the proxy's, and the user's IP and geo must then come from `facts`.
   * @default true
   */
  trustCf?: boolean;
  /**
   * Answers a denied request. The decision is also on `c.var.geogate`.
   * @default 403 with `{ decision, reasons, requestId }` as JSON
   */
  onDeny?: (c: Context<E>, decision: GeogateDecision) => Response | Promise<Response>;
  /**
   * Answers a challenged request; call `next()`-free code only (the route does not run).
   * @default 401 with `{ decision, challenge, requestId }` as JSON (the ticket and kinds to solve)
   */
  onChallenge?: (c: Context<E>, decision: GeogateDecision) => Response | Promise<Response>;
  /**
   * What decides when geogate cannot be asked (no binding, the call threw) or refuses the input:
   * "closed" denies, "challenge" challenges, "open" lets the route run. The decision says
   * `failed: true`, `via: "fail-mode"`.
   * @default "closed"
   */
  failMode?: FailMode;
}

/** Reason codes listed in the default deny body: the ones that decided (not lifted). */
function decidingCodes(d: GeogateDecision): string[] {
  return [...new Set(d.reasons.filter((r) => r.liftedBy === undefined).map((r) => r.code))];
}

/** The default deny: 403 and what decided, as JSON. */
function defaultOnDeny<E extends Env>(c: Context<E>, d: GeogateDecision): Response {
  return c.json({ decision: d.decision, reasons: decidingCodes(d), requestId: d.requestId }, 403);
}

/** The default challenge: 401 and how to resolve it (kinds, ticket, Turnstile site key), as JSON. */
function defaultOnChallenge<E extends Env>(c: Context<E>, d: GeogateDecision): Response {
  return c.json({ decision: d.decision, reasons: decidingCodes(d), challenge: d.challenge, requestId: d.requestId }, 401);
}

/** The fail mode's decision, marked failed: no policy decided (geogate unreachable, or a bundled policy that is invalid). */
function failedDecision(mode: FailMode, failure: PolicyFailure, now: number, requestId: string, via: GeogateDecision['via']): GeogateDecision {
  return { ...failModeDecision(mode, 'deployment', failure), policyVersion: 'none', requestId, evaluatedAt: new Date(now).toISOString(), via };
}

/**
 * An offset claim no place uses: what a `Geogate-Client-UTC-Offset` value that is not an integer
 * becomes. The check input takes offsets as numbers (a string there is a caller's type error), but
 * this header is the user's: its garbage must be evidence (TZ_INVALID), never a refused input,
 * which would hand the decision to the fail mode, and with `failMode: "open"`, let the user in.
 */
export const UNREADABLE_OFFSET_CLAIM = 99_999;

/** A header offset claim as the check input takes it (see {@link UNREADABLE_OFFSET_CLAIM}). */
function offsetClaim(value: number | string): number {
  return typeof value === 'number' ? value : (offsetFromText(value) ?? UNREADABLE_OFFSET_CLAIM);
}

/**
 * Cloudflare's geo as the check input takes it: each field the check schema would refuse is left
 * out. request.cf holds such values (continent "T1" for a Tor exit, which anyone can connect
 * through), and a refused input hands the decision to the fail mode, which with "open" lets the
 * user in. Leaving one out hides nothing a rule reads: the engine reads no continent, and a region
 * code or name the schema refuses names no subdivision a policy lists.
 */
function checkableGeo(geo: GeoFacts): GeoFacts {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(geo)) {
    if (GeoInputSchema.shape[field as keyof GeoFacts].safeParse(value).success) out[field] = value;
  }
  return out;
}

/** The check input from the end user's own request and the app's facts. */
function inputOf(c: Context, trustCf: boolean, origin: GeogateOriginFacts): CheckRequestInput {
  const request = c.req.raw;
  const { utcOffsetMinutes, ...claims } = clientClaimsFromHeaders(request.headers);
  const client: NonNullable<CheckRequestInput['client']> = { ...claims } as NonNullable<CheckRequestInput['client']>;
  if (utcOffsetMinutes !== undefined) client.utcOffsetMinutes = Array.isArray(utcOffsetMinutes) ? utcOffsetMinutes.map(offsetClaim) : offsetClaim(utcOffsetMinutes as number | string);
  if (origin.deviceId !== undefined) client.deviceId = origin.deviceId;
  const input: CheckRequestInput = { client };
  if (trustCf) {
    const cf = cfView(request);
    if (cf.geo) input.geo = checkableGeo(cf.geo);
    if (cf.ip !== undefined) input.ip = cf.ip;
  }
  if (origin.account !== undefined) input.account = origin.account;
  if (origin.surface !== undefined) input.surface = origin.surface;
  if (origin.requestId !== undefined) input.requestId = origin.requestId;
  // The hosted challenge page's cookie: signed and bound to the account and network, so the
  // user's copy of it is safe to pass on (docs/challenges.md).
  const clearance = clearanceCookie(request.headers.get('cookie'));
  if (clearance !== undefined) input.clearance = clearance;
  return input;
}

/** The bound service, or undefined when the binding is missing or is not an AccessCheck. */
function serviceOf(env: unknown, name: string): AccessCheckService | undefined {
  const bound = (env as Record<string, unknown> | undefined)?.[name];
  const check = (bound as Partial<AccessCheckService> | undefined)?.check;
  return typeof check === 'function' ? (bound as AccessCheckService) : undefined;
}

/**
 * geogate for a Hono app: decides every request it runs on, puts the decision on
 * `c.var.geogate`, runs the route when it is `allow`, and answers deny and challenge with
 * `onDeny` / `onChallenge`.
 *
 * @param options See {@link GeogateOptions}; with none, the service binding `GEOGATE` decides.
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { geogate, type GeogateVariables } from 'geogate/hono';
 *
 * type AppEnv = { Bindings: { GEOGATE: Service }; Variables: GeogateVariables & { userId?: string } };
 * const app = new Hono<AppEnv>();
 * app.use('/api/*', yourSession); // sets c.var.userId from a verified session, never from a user's header
 * app.use('/api/*', geogate<AppEnv>({ facts: (c) => ({ account: { id: c.var.userId }, surface: 'api' }) }));
 * app.get('/api/hello', (c) => c.json({ hello: 'world', decision: c.var.geogate.decision }));
 * ```
 */
export function geogate<E extends Env = Env>(options: GeogateOptions<E> = {}): MiddlewareHandler<E & { Variables: GeogateVariables }> {
  const binding = options.binding ?? 'GEOGATE';
  const failMode = options.failMode ?? 'closed';
  const trustCf = options.trustCf ?? true;
  const onDeny = options.onDeny ?? defaultOnDeny<E>;
  const onChallenge = options.onChallenge ?? defaultOnChallenge<E>;
  return createMiddleware<E & { Variables: GeogateVariables }>(async (c, next) => {
    const ctx = c as unknown as Context<E>;
    const now = Date.now();
    let decision: GeogateDecision;
    let input: CheckRequestInput | undefined;
    try {
      input = inputOf(c, trustCf, options.facts ? await options.facts(ctx) : {});
      decision = await ask(options.engine, serviceOf(c.env, binding), binding, input, now);
    } catch (error) {
      // geogate unreachable (or the facts callback threw): the fail mode decides, loudly.
      console.error('geogate/hono: no decision, the fail mode decides:', error instanceof Error ? error.message : String(error));
      decision = failedDecision(failMode, { kind: 'storage-unavailable', message: 'geogate could not be asked' }, now, input?.requestId ?? crypto.randomUUID(), 'fail-mode');
    }
    c.set('geogate', decision);
    if (decision.decision === 'deny') return onDeny(ctx, decision);
    if (decision.decision === 'challenge') return onChallenge(ctx, decision);
    await next();
  });
}

/** Asks the engine or the service; an error answer (invalid input) becomes a thrown Error. */
async function ask(engine: GeogateEngine | undefined, service: AccessCheckService | undefined, binding: string, input: CheckRequestInput, now: number): Promise<GeogateDecision> {
  const answer = engine ? engine.decide(input, now) : await (service ?? missing(binding)).check(input);
  if ('error' in answer) {
    throw new Error(`geogate refused the input (${answer.error.issues.map((i) => i.path).join(', ')}): ${answer.error.message}`);
  }
  return 'via' in answer ? answer : { ...answer, via: 'service' };
}

function missing(binding: string): never {
  throw new Error(`no service binding "${binding}" to geogate's AccessCheck entrypoint in this Worker's env`);
}

/** Options of {@link inProcessEngine}. */
export interface InProcessEngineOptions {
  /**
   * What decides when the policy document is invalid (promise 1: never "open" by accident).
   * @default "closed"
   */
  failMode?: FailMode;
}

/**
 * geogate's engine inside the app's own isolate, on a policy document the app bundles: no network
 * hop, no KV. It judges geo, network (the bundled intel), client claims and the policy's rules;
 * it has no account memory (the history signals are undetermined), cannot verify clearances (no
 * secret: a challenge stays a challenge) and takes only self-contained policies (built-in lists,
 * no named lists). An invalid document decides by `failMode`, `failed: true`.
 *
 * @example
 * ```ts
 * import policy from './geogate-policy.json';
 * app.use(geogate({ engine: inProcessEngine(policy) }));
 * ```
 */
export function inProcessEngine(document: PolicyDocument, options: InProcessEngineOptions = {}): GeogateEngine {
  let compiled: CompiledPolicy | { problem: string } | undefined;
  // Compiled on first use, once: an app that never reaches the middleware pays nothing.
  const policy = () => {
    if (compiled) return compiled;
    const parsed = parsePolicy(document);
    compiled = parsed.ok ? compilePolicy(parsed.policy) : { problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`).slice(0, 3).join('; ') };
    return compiled;
  };
  return {
    decide(input, now) {
      const parsed = parseCheckRequest(input);
      if (!parsed.success) return invalidCheckRequest(parsed.error);
      const requestId = parsed.data.requestId ?? crypto.randomUUID();
      const p = policy();
      if ('problem' in p) return failedDecision(options.failMode ?? 'closed', { kind: 'invalid', message: `the bundled policy is invalid: ${p.problem}` }, now, requestId, 'in-process');
      const facts = factsFromCheckRequest(parsed.data);
      const d = evaluate(p, facts, now);
      return { ...d, policyVersion: p.version, requestId, evaluatedAt: new Date(now).toISOString(), geoSource: facts.geoSource, via: 'in-process' };
    },
  };
}

export { CLEARANCE_COOKIE };
