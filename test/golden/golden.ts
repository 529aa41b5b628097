// Golden cases: a policy, an instant, and check requests with the whole decision they must get
// (decision, the ordered reasons with their rules and liftedBy, score, and what the policy's dry-run
// rules would have done when it has some). The test suite and
// `npm run bench` run the same files (test/fixtures/golden/*.json), as Cerbos' case files drive
// both its tests and its benchmarks.
import * as z from 'zod';
import type { ClearanceInput } from '../../src/engine/clearance';
import type { CompiledPolicy } from '../../src/engine/compile';
import { evaluate } from '../../src/engine/evaluate';
import type { Action, Decision, Reason } from '../../src/engine/types';
import { factsFromCheckRequest, parseCheckRequest } from '../../src/facts/check-request';

const ACTIONS = ['allow', 'challenge', 'deny'] as const;

/** One reason as golden cases pin it: what, which rule, lifted by what. */
const WantReason = z.strictObject({ code: z.string(), rule: z.string(), liftedBy: z.string().optional() });

/** What a case pins of `dryRun`: required exactly when the policy has dry-run rules. */
const WantDryRun = z.strictObject({
  decision: z.enum(ACTIONS),
  changed: z.boolean(),
  reasons: z.array(WantReason),
  score: z.number(),
  /** The dry-run rules that matched, sorted. */
  matched: z.array(z.string()),
});

/** One golden case: a /v1/check body and the decision it must get. */
export const GoldenCaseSchema = z.strictObject({
  name: z.string().min(1),
  /** The family of scenarios the case belongs to (README of the fixtures lists them). */
  family: z.string().optional(),
  request: z.unknown(),
  /** Overrides the file's instant for this case. */
  now: z.iso.datetime({ offset: true }).optional(),
  /** The account and organisation memory the check is judged with (src/engine/history.ts's MemoryFacts). */
  memory: z.record(z.string(), z.unknown()).optional(),
  /**
   * The clearance the request presents, as the transport hands it to the engine
   * (src/engine/clearance.ts's ClearanceInput: its signature already checked).
   */
  clearance: z.record(z.string(), z.unknown()).optional(),
  want: z.strictObject({
    decision: z.enum(ACTIONS),
    /** Every reason, in the order the decision lists them. */
    reasons: z.array(WantReason),
    score: z.number(),
    /** Present exactly when the decision is a challenge: the kinds offered and what it is about. */
    challenge: z.strictObject({ kinds: z.array(z.string()), clears: z.array(z.string()) }).optional(),
    /** Present exactly when the decision has one (the policy has dry-run rules). */
    dryRun: WantDryRun.optional(),
  }),
});

/** A golden file: which policy, at which instant, and the cases. */
export const GoldenFileSchema = z.strictObject({
  description: z.string().optional(),
  /** "default" for the embedded default policy, or an inline policy document. */
  policy: z.union([z.literal('default'), z.record(z.string(), z.unknown())]),
  now: z.iso.datetime({ offset: true }),
  cases: z.array(GoldenCaseSchema).min(1),
});

/** A parsed golden file. */
export type GoldenFile = z.output<typeof GoldenFileSchema>;
/** A parsed golden case. */
export type GoldenCase = z.output<typeof GoldenCaseSchema>;
/** What a golden case pins of a decision. */
export interface GoldenOutcome {
  decision: Action;
  reasons: GoldenReason[];
  score: number;
  challenge?: { kinds: string[]; clears: string[] };
  dryRun?: { decision: Action; changed: boolean; reasons: GoldenReason[]; score: number; matched: string[] };
}

/** One reason as golden cases pin it. */
export interface GoldenReason {
  code: string;
  rule: string;
  liftedBy?: string;
}

const pinned = (reasons: readonly Reason[]): GoldenReason[] =>
  reasons.map((r) => ({ code: r.code, rule: r.rule, ...(r.liftedBy !== undefined ? { liftedBy: r.liftedBy } : {}) }));

/** The part of a decision golden cases compare. */
export function outcomeOf(d: Decision): GoldenOutcome {
  const dry = d.dryRun;
  return {
    decision: d.decision,
    reasons: pinned(d.reasons),
    score: d.score,
    ...(d.challenge ? { challenge: { kinds: d.challenge.kinds, clears: d.challenge.clears } } : {}),
    ...(dry ? { dryRun: { decision: dry.decision, changed: dry.changed, reasons: pinned(dry.reasons), score: dry.score, matched: dry.matched } } : {}),
  };
}

/** Runs one golden case against a compiled policy; throws when its request is not a valid body. */
export function runGoldenCase(policy: CompiledPolicy, c: GoldenCase, fileNow: string): { got: GoldenOutcome; decision: Decision } {
  const parsed = parseCheckRequest(c.request);
  if (!parsed.success) throw new Error(`golden case "${c.name}" has an invalid request: ${z.prettifyError(parsed.error)}`);
  const decision = evaluate(policy, factsFromCheckRequest(parsed.data), Date.parse(c.now ?? fileNow), undefined, c.memory, c.clearance as ClearanceInput | undefined);
  return { got: outcomeOf(decision), decision };
}
