// IP addresses and CIDR sets: a strict hand-written parser (policies and the network intel carry
// ~60k CIDRs, so parsing must cost well under a microsecond an entry) and longest-prefix-match
// tables: nested prefixes flattened at build time into sorted disjoint intervals, each labelled
// with the longest block of each category that covers it, so that a lookup is one binary search.
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
 * An IPv6 address as {@link parseIp} returns it: its lookup key (words and embedded IPv4s) is
 * derived once, at parse time, and kept in a private field, so that the several lookups of one
 * request (rules, VPN, hosting) allocate nothing. (A WeakMap from address to key did the same and
 * cost more than the parse itself.) Equal, field by field, to a plain `{ version: 6, value }`.
 */
class ParsedV6 {
  readonly version = 6 as const;
  readonly value: bigint;
  readonly #key: LookupKey;

  constructor(value: bigint, key: LookupKey) {
    this.value = value;
    this.#key = key;
  }

  static keyOf(ip: ParsedV6): LookupKey {
    return ip.#key;
  }
}

/** Lookup keys of IPv6 address objects built elsewhere than {@link parseIp} (tests, callers' own). */
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
  if (ip instanceof ParsedV6) return ParsedV6.keyOf(ip);
  // IPv4 needs no cache (the hot paths read `ip.value` directly).
  if (ip.version === 4) return { v4: ip.value, w0: 0, w1: 0, w2: 0xffff, w3: ip.value, embedded: NONE };
  let key = KEYS.get(ip);
  if (key === undefined) {
    const v = ip.value;
    key = keyOfWords(Number(BigInt.asUintN(32, v >> 96n)), Number(BigInt.asUintN(32, v >> 64n)), Number(BigInt.asUintN(32, v >> 32n)), Number(BigInt.asUintN(32, v)));
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
  if (isMapped(w0, w1, w2)) return { version: 4, value: w3 };
  return new ParsedV6(wordsToBigInt(w0, w1, w2, w3), keyOfWords(w0, w1, w2, w3));
}

/**
 * Every IPv4 address that `ip` embeds, in a fixed order (ipv4-compatible, siit, nat64, 6to4,
 * teredo, isatap); empty for IPv4 and IPv4-mapped addresses, which ARE an IPv4 address rather
 * than embedding one. A 6to4 address with an ISATAP interface id yields both.
 */
