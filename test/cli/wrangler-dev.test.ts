// The CLI against the real Worker: `wrangler dev` on 127.0.0.1 (an ephemeral port, a throwaway
// state directory, test-only tokens, no telemetry, nothing off loopback). An operator's session:
// push a first policy, put a list, push a policy that uses it, patch the list, roll back, read
// versions; checks follow each step. wrangler is stopped by its process group at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIntel } from '../../src/engine/intel';
import { buildIntel } from '../../src/intel/build';
import { freePort, signalGroup } from '../node/process-group';
import { WRANGLER_BIN, WRANGLER_ENV } from '../node/wrangler-env';
import { runCli } from './harness';

const ADMIN = 'cli-e2e-admin-token-0123456789';
const CHECK = 'cli-e2e-check-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'geogate-cli-e2e-'));
let url = '';
let dev: ChildProcess | undefined;

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  dev = spawn(
    process.execPath,
    [
      WRANGLER_BIN,
      'dev',
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--persist-to', join(dir, 'state'),
      '--show-interactive-dev-session=false',
      '--var', `ADMIN_TOKEN:${ADMIN}`,
      '--var', `CHECK_TOKEN:${CHECK}`,
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Offline and quiet as every test's wrangler, with its logs in this run's throwaway directory.
      env: { ...WRANGLER_ENV, XDG_CONFIG_HOME: join(dir, 'xdg') },
    },
  );
  let output = '';
  dev.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  dev.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`wrangler dev did not become ready:\n${output.slice(-2000)}`);
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 503) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}, 120_000);

afterAll(() => {
  if (dev?.pid !== undefined) signalGroup(dev.pid, 'SIGTERM');
});

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content, null, 2));
  return path;
}

const cli = (argv: string[]) => runCli([...argv, '--url', url], { env: { GEOGATE_ADMIN_TOKEN: ADMIN }, fetch: (u, i) => fetch(u, i) });

