// Entry point that esbuild bundles (with the TypeScript sources) for the engine benchmark.
// It exposes exactly what production runs per decision, plus the adapter that builds Facts, so
// that the benchmark's Facts come out of the same validation and normalisation as real ones.
import { evaluate } from '../src/engine/evaluate';
import { factsFromCheckRequest, parseCheckRequest } from '../src/facts/check-request';
import { defaultPolicy } from '../src/policy/default';

export { defaultPolicy, evaluate };

/** Facts for each `{ name, body, cf? }` case; a case the schema rejects is a bug in the bench. */
export function factsOf(cases) {
  return cases.map(({ name, body, cf }) => {
    const parsed = parseCheckRequest(body);
    if (!parsed.success) {
      throw new Error(`bench case ${name} is not a valid check request: ${JSON.stringify(parsed.error.issues)}`);
    }
    return factsFromCheckRequest(parsed.data, cf);
  });
}
