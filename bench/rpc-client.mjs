// Child process of bench/rpc.mjs: the load client. A closed loop of `concurrency` workers over one
// undici Pool of keep-alive connections to the caller Worker; each request picks /ping?i=N,
// /check?i=N or /quiet?i=N at random, a third each, so all three travel the same connections and the same hiccups (as
// bench/http-client.mjs does for /healthz and /v1/check). Every status must be 200; every warm-up
// answer and one measured answer in 32 is verified (a real decision from the KV policy, or "ok").
//
// Protocol (IPC): { type: 'run', run, ping, check, quiet, rps } after each measured run, then
// { type: 'done', warmupDecisions }, or { type: 'error', message }.
import { Pool } from 'undici';
import { prng, quantile, sorted } from './lib/stats.mjs';

const { url, cases, concurrency, warmupSeconds, seconds, runs } = JSON.parse(process.argv[2] ?? '{}');

const VERIFY_EVERY = 32;
const PINGS = Array.from({ length: cases }, (_, i) => ({ path: `/ping?i=${i}`, method: 'GET' }));
const CHECKS = Array.from({ length: cases }, (_, i) => ({ path: `/check?i=${i}`, method: 'GET' }));
const QUIETS = Array.from({ length: cases }, (_, i) => ({ path: `/quiet?i=${i}`, method: 'GET' }));

function verify(route, status, text) {
  if (status !== 200) throw new Error(`${route} answered ${status}: ${text.slice(0, 300)}`);
  if (route === 'ping') {
    if (text !== 'ok') throw new Error(`ping answered ${text.slice(0, 100)}`);
    return undefined;
  }
  const [decision, source] = text.split(' ');
  if (!['allow', 'challenge', 'deny'].includes(decision) || source !== 'kv') throw new Error(`check answered no decision from the KV policy: ${text.slice(0, 300)}`);
  return decision;
}

const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 120_000 });
const random = prng(0x5eed);
const send = (msg) => new Promise((resolve) => (process.send ? process.send(msg, undefined, undefined, () => resolve()) : resolve()));
const hrtime = process.hrtime.bigint;

async function phase(durationS, verifyAll) {
  const lat = { ping: [], check: [], quiet: [] };
  const decisions = { allow: 0, challenge: 0, deny: 0 };
  const deadline = hrtime() + BigInt(Math.round(durationS * 1e9));
  let n = 0;
  async function worker() {
    while (hrtime() < deadline) {
      const r = random();
      const route = r < 1 / 3 ? 'check' : r < 2 / 3 ? 'quiet' : 'ping';
      const i = Math.floor(random() * CHECKS.length);
      const req = { check: CHECKS, quiet: QUIETS, ping: PINGS }[route][i];
      const t0 = hrtime();
      const res = await pool.request(req);
      const text = await res.body.text();
      lat[route].push(Number(hrtime() - t0));
      if (res.statusCode !== 200 || verifyAll || ++n % VERIFY_EVERY === 0) {
        const decision = verify(route, res.statusCode, text);
        if (decision) decisions[decision]++;
      }
    }
  }
  const started = hrtime();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { lat, decisions, elapsedS: Number(hrtime() - started) / 1e9 };
}

function summary(samplesNs) {
  const s = sorted(samplesNs);
  return { n: s.length, p50: quantile(s, 0.5) / 1000, p99: quantile(s, 0.99) / 1000 };
}

try {
  const warm = await phase(warmupSeconds, true);
  if (Object.values(warm.decisions).some((x) => x === 0)) throw new Error(`warm-up did not see every decision: ${JSON.stringify(warm.decisions)}`);
  for (let run = 1; run <= runs; run++) {
    const { lat, elapsedS } = await phase(seconds, false);
    const ping = summary(lat.ping);
    const check = summary(lat.check);
    const quiet = summary(lat.quiet);
    await send({ type: 'run', run, ping, check, quiet, rps: (ping.n + check.n + quiet.n) / elapsedS });
  }
  await send({ type: 'done', warmupDecisions: warm.decisions });
  await pool.close();
} catch (err) {
  await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  await pool.destroy();
  process.exitCode = 1;
}