export function embeddedIpv4(ip: ParsedIp): readonly EmbeddedIpv4[] {
  return ip.version === 4 ? NONE : keyOf(ip).embedded;
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
  if (ip.version === 4) return formatV4(ip.value);
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
// ---------------------------------------------------------------------------------------------
// Prefix tables. Any two CIDR blocks are nested or disjoint, so the blocks of every category
// together form a tree. Building walks it in address order with a stack of the open blocks and
// cuts the address space at every block boundary: each piece becomes one interval labelled, per
// category, with the prefix length of the innermost (longest) block of that category covering it,
// or NO_PREFIX. Every address of an interval is covered by the same blocks, so a lookup is one
// binary search over the intervals, and the block answering for category c is the address masked
// to that length. IPv4 lives in Uint32Arrays; IPv6 bounds are four 32-bit words, compared
// lexicographically (no bigint is built per entry or lookup). IPv4 and IPv6 are separate
// families: `::/0` does not cover IPv4 addresses, `::ffff:0:0/96` does (it is 0.0.0.0/0).

/** The label of an interval that no block of that category covers. */
export const NO_PREFIX = 255;

/** Most categories a table holds (the build packs a category into three bits of a sort key). */
export const MAX_CATEGORIES = 8;

/**
 * Sorted disjoint labelled intervals of one family: IPv4 bounds take one word, IPv6 four (most
 * significant first). `bits[c][i]` is the prefix length of the longest block of category `c`
 * covering interval `i`, or {@link NO_PREFIX}.
 */
export interface PrefixRanges {
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly bits: readonly Uint8Array[];
}

/** A prefix table's contents, as stored in a compiled snapshot or the network intel. */
export interface PrefixTablesData {
  /** Number of blocks the table was built from (before nesting was flattened). */
  readonly size: number;
  readonly v4: PrefixRanges;
  readonly v6: PrefixRanges;
}

/** Lexicographic comparison of words `a[ai*w..]` with `b[bi*w..]`, `w` words each. */
function cmpAt(a: Uint32Array, ai: number, b: Uint32Array, bi: number, w: number): number {
  for (let k = 0; k < w; k++) {
    const x = a[ai * w + k] ?? 0;
    const y = b[bi * w + k] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
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

/** Adds 1 to the `w` words at `a[i*w..]`; true when it wrapped past the family's last address. */
function increment(a: Uint32Array, i: number, w: number): boolean {
  for (let k = w - 1; k >= 0; k--) {
    const v = ((a[i * w + k] ?? 0) + 1) >>> 0;
    a[i * w + k] = v;
    if (v !== 0) return false;
  }
  return true;
}

/** Subtracts 1 from the `w` words at `a[i*w..]` (never called on zero). */
function decrement(a: Uint32Array, i: number, w: number): void {
  for (let k = w - 1; k >= 0; k--) {
    const v = ((a[i * w + k] ?? 0) - 1) >>> 0;
    a[i * w + k] = v;
    if (v !== 0xffffffff) return;
  }
}

/** Copies `w` words from `src[si*w..]` to `dst[di*w..]`. */
function copyAt(dst: Uint32Array, di: number, src: Uint32Array, si: number, w: number): void {
  for (let k = 0; k < w; k++) dst[di * w + k] = src[si * w + k] ?? 0;
}

/** A growable Uint32Array (the interval count is unknown until the walk ends). */
class Words {
  a = new Uint32Array(64);
  n = 0;
  push(src: Uint32Array, i: number, w: number): void {
    if (this.n + w > this.a.length) {
      const grown = new Uint32Array(this.a.length * 2);
      grown.set(this.a);
      this.a = grown;
    }
    for (let k = 0; k < w; k++) this.a[this.n++] = src[i * w + k] ?? 0;
  }
  done(): Uint32Array {
    return this.a.slice(0, this.n);
  }
}

/**
 * Flattens sorted blocks (start words, prefix length, category; sorted by start, then outer
 * block first) into labelled intervals. `w` is 1 for IPv4, 4 for IPv6.
 */
function flatten(w: 1 | 4, n: number, starts: Uint32Array, prefixes: Uint8Array, cats: Uint8Array, categories: number): PrefixRanges {
  const outStarts = new Words();
  const outEnds = new Words();
  const outBits: number[][] = Array.from({ length: categories }, () => []);
  // Open blocks, innermost last. Duplicates are skipped, so the depth is bounded by the number of
  // prefix lengths times the categories.
  const cap = (32 * w + 1) * categories + 1;
  const stackEnd = new Uint32Array(cap * w);
  const stackBits = new Uint8Array(cap);
  const stackCat = new Uint8Array(cap);
  let sp = 0;
  // pos: the first address not yet in an interval; past: it wrapped beyond the last address.
  const pos = new Uint32Array(w);
  let past = false;
  const blockEnd = new Uint32Array(w);
  const before = new Uint32Array(w);

  const emit = (from: Uint32Array, to: Uint32Array, toAt: number): void => {
    if (past || cmpAt(from, 0, to, toAt, w) > 0) return;
    outStarts.push(from, 0, w);
    outEnds.push(to, toAt, w);
    for (let c = 0; c < categories; c++) {
      let label = NO_PREFIX;
      for (let j = sp - 1; j >= 0; j--) {
        if (stackCat[j] === c) {
          label = stackBits[j] ?? NO_PREFIX;
          break;
        }
      }
      outBits[c]?.push(label);
    }
  };
  /** Closes the innermost open block: the rest of it up to its end is an interval. */
  const close = (): void => {
    const top = sp - 1;
    emit(pos, stackEnd, top);
    if (!past && cmpAt(pos, 0, stackEnd, top, w) <= 0) {
      copyAt(pos, 0, stackEnd, top, w);
      past = increment(pos, 0, w);
    }
    sp--;
  };

  for (let i = 0; i < n; i++) {
    const prefix = prefixes[i] ?? 0;
    const cat = cats[i] ?? 0;
    if (i > 0 && prefix === prefixes[i - 1] && cat === cats[i - 1] && cmpAt(starts, i, starts, i - 1, w) === 0) continue;
    for (let k = 0; k < w; k++) blockEnd[k] = ((starts[i * w + k] ?? 0) | ~wordMask(prefix - 32 * k)) >>> 0;
    while (sp > 0 && cmpAt(stackEnd, sp - 1, starts, i, w) < 0) close();
    if (sp > 0 && cmpAt(pos, 0, starts, i, w) < 0) {
      // The enclosing blocks' addresses before this block start.
      copyAt(before, 0, starts, i, w);
      decrement(before, 0, w);
      emit(pos, before, 0);
    }
    copyAt(pos, 0, starts, i, w);
    past = false;
    copyAt(stackEnd, sp, blockEnd, 0, w);
    stackBits[sp] = prefix;
    stackCat[sp] = cat;
    sp++;
  }
  while (sp > 0) close();
  return { starts: outStarts.done(), ends: outEnds.done(), bits: outBits.map((b) => Uint8Array.from(b)) };
}

/**
 * {@link flatten} for IPv4, on plain numbers, from the sorted keys `(start * 64 + prefix) * 8 +
 * category`: policies carry tens of thousands of IPv4 blocks, compiled on an isolate's first
 * request, before the JIT has warmed up. Positions may reach 2^32 (one past the last address).
 */
function flattenV4(keys: Float64Array, categories: number): PrefixRanges {
  const n = keys.length;
  // Each block adds at most two boundaries: at most 2n + 1 intervals.
  const cap = 2 * n + 1;
  const outStarts = new Uint32Array(cap);
  const outEnds = new Uint32Array(cap);
  const outBits = Array.from({ length: categories }, () => new Uint8Array(cap));
  let m = 0;
  // Open blocks, innermost last (duplicates skipped: at most 33 per category).
  const depth = 33 * categories + 1;
  const stackEnd = new Float64Array(depth);
  const stackBits = new Uint8Array(depth);
  const stackCat = new Uint8Array(depth);
  let sp = 0;
  let pos = 0;
  const emit = (from: number, to: number): void => {
    if (from > to) return;
    outStarts[m] = from;
    outEnds[m] = to;
    for (let c = 0; c < categories; c++) {
      let label = NO_PREFIX;
      for (let j = sp - 1; j >= 0; j--) {
        if (stackCat[j] === c) {
          label = stackBits[j] as number;
          break;
        }
      }
      (outBits[c] as Uint8Array)[m] = label;
    }
    m++;
  };
  const close = (): void => {
    const end = stackEnd[sp - 1] as number;
    emit(pos, end);
    if (end + 1 > pos) pos = end + 1;
    sp--;
  };
  let previous = -1;
  for (let i = 0; i < n; i++) {
    const key = keys[i] as number;
    if (key === previous) continue;
    previous = key;
    const cat = key % 8;
    const rest = (key - cat) / 8;
    const prefix = rest % 64;
    const start = (rest - prefix) / 64;
    while (sp > 0 && (stackEnd[sp - 1] as number) < start) close();
    if (sp > 0 && pos < start) emit(pos, start - 1);
    pos = start;
    stackEnd[sp] = start + 2 ** (32 - prefix) - 1;
    stackBits[sp] = prefix;
    stackCat[sp] = cat;
    sp++;
  }
  while (sp > 0) close();
  return { starts: outStarts.slice(0, m), ends: outEnds.slice(0, m), bits: outBits.map((b) => b.slice(0, m)) };
}

/** Sorts in place unless already sorted (published lists usually are: skip the sort's cost). */
function sortedKeys(keys: Float64Array): Float64Array {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] ?? 0) > (keys[i] ?? 0)) return keys.sort();
  return keys;
}

