// Account-memory benchmark (BENCH_ONLY=memory): what a check naming an account adds over the same
// check without one, in `async` mode (target: <= 50 µs p50) and in `sync` mode (reported).
//
// 1. Build the deployable bundle (`wrangler deploy --dry-run`, as the HTTP bench does).
// 2. Serve it with Miniflare's API (bench/http-server.mjs, pinned to CPU 0): several Workers in
//    the same workerd process, each with its own isolate, KV namespace, Durable Objects (every
//    binding of wrangler.toml; SQLite files on tmpfs) and direct socket:
//      async: KV holds src/policy/default-policy.json as shipped (history.mode defaults to async);
//      sync:  KV holds the same policy with history { mode: "sync" } (and its own version);
//    and, for the diagnostics (BENCH_MEMORY_DIAG=0 leaves them out):
//      off:   the same policy with history { mode: "off" } (the account is parsed, memory skipped);
//      stub:  the default policy, with ACCOUNT_ACTIVITY and ORG_ACTIVITY bound to stand-ins
//             (bench/memory-stub-entry.mjs, a fifth Worker) that answer the real objects'
//             summaries at once: the check's own cost without the objects' SQLite work.
//    Several Workers rather than a policy swap between phases, so that the kinds of request run
//    interleaved in the same seconds; each account check is compared with the check without
//    account sent to the same Worker (the same isolate), and the baselines are printed side by side.
// 3. Drive them from bench/memory-client.mjs (pinned to CPU 1): one request in flight at a time,
//    the kind drawn at random per request, a pause of BENCH_MEMORY_GAP_MS between requests so that
//    the background record of an async check (which locally runs on the server's CPU) is over
//    before the next one; warm-up, then BENCH_RUNS runs; medians over runs. Then one run without
//    pauses, BENCH_RUNS runs of the diagnostics, and the cold path (first check of a new account
//    vs a warm one).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CASES } from './cases.mjs';
import { buildBundle, descendantsAffinity, pinning, spawnPinned, stopOnExit, waitForMessage, wranglerSettings } from './http.mjs';
import { root } from './lib/source.mjs';
import { benchSecrets } from './lib/secrets.mjs';
import { envInt, envNumber, fmt, median, quantile, sorted } from './lib/stats.mjs';

/** Target from issue 8: in async mode an account id adds at most this much p50. */
export const MEMORY_TARGETS = { maxAsyncAddedP50Us: 50 };

/** The golden case every request is built from (an ordinary US browser check, no clock field). */
const BASE_CASE = 'us-verizon-la';

/** The pooled accounts: `n` account ids over n/4 organisations (at least one). */
function accountPool(n) {
  const orgs = Math.max(1, Math.round(n / 4));
  return Array.from({ length: n }, (_, i) => ({ id: `bench-acct-${String(i).padStart(3, '0')}`, orgId: `bench-org-${i % orgs}` }));
}

const statusText = (counts) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

function sumCounts(acc, counts) {
  for (const [k, v] of Object.entries(counts)) acc[k] = (acc[k] ?? 0) + v;
  return acc;
}

/** What one run of a phase gives: per kind p50/p99, and what each Worker's account check adds. */
function runFigures(msg) {
  const k = msg.kinds;
  const workers = [...new Set(Object.keys(k).map((kind) => kind.split(':')[0]))];
  const added = {};
  for (const w of workers) {
    added[w] = { p50: k[`${w}:account`].p50 - k[`${w}:none`].p50, p99: k[`${w}:account`].p99 - k[`${w}:none`].p99 };
  }
  const spill = Object.fromEntries(Object.entries(msg.spill).map(([kind, v]) => [kind.split(':')[0], v.afterAccount.p50 - v.afterNone.p50]));
  return { kinds: k, added, spill, rps: msg.rps };
}

