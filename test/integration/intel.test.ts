// The network intel through the Worker (SELF.fetch in workerd, real local KV and the real admin
// Durable Object): decisions and /v1/authorize name the intel in force, PUT/GET /v1/intel publish
// a small artifact (preconditions, validation, audit, idempotent re-push), and a corrupt artifact in
// KV falls back to the last good intel (intel:last-good), degraded in /healthz, never looser.
// The admin store's state outlives each test (resetPolicyState empties KV only), so every test
// pushes artifacts of its own version and reads the current ETag before it writes.
import { env, SELF } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { BUNDLED_INTEL_ID, BUNDLED_INTEL_TEXT } from '../../src/engine/data/network-intel';
import { bundledIntel, encodeIntel } from '../../src/engine/intel';
import { buildIntel } from '../../src/intel/build';
import { ACTIVE_INTEL_KEY, intelKey, LAST_GOOD_INTEL_KEY } from '../../src/policy/keys';
import { activeIntelStore, readIntelPointer } from '../../src/store/intel-store';
import { adminFetch, fresh, preconditionFor, pushIntel, testIntel, type ErrorBody, type TestIntel } from '../admin-client';
import { CHECK_TOKEN, postCheck, resetPolicyState } from '../helpers';

/** The raw X4B lists (data/network-intel), one entry per line, comments dropped. */
const RAW = import.meta.glob<string>('../../data/network-intel/x4b-*.txt', { query: '?raw', import: 'default', eager: true });
const linesOf = (name: string): string[] =>
  (RAW[`../../data/network-intel/${name}`] ?? '').split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
const X4B = {
  vpn: [...linesOf('x4b-vpn-ipv4.txt'), ...linesOf('x4b-vpn-ipv6.txt')],
  datacenter: [...linesOf('x4b-datacenter-ipv4.txt'), ...linesOf('x4b-datacenter-ipv6.txt')],
};
const X4B_ASNS = { vpn: linesOf('x4b-vpn-ASN.txt'), datacenter: linesOf('x4b-datacenter-ASN.txt') };

beforeEach(resetPolicyState);

/** An address in the bundled VPN list (2.26.157.0/24) that every test artifact lists too. */
const IN_BOTH = '2.26.157.9';
/** An address in the bundled VPN list (2.26.164.0/24) that no test artifact lists. */
const BUNDLED_ONLY = '2.26.164.5';
/** An address only the test artifacts list (198.51.100.0/24). */
const ARTIFACT_ONLY = '198.51.100.7';

/** A small artifact of a version no other test uses; it also lists 2.26.157.0/24 as VPN. */
const artifact = (label: string): Promise<TestIntel> => testIntel(label, ['198.51.100.0/24\n2.26.157.0/24']);

interface IntelView {
  version: string;
  artifact: string;
  etag: string;
  storedBy: string;
  changed: boolean;
  blocks: number;
  asns: number;
}

interface CheckBody {
  decision: 'allow' | 'challenge' | 'deny';
  score: number;
  failed: boolean;
  signals: Record<string, boolean | 'undetermined'>;
  reasons: { code: string; evidence: Record<string, unknown> }[];
  intel: { version: string; source: string; id: string; failed: boolean };
}

/** Pushes an artifact and expects it published. */
async function published(a: TestIntel): Promise<IntelView> {
  const res = await pushIntel(a.text);
  expect(res.status).toBe(200);
  return res.json<IntelView>();
}

/** Decides a US request from `ip` under the default policy. */
async function check(ip: string): Promise<CheckBody> {
  const res = await postCheck({ ip, geo: { country: 'US', asn: 7922 } });
  expect(res.status).toBe(200);
  return res.json<CheckBody>();
}

const health = async () => (await SELF.fetch('https://geogate.test/healthz')).json<{ status: string; intel: Record<string, unknown> | null }>();

const vpnReason = (body: CheckBody) => body.reasons.find((r) => r.code === 'NETWORK_VPN');

const STRICTNESS = { allow: 0, challenge: 1, deny: 2 } as const;

