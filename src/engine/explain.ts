// Orders a decision's reasons and writes its one-line summary. Pure.
//
// Order: the decisive reason first (the most severe standing reason; a hard rule before
// GEO_MISSING before the score), then the other reasons that stand, then the signals that fed
// the score by the points they added, then the allow-exceptions that matched, then what they
// lifted. An origin that logs only `reasons[0]` logs why.
import { ACTION_SEVERITY, type Action, type Reason } from './types';

/** What the summary needs besides the reasons. */
export interface ExplainContext {
  readonly decision: Action;
  readonly score: number;
  readonly challengeAt: number;
}

/** How a summary names each decision ("Denied: …"). */
export const VERB: Readonly<Record<Action, string>> = { deny: 'Denied', challenge: 'Challenged', allow: 'Allowed' };

/** Hard rules first, then the policy-wide settings that can decide. */
function sourceRank(rule: string): number {
  if (rule === 'score') return 2;
  if (rule === 'missingGeo' || rule === 'failMode' || rule === 'historyUnavailable') return 1;
  return 0;
}

function compareDecisive(a: Reason, b: Reason): number {
  return (
    ACTION_SEVERITY[b.action] - ACTION_SEVERITY[a.action] ||
    sourceRank(a.rule) - sourceRank(b.rule) ||
    (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
    (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)
  );
}

const byRule = (a: Reason, b: Reason) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);

/**
 * The reasons in reading order and the summary line.
 * @param decisive Reasons whose action can decide (rules, GEO_MISSING, SCORE_*), lifted or not.
 * @param signals Signal reasons, already ordered by the points they added (most first).
 * @param exceptions Allow-exceptions that matched.
 */
export function explain(
  ctx: ExplainContext,
  decisive: readonly Reason[],
  signals: readonly Reason[],
  exceptions: readonly Reason[],
): { reasons: Reason[]; summary: string } {
  const standing = decisive.filter((r) => r.liftedBy === undefined).sort(compareDecisive);
  const lifted = decisive.filter((r) => r.liftedBy !== undefined).sort(compareDecisive);
  const standingSignals = signals.filter((r) => r.liftedBy === undefined);
  const liftedSignals = signals.filter((r) => r.liftedBy !== undefined);
  const reasons = [...standing, ...standingSignals, ...[...exceptions].sort(byRule), ...lifted, ...liftedSignals];
  return { reasons, summary: summarise(ctx, standing, standingSignals, lifted) };
}

function summarise(ctx: ExplainContext, standing: readonly Reason[], signals: readonly Reason[], lifted: readonly Reason[]): string {
  const verb = VERB[ctx.decision];
  const first = standing[0];
  if (first) {
    const points = first.rule === 'score' && signals.length > 0 ? ` (${signals.map((s) => `${s.code} +${pointsOf(s)}`).join(', ')})` : '';
    const others = standing.length - 1;
    const more = others > 0 ? ` ${others} more reason${others > 1 ? 's stand' : ' stands'}.` : '';
    return `${verb}: ${first.message}${points}${more}`;
  }
  if (lifted.length > 0) {
    const by = [...new Set(lifted.map((r) => r.liftedBy))].join(', ');
    return `${verb}: ${[...new Set(lifted.map((r) => r.code))].join(', ')} lifted by ${by}.`;
  }
  return `${verb}: no rule matched and the risk score ${ctx.score} is below challengeAt (${ctx.challengeAt}).`;
}

function pointsOf(r: Reason): number {
  const e = r.evidence;
  const p = typeof e.points === 'number' ? e.points : e.weight;
  return typeof p === 'number' ? p : 0;
}
