// Golden cases: a policy, an instant and check requests with the decisions they must get.
// The test suite runs them, and the CLI's `simulate` runs the same files against a policy an
// operator is about to push, so a changed decision is seen before it ships.
import * as z from 'zod';
import type { CompiledPolicy } from '../engine/compile';
import { evaluate } from '../engine/evaluate';
import type { Action, Decision } from '../engine/types';
import { factsFromCheckRequest, parseCheckRequest } from '../facts/check-request';

const ACTIONS = ['allow', 'challenge', 'deny'] as const;

/** One golden case: a /v1/check body and the decision it must get. */
export const GoldenCaseSchema = z.strictObject({
  name: z.string().min(1),
  request: z.unknown(),
  /** Overrides the file's instant for this case. */
  now: z.iso.datetime({ offset: true }).optional(),
  want: z.strictObject({
    decision: z.enum(ACTIONS),
    /** Exact set of reason codes that are not lifted by an exception (order is irrelevant). */
    codes: z.array(z.string()).optional(),
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

/** What a golden case got, and whether that is what it wanted. */
export interface GoldenResult {
  name: string;
  ok: boolean;
  want: { decision: Action; codes?: string[] };
  got: { decision: Action; codes: string[] } | { error: string };
  decision?: Decision;
}

/** Codes of the reasons that stand (not lifted), sorted and unique. */
export function standingCodes(decision: Decision): string[] {
  return [...new Set(decision.reasons.filter((r) => r.liftedBy === undefined).map((r) => r.code))].sort();
}

/** Runs one golden case against a compiled policy. Never throws. */
export function runGoldenCase(policy: CompiledPolicy, c: GoldenCase, fileNow: string): GoldenResult {
  const want = c.want;
  const parsed = parseCheckRequest(c.request);
  if (!parsed.success) {
    return { name: c.name, ok: false, want, got: { error: `invalid request: ${z.prettifyError(parsed.error)}` } };
  }
  const decision = evaluate(policy, factsFromCheckRequest(parsed.data), Date.parse(c.now ?? fileNow));
  const codes = standingCodes(decision);
  const codesOk = want.codes === undefined || JSON.stringify([...want.codes].sort()) === JSON.stringify(codes);
  return { name: c.name, ok: decision.decision === want.decision && codesOk, want, got: { decision: decision.decision, codes }, decision };
}
