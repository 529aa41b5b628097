// Address and CIDR parsing, formatting and set lookups. ipaddr.js is the reference: each accepted
// or rejected form pins what ipaddr.js says too, and seeded properties check that the hand-written
// parser agrees with it on generated addresses and blocks. Embedded IPv4: ip-embedded.test.ts.
/// <reference types="vite/client" />
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { CidrSet, formatIp, isCidr, isIpAddress, parseCidr, parseIp, type CidrRange, type ParsedIp } from '../../src/engine/ip';
import { ip, range } from '../ip-helpers';

/** Bytes of an address value, most significant first. */
function bytesOf(value: number | bigint, version: 4 | 6): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (let i = 0; i < (version === 4 ? 4 : 16); i++) {
    out.unshift(Number(v & 255n));
    v >>= 8n;
  }
  return out;
}

/** Text of an address value as ipaddr.js prints it (independent of formatIp). */
function textOf(value: number | bigint, version: 4 | 6): string {
  return ipaddr.fromByteArray(bytesOf(value, version)).toString();
}

/**
 * The reference parse: ipaddr.js, IPv4-mapped to IPv4. ipaddr.js reads `::a.b.c.d` as the mapped
 * `::ffff:a.b.c.d` (its "deprecatedTransitional" form); RFC 4291 §2.5.5.1 makes it the
 * IPv4-compatible `::a.b.c.d`, i.e. `::0:a.b.c.d`, which ipaddr.js does read that way.
 */
function reference(s: string): ParsedIp {
  const text = /^::\d+\.\d+\.\d+\.\d+$/.test(s) ? `::0:${s.slice(2)}` : s;
  const addr = ipaddr.process(text);
  const bytes = addr.toByteArray();
  if (addr.kind() === 'ipv4') return { version: 4, value: bytes.reduce((v, b) => v * 256 + b, 0) };
  return { version: 6, value: bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n) };
}

describe('isIpAddress', () => {
  // [input, ours, ipaddr.isValid]: where the two differ we are stricter on purpose.
  it.each<[string, boolean, boolean]>([
    ['203.0.113.7', true, true],
    ['0.0.0.0', true, true],
    ['255.255.255.255', true, true],
    ['2001:db8::1', true, true],
    ['2001:DB8::1', true, true],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', true, true],
    ['::', true, true],
    ['::1', true, true],
    ['1::', true, true],
    ['::ffff:1.2.3.4', true, true],
    ['::FFFF:1.2.3.4', true, true],
    ['::1.2.3.4', true, true],
    ['1:2:3:4:5:6:1.2.3.4', true, true],
    ['1::1.2.3.4', true, true],
    ['1:2:3:4:5:6:7::', true, true],
    ['::1:2:3:4:5:6:7', true, true],
    ['1:0:1:0:1:0:1:0', true, true],
    ['::ffff:0.0.0.0', true, true],
    // non-canonical IPv4: octal, hex, short forms (inet_aton reads them; we never guess)
    ['01.2.3.4', false, true],
    ['1.2.3.04', false, true],
    ['127.1', false, true],
    ['127.0.1', false, true],
    ['1.2.3', false, true],
    ['0x7f.0.0.1', false, true],
    ['0x7f.1', false, true],
    ['2130706433', false, true],
    ['::ffff:01.2.3.4', false, true],
    ['::ffff:0x1.2.3.4', false, true],
    // zone ids
    ['fe80::1%eth0', false, true],
    ['fe80::1%1', false, true],
    ['::1.2.3.4%eth0', false, true],
    // malformed either way
    ['256.1.1.1', false, false],
    ['1.2.3.4.5', false, false],
    ['1.2.3.', false, false],
    ['1..2.3', false, false],
    ['1.2.3.a', false, false],
    ['1.2.3.4a', false, false],
    ['1,2,3,4', false, false],
    ['1:2:3:4:5:6:7', false, false],
    [':12:3:4:5:6:7:8', false, false],
    ['::1::2', false, false],
    ['1.2.3.4 ', false, false],
    [' 1.2.3.4', false, false],
    ['1.2.3.4\n', false, false],
    ['1:2:3:4:5:6:7:8:9', false, false],
    ['1:2:3:4::5:6:7:8', false, false],
    ['1:2:3:4:5:6:7:1.2.3.4', false, false],
    ['1:2:3:4:5:6::1.2.3.4', false, false],
    ['1::2::3', false, false],
    [':::', false, false],
    [':1::', false, false],
    ['1::2:', false, false],
    ['1:2:3:4:5:6:7:8:', false, false],
    ['00001::', false, false],
    ['::ffff:1.2.3', false, false],
    ['::ffff:256.1.1.1', false, false],
    ['1.2.3.4::', false, false],
    ['g::1', false, false],
    ['[2001:db8::1]', false, false],
    ['203.0.113.0/24', false, false],
    ['', false, false],
    ['not an ip', false, false],
  ])('%j -> %s (ipaddr.js: %s)', (s, want, ipaddrSays) => {
    expect(isIpAddress(s)).toBe(want);
    expect(parseIp(s) !== undefined).toBe(want);
    expect(ipaddr.isValid(s)).toBe(ipaddrSays);
  });
});

