// The policy's write side: one Durable Object (binding POLICY_ADMIN, one instance named
// "global") holds every policy version, every list version and the audit log in its SQLite
// storage, serialises admin writes, and publishes each change to KV as an immutable snapshot plus
// the `policy:active` pointer that isolates read.
//
// Why a Durable Object: KV is eventually consistent and allows one write per second per key, so
// it cannot decide which of two concurrent PUTs with the same ETag wins. The object can: its
// storage is strongly consistent and it runs one write at a time (a lock below, because awaiting
// KV lets other requests in), so exactly one wins and the other gets 412. KV stays the read path
// (fast at every edge); pointer writes are spaced at least 1 s apart.
// Documented in docs/storage-schema.md and docs/admin-api.md.
import { DurableObject } from 'cloudflare:workers';
import { bundledIntel, decodeIntel, INTEL_CATEGORIES, INTEL_SCHEMA, type CategoryCoverage, type IntelCategory, type IntelSource, type NetworkIntel } from '../engine/intel';
import { ACTIVE_INTEL_KEY, ACTIVE_POLICY_KEY, intelKey } from '../policy/keys';
import { readIntelPointer, type IntelPointer } from '../store/intel-store';
import { parseListDocument, patchList, type ListDocument, type ListItems } from '../policy/lists';
import { buildSnapshot, sha256Hex, snapshotKey, type BuildResult, type SnapshotIssue, type SnapshotPointer, type StoredList } from '../policy/snapshot';

/** An admin operation's failure, as the route turns it into an HTTP error. */
export interface AdminFailure {
  readonly ok: false;
  readonly status: 400 | 404 | 409 | 412 | 428 | 503;
  readonly code: AdminErrorCode;
  readonly message: string;
  readonly issues?: readonly SnapshotIssue[];
  /** With 412: the current ETag. */
  readonly etag?: string;
}

/** Error codes of the admin API. */
export type AdminErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_POLICY'
  | 'INVALID_LIST'
  | 'VERSION_EXISTS'
  | 'LIST_IN_USE'
  | 'PRECONDITION_FAILED'
  | 'PRECONDITION_REQUIRED'
  | 'OUT_OF_BAND_CHANGE'
  | 'INVALID_INTEL'
  | 'INTEL_SHRINKS'
  | 'INTEL_OLDER'
  | 'STORAGE_UNAVAILABLE';

/** An admin operation's outcome. */
export type AdminResult<T> = { readonly ok: true; readonly value: T } | AdminFailure;

/** The conditional headers of a write (RFC 9110 section 13.1). */
export interface Precondition {
  /** `If-Match`: the ETag the writer last read. */
  readonly ifMatch?: string | undefined;
  /** `If-None-Match: *`: create only (nothing stored yet). */
  readonly ifNoneMatch?: string | undefined;
}

/** `GET /v1/policy`. */
export interface PolicyView {
  readonly policy: unknown;
  readonly version: string;
  readonly etag: string;
  readonly storedAt: string;
  readonly storedBy: string;
  readonly snapshot: string | null;
}

/** What a policy or list write answers. */
export interface WriteView {
  readonly version: string;
  readonly etag: string;
  readonly storedAt: string;
  readonly storedBy: string;
  /** The snapshot now in `policy:active` (null when no policy is stored yet: lists alone publish nothing). */
  readonly snapshot: string | null;
  readonly warnings: readonly SnapshotIssue[];
}

/** `GET /v1/intel`, and what `PUT /v1/intel` answers: the network intel in `intel:active`. */
export interface IntelView {
  readonly version: string;
  /** The artifact's id (SHA-256 of its text); it is stored at `intel:<artifact>`. */
  readonly artifact: string;
  readonly etag: string;
  readonly storedAt: string;
  readonly storedBy: string;
  readonly source: IntelSource;
  readonly blocks: number;
  readonly intervals: number;
  readonly asns: number;
  /** What each category covers (its distinct IPv4 and IPv6 blocks, its ASNs); absent in views stored before it was recorded. */
  readonly coverage?: Readonly<Record<IntelCategory, CategoryCoverage>>;
  /** False when the artifact was already in force (nothing was written). */
  readonly changed: boolean;
}

/** One entry of `GET /v1/policy/versions`. */
export interface VersionEntry {
  readonly version: string;
  readonly sha256: string;
  readonly storedAt: string;
  readonly storedBy: string;
  readonly current: boolean;
}

/** `GET /v1/lists/{name}`. */
export type ListView = ListItems & {
  readonly name: string;
  readonly description?: string;
  readonly version: number;
  readonly etag: string;
  readonly storedAt: string;
  readonly storedBy: string;
};

