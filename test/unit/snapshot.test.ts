// Snapshots and named lists: what the admin store builds at write time and an isolate loads.
// The invariant that matters: a policy evaluated from its snapshot decides exactly as the same
// policy with the lists' items written inline; and a snapshot that is not exactly what was built
// is refused, never served.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/engine/compile';
import { evaluate } from '../../src/engine/evaluate';
import { base64ToBytes, bytesToBase64 } from '../../src/engine/base64';
import { CidrSet, parseIp } from '../../src/engine/ip';
import { parseListDocument, patchList, type ListDocument } from '../../src/policy/lists';
import { parsePolicy } from '../../src/policy/schema';
import { buildSnapshot, decodeSnapshot, readPointer, sha256Hex, type StoredList } from '../../src/policy/snapshot';
import { facts, NOW, policyWith } from '../helpers';

function stored(name: string, doc: unknown, version = 1): [string, StoredList] {
  const r = parseListDocument(doc);
  if (!r.ok) throw new Error(`bad list ${name}: ${r.error.message}`);
  return [name, { ...r.list, version }];
}

const LISTS = new Map<string, StoredList>([
  stored('relays', { kind: 'cidr', items: ['203.0.113.0/24', '198.51.100.7', '2001:db8:bad::/48', '10.0.0.0/8', '10.1.0.0/16'] }),
  stored('bad-asns', { kind: 'asn', items: [64500, 64501] }),
  stored('banned', { kind: 'account', items: ['acct-1', 'acct-2'] }),
  stored('orgs', { kind: 'org', items: ['org-9'] }),
  stored('owners', { kind: 'org-owner', items: [{ org: 'acme-sg', country: 'cn' }] }),
]);

const WITH_LISTS = policyWith({
  version: 'lists',
  rules: [
    { id: 'relays', type: 'cidr', action: 'deny', lists: ['relays'] },
    { id: 'asns', type: 'asn', action: 'challenge', lists: ['bad-asns', 'x4b-vpn'] },
    { id: 'accounts', type: 'account', action: 'deny', lists: ['banned', 'orgs'] },
    { id: 'owners', type: 'owner-country', action: 'deny', countries: ['CN'], lists: ['owners'] },
  ],
});

const INLINE = policyWith({
  version: 'lists',
  rules: [
    { id: 'relays', type: 'cidr', action: 'deny', cidrs: ['203.0.113.0/24', '198.51.100.7/32', '2001:db8:bad::/48', '10.0.0.0/8', '10.1.0.0/16'] },
    { id: 'asns', type: 'asn', action: 'challenge', asns: [64500, 64501], lists: ['x4b-vpn'] },
    { id: 'accounts', type: 'account', action: 'deny', accounts: ['acct-1', 'acct-2'], orgs: ['org-9'] },
    { id: 'owners', type: 'owner-country', action: 'deny', countries: ['CN'] },
  ],
});

async function built() {
  const b = await buildSnapshot(WITH_LISTS, LISTS);
  if (!b.ok) throw new Error(JSON.stringify(b.issues));
  return b;
}

describe('buildSnapshot', () => {
  it('stores a challenge section that only lists kinds as the code before clearances wrote it, and a richer one whole', async () => {
    const policyOf = (text: string) => (JSON.parse(text) as { policy: { challenge?: unknown } }).policy.challenge;
    const plain = await buildSnapshot(policyWith({ challenge: { kinds: ['turnstile'] } }), LISTS);
    expect(plain.ok && policyOf(plain.text)).toEqual({ kinds: ['turnstile'] });
    const rich = await buildSnapshot(policyWith({ challenge: { kinds: ['turnstile', 'step-up'], clearanceTtlSeconds: 600 } }), LISTS);
    expect(rich.ok && policyOf(rich.text)).toEqual({ kinds: ['turnstile', 'step-up'], offers: [], expiresInSeconds: 600, clearanceTtlSeconds: 600, bind: { ipv4Prefix: 24, ipv6Prefix: 48 } });
    // Either way the snapshot decodes to the same settings.
    for (const b of [plain, rich]) {
      if (!b.ok) throw new Error('not built');
      const decoded = await decodeSnapshot(b.text, b.id);
      expect(decoded.ok && decoded.compiled.challenge).toEqual(b.compiled.challenge);
    }
  });

  it('validates against the lists: a missing list, a wrong kind and a built-in list on an account rule are issues at their paths', async () => {
    const doc = policyWith({
      rules: [
        { id: 'a', type: 'cidr', action: 'deny', lists: ['nope'] },
        { id: 'b', type: 'cidr', action: 'deny', lists: ['banned'] },
        { id: 'c', type: 'account', action: 'deny', lists: ['x4b-vpn'] },
        { id: 'd', type: 'owner-country', action: 'deny', countries: ['CN'], lists: ['orgs'] },
      ],
    });
    const r = await buildSnapshot(doc, LISTS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      { path: ['rules', 0, 'lists', 0], message: 'no list named "nope"' },
      { path: ['rules', 1, 'lists', 0], message: 'list "banned" holds account items; a cidr rule takes cidr lists' },
      { path: ['rules', 2, 'lists', 0], message: '"x4b-vpn" is a built-in network list; a account rule takes account or org lists' },
      { path: ['rules', 3, 'lists', 0], message: 'list "orgs" holds org items; a owner-country rule takes org-owner lists' },
    ]);
  });

  it('is content-addressed and deterministic: same inputs, same id; a list version change, a new id', async () => {
    const a = await built();
    const b = await built();
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.lists).toEqual({ 'bad-asns': 1, banned: 1, orgs: 1, owners: 1, relays: 1 });
    const bumped = new Map(LISTS);
    bumped.set('banned', { ...(LISTS.get('banned') as StoredList), version: 2 });
    const c = await buildSnapshot(WITH_LISTS, bumped);
    expect(c.ok && c.id).not.toBe(a.id);
  });

  it('carries only the lists the policy references', async () => {
    const r = await buildSnapshot(policyWith({ rules: [{ id: 'a', type: 'account', action: 'deny', lists: ['banned'] }] }), LISTS);
    expect(r.ok && Object.keys((JSON.parse(r.text) as { lists: object }).lists)).toEqual(['banned']);
  });
});