async function check(body: unknown): Promise<{ decision: string; policyVersion: string; snapshot: string }> {
  const res = await fetch(`${url}/v1/check`, { method: 'POST', headers: { authorization: `Bearer ${CHECK}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer: unknown = await res.json();
  return answer as { decision: string; policyVersion: string; snapshot: string };
}

/** Checks until the decision names `version` (this isolate re-reads the policy after a write). */
async function checkUnder(version: string, body: unknown) {
  for (let i = 0; i < 40; i++) {
    const d = await check(body);
    if (d.policyVersion === version) return d;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`policy ${version} never came into force`);
}

const base = (version: string, rules: unknown[]) => ({
  version,
  rules,
  score: { weights: {}, challengeAt: 50, denyAt: 100 },
});

describe('geogate CLI against wrangler dev', () => {
  it('an operator session: push, list put, push with the list, list patch, rollback, versions', async () => {
    const first = await cli(['policy', 'push', file('p1.json', base('e2e-1', [{ id: 'markets', type: 'country-allowlist', action: 'deny', countries: ['US'] }]))]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect((await checkUnder('e2e-1', { geo: { country: 'BR' } })).decision).toBe('deny');

    const list = await cli(['lists', 'put', 'relays', file('relays.json', ['203.0.113.0/24']), '--kind', 'cidr']);
    expect(list.code, list.stderr).toBe(0);

    const second = await cli(['policy', 'push', file('p2.json', base('e2e-2', [{ id: 'relays', type: 'cidr', action: 'deny', lists: ['relays'] }]))]);
    expect(second.code, second.stderr).toBe(0);
    expect((await checkUnder('e2e-2', { ip: '203.0.113.5', geo: { country: 'US' } })).decision).toBe('deny');
    expect((await check({ ip: '192.0.2.5', geo: { country: 'US' } })).decision).toBe('allow');

    const patch = await cli(['lists', 'patch', 'relays', '--add', '192.0.2.0/24']);
    expect(patch.code, patch.stderr).toBe(0);
    let d = await check({ ip: '192.0.2.5', geo: { country: 'US' } });
    for (let i = 0; i < 40 && d.decision !== 'deny'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      d = await check({ ip: '192.0.2.5', geo: { country: 'US' } });
    }
    expect(d.decision).toBe('deny');

    const bad = await cli(['policy', 'push', file('p3.json', base('e2e-3', [{ id: 'x', type: 'cidr', action: 'deny', lists: ['missing'] }]))]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/missing/);

    const rollback = await cli(['policy', 'rollback', 'e2e-1']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect((await checkUnder('e2e-1', { geo: { country: 'BR' } })).decision).toBe('deny');

    const versions = await cli(['policy', 'versions', '--json']);
    expect(versions.code, versions.stderr).toBe(0);
    expect(versions.stdout).toMatch(/e2e-2/);
    expect(versions.stdout).toMatch(/e2e-1/);

    const wrongToken = await runCli(['policy', 'versions', '--url', url], { env: { GEOGATE_ADMIN_TOKEN: CHECK }, fetch: (u, i) => fetch(u, i) });
    expect(wrongToken.code).toBe(3);
    expect(wrongToken.stderr).toMatch(/403|FORBIDDEN|check token/i);
  }, 120_000);

  it('an intel session: status with nothing pushed, push the bundled intel, push it again, push a custom artifact', async () => {
    const none = await cli(['intel', 'status']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/no intel pushed/);

    const first = await cli(['intel', 'push']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/intel x4b-\S+: pushed \(the first intel/);
    const again = await cli(['intel', 'push']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already in force/);

    // A custom artifact: 198.51.100.0/24 is a VPN range in it (and in no shipped list).
    const built = buildIntel({
      version: 'e2e-intel-1',
      source: { repository: 'test/e2e', commit: '0'.repeat(40), date: '2026-11-26', license: 'MIT' },
      asns: { vpn: 'AS64500 # E2E VPN', datacenter: '' },
      cidrs: { vpn: ['198.51.100.0/24'], datacenter: [''] },
    });
    if (!built.ok) throw new Error('the test artifact does not build');
    const custom = join(dir, 'intel.json');
    writeFileSync(custom, encodeIntel(built.intel));
    // A tiny artifact over the shipped one is refused (a test artifact pushed by mistake?) unless allowed.
    const refused = await cli(['intel', 'push', '--file', custom]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/409 INTEL_SHRINKS/);
    const pushed = await cli(['intel', 'push', '--file', custom, '--allow-shrink']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(/intel e2e-intel-1: pushed over x4b-/);
    const status = await cli(['intel', 'status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ version: 'e2e-intel-1', blocks: 1, asns: 1 });

    const withIntel = { ...base('e2e-intel-policy', []), network: { vpn: { lists: ['x4b-vpn'] } }, score: { weights: { NETWORK_VPN: 50 }, challengeAt: 50, denyAt: 100 } };
    const policy = await cli(['policy', 'push', file('p-intel.json', withIntel)]);
    expect(policy.code, policy.stderr).toBe(0);
    await checkUnder('e2e-intel-policy', { geo: { country: 'US' } });
    let d = (await check({ ip: '198.51.100.7', geo: { country: 'US' } })) as unknown as { decision: string; intel: { version: string }; signals: Record<string, unknown> };
    for (let i = 0; i < 40 && d.intel.version !== 'e2e-intel-1'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      d = (await check({ ip: '198.51.100.7', geo: { country: 'US' } })) as unknown as typeof d;
    }
    expect(d.intel).toMatchObject({ version: 'e2e-intel-1', source: 'kv', failed: false });
    expect(d.signals.NETWORK_VPN).toBe(true);
    expect(d.decision).toBe('challenge');

    const broken = await cli(['intel', 'push', '--file', file('broken.json', { geogate: 'intel' })]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/not a usable intel artifact/);
  }, 120_000);
});
