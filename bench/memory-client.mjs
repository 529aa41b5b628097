// Child process of bench/memory.mjs: the load client of the account-memory benchmark.
//
// Workers serving the same bundle (bench/http-server.mjs), each with its own isolate:
//   async  the default policy (history.mode "async")
//   sync   the default policy with history.mode "sync"
//   off    the default policy with history.mode "off"            (diagnostics)
//   stub   the default policy; ACCOUNT_ACTIVITY and ORG_ACTIVITY answer at once (memory-stub-entry.mjs)
// A kind of request is `<worker>:none` (the body without an account) or `<worker>:account` (the
// same body with account { id, orgId } drawn from a small pool). The client sends one request at
// a time (one keep-alive connection per Worker) and draws the kind at random for every request,
// so that the kinds of a phase share the same machine hiccups. Between two requests it waits
// `gapMs`: an async check records itself in the background (ctx.waitUntil) after its response,
// and locally the Durable Object runs in the same workerd process on the same CPU, so without a
// pause that work would land on whichever request comes next (in production the object runs
// elsewhere). One back-to-back run (no pause) shows that effect.
//
// Every response is checked: status 200, a decision, policySource "kv", the Worker's own policy
// version, and the memory report (its mode; account "none" without an account; otherwise how the
// memory was consulted, counted per kind).
//
// Protocol (IPC): { type: 'primed' }, { type: 'run' | 'b2b' | 'diag', run, kinds, spill, rps },
// { type: 'cold', rows }, then { type: 'done', warmup }; or { type: 'error', message }.
import { Pool } from 'undici';
import { prng, quantile, sorted } from './lib/stats.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { urls, checkToken, adminToken, body, accounts, versions, warmupSeconds, seconds, runs, gapMs, diagnostics, coldSamples, coldGapMs } = config;

const MAIN = ['async:none', 'async:account', 'sync:none', 'sync:account'];
const DIAG = ['async:none', 'async:account', 'off:none', 'off:account', 'stub:none', 'stub:account'];
/** The memory mode each Worker's decisions must report. */
const MODE = { async: 'async', sync: 'sync', off: 'off', stub: 'async' };
const DECISIONS = new Set(['allow', 'challenge', 'deny']);
const headers = { authorization: `Bearer ${checkToken}`, 'content-type': 'application/json' };

const pools = Object.fromEntries(
  Object.entries(urls).map(([name, url]) => [name, new Pool(url, { connections: 1, pipelining: 1, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 120_000 })]),
);
const random = prng(0x3e3012);
const hrtime = process.hrtime.bigint;
const send = (msg) => new Promise((resolve) => (process.send ? process.send(msg, undefined, undefined, () => resolve()) : resolve()));
const sleep = (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

const NO_ACCOUNT = JSON.stringify(body);
const withAccount = (account) => JSON.stringify({ ...body, account });
/** The pool's bodies, serialised once (the client's own work stays out of the way). */
const ACCOUNT_BODIES = accounts.map(withAccount);

/** Sends one check to Worker `worker`; returns its latency (ns), the memory status reported and the decision. */
async function check(worker, text, hasAccount) {
  const t0 = hrtime();
  const res = await pools[worker].request({ path: '/v1/check', method: 'POST', headers, body: text });
  const answer = await res.body.text();
  const ns = Number(hrtime() - t0);
  if (res.statusCode !== 200) throw new Error(`${worker} /v1/check answered ${res.statusCode}: ${answer.slice(0, 300)}`);
  const json = JSON.parse(answer);
  if (!DECISIONS.has(json.decision) || json.policySource !== 'kv' || json.policyVersion !== versions[worker]) {
    throw new Error(`${worker} /v1/check: no decision from the ${worker} Worker's KV policy (${versions[worker]}): ${answer.slice(0, 300)}`);
  }
  const m = json.memory;
  if (m?.mode !== MODE[worker]) throw new Error(`${worker} /v1/check: memory mode ${JSON.stringify(m?.mode)}, expected ${MODE[worker]}: ${answer.slice(0, 300)}`);
  if (!hasAccount && (m.account !== 'none' || m.org !== 'none')) throw new Error(`${worker} /v1/check without account reports memory ${JSON.stringify(m)}`);
  if (hasAccount && m.account === 'none') throw new Error(`${worker} /v1/check with an account reports no account memory: ${JSON.stringify(m)}`);
  return { ns, status: m.account, decision: json.decision, signals: json.signals };
}

function summary(samplesNs) {
  const s = sorted(samplesNs);
  return { n: s.length, p50: quantile(s, 0.5) / 1000, p99: quantile(s, 0.99) / 1000 };
}

const count = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);

/**
 * Sends `kinds` at random for `durationS`; returns per kind the latencies' p50/p99 and the memory
 * statuses and decisions seen, and per `<worker>:none` kind its p50 right after a check with an
 * account vs right after one without (background work spilling over onto the next request).
 */
