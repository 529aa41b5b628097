// What the load suite watches of the workerd process Miniflare spawns: its memory (from /proc,
// Linux only) and its output (every line of stdout and stderr, classified).
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** The processes below `root` (children, grandchildren...) whose command is `name`. */
export function descendantsNamed(name: string, root = process.pid): number[] {
  const children = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Exited while we looked.
    }
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (names.get(pid) === name) out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Resident memory of one process, bytes: the total (VmRSS) and its anonymous, file and shared-memory parts. */
export interface Rss {
  readonly total: number;
  readonly anon: number;
  readonly file: number;
  readonly shmem: number;
}

/** The resident memory of `pid` (/proc/<pid>/status), or undefined when it is gone. */
export function rssOf(pid: number): Rss | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const total = kb('VmRSS');
    return Number.isNaN(total) ? undefined : { total, anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return undefined;
  }
}

/** The summed resident memory of every workerd below this process, MiB; undefined when there is none. */
export function workerdRssMiB(): { rssMiB: number; anonMiB: number; fileMiB: number; shmemMiB: number } | undefined {
  const sizes = descendantsNamed('workerd').map(rssOf).filter((r): r is Rss => r !== undefined);
  if (sizes.length === 0) return undefined;
  const sum = (f: (r: Rss) => number) => sizes.reduce((a, r) => a + f(r), 0) / 2 ** 20;
  return { rssMiB: sum((r) => r.total), anonMiB: sum((r) => r.anon), fileMiB: sum((r) => r.file), shmemMiB: sum((r) => r.shmem) };
}

/**
 * workerd's warning when a promise created in one request's context is settled from another's.
 * workerd cancels the continuations it would have run, so background work may silently not happen.
 */
export const CROSS_REQUEST = 'promise was resolved or rejected from a different request context';

/** What workerd printed, by kind. */
export interface OutputCounts {
  /** Decision log lines (docs/decision-logs.md): expected, one per decision. */
  decisionLogs: number;
  /** Cross-request promise warnings ({@link CROSS_REQUEST}). */
  crossRequest: number;
  /** Lines that report an uncaught exception or an error. */
  errors: number;
  /** Any other line. */
  other: number;
  /** The first lines of each kind but decision logs (trimmed), with the stream they came on. */
  examples: { crossRequest: string[]; errors: string[]; other: string[] };
}

const EXAMPLES = 10;
const ERROR_LINE = /uncaught|unhandled|exception|\berror\b|internal error/i;

/** Reads both streams line by line until they end, counting; answers the live counts. */
export function watchOutput(stdout: Readable, stderr: Readable): OutputCounts {
  const counts: OutputCounts = { decisionLogs: 0, crossRequest: 0, errors: 0, other: 0, examples: { crossRequest: [], errors: [], other: [] } };
  const keep = (kind: 'crossRequest' | 'errors' | 'other', stream: string, line: string) => {
    counts[kind]++;
    if (counts.examples[kind].length < EXAMPLES) counts.examples[kind].push(`[${stream}] ${line.slice(0, 1000)}`);
  };
  for (const [name, stream] of [['stdout', stdout], ['stderr', stderr]] as const) {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      if (line.includes('"event":"geogate.decision"')) counts.decisionLogs++;
      else if (line.includes(CROSS_REQUEST)) keep('crossRequest', name, line);
      else if (ERROR_LINE.test(line)) keep('errors', name, line);
      else keep('other', name, line);
    });
  }
  return counts;
}
