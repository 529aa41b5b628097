#!/usr/bin/env node
// The pre-deploy check: `npm run deploy` runs it before `wrangler deploy` (package.json) and stops
// the deploy when it fails. Offline (it reads files and the environment, never the network).
// It refuses to deploy when:
// - a secret (CHECK_TOKEN, ADMIN_TOKEN, MEMORY_HASH_SECRET, CLEARANCE_SECRET,
//   CLEARANCE_SECRET_PREVIOUS, TURNSTILE_SECRET) is in wrangler.toml [vars], at the top level or in
//   any [env.*]: vars are plain text in the repository and the dashboard;
// - a dev-only value would be deployed: one of .dev.vars.example's or .dev.vars's secrets, or one
//   of Cloudflare's Turnstile test keys, in [vars] (any env), in a `--var` or `--secrets-file` for
//   wrangler deploy, or in this shell's CHECK_TOKEN, ADMIN_TOKEN… variables;
// - CHECK_TOKEN equals ADMIN_TOKEN wherever both are given;
// - a secret is passed as `wrangler deploy --var NAME:value` (a plain-text var);
// - a KV namespace of the deployed environment has no id or the placeholder id
//   00000000000000000000000000000000 that local dev and the tests use.
// Secrets set with `npx wrangler secret put` live in Cloudflare and are not checked here; the
// Worker itself refuses the dev-only tokens on any host but a loopback one (src/http/auth.ts).
//
// Arguments are wrangler deploy's: `--config/-c PATH`, `--env/-e NAME` (or CLOUDFLARE_ENV), `--var
// NAME:VALUE`, `--secrets-file PATH`; others are ignored. Through `npm run deploy -- --env prod`
// npm hands the arguments to wrangler deploy only: this script reads them from the shell command
// npm runs (its parent process) when it can, so both see the same environment. Exit status 1 when
// it refuses, with each problem and its fix.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Worker's secrets: set with `npx wrangler secret put NAME`, never in [vars]. */
export const SECRET_NAMES = ['CHECK_TOKEN', 'ADMIN_TOKEN', 'MEMORY_HASH_SECRET', 'CLEARANCE_SECRET', 'CLEARANCE_SECRET_PREVIOUS', 'TURNSTILE_SECRET'];

/** Cloudflare's documented Turnstile test keys (src/challenge/turnstile.ts): never for a deployment. */
const TURNSTILE_TEST_SECRETS = ['1x0000000000000000000000000000000AA', '2x0000000000000000000000000000000AA', '3x0000000000000000000000000000000AA'];
const TURNSTILE_TEST_SITE_KEYS = ['1x00000000000000000000AA', '2x00000000000000000000AB', '1x00000000000000000000BB', '2x00000000000000000000BB', '3x00000000000000000000FF'];

/** The KV id local dev and the tests use (wrangler.toml). */
const PLACEHOLDER_KV_ID = '00000000000000000000000000000000';

/** Values shorter than this are not compared as dev values (too likely to be a real setting). */
const MIN_DEV_VALUE_LENGTH = 8;

// ---------------------------------------------------------------------------------------------
// Arguments.

/** Splits a shell command line into words (quotes and backslashes as sh reads them; no expansion). */
export function shellWords(line) {
  const words = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      word += line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
      inWord = true;
    } else if (ch === '"') {
      i++;
      for (; i < line.length && line[i] !== '"'; i++) word += line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]) ? line[++i] : line[i];
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The arguments npm appended to the deploy script, read from the shell npm runs it in (our parent):
 * `sh -c "node scripts/predeploy.mjs && wrangler deploy --env production"`. Empty when the parent
 * is anything else or cannot be read.
 */
