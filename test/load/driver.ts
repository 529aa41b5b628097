// The load suite's client, run as a child process of the test (bundled by esbuild, see
// load.test.ts): a closed loop of `concurrency` requests in flight over keep-alive connections
// (undici Pools, one to geogate's socket and one to the caller Worker's), each request drawn from
// the mix (requests.ts) and every answer verified (verify.ts). It runs apart from the test process
// because that process also reads workerd's output (a decision log line per check) and samples
// /proc: on a 2-core machine their work would otherwise stall the loop and show as latency.
//
// Protocol (IPC): config as argv[2] (JSON); sends { type: 'tick', phase, seconds, requests } every
// second, { type: 'warm' } when the warm-up is over, then { type: 'done', result }; or
// { type: 'error', message }.
import { Pool } from 'undici';
import { SURFACES, OUTCOMES, prng, type Clearances, type Outcome, type Surface } from './mix';
import { nextRequest, type LoadRequest } from './requests';
import { verify } from './verify';

/** What the test passes. */
export interface DriverConfig {
  readonly geogateUrl: string;
  readonly callerUrl: string;
  readonly checkToken: string;
  readonly clearances: Clearances;
  readonly policyVersion: string;
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly seed: number;
}

/** Latency quantiles, ms. */
export interface Latency {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** One surface's figures for a phase. */
export interface SurfaceFigures {
  requests: number;
  /** HTTP status -> count (rpc: the caller Worker's status). */
  statuses: Record<string, number>;
  /** What was verified per expected outcome (answers that passed their checks). */
  outcomes: Record<Outcome, number>;
  /** Checks that named an account. */
  withAccount: number;
  /** Answers that failed verification. */
  invalid: number;
  /** Requests that got no answer (connection reset, refused, timeout). */
  connectionErrors: number;
  latencyMs?: Latency;
}

/** One phase (warm-up or measured). */
export interface PhaseFigures {
  readonly seconds: number;
  readonly requests: number;
  readonly rps: number;
  readonly surfaces: Record<Surface, SurfaceFigures>;
  /** The first answers that failed verification, and the first connection errors. */
  readonly failures: { surface: Surface; name: string; why: string }[];
  readonly connectionErrors: { surface: Surface; name: string; message: string }[];
  /** Requests completed in each second of the phase. */
  readonly perSecond: number[];
}

export interface DriverResult {
  readonly warmup: PhaseFigures;
  readonly measured: PhaseFigures;
}

/**
 * How long an idle connection is kept for reuse. workerd closes a keep-alive connection after ~5 s
 * of idleness without saying so in a Keep-Alive header; a client that reuses it just then gets
 * "other side closed". Closing first, as clients of any server with an idle timeout should, keeps
 * that race out of the connection-error count.
 */
const KEEP_ALIVE_MS = 2000;

/** Examples kept of each kind of failure. */
const KEEP = 20;

/** A growable buffer of latencies (ms). */
class Samples {
  private data = new Float64Array(1 << 16);
  private n = 0;
  push(x: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = x;
  }
  latency(): Latency | undefined {
    if (this.n === 0) return undefined;
    const s = this.data.slice(0, this.n).sort();
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
    return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] as number };
  }
}

const emptySurface = (): SurfaceFigures => ({
  requests: 0,
  statuses: {},
  outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
  withAccount: 0,
  invalid: 0,
  connectionErrors: 0,
});

const send = (msg: unknown): Promise<void> => new Promise((resolve) => (process.send ? process.send(msg, undefined, undefined, () => resolve()) : resolve()));

async function main(config: DriverConfig): Promise<DriverResult> {
  const options = { connections: config.concurrency, pipelining: 1, keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS, headersTimeout: 30_000, bodyTimeout: 30_000 };
  const pools = { geogate: new Pool(config.geogateUrl, options), caller: new Pool(config.callerUrl, options) };
  const random = prng(config.seed);
  const ctx = { checkToken: config.checkToken, clearances: config.clearances, random };
  const expectations = { policyVersion: config.policyVersion };

  const phase = async (name: 'warmup' | 'measured', seconds: number): Promise<PhaseFigures> => {
    const surfaces = Object.fromEntries(SURFACES.map((s) => [s, emptySurface()])) as Record<Surface, SurfaceFigures>;
    const latencies = Object.fromEntries(SURFACES.map((s) => [s, new Samples()])) as Record<Surface, Samples>;
    const failures: PhaseFigures['failures'] = [];
    const connectionErrors: PhaseFigures['connectionErrors'] = [];
    const perSecond: number[] = [];
    let done = 0;
    let lastTick = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const ticker = setInterval(() => {
      perSecond.push(done - lastTick);
      lastTick = done;
      void send({ type: 'tick', phase: name, seconds: perSecond.length, requests: done });
    }, 1000);

    const one = async (req: LoadRequest) => {
      const f = surfaces[req.surface];
      f.requests++;
      if (req.account) f.withAccount++;
      const t0 = performance.now();
      let status: number;
      let headers: Record<string, string | string[] | undefined>;
      let text: string;
      try {
        const res = await pools[req.target].request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
        text = await res.body.text();
        status = res.statusCode;
        headers = res.headers;
      } catch (err) {
        f.connectionErrors++;
        const e = err as { code?: string; message?: string };
        if (connectionErrors.length < KEEP) connectionErrors.push({ surface: req.surface, name: req.name, message: `${e.code ?? ''} ${e.message ?? String(err)}`.trim() });
        return;
      } finally {
        done++;
      }
      latencies[req.surface].push(performance.now() - t0);
      f.statuses[status] = (f.statuses[status] ?? 0) + 1;
      const v = verify(req.surface, req.outcome, req.reason, status, (h) => headers[h], text, expectations);
      if (v.ok) f.outcomes[req.outcome]++;
      else {
        f.invalid++;
        if (failures.length < KEEP) failures.push({ surface: req.surface, name: req.name, why: v.why });
      }
    };
    const loop = async () => {
      while (performance.now() < deadline) await one(nextRequest(ctx));
    };
    await Promise.all(Array.from({ length: config.concurrency }, loop));
    clearInterval(ticker);
    const elapsed = (performance.now() - started) / 1000;
    for (const s of SURFACES) {
      const l = latencies[s].latency();
      if (l !== undefined) surfaces[s].latencyMs = l;
    }
    return { seconds: elapsed, requests: done, rps: done / elapsed, surfaces, failures, connectionErrors, perSecond };
  };

  try {
    const warmup = await phase('warmup', config.warmupSeconds);
    await send({ type: 'warm' });
    const measured = await phase('measured', config.seconds);
    return { warmup, measured };
  } finally {
    await Promise.allSettled([pools.geogate.close(), pools.caller.close()]);
  }
}

const config = JSON.parse(process.argv[2] ?? '{}') as DriverConfig;
main(config).then(
  async (result) => {
    await send({ type: 'done', result });
    process.disconnect?.();
  },
  async (err: unknown) => {
    await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exitCode = 1;
    process.disconnect?.();
  },
);
