// Where stored text lives, behind an interface: every artifact adapter (the policy store today,
// on the ArtifactCache of ./artifact-cache.ts) reads and writes through it, the Workers KV adapter
// below is the production implementation, and tests wrap the real KV binding with faults
// (throwing, slow, corrupt reads) or use an in-memory store instead of mocking KV by hand.

/** The outcome of a bounded read. Storage failures are thrown, not returned. */
export type TextRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'text'; readonly text: string }
  /** The value is larger than the bound; `bytes` is how much was read before giving up. */
  | { readonly kind: 'too-large'; readonly bytes: number };

/** String metadata stored next to a value (KV metadata: at most 1024 bytes of JSON). */
export type TextMetadata = Readonly<Record<string, string>>;

/** A key-value store of UTF-8 text. */
export interface TextStore {
  /** Reads `key`, giving up (without buffering the rest) once more than `maxBytes` arrived. */
  read(key: string, maxBytes: number): Promise<TextRead>;
  /** Writes `text` under `key`, with optional metadata. */
  write(key: string, text: string, metadata?: TextMetadata): Promise<void>;
  /** The metadata of `key` without its value; undefined when absent or without metadata. */
  metadata(key: string): Promise<TextMetadata | undefined>;
}

/** Reads a stream until it ends or exceeds `maxBytes`. */
async function readBounded(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<TextRead> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel();
      return { kind: 'too-large', bytes };
    }
    chunks.push(value);
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  // Invalid UTF-8 becomes U+FFFD and fails validation later: corrupt data is rejected, not thrown.
  return { kind: 'text', text: new TextDecoder().decode(all) };
}

/** The production store: a Workers KV namespace. */
export function kvTextStore(kv: KVNamespace): TextStore {
  return {
    async read(key, maxBytes) {
      const stream: ReadableStream<Uint8Array> | null = await kv.get(key, 'stream');
      if (stream === null) return { kind: 'absent' };
      return readBounded(stream, maxBytes);
    },
    async write(key, text, metadata) {
      await kv.put(key, text, metadata ? { metadata } : undefined);
    },
    async metadata(key) {
      // list() returns metadata without the value (which may be megabytes).
      const page = await kv.list<Record<string, unknown>>({ prefix: key, limit: 10 });
      const meta = page.keys.find((k) => k.name === key)?.metadata;
      if (!meta || typeof meta !== 'object') return undefined;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') out[k] = v;
      return out;
    },
  };
}
