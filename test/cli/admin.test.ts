// The admin commands against a stub of the admin API on 127.0.0.1 (ephemeral port; nothing
// leaves loopback): preconditions on every write, errors mapped to exit codes (1 content
// rejected, 2 usage, 3 HTTP/network), and what the operator reads.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_DOCUMENT } from '../../src/policy/default';
import { runCli, type RunCliOptions } from './harness';
import { startStubAdmin, type StubAdmin } from './stub-admin-server';

const dir = mkdtempSync(join(tmpdir(), 'geogate-admin-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}
const DEFAULT_FILE = 'src/policy/default-policy.json';

let stub: StubAdmin;
beforeEach(async () => {
  stub = await startStubAdmin();
});
afterEach(async () => {
  await stub.close();
});

/** Runs the CLI against the stub with the token in GEOGATE_ADMIN_TOKEN and Node's fetch. */
function admin(argv: string[], options: RunCliOptions = {}) {
  return runCli([...argv, '--url', stub.url], { env: { GEOGATE_ADMIN_TOKEN: stub.token }, fetch: (u, i) => fetch(u, i), ...options });
}

describe('policy push', () => {
  it('validates locally, then pushes the first policy with If-None-Match: *', async () => {
    const r = await admin(['policy', 'push', DEFAULT_FILE]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^pushed .* as the first policy: version v1 \(etag etag-1\), stored 2026-11-26T12:00:01Z by cli-test\nwarning rules\.0: stub warning\n$/);
    const [get, put] = stub.requests;
    expect(get).toMatchObject({ method: 'GET', path: '/v1/policy' });
    expect(get?.headers.authorization).toBe(`Bearer ${stub.token}`);
    expect(put).toMatchObject({ method: 'PUT', path: '/v1/policy', body: DEFAULT_POLICY_DOCUMENT });
    expect(put?.headers['if-none-match']).toBe('*');
    expect(put?.headers['if-match']).toBeUndefined();
    expect(put?.headers['content-type']).toBe('application/json');
  });

  it('pushes over the current version with If-Match on its ETag', async () => {
    stub.store({ version: 'old' });
    const r = await admin(['policy', 'push', DEFAULT_FILE]);
    expect(r.code).toBe(0);
    expect(stub.requests[1]?.headers['if-match']).toBe('"etag-1"');
    expect(stub.current?.version).toBe('v2');
  });

  it('loses to a concurrent push with 412 and exit 3, overwriting nothing', async () => {
    stub.store({ version: 'old' });
    stub.afterGet = () => void stub.store({ version: 'someone-else' });
    const r = await admin(['policy', 'push', DEFAULT_FILE]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('PUT');
    expect(r.stderr).toContain('412 PRECONDITION_FAILED');
    expect(r.stderr).toContain('someone changed it since it was read');
    expect(stub.current?.policy).toEqual({ version: 'someone-else' });
  });

  it('never sends an invalid policy (exit 1, no request)', async () => {
    const r = await admin(['policy', 'push', file('bad.json', { version: 'x', rules: 'none' })]);
    expect(r.code).toBe(1);
    expect(stub.requests).toEqual([]);
  });

  it("the server's own rejection (400 INVALID_POLICY) lists its issues and exits 1", async () => {
    const doc = { ...DEFAULT_POLICY_DOCUMENT, version: 'reject-me' };
    const r = await admin(['policy', 'push', file('reject.json', doc)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('400 INVALID_POLICY: the policy is invalid\n  rules.0.lists.0: list "nope" does not exist');
  });

  it('a wrong token is 401 and exit 3; no token at all is a usage error', async () => {
    const wrong = await runCli(['policy', 'push', DEFAULT_FILE, '--url', stub.url], { env: { GEOGATE_ADMIN_TOKEN: 'nope' }, fetch: (u, i) => fetch(u, i) });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('401 UNAUTHORIZED');
    const none = await runCli(['policy', 'push', DEFAULT_FILE, '--url', stub.url], { fetch: (u, i) => fetch(u, i) });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no admin token: set GEOGATE_ADMIN_TOKEN');
  });

  it('--token-env names the variable holding the token', async () => {
    const r = await runCli(['policy', 'push', DEFAULT_FILE, '--url', stub.url, '--token-env', 'MY_TOKEN'], { env: { MY_TOKEN: stub.token }, fetch: (u, i) => fetch(u, i) });
    expect(r.code).toBe(0);
  });

  it('an unreachable server is exit 3', async () => {
    // A port that was free a moment ago: bind, read the port, close.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await runCli(['policy', 'versions', '--url', `http://127.0.0.1:${port}`], { env: { GEOGATE_ADMIN_TOKEN: 'x' }, fetch: (u, i) => fetch(u, i) });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach http://127.0.0.1:${port}/v1/policy/versions`);
  });
});

describe('policy versions and rollback', () => {
  it('lists versions newest first, marks the current one, and pages with --cursor', async () => {
    for (const v of ['a', 'b', 'c']) stub.store({ version: v });
    const r = await admin(['policy', 'versions', '--limit', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/version\s+stored at\s+by\s+etag/);
    expect(lines[1]).toMatch(/^\s+\*\s+v3\s+2026-11-26T12:00:03Z\s+cli-test\s+etag-3$/);
    expect(lines[2]).toMatch(/^\s+v2\s/);
    expect(lines[3]).toBe('more: geogate policy versions --cursor 2');
    expect(stub.requests[0]?.path).toBe('/v1/policy/versions?limit=2');
    const next = await admin(['policy', 'versions', '--cursor', '2', '--json']);
    expect(JSON.parse(next.stdout)).toMatchObject({ versions: [{ version: 'v1', current: false }] });
  });

  it('rolls back with If-Match on the current ETag', async () => {
    stub.store({ version: 'a' });
    stub.store({ version: 'b' });
    const r = await admin(['policy', 'rollback', 'v1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rolled back to v1: version v1 (etag etag-1)');
    const post = stub.requests[1];
    expect(post).toMatchObject({ method: 'POST', path: '/v1/policy/rollback', body: { version: 'v1' } });
    expect(post?.headers['if-match']).toBe('"etag-2"');
    expect(stub.current?.version).toBe('v1');
  });

  it('a version the server does not know is its 404, exit 3', async () => {
    stub.store({ version: 'a' });
    const r = await admin(['policy', 'rollback', 'v9']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('404 NOT_FOUND: no such version');
  });
});

describe('lists', () => {
  it('put creates a list from one item per line (If-None-Match: *), get prints it', async () => {
    const items = file('asns.txt', '# relays seen this week\nAS13335\n9009\n\n');
    const put = await admin(['lists', 'put', 'relays', items, '--kind', 'asn', '--description', 'new relays']);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('created list relays (asn, 2 items)');
    const req = stub.requests[1];
    expect(req).toMatchObject({ method: 'PUT', path: '/v1/lists/relays', body: { kind: 'asn', items: [13335, 9009], description: 'new relays' } });
    expect(req?.headers['if-none-match']).toBe('*');
    const get = await admin(['lists', 'get', 'relays']);
    expect(get.stdout).toBe('13335\n9009\n');
    expect(get.stderr).toMatch(/relays: asn, 2 items, version l\d+/);
  });

  it('put replaces with If-Match, and takes org-owner entries as ORG=CC or JSON', async () => {
    await admin(['lists', 'put', 'owners', file('owners.txt', 'org-7=cn\norg-9,IR\n'), '--kind', 'org-owner']);
    expect(stub.lists.get('owners')?.items).toEqual([{ org: 'org-7', country: 'CN' }, { org: 'org-9', country: 'IR' }]);
    const etag = stub.lists.get('owners')?.etag;
    const r = await admin(['lists', 'put', 'owners', file('owners.json', { kind: 'org-owner', items: [{ org: 'org-1', country: 'RU' }] })]);
    expect(r.code).toBe(0);
    expect(stub.requests.at(-1)?.headers['if-match']).toBe(`"${etag}"`);
    expect((await admin(['lists', 'get', 'owners'])).stdout).toBe('org-1=RU\n');
  });

  it('invalid items are refused locally with their position (exit 1); a missing --kind is a usage error', async () => {
    const bad = await admin(['lists', 'put', 'nets', file('nets.txt', '192.0.2.0/24\n10.0.0.300/8\n'), '--kind', 'cidr']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('items[1] "10.0.0.300/8": not an IP address or CIDR block such as "192.0.2.0/24" or "2001:db8::/32"');
    const noKind = await admin(['lists', 'put', 'nets', file('nets2.txt', '192.0.2.0/24\n')]);
    expect(noKind.code).toBe(2);
    expect(stub.requests).toEqual([]);
  });

  it('items the server accepts pass the local check (a single address in a cidr list)', async () => {
    const r = await admin(['lists', 'put', 'nets', file('nets3.txt', '198.51.100.7\n2001:db8::1\n'), '--kind', 'cidr']);
    expect(r.code, r.stderr).toBe(0);
    expect(stub.requests.at(-1)?.method).toBe('PUT');
  });

  it('patch reads the kind and ETag, then sends only the changes with If-Match', async () => {
    await admin(['lists', 'put', 'relays', file('a.txt', '13335\n9009\n'), '--kind', 'asn']);
    const etag = stub.lists.get('relays')?.etag;
    const r = await admin(['lists', 'patch', 'relays', '--add', 'AS64500,64501', '--remove', '9009']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('patched list relays (+2 -1)');
    const patch = stub.requests.at(-1);
    expect(patch).toMatchObject({ method: 'PATCH', body: { add: [64500, 64501], remove: [9009] } });
    expect(patch?.headers['if-match']).toBe(`"${etag}"`);
    expect(stub.lists.get('relays')?.items).toEqual([13335, 64500, 64501]);
  });

  it('patch of a list that does not exist is the server 404, exit 3; nothing to patch is a usage error', async () => {
    expect((await admin(['lists', 'patch', 'ghost', '--add', 'x'])).code).toBe(3);
    expect((await admin(['lists', 'patch', 'ghost'])).code).toBe(2);
  });
});
