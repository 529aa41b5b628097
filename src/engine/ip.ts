// IP addresses and CIDR sets: a strict hand-written parser (policies carry ~60k CIDRs, so parsing
// must cost well under a microsecond an entry) and sorted, merged ranges searched in O(log n).
// Invariants: IPv4-mapped IPv6 (::ffff:a.b.c.d) is always the IPv4 address itself; an IPv4 that
// an IPv6 address merely embeds (6to4, Teredo, NAT64, ...) is matched only when the caller asks
// for it with 'with-embedded', because it may only ever make a request MORE suspicious.
// Pure: no I/O; lookups allocate nothing until they find a block.

/** A parsed address: IPv4 as an unsigned 32-bit number, IPv6 as a 128-bit bigint. */
export type ParsedIp = { readonly version: 4; readonly value: number } | { readonly version: 6; readonly value: bigint };

/**
 * How a lookup treats an IPv6 address that embeds an IPv4 one.
 * - `'exact'`: only the address itself (and the IPv4 an IPv4-mapped address is). Use it for
 *   anything that allows or lifts: the sender can often pick an IPv6 form that embeds an allowed
 *   IPv4 (a 6to4 or Teredo address of someone else's host), so an embedded IPv4 proves nothing.
 * - `'with-embedded'`: the address itself OR any IPv4 it embeds. Use it for anything that denies,
 *   challenges or scores: traffic from a 6to4, Teredo or NAT64 address really does come from
 *   (or through) the embedded IPv4 host.
 */
export type IpMatchMode = 'exact' | 'with-embedded';

/** The mechanisms whose addresses embed an IPv4 address (see {@link embeddedIpv4}). */
export type EmbeddedVia = 'ipv4-compatible' | 'siit' | 'nat64' | '6to4' | 'teredo' | 'isatap';

/** Why an address matched a block: itself, or the IPv4 it embeds through one mechanism. */
export type MatchVia = 'address' | EmbeddedVia;

/** One IPv4 address embedded in an IPv6 address. */
export interface EmbeddedIpv4 {
  readonly via: EmbeddedVia;
  /** The IPv4 address as an unsigned 32-bit number. */
  readonly value: number;
}

/** A lookup hit: the block, and which address (the request's or an embedded IPv4) fell in it. */
export interface CidrMatch {
  /** The block as normalised text (`10.0.0.0/8`, `2001:db8::/32`). */
  readonly cidr: string;
  readonly via: MatchVia;
  /** The address that is in `cidr`: the request's own (canonical text) or the embedded IPv4. */
  readonly matchedIp: string;
}

// ---------------------------------------------------------------------------------------------
// Parsing. The low-level parsers write into module scratch and return a status, so validating a
// list of 60k CIDRs allocates nothing per entry (workerd isolates are single-threaded, and
// nothing here re-enters). Grammar (RFC 4291 §2.2, stricter where ambiguity is dangerous):
// - IPv4: exactly four decimal octets 0-255, no leading zeros (`01` is octal to inet_aton), so
//   `127.1`, `0x7f.0.0.1` and `010.0.0.1` are rejected.
// - IPv6: 1-4 hex digits a group, any case, at most one `::` standing for one or more zero groups,
//   an optional strict dotted-quad tail for the last 32 bits; no zone index (`%eth0`).

/** Words of the last address parsed (IPv4 as `::ffff:a.b.c.d`), most significant first. */
const W = new Uint32Array(4);
/** Groups of the IPv6 address being parsed. */
const G = new Uint16Array(8);

/** Value of hex digit `c` (a char code), or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses the IPv4 address `s[from, to)`; its value, or -1. */
function parseV4(s: string, from: number, to: number): number {
  let value = 0;
  let i = from;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= to || s.charCodeAt(i) !== 46) return -1; // '.'
      i++;
    }
    const start = i;
    let n = 0;
    while (i < to && i - start < 4) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || n > 255 || (len > 1 && s.charCodeAt(start) === 48)) return -1;
    value = value * 256 + n;
  }
  return i === to ? value : -1;
}

