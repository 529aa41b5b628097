// Snapshots: one policy and the versions of the named lists it references, validated and
// compiled once, at write time, into one immutable artifact an isolate loads with cheap checks.
//
// - Content-addressed: a snapshot's id is the SHA-256 of its text, so an isolate that reads
//   `snapshot:<id>` checks integrity by hashing what it read, and a snapshot never changes.
// - One consistent set: the artifact carries each list at one version, so a policy is never
//   evaluated with a mix of two versions of a list.
// - Cheap to load: CIDR lists are stored as their compiled range tables (base64 of 32-bit words),
//   rebuilt in O(n) with structural checks instead of parsing every block; the policy itself
//   (the bulk lives in lists) is re-validated, which costs little.
// Documented in docs/storage-schema.md.
import { compilePolicy, type CompiledPolicy } from '../engine/compile';
import { isIsoCountry } from '../engine/countries';
import { base64ToBytes, base64ToWords, bytesToBase64, wordsToBase64 } from '../engine/base64';
import { CidrSet, outerTablesOf, type CidrTables } from '../engine/ip';
import { LIST_KINDS, type ListKind, type ResolvedList } from '../engine/lists';
import type { PolicySpec } from '../engine/policy';
import { utf8Length } from './limits';
import type { ListItems } from './lists';
import { policyWarnings, type PolicyWarning } from './warnings';
import { listReferences, parsePolicy, PolicySchema, type ListCatalog } from './schema';

/** Version of the snapshot format; an isolate refuses another (a deploy and a write disagree). */
export const SNAPSHOT_SCHEMA = 1;

/** KV key of the snapshot with id `id`. */
export const snapshotKey = (id: string): string => `snapshot:${id}`;

/** Largest snapshot text an isolate reads, in UTF-8 bytes (KV values go up to 25 MiB). */
export const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024;

/** A named list at one version, as the admin store hands it to {@link buildSnapshot}. */
export type StoredList = ListItems & { readonly version: number };

/** A problem found while building or loading, with its JSON path. */
export interface SnapshotIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What {@link buildSnapshot} produces. */
export type BuildResult =
  | {
      readonly ok: true;
      /** The artifact's text, stored under `snapshot:<id>`. */
      readonly text: string;
      /** SHA-256 (hex) of `text`. */
      readonly id: string;
      readonly spec: PolicySpec;
      readonly compiled: CompiledPolicy;
      /** The version of each list the snapshot holds. */
      readonly lists: Readonly<Record<string, number>>;
      readonly warnings: readonly PolicyWarning[];
    }
  | { readonly ok: false; readonly issues: readonly SnapshotIssue[] };

/** What {@link decodeSnapshot} produces. */
/**
 * A decoded snapshot, or why not. `corrupt`: the text is not the one its id names (its SHA-256
 * differs): a torn or altered read, unlike a text that is the snapshot and is refused for good.
 */
export type DecodeResult = { readonly ok: true; readonly compiled: CompiledPolicy } | { readonly ok: false; readonly message: string; readonly corrupt?: true };

/** SHA-256 of a text, as lower-case hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

interface EncodedTable {
  starts: string;
  ends: string;
  bits: string;
}

const encodeTable = (x: CidrTables['v4']): EncodedTable => ({ starts: wordsToBase64(x.starts), ends: wordsToBase64(x.ends), bits: bytesToBase64(x.bits) });

const sameTable = (a: CidrTables['v4'], b: CidrTables['v4']) =>
  a.bits.length === b.bits.length && a.bits.every((x, i) => x === b.bits[i]) && a.starts.every((x, i) => x === b.starts[i]) && a.ends.every((x, i) => x === b.ends[i]);

/**
 * A CIDR list's tables. `v4` / `v6` hold the outermost blocks, sorted and aligned: the form the
 * code before nested blocks were flattened reads, so that a deployment rolled back still reads
 * the snapshot. When the list nests blocks, `lpm` adds the flattened tables (each address's
 * longest block), which this code prefers.
 */
