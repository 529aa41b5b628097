// The README's "Integrate" section shows one short example per way in. Each example is a region
// (`#region readme` … `#endregion`) of a file that runs here or in another suite, and this test
// checks that the README shows exactly those lines: an example that stops working fails a test,
// and an edited README that no longer matches the tested code fails this one.
import { env, SELF } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import readme from '../../README.md?raw';
import honoApp from '../../examples/integrate/hono-app';
import honoSource from '../../examples/integrate/hono-app.ts?raw';
import { makeGate } from '../../examples/integrate/node-client';
import clientSource from '../../examples/integrate/node-client.ts?raw';
import workerRpc from '../../examples/integrate/worker-rpc';
import workerRpcSource from '../../examples/integrate/worker-rpc.ts?raw';
import pageSource from '../../examples/workers-origin/src/page.ts?raw';
import { CHECK_TOKEN, resetPolicyState } from '../helpers';

/** The lines between `#region readme` and `#endregion`, without their common indentation. */
function region(source: string): string {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => l.includes('#region readme'));
  const end = lines.findIndex((l, i) => i > start && l.includes('#endregion'));
  expect(start, 'the file marks a readme region').toBeGreaterThanOrEqual(0);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return body.map((l) => l.slice(indent)).join('\n');
}

/** The README's "Integrate" section. */
const integrate = readme.slice(readme.indexOf('## Integrate'), readme.indexOf('\n## ', readme.indexOf('## Integrate') + 1));

const bound = { GEOGATE: (env as unknown as { GEOGATE: Service }).GEOGATE };

describe('the README shows the tested examples', () => {
  it.each([
    ['examples/integrate/worker-rpc.ts', workerRpcSource],
    ['examples/integrate/hono-app.ts', honoSource],
    ['examples/integrate/node-client.ts', clientSource],
    // Run in headless Chromium through wrangler dev by test/browser/browser-snippet.test.ts.
    ['examples/workers-origin/src/page.ts', pageSource],
  ])('%s', (_file, source) => {
    expect(integrate.length).toBeGreaterThan(0);
    expect(integrate).toContain(region(source));
  });

  it('points at the proxy configurations the proxy suite runs as shipped (test/proxies/)', () => {
    expect(integrate).toContain('examples/caddy/Caddyfile');
    expect(integrate).toContain('examples/nginx/geogate.conf');
  });
});

describe('the examples work', () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    await resetPolicyState();
  });

  const user = (cf: Record<string, unknown>, headers: Record<string, string> = {}) =>
    new Request('https://origin.example/api/hello', { headers: { 'cf-connecting-ip': '203.0.113.7', ...headers }, cf });

  it('worker-rpc: a US user gets the page, a CN user and a Shanghai clock do not', async () => {
    const env = bound as unknown as Parameters<typeof workerRpc.fetch>[1];
    expect((await workerRpc.fetch(user({ country: 'US', timezone: 'America/New_York' }), env)).status).toBe(200);
    expect((await workerRpc.fetch(user({ country: 'CN', timezone: 'Asia/Shanghai' }), env)).status).toBe(403);
    const tz = await workerRpc.fetch(user({ country: 'US', timezone: 'America/New_York' }, { 'geogate-client-timezone': 'Asia/Shanghai' }), env);
    expect(tz.status).toBe(403);
    expect(await tz.json()).toEqual({ decision: 'challenge' });
  });

  it('hono-app: runs the route for a US user, answers 403 for a CN user', async () => {
    const ok = await honoApp.fetch(user({ country: 'US', timezone: 'America/New_York' }), bound);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ hello: 'world', decision: 'allow' });
    expect((await honoApp.fetch(user({ country: 'CN' }), bound)).status).toBe(403);
  });

  it('node-client: asks the real Worker over HTTP, and fails closed when it cannot be reached', async () => {
    const real = globalThis.fetch;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      const url = new Request(input, init).url;
      return url.startsWith('https://geogate.example/') ? SELF.fetch(input, init) : real(input, init);
    });
    const allowed = makeGate('https://geogate.example', CHECK_TOKEN);
    expect(await allowed({ ip: '203.0.113.7', country: 'US', claimedZone: 'America/New_York', userId: 'readme-client-1' })).toBe(true);
    expect(await allowed({ ip: '203.0.113.7', country: 'CN' })).toBe(false);
    expect(spy).toHaveBeenCalled();
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    spy.mockRejectedValue(new TypeError('network down'));
    expect(await makeGate('https://geogate.example', CHECK_TOKEN)({ ip: '203.0.113.8', country: 'US' })).toBe(false);
  });
});
