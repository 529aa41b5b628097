// The admin API through the Worker (SELF.fetch in workerd): real local KV and the real admin
// Durable Object. Each test names its own policy versions and lists, and reads the current ETag
// before it writes, so the tests hold whatever ran before them.
import { SELF, env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { ACTIVE_POLICY_KEY } from '../../src/policy/keys';
import { snapshotKey } from '../../src/policy/snapshot';
import { activePolicyStore } from '../../src/store/active-policy';
import { adminFetch, currentEtag, fresh, preconditionFor, push, type ErrorBody } from '../admin-client';
import { ADMIN_TOKEN, CHECK_TOKEN, policyWith, postCheck, resetPolicyState } from '../helpers';


let n = 0;




const listEtag = (name: string) => preconditionFor(`/v1/lists/${name}`);

const US_ONLY = (version: string, extra: object = {}) =>
  policyWith({ version, rules: [{ id: 'markets', type: 'country-allowlist', action: 'deny', countries: ['US'] }], ...extra });

beforeEach(resetPolicyState);

describe('who may call', () => {
  it.each(['/v1/policy', '/v1/policy/versions', '/v1/lists', '/v1/audit'])('GET %s: no token 401, the check token 403, a wrong token 401', async (path) => {
    const none = await adminFetch(path, { token: null });
    expect(none.status).toBe(401);
    expect((await none.json<ErrorBody>()).error.code).toBe('UNAUTHORIZED');
    const check = await adminFetch(path, { token: CHECK_TOKEN });
    expect(check.status).toBe(403);
    expect((await check.json<ErrorBody>()).error.code).toBe('FORBIDDEN');
    const wrong = await adminFetch(path, { token: 'not-the-admin-token-xxxxxxxx' });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
  });

  it('the admin token cannot decide requests (the two audiences stay apart)', async () => {
    const res = await postCheck({ geo: { country: 'US' } }, { token: ADMIN_TOKEN });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it('writes without a precondition are refused with 428; a stale ETag with 412 and the current one', async () => {
    expect((await push(US_ONLY(fresh('pre')))).status).toBe(200);
    const missing = await adminFetch('/v1/policy', { method: 'PUT', body: US_ONLY(fresh('pre')) });
    expect(missing.status).toBe(428);
    expect((await missing.json<ErrorBody>()).error.code).toBe('PRECONDITION_REQUIRED');
    const stale = await adminFetch('/v1/policy', { method: 'PUT', body: US_ONLY(fresh('pre')), headers: { 'if-match': '"policy-0"' } });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe(await currentEtag());
    expect((await stale.json<ErrorBody>()).error.code).toBe('PRECONDITION_FAILED');
    const create = await adminFetch('/v1/policy', { method: 'PUT', body: US_ONLY(fresh('pre')), headers: { 'if-none-match': '*' } });
    expect(create.status).toBe(412);
    await create.body?.cancel();
  });
});

describe('policy lifecycle', () => {
  it('PUT validates, stores a version, moves the pointer; GET returns it with its ETag; checks follow', async () => {
    const version = fresh('us-only');
    const put = await push(US_ONLY(version));
    expect(put.status).toBe(200);
    const written = await put.json<{ version: string; etag: string; snapshot: string; storedBy: string }>();
    expect(written).toMatchObject({ version, storedBy: 'admin' });
    expect(put.headers.get('etag')).toBe(`"${written.etag}"`);

    const got = await adminFetch('/v1/policy');
    expect(got.headers.get('etag')).toBe(`"${written.etag}"`);
    const body = await got.json<{ policy: { version: string }; version: string; snapshot: string }>();
    expect(body.version).toBe(version);
    expect(body.policy.version).toBe(version);
    expect(body.snapshot).toBe(written.snapshot);

    // KV: a pointer at the key isolates read, and the immutable snapshot it names.
    const pointer = JSON.parse((await env.POLICY.get(ACTIVE_POLICY_KEY)) ?? '{}') as { geogate: string; snapshot: string; policyVersion: string };
    expect(pointer).toMatchObject({ geogate: 'pointer', snapshot: written.snapshot, policyVersion: version });
    expect(await env.POLICY.get(snapshotKey(written.snapshot))).toContain('"geogate":"snapshot"');

    const br = await (await postCheck({ geo: { country: 'BR' } })).json<{ decision: string; policyVersion: string; snapshot: string; policySource: string }>();
    expect(br).toMatchObject({ decision: 'deny', policyVersion: version, snapshot: written.snapshot, policySource: 'kv' });
  });

  it('an invalid policy is a 400 with every issue (path and message), and nothing is stored', async () => {
    const before = await currentEtag();
    const bad = { ...US_ONLY(fresh('bad')), rules: [{ id: 'x', type: 'country', action: 'deny', countries: ['ZZ', 'XX'] }], missingGeo: 'maybe' };
    const res = await push(bad);
    expect(res.status).toBe(400);
    const body = await res.json<ErrorBody>();
    expect(body.error.code).toBe('INVALID_POLICY');
    expect(body.error.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(['rules.0.countries.0', 'rules.0.countries.1', 'missingGeo']));
    expect(await currentEtag()).toBe(before);
  });

  it('a policy referencing a missing list fails validation, and validate says so without storing', async () => {
    const doc = policyWith({ version: fresh('needs-list'), rules: [{ id: 'relays', type: 'cidr', action: 'deny', lists: ['no-such-list'] }] });
    const v = await adminFetch('/v1/policy/validate', { method: 'POST', body: doc });
    expect(v.status).toBe(200);
    expect(await v.json()).toMatchObject({ ok: false, issues: [{ path: ['rules', 0, 'lists', 0], message: 'no list named "no-such-list"' }] });
    const put = await push(doc);
    expect(put.status).toBe(400);
    expect((await put.json<ErrorBody>()).error.issues?.[0]).toMatchObject({ path: 'rules.0.lists.0' });
  });

  it('validate warns about rules that can never match, an empty allow-list and exceptions that swallow a deny', async () => {
    const doc = policyWith({
      version: fresh('warn'),
      rules: [
        { id: 'nothing', type: 'asn', action: 'deny', asns: [] },
        { id: 'everyone', type: 'country-allowlist', action: 'deny', countries: [] },
        { id: 'bad-net', type: 'cidr', action: 'deny', cidrs: ['203.0.113.0/24'] },
        { id: 'hq', type: 'cidr', action: 'allow', cidrs: ['203.0.0.0/16'], liftDeny: ['bad-net'] },
      ],
    });
    const body = await (await adminFetch('/v1/policy/validate', { method: 'POST', body: doc })).json<{ ok: boolean; warnings: { message: string }[] }>();
    expect(body.ok).toBe(true);
    const messages = body.warnings.map((w) => w.message).join('\n');
    expect(messages).toMatch(/rule nothing lists nothing/);
    expect(messages).toMatch(/rule everyone allows no country/);
    expect(messages).toMatch(/allow-exception hq covers every block of deny rule bad-net/);
  });

  it('a version string is stored once: pushing it again is 409, rolling back to it works', async () => {
    const first = fresh('v');
    const second = fresh('v');
    expect((await push(US_ONLY(first))).status).toBe(200);
    expect((await push(policyWith({ version: second }))).status).toBe(200);
    const again = await push(US_ONLY(first));
    expect(again.status).toBe(409);
    expect((await again.json<ErrorBody>()).error.code).toBe('VERSION_EXISTS');

    const etag = await currentEtag();
    const rolled = await adminFetch('/v1/policy/rollback', { method: 'POST', body: { version: first }, headers: { 'if-match': etag ?? '' } });
    expect(rolled.status).toBe(200);
    expect(await rolled.json()).toMatchObject({ version: first });
    expect((await (await postCheck({ geo: { country: 'BR' } })).json<{ decision: string; policyVersion: string }>())).toMatchObject({ decision: 'deny', policyVersion: first });

    const versions = await (await adminFetch('/v1/policy/versions?limit=2')).json<{ versions: { version: string; current: boolean }[]; cursor?: string }>();
    expect(versions.versions.map((v) => v.version)).toEqual([second, first]);
    expect(versions.versions.find((v) => v.current)?.version).toBe(first);
    expect(versions.cursor).toBeDefined();

    const unknown = await adminFetch('/v1/policy/rollback', { method: 'POST', body: { version: 'never-stored' }, headers: { 'if-match': (await currentEtag()) ?? '' } });
    expect(unknown.status).toBe(404);
    await unknown.body?.cancel();
    const noPre = await adminFetch('/v1/policy/rollback', { method: 'POST', body: { version: first } });
    expect(noPre.status).toBe(428);
    await noPre.body?.cancel();
  });

  it('concurrent PUTs with the same ETag: exactly one wins, the others get 412', async () => {
    expect((await push(policyWith({ version: fresh('base') }))).status).toBe(200);
    const etag = (await currentEtag()) ?? '';
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => adminFetch('/v1/policy', { method: 'PUT', body: US_ONLY(fresh(`race-${i}`)), headers: { 'if-match': etag } })),
    );
    const statuses = results.map((r) => r.status).sort();
    await Promise.all(results.map((r) => r.text()));
    expect(statuses).toEqual([200, 412, 412, 412]);
  });
});

describe('named lists', () => {
  it('PUT, GET, PATCH and DELETE a list; a policy using it follows each version', async () => {
    const name = `relays-${++n}`;
    const put = await adminFetch(`/v1/lists/${name}`, { method: 'PUT', body: { kind: 'cidr', items: ['198.51.100.7', '203.0.113.0/24', '203.0.113.0/24'] }, headers: await listEtag(name) });
    expect(put.status).toBe(200);
    const got = await (await adminFetch(`/v1/lists/${name}`)).json<{ kind: string; items: string[]; version: number }>();
    expect(got).toMatchObject({ kind: 'cidr', items: ['198.51.100.7/32', '203.0.113.0/24'], version: 1 });

    const version = fresh('with-list');
    expect((await push(policyWith({ version, rules: [{ id: 'relays', type: 'cidr', action: 'deny', lists: [name] }] }))).status).toBe(200);
    const hit = await (await postCheck({ ip: '203.0.113.9', geo: { country: 'US' } })).json<{ decision: string; reasons: { code: string; evidence: { source: string } }[]; snapshot: string }>();
    expect(hit.decision).toBe('deny');
    expect(hit.reasons[0]).toMatchObject({ code: 'IP_DENIED', evidence: { source: name } });

    // PATCH without resending the list: the relay range is added, the single address removed.
    const patch = await adminFetch(`/v1/lists/${name}`, { method: 'PATCH', body: { add: ['192.0.2.0/24'], remove: ['198.51.100.7'] } });
    expect(patch.status).toBe(200);
    const patched = await patch.json<{ version: string; snapshot: string }>();
    expect(patched.snapshot).not.toBe(hit.snapshot);
    activePolicyStore.invalidate();
    const now = await (await postCheck({ ip: '192.0.2.1', geo: { country: 'US' } })).json<{ decision: string; snapshot: string }>();
    expect(now).toMatchObject({ decision: 'deny', snapshot: patched.snapshot });
    expect((await (await postCheck({ ip: '198.51.100.7', geo: { country: 'US' } })).json<{ decision: string }>()).decision).toBe('allow');

    const inUse = await adminFetch(`/v1/lists/${name}`, { method: 'DELETE' });
    expect(inUse.status).toBe(409);
    expect((await inUse.json<ErrorBody>()).error.code).toBe('LIST_IN_USE');

    // A kind change the current policy cannot use is refused whole.
    const wrongKind = await adminFetch(`/v1/lists/${name}`, { method: 'PUT', body: { kind: 'asn', items: [9009] }, headers: await listEtag(name) });
    expect(wrongKind.status).toBe(400);
    expect((await wrongKind.json<ErrorBody>()).error.code).toBe('INVALID_LIST');

    expect((await push(policyWith({ version: fresh('no-list') }))).status).toBe(200);
    const del = await adminFetch(`/v1/lists/${name}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    await del.body?.cancel();
    expect((await adminFetch(`/v1/lists/${name}`)).status).toBe(404);
  });

  it('items are validated by the list kind; names by their pattern', async () => {
    const bad = await adminFetch('/v1/lists/owners', { method: 'PUT', body: { kind: 'org-owner', items: [{ org: 'o1', country: 'ZZ' }, { org: '', country: 'CN' }] }, headers: await listEtag('owners') });
    expect(bad.status).toBe(400);
    const body = await bad.json<ErrorBody>();
    expect(body.error.code).toBe('INVALID_LIST');
    expect(body.error.issues?.map((i) => i.path)).toEqual(['items.0.country', 'items.1.org']);
    const name = await adminFetch('/v1/lists/Bad%20Name', { method: 'PUT', body: { kind: 'asn', items: [] }, headers: { 'if-none-match': '*' } });
    expect(name.status).toBe(400);
    await name.body?.cancel();
    const patchMissing = await adminFetch('/v1/lists/never-created', { method: 'PATCH', body: { add: [1] } });
    expect(patchMissing.status).toBe(404);
    await patchMissing.body?.cancel();
  });

  it('an org-owner list catches a subsidiary whose origin sends no owner country', async () => {
    const name = `owners-${++n}`;
    expect((await adminFetch(`/v1/lists/${name}`, { method: 'PUT', body: { kind: 'org-owner', items: [{ org: 'acme-sg', country: 'cn' }] }, headers: await listEtag(name) })).status).toBe(200);
    expect((await push(policyWith({ version: fresh('owners'), rules: [{ id: 'parents', type: 'owner-country', action: 'deny', countries: ['CN'], lists: [name] }] }))).status).toBe(200);
    const d = await (await postCheck({ geo: { country: 'SG' }, account: { id: 'a1', orgId: 'acme-sg' } })).json<{ decision: string; reasons: { code: string; evidence: { source: string } }[] }>();
    expect(d.decision).toBe('deny');
    expect(d.reasons[0]).toMatchObject({ code: 'OWNER_RESTRICTED', evidence: { source: name } });
  });
});

describe('what an isolate does with what KV holds', () => {
  it('a corrupt value written straight into KV: the worker keeps serving the last good snapshot and /healthz says degraded', async () => {
    const version = fresh('good');
    expect((await push(US_ONLY(version))).status).toBe(200);
    expect((await (await postCheck({ geo: { country: 'BR' } })).json<{ decision: string }>()).decision).toBe('deny');
    await env.POLICY.put(ACTIVE_POLICY_KEY, '{"geogate":"pointer","schema":1,"snapshot":"not-a-hash"');
    activePolicyStore.invalidate();
    const d = await (await postCheck({ geo: { country: 'BR' } })).json<{ decision: string; failed: boolean; policySource: string; policyVersion: string }>();
    expect(d).toMatchObject({ decision: 'deny', failed: true, policySource: 'last-known-good', policyVersion: version });
    const health = await (await SELF.fetch('https://geogate.test/healthz')).json<{ status: string; cause: { kind: string } }>();
    expect(health).toMatchObject({ status: 'degraded', cause: { kind: 'invalid' } });
  });

  it('a pointer to a snapshot whose text was altered is refused (integrity), never served', async () => {
    const version = fresh('tamper');
    const put = await (await push(US_ONLY(version))).json<{ snapshot: string }>();
    const text = (await env.POLICY.get(snapshotKey(put.snapshot))) ?? '';
    await env.POLICY.put(snapshotKey(put.snapshot), text.replace('"deny"', '"allow"'));
    await resetPolicyState(); // a new isolate
    await env.POLICY.put(ACTIVE_POLICY_KEY, JSON.stringify({ geogate: 'pointer', schema: 1, snapshot: put.snapshot, policyVersion: version, lists: {}, revision: 1, storedAt: 'x', storedBy: 'x' }));
    const d = await (await postCheck({ geo: { country: 'BR' } })).json<{ decision: string; failed: boolean }>();
    expect(d.failed).toBe(true);
    expect(d.decision).not.toBe('allow');
  });
});

describe('simulate and audit', () => {
  it('replays 10,000 requests under the current policy and a candidate, with a summary of what changes', async () => {
    expect((await push(policyWith({ version: fresh('open') }))).status).toBe(200);
    const countries = ['US', 'BR', 'DE', 'CN'];
    const requests = Array.from({ length: 10_000 }, (_, i) => ({ geo: { country: countries[i % 4] } }));
    const res = await adminFetch('/v1/simulate', { method: 'POST', body: { policy: US_ONLY(fresh('candidate')), requests } });
    expect(res.status).toBe(200);
    const body = await res.json<{ results: unknown[]; summary: { total: number; changed: number; transitions: Record<string, number> } }>();
    expect(body.results).toHaveLength(10_000);
    expect(body.summary.total).toBe(10_000);
    expect(body.summary.changed).toBe(7_500);
    expect(body.summary.transitions['allow->deny']).toBe(7_500);

    const tooMany = await adminFetch('/v1/simulate', { method: 'POST', body: { requests: Array.from({ length: 10_001 }, () => ({})) } });
    expect(tooMany.status).toBe(400);
    await tooMany.body?.cancel();
    const badCandidate = await adminFetch('/v1/simulate', { method: 'POST', body: { policy: { version: 'x' }, requests: [{}] } });
    expect(badCandidate.status).toBe(400);
    expect((await badCandidate.json<ErrorBody>()).error.code).toBe('INVALID_POLICY');
  }, 60_000);

  it('every write is in the audit log: who, what, when, the previous version', async () => {
    const a = fresh('audit-a');
    const b = fresh('audit-b');
    await push(policyWith({ version: a }));
    await push(policyWith({ version: b }));
    const log = await (await adminFetch('/v1/audit?limit=2')).json<{ entries: { action: string; target: string; previous: string | null; who: string; at: string }[] }>();
    expect(log.entries[0]).toMatchObject({ action: 'policy.put', target: b, previous: a, who: 'admin' });
    expect(log.entries[1]).toMatchObject({ action: 'policy.put', target: a });
    expect(Date.parse(log.entries[0]?.at ?? '')).not.toBeNaN();
  });
});
