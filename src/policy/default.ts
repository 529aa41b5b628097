// The embedded default policy: served when KV holds none (and seeded into local KV by
// `npm start`). It is validated like any stored policy; a broken default is a build-time bug
// caught by the test suite, so failing loudly here is right.
import { compilePolicy, type CompiledPolicy } from '../engine/compile';
import DEFAULT_POLICY_DOCUMENT from './default-policy.json';
import { parsePolicy } from './schema';

let compiled: CompiledPolicy | undefined;

/** The default policy, validated and compiled on first use (not at isolate start-up). */
export function defaultPolicy(): CompiledPolicy {
  if (!compiled) {
    const parsed = parsePolicy(DEFAULT_POLICY_DOCUMENT);
    if (!parsed.ok) throw new Error(`embedded default policy is invalid: ${parsed.error.message}`);
    compiled = compilePolicy(parsed.policy);
  }
  return compiled;
}

/** The default policy document as shipped (what `npm start` seeds into local KV). */
export { DEFAULT_POLICY_DOCUMENT };
