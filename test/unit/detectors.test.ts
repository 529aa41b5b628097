// Table-driven tests of each detector on its own.
import { bundledIntel } from '../../src/engine/intel';
import { describe, expect, it } from 'vitest';
import { fullRegionCode, isRegionCode } from '../../src/engine/countries';
import { RequestView } from '../../src/engine/detectors/geo';
import { detectLocale, parseAcceptLanguage, regionOfTag } from '../../src/engine/detectors/locale';
import { detectNetwork, NetworkSet } from '../../src/engine/detectors/network';
import type { SignalValue } from '../../src/engine/types';
import { facts } from '../helpers';

describe('locale detector', () => {
  const restricted = new Set(['CN', 'RU', 'IR', 'HK']);
  it.each([
    ['zh-CN', true],
    ['zh-Hans-CN', true],
    ['zh_CN', true],
    ['en-US,en;q=0.9,zh-CN;q=0.8', true],
    ['en-US,zh-CN;q=0', false],
    ['zh', false],
    ['zh-Hans', false],
    ['zh-TW,zh;q=0.9', false],
    ['fa-IR', true],
    ['ru-UA', false],
    ['en-HK', true],
    ['*', false],
    ['', false],
    [';;;,,,=', false],
    ['es-419', false],
  ])('%j -> %s', (header, want) => {
    expect(detectLocale(header, restricted).value).toBe(want);
  });

  it('is undetermined without a header', () => {
    expect(detectLocale(undefined, restricted).value).toBe('undetermined');
  });

  it('reports the tag and the country', () => {
    expect(detectLocale('en-GB, zh-CN;q=0.5', restricted)).toMatchObject({ value: true, evidence: { tag: 'zh-CN', country: 'CN' } });
  });

  it.each([
    ['sr-Latn-RS', 'RS'],
    ['en', undefined],
    ['en-gb', 'GB'],
  ])('regionOfTag(%s) = %s', (tag, want) => {
    expect(regionOfTag(tag)?.region).toBe(want);
  });

  it('parses qualities; only a single well-formed q=0 drops a tag', () => {
    expect(parseAcceptLanguage('en-US;q=0.8, fr;q=0, de-DE, !!, ja;q=abc').map((p) => p.tag)).toEqual(['en-US', 'de-DE', 'ja']);
  });
});

