// Network sets beyond the built-in lists: named asn and cidr lists (an operator's feeds), which
// entry answers first, when a set counts as empty, the provider note on intel hits, the policy's
// own categories (NETWORK_LISTED), and the messages. Table-driven, against the bundled intel.
import { describe, expect, it } from 'vitest';
import { RequestView } from '../../src/engine/detectors/geo';
import { detectListedNetwork, detectNetwork, matchAsn, NetworkSet } from '../../src/engine/detectors/network';
import { bundledIntel, decodeIntel, encodeIntel } from '../../src/engine/intel';
import { CidrSet } from '../../src/engine/ip';
import { buildIntel } from '../../src/intel/build';
import type { Facts } from '../../src/engine/types';
import { facts } from '../helpers';

const view = (f: Partial<{ ip: string; asn: number | undefined }>) => {
  const geo: Facts['geo'] = { country: 'US', ...(f.asn !== undefined ? { asn: f.asn } : {}) };
  return new RequestView(facts({ geo, ...(f.ip !== undefined ? { ip: f.ip } : {}) }));
};

describe('NetworkSet with named lists', () => {
  const set = new NetworkSet({
    asns: [64501],
    cidrs: ['198.51.100.0/24'],
    namedAsns: [
      { name: 'feed', asns: [64500, 64501] },
      { name: 'feed', asns: [64599] },
      { name: 'other', asns: [64502] },
    ],
    namedCidrs: [
      { name: 'ranges', set: CidrSet.from(['198.51.100.0/25', '203.0.113.0/24']) },
      { name: 'empty', set: CidrSet.from([]) },
    ],
  });

  it.each<[string, Partial<{ ip: string; asn: number }>, object | null | undefined]>([
    ['an ASN of a named list', { asn: 64500 }, { matchedBy: 'asn', asn: 64500, source: 'feed' }],
    ['an ASN written in the policy and listed too: the policy answers', { asn: 64501 }, { matchedBy: 'asn', asn: 64501, source: 'policy' }],
    ['an ASN of the second list', { asn: 64502 }, { matchedBy: 'asn', asn: 64502, source: 'other' }],
    ['a list named twice: the first entry of that name only', { asn: 64599 }, null],
    ['an address written in the policy and listed too: the policy answers', { ip: '198.51.100.7' }, { matchedBy: 'ip', cidr: '198.51.100.0/24', source: 'policy' }],
    ['an address of a named cidr list', { ip: '203.0.113.9' }, { matchedBy: 'ip', cidr: '203.0.113.0/24', source: 'ranges' }],
    ['an ASN the lists do not hold, and no IP: looked, not found', { asn: 7922 }, null],
    ['nothing to look up', {}, undefined],
  ])('%s', (_name, f, want) => {
    const got = set.match(view({ asn: undefined, ...f }));
    if (want === null || want === undefined) expect(got).toBe(want);
    else expect(got).toMatchObject(want);
  });

  it('an asn rule sees the named lists and names them in its message', () => {
    const hit = matchAsn(view({ asn: 64500 }), set, 'feeds', false);
    expect(hit).toMatchObject({ code: 'ASN_DENIED', message: "The IP's network AS64500 is listed by rule feeds (list feed).", evidence: { asn: 64500, source: 'feed' } });
    expect(matchAsn(view({ asn: 64501 }), set, 'feeds', true)?.message).toBe("The IP's network AS64501 is listed by rule feeds.");
    expect(matchAsn(view({ asn: undefined, ip: '198.51.100.7' }), set, 'feeds', false)).toBeUndefined();
  });

  it.each<[string, NetworkSet, boolean]>([
    ['no parts', new NetworkSet({}), true],
    ['an empty named ASN list', new NetworkSet({ namedAsns: [{ name: 'e', asns: [] }] }), true],
    ['an empty named CIDR list', new NetworkSet({ namedCidrs: [{ name: 'e', set: CidrSet.from([]) }] }), true],
    ['no inline CIDRs', new NetworkSet({ cidrs: [] }), true],
    ['a named ASN list with one ASN', new NetworkSet({ namedAsns: [{ name: 'e', asns: [1] }] }), false],
    ['an inline CIDR', new NetworkSet({ cidrs: ['192.0.2.0/24'] }), false],
    ['a built-in list', new NetworkSet({ builtin: ['x4b-vpn'] }), false],
  ])('is empty with %s: %s', (_name, s, empty) => {
    expect(s.isEmpty).toBe(empty);
    expect(detectNetwork(view({ asn: 64500, ip: '192.0.2.9' }), s, 'VPN').value === 'undetermined').toBe(empty);
  });

  it('a set of named ASN lists only judges an ASN: undetermined without one, false when unlisted', () => {
    const asnsOnly = new NetworkSet({ namedAsns: [{ name: 'feed', asns: [64500] }] });
    expect(detectNetwork(view({ asn: undefined, ip: '192.0.2.1' }), asnsOnly, 'VPN').value).toBe('undetermined');
    expect(detectNetwork(view({ asn: 7922 }), asnsOnly, 'VPN').value).toBe(false);
  });

  it('one named list shared by many sets is indexed once and answers for each', () => {
    const asns = Array.from({ length: 1000 }, (_, i) => 64000 + i);
    const sets = Array.from({ length: 30 }, () => new NetworkSet({ namedAsns: [{ name: 'big', asns }] }));
    for (const s of sets) expect(s.match(view({ asn: 64999 }))).toMatchObject({ source: 'big' });
  });
});

