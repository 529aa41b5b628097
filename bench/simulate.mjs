// Simulate benchmark: offline throughput of simulate() (requests/s) over 10,000 check requests,
// the most one POST /v1/simulate may carry: the golden cases of bench/cases.mjs repeated. Each
// run times one whole call (validation of every request, evaluation, summary), once with the
// default policy alone and once against a candidate (two evaluations per request). The figure is
// the median of the runs. Also runs on its own: `node bench/simulate.mjs`.
import { pathToFileURL } from 'node:url';
import { BENCH_NOW, CASES } from './cases.mjs';
import { importEntry } from './lib/source.mjs';
import { envInt, fmt, median } from './lib/stats.mjs';


/** Requests per simulate call (MAX_SIMULATE_REQUESTS). */
export const SIMULATE_REQUESTS = 10_000;

function bundle() {
  return importEntry('simulate-entry', 'simulate');
}

/** Wall time (ms) of one simulate call. */
function timeOnce(simulate, options) {
  const t0 = process.hrtime.bigint();
  const report = simulate(options);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, report };
}

/**
 * Runs the simulate benchmark and prints its report through `log`.
 * @returns requests/s (median of the runs) without and with a candidate.
 */
export async function runSimulateBench({ runs = envInt('BENCH_RUNS', 3), log = console.log } = {}) {
  const { simulate, defaultPolicy, candidatePolicy } = await bundle();
  const current = defaultPolicy();
  const candidate = candidatePolicy();
  const bodies = CASES.map((c) => c.body);
  const requests = Array.from({ length: SIMULATE_REQUESTS }, (_, i) => bodies[i % bodies.length]);

  log(`Simulate: simulate() over ${SIMULATE_REQUESTS} requests (${bodies.length} golden cases repeated) in Node ${process.version}`);
  // One untimed call of each kind warms the JIT and the engine's per-zone offset memo.
  const warm = timeOnce(simulate, { current, candidate, requests, now: BENCH_NOW }).report;
  if (warm.summary.invalid !== 0) throw new Error(`${warm.summary.invalid} bench requests are invalid`);
  if (warm.summary.changed === 0) throw new Error('the bench candidate changes no decision: it would not exercise the diff');
  timeOnce(simulate, { current, requests, now: BENCH_NOW });

  const alone = [];
  const against = [];
  for (let run = 1; run <= runs; run++) {
    const a = timeOnce(simulate, { current, requests, now: BENCH_NOW });
    const b = timeOnce(simulate, { current, candidate, requests, now: BENCH_NOW });
    alone.push((SIMULATE_REQUESTS / a.ms) * 1000);
    against.push((SIMULATE_REQUESTS / b.ms) * 1000);
    log(
      `  run ${run}: current only ${fmt(a.ms, 1)} ms (${Math.round(alone.at(-1))} req/s); ` +
        `current + candidate ${fmt(b.ms, 1)} ms (${Math.round(against.at(-1))} req/s, ${b.report.summary.changed} changed)`,
    );
  }
  const result = { requests: SIMULATE_REQUESTS, runs, aloneRps: median(alone), againstRps: median(against) };
  log(`  => median of ${runs} runs: ${Math.round(result.aloneRps)} req/s current only, ${Math.round(result.againstRps)} req/s with a candidate`);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runSimulateBench();
}
