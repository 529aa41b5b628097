// Entry point that esbuild bundles for the simulate benchmark: simulate() itself, the default
// policy and what a candidate needs (schema + compile), as POST /v1/simulate and the CLI run them.
import { compilePolicy } from '../src/engine/compile';
import { DEFAULT_POLICY_DOCUMENT, defaultPolicy } from '../src/policy/default';
import { parsePolicy } from '../src/policy/schema';
import { simulate } from '../src/simulate/simulate';

export { defaultPolicy, simulate };

/**
 * A candidate that differs from the default where traffic notices: VPN and mismatch weigh more,
 * and a new country rule challenges. Throws if it does not validate (a bug in the bench).
 */
export function candidatePolicy() {
  const doc = JSON.parse(JSON.stringify(DEFAULT_POLICY_DOCUMENT));
  doc.version = 'bench-candidate';
  doc.rules = [...doc.rules, { id: 'bench-challenge-de', type: 'country', action: 'challenge', countries: ['DE'] }];
  doc.score = { ...doc.score, weights: { ...doc.score.weights, NETWORK_VPN: 60, TZ_MISMATCH: 40 } };
  const parsed = parsePolicy(doc);
  if (!parsed.ok) throw new Error(`bench candidate policy is invalid: ${parsed.error.message}`);
  return compilePolicy(parsed.policy);
}
