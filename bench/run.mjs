// `npm run bench`: the engine benchmark, then the HTTP benchmark, then a summary of both.
// See bench/README.md for the method and how to read the numbers.
//
// Knobs (environment): BENCH_RUNS (3), BENCH_SECONDS (8, per HTTP run), BENCH_WARMUP_SECONDS (3),
// BENCH_CONCURRENCY (1,4: the levels measured), BENCH_ENGINE_SAMPLES (200000), BENCH_ENGINE_WARMUP (20000),
// BENCH_PIN=0 (no taskset), BENCH_ONLY=engine|http, BENCH_STRICT=1 (exit 1 when a target is missed).
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_TARGET_US, runEngineBench } from './engine.mjs';
import { HTTP_TARGETS, runHttpBench } from './http.mjs';
import { fmt } from './lib/stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The commit measured, marked when the working tree has uncommitted changes. */
function gitRevision() {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (rev.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' });
  return `${rev.stdout.trim()}${dirty.stdout.trim() ? ' + uncommitted changes' : ''}`;
}

const verdict = (pass) => (pass ? 'PASS' : 'FAIL');

async function main() {
  const only = process.env.BENCH_ONLY;
  if (only !== undefined && only !== 'engine' && only !== 'http') throw new Error('BENCH_ONLY must be "engine" or "http"');
  const started = Date.now();
  console.log(`geogate benchmark (npm run bench), ${new Date(started).toISOString()}\n`);

  const engine = only === 'http' ? undefined : await runEngineBench();
  if (!only) console.log('');
  const http = only === 'engine' ? undefined : await runHttpBench();

  const lines = [
    '',
    '== Summary ==',
    `command: npm run bench    date: ${new Date(started).toISOString()}    took: ${Math.round((Date.now() - started) / 1000)} s`,
    `node ${process.version} ${process.platform}/${process.arch}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), commit ${gitRevision()}`,
  ];
  if (engine) {
    lines.push(
      `engine  median ${fmt(engine.p50, 3)} µs/decision, p99 ${fmt(engine.p99, 3)} µs, batch mean ${fmt(engine.batchMean, 3)} µs ` +
        `(default policy, ${engine.cases} cases, median of ${engine.runs} x ${engine.samples})`,
      `        median < ${ENGINE_TARGET_US} µs: ${verdict(engine.pass)}`,
    );
  }
  if (http) {
    for (const l of http.levels) {
      lines.push(
        `http c=${l.concurrency}  p50 /healthz ${fmt(l.healthzP50, 1)} µs, /v1/check ${fmt(l.checkP50, 1)} µs; ` +
          `p99 /healthz ${fmt(l.healthzP99, 1)} µs, /v1/check ${fmt(l.checkP99, 1)} µs; ${Math.round(l.rps)} req/s`,
        `        latency ratio (p50) ${fmt(l.ratio, 3)} <= ${HTTP_TARGETS.maxRatio}: ${verdict(l.ratioPass)}; ` +
          `added ${fmt(l.addedUs, 1)} µs/request <= ${HTTP_TARGETS.maxAddedUs} µs: ${verdict(l.addedPass)}`,
      );
    }
    lines.push(
      `        (each: median of ${http.runs} x ${http.seconds} s; Miniflare ${http.mode.startsWith('direct') ? 'direct workerd socket' : http.mode}; ` +
        `${http.pinNote}; c = keep-alive connections, one request in flight each)`,
    );
  }
  console.log(lines.join('\n'));

  const allPass = (engine?.pass ?? true) && (http?.pass ?? true);
  if (process.env.BENCH_STRICT === '1' && !allPass) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