describe('the intel in decisions', () => {
  it('a fresh deployment decides with the bundled intel, healthily, and /v1/authorize names its version', async () => {
    const body = await check(BUNDLED_ONLY);
    expect(body.intel).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failed: false });
    expect(body.signals.NETWORK_VPN).toBe(true);
    expect(vpnReason(body)?.evidence).toMatchObject({ cidr: '2.26.164.0/24', intel: bundledIntel().version });
    const res = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', 'geogate-country': 'US' } });
    expect(res.headers.get('geogate-intel-version')).toBe(bundledIntel().version);
    await res.body?.cancel();
    expect(await health()).toMatchObject({ intel: { status: 'ok', source: 'bundled', version: bundledIntel().version, id: BUNDLED_INTEL_ID } });
  });
});

describe('PUT and GET /v1/intel', () => {
  // Before any push in this file: the admin store starts empty in each file's run, so this creates.
  it('If-None-Match: * creates only when no intel was pushed; afterwards it is 412 with the current ETag', async () => {
    const before = await adminFetch('/v1/intel');
    const a = await artifact('create');
    const res = await pushIntel(a.text, { 'if-none-match': '*' });
    if (before.status === 404) {
      await before.body?.cancel();
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ version: a.version, changed: true });
    } else {
      const current = await before.json<IntelView>();
      expect(res.status).toBe(412);
      expect(res.headers.get('etag')).toBe(`"${current.etag}"`);
      await res.body?.cancel();
    }
    // Either way something is stored now: creating again is refused.
    const again = await pushIntel((await artifact('create')).text, { 'if-none-match': '*' });
    expect(again.status).toBe(412);
    expect((await again.json<ErrorBody>()).error.code).toBe('PRECONDITION_FAILED');
  });

  it('publishes an artifact: KV holds it and a pointer to it, GET returns it, and checks follow at once', async () => {
    const a = await artifact('intel');
    const res = await pushIntel(a.text);
    expect(res.status).toBe(200);
    const view = await res.json<IntelView>();
    expect(view).toMatchObject({ version: a.version, artifact: a.id, changed: true, storedBy: 'admin', blocks: 3, asns: 2 });
    expect(res.headers.get('etag')).toBe(`"${view.etag}"`);

    const got = await adminFetch('/v1/intel');
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toBe(`"${view.etag}"`);
    expect(await got.json()).toMatchObject({ version: a.version, artifact: a.id, etag: view.etag });

    expect(await env.POLICY.get(intelKey(a.id))).toBe(a.text);
    expect(readIntelPointer((await env.POLICY.get(ACTIVE_INTEL_KEY)) ?? '')).toMatchObject({ artifact: a.id, version: a.version, storedBy: 'admin' });

    // The route invalidated this isolate's cache: the next check uses the new intel.
    const listed = await check(ARTIFACT_ONLY);
    expect(listed.intel).toEqual({ version: a.version, source: 'kv', id: a.id, failed: false });
    expect(listed.signals.NETWORK_VPN).toBe(true);
    expect(vpnReason(listed)?.evidence).toMatchObject({ cidr: '198.51.100.0/24', source: 'x4b-vpn', intel: a.version });
    // Only in the bundled lists: no longer a VPN.
    const bundledOnly = await check(BUNDLED_ONLY);
    expect(bundledOnly.signals.NETWORK_VPN).toBe(false);
    expect(vpnReason(bundledOnly)).toBeUndefined();

    const authorized = await SELF.fetch('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', 'geogate-country': 'US' } });
    expect(authorized.headers.get('geogate-intel-version')).toBe(a.version);
    await authorized.body?.cancel();
    expect(await health()).toMatchObject({ status: 'ok', intel: { status: 'ok', source: 'kv', version: a.version, id: a.id } });
  });

  it('refuses a write without a precondition (428) and with a stale ETag (412), storing nothing', async () => {
    const current = await published(await artifact('base'));
    const b = await artifact('next');
    const missing = await adminFetch('/v1/intel?allowShrink=true', { method: 'PUT', body: b.text });
    expect(missing.status).toBe(428);
    expect((await missing.json<ErrorBody>()).error.code).toBe('PRECONDITION_REQUIRED');
    const stale = await adminFetch('/v1/intel?allowShrink=true', { method: 'PUT', body: b.text, headers: { 'if-match': '"intel-0000000000000000"' } });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe(`"${current.etag}"`);
    expect((await stale.json<ErrorBody>()).error.code).toBe('PRECONDITION_FAILED');
    expect(await env.POLICY.get(intelKey(b.id))).toBeNull();
    expect(await (await adminFetch('/v1/intel')).json()).toMatchObject({ version: current.version, etag: current.etag });
    // The current ETag works.
    const ok = await adminFetch('/v1/intel?allowShrink=true', { method: 'PUT', body: b.text, headers: { 'if-match': `"${current.etag}"` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ version: b.version, changed: true });
  });

  it.each<[string, (a: TestIntel) => string, RegExp]>([
    ['not JSON', () => 'not json', /not valid JSON/],
    ['truncated', (a) => a.text.slice(0, Math.floor(a.text.length / 2)), /not valid JSON/],
    ['another format version', (a) => JSON.stringify({ ...(JSON.parse(a.text) as object), schema: 2 }), /intel format 2 is not 1/],
    ['a policy instead of an artifact', () => JSON.stringify({ version: 'p', rules: [] }), /not a geogate intel artifact/],
    ['a malformed ASN table', (a) => JSON.stringify({ ...(JSON.parse(a.text) as object), asns: { numbers: 'AAAA', categories: '', notes: '' } }), /ASN table is malformed/],
  ])('an invalid artifact (%s) is a 400 INVALID_INTEL naming the problem; nothing changes', async (_name, make, problem) => {
    const current = await published(await artifact('before-invalid'));
    const res = await pushIntel(make(await artifact('bad')), { 'if-match': `"${current.etag}"` });
    expect(res.status).toBe(400);
    const body = await res.json<ErrorBody>();
    expect(body.error.code).toBe('INVALID_INTEL');
    expect(body.error.message).toMatch(problem);
    expect(await (await adminFetch('/v1/intel')).json()).toMatchObject({ version: current.version, etag: current.etag });
    expect(readIntelPointer((await env.POLICY.get(ACTIVE_INTEL_KEY)) ?? '')?.artifact).toBe(current.artifact);
  });

  it.each(['GET', 'PUT'])('%s /v1/intel: no token 401, the check token 403', async (method) => {
    const a = await artifact('auth');
    const body = method === 'PUT' ? a.text : undefined;
    const none = await adminFetch('/v1/intel', { method, body, token: null, headers: { 'if-none-match': '*' } });
    expect(none.status).toBe(401);
    expect((await none.json<ErrorBody>()).error.code).toBe('UNAUTHORIZED');
    const checkToken = await adminFetch('/v1/intel', { method, body, token: CHECK_TOKEN, headers: { 'if-none-match': '*' } });
    expect(checkToken.status).toBe(403);
    expect((await checkToken.json<ErrorBody>()).error.code).toBe('FORBIDDEN');
    expect(await env.POLICY.get(intelKey(a.id))).toBeNull();
  });

  it('pushing the same artifact again answers changed: false and adds no audit entry; the push is audited as intel.put', async () => {
    const previous = await published(await artifact('prev'));
    const a = await artifact('audited');
    const first = await published(a);
    expect(first.changed).toBe(true);
    const audit = async () => (await (await adminFetch('/v1/audit?limit=5')).json<{ entries: { seq: number; action: string; target: string; previous: string | null; next: string | null; snapshot: string | null; who: string }[] }>()).entries;
    const after = await audit();
    expect(after[0]).toMatchObject({ action: 'intel.put', target: a.version, previous: previous.version, next: a.version, snapshot: a.id, who: 'admin' });

    const again = await pushIntel(a.text);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ version: a.version, artifact: a.id, etag: first.etag, changed: false });
    expect((await audit())[0]?.seq).toBe(after[0]?.seq);
  });

  it('GET /v1/intel is 405 for other methods', async () => {
    const res = await adminFetch('/v1/intel', { method: 'DELETE' });
    expect(res.status).toBe(405);
    await res.body?.cancel();
  });
});