async function phase(kinds, durationS, gap) {
  const lat = Object.fromEntries(kinds.map((k) => [k, []]));
  const statuses = Object.fromEntries(kinds.map((k) => [k, {}]));
  const decisions = Object.fromEntries(kinds.map((k) => [k, {}]));
  const spill = Object.fromEntries(kinds.filter((k) => k.endsWith(':none')).map((k) => [k, { afterAccount: [], afterNone: [] }]));
  const deadline = hrtime() + BigInt(Math.round(durationS * 1e9));
  let previous;
  const started = hrtime();
  let n = 0;
  while (hrtime() < deadline) {
    const kind = kinds[Math.floor(random() * kinds.length)];
    const [worker, what] = kind.split(':');
    const hasAccount = what === 'account';
    const text = hasAccount ? ACCOUNT_BODIES[Math.floor(random() * ACCOUNT_BODIES.length)] : NO_ACCOUNT;
    const r = await check(worker, text, hasAccount);
    lat[kind].push(r.ns);
    count(statuses[kind], r.status);
    count(decisions[kind], r.decision);
    if (spill[kind] && previous !== undefined) spill[kind][previous.endsWith(':account') ? 'afterAccount' : 'afterNone'].push(r.ns);
    previous = kind;
    n++;
    await sleep(gap);
  }
  const elapsedS = Number(hrtime() - started) / 1e9;
  return {
    kinds: Object.fromEntries(kinds.map((k) => [k, { ...summary(lat[k]), statuses: statuses[k], decisions: decisions[k] }])),
    spill: Object.fromEntries(Object.entries(spill).map(([k, v]) => [k, { afterAccount: summary(v.afterAccount), afterNone: summary(v.afterNone) }])),
    rps: n / elapsedS,
  };
}

/**
 * The cold path: per sample, in this order with `coldGapMs` between requests, the first check of
 * a new account (organisation from the pool) in sync mode, a warm account in sync mode, the first
 * check of a new account and a new organisation in sync mode, then a new and a warm account in
 * async mode. Returns the latencies (µs) and statuses per row.
 */
async function coldPath() {
  const rows = { 'sync:new-account': [], 'sync:warm-account': [], 'sync:new-account+org': [], 'async:new-account': [], 'async:warm-account': [] };
  const statuses = Object.fromEntries(Object.keys(rows).map((k) => [k, {}]));
  const tag = Date.now().toString(36);
  const note = async (row, r) => {
    rows[row].push(r.ns / 1000);
    count(statuses[row], r.status);
    await sleep(coldGapMs);
  };
  for (let i = 0; i < coldSamples; i++) {
    const pooled = accounts[i % accounts.length];
    const warm = ACCOUNT_BODIES[Math.floor(random() * ACCOUNT_BODIES.length)];
    await note('sync:new-account', await check('sync', withAccount({ id: `cold-${tag}-${i}`, orgId: pooled.orgId }), true));
    await note('sync:warm-account', await check('sync', warm, true));
    await note('sync:new-account+org', await check('sync', withAccount({ id: `cold-${tag}-${i}-b`, orgId: `cold-org-${tag}-${i}` }), true));
    await note('async:new-account', await check('async', withAccount({ id: `cold-${tag}-${i}-a`, orgId: pooled.orgId }), true));
    await note('async:warm-account', await check('async', warm, true));
  }
  return Object.fromEntries(Object.entries(rows).map(([k, us]) => [k, { us, statuses: statuses[k] }]));
}

/** GET an admin route of the async Worker. */
async function adminGet(path) {
  const res = await pools.async.request({ path, method: 'GET', headers: { authorization: `Bearer ${adminToken}` } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Primes every pooled account on the Workers that keep memory, and seeds the stub objects. */
async function prime() {
  for (const text of ACCOUNT_BODIES) {
    await check('async', text, true);
    await check('sync', text, true);
    await sleep(coldGapMs);
  }
  await sleep(200);
  // Steady state from here: the async Worker judges its cached summaries, the sync one the objects' answers.
  for (const [worker, want] of [['async', 'cache'], ['sync', 'object']]) {
    const r = await check(worker, ACCOUNT_BODIES[0], true);
    if (r.status !== want) throw new Error(`after priming, a ${worker} check reports its account memory as "${r.status}", expected "${want}"`);
  }
  if (!diagnostics) return;
  // The stub objects answer what the real ones hold for the first pooled account and organisation.
  const first = accounts[0];
  const account = (await adminGet(`/v1/accounts/${encodeURIComponent(first.id)}/activity`)).history;
  const org = (await adminGet(`/v1/orgs/${encodeURIComponent(first.orgId)}/activity`)).history;
  const seeded = await pools['memory-stub'].request({ path: '/seed', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account, org }) });
  const seedAnswer = await seeded.body.json();
  if (seeded.statusCode !== 200 || seedAnswer.ok !== true) throw new Error(`seeding the memory stub failed: ${JSON.stringify(seedAnswer)}`);
  for (const text of ACCOUNT_BODIES) {
    await check('stub', text, true);
    await sleep(coldGapMs);
  }
  await sleep(200);
  // The stub must make the check judge the same memory as the real objects do.
  const real = await check('async', ACCOUNT_BODIES[0], true);
  const stub = await check('stub', ACCOUNT_BODIES[0], true);
  if (real.status !== 'cache' || stub.status !== 'cache' || JSON.stringify(real.signals) !== JSON.stringify(stub.signals)) {
    throw new Error(`the stub memory does not stand in for the real one: async ${real.status} ${JSON.stringify(real.signals)} vs stub ${stub.status} ${JSON.stringify(stub.signals)}`);
  }
}

async function main() {
  await prime();
  await send({ type: 'primed' });
  const warm = await phase(diagnostics ? [...new Set([...MAIN, ...DIAG])] : MAIN, warmupSeconds, gapMs);
  for (let run = 1; run <= runs; run++) await send({ type: 'run', run, ...(await phase(MAIN, seconds, gapMs)) });
  if (diagnostics) {
    await send({ type: 'b2b', run: 1, ...(await phase(MAIN, seconds, 0)) });
    await sleep(200);
    for (let run = 1; run <= runs; run++) await send({ type: 'diag', run, ...(await phase(DIAG, seconds, gapMs)) });
  }
  await sleep(200);
  await send({ type: 'cold', rows: await coldPath() });
  await send({ type: 'done', warmup: warm.kinds });
}

try {
  await main();
  await Promise.all(Object.values(pools).map((p) => p.close()));
} catch (err) {
  await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  await Promise.all(Object.values(pools).map((p) => p.destroy()));
  process.exitCode = 1;
}