describe('parseIp', () => {
  it('reads IPv4 as an unsigned 32-bit number', () => {
    expect(parseIp('255.255.255.255')).toEqual({ version: 4, value: 0xffffffff });
    expect(parseIp('10.0.0.1')).toEqual({ version: 4, value: 0x0a000001 });
    expect(parseIp('0.0.0.0')).toEqual({ version: 4, value: 0 });
  });
  it('reads IPv6 as a bigint', () => {
    expect(parseIp('::1')).toEqual({ version: 6, value: 1n });
    expect(parseIp('2001:db8::')).toEqual({ version: 6, value: 0x20010db8n << 96n });
    expect(parseIp('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual({ version: 6, value: (1n << 128n) - 1n });
  });
  it.each(['::ffff:198.51.100.5', '::ffff:c633:6405', '::FFFF:198.51.100.5', '0:0:0:0:0:ffff:c633:6405'])('normalises IPv4-mapped %s to IPv4', (s) => {
    expect(parseIp(s)).toEqual(parseIp('198.51.100.5'));
  });
  it('maps only ::ffff:0:0/96 to IPv4, not an address that merely has ffff in the same place', () => {
    expect(parseIp('0:0:0:1:0:ffff:c633:6405')).toEqual({ version: 6, value: (1n << 64n) | (0xffffn << 32n) | 0xc6336405n });
  });

  it('reads ::a.b.c.d as IPv4-compatible (RFC 4291), where ipaddr.js says IPv4-mapped', () => {
    expect(parseIp('::1.2.3.4')).toEqual({ version: 6, value: 0x01020304n });
    expect(parseIp('::1.2.3.4')).toEqual(parseIp('::102:304'));
    expect(ipaddr.parse('::1.2.3.4').toNormalizedString()).toBe('0:0:0:0:0:ffff:102:304');
  });
  it.each([
    '2001:db8::1',
    '2001:DB8::1',
    '2001:db8:0:0:0:0:0:1',
    '2001:0db8:0000:0000:0000:0000:0000:0001',
    '2001:db8::0:1',
    '2001:db8:0::0:1',
    '2001:db8:0:0:0:0:0.0.0.1',
    '2001:db8::0.0.0.1',
  ])('%s is 2001:db8::1 in every compression form', (s) => {
    expect(parseIp(s)).toEqual({ version: 6, value: (0x20010db8n << 96n) | 1n });
  });
  it('rejects garbage', () => {
    expect(parseIp('1.2.3')).toBeUndefined();
  });
});

describe('formatIp (RFC 5952)', () => {
  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['1::', '1::'],
    ['::1.2.3.4', '::102:304'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['::ffff:0.0.0.0', '0.0.0.0'],
  ])('%s -> %s', (s, want) => {
    expect(formatIp(ip(s))).toBe(want);
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.0.2.7/32', '192.0.2.7/32'],
    ['192.0.2.7/08', '192.0.0.0/8'],
    ['2001:db8:ffff::/32', '2001:db8::/32'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['::/0', '::/0'],
    ['::1/128', '::1/128'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['::ffff:0:0/95', '::fffe:0:0/95'],
    ['2001:db8:1:2:3::/80', '2001:db8:1:2:3::/80'],
  ])('%s -> %s', (input, text) => {
    expect(parseCidr(input)?.text).toBe(text);
    expect(isCidr(input)).toBe(true);
  });
  it('gives inclusive ranges', () => {
    expect(range('192.0.2.0/24')).toMatchObject({ version: 4, start: 0xc0000200, end: 0xc00002ff });
    expect(range('0.0.0.0/0')).toMatchObject({ version: 4, start: 0, end: 0xffffffff });
    expect(range('2001:db8::/32')).toMatchObject({ version: 6, start: 0x20010db8n << 96n, end: (0x20010db9n << 96n) - 1n });
  });
  it.each([
    '10.0.0.0/33',
    '10.0.0.0',
    '2001:db8::/129',
    '10.0.0/8',
    'x/8',
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/ 8',
    '10.0.0.0/0008',
    '10.0.0.0/',
    '/8',
    '10.0.0.0/8/8',
    'fe80::%1/64',
    '010.0.0.0/8',
    '10.1/16',
    '2001:db8::/32 ',
    '2001:db8::/3a',
    '10.0.0.0/1a',
  ])('rejects %j', (input) => {
    expect(parseCidr(input)).toBeUndefined();
    expect(isCidr(input)).toBe(false);
  });
});

describe('CidrSet', () => {
  const set = CidrSet.from(['10.0.0.0/8', '10.1.0.0/16', '192.0.2.0/24', '192.0.3.0/24', '2001:db8::/32', '::ffff:198.51.100.0/120', '2001:db8:5::/48']);
  const at = (s: string) => set.match(ip(s), 'exact')?.cidr;

  it.each([
    ['10.0.0.0', '10.0.0.0/8'],
    ['10.255.255.255', '10.0.0.0/8'],
    ['10.1.2.3', '10.1.0.0/16'],
    ['10.0.255.255', '10.0.0.0/8'],
    ['10.2.0.0', '10.0.0.0/8'],
    ['11.0.0.0', undefined],
    ['9.255.255.255', undefined],
    ['192.0.2.0', '192.0.2.0/24'],
    ['192.0.2.255', '192.0.2.0/24'],
    ['192.0.3.0', '192.0.3.0/24'],
    ['192.0.3.255', '192.0.3.0/24'],
    ['192.0.1.255', undefined],
    ['192.0.4.0', undefined],
    ['198.51.100.9', '198.51.100.0/24'],
    ['::ffff:10.9.9.9', '10.0.0.0/8'],
    ['2001:db8::', '2001:db8::/32'],
    ['2001:db8:5::1', '2001:db8:5::/48'],
    ['2001:db8:4:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32'],
    ['2001:db8:6::', '2001:db8::/32'],
    ['2001:db8:1::1', '2001:db8::/32'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32'],
    ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', undefined],
    ['2001:db9::', undefined],
    ['::ffff:0:0', undefined],
    ['::', undefined],
  ])('%s is in %s', (s, want) => {
    expect(at(s)).toBe(want);
  });

  it('reports the address that matched', () => {
    expect(set.match(ip('10.1.2.3'), 'exact')).toEqual({ cidr: '10.1.0.0/16', via: 'address', matchedIp: '10.1.2.3' });
    expect(set.match(ip('10.9.2.3'), 'exact')).toEqual({ cidr: '10.0.0.0/8', via: 'address', matchedIp: '10.9.2.3' });
    expect(set.match(ip('2001:DB8:0::1'), 'exact')).toEqual({ cidr: '2001:db8::/32', via: 'address', matchedIp: '2001:db8::1' });
    expect(set.match({ version: 6, value: 0xffff_0a01_0203n }, 'exact')).toEqual({ cidr: '10.1.0.0/16', via: 'address', matchedIp: '10.1.2.3' });
  });

  it.each([
    ['192.0.2.1', '192.0.2.1/32'],
    ['192.0.2.0', '192.0.2.0/31'],
    ['192.0.2.2', undefined],
    ['2001:db8::1', '2001:db8::1/128'],
    ['2001:db8::', '2001:db8::/127'],
    ['2001:db8::2', undefined],
  ])('a nested block ending where its parent ends answers with itself (longest prefix): %s in %s', (s, want) => {
    // The blocks after it put the nested one mid-table, where a binary search would land first.
    const nested = CidrSet.from(['192.0.2.1/32', '192.0.2.0/31', '192.0.2.4/32', '192.0.2.8/32', '2001:db8::1/128', '2001:db8::/127', '2001:db8::4/128', '2001:db8::8/128']);
    expect(nested.match(ip(s), 'exact')?.cidr).toBe(want);
  });

  it.each<[string, string[], string, string | undefined]>([
    // [name, blocks, address, block it is in]
    ['all of IPv6', ['::/0'], '2001:db8::1', '::/0'],
    ['the lower half of IPv6, with a longer block inside', ['::/1', '2001:db8::/32'], '2001:db8::1', '2001:db8::/32'],
    ['the lower half of IPv6, outside the longer block', ['::/1', '2001:db8::/32'], '2001:db9::', '::/1'],
    ['the last IPv6 address, in nested blocks', ['8000::/1', 'ffff::/16', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'], 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'],
    ['just before the last IPv6 address, in nested blocks', ['8000::/1', 'ffff::/16', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'], 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', 'ffff::/16'],
    ['the last IPv4 address, in nested blocks', ['0.0.0.0/0', '255.255.255.255/32'], '255.255.255.255', '255.255.255.255/32'],
    ['the first IPv4 address, in nested blocks', ['0.0.0.0/0', '0.0.0.0/32'], '0.0.0.1', '0.0.0.0/0'],
    ['the same block listed twice', ['192.0.2.0/24', '192.0.2.0/24', '192.0.2.128/25'], '192.0.2.127', '192.0.2.0/24'],
    ['::/0 does not cover IPv4', ['::/0'], '192.0.2.1', undefined],
    ['all of IPv4, written as IPv4-mapped IPv6', ['::ffff:0:0/96'], '8.8.8.8', '0.0.0.0/0'],
    ['a block whose third word is not zero', ['2001:db8:1:2:3::/80'], '2001:db8:1:2:3::9', '2001:db8:1:2:3::/80'],
  ])('%s', (_name, blocks, address, want) => {
    expect(CidrSet.from(blocks).match(ip(address), 'exact')?.cidr).toBe(want);
  });

  it.each([
    ['the second 32-bit word', ['2001:db8:0:3::/64', '2001:db8:0:1::/64', '2001:db8:0:2::/64']],
    ['the third 32-bit word', ['2001:db8::3:0:0/96', '2001:db8::1:0:0/96', '2001:db8::2:0:0/96']],
    ['the fourth 32-bit word', ['2001:db8::3/128', '2001:db8::1/128', '2001:db8::2/128']],
  ])('finds IPv6 blocks that differ only in %s, listed in any order', (_name, blocks) => {
    for (const order of [blocks, [...blocks].reverse(), [blocks[1] ?? '', blocks[2] ?? '', blocks[0] ?? '']]) {
      const set = CidrSet.from(order);
      for (const block of blocks) {
        const first = block.replace(/\/\d+$/, '');
        const address = first.endsWith('::') ? `${first}1` : first;
        expect(set.match(ip(address), 'exact')?.cidr, `${address} in ${order.join(' ')}`).toBe(block);
      }
    }
  });

  it('an empty set matches nothing', () => {
    const empty = CidrSet.from([]);
    expect(empty.size).toBe(0);
    expect(empty.match({ version: 4, value: 0 }, 'with-embedded')).toBeUndefined();
    expect(empty.match({ version: 6, value: 0n }, 'with-embedded')).toBeUndefined();
  });

  it('throws on a malformed block (schemas validate before compile)', () => {
    expect(() => CidrSet.from(['10.0.0.0/40'])).toThrow(/invalid CIDR 10.0.0.0\/40/);
    expect(() => CidrSet.from(['10.0.0.0/8', '192.0.2.0/24', 'nope'])).toThrow(/invalid CIDR nope$/);
  });

  it('tryFrom names every malformed entry', () => {
    expect(CidrSet.tryFrom(['10.0.0.0/8', 'x', '2001:db8::/32', '10.0.0.0/33'])).toEqual({ ok: false, invalid: [1, 3] });
    const r = CidrSet.tryFrom(['10.0.0.0/8', '2001:db8::/32']);
    expect(r.ok && r.set.size).toBe(2);
  });

  it('from reuses the set tryFrom just built for the same list, and only for it', () => {
    const list = ['203.0.113.0/24', '2001:db8:7::/48'];
    const validated = CidrSet.tryFrom(list);
    if (!validated.ok) throw new Error('valid list rejected');
    expect(CidrSet.from([...list])).toBe(validated.set);
    const other = CidrSet.from(['203.0.113.0/25', '2001:db8:7::/48']);
    expect(other).not.toBe(validated.set);
    expect(other.match(ip('203.0.113.200'), 'exact')).toBeUndefined();
  });

  it('finds blocks in a large set', () => {
    const blocks = Array.from({ length: 5000 }, (_, i) => `${(i >> 8) + 20}.${i & 255}.0.0/16`);
    const big = CidrSet.from(blocks);
    expect(big.match({ version: 4, value: ((20 << 24) | (7 << 16) | 5) >>> 0 }, 'exact')?.cidr).toBe('20.7.0.0/16');
    expect(big.match({ version: 4, value: (19 << 24) >>> 0 }, 'exact')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Differential properties against ipaddr.js and a linear scan.

/** fc.ipV6() writes lower case only: flip the case of some hex digits. */
const anyCase = (arb: fc.Arbitrary<string>) =>
  fc.tuple(arb, fc.array(fc.boolean(), { minLength: 45, maxLength: 45 })).map(([s, up]) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));

describe('agrees with ipaddr.js', () => {
  it('on generated IPv4 and IPv6 addresses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), anyCase(fc.ipV6())), (s) => {
        expect(isIpAddress(s)).toBe(true);
        expect(parseIp(s)).toEqual(reference(s));
      }),
      { seed: 7, numRuns: 3000 },
    );
  });

  it('on formatting (RFC 5952)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (s) => {
        const parsed = ip(s);
        fc.pre(parsed.version === 6);
        expect(formatIp(parsed)).toBe(textOf(parsed.value, 6));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('on generated CIDR blocks: network, last address and text', () => {
    const v4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }));
    const v6 = fc.tuple(anyCase(fc.ipV6()), fc.integer({ min: 0, max: 128 }));
    fc.assert(
      fc.property(fc.oneof(v4, v6), ([addr, bits]) => {
        const text = `${addr}/${bits}`;
        const got = parseCidr(text);
        if (!got) throw new Error(`rejected ${text}`);
        const ref = reference(addr);
        if (ref.version === 4) {
          const refBits = addr.includes(':') ? bits - 96 : bits;
          fc.pre(refBits >= 0);
          const cidr = `${textOf(ref.value, 4)}/${refBits}`;
          expect(got.text).toBe(`${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${refBits}`);
          expect(got.end).toBe(Number(ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toByteArray().reduce((v, b) => v * 256 + b, 0)));
        } else {
          const cidr = `${textOf(ref.value, 6)}/${bits}`;
          const net = ipaddr.IPv6.networkAddressFromCIDR(cidr);
          expect(got.version).toBe(6);
          expect(got.text).toBe(`${net.toRFC5952String()}/${bits}`);
          expect(got.end).toBe(reference(ipaddr.IPv6.broadcastAddressFromCIDR(cidr).toNormalizedString()).value);
        }
      }),
      { seed: 7, numRuns: 3000 },
    );
  });
});

/** A random block: v4 or v6, with prefixes clustered so that blocks nest and touch. */
const blockArb = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 8, max: 32 })).map(([v, bits]) => `${textOf(v, 4)}/${bits}`),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 12, max: 128 })).map(
    ([hi, lo, bits]) => `${textOf((0x2001n << 112n) | (BigInt(hi) << 96n) | BigInt(lo), 6)}/${bits}`,
  ),
);

