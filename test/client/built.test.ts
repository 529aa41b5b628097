// The file origins load: dist/lib/client.js (scripts/build-lib.mjs; the suite builds it before the
// tests). It must import nothing, and `geogate/client` must resolve to it and work in plain Node.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GeogateClient as BuiltClient, GeogateError as BuiltError } from 'geogate/client';
import { GeogateClient as SourceClient } from '../../client/client';
import { echoDecision, refusedUrl, startStub, type Stub } from './stub-server';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILT = `${ROOT}dist/lib/client.js`;

let stub: Stub;
beforeEach(async () => {
  stub = await startStub(echoDecision({ decision: 'deny' }));
});
afterEach(() => stub.close());

describe('dist/lib/client.js', () => {
  const source = readFileSync(BUILT, 'utf8');

  it('has no runtime dependency: no import, export-from or require of anything', () => {
    expect(source).not.toMatch(/^\s*import[\s{*"']/m);
    expect(source).not.toMatch(/\bimport\s*\(/);
    expect(source).not.toMatch(/\brequire\s*\(/);
    expect(source).not.toMatch(/^\s*export\s[^;]*\bfrom\s*["']/m);
  });

  it('uses no Node built-in or runtime-specific global', () => {
    expect(source).not.toMatch(/\bnode:|\bprocess\.|\bBuffer\b|\bDeno\.|\bBun\.|\bcloudflare:/);
  });

  it('is what `geogate/client` resolves to, and it decides', async () => {
    // Another module than the TypeScript source: the built file is the one under test.
    expect(BuiltClient).not.toBe(SourceClient);
    const geogate = new BuiltClient({ baseUrl: stub.url, token: 'check-token-for-tests-0123' });
    expect(await geogate.check({ geo: { country: 'CN' } })).toMatchObject({ source: 'geogate', decision: 'deny' });
    const down = new BuiltClient({ baseUrl: await refusedUrl(), token: 'check-token-for-tests-0123', retries: 0 });
    const result = await down.check({});
    expect(result.source === 'fail-mode' && result.error).toBeInstanceOf(BuiltError);
  });

  it('loads in plain Node through the package self-reference, outside vitest', async () => {
    const script = `
      import { GeogateClient } from 'geogate/client';
      const url = import.meta.resolve('geogate/client');
      const r = await new GeogateClient({ baseUrl: process.argv[1], token: 'check-token-for-tests-0123' }).check({ ip: '203.0.113.9' });
      console.log(JSON.stringify({ url, source: r.source, decision: r.decision }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, stub.url], { cwd: ROOT });
    const out = JSON.parse(stdout) as { url: string; source: string; decision: string };
    expect(out).toEqual({ url: new URL(BUILT, 'file://').href, source: 'geogate', decision: 'deny' });
  });
});
