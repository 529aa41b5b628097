// RPC benchmark (BENCH_ONLY=rpc): what AccessCheck.check costs a Worker calling geogate through a
// service binding, over an RPC call that does nothing (AccessCheck.ping). Target (issue 10):
// check adds at most 50 µs p50.
//
// 1. Build the deployable bundle (`wrangler deploy --dry-run`, as the HTTP bench does).
// 2. Serve two Workers in one workerd with Miniflare's API (bench/http-server.mjs, pinned to CPU 0):
//    `geogate` (the bundle, KV seeded with src/policy/default-policy.json, every Durable Object of
//    wrangler.toml) and `caller` (bench/rpc-caller.mjs), which holds a service binding to
//    geogate's AccessCheck entrypoint and makes exactly one RPC call per request it serves.
//    A third Worker, `quiet`, is geogate again under the default policy with decisionLog.sampleRate
//    0: the same check without its decision log line, which Miniflare turns into a structured log
//    write to workerd's stdout (a deployed Worker hands it to Workers Logs instead).
// 3. Drive `caller` from bench/rpc-client.mjs (pinned to CPU 1): /ping?i=N, /check?i=N and /quiet?i=N interleaved
//    at random over the same keep-alive connections; N walks the golden cases of bench/cases.mjs
//    (the same bodies the HTTP bench posts). The HTTP hop to the caller is common to both routes:
//    the difference of their p50s is check's own cost over an RPC round trip (input validation,
//    the decision, the ~1 KB answer cloned back). Warm-up, then BENCH_RUNS runs per concurrency
//    level; medians over runs.
// 4. Cold path: BENCH_RPC_COLD samples; each starts two fresh instances of both Workers, whose
//    very first request is /check on one and /ping on the other (order alternating): the first
//    check of an isolate pays the KV read and the policy compile, the first ping only the start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Miniflare } from 'miniflare';
import { CASES } from './cases.mjs';
import { buildBundle, descendantsAffinity, pinning, spawnPinned, stopOnExit, waitForMessage, wranglerSettings } from './http.mjs';
import { root } from './lib/source.mjs';
import { benchSecrets } from './lib/secrets.mjs';
import { envInt, envIntList, envNumber, fmt, median } from './lib/stats.mjs';

/** Target from the issue: what check may add over a no-op RPC call, p50, µs. */
export const RPC_TARGETS = { maxAddedUs: 50 };

const POLICY_PATH = join(root, 'src', 'policy', 'default-policy.json');
const CALLER = join(root, 'bench', 'rpc-caller.mjs');

/** The three Workers, as bench/http-server.mjs and Miniflare take them. */
function workersOf(scriptPath, bindings) {
  const policyText = readFileSync(POLICY_PATH, 'utf8');
  const quietPolicy = JSON.stringify({ ...JSON.parse(policyText), decisionLog: { sampleRate: 0 } });
  return [
    { name: 'geogate', scriptPath, bindings, policyText },
    { name: 'quiet', scriptPath, bindings, policyText: quietPolicy },
    {
      name: 'caller',
      scriptPath: CALLER,
      durableObjects: {},
      bindings: { CASES: CASES.map((c) => c.body) },
      serviceBindings: { GEOGATE: { name: 'geogate', entrypoint: 'AccessCheck' }, GEOGATE_QUIET: { name: 'quiet', entrypoint: 'AccessCheck' } },
    },
  ];
}

async function measureLevel({ url, concurrency, warmupSeconds, seconds, runs, pin, log, track }) {
  log(`  concurrency ${concurrency}: ${warmupSeconds} s warm-up (every answer verified), then ${runs} x ${seconds} s runs`);
  const client = spawnPinned(pin.ok ? 1 : undefined, 'rpc-client.mjs', { url, cases: CASES.length, concurrency, warmupSeconds, seconds, runs });
  track(client);
  const perRun = [];
  client.on('message', (msg) => {
    if (msg?.type !== 'run') return;
    const r = { ping: msg.ping, check: msg.check, quiet: msg.quiet, rps: msg.rps, addedUs: msg.check.p50 - msg.ping.p50, quietAddedUs: msg.quiet.p50 - msg.ping.p50 };
    perRun.push(r);
    log(
      `    run ${msg.run}: ping p50 ${fmt(r.ping.p50, 1)} µs p99 ${fmt(r.ping.p99, 1)} µs (n=${r.ping.n}) | ` +
        `check p50 ${fmt(r.check.p50, 1)} µs p99 ${fmt(r.check.p99, 1)} µs (n=${r.check.n}) | no log line p50 ${fmt(r.quiet.p50, 1)} µs (n=${r.quiet.n}) | ` +
        `added ${fmt(r.addedUs, 1)} µs, ${fmt(r.quietAddedUs, 1)} µs without the log line | ${Math.round(r.rps)} req/s`,
    );
  });
  const done = await waitForMessage(client, 'done', (warmupSeconds + runs * seconds) * 1000 + 60_000, 'load client');
  const seen = done.warmupDecisions;
  log(`    verified: all statuses 200; warm-up decisions allow ${seen.allow}, challenge ${seen.challenge}, deny ${seen.deny} (policySource kv)`);
  const result = {
    concurrency,
    pingP50: median(perRun.map((r) => r.ping.p50)),
    checkP50: median(perRun.map((r) => r.check.p50)),
    pingP99: median(perRun.map((r) => r.ping.p99)),
    checkP99: median(perRun.map((r) => r.check.p99)),
    addedUs: median(perRun.map((r) => r.addedUs)),
    quietAddedUs: median(perRun.map((r) => r.quietAddedUs)),
    rps: median(perRun.map((r) => r.rps)),
  };
  result.pass = result.addedUs <= RPC_TARGETS.maxAddedUs;
  log(`    => median of ${runs} runs: p50 ping ${fmt(result.pingP50, 1)} µs, check ${fmt(result.checkP50, 1)} µs; p99 ping ${fmt(result.pingP99, 1)} µs, check ${fmt(result.checkP99, 1)} µs`);
  log(`    target: check adds <= ${RPC_TARGETS.maxAddedUs} µs p50 over ping ... ${fmt(result.addedUs, 1)} µs ${result.pass ? 'PASS' : 'FAIL'} (without the decision log line: ${fmt(result.quietAddedUs, 1)} µs)`);
  return result;
}