/** The innermost (longest-prefix) block of `ranges` holding `q`, by linear scan: what a lookup must answer. */
function linearScan(ranges: readonly CidrRange[], q: ParsedIp): string | undefined {
  let best: CidrRange | undefined;
  for (const r of ranges) {
    if (r.version !== q.version || q.value < r.start || q.value > r.end) continue;
    if (!best || r.start > best.start || r.end < best.end) best = r;
  }
  return best?.text;
}

/** Addresses around a block: first, last, one before, one after (clamped to the family). */
function around(r: CidrRange): ParsedIp[] {
  const max = r.version === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  const out = [BigInt(r.start), BigInt(r.end), BigInt(r.start) - 1n, BigInt(r.end) + 1n].filter((v) => v >= 0n && v <= max);
  return out.map((v) => (r.version === 4 ? { version: 4, value: Number(v) } : { version: 6, value: v }));
}

describe('CidrSet agrees with a linear scan', () => {
  it('on random sets, at block edges and random addresses', () => {
    fc.assert(
      fc.property(
        fc.array(blockArb, { minLength: 0, maxLength: 40 }),
        fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 10 }),
        (blocks, extra) => {
          const set = CidrSet.from(blocks);
          const ranges = blocks.map(range);
          const queries = [...ranges.flatMap(around), ...extra.map(ip)];
          for (const q of queries) {
            const got = set.match(q, 'exact');
            expect(got?.cidr).toBe(linearScan(ranges, q));
            if (got) expect(got.via).toBe('address');
          }
        },
      ),
      { seed: 7, numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Real ranges: the X4B lists (data/network-intel, MIT, X4BNet/lists_vpn). A fixed sample is
// inlined (pairs of neighbouring lines, so blocks that touch are covered); the whole lists are
// checked too when the files are in data/network-intel.

const X4B_SAMPLE: Record<string, readonly string[]> = {
  'x4b-vpn-ipv4': ['2.26.157.0/24', '2.26.164.0/24', '45.154.154.28/31', '45.154.154.30/32', '84.32.94.0/24', '84.32.105.0/24', '93.152.24.0/24', '93.152.26.0/24', '104.28.51.254/32', '104.28.52.0/29', '104.28.106.39/32', '104.28.106.40/29', '104.253.201.0/24', '104.253.202.0/24', '149.33.44.0/23', '149.34.240.0/20', '172.121.157.0/24', '172.121.158.0/24', '172.226.104.0/26', '172.226.104.64/28', '185.175.160.0/22', '185.177.125.173/32', '193.138.7.132/32', '193.138.7.137/32', '217.8.198.0/24', '217.8.202.0/24', '220.158.199.176/32'],
  'x4b-vpn-ipv6': ['2001:550:1d05::/48', '2001:678:8b4::/48', '2607:740:76::/48', '2607:740:7f::/48', '2a02:6ea0:5c00::/38', '2a02:6ea0:7100::/40', '2a07:db82::/32', '2a07:db84::/31', '2a0b:7140:7::/48', '2a0b:9040::/29', '2a0d:5600:118::/47', '2a0d:5600:120::/45', '2a0d:5600:2a8::/45', '2a0d:5600:2b0::/45', '2a0f:a780::/30', '2a0f:e940::/29', '2a13:9500:2e::/47', '2a13:9500:30::/47', '2c0f:3f80::/32'],
  'x4b-datacenter-ipv4': ['1.12.0.0/14', '1.44.96.0/24', '23.212.0.0/22', '23.212.4.0/24', '46.4.0.0/16', '46.8.10.0/23', '69.147.236.0/22', '69.147.240.0/23', '88.204.40.0/21', '88.208.0.0/18', '103.104.128.0/23', '103.104.140.0/24', '128.1.144.0/23', '128.1.146.0/24', '151.245.78.0/24', '151.245.92.0/24', '169.57.128.0/17', '169.58.0.0/15', '185.83.202.0/24', '185.83.216.0/22', '193.43.20.0/22', '193.43.69.0/24', '204.87.58.0/24', '204.87.151.0/24', '216.219.64.0/20', '216.219.80.0/21', '223.255.248.0/22'],
  'x4b-datacenter-ipv6': ['2001:310::/32', '2001:418:1401:4::/64', '2400:8100::/32', '2400:8500:1000::/36', '2600:140f:2240::/42', '2600:140f:2280::/41', '2600:1419:10::/45', '2600:1419:18::/48', '2602:fafd:902::/48', '2602:fafd:f40::/44', '2604:a00:110::/44', '2604:a00:120::/43', '2607:740:36::/48', '2607:740:38::/48', '2a00:16d8:50::/47', '2a00:16d8:53::/48', '2a02:2ca0:1111::/48', '2a02:2da0:1000::/48', '2a06:1301:4050::/48', '2a06:1780::/32', '2a0b:71c4:3200::/40', '2a0b:71c4:3400::/38', '2a0f:1e84:800::/37', '2a0f:1e84:1000::/36', '2a12:9ec0::/29', '2a12:9f40::/29', '2c0f:fee0::/32'],
};

/** The full lists, when present (SOURCE.md: copied unmodified from X4BNet/lists_vpn). */
const X4B_FILES = import.meta.glob<string>('../../data/network-intel/x4b-*-ipv[46].txt', { query: '?raw', import: 'default', eager: true });

function linesOf(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** For `sample` blocks of `set` (built from `all`): first, middle and last found; neighbours only if covered. */
function checkRealRanges(set: CidrSet, all: readonly CidrRange[], sample: readonly CidrRange[]): void {
  for (const r of sample) {
    const first = BigInt(r.start);
    const last = BigInt(r.end);
    for (const v of [first, first + (last - first) / 2n, last]) {
      const q: ParsedIp = r.version === 4 ? { version: 4, value: Number(v) } : { version: 6, value: v };
      const got = set.match(q, 'exact');
      expect(got, `${textOf(v, r.version)} in ${r.text}`).toBeDefined();
      expect(got?.cidr).toBe(linearScan(all, q));
    }
    for (const q of around(r).slice(2)) {
      expect(set.match(q, 'exact')?.cidr, `neighbour ${textOf(q.value, q.version)} of ${r.text}`).toBe(linearScan(all, q));
    }
  }
}

describe('X4B ranges', () => {
  it.each(Object.entries(X4B_SAMPLE))('sample of %s: first, middle, last found; neighbours only where listed', (_name, blocks) => {
    const ranges = blocks.map(range);
    expect(ranges.map((r) => r.text)).toEqual(blocks);
    checkRealRanges(CidrSet.from(blocks), ranges, ranges);
  });

  const files = Object.entries(X4B_FILES);
  it.skipIf(files.length === 0)('full lists in data/network-intel: every entry valid, 1 in 200 checked against a scan', () => {
    expect(files).toHaveLength(4);
    for (const [file, text] of files) {
      const blocks = linesOf(text);
      expect(blocks.filter((b) => !isCidr(b)), file).toEqual([]);
      const all = blocks.map(range);
      const set = CidrSet.from(blocks);
      expect(set.size).toBe(blocks.length);
      checkRealRanges(set, all, all.filter((_, i) => i % 200 === 0 || i === all.length - 1));
    }
  });
});
