// Serves the deployable Worker bundle on 127.0.0.1 for tests that drive a real browser: built with
// `wrangler deploy --dry-run` (the artefact a deploy uploads), run by Miniflare's API with every
// binding of wrangler.toml (KV, Durable Objects, [vars]) plus the test's, and no network: every
// outbound fetch goes to the caller's `outbound` function.
// Requests go through Miniflare's entry worker, not a direct socket (bench/http-server.mjs uses
// those): the entry worker is what sets CF-Connecting-IP to the client's address when the request
// has none, as Cloudflare does in front of a deployed Worker. Direct sockets skip it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Miniflare, type Request as MiniflareRequest, type Response as MiniflareResponse } from 'miniflare';
import { unstable_getDurableObjectClassNameToUseSQLiteMap, unstable_readConfig } from 'wrangler';
import { ROOT, WRANGLER_BIN, WRANGLER_ENV } from '../node/wrangler-env';

/**
 * A Worker served beside the bundle, in Miniflare's terms (miniflare's own `WorkerOptions` type
 * reads as `any` here: it is built from the zod 3 types of a zod this repo does not install).
 */
export interface ExtraWorker {
  readonly name: string;
  readonly modules: true;
  readonly scriptPath: string;
  readonly compatibilityDate: string;
  readonly compatibilityFlags?: string[];
  /** e.g. `{ GEOGATE: { name: 'geogate', entrypoint: 'AccessCheck' } }` */
  readonly serviceBindings?: Record<string, string | { readonly name: string; readonly entrypoint?: string }>;
  /** Sockets bound straight to this Worker, e.g. `[{ host: '127.0.0.1', port: 0 }]`. */
  readonly unsafeDirectSockets?: { readonly host: string; readonly port: number }[];
}

/** Options of {@link serveWorker}. */
export interface ServeWorkerOptions {
  /** Bindings added to (and replacing) wrangler.toml's [vars]: the test's secrets and switches. */
  readonly bindings: Record<string, string>;
  /** Answers every outbound fetch of the Worker (there is no network). */
  readonly outbound: (request: MiniflareRequest) => MiniflareResponse | Promise<MiniflareResponse>;
  /**
   * More Workers served by the same workerd beside the bundle (which is named "geogate"), e.g. a
   * caller with a service binding `{ name: 'geogate', entrypoint: 'AccessCheck' }`. Reach one with
   * `unsafeDirectSockets` and `miniflare.unsafeGetDirectURL(name)`.
   */
  readonly extraWorkers?: readonly ExtraWorker[];
  /** Receives workerd's stdout and stderr (default: Miniflare prints them). Keep reading both. */
  readonly runtimeStdio?: (stdout: Readable, stderr: Readable) => void;
  /** Where the run's directory (bundle, the objects' SQLite files) is made; default: the OS temp directory. */
  readonly tmpRoot?: string;
  /** Opens workerd's V8 inspector on a free loopback port (`miniflare.getInspectorURL()`). */
  readonly inspector?: boolean;
}

/** A served Worker. */
export interface ServedWorker {
  /** `http://127.0.0.1:<port>/` */
  readonly url: URL;
  readonly port: number;
  /** The Miniflare instance: KV namespaces, the direct URLs of {@link ServeWorkerOptions.extraWorkers}. */
  readonly miniflare: Miniflare;
  /** Stops workerd and removes the build and the objects' files; safe to call more than once. */
  stop(): Promise<void>;
}

/** Runs `wrangler deploy --dry-run --outdir <outdir>`; answers the bundle's path. */
async function buildBundle(outdir: string): Promise<string> {
  const child = spawn(process.execPath, [WRANGLER_BIN, 'deploy', '--dry-run', '--outdir', outdir], { cwd: ROOT, env: WRANGLER_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${code}):\n${output}`);
  return join(outdir, 'index.js');
}

/**
 * The parts of wrangler's normalised config read here. Its own type lives in a package wrangler
 * bundles (@cloudflare/workers-utils) and is not installed, so it reads as `any`.
 */
interface WranglerConfig {
  readonly compatibility_date?: string;
  readonly compatibility_flags: string[];
  readonly vars: Record<string, unknown>;
  readonly kv_namespaces: readonly { readonly binding: string }[];
  readonly durable_objects: { readonly bindings: readonly { readonly name: string; readonly class_name: string }[] };
  readonly migrations: unknown;
}

/** wrangler.toml's runtime settings and bindings, read by wrangler itself (without .dev.vars). */
function wranglerSettings() {
  const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') }, { hideWarnings: true }) as WranglerConfig;
  const sqlite = unstable_getDurableObjectClassNameToUseSQLiteMap(config.migrations);
  const vars = Object.fromEntries(Object.entries(config.vars).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    vars,
    kvNamespaces: Object.fromEntries(config.kv_namespaces.map((kv) => [kv.binding, kv.binding])),
    durableObjects: Object.fromEntries(config.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: sqlite.get(b.class_name) ?? false }])),
  };
}

/** Builds the Worker and serves it on 127.0.0.1 (a free port). */
export async function serveWorker(options: ServeWorkerOptions): Promise<ServedWorker> {
  const dir = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'geogate-browser-'));
  let mf: Miniflare | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      try {
        await mf?.dispose();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })());
  try {
    const scriptPath = await buildBundle(join(dir, 'bundle'));
    const settings = wranglerSettings();
    mf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      durableObjectsPersist: join(dir, 'objects'),
      workers: [
        {
          name: 'geogate',
          modules: true,
          scriptPath,
          // Module names are paths relative to this root; outside the cwd they would start with "..".
          modulesRoot: dirname(scriptPath),
          ...(settings.compatibilityDate !== undefined ? { compatibilityDate: settings.compatibilityDate } : {}),
          compatibilityFlags: settings.compatibilityFlags,
          kvNamespaces: settings.kvNamespaces,
          durableObjects: settings.durableObjects,
          bindings: { ...settings.vars, ...options.bindings },
          outboundService: options.outbound,
        },
        ...(options.extraWorkers ?? []),
      ],
      ...(options.runtimeStdio !== undefined ? { handleRuntimeStdio: options.runtimeStdio } : {}),
      ...(options.inspector === true ? { inspectorPort: 0 } : {}),
    });
    const url = await mf.ready;
    return { url, port: Number(url.port), miniflare: mf, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
