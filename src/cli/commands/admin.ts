// The commands that talk to a running geogate's admin API: policy push / versions / rollback and
// lists get / put / patch. Writes always carry a precondition (If-Match with the ETag just read,
// or If-None-Match: * when nothing exists yet), so two operators never overwrite each other
// silently: the loser gets 412 and exit 3.
import { AdminClient, DEFAULT_ADMIN_URL, DEFAULT_TOKEN_ENV } from '../admin-client';
import { printJson, type CliContext } from '../context';
import { table } from '../format';
import { CliError, EXIT } from '../io';
import { isListKind, itemFromText, itemProblems, itemsFromFile, LIST_KINDS, type ListKind } from '../list-items';
import { loadPolicyFile, readTextFile } from '../policy-file';

/** Flags every admin command takes. */
export interface AdminOptions {
  url?: string;
  tokenEnv?: string;
  json?: boolean;
}

/** The client for these flags: URL from --url, else GEOGATE_URL, else the local default. */
export function adminClient(ctx: CliContext, o: AdminOptions): AdminClient {
  const url = o.url ?? ctx.io.env.GEOGATE_URL ?? DEFAULT_ADMIN_URL;
  if (!/^https?:\/\/[^/]/.test(url)) throw new CliError(EXIT.USAGE, `--url must be an http(s) URL, got ${JSON.stringify(url)}`);
  const tokenEnv = o.tokenEnv ?? DEFAULT_TOKEN_ENV;
  const token = ctx.io.env[tokenEnv];
  if (!token) throw new CliError(EXIT.USAGE, `no admin token: set ${tokenEnv} (or name another variable with --token-env)`);
  return new AdminClient({ url, token, fetch: ctx.io.fetch });
}

interface StoredMeta {
  version?: string;
  etag?: string;
  storedAt?: string;
  storedBy?: string;
  warnings?: unknown[];
}

const quoted = (etag: string) => `"${etag}"`;

/** The precondition header for writing over what a GET found (404: nothing yet). */
function precondition(status: number, etag: string | undefined): Record<string, string> {
  if (status === 404) return { 'if-none-match': '*' };
  if (!etag) throw new CliError(EXIT.HTTP, 'the server sent no ETag for the current value: cannot write safely');
  return { 'if-match': quoted(etag) };
}

/** A warning of the API (`{ path, message }`), or whatever else it sent, as one line. */
function warningText(w: unknown): string {
  if (typeof w === 'string') return w;
  if (typeof w === 'object' && w !== null && 'message' in w) {
    const { path, message } = w as { path?: unknown; message: unknown };
    return `${typeof path === 'string' && path ? `${path}: ` : ''}${typeof message === 'string' ? message : JSON.stringify(message)}`;
  }
  return JSON.stringify(w);
}

function printStored(ctx: CliContext, what: string, meta: StoredMeta): void {
  ctx.out(`${ctx.paint('green', what)}: version ${meta.version ?? '?'} (etag ${meta.etag ?? '?'}), stored ${meta.storedAt ?? '?'} by ${meta.storedBy ?? '?'}`);
  for (const w of meta.warnings ?? []) ctx.out(`${ctx.paint('yellow', 'warning')} ${warningText(w)}`);
}

/** `policy push FILE`: validate locally, read the current ETag, PUT with If-Match. */
export async function pushCommand(ctx: CliContext, file: string, o: AdminOptions): Promise<number> {
  const policy = await loadPolicyFile(ctx.io, file);
  const client = adminClient(ctx, o);
  const current = await client.call<{ etag?: string; version?: string }>('GET', '/v1/policy', { accept: [404] });
  const etag = current.etag ?? current.body.etag;
  const res = await client.call<StoredMeta>('PUT', '/v1/policy', { body: policy.text, headers: precondition(current.status, etag) });
  if (o.json) printJson(ctx, res.body);
  else printStored(ctx, `pushed ${file} ("${policy.spec.version}")${current.status === 404 ? ' as the first policy' : ` over ${current.body.version ?? etag ?? '?'}`}`, res.body);
  return EXIT.OK;
}

interface VersionEntry {
  version: string;
  etag?: string;
  storedAt?: string;
  storedBy?: string;
  current?: boolean;
}

/** `policy versions`: newest first, one page (--cursor for the next). */
export async function versionsCommand(ctx: CliContext, o: AdminOptions & { limit?: string; cursor?: string }): Promise<number> {
  const params = new URLSearchParams();
  if (o.limit !== undefined) {
    if (!/^\d+$/.test(o.limit)) throw new CliError(EXIT.USAGE, '--limit must be a whole number');
    params.set('limit', o.limit);
  }
  if (o.cursor !== undefined) params.set('cursor', o.cursor);
  const query = params.size ? `?${params.toString()}` : '';
  const res = await adminClient(ctx, o).call<{ versions?: VersionEntry[]; cursor?: string }>('GET', `/v1/policy/versions${query}`);
  if (o.json) {
    printJson(ctx, res.body);
    return EXIT.OK;
  }
  const versions = res.body.versions ?? [];
  if (versions.length === 0) ctx.out('no versions stored');
  else {
    const rows = [['', 'version', 'stored at', 'by', 'etag']];
    for (const v of versions) rows.push([v.current ? ctx.paint('green', '*') : '', v.version, v.storedAt ?? '', v.storedBy ?? '', v.etag ?? '']);
    ctx.out(table(rows));
  }
  if (res.body.cursor) ctx.out(`more: geogate policy versions --cursor ${res.body.cursor}`);
  return EXIT.OK;
}