/** Parses the IPv6 address `s[from, to)` into {@link W}; whether it is valid. */
function parseV6(s: string, from: number, to: number): boolean {
  let n = 0; // groups read
  let gap = -1; // index in G where '::' stands, or -1
  let i = from;
  if (i + 1 < to && s.charCodeAt(i) === 58 && s.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
  }
  if (i < to || gap < 0) {
    for (;;) {
      const start = i;
      let group = 0;
      while (i < to && i - start < 5) {
        const d = hexDigit(s.charCodeAt(i));
        if (d < 0) break;
        group = (group << 4) | d;
        i++;
      }
      if (i < to && s.charCodeAt(i) === 46) {
        // A dotted-quad tail: the last 32 bits, so it ends the text and needs two free groups.
        if (n > 6) return false;
        const v4 = parseV4(s, start, to);
        if (v4 < 0) return false;
        G[n++] = v4 >>> 16;
        G[n++] = v4 & 0xffff;
        break;
      }
      const len = i - start;
      if (len === 0 || len > 4 || n === 8) return false;
      G[n++] = group;
      if (i === to) break;
      if (s.charCodeAt(i) !== 58) return false; // ':'
      i++;
      if (i < to && s.charCodeAt(i) === 58) {
        if (gap >= 0) return false;
        gap = n;
        i++;
        if (i === to) break;
      }
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  // Expand '::' by moving the groups after it to the end and zero-filling between.
  for (let k = 7, j = n - 1; k >= 0; k--) {
    if (gap >= 0 && j >= gap) G[k] = G[j--] ?? 0;
    else if (gap >= 0 && k >= gap) G[k] = 0;
    else break;
  }
  for (let k = 0; k < 4; k++) W[k] = (((G[2 * k] ?? 0) << 16) | (G[2 * k + 1] ?? 0)) >>> 0;
  return true;
}

/** Parses an address into {@link W} (IPv4 as `::ffff:a.b.c.d`): 4, 6, or 0 when invalid. */
function parseInto(s: string, from: number, to: number): 0 | 4 | 6 {
  // IPv4 first: most entries are IPv4, and IPv6 text fails it within its first five characters.
  const v4 = parseV4(s, from, to);
  if (v4 >= 0) {
    W[0] = 0;
    W[1] = 0;
    W[2] = 0xffff;
    W[3] = v4;
    return 4;
  }
  return parseV6(s, from, to) ? 6 : 0;
}

/** Whether the words are IPv4-mapped (`::ffff:0:0/96`), i.e. the IPv4 address in the last word. */
function isMapped(w0: number, w1: number, w2: number): boolean {
  return w0 === 0 && w1 === 0 && w2 === 0xffff;
}

/** The words of a parsed address, and every IPv4 it embeds, derived once per address object. */
interface LookupKey {
  /** The IPv4 the address is (IPv4, or IPv4-mapped IPv6), or -1 for other IPv6. */
  readonly v4: number;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly embedded: readonly EmbeddedIpv4[];
}

const NONE: readonly EmbeddedIpv4[] = Object.freeze([]);

/**
 * Lookup keys by address object. A request's address is looked up in several sets (rules, VPN,
 * hosting); deriving its words and embedded IPv4s once keeps every lookup allocation-free.
 */
const KEYS = new WeakMap<ParsedIp, LookupKey>();

function embeddedOfWords(w0: number, w1: number, w2: number, w3: number): readonly EmbeddedIpv4[] {
  const out: EmbeddedIpv4[] = [];
  // ::a.b.c.d, RFC 4291 §2.5.5.1 (deprecated); :: and ::1 are the unspecified and loopback addresses.
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 > 1) out.push({ via: 'ipv4-compatible', value: w3 });
  // ::ffff:0:a.b.c.d, SIIT's IPv4-translated addresses (RFC 2765 §2.1).
  if (w0 === 0 && w1 === 0 && w2 === 0xffff0000) out.push({ via: 'siit', value: w3 });
  // 64:ff9b::a.b.c.d, the NAT64 well-known prefix (RFC 6052 §2.1). The local-use 64:ff9b:1::/48
  // (RFC 8215) is deliberately not decoded: each network carves its own prefix out of it, of any
  // RFC 6052 length from /48 to /96, and the IPv4 sits at a different offset for each length, so
  // the address alone does not say where the IPv4 is; it is not globally routed either, so only
  // a caller inside that network could report one, and it knows the real IPv4.
  if (w0 === 0x0064ff9b && w1 === 0 && w2 === 0) out.push({ via: 'nat64', value: w3 });
  // 2002:AABB:CCDD::/48, 6to4 (RFC 3056 §2): the IPv4 is bits 16-47.
  if (w0 >>> 16 === 0x2002) out.push({ via: '6to4', value: (((w0 & 0xffff) << 16) | (w1 >>> 16)) >>> 0 });
  // 2001:0::/32, Teredo (RFC 4380 §4): the client's public IPv4 is the last 32 bits inverted.
  // (Bits 32-63 are the Teredo server, infrastructure rather than the client: not used.)
  if (w0 === 0x20010000) out.push({ via: 'teredo', value: ~w3 >>> 0 });
  // Interface id 0000:5efe:a.b.c.d or 0200:5efe:a.b.c.d (u bit set), ISATAP (RFC 5214 §6.1).
  if (w2 === 0x00005efe || w2 === 0x02005efe) out.push({ via: 'isatap', value: w3 });
  return out.length === 0 ? NONE : Object.freeze(out);
}

function keyOfWords(w0: number, w1: number, w2: number, w3: number): LookupKey {
  if (isMapped(w0, w1, w2)) return { v4: w3, w0, w1, w2, w3, embedded: NONE };
  return { v4: -1, w0, w1, w2, w3, embedded: embeddedOfWords(w0, w1, w2, w3) };
}

function keyOf(ip: ParsedIp): LookupKey {
  let key = KEYS.get(ip);
  if (key === undefined) {
    if (ip.version === 4) {
      key = { v4: ip.value, w0: 0, w1: 0, w2: 0xffff, w3: ip.value, embedded: NONE };
    } else {
      const v = ip.value;
      key = keyOfWords(
        Number(BigInt.asUintN(32, v >> 96n)),
        Number(BigInt.asUintN(32, v >> 64n)),
        Number(BigInt.asUintN(32, v >> 32n)),
        Number(BigInt.asUintN(32, v)),
      );
    }
    KEYS.set(ip, key);
  }
  return key;
}

function wordsToBigInt(w0: number, w1: number, w2: number, w3: number): bigint {
  return (BigInt(w0) << 96n) | (BigInt(w1) << 64n) | (BigInt(w2) << 32n) | BigInt(w3);
}

/**
 * Whether `s` is an IPv4 address in strict dotted-quad form or an IPv6 address in any RFC 4291
 * text form (compressed, full, mixed with a dotted quad, any case) without a zone index.
 * Stricter than `ipaddr.isValid`, which also takes `0x7f.1`, `127.1` and `fe80::1%eth0`.
 */
export function isIpAddress(s: string): boolean {
  return parseInto(s, 0, s.length) !== 0;
}

/**
 * Parses an address accepted by {@link isIpAddress}; IPv4-mapped IPv6 becomes IPv4.
 * Unlike ipaddr.js, `::1.2.3.4` is the IPv4-compatible `::102:304`, not the mapped `::ffff:1.2.3.4`.
 */
export function parseIp(s: string): ParsedIp | undefined {
  const kind = parseInto(s, 0, s.length);
  if (kind === 0) return undefined;
  const [w0 = 0, w1 = 0, w2 = 0, w3 = 0] = W;
  const key = keyOfWords(w0, w1, w2, w3);
  const ip: ParsedIp = key.v4 >= 0 ? { version: 4, value: key.v4 } : { version: 6, value: wordsToBigInt(w0, w1, w2, w3) };
  KEYS.set(ip, key);
  return ip;
}

/**
 * Every IPv4 address that `ip` embeds, in a fixed order (ipv4-compatible, siit, nat64, 6to4,
 * teredo, isatap); empty for IPv4 and IPv4-mapped addresses, which ARE an IPv4 address rather
 * than embedding one. A 6to4 address with an ISATAP interface id yields both.
 */
export function embeddedIpv4(ip: ParsedIp): readonly EmbeddedIpv4[] {
  return keyOf(ip).embedded;
}

// ---------------------------------------------------------------------------------------------
// Formatting (evidence text): dotted quad, and RFC 5952 for IPv6 (lower case, the longest run of
// two or more zero groups compressed, the first one on a tie).

function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function formatV6(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestAt = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestAt = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** Canonical text of an address: dotted quad for IPv4 (and IPv4-mapped), RFC 5952 for IPv6. */
export function formatIp(ip: ParsedIp): string {
  const k = keyOf(ip);
  return k.v4 >= 0 ? formatV4(k.v4) : formatV6(k.w0, k.w1, k.w2, k.w3);
}

// ---------------------------------------------------------------------------------------------
// CIDR blocks.

/** Mask of the first `bits` bits of a 32-bit word (0-32). */
function wordMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parses `s[0, length)` as a CIDR block into {@link W} (the block's first address, host bits
 * cleared); returns the prefix length on the 128-bit scale for IPv6 and IPv4-as-mapped alike
 * (IPv4 /n is ::ffff:0:0/96+n), or -1 when invalid. Prefix lengths are 1-3 decimal digits.
 */
function parseCidrInto(s: string): number {
  const slash = s.indexOf('/');
  if (slash < 0) return -1;
  const end = s.length;
  const digits = end - slash - 1;
  if (digits < 1 || digits > 3) return -1;
  let bits = 0;
  for (let i = slash + 1; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    bits = bits * 10 + d;
  }
  const kind = parseInto(s, 0, slash);
  if (kind === 4) {
    if (bits > 32) return -1;
    W[3] = ((W[3] ?? 0) & wordMask(bits)) >>> 0;
    return bits + 96;
  }
  if (kind === 0 || bits > 128) return -1;
  for (let k = 0; k < 4; k++) W[k] = ((W[k] ?? 0) & wordMask(bits - 32 * k)) >>> 0;
  return bits;
}

/** One CIDR block as an inclusive range, with its normalised text for evidence. */
export interface CidrRange {
  readonly version: 4 | 6;
  readonly start: number | bigint;
  readonly end: number | bigint;
  readonly text: string;
}

/**
 * Parses `a.b.c.d/n` or `x::/n`. Host bits are ignored (`10.1.2.3/8` is `10.0.0.0/8`);
 * an IPv4-mapped IPv6 block with prefix >= 96 becomes the IPv4 block it covers.
 */
export function parseCidr(s: string): CidrRange | undefined {
  const bits = parseCidrInto(s);
  if (bits < 0) return undefined;
  const [w0 = 0, w1 = 0, w2 = 0, w3 = 0] = W;
  if (bits >= 96 && isMapped(w0, w1, w2)) {
    const end = (w3 | ~wordMask(bits - 96)) >>> 0;
    return { version: 4, start: w3, end, text: `${formatV4(w3)}/${bits - 96}` };
  }
  const start = wordsToBigInt(w0, w1, w2, w3);
  const end = start | ((1n << BigInt(128 - bits)) - 1n);
  return { version: 6, start, end, text: `${formatV6(w0, w1, w2, w3)}/${bits}` };
}

/** Whether `s` is a CIDR block {@link parseCidr} accepts. */
export function isCidr(s: string): boolean {
  return parseCidrInto(s) >= 0;
}

// ---------------------------------------------------------------------------------------------
// Sets. CIDR blocks are either nested or disjoint, so after sorting by (start, prefix) a block
// that starts inside the previous one lies inside it: dropping it leaves sorted disjoint ranges,
// each answering with the enclosing block's text. IPv4 lives in Uint32Arrays; IPv6 as four
// 32-bit words a bound, compared lexicographically (no bigint is built per entry or lookup).

/** Sorted disjoint IPv4 ranges. */
interface V4Table {
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly bits: Uint8Array;
}

/** Sorted disjoint IPv6 ranges; starts/ends hold 4 words per range. */
interface V6Table {
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly bits: Uint8Array;
  readonly count: number;
}

/** Lexicographic comparison of words `a[i*4..]` with (q0..q3). */
function cmpWords(a: Uint32Array, i: number, q0: number, q1: number, q2: number, q3: number): number {
  const b = i * 4;
  const a0 = a[b] ?? 0;
  if (a0 !== q0) return a0 < q0 ? -1 : 1;
  const a1 = a[b + 1] ?? 0;
  if (a1 !== q1) return a1 < q1 ? -1 : 1;
  const a2 = a[b + 2] ?? 0;
  if (a2 !== q2) return a2 < q2 ? -1 : 1;
  const a3 = a[b + 3] ?? 0;
  return a3 === q3 ? 0 : a3 < q3 ? -1 : 1;
}

function putWords(a: Uint32Array, i: number, w0: number, w1: number, w2: number, w3: number): void {
  a[4 * i] = w0;
  a[4 * i + 1] = w1;
  a[4 * i + 2] = w2;
  a[4 * i + 3] = w3;
}

function searchV4(t: V4Table, v: number): number {
  let lo = 0;
  let hi = t.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (v < (t.starts[mid] ?? 0)) hi = mid - 1;
    else if (v > (t.ends[mid] ?? 0)) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function searchV6(t: V6Table, q0: number, q1: number, q2: number, q3: number): number {
  let lo = 0;
  let hi = t.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpWords(t.starts, mid, q0, q1, q2, q3) > 0) hi = mid - 1;
    else if (cmpWords(t.ends, mid, q0, q1, q2, q3) < 0) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Builds both tables from texts; the indices of invalid texts go to `invalid`. */
function buildTables(texts: readonly string[], invalid: number[]): { v4: V4Table; v6: V6Table } {
  const n = texts.length;
  // IPv4 keys: start * 64 + prefix, exact in a double (< 2^38); a numeric sort orders by start,
  // then enclosing block first. IPv6 entries go to word columns, sorted through an index.
  const v4Keys = new Float64Array(n);
  let n4 = 0;
  const w6 = new Uint32Array(4 * n);
  const bits6 = new Uint8Array(n);
  let n6 = 0;
  for (let i = 0; i < n; i++) {
    const bits = parseCidrInto(texts[i] ?? '');
    if (bits < 0) {
      invalid.push(i);
      continue;
    }
    const w0 = W[0] ?? 0;
    const w1 = W[1] ?? 0;
    const w2 = W[2] ?? 0;
    const w3 = W[3] ?? 0;
    if (bits >= 96 && isMapped(w0, w1, w2)) {
      v4Keys[n4++] = w3 * 64 + (bits - 96);
    } else {
      putWords(w6, n6, w0, w1, w2, w3);
      bits6[n6++] = bits;
    }
  }
  return { v4: buildV4(sortedKeys(v4Keys.subarray(0, n4))), v6: buildV6(w6, bits6, n6) };
}

/** Sorts in place unless already sorted (published lists usually are: skip the sort's cost). */
function sortedKeys(keys: Float64Array): Float64Array {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] ?? 0) > (keys[i] ?? 0)) return keys.sort();
  return keys;
}

