// The pipeline both check routes share: validated input -> Facts -> policy -> Decision -> body.
import type { Context } from 'hono';
import { consultMemory, durableMemoryStore, type MemoryReport } from '../accounts/memory';
import { challengeConfig, type ChallengeConfig } from '../challenge/config';
import { revokedAt } from '../challenge/revocations';
import { readClearance, signTicket } from '../challenge/tokens';
import { networkOf, type ClearanceInput } from '../engine/clearance';
import type { CompiledPolicy } from '../engine/compile';
import { decidePrepared, prepare } from '../engine/evaluate';
import type { Facts } from '../engine/types';
import { failModeDecision, underFallback } from '../engine/fail';
import type { Decision, GeoSource } from '../engine/types';
import type { AppEnv } from '../env';
import type { CfView } from '../facts/cf';
import { factsFromCheckRequest, type CheckInput } from '../facts/check-request';
import { FAIL_MODE_LOG_SETTINGS, isSampled } from '../observability/decision-log';
import { decisionIpHash, writeDecisionLog, type DecisionLogBindings } from '../observability/decision-log-sink';
import { deploymentSettings } from '../settings';
import { activePolicyStore } from '../store/active-policy';
import { activeIntelStore, type IntelSourceKind } from '../store/intel-store';
import type { PolicyAnswer, PolicySource, WaitUntilLike } from '../store/policy-store';
import { kvTextStore } from '../store/text-store';

/** The JSON body of a decision, shared by /v1/check and /v1/authorize. */
export interface DecisionBody {
  decision: Decision['decision'];
  /** One human-readable line: the decision and why. */
  summary: string;
  reasons: Decision['reasons'];
  score: number;
  /** True when the operator's current policy did not decide (a fallback, or the fail mode). */
  failed: boolean;
  /** The version of the policy that decided; "none" when the fail mode decided. */
  policyVersion: string;
  /** Where that policy came from; "none" when the fail mode decided. */
  policySource: PolicySource | 'none';
  /**
   * The snapshot that decided (policy and list versions, by content): its id, the SHA-256 of a
   * policy document written straight to KV, "default", or "none" under the fail mode.
   */
  snapshot: string;
  requestId: string;
  evaluatedAt: string;
  geoSource: GeoSource;
  signals: Decision['signals'];
  /** Present when the decision is `challenge`: how the user may resolve it (docs/challenges.md). */
  challenge?: ChallengeBody;
  /**
   * The network intel the decision used: its version, where it came from, its artifact id, and
   * `failed` when the intel `intel:active` names could not be used (a fallback answered).
   */
  intel: { version: string; source: IntelSourceKind; id: string; failed: boolean };
  /**
   * How the account and organisation memory was consulted: the policy's mode, and for each side
   * `object` (answered in time), `cache` (this isolate's summary), `cold` (nothing cached yet),
   * `timeout` / `unavailable` (the memory signals are undetermined), `none` (no id) or `off`.
   * Absent under the fail mode.
   */
  memory?: MemoryReport;
  /**
   * What the policy's dry-run rules would have done (the decision with every rule enforced).
   * Present whenever the policy that decided has dry-run rules, a last-known-good fallback
   * included; never under the fail mode. It never changes `decision`.
   */
  dryRun?: Decision['dryRun'];
}

/** A challenge as the API answers it: the engine's offer, the Turnstile site key and a signed ticket. */
export interface ChallengeBody extends NonNullable<Decision['challenge']> {
  /** Present when `kinds` includes turnstile and the deployment set TURNSTILE_SITE_KEY. */
  turnstile?: { siteKey: string };
  /**
   * Signed record of what was challenged (account, network, reasons, kinds offered), valid
   * `expiresIn` seconds; pass it to POST /v1/challenge/*. Absent without CLEARANCE_SECRET and
   * under the fail mode (nothing could clear that).
   */
  ticket?: string;
}