/** `policy rollback VERSION`: make an earlier version current (If-Match on the current one). */
export async function rollbackCommand(ctx: CliContext, version: string, o: AdminOptions): Promise<number> {
  const client = adminClient(ctx, o);
  const current = await client.call<{ etag?: string }>('GET', '/v1/policy');
  const etag = current.etag ?? current.body.etag;
  const res = await client.call<StoredMeta>('POST', '/v1/policy/rollback', { body: { version }, headers: precondition(current.status, etag) });
  if (o.json) printJson(ctx, res.body);
  else printStored(ctx, `rolled back to ${version}`, res.body);
  return EXIT.OK;
}

const listPath = (name: string) => {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) throw new CliError(EXIT.USAGE, `list name ${JSON.stringify(name)}: use 1-64 lower-case letters, digits, ".", "_" or "-"`);
  return `/v1/lists/${encodeURIComponent(name)}`;
};

interface StoredList extends StoredMeta {
  name?: string;
  kind?: string;
  items?: unknown[];
  description?: string;
}

function itemText(item: unknown): string {
  if (typeof item === 'string' || typeof item === 'number') return String(item);
  if (typeof item === 'object' && item !== null && 'org' in item) {
    const { org, country } = item as { org: unknown; country?: unknown };
    return `${String(org)}=${String(country)}`;
  }
  return JSON.stringify(item);
}

/** `lists get NAME`: the list's items, one per line (org-owner as ORG=CC). */
export async function listGetCommand(ctx: CliContext, name: string, o: AdminOptions): Promise<number> {
  const res = await adminClient(ctx, o).call<StoredList>('GET', listPath(name));
  if (o.json) {
    printJson(ctx, res.body);
    return EXIT.OK;
  }
  const items = res.body.items ?? [];
  ctx.err(ctx.paintErr('dim', `${res.body.name ?? name}: ${res.body.kind ?? '?'}, ${items.length} item${items.length === 1 ? '' : 's'}, version ${res.body.version ?? '?'} (etag ${res.etag ?? res.body.etag ?? '?'}), stored ${res.body.storedAt ?? '?'} by ${res.body.storedBy ?? '?'}`));
  for (const item of items) ctx.out(itemText(item));
  return EXIT.OK;
}

function requireKind(kind: string | undefined): ListKind {
  if (kind === undefined || !isListKind(kind)) throw new CliError(EXIT.USAGE, `--kind must be one of ${LIST_KINDS.join(', ')}${kind ? ` (got ${JSON.stringify(kind)})` : ''}`);
  return kind;
}

/** `lists put NAME FILE --kind KIND`: replace (or create) a list with the file's items. */
export async function listPutCommand(ctx: CliContext, name: string, file: string, o: AdminOptions & { kind?: string; description?: string }): Promise<number> {
  const path = listPath(name);
  const text = await readTextFile(ctx.io, file);
  let parsed: ReturnType<typeof itemsFromFile>;
  try {
    parsed = itemsFromFile(text, o.kind !== undefined && isListKind(o.kind) ? o.kind : undefined);
  } catch (e) {
    throw new CliError(EXIT.INVALID, `${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (o.kind !== undefined && parsed.kind !== undefined && o.kind !== parsed.kind) {
    throw new CliError(EXIT.USAGE, `--kind ${o.kind} contradicts the file's kind ${parsed.kind}`);
  }
  const kind = requireKind(o.kind ?? parsed.kind);
  const items = parsed.items.map((v) => (typeof v === 'string' ? itemFromText(kind, v) : v));
  const problems = itemProblems(kind, items);
  if (problems.length) throw new CliError(EXIT.INVALID, `${file} has ${problems.length} invalid item${problems.length === 1 ? '' : 's'} for kind ${kind}:\n  ${problems.slice(0, 20).join('\n  ')}`);
  const client = adminClient(ctx, o);
  const current = await client.call<StoredList>('GET', path, { accept: [404] });
  const description = o.description ?? parsed.description;
  const body = { kind, items, ...(description !== undefined ? { description } : {}) };
  const res = await client.call<StoredList>('PUT', path, { body, headers: precondition(current.status, current.etag ?? current.body.etag) });
  if (o.json) printJson(ctx, res.body);
  else printStored(ctx, `${current.status === 404 ? 'created' : 'replaced'} list ${name} (${kind}, ${items.length} items)`, res.body);
  return EXIT.OK;
}

const splitItems = (values: string[]) => values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');

/** `lists patch NAME --add a,b --remove c`: add and remove items without re-sending the list. */
export async function listPatchCommand(ctx: CliContext, name: string, o: AdminOptions & { add: string[]; remove: string[] }): Promise<number> {
  const path = listPath(name);
  const addText = splitItems(o.add);
  const removeText = splitItems(o.remove);
  if (addText.length === 0 && removeText.length === 0) throw new CliError(EXIT.USAGE, 'give --add and/or --remove');
  const client = adminClient(ctx, o);
  // Read first: the kind says how to parse the items, and the ETag guards the write.
  const current = await client.call<StoredList>('GET', path);
  const kind = requireKind(current.body.kind);
  const add = addText.map((t) => itemFromText(kind, t));
  const remove = removeText.map((t) => itemFromText(kind, t));
  const problems = [...itemProblems(kind, add, '--add'), ...itemProblems(kind, remove, '--remove')];
  if (problems.length) throw new CliError(EXIT.INVALID, `invalid items for kind ${kind}:\n  ${problems.join('\n  ')}`);
  const etag = current.etag ?? current.body.etag;
  const body = { ...(add.length ? { add } : {}), ...(remove.length ? { remove } : {}) };
  const res = await client.call<StoredList>('PATCH', path, { body, headers: etag ? { 'if-match': quoted(etag) } : {} });
  if (o.json) printJson(ctx, res.body);
  else printStored(ctx, `patched list ${name} (+${add.length} -${remove.length})`, res.body);
  return EXIT.OK;
}
