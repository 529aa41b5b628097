// Child process of bench/clearance.mjs: the load client of the clearance benchmark.
//
// Two Workers serve the same bundle (bench/http-server.mjs), each its own isolate:
//   geogate   CLEARANCE_SECRET = S, CLEARANCE_SECRET_PREVIOUS = P: the Worker measured
//   previous  CLEARANCE_SECRET = P: only issues, once, a clearance signed with P (as a Worker
//             issued it before a rotation), which `geogate` then accepts on its second try
//
// Priming (once): /healthz of `geogate` must be ok with 2 clearance keys; a challenged check
// (`challenged` body) must answer `challenge` for TOR with a ticket; POST /v1/challenge/step-up
// { account: { id }, ip, method: "bench", ticket } must issue a clearance for TOR. The same on
// `previous` gives the clearance signed with P. The tampered clearance is the valid one with one
// character of its signature changed.
//
// The kinds of request, all POST /v1/check to `geogate`, drawn at random for every request over
// the same keep-alive connections (undici Pool, pipelining 1, closed loop):
//   allowed           the clean US check with the account id (baseline): allow
//   challenged        the same check from a Tor exit (geo.country "T1"): challenge + signed ticket
//   cleared           the challenged check with the valid clearance: allow, CLEARANCE_VALID
//   tampered          the challenged check with the tampered clearance: challenge, CLEARANCE_INVALID
//                     (both secrets tried, no revocation read) + signed ticket
//   cleared-previous  the challenged check with the clearance signed with P: allow, CLEARANCE_VALID
//                     (the first secret fails, the second verifies)
//   challenged-anon   the challenged check without the account: challenge + signed ticket
//   cleared-anon      challenged-anon with a clearance that names no account (signed with S by
//                     bench/clearance.mjs, config.anonClearance): allow, CLEARANCE_VALID, no
//                     revocation to read
//
// Every response is checked so that a broken Worker cannot produce a fast number: its status, the
// start of its body (the decision) and a marker (CLEARANCE_VALID, CLEARANCE_INVALID, a ticket) on
// every response; the whole JSON (policySource "kv", reasons, the challenge offered) on every
// warm-up response and one measured response in VERIFY_EVERY.
//
// Protocol (IPC): { type: 'primed', clearance, previousClearance, tampered, granted },
// then per level { type: 'run', concurrency, run, kinds, rps } and { type: 'level', concurrency,
// warmup }, then { type: 'done' }; or { type: 'error', message }.
import { Pool } from 'undici';
import { prng, quantile, sorted } from './lib/stats.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { urls, checkToken, bodies, account, ip, anonClearance, concurrencies, warmupSeconds, seconds, runs } = config;

/** One measured response in this many is parsed and verified whole (all of them during warm-up). */
const VERIFY_EVERY = 16;
const KINDS = ['allowed', 'challenged', 'cleared', 'tampered', 'cleared-previous', 'challenged-anon', 'cleared-anon'];
const headers = { authorization: `Bearer ${checkToken}`, 'content-type': 'application/json' };

const hrtime = process.hrtime.bigint;
const send = (msg) => new Promise((resolve) => (process.send ? process.send(msg, undefined, undefined, () => resolve()) : resolve()));
const random = prng(0xc1ea2);

const keepAlive = { pipelining: 1, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 120_000 };
/** One-connection pools for priming; the measured pool is made per concurrency level. */
const primers = Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, new Pool(url, { connections: 1, ...keepAlive })]));
const pools = new Set(Object.values(primers));