/** One entry of `GET /v1/audit`. */
export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly who: string;
  readonly action: 'policy.put' | 'policy.rollback' | 'list.put' | 'list.patch' | 'list.delete' | 'intel.put' | 'account.reset' | 'org.reset' | 'account.clearances.revoke';
  readonly target: string;
  readonly previous: string | null;
  readonly next: string | null;
  readonly snapshot: string | null;
}

/** One page of a listing, newest first; `cursor` fetches the next. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor?: string;
}

/** The one instance's name. */
export const POLICY_ADMIN_NAME = 'global';

/** KV allows one write per second to a key: pointer writes are spaced by at least this. */
const POINTER_SPACING_MS = 1_050;

/** Characters per stored chunk: at most 1.5 MB of UTF-8, under SQLite's 2 MB per value in a Durable Object. */
const BLOB_CHUNK_CHARS = 500_000;

/** How many of its own pointer texts the store remembers, to tell them from hand-written values. */
const POINTER_HASHES_KEPT = 20;

const ETAG_POLICY_NONE = 'none';

const fail = (status: AdminFailure['status'], code: AdminErrorCode, message: string, extra: Partial<AdminFailure> = {}): AdminFailure => ({
  ok: false,
  status,
  code,
  message,
  ...extra,
});

/**
 * After a KV write that failed: whether `key` holds `text` anyway (the write landed and only its
 * acknowledgement was lost), or 'unknown' when KV cannot be read either.
 */
async function landedAs(kv: KVNamespace, key: string, text: string): Promise<boolean | 'unknown'> {
  try {
    return (await kv.get(key)) === text;
  } catch {
    return 'unknown';
  }
}

function policyEtag(rev: number): string {
  return rev === 0 ? ETAG_POLICY_NONE : `policy-${rev}`;
}

function listEtag(name: string, version: number): string {
  return `list-${name}-${version}`;
}

/** Whether a write's preconditions hold against the current ETag (`none`: nothing stored). */
function checkPrecondition(pre: Precondition, current: string): AdminFailure | undefined {
  if (pre.ifNoneMatch !== undefined) {
    if (pre.ifNoneMatch.trim() !== '*') return fail(400, 'PRECONDITION_FAILED', 'If-None-Match supports only "*" (create when nothing is stored).');
    return current === ETAG_POLICY_NONE ? undefined : fail(412, 'PRECONDITION_FAILED', 'Something is already stored here; send If-Match with its ETag.', { etag: current });
  }
  const tags = (pre.ifMatch ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tags.length === 0 || tags.includes('*')) {
    // "*" would match whatever is stored: the lost update the precondition exists to prevent.
    return fail(428, 'PRECONDITION_REQUIRED', `Send If-Match with the ETag you read (or If-None-Match: * to create), so that two writers cannot overwrite each other.`, { etag: current });
  }
  // Strong comparison (RFC 9110 13.1.1): a weak tag never matches.
  if (tags.some((t) => !t.startsWith('W/') && t.replace(/^"(.*)"$/, '$1') === current)) return undefined;
  return fail(412, 'PRECONDITION_FAILED', 'The stored value changed since you read it; read it again and retry.', { etag: current });
}

type PolicyRow = {
  seq: number;
  version: string;
  doc: string;
  sha256: string;
  stored_at: string;
  stored_by: string;
};

type ListRow = {
  name: string;
  version: number;
  kind: string;
  doc: string | null;
  stored_at: string;
  stored_by: string;
};