/** Where a malformed block was given: its list (category) and its index in that list. */
export interface InvalidBlock {
  readonly list: number;
  readonly index: number;
}

/**
 * Builds labelled intervals from lists of CIDR texts, list `c` being category `c`; malformed
 * texts go to `invalid`. Parses each text once, into module scratch.
 */
function buildRanges(lists: readonly (readonly string[])[], invalid: InvalidBlock[]): { v4: PrefixRanges; v6: PrefixRanges } {
  const categories = lists.length;
  if (categories < 1 || categories > MAX_CATEGORIES) throw new Error(`a prefix table holds 1 to ${MAX_CATEGORIES} categories`);
  let total = 0;
  for (const l of lists) total += l.length;
  // IPv4 keys: (start * 64 + prefix) * 8 + category, exact in a double (< 2^42); a numeric sort
  // orders by start, then enclosing block first. IPv6 blocks go to word columns, sorted by index.
  const v4Keys = new Float64Array(total);
  let n4 = 0;
  const w6 = new Uint32Array(4 * total);
  const bits6 = new Uint8Array(total);
  const cats6 = new Uint8Array(total);
  let n6 = 0;
  lists.forEach((texts, cat) => {
    for (let i = 0; i < texts.length; i++) {
      const bits = parseCidrInto(texts[i] ?? '');
      if (bits < 0) {
        invalid.push({ list: cat, index: i });
        continue;
      }
      const w0 = W[0] ?? 0;
      const w1 = W[1] ?? 0;
      const w2 = W[2] ?? 0;
      const w3 = W[3] ?? 0;
      if (bits >= 96 && isMapped(w0, w1, w2)) {
        v4Keys[n4++] = (w3 * 64 + (bits - 96)) * 8 + cat;
      } else {
        w6[4 * n6] = w0;
        w6[4 * n6 + 1] = w1;
        w6[4 * n6 + 2] = w2;
        w6[4 * n6 + 3] = w3;
        bits6[n6] = bits;
        cats6[n6++] = cat;
      }
    }
  });
  const keys = sortedKeys(v4Keys.subarray(0, n4));
  const order = Array.from({ length: n6 }, (_, i) => i);
  order.sort((a, b) => cmpAt(w6, a, w6, b, 4) || (bits6[a] ?? 0) - (bits6[b] ?? 0) || (cats6[a] ?? 0) - (cats6[b] ?? 0));
  const s6 = new Uint32Array(4 * n6);
  const b6 = new Uint8Array(n6);
  const c6 = new Uint8Array(n6);
  order.forEach((from, to) => {
    copyAt(s6, to, w6, from, 4);
    b6[to] = bits6[from] ?? 0;
    c6[to] = cats6[from] ?? 0;
  });
  return { v4: flattenV4(keys, categories), v6: flatten(4, n6, s6, b6, c6, categories) };
}

