// `geogate simulate`: replays an NDJSON file of check requests (or exported decision-log lines
// that carry the body in `request`) through simulate(), offline, and prints a summary table or
// the full report as JSON.
import { simulate, type SimulateReport, type SimulateResult } from '../../simulate/simulate';
import { printJson, type CliContext } from '../context';
import { ACTION_STYLE, percent, table } from '../format';
import { CliError, EXIT } from '../io';
import { DEFAULT_POLICY_NAME, loadPolicyFile, readTextFile } from '../policy-file';
import { parseInstant, readInstant } from './time';

/** Flags of `geogate simulate`. */
export interface SimulateCommandOptions {
  policy?: string;
  against?: string;
  json?: boolean;
  now?: string;
  failOnChange?: boolean;
  show: string;
}

/** Above this many requests, a progress line is drawn on stderr (when it is a terminal). */
export const PROGRESS_THRESHOLD = 2000;

/** One line of the input, read. */
interface InputLine {
  /** 1-based line number in the file. */
  line: number;
  request: unknown;
  /** The instant the log line was decided at, when it says. */
  at?: number;
  /** A label for tables: requestId, or a golden case's name. */
  label?: string;
}

/** Requests read from NDJSON, and the lines that are not JSON. */
export interface ReadRequests {
  lines: InputLine[];
  unreadable: { line: number; message: string }[];
}

/**
 * Reads NDJSON: one JSON value per line, blank lines skipped. A line that is an object with an
 * object `request` member is a decision-log line (or a golden case): the request is that member,
 * and its `evaluatedAt` (or `now`) is the instant it is replayed at unless --now is given. Any
 * other line is a check request itself (a check request cannot have a `request` field: the
 * schema is strict).
 */
