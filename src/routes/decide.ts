// The pipeline both check routes share: validated input -> Facts -> policy -> Decision -> body.
import type { Context } from 'hono';
import { consultMemory, durableMemoryStore, type MemoryReport } from '../accounts/memory';
import { decidePrepared, prepare } from '../engine/evaluate';
import { failModeDecision, underFallback } from '../engine/fail';
import type { Decision, GeoSource } from '../engine/types';
import type { AppEnv } from '../env';
import type { CfView } from '../facts/cf';
import { factsFromCheckRequest, type CheckInput } from '../facts/check-request';
import { deploymentSettings } from '../settings';
import { activePolicyStore } from '../store/active-policy';
import { activeIntelStore, type IntelSourceKind } from '../store/intel-store';
import type { PolicySource, WaitUntilLike } from '../store/policy-store';
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
  challenge?: Decision['challenge'];
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
export async function decide(c: Context<AppEnv>, input: CheckInput, cf?: CfView): Promise<DecisionBody> {
  const facts = factsFromCheckRequest(input, cf);
  // The transport owns the clock; the engine only ever sees this instant.
  const now = Date.now();
  const store = kvTextStore(c.env.POLICY);
  const waitUntil = waitUntilOf(c);
  // Both loads run at once: a cold isolate waits for the slower one, never for their sum.
  const [answer, intel] = await Promise.all([
    activePolicyStore.get(store, now, { waitUntil, failMode: deploymentSettings(c.env).failMode }),
    activeIntelStore.get(store, now, { waitUntil }),
  ]);
  let d: Decision;
  let policyVersion = 'none';
  let policySource: DecisionBody['policySource'] = 'none';
  let snapshot = 'none';
  let memory: MemoryReport | undefined;
  if (answer.kind === 'policy') {
    const check = prepare(answer.compiled, facts, now, intel.intel);
    const consulted = await consultMemory(durableMemoryStore(c.env), check, { waitUntil });
    memory = consulted.report;
    d = decidePrepared(check, consulted.memory);
    if (answer.failure) d = underFallback(d, answer.failure, answer.source);
    policyVersion = answer.compiled.version;
    policySource = answer.source;
    snapshot = answer.snapshot;
  } else {
    d = failModeDecision(answer.failMode, answer.failModeFrom, answer.failure);
  }
  return {
    decision: d.decision,
    summary: d.summary,
    reasons: d.reasons,
    score: d.score,
    failed: d.failed,
    policyVersion,
    policySource,
    snapshot,
    requestId: input.requestId ?? crypto.randomUUID(),
    evaluatedAt: new Date(now).toISOString(),
    geoSource: facts.geoSource,
    signals: d.signals,
    intel: { version: intel.intel.version, source: intel.source, id: intel.id, failed: intel.failure !== undefined },
    ...(memory ? { memory } : {}),
    ...(d.challenge ? { challenge: d.challenge } : {}),
    ...(d.dryRun ? { dryRun: d.dryRun } : {}),
  };
}
