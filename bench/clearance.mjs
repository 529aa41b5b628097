// Clearance benchmark (BENCH_ONLY=clearance): what challenges and clearances (issue 9) cost a
// check. A `challenge` decision carries a signed ticket (one HS256 sign); a check presenting a
// clearance has it verified (HS256: CLEARANCE_SECRET, then CLEARANCE_SECRET_PREVIOUS) and, as it
// names an account, reads that account's revocation from KV before the engine lifts the challenge.
// No target: the issue sets none; the figures are printed.
//
// 1. Build the deployable bundle (`wrangler deploy --dry-run`, as the HTTP bench does).
// 2. Serve it with Miniflare's API (bench/http-server.mjs, pinned to CPU 0), two Workers in one
//    workerd, each its own isolate and KV seeded with src/policy/default-policy.json:
//      geogate:  CLEARANCE_SECRET = S and CLEARANCE_SECRET_PREVIOUS = P (a rotation under way);
//      previous: CLEARANCE_SECRET = P, used once to issue a clearance signed with the old secret.
// 3. Drive `geogate` from bench/clearance-client.mjs (pinned to CPU 1): it obtains a ticket from a
//    challenged check and a clearance through POST /v1/challenge/step-up, then sends seven kinds of
//    check interleaved at random over the same keep-alive connections (closed loop): allowed (a),
//    challenged (b), cleared (c), tampered clearance (d), clearance signed with P (e), and, to tell
//    the signature check from the revocation read, b without the account (f) and f with a
//    clearance that names no account (g, issued here by bench/clearance-entry.mjs: nothing to
//    read). Warm-up, then BENCH_RUNS runs at each BENCH_CONCURRENCY level; per run the p50s and
//    their differences, reported as medians over runs.
// 4. Cold path: BENCH_CLEARANCE_COLD samples; each starts three fresh Miniflare instances of the
//    same bundle (KV seeded with the default policy) whose very first request is the allowed
//    check, the challenged check, or the challenged check with the clearance (the kinds' order
//    rotates from one sample to the next). Medians, and medians of the paired differences.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CASES } from './cases.mjs';
import { buildBundle, descendantsAffinity, pinning, spawnPinned, stopOnExit, waitForMessage, wranglerSettings } from './http.mjs';
import { freshIsolate, importEntry, root } from './lib/source.mjs';
import { envInt, envIntList, envNumber, fmt, median, sorted } from './lib/stats.mjs';

/** The golden case the checks are built from (an ordinary US browser check, no clock field). */
const BASE_CASE = 'us-verizon-la';
/** The account every check names (the clearance is bound to it). */
const ACCOUNT = 'bench-clearance-acct';

const KINDS = ['allowed', 'challenged', 'cleared', 'tampered', 'cleared-previous', 'challenged-anon', 'cleared-anon'];
const LABELS = {
  allowed: 'a  allowed (US, account)',
  challenged: 'b  challenged (Tor, account: ticket signed)',
  cleared: 'c  b + valid clearance',
  tampered: 'd  b + tampered clearance',
  'cleared-previous': 'e  b + clearance signed with PREVIOUS',
  'challenged-anon': 'f  b without the account',
  'cleared-anon': 'g  f + clearance naming no account',
};
/** The differences reported (per run, then the median over runs): [name, of a run's p50s, what it is]. */
const DIFFS = [
  ['b-a', (p) => p.challenged - p.allowed, 'the challenge decision with its signed ticket (+ the Tor rule)'],
  ['c-a', (p) => p.cleared - p.allowed, 'clearance verification + revocation read (+ the Tor rule and the lift)'],
  ['c-b', (p) => p.cleared - p.challenged, 'clearance verification + revocation read, minus the ticket'],
  ['d-b', (p) => p.tampered - p.challenged, 'a bad clearance: both secrets tried, both fail; no revocation read'],
  ['e-c', (p) => p['cleared-previous'] - p.cleared, 'rotation: one more HMAC verification (the first secret fails)'],
  ['g-f', (p) => p['cleared-anon'] - p['challenged-anon'], 'clearance verification without a revocation read, minus the ticket'],
  ['(c-b)-(g-f)', (p) => p.cleared - p.challenged - (p['cleared-anon'] - p['challenged-anon']), 'the revocation read (KV get of clearance-revocation:<sha256>, local KV)'],
];
const COLD_KINDS = ['allowed', 'challenged', 'cleared'];