describe('decodeSnapshot', () => {
  it('a list with nested blocks: outermost tables (what code before flattening reads) plus flattened ones, which answer', async () => {
    const doc = policyWith({ version: 'nested-1', rules: [{ id: 'feeds', type: 'cidr', action: 'deny', lists: ['feed'] }] });
    const lists = new Map([stored('feed', { kind: 'cidr', items: ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '2001:db8:1::/48', '192.0.2.0/24'] })]);
    const b = await buildSnapshot(doc, lists);
    if (!b.ok) throw new Error(JSON.stringify(b.issues));
    const feed = (JSON.parse(b.text) as { lists: { feed: { v4: { bits: string }; v6: { bits: string }; lpm?: { v4: { bits: string } } } } }).lists.feed;
    // Outer: 10.0.0.0/8 and 192.0.2.0/24, whole and aligned; flattened: /8 around /16.
    expect([...(base64ToBytes(feed.v4.bits) ?? [])]).toEqual([8, 24]);
    expect([...(base64ToBytes(feed.v6.bits) ?? [])]).toEqual([32]);
    expect([...(base64ToBytes(feed.lpm?.v4.bits) ?? [])]).toEqual([8, 16, 8, 24]);
    const decoded = await decodeSnapshot(b.text, b.id);
    if (!decoded.ok) throw new Error(decoded.message);
    const reason = (ip: string) => evaluate(decoded.compiled, facts({ ip, geo: { country: 'US' } }), NOW).reasons.find((r) => r.code === 'IP_DENIED')?.evidence;
    expect(reason('10.1.2.3')).toMatchObject({ cidr: '10.1.0.0/16' });
    expect(reason('10.2.0.1')).toMatchObject({ cidr: '10.0.0.0/8' });
    expect(reason('2001:db8:1::5')).toMatchObject({ cidr: '2001:db8:1::/48' });
    // A list without nesting stores one form only.
    const flat = await buildSnapshot(doc, new Map([stored('feed', { kind: 'cidr', items: ['10.0.0.0/8', '192.0.2.0/24'] })]));
    if (!flat.ok) throw new Error('flat list refused');
    const flatArtifact = JSON.parse(flat.text) as { lists: { feed: { lpm?: unknown } }; policy: { network: unknown } };
    expect(flatArtifact.lists.feed.lpm).toBeUndefined();
    // And a snapshot of a policy with no categories stores none (code before them reads it).
    expect(flatArtifact.policy.network).toEqual({});
  });

  it('refuses a nested list whose flattened tables are malformed, though its outer ones are fine', async () => {
    const doc = policyWith({ version: 'nested-2', rules: [{ id: 'feeds', type: 'cidr', action: 'deny', lists: ['feed'] }] });
    const b = await buildSnapshot(doc, new Map([stored('feed', { kind: 'cidr', items: ['10.0.0.0/8', '10.1.0.0/16'] })]));
    if (!b.ok) throw new Error('refused');
    const v = JSON.parse(b.text) as { lists: { feed: { lpm: { v4: { bits: string } } } } };
    v.lists.feed.lpm.v4.bits = bytesToBase64(Uint8Array.from([8, 24, 8])); // the /16 piece labelled as a /24: it runs past that block
    const text = JSON.stringify(v);
    const r = await decodeSnapshot(text, await sha256Hex(text));
    expect(r.ok ? 'ok' : r.message).toMatch(/list feed .* malformed/);
  });

  it('decides exactly as the same policy written inline, request by request', async () => {
    const b = await built();
    const decoded = await decodeSnapshot(b.text, b.id);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const inline = parsePolicy(INLINE);
    if (!inline.ok) throw new Error('inline policy invalid');
    const reference = compilePolicy(inline.policy);
    const ips = ['203.0.113.9', '198.51.100.7', '198.51.100.8', '2001:db8:bad::1', '2002:cb00:7109::1', '10.1.2.3', '8.8.8.8', '::ffff:203.0.113.1'];
    const accounts = [{}, { id: 'acct-1' }, { id: 'acct-3', orgId: 'org-9' }, { orgId: 'acme-sg' }, { orgId: 'acme-sg', ownerCountry: 'US' }];
    fc.assert(
      fc.property(fc.constantFrom(...ips), fc.constantFrom(...accounts), fc.constantFrom(64500, 64502, 9009, undefined), (ip, account, asn) => {
        const geo = { country: 'US', ...(asn !== undefined ? { asn } : {}) };
        const got = evaluate(decoded.compiled, facts({ ip, geo, account }), NOW);
        // An org-owner list has no inline form: the reference gets the owner the list records.
        const known = 'orgId' in account && account.orgId === 'acme-sg' ? { ...account, ownerCountry: 'CN' } : account;
        const want = evaluate(reference, facts({ ip, geo, account: known }), NOW);
        expect(got.decision).toBe(want.decision);
        expect(got.reasons.map((r) => [r.code, r.rule, r.liftedBy])).toEqual(want.reasons.map((r) => [r.code, r.rule, r.liftedBy]));
        expect(got.score).toBe(want.score);
      }),
      { seed: 20261126, numRuns: 200 },
    );
  });

  it('says which list listed what', async () => {
    const b = await built();
    const d = await decodeSnapshot(b.text, b.id);
    if (!d.ok) throw new Error(d.message);
    const hit = evaluate(d.compiled, facts({ ip: '198.51.100.7', geo: { country: 'US' } }), NOW);
    expect(hit.reasons[0]).toMatchObject({ code: 'IP_DENIED', rule: 'relays', evidence: { source: 'relays', cidr: '198.51.100.7/32' } });
    const owner = evaluate(d.compiled, facts({ geo: { country: 'SG' }, account: { orgId: 'acme-sg' } }), NOW);
    expect(owner.reasons[0]).toMatchObject({ code: 'OWNER_RESTRICTED', evidence: { source: 'owners', ownerCountry: 'CN' } });
  });

  it.each<[string, (text: string) => string]>([
    ['one character changed', (t) => t.replace('"deny"', '"allow"')],
    ['truncated', (t) => t.slice(0, -10)],
    ['whitespace added', (t) => `${t} `],
  ])('refuses a text that is not what was built (%s): integrity', async (_name, change) => {
    const b = await built();
    const r = await decodeSnapshot(change(b.text), b.id);
    expect(r).toEqual({ ok: false, message: 'the snapshot does not match its id (corrupt or altered)', corrupt: true });
  });

  /** The artifact's shape, loosely, for altering it. */
  type Table = Record<string, unknown>;
  interface Artifact {
    geogate: unknown;
    schema: unknown;
    policy: Record<string, unknown>;
    lists: Record<string, Table & { v4: Table; v6: Table }>;
  }
  const list = (a: Artifact, name: string) => {
    const l = a.lists[name];
    if (!l) throw new Error(`no list ${name}`);
    return l;
  };

  /** Re-hashes an altered artifact, as a writer that knows the format could. */
  async function forged(change: (artifact: Artifact) => void) {
    const b = await built();
    const artifact = JSON.parse(b.text) as Artifact;
    change(artifact);
    const text = JSON.stringify(artifact);
    return decodeSnapshot(text, await sha256Hex(text));
  }

  it('refuses a text that hashes to its id but is not JSON', async () => {
    const text = '{"geogate":"snapshot"';
    expect(await decodeSnapshot(text, await sha256Hex(text))).toEqual({ ok: false, message: 'the snapshot is not valid JSON' });
  });

  it.each<[string, (a: Artifact) => void, RegExp]>([
    ['another format version', (a) => (a.schema = 2), /snapshot format 2 is not 1/],
    ['not a snapshot', (a) => (a.geogate = 'pointer'), /not a geogate snapshot/],
    ['CIDR ends before starts', (a) => (list(a, 'relays').v4 = { ...list(a, 'relays').v4, ends: list(a, 'relays').v4.starts, starts: list(a, 'relays').v4.ends }), /list relays .* malformed/],
    ['CIDR table cut short', (a) => (list(a, 'relays').v4.bits = ''), /list relays .* malformed/],
    ['CIDR base64 garbage', (a) => (list(a, 'relays').v6.starts = '!!!'), /list relays .* malformed/],
    ['an ASN out of range', (a) => (list(a, 'bad-asns').asns = [-1]), /list bad-asns .* malformed/],
    ['an empty account id', (a) => (list(a, 'banned').ids = ['']), /list banned .* malformed/],
    ['an unassigned owner country', (a) => (list(a, 'owners').owners = [['acme-sg', 'ZZ']]), /list owners .* malformed/],
    ['a list of an unknown kind', (a) => (list(a, 'banned').kind = 'emails'), /list banned .* malformed/],
    ['one bad id among good ones', (a) => (list(a, 'banned').ids = ['acct-1', '']), /list banned .* malformed/],
    ['an id over 256 characters', (a) => (list(a, 'banned').ids = ['x'.repeat(257)]), /list banned .* malformed/],
    ['one bad ASN among good ones', (a) => (list(a, 'bad-asns').asns = [64500, 4_294_967_296]), /list bad-asns .* malformed/],
    ['a fractional ASN', (a) => (list(a, 'bad-asns').asns = [1.5]), /list bad-asns .* malformed/],
    ['one bad owner among good ones', (a) => (list(a, 'owners').owners = [['acme-sg', 'CN'], ['x', 'ZZ']]), /list owners .* malformed/],
    ['an owner entry of three', (a) => (list(a, 'owners').owners = [['acme-sg', 'CN', 'x']]), /list owners .* malformed/],
    ['an owner entry with an empty org', (a) => (list(a, 'owners').owners = [['', 'CN']]), /list owners .* malformed/],
    ['an owner that is not a pair', (a) => (list(a, 'owners').owners = ['acme-sg']), /list owners .* malformed/],
    ['a list version that is not an integer', (a) => (list(a, 'banned').version = 1.5), /list banned .* malformed/],
    ['a CIDR size that is not a number', (a) => (list(a, 'relays').size = '5'), /list relays .* malformed/],
    ['CIDR bits that are not base64 text', (a) => (list(a, 'relays').v4.bits = 7), /list relays .* malformed/],
    ['a lists table that is an array', (a) => (a.lists = [] as never), /no lists table/],
    ['a policy that names a list the snapshot lacks', (a) => delete a.lists.banned, /fails validation/],
    ['an invalid policy', (a) => (a.policy.missingGeo = 'maybe'), /fails validation/],
  ])('refuses a well-hashed artifact that is malformed: %s', async (_name, change, message) => {
    const r = await forged(change);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });
});