describe('network detector', () => {
  const vpn = new NetworkSet({ builtin: ['x4b-vpn'], asns: [64500], cidrs: ['192.0.2.0/24', '2001:db8::/32'] });
  it.each<[string, Partial<{ asn: number; ip: string }>, SignalValue]>([
    ['listed ASN', { asn: 209854 }, true],
    ['inline ASN', { asn: 64500 }, true],
    ['ISP ASN', { asn: 7922 }, false],
    ['listed CIDR', { ip: '192.0.2.9' }, true],
    ['listed IPv6 CIDR', { ip: '2001:db8::9' }, true],
    ['mapped IPv6 in a v4 CIDR', { ip: '::ffff:192.0.2.9' }, true],
    ['unlisted IP, no ASN', { ip: '198.51.100.1' }, false],
    ['nothing known', {}, 'undetermined'],
  ])('%s', (_name, { asn, ip }, want) => {
    const f = facts({ geo: { country: 'US', ...(asn !== undefined ? { asn } : {}) }, ...(ip ? { ip } : {}) });
    expect(detectNetwork(new RequestView(f), vpn, 'VPN').value).toBe(want);
  });

  it('is undetermined when the policy lists nothing', () => {
    expect(detectNetwork(new RequestView(facts()), new NetworkSet({}), 'VPN').value).toBe('undetermined');
  });

  it.each<[string, NetworkSet, Partial<{ asn: number; ip: string }>, SignalValue]>([
    // [name, set, request network, NETWORK_VPN]: a set can only judge what it lists.
    ['a set of blocks, a request with only an ASN', new NetworkSet({ cidrs: ['192.0.2.0/24'] }), { asn: 64500 }, 'undetermined'],
    ['a set of ASNs, a request with only an IP', new NetworkSet({ asns: [64500] }), { ip: '192.0.2.9' }, 'undetermined'],
    ['a set of ASNs, a request with both, unlisted', new NetworkSet({ asns: [64500] }), { asn: 7922, ip: '192.0.2.9' }, false],
    ['a set of blocks, a request with both, unlisted', new NetworkSet({ cidrs: ['192.0.2.0/24'] }), { asn: 64500, ip: '198.51.100.1' }, false],
  ])('%s', (_name, set, { asn, ip }, want) => {
    const f = facts({ geo: { country: 'US', ...(asn !== undefined ? { asn } : {}) }, ...(ip ? { ip } : {}) });
    expect(detectNetwork(new RequestView(f), set, 'VPN').value).toBe(want);
  });

  it.each<[string, 'VPN' | 'hosting', Partial<{ asn: number; ip: string; asOrganization: string }>, Record<string, unknown>]>([
    [
      'an ASN from a built-in list',
      'VPN',
      { asn: 9009, asOrganization: 'M247' },
      {
        value: true,
        message: 'The ASN belongs to a known VPN network (AS9009, x4b-vpn; M247, GB (NordVPN)).',
        evidence: { matchedBy: 'asn', asn: 9009, source: 'x4b-vpn', category: 'vpn', intel: bundledIntel().version, note: 'M247, GB (NordVPN)', ip: null, asOrganization: 'M247' },
      },
    ],
    [
      'an ASN written in the policy',
      'hosting',
      { asn: 64500, ip: '203.0.113.7' },
      { value: true, message: 'The ASN belongs to a known hosting network (AS64500, policy).', evidence: { matchedBy: 'asn', asn: 64500, source: 'policy', ip: '203.0.113.7', asOrganization: null } },
    ],
    [
      'a block',
      'VPN',
      { ip: '192.0.2.9' },
      {
        value: true,
        message: 'The IP belongs to a known VPN network (192.0.2.0/24, policy).',
        evidence: { matchedBy: 'ip', cidr: '192.0.2.0/24', via: 'address', matchedIp: '192.0.2.9', source: 'policy', ip: '192.0.2.9', asOrganization: null },
      },
    ],
    [
      'a block an embedded IPv4 is in',
      'VPN',
      { ip: '64:ff9b::192.0.2.9' },
      {
        value: true,
        message: 'The IP belongs to a known VPN network (192.0.2.0/24, embedded IPv4 192.0.2.9 via nat64, policy).',
        evidence: { matchedBy: 'ip', cidr: '192.0.2.0/24', via: 'nat64', matchedIp: '192.0.2.9', source: 'policy', ip: '64:ff9b::192.0.2.9', asOrganization: null },
      },
    ],
  ])('explains %s', (_name, kind, { asn, ip, asOrganization }, want) => {
    const f = facts({ geo: { country: 'US', ...(asn !== undefined ? { asn } : {}), ...(asOrganization ? { asOrganization } : {}) }, ...(ip ? { ip } : {}) });
    expect(detectNetwork(new RequestView(f), vpn, kind)).toEqual(want);
  });

  it('names the list an ASN came from', () => {
    const s = detectNetwork(new RequestView(facts({ geo: { country: 'US', asn: 9009 } })), vpn, 'VPN');
    expect(s).toMatchObject({ value: true, evidence: { asn: 9009, source: 'x4b-vpn' } });
  });
});

describe('geo facts', () => {
  it.each([
    ['UA', '43', 'UA-43'],
    ['UA', 'ua-43', 'UA-43'],
    ['UA', 'RU-43', undefined],
    ['UA', ' 40 ', 'UA-40'],
    [undefined, '43', undefined],
    ['US', undefined, undefined],
  ])('fullRegionCode(%s, %s) = %s', (country, code, want) => {
    expect(fullRegionCode(country, code)).toBe(want);
  });

  it.each<[string, boolean]>([
    ['UA-43', true],
    ['UA-4', true],
    ['FR-75C', true],
    ['ZZ-43', false],
    ['UA-4321', false],
    ['USUA-43', false],
    ['ua-43', false],
    ['UA43', false],
  ])('isRegionCode(%s) = %s', (code, want) => {
    expect(isRegionCode(code)).toBe(want);
  });

  it.each<[string, string | undefined, boolean]>([
    ['XX', undefined, false],
    ['xx', undefined, false],
    ['ZZ', undefined, false],
    ['UK', undefined, false],
    ['EU', undefined, false],
    ['AP', undefined, false],
    ['A2', undefined, false],
    ['O1', undefined, false],
    ['QM', undefined, false],
    ['A1', undefined, true],
    ['T1', 'T1', false],
    ['t1', 'T1', false],
    ['GB', 'GB', false],
    ['us', 'US', false],
  ])('reads country %s as %s (anonymous proxy: %s)', (code, country, anonymous) => {
    const view = new RequestView(facts({ geo: { country: code, regionCode: '43' } }));
    expect(view.country).toBe(country);
    expect(view.anonymousProxy).toBe(anonymous);
    if (country === undefined || country === 'T1') expect(view.region).toBeUndefined();
  });
});