describe('a corrupt artifact in KV', () => {
  it('a new isolate answers with the last good intel (intel:last-good), failed, degraded, and never looser', async () => {
    // A is pushed and loaded: this isolate checks it and mirrors its pointer to intel:last-good.
    const a = await artifact('good');
    await published(a);
    const goodA = await check(IN_BOTH);
    expect(goodA.intel).toMatchObject({ version: a.version, source: 'kv', failed: false });
    await activeIntelStore.settled();
    expect(await env.POLICY.get(LAST_GOOD_INTEL_KEY)).toBe(await env.POLICY.get(ACTIVE_INTEL_KEY));

    // B is pushed, and its artifact is corrupted in KV before any isolate loads it.
    const b = await artifact('corrupted');
    await published(b);
    await env.POLICY.put(intelKey(b.id), 'garbage');
    activeIntelStore.reset();

    const fallback = await check(IN_BOTH);
    expect(fallback.intel).toEqual({ version: a.version, source: 'last-known-good', id: a.id, failed: true });
    expect(fallback.signals.NETWORK_VPN).toBe(true);
    expect(vpnReason(fallback)?.evidence).toMatchObject({ intel: a.version });
    expect(STRICTNESS[fallback.decision]).toBeGreaterThanOrEqual(STRICTNESS[goodA.decision]);
    expect(fallback.score).toBeGreaterThanOrEqual(goodA.score);
    // Listed only by the pushed artifacts: still a VPN under the last good intel.
    expect((await check(ARTIFACT_ONLY)).signals.NETWORK_VPN).toBe(true);

    const h = await health();
    expect(h).toMatchObject({ status: 'degraded', intel: { status: 'degraded', source: 'last-known-good', version: a.version, cause: { kind: 'corrupt' } } });
    expect(JSON.stringify(h)).not.toContain('garbage');
    // The fallback did not overwrite the last good copy.
    await activeIntelStore.settled();
    expect(readIntelPointer((await env.POLICY.get(LAST_GOOD_INTEL_KEY)) ?? '')?.artifact).toBe(a.id);

    // Repaired in KV: the next load is healthy, and decides no looser than the fallback did.
    await env.POLICY.put(intelKey(b.id), b.text);
    activeIntelStore.invalidate();
    const goodB = await check(IN_BOTH);
    expect(goodB.intel).toEqual({ version: b.version, source: 'kv', id: b.id, failed: false });
    expect(STRICTNESS[fallback.decision]).toBeGreaterThanOrEqual(STRICTNESS[goodB.decision]);
    expect(fallback.score).toBeGreaterThanOrEqual(goodB.score);
    expect(await health()).toMatchObject({ status: 'ok', intel: { status: 'ok', source: 'kv', version: b.version } });
  });

  it('when intel:last-good names the corrupt artifact too, the bundled copy answers, failed', async () => {
    const a = await artifact('only');
    await published(a);
    const good = await check(IN_BOTH);
    await activeIntelStore.settled();
    await env.POLICY.put(intelKey(a.id), 'garbage');
    activeIntelStore.reset();
    const fallback = await check(IN_BOTH);
    expect(fallback.intel).toEqual({ version: bundledIntel().version, source: 'bundled', id: BUNDLED_INTEL_ID, failed: true });
    expect(fallback.signals.NETWORK_VPN).toBe(true);
    expect(STRICTNESS[fallback.decision]).toBeGreaterThanOrEqual(STRICTNESS[good.decision]);
    expect(await health()).toMatchObject({ status: 'degraded', intel: { source: 'bundled', cause: { kind: 'corrupt' } } });
  });

  it('an isolate that already holds the artifact keeps answering with it, healthily (it was checked)', async () => {
    const a = await artifact('held');
    await published(a);
    await check(IN_BOTH);
    await activeIntelStore.settled();
    await env.POLICY.put(intelKey(a.id), 'garbage');
    activeIntelStore.invalidate();
    expect((await check(IN_BOTH)).intel).toEqual({ version: a.version, source: 'kv', id: a.id, failed: false });
  });

  // Fixed (found by this suite): re-pushing the artifact in force used to answer changed:false
  // without looking at KV, so a corrupt or deleted intel:<id> / intel:active stayed as it was. The
  // admin store now republishes when KV's copies are not intact.
  it('re-pushing the artifact in force repairs a corrupt KV copy of it', async () => {
    const a = await artifact('repair');
    await published(a);
    await env.POLICY.put(intelKey(a.id), 'garbage');
    const res = await pushIntel(a.text);
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(await env.POLICY.get(intelKey(a.id))).toBe(a.text);
  });
});

