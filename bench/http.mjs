// HTTP benchmark: what /v1/check costs over /healthz, on the same Worker, in the same run.
//
// 1. Build the deployable bundle with `wrangler deploy --dry-run --outdir dist/bench-worker`
//    (the exact artefact a deploy would upload). Never `wrangler dev`: its proxy caps a no-op
//    Worker near 1,500 req/s on these machines, so it would measure the proxy, not the Worker.
// 2. Serve it with Miniflare's API in a child process (bench/http-server.mjs), reached through
//    a direct workerd socket, pinned with taskset to CPU 0 (workerd inherits the pinning).
// 3. Drive it from another child (bench/http-client.mjs) pinned to CPU 1: both routes interleaved
//    at random over the same keep-alive connections, a warm-up, then BENCH_RUNS measured runs.
// 4. Per run: p50 ratio check/healthz and p50 difference in µs; report the medians over runs.
// 5. Repeat 3-4 at each concurrency level (default 1 and 4, on the same server): at 1 the figures
//    are the unloaded per-request cost; at 4 they include the queueing of a busy isolate.
// 6. The floor phase (BENCH_FLOOR=0 skips it), c=1 on a fresh server: the same Worker built from
//    bench/floor-entry.mjs, with a bench-only route that answers a check with /v1/check's own text
//    and no deciding; /healthz, /v1/check and the floor interleaved. It tells the platform's share
//    of the check's cost (floor - /healthz) from geogate's (/v1/check - floor).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchSecrets } from './lib/secrets.mjs';
import { envInt, envIntList, envNumber, fmt, median } from './lib/stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The floor route of bench/floor-entry.mjs. */
const FLOOR_PATH = '/__bench/floor';
const outdir = join(root, 'dist', 'bench-worker');

/** Targets from the issue. */
export const HTTP_TARGETS = { maxRatio: 1.25, maxAddedUs: 50 };

const wranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  // No banner, so no version check against the npm registry.
  WRANGLER_HIDE_BANNER: 'true',
  CI: 'true',
  // Keeps wrangler's logs and config inside the project (.xdg/ is gitignored).
  XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME ?? join(root, '.xdg'),
};

/**
 * Builds the Worker with `wrangler deploy --dry-run` (wrangler.toml's settings) into `dir`: the
 * deployable bundle by default, or the same build of another entry (`bench/floor-entry.mjs`).
 */
