// Items of named lists as the CLI reads them (files, --add/--remove) and checks them locally before
// a write, with the admin API's own item schemas (src/policy/lists.ts), so a typo fails here with
// its position and nothing the server accepts is refused.
import { LIST_KINDS, type ListKind } from '../engine/lists';
import { listItemProblem, type OrgOwnerItem } from '../policy/lists';

export { LIST_KINDS, type ListKind };

/** One list item, as the API stores it. */
export type ListItem = string | number | OrgOwnerItem;

/** Whether a string names a list kind. */
export function isListKind(s: string): s is ListKind {
  return (LIST_KINDS as readonly string[]).includes(s);
}

/** Parses one item written as text: `AS13335` or `13335` (asn), `org-7=CN` (org-owner), else as is. */
export function itemFromText(kind: ListKind, text: string): ListItem {
  const t = text.trim();
  if (kind === 'asn' && /^(AS)?\d+$/i.test(t)) return Number(t.replace(/^AS/i, ''));
  if (kind === 'org-owner') {
    const m = /^(.+?)\s*[=,\s]\s*([A-Za-z]{2})$/.exec(t);
    if (m?.[1] && m[2]) return { org: m[1], country: m[2].toUpperCase() };
  }
  return t;
}

/** Problems of a list of items, each prefixed with its position (`items[3]`). */
export function itemProblems(kind: ListKind, items: readonly unknown[], label = 'items'): string[] {
  const out: string[] = [];
  items.forEach((item, i) => {
    const problem = listItemProblem(kind, item);
    if (problem) out.push(`${label}[${i}] ${JSON.stringify(item)}: ${problem}`);
  });
  return out;
}

/**
 * Items from a file: a JSON array, a JSON object with `items` (and optionally `kind`,
 * `description`), or text with one item per line (blank lines and `#` comments skipped).
 */
export function itemsFromFile(text: string, kind: ListKind | undefined): { items: unknown[]; kind?: string; description?: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const value: unknown = JSON.parse(trimmed);
    if (Array.isArray(value)) {
      const items: unknown[] = value;
      return { items: kind ? items.map((v) => (typeof v === 'string' ? itemFromText(kind, v) : v)) : items };
    }
    const o = value as { items?: unknown; kind?: unknown; description?: unknown };
    if (!Array.isArray(o.items)) throw new Error('a JSON list file must be an array or an object with an "items" array');
    return {
      items: o.items,
      ...(typeof o.kind === 'string' ? { kind: o.kind } : {}),
      ...(typeof o.description === 'string' ? { description: o.description } : {}),
    };
  }
  const lines = trimmed
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
  return { items: kind ? lines.map((l) => itemFromText(kind, l)) : lines };
}
