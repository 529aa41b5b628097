// The installed entry point: bin/geogate.mjs bundles src/cli on first use (and after any source
// change) and runs it with Node's streams, exit code included.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function geogate(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/geogate.mjs', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '', ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/geogate.mjs', () => {
  it('builds the bundle when asked to and runs a command with its exit code', () => {
    const r = geogate(['check', '--country', 'US', '--client-tz', 'Asia/Shanghai', '--now', '2026-11-26T12:00:00Z', '--json'], { GEOGATE_CLI_REBUILD: '1' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { decision: string; reasons: { code: string }[] };
    expect(d.decision).toBe('challenge');
    expect(d.reasons.map((x) => x.code)).toContain('TZ_RESTRICTED');
  }, 60_000);

  it('passes exit codes through: 2 for usage, 1 for an invalid policy', () => {
    expect(geogate(['frobnicate']).code).toBe(2);
    const bad = geogate(['policy', 'validate', 'package.json']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid package.json');
  }, 60_000);
});