/** Medians over runs of runFigures() results, and the memory statuses summed over runs. */
function medianFigures(perRun) {
  const kinds = Object.keys(perRun[0].kinds);
  const workers = Object.keys(perRun[0].added);
  const med = (f) => median(perRun.map(f));
  return {
    p50: Object.fromEntries(kinds.map((kind) => [kind, med((r) => r.kinds[kind].p50)])),
    p99: Object.fromEntries(kinds.map((kind) => [kind, med((r) => r.kinds[kind].p99)])),
    n: Object.fromEntries(kinds.map((kind) => [kind, perRun.reduce((a, r) => a + r.kinds[kind].n, 0)])),
    added: Object.fromEntries(workers.map((w) => [w, { p50: med((r) => r.added[w].p50), p99: med((r) => r.added[w].p99) }])),
    spill: Object.fromEntries(workers.map((w) => [w, med((r) => r.spill[w])])),
    statuses: Object.fromEntries(kinds.map((kind) => [kind, perRun.reduce((acc, r) => sumCounts(acc, r.kinds[kind].statuses), {})])),
    rps: med((r) => r.rps),
  };
}

/** Prints a table of medianFigures() rows: [label, worker]. */
function printTable(log, m, rows) {
  log(`       ${'check'.padEnd(34)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'added p50'.padStart(10)} ${'added p99'.padStart(10)}  memory (account side)`);
  for (const [label, worker] of rows) {
    for (const what of ['none', 'account']) {
      const kind = `${worker}:${what}`;
      const a = what === 'account' ? m.added[worker] : undefined;
      log(
        `       ${(what === 'none' ? label.none : label.account).padEnd(34)} ${fmt(m.p50[kind], 1, 9)} ${fmt(m.p99[kind], 1, 9)} ` +
          `${a ? fmt(a.p50, 1, 10) : '-'.padStart(10)} ${a ? fmt(a.p99, 1, 10) : '-'.padStart(10)}  ${what === 'none' ? '-' : statusText(m.statuses[kind])}`,
      );
    }
  }
}

/**
 * Runs the account-memory benchmark and prints its report through `log`.
 * @returns the figures the summary needs.
 */