const secret = () => randomBytes(24).toString('hex');

/**
 * workerd's warning when a promise created in one request is settled from another (the async
 * account memory's shared batch, src/accounts/memory.ts, does this under load; workerd then
 * cancels the continuations). It can come thousands of times a run: the server's output is
 * passed through with these lines counted instead of printed (the first one is printed whole).
 */
const CROSS_REQUEST = 'A promise was resolved or rejected from a different request context';

/** Copies `stream` to `out` line by line, counting (and after the first, dropping) CROSS_REQUEST lines. */
function passCounting(stream, out, counter) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i + 1);
      buf = buf.slice(i + 1);
      if (!line.includes(CROSS_REQUEST)) out.write(line);
      else if (++counter.n === 1) out.write(`  [server, printed once, then counted] ${line}`);
    }
  });
  stream.on('end', () => {
    if (buf) out.write(buf);
  });
}

/**
 * The check bodies: the golden case with the account (allowed), and the same from a Tor exit
 * (geo.country "T1", which the default policy challenges); `ip` is the case's own.
 */
function checkBodies() {
  const base = CASES.find((c) => c.name === BASE_CASE);
  if (!base) throw new Error(`golden case ${BASE_CASE} not found (bench/cases.mjs)`);
  if (typeof base.body.ip !== 'string' || base.body.geo?.country !== 'US') throw new Error(`golden case ${BASE_CASE} is not a US check with an ip`);
  const allowed = { ...base.body, account: { id: ACCOUNT } };
  const challenged = { ...allowed, geo: { ...allowed.geo, country: 'T1' } };
  const challengedAnon = { ...challenged };
  delete challengedAnon.account;
  return { allowed, challenged, challengedAnon, ip: base.body.ip };
}

/** Per run: p50/p99 of each kind and the differences of the p50s. */
function runFigures(msg) {
  const p50 = Object.fromEntries(KINDS.map((k) => [k, msg.kinds[k].p50]));
  const diffs = Object.fromEntries(DIFFS.map(([name, of]) => [name, of(p50)]));
  return { kinds: msg.kinds, diffs, rps: msg.rps };
}

/** Medians over runs. */
function levelFigures(concurrency, perRun) {
  const med = (f) => median(perRun.map(f));
  return {
    concurrency,
    runs: perRun.length,
    p50: Object.fromEntries(KINDS.map((k) => [k, med((r) => r.kinds[k].p50)])),
    p99: Object.fromEntries(KINDS.map((k) => [k, med((r) => r.kinds[k].p99)])),
    n: Object.fromEntries(KINDS.map((k) => [k, perRun.reduce((a, r) => a + r.kinds[k].n, 0)])),
    diffs: Object.fromEntries(DIFFS.map(([name]) => [name, med((r) => r.diffs[name])])),
    diffRange: Object.fromEntries(DIFFS.map(([name]) => [name, [Math.min(...perRun.map((r) => r.diffs[name])), Math.max(...perRun.map((r) => r.diffs[name]))]])),
    rps: med((r) => r.rps),
  };
}

/**
 * One fresh Miniflare instance (own workerd, own isolate) with the default policy in KV; its very
 * first request is `body` (timed), then, 300 ms later, the same again (warm, for scale).
 */