describe('CidrSet range tables', () => {
  it('round-trip: the rebuilt set answers every lookup as the original', () => {
    const texts = ['10.0.0.0/8', '10.1.0.0/16', '192.0.2.0/24', '0.0.0.0/32', '255.255.255.255/32', '2001:db8::/32', '::/128', 'fe80::/10'];
    const set = CidrSet.from(texts);
    const copy = CidrSet.fromTables(set.toTables());
    expect(copy).toBeDefined();
    for (const a of ['10.200.0.1', '10.1.2.3', '192.0.2.255', '192.0.3.0', '0.0.0.0', '255.255.255.255', '2001:db8:ffff::1', '::', '::1', 'fe80::1', '2002:c000:0201::1']) {
      const ip = parseIp(a);
      if (!ip) throw new Error(a);
      expect(copy?.match(ip, 'with-embedded')).toEqual(set.match(ip, 'with-embedded'));
    }
  });

  it('rejects tables that are not sorted, disjoint intervals inside the blocks they name', () => {
    const t = CidrSet.from(['10.0.0.0/8', '192.0.2.0/24']).toTables();
    const v4 = (starts: number[], ends: number[], bits: number[]) => ({ ...t, v4: { starts: Uint32Array.from(starts), ends: Uint32Array.from(ends), bits: Uint8Array.from(bits) } });
    expect(CidrSet.fromTables(v4([0x0a000000], [0x0affffff], [8]))).toBeDefined();
    // Pieces of a block around a nested one are what flattening makes: accepted, each answering with its block.
    const pieces = CidrSet.fromTables(v4([0x0a000000, 0x0a000100, 0x0a000200], [0x0a0000ff, 0x0a0001ff, 0x0affffff], [8, 24, 8]));
    expect(pieces?.match({ version: 4, value: 0x0a000102 }, 'exact')?.cidr).toBe('10.0.1.0/24');
    expect(pieces?.match({ version: 4, value: 0x0a000302 }, 'exact')?.cidr).toBe('10.0.0.0/8');
    // A block named for some of its addresses only: a piece missing, or the first address not covered.
    expect(CidrSet.fromTables(v4([0x0a000000, 0x0a000200], [0x0a0000ff, 0x0affffff], [8, 8]))).toBeUndefined();
    expect(CidrSet.fromTables(v4([0x0a000001], [0x0affffff], [8]))).toBeUndefined();
    expect(CidrSet.fromTables(v4([0x0a000000], [0x0afffffe], [8]))).toBeUndefined();
    // IPv6 alike: pieces of 2001:db8::/32 around 2001:db8:1::/48, one dropped or relabelled.
    const six = CidrSet.from(['2001:db8::/32', '2001:db8:1::/48']).toTables();
    expect(six.v6.bits).toEqual(Uint8Array.from([32, 48, 32]));
    const v6 = (keep: number[], bits?: number[]) => ({
      ...six,
      v6: {
        starts: Uint32Array.from(keep.flatMap((i) => [...six.v6.starts.subarray(4 * i, 4 * i + 4)])),
        ends: Uint32Array.from(keep.flatMap((i) => [...six.v6.ends.subarray(4 * i, 4 * i + 4)])),
        bits: Uint8Array.from(bits ?? keep.map((i) => six.v6.bits[i] ?? 0)),
      },
    });
    expect(CidrSet.fromTables(v6([0, 1, 2]))).toBeDefined();
    expect(CidrSet.fromTables(v6([0, 2]))).toBeUndefined();
    expect(CidrSet.fromTables(v6([0, 1]))).toBeUndefined();
    expect(CidrSet.fromTables(v6([1, 2]))).toBeUndefined();
    expect(CidrSet.fromTables(v6([0, 1, 2], [32, 32, 32]))).toBeDefined();
    expect(CidrSet.fromTables(v6([0, 1, 2], [48, 48, 48]))).toBeUndefined();
    // An inner piece labelled with a shorter block than the one it sits in.
    expect(CidrSet.fromTables(v4([0x0a000000, 0x0a000080], [0x0a00007f, 0x0a0000ff], [24, 8]))).toBeUndefined();
    expect(CidrSet.fromTables(v4([0x0a000000], [0x0b000000], [8]))).toBeUndefined(); // runs past its block
    expect(CidrSet.fromTables(v4([0x0a000100], [0x0a0000ff], [8]))).toBeUndefined(); // ends before it starts
    expect(CidrSet.fromTables(v4([0x0a000000], [0x0affffff], [255]))).toBeUndefined(); // no block names it
    expect(CidrSet.fromTables(v4([0xc0000200, 0x0a000000], [0xc00002ff, 0x0affffff], [24, 8]))).toBeUndefined(); // unsorted
    expect(CidrSet.fromTables(v4([0x0a000000, 0x0a010000], [0x0affffff, 0x0a01ffff], [8, 16]))).toBeUndefined(); // overlapping
    expect(CidrSet.fromTables(v4([0x0a000000], [0x0affffff], [33]))).toBeUndefined();
    expect(CidrSet.fromTables(v4([0x0a000000, 1], [0x0affffff], [8]))).toBeUndefined(); // lengths differ
    expect(CidrSet.fromTables({ ...t, size: 0 })).toBeUndefined(); // fewer blocks than ranges
  });
});