describe('intel hits: category, version and the provider note', () => {
  const vpn = new NetworkSet({ builtin: ['x4b-vpn'] });
  const version = bundledIntel().version;

  it.each<[string, Partial<{ ip: string; asn: number }>, object]>([
    // 185.153.176.0/23 is an x4b VPN block; AS9009 (M247) is on the VPN ASN list with its note.
    ['an IP hit whose ASN is a VPN ASN carries that ASN\'s note', { ip: '185.153.176.9', asn: 9009 }, { matchedBy: 'ip', category: 'vpn', intel: version, note: 'M247, GB (NordVPN)' }],
    ['an IP hit whose ASN is not a VPN ASN carries no note', { ip: '185.153.176.9', asn: 16509 }, { matchedBy: 'ip', category: 'vpn', intel: version }],
    ['an IP hit without an ASN carries no note', { ip: '185.153.176.9' }, { matchedBy: 'ip' }],
    ['an ASN hit carries its note', { asn: 9009 }, { matchedBy: 'asn', asn: 9009, source: 'x4b-vpn', category: 'vpn', intel: version, note: 'M247, GB (NordVPN)' }],
  ])('%s', (_name, f, want) => {
    const s = detectNetwork(view({ asn: undefined, ...f }), vpn, 'VPN');
    expect(s.value).toBe(true);
    expect(s).toMatchObject({ evidence: want });
    if (!('note' in want)) expect(s.value === true && 'note' in s.evidence).toBe(false);
  });

  it('messages say whether the IP or the ASN matched, and where', () => {
    expect(detectNetwork(view({ asn: 9009 }), vpn, 'VPN')).toMatchObject({ message: 'The ASN belongs to a known VPN network (AS9009, x4b-vpn; M247, GB (NordVPN)).' });
    expect(detectNetwork(view({ ip: '185.153.176.9', asn: undefined }), vpn, 'VPN')).toMatchObject({ message: 'The IP belongs to a known VPN network (185.153.176.0/23, x4b-vpn).' });
    expect(detectNetwork(view({ ip: '2002:b999:b009::1', asn: undefined }), vpn, 'VPN')).toMatchObject({
      message: 'The IP belongs to a known VPN network (185.153.176.0/23, embedded IPv4 185.153.176.9 via 6to4, x4b-vpn).',
    });
  });
});

describe('NETWORK_LISTED', () => {
  const relay = { name: 'relay', set: new NetworkSet({ cidrs: ['203.0.113.0/24'], asns: [64500] }) };
  const scrapers = { name: 'scrapers', set: new NetworkSet({ cidrs: ['203.0.113.128/25'] }) };

  it.each<[string, Partial<{ ip: string; asn: number }>, unknown]>([
    ['no categories', { ip: '203.0.113.9' }, 'undetermined'],
    ['nothing to look up', {}, 'undetermined'],
    ['looked, not listed', { ip: '192.0.2.1' }, false],
  ])('%s', (name, f, want) => {
    const categories = name === 'no categories' ? [] : [relay, scrapers];
    expect(detectListedNetwork(view({ asn: undefined, ...f }), categories).value).toBe(want);
  });

  it('names the first category that matched and every one, with the IP or the ASN', () => {
    const byIp = detectListedNetwork(view({ ip: '203.0.113.200', asn: undefined }), [relay, scrapers]);
    expect(byIp).toMatchObject({ value: true, message: 'The IP belongs to the policy\'s "relay" networks (203.0.113.0/24, policy).', evidence: { networkCategory: 'relay', categories: ['relay', 'scrapers'], matchedBy: 'ip' } });
    const byAsn = detectListedNetwork(view({ asn: 64500 }), [relay, scrapers]);
    expect(byAsn).toMatchObject({ value: true, message: 'The ASN belongs to the policy\'s "relay" networks (AS64500, policy).', evidence: { categories: ['relay'], matchedBy: 'asn' } });
  });
});

describe('intel coverage and source dates', () => {
  const source = { repository: 'test/intel', commit: 'c', date: '2026-11-01', license: 'MIT' };
  const build = (date = source.date) => {
    const r = buildIntel({
      version: 'cov',
      source: { ...source, date },
      asns: { vpn: 'AS1\nAS2 # both', datacenter: 'AS2\nAS3\nAS4' },
      cidrs: { vpn: ['10.0.0.0/16\n2001:db8::/32'], datacenter: ['10.0.1.0/24\n10.0.2.0/24\n192.0.2.0/24'] },
    });
    if (!r.ok) throw new Error('does not build');
    return r.intel;
  };

  it('counts distinct blocks per category and family (a block cut in pieces counts once) and ASNs per category', () => {
    expect(build().coverage()).toEqual({ vpn: { v4: 1, v6: 1, asns: 2 }, datacenter: { v4: 3, v6: 0, asns: 3 } });
  });

  it.each(['2026-13-01', '2026-00-10', '2026-01-32', '2026-1-01', ' 2026-01-01', '2026-01-01x', '26-01-01'])('refuses the source date %j', (date) => {
    const r = decodeIntel(encodeIntel(build(date)));
    expect(r.ok ? 'ok' : r.message).toBe('the intel source is malformed');
  });

  it.each(['2026-01-01', '1999-12-31', '2026-02-29'])('accepts the source date %j', (date) => {
    expect(decodeIntel(encodeIntel(build(date))).ok).toBe(true);
  });
});
