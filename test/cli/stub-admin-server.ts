// A minimal in-memory admin API on 127.0.0.1 (ephemeral port) implementing the contract the CLI
// codes against: bearer token, ETags and preconditions (412/428), policy versions and rollback,
// named lists with PUT/PATCH. It records every request so tests can assert the headers sent.
// Not a geogate: it validates nothing but the preconditions and a "reject-me" policy version.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stub received. */
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

interface Version {
  version: string;
  etag: string;
  storedAt: string;
  storedBy: string;
  policy: unknown;
}

interface StoredList {
  name: string;
  kind: string;
  items: unknown[];
  description?: string;
  version: string;
  etag: string;
  storedAt: string;
  storedBy: string;
}

/** A running stub. */
export interface StubAdmin {
  url: string;
  token: string;
  requests: Recorded[];
  versions: Version[];
  current: Version | undefined;
  lists: Map<string, StoredList>;
  /** Called after each GET is answered: lets a test change state between a read and a write. */
  afterGet?: () => void;
  /** Stores a version directly (as another operator would), returning it. */
  store(policy: unknown): Version;
  close(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, body, headers });
const error = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) => json(status, { error: { code, message, ...extra } });

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Starts the stub on an ephemeral loopback port. */
export async function startStubAdmin(token = 'stub-admin-token-0123456789'): Promise<StubAdmin> {
  let seq = 0;
  const stamp = () => `2026-11-26T12:00:${String(seq).padStart(2, '0')}Z`;
  const stub: StubAdmin = {
    url: '',
    token,
    requests: [],
    versions: [],
    current: undefined,
    lists: new Map(),
    store(policy) {
      seq++;
      const v: Version = { version: `v${seq}`, etag: `etag-${seq}`, storedAt: stamp(), storedBy: 'cli-test', policy };
      stub.versions.unshift(v);
      stub.current = v;
      return v;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const meta = (v: Version) => ({ version: v.version, etag: v.etag, storedAt: v.storedAt, storedBy: v.storedBy });
  const precondition = (headers: Recorded['headers'], currentEtag: string | undefined) => {
    const ifMatch = headers['if-match'];
    const ifNoneMatch = headers['if-none-match'];
    if (ifMatch === undefined && ifNoneMatch === undefined) return error(428, 'PRECONDITION_REQUIRED', 'If-Match is required');
    if (ifNoneMatch === '*' && currentEtag !== undefined) return error(412, 'PRECONDITION_FAILED', 'it exists', { etag: currentEtag });
    if (ifMatch !== undefined && ifMatch !== `"${currentEtag ?? ''}"`) return error(412, 'PRECONDITION_FAILED', 'stale etag', { etag: currentEtag });
    return undefined;
  };

  const handle = (r: Recorded) => {
    if (r.headers.authorization !== `Bearer ${token}`) return error(401, 'UNAUTHORIZED', 'missing or wrong admin token');
    const url = new URL(r.path, 'http://stub');
    if (url.pathname === '/v1/policy' && r.method === 'GET') {
      if (!stub.current) return error(404, 'NOT_FOUND', 'no policy was ever pushed');
      return json(200, { policy: stub.current.policy, ...meta(stub.current) }, { etag: `"${stub.current.etag}"` });
    }
    if (url.pathname === '/v1/policy' && r.method === 'PUT') {
      const failed = precondition(r.headers, stub.current?.etag);
      if (failed) return failed;
      if ((r.body as { version?: unknown } | undefined)?.version === 'reject-me') {
        return error(400, 'INVALID_POLICY', 'the policy is invalid', { issues: [{ path: 'rules.0.lists.0', message: 'list "nope" does not exist' }] });
      }
      const v = stub.store(r.body);
      return json(200, { ...meta(v), warnings: [{ path: 'rules.0', message: 'stub warning' }] }, { etag: `"${v.etag}"` });
    }
    if (url.pathname === '/v1/policy/versions' && r.method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? '20');
      const start = Number(url.searchParams.get('cursor') ?? '0');
      const page = stub.versions.slice(start, start + limit);
      const next = start + limit < stub.versions.length ? String(start + limit) : undefined;
      return json(200, { versions: page.map((v) => ({ ...meta(v), current: v === stub.current })), ...(next ? { cursor: next } : {}) });
    }
    if (url.pathname === '/v1/policy/rollback' && r.method === 'POST') {
      const failed = precondition(r.headers, stub.current?.etag);
      if (failed) return failed;
      const target = stub.versions.find((v) => v.version === (r.body as { version?: unknown }).version);
      if (!target) return error(404, 'NOT_FOUND', 'no such version');
      stub.current = target;
      return json(200, { ...meta(target), warnings: [] }, { etag: `"${target.etag}"` });
    }
    const list = /^\/v1\/lists\/([^/]+)$/.exec(url.pathname);
    if (list?.[1]) {
      const name = decodeURIComponent(list[1]);
      const existing = stub.lists.get(name);
      const save = (kind: string, items: unknown[], description?: string) => {
        seq++;
        const l: StoredList = { name, kind, items, version: `l${seq}`, etag: `list-etag-${seq}`, storedAt: stamp(), storedBy: 'cli-test', ...(description ? { description } : {}) };
        stub.lists.set(name, l);
        return json(200, l, { etag: `"${l.etag}"` });
      };
      if (r.method === 'GET') return existing ? json(200, existing, { etag: `"${existing.etag}"` }) : error(404, 'NOT_FOUND', `no list ${name}`);
      if (r.method === 'PUT') {
        const failed = precondition(r.headers, existing?.etag);
        if (failed) return failed;
        const b = r.body as { kind: string; items: unknown[]; description?: string };
        return save(b.kind, b.items, b.description);
      }
      if (r.method === 'PATCH') {
        if (!existing) return error(404, 'NOT_FOUND', `no list ${name}`);
        if (r.headers['if-match'] !== undefined && r.headers['if-match'] !== `"${existing.etag}"`) return error(412, 'PRECONDITION_FAILED', 'stale etag', { etag: existing.etag });
        const b = r.body as { add?: unknown[]; remove?: unknown[] };
        const key = (x: unknown) => JSON.stringify(x);
        const removed = new Set((b.remove ?? []).map(key));
        const items = existing.items.filter((x) => !removed.has(key(x)));
        for (const x of b.add ?? []) if (!items.some((y) => key(y) === key(x))) items.push(x);
        return save(existing.kind, items, existing.description);
      }
    }
    return error(404, 'NOT_FOUND', 'unknown path');
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const recorded: Recorded = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: await readBody(req) };
      stub.requests.push(recorded);
      const answer = handle(recorded);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
      if (recorded.method === 'GET') stub.afterGet?.();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}