function buildV4(keys: Float64Array): V4Table {
  const starts = new Uint32Array(keys.length);
  const ends = new Uint32Array(keys.length);
  const bits = new Uint8Array(keys.length);
  let m = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] ?? 0;
    // ToInt32 keeps the low 32 bits of the (< 2^38) key, so & 63 is the prefix length.
    const prefix = key & 63;
    const start = (key - prefix) / 64;
    const end = (start | ~wordMask(prefix)) >>> 0;
    if (m > 0 && start <= (ends[m - 1] ?? 0)) {
      // Nested in the previous block (CIDR blocks never partly overlap); max() keeps it general.
      if (end > (ends[m - 1] ?? 0)) ends[m - 1] = end;
      continue;
    }
    starts[m] = start;
    ends[m] = end;
    bits[m] = prefix;
    m++;
  }
  return { starts: starts.slice(0, m), ends: ends.slice(0, m), bits: bits.slice(0, m) };
}

function buildV6(w: Uint32Array, bits: Uint8Array, n: number): V6Table {
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    const c = cmpWords(w, a, w[4 * b] ?? 0, w[4 * b + 1] ?? 0, w[4 * b + 2] ?? 0, w[4 * b + 3] ?? 0);
    return c !== 0 ? c : (bits[a] ?? 0) - (bits[b] ?? 0);
  });
  const starts = new Uint32Array(4 * n);
  const ends = new Uint32Array(4 * n);
  const outBits = new Uint8Array(n);
  let m = 0;
  for (const i of order) {
    const prefix = bits[i] ?? 0;
    const s0 = w[4 * i] ?? 0;
    const s1 = w[4 * i + 1] ?? 0;
    const s2 = w[4 * i + 2] ?? 0;
    const s3 = w[4 * i + 3] ?? 0;
    const e0 = (s0 | ~wordMask(prefix)) >>> 0;
    const e1 = (s1 | ~wordMask(prefix - 32)) >>> 0;
    const e2 = (s2 | ~wordMask(prefix - 64)) >>> 0;
    const e3 = (s3 | ~wordMask(prefix - 96)) >>> 0;
    if (m > 0 && cmpWords(ends, m - 1, s0, s1, s2, s3) >= 0) {
      if (cmpWords(ends, m - 1, e0, e1, e2, e3) < 0) putWords(ends, m - 1, e0, e1, e2, e3);
      continue;
    }
    putWords(starts, m, s0, s1, s2, s3);
    putWords(ends, m, e0, e1, e2, e3);
    outBits[m] = prefix;
    m++;
  }
  return { starts: starts.slice(0, 4 * m), ends: ends.slice(0, 4 * m), bits: outBits.slice(0, m), count: m };
}

