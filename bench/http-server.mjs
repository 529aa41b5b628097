// Child process of bench/http.mjs and bench/memory.mjs: serves the built Worker bundle with
// Miniflare's API.
//
// Requests go to a Miniflare "direct socket": a workerd socket bound straight to the Worker's
// service, so the benchmark measures workerd + the app and not Miniflare's entry proxy (which
// adds a hop through its own router). If direct sockets are unavailable it falls back to the
// entry URL and says so. KV is in memory and seeded with a policy (the default one for the HTTP
// bench), so checks run with policySource "kv" exactly as a deployment would. Every Durable Object
// binding of wrangler.toml is bound (config.durableObjects, from wranglerSettings()), their SQLite
// files on tmpfs (see objectsStorage): without ACCOUNT_ACTIVITY and ORG_ACTIVITY a check naming an
// account fails to reach its memory and /healthz reports "degraded".
//
// One Worker by default. With config.workers ([{ name, policyText }]) it serves several copies of
// the same bundle in the same workerd process, each with its own isolate (module state, caches),
// its own KV namespace seeded with its own policy, its own Durable Objects and its own direct
// socket (bench/memory.mjs: one under the default policy, one under history.mode "sync", ...).
// A worker entry may replace the script (`scriptPath`, then no policy is needed), the Durable
// Object bindings (`durableObjects`, e.g. pointing at another Worker's classes with `scriptName`)
// or the bindings (`bindings`), and may bind another Worker's entrypoint (`serviceBindings`).
//
// Protocol (IPC): sends { type: 'ready', url, urls, mode, storage } once serving (`url`: the first
// Worker; `urls`: every Worker's by name; `storage`: where the objects' files are); stops on
// { type: 'stop' }, SIGTERM/SIGINT, or when the parent goes away (disconnect).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';

const config = JSON.parse(process.argv[2] ?? '{}');

/** KV key of the active policy (src/policy/keys.ts, docs/storage-schema.md). */
const ACTIVE_POLICY_KEY = 'policy:active';

let mf;
let stopping = false;
/** The objects' SQLite files, on tmpfs when there is one (removed on stop). */
let objectsDir;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  try {
    await mf?.dispose();
  } finally {
    if (objectsDir) rmSync(objectsDir, { recursive: true, force: true });
    process.exit(code);
  }
}

/**
 * Where the Durable Objects keep their SQLite files. SQLite-backed objects need files (workerd's
 * in-memory object storage has no SQL API); Miniflare's default puts them in the OS temp
 * directory, i.e. on this VM's shared disk, whose contention then shows in every write of a
 * `sync` check. On /dev/shm (tmpfs) they stay in RAM: the figures show the objects' own work,
 * not the disk. Removed on stop.
 */
function objectsStorage() {
  try {
    objectsDir = mkdtempSync(join('/dev/shm', 'geogate-bench-objects-'));
    return { durableObjectsPersist: objectsDir, storage: `SQLite files on tmpfs (${objectsDir})` };
  } catch {
    return { durableObjectsPersist: undefined, storage: 'SQLite files in the OS temp directory (no /dev/shm)' };
  }
}

async function main() {
  const workers = config.workers ?? [{ name: 'geogate', policyText: readFileSync(config.policyPath, 'utf8') }];
  const { durableObjectsPersist, storage } = objectsStorage();
  mf = new Miniflare({
    durableObjectsPersist,
    workers: workers.map((w) => ({
      name: w.name,
      modules: true,
      scriptPath: w.scriptPath ?? config.scriptPath,
      compatibilityDate: config.compatibilityDate,
      compatibilityFlags: config.compatibilityFlags,
      // Namespace ids default to the binding name, which Workers of one instance would share.
      kvNamespaces: { POLICY: `POLICY-${w.name}` },
      durableObjects: w.durableObjects ?? config.durableObjects ?? {},
      bindings: w.bindings ?? config.bindings,
      // Another Worker's entrypoint, e.g. { GEOGATE: { name: 'geogate', entrypoint: 'AccessCheck' } } (bench/rpc.mjs).
      serviceBindings: w.serviceBindings ?? {},
      unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
    })),
  });
  const entryUrl = await mf.ready;

  for (const w of workers) {
    if (w.policyText === undefined) continue;
    const kv = await mf.getKVNamespace('POLICY', w.name);
    await kv.put(ACTIVE_POLICY_KEY, w.policyText);
  }

  const urls = {};
  let mode;
  try {
    for (const w of workers) urls[w.name] = (await mf.unsafeGetDirectURL(w.name)).href;
    mode = 'direct';
  } catch (err) {
    if (workers.length > 1) throw err;
    urls[workers[0].name] = entryUrl.href;
    mode = `entry (direct socket unavailable: ${err instanceof Error ? err.message : String(err)})`;
  }
  process.send?.({ type: 'ready', url: urls[workers[0].name], urls, mode, storage });
}

process.on('message', (msg) => {
  if (msg?.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void stop(0));

main().catch((err) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  void stop(1);
});
