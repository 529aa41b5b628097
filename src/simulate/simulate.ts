// simulate(): replays check requests through the engine under the current policy and, optionally,
// a candidate, and says what would change. Pure (no I/O, no clock: `now` is injected), so the
// admin route POST /v1/simulate, the CLI (`geogate simulate`) and the bench run the same code.
// Requests are validated exactly as /v1/check validates its body; an invalid one is reported with
// its issues and counted, never fatal.
import * as z from 'zod';
import type { CompiledPolicy } from '../engine/compile';
import { evaluate } from '../engine/evaluate';
import { bundledIntel, type NetworkIntel } from '../engine/intel';
import type { Action, Decision, ReasonCode } from '../engine/types';
import { factsFromCheckRequest, parseCheckRequest, toInputIssues, type InputIssue } from '../facts/check-request';

/** The most requests one POST /v1/simulate may carry (the CLI has no such bound). */
export const MAX_SIMULATE_REQUESTS = 10_000;

/** The body of POST /v1/simulate; the route validates `policy` itself with parsePolicy. */
export const SimulateBodySchema = z.strictObject({
  /** A candidate policy document; absent: the current policy alone is replayed. */
  policy: z.unknown().optional(),
  requests: z.array(z.unknown()).min(1).max(MAX_SIMULATE_REQUESTS, `at most ${MAX_SIMULATE_REQUESTS} requests per call`),
});

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** The policy in force (or the baseline to compare against). */
  current: CompiledPolicy;
  /** The policy being considered; when absent, only `current` is evaluated and nothing "changes". */
  candidate?: CompiledPolicy | undefined;
  /** Raw check requests (bodies of POST /v1/check); each is validated like one. */
  requests: readonly unknown[];
  /** The instant (epoch ms) every request is evaluated at, unless `instants` names another. */
  now: number;
  /** The network intel both policies are evaluated with (the bundled copy unless given). */
  intel?: NetworkIntel | undefined;
  /**
   * Optional per-request instants (epoch ms), parallel to `requests`: an exported decision log
   * replays each request at the moment it was decided (client clocks are judged against it).
   * An `undefined` entry falls back to `now`.
   */
  instants?: readonly (number | undefined)[] | undefined;
  /**
   * Called every `progressEvery` requests and once at the end with (done, total); the CLI draws
   * a progress line with it. Default: never called.
   */
  onProgress?: ((done: number, total: number) => void) | undefined;
  /** How often `onProgress` is called. Default 1000. */
  progressEvery?: number | undefined;
}

/** One reason of a simulated decision: what golden cases pin, plus the action it asked for. */
export interface SimulatedReason {
  code: ReasonCode;
  rule: string;
  action: Action;
  liftedBy?: string;
}

/** A decision as simulate reports it (no evidence or messages: 10,000 of them must stay small). */
export interface SimulatedDecision {
  decision: Action;
  /** Every reason, in the decision's order (the decisive one first). */
  reasons: SimulatedReason[];
  score: number;
}

/** What happened to one request. */
export interface SimulateResult {
  /** Position in `requests`. */
  index: number;
  /** The request's `requestId`, when it has a valid one. */
  requestId?: string;
  /** Under the current policy; absent when the request is invalid. */
  current?: SimulatedDecision;
  /** Under the candidate; present when a candidate was given and the request is valid. */
  candidate?: SimulatedDecision;
  /** True when the candidate's decision differs from the current one. */
  changed: boolean;
  /** Present when the request is not a valid check request: its field-level issues. */
  error?: { issues: InputIssue[] };
}

/** Per reason code: in how many requests the candidate adds it, and in how many it drops it. */
export interface ReasonChange {
  added: number;
  removed: number;
}

/** Totals over a simulation. */
export interface SimulateSummary {
  total: number;
  /** Requests that are not valid check requests (see each result's `error`). */
  invalid: number;
  /** Valid requests whose decision differs between current and candidate. */
  changed: number;
  /** Versions of the policies evaluated. */
  policies: { current: string; candidate?: string };
  /** How many valid requests got each decision, per policy. */
  decisions: { current: Record<Action, number>; candidate?: Record<Action, number> };
  /** "from->to" (e.g. "allow->deny") to the number of requests that moved so; changed ones only. */
  transitions: Record<string, number>;
  /**
   * Reason codes that stand (not lifted) under one policy and not the other, counted per request.
   * Empty without a candidate.
   */
  byReason: Record<string, ReasonChange>;
}

