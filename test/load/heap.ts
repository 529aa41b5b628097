// Forcing a full garbage collection in workerd's isolates, through its V8 inspector (Chrome
// DevTools Protocol over a WebSocket), and reading their JS heaps.
//
// Why: workerd's RSS under load climbs for minutes even for a Worker that answers "ok" (measured
// here: ~130 MiB to a plateau near 550 MiB over ~230,000 requests): every request leaves native
// memory (buffers, streams) owned by JS objects that V8 collects only when its own heap, which does
// not count that memory, asks for a full GC. With a full GC forced every few seconds the same
// no-op Worker stays near 100-130 MiB. So memory read right after a forced GC ("settled") shows
// what the Worker keeps, a leak included, and not garbage waiting for V8's next major GC.
//
// workerd runs an isolate's inspector commands under that isolate's lock: HeapProfiler.collectGarbage
// answers only once the isolate serves something, hence `poke` while waiting.
import { WebSocket } from 'undici';

/** An inspector target: one isolate (workerd names user Workers `core:user:<name>`). */
export interface InspectorTarget {
  readonly id: string;
  readonly webSocketDebuggerUrl: string;
}

/** The inspector's targets (GET /json/list on the inspector's port). */
export async function inspectorTargets(inspector: URL): Promise<InspectorTarget[]> {
  const res = await fetch(`http://127.0.0.1:${inspector.port}/json/list`);
  if (!res.ok) throw new Error(`inspector /json/list answered ${res.status}`);
  return res.json<InspectorTarget[]>();
}

/** One isolate's JS heap, MiB. */
export interface HeapUsage {
  readonly usedMiB: number;
  readonly totalMiB: number;
}

interface CdpReply {
  id: number;
  result?: { usedSize?: number; totalSize?: number };
  error?: { message: string };
}

/** Opens a session on `target`, runs `methods` in order, closes; rejects after `timeoutMs`. */
async function session(target: InspectorTarget, methods: readonly string[], timeoutMs: number): Promise<CdpReply[]> {
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<CdpReply[]>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${target.id}: no answer to ${methods.join(', ')} within ${timeoutMs} ms`)), timeoutMs);
      const replies: CdpReply[] = [];
      const send = (i: number) => ws.send(JSON.stringify({ id: i + 1, method: methods[i], params: {} }));
      ws.onerror = () => reject(new Error(`${target.id}: inspector WebSocket error`));
      ws.onopen = () => send(0);
      ws.onmessage = (event) => {
        const msg = JSON.parse(String(event.data)) as CdpReply;
        if (msg.id !== replies.length + 1) return;
        if (msg.error) return reject(new Error(`${target.id}: ${methods[replies.length]}: ${msg.error.message}`));
        replies.push(msg);
        if (replies.length === methods.length) resolve(replies);
        else send(replies.length);
      };
    });
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}

/** Forces a full GC in `target`'s isolate, then reads its heap. */
export async function collectGarbage(target: InspectorTarget, timeoutMs = 15_000): Promise<HeapUsage> {
  const replies = await session(target, ['HeapProfiler.collectGarbage', 'Runtime.getHeapUsage'], timeoutMs);
  const usage = replies[1]?.result;
  if (typeof usage?.usedSize !== 'number' || typeof usage.totalSize !== 'number') throw new Error(`${target.id}: no heap usage in ${JSON.stringify(replies)}`);
  return { usedMiB: usage.usedSize / 2 ** 20, totalMiB: usage.totalSize / 2 ** 20 };
}

/** Runs `f` while `poke` runs every `everyMs` (so that the isolates have something to serve). */
export async function whilePoking<T>(poke: () => Promise<unknown>, f: () => Promise<T>, everyMs = 5): Promise<T> {
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await poke().catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  try {
    return await f();
  } finally {
    stop = true;
    await loop;
  }
}
