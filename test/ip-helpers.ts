// Addresses and blocks as tests write them: parsed by the engine's own parser, with a typo in a
// test failing loudly instead of becoming `undefined`.
import { parseCidr, parseIp, type CidrRange, type ParsedIp } from '../src/engine/ip';

/** Parses a test address, failing the test on a typo. */
export function ip(s: string): ParsedIp {
  const parsed = parseIp(s);
  if (!parsed) throw new Error(`bad test ip ${s}`);
  return parsed;
}

/** Parses a test CIDR block, failing the test on a typo. */
export function range(s: string): CidrRange {
  const r = parseCidr(s);
  if (!r) throw new Error(`bad test cidr ${s}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Other spellings of an address (the hostile-input suite, test/fuzz/): the same address written
// another way, and the IPv6 addresses of the mechanisms that embed an IPv4 address.

/** The 32-bit value of a dotted quad. */
export function v4Value(dotted: string): number {
  const parsed = ip(dotted);
  if (parsed.version !== 4) throw new Error(`not an IPv4 address: ${dotted}`);
  return parsed.value;
}

/** A 16-bit group in hex, with `zeros` leading zeros kept (at most 4 digits) and the case asked. */
export function hexGroup(value: number, zeros = 0, upper = false): string {
  const hex = (value & 0xffff).toString(16);
  const padded = hex.padStart(Math.min(4, hex.length + zeros), '0');
  return upper ? padded.toUpperCase() : padded;
}

/** How one spelling is written: leading zeros per group and upper-case hex. */
export interface SpellingStyle {
  readonly zeros: number;
  readonly upper: boolean;
}

const PLAIN: SpellingStyle = { zeros: 0, upper: false };

/** The last 32 bits as two hex groups (`c633:6405`). */
function v4Groups(v: number, s: SpellingStyle): string {
  return `${hexGroup(v >>> 16, s.zeros, s.upper)}:${hexGroup(v & 0xffff, s.zeros, s.upper)}`;
}

/**
 * The IPv4 address itself, written as IPv6 (IPv4-mapped `::ffff:0:0/96`, RFC 4291 §2.5.5.2), in
 * every common text form: the engine reads each as the IPv4 address, so each must be judged
 * exactly as the dotted quad.
 */
export function mappedSpellings(dotted: string, s: SpellingStyle = PLAIN): string[] {
  const v = v4Value(dotted);
  const ffff = s.upper ? 'FFFF' : 'ffff';
  const z = (n: number) => Array.from({ length: n }, () => hexGroup(0, s.zeros, s.upper)).join(':');
  return [
    `::${ffff}:${dotted}`,
    `::${ffff}:${v4Groups(v, s)}`,
    `${z(5)}:${ffff}:${dotted}`,
    `${z(5)}:${ffff}:${v4Groups(v, s)}`,
    `${z(1)}::${ffff}:${dotted}`,
    `${z(2)}::${ffff}:${v4Groups(v, s)}`,
  ];
}

/** An IPv6 address that embeds an IPv4 one, and the mechanism (as src/engine/ip.ts names it). */
export interface EmbeddingSpelling {
  readonly via: 'ipv4-compatible' | 'siit' | 'nat64' | '6to4' | 'teredo' | 'isatap';
  readonly text: string;
}

/**
 * Addresses of the mechanisms that embed `dotted` at a fixed place of a fixed prefix (so that
 * the address says nothing else about where the user is): IPv4-compatible `::a.b.c.d`, SIIT
 * `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002:AABB:CCDD::/48` (any subnet and
 * interface id), Teredo `2001:0::/32` (any server, flags and port; the client inverted) and ISATAP
 * on the link-local prefix. `salt` picks the free bits. Traffic from any of them comes from (or
 * through) the IPv4 host: never judged more permissively than the IPv4 address itself.
 */
export function embeddingSpellings(dotted: string, salt: number, s: SpellingStyle = PLAIN): EmbeddingSpelling[] {
  const v = v4Value(dotted);
  const g = (n: number) => hexGroup(n, s.zeros, s.upper);
  const free = (k: number) => ((salt >>> (k * 4)) * 2654435761) & 0xffff;
  const inverted = ~v >>> 0;
  const out: EmbeddingSpelling[] = [
    { via: 'siit', text: `::${s.upper ? 'FFFF' : 'ffff'}:0:${dotted}` },
    { via: 'nat64', text: `64:${s.upper ? 'FF9B' : 'ff9b'}::${dotted}` },
    { via: 'nat64', text: `${g(0x64)}:${g(0xff9b)}::${v4Groups(v, s)}` },
    { via: '6to4', text: `${g(0x2002)}:${v4Groups(v, s)}:${g(free(0))}::${g(free(1) | 1)}` },
    { via: '6to4', text: `2002:${v4Groups(v, s)}::` },
    { via: 'teredo', text: `2001:0:${g(free(2))}:${g(free(3))}:${g(free(4) & 0x8000)}:${g(free(5))}:${v4Groups(inverted, s)}` },
    { via: 'isatap', text: `fe80::${s.upper ? '5EFE' : '5efe'}:${dotted}` },
    { via: 'isatap', text: `fe80::200:${s.upper ? '5EFE' : '5efe'}:${v4Groups(v, s)}` },
  ];
  // ::0.0.0.0 and ::0.0.0.1 are the unspecified and loopback addresses, not IPv4-compatible ones.
  if (v > 1) out.unshift({ via: 'ipv4-compatible', text: `::${dotted}` }, { via: 'ipv4-compatible', text: `::${v4Groups(v, s)}` });
  return out;
}

/**
 * The same IPv6 address in other text forms: every group written out (leading zeros or not),
 * upper case, and `::` over the longest run of zero groups or another one.
 */
export function ipv6Spellings(address: string, s: SpellingStyle = PLAIN): string[] {
  const parsed = ip(address);
  if (parsed.version !== 6) throw new Error(`not an IPv6 address: ${address}`);
  const groups = Array.from({ length: 8 }, (_, k) => Number((parsed.value >> BigInt((7 - k) * 16)) & 0xffffn));
  const full = groups.map((n) => hexGroup(n, s.zeros, s.upper)).join(':');
  const fullPadded = groups.map((n) => hexGroup(n, 4, s.upper)).join(':');
  const out = [full, fullPadded];
  // Every run of two or more zero groups may stand as "::" (one at a time).
  for (let k = 0; k < 8; k++) {
    if (groups[k] !== 0 || (k > 0 && groups[k - 1] === 0)) continue;
    let e = k;
    while (e < 8 && groups[e] === 0) e++;
    if (e - k < 1) continue;
    const head = groups.slice(0, k).map((n) => hexGroup(n, s.zeros, s.upper)).join(':');
    const tail = groups.slice(e).map((n) => hexGroup(n, s.zeros, s.upper)).join(':');
    out.push(`${head}::${tail}`);
  }
  return out;
}

/**
 * Spellings that are NOT addresses to the engine's strict parser (src/engine/ip.ts): leading
 * zeros in an IPv4 octet (octal to inet_aton), short and hex IPv4 forms, zone ids, brackets, a
 * port, a prefix length, five hex digits in a group. Each must be refused (400), never read as
 * some other address.
 */
export function refusedSpellings(dotted: string): string[] {
  const [a = '0', b = '0', c = '0', d = '0'] = dotted.split('.');
  const v = v4Value(dotted);
  return [
    `0${a}.${b}.${c}.${d}`,
    `${a}.${b}.0${c}.${d}`,
    `${a}.${b}.${c}.00${d}`,
    `${a}.${(Number(b) << 16) | (Number(c) << 8) | Number(d)}`,
    `0x${v.toString(16)}`,
    String(v),
    `0x${Number(a).toString(16)}.${b}.${c}.${d}`,
    `${dotted}%eth0`,
    `::ffff:${dotted}%eth0`,
    `fe80::5efe:${dotted}%25en0`,
    `[::ffff:${dotted}]`,
    `${dotted}:443`,
    `${dotted}/32`,
    `${dotted}.`,
    `::ffff:${dotted}.0`,
    `::0ffff:${dotted}`,
    `:::ffff:${dotted}`,
  ];
}