describe('PUT /v1/intel refuses an intel that shrinks by half or more (a tired operator pushing a test artifact)', () => {
  /** The shipped lists rebuilt under a new version, keeping a fraction of their blocks and of their ASNs. */
  function cut(version: string, blocks: number, asnShare: number): string {
    const whole = bundledIntel();
    const cidrs = (category: 'vpn' | 'datacenter') => X4B[category].filter((_, i) => i % 100 < blocks * 100).join('\n');
    const asns = (category: 'vpn' | 'datacenter') => X4B_ASNS[category].filter((_, i) => i % 100 < asnShare * 100).join('\n');
    const built = buildIntel({ version, source: whole.source, asns: { vpn: asns('vpn'), datacenter: asns('datacenter') }, cidrs: { vpn: [cidrs('vpn')], datacenter: [cidrs('datacenter')] } });
    if (!built.ok) throw new Error('does not build');
    return encodeIntel(built.intel);
  }

  /** Publishes the full bundled intel (whatever an earlier test left in force), as the reference. */
  async function full(): Promise<string> {
    const res = await adminFetch('/v1/intel?allowShrink=true', { method: 'PUT', body: BUNDLED_INTEL_TEXT, headers: await preconditionFor('/v1/intel') });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    return (await env.POLICY.get(ACTIVE_INTEL_KEY)) ?? '';
  }

  it('over the full intel: 409 INTEL_SHRINKS and nothing written; published with allowShrink=true', async () => {
    const pointer = await full();
    const small = cut(fresh('small'), 0.4, 1);
    const res = await adminFetch('/v1/intel', { method: 'PUT', body: small, headers: await preconditionFor('/v1/intel') });
    expect(res.status).toBe(409);
    const body = await res.json<ErrorBody>();
    expect(body.error.code).toBe('INTEL_SHRINKS');
    expect(body.error.message).toMatch(/^This intel lists \d+ vpn IPv4 blocks, less than half of the \d+ of the intel in force \(x4b-/);
    expect(await env.POLICY.get(ACTIVE_INTEL_KEY)).toBe(pointer);
    const forced = await adminFetch('/v1/intel?allowShrink=true', { method: 'PUT', body: small, headers: await preconditionFor('/v1/intel') });
    expect(forced.status).toBe(200);
    await forced.body?.cancel();
  });

  it('fewer ASNs alone count too; a modest change (60% of the blocks) goes through', async () => {
    await full();
    const fewAsns = await adminFetch('/v1/intel', { method: 'PUT', body: cut(fresh('few-asns'), 1, 0.4), headers: await preconditionFor('/v1/intel') });
    expect(fewAsns.status).toBe(409);
    await fewAsns.body?.cancel();
    const modest = await adminFetch('/v1/intel', { method: 'PUT', body: cut(fresh('modest'), 0.6, 0.6), headers: await preconditionFor('/v1/intel') });
    expect(modest.status, await modest.clone().text()).toBe(200);
    await modest.body?.cancel();
  });
});

describe('the intel route against path tricks and oversized pushes', () => {
  it.each(['/v1/intel/', '/v1/intel/..', '/v1/intel%2f', '/V1/INTEL', '/v1/intel/x', '/v1/authorize/../intel', '/v1/authorize/%2e%2e/intel'])(
    'PUT %s with the check token never publishes anything and never answers 2xx',
    async (path) => {
      const res = await SELF.fetch(`https://geogate.test${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'if-none-match': '*', 'content-type': 'application/json' },
        body: BUNDLED_INTEL_TEXT,
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      await res.body?.cancel();
      expect(await env.POLICY.get(ACTIVE_INTEL_KEY)).toBeNull();
    },
  );

  it('a push over the 16 MiB bound is refused before it is read whole, and nothing changes', async () => {
    const huge = `{"geogate":"intel","pad":"${'x'.repeat(16 * 1024 * 1024)}"}`;
    const res = await adminFetch('/v1/intel', { method: 'PUT', body: huge, headers: { 'if-none-match': '*' } });
    expect(res.status).toBe(413);
    await res.body?.cancel();
    expect(await env.POLICY.get(ACTIVE_INTEL_KEY)).toBeNull();
  });
});