export function readRequests(text: string): ReadRequests {
  const lines: InputLine[] = [];
  const unreadable: ReadRequests['unreadable'] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const source = raw[i]?.trim() ?? '';
    if (source === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (e) {
      unreadable.push({ line: i + 1, message: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    const wrapped = record && typeof record.request === 'object' && record.request !== null && !Array.isArray(record.request);
    const entry: InputLine = { line: i + 1, request: wrapped ? record.request : value };
    if (wrapped) {
      const at = readInstant(record.evaluatedAt) ?? readInstant(record.now);
      if (at !== undefined) entry.at = at;
    }
    const inner = (wrapped ? record.request : record) as Record<string, unknown> | undefined;
    const label = inner?.requestId ?? record?.requestId ?? record?.name;
    if (typeof label === 'string') entry.label = label;
    lines.push(entry);
  }
  return { lines, unreadable };
}

function codesOf(r: SimulateResult['current']): string {
  if (!r) return '';
  const standing = r.reasons.filter((x) => x.liftedBy === undefined);
  return standing.map((x) => (x.rule === 'score' ? x.code : `${x.code}(${x.rule})`)).join(' ');
}

/** Runs the simulation and prints it. Exit 0; 1 with --fail-on-change when a decision changes. */
export async function simulateCommand(ctx: CliContext, file: string, o: SimulateCommandOptions): Promise<number> {
  const show = Number(o.show);
  if (!Number.isInteger(show) || show < 0) throw new CliError(EXIT.USAGE, '--show must be a whole number');
  const fixedNow = o.now !== undefined ? parseInstant(o.now) : undefined;
  const policy = await loadPolicyFile(ctx.io, o.policy ?? DEFAULT_POLICY_NAME);
  const baseline = o.against !== undefined ? await loadPolicyFile(ctx.io, o.against) : undefined;
  const { lines, unreadable } = readRequests(await readTextFile(ctx.io, file));
  if (lines.length === 0 && unreadable.length === 0) throw new CliError(EXIT.INVALID, `${file} holds no requests`);

  const now = fixedNow ?? ctx.io.now();
  const drawProgress = ctx.io.stderr.isTTY && lines.length > PROGRESS_THRESHOLD;
  const report: SimulateReport = simulate({
    current: baseline?.compiled ?? policy.compiled,
    candidate: baseline ? policy.compiled : undefined,
    requests: lines.map((l) => l.request),
    now,
    instants: fixedNow === undefined ? lines.map((l) => l.at) : undefined,
    progressEvery: 500,
    onProgress: drawProgress
      ? (done, total) => ctx.io.stderr.write(`\rsimulating ${done}/${total} (${percent(done, total)})${done === total ? '\r\u001b[K' : ''}`)
      : undefined,
  });
  const exit = o.failOnChange && report.summary.changed > 0 ? EXIT.INVALID : EXIT.OK;

  if (o.json) {
    printJson(ctx, {
      file,
      now: new Date(now).toISOString(),
      summary: report.summary,
      results: report.results.map((r) => ({ line: lines[r.index]?.line, ...r })),
      unreadable,
    });
    return exit;
  }
  printSummary(ctx, file, report, lines, unreadable, { now, perLineInstants: fixedNow === undefined && lines.some((l) => l.at !== undefined), show });
  return exit;
}

function printSummary(
  ctx: CliContext,
  file: string,
  report: SimulateReport,
  lines: InputLine[],
  unreadable: ReadRequests['unreadable'],
  o: { now: number; perLineInstants: boolean; show: number },
): void {
  const { summary, results } = report;
  const p = ctx.paint;
  const when = o.perLineInstants ? `at each line's evaluatedAt (else ${new Date(o.now).toISOString()})` : `at ${new Date(o.now).toISOString()}`;
  ctx.out(`${p('bold', 'simulate')} ${summary.total} request${summary.total === 1 ? '' : 's'} from ${file}, ${when}`);
  const cand = summary.decisions.candidate;
  const valid = summary.total - summary.invalid;
  ctx.out(cand ? `current ${summary.policies.current} (--against) → candidate ${summary.policies.candidate ?? ''} (--policy)` : `policy ${summary.policies.current}`);
  ctx.out('');
  const rows: string[][] = [cand ? ['decision', 'current', '', 'candidate', ''] : ['decision', 'requests', '']];
  for (const action of ['allow', 'challenge', 'deny'] as const) {
    const cur = summary.decisions.current[action];
    const row = [p(ACTION_STYLE[action], action), String(cur), percent(cur, valid)];
    if (cand) row.push(String(cand[action]), percent(cand[action], valid));
    rows.push(row);
  }
  rows.push(['invalid', String(summary.invalid), percent(summary.invalid, summary.total)]);
  ctx.out(table(rows));

  if (cand) {
    ctx.out('');
    ctx.out(`changed: ${summary.changed} of ${valid} valid requests (${percent(summary.changed, valid)})`);
    const transitions = Object.entries(summary.transitions).sort((a, b) => b[1] - a[1]);
    if (transitions.length) {
      ctx.out(table([['from -> to', 'requests'], ...transitions.map(([k, n]) => [k, String(n)])]));
    }
    const reasons = Object.entries(summary.byReason).sort((a, b) => b[1].added + b[1].removed - (a[1].added + a[1].removed) || (a[0] < b[0] ? -1 : 1));
    if (reasons.length) {
      ctx.out('');
      ctx.out('reason codes that stand under one policy and not the other:');
      ctx.out(table([['code', 'added', 'removed'], ...reasons.map(([code, c]) => [code, String(c.added), String(c.removed)])]));
    }
    const changed = results.filter((r) => r.changed);
    if (changed.length && o.show > 0) {
      ctx.out('');
      ctx.out(`changed requests${changed.length > o.show ? ` (first ${o.show} of ${changed.length}; --show N for more)` : ''}:`);
      ctx.out(
        table(
          changed.slice(0, o.show).map((r) => {
            const l = lines[r.index];
            const from = r.current?.decision ?? 'allow';
            const to = r.candidate?.decision ?? 'allow';
            return [`line ${l?.line ?? '?'}`, l?.label ?? r.requestId ?? '', `${p(ACTION_STYLE[from], from)} -> ${p(ACTION_STYLE[to], to)}`, codesOf(r.candidate)];
          }),
        ),
      );
    }
  } else {
    const counts = new Map<string, number>();
    for (const r of results) for (const x of r.current?.reasons ?? []) if (x.liftedBy === undefined) counts.set(x.code, (counts.get(x.code) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    if (top.length) {
      ctx.out('');
      ctx.out('reason codes that stand (requests):');
      ctx.out(table([['code', 'requests'], ...top.map(([code, n]) => [code, String(n)])]));
    }
  }

  const invalid = results.filter((r) => r.error);
  if (invalid.length && o.show > 0) {
    ctx.out('');
    ctx.out(`invalid requests${invalid.length > o.show ? ` (first ${o.show} of ${invalid.length})` : ''}:`);
    for (const r of invalid.slice(0, o.show)) {
      const issues = r.error?.issues ?? [];
      ctx.out(`  line ${lines[r.index]?.line ?? '?'}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    }
  }
  if (unreadable.length) {
    ctx.err(`${ctx.paintErr('yellow', 'warning')} ${unreadable.length} line${unreadable.length === 1 ? ' is' : 's are'} not JSON and ${unreadable.length === 1 ? 'was' : 'were'} skipped:`);
    for (const u of unreadable.slice(0, Math.max(1, o.show))) ctx.err(`  line ${u.line}: ${u.message}`);
  }
}
