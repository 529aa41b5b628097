// Named lists: the operator's large and fast-changing sets (IPs/CIDRs, ASNs, account ids, org
// ids, org -> owner country) that rules reference by name. Written through the admin API, each
// write a new immutable version; validated here by kind, normalised (canonical text, no
// duplicates, sorted) so that equal lists are equal texts and a PATCH removes what it names.
// Documented in docs/policy.md ("Named lists") and docs/storage-schema.md.
import * as z from 'zod';
import { isIsoCountry } from '../engine/countries';
import { isIpAddress, parseCidr } from '../engine/ip';
import { LIST_KINDS, type ListKind } from '../engine/lists';
import { utf8Length } from './limits';

/** Most items one list may hold. */
export const MAX_LIST_ITEMS = 150_000;

/** Largest list once normalised, in UTF-8 bytes of its JSON (the snapshot that carries it is bounded too). */
export const MAX_LIST_BYTES = 8 * 1024 * 1024;

/** One `org-owner` item: an organisation and the country of its ultimate parent. */
export interface OrgOwnerItem {
  org: string;
  country: string;
}

/** A list's items, by kind (normalised). */
export type ListItems =
  | { kind: 'cidr'; items: string[] }
  | { kind: 'asn'; items: number[] }
  | { kind: 'account' | 'org'; items: string[] }
  | { kind: 'org-owner'; items: OrgOwnerItem[] }
  | { kind: 'user-agent' | 'device'; items: string[] };

/** A list as stored: kind, items, and the operator's note. */
export type ListDocument = ListItems & { description?: string | undefined };

const id = z.string().min(1).max(256);
const asn = z.int().min(0).max(4_294_967_295);
/** A CIDR block, or a single address (read as /32 or /128). */
const cidrOrIp = z.string().max(64).refine((s) => isIpAddress(s) || parseCidr(s) !== undefined, {
  error: 'not an IP address or CIDR block such as "192.0.2.0/24" or "2001:db8::/32"',
});
const orgOwner = z.strictObject({
  org: id,
  country: z
    .string()
    .toUpperCase()
    .refine((c) => isIsoCountry(c), { error: 'not an ISO 3166-1 alpha-2 country code' }),
});

/** A relay fingerprint: an exact user agent or device id, or a prefix when it ends in `*`. */
const fingerprint = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => s !== '*', { error: 'a lone "*" would match everything' });

/** The items schema of each kind. */
const ITEM_SCHEMAS = {
  cidr: cidrOrIp,
  asn,
  account: id,
  org: id,
  'org-owner': orgOwner,
  'user-agent': fingerprint,
  device: fingerprint,
} as const satisfies Record<ListKind, z.ZodType>;

/**
 * What is wrong with one item for a list of `kind` (the message the admin API gives), or
 * undefined when the item is valid. The CLI checks items with it before a write.
 */