/**
 * Reads a presented clearance: its signature (src/challenge/tokens.ts), then, when it names an
 * account, that account's revocation. The engine judges the rest.
 */
async function clearanceOf(token: string, config: ChallengeConfig, kv: KVNamespace): Promise<ClearanceInput> {
  const read = await readClearance(token, config.clearanceSecrets);
  if (read.status !== 'signed' || read.claims.account === undefined) return read;
  const revoked = await revokedAt(kv, read.claims.account);
  return revoked === undefined ? read : { ...read, revokedAt: revoked };
}

/** The challenge with its site key and ticket. */
async function challengeBody(offer: NonNullable<Decision['challenge']>, policy: CompiledPolicy, facts: Facts, requestId: string, config: ChallengeConfig, now: number): Promise<ChallengeBody> {
  const body: ChallengeBody = { ...offer };
  if (config.siteKey !== undefined && offer.kinds.includes('turnstile')) body.turnstile = { siteKey: config.siteKey };
  const secret = config.clearanceSecrets[0];
  if (secret !== undefined) {
    const network = facts.ip === undefined ? undefined : networkOf(facts.ip, policy.challenge.bind);
    body.ticket = await signTicket(secret, {
      requestId,
      ...(facts.account.id !== undefined ? { account: facts.account.id } : {}),
      ...(network !== undefined ? { network } : {}),
      reasons: offer.clears,
      kinds: offer.kinds,
      policyVersion: policy.version,
      issuedAt: now,
      expiresAt: now + offer.expiresIn * 1000,
    });
  }
  return body;
}

/**
 * The policy in force at `now`, as every route that needs it loads it: this isolate's compiled
 * copy, loaded from KV (within the load budget) when cold, or the fail mode's answer.
 */
export function policyInForce(c: Context<AppEnv>, now: number): Promise<PolicyAnswer> {
  return policyFor({ env: c.env, waitUntil: waitUntilOf(c) }, now);
}

/** {@link policyInForce} for callers without a Hono context (the RPC entrypoint). */
function policyFor(ctx: DecideContext, now: number): Promise<PolicyAnswer> {
  return activePolicyStore.get(kvTextStore(ctx.env.POLICY), now, { waitUntil: ctx.waitUntil, failMode: deploymentSettings(ctx.env).failMode });
}

/**
 * What deciding needs from the Worker: its bindings and, when the caller has an
 * ExecutionContext, a way to finish background work (memory records, cache refreshes) after the
 * answer. HTTP routes, the RPC entrypoint and the in-process Hono middleware all build one.
 */
export interface DecideContext {
  env: Env;
  waitUntil?: WaitUntilLike | undefined;
  /**
   * The HTTP request's URL, which tells a loopback request (`npm start`) from any other: dev-only
   * clearance secrets sign and verify for loopback requests only (src/challenge/config.ts). Absent
   * on the RPC entrypoint, which then counts as not local.
   */
  requestUrl?: string | undefined;
}

/** Resolves on a later turn of the event loop, once the current answer has been sent. */
function afterAnswer(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The request's ExecutionContext.waitUntil, when there is one. */
export function waitUntilOf(c: Context<AppEnv>): WaitUntilLike | undefined {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    // No ExecutionContext (called outside a fetch event): background work runs unattended.
    return undefined;
  }
}

/**
 * Decides one validated check input. `cf` is Cloudflare's view of the connecting client, passed
 * only when the route trusts it to be the end user.
 */
export function decide(c: Context<AppEnv>, input: CheckInput, cf?: CfView): Promise<DecisionBody> {
  return decideCheck({ env: c.env, waitUntil: waitUntilOf(c), requestUrl: c.req.url }, input, cf);
}

/**
 * {@link decide} without a Hono context: the RPC entrypoint and the in-process middleware call it.
 * Every decision, fail-mode ones included, is logged once here (docs/decision-logs.md), sampled
 * and masked as the deciding policy's `decisionLog` says, after the answer has gone (waitUntil);
 * logging never throws.
 */
