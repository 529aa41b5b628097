// `geogate policy validate FILE` and `geogate policy diff A B`: offline, with the Worker's schema.
import { table } from '../format';
import { EXIT } from '../io';
import { printJson, type CliContext } from '../context';
import { diffPolicies, type ValueChange } from '../policy-diff';
import { checkPolicyFile, jsonPath, loadPolicyFile } from '../policy-file';
import { policyWarnings } from '../../policy/warnings';

/** Options of `policy validate`. */
export interface ValidateOptions {
  json?: boolean;
}

/** Validates a policy file: exit 0 when valid (warnings allowed), 1 with every issue when not. */
export async function validateCommand(ctx: CliContext, file: string, options: ValidateOptions): Promise<number> {
  const r = await checkPolicyFile(ctx.io, file);
  if (!r.ok) {
    if (options.json) {
      printJson(ctx, { ok: false, file, issues: r.rejected.issues });
    } else {
      ctx.err(`${ctx.paintErr('red', 'invalid')} ${file}: ${r.rejected.issueCount} issue${r.rejected.issueCount === 1 ? '' : 's'}`);
      ctx.err(r.rejected.report);
    }
    return EXIT.INVALID;
  }
  const { spec } = r.policy;
  // Offline: the stored lists are not known here (see src/policy/warnings.ts).
  const warnings = policyWarnings(spec).map((w) => ({ path: jsonPath(w.path), message: w.message }));
  if (options.json) {
    printJson(ctx, { ok: true, file, version: spec.version, rules: spec.rules.length, warnings });
    return EXIT.OK;
  }
  ctx.out(`${ctx.paint('green', 'valid')} ${file}: policy "${spec.version}", ${spec.rules.length} rule${spec.rules.length === 1 ? '' : 's'}`);
  for (const w of warnings) ctx.out(`${ctx.paint('yellow', 'warning')} ${w.message}\n  → at ${w.path}`);
  return EXIT.OK;
}

const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
const MAX_MEMBERS_SHOWN = 20;

function members(values: unknown[]): string {
  const shown = values.slice(0, MAX_MEMBERS_SHOWN).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return values.length > MAX_MEMBERS_SHOWN ? `${shown.join(', ')} … (${values.length} in all)` : shown.join(', ');
}

function changeLines(ctx: CliContext, c: ValueChange, indent: string): string[] {
  const path = c.path || '(value)';
  if (c.kind === 'set') return [`${indent}${path}: ${ctx.paint('red', show(c.from))} → ${ctx.paint('green', show(c.to))}`];
  const lines: string[] = [];
  if (c.added.length) lines.push(`${indent}${path}: ${ctx.paint('green', `+ ${members(c.added)}`)}`);
  if (c.removed.length) lines.push(`${indent}${path}: ${ctx.paint('red', `- ${members(c.removed)}`)}`);
  return lines;
}

/** Options of `policy diff`. */
export interface DiffOptions {
  json?: boolean;
}

/** Prints what differs from policy A to policy B (exit 0 either way; 1 if either is invalid). */
export async function diffCommand(ctx: CliContext, fileA: string, fileB: string, options: DiffOptions): Promise<number> {
  const a = await loadPolicyFile(ctx.io, fileA);
  const b = await loadPolicyFile(ctx.io, fileB);
  const diff = diffPolicies(a.spec, b.spec);
  if (options.json) {
    printJson(ctx, { a: fileA, b: fileB, ...diff, rules: { ...diff.rules, added: diff.rules.added.map((r) => r.id), removed: diff.rules.removed.map((r) => r.id) } });
    return EXIT.OK;
  }
  ctx.out(`${ctx.paint('bold', 'policy diff')} ${fileA} (${a.spec.version}) → ${fileB} (${b.spec.version})`);
  if (diff.identical) {
    ctx.out('no differences (after defaults are applied)');
    return EXIT.OK;
  }
  const { added, removed, changed } = diff.rules;
  if (added.length + removed.length + changed.length > 0) {
    ctx.out('');
    ctx.out(`rules: ${added.length} added, ${removed.length} removed, ${changed.length} changed`);
    const rows: string[][] = [];
    for (const r of added) rows.push([ctx.paint('green', '+'), r.id, r.type, r.action]);
    for (const r of removed) rows.push([ctx.paint('red', '-'), r.id, r.type, r.action]);
    if (rows.length) ctx.out(table(rows));
    for (const c of changed) {
      ctx.out(`  ${ctx.paint('yellow', '~')} ${c.id}`);
      for (const ch of c.changes) for (const line of changeLines(ctx, ch, '      ')) ctx.out(line);
    }
  }
  if (diff.settings.length > 0) {
    ctx.out('');
    ctx.out(`settings: ${diff.settings.length} changed`);
    for (const ch of diff.settings) for (const line of changeLines(ctx, ch, '  ')) ctx.out(line);
  }
  return EXIT.OK;
}