describe('named list documents', () => {
  it('normalise: addresses become blocks, duplicates go, items sorted, one owner per org', () => {
    expect(parseListDocument({ kind: 'cidr', items: ['198.51.100.7', '2001:db8::1', '10.1.2.3/8', '10.0.0.0/8'] })).toEqual({
      ok: true,
      list: { kind: 'cidr', items: ['10.0.0.0/8', '198.51.100.7/32', '2001:db8::1/128'] },
    });
    expect(parseListDocument({ kind: 'asn', items: [3, 1, 3] })).toEqual({ ok: true, list: { kind: 'asn', items: [1, 3] } });
    expect(parseListDocument({ kind: 'org-owner', items: [{ org: 'b', country: 'cn' }, { org: 'a', country: 'ru' }, { org: 'b', country: 'ir' }], description: 'parents' })).toEqual({
      ok: true,
      list: { kind: 'org-owner', items: [{ org: 'a', country: 'RU' }, { org: 'b', country: 'IR' }], description: 'parents' },
    });
  });

  it.each<[string, unknown, string]>([
    ['an unknown kind', { kind: 'emails', items: [] }, 'kind'],
    ['a bad CIDR', { kind: 'cidr', items: ['10.0.0.0/33'] }, 'items.0'],
    ['an embedded zone id', { kind: 'cidr', items: ['fe80::1%eth0'] }, 'items.0'],
    ['an ASN as a string', { kind: 'asn', items: ['AS64500'] }, 'items.0'],
    ['an empty account id', { kind: 'account', items: [''] }, 'items.0'],
    ['an unknown field', { kind: 'org', items: [], colour: 'red' }, ''],
  ])('reject %s, at its path', (_name, doc, path) => {
    const r = parseListDocument(doc);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('patch: adds, removes (an item both added and removed ends up removed), validates by the kind', () => {
    const list: ListDocument = { kind: 'cidr', items: ['10.0.0.0/8', '198.51.100.7/32'] };
    expect(patchList(list, { add: ['192.0.2.0/24', '203.0.113.1'], remove: ['198.51.100.7', '203.0.113.1'] })).toEqual({
      ok: true,
      list: { kind: 'cidr', items: ['10.0.0.0/8', '192.0.2.0/24'] },
    });
    const owners: ListDocument = { kind: 'org-owner', items: [{ org: 'a', country: 'CN' }] };
    expect(patchList(owners, { remove: [{ org: 'a', country: 'RU' }] })).toEqual({ ok: true, list: { kind: 'org-owner', items: [] } });
    const described: ListDocument = { kind: 'asn', items: [1, 2], description: 'relay ASNs' };
    expect(patchList(described, { remove: [2] })).toEqual({ ok: true, list: { kind: 'asn', items: [1], description: 'relay ASNs' } });
    const bad = patchList(list, { add: ['nope'], remove: [42] });
    expect(!bad.ok && bad.error.issues.map((i) => i.path.join('.'))).toEqual(['add.0', 'remove.0']);
    expect(patchList(list, {}).ok).toBe(false);
  });
});

describe('list bounds', () => {
  it('a list over 8 MiB once normalised is refused at items, with its size', () => {
    const items = Array.from({ length: 34_000 }, (_, i) => `${'x'.repeat(240)}${i}`);
    const r = parseListDocument({ kind: 'account', items });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['items', expect.stringMatching(/^the list is \d+ bytes once normalised, over 8388608$/)]]);
    expect(parseListDocument({ kind: 'account', items: items.slice(0, 30_000) }).ok).toBe(true);
  });

  it('a patch that would take a list past 150,000 items is refused, and one to exactly 150,000 is not', () => {
    const list: ListDocument = { kind: 'asn', items: Array.from({ length: 100_000 }, (_, i) => i) };
    const fill = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const over = patchList(list, { add: fill(100_000, 50_001) });
    expect(!over.ok && over.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['add', 'the list would hold more than 150000 items']]);
    const exact = patchList(list, { add: fill(100_000, 50_000) });
    expect(exact.ok && exact.list.items.length).toBe(150_000);
  });
});

