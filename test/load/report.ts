// The load suite's report: a table on stdout and the JSON written to reports/load-summary.json,
// and the memory verdict (MEMORY_BOUND).
import { availableParallelism } from 'node:os';
import type { DriverResult, PhaseFigures } from './driver';
import { OUTCOMES, SURFACES } from './mix';
import type { OutputCounts } from './workerd';

/** One reading of workerd's RSS, `seconds` after the driver started. */
export interface MemorySample {
  readonly seconds: number;
  readonly phase: 'warmup' | 'measured' | 'end';
  readonly rssMiB: number;
  /** Its anonymous (heaps), file-backed and shared-memory parts. */
  readonly anonMiB: number;
  readonly fileMiB: number;
  readonly shmemMiB: number;
  /** Cross-request promise warnings workerd printed so far (when they come is a clue to why). */
  readonly crossRequest: number;
}

/** workerd's memory right after a full GC was forced in the isolates (heap.ts). */
export interface SettledSample {
  readonly seconds: number;
  /** `warm`: when the warm-up ended (under load); `measured`: during the load; `end`: after it. */
  readonly phase: 'warm' | 'measured' | 'end';
  readonly rssMiB: number;
  readonly anonMiB: number;
  readonly fileMiB: number;
  readonly shmemMiB: number;
  /** Each isolate's JS heap after the GC, by inspector target id (`core:user:geogate`...). */
  readonly heaps: Readonly<Record<string, { readonly usedMiB: number; readonly totalMiB: number }>>;
}

/**
 * How flat "flat" is, on the settled readings (after a forced GC), against the one taken when the
 * warm-up ended. Chosen from runs on a 2-core machine (60 s and 600 s, ~900 req/s): geogate's JS
 * heap stays at 8-9.5 MiB from the first reading to the last; workerd's settled RSS climbs ~20-40
 * MiB in the first minutes (the account and organisation memory objects filling up, their SQLite
 * pages included) and then stays within a ~25 MiB band (600 s: 217 MiB at 10 s, 220-262 MiB after,
 * 240 MiB after the load).
 * - After the load, each series is at most warm + max(absolute, share × warm).
 * - Over the last third of the readings, the least-squares line of each series rises by at most
 *   max(trendMiB, trendShare × warm). For the RSS only on runs of at least trendAfterSeconds of
 *   measured load: within the first minutes its climb is the objects filling up, not a leak.
 */
export const MEMORY_BOUND = {
  rss: { absoluteMiB: 64, share: 0.25, trendMiB: 16, trendShare: 0.08, trendAfterSeconds: 300 },
  heap: { absoluteMiB: 8, share: 0.25, trendMiB: 4, trendShare: 0.25, trendAfterSeconds: 0 },
} as const;

/** The isolate whose heap is bounded. */
export const GEOGATE_ISOLATE = 'core:user:geogate';

interface Series {
  readonly name: string;
  readonly of: (s: SettledSample) => number;
  readonly bound: (typeof MEMORY_BOUND)[keyof typeof MEMORY_BOUND];
}

const SERIES: readonly Series[] = [
  { name: 'workerd RSS', of: (s) => s.rssMiB, bound: MEMORY_BOUND.rss },
  { name: 'geogate JS heap', of: (s) => s.heaps[GEOGATE_ISOLATE]?.usedMiB ?? NaN, bound: MEMORY_BOUND.heap },
];

/** Whether the settled readings stay within MEMORY_BOUND; `problems` is empty when they do. */
export function memoryVerdict(settled: readonly SettledSample[]) {
  const warm = settled.find((s) => s.phase === 'warm');
  const end = settled.find((s) => s.phase === 'end');
  if (warm === undefined || end === undefined) return { series: [], problems: ['no settled reading when the warm-up ended or after the load'] };
  const tail = settled.slice(Math.floor((settled.length * 2) / 3));
  const span = tail.length > 1 ? (tail[tail.length - 1] as SettledSample).seconds - (tail[0] as SettledSample).seconds : 0;
  const measuredSeconds = end.seconds - warm.seconds;
  const problems: string[] = [];
  const series = SERIES.map(({ name, of, bound }) => {
    const w = of(warm);
    const e = of(end);
    const allowed = Math.max(bound.absoluteMiB, bound.share * w);
    const slope = slopeOf(tail.map((s) => [s.seconds, of(s)]));
    const trendAllowed = Math.max(bound.trendMiB, bound.trendShare * w);
    const trendChecked = tail.length >= 3 && measuredSeconds >= bound.trendAfterSeconds;
    if (!Number.isFinite(w) || !Number.isFinite(e)) problems.push(`${name}: no reading`);
    if (e > w + allowed) problems.push(`${name}: ${e.toFixed(1)} MiB after the load exceeds ${w.toFixed(1)} MiB at warm + ${allowed.toFixed(1)} MiB`);
    if (trendChecked && slope * span > trendAllowed) {
      problems.push(`${name}: the last third (${tail.length} settled readings over ${span.toFixed(0)} s) climbs ${(slope * span).toFixed(1)} MiB (${(slope * 60).toFixed(2)} MiB/min), more than ${trendAllowed.toFixed(1)} MiB`);
    }
    return { name, warmMiB: w, endMiB: e, growthMiB: e - w, allowedGrowthMiB: allowed, tailReadings: tail.length, tailSlopeMiBPerMin: slope * 60, tailRiseMiB: slope * span, tailRiseAllowedMiB: trendAllowed, trendChecked };
  });
  return { series, problems };
}