export async function runMemoryBench({
  runs = envInt('BENCH_RUNS', 3),
  seconds = envNumber('BENCH_SECONDS', 8),
  warmupSeconds = envNumber('BENCH_WARMUP_SECONDS', 3),
  gapMs = envNumber('BENCH_MEMORY_GAP_MS', 2),
  poolSize = envInt('BENCH_MEMORY_ACCOUNTS', 16),
  coldSamples = envInt('BENCH_MEMORY_COLD', 15),
  diagnostics = process.env.BENCH_MEMORY_DIAG !== '0',
  log = console.log,
} = {}) {
  const base = CASES.find((c) => c.name === BASE_CASE);
  if (!base) throw new Error(`golden case ${BASE_CASE} not found (bench/cases.mjs)`);
  if (base.body.account !== undefined) throw new Error(`golden case ${BASE_CASE} names an account: the baseline must not`);
  const body = base.body;
  const accounts = accountPool(poolSize);
  const coldGapMs = 5;

  const scriptPath = buildBundle();
  const settings = wranglerSettings();
  for (const b of ['ACCOUNT_ACTIVITY', 'ORG_ACTIVITY']) {
    if (!settings.durableObjects[b]) throw new Error(`wrangler.toml binds no ${b}: nothing to measure`);
  }
  const defaultText = readFileSync(join(root, 'src', 'policy', 'default-policy.json'), 'utf8');
  const defaultPolicy = JSON.parse(defaultText);
  if (defaultPolicy.history?.mode !== undefined && defaultPolicy.history.mode !== 'async') {
    throw new Error(`the default policy's history.mode is ${defaultPolicy.history.mode}: the async Worker needs async`);
  }
  const variant = (mode) => JSON.stringify({ ...defaultPolicy, version: `${defaultPolicy.version}+${mode}`, history: { ...defaultPolicy.history, mode } });
  const versions = { async: defaultPolicy.version, sync: `${defaultPolicy.version}+sync`, off: `${defaultPolicy.version}+off`, stub: defaultPolicy.version };

  const pin = pinning();
  const { checkToken, adminToken, bindings } = benchSecrets();
  const workers = [
    { name: 'async', policyText: defaultText },
    { name: 'sync', policyText: variant('sync') },
  ];
  if (diagnostics) {
    workers.push(
      { name: 'off', policyText: variant('off') },
      {
        name: 'stub',
        policyText: defaultText,
        durableObjects: {
          ...settings.durableObjects,
          ACCOUNT_ACTIVITY: { className: 'AccountActivity', scriptName: 'memory-stub' },
          ORG_ACTIVITY: { className: 'OrgActivity', scriptName: 'memory-stub' },
        },
      },
      {
        name: 'memory-stub',
        scriptPath: join(root, 'bench', 'memory-stub-entry.mjs'),
        durableObjects: { ACCOUNT_ACTIVITY: { className: 'AccountActivity' }, ORG_ACTIVITY: { className: 'OrgActivity' } },
        bindings: {},
      },
    );
  }

  let server;
  let client;
  const release = stopOnExit(() => ({ server, client }));

  try {
    server = spawnPinned(pin.ok ? 0 : undefined, 'http-server.mjs', { scriptPath, ...settings, bindings, workers }, { detached: true });
    const ready = await waitForMessage(server, 'ready', 60_000, 'server');
    const urls = ready.urls;
    for (const u of Object.values(urls)) {
      if (new URL(u).hostname !== '127.0.0.1') throw new Error(`refusing to load anything but 127.0.0.1 (got ${u})`);
    }

    log(`Account memory: POST /v1/check with account { id, orgId } vs the same check without, async and sync mode, interleaved at random, one request in flight`);
    log(`  bundle: wrangler deploy --dry-run --outdir ${join('dist', 'bench-worker')} (${settings.compatibilityDate}, ${settings.compatibilityFlags.join(',') || 'no flags'})`);
    log(
      `  server: Miniflare API, one workerd, ${workers.length} Workers, each its own isolate, KV, Durable Objects (${Object.keys(settings.durableObjects).join(', ')}) and ${ready.mode} socket; objects' storage: ${ready.storage}`,
    );
    log(`    async ${new URL(urls.async).origin}: default policy ${versions.async}; sync ${new URL(urls.sync).origin}: the same with history.mode "sync" (syncBudgetMs: the default)`);
    if (diagnostics) {
      log(
        `    diagnostics: off ${new URL(urls.off).origin} (history.mode "off"); stub ${new URL(urls.stub).origin} (default policy, ACCOUNT_ACTIVITY/ORG_ACTIVITY answered at once by bench/memory-stub-entry.mjs with the real objects' summaries)`,
      );
    }
    log(
      pin.ok
        ? `  pinning: server on CPU 0 (${descendantsAffinity(server.pid).join(', ')}), client on CPU 1`
        : `  pinning: none (${pin.why}); server and client share the CPUs, expect more noise`,
    );
    log(
      `  requests: golden case ${BASE_CASE}; with account: ${accounts.length} account ids over ${new Set(accounts.map((a) => a.orgId)).size} organisations, each primed once per Worker; ` +
        `${gapMs} ms pause between requests; ${warmupSeconds} s warm-up, then ${runs} x ${seconds} s runs; every response verified`,
    );

    client = spawnPinned(pin.ok ? 1 : undefined, 'memory-client.mjs', {
      urls,
      checkToken,
      adminToken,
      body,
      accounts,
      versions,
      warmupSeconds,
      seconds,
      runs,
      gapMs,
      diagnostics,
      coldSamples,
      coldGapMs,
    });
    const perRun = [];
    const diagRuns = [];
    let b2b;
    let cold;
    client.on('message', (msg) => {
      if (msg?.type === 'run') {
        const r = runFigures(msg);
        perRun.push(r);
        const k = r.kinds;
        const cell = (kind) => `${fmt(k[kind].p50, 1)} / ${fmt(k[kind].p99, 1)} (n=${k[kind].n})`;
        log(
          `    run ${msg.run}: p50 / p99 µs: no account ${cell('async:none')} | async account ${cell('async:account')} | ` +
            `no account (sync Worker) ${cell('sync:none')} | sync account ${cell('sync:account')}`,
        );
        log(
          `           added p50 / p99: async ${fmt(r.added.async.p50, 1)} / ${fmt(r.added.async.p99, 1)} µs, sync ${fmt(r.added.sync.p50, 1)} / ${fmt(r.added.sync.p99, 1)} µs; ` +
            `memory async ${statusText(k['async:account'].statuses)}, sync ${statusText(k['sync:account'].statuses)}; ${Math.round(r.rps)} req/s`,
        );
      } else if (msg?.type === 'b2b') {
        b2b = runFigures(msg);
      } else if (msg?.type === 'diag') {
        const r = runFigures(msg);
        diagRuns.push(r);
        log(
          `    diagnostics run ${msg.run}: added p50 / p99 µs: async ${fmt(r.added.async.p50, 1)} / ${fmt(r.added.async.p99, 1)}, ` +
            `stub objects ${fmt(r.added.stub.p50, 1)} / ${fmt(r.added.stub.p99, 1)}, history off ${fmt(r.added.off.p50, 1)} / ${fmt(r.added.off.p99, 1)}; ${Math.round(r.rps)} req/s`,
        );
      } else if (msg?.type === 'cold') {
        cold = msg.rows;
      }
    });
    const phases = warmupSeconds + (diagnostics ? 2 * runs + 1 : runs) * seconds;
    const budgetMs = phases * 1000 + coldSamples * 5 * (coldGapMs + 200) + 120_000;
    const done = await waitForMessage(client, 'done', budgetMs, 'memory client');
    log(
      `    verified: every status 200, a decision from each Worker's own KV policy, memory mode as configured; warm-up decisions: ` +
        `${Object.entries(done.warmup)
          .map(([kind, v]) => `${kind} ${statusText(v.decisions)}`)
          .join('; ')}`,
    );

    const m = medianFigures(perRun);
    // A timeout can be a stall of this VM; an object that fails is a bug, not a figure.
    for (const kind of ['async:account', 'sync:account']) {
      if (m.statuses[kind].unavailable) throw new Error(`${kind}: the memory objects failed (${statusText(m.statuses[kind])}); see the server's output`);
    }
    const result = {
      runs,
      seconds,
      gapMs,
      accounts: accounts.length,
      pinNote: pin.ok ? 'server CPU 0, client CPU 1' : `unpinned (${pin.why})`,
      p50: m.p50,
      p99: m.p99,
      asyncAddedP50: m.added.async.p50,
      asyncAddedP99: m.added.async.p99,
      syncAddedP50: m.added.sync.p50,
      syncAddedP99: m.added.sync.p99,
      baselineDiffP50: median(perRun.map((r) => r.kinds['sync:none'].p50 - r.kinds['async:none'].p50)),
      spillP50: m.spill.async,
      statuses: { async: m.statuses['async:account'], sync: m.statuses['sync:account'] },
    };
    result.asyncPass = result.asyncAddedP50 <= MEMORY_TARGETS.maxAsyncAddedP50Us;
    result.pass = result.asyncPass;

    log(`    => median of ${runs} runs (added: over the check without account on the same Worker, same run):`);
    printTable(log, m, [
      [{ none: '1  no account', account: '2  account, async (default)' }, 'async'],
      [{ none: '   no account (sync Worker)', account: '3  account, sync' }, 'sync'],
    ]);
    log(
      `       cross-checks: the two baselines differ by ${fmt(result.baselineDiffP50, 1)} µs p50 (should be ~0); a check without account right after an account check ` +
        `is ${fmt(result.spillP50, 1)} µs p50 slower than after one without (the async record's background work spilling over: ~0 when the pause is long enough)`,
    );
    const asyncBad = Object.entries(result.statuses.async).filter(([k]) => k !== 'cache');
    const syncBad = Object.entries(result.statuses.sync).filter(([k]) => k !== 'object');
    if (asyncBad.length + syncBad.length > 0) {
      log(`       note: not every account check used its memory as steady state would: async ${statusText(result.statuses.async)}; sync ${statusText(result.statuses.sync)}`);
    }
    log(`    target: async mode adds <= ${MEMORY_TARGETS.maxAsyncAddedP50Us} µs p50 ... ${fmt(result.asyncAddedP50, 1)} µs ${result.asyncPass ? 'PASS' : 'FAIL'}`);
    log(
      `    sync mode (reported, no target): adds ${fmt(result.syncAddedP50, 1)} µs p50, ${fmt(result.syncAddedP99, 1)} µs p99 locally ` +
        `(the objects run in the same workerd, on the server's CPU; a deployed object adds its network round trip)`,
    );

    if (b2b) {
      result.b2b = { asyncAddedP50: b2b.added.async.p50, syncAddedP50: b2b.added.sync.p50, spillP50: b2b.spill.async, rps: b2b.rps };
      log(
        `    back to back (one ${seconds} s run, no pause; not comparable: the objects' background work lands on the next request): ` +
          `p50 no account ${fmt(b2b.kinds['async:none'].p50, 1)} µs, async account ${fmt(b2b.kinds['async:account'].p50, 1)} µs (added ${fmt(b2b.added.async.p50, 1)}), ` +
          `sync account ${fmt(b2b.kinds['sync:account'].p50, 1)} µs (added ${fmt(b2b.added.sync.p50, 1)}); spill-over ${fmt(b2b.spill.async, 1)} µs; ${Math.round(b2b.rps)} req/s`,
      );
    }

    if (diagRuns.length > 0) {
      const d = medianFigures(diagRuns);
      result.diag = { asyncAddedP50: d.added.async.p50, stubAddedP50: d.added.stub.p50, offAddedP50: d.added.off.p50, stubSpillP50: d.spill.stub };
      log(`    where the async cost goes (median of ${diagRuns.length} more runs, same pause, six kinds interleaved):`);
      printTable(log, d, [
        [{ none: '   no account', account: '2  account, async (real objects)' }, 'async'],
        [{ none: '   no account (stub Worker)', account: '   account, async, stub objects' }, 'stub'],
        [{ none: '   no account (off Worker)', account: '   account, history off' }, 'off'],
      ]);
      log(
        `       reading: "history off" adds the account field alone (parsed and validated, memory skipped); "stub objects" adds the isolate's whole async path ` +
          `(cache lookup, observation, the check queued for its background batch, judging the cached summary) with objects whose own work costs nothing; ` +
          `"real objects" minus "stub objects" is the objects' own work that still reaches the response (~0 expected: it runs after it)`,
      );
    }

    if (cold) {
      const stat = (row) => {
        const s = sorted(cold[row].us);
        return { p50: median(cold[row].us), min: s[0], p90: quantile(s, 0.9), max: s[s.length - 1], statuses: cold[row].statuses };
      };
      const paired = (a, b) => median(cold[a].us.map((x, i) => x - cold[b].us[i]));
      result.cold = {
        samples: coldSamples,
        rows: Object.fromEntries(Object.keys(cold).map((row) => [row, stat(row)])),
        syncNewAccountAddedUs: paired('sync:new-account', 'sync:warm-account'),
        syncNewAccountOrgAddedUs: paired('sync:new-account+org', 'sync:warm-account'),
        asyncNewAccountAddedUs: paired('async:new-account', 'async:warm-account'),
      };
      log(`    cold path (${coldSamples} samples, ${coldGapMs} ms apart, in this order: sync new account, sync warm, sync new account + new org, async new account, async warm):`);
      for (const [row, s] of Object.entries(result.cold.rows)) {
        log(`       ${row.padEnd(22)} median ${fmt(s.p50 / 1000, 2, 6)} ms  (min ${fmt(s.min / 1000, 2)}, p90 ${fmt(s.p90 / 1000, 2)}, max ${fmt(s.max / 1000, 2)})  memory ${statusText(s.statuses)}`);
      }
      log(
        `       first check of a new account, sync mode: +${fmt(result.cold.syncNewAccountAddedUs / 1000, 2)} ms over a warm account (median of paired differences); ` +
          `new account and new organisation: +${fmt(result.cold.syncNewAccountOrgAddedUs / 1000, 2)} ms; async mode, new account: +${fmt(result.cold.asyncNewAccountAddedUs / 1000, 2)} ms`,
      );
    }
    return result;
  } finally {
    await release();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMemoryBench();
}