/**
 * A CidrSet's range tables, as stored in a compiled snapshot (see {@link CidrSet.toTables}).
 * IPv6 bounds take four 32-bit words per range, most significant first.
 */
export interface CidrTables {
  /** Number of blocks the set was built from (before nested blocks were merged). */
  readonly size: number;
  readonly v4: { readonly starts: Uint32Array; readonly ends: Uint32Array; readonly bits: Uint8Array };
  readonly v6: { readonly starts: Uint32Array; readonly ends: Uint32Array; readonly bits: Uint8Array };
}

/** Whether stored IPv4 tables are what buildV4 makes: aligned blocks, sorted and disjoint. */
function validV4(t: CidrTables['v4']): boolean {
  const n = t.bits.length;
  if (t.starts.length !== n || t.ends.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const b = t.bits[i] ?? 0;
    const start = t.starts[i] ?? 0;
    const end = t.ends[i] ?? 0;
    if (b > 32 || ((start & ~wordMask(b)) >>> 0) !== 0 || end !== (start | ~wordMask(b)) >>> 0) return false;
    if (i > 0 && start <= (t.ends[i - 1] ?? 0)) return false;
  }
  return true;
}

/** Whether stored IPv6 tables are what buildV6 makes: aligned blocks, sorted and disjoint. */
function validV6(t: CidrTables['v6']): boolean {
  const n = t.bits.length;
  if (t.starts.length !== 4 * n || t.ends.length !== 4 * n) return false;
  for (let i = 0; i < n; i++) {
    const b = t.bits[i] ?? 0;
    if (b > 128) return false;
    for (let k = 0; k < 4; k++) {
      const mask = wordMask(b - 32 * k);
      const s = t.starts[4 * i + k] ?? 0;
      if (((s & ~mask) >>> 0) !== 0 || (t.ends[4 * i + k] ?? 0) !== (s | ~mask) >>> 0) return false;
    }
    const s = t.starts;
    if (i > 0 && cmpWords(t.ends, i - 1, s[4 * i] ?? 0, s[4 * i + 1] ?? 0, s[4 * i + 2] ?? 0, s[4 * i + 3] ?? 0) >= 0) return false;
  }
  return true;
}

