import { describe, expect, it } from 'vitest';
import { CidrSet, isIpAddress, parseCidr, parseIp } from '../../src/engine/ip';

describe('isIpAddress', () => {
  it.each([
    ['203.0.113.7', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['2001:db8::1', true],
    ['2001:DB8::1', true],
    ['::', true],
    ['::ffff:1.2.3.4', true],
    ['256.1.1.1', false],
    ['01.2.3.4', false],
    ['127.1', false],
    ['0x7f.0.0.1', false],
    ['1.2.3.4 ', false],
    ['fe80::1%eth0', false],
    ['1:2:3:4:5:6:7:8:9', false],
    ['203.0.113.0/24', false],
    ['', false],
    ['not an ip', false],
  ])('%j -> %s', (s, want) => {
    expect(isIpAddress(s)).toBe(want);
  });
});

describe('parseIp', () => {
  it('reads IPv4 as an unsigned 32-bit number', () => {
    expect(parseIp('255.255.255.255')).toEqual({ version: 4, value: 0xffffffff });
    expect(parseIp('10.0.0.1')).toEqual({ version: 4, value: 0x0a000001 });
  });
  it('reads IPv6 as a bigint', () => {
    expect(parseIp('::1')).toEqual({ version: 6, value: 1n });
    expect(parseIp('2001:db8::')).toEqual({ version: 6, value: 0x20010db8n << 96n });
  });
  it.each(['::ffff:198.51.100.5', '::ffff:c633:6405', '::FFFF:198.51.100.5'])('normalises IPv4-mapped %s to IPv4', (s) => {
    expect(parseIp(s)).toEqual(parseIp('198.51.100.5'));
  });
  it('rejects garbage', () => {
    expect(parseIp('1.2.3')).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.0.2.7/32', '192.0.2.7/32'],
    ['2001:db8:ffff::/32', '2001:db8::/32'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
  ])('%s -> %s', (input, text) => {
    expect(parseCidr(input)?.text).toBe(text);
  });
  it.each(['10.0.0.0/33', '10.0.0.0', '2001:db8::/129', '10.0.0/8', 'x/8', '10.0.0.0/-1', '10.0.0.0/8/8', 'fe80::%1/64'])(
    'rejects %s',
    (input) => {
      expect(parseCidr(input)).toBeUndefined();
    },
  );
});

describe('CidrSet', () => {
  const set = CidrSet.from(['10.0.0.0/8', '10.1.0.0/16', '192.0.2.0/24', '192.0.3.0/24', '2001:db8::/32', '::ffff:198.51.100.0/120']);
  const at = (ip: string) => {
    const parsed = parseIp(ip);
    if (!parsed) throw new Error(`bad test ip ${ip}`);
    return set.match(parsed);
  };

  it.each([
    ['10.0.0.0', '10.0.0.0/8'],
    ['10.255.255.255', '10.0.0.0/8'],
    ['10.1.2.3', '10.0.0.0/8'],
    ['11.0.0.0', undefined],
    ['9.255.255.255', undefined],
    ['192.0.2.255', '192.0.2.0/24'],
    ['192.0.3.0', '192.0.3.0/24'],
    ['192.0.4.0', undefined],
    ['198.51.100.9', '198.51.100.0/24'],
    ['::ffff:10.9.9.9', '10.0.0.0/8'],
    ['2001:db8:1::1', '2001:db8::/32'],
    ['2001:db9::1', undefined],
    ['::ffff:0:0', undefined],
  ])('%s is in %s', (ip, want) => {
    expect(at(ip)).toBe(want);
  });

  it('an empty set matches nothing', () => {
    const empty = CidrSet.from([]);
    expect(empty.size).toBe(0);
    expect(empty.match({ version: 4, value: 0 })).toBeUndefined();
  });

  it('throws on a malformed block (schemas validate before compile)', () => {
    expect(() => CidrSet.from(['10.0.0.0/40'])).toThrow(/invalid CIDR/);
  });

  it('finds blocks in a large set', () => {
    const blocks = Array.from({ length: 5000 }, (_, i) => `${(i >> 8) + 20}.${i & 255}.0.0/16`);
    const big = CidrSet.from(blocks);
    expect(big.match({ version: 4, value: (((20 << 24) | (7 << 16) | 5) >>> 0) })).toBe('20.7.0.0/16');
    expect(big.match({ version: 4, value: ((19 << 24) >>> 0) })).toBeUndefined();
  });
});
