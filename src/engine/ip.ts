// IP addresses and CIDR sets. Parsing is ipaddr.js; matching is ours: sorted, merged ranges with
// binary search, so a set of tens of thousands of CIDRs costs O(log n) per lookup.
// Invariant: IPv4-mapped IPv6 (::ffff:a.b.c.d) is always treated as the IPv4 address.
import ipaddr from 'ipaddr.js';

/** A parsed address: IPv4 as an unsigned 32-bit number, IPv6 as a 128-bit bigint. */
export type ParsedIp = { readonly version: 4; readonly value: number } | { readonly version: 6; readonly value: bigint };

function bytesToBigInt(bytes: readonly number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromAddress(addr: ipaddr.IPv4 | ipaddr.IPv6): ParsedIp {
  if (addr.kind() === 'ipv4') {
    const [a = 0, b = 0, c = 0, d = 0] = addr.toByteArray();
    return { version: 4, value: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0 };
  }
  return { version: 6, value: bytesToBigInt(addr.toByteArray()) };
}

/**
 * Whether `s` is an IPv4 address in dotted-quad form or an IPv6 address without a zone index.
 * Stricter than `ipaddr.isValid`, which also takes `0x7f.1` and `127.1`.
 */
export function isIpAddress(s: string): boolean {
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return true;
  return !s.includes('%') && ipaddr.IPv6.isValid(s);
}

/** Parses an address accepted by {@link isIpAddress}; IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(s: string): ParsedIp | undefined {
  if (!isIpAddress(s)) return undefined;
  return fromAddress(ipaddr.process(s));
}

/** One CIDR block as an inclusive range, keeping its normalised text for evidence. */
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
  const slash = s.indexOf('/');
  if (slash < 0 || s.includes('%')) return undefined;
  const addrText = s.slice(0, slash);
  if (!isIpAddress(addrText) || !/^\d{1,3}$/.test(s.slice(slash + 1))) return undefined;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let bits: number;
  try {
    [addr, bits] = ipaddr.parseCIDR(s);
  } catch {
    return undefined;
  }
  if (addr.kind() === 'ipv6' && bits >= 96 && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  const ip = fromAddress(addr);
  if (ip.version === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const start = (ip.value & mask) >>> 0;
    const end = (start | (~mask >>> 0)) >>> 0;
    return { version: 4, start, end, text: `${ipaddr.fromByteArray(toV4Bytes(start)).toString()}/${bits}` };
  }
  const hostBits = BigInt(128 - bits);
  const start = (ip.value >> hostBits) << hostBits;
  const end = start | ((1n << hostBits) - 1n);
  return { version: 6, start, end, text: `${ipaddr.fromByteArray(toV6Bytes(start)).toString()}/${bits}` };
}

function toV4Bytes(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

function toV6Bytes(v: bigint): number[] {
  const out = new Array<number>(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  return out;
}

/** Whether `s` is a CIDR block {@link parseCidr} accepts. */
export function isCidr(s: string): boolean {
  return parseCidr(s) !== undefined;
}

interface Ranges<T extends number | bigint> {
  starts: T[];
  ends: T[];
  texts: string[];
}

function mergeRanges<T extends number | bigint>(ranges: CidrRange[]): Ranges<T> {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Ranges<T> = { starts: [], ends: [], texts: [] };
  for (const r of sorted) {
    const last = out.ends.length - 1;
    const lastEnd = out.ends[last];
    if (lastEnd !== undefined && r.start <= lastEnd) {
      // Overlapping or nested: extend the previous range; evidence keeps the first block's text.
      if (r.end > lastEnd) out.ends[last] = r.end as T;
      continue;
    }
    out.starts.push(r.start as T);
    out.ends.push(r.end as T);
    out.texts.push(r.text);
  }
  return out;
}

function search<T extends number | bigint>(r: Ranges<T>, v: T): string | undefined {
  let lo = 0;
  let hi = r.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const start = r.starts[mid] as T;
    if (v < start) hi = mid - 1;
    else if (v > (r.ends[mid] as T)) lo = mid + 1;
    else return r.texts[mid];
  }
  return undefined;
}

/** An immutable set of CIDR blocks, v4 and v6, answering "which block holds this address". */
export class CidrSet {
  readonly #v4: Ranges<number>;
  readonly #v6: Ranges<bigint>;
  /** Number of blocks the set was built from. */
  readonly size: number;

  private constructor(ranges: CidrRange[]) {
    this.size = ranges.length;
    this.#v4 = mergeRanges<number>(ranges.filter((r) => r.version === 4));
    this.#v6 = mergeRanges<bigint>(ranges.filter((r) => r.version === 6));
  }

  /** Builds a set; throws on a malformed block (policies are validated before they get here). */
  static from(cidrs: readonly string[]): CidrSet {
    return new CidrSet(
      cidrs.map((c) => {
        const r = parseCidr(c);
        if (!r) throw new Error(`invalid CIDR ${c}`);
        return r;
      }),
    );
  }

  /** The (normalised) block containing `ip`, or undefined. */
  match(ip: ParsedIp): string | undefined {
    return ip.version === 4 ? search(this.#v4, ip.value) : search(this.#v6, ip.value);
  }
}