describe('the pointer', () => {
  it('reads a pointer, says malformed for a broken one, and leaves documents alone', () => {
    const ok = { geogate: 'pointer', schema: 1, snapshot: 'a'.repeat(64), policyVersion: 'v', lists: {}, revision: 1, storedAt: 'x', storedBy: 'y' };
    expect(readPointer(ok)).toEqual(ok);
    expect(readPointer({ ...ok, snapshot: 'not-a-hash' })).toBe('malformed');
    expect(readPointer({ ...ok, schema: 2 })).toBe('malformed');
    for (const bad of [
      { snapshot: 'A'.repeat(64) },
      { snapshot: 'a'.repeat(63) },
      { snapshot: `x${'a'.repeat(64)}` },
      { snapshot: `${'a'.repeat(64)}x` },
      { snapshot: 7 },
      { policyVersion: 1 },
      { lists: [] },
      { revision: 1.5 },
      { storedAt: 0 },
      { storedBy: null },
    ]) {
      expect(readPointer({ ...ok, ...bad }), JSON.stringify(bad)).toBe('malformed');
    }
    expect(readPointer(policyWith())).toBeUndefined();
    expect(readPointer(null)).toBeUndefined();
  });
});

describe('warnings (what validate and every write report)', () => {
  const EMPTY = new Map<string, StoredList>([...LISTS, stored('nobody', { kind: 'account', items: [] }), stored('ranges', { kind: 'cidr', items: ['203.0.113.128/25'] })]);
  async function warningsOf(rules: unknown[]) {
    const r = await buildSnapshot(policyWith({ rules: rules as never }), EMPTY);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.warnings.map((w) => ({ path: w.path.join('.'), message: w.message }));
  }
  const deny = (over: object) => ({ id: 'd', action: 'deny', ...over });
  const allow = (over: object) => ({ id: 'x', action: 'allow', liftDeny: ['d'], ...over });

  it.each<[string, unknown[], { path: string; message: string }[]]>([
    ['the default policy', [], []],
    ['an asn rule with nothing', [deny({ type: 'asn', asns: [] })], [{ path: 'rules.0', message: 'rule d lists nothing, so it can never match' }]],
    ['a country rule with nothing', [deny({ type: 'country', countries: [] })], [{ path: 'rules.0', message: 'rule d lists nothing, so it can never match' }]],
    ['a region rule with nothing', [deny({ type: 'region', regions: [] })], [{ path: 'rules.0', message: 'rule d lists nothing, so it can never match' }]],
    ['a cidr rule with nothing', [deny({ type: 'cidr', cidrs: [] })], [{ path: 'rules.0', message: 'rule d lists nothing, so it can never match' }]],
    ['an account rule with nothing', [deny({ type: 'account' })], [{ path: 'rules.0', message: 'rule d lists nothing, so it can never match' }]],
    ['an owner-country rule with nothing', [deny({ type: 'owner-country', countries: [] })], [{ path: 'rules.0', message: 'rule d lists nothing, so it can never match' }]],
    ['rules that list something', [deny({ type: 'asn', lists: ['x4b-vpn'] }), { id: 'e', type: 'owner-country', action: 'deny', countries: [], lists: ['owners'] }, { id: 'f', type: 'region', action: 'deny', regions: ['UA-43'] }], []],
    [
      'an account rule whose only list is empty',
      [deny({ type: 'account', lists: ['nobody'] })],
      [
        { path: 'rules.0', message: 'rule d lists nothing, so it can never match' },
        { path: 'rules.0.lists.0', message: 'list nobody is empty' },
      ],
    ],
    ['an empty country allow-list', [deny({ type: 'country-allowlist', countries: [] })], [{ path: 'rules.0.countries', message: 'rule d allows no country: every request with a known country is hit' }]],
    ['a country allow-list', [deny({ type: 'country-allowlist', countries: ['US'] })], []],
    [
      'an IPv4 exception for everyone',
      [deny({ type: 'cidr', cidrs: ['198.51.100.0/24'] }), allow({ type: 'cidr', cidrs: ['0.0.0.0/0'] })],
      [{ path: 'rules.1', message: 'allow-exception x covers a whole address family: it lifts d for everyone' }],
    ],
    [
      'an IPv6 exception for everyone',
      [deny({ type: 'cidr', cidrs: ['198.51.100.0/24'] }), allow({ type: 'cidr', cidrs: ['::/0'] })],
      [{ path: 'rules.1', message: 'allow-exception x covers a whole address family: it lifts d for everyone' }],
    ],
    [
      'an exception covering every block of the deny, inline and listed',
      [deny({ type: 'cidr', cidrs: ['203.0.113.0/25'], lists: ['ranges'] }), allow({ type: 'cidr', cidrs: ['203.0.0.0/16'] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x covers every block of deny rule d, which then never denies' }],
    ],
    [
      'an IPv6 exception covering the deny',
      [deny({ type: 'cidr', cidrs: ['2001:db8:1::/48'] }), allow({ type: 'cidr', cidrs: ['2001:db8::/32'] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x covers every block of deny rule d, which then never denies' }],
    ],
    ['an exception covering part of the deny', [deny({ type: 'cidr', cidrs: ['203.0.113.0/24'] }), allow({ type: 'cidr', cidrs: ['203.0.113.0/25'] })], []],
    ['an exception covering the deny\'s first address only', [deny({ type: 'cidr', cidrs: ['203.0.113.0/24'] }), allow({ type: 'cidr', cidrs: ['203.0.113.0/32'] })], []],
    ['an exception covering a listed block but not the inline one', [deny({ type: 'cidr', cidrs: ['192.0.2.0/24'], lists: ['ranges'] }), allow({ type: 'cidr', cidrs: ['203.0.113.0/24'] })], []],
    ['an exception lifting the score only', [allow({ type: 'cidr', cidrs: ['203.0.113.0/24'], liftDeny: ['score'] })], []],
    [
      'an account exception listing every account and org of the deny',
      [deny({ type: 'account', accounts: ['a1'], orgs: ['o1'] }), allow({ type: 'account', accounts: ['a1', 'a2'], orgs: ['o1'] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x lists everything deny rule d lists, which then never denies' }],
    ],
    ['an account exception missing one account', [deny({ type: 'account', accounts: ['a1', 'a2'] }), allow({ type: 'account', accounts: ['a1'] })], []],
    ['an exception covering the inline block but not the listed one', [deny({ type: 'cidr', cidrs: ['203.0.113.0/25'], lists: ['ranges'] }), allow({ type: 'cidr', cidrs: ['203.0.113.0/25'] })], []],
    [
      'two exception blocks that together cover the deny',
      [deny({ type: 'cidr', cidrs: ['203.0.113.0/24'] }), allow({ type: 'cidr', cidrs: ['203.0.113.0/25', '203.0.113.128/25'] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x covers every block of deny rule d, which then never denies' }],
    ],
    ['two exception blocks that leave one address of the deny', [deny({ type: 'cidr', cidrs: ['203.0.113.0/24'] }), allow({ type: 'cidr', cidrs: ['203.0.113.0/25', '203.0.113.128/26', '203.0.113.192/27', '203.0.113.224/28', '203.0.113.240/29', '203.0.113.248/30', '203.0.113.252/31', '203.0.113.254/32'] })], []],
    [
      'IPv6 exception blocks that together cover the deny',
      [deny({ type: 'cidr', cidrs: ['2001:db8::/32'] }), allow({ type: 'cidr', cidrs: ['2001:db8::/33', '2001:db8:8000::/33'] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x covers every block of deny rule d, which then never denies' }],
    ],
    ['IPv6 exception blocks with a gap', [deny({ type: 'cidr', cidrs: ['2001:db8::/32'] }), allow({ type: 'cidr', cidrs: ['2001:db8::/33', '2001:db8:8000::/34'] })], []],
    ['an account exception missing one org', [deny({ type: 'account', accounts: ['a1'], orgs: ['o1'] }), allow({ type: 'account', accounts: ['a1'] })], []],
    ['an account exception, the deny also naming a list', [deny({ type: 'account', accounts: ['a1'], lists: ['banned'] }), allow({ type: 'account', accounts: ['a1'] })], []],
    ['an account id that is also an org id', [deny({ type: 'account', orgs: ['a1'] }), allow({ type: 'account', accounts: ['a1'] })], []],
    [
      'an ASN exception listing every ASN of the deny',
      [deny({ type: 'asn', asns: [64500, 64501] }), allow({ type: 'asn', asns: [64501, 64500] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x lists everything deny rule d lists, which then never denies' }],
    ],
    ['a rule on no surface', [deny({ type: 'country', countries: ['CN'], surfaces: [] })], [{ path: 'rules.0.surfaces', message: 'rule d applies to no request: its surfaces list is empty' }]],
    ['an exception on one surface, the deny on all', [deny({ type: 'asn', asns: [64500] }), allow({ type: 'asn', asns: [64500], surfaces: ['api'] })], []],
    [
      'an exception on every surface of the deny',
      [deny({ type: 'asn', asns: [64500], surfaces: ['api'] }), allow({ type: 'asn', asns: [64500], surfaces: ['api', 'web'] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x lists everything deny rule d lists, which then never denies' }],
    ],
    [
      'an exception naming the deny\'s list too',
      [deny({ type: 'account', lists: ['banned'] }), allow({ type: 'account', lists: ['banned', 'orgs'] })],
      [],
    ],
    [
      'an exception naming the deny\'s list and every id',
      [deny({ type: 'account', accounts: ['a9'], lists: ['banned'] }), allow({ type: 'account', accounts: ['a9'], lists: ['banned'] })],
      [{ path: 'rules.1.liftDeny.0', message: 'allow-exception x lists everything deny rule d lists, which then never denies' }],
    ],
    ['an ASN exception listing some', [deny({ type: 'asn', asns: [64500, 64501] }), allow({ type: 'asn', asns: [64500] })], []],
    ['an exception of another type than the deny', [deny({ type: 'asn', asns: [64500] }), allow({ type: 'account', accounts: ['64500'] })], []],
  ])('%s', async (_name, rules, want) => {
    expect(await warningsOf(rules)).toEqual(want);
  });
  async function networkWarnings(over: object) {
    const r = await buildSnapshot(policyWith(over), new Map([...EMPTY, stored('no-ranges', { kind: 'cidr', items: [] })]));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.warnings.map((w) => ({ path: w.path.join('.'), message: w.message }));
  }

  it.each<[string, object, { path: string; message: string }[]]>([
    ['categories that weigh 0', { network: { categories: { relay: { lists: ['ranges'] } } } }, [{ path: 'score.weights.NETWORK_LISTED', message: 'NETWORK_LISTED weighs 0, so the network categories relay never add to the score' }]],
    ['categories weighed at the top', { network: { categories: { relay: { lists: ['ranges'] } } }, score: { weights: { NETWORK_LISTED: 40 }, challengeAt: 50, denyAt: 100 } }, []],
    ['categories weighed on one surface only', { network: { categories: { relay: { lists: ['ranges'] } } }, surfaces: { api: { weights: { NETWORK_LISTED: 40 } } } }, []],
    ['a network set listing nothing', { network: { vpn: {} } }, [{ path: 'network.vpn', message: 'network set vpn lists nothing, so it never matches' }]],
    [
      'a category whose only list is empty',
      { network: { categories: { relay: { lists: ['no-ranges'] } } }, score: { weights: { NETWORK_LISTED: 40 }, challengeAt: 50, denyAt: 100 } },
      [{ path: 'network.categories.relay.lists.0', message: 'list no-ranges is empty' }],
    ],
    ['built-in lists in the sets', { network: { vpn: { lists: ['x4b-vpn'] }, hosting: { lists: ['x4b-datacenter'] } } }, []],
  ])('network: %s', async (_name, over, want) => {
    expect(await networkWarnings(over)).toEqual(want);
  });
});
