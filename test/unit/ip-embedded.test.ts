// IPv6 addresses that embed an IPv4 address, and the asymmetry that keeps them safe: deny,
// challenge and VPN/hosting lookups ('with-embedded') match the embedded IPv4; allow-exceptions
// ('exact') never do, since a sender can pick a 6to4/Teredo/NAT64 form of an allowed IPv4.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestView } from '../../src/engine/detectors/geo';
import { detectNetwork, matchCidr, NetworkSet } from '../../src/engine/detectors/network';
import { evaluate } from '../../src/engine/evaluate';
import { CidrSet, embeddedIpv4, type EmbeddedVia, type ParsedIp } from '../../src/engine/ip';
import { compile, facts, NOW, policyWith } from '../helpers';
import { ip } from '../ip-helpers';

const dotted = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;

/** Teredo address of client `v4` (RFC 4380: the client IPv4 is stored inverted) via server 65.54.227.120. */
function teredo(v4: string): string {
  const n = v4.split('.').reduce((v, o) => v * 256 + Number(o), 0);
  const inv = ~n >>> 0;
  return `2001:0:4136:e378:8000:63bf:${(inv >>> 16).toString(16)}:${(inv & 0xffff).toString(16)}`;
}

describe('embeddedIpv4', () => {
  it.each<[string, [EmbeddedVia, string][]]>([
    // IPv4-compatible ::/96 (deprecated), every text form of ::1.2.3.4
    ['::102:304', [['ipv4-compatible', '1.2.3.4']]],
    ['::0102:0304', [['ipv4-compatible', '1.2.3.4']]],
    ['::1.2.3.4', [['ipv4-compatible', '1.2.3.4']]],
    ['0:0:0:0:0:0:102:304', [['ipv4-compatible', '1.2.3.4']]],
    ['::2', [['ipv4-compatible', '0.0.0.2']]],
    ['::', []],
    ['::1', []],
    ['0:0:0:1::102:304', []],
    // SIIT ::ffff:0:0:0/96
    ['::ffff:0:1.2.3.4', [['siit', '1.2.3.4']]],
    ['::FFFF:0:102:304', [['siit', '1.2.3.4']]],
    ['1::ffff:0:102:304', []],
    ['0:0:1::ffff:0:102:304', []],
    // NAT64 well-known prefix 64:ff9b::/96; the local-use 64:ff9b:1::/48 is not decoded
    ['64:ff9b::1.2.3.4', [['nat64', '1.2.3.4']]],
    ['64:ff9b::102:304', [['nat64', '1.2.3.4']]],
    ['64:ff9b:0:0:0:0:1.2.3.4', [['nat64', '1.2.3.4']]],
    ['64:ff9b:1::1.2.3.4', []],
    ['64:ff9b:1:102:3:400::', []],
    ['64:ff9b::1:102:304', []],
    ['64:ff9a::1.2.3.4', []],
    // 6to4 2002::/16: bits 16-47
    ['2002:102:304::1', [['6to4', '1.2.3.4']]],
    ['2002:0102:0304:abcd:1:2:3:4', [['6to4', '1.2.3.4']]],
    ['2002::', [['6to4', '0.0.0.0']]],
    ['2003:102:304::1', []],
    // Teredo 2001:0::/32: the client is the last 32 bits inverted; the server (bits 32-63) is not the client
    [teredo('1.2.3.4'), [['teredo', '1.2.3.4']]],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', [['teredo', '192.0.2.45']]],
    ['2001:0:102:304::ffff:ffff', [['teredo', '0.0.0.0']]],
    ['2001:1::fefd:fcfb', []],
    // ISATAP interface ids, any prefix
    ['fe80::5efe:1.2.3.4', [['isatap', '1.2.3.4']]],
    ['2001:db8::200:5efe:1.2.3.4', [['isatap', '1.2.3.4']]],
    ['2001:db8:0:0:0200:5EFE:0102:0304', [['isatap', '1.2.3.4']]],
    ['2001:db8::100:5efe:1.2.3.4', []],
    ['2001:db8::5eff:1.2.3.4', []],
    // several at once, in a fixed order
    ['2002:909:909::5efe:1.2.3.4', [['6to4', '9.9.9.9'], ['isatap', '1.2.3.4']]],
    // IPv4 and IPv4-mapped ARE an IPv4 address: nothing embedded
    ['1.2.3.4', []],
    ['::ffff:1.2.3.4', []],
    ['2001:db8::1', []],
  ])('%s embeds %j', (s, want) => {
    expect(embeddedIpv4(ip(s)).map((e) => [e.via, dotted(e.value)])).toEqual(want);
  });

  it('is derived the same for a hand-built address', () => {
    expect(embeddedIpv4({ version: 6, value: 0x2002_0102_0304n << 80n })).toEqual([{ via: '6to4', value: 0x01020304 }]);
    expect(embeddedIpv4({ version: 6, value: 0xffff_0102_0304n })).toEqual([]);
    expect(embeddedIpv4({ version: 4, value: 0x01020304 })).toEqual([]);
  });
});