/** Least-squares slope of [x, y] points (0 for fewer than two). */
function slopeOf(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Everything the report is made of. */
export interface ReportInput {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly concurrency: number;
  readonly seed: number;
  readonly policyVersion: string;
  readonly driver: DriverResult;
  readonly memory: MemorySample[];
  readonly settled: SettledSample[];
  readonly workerdPids: number[];
  readonly output: OutputCounts | null;
  readonly outboundSeen: string[];
}

const round = (x: number) => Number(x.toFixed(2));
const pad = (s: string | number, n: number) => String(s).padStart(n);
const ms = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
const statuses = (r: Record<string, number>) =>
  Object.entries(r)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');

function phaseTotals(p: PhaseFigures) {
  const all: Record<string, number> = {};
  for (const s of SURFACES) for (const [k, v] of Object.entries(p.surfaces[s].statuses)) all[k] = (all[k] ?? 0) + v;
  return { requests: p.requests, seconds: p.seconds, rps: p.rps, statuses: all };
}

/** Prints the table; answers the JSON summary. */
export function printReport(r: ReportInput) {
  const m = r.driver.measured;
  const memory = memoryVerdict(r.settled);
  const lines: string[] = [];
  const log = (s = '') => lines.push(s);
  log();
  log(`geogate load: ${m.seconds.toFixed(1)} s measured after ${r.driver.warmup.seconds.toFixed(1)} s warm-up, ${r.concurrency} in flight, seed ${r.seed}, policy ${r.policyVersion}, ${availableParallelism()} CPUs`);
  log(`${'surface'.padEnd(10)} ${pad('requests', 9)} ${pad('req/s', 8)} ${pad('p50 ms', 8)} ${pad('p90 ms', 8)} ${pad('p99 ms', 8)} ${pad('max ms', 8)}  statuses`);
  for (const s of SURFACES) {
    const f = m.surfaces[s];
    const l = f.latencyMs;
    log(`${s.padEnd(10)} ${pad(f.requests, 9)} ${pad((f.requests / m.seconds).toFixed(0), 8)} ${pad(ms(l?.p50), 8)} ${pad(ms(l?.p90), 8)} ${pad(ms(l?.p99), 8)} ${pad(ms(l?.max), 8)}  ${statuses(f.statuses)}`);
  }
  const totals = phaseTotals(m);
  log(`${'total'.padEnd(10)} ${pad(totals.requests, 9)} ${pad(totals.rps.toFixed(0), 8)} ${''.padEnd(35)}  ${statuses(totals.statuses)}`);
  log(`outcomes verified (${OUTCOMES.join(' / ')}), with account, failed, connection errors:`);
  for (const s of SURFACES) {
    const f = m.surfaces[s];
    log(`  ${s.padEnd(10)} ${OUTCOMES.map((o) => f.outcomes[o]).join(' / ')}; account ${f.withAccount}; failed ${f.invalid}; connection errors ${f.connectionErrors}`);
  }
  const w = phaseTotals(r.driver.warmup);
  log(`warm-up: ${w.requests} requests (${w.rps.toFixed(0)} req/s), statuses ${statuses(w.statuses)}, failed ${SURFACES.reduce((a, s) => a + r.driver.warmup.surfaces[s].invalid, 0)}`);
  const perSecond = m.perSecond;
  if (perSecond.length > 0) log(`req/s per second: min ${Math.min(...perSecond)}, median ${[...perSecond].sort((a, b) => a - b)[Math.floor(perSecond.length / 2)]}, max ${Math.max(...perSecond)}`);
  log(`memory, settled (after a forced GC in every isolate; pids ${r.workerdPids.join(',')}):`);
  for (const x of memory.series) {
    log(
      `  ${x.name.padEnd(16)} warm ${x.warmMiB.toFixed(1)} MiB, after the load ${x.endMiB.toFixed(1)} MiB (${x.growthMiB >= 0 ? '+' : ''}${x.growthMiB.toFixed(1)}, allowed +${x.allowedGrowthMiB.toFixed(1)}); ` +
        `last third ${x.tailSlopeMiBPerMin.toFixed(2)} MiB/min (${x.tailRiseMiB.toFixed(1)} MiB over ${x.tailReadings} readings, ` +
        (x.trendChecked ? `allowed ${x.tailRiseAllowedMiB.toFixed(1)})` : `not checked: under ${MEMORY_BOUND.rss.trendAfterSeconds} s of load)`),
    );
  }
  const heapsOf = (s: SettledSample) => Object.entries(s.heaps).map(([id, h]) => `${id.replace('core:user:', '').replace('core:', '')} ${h.usedMiB.toFixed(1)}`).join(' ');
  log(`  readings (s: RSS MiB; JS heaps MiB): ${r.settled.map((s) => `${s.seconds.toFixed(0)}: ${s.rssMiB.toFixed(0)}; ${heapsOf(s)}`).join(' | ')}`);
  const step = Math.max(1, Math.ceil(r.memory.length / 12));
  log(
    `workerd RSS as it is, every second (s: MiB, of which anonymous/file/shared): ${r.memory
      .filter((_, i) => i % step === 0 || i === r.memory.length - 1)
      .map((s) => `${s.seconds.toFixed(0)}: ${s.rssMiB.toFixed(0)} (${s.anonMiB.toFixed(0)}/${s.fileMiB.toFixed(0)}/${s.shmemMiB.toFixed(0)})`)
      .join(', ')}`,
  );
  if (r.output) {
    const o = r.output;
    log(`workerd output: ${o.decisionLogs} decision log lines, ${o.crossRequest} cross-request promise warnings (must be 0), ${o.errors} error lines, ${o.other} other lines`);
    if (o.crossRequest > 0) {
      const per10: string[] = [];
      for (let i = 0, prev = 0; i < r.memory.length; i += 10) {
        const at = r.memory[Math.min(i + 9, r.memory.length - 1)] as MemorySample;
        per10.push(String(at.crossRequest - prev));
        prev = at.crossRequest;
      }
      log(`  cross-request warnings per 10 s: ${per10.join(' ')}`);
    }
    for (const line of [...o.examples.crossRequest.slice(0, 1), ...o.examples.errors.slice(0, 5), ...o.examples.other.slice(0, 5)]) log(`  ${line.slice(0, 400)}`);
  }
  if (r.outboundSeen.length > 0) log(`outbound requests attempted: ${r.outboundSeen.length} (${r.outboundSeen.slice(0, 3).join(', ')})`);
  for (const f of [...r.driver.warmup.failures, ...m.failures].slice(0, 10)) log(`FAILED ${f.surface} ${f.name}: ${f.why}`);
  for (const e of [...r.driver.warmup.connectionErrors, ...m.connectionErrors].slice(0, 10)) log(`CONNECTION ERROR ${e.surface} ${e.name}: ${e.message}`);
  for (const p of memory.problems) log(`MEMORY: ${p}`);
  console.log(lines.join('\n'));

  const surfaceJson = (p: PhaseFigures) =>
    Object.fromEntries(SURFACES.map((s) => [s, { ...p.surfaces[s], rps: p.surfaces[s].requests / p.seconds }]));
  return {
    config: { seconds: r.seconds, warmupSeconds: r.warmupSeconds, concurrency: r.concurrency, seed: r.seed, policyVersion: r.policyVersion, cpus: availableParallelism(), node: process.version },
    measured: { ...phaseTotals(m), surfaces: surfaceJson(m), perSecond: m.perSecond, failures: m.failures, connectionErrors: m.connectionErrors },
    warmup: { ...w, surfaces: surfaceJson(r.driver.warmup), failures: r.driver.warmup.failures, connectionErrors: r.driver.warmup.connectionErrors },
    memory: {
      bound: MEMORY_BOUND,
      ...memory,
      workerdPids: r.workerdPids,
      settled: r.settled,
      samples: r.memory.map((s) => ({ ...s, seconds: round(s.seconds), rssMiB: round(s.rssMiB), anonMiB: round(s.anonMiB), fileMiB: round(s.fileMiB), shmemMiB: round(s.shmemMiB) })),
    },
    workerd: r.output,
    outboundSeen: r.outboundSeen,
  };
}