function encodeTables(set: CidrSet, items: readonly string[] | undefined): { size: number; v4: EncodedTable; v6: EncodedTable; lpm?: { v4: EncodedTable; v6: EncodedTable } } {
  const lpm = set.toTables();
  const outer = (items && outerTablesOf(items)) ?? lpm;
  const nested = !sameTable(outer.v4, lpm.v4) || !sameTable(outer.v6, lpm.v6);
  return { size: lpm.size, v4: encodeTable(outer.v4), v6: encodeTable(outer.v6), ...(nested ? { lpm: { v4: encodeTable(lpm.v4), v6: encodeTable(lpm.v6) } } : {}) };
}

function decodeTables(value: unknown): CidrSet | undefined {
  if (!isRecord(value) || typeof value.size !== 'number') return undefined;
  const dec = (x: unknown): CidrTables['v4'] | undefined => {
    if (!isRecord(x)) return undefined;
    const starts = base64ToWords(x.starts);
    const ends = base64ToWords(x.ends);
    const bits = base64ToBytes(x.bits);
    return starts && ends && bits ? { starts, ends, bits } : undefined;
  };
  const v4 = dec(value.v4);
  const v6 = dec(value.v6);
  const outer = v4 && v6 ? CidrSet.fromTables({ size: value.size, v4, v6 }) : undefined;
  if (!outer || value.lpm === undefined) return outer;
  // Nested blocks: the flattened tables answer; the outer ones were checked all the same (both
  // are parts of one artifact: either malformed means the artifact is).
  if (!isRecord(value.lpm)) return undefined;
  const l4 = dec(value.lpm.v4);
  const l6 = dec(value.lpm.v6);
  return l4 && l6 ? CidrSet.fromTables({ size: value.size, v4: l4, v6: l6 }) : undefined;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

// --- lists ------------------------------------------------------------------------------------

/** A stored list, indexed for the engine. Items were validated when the list was written. */
function resolve(list: StoredList): ResolvedList {
  switch (list.kind) {
    case 'cidr':
      return { kind: 'cidr', version: list.version, set: CidrSet.from(list.items) };
    case 'asn':
      return { kind: 'asn', version: list.version, asns: list.items };
    case 'account':
    case 'org':
      return { kind: list.kind, version: list.version, ids: new Set(list.items) };
    case 'org-owner':
      return { kind: 'org-owner', version: list.version, owners: new Map(list.items.map((i) => [i.org, i.country])) };
    case 'user-agent':
    case 'device':
      return { kind: list.kind, version: list.version, patterns: list.items };
  }
}

/** A resolved list in the artifact's form. */
function encodeList(list: ResolvedList, stored: StoredList | undefined): Record<string, unknown> {
  switch (list.kind) {
    case 'cidr':
      return { kind: 'cidr', version: list.version, ...encodeTables(list.set, stored?.kind === 'cidr' ? stored.items : undefined) };
    case 'asn':
      return { kind: 'asn', version: list.version, asns: list.asns };
    case 'account':
    case 'org':
      return { kind: list.kind, version: list.version, ids: [...list.ids] };
    case 'org-owner':
      return { kind: 'org-owner', version: list.version, owners: [...list.owners] };
    case 'user-agent':
    case 'device':
      return { kind: list.kind, version: list.version, patterns: list.patterns };
  }
}

const isId = (x: unknown): x is string => typeof x === 'string' && x.length >= 1 && x.length <= 256;
const isAsn = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 4_294_967_295;

/** An artifact's list, checked item by item (cheap checks; CIDR tables structurally). */
function decodeList(value: unknown): ResolvedList | undefined {
  if (!isRecord(value) || !Number.isSafeInteger(value.version) || !(LIST_KINDS as readonly unknown[]).includes(value.kind)) return undefined;
  const version = value.version as number;
  const kind = value.kind as ListKind;
  switch (kind) {
    case 'cidr': {
      const set = decodeTables(value);
      return set && { kind, version, set };
    }
    case 'asn':
      return Array.isArray(value.asns) && value.asns.every(isAsn) ? { kind, version, asns: value.asns } : undefined;
    case 'account':
    case 'org':
      return Array.isArray(value.ids) && value.ids.every(isId) ? { kind, version, ids: new Set(value.ids) } : undefined;
    case 'org-owner': {
      const owners = value.owners;
      const ok = Array.isArray(owners) && owners.every((p) => Array.isArray(p) && p.length === 2 && isId(p[0]) && typeof p[1] === 'string' && isIsoCountry(p[1]));
      return ok ? { kind, version, owners: new Map(owners as [string, string][]) } : undefined;
    }
    case 'user-agent':
    case 'device':
      return Array.isArray(value.patterns) && value.patterns.every((p) => typeof p === 'string' && p.length >= 1 && p.length <= 512) ? { kind, version, patterns: value.patterns as string[] } : undefined;
  }
}

// --- build and decode -------------------------------------------------------------------------

/** The history settings a policy that says nothing of them gets. */
const DEFAULT_HISTORY_JSON = JSON.stringify(PolicySchema.shape.history.parse(undefined));

/** The challenge settings besides `kinds` that a policy saying nothing of them gets. */
const DEFAULT_CHALLENGE_REST_JSON = JSON.stringify({ ...PolicySchema.shape.challenge.parse(undefined), kinds: undefined });

/**
 * The policy as a snapshot stores it: the validated spec without the defaults that code before
 * them cannot read (an empty `network.categories`, default `history`, no `fingerprints`, default
 * `decisionLog`), so that a deployment rolled back to that code still reads a snapshot of a
 * policy that uses nothing new.
 */
function storedSpec(spec: PolicySpec): unknown {
  const out: Record<string, unknown> = { ...spec };
  if (Object.keys(spec.network.categories).length === 0) {
    const network: Partial<PolicySpec['network']> = { ...spec.network };
    delete network.categories;
    out.network = network;
  }
  if (JSON.stringify(spec.history) === DEFAULT_HISTORY_JSON) delete out.history;
  // A challenge section that only lists kinds is stored as before the clearance settings existed.
  const c = spec.challenge;
  if (JSON.stringify({ ...c, kinds: undefined }) === DEFAULT_CHALLENGE_REST_JSON) out.challenge = { kinds: c.kinds };
  const f = spec.fingerprints;
  if (f.userAgents.length === 0 && f.devices.length === 0 && f.lists.length === 0) delete out.fingerprints;
  const log = spec.decisionLog;
  if (log.sampleRate === 1 && log.mask.length === 0) delete out.decisionLog;
  return out;
}

/**
 * Validates a policy against the stored lists, compiles it with the lists it references, and
 * produces the artifact. Pure but for hashing; the admin store calls it on every write.
 */
export async function buildSnapshot(policy: unknown, stored: ReadonlyMap<string, StoredList>): Promise<BuildResult> {
  const catalog: ListCatalog = new Map([...stored].map(([name, l]) => [name, l.kind]));
  const parsed = parsePolicy(policy, { lists: catalog });
  if (!parsed.ok) return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })) };
  const spec = parsed.policy;
  const referenced = new Set<string>();
  for (const ref of listReferences(spec)) for (const name of ref.names) if (stored.has(name)) referenced.add(name);
  const resolved = new Map<string, ResolvedList>();
  for (const name of [...referenced].sort()) {
    const l = stored.get(name);
    if (l) resolved.set(name, resolve(l));
  }
  let compiled: CompiledPolicy;
  try {
    compiled = compilePolicy(spec, resolved);
  } catch (e) {
    return { ok: false, issues: [{ path: [], message: `the policy fails to compile: ${e instanceof Error ? e.message : String(e)}` }] };
  }
  const artifact = {
    geogate: 'snapshot',
    schema: SNAPSHOT_SCHEMA,
    policy: storedSpec(spec),
    lists: Object.fromEntries([...resolved].map(([name, l]) => [name, encodeList(l, stored.get(name))])),
  };
  const text = JSON.stringify(artifact);
  const bytes = utf8Length(text);
  if (bytes > MAX_SNAPSHOT_BYTES) {
    return { ok: false, issues: [{ path: [], message: `the policy with the lists it references would be a ${bytes}-byte snapshot, over the ${MAX_SNAPSHOT_BYTES} bytes an isolate loads` }] };
  }
  return {
    ok: true,
    text,
    id: await sha256Hex(text),
    spec,
    compiled,
    lists: compiled.lists,
    warnings: policyWarnings(spec, stored),
  };
}