export function listItemProblem(kind: ListKind, item: unknown): string | undefined {
  const r = ITEM_SCHEMAS[kind].safeParse(item);
  return r.success ? undefined : r.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** The body of `PUT /v1/lists/{name}`. */
export const ListDocumentSchema = z.discriminatedUnion(
  'kind',
  LIST_KINDS.map((kind) =>
    z.strictObject({
      kind: z.literal(kind),
      items: z.array(ITEM_SCHEMAS[kind]).max(MAX_LIST_ITEMS),
      description: z.string().max(2000).optional(),
    }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

/** The body of `PATCH /v1/lists/{name}`: items to add and to remove (validated by the list's kind). */
export const ListPatchSchema = z
  .strictObject({ add: z.array(z.unknown()).max(MAX_LIST_ITEMS).default([]), remove: z.array(z.unknown()).max(MAX_LIST_ITEMS).default([]) })
  .refine((p) => p.add.length + p.remove.length > 0, { error: 'add or remove at least one item' });

/** A list body that validated, or zod's issues. */
export type ListParseResult = { ok: true; list: ListDocument } | { ok: false; error: z.ZodError };

/** The canonical text of a CIDR item: a bare address becomes its /32 or /128 block. */
function canonicalCidr(s: string): string {
  const block = parseCidr(isIpAddress(s) ? `${s}/${s.includes(':') ? 128 : 32}` : s);
  // Validated before; a miss here would be a bug, and the raw text keeps the list usable.
  return block?.text ?? s;
}

/** Items in canonical form, without duplicates, sorted (org-owner: one country per org, the last given). */
export function normaliseItems(list: ListItems): ListItems {
  switch (list.kind) {
    case 'cidr':
      return { kind: 'cidr', items: [...new Set(list.items.map(canonicalCidr))].sort() };
    case 'asn':
      return { kind: 'asn', items: [...new Set(list.items)].sort((a, b) => a - b) };
    case 'account':
    case 'org':
    case 'user-agent':
    case 'device':
      return { kind: list.kind, items: [...new Set(list.items)].sort() };
    case 'org-owner': {
      const byOrg = new Map<string, string>();
      for (const { org, country } of list.items) byOrg.set(org, country);
      return { kind: 'org-owner', items: [...byOrg].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([org, country]) => ({ org, country })) };
    }
  }
}

function rejected(message: string, path: (string | number)[] = []): ListParseResult {
  return { ok: false, error: new z.ZodError([{ code: 'custom', path, message, input: undefined }]) };
}

/** A normalised list within MAX_LIST_BYTES, or why not. */
function bounded(list: ListDocument): ListParseResult {
  const bytes = utf8Length(JSON.stringify(list));
  return bytes > MAX_LIST_BYTES ? rejected(`the list is ${bytes} bytes once normalised, over ${MAX_LIST_BYTES}`, ['items']) : { ok: true, list };
}

/** Runs zod on pathological input without letting it throw (a list of ~100k invalid items overflows its stack). */
function safely<T>(schema: z.ZodType<T>, value: unknown): { success: true; data: T } | { success: false; error: z.ZodError } {
  try {
    return schema.safeParse(value);
  } catch (e) {
    return { success: false, error: new z.ZodError([{ code: 'custom', path: [], message: `could not be validated (${e instanceof Error ? e.name : 'error'}); a list with very many invalid items does this`, input: undefined }]) };
  }
}

/** Validates and normalises a list body. */
export function parseListDocument(value: unknown): ListParseResult {
  const r = safely(ListDocumentSchema, value);
  if (!r.success) return { ok: false, error: r.error };
  const doc = r.data as ListDocument;
  return bounded({ ...normaliseItems(doc), ...(doc.description !== undefined ? { description: doc.description } : {}) });
}

/**
 * Applies a PATCH: validates its items by the list's kind, adds, then removes (an item both added
 * and removed ends up removed). Removing an item the list does not hold is not an error.
 */
export function patchList(list: ListDocument, patch: unknown): ListParseResult {
  const p = safely(ListPatchSchema, patch);
  if (!p.success) return { ok: false, error: p.error };
  const items = z.array(ITEM_SCHEMAS[list.kind]);
  const add = safely(items, p.data.add);
  const remove = safely(items, p.data.remove);
  if (!add.success || !remove.success) {
    const issues = [
      ...(add.success ? [] : add.error.issues.map((i) => ({ ...i, path: ['add', ...i.path] }))),
      ...(remove.success ? [] : remove.error.issues.map((i) => ({ ...i, path: ['remove', ...i.path] }))),
    ];
    return { ok: false, error: new z.ZodError(issues) };
  }
  const merged = normaliseItems({ kind: list.kind, items: [...list.items, ...add.data] } as ListItems);
  const drop = normaliseItems({ kind: list.kind, items: remove.data } as ListItems);
  const key = (item: unknown) => (typeof item === 'object' && item !== null && 'org' in item ? String(item.org) : String(item));
  const gone = new Set((drop.items as unknown[]).map(key));
  const kept = (merged.items as unknown[]).filter((item) => !gone.has(key(item)));
  if (kept.length > MAX_LIST_ITEMS) return rejected(`the list would hold more than ${MAX_LIST_ITEMS} items`, ['add']);
  return bounded({ ...({ kind: list.kind, items: kept } as ListItems), ...(list.description !== undefined ? { description: list.description } : {}) });
}