/** Outcome of {@link CidrSet.tryFrom}: the set, or the indices of the texts that are not CIDRs. */
export type CidrSetResult = { readonly ok: true; readonly set: CidrSet } | { readonly ok: false; readonly invalid: readonly number[] };

/**
 * The last few lists built, by content. Validation (a schema checking the whole list with
 * {@link CidrSet.tryFrom}) and compilation (`CidrSet.from` on the validated list) then parse each
 * entry once. Bounded, so an isolate that sees many policy versions holds at most this many.
 */
const RECENT: { texts: readonly string[]; set: CidrSet }[] = [];
const RECENT_MAX = 4;

function recent(texts: readonly string[]): CidrSet | undefined {
  for (const r of RECENT) {
    if (r.texts.length !== texts.length) continue;
    let same = true;
    for (let i = 0; i < texts.length && same; i++) same = r.texts[i] === texts[i];
    if (same) return r.set;
  }
  return undefined;
}

/**
 * An immutable set of CIDR blocks, v4 and v6, answering "which block holds this address".
 * Lookups are O(log n) and allocate nothing unless they find a block.
 */
export class CidrSet {
  readonly #v4: V4Table;
  readonly #v6: V6Table;
  /** Normalised texts of the ranges, made on first hit (most never are). */
  readonly #texts4: (string | undefined)[] = [];
  readonly #texts6: (string | undefined)[] = [];
  /** Number of blocks the set was built from. */
  readonly size: number;

