// Runs the SHIPPED proxy examples (examples/nginx/geogate.conf, examples/caddy/Caddyfile) on
// loopback ports, each in a temporary directory of its own. nginx: the example's marked
// placeholders are filled in (each must be found, or the example changed shape and the test says
// so) and the file is included in a minimal server block, with the prefix, pid, logs and temp
// paths in the directory. Caddy: the example reads its addresses from the environment; Caddy
// itself adapts it, and the only change is turning the admin listener off (a fixed port,
// localhost:2019, that another Caddy on the machine may hold).
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../node/process-group';
import { start, type Started } from './processes';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NGINX = '/usr/sbin/nginx';
export const CADDY = '/usr/bin/caddy';

/** Where the proxy sends what. */
export interface ProxyTargets {
  /** geogate's port on 127.0.0.1. */
  readonly geogatePort: number;
  /** The check token the proxy sends. */
  readonly token: string;
  /** The sample origin's port on 127.0.0.1. */
  readonly appPort: number;
}

/** A proxy running one of the examples. */
export interface RunningProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the proxy by PID and removes its directory; safe to call more than once. */
  stop(): Promise<void>;
  readonly process: Started;
}

/** Replaces each placeholder of the example, failing when one is not there. */
function fill(text: string, replacements: readonly (readonly [string, string])[], file: string): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`${file} no longer holds the placeholder ${JSON.stringify(from)}: update test/proxies/proxies.ts`);
    out = out.split(from).join(to);
  }
  return out;
}

/** A temporary directory, removed by the returned cleanup. */
async function workDir(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // nginx started as root runs its workers as nobody: they must reach the temp paths.
  await chmod(dir, 0o755);
  return dir;
}

/** The started proxy `proc` serving on `port`, as a {@link RunningProxy} whose stop removes `dir`. */
function running(proc: Started, port: number, dir: string): RunningProxy {
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    process: proc,
    stop: () => (stopped ??= proc.stop().finally(() => rm(dir, { recursive: true, force: true }))),
  };
}

/** Runs examples/nginx/geogate.conf in front of the sample origin. */
export async function startNginx(targets: ProxyTargets): Promise<RunningProxy> {
  const dir = await workDir('geogate-nginx-');
  try {
    const port = await freePort();
    const example = await readFile(join(root, 'examples', 'nginx', 'geogate.conf'), 'utf8');
    const geogate = `127.0.0.1:${targets.geogatePort}`;
    const filled = fill(
      example,
      [
        ['https://geogate.example.workers.dev', `http://${geogate}`],
        ['geogate.example.workers.dev', geogate],
        ['CHECK_TOKEN_HERE', targets.token],
        ['http://app', `http://127.0.0.1:${targets.appPort}`],
      ],
      'examples/nginx/geogate.conf',
    );
    await writeFile(join(dir, 'geogate.conf'), filled);
    const asRoot = process.getuid?.() === 0;
    const conf = [
      // Started as root (a CI container), nginx would run its workers as "nobody:nobody", and
      // Debian has no group "nobody".
      ...(asRoot ? ['user nobody nogroup;'] : []),
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 64; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, `${t}_temp`)};`),
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    server_name localhost;',
      `    include ${join(dir, 'geogate.conf')};`,
      '  }',
      '}',
      '',
    ].join('\n');
    await writeFile(join(dir, 'nginx.conf'), conf);
    const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'];
    return running(await start('nginx', NGINX, args, { port }), port, dir);
  } catch (err) {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw log === '' ? err : new Error(`${(err as Error).message}\nerror.log:\n${log}`, { cause: err });
  }
}

/** Runs examples/caddy/Caddyfile in front of the sample origin. */
export async function startCaddy(targets: ProxyTargets): Promise<RunningProxy> {
  const dir = await workDir('geogate-caddy-');
  try {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      // Caddy keeps its state (autosave.json, certificates) under these: inside the directory.
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_DATA_HOME: join(dir, 'data'),
      GEOGATE_SITE: `http://127.0.0.1:${port}`,
      GEOGATE_URL: `http://127.0.0.1:${targets.geogatePort}`,
      GEOGATE_APP: `127.0.0.1:${targets.appPort}`,
      GEOGATE_CHECK_TOKEN: targets.token,
    };
    const adapted = spawnSync(CADDY, ['adapt', '--config', join(root, 'examples', 'caddy', 'Caddyfile'), '--adapter', 'caddyfile'], { env, encoding: 'utf8', timeout: 15_000 });
    if (adapted.status !== 0) throw new Error(`caddy adapt failed (${adapted.status ?? adapted.signal}):\n${adapted.stderr}`);
    const config = JSON.parse(adapted.stdout) as Record<string, unknown>;
    config.admin = { disabled: true };
    await writeFile(join(dir, 'caddy.json'), JSON.stringify(config, null, 2));
    return running(await start('caddy', CADDY, ['run', '--config', join(dir, 'caddy.json')], { port, env }), port, dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