/**
 * Loads an artifact read from `snapshot:<id>`: integrity (its SHA-256 must be `id`), format
 * version, each list's items and tables, then the policy against those lists; compiles it.
 */
export async function decodeSnapshot(text: string, id: string): Promise<DecodeResult> {
  if ((await sha256Hex(text)) !== id) return { ok: false, message: 'the snapshot does not match its id (corrupt or altered)', corrupt: true };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the snapshot is not valid JSON' };
  }
  if (!isRecord(value) || value.geogate !== 'snapshot') return { ok: false, message: 'not a geogate snapshot' };
  if (value.schema !== SNAPSHOT_SCHEMA) return { ok: false, message: `snapshot format ${String(value.schema)} is not ${SNAPSHOT_SCHEMA} (deploy the code that wrote it)` };
  if (!isRecord(value.lists)) return { ok: false, message: 'the snapshot has no lists table' };
  const lists = new Map<string, ResolvedList>();
  for (const [name, raw] of Object.entries(value.lists)) {
    const l = decodeList(raw);
    if (!l) return { ok: false, message: `list ${name} in the snapshot is malformed` };
    lists.set(name, l);
  }
  const parsed = parsePolicy(value.policy, { lists: new Map([...lists].map(([n, l]) => [n, l.kind])) });
  if (!parsed.ok) return { ok: false, message: `the snapshot's policy fails validation (${parsed.error.issues.length} issue(s))` };
  try {
    return { ok: true, compiled: compilePolicy(parsed.policy, lists) };
  } catch (e) {
    return { ok: false, message: `the snapshot's policy fails to compile: ${e instanceof Error ? e.message : String(e)}` };
  }
}