  private constructor(size: number, v4: V4Table, v6: V6Table) {
    this.size = size;
    this.#v4 = v4;
    this.#v6 = v6;
  }

  /**
   * Validates and builds in one pass: the set, or the indices of every entry that is not a CIDR
   * block {@link parseCidr} accepts. Meant for schemas (`superRefine` on the whole list), so that
   * a following {@link CidrSet.from} on the same list reuses the set instead of parsing again.
   */
  static tryFrom(texts: readonly string[]): CidrSetResult {
    const known = recent(texts);
    if (known) return { ok: true, set: known };
    const invalid: number[] = [];
    const { v4, v6 } = buildTables(texts, invalid);
    if (invalid.length > 0) return { ok: false, invalid };
    const set = new CidrSet(texts.length, v4, v6);
    if (texts.length > 0) {
      RECENT.unshift({ texts: [...texts], set });
      RECENT.length = Math.min(RECENT.length, RECENT_MAX);
    }
    return { ok: true, set };
  }

  /** Builds a set; throws on a malformed block (policies are validated before they get here). */
  static from(texts: readonly string[]): CidrSet {
    const r = CidrSet.tryFrom(texts);
    if (!r.ok) throw new Error(`invalid CIDR ${texts[r.invalid[0] ?? 0]}`);
    return r.set;
  }

