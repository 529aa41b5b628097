// Items of named lists as the CLI reads them (files, --add/--remove) and checks them locally before
// a write: the same rules the admin API applies per kind, so a typo fails here with its position.
import { isIsoCountry } from '../engine/countries';
import { isCidr } from '../engine/ip';

/** The kinds of named lists (the admin API's contract). */
export const LIST_KINDS = ['cidr', 'asn', 'account', 'org', 'org-owner'] as const;
/** A kind of named list. */
export type ListKind = (typeof LIST_KINDS)[number];

/** An org → ultimate owner country entry (kind org-owner). */
export interface OrgOwner {
  org: string;
  country: string;
}

/** One list item, as the API stores it. */
export type ListItem = string | number | OrgOwner;

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

/** What is wrong with one item for its kind, or undefined. */
export function itemProblem(kind: ListKind, item: unknown): string | undefined {
  switch (kind) {
    case 'cidr':
      return typeof item === 'string' && isCidr(item) ? undefined : 'not a CIDR block such as "192.0.2.0/24"';
    case 'asn':
      return typeof item === 'number' && Number.isInteger(item) && item >= 0 && item <= 4_294_967_295 ? undefined : 'not an ASN (a whole number, "AS" optional)';
    case 'account':
    case 'org':
      return typeof item === 'string' && item.length >= 1 && item.length <= 256 ? undefined : 'not an id of 1-256 characters';
    case 'org-owner': {
      if (typeof item !== 'object' || item === null) return 'not an org-owner entry: write "ORG=CC" or {"org": "...", "country": "CC"}';
      const { org, country } = item as Partial<OrgOwner>;
      if (typeof org !== 'string' || org.length < 1 || org.length > 256) return 'org must be an id of 1-256 characters';
      return typeof country === 'string' && isIsoCountry(country.toUpperCase()) ? undefined : 'country must be an ISO 3166-1 alpha-2 code';
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** Problems of a list of items, each prefixed with its position (`items[3]`). */
export function itemProblems(kind: ListKind, items: readonly unknown[], label = 'items'): string[] {
  const out: string[] = [];
  items.forEach((item, i) => {
    const problem = itemProblem(kind, item);
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