/**
 * Whether stored intervals are what {@link flatten} makes: bounds ordered within and between
 * intervals (sorted, disjoint), each label a valid prefix length or NO_PREFIX, at least one label
 * per interval, and each labelled block holding the whole interval (so that masking any address
 * of it names the same block).
 */
function validRanges(r: PrefixRanges, w: 1 | 4, categories: number): boolean {
  const n = r.starts.length / w;
  if (!Number.isInteger(n) || r.ends.length !== r.starts.length || r.bits.length !== categories) return false;
  for (const b of r.bits) if (b.length !== n) return false;
  for (let i = 0; i < n; i++) {
    if (cmpAt(r.starts, i, r.ends, i, w) > 0) return false;
    if (i > 0 && cmpAt(r.ends, i - 1, r.starts, i, w) >= 0) return false;
    let labelled = false;
    for (let c = 0; c < categories; c++) {
      const b = r.bits[c]?.[i] ?? NO_PREFIX;
      if (b === NO_PREFIX) continue;
      if (b > 32 * w) return false;
      labelled = true;
      for (let k = 0; k < w; k++) {
        if (((((r.starts[i * w + k] ?? 0) ^ (r.ends[i * w + k] ?? 0)) & wordMask(b - 32 * k)) >>> 0) !== 0) return false;
      }
    }
    if (!labelled) return false;
  }
  return true;
}

/**
 * Whether every labelled block is whole, as building makes it: each block an interval names (its
 * address masked to the label's length) is covered from its first address to its last by
 * contiguous intervals labelled with that length or a longer one (a block of the same category
 * inside it). Without this a table could name a block for some of its addresses and not others.
 * Each distinct block is walked once (the blocks already checked that hold the current interval
 * are remembered), so the cost is the intervals times the nesting depth.
 */
function wholeBlocks(r: PrefixRanges, w: 1 | 4, categories: number): boolean {
  const n = r.starts.length / w;
  const find = (q: Uint32Array): number => (w === 1 ? searchV4(r, q[0] ?? 0) : searchV6(r, q[0] ?? 0, q[1] ?? 0, q[2] ?? 0, q[3] ?? 0));
  const blockStart = new Uint32Array(w);
  const blockEnd = new Uint32Array(w);
  const next = new Uint32Array(w);
  const CHECKED_MAX = 32 * w + 1;
  const checkedStart = new Uint32Array(CHECKED_MAX * w);
  const checkedEnd = new Uint32Array(CHECKED_MAX * w);
  const checkedBits = new Uint8Array(CHECKED_MAX);
  for (let c = 0; c < categories; c++) {
    const labels = r.bits[c];
    // Checked blocks that hold the current interval: start words, end words, prefix length. They
    // nest, so there are at most as many as prefix lengths.
    let count = 0;
    for (let i = 0; i < n; i++) {
      const b = labels?.[i] ?? NO_PREFIX;
      if (b === NO_PREFIX) continue;
      for (let k = 0; k < w; k++) {
        const m = wordMask(b - 32 * k);
        blockStart[k] = ((r.starts[i * w + k] ?? 0) & m) >>> 0;
        blockEnd[k] = ((blockStart[k] ?? 0) | ~m) >>> 0;
      }
      // Most blocks hold no other: the interval is the whole block.
      if (cmpAt(blockStart, 0, r.starts, i, w) === 0 && cmpAt(blockEnd, 0, r.ends, i, w) === 0) continue;
      // Forget (compacting in place) the checked blocks that end before this interval; skip this
      // block if it is one of those left.
      let known = false;
      let kept = 0;
      for (let j = 0; j < count; j++) {
        if (cmpAt(checkedEnd, j, r.starts, i, w) < 0) continue;
        if (kept !== j) {
          copyAt(checkedStart, kept, checkedStart, j, w);
          copyAt(checkedEnd, kept, checkedEnd, j, w);
          checkedBits[kept] = checkedBits[j] ?? 0;
        }
        known ||= checkedBits[kept] === b && cmpAt(checkedStart, kept, blockStart, 0, w) === 0;
        kept++;
      }
      count = kept;
      if (known) continue;
      // Walk the block from its first address: contiguous intervals, none labelled shorter.
      let at = find(blockStart);
      for (;;) {
        const label = at < 0 ? NO_PREFIX : (labels?.[at] ?? NO_PREFIX);
        if (label === NO_PREFIX || label < b) return false;
        if (cmpAt(r.ends, at, blockEnd, 0, w) >= 0) break;
        copyAt(next, 0, r.ends, at, w);
        increment(next, 0, w);
        at = at + 1 < n && cmpAt(r.starts, at + 1, next, 0, w) === 0 ? at + 1 : -1;
      }
      if (count === CHECKED_MAX) return false;
      copyAt(checkedStart, count, blockStart, 0, w);
      copyAt(checkedEnd, count, blockEnd, 0, w);
      checkedBits[count++] = b;
    }
  }
  return true;
}