async function coldFirst(scriptPath, settings, policyText, secrets, body, kind) {
  const { mf, checkToken } = freshIsolate(scriptPath, settings, { CLEARANCE_SECRET: secrets.current, CLEARANCE_SECRET_PREVIOUS: secrets.previous });
  try {
    await mf.ready;
    const kv = await mf.getKVNamespace('POLICY');
    await kv.put('policy:active', policyText);
    const check = async () => {
      const t0 = performance.now();
      const res = await mf.dispatchFetch('http://127.0.0.1/v1/check', {
        method: 'POST',
        headers: { authorization: `Bearer ${checkToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { ms: performance.now() - t0, status: res.status, text };
    };
    const first = await check();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await check();
    for (const r of [first, second]) {
      const json = r.status === 200 ? JSON.parse(r.text) : undefined;
      const codes = (json?.reasons ?? []).map((x) => x.code);
      const ok =
        json?.policySource === 'kv' &&
        (kind === 'allowed'
          ? json.decision === 'allow' && !codes.some((c) => c.startsWith('CLEARANCE_'))
          : kind === 'challenged'
            ? json.decision === 'challenge' && typeof json.challenge?.ticket === 'string'
            : json.decision === 'allow' && codes[0] === 'CLEARANCE_VALID');
      if (!ok) throw new Error(`cold ${kind}: a fresh isolate answered ${r.status}: ${r.text.slice(0, 500)}`);
    }
    return { firstMs: first.ms, secondMs: second.ms };
  } finally {
    await mf.dispose();
  }
}

/**
 * Runs the clearance benchmark and prints its report through `log`.
 * @returns the figures the summary needs.
 */
export async function runClearanceBench({
  runs = envInt('BENCH_RUNS', 3),
  seconds = envNumber('BENCH_SECONDS', 8),
  warmupSeconds = envNumber('BENCH_WARMUP_SECONDS', 3),
  concurrencies = envIntList('BENCH_CONCURRENCY', [1, 4]),
  coldSamples = envInt('BENCH_CLEARANCE_COLD', 5),
  log = console.log,
} = {}) {
  const { allowed, challenged, challengedAnon, ip } = checkBodies();
  const entry = await importEntry('clearance-entry', 'clearance');
  const scriptPath = buildBundle();
  const settings = wranglerSettings();
  const policyText = readFileSync(join(root, 'src', 'policy', 'default-policy.json'), 'utf8');
  const pin = pinning();
  // Bench-only secrets: random, long enough (>= 32 characters) and all different.
  const checkToken = secret();
  const adminToken = secret();
  const secrets = { current: secret(), previous: secret() };
  const common = { CHECK_TOKEN: checkToken, ADMIN_TOKEN: adminToken, GEO_FROM_CF: 'false' };
  // Issued now by the production code (the default policy's binding and TTL: 30 min), signed with S.
  const anon = await entry.accountlessClearance(secrets.current, ip, ['TOR']);
  const workers = [
    { name: 'geogate', policyText, bindings: { ...common, CLEARANCE_SECRET: secrets.current, CLEARANCE_SECRET_PREVIOUS: secrets.previous } },
    { name: 'previous', policyText, bindings: { ...common, CLEARANCE_SECRET: secrets.previous } },
  ];

  let server;
  let client;
  const release = stopOnExit(() => ({ server, client }));
  const result = { runs, seconds, coldSamples, pinNote: pin.ok ? 'server CPU 0, client CPU 1' : `unpinned (${pin.why})`, levels: [] };
  let primed;
  const warnings = { n: 0 };
  let warnedBefore = 0;
  try {
    server = spawnPinned(pin.ok ? 0 : undefined, 'http-server.mjs', { scriptPath, ...settings, workers }, { detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    passCounting(server.stdout, process.stdout, warnings);
    passCounting(server.stderr, process.stderr, warnings);
    const ready = await waitForMessage(server, 'ready', 60_000, 'server');
    for (const u of Object.values(ready.urls)) {
      if (new URL(u).hostname !== '127.0.0.1') throw new Error(`refusing to load anything but 127.0.0.1 (got ${u})`);
    }
    result.mode = ready.mode;

    log(`Clearances: POST /v1/check allowed / challenged (ticket signed) / with a clearance (verified, revocation read), interleaved at random over the same keep-alive connections`);
    log(`  bundle: wrangler deploy --dry-run --outdir ${join('dist', 'bench-worker')} (${settings.compatibilityDate}, ${settings.compatibilityFlags.join(',') || 'no flags'})`);
    log(
      `  server: Miniflare API, one workerd, 2 Workers (own isolate, KV seeded with src/policy/default-policy.json, Durable Objects ${Object.keys(settings.durableObjects).join(', ')}; ${ready.storage}), ${ready.mode} sockets`,
    );
    log(`    geogate ${new URL(ready.urls.geogate).origin}: CLEARANCE_SECRET and CLEARANCE_SECRET_PREVIOUS set (measured); previous ${new URL(ready.urls.previous).origin}: CLEARANCE_SECRET = the other one's PREVIOUS (issues one clearance)`);
    log(
      pin.ok
        ? `  pinning: server on CPU 0 (${descendantsAffinity(server.pid).join(', ')}), client on CPU 1`
        : `  pinning: none (${pin.why}); server and client share the CPUs, expect more noise`,
    );
    log(
      `  requests: golden case ${BASE_CASE} with account { id: "${ACCOUNT}" } (a); the same with geo.country "T1" (b, challenged for TOR by the default policy); b with the clearance from ` +
        `POST /v1/challenge/step-up { account, ip: "${ip}", method: "bench", ticket } (c), with that clearance's signature altered (d), with a clearance issued by the Worker whose secret is geogate's PREVIOUS (e); ` +
        `b without the account (f) and f with a clearance naming no account (g: issued by bench/clearance-entry.mjs through grantClearance, signed with CLEARANCE_SECRET; no revocation to read)`,
    );
    log(`  ${warmupSeconds} s warm-up (every answer verified whole), then ${runs} x ${seconds} s runs per concurrency level (${concurrencies.join(', ')}); every answer's decision and marker checked, 1 in 16 verified whole`);

    client = spawnPinned(pin.ok ? 1 : undefined, 'clearance-client.mjs', {
      urls: ready.urls,
      checkToken,
      bodies: { allowed, challenged, challengedAnon },
      account: ACCOUNT,
      ip,
      anonClearance: anon.clearance,
      concurrencies,
      warmupSeconds,
      seconds,
      runs,
    });
    const perLevel = new Map(concurrencies.map((c) => [c, []]));
    client.on('message', (msg) => {
      if (msg?.type === 'primed') {
        primed = msg;
        log(
          `  primed: step-up issued clearance ${msg.granted.id} (kind ${msg.granted.kind}, reasons ${msg.granted.reasons.join(',')}, account ${msg.granted.account}, network ${msg.granted.network}, ` +
            `expires ${msg.granted.expiresAt}; ${msg.clearance.length} characters); every kind answered as expected once`,
        );
      } else if (msg?.type === 'run') {
        const r = runFigures(msg);
        r.warnings = warnings.n - warnedBefore;
        warnedBefore = warnings.n;
        perLevel.get(msg.concurrency).push(r);
        log(
          `    c=${msg.concurrency} run ${msg.run}: p50 µs ${KINDS.map((k) => `${LABELS[k][0]} ${fmt(r.kinds[k].p50, 1)}`).join(' | ')}; ` +
            `${DIFFS.map(([name]) => `${name} ${fmt(r.diffs[name], 1)}`).join(', ')}; ${Math.round(r.rps)} req/s (n ${KINDS.map((k) => r.kinds[k].n).join('/')})` +
            (r.warnings > 0 ? `; ${r.warnings} cross-request promise warnings from workerd during this run (and its warm-up)` : ''),
        );
      } else if (msg?.type === 'level') {
        const perRun = perLevel.get(msg.concurrency);
        const l = levelFigures(msg.concurrency, perRun);
        l.warnings = perRun.reduce((a, r) => a + r.warnings, 0);
        l.runsWarned = perRun.filter((r) => r.warnings > 0).length;
        result.levels.push(l);
        log(`    => c=${l.concurrency}, median of ${l.runs} runs (${Math.round(l.rps)} req/s):`);
        log(`       ${'check'.padEnd(44)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'n'.padStart(7)}`);
        for (const k of KINDS) log(`       ${LABELS[k].padEnd(44)} ${fmt(l.p50[k], 1, 9)} ${fmt(l.p99[k], 1, 9)} ${String(l.n[k]).padStart(7)}`);
        for (const [name, , what] of DIFFS) {
          const [lo, hi] = l.diffRange[name];
          log(`       ${name.padEnd(11)} ${fmt(l.diffs[name], 1, 7)} µs p50  (runs ${fmt(lo, 1, 6)} to ${fmt(hi, 1, 6)})  ${what}`);
        }
        if (l.warnings > 0) {
          log(
            `       warning: workerd reported ${l.warnings} promises settled from another request's context in ${l.runsWarned} of ${l.runs} runs (the async account memory's shared batch, ` +
              `src/accounts/memory.ts; workerd cancels those continuations, so background records may be skipped): the runs that show it are not steady state`,
          );
        }
      }
    });
    const budgetMs = concurrencies.length * (warmupSeconds + runs * seconds) * 1000 + 120_000;
    await waitForMessage(client, 'done', budgetMs, 'clearance client');
  } finally {
    await release();
  }
  if (!primed) throw new Error('the clearance client never primed');

  // Cold path, with the load server and client gone.
  const bodies = { allowed, challenged, cleared: { ...challenged, clearance: primed.clearance } };
  const cold = Object.fromEntries(COLD_KINDS.map((k) => [k, { first: [], second: [] }]));
  log(
    `  cold path: ${coldSamples} samples; each starts ${COLD_KINDS.length} fresh Miniflare instances (own workerd, KV seeded with the default policy, same secrets; not pinned) whose very first request is a, b or c ` +
      `(the order rotates per sample; one throwaway instance before them), then the same request 300 ms later`,
  );
  // One throwaway instance first: the first Miniflare of this process also pays Node's and the OS's first-time costs.
  await coldFirst(scriptPath, settings, policyText, secrets, bodies.allowed, 'allowed');
  for (let i = 0; i < coldSamples; i++) {
    for (let j = 0; j < COLD_KINDS.length; j++) {
      const kind = COLD_KINDS[(i + j) % COLD_KINDS.length];
      const r = await coldFirst(scriptPath, settings, policyText, secrets, bodies[kind], kind);
      cold[kind].first.push(r.firstMs);
      cold[kind].second.push(r.secondMs);
    }
  }
  const paired = (a, b) => median(cold[a].first.map((x, i) => x - cold[b].first[i]));
  result.cold = {
    first: Object.fromEntries(COLD_KINDS.map((k) => [k, median(cold[k].first)])),
    second: Object.fromEntries(COLD_KINDS.map((k) => [k, median(cold[k].second)])),
    clearedMinusAllowed: paired('cleared', 'allowed'),
    clearedMinusChallenged: paired('cleared', 'challenged'),
    challengedMinusAllowed: paired('challenged', 'allowed'),
  };
  for (const k of COLD_KINDS) {
    const s = sorted(cold[k].first);
    log(
      `       first request, ${LABELS[k].padEnd(44)} median ${fmt(result.cold.first[k], 2, 7)} ms (min ${fmt(s[0], 2)}, max ${fmt(s[s.length - 1], 2)}); ` +
        `second request (300 ms later) ${fmt(result.cold.second[k], 2)} ms`,
    );
  }
  log(
    `       paired differences of the first requests (median): c-a ${fmt(result.cold.clearedMinusAllowed, 2)} ms, c-b ${fmt(result.cold.clearedMinusChallenged, 2)} ms, b-a ${fmt(result.cold.challengedMinusAllowed, 2)} ms`,
  );
  log(`    (no target: issue 9 sets none; the figures are reported)`);
  result.warnings = warnings.n;
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runClearanceBench();
}
