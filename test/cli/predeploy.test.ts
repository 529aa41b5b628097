// The pre-deploy check (scripts/predeploy.mjs, run by `npm run deploy` before `wrangler deploy`),
// against temporary wrangler.toml files, each with one problem, and a good one. It must refuse
// (exit 1, naming the problem and the `npx wrangler …` that fixes it) whenever a secret sits in
// [vars], a dev-only value would be deployed, the two tokens are equal, or the KV namespace is the
// placeholder; and pass a good configuration. Most cases call its main() in this process (one
// wrangler import for all); the exit codes and the shell `npm run deploy` runs are checked on real
// processes. Offline: it reads files only (a fake `wrangler` on PATH stands in for the deploy that
// follows it in a shell).
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ROOT, WRANGLER_ENV } from '../node/wrangler-env';

const SCRIPT = join(ROOT, 'scripts', 'predeploy.mjs');
const REAL_ID = '0123456789abcdef0123456789abcdef';
const PLACEHOLDER_ID = '00000000000000000000000000000000';
const SECRETS = ['CHECK_TOKEN', 'ADMIN_TOKEN', 'MEMORY_HASH_SECRET', 'CLEARANCE_SECRET', 'CLEARANCE_SECRET_PREVIOUS', 'TURNSTILE_SECRET'];
/** Each run is a Node process that loads wrangler (~2 s idle; more on a busy 2-core machine). */
const TIMEOUT = 90_000;

/** The environment of every run: wrangler offline and quiet, and none of the secrets' names set. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...WRANGLER_ENV };
  for (const name of [...SECRETS, 'CLOUDFLARE_ENV']) delete env[name];
  return { ...env, ...extra };
}

/** A wrangler.toml as geogate's, with `vars` and the POLICY namespace id, and extra TOML appended. */
function toml(options: { vars?: Record<string, string>; kvId?: string | null; extra?: string } = {}): string {
  const vars = { GEO_FROM_CF: 'false', TRUST_FORWARDED_CF_HEADERS: 'false', FAIL_MODE: 'closed', ...options.vars };
  const kv = options.kvId === null ? '' : `\n[[kv_namespaces]]\nbinding = "POLICY"\nid = "${options.kvId ?? REAL_ID}"\n`;
  return `name = "geogate"\nmain = "src/index.ts"\ncompatibility_date = "2026-05-01"\n\n[vars]\n${Object.entries(vars)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join('\n')}\n${kv}${options.extra ?? ''}`;
}

/** A directory holding `wrangler.toml` (and `files`); answers the config's path. */
function project(text: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'geogate-predeploy-'));
  writeFileSync(join(dir, 'wrangler.toml'), text);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return join(dir, 'wrangler.toml');
}

interface Run {
  code: number;
  out: string;
}

function run(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd ?? tmpdir(), env: baseEnv(options.env), timeout: TIMEOUT }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      if (code === -1) reject(error ?? new Error('no exit code'));
      else resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Runs the check as `node scripts/predeploy.mjs --config <config> ...args`, in a process of its own. */
const predeployProcess = (config: string, args: string[] = [], env: Record<string, string> = {}) => run(process.execPath, [SCRIPT, '--config', config, ...args], { env });

/** The script's entry point. */
type Main = (argv: string[], environment: NodeJS.ProcessEnv) => Promise<number>;
let mainOf: Promise<Main> | undefined;

afterEach(() => vi.restoreAllMocks());

/** Runs the check's main() in this process with `--config <config> ...args`; answers its exit status and output. */
async function predeploy(config: string, args: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  mainOf ??= import(pathToFileURL(SCRIPT).href).then((m: { main: Main }) => m.main);
  const main = await mainOf;
  let out = '';
  const capture = (...parts: unknown[]) => void (out += `${parts.map(String).join(' ')}\n`);
  vi.spyOn(console, 'log').mockImplementation(capture);
  vi.spyOn(console, 'error').mockImplementation(capture);
  try {
    return { code: await main(['--config', config, ...args], baseEnv(env)), out };
  } finally {
    vi.restoreAllMocks();
  }
}

/** Expects a refusal naming `problem` and `fix`. */
function expectRefused(r: Run, problem: RegExp, fix: RegExp | string): void {
  expect(r.code, r.out).toBe(1);
  expect(r.out).toMatch(/^predeploy: refusing to deploy/m);
  expect(r.out).toMatch(problem);
  if (typeof fix === 'string') expect(r.out).toContain(fix);
  else expect(r.out).toMatch(fix);
}

describe('scripts/predeploy.mjs as a process', () => {
  it('exits 0 on a good configuration and 1 on a refused one', { timeout: TIMEOUT }, async () => {
    const [good, bad] = await Promise.all([predeployProcess(project(toml())), predeployProcess(project(toml({ vars: { CHECK_TOKEN: 'dev-check-token-not-secret' } })))]);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toMatch(/^predeploy: ok/);
    expectRefused(bad, /CHECK_TOKEN is in \[vars\]/, 'npx wrangler secret put CHECK_TOKEN');
  });
});

