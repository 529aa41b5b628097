// Child process of bench/http.mjs: serves the built Worker bundle with Miniflare's API.
//
// Requests go to a Miniflare "direct socket": a workerd socket bound straight to the Worker's
// service, so the benchmark measures workerd + the app and not Miniflare's entry proxy (which
// adds a hop through its own router). If direct sockets are unavailable it falls back to the
// entry URL and says so. KV is in memory and seeded with the default policy, so both routes run
// with policySource "kv" exactly as a deployment would.
//
// Protocol (IPC): sends { type: 'ready', url, mode } once serving; stops on { type: 'stop' },
// SIGTERM/SIGINT, or when the parent goes away (disconnect).
import { readFileSync } from 'node:fs';
import { Miniflare } from 'miniflare';

const config = JSON.parse(process.argv[2] ?? '{}');

/** KV key of the active policy (src/policy/keys.ts, docs/storage-schema.md). */
const ACTIVE_POLICY_KEY = 'policy:active';

let mf;
let stopping = false;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  try {
    await mf?.dispose();
  } finally {
    process.exit(code);
  }
}

async function main() {
  mf = new Miniflare({
    modules: true,
    scriptPath: config.scriptPath,
    compatibilityDate: config.compatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
    kvNamespaces: ['POLICY'],
    bindings: config.bindings,
    unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
  });
  const entryUrl = await mf.ready;

  const kv = await mf.getKVNamespace('POLICY');
  await kv.put(ACTIVE_POLICY_KEY, readFileSync(config.policyPath, 'utf8'));

  let url;
  let mode;
  try {
    url = await mf.unsafeGetDirectURL();
    mode = 'direct';
  } catch (err) {
    url = entryUrl;
    mode = `entry (direct socket unavailable: ${err instanceof Error ? err.message : String(err)})`;
  }
  process.send?.({ type: 'ready', url: url.href, mode });
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