/** The admin store: policy and list versions, audit log, and publication to KV. */
export class PolicyAdmin extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  /** Admin writes, one at a time (awaiting KV opens the object to other requests). */
  #queue: Promise<unknown> = Promise.resolve();
  #lastPointerWrite = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS policy_versions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, version TEXT NOT NULL UNIQUE, doc TEXT NOT NULL,
        sha256 TEXT NOT NULL, stored_at TEXT NOT NULL, stored_by TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS list_versions (
        name TEXT NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL, doc TEXT,
        stored_at TEXT NOT NULL, stored_by TEXT NOT NULL, PRIMARY KEY (name, version));
      CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL, previous TEXT, next TEXT, snapshot TEXT);
      CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS blobs (id TEXT NOT NULL, part INTEGER NOT NULL, chunk TEXT NOT NULL, PRIMARY KEY (id, part));
    `);
  }

  // --- documents ------------------------------------------------------------------------------
  // A Durable Object's SQLite stores at most 2 MB per value; policies (4 MiB) and lists (8 MiB)
  // can be larger, so documents live in `blobs`, content-addressed, in chunks, and rows hold
  // `blob:<sha256>`. Blobs are written before anything refers to them, so a failed write leaves at
  // most an unreferenced blob, never a row without its document.

  /** Stores `text` (idempotent) and returns the reference rows keep. */
  async #putBlob(text: string): Promise<string> {
    const id = await sha256Hex(text);
    if (this.#sql.exec('SELECT 1 FROM blobs WHERE id = ? AND part = 0', id).toArray().length === 0) {
      this.ctx.storage.transactionSync(() => {
        for (let i = 0, part = 0; i === 0 || i < text.length; i += BLOB_CHUNK_CHARS, part++) {
          this.#sql.exec('INSERT INTO blobs (id, part, chunk) VALUES (?, ?, ?)', id, part, text.slice(i, i + BLOB_CHUNK_CHARS));
        }
      });
    }
    return `blob:${id}`;
  }

  /** The text a row's `doc` refers to. */
  #text(doc: string): string {
    if (!doc.startsWith('blob:')) return doc;
    return this.#sql
      .exec<{ chunk: string }>('SELECT chunk FROM blobs WHERE id = ? ORDER BY part', doc.slice(5))
      .toArray()
      .map((r) => r.chunk)
      .join('');
  }

  // --- state ---------------------------------------------------------------------------------

  #state(key: string): string | undefined {
    const row = this.#sql.exec<{ value: string }>('SELECT value FROM state WHERE key = ?', key).toArray()[0];
    return row?.value;
  }

  #setState(key: string, value: string): void {
    this.#sql.exec('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
  }

  /** Revision of the policy resource: +1 on every PUT or rollback (0: never written). */
  #policyRev(): number {
    return Number(this.#state('policy_rev') ?? 0);
  }

  #currentPolicy(): PolicyRow | undefined {
    const seq = this.#state('policy_seq');
    if (seq === undefined) return undefined;
    return this.#sql.exec<PolicyRow>('SELECT * FROM policy_versions WHERE seq = ?', Number(seq)).toArray()[0];
  }

  #currentList(name: string): ListRow | undefined {
    return this.#sql.exec<ListRow>('SELECT * FROM list_versions WHERE name = ? ORDER BY version DESC LIMIT 1', name).toArray()[0];
  }

  /** Every list that exists now (not deleted), at its latest version. */
  #currentLists(): Map<string, StoredList> {
    const rows = this.#sql
      .exec<ListRow>('SELECT l.* FROM list_versions l JOIN (SELECT name, MAX(version) AS v FROM list_versions GROUP BY name) m ON l.name = m.name AND l.version = m.v')
      .toArray();
    const out = new Map<string, StoredList>();
    for (const r of rows) if (r.doc !== null) out.set(r.name, { ...(JSON.parse(this.#text(r.doc)) as ListItems), version: r.version });
    return out;
  }

  #audit(at: string, who: string, action: AuditEntry['action'], target: string, previous: string | null, next: string | null, snapshot: string | null): void {
    this.#sql.exec('INSERT INTO audit (at, who, action, target, previous, next, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)', at, who, action, target, previous, next, snapshot);
  }

  /** Runs admin writes one at a time. */
  #serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Hashes of the last pointer texts this store wrote: anything else in `policy:active` was written by hand. */
  #pointerHashes(): string[] {
    return JSON.parse(this.#state('pointer_hashes') ?? '[]') as string[];
  }

  /**
   * Whether `policy:active` holds something this store did not write (an operator's hand-written
   * emergency policy, a deleted key) since it last published; undefined when the store never
   * published (a deployment moving under the admin API) or KV holds one of its own pointers.
   */
  async #outOfBand(): Promise<'changed' | 'unreadable' | undefined> {
    const known = this.#pointerHashes();
    if (known.length === 0) return undefined;
    let text: string | null;
    try {
      text = await this.env.POLICY.get(ACTIVE_POLICY_KEY);
    } catch {
      return 'unreadable';
    }
    if (text === null) return 'changed';
    return known.includes(await sha256Hex(text)) ? undefined : 'changed';
  }

  /**
   * Publishes a built snapshot: the artifact first (a new, immutable key), then the pointer, at
   * least POINTER_SPACING_MS after the previous one. Returns the pointer's hash to record.
   */
  async #publish(built: Extract<BuildResult, { ok: true }>, meta: { at: string; who: string; revision: number }): Promise<AdminResult<{ pointerHash: string }>> {
    const pointer: SnapshotPointer = {
      geogate: 'pointer',
      schema: 1,
      snapshot: built.id,
      policyVersion: built.spec.version,
      lists: built.lists,
      revision: meta.revision,
      storedAt: meta.at,
      storedBy: meta.who,
    };
    const text = JSON.stringify(pointer);
    const pointerHash = await sha256Hex(text);
    try {
      await this.env.POLICY.put(snapshotKey(built.id), built.text, { metadata: { sha256: built.id, policyVersion: built.spec.version, storedAt: meta.at } });
      const wait = this.#lastPointerWrite + POINTER_SPACING_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    } catch (e) {
      // Only a new, unreferenced snapshot key may have been written: nothing any isolate reads.
      console.error(`geogate: publishing snapshot ${built.id} failed: ${e instanceof Error ? e.message : String(e)}`);
      return fail(503, 'STORAGE_UNAVAILABLE', 'Policy storage (KV) did not accept the write; nothing changed. Retry.');
    }
    try {
      await this.env.POLICY.put(ACTIVE_POLICY_KEY, text, { metadata: { sha256: pointerHash, version: built.spec.version, storedAt: meta.at } });
    } catch (e) {
      console.error(`geogate: publishing the pointer to snapshot ${built.id} failed: ${e instanceof Error ? e.message : String(e)}`);
      // A write that failed may still have landed (its acknowledgement was lost): isolates would
      // then serve a policy this store says it never published, and its next write would find
      // "a value the admin API did not write" in policy:active. Read it back: if it landed, the
      // write succeeded.
      const landed = await landedAs(this.env.POLICY, ACTIVE_POLICY_KEY, text);
      if (landed === 'unknown') {
        // Recognised as this store's own should it have landed, so nothing later calls it out of band.
        this.ctx.storage.transactionSync(() => this.#setState('pointer_hashes', JSON.stringify([pointerHash, ...this.#pointerHashes()].slice(0, POINTER_HASHES_KEPT))));
        return fail(503, 'STORAGE_UNAVAILABLE', 'Policy storage (KV) did not confirm the write and could not be read back: the new policy may or may not be in force (GET /v1/policy shows the previous one). Retry.');
      }
      if (!landed) return fail(503, 'STORAGE_UNAVAILABLE', 'Policy storage (KV) did not accept the write; nothing changed. Retry.');
    }
    this.#lastPointerWrite = Date.now();
    return { ok: true, value: { pointerHash } };
  }

  /** Records the pointer just written (inside the write's transaction). */
  #recordPointer(hash: string, snapshot: string): void {
    this.#setState('pointer_hashes', JSON.stringify([hash, ...this.#pointerHashes()].slice(0, POINTER_HASHES_KEPT)));
    this.#setState('snapshot', snapshot);
  }

  /** Builds a policy's snapshot with `lists`; a failure is the 400 with every issue. */
  async #build(policy: unknown, lists: ReadonlyMap<string, StoredList>): Promise<Extract<BuildResult, { ok: true }> | AdminFailure> {
    const built = await buildSnapshot(policy, lists);
    return built.ok ? built : fail(400, 'INVALID_POLICY', 'The policy is invalid (nothing was stored).', { issues: built.issues });
  }

  /** The warning a policy write adds when it replaces a hand-written `policy:active`. */
  async #replacementWarning(): Promise<SnapshotIssue[]> {
    const oob = await this.#outOfBand();
    return oob === 'changed'
      ? [{ path: [], message: 'policy:active held a value the admin API did not write (written by hand?); this write replaced it' }]
      : [];
  }

  // --- policy ---------------------------------------------------------------------------------

  /** The current policy document as written, with its ETag. */
  getPolicy(): AdminResult<PolicyView> {
    const row = this.#currentPolicy();
    if (!row) return fail(404, 'NOT_FOUND', 'No policy was ever stored through the admin API.');
    return {
      ok: true,
      value: {
        policy: JSON.parse(this.#text(row.doc)),
        version: row.version,
        etag: policyEtag(this.#policyRev()),
        storedAt: row.stored_at,
        storedBy: row.stored_by,
        snapshot: this.#state('snapshot') ?? null,
      },
    };
  }

  /** Validates and compiles a policy against the stored lists; stores nothing. */
  async validatePolicy(policy: unknown): Promise<{ ok: boolean; issues: readonly SnapshotIssue[]; warnings: readonly SnapshotIssue[] }> {
    const built = await buildSnapshot(policy, this.#currentLists());
    return built.ok ? { ok: true, issues: [], warnings: built.warnings } : { ok: false, issues: built.issues, warnings: [] };
  }

  /** A candidate's snapshot text (for simulate), built against the stored lists; stores nothing. */
  async candidateSnapshot(policy: unknown): Promise<AdminResult<{ text: string; id: string }>> {
    const built = await buildSnapshot(policy, this.#currentLists());
    if (!built.ok) return fail(400, 'INVALID_POLICY', 'The candidate policy is invalid.', { issues: built.issues });
    return { ok: true, value: { text: built.text, id: built.id } };
  }

  /** Stores a new policy version and makes it current (If-Match of the current ETag). */
  putPolicy(policy: unknown, pre: Precondition, who: string): Promise<AdminResult<WriteView>> {
    return this.#serialised(async () => {
      const rev = this.#policyRev();
      const refused = checkPrecondition(pre, policyEtag(rev));
      if (refused) return refused;
      // Validation first: an invalid document is a 400 with every issue, whatever its version.
      const built = await this.#build(policy, this.#currentLists());
      if (!built.ok) return built;
      const version = built.spec.version;
      if (this.#sql.exec('SELECT 1 FROM policy_versions WHERE version = ?', version).toArray().length > 0) {
        return fail(409, 'VERSION_EXISTS', `Policy version "${version}" was stored before. Give the document a new version, or roll back to it (POST /v1/policy/rollback).`);
      }
      const doc = JSON.stringify(policy);
      const warnings = [...(await this.#replacementWarning()), ...built.warnings];
      const at = new Date().toISOString();
      // The document first (an unreferenced blob if what follows fails), then KV, then the rows.
      const ref = await this.#putBlob(doc);
      const published = await this.#publish(built, { at, who, revision: rev + 1 });
      if (!published.ok) return published;
      const sha = await sha256Hex(doc);
      const before = this.#currentPolicy();
      this.ctx.storage.transactionSync(() => {
        this.#sql.exec('INSERT INTO policy_versions (version, doc, sha256, stored_at, stored_by) VALUES (?, ?, ?, ?, ?)', version, ref, sha, at, who);
        const seq = this.#sql.exec<{ seq: number }>('SELECT seq FROM policy_versions WHERE version = ?', version).one().seq;
        this.#setState('policy_seq', String(seq));
        this.#setState('policy_rev', String(rev + 1));
        this.#recordPointer(published.value.pointerHash, built.id);
        this.#audit(at, who, 'policy.put', version, before?.version ?? null, version, built.id);
      });
      return { ok: true, value: { version, etag: policyEtag(rev + 1), storedAt: at, storedBy: who, snapshot: built.id, warnings } };
    });
  }

  /** Makes an earlier version current again (If-Match of the current ETag). */
  rollback(version: string, pre: Precondition, who: string): Promise<AdminResult<WriteView>> {
    return this.#serialised(async () => {
      const rev = this.#policyRev();
      const refused = checkPrecondition(pre, policyEtag(rev));
      if (refused) return refused;
      const row = this.#sql.exec<PolicyRow>('SELECT * FROM policy_versions WHERE version = ?', version).toArray()[0];
      if (!row) return fail(404, 'NOT_FOUND', `No stored policy version "${version}".`);
      const at = new Date().toISOString();
      // Validated again against today's lists: a list it names may have gone or changed kind.
      const built = await this.#build(JSON.parse(this.#text(row.doc)), this.#currentLists());
      if (!built.ok) return built;
      const warnings = [...(await this.#replacementWarning()), ...built.warnings];
      const published = await this.#publish(built, { at, who, revision: rev + 1 });
      if (!published.ok) return published;
      const before = this.#currentPolicy();
      this.ctx.storage.transactionSync(() => {
        this.#setState('policy_seq', String(row.seq));
        this.#setState('policy_rev', String(rev + 1));
        this.#recordPointer(published.value.pointerHash, built.id);
        this.#audit(at, who, 'policy.rollback', version, before?.version ?? null, version, built.id);
      });
      return { ok: true, value: { version, etag: policyEtag(rev + 1), storedAt: at, storedBy: who, snapshot: built.id, warnings } };
    });
  }

  /** Stored policy versions, newest first. */
  versions(limit: number, cursor?: string): Page<VersionEntry> {
    const current = Number(this.#state('policy_seq') ?? -1);
    const before = cursor !== undefined && /^\d+$/.test(cursor) ? Number(cursor) : Number.MAX_SAFE_INTEGER;
    const rows = this.#sql.exec<PolicyRow>('SELECT * FROM policy_versions WHERE seq < ? ORDER BY seq DESC LIMIT ?', before, limit + 1).toArray();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({ version: r.version, sha256: r.sha256, storedAt: r.stored_at, storedBy: r.stored_by, current: r.seq === current })),
      ...(rows.length > limit && last ? { cursor: String(last.seq) } : {}),
    };
  }

  // --- lists ----------------------------------------------------------------------------------

  #listView(name: string, row: ListRow): ListView | undefined {
    if (row.doc === null) return undefined;
    const doc = JSON.parse(this.#text(row.doc)) as ListDocument;
    return { ...doc, name, version: row.version, etag: listEtag(name, row.version), storedAt: row.stored_at, storedBy: row.stored_by };
  }

  /** A list at its current version. */
  getList(name: string): AdminResult<ListView> {
    const row = this.#currentList(name);
    const view = row && this.#listView(name, row);
    return view ? { ok: true, value: view } : fail(404, 'NOT_FOUND', `No list named "${name}".`);
  }

  /** Every list (without items). */
  listLists(): { name: string; kind: string; version: number; etag: string; size: number }[] {
    return [...this.#currentLists()].map(([name, l]) => ({ name, kind: l.kind, version: l.version, etag: listEtag(name, l.version), size: l.items.length }));
  }

  /**
   * Stores a new version of a list (`null`: deletes it) and, when a policy is current,
   * republishes its snapshot; a change the current policy cannot compile with is refused whole.
   */
  async #writeList(name: string, next: ListDocument | null, pre: Precondition | undefined, who: string, action: AuditEntry['action']): Promise<AdminResult<WriteView>> {
    const row = this.#currentList(name);
    const exists = row !== undefined && row.doc !== null;
    const currentEtag = exists ? listEtag(name, row.version) : ETAG_POLICY_NONE;
    if (pre) {
      const refused = checkPrecondition(pre, currentEtag);
      if (refused) return refused;
    }
    if (!exists && next === null) return fail(404, 'NOT_FOUND', `No list named "${name}".`);
    const version = (row?.version ?? 0) + 1;
    const lists = this.#currentLists();
    if (next === null) lists.delete(name);
    else lists.set(name, { ...next, version });
    const policy = this.#currentPolicy();
    const at = new Date().toISOString();
    let snapshot: string | null = this.#state('snapshot') ?? null;
    let warnings: readonly SnapshotIssue[] = [];
    let pointerHash: string | undefined;
    const policyDoc: unknown = policy ? JSON.parse(this.#text(policy.doc)) : undefined;
    const referenced = namesList(policyDoc, name);
    const ref = next === null ? null : await this.#putBlob(JSON.stringify(next));
    if (policy && referenced) {
      if (next === null) return fail(409, 'LIST_IN_USE', `The current policy (${policy.version}) references list "${name}"; remove the reference first.`);
      const built = await buildSnapshot(policyDoc, lists);
      if (!built.ok) return fail(400, 'INVALID_LIST', `The current policy (${policy.version}) cannot use this list.`, { issues: built.issues });
      // Republishing would silently replace a policy someone wrote by hand into policy:active.
      const oob = await this.#outOfBand();
      if (oob === 'unreadable') return fail(503, 'STORAGE_UNAVAILABLE', 'Policy storage (KV) could not be read; nothing changed. Retry.');
      if (oob === 'changed') {
        return fail(409, 'OUT_OF_BAND_CHANGE', `policy:active holds a value the admin API did not write (written by hand?). This list write would replace it; push the policy you want in force (PUT /v1/policy) first.`);
      }
      const published = await this.#publish(built, { at, who, revision: this.#policyRev() });
      if (!published.ok) return published;
      snapshot = built.id;
      warnings = built.warnings;
      pointerHash = published.value.pointerHash;
    }
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(
        'INSERT INTO list_versions (name, version, kind, doc, stored_at, stored_by) VALUES (?, ?, ?, ?, ?, ?)',
        name,
        version,
        next?.kind ?? row?.kind ?? 'deleted',
        ref,
        at,
        who,
      );
      if (pointerHash !== undefined && snapshot !== null) this.#recordPointer(pointerHash, snapshot);
      this.#audit(at, who, action, name, exists ? listEtag(name, row.version) : null, next === null ? null : listEtag(name, version), referenced ? snapshot : null);
    });
    return { ok: true, value: { version: String(version), etag: next === null ? ETAG_POLICY_NONE : listEtag(name, version), storedAt: at, storedBy: who, snapshot, warnings } };
  }

  /** Replaces (or creates) a list. */
  putList(name: string, body: unknown, pre: Precondition, who: string): Promise<AdminResult<WriteView>> {
    return this.#serialised(async () => {
      const parsed = parseListDocument(body);
      if (!parsed.ok) return fail(400, 'INVALID_LIST', 'The list is invalid.', { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) });
      return this.#writeList(name, parsed.list, pre, who, 'list.put');
    });
  }

  /** Adds and removes items; If-Match optional (a patch does not depend on what else the list holds). */
  patchList(name: string, body: unknown, pre: Precondition | undefined, who: string): Promise<AdminResult<WriteView>> {
    return this.#serialised(async () => {
      const row = this.#currentList(name);
      const current = row && this.#listView(name, row);
      if (!current) return fail(404, 'NOT_FOUND', `No list named "${name}"; create it with PUT.`);
      const patched = patchList(current, body);
      if (!patched.ok) return fail(400, 'INVALID_LIST', 'The patch is invalid.', { issues: patched.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) });
      return this.#writeList(name, patched.list, pre, who, 'list.patch');
    });
  }

  /** Deletes a list no current policy references. */
  deleteList(name: string, pre: Precondition | undefined, who: string): Promise<AdminResult<WriteView>> {
    return this.#serialised(() => this.#writeList(name, null, pre, who, 'list.delete'));
  }

  // --- network intel --------------------------------------------------------------------------
  // The intel is one content-addressed artifact in KV (`intel:<sha256>`) and a pointer
  // (`intel:active`) isolates read once per TTL. The store checks an artifact as isolates will
  // (it must decode with every check) before publishing it, and keeps the pointer it wrote in
  // `state` (`intel_pointer`, with its stats in `intel_view`) for GET and the ETag.

  #intelView(): Omit<IntelView, 'changed'> | undefined {
    const v = this.#state('intel_view');
    return v === undefined ? undefined : (JSON.parse(v) as Omit<IntelView, 'changed'>);
  }

  /** Whether KV still holds the pointer to artifact `id` and the artifact's exact text (unreadable: no). */
  async #intelIntact(id: string, text: string): Promise<boolean> {
    try {
      const [pointer, artifact] = await Promise.all([this.env.POLICY.get(ACTIVE_INTEL_KEY), this.env.POLICY.get(intelKey(id))]);
      return pointer !== null && readIntelPointer(pointer)?.artifact === id && artifact === text;
    } catch {
      return false;
    }
  }

  /** `GET /v1/intel`. */
  getIntel(): AdminResult<IntelView> {
    const v = this.#intelView();
    if (!v) return fail(404, 'NOT_FOUND', 'No intel was pushed: decisions use the intel bundled with the deployment (push one with `npm run intel:push`).');
    return { ok: true, value: { ...v, changed: false } };
  }

  /**
   * Publishes an intel artifact (its exact text) as `intel:active` (If-Match of the current ETag,
   * or If-None-Match: *). An artifact with less than half the blocks or ASNs of the intel in force
   * (the bundled copy when none was pushed) is refused unless `allowShrink`: a test artifact or a
   * truncated build pushed by mistake would silently stop detecting most networks.
   */
  putIntel(text: string, pre: Precondition, who: string, allow: { allowShrink?: boolean; allowOlder?: boolean } = {}): Promise<AdminResult<IntelView>> {
    const { allowShrink = false, allowOlder = false } = allow;
    return this.#serialised(async () => {
      const current = this.#intelView();
      const refused = checkPrecondition(pre, current?.etag ?? ETAG_POLICY_NONE);
      if (refused) return refused;
      const decoded = decodeIntel(text);
      if (!decoded.ok) return fail(400, 'INVALID_INTEL', `The intel artifact is refused: ${decoded.message}. Build it with \`npm run intel:build\`.`);
      const id = await sha256Hex(text);
      // The artifact in force, pushed again: nothing to do unless KV lost or garbled its copy (the
      // push an operator makes when /healthz says `corrupt`), which republishing repairs.
      if (current?.artifact === id && (await this.#intelIntact(id, text))) return { ok: true, value: { ...current, changed: false } };
      const intel = decoded.intel;
      if (current?.artifact !== id) {
        const refused = intelRegression(intel, current ?? viewOf(bundledIntel(), 'bundled', '', ''), { allowShrink, allowOlder });
        if (refused) return refused;
      }
      const at = new Date().toISOString();
      const pointer: IntelPointer = { geogate: 'intel-pointer', schema: INTEL_SCHEMA, artifact: id, version: intel.version, storedAt: at, storedBy: who };
      // The artifact first (a new, immutable key nothing reads yet), then the pointer that names it.
      try {
        await this.env.POLICY.put(intelKey(id), text);
      } catch {
        return fail(503, 'STORAGE_UNAVAILABLE', 'KV did not accept the intel artifact; the intel in force is unchanged. Retry.');
      }
      const pointerText = JSON.stringify(pointer);
      try {
        await this.env.POLICY.put(ACTIVE_INTEL_KEY, pointerText);
      } catch {
        // A write that failed may still have landed (its acknowledgement was lost): checks would
        // then use the new intel while GET /v1/intel named the old one. Read it back, as the
        // policy pointer is: if it landed, the write succeeded.
        const landed = await landedAs(this.env.POLICY, ACTIVE_INTEL_KEY, pointerText);
        if (landed === 'unknown') {
          return fail(503, 'STORAGE_UNAVAILABLE', 'KV did not confirm the intel pointer write and could not be read back: the new intel may or may not be in force (GET /v1/intel shows the previous one). Retry.');
        }
        if (!landed) return fail(503, 'STORAGE_UNAVAILABLE', 'KV did not accept the intel pointer; the intel in force is unchanged. Retry.');
      }
      const view = viewOf(intel, id, at, who);
      this.ctx.storage.transactionSync(() => {
        this.#setState('intel_view', JSON.stringify(view));
        this.#audit(at, who, 'intel.put', intel.version, current?.version ?? null, intel.version, id);
      });
      return { ok: true, value: { ...view, changed: true } };
    });
  }

  // --- audit ----------------------------------------------------------------------------------

  /** Records that an investigator reset an account's or organisation's memory (DELETE .../activity). */
  recordReset(kind: 'account' | 'org', id: string, who: string): void {
    this.#audit(new Date().toISOString(), who, kind === 'account' ? 'account.reset' : 'org.reset', id, null, null, null);
  }

  /** Records a revocation of an account's clearances in the audit log (before it happens). */
  recordRevocation(id: string, who: string): void {
    this.#audit(new Date().toISOString(), who, 'account.clearances.revoke', id, null, null, null);
  }

  /** The audit log, newest first. */
  audit(limit: number, cursor?: string): Page<AuditEntry> {
    const before = cursor !== undefined && /^\d+$/.test(cursor) ? Number(cursor) : Number.MAX_SAFE_INTEGER;
    const rows = this.#sql.exec<{ seq: number; at: string; who: string; action: AuditEntry['action']; target: string; previous: string | null; next: string | null; snapshot: string | null }>(
      'SELECT * FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?',
      before,
      limit + 1,
    ).toArray();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map((r) => ({ ...r })), ...(rows.length > limit && last ? { cursor: String(last.seq) } : {}) };
  }
}

