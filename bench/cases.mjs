// Check requests both benchmarks replay: the golden cases of the shipped default policy
// (test/fixtures/golden/default-policy.json, families.json and traffic.json), so that the cases
// the tests pin are the cases the benchmarks time, as Cerbos' case files drive both. The engine
// bench turns each into Facts through the real parseCheckRequest and factsFromCheckRequest; the
// HTTP bench posts the bodies to /v1/check.
//
// The mix is varied on purpose, so that no single fast path (memo hit, early rule match) stands
// in for the engine: ISP, VPN and datacenter networks, restricted countries and regions, Tor,
// missing geo, zone aliases in any case, invalid zones, offset-only clients (which reach the
// population-share tables), skewed and malformed clocks, Accept-Language variants, both
// surfaces, IPv4 and IPv6.
//
// Clocks are written against BENCH_NOW (the instant the engine bench injects); over HTTP the
// worker uses its own clock, so there the clock cases simply read as far off.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'golden');

/** Golden files whose policy is the shipped default. */
export const GOLDEN_FILES = ['default-policy.json', 'families.json', 'traffic.json'];

const files = GOLDEN_FILES.map((f) => ({ name: f, ...JSON.parse(readFileSync(join(golden, f), 'utf8')) }));
for (const f of files) {
  if (f.policy !== 'default') throw new Error(`${f.name}: the benchmarks replay default-policy cases only`);
}
const instants = new Set(files.map((f) => f.now));
if (instants.size !== 1) throw new Error(`golden files disagree on "now": ${[...instants].join(', ')}`);

/** The instant every engine evaluation is made at (time is injected, never read). */
export const BENCH_NOW = Date.parse([...instants][0]);

/** `{ name, body }` for every case that uses the file's instant. */
export const CASES = files.flatMap((f) => f.cases.filter((c) => c.now === undefined).map((c) => ({ name: c.name, body: c.request })));

/**
 * undici request options posting each case's body (default: every case to /v1/check) with the
 * check token, and `headers` added.
 */
export function checkRequests(checkToken, { path = '/v1/check', headers = {}, cases = CASES } = {}) {
  return cases.map(({ body }) => ({
    path,
    method: 'POST',
    headers: { authorization: `Bearer ${checkToken}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }));
}
