// Reading policy files for the CLI: the same size bounds, JSON parse and zod schema the Worker
// applies (parsePolicyText), with errors printed as zod's prettified issues and their JSON paths.
import * as z from 'zod';
import { compilePolicy, type CompiledPolicy } from '../engine/compile';
import { DEFAULT_POLICY_DOCUMENT, defaultPolicy } from '../policy/default';
import { isBuiltinList } from '../engine/lists';
import { listReferences, parsePolicyText, type PolicySpec } from '../policy/schema';
import { CliError, EXIT, type CliIo } from './io';

/** The name that stands for the built-in default policy (src/policy/default-policy.json). */
export const DEFAULT_POLICY_NAME = 'default';

/** A policy file that validated. */
export interface LoadedPolicy {
  /** The path given, or "default". */
  source: string;
  /** The file's text as read (what `policy push` sends). */
  text: string;
  spec: PolicySpec;
  /** Named lists the policy references: the server resolves them; offline commands cannot. */
  namedLists: readonly string[];
  /** The compiled policy; reading it fails (usage error) when the policy references named lists. */
  readonly compiled: CompiledPolicy;
}

/** Names of the named (not built-in) lists a policy references. */
function namedListsOf(spec: PolicySpec): string[] {
  const out = new Set<string>();
  for (const ref of listReferences(spec)) for (const name of ref.names) if (!isBuiltinList(name)) out.add(name);
  return [...out].sort();
}

function loaded(source: string, text: string, spec: PolicySpec, compiled?: CompiledPolicy): LoadedPolicy {
  const namedLists = namedListsOf(spec);
  let memo = compiled;
  return {
    source,
    text,
    spec,
    namedLists,
    get compiled() {
      if (namedLists.length > 0) {
        throw new CliError(
          EXIT.USAGE,
          `${source} references named lists (${namedLists.join(', ')}), which live on the server: offline commands cannot evaluate it. Use POST /v1/simulate, or a copy without them.`,
        );
      }
      memo ??= compilePolicy(spec);
      return memo;
    },
  };
}

/** A policy file that did not validate. */
export interface RejectedPolicy {
  source: string;
  /** Human-readable issues, one "✖ message\n  → at path" block each. */
  report: string;
  /** The same issues as data: the JSON path (`rules[0].countries[1]`, "" for the root) and message. */
  issues: { path: string; message: string }[];
  issueCount: number;
}

/** A zod issue path as JavaScript-style JSON path: rules[0].countries[1]. */
/** A JSON path as the CLI prints it: `rules[4].liftDeny[0]`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out;
}

/** Reads a file, turning a read failure into a usage error (exit 2). */
export async function readTextFile(io: CliIo, path: string): Promise<string> {
  try {
    return await io.readFile(path);
  } catch (e) {
    throw new CliError(EXIT.USAGE, `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** "line L, column C" for a JSON.parse message that names a position in `text`. */
function jsonPosition(text: string, message: string): string | undefined {
  const m = /position (\d+)/.exec(message);
  if (!m) return undefined;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/**
 * Validates a policy file (or "default") as the Worker would.
 * @returns the compiled policy, or the prettified issues
 */
export async function checkPolicyFile(io: CliIo, path: string): Promise<{ ok: true; policy: LoadedPolicy } | { ok: false; rejected: RejectedPolicy }> {
  if (path === DEFAULT_POLICY_NAME) {
    const compiled = defaultPolicy();
    return { ok: true, policy: loaded(path, JSON.stringify(DEFAULT_POLICY_DOCUMENT, null, 2), compiled.spec, compiled) };
  }
  const text = await readTextFile(io, path);
  // Named lists live on the server, which checks the references when the policy is pushed.
  const parsed = parsePolicyText(text, { lists: 'unchecked' });
  if (!parsed.ok) {
    let report = z.prettifyError(parsed.error);
    const notJson = parsed.error.issues.length === 1 && parsed.error.issues[0]?.message.startsWith('not valid JSON');
    const where = notJson ? jsonPosition(text, parsed.error.issues[0]?.message ?? '') : undefined;
    if (where) report += `\n  → at ${where}`;
    const issues = parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
    return { ok: false, rejected: { source: path, report, issues, issueCount: issues.length } };
  }
  return { ok: true, policy: loaded(path, text, parsed.policy) };
}

/** Loads a policy file or "default"; an invalid one ends the command with exit 1 and its issues. */
export async function loadPolicyFile(io: CliIo, path: string): Promise<LoadedPolicy> {
  const r = await checkPolicyFile(io, path);
  if (!r.ok) throw new CliError(EXIT.INVALID, `${path} is not a valid policy:\n${r.rejected.report}`);
  return r.policy;
}