/** One cold sample: a fresh pair of Workers whose first request is `path`; answers its latency (ms). */
async function coldFirst(scriptPath, settings, bindings, path) {
  const workers = workersOf(scriptPath, bindings);
  const mf = new Miniflare({
    workers: workers.map((w) => ({
      name: w.name,
      modules: true,
      scriptPath: w.scriptPath,
      compatibilityDate: settings.compatibilityDate,
      compatibilityFlags: settings.compatibilityFlags,
      kvNamespaces: { POLICY: `POLICY-${w.name}` },
      durableObjects: w.durableObjects ?? settings.durableObjects,
      bindings: w.bindings,
      serviceBindings: w.serviceBindings ?? {},
      ...(w.name === 'caller' ? { unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] } : {}),
    })),
  });
  try {
    await mf.ready;
    await (await mf.getKVNamespace('POLICY', 'geogate')).put('policy:active', workers[0].policyText);
    const url = (await mf.unsafeGetDirectURL('caller')).href;
    const t0 = process.hrtime.bigint();
    const res = await fetch(new URL(path, url));
    const text = await res.text();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 200 || !(text === 'ok' || text.endsWith(' kv'))) throw new Error(`cold ${path} answered ${res.status} ${text.slice(0, 200)}`);
    return ms;
  } finally {
    await mf.dispose();
  }
}

/** Runs the RPC benchmark and prints its report through `log`. */
export async function runRpcBench({
  runs = envInt('BENCH_RUNS', 3),
  seconds = envNumber('BENCH_SECONDS', 8),
  warmupSeconds = envNumber('BENCH_WARMUP_SECONDS', 3),
  concurrencies = envIntList('BENCH_CONCURRENCY', [1, 4]),
  coldSamples = envInt('BENCH_RPC_COLD', 5),
  log = console.log,
} = {}) {
  const scriptPath = buildBundle();
  const settings = wranglerSettings();
  const pin = pinning();
  const { bindings } = benchSecrets();
  let server;
  let client;
  const release = stopOnExit(() => ({ server, client }));
  const levels = [];
  try {
    server = spawnPinned(pin.ok ? 0 : undefined, 'http-server.mjs', { ...settings, workers: workersOf(scriptPath, bindings), bindings }, { detached: true });
    const ready = await waitForMessage(server, 'ready', 60_000, 'server');
    const url = new URL(ready.urls.caller);
    if (url.hostname !== '127.0.0.1') throw new Error(`refusing to load anything but 127.0.0.1 (got ${url.hostname})`);
    log('RPC: AccessCheck.check vs AccessCheck.ping through a service binding, interleaved 50/50 at random');
    log(`  server: Miniflare API, three Workers in one workerd (geogate: the deployable bundle, KV seeded with the default policy; quiet: the same with decisionLog.sampleRate 0; caller: bench/rpc-caller.mjs), ${ready.mode} socket ${url.origin}`);
    log(pin.ok ? `  pinning: server on CPU 0 (${descendantsAffinity(server.pid).join(', ')}), client on CPU 1` : `  pinning: none (${pin.why})`);
    for (const concurrency of concurrencies) {
      levels.push(await measureLevel({ url: url.origin, concurrency, warmupSeconds, seconds, runs, pin, log, track: (c) => (client = c) }));
    }
  } finally {
    await release();
  }

  const cold = { check: [], ping: [] };
  if (coldSamples > 0) {
    log(`  cold: ${coldSamples} samples, each two fresh instances (first request /check?i=0 on one, /ping on the other, order alternating)`);
    for (let i = 0; i < coldSamples; i++) {
      const order = i % 2 === 0 ? ['check', 'ping'] : ['ping', 'check'];
      for (const kind of order) cold[kind].push(await coldFirst(scriptPath, settings, bindings, kind === 'check' ? '/check?i=0' : '/ping'));
    }
    log(`    first request of a fresh isolate, median: check ${fmt(median(cold.check), 1)} ms, ping ${fmt(median(cold.ping), 1)} ms (check: ${cold.check.map((x) => fmt(x, 1)).join(', ')}; ping: ${cold.ping.map((x) => fmt(x, 1)).join(', ')})`);
  }
  return {
    runs,
    seconds,
    levels,
    coldCheckMs: cold.check.length ? median(cold.check) : undefined,
    coldPingMs: cold.ping.length ? median(cold.ping) : undefined,
    pass: levels.every((l) => l.pass),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runRpcBench();
}