async function call(pool, path, method, body, extraHeaders = headers) {
  const res = await pool.request({ path, method, headers: extraHeaders, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${method} ${path} answered ${res.statusCode}: ${text.slice(0, 400)}`);
  return JSON.parse(text);
}

const codes = (json) => (Array.isArray(json.reasons) ? json.reasons.map((r) => r.code) : []);
const hasClearanceReason = (json) => codes(json).some((c) => c.startsWith('CLEARANCE_'));

/** Whole-answer checks per kind: throws with the answer when it is not what the kind must get. */
function verifyWhole(kind, json, text) {
  const fail = (why) => {
    throw new Error(`${kind}: ${why}: ${text.slice(0, 600)}`);
  };
  if (json.policySource !== 'kv' || typeof json.score !== 'number' || json.failed !== false) fail('not a decision from the KV policy');
  const challengeOk = () => json.challenge && JSON.stringify(json.challenge.clears) === '["TOR"]' && typeof json.challenge.ticket === 'string' && json.challenge.ticket.split('.').length === 3;
  switch (kind) {
    case 'allowed':
      if (json.decision !== 'allow' || json.challenge || hasClearanceReason(json)) fail('expected a plain allow');
      break;
    case 'challenged':
    case 'challenged-anon':
      if (json.decision !== 'challenge' || !challengeOk() || hasClearanceReason(json)) fail('expected a challenge for TOR with a ticket');
      break;
    case 'cleared':
    case 'cleared-previous':
    case 'cleared-anon': {
      const tor = json.reasons.find((r) => r.code === 'TOR');
      if (json.decision !== 'allow' || json.challenge || codes(json)[0] !== 'CLEARANCE_VALID' || tor?.liftedBy === undefined) fail('expected allow with CLEARANCE_VALID and TOR lifted');
      break;
    }
    case 'tampered':
      if (json.decision !== 'challenge' || !challengeOk() || !codes(json).includes('CLEARANCE_INVALID')) fail('expected a challenge for TOR with CLEARANCE_INVALID and a ticket');
      break;
    default:
      fail('unknown kind');
  }
  const named = json.memory?.account !== 'none';
  if (named === kind.endsWith('-anon')) fail(named ? 'the check should name no account' : 'the check should name its account');
}

/** What every response of a kind must start with and contain (cheap: no parse). */
const QUICK = {
  allowed: { start: '{"decision":"allow"', has: undefined, not: 'CLEARANCE_' },
  challenged: { start: '{"decision":"challenge"', has: '"ticket":"', not: 'CLEARANCE_' },
  cleared: { start: '{"decision":"allow"', has: '"CLEARANCE_VALID"', not: undefined },
  tampered: { start: '{"decision":"challenge"', has: '"CLEARANCE_INVALID"', not: undefined },
  'cleared-previous': { start: '{"decision":"allow"', has: '"CLEARANCE_VALID"', not: undefined },
  'challenged-anon': { start: '{"decision":"challenge"', has: '"ticket":"', not: 'CLEARANCE_' },
  'cleared-anon': { start: '{"decision":"allow"', has: '"CLEARANCE_VALID"', not: undefined },
};

function verifyQuick(kind, status, text) {
  const q = QUICK[kind];
  if (status !== 200 || !text.startsWith(q.start) || (q.has !== undefined && !text.includes(q.has)) || (q.not !== undefined && text.includes(q.not))) {
    throw new Error(`${kind}: answered ${status}, not what this kind must get: ${text.slice(0, 600)}`);
  }
}

/** Changes one character in the middle of a JWS's signature (a base64url char that decodes to other bits). */
function tamper(token) {
  const at = token.lastIndexOf('.') + 10;
  const c = token[at];
  return `${token.slice(0, at)}${c === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

/** Gets a ticket from a challenged check on Worker `name`, then a clearance through step-up. */
async function clearanceFrom(name) {
  const pool = primers[name];
  const challenged = await call(pool, '/v1/check', 'POST', bodies.challenged);
  verifyWhole('challenged', challenged, JSON.stringify(challenged));
  const granted = await call(pool, '/v1/challenge/step-up', 'POST', { account: { id: account }, ip, method: 'bench', ticket: challenged.challenge.ticket });
  if (typeof granted.clearance !== 'string' || JSON.stringify(granted.reasons) !== '["TOR"]' || granted.account !== account || granted.kind !== 'step-up') {
    throw new Error(`step-up on ${name} did not issue a clearance for TOR: ${JSON.stringify(granted).slice(0, 400)}`);
  }
  return granted;
}

async function prime() {
  const health = await call(primers.geogate, '/healthz', 'GET', undefined, {});
  if (health.status !== 'ok' || health.policy?.source !== 'kv' || health.challenge?.clearances !== 'ok' || health.challenge?.keys !== 2) {
    throw new Error(`/healthz of the measured Worker is not ok with 2 clearance keys: ${JSON.stringify(health).slice(0, 600)}`);
  }
  const granted = await clearanceFrom('geogate');
  const previous = await clearanceFrom('previous');
  const tampered = tamper(granted.clearance);
  if (tampered === granted.clearance) throw new Error('tampering changed nothing');
  return { granted, clearance: granted.clearance, previousClearance: previous.clearance, tampered };
}

async function main() {
  const primed = await prime();
  const texts = {
    allowed: JSON.stringify(bodies.allowed),
    challenged: JSON.stringify(bodies.challenged),
    cleared: JSON.stringify({ ...bodies.challenged, clearance: primed.clearance }),
    tampered: JSON.stringify({ ...bodies.challenged, clearance: primed.tampered }),
    'cleared-previous': JSON.stringify({ ...bodies.challenged, clearance: primed.previousClearance }),
    'challenged-anon': JSON.stringify(bodies.challengedAnon),
    'cleared-anon': JSON.stringify({ ...bodies.challengedAnon, clearance: anonClearance }),
  };
  // Each kind once, verified whole, before anything is timed.
  for (const kind of KINDS) {
    const json = await call(primers.geogate, '/v1/check', 'POST', JSON.parse(texts[kind]));
    verifyWhole(kind, json, JSON.stringify(json));
  }
  await send({ type: 'primed', clearance: primed.clearance, previousClearance: primed.previousClearance, tampered: primed.tampered, granted: primed.granted });

  for (const concurrency of concurrencies) {
    const pool = new Pool(urls.geogate, { connections: concurrency, ...keepAlive });
    pools.add(pool);
    const requests = Object.fromEntries(KINDS.map((k) => [k, { path: '/v1/check', method: 'POST', headers, body: texts[k] }]));

    /** The closed loop for `durationS`: per kind latencies (ns). */
    const phase = async (durationS, verifyAll) => {
      const lat = Object.fromEntries(KINDS.map((k) => [k, []]));
      const deadline = hrtime() + BigInt(Math.round(durationS * 1e9));
      let n = 0;
      const worker = async () => {
        while (hrtime() < deadline) {
          const kind = KINDS[Math.floor(random() * KINDS.length)];
          const t0 = hrtime();
          const res = await pool.request(requests[kind]);
          const text = await res.body.text();
          lat[kind].push(Number(hrtime() - t0));
          verifyQuick(kind, res.statusCode, text);
          if (verifyAll || ++n % VERIFY_EVERY === 0) verifyWhole(kind, JSON.parse(text), text);
        }
      };
      const started = hrtime();
      await Promise.all(Array.from({ length: concurrency }, worker));
      const elapsedS = Number(hrtime() - started) / 1e9;
      const total = KINDS.reduce((a, k) => a + lat[k].length, 0);
      return { kinds: Object.fromEntries(KINDS.map((k) => [k, summary(lat[k])])), rps: total / elapsedS };
    };

    const warm = await phase(warmupSeconds, true);
    for (let run = 1; run <= runs; run++) await send({ type: 'run', concurrency, run, ...(await phase(seconds, false)) });
    await send({ type: 'level', concurrency, warmup: Object.fromEntries(KINDS.map((k) => [k, warm.kinds[k].n])) });
    await pool.close();
    pools.delete(pool);
  }
  await send({ type: 'done' });
}

function summary(samplesNs) {
  const s = sorted(samplesNs);
  return { n: s.length, p50: quantile(s, 0.5) / 1000, p99: quantile(s, 0.99) / 1000 };
}

try {
  await main();
  await Promise.all([...pools].map((p) => p.close()));
} catch (err) {
  await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  await Promise.all([...pools].map((p) => p.destroy()));
  process.exitCode = 1;
}
