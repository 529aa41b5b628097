// `npm run bench`: the engine benchmark, the simulate benchmark (offline throughput), the
// policy-load and snapshot benchmarks (write time and cold paths), the network-intel benchmark
// (lookups, memory, cold load, size), then the HTTP benchmark, then the account-memory benchmark
// (what a check naming an account adds, async and sync mode), then the clearance benchmark (what a
// challenge's signed ticket and a presented clearance cost a check), then the RPC benchmark (what
// AccessCheck.check costs a Worker calling through a service binding), then a summary of them all.
// See bench/README.md for the method and how to read the numbers.
//
// Knobs (environment): BENCH_RUNS (3), BENCH_SECONDS (8, per HTTP, memory and clearance run), BENCH_WARMUP_SECONDS (3),
// BENCH_CONCURRENCY (1,4: the levels measured), BENCH_ENGINE_SAMPLES (200000), BENCH_ENGINE_WARMUP (20000),
// BENCH_LOAD_SAMPLES (3), BENCH_INTEL_LOOKUPS (1000000), BENCH_INTEL_SAMPLES (7), BENCH_INTEL_COMPARE (75),
// BENCH_MEMORY_GAP_MS (2), BENCH_MEMORY_ACCOUNTS (16), BENCH_MEMORY_COLD (15), BENCH_MEMORY_DIAG=0 (no diagnostics),
// BENCH_CLEARANCE_COLD (5: fresh isolates per kind for the clearance cold path), BENCH_RPC_COLD (5: fresh pairs for the RPC cold path),
// BENCH_FLOOR=0 (no floor phase in the HTTP benchmark), BENCH_PIN=0 (no taskset), BENCH_ONLY=engine|simulate|load|snapshot|intel|http|memory|clearance|rpc, BENCH_STRICT=1 (exit 1
// when a target is missed).
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClearanceBench } from './clearance.mjs';
import { ENGINE_TARGET_US, runEngineBench } from './engine.mjs';
import { HTTP_TARGETS, runHttpBench } from './http.mjs';
import { INTEL_TARGETS, runIntelBench } from './intel.mjs';
import { MEMORY_TARGETS, runMemoryBench } from './memory.mjs';
import { LOAD_TARGETS, runPolicyLoadBench } from './policy-load.mjs';
import { RPC_TARGETS, runRpcBench } from './rpc.mjs';
import { runSimulateBench } from './simulate.mjs';
import { runSnapshotBench, SNAPSHOT_TARGETS } from './snapshot.mjs';
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
  if (only !== undefined && !['engine', 'simulate', 'load', 'snapshot', 'intel', 'http', 'memory', 'clearance', 'rpc'].includes(only)) {
    throw new Error('BENCH_ONLY must be "engine", "simulate", "load", "snapshot", "intel", "http", "memory", "clearance" or "rpc"');
  }
  const started = Date.now();
  console.log(`geogate benchmark (npm run bench), ${new Date(started).toISOString()}\n`);

  const engine = only === undefined || only === 'engine' ? await runEngineBench() : undefined;
  if (!only) console.log('');
  const simulate = only === undefined || only === 'simulate' ? await runSimulateBench() : undefined;
  if (!only) console.log('');
  const load = only === undefined || only === 'load' ? await runPolicyLoadBench() : undefined;
  if (!only) console.log('');
  const snapshot = only === undefined || only === 'snapshot' ? await runSnapshotBench() : undefined;
  if (!only) console.log('');
  const intel = only === undefined || only === 'intel' ? await runIntelBench() : undefined;
  if (!only) console.log('');
  const http = only === undefined || only === 'http' ? await runHttpBench() : undefined;
  if (!only) console.log('');
  const memory = only === undefined || only === 'memory' ? await runMemoryBench() : undefined;
  if (!only) console.log('');
  const clearance = only === undefined || only === 'clearance' ? await runClearanceBench() : undefined;
  if (!only) console.log('');
  const rpc = only === undefined || only === 'rpc' ? await runRpcBench() : undefined;

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
  if (simulate) {
    lines.push(
      `simulate ${Math.round(simulate.aloneRps)} requests/s current policy only, ${Math.round(simulate.againstRps)} requests/s against a candidate ` +
        `(offline, ${simulate.requests} requests per call, median of ${simulate.runs})`,
    );
  }
  if (load) {
    for (const r of load.results) {
      lines.push(
        `load ${r.name.padEnd(12)} ${(r.bytes / 1024).toFixed(0)} KiB, ${r.entries} entries: ${r.outcome.ok ? 'accepted' : 'rejected'}; ` +
          `Node cold ${fmt(r.nodeColdMs, 1)} ms / warm ${fmt(r.nodeWarmMs, 1)} ms; workerd first check ${fmt(r.workerdFirstMs, 1)} ms, second ${fmt(r.workerdSecondMs, 1)} ms, warm ${fmt(r.workerdWarmMs, 1)} ms`,
      );
    }
    lines.push(`        intel-inline cold load in workerd <= ${LOAD_TARGETS.maxIntelColdWorkerdMs} ms (the load budget): ${verdict(load.pass)}`);
  }
  if (snapshot) {
    lines.push(
      `snapshot lists of 50,000 CIDRs + 10,000 account ids: write time (validate + compile + encode + hash) Node cold ${fmt(snapshot.buildColdMs, 1)} ms / warm ${fmt(snapshot.buildWarmMs, 1)} ms ` +
        `(lists validated in ${fmt(snapshot.listValidateMs, 1)} ms); artifact ${(snapshot.snapshotBytes / 1024).toFixed(0)} KiB`,
      `        workerd cold load ${fmt(snapshot.coldLoadMs, 1)} ms (first check ${fmt(snapshot.coldWithListsMs, 1)} ms vs ${fmt(snapshot.coldNothingMs, 1)} ms with nothing stored); warm check ${fmt(snapshot.warmWithListsMs, 1)} ms`,
      `        write time <= ${SNAPSHOT_TARGETS.maxBuildMs} ms: ${verdict(snapshot.buildPass)}; cold load <= ${SNAPSHOT_TARGETS.maxColdLoadMs} ms: ${verdict(snapshot.loadPass)}`,
    );
  }
  if (intel) {
    const [random, hit, reqRandom, reqHit] = intel.rows;
    const w = intel.workerd;
    lines.push(
      `intel   ${intel.stats.blocks} blocks / ${intel.stats.intervals} intervals: lookup (findV4/findV6) median ${fmt(random.p50, 3)} µs random, ${fmt(hit.p50, 3)} µs hit-heavy ` +
        `(p99 ${fmt(random.p99, 3)} / ${fmt(hit.p99, 3)}); per request (parseIp + 2 x matchIp) ${fmt(reqRandom.p50, 3)} / ${fmt(reqHit.p50, 3)} µs (p99 ${fmt(reqRandom.p99, 2)} / ${fmt(reqHit.p99, 2)})`,
      `        linear scan ${fmt(intel.cmp.linearUs, 1)} µs (${Math.round(intel.cmp.linearUs / intel.cmp.tableUs)}x), ipaddr.js ${fmt(intel.cmp.ipaddrUs, 1)} µs (${Math.round(intel.cmp.ipaddrUs / intel.cmp.tableUs)}x) on ${intel.cmp.n} addresses, all agreeing; ` +
        `memory: tables ${(intel.mem.tableBytes / 1024).toFixed(0)} KiB, decoded ${(intel.mem.decodedBytes / 1048576).toFixed(2)} MiB (every block text cached ${(intel.mem.fullBytes / 1048576).toFixed(2)} MiB)`,
      `        workerd cold intel load ${fmt(w.coldLoadMs, 1)} ms (read ${fmt(w.readMs, 1)} + SHA-256 ${fmt(w.hashMs, 1)} + decode ${fmt(w.decodeColdMs, 1)}; cross-check ${fmt(w.endToEndMs, 1)} ms), ` +
        `first check ${fmt(w.firstKvMs, 1)} ms vs ${fmt(w.firstBundledMs, 1)} ms bundled, warm ${fmt(w.warmMs, 1)} ms; Worker ${(intel.size.scriptGzip / 1024).toFixed(0)} KiB gzip (artifact ${(intel.size.artifactGzip / 1024).toFixed(0)} KiB gzip)`,
      `        median < ${INTEL_TARGETS.maxLookupMedianUs} µs: lookup ${verdict(intel.lookupPass)}, per request ${verdict(intel.requestPathPass)}; memory < 16 MiB: ${verdict(intel.memPass)}; ` +
        `cold load < ${INTEL_TARGETS.maxColdLoadMs} ms: ${verdict(intel.loadPass)}; Worker < 3 MiB gzip: ${verdict(intel.sizePass)}`,
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
    if (http.floor) {
      const f = http.floor;
      lines.push(
        `        floor (c=1, own server): p50 /healthz ${fmt(f.healthzP50, 1)} µs, floor ${fmt(f.floorP50, 1)} µs, /v1/check ${fmt(f.checkP50, 1)} µs: ` +
          `the floor adds ${fmt(f.floorAddedUs, 1)} µs (ratio ${fmt(f.floorRatio, 3)}), deciding adds ${fmt(f.decidingUs, 1)} µs over it`,
      );
    }
    lines.push(
      `        (each: median of ${http.runs} x ${http.seconds} s; Miniflare ${http.mode.startsWith('direct') ? 'direct workerd socket' : http.mode}; ` +
        `${http.pinNote}; c = keep-alive connections, one request in flight each)`,
    );
  }
  if (memory) {
    const ms = (us) => fmt(us / 1000, 2);
    lines.push(
      `memory  c=1, ${memory.gapMs} ms apart: p50 / p99 no account ${fmt(memory.p50['async:none'], 1)} / ${fmt(memory.p99['async:none'], 1)} µs, ` +
        `account async ${fmt(memory.p50['async:account'], 1)} / ${fmt(memory.p99['async:account'], 1)} µs, account sync ${fmt(memory.p50['sync:account'], 1)} / ${fmt(memory.p99['sync:account'], 1)} µs`,
      `        added p50 / p99: async ${fmt(memory.asyncAddedP50, 1)} / ${fmt(memory.asyncAddedP99, 1)} µs, sync ${fmt(memory.syncAddedP50, 1)} / ${fmt(memory.syncAddedP99, 1)} µs (objects local)` +
        (memory.diag ? `; async path with no-cost objects ${fmt(memory.diag.stubAddedP50, 1)} µs, account field alone ${fmt(memory.diag.offAddedP50, 1)} µs` : ''),
      ...(memory.cold
        ? [
            `        cold, sync: first check of a new account ${ms(memory.cold.rows['sync:new-account'].p50)} ms vs warm ${ms(memory.cold.rows['sync:warm-account'].p50)} ms ` +
              `(+${ms(memory.cold.syncNewAccountAddedUs)} ms; new account and organisation +${ms(memory.cold.syncNewAccountOrgAddedUs)} ms)`,
          ]
        : []),
      `        async adds <= ${MEMORY_TARGETS.maxAsyncAddedP50Us} µs p50: ${verdict(memory.asyncPass)}    ` +
        `(each: median of ${memory.runs} x ${memory.seconds} s, ${memory.accounts} pooled accounts; ${memory.pinNote})`,
    );
  }
  if (clearance) {
    for (const l of clearance.levels) {
      const p = l.p50;
      const d = l.diffs;
      lines.push(
        `clearance c=${l.concurrency} p50 a allowed ${fmt(p.allowed, 1)} µs, b challenged ${fmt(p.challenged, 1)} µs, c cleared ${fmt(p.cleared, 1)} µs, ` +
          `d tampered ${fmt(p.tampered, 1)} µs, e previous secret ${fmt(p['cleared-previous'], 1)} µs; ${Math.round(l.rps)} req/s`,
        `        b-a (ticket) ${fmt(d['b-a'], 1)} µs, c-a ${fmt(d['c-a'], 1)} µs, c-b ${fmt(d['c-b'], 1)} µs (verification + revocation read); ` +
          `of which revocation read ${fmt(d['(c-b)-(g-f)'], 1)} µs (local KV); d-b ${fmt(d['d-b'], 1)} µs, e-c ${fmt(d['e-c'], 1)} µs` +
          (l.warnings > 0 ? `; ${l.runsWarned} of ${l.runs} runs had workerd cross-request promise warnings (${l.warnings})` : ''),
      );
    }
    const c = clearance.cold;
    lines.push(
      `        cold, first request of a fresh isolate: a ${fmt(c.first.allowed, 1)} ms, b ${fmt(c.first.challenged, 1)} ms, c (with clearance) ${fmt(c.first.cleared, 1)} ms; ` +
        `paired c-a ${fmt(c.clearedMinusAllowed, 1)} ms, c-b ${fmt(c.clearedMinusChallenged, 1)} ms (median of ${clearance.coldSamples})`,
      `        (each: median of ${clearance.runs} x ${clearance.seconds} s; ${clearance.pinNote}; no target: reported)`,
    );
  }
  if (rpc) {
    for (const l of rpc.levels) {
      lines.push(
        `rpc c=${l.concurrency}     p50 ping ${fmt(l.pingP50, 1)} µs, check ${fmt(l.checkP50, 1)} µs; p99 ping ${fmt(l.pingP99, 1)} µs, check ${fmt(l.checkP99, 1)} µs; ${Math.round(l.rps)} req/s`,
        `        check adds ${fmt(l.addedUs, 1)} µs p50 over a no-op RPC call <= ${RPC_TARGETS.maxAddedUs} µs: ${verdict(l.pass)} (${fmt(l.quietAddedUs, 1)} µs without the decision log line)`,
      );
    }
    if (rpc.coldCheckMs !== undefined) lines.push(`        cold, first request of a fresh isolate: check ${fmt(rpc.coldCheckMs, 1)} ms, ping ${fmt(rpc.coldPingMs, 1)} ms (median)`);
    lines.push(`        (each: median of ${rpc.runs} x ${rpc.seconds} s; through a caller Worker's service binding, one RPC call per request)`);
  }
  console.log(lines.join('\n'));

  const intelPass = intel ? intel.lookupPass && intel.requestPathPass && intel.memPass && intel.loadPass && intel.sizePass : true;
  const allPass = (engine?.pass ?? true) && (load?.pass ?? true) && (snapshot ? snapshot.buildPass && snapshot.loadPass : true) && intelPass && (http?.pass ?? true) && (memory?.pass ?? true) && (rpc?.pass ?? true);
  if (process.env.BENCH_STRICT === '1' && !allPass) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
