// A structural diff of two validated policies (defaults applied, so an omitted default and the
// same value written out are equal): rules added, removed and changed by id, and every other
// setting by its path. Pure; `geogate policy diff` prints it.
import type { PolicySpec, RuleSpec } from '../policy/schema';

/** One changed value, at a dotted path. Lists of plain values report members added and removed. */
export type ValueChange =
  | { path: string; kind: 'set'; from: unknown; to: unknown }
  | { path: string; kind: 'members'; added: unknown[]; removed: unknown[] };

/** A rule present in both policies whose definition differs. */
export interface RuleChange {
  id: string;
  changes: ValueChange[];
}

/** What differs from policy A to policy B. */
export interface PolicyDiff {
  identical: boolean;
  rules: { added: RuleSpec[]; removed: RuleSpec[]; changed: RuleChange[] };
  /** Everything but `rules`. */
  settings: ValueChange[];
}

const isPlain = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function diffValues(a: unknown, b: unknown, path: string, out: ValueChange[]): void {
  if (Object.is(a, b)) return;
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) diffValues(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.every(isPlain) && b.every(isPlain)) {
    const setA = new Set(a);
    const setB = new Set(b);
    const added = b.filter((x) => !setA.has(x));
    const removed = a.filter((x) => !setB.has(x));
    if (added.length > 0 || removed.length > 0) out.push({ path, kind: 'members', added, removed });
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, kind: 'set', from: a, to: b });
}

/** Compares two validated policies. */
export function diffPolicies(a: PolicySpec, b: PolicySpec): PolicyDiff {
  const rulesA = new Map(a.rules.map((r) => [r.id, r]));
  const rulesB = new Map(b.rules.map((r) => [r.id, r]));
  const added = b.rules.filter((r) => !rulesA.has(r.id));
  const removed = a.rules.filter((r) => !rulesB.has(r.id));
  const changed: RuleChange[] = [];
  for (const ra of a.rules) {
    const rb = rulesB.get(ra.id);
    if (!rb) continue;
    const changes: ValueChange[] = [];
    diffValues(ra, rb, '', changes);
    if (changes.length > 0) changed.push({ id: ra.id, changes });
  }
  const { rules: _a, ...settingsA } = a;
  const { rules: _b, ...settingsB } = b;
  void _a;
  void _b;
  const settings: ValueChange[] = [];
  diffValues(settingsA, settingsB, '', settings);
  const identical = added.length === 0 && removed.length === 0 && changed.length === 0 && settings.length === 0;
  return { identical, rules: { added, removed, changed }, settings };
}