  /** The range tables, for a compiled snapshot; {@link CidrSet.fromTables} rebuilds the set in O(n). */
  toTables(): CidrTables {
    return {
      size: this.size,
      v4: { starts: this.#v4.starts, ends: this.#v4.ends, bits: this.#v4.bits },
      v6: { starts: this.#v6.starts, ends: this.#v6.ends, bits: this.#v6.bits },
    };
  }

  /**
   * Rebuilds a set from stored tables without parsing a CIDR text: undefined unless the tables
   * are exactly what building a set produces (aligned blocks, sorted, disjoint), so a corrupt
   * snapshot is rejected instead of answering wrong lookups.
   */
  static fromTables(t: CidrTables): CidrSet | undefined {
    if (!Number.isSafeInteger(t.size) || t.size < t.v4.bits.length + t.v6.bits.length) return undefined;
    if (!validV4(t.v4) || !validV6(t.v6)) return undefined;
    return new CidrSet(t.size, t.v4, { ...t.v6, count: t.v6.bits.length });
  }

  /**
   * The block holding `ip`, or undefined. `mode` is required on purpose: `'exact'` for rules that
   * allow or lift, `'with-embedded'` for anything that adds suspicion (see {@link IpMatchMode}).
   * The address itself is tried first, then each embedded IPv4 in {@link embeddedIpv4}'s order.
   */
  match(ip: ParsedIp, mode: IpMatchMode): CidrMatch | undefined {
    const k = keyOf(ip);
    if (k.v4 >= 0) {
      const at = searchV4(this.#v4, k.v4);
      return at < 0 ? undefined : this.#hit4(at, 'address', k.v4);
    }
    const at = searchV6(this.#v6, k.w0, k.w1, k.w2, k.w3);
    if (at >= 0) return { cidr: this.#text6(at), via: 'address', matchedIp: formatV6(k.w0, k.w1, k.w2, k.w3) };
    if (mode === 'with-embedded') {
      const embedded = k.embedded;
      for (let i = 0; i < embedded.length; i++) {
        const e = embedded[i];
        const at4 = e ? searchV4(this.#v4, e.value) : -1;
        if (e && at4 >= 0) return this.#hit4(at4, e.via, e.value);
      }
    }
    return undefined;
  }

  #hit4(at: number, via: MatchVia, value: number): CidrMatch {
    let cidr = this.#texts4[at];
    if (cidr === undefined) {
      cidr = `${formatV4(this.#v4.starts[at] ?? 0)}/${this.#v4.bits[at] ?? 0}`;
      this.#texts4[at] = cidr;
    }
    return { cidr, via, matchedIp: formatV4(value) };
  }

  #text6(at: number): string {
    let cidr = this.#texts6[at];
    if (cidr === undefined) {
      const s = this.#v6.starts;
      const b = 4 * at;
      cidr = `${formatV6(s[b] ?? 0, s[b + 1] ?? 0, s[b + 2] ?? 0, s[b + 3] ?? 0)}/${this.#v6.bits[at] ?? 0}`;
      this.#texts6[at] = cidr;
    }
    return cidr;
  }
}
