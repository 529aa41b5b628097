// The admin API as tests call it (SELF.fetch in workerd): one request helper, and the read-then-
// write steps every write needs (the current ETag, or If-None-Match: * when nothing is stored).
import { SELF } from 'cloudflare:test';
import { encodeIntel } from '../src/engine/intel';
import { buildIntel } from '../src/intel/build';
import { sha256Hex } from '../src/policy/snapshot';
import { ADMIN_TOKEN } from './helpers';

/** The JSON error body. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

let counter = 0;
/** A label no other test uses (policy versions are stored once; list names are shared state). */
export const fresh = (label: string): string => `${label}-${Date.now().toString(36)}-${++counter}`;

/** Options of {@link adminFetch}. */
export interface AdminFetchOptions {
  method?: string;
  /** A value (sent as JSON) or a raw string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The bearer token; default the admin token, null for none. */
  token?: string | null;
}

/** One admin API request through the Worker. */
export function adminFetch(path: string, init: AdminFetchOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return SELF.fetch(`https://geogate.test${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
}

/** The precondition header a write of `path` needs now: If-Match with its ETag, or If-None-Match: *. */
export async function preconditionFor(path: string): Promise<Record<string, string>> {
  const res = await adminFetch(path);
  await res.body?.cancel();
  const etag = res.status === 404 ? null : res.headers.get('etag');
  return etag ? { 'if-match': etag } : { 'if-none-match': '*' };
}

/** The current policy ETag (as sent in If-Match), or undefined when none is stored. */
export async function currentEtag(): Promise<string | undefined> {
  return (await preconditionFor('/v1/policy'))['if-match'];
}

/** PUTs a policy over whatever is current. */
export async function push(doc: unknown): Promise<Response> {
  return adminFetch('/v1/policy', { method: 'PUT', body: doc, headers: await preconditionFor('/v1/policy') });
}

/** A network-intel artifact a test pushes: its version, its text and its id (the text's SHA-256). */
export interface TestIntel {
  readonly version: string;
  readonly text: string;
  readonly id: string;
}

/**
 * A small intel artifact of a version no other test uses (`fresh(label)`): AS64500 and the
 * `vpn` blocks (one list file's lines per entry) as VPN, AS64501 and 203.0.113.0/24 as datacenter.
 */
export async function testIntel(label: string, vpn: readonly string[] = ['198.51.100.0/24']): Promise<TestIntel> {
  const version = fresh(label);
  const built = buildIntel({
    version,
    source: { repository: 'test/intel', commit: 'abc1234', date: '2026-11-01', license: 'MIT' },
    asns: { vpn: 'AS64500 # Test VPN', datacenter: 'AS64501' },
    cidrs: { vpn: [...vpn], datacenter: ['203.0.113.0/24'] },
  });
  if (!built.ok) throw new Error(`test artifact does not build: ${JSON.stringify(built.problems)}`);
  const text = encodeIntel(built.intel);
  return { version, text, id: await sha256Hex(text) };
}

/**
 * PUTs an intel artifact's text (allowShrink: a test artifact covers far less than the bundled
 * intel) with `headers`, by default the precondition of whatever intel is current.
 */
export async function pushIntel(text: string, headers?: Record<string, string>): Promise<Response> {
  return adminFetch('/v1/intel?allowShrink=true', { method: 'PUT', body: text, headers: headers ?? (await preconditionFor('/v1/intel')) });
}