export async function decideCheck(ctx: DecideContext, input: CheckInput, cf?: CfView): Promise<DecisionBody> {
  const started = performance.now();
  const { env, waitUntil } = ctx;
  const logBindings: DecisionLogBindings = env;
  const facts = factsFromCheckRequest(input, cf);
  // Whether this decision is logged: one draw for the data point and the log line alike.
  const logDraw = Math.random();
  // The transport owns the clock; the engine only ever sees this instant.
  const now = Date.now();
  const store = kvTextStore(env.POLICY);
  // Both loads run at once: a cold isolate waits for the slower one, never for their sum.
  const [answer, intel] = await Promise.all([policyFor(ctx, now), activeIntelStore.get(store, now, { waitUntil })]);
  const logSettings = answer.kind === 'policy' ? answer.compiled.decisionLog : FAIL_MODE_LOG_SETTINGS;
  let d: Decision;
  let policyVersion = 'none';
  let policySource: DecisionBody['policySource'] = 'none';
  let snapshot = 'none';
  let memory: MemoryReport | undefined;
  let challenge: ChallengeBody | undefined;
  let evaluationMs = 0;
  const requestId = input.requestId ?? crypto.randomUUID();
  if (answer.kind === 'policy') {
    const config = challengeConfig(env, ctx.requestUrl);
    let t = performance.now();
    const check = prepare(answer.compiled, facts, now, intel.intel);
    evaluationMs += performance.now() - t;
    // The memory and the clearance's revocation are read at once.
    const [consulted, clearance] = await Promise.all([
      consultMemory(durableMemoryStore(env), check, { waitUntil }),
      input.clearance === undefined ? undefined : clearanceOf(input.clearance, config, env.POLICY),
    ]);
    memory = consulted.report;
    t = performance.now();
    d = decidePrepared(check, consulted.memory, clearance);
    evaluationMs += performance.now() - t;
    if (d.challenge) challenge = await challengeBody(d.challenge, answer.compiled, facts, requestId, config, now);
    if (answer.failure) d = underFallback(d, answer.failure, answer.source);
    policyVersion = answer.compiled.version;
    policySource = answer.source;
    snapshot = answer.snapshot;
  } else {
    d = failModeDecision(answer.failMode, answer.failModeFrom, answer.failure);
    challenge = d.challenge;
  }
  const body: DecisionBody = {
    decision: d.decision,
    summary: d.summary,
    reasons: d.reasons,
    score: d.score,
    failed: d.failed,
    policyVersion,
    policySource,
    snapshot,
    requestId,
    evaluatedAt: new Date(now).toISOString(),
    geoSource: facts.geoSource,
    signals: d.signals,
    intel: { version: intel.intel.version, source: intel.source, id: intel.id, failed: intel.failure !== undefined },
    ...(memory ? { memory } : {}),
    ...(challenge ? { challenge } : {}),
    ...(d.dryRun ? { dryRun: d.dryRun } : {}),
  };
  const timings = { evaluationMicros: evaluationMs * 1000, totalMicros: (performance.now() - started) * 1000 };
  // A decision sampled out costs nothing more: no timer, no background task.
  if (isSampled(logSettings, logDraw)) {
    const log = async () => {
      // The IP hash only when the log will carry it.
      const ipHash = logSettings.mask.has('ipHash') ? undefined : await decisionIpHash(logBindings.MEMORY_HASH_SECRET, facts.ip);
      writeDecisionLog(logBindings, { decision: body, facts, settings: logSettings, timings, ipHash }, logDraw);
    };
    // After the answer has gone: the log (IP hash, record, console line, data point) is off the
    // check's latency. Without an ExecutionContext, before returning, so that nothing is lost.
    if (waitUntil) waitUntil(afterAnswer().then(log));
    else await log();
  }
  return body;
}
