// Entry point that esbuild bundles for the policy-load benchmark: what an isolate runs when it
// loads a stored policy text (size check, JSON, schema, compile).
import { compilePolicy } from '../src/engine/compile';
import { checkPolicySize, MAX_POLICY_BYTES, MAX_POLICY_ENTRIES } from '../src/policy/limits';
import { parsePolicyText } from '../src/policy/schema';

export { checkPolicySize, MAX_POLICY_BYTES, MAX_POLICY_ENTRIES };

/** Validates and compiles one policy text, as the store does; returns the outcome. */
export function load(text) {
  const parsed = parsePolicyText(text);
  if (!parsed.ok) return { ok: false, tooLarge: parsed.tooLarge?.bound ?? null, issues: parsed.error.issues.length };
  const compiled = compilePolicy(parsed.policy);
  return { ok: true, version: compiled.version };
}