describe('CidrSet.match with a deny on 1.2.3.0/24', () => {
  const denied = CidrSet.from(['1.2.3.0/24', '2001:db8:bad::/48']);

  it.each<[string, string | undefined, string | undefined]>([
    // [address, via with-embedded, matchedIp]
    ['1.2.3.4', 'address', '1.2.3.4'],
    ['::ffff:1.2.3.4', 'address', '1.2.3.4'],
    ['::102:304', 'ipv4-compatible', '1.2.3.4'],
    ['::0102:0304', 'ipv4-compatible', '1.2.3.4'],
    ['::1.2.3.4', 'ipv4-compatible', '1.2.3.4'],
    ['::ffff:0:1.2.3.4', 'siit', '1.2.3.4'],
    ['64:ff9b::1.2.3.4', 'nat64', '1.2.3.4'],
    ['2002:102:304::1', '6to4', '1.2.3.4'],
    [teredo('1.2.3.4'), 'teredo', '1.2.3.4'],
    ['fe80::5efe:1.2.3.4', 'isatap', '1.2.3.4'],
    ['2001:db8::200:5efe:1.2.3.4', 'isatap', '1.2.3.4'],
    // first and last address of the block, through every mechanism
    ['::102:300', 'ipv4-compatible', '1.2.3.0'],
    ['::102:3ff', 'ipv4-compatible', '1.2.3.255'],
    ['64:ff9b::1.2.3.0', 'nat64', '1.2.3.0'],
    ['64:ff9b::1.2.3.255', 'nat64', '1.2.3.255'],
    ['2002:102:300::', '6to4', '1.2.3.0'],
    ['2002:102:3ff:ffff:ffff:ffff:ffff:ffff', '6to4', '1.2.3.255'],
    [teredo('1.2.3.0'), 'teredo', '1.2.3.0'],
    [teredo('1.2.3.255'), 'teredo', '1.2.3.255'],
    ['::ffff:0:1.2.3.255', 'siit', '1.2.3.255'],
    ['fe80::5efe:1.2.3.0', 'isatap', '1.2.3.0'],
    // neighbours just outside the block
    ['::102:2ff', undefined, undefined],
    ['::102:400', undefined, undefined],
    ['64:ff9b::1.2.2.255', undefined, undefined],
    ['64:ff9b::1.2.4.0', undefined, undefined],
    ['2002:102:2ff:ffff:ffff:ffff:ffff:ffff', undefined, undefined],
    ['2002:102:400::', undefined, undefined],
    [teredo('1.2.2.255'), undefined, undefined],
    [teredo('1.2.4.0'), undefined, undefined],
    ['::ffff:0:1.2.4.0', undefined, undefined],
    ['fe80::5efe:1.2.4.0', undefined, undefined],
    // not embeddings of 1.2.3.4
    ['64:ff9b:1::1.2.3.4', undefined, undefined],
    ['2001:0:102:304::', undefined, undefined],
    ['2001:db8::100:5efe:1.2.3.4', undefined, undefined],
    ['::1:102:304', undefined, undefined],
  ])('%s: with-embedded via %s', (s, via, matchedIp) => {
    const got = denied.match(ip(s), 'with-embedded');
    expect(got && { via: got.via, matchedIp: got.matchedIp }).toEqual(via === undefined ? undefined : { via, matchedIp });
    if (got) expect(got.cidr).toBe('1.2.3.0/24');
  });

  it('the address itself wins over an embedded IPv4 and reports its own text', () => {
    const both = CidrSet.from(['1.2.3.0/24', '2002::/16']);
    expect(both.match(ip('2002:0102:0304::1'), 'with-embedded')).toEqual({ cidr: '2002::/16', via: 'address', matchedIp: '2002:102:304::1' });
  });

  it('::, ::1 are not IPv4-compatible addresses of 0.0.0.0 and 0.0.0.1', () => {
    const low = CidrSet.from(['0.0.0.0/30']);
    expect(low.match(ip('::'), 'with-embedded')).toBeUndefined();
    expect(low.match(ip('::1'), 'with-embedded')).toBeUndefined();
    expect(low.match(ip('::2'), 'with-embedded')?.via).toBe('ipv4-compatible');
  });
});