/** The view of an intel as GET /v1/intel shows it. */
function viewOf(intel: NetworkIntel, artifact: string, storedAt: string, storedBy: string): Omit<IntelView, 'changed'> {
  const stats = intel.stats;
  return {
    version: intel.version,
    artifact,
    etag: `intel-${artifact.slice(0, 16)}`,
    storedAt,
    storedBy,
    source: intel.source,
    blocks: stats.blocks,
    intervals: stats.intervals,
    asns: stats.asns,
    coverage: intel.coverage(),
  };
}

/**
 * Why publishing `next` over the intel in force (`before`: the pushed one, else the bundled copy)
 * looks like a mistake, unless allowed: it covers less than half of what `before` covers in some
 * category and family, or in ASNs (a build whose VPN files came out empty, a test artifact), or it
 * comes from older upstream data (a stale checkout's `npm run intel:push`).
 */
function intelRegression(next: NetworkIntel, before: Omit<IntelView, 'changed'>, allow: { allowShrink: boolean; allowOlder: boolean }): AdminFailure | undefined {
  if (!allow.allowShrink && before.coverage === undefined) {
    // A view stored before coverage was recorded: judge on the totals it has.
    const after = next.stats;
    if (after.blocks * 2 < before.blocks || after.asns * 2 < before.asns) {
      return fail(409, 'INTEL_SHRINKS', `This intel lists ${after.blocks} blocks and ${after.asns} ASNs, less than half of the ${before.blocks} blocks or ${before.asns} ASNs of the intel in force (${before.version}). Nothing changed; send ?allowShrink=true (geogate intel push --allow-shrink) to publish it anyway.`);
    }
  } else if (!allow.allowShrink) {
    const after = next.coverage();
    for (const category of INTEL_CATEGORIES) {
      const was: Partial<CategoryCoverage> = before.coverage?.[category] ?? {};
      const now = after[category];
      for (const [what, label] of [['v4', 'IPv4 blocks'], ['v6', 'IPv6 blocks'], ['asns', 'ASNs']] as const) {
        const had = was[what] ?? 0;
        if (now[what] * 2 < had) {
          return fail(
            409,
            'INTEL_SHRINKS',
            `This intel lists ${now[what]} ${category} ${label}, less than half of the ${had} of the intel in force (${before.version}): a build from empty or cut lists, or a test artifact? Nothing changed; send ?allowShrink=true (geogate intel push --allow-shrink) to publish it anyway.`,
          );
        }
      }
    }
  }
  if (!allow.allowOlder && next.source.repository === before.source.repository && next.source.date < before.source.date) {
    return fail(
      409,
      'INTEL_OLDER',
      `This intel comes from ${next.source.repository} as of ${next.source.date}, older than the intel in force (${before.version}, ${before.source.date}): a stale checkout? Nothing changed; send ?allowOlder=true (geogate intel push --allow-older) to publish it anyway.`,
    );
  }
  return undefined;
}

/** Whether a stored policy document names list `name` (in a rule's or a network set's `lists`). */
function namesList(doc: unknown, name: string): boolean {
  const has = (x: unknown) => typeof x === 'object' && x !== null && Array.isArray((x as { lists?: unknown }).lists) && ((x as { lists: unknown[] }).lists).includes(name);
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as { rules?: unknown; network?: { vpn?: unknown; hosting?: unknown; categories?: unknown } };
  if (Array.isArray(d.rules) && d.rules.some(has)) return true;
  const n = d.network;
  if (typeof n !== 'object' || n === null) return false;
  const categories: unknown[] = typeof n.categories === 'object' && n.categories !== null ? Object.values(n.categories) : [];
  return [n.vpn, n.hosting, ...categories].some(has);
}
