// Where the /v1/check time goes, measured as workerd's CPU time per request (node bench/http-cpu.mjs).
//
// Latency percentiles move by tens of microseconds when anything else runs on a 2-core machine;
// the CPU time workerd spends per request (utime + stime of its process, read from /proc) moves far
// less. This serves the built Worker with Miniflare on a direct socket, seeds the default policy
// (with its decision log, or without it: HTTP_CPU_NOLOG=1), and alternates blocks of N requests of
// /healthz and /v1/check (the golden cases; HTTP_CPU_NOACCOUNT=1 leaves out those naming an account,
// whose memory records run in the background), one connection, one request in flight. It prints the
// median CPU µs per request of each route and their difference. Linux only (/proc).
// Knobs: HTTP_CPU_N (requests per block, default 3000), HTTP_CPU_BLOCKS (default 6).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { Pool } from 'undici';
import { CASES, checkRequests } from './cases.mjs';
import { buildBundle, wranglerSettings } from './http.mjs';
import { benchSecrets } from './lib/secrets.mjs';
import { root } from './lib/source.mjs';
import { envInt, median } from './lib/stats.mjs';

const N = envInt('HTTP_CPU_N', 3000);
const BLOCKS = envInt('HTTP_CPU_BLOCKS', 6);
const TICK_US = 1e6 / 100; // /proc/<pid>/stat counts clock ticks (USER_HZ = 100 on Linux).

/** workerd processes started by this process (Miniflare spawns one). */
function workerdPids() {
  return readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'workerd' && readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(process.pid);
    } catch {
      return false;
    }
  });
}

/** CPU time (µs) the processes have used so far. */
function cpuMicros(pids) {
  let ticks = 0;
  for (const p of pids) {
    const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * TICK_US;
}

export async function runHttpCpu() {
  const settings = wranglerSettings();
  const { checkToken, bindings } = benchSecrets();
  const mf = new Miniflare({
    modules: true,
    scriptPath: buildBundle(),
    compatibilityDate: settings.compatibilityDate,
    compatibilityFlags: settings.compatibilityFlags,
    kvNamespaces: { POLICY: 'POLICY' },
    durableObjects: settings.durableObjects,
    bindings,
    unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
  });
  try {
    await mf.ready;
    const policy = JSON.parse(readFileSync(join(root, 'src', 'policy', 'default-policy.json'), 'utf8'));
    if (process.env.HTTP_CPU_NOLOG) policy.decisionLog = { sampleRate: 0 };
    await (await mf.getKVNamespace('POLICY')).put('policy:active', JSON.stringify(policy));
    const pids = workerdPids();
    if (pids.length === 0) throw new Error('no workerd process found under this one (Linux /proc needed)');
    const pool = new Pool((await mf.unsafeGetDirectURL()).href, { connections: 1, pipelining: 1 });
    const checks = checkRequests(checkToken, { cases: CASES.filter(({ body }) => !process.env.HTTP_CPU_NOACCOUNT || !body.account) });
    const healthz = [{ path: '/healthz', method: 'GET' }];
    const run = async (requests, n) => {
      for (let i = 0; i < n; i++) {
        const res = await pool.request(requests[i % requests.length]);
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`${requests[i % requests.length].path} answered ${res.statusCode}`);
      }
    };
    await run(healthz, 2000);
    await run(checks, 2000);
    const us = { healthz: [], check: [] };
    for (let b = 0; b < BLOCKS; b++) {
      const order = b % 2 ? [['check', checks], ['healthz', healthz]] : [['healthz', healthz], ['check', checks]];
      for (const [route, requests] of order) {
        const before = cpuMicros(pids);
        await run(requests, N);
        us[route].push((cpuMicros(pids) - before) / N);
      }
    }
    await pool.close();
    const h = median(us.healthz);
    const c = median(us.check);
    return { healthzUs: h, checkUs: c, addedUs: c - h, ratio: c / h, checks: checks.length, blocks: BLOCKS, n: N };
  } finally {
    await mf.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runHttpCpu();
  console.log(
    `workerd CPU per request (median of ${r.blocks} blocks of ${r.n}, ${r.checks} check bodies${process.env.HTTP_CPU_NOLOG ? ', decision log off' : ''}): ` +
      `/healthz ${r.healthzUs.toFixed(1)} µs, /v1/check ${r.checkUs.toFixed(1)} µs, added ${r.addedUs.toFixed(1)} µs, ratio ${r.ratio.toFixed(2)}`,
  );
}
