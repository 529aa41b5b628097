// The offline commands, run through main() as a terminal would: policy validate and diff,
// simulate (against the golden fixtures) and check. Exit codes: 0 ok, 1 invalid, 2 usage.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_DOCUMENT } from '../../src/policy/default';
import { GoldenFileSchema } from '../golden/golden';
import defaultGolden from '../fixtures/golden/default-policy.json';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import familiesGolden from '../fixtures/golden/families.json';
import trafficGolden from '../fixtures/golden/traffic.json';
import { runCli } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'geogate-cli-'));
/** Writes a file in this run's temporary directory and returns its path. */
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

const DEFAULT_FILE = 'src/policy/default-policy.json';
const clone = () => JSON.parse(JSON.stringify(DEFAULT_POLICY_DOCUMENT)) as typeof DEFAULT_POLICY_DOCUMENT & { rules: Record<string, unknown>[] };
const ESC = '\u001b[';

describe('policy validate', () => {
  it('accepts the shipped default policy (exit 0)', async () => {
    const r = await runCli(['policy', 'validate', DEFAULT_FILE]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^valid .*default-policy\.json: policy "default-[^"]+", 4 rules\n$/);
  });

  it('lists every issue with its JSON path and exits 1', async () => {
    const doc = clone();
    (doc.rules[0] as { countries: string[] }).countries = ['CN', 'ZZ'];
    doc.score = { ...doc.score, challengeAt: 80, denyAt: 60 };
    const r = await runCli(['policy', 'validate', file('bad.json', { ...doc, colour: 'blue' })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid');
    expect(r.stderr).toContain('→ at rules[0].countries[1]');
    expect(r.stderr).toContain('not an ISO 3166-1 alpha-2 country code');
    expect(r.stderr).toMatch(/Unrecognized key: "colour"/);
  });

  it('points at the line and column of malformed JSON', async () => {
    const r = await runCli(['policy', 'validate', file('broken.json', '{\n  "version": "x",\n  "rules": [],\n}')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not valid JSON');
    expect(r.stderr).toContain('→ at line 4, column 1');
  });

  it('warns about a rule that can never match and an exception that lifts a deny everywhere, still exit 0', async () => {
    const doc = clone();
    doc.rules.push(
      { id: 'nothing', type: 'asn', action: 'deny', asns: [] },
      { id: 'bad-ips', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] },
      { id: 'office', type: 'cidr', action: 'allow', cidrs: ['198.51.0.0/16'], liftDeny: ['bad-ips'] },
    );
    const r = await runCli(['policy', 'validate', file('warn.json', doc)]);
    expect(r.code).toBe(0);
    // The admin API's warnings (src/policy/warnings.ts), printed with the CLI's paths.
    expect(r.stdout).toContain('warning rule nothing lists nothing, so it can never match\n  → at rules[4]\n');
    expect(r.stdout).toContain('warning allow-exception office covers every block of deny rule bad-ips, which then never denies\n  → at rules[6].liftDeny[0]\n');
  });

  it('--json reports the outcome as data, issues with their paths', async () => {
    const r = await runCli(['policy', 'validate', DEFAULT_FILE, '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, rules: 4, warnings: [] });
    const doc = clone();
    (doc.rules[0] as { countries: string[] }).countries = ['CN', 'ZZ'];
    const bad = await runCli(['policy', 'validate', file('bad-json.json', doc), '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, issues: [{ path: 'rules[0].countries[1]', message: 'not an ISO 3166-1 alpha-2 country code (or T1 for Tor)' }] });
  });

  it('an unreadable file is a usage error (exit 2)', async () => {
    const r = await runCli(['policy', 'validate', join(dir, 'missing.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot read .*missing\.json/);
  });
});

describe('policy diff', () => {
  const changed = () => {
    const doc = clone();
    doc.version = 'next';
    const first = doc.rules[0] as { countries: string[] };
    first.countries = [...first.countries.filter((c) => c !== 'CU'), 'BY'];
    doc.rules = doc.rules.filter((r) => r.id !== 'tor');
    doc.rules.push({ id: 'no-de', type: 'country', action: 'challenge', countries: ['DE'] });
    doc.score = { ...doc.score, weights: { ...doc.score.weights, NETWORK_VPN: 60 } };
    return doc;
  };

  it('shows rules added, removed and changed by id, and settings by path', async () => {
    const firstId = String(clone().rules[0]?.id);
    const r = await runCli(['policy', 'diff', DEFAULT_FILE, file('next.json', changed())]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rules: 1 added, 1 removed, 1 changed');
    expect(r.stdout).toMatch(/\+\s+no-de\s+country\s+challenge/);
    expect(r.stdout).toMatch(/-\s+tor\s+country\s+challenge/);
    expect(r.stdout).toContain(`~ ${firstId}\n      countries: + BY\n      countries: - CU`);
    expect(r.stdout).toContain('score.weights.NETWORK_VPN: 50 → 60');
    expect(r.stdout).toContain('version: "default-');
  });

  it('--json gives the same diff as data; identical policies say so', async () => {
    const r = await runCli(['policy', 'diff', DEFAULT_FILE, file('next2.json', changed()), '--json']);
    const diff = JSON.parse(r.stdout) as { identical: boolean; rules: { added: string[]; removed: string[] } };
    expect(diff).toMatchObject({ identical: false, rules: { added: ['no-de'], removed: ['tor'] } });
    const same = await runCli(['policy', 'diff', DEFAULT_FILE, 'default']);
    expect(same.stdout).toContain('no differences');
  });

  it('an invalid side exits 1', async () => {
    const r = await runCli(['policy', 'diff', DEFAULT_FILE, file('bad2.json', { version: 'x' })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not a valid policy');
  });
});

/** The golden cases of a file as NDJSON lines (each line a golden case: it has a `request`). */
function goldenNdjson(raw: unknown): { path: string; golden: ReturnType<typeof GoldenFileSchema.parse> } {
  const golden = GoldenFileSchema.parse(raw);
  const name = `golden-${Math.random().toString(36).slice(2)}.ndjson`;
  return { path: file(name, golden.cases.map((c) => JSON.stringify(c)).join('\n') + '\n'), golden };
}

describe('simulate', () => {
  it.each([
    ['default-policy.json', defaultGolden],
    ['families.json', familiesGolden],
    ['traffic.json', trafficGolden],
  ])('--json replays %s with the decisions the golden file pins', async (_name, raw) => {
    const { path, golden } = goldenNdjson(raw);
    const r = await runCli(['simulate', path, '--now', golden.now, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { summary: { total: number; invalid: number }; results: { line: number; current: { decision: string; score: number; reasons: { code: string; rule: string }[] } }[] };
    expect(report.summary).toMatchObject({ total: golden.cases.length, invalid: 0 });
    report.results.forEach((res, i) => {
      const want = golden.cases[i]?.want;
      expect(res.line).toBe(i + 1);
      expect({ decision: res.current.decision, score: res.current.score, codes: res.current.reasons.map((x) => `${x.code}/${x.rule}`) }).toEqual({
        decision: want?.decision,
        score: want?.score,
        codes: want?.reasons.map((x) => `${x.code}/${x.rule}`),
      });
    });
  });

  it('replays an inline-policy golden file under that policy', async () => {
    const { path, golden } = goldenNdjson(exceptionsGolden);
    const policy = file('exceptions-policy.json', golden.policy);
    const r = await runCli(['simulate', path, '--policy', policy, '--now', golden.now, '--json']);
    const report = JSON.parse(r.stdout) as { results: { current: { decision: string } }[] };
    expect(report.results.map((x) => x.current.decision)).toEqual(golden.cases.map((c) => c.want.decision));
  });

  it('prints a summary table of decisions and standing reason codes', async () => {
    const { path, golden } = goldenNdjson(defaultGolden);
    const r = await runCli(['simulate', path, '--now', golden.now]);
    expect(r.code).toBe(0);
    const count = (d: string) => golden.cases.filter((c) => c.want.decision === d).length;
    expect(r.stdout).toContain(`simulate ${golden.cases.length} requests from ${path}, at 2026-11-26T12:00:00.000Z`);
    expect(r.stdout).toMatch(new RegExp(`allow\\s+${count('allow')}\\s`));
    expect(r.stdout).toMatch(new RegExp(`challenge\\s+${count('challenge')}\\s`));
    expect(r.stdout).toMatch(new RegExp(`deny\\s+${count('deny')}\\s`));
    expect(r.stdout).toMatch(/invalid\s+0\s/);
    expect(r.stdout).toContain('reason codes that stand (requests):');
  });

  it('--against compares: transitions, reason codes and the changed requests by line', async () => {
    const { path, golden } = goldenNdjson(trafficGolden);
    const doc = clone();
    doc.version = 'deny-us';
    doc.rules.push({ id: 'no-us', type: 'country', action: 'deny', countries: ['US'] });
    const candidate = file('deny-us.json', doc);
    const r = await runCli(['simulate', path, '--policy', candidate, '--against', 'default', '--now', golden.now]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/current default-\S+ \(--against\) → candidate deny-us \(--policy\)/);
    expect(r.stdout).toMatch(/changed: \d+ of \d+ valid requests/);
    expect(r.stdout).toMatch(/allow->deny\s+\d+/);
    expect(r.stdout).toMatch(/COUNTRY_DENIED\s+\d+\s+0/);
    expect(r.stdout).toMatch(/line \d+\s+us-comcast-ny\s+allow -> deny\s+COUNTRY_DENIED\(no-us\)/);
    const gate = await runCli(['simulate', path, '--policy', candidate, '--against', 'default', '--now', golden.now, '--fail-on-change']);
    expect(gate.code).toBe(1);
    const same = await runCli(['simulate', path, '--policy', 'default', '--against', 'default', '--fail-on-change']);
    expect(same.code).toBe(0);
  });

  it('reads decision-log lines at their evaluatedAt, reports invalid requests and skips non-JSON lines', async () => {
    const lines = [
      JSON.stringify({ evaluatedAt: '2026-11-26T12:00:00Z', decision: 'allow', request: { requestId: 'ok-1', geo: { country: 'US' }, client: { timezone: 'America/New_York', clock: '2026-11-26T07:00:00-05:00' } } }),
      JSON.stringify({ requestId: 'bad-1', ip: 'not-an-ip' }),
      '{ truncated',
      '',
    ];
    const r = await runCli(['simulate', file('log.ndjson', lines.join('\n')), '--json'], { now: Date.parse('2026-11-27T12:00:00Z') });
    const report = JSON.parse(r.stdout) as { summary: { total: number; invalid: number }; results: { line: number; requestId?: string; current?: { reasons: { code: string }[] }; error?: { issues: { path: string }[] } }[]; unreadable: { line: number }[] };
    expect(report.summary).toMatchObject({ total: 2, invalid: 1 });
    expect(report.results[0]?.current?.reasons.map((x) => x.code)).not.toContain('CLOCK_SKEW');
    expect(report.results[1]).toMatchObject({ line: 2, requestId: 'bad-1', error: { issues: [{ path: 'ip' }] } });
    expect(report.unreadable).toMatchObject([{ line: 3 }]);
    const table = await runCli(['simulate', join(dir, 'log.ndjson')]);
    expect(table.stdout).toContain('line 2: ip: must be an IPv4 or IPv6 address');
    expect(table.stderr).toContain('1 line is not JSON and was skipped');
  });

  it('draws progress on a terminal for large runs only', async () => {
    const big = file('big.ndjson', Array.from({ length: 2500 }, (_, i) => JSON.stringify({ requestId: `r${i}`, geo: { country: 'US' } })).join('\n'));
    const tty = await runCli(['simulate', big], { tty: true });
    expect(tty.stderr).toContain('simulating 2500/2500');
    const piped = await runCli(['simulate', big]);
    expect(piped.stderr).toBe('');
    const small = await runCli(['simulate', file('small.ndjson', '{}\n')], { tty: true });
    expect(small.stderr).toBe('');
  });

  it('rejects a bad --now as a usage error', async () => {
    const r = await runCli(['simulate', file('one.ndjson', '{}'), '--now', 'yesterday']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--now must be an ISO-8601 instant');
  });
});

describe('check', () => {
  const CN_CLOCK_ON_US = ['check', '--country', 'US', '--ip', '203.0.113.7', '--asn', '7922', '--client-tz', 'Asia/Shanghai', '--now', '2026-11-26T12:00:00Z'];

  it('a CN clock on a US IP explains itself', async () => {
    const r = await runCli(CN_CLOCK_ON_US);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CHALLENGE {2}Challenged: Risk score 70 reaches challengeAt \(50\)\./);
    expect(r.stdout).toMatch(/TZ_RESTRICTED\s+rule score\s+challenge\s+\+50\s+The client's time zone Asia\/Shanghai belongs to a restricted country, and the IP is outside it\./);
    expect(r.stdout).toMatch(/TZ_MISMATCH\s+rule score\s+challenge\s+\+20/);
    expect(r.stdout).toContain('policy default-');
    expect(r.stdout).toContain('signals: TZ_RESTRICTED=true TZ_MISMATCH=true');
  });

  it('--json prints the whole decision, the policy version and the request', async () => {
    const r = await runCli([...CN_CLOCK_ON_US, '--json', '--accept-language', 'zh-CN', '--asn', 'AS9009']);
    const d = JSON.parse(r.stdout) as { decision: string; reasons: { code: string }[]; policyVersion: string; evaluatedAt: string; request: { geo: { asn: number } } };
    expect(d.decision).toBe('deny');
    expect(d.reasons.map((x) => x.code)).toEqual(['SCORE_DENY', 'NETWORK_VPN', 'TZ_RESTRICTED', 'LOCALE_RESTRICTED', 'TZ_MISMATCH']);
    expect(d.request.geo.asn).toBe(9009);
    expect(d.evaluatedAt).toBe('2026-11-26T12:00:00.000Z');
  });

  it('takes a logged request with --request, flags overriding it, and another policy with --policy', async () => {
    const doc = clone();
    doc.version = 'no-us';
    doc.rules.push({ id: 'no-us', type: 'country', action: 'deny', countries: ['US'] });
    const req = file('req.json', { evaluatedAt: '2026-11-26T12:00:00Z', request: { geo: { country: 'DE' } } });
    const r = await runCli(['check', '--request', req, '--country', 'US', '--policy', file('no-us.json', doc), '--json']);
    const d = JSON.parse(r.stdout) as { decision: string; reasons: { code: string; rule: string }[]; policyVersion: string };
    expect(d).toMatchObject({ decision: 'deny', policyVersion: 'no-us', reasons: [{ code: 'COUNTRY_DENIED', rule: 'no-us' }] });
  });

  it('an invalid field exits 1 and names it', async () => {
    const r = await runCli(['check', '--country', 'USA']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('geo.country: must be a 2-character country code');
  });

  it('colours only on a terminal, and never with NO_COLOR', async () => {
    expect((await runCli(CN_CLOCK_ON_US, { tty: true })).stdout).toContain(ESC);
    expect((await runCli(CN_CLOCK_ON_US, { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toContain(ESC);
    expect((await runCli(CN_CLOCK_ON_US)).stdout).not.toContain(ESC);
  });
});

describe('usage', () => {
  it.each([
    [[]],
    [['policy']],
    [['policy', 'validate']],
    [['frobnicate']],
    [['check', '--bogus']],
    [['simulate']],
    [['lists', 'put', 'x', 'y', '--kind', 'colour']],
  ])('%j is a usage error (exit 2)', async (argv) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/Usage: geogate|error:/);
  });

  it.each([
    [[]],
    ['policy'],
    ['policy validate'],
    ['policy diff'],
    ['policy push'],
    ['policy versions'],
    ['policy rollback'],
    ['simulate'],
    ['check'],
    ['lists'],
    ['lists get'],
    ['lists put'],
    ['lists patch'],
  ])('geogate %s --help exits 0 with usage', async (command) => {
    const argv = Array.isArray(command) ? command : command.split(' ');
    const r = await runCli([...argv, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: geogate/);
  });

  it('--version prints the version', async () => {
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });
});

describe('named lists offline', () => {
  const withList = { ...clone(), version: 'with-list', rules: [{ id: 'relays', type: 'cidr', action: 'deny', lists: ['relays'] }] };

  it('validate accepts a reference to a named list (the server checks that it exists)', async () => {
    const r = await runCli(['policy', 'validate', file('with-list.json', withList)]);
    expect(r.code).toBe(0);
  });

  it('check and simulate refuse to guess what a named list holds (usage error, exit 2)', async () => {
    const path = file('with-list-2.json', withList);
    const checked = await runCli(['check', '--policy', path, '--country', 'US']);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toMatch(/references named lists \(relays\)/);
    const simulated = await runCli(['simulate', '--policy', path, file('one.ndjson', '{"geo":{"country":"US"}}\n')]);
    expect(simulated.code).toBe(2);
    expect(simulated.stderr).toMatch(/POST \/v1\/simulate/);
  });
});