/**
 * {@link validRanges} and {@link wholeBlocks} for IPv4 in one pass, on plain numbers: most of the
 * intel is IPv4 and an isolate checks it on its first request, before the JIT has warmed up.
 */
/** wordMask(b) for b = 0..32, read from a table in the hot loops of {@link validV4}. */
const MASK32 = Uint32Array.from({ length: 33 }, (_, b) => wordMask(b));

function validV4(r: PrefixRanges, categories: number): boolean {
  const starts = r.starts;
  const ends = r.ends;
  const n = starts.length;
  if (ends.length !== n || r.bits.length !== categories) return false;
  // Sorted and disjoint.
  let previous = -1;
  for (let i = 0; i < n; i++) {
    const s = starts[i] as number;
    const e = ends[i] as number;
    if (s > e || s <= previous) return false;
    previous = e;
  }
  const labelled = new Uint8Array(n);
  const checkedStart = new Float64Array(34);
  const checkedEnd = new Float64Array(34);
  const checkedBits = new Uint8Array(34);
  for (let c = 0; c < categories; c++) {
    const labels = r.bits[c] as Uint8Array;
    if (labels.length !== n) return false;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const b = labels[i] as number;
      if (b === NO_PREFIX) continue;
      const s = starts[i] as number;
      const e = ends[i] as number;
      if (b > 32) return false;
      const m = MASK32[b] as number;
      // Inside the block it names.
      if (((s ^ e) & m) !== 0) return false;
      labelled[i] = 1;
      const blockStart = (s & m) >>> 0;
      const blockEnd = (blockStart | ~m) >>> 0;
      // Most blocks hold no other: the interval is the whole block.
      if (blockStart === s && blockEnd === e) continue;
      // The block is whole: checked once (the checked blocks holding this interval are kept).
      let known = false;
      let kept = 0;
      for (let j = 0; j < count; j++) {
        if ((checkedEnd[j] as number) < s) continue;
        checkedStart[kept] = checkedStart[j] as number;
        checkedEnd[kept] = checkedEnd[j] as number;
        checkedBits[kept] = checkedBits[j] as number;
        if (checkedBits[kept] === b && checkedStart[kept] === blockStart) known = true;
        kept++;
      }
      count = kept;
      if (known) continue;
      let at = blockStart === s ? i : searchV4(r, blockStart);
      for (;;) {
        const label = at < 0 ? NO_PREFIX : (labels[at] as number);
        if (label === NO_PREFIX || label < b) return false;
        const end = ends[at] as number;
        if (end >= blockEnd) break;
        at = at + 1 < n && starts[at + 1] === end + 1 ? at + 1 : -1;
      }
      if (count === 33) return false;
      checkedStart[count] = blockStart;
      checkedEnd[count] = blockEnd;
      checkedBits[count++] = b;
    }
  }
  // Every interval labelled.
  for (let i = 0; i < n; i++) if (labelled[i] === 0) return false;
  return true;
}