function argsFromParentShell() {
  let command;
  try {
    command = readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    try {
      command = execFileSync('ps', ['-o', 'args=', '-p', String(process.ppid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return [];
    }
  }
  const m = /predeploy\.mjs\b[^&|;]*&&\s*(?:npx\s+)?wrangler\s+deploy\b([^&|;]*)/.exec(command);
  return m ? shellWords(m[1] ?? '') : [];
}

/** The deploy options named by wrangler deploy's arguments. */
export function parseArgs(argv) {
  const out = { config: undefined, env: undefined, vars: [], secretsFile: undefined };
  const value = (i, arg) => (arg.includes('=') ? [arg.slice(arg.indexOf('=') + 1), i] : [argv[i + 1], i + 1]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const flag = arg.split('=')[0];
    if (flag === '--config' || flag === '-c') [out.config, i] = value(i, arg);
    else if (flag === '--env' || flag === '-e') [out.env, i] = value(i, arg);
    else if (flag === '--secrets-file') [out.secretsFile, i] = value(i, arg);
    else if (flag === '--var') {
      if (arg.includes('=')) out.vars.push(arg.slice(arg.indexOf('=') + 1));
      // yargs arrays: every following word up to the next flag.
      else for (; i + 1 < argv.length && !argv[i + 1].startsWith('-'); i++) out.vars.push(argv[i + 1]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files.

/** KEY=value lines of a .dev.vars / .env file (comments, `export`, quotes handled). */
export function parseDotenv(text) {
  const out = new Map();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith('"') && v.endsWith('"') && v.length >= 2) || (v.startsWith("'") && v.endsWith("'") && v.length >= 2)) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out.set(m[1], v);
  }
  return out;
}

/** A secrets file as `wrangler deploy --secrets-file` reads it: JSON or .env. */
function readSecretsFile(path) {
  const text = readFileSync(path, 'utf8');
  try {
    const json = JSON.parse(text);
    if (json && typeof json === 'object' && !Array.isArray(json)) return new Map(Object.entries(json).filter((e) => typeof e[1] === 'string'));
  } catch {
    // not JSON: .env
  }
  return parseDotenv(text);
}

/**
 * The dev-only values: each secret of .dev.vars.example (next to this script) and of every
 * .dev.vars* and .env* file next to the config, with the file it comes from; and Turnstile's test
 * secrets. Non-secret settings of those files (CHALLENGE_PAGE=true…) are legitimate in production.
 */
function devValues(configDir) {
  const values = new Map();
  const files = new Set([join(ROOT, '.dev.vars.example')]);
  for (const dir of new Set([configDir, ROOT])) {
    let names;
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (name === '.dev.vars' || name.startsWith('.dev.vars.') || name === '.env' || name.startsWith('.env.')) files.add(join(dir, name));
  }
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const [key, value] of parseDotenv(readFileSync(file, 'utf8'))) {
      if (SECRET_NAMES.includes(key) && value.length >= MIN_DEV_VALUE_LENGTH && !values.has(value)) values.set(value, `${key} of ${basename(file)}`);
    }
  }
  for (const key of TURNSTILE_TEST_SECRETS) values.set(key, "Cloudflare's Turnstile test secret (siteverify always answers the same)");
  return values;
}

// ---------------------------------------------------------------------------------------------
// The check.

/**
 * Reads the wrangler config of `envName` (undefined: the top level) with wrangler itself, so that
 * inheritance and [env.*] sections are read as `wrangler deploy` reads them.
 */
async function readConfig(configPath, envName) {
  const { unstable_readConfig } = await import('wrangler');
  // CLOUDFLARE_ENV would select an env even when the top level is asked for.
  const saved = process.env.CLOUDFLARE_ENV;
  delete process.env.CLOUDFLARE_ENV;
  try {
    return unstable_readConfig({ ...(configPath ? { config: configPath } : {}), ...(envName ? { env: envName } : {}) }, { hideWarnings: true });
  } finally {
    if (saved !== undefined) process.env.CLOUDFLARE_ENV = saved;
  }
}

/** Runs the check; answers the problems (each `{ problem, fix }`) and what it checked. */
export async function check(argv, environment = process.env) {
  const own = parseArgs(argv);
  const parent = parseArgs(argsFromParentShell());
  const options = {
    config: own.config ?? parent.config,
    env: own.env ?? parent.env ?? (environment.CLOUDFLARE_ENV || undefined),
    vars: [...parent.vars, ...own.vars],
    secretsFile: own.secretsFile ?? parent.secretsFile,
  };
  const problems = [];
  const add = (problem, fix) => problems.push({ problem, fix });

  const top = await readConfig(options.config, undefined);
  const configPath = top.userConfigPath ?? top.configPath ?? resolve(options.config ?? 'wrangler.toml');
  const configName = basename(configPath);
  const defined = top.definedEnvironments ?? [];
  if (options.env !== undefined && !defined.includes(options.env)) {
    add(`${configName} has no [env.${options.env}] section, but the deploy names --env ${options.env}`, `add [env.${options.env}] to ${configName}, or deploy another environment`);
    return { problems, configPath, env: options.env };
  }
  const target = options.env === undefined ? top : await readConfig(options.config, options.env);
  const envFlag = options.env === undefined ? '' : ` --env ${options.env}`;
  const dev = devValues(dirname(configPath));

  // [vars] of every environment: a committed file, whichever env is deployed today.
  const sections = [{ label: '[vars]', config: top, flag: '' }];
  for (const name of defined) sections.push({ label: `[env.${name}.vars]`, config: name === options.env ? target : await readConfig(options.config, name), flag: ` --env ${name}` });
  for (const { label, config, flag } of sections) {
    for (const [name, value] of Object.entries(config.vars ?? {})) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (SECRET_NAMES.includes(name)) {
        const devNote = dev.has(text) ? ` (and its value is the dev-only ${dev.get(text)})` : '';
        add(`${name} is in ${label} of ${configName}${devNote}: [vars] are plain text in the repository and the Cloudflare dashboard`, `remove it from ${label} and run: npx wrangler secret put ${name}${flag}`);
      } else if (dev.has(text)) {
        add(`${label} ${name} in ${configName} holds a dev-only value (${dev.get(text)})`, `remove it; secrets belong in \`npx wrangler secret put NAME${flag}\` with real values`);
      } else if (name === 'TURNSTILE_SITE_KEY' && TURNSTILE_TEST_SITE_KEYS.includes(text)) {
        add(`${label} TURNSTILE_SITE_KEY in ${configName} is Cloudflare's Turnstile test site key`, "set your widget's site key (Cloudflare dashboard, Turnstile), and its secret with: npx wrangler secret put TURNSTILE_SECRET" + flag);
      }
    }
  }

  // What this deploy itself would upload: --var, --secrets-file.
  const given = new Map();
  for (const pair of options.vars) {
    const colon = pair.indexOf(':');
    const name = colon < 0 ? pair : pair.slice(0, colon);
    const value = colon < 0 ? '' : pair.slice(colon + 1);
    if (SECRET_NAMES.includes(name)) {
      add(`--var ${name}:… would deploy the secret ${name} as a plain-text var`, `drop the --var and run: npx wrangler secret put ${name}${envFlag}`);
      given.set(name, value);
    }
    if (dev.has(value)) add(`--var ${name}:… is a dev-only value (${dev.get(value)})`, `drop it; set real secrets with: npx wrangler secret put NAME${envFlag}`);
  }
  if (options.secretsFile !== undefined) {
    let secrets = new Map();
    try {
      secrets = readSecretsFile(resolve(options.secretsFile));
    } catch (e) {
      add(`--secrets-file ${options.secretsFile} cannot be read (${e instanceof Error ? e.message : String(e)})`, 'name a readable JSON or .env file');
    }
    for (const [name, value] of secrets) {
      if (dev.has(value)) add(`--secrets-file ${options.secretsFile}: ${name} is a dev-only value (${dev.get(value)})`, `put a real value in the file, or run: npx wrangler secret put ${name}${envFlag}`);
      if (SECRET_NAMES.includes(name)) given.set(name, value);
    }
  }

  // This shell's variables of the same names (sourced from .dev.vars, say).
  for (const name of SECRET_NAMES) {
    const value = environment[name];
    if (value !== undefined && dev.has(value)) add(`${name} in this shell's environment is a dev-only value (${dev.get(value)})`, `unset ${name} (and set the deployed secret with: npx wrangler secret put ${name}${envFlag})`);
  }

  // The two audiences must differ, wherever both tokens are given (the Worker would refuse both).
  const token = (name) => given.get(name) ?? (typeof target.vars?.[name] === 'string' ? target.vars[name] : undefined) ?? environment[name];
  const checkToken = token('CHECK_TOKEN');
  if (checkToken !== undefined && checkToken !== '' && checkToken === token('ADMIN_TOKEN')) {
    add('CHECK_TOKEN equals ADMIN_TOKEN: whoever holds the check token could administer geogate (the Worker refuses both)', `set two different long random values: npx wrangler secret put CHECK_TOKEN${envFlag} and npx wrangler secret put ADMIN_TOKEN${envFlag}`);
  }

  // The deployed environment's KV namespaces (kv_namespaces is not inherited by [env.*]).
  const where = options.env === undefined ? '[[kv_namespaces]]' : `[[env.${options.env}.kv_namespaces]]`;
  if (!(target.kv_namespaces ?? []).some((kv) => kv.binding === 'POLICY')) {
    add(`the deployed Worker has no POLICY KV namespace (${where} of ${configName}): geogate keeps its policy there`, `create it with: npx wrangler kv namespace create POLICY${envFlag}, and add binding = "POLICY" with its id to ${where}`);
  }
  for (const kv of target.kv_namespaces ?? []) {
    if (kv.id === undefined || kv.id === '' || kv.id === PLACEHOLDER_KV_ID) {
      add(`the KV namespace ${kv.binding} has ${kv.id ? `the placeholder id ${kv.id} (local dev and tests only)` : 'no id'} in ${where} of ${configName}`, `create it with: npx wrangler kv namespace create ${kv.binding}${envFlag}, and put its id in ${where}`);
    }
  }
  return { problems, configPath, env: options.env };
}

/** Prints the verdict; answers the exit status. */
export async function main(argv = process.argv.slice(2), environment = process.env) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: node scripts/predeploy.mjs [--config PATH] [--env NAME] [--var NAME:VALUE…] [--secrets-file PATH]\n(npm run deploy runs it before wrangler deploy)');
    return 0;
  }
  let result;
  try {
    result = await check(argv, environment);
  } catch (e) {
    console.error(`predeploy: cannot read the wrangler configuration: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const where = `${basename(result.configPath)}, ${result.env === undefined ? 'top level' : `env "${result.env}"`}`;
  const envFlag = result.env === undefined ? '' : ` --env ${result.env}`;
  if (result.problems.length > 0) {
    console.error(`predeploy: refusing to deploy (${where}):`);
    for (const p of result.problems) console.error(`  - ${p.problem}\n    fix: ${p.fix}`);
    console.error('See docs/security.md ("Secrets and the pre-deploy check").');
    return 1;
  }
  console.log(`predeploy: ok (${where}). Secrets live in Cloudflare and are not checked here; set each once, with long random values:`);
  for (const name of ['CHECK_TOKEN', 'ADMIN_TOKEN', 'MEMORY_HASH_SECRET', 'CLEARANCE_SECRET', 'TURNSTILE_SECRET']) console.log(`  npx wrangler secret put ${name}${envFlag}`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
