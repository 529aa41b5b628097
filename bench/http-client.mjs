// Child process of bench/http.mjs: the load client.
//
// A closed loop of `concurrency` workers shares one undici Pool of keep-alive connections
// (pipelining 1). Each worker picks the route at random, uniformly among `routes` (default
// /healthz and /v1/check, 50/50; the floor phase adds the bench-only floor route of
// bench/floor-entry.mjs, a third each), for every request, so all routes travel the same
// connections, the same server queue and the same machine hiccups; the comparison between them is
// then fair even when the machine is noisy. Latency is measured per request (send -> full body
// read) with hrtime and kept per route.
//
// Responses are checked so a broken worker cannot produce a fast number: every status must be
// 200, and the JSON of every warm-up response and of a sample of measured ones must be a healthy
// /healthz or a real decision served from the KV policy.
//
// Protocol (IPC): sends { type: 'run', ... } after each measured run, then { type: 'done' }, or
// { type: 'error', message } and exits non-zero.
import { Pool } from 'undici';
import { checkRequests } from './cases.mjs';
import { prng, quantile, sorted } from './lib/stats.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { url, checkToken, concurrency, warmupSeconds, seconds, runs, routes = ['healthz', 'check'], floorPath } = config;

/** One measured response in this many is parsed and verified (all of them during warm-up). */
const VERIFY_EVERY = 32;
const DECISIONS = new Set(['allow', 'challenge', 'deny']);

const HEALTHZ = [{ path: '/healthz', method: 'GET' }];
/** The requests of each route; the floor route posts the same bodies as /v1/check. */
const REQUESTS = { healthz: HEALTHZ, check: checkRequests(checkToken), ...(floorPath ? { floor: checkRequests(checkToken, { path: floorPath }) } : {}) };
for (const route of routes) if (!REQUESTS[route]) throw new Error(`unknown route ${route}`);

function verify(route, status, text) {
  const path = REQUESTS[route][0].path;
  if (status !== 200) throw new Error(`${path} answered ${status}: ${text.slice(0, 300)}`);
  const json = JSON.parse(text);
  if (route === 'healthz') {
    if (json.status !== 'ok' || json.policy?.source !== 'kv') throw new Error(`unhealthy /healthz: ${text.slice(0, 300)}`);
  } else if (!DECISIONS.has(json.decision) || json.policySource !== 'kv' || typeof json.score !== 'number') {
    throw new Error(`${path} returned no decision: ${text.slice(0, 300)}`);
  }
  return json.decision;
}

const pool = new Pool(url, {
  connections: concurrency,
  pipelining: 1,
  // Keep connections open across the pauses between runs.
  keepAliveTimeout: 120_000,
  keepAliveMaxTimeout: 120_000,
});
const random = prng(0x5eed);

/** Sends one IPC message and resolves once it is written, so nothing is lost at exit. */
const send = (msg) => new Promise((resolve) => (process.send ? process.send(msg, undefined, undefined, () => resolve()) : resolve()));
const hrtime = process.hrtime.bigint;

/** Runs the closed loop for `durationS`; returns per-route latencies (ns) and what was seen. */
async function phase(durationS, verifyAll) {
  const lat = Object.fromEntries(routes.map((r) => [r, []]));
  const decisions = { allow: 0, challenge: 0, deny: 0 };
  const deadline = hrtime() + BigInt(Math.round(durationS * 1e9));
  let n = 0;

  async function worker() {
    while (hrtime() < deadline) {
      const route = routes[Math.floor(random() * routes.length)];
      const requests = REQUESTS[route];
      const req = requests[Math.floor(random() * requests.length)];
      const t0 = hrtime();
      const res = await pool.request(req);
      const text = await res.body.text();
      const t1 = hrtime();
      lat[route].push(Number(t1 - t0));
      if (res.statusCode !== 200 || verifyAll || ++n % VERIFY_EVERY === 0) {
        const decision = verify(route, res.statusCode, text);
        if (route === 'check') decisions[decision]++;
      }
    }
  }

  const started = hrtime();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = Number(hrtime() - started) / 1e9;
  return { lat, decisions, elapsedS };
}

function summary(samplesNs) {
  const s = sorted(samplesNs);
  return { n: s.length, p50: quantile(s, 0.5) / 1000, p99: quantile(s, 0.99) / 1000 };
}

async function main() {
  // Warm-up: JIT on both sides, connections opened, policy loaded from KV; every answer checked.
  const warm = await phase(warmupSeconds, true);
  if (Object.values(warm.decisions).some((x) => x === 0)) {
    throw new Error(`warm-up did not see every decision: ${JSON.stringify(warm.decisions)}`);
  }
  for (let run = 1; run <= runs; run++) {
    const { lat, elapsedS } = await phase(seconds, false);
    const byRoute = Object.fromEntries(routes.map((r) => [r, summary(lat[r])]));
    const total = Object.values(byRoute).reduce((sum, s) => sum + s.n, 0);
    await send({ type: 'run', run, ...byRoute, rps: total / elapsedS, seconds: elapsedS });
  }
  await send({ type: 'done', warmupDecisions: warm.decisions });
}

try {
  await main();
  await pool.close();
} catch (err) {
  await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  await pool.destroy();
  process.exitCode = 1;
}