/** What {@link simulate} returns, and the body POST /v1/simulate answers with. */
export interface SimulateReport {
  results: SimulateResult[];
  summary: SimulateSummary;
}

const emptyCounts = (): Record<Action, number> => ({ allow: 0, challenge: 0, deny: 0 });

/** The compact form of a decision. */
export function simulatedDecision(d: Decision): SimulatedDecision {
  return {
    decision: d.decision,
    reasons: d.reasons.map((r) => {
      const out: SimulatedReason = { code: r.code, rule: r.rule, action: r.action };
      if (r.liftedBy !== undefined) out.liftedBy = r.liftedBy;
      return out;
    }),
    score: d.score,
  };
}

/** Codes of the reasons that stand (an allow-exception did not lift them). */
function standingCodes(d: SimulatedDecision): Set<string> {
  const codes = new Set<string>();
  for (const r of d.reasons) if (r.liftedBy === undefined) codes.add(r.code);
  return codes;
}

function requestIdOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const id = (raw as Record<string, unknown>).requestId;
  return typeof id === 'string' && id.length <= 128 ? id : undefined;
}

/**
 * Decides every request under `current` (and `candidate`, when given) and summarises the
 * difference. Never throws for any request value: an invalid one becomes a result with `error`.
 *
 * @example
 * const report = simulate({ current: defaultPolicy(), candidate: compilePolicy(spec), requests, now: Date.now() });
 * report.summary.transitions['allow->deny']; // requests the candidate would newly deny
 */
export function simulate(options: SimulateOptions): SimulateReport {
  const { current, candidate, requests, now, instants, onProgress, intel = bundledIntel() } = options;
  const progressEvery = Math.max(1, options.progressEvery ?? 1000);
  const results: SimulateResult[] = [];
  const summary: SimulateSummary = {
    total: requests.length,
    invalid: 0,
    changed: 0,
    policies: candidate ? { current: current.version, candidate: candidate.version } : { current: current.version },
    decisions: candidate ? { current: emptyCounts(), candidate: emptyCounts() } : { current: emptyCounts() },
    transitions: {},
    byReason: {},
  };
  const bump = (code: string, field: keyof ReasonChange) => {
    const entry = (summary.byReason[code] ??= { added: 0, removed: 0 });
    entry[field]++;
  };

  for (let index = 0; index < requests.length; index++) {
    const raw = requests[index];
    const parsed = parseCheckRequest(raw);
    if (!parsed.success) {
      summary.invalid++;
      const result: SimulateResult = { index, changed: false, error: { issues: toInputIssues(parsed.error) } };
      const id = requestIdOf(raw);
      if (id !== undefined) result.requestId = id;
      results.push(result);
    } else {
      const at = instants?.[index] ?? now;
      const facts = factsFromCheckRequest(parsed.data);
      const cur = simulatedDecision(evaluate(current, facts, at, intel));
      summary.decisions.current[cur.decision]++;
      const result: SimulateResult = { index, current: cur, changed: false };
      if (parsed.data.requestId !== undefined) result.requestId = parsed.data.requestId;
      if (candidate) {
        const cand = simulatedDecision(evaluate(candidate, facts, at, intel));
        result.candidate = cand;
        if (summary.decisions.candidate) summary.decisions.candidate[cand.decision]++;
        if (cand.decision !== cur.decision) {
          result.changed = true;
          summary.changed++;
          const key = `${cur.decision}->${cand.decision}`;
          summary.transitions[key] = (summary.transitions[key] ?? 0) + 1;
        }
        const before = standingCodes(cur);
        const after = standingCodes(cand);
        for (const code of after) if (!before.has(code)) bump(code, 'added');
        for (const code of before) if (!after.has(code)) bump(code, 'removed');
      }
      results.push(result);
    }
    if (onProgress && ((index + 1) % progressEvery === 0 || index + 1 === requests.length)) onProgress(index + 1, requests.length);
  }
  return { results, summary };
}
