// Engine benchmark: time of one `evaluate(defaultPolicy(), facts, now)` call, in Node's V8,
// over the varied cases of bench/cases.mjs.
//
// Method: bundle the TypeScript engine with esbuild, build Facts once (outside the timing), warm
// the JIT, then time every evaluation on its own with process.hrtime.bigint() while cycling
// through the cases in a fixed pseudo-random order. `now` is a constant: the engine takes time as
// an argument, and a constant keeps its per-15-minute offset memo in the steady state that
// production reaches within a bucket. The same loop with a no-op in place of evaluate measures
// what the timer itself costs, and an untimed tight loop (total / N) cross-checks the median.
// Each run is repeated; the reported figure is the median of the runs.
import { pathToFileURL } from 'node:url';
import { BENCH_NOW, CASES } from './cases.mjs';
import { importEntry } from './lib/source.mjs';
import { envInt, fmt, median, prng, quantile, sorted } from './lib/stats.mjs';


/** Target from the issue: median engine time per decision. */
export const ENGINE_TARGET_US = 5;

/** Length of the case sequence cycled through (a power of two, so `i & MASK` indexes it). */
const SEQUENCE_LENGTH = 4096;
const MASK = SEQUENCE_LENGTH - 1;

function bundleEngine() {
  return importEntry('engine-entry', 'engine');
}

/** Times `fn(policy, facts, now)` one call at a time; returns the samples in ns. */
function timeEach(fn, policy, sequence, now, count) {
  const hrtime = process.hrtime.bigint;
  const out = new Float64Array(count);
  let sink = 0;
  for (let i = 0; i < count; i++) {
    const facts = sequence[i & MASK];
    const t0 = hrtime();
    const d = fn(policy, facts, now);
    const t1 = hrtime();
    out[i] = Number(t1 - t0);
    sink += d.score;
  }
  // Reading the sink keeps the calls observable, so the JIT cannot drop them.
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return out;
}

/** Mean ns per call of an untimed tight loop of `count` calls. */
function batchMean(fn, policy, sequence, now, count) {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink += fn(policy, sequence[i & MASK], now).score;
  const t1 = process.hrtime.bigint();
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return Number(t1 - t0) / count;
}

const BASELINE_RESULT = { score: 0 };
/** Stand-in for evaluate with the same signature: what is left is the timer and loop. */
function noop() {
  return BASELINE_RESULT;
}

/**
 * Runs the engine benchmark and prints its report through `log`.
 * @returns the figures the summary needs (µs).
 */
export async function runEngineBench({
  samples = envInt('BENCH_ENGINE_SAMPLES', 200_000),
  runs = envInt('BENCH_RUNS', 3),
  warmup = envInt('BENCH_ENGINE_WARMUP', 20_000),
  log = console.log,
} = {}) {
  const { defaultPolicy, evaluate, factsOf } = await bundleEngine();
  const policy = defaultPolicy();
  const facts = factsOf(CASES);

  // Sanity: the mix must reach every outcome, else it would not exercise the engine's paths.
  const outcomes = { allow: 0, challenge: 0, deny: 0 };
  for (const f of facts) outcomes[evaluate(policy, f, BENCH_NOW).decision]++;
  if (Object.values(outcomes).some((n) => n === 0)) {
    throw new Error(`bench cases do not reach every decision: ${JSON.stringify(outcomes)}`);
  }

  const random = prng(0x9e0_9a7e);
  const caseOf = Int32Array.from({ length: SEQUENCE_LENGTH }, () => Math.floor(random() * facts.length));
  const sequence = Array.from(caseOf, (i) => facts[i]);

  log(`Engine: evaluate(defaultPolicy(), facts, now) in Node ${process.version}, policy ${policy.version}`);
  log(
    `  ${facts.length} distinct cases (allow ${outcomes.allow}, challenge ${outcomes.challenge}, deny ${outcomes.deny}), ` +
      `fixed now ${new Date(BENCH_NOW).toISOString()}, ${warmup} warm-up calls, ${samples} timed calls x ${runs} runs`,
  );

  timeEach(evaluate, policy, sequence, BENCH_NOW, warmup);
  timeEach(noop, policy, sequence, BENCH_NOW, warmup);

  const perRun = [];
  let lastSamples;
  for (let run = 1; run <= runs; run++) {
    const timed = timeEach(evaluate, policy, sequence, BENCH_NOW, samples);
    const base = sorted(timeEach(noop, policy, sequence, BENCH_NOW, samples));
    const batchNs = batchMean(evaluate, policy, sequence, BENCH_NOW, samples);
    const s = sorted(timed);
    const r = {
      p50: quantile(s, 0.5) / 1000,
      p99: quantile(s, 0.99) / 1000,
      timerP50: quantile(base, 0.5) / 1000,
      batchMean: batchNs / 1000,
    };
    perRun.push(r);
    lastSamples = timed;
    log(
      `  run ${run}: median ${fmt(r.p50, 3)} µs  p99 ${fmt(r.p99, 3)} µs  ` +
        `(timer overhead median ${fmt(r.timerP50, 3)} µs; batch mean ${fmt(r.batchMean, 3)} µs/decision)`,
    );
  }

  const result = {
    cases: facts.length,
    samples,
    runs,
    p50: median(perRun.map((r) => r.p50)),
    p99: median(perRun.map((r) => r.p99)),
    timerP50: median(perRun.map((r) => r.timerP50)),
    batchMean: median(perRun.map((r) => r.batchMean)),
  };
  result.pass = result.p50 < ENGINE_TARGET_US;

  // Which cases cost most (from the last run): where to look first if the median regresses.
  const byCase = Array.from({ length: facts.length }, () => []);
  for (let i = 0; i < lastSamples.length; i++) byCase[caseOf[i & MASK]].push(lastSamples[i]);
  const slowest = byCase
    .map((xs, i) => ({ name: CASES[i].name, p50: quantile(sorted(xs), 0.5) / 1000 }))
    .sort((a, b) => b.p50 - a.p50)
    .slice(0, 5);
  result.slowest = slowest;

  log(
    `  => median of ${runs} runs: median ${fmt(result.p50, 3)} µs, p99 ${fmt(result.p99, 3)} µs, ` +
      `batch mean ${fmt(result.batchMean, 3)} µs (timer overhead ${fmt(result.timerP50, 3)} µs, included)`,
  );
  log(`  slowest cases (median, last run): ${slowest.map((c) => `${c.name} ${fmt(c.p50, 2)} µs`).join(', ')}`);
  log(`  target: median < ${ENGINE_TARGET_US} µs ... ${result.pass ? 'PASS' : 'FAIL'}`);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runEngineBench();
}