function searchV4(r: PrefixRanges, v: number): number {
  const starts = r.starts;
  const ends = r.ends;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (v < (starts[mid] ?? 0)) hi = mid - 1;
    else if (v > (ends[mid] ?? 0)) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function searchV6(r: PrefixRanges, q0: number, q1: number, q2: number, q3: number): number {
  let lo = 0;
  let hi = r.starts.length / 4 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpWords(r.starts, mid, q0, q1, q2, q3) > 0) hi = mid - 1;
    else if (cmpWords(r.ends, mid, q0, q1, q2, q3) < 0) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Outcome of {@link PrefixTable.tryFrom}: the table, or where the malformed texts are. */
export type PrefixTableResult = { readonly ok: true; readonly table: PrefixTable } | { readonly ok: false; readonly invalid: readonly InvalidBlock[] };

/**
 * An immutable longest-prefix-match table of CIDR blocks in up to {@link MAX_CATEGORIES}
 * categories (e.g. `vpn` and `datacenter`), IPv4 and IPv6: which block of each category holds an
 * address. Lookups are one O(log n) binary search and allocate nothing unless they find a block.
 */
export class PrefixTable {
  readonly #v4: PrefixRanges;
  readonly #v6: PrefixRanges;
  /** Block texts by category and interval, made on first hit (most never are). */
  readonly #texts4: (string | undefined)[][];
  readonly #texts6: (string | undefined)[][];
  /** Number of blocks the table was built from. */
  readonly size: number;
  /** Number of categories. */
  readonly categories: number;

  private constructor(size: number, categories: number, v4: PrefixRanges, v6: PrefixRanges) {
    this.size = size;
    this.categories = categories;
    this.#v4 = v4;
    this.#v6 = v6;
    this.#texts4 = Array.from({ length: categories }, () => []);
    this.#texts6 = Array.from({ length: categories }, () => []);
  }

  /** Builds a table from one list of CIDR texts per category, or says which texts are malformed. */
  static tryFrom(lists: readonly (readonly string[])[]): PrefixTableResult {
    const invalid: InvalidBlock[] = [];
    const { v4, v6 } = buildRanges(lists, invalid);
    if (invalid.length > 0) return { ok: false, invalid };
    let size = 0;
    for (const l of lists) size += l.length;
    return { ok: true, table: new PrefixTable(size, lists.length, v4, v6) };
  }

  /**
   * Rebuilds a table from stored intervals without parsing a CIDR text: undefined unless they are
   * what building produces (sorted, disjoint, labelled, each inside the blocks it names, and every
   * block whole: see validRanges and wholeBlocks), so a corrupt artifact is rejected instead of
   * answering wrong lookups. O(n).
   */
  static fromData(data: PrefixTablesData): PrefixTable | undefined {
    const categories = data.v4.bits.length;
    if (categories < 1 || categories > MAX_CATEGORIES || data.v6.bits.length !== categories) return undefined;
    const intervals = data.v4.starts.length + data.v6.starts.length / 4;
    if (!Number.isSafeInteger(data.size) || data.size < 0 || (data.size === 0 && intervals > 0)) return undefined;
    if (!validV4(data.v4, categories) || !validRanges(data.v6, 4, categories) || !wholeBlocks(data.v6, 4, categories)) return undefined;
    return new PrefixTable(data.size, categories, data.v4, data.v6);
  }

  /** The intervals, for storage; {@link PrefixTable.fromData} reads them back. */
  toData(): PrefixTablesData {
    return { size: this.size, v4: this.#v4, v6: this.#v6 };
  }

  /** Number of intervals (IPv4 and IPv6): what a lookup searches. */
  get intervals(): number {
    return this.#v4.starts.length + this.#v6.starts.length / 4;
  }

  /**
   * How many distinct IPv4 and IPv6 blocks of `category` the table names (a block cut into pieces
   * by inner blocks counts once; a block wholly tiled by longer ones is represented by them).
   */
  blocks(category: number): { readonly v4: number; readonly v6: number } {
    const count = (r: PrefixRanges, w: 1 | 4): number => {
      const labels = r.bits[category] ?? new Uint8Array(0);
      const n = r.starts.length / w;
      // The blocks counted that may still hold later intervals (they nest: a short list).
      const open: { start: Uint32Array; end: Uint32Array; bits: number }[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const b = labels[i] ?? NO_PREFIX;
        if (b === NO_PREFIX) continue;
        const start = new Uint32Array(w);
        const end = new Uint32Array(w);
        for (let k = 0; k < w; k++) {
          const m = wordMask(b - 32 * k);
          start[k] = ((r.starts[i * w + k] ?? 0) & m) >>> 0;
          end[k] = ((start[k] ?? 0) | ~m) >>> 0;
        }
        for (let j = open.length - 1; j >= 0; j--) if (cmpAt(open[j]?.end ?? end, 0, r.starts, i, w) < 0) open.splice(j, 1);
        if (open.some((o) => o.bits === b && cmpAt(o.start, 0, start, 0, w) === 0)) continue;
        open.push({ start, end, bits: b });
        total++;
      }
      return total;
    };
    return { v4: count(this.#v4, 1), v6: count(this.#v6, 4) };
  }

  /** Bytes the interval tables occupy. */
  get byteLength(): number {
    let n = this.#v4.starts.byteLength + this.#v4.ends.byteLength + this.#v6.starts.byteLength + this.#v6.ends.byteLength;
    for (const b of this.#v4.bits) n += b.byteLength;
    for (const b of this.#v6.bits) n += b.byteLength;
    return n;
  }

  /** The IPv4 interval holding `v` (an unsigned 32-bit address), or -1. No allocation. */
  findV4(v: number): number {
    return searchV4(this.#v4, v);
  }

  /** The IPv6 interval holding the address with words w0..w3 (most significant first), or -1. No allocation. */
  findV6(w0: number, w1: number, w2: number, w3: number): number {
    return searchV6(this.#v6, w0, w1, w2, w3);
  }

  /** Prefix length of category `category`'s longest block over IPv4 interval `at`, or NO_PREFIX. */
  bitsV4(at: number, category: number): number {
    return this.#v4.bits[category]?.[at] ?? NO_PREFIX;
  }

  /** Prefix length of category `category`'s longest block over IPv6 interval `at`, or NO_PREFIX. */
  bitsV6(at: number, category: number): number {
    return this.#v6.bits[category]?.[at] ?? NO_PREFIX;
  }

  /**
   * Whether every address of `range` is in some block of `category` (one block holding it, or
   * several that together do): a walk over contiguous intervals from the range's first address.
   */
  covers(range: CidrRange, category = 0): boolean {
    if (range.version === 4) {
      const r = this.#v4;
      const end = Number(range.end);
      let at = searchV4(r, Number(range.start));
      while (at >= 0 && this.bitsV4(at, category) !== NO_PREFIX) {
        const e = r.ends[at] ?? 0;
        if (e >= end) return true;
        at = at + 1 < r.starts.length && r.starts[at + 1] === e + 1 ? at + 1 : -1;
      }
      return false;
    }
    const r = this.#v6;
    const word = (v: bigint, k: number) => Number(BigInt.asUintN(32, v >> BigInt(96 - 32 * k)));
    const s = BigInt(range.start);
    const e = BigInt(range.end);
    const [e0, e1, e2, e3] = [word(e, 0), word(e, 1), word(e, 2), word(e, 3)];
    let at = searchV6(r, word(s, 0), word(s, 1), word(s, 2), word(s, 3));
    const next = new Uint32Array(4);
    while (at >= 0 && this.bitsV6(at, category) !== NO_PREFIX) {
      if (cmpWords(r.ends, at, e0, e1, e2, e3) >= 0) return true;
      copyAt(next, 0, r.ends, at, 4);
      increment(next, 0, 4);
      at = at + 1 < r.starts.length / 4 && cmpAt(r.starts, at + 1, next, 0, 4) === 0 ? at + 1 : -1;
    }
    return false;
  }

  /**
   * The longest block of `category` holding `ip`, or undefined. `mode` is required on purpose:
   * `'exact'` for rules that allow or lift, `'with-embedded'` for anything that adds suspicion
   * (see {@link IpMatchMode}). The address itself is tried first, then each embedded IPv4 in
   * {@link embeddedIpv4}'s order.
   */
  match(ip: ParsedIp, mode: IpMatchMode, category = 0): CidrMatch | undefined {
    if (ip.version === 4) return this.#hit4(ip.value, 'address', category);
    const k = keyOf(ip);
    if (k.v4 >= 0) return this.#hit4(k.v4, 'address', category);
    const at = searchV6(this.#v6, k.w0, k.w1, k.w2, k.w3);
    if (at >= 0 && this.bitsV6(at, category) !== NO_PREFIX) {
      return { cidr: this.#text6(at, category), via: 'address', matchedIp: formatV6(k.w0, k.w1, k.w2, k.w3) };
    }
    if (mode === 'with-embedded') {
      const embedded = k.embedded;
      for (let i = 0; i < embedded.length; i++) {
        const e = embedded[i];
        const hit = e ? this.#hit4(e.value, e.via, category) : undefined;
        if (hit) return hit;
      }
    }
    return undefined;
  }

  #hit4(value: number, via: MatchVia, category: number): CidrMatch | undefined {
    const at = searchV4(this.#v4, value);
    if (at < 0) return undefined;
    const bits = this.bitsV4(at, category);
    if (bits === NO_PREFIX) return undefined;
    const texts = this.#texts4[category] ?? [];
    let cidr = texts[at];
    if (cidr === undefined) {
      cidr = `${formatV4((value & wordMask(bits)) >>> 0)}/${bits}`;
      texts[at] = cidr;
    }
    return { cidr, via, matchedIp: formatV4(value) };
  }

  #text6(at: number, category: number): string {
    const texts = this.#texts6[category] ?? [];
    let cidr = texts[at];
    if (cidr === undefined) {
      const s = this.#v6.starts;
      const b = this.bitsV6(at, category);
      const m = (k: number) => ((s[4 * at + k] ?? 0) & wordMask(b - 32 * k)) >>> 0;
      cidr = `${formatV6(m(0), m(1), m(2), m(3))}/${b}`;
      texts[at] = cidr;
    }
    return cidr;
  }
}

/**
 * A CidrSet's tables, as stored in a compiled snapshot (see {@link CidrSet.toTables}): one
 * category's labelled intervals. IPv6 bounds take four 32-bit words per range.
 */
export interface CidrTables {
  /** Number of blocks the set was built from (before nesting was flattened). */
  readonly size: number;
  readonly v4: { readonly starts: Uint32Array; readonly ends: Uint32Array; readonly bits: Uint8Array };
  readonly v6: { readonly starts: Uint32Array; readonly ends: Uint32Array; readonly bits: Uint8Array };
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
 * An immutable set of CIDR blocks, v4 and v6, answering "which (longest) listed block holds
 * this address": a one-category {@link PrefixTable}, the structure the network intel uses too.
 */
export class CidrSet {
  readonly #table: PrefixTable;

  private constructor(table: PrefixTable) {
    this.#table = table;
  }

  /** Number of blocks the set was built from. */
  get size(): number {
    return this.#table.size;
  }

  /**
   * Validates and builds in one pass: the set, or the indices of every entry that is not a CIDR
   * block {@link parseCidr} accepts. Meant for schemas (`superRefine` on the whole list), so that
   * a following {@link CidrSet.from} on the same list reuses the set instead of parsing again.
   */
  static tryFrom(texts: readonly string[]): CidrSetResult {
    const known = recent(texts);
    if (known) return { ok: true, set: known };
    const r = PrefixTable.tryFrom([texts]);
    if (!r.ok) return { ok: false, invalid: r.invalid.map((x) => x.index) };
    const set = new CidrSet(r.table);
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

  /** The interval tables, for a compiled snapshot; {@link CidrSet.fromTables} rebuilds the set in O(n). */
  toTables(): CidrTables {
    const d = this.#table.toData();
    return {
      size: d.size,
      v4: { starts: d.v4.starts, ends: d.v4.ends, bits: d.v4.bits[0] ?? new Uint8Array(0) },
      v6: { starts: d.v6.starts, ends: d.v6.ends, bits: d.v6.bits[0] ?? new Uint8Array(0) },
    };
  }

  /**
   * Rebuilds a set from stored tables without parsing a CIDR text: undefined unless the tables
   * are exactly what building a set produces (sorted, disjoint, every interval inside the block
   * it names), so a corrupt snapshot is rejected instead of answering wrong lookups.
   */
  static fromTables(t: CidrTables): CidrSet | undefined {
    const table = PrefixTable.fromData({
      size: t.size,
      v4: { starts: t.v4.starts, ends: t.v4.ends, bits: [t.v4.bits] },
      v6: { starts: t.v6.starts, ends: t.v6.ends, bits: [t.v6.bits] },
    });
    return table && new CidrSet(table);
  }

  /**
   * The longest listed block holding `ip`, or undefined. `mode` is required on purpose:
   * `'exact'` for rules that allow or lift, `'with-embedded'` for anything that adds suspicion
   * (see {@link IpMatchMode}). The address itself is tried first, then each embedded IPv4.
   */
  match(ip: ParsedIp, mode: IpMatchMode): CidrMatch | undefined {
    return this.#table.match(ip, mode, 0);
  }

  /** Whether every address of `range` is in the set (in one block, or in several that together cover it). */
  covers(range: CidrRange): boolean {
    return this.#table.covers(range, 0);
  }
}

/**
 * The outermost blocks of a list of CIDR texts, as one-category tables labelled with their own
 * length: sorted, aligned, each holding none of the others (nested blocks dropped; a block tiled
 * by longer ones kept whole). The form tables had before nested blocks were flattened. Undefined
 * when a text is not a CIDR block.
 */
export function outerTablesOf(texts: readonly string[]): CidrTables | undefined {
  const keys4: number[] = [];
  const w6: number[] = [];
  const bits6: number[] = [];
  for (const text of texts) {
    const bits = parseCidrInto(text);
    if (bits < 0) return undefined;
    const [w0 = 0, w1 = 0, w2 = 0, w3 = 0] = W;
    if (bits >= 96 && isMapped(w0, w1, w2)) keys4.push(w3 * 64 + (bits - 96));
    else {
      w6.push(w0, w1, w2, w3);
      bits6.push(bits);
    }
  }
  const v4Keys = sortedKeys(Float64Array.from(keys4));
  const s4: number[] = [];
  const e4: number[] = [];
  const b4: number[] = [];
  for (const key of v4Keys) {
    const prefix = key % 64;
    const start = (key - prefix) / 64;
    if (e4.length > 0 && start <= (e4[e4.length - 1] ?? 0)) continue;
    s4.push(start);
    e4.push(start + 2 ** (32 - prefix) - 1);
    b4.push(prefix);
  }
  const words6 = Uint32Array.from(w6);
  const order = Array.from({ length: bits6.length }, (_, i) => i);
  order.sort((a, b) => cmpAt(words6, a, words6, b, 4) || (bits6[a] ?? 0) - (bits6[b] ?? 0));
  const s6 = new Words();
  const e6 = new Words();
  const b6: number[] = [];
  const end = new Uint32Array(4);
  for (const i of order) {
    if (b6.length > 0 && cmpAt(words6, i, e6.a, b6.length - 1, 4) <= 0) continue;
    const prefix = bits6[i] ?? 0;
    for (let k = 0; k < 4; k++) end[k] = ((words6[i * 4 + k] ?? 0) | ~wordMask(prefix - 32 * k)) >>> 0;
    s6.push(words6, i, 4);
    e6.push(end, 0, 4);
    b6.push(prefix);
  }
  return {
    size: texts.length,
    v4: { starts: Uint32Array.from(s4), ends: Uint32Array.from(e4), bits: Uint8Array.from(b4) },
    v6: { starts: s6.done(), ends: e6.done(), bits: Uint8Array.from(b6) },
  };
}

/**
 * The words of a parsed address for the allocation-free lookups of {@link PrefixTable}: the IPv4
 * value (or -1) and the four IPv6 words. Derived once per address object.
 */
export function lookupWords(ip: ParsedIp): { readonly v4: number; readonly w0: number; readonly w1: number; readonly w2: number; readonly w3: number } {
  return keyOf(ip);
}