describe('asymmetry: an embedded IPv4 never lifts anything', () => {
  const allowed = CidrSet.from(['203.0.113.0/24']);

  it.each([
    '2002:cb00:7107::1',
    '2002:cb00:7107:1:0:5efe:cb00:7107',
    teredo('203.0.113.7'),
    '64:ff9b::203.0.113.7',
    '::ffff:0:203.0.113.7',
    '::203.0.113.7',
    '::cb00:7107',
    'fe80::5efe:203.0.113.7',
  ])('exact: %s does not match an allowed 203.0.113.0/24', (s) => {
    expect(allowed.match(ip(s), 'exact')).toBeUndefined();
    expect(allowed.match(ip(s), 'with-embedded')?.matchedIp).toBe('203.0.113.7');
  });

  it.each(['203.0.113.7', '::ffff:203.0.113.7', '::ffff:cb00:7107', '0:0:0:0:0:FFFF:203.0.113.7'])(
    'exact: %s IS 203.0.113.7 and matches',
    (s) => {
      expect(allowed.match(ip(s), 'exact')).toEqual({ cidr: '203.0.113.0/24', via: 'address', matchedIp: '203.0.113.7' });
    },
  );

  it('exact never reports an embedded via, with-embedded finds at least what exact finds (property)', () => {
    const v4 = fc.integer({ min: 0, max: 0xffffffff });
    const embedding = fc.oneof(
      v4.map((v) => BigInt(v)),
      v4.map((v) => (0xffff0000n << 32n) | BigInt(v)),
      v4.map((v) => (0x64ff9bn << 96n) | BigInt(v)),
      fc.tuple(v4, fc.bigInt({ min: 0n, max: (1n << 80n) - 1n })).map(([v, low]) => (0x2002n << 112n) | (BigInt(v) << 80n) | low),
      fc.tuple(v4, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([v, mid]) => (0x20010000n << 96n) | (mid << 32n) | BigInt(~v >>> 0)),
      fc.tuple(v4, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0x5efen, 0x2005efen)).map(
        ([v, prefix, iid]) => (prefix << 64n) | (iid << 32n) | BigInt(v),
      ),
    );
    const blocks = fc.array(
      fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([v, bits]) => `${dotted(v)}/${bits}`),
      { minLength: 1, maxLength: 20 },
    );
    fc.assert(
      fc.property(blocks, embedding, (list, value) => {
        const set = CidrSet.from(list);
        const q: ParsedIp = { version: 6, value };
        const exact = set.match(q, 'exact');
        const wide = set.match(q, 'with-embedded');
        if (exact) {
          expect(exact.via).toBe('address');
          expect(wide).toEqual(exact);
        }
        // Some embedded IPv4 in a listed block <=> with-embedded finds one (the IPv6 itself is in no IPv4 block).
        const hits = embeddedIpv4(q).filter((e) => CidrSet.from(list).match({ version: 4, value: e.value }, 'exact'));
        expect(wide?.via).toBe(exact ? 'address' : hits[0]?.via);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe('network detectors use the right mode', () => {
  const view = (s: string) => new RequestView(facts({ ip: s, geo: { country: 'US' } }));
  const blocked = [{ set: CidrSet.from(['198.51.100.0/24']), source: 'policy' }];
  const sixToFour = '2002:c633:6407::1'; // 198.51.100.7

  it('a deny/challenge cidr rule matches an embedded IPv4, with via and matchedIp as evidence', () => {
    const hit = matchCidr(view(sixToFour), blocked, 'blocked-ips', false);
    expect(hit).toEqual({
      code: 'IP_DENIED',
      message: `The IP ${sixToFour} (embedding 198.51.100.7, 6to4) is in 198.51.100.0/24, listed by rule blocked-ips.`,
      evidence: { ip: sixToFour, cidr: '198.51.100.0/24', via: '6to4', matchedIp: '198.51.100.7', source: 'policy' },
    });
  });

  it('an allow cidr rule does not', () => {
    expect(matchCidr(view(sixToFour), blocked, 'hq', true)).toBeUndefined();
    expect(matchCidr(view('198.51.100.7'), blocked, 'hq', true)?.evidence).toEqual({ ip: '198.51.100.7', cidr: '198.51.100.0/24', via: 'address', matchedIp: '198.51.100.7', source: 'policy' });
  });

  it('VPN and hosting sets match an embedded IPv4', () => {
    const vpn = new NetworkSet({ cidrs: ['192.0.2.0/24'] });
    const s = detectNetwork(view(teredo('192.0.2.45')), vpn, 'VPN');
    expect(s).toMatchObject({ value: true, evidence: { cidr: '192.0.2.0/24', via: 'teredo', matchedIp: '192.0.2.45', source: 'policy' } });
    expect(detectNetwork(view(teredo('192.0.3.45')), vpn, 'VPN').value).toBe(false);
  });
});

describe('evaluate: an allow-exception is not lifted by an embedded form', () => {
  const policy = compile(
    policyWith({
      rules: [
        { id: 'bad-asn', type: 'asn', action: 'deny', asns: [64500] },
        { id: 'blocked-ips', type: 'cidr', action: 'deny', cidrs: ['198.51.100.0/24'] },
        { id: 'hq', type: 'cidr', action: 'allow', cidrs: ['203.0.113.0/24'], liftDeny: ['bad-asn'] },
      ],
    }),
  );
  const decide = (ipText: string) => evaluate(policy, facts({ ip: ipText, geo: { country: 'US', asn: 64500 } }), NOW);

  it.each([
    ['203.0.113.7', 'allow'],
    ['::ffff:203.0.113.7', 'allow'],
    ['2002:cb00:7107::1', 'deny'],
    [teredo('203.0.113.7'), 'deny'],
    ['64:ff9b::203.0.113.7', 'deny'],
  ])('from %s with a denied ASN: %s', (ipText, want) => {
    expect(decide(ipText).decision).toBe(want);
  });

  it.each(['2002:c633:6407::1', teredo('198.51.100.7'), '64:ff9b::198.51.100.7', '::ffff:0:198.51.100.7', 'fe80::5efe:198.51.100.7'])(
    'a denied IPv4 behind %s is denied',
    (ipText) => {
      const d = evaluate(policy, facts({ ip: ipText, geo: { country: 'US', asn: 7922 } }), NOW);
      expect(d.decision).toBe('deny');
      expect(d.reasons.map((r) => r.code)).toContain('IP_DENIED');
    },
  );
});