// --- the pointer ------------------------------------------------------------------------------

/** What `policy:active` holds once the admin API manages the policy: a pointer to one snapshot. */
export interface SnapshotPointer {
  readonly geogate: 'pointer';
  readonly schema: typeof SNAPSHOT_SCHEMA;
  /** The snapshot's id (SHA-256 of its text); the artifact lives at `snapshot:<id>`. */
  readonly snapshot: string;
  /** The policy's own `version`. */
  readonly policyVersion: string;
  /** The version of each named list in the snapshot. */
  readonly lists: Readonly<Record<string, number>>;
  /** Admin store revision that wrote this pointer (increases with every write). */
  readonly revision: number;
  readonly storedAt: string;
  readonly storedBy: string;
}

/** The pointer a text holds, undefined when it is something else (a policy document written by hand). */
export function readPointer(value: unknown): SnapshotPointer | 'malformed' | undefined {
  if (!isRecord(value) || value.geogate !== 'pointer') return undefined;
  const ok =
    value.schema === SNAPSHOT_SCHEMA &&
    typeof value.snapshot === 'string' &&
    /^[0-9a-f]{64}$/.test(value.snapshot) &&
    typeof value.policyVersion === 'string' &&
    isRecord(value.lists) &&
    Number.isSafeInteger(value.revision) &&
    typeof value.storedAt === 'string' &&
    typeof value.storedBy === 'string';
  return ok ? (value as unknown as SnapshotPointer) : 'malformed';
}
