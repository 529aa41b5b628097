// The pipeline both check routes share: validated request -> Facts -> policy -> Decision -> body.
import type { Context } from 'hono';
import { evaluate } from '../engine/evaluate';
import type { Decision, GeoSource } from '../engine/types';
import type { AppEnv } from '../env';
import { cfView } from '../facts/cf';
import { factsFromCheckRequest, type CheckRequest } from '../facts/check-request';
import { activePolicyStore, type PolicySource, type WaitUntil } from '../policy/store';

/** The JSON body of a decision, shared by /v1/check and /v1/authorize. */
export interface DecisionBody {
  decision: Decision['decision'];
  reasons: Decision['reasons'];
  score: number;
  policyVersion: string;
  policySource: PolicySource;
  requestId: string;
  evaluatedAt: string;
  geoSource: GeoSource;
  signals: Decision['signals'];
  challenge?: Decision['challenge'];
}

function waitUntilOf(c: Context<AppEnv>): WaitUntil | undefined {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    // No ExecutionContext (called outside a fetch event): refresh in the foreground instead.
    return undefined;
  }
}

/**
 * Decides one validated check request. Cloudflare's view of the connecting client (request.cf,
 * CF-Connecting-IP) is used only when the deployment sets GEO_FROM_CF = "true".
 */
export async function decide(c: Context<AppEnv>, req: CheckRequest): Promise<DecisionBody> {
  const facts = factsFromCheckRequest(req, c.env.GEO_FROM_CF === 'true' ? cfView(c.req.raw) : undefined);
  // The transport owns the clock; the engine only ever sees this instant.
  const now = Date.now();
  const active = await activePolicyStore.get(c.env.POLICY, now, waitUntilOf(c));
  const d = evaluate(active.compiled, facts, now);
  return {
    decision: d.decision,
    reasons: d.reasons,
    score: d.score,
    policyVersion: active.compiled.version,
    policySource: active.source,
    requestId: req.requestId ?? crypto.randomUUID(),
    evaluatedAt: new Date(now).toISOString(),
    geoSource: facts.geoSource,
    signals: d.signals,
    ...(d.challenge ? { challenge: d.challenge } : {}),
  };
}
