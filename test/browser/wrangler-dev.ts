// Runs `wrangler dev` with several configs in one process, as a developer runs an origin Worker
// next to geogate: the first config is served, the others provide the Workers its service
// bindings name (geogate and its AccessCheck entrypoint). Offline, quiet, and isolated from the
// developer's machine: its own persistence, its own dev registry (another `wrangler dev` running
// beside it cannot answer its bindings), and geogate's secrets from a temporary .dev.vars.
//
// Why temporary copies of the configs: in multi-config dev, wrangler 4.86 hands `--var` and
// `--env-file` to the first config only; the others read `.dev.vars` (or `.env`) next to their
// config file, which for the repo's wrangler.toml is the developer's gitignored .dev.vars. The
// copy of geogate's sits in a temporary directory beside a .dev.vars holding the test's values,
// its `main` pointing back at the repo's entry (the served Worker's is copied the same way).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { exited, freePort, signalGroup } from '../node/process-group';
import { ROOT, WRANGLER_BIN, WRANGLER_ENV } from '../node/wrangler-env';

/** Options of {@link startWranglerDev}. */
export interface WranglerDevOptions {
  /** The served Worker's config, relative to the repo root. */
  readonly config: string;
  /** geogate's secrets and vars for this run (written to the temporary .dev.vars). */
  readonly geogateVars: Record<string, string>;
  /**
   * How long to wait for "Ready on".
   * @default 90_000 ms
   */
  readonly readyTimeoutMs?: number;
}

/** A running `wrangler dev`. */
export interface WranglerDev {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** Everything wrangler printed so far (for failure messages). */
  output(): string;
  /** Stops wrangler's whole process group and removes the temporary files; safe to call twice. */
  stop(): Promise<void>;
}

/** A repo config's text with `main` made absolute, for a copy living elsewhere. */
async function configCopy(config: string): Promise<string> {
  const path = resolve(ROOT, config);
  const text = await readFile(path, 'utf8');
  const main = /^main\s*=\s*"([^"]+)"\s*$/m;
  const entry = main.exec(text)?.[1];
  if (entry === undefined) throw new Error(`${config} has no \`main = "..."\` line to point at the repo`);
  const absolute = isAbsolute(entry) ? entry : resolve(dirname(path), entry);
  return text.replace(main, `main = ${JSON.stringify(absolute)}`);
}

/** A .dev.vars file: one KEY="value" per line (values are test strings without quotes or newlines). */
function devVars(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([key, value]) => {
      if (/["\n\\]/.test(value)) throw new Error(`${key}: test values must not hold quotes, backslashes or newlines`);
      return `${key}="${value}"\n`;
    })
    .join('');
}

/** Starts `wrangler dev -c <config> -c <copy of geogate's wrangler.toml>` on a free port. */
export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const dir = await mkdtemp(join(tmpdir(), 'geogate-wrangler-dev-'));
  let child: ChildProcess | undefined;
  let output = '';
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      try {
        if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          // wrangler starts workerd and esbuild below it: signal the whole group (detached: true).
          const pid = child.pid;
          signalGroup(pid, 'SIGTERM');
          if (!(await exited(child, 5_000))) {
            signalGroup(pid, 'SIGKILL');
            await exited(child, 5_000);
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })());
  try {
    // Both configs are copied: wrangler writes its build output (.wrangler/tmp) beside each
    // config, and the repo's tree must not hold bundles that lint or git would see.
    const originDir = join(dir, 'origin');
    const geogateDir = join(dir, 'geogate');
    await Promise.all([mkdir(originDir), mkdir(geogateDir)]);
    await writeFile(join(originDir, 'wrangler.toml'), await configCopy(options.config));
    await writeFile(join(geogateDir, 'wrangler.toml'), await configCopy('wrangler.toml'));
    await writeFile(join(geogateDir, '.dev.vars'), devVars(options.geogateVars));
    const [port, inspectorPort] = [await freePort(), await freePort()];
    const args = [WRANGLER_BIN, 'dev', '-c', join(originDir, 'wrangler.toml'), '-c', join(geogateDir, 'wrangler.toml'), '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort), '--persist-to', join(dir, 'state'), '--show-interactive-dev-session=false'];
    child = spawn(process.execPath, args, {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...WRANGLER_ENV, WRANGLER_REGISTRY_PATH: join(dir, 'registry') },
    });
    const running = child;
    const ready = new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`wrangler dev was not ready within ${options.readyTimeoutMs ?? 90_000} ms:\n${output}`)), options.readyTimeoutMs ?? 90_000);
      const read = (d: Buffer) => {
        output += d.toString();
        if (output.includes(`Ready on http://127.0.0.1:${port}`)) {
          clearTimeout(timer);
          resolveReady();
        }
      };
      running.stdout?.on('data', read);
      running.stderr?.on('data', read);
      running.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      running.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`wrangler dev exited (${code ?? signal}) before it was ready:\n${output}`));
      });
    });
    await ready;
    return { origin: `http://127.0.0.1:${port}`, port, output: () => output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

