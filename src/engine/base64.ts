// Typed arrays <-> base64 text, for artifacts stored as text (policy snapshots, network intel).
// Words are stored little-endian whatever the platform; decoding reads them in place when it can.

/** Base64 of bytes. */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  // In chunks: String.fromCharCode takes its bytes as arguments.
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(out);
}

/** The runtime's native base64 decoder (workerd has it; Node 20 does not), if any. */
const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;

/** Whether this platform stores a Uint32Array little-endian (then words are read in place). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The bytes of base64 text; undefined when it is not a string or not base64. */
export function base64ToBytes(b64: unknown): Uint8Array | undefined {
  if (typeof b64 !== 'string') return undefined;
  try {
    if (fromBase64) return fromBase64(b64);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** Base64 of 32-bit words, little-endian. */
export function wordsToBase64(words: Uint32Array): string {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(4 * i, words[i] ?? 0, true);
  return bytesToBase64(bytes);
}

/** Base64 of 16-bit numbers, little-endian. */
export function halvesToBase64(halves: Uint16Array): string {
  const bytes = new Uint8Array(halves.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < halves.length; i++) view.setUint16(2 * i, halves[i] ?? 0, true);
  return bytesToBase64(bytes);
}

/** The 32-bit words of base64 text (little-endian); undefined when malformed or not a whole number of words. */
export function base64ToWords(b64: unknown): Uint32Array | undefined {
  const bytes = base64ToBytes(b64);
  if (!bytes || bytes.length % 4 !== 0) return undefined;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

/** The 16-bit numbers of base64 text (little-endian); undefined when malformed or of odd length. */
export function base64ToHalves(b64: unknown): Uint16Array | undefined {
  const bytes = base64ToBytes(b64);
  if (!bytes || bytes.length % 2 !== 0) return undefined;
  if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}
