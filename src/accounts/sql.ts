// What the memory objects share: their SQLite row type and the keyed hash that stands in for raw
// IPs and device ids.

/** One row of a SQLite result. */
export type SqlRow = Record<string, SqlStorageValue>;

/** A SQLite value as text (strings as they are, numbers in decimal, anything else empty). */
export function sqlText(v: SqlStorageValue | undefined): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The object's HMAC key. A random 32-byte salt is generated on first use and kept in the object's
 * `meta` table (as JSON text, like every meta value), so hashes are stable for the object's life
 * and mean nothing outside it; resetting the object forgets it with everything else. With the
 * MEMORY_HASH_SECRET secret set, the key is HMAC(secret, salt), so what is stored is not enough to
 * test guesses (an IPv4 address has only 2^32 values); without it the salt is the key, and the
 * stored hashes are pseudonymous to whoever can read the object's storage (docs/storage-schema.md).
 */
export async function loadOrCreateKey(sql: SqlStorage, secret?: string): Promise<CryptoKey> {
  const row = sql.exec("SELECT v FROM meta WHERE k = 'hmacKey'").toArray()[0];
  let hex = row === undefined ? undefined : (JSON.parse(sqlText(row.v)) as string);
  if (hex === undefined) {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    hex = Array.from(raw, (b) => HEX[b]).join('');
    sql.exec("INSERT INTO meta VALUES ('hmacKey', ?) ON CONFLICT (k) DO NOTHING", JSON.stringify(hex));
  }
  let bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  if (secret !== undefined && secret !== '') {
    const master = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    bytes = new Uint8Array(await crypto.subtle.sign('HMAC', master, bytes));
  }
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** HMAC-SHA-256 of `text` under `key`, the first 16 bytes in hex (collisions are negligible at these counts). */
export async function hmacHex(key: CryptoKey, text: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(text)));
  let out = '';
  for (let i = 0; i < 16; i++) out += HEX[mac[i] ?? 0];
  return out;
}

/**
 * Creates an object's tables, or drops and recreates them when an earlier layout made them: the
 * memory is disposable (at most one window is lost), so a layout change starts afresh instead of
 * migrating. The layout is kept as the meta key `layout`.
 */
export function ensureLayout(sql: SqlStorage, layout: number, tables: readonly string[], schema: string): void {
  const hasMeta = sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
  if (hasMeta) {
    const row = sql.exec("SELECT v FROM meta WHERE k = 'layout'").toArray()[0];
    if (row !== undefined && sqlText(row.v) === String(layout)) return;
    for (const t of tables) sql.exec(`DROP TABLE IF EXISTS ${t}`);
  }
  sql.exec(schema);
  sql.exec("INSERT INTO meta VALUES ('layout', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", String(layout));
}