export function buildBundle(dir = outdir, entry = undefined) {
  const wrangler = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const r = spawnSync(process.execPath, [wrangler, 'deploy', ...(entry ? [entry] : []), '--dry-run', '--outdir', dir], {
    cwd: root,
    env: wranglerEnv,
    encoding: 'utf8',
  });
  const scriptPath = join(dir, entry ? basename(entry).replace(/\.[mc]?[jt]s$/, '.js') : 'index.js');
  if (r.status !== 0 || !existsSync(scriptPath)) {
    throw new Error(`wrangler deploy --dry-run failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  return scriptPath;
}

/**
 * The Durable Object bindings of wrangler.toml, as Miniflare's `durableObjects` option:
 * `{ BINDING: { className, useSQLite } }`, SQLite for the classes a migration lists in
 * `new_sqlite_classes`. Read from the file so that a served Worker has every binding a deploy has.
 */
function durableObjectsOf(toml) {
  const bindings = [];
  const sqlite = new Set();
  // One chunk per table header ([x] or [[x]]); keys are read within their own table only.
  for (const chunk of toml.split(/^(?=\[)/m)) {
    const table = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(chunk)?.[1];
    if (table === 'durable_objects.bindings') {
      const name = /^name\s*=\s*"([^"]+)"/m.exec(chunk)?.[1];
      const className = /^class_name\s*=\s*"([^"]+)"/m.exec(chunk)?.[1];
      if (!name || !className) throw new Error(`wrangler.toml: a [[durable_objects.bindings]] without name or class_name:\n${chunk}`);
      bindings.push([name, className]);
    } else if (table === 'migrations') {
      const list = /^new_sqlite_classes\s*=\s*\[([^\]]*)\]/m.exec(chunk)?.[1];
      for (const m of (list ?? '').matchAll(/"([^"]+)"/g)) sqlite.add(m[1]);
    }
  }
  return Object.fromEntries(bindings.map(([name, className]) => [name, { className, useSQLite: sqlite.has(className) }]));
}

/** The runtime settings of wrangler.toml that the served Worker must share with production. */
export function wranglerSettings() {
  const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  return {
    compatibilityDate: date,
    compatibilityFlags: flags ? [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [],
    durableObjects: durableObjectsOf(toml),
  };
}

/** Whether server and client can be pinned to different CPUs, and why not if they cannot. */
export function pinning() {
  if (process.env.BENCH_PIN === '0') return { ok: false, why: 'BENCH_PIN=0' };
  if (availableParallelism() < 2) return { ok: false, why: 'fewer than 2 CPUs' };
  const probe = spawnSync('taskset', ['-c', '1', 'true']);
  if (probe.error || probe.status !== 0) return { ok: false, why: 'taskset not available' };
  return { ok: true };
}

export function spawnPinned(cpu, script, config, options) {
  const args = [join(root, 'bench', script), JSON.stringify(config)];
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'];
  return cpu === undefined
    ? spawn(process.execPath, args, { cwd: root, stdio, ...options })
    : spawn('taskset', ['-c', String(cpu), process.execPath, ...args], { cwd: root, stdio, ...options });
}

/** CPUs each descendant of `pid` may run on (to show that workerd did inherit the pinning). */
export function descendantsAffinity(pid) {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // The process exited while we looked.
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift();
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const name = /^Name:\s*(.+)$/m.exec(status)?.[1];
      const cpus = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1];
      out.push(`${name}[${p}] cpus ${cpus}`);
    } catch {
      // Gone, or not Linux: nothing to show.
    }
    for (const [child, parent] of parentOf) if (parent === p) queue.push(child);
  }
  return out;
}

export function waitForMessage(child, type, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no '${type}' after ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg) => {
      if (msg?.type === type) done(() => resolve(msg));
      else if (msg?.type === 'error') done(() => reject(new Error(`${what}: ${msg.message}`)));
    };
    const onExit = (code, signal) => done(() => reject(new Error(`${what} exited (code ${code}, signal ${signal}) before '${type}'`)));
    const done = (settle) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle();
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Asks the server to dispose Miniflare; kills its whole process group if it does not. */
/**
 * Stops the bench's server and client on Ctrl-C or SIGTERM (with the signal's exit code); the
 * returned function, called when the bench is done, removes the handlers and stops them too.
 * @param {() => { server?: import('node:child_process').ChildProcess, client?: import('node:child_process').ChildProcess }} processes
 */
export function stopOnExit(processes) {
  const stopAll = async () => {
    const { server, client } = processes();
    if (client && !exited(client)) client.kill('SIGTERM');
    await stopServer(server);
  };
  const onSignal = (signal) => {
    void stopAll().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  };
}

export async function stopServer(server) {
  if (!server || exited(server)) return;
  const gone = new Promise((resolve) => server.once('exit', resolve));
  if (server.connected) server.send({ type: 'stop' });
  else server.kill('SIGTERM');
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 10_000)));
  const outcome = await Promise.race([gone, timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    // Spawned detached: its process group (server + workerd) has the server's pid as id.
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Runs the load client once at one concurrency level; returns that level's figures. */
async function measureLevel({ url, checkToken, concurrency, warmupSeconds, seconds, runs, pin, log, track }) {
  log(
    `  concurrency ${concurrency}: undici Pool, ${concurrency} keep-alive connection(s) x pipelining 1, closed loop, ` +
      `${warmupSeconds} s warm-up (every response verified), then ${runs} x ${seconds} s runs (1 in 32 responses verified, every status checked)`,
  );
  const client = spawnPinned(pin.ok ? 1 : undefined, 'http-client.mjs', { url, checkToken, concurrency, warmupSeconds, seconds, runs });
  track(client);
  const perRun = [];
  client.on('message', (msg) => {
    if (msg?.type !== 'run') return;
    const r = {
      healthz: msg.healthz,
      check: msg.check,
      rps: msg.rps,
      ratio: msg.check.p50 / msg.healthz.p50,
      addedUs: msg.check.p50 - msg.healthz.p50,
    };
    perRun.push(r);
    log(
      `    run ${msg.run}: /healthz p50 ${fmt(r.healthz.p50, 1)} µs p99 ${fmt(r.healthz.p99, 1)} µs (n=${r.healthz.n}) | ` +
        `/v1/check p50 ${fmt(r.check.p50, 1)} µs p99 ${fmt(r.check.p99, 1)} µs (n=${r.check.n}) | ` +
        `ratio ${fmt(r.ratio, 3)} added ${fmt(r.addedUs, 1)} µs | ${Math.round(r.rps)} req/s`,
    );
  });
  const budgetMs = (warmupSeconds + runs * seconds) * 1000 + 60_000;
  const done = await waitForMessage(client, 'done', budgetMs, 'load client');
  const seen = done.warmupDecisions;
  log(`    verified: all statuses 200; warm-up /v1/check decisions allow ${seen.allow}, challenge ${seen.challenge}, deny ${seen.deny} (policySource kv)`);

  const result = {
    concurrency,
    ratio: median(perRun.map((r) => r.ratio)),
    addedUs: median(perRun.map((r) => r.addedUs)),
    healthzP50: median(perRun.map((r) => r.healthz.p50)),
    checkP50: median(perRun.map((r) => r.check.p50)),
    healthzP99: median(perRun.map((r) => r.healthz.p99)),
    checkP99: median(perRun.map((r) => r.check.p99)),
    rps: median(perRun.map((r) => r.rps)),
  };
  result.ratioPass = result.ratio <= HTTP_TARGETS.maxRatio;
  result.addedPass = result.addedUs <= HTTP_TARGETS.maxAddedUs;
  result.pass = result.ratioPass && result.addedPass;
  log(
    `    => median of ${runs} runs: p50 /healthz ${fmt(result.healthzP50, 1)} µs, /v1/check ${fmt(result.checkP50, 1)} µs; ` +
      `p99 /healthz ${fmt(result.healthzP99, 1)} µs, /v1/check ${fmt(result.checkP99, 1)} µs; ${Math.round(result.rps)} req/s`,
  );
  log(`    target: p50 ratio check/healthz <= ${HTTP_TARGETS.maxRatio} ... ${fmt(result.ratio, 3)} ${result.ratioPass ? 'PASS' : 'FAIL'}`);
  log(`    target: added p50 <= ${HTTP_TARGETS.maxAddedUs} µs ... ${fmt(result.addedUs, 1)} µs ${result.addedPass ? 'PASS' : 'FAIL'}`);
  return result;
}

/**
 * The floor phase at c=1: the floor bundle (bench/floor-entry.mjs: the real Worker plus the
 * bench-only floor route) on a fresh server, /healthz, /v1/check and the floor interleaved a third
 * each. Per run: how much the floor costs over /healthz (the platform's price of a token-checked
 * JSON request with a decision-sized answer) and /v1/check over the floor (geogate deciding).
 */
async function measureFloor({ serverConfig, checkToken, warmupSeconds, seconds, runs, pin, log, track }) {
  const scriptPath = buildBundle(join(root, 'dist', 'bench-floor'), 'bench/floor-entry.mjs');
  const server = spawnPinned(pin.ok ? 0 : undefined, 'http-server.mjs', { ...serverConfig, scriptPath }, { detached: true });
  track.server(server);
  const ready = await waitForMessage(server, 'ready', 60_000, 'floor server');
  const url = new URL(ready.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing to load anything but 127.0.0.1 (got ${url.hostname})`);
  log(
    `  floor (c=1): bench/floor-entry.mjs built by wrangler (the same Worker plus POST ${FLOOR_PATH}: token, body read and JSON.parse, ` +
      `then /v1/check's own answer text for that body from a cache), fresh server; /healthz, /v1/check and the floor interleaved a third each`,
  );
  const client = spawnPinned(pin.ok ? 1 : undefined, 'http-client.mjs', {
    url: url.origin,
    checkToken,
    concurrency: 1,
    warmupSeconds,
    seconds,
    runs,
    routes: ['healthz', 'check', 'floor'],
    floorPath: FLOOR_PATH,
  });
  track.client(client);
  const perRun = [];
  client.on('message', (msg) => {
    if (msg?.type !== 'run') return;
    const r = { healthz: msg.healthz.p50, check: msg.check.p50, floor: msg.floor.p50 };
    perRun.push(r);
    log(
      `    run ${msg.run}: p50 /healthz ${fmt(r.healthz, 1)} µs, floor ${fmt(r.floor, 1)} µs, /v1/check ${fmt(r.check, 1)} µs | ` +
        `floor - /healthz ${fmt(r.floor - r.healthz, 1)} µs, /v1/check - floor ${fmt(r.check - r.floor, 1)} µs`,
    );
  });
  await waitForMessage(client, 'done', (warmupSeconds + runs * seconds) * 1000 + 60_000, 'floor client');
  await stopServer(server);
  const result = {
    healthzP50: median(perRun.map((r) => r.healthz)),
    floorP50: median(perRun.map((r) => r.floor)),
    checkP50: median(perRun.map((r) => r.check)),
    floorAddedUs: median(perRun.map((r) => r.floor - r.healthz)),
    decidingUs: median(perRun.map((r) => r.check - r.floor)),
    floorRatio: median(perRun.map((r) => r.floor / r.healthz)),
  };
  log(
    `    => median of ${runs} runs: the floor adds ${fmt(result.floorAddedUs, 1)} µs over /healthz (ratio ${fmt(result.floorRatio, 3)}); ` +
      `/v1/check adds ${fmt(result.decidingUs, 1)} µs over the floor (deciding)`,
  );
  return result;
}

/**
 * Runs the HTTP benchmark and prints its report through `log`.
 * @returns the settings and, per concurrency level, the figures the summary needs.
 */
export async function runHttpBench({
  runs = envInt('BENCH_RUNS', 3),
  seconds = envNumber('BENCH_SECONDS', 8),
  warmupSeconds = envNumber('BENCH_WARMUP_SECONDS', 3),
  concurrencies = envIntList('BENCH_CONCURRENCY', [1, 4]),
  floor = process.env.BENCH_FLOOR !== '0',
  log = console.log,
} = {}) {
  const scriptPath = buildBundle();
  const settings = wranglerSettings();
  const pin = pinning();
  // Bench-only secrets: random, long enough, and different, as /healthz requires.
  const { checkToken, bindings } = benchSecrets();

  let server;
  let client;
  const release = stopOnExit(() => ({ server, client }));

  try {
    const serverConfig = { scriptPath, ...settings, bindings, policyPath: join(root, 'src', 'policy', 'default-policy.json') };
    server = spawnPinned(pin.ok ? 0 : undefined, 'http-server.mjs', serverConfig, { detached: true });
    const ready = await waitForMessage(server, 'ready', 60_000, 'server');
    const url = new URL(ready.url);
    if (url.hostname !== '127.0.0.1') throw new Error(`refusing to load anything but 127.0.0.1 (got ${url.hostname})`);

    log(`HTTP: POST /v1/check vs GET /healthz, interleaved 50/50 at random over the same keep-alive connections`);
    log(`  bundle: wrangler deploy --dry-run --outdir ${join('dist', 'bench-worker')} (${settings.compatibilityDate}, ${settings.compatibilityFlags.join(',') || 'no flags'})`);
    log(`  server: Miniflare API, ${ready.mode} socket ${url.origin}, KV POLICY seeded with src/policy/default-policy.json; Durable Objects ${Object.keys(settings.durableObjects).join(', ')} (${ready.storage})`);
    log(
      pin.ok
        ? `  pinning: server on CPU 0 (${descendantsAffinity(server.pid).join(', ')}), client on CPU 1`
        : `  pinning: none (${pin.why}); server and client share the CPUs, expect more noise`,
    );

    const levels = [];
    for (const concurrency of concurrencies) {
      levels.push(
        await measureLevel({ url: url.origin, checkToken, concurrency, warmupSeconds, seconds, runs, pin, log, track: (c) => (client = c) }),
      );
    }
    let floorResult;
    if (floor) {
      await stopServer(server);
      const track = { server: (s) => (server = s), client: (c) => (client = c) };
      floorResult = await measureFloor({ serverConfig, checkToken, warmupSeconds, seconds, runs, pin, log, track });
    }
    return {
      floor: floorResult,
      mode: ready.mode,
      pinNote: pin.ok ? 'server CPU 0, client CPU 1' : `unpinned (${pin.why})`,
      runs,
      seconds,
      levels,
      pass: levels.every((l) => l.pass),
    };
  } finally {
    await release();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runHttpBench();
}