describe('scripts/predeploy.mjs', () => {
  it('passes a good configuration, and lists the secrets to set with wrangler secret put', { timeout: TIMEOUT }, async () => {
    const r = await predeploy(project(toml()));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^predeploy: ok \(wrangler\.toml, top level\)/);
    for (const name of ['CHECK_TOKEN', 'ADMIN_TOKEN', 'MEMORY_HASH_SECRET', 'CLEARANCE_SECRET', 'TURNSTILE_SECRET']) expect(r.out).toContain(`npx wrangler secret put ${name}`);
  });

  it('refuses the repository’s own wrangler.toml as it is (the placeholder KV id)', { timeout: TIMEOUT }, async () => {
    const r = await predeploy(project(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')));
    expectRefused(r, new RegExp(`the KV namespace POLICY has the placeholder id ${PLACEHOLDER_ID}`), 'npx wrangler kv namespace create POLICY');
  });

  it('refuses a configuration without the POLICY namespace', { timeout: TIMEOUT }, async () => {
    expectRefused(await predeploy(project(toml({ kvId: null }))), /no POLICY KV namespace/, 'npx wrangler kv namespace create POLICY');
  });

  it.each(SECRETS)('refuses %s in [vars], even with a real-looking value', { timeout: TIMEOUT }, async (name) => {
    const r = await predeploy(project(toml({ vars: { [name]: 'a-real-looking-value-0123456789abcdef' } })));
    expectRefused(r, new RegExp(`${name} is in \\[vars\\] of wrangler\\.toml.*plain text`), `npx wrangler secret put ${name}`);
  });

  it('refuses a secret in another environment’s vars too (the file is committed), with that environment’s fix', { timeout: TIMEOUT }, async () => {
    const r = await predeploy(project(toml({ extra: `\n[env.staging]\nvars = { ADMIN_TOKEN = "staging-admin-token-0123456789" }\nkv_namespaces = [{ binding = "POLICY", id = "${REAL_ID}" }]\n` })));
    expectRefused(r, /ADMIN_TOKEN is in \[env\.staging\.vars\]/, 'npx wrangler secret put ADMIN_TOKEN --env staging');
  });

  it.each([
    ['the dev check token under another name', { SOME_SETTING: 'dev-check-token-not-secret' }, /SOME_SETTING in wrangler\.toml holds a dev-only value \(CHECK_TOKEN of \.dev\.vars\.example\)/],
    ['the dev clearance secret under another name', { SIGNING: 'dev-clearance-secret-not-secret-0123456789' }, /SIGNING in wrangler\.toml holds a dev-only value \(CLEARANCE_SECRET of \.dev\.vars\.example\)/],
    ['the dev admin token as CHECK_TOKEN', { CHECK_TOKEN: 'dev-admin-token-not-secret' }, /CHECK_TOKEN is in \[vars\].*dev-only ADMIN_TOKEN of \.dev\.vars\.example/],
    ['Cloudflare’s always-passing Turnstile test secret', { TS: '1x0000000000000000000000000000000AA' }, /Turnstile test secret/],
    ['Cloudflare’s Turnstile test site key', { TURNSTILE_SITE_KEY: '1x00000000000000000000AA' }, /TURNSTILE_SITE_KEY in wrangler\.toml is Cloudflare's Turnstile test site key/],
  ])('refuses %s in [vars]', { timeout: TIMEOUT }, async (_name, vars, problem) => {
    expectRefused(await predeploy(project(toml({ vars }))), problem, /npx wrangler secret put/);
  });

  it('refuses a value of the .dev.vars beside the config (the developer’s own dev secrets)', { timeout: TIMEOUT }, async () => {
    const config = project(toml({ vars: { UPSTREAM_KEY: 'my-local-check-token-42424242' } }), { '.dev.vars': 'CHECK_TOKEN=my-local-check-token-42424242\nCHALLENGE_PAGE=true\n' });
    expectRefused(await predeploy(config), /UPSTREAM_KEY in wrangler\.toml holds a dev-only value \(CHECK_TOKEN of \.dev\.vars\)/, /npx wrangler secret put/);
    // Its non-secret settings are legitimate in production.
    const ok = project(toml({ vars: { CHALLENGE_PAGE: 'true' } }), { '.dev.vars': 'CHECK_TOKEN=my-local-check-token-42424242\nCHALLENGE_PAGE=true\n' });
    expect((await predeploy(ok)).code).toBe(0);
  });

  it.each([
    ['CHECK_TOKEN set to the dev value', { CHECK_TOKEN: 'dev-check-token-not-secret' }, /CHECK_TOKEN in this shell's environment is a dev-only value/, 'unset CHECK_TOKEN'],
    ['MEMORY_HASH_SECRET set to the dev value', { MEMORY_HASH_SECRET: 'dev-memory-hash-secret-not-secret' }, /MEMORY_HASH_SECRET in this shell's environment is a dev-only value/, 'npx wrangler secret put MEMORY_HASH_SECRET'],
    ['the two tokens equal', { CHECK_TOKEN: 'same-token-0123456789abcdef', ADMIN_TOKEN: 'same-token-0123456789abcdef' }, /CHECK_TOKEN equals ADMIN_TOKEN/, 'npx wrangler secret put ADMIN_TOKEN'],
  ])('refuses this shell’s environment with %s', { timeout: TIMEOUT }, async (_name, env, problem, fix) => {
    expectRefused(await predeploy(project(toml()), [], env), problem, fix);
  });

  it('refuses wrangler deploy’s --var for a secret or a dev value, and a --secrets-file with dev values or equal tokens', { timeout: TIMEOUT }, async () => {
    const config = project(toml(), {
      'secrets.json': JSON.stringify({ CHECK_TOKEN: 'dev-check-token-not-secret', ADMIN_TOKEN: 'a-real-admin-token-0123456789' }),
      'secrets.env': 'CHECK_TOKEN=shared-token-0123456789abcdef\nADMIN_TOKEN="shared-token-0123456789abcdef"\n',
    });
    const dir = join(config, '..');
    expectRefused(await predeploy(config, ['--var', 'CHECK_TOKEN:a-real-check-token-0123456789']), /--var CHECK_TOKEN:… would deploy the secret CHECK_TOKEN as a plain-text var/, 'npx wrangler secret put CHECK_TOKEN');
    expectRefused(await predeploy(config, ['--var', 'GEO_FROM_CF:false', 'X:dev-admin-token-not-secret']), /--var X:… is a dev-only value/, 'npx wrangler secret put');
    expectRefused(await predeploy(config, ['--secrets-file', join(dir, 'secrets.json')]), /secrets\.json: CHECK_TOKEN is a dev-only value/, 'npx wrangler secret put CHECK_TOKEN');
    expectRefused(await predeploy(config, ['--secrets-file', join(dir, 'secrets.env')]), /CHECK_TOKEN equals ADMIN_TOKEN/, 'npx wrangler secret put CHECK_TOKEN');
  });

  describe('environments (--env, CLOUDFLARE_ENV, and npm run deploy -- --env)', () => {
    /** Top level as in the repository (placeholder), production with its own namespace, staging without one. */
    const ENVS = toml({
      kvId: PLACEHOLDER_ID,
      extra: `\n[env.production]\nvars = { GEO_FROM_CF = "false" }\nkv_namespaces = [{ binding = "POLICY", id = "${REAL_ID}" }]\n\n[env.staging]\nvars = { GEO_FROM_CF = "false" }\n`,
    });

    it('checks the environment deployed: production passes while the top level and staging are refused', { timeout: TIMEOUT }, async () => {
      const config = project(ENVS);
      expect((await predeploy(config, ['--env', 'production'])).code).toBe(0);
      expect((await predeploy(config, ['--env=production'])).code).toBe(0);
      expect((await predeploy(config, [], { CLOUDFLARE_ENV: 'production' })).code).toBe(0);
      expectRefused(await predeploy(config), /placeholder id/, 'npx wrangler kv namespace create POLICY');
      expectRefused(await predeploy(config, ['-e', 'staging']), /no POLICY KV namespace \(\[\[env\.staging\.kv_namespaces\]\]/, 'npx wrangler kv namespace create POLICY --env staging');
      expectRefused(await predeploy(config, ['--env', 'nope']), /has no \[env\.nope\] section/, 'add [env.nope]');
    });

    it('reads the arguments npm hands to wrangler deploy from the shell it runs the deploy script in, and stops the deploy when refused', { timeout: TIMEOUT }, async () => {
      const config = project(ENVS);
      const dir = join(config, '..');
      // A stand-in for wrangler: the deploy that runs only when the check passes.
      mkdirSync(join(dir, 'bin'));
      writeFileSync(join(dir, 'bin', 'wrangler'), '#!/bin/sh\necho "fake wrangler $*"\n');
      chmodSync(join(dir, 'bin', 'wrangler'), 0o755);
      const PATH = `${join(dir, 'bin')}:${process.env.PATH ?? ''}`;
      // package.json's deploy script with `npm run deploy -- --config … --env …` appended, as npm runs it.
      const deploy = (args: string) => run('/bin/sh', ['-c', `node ${JSON.stringify(SCRIPT)} && wrangler deploy ${args}`], { cwd: dir, env: { PATH } });
      const production = await deploy(`--config ${JSON.stringify(config)} --env production`);
      expect(production.code, production.out).toBe(0);
      expect(production.out).toContain('predeploy: ok (wrangler.toml, env "production")');
      expect(production.out).toContain(`fake wrangler deploy --config ${config} --env production`);
      const staging = await deploy(`--config ${JSON.stringify(config)} --env staging`);
      expectRefused(staging, /env "staging"/, '--env staging');
      expect(staging.out).not.toContain('fake wrangler');
      const topLevel = await deploy(`--config ${JSON.stringify(config)}`);
      expectRefused(topLevel, /placeholder id/, 'npx wrangler kv namespace create POLICY');
      expect(topLevel.out).not.toContain('fake wrangler');
    });
  });
});
