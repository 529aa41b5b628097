// Operators' own network feeds through the admin API (SELF.fetch in workerd, real KV and admin
// Durable Object): named cidr and asn lists attached to the VPN set and to a category of the
// policy's own, resolved into the snapshot, changed without a policy push, and guarded like any
// list a policy uses.
import { beforeEach, describe, expect, it } from 'vitest';
import { adminFetch, fresh, preconditionFor, push, type ErrorBody } from '../admin-client';
import { policyWith, postCheck, resetPolicyState } from '../helpers';

beforeEach(resetPolicyState);

interface Body {
  decision: string;
  score: number;
  snapshot: string;
  signals: Record<string, unknown>;
  reasons: { code: string; evidence: Record<string, unknown> }[];
}

const check = async (body: unknown): Promise<Body> => (await postCheck(body)).json<Body>();
const evidenceOf = (b: Body, code: string) => b.reasons.find((r) => r.code === code)?.evidence;

async function putList(name: string, kind: string, items: unknown[]): Promise<void> {
  const res = await adminFetch(`/v1/lists/${name}`, { method: 'PUT', body: { kind, items }, headers: await preconditionFor(`/v1/lists/${name}`) });
  expect(res.status, await res.clone().text()).toBe(200);
  await res.body?.cancel();
}

describe('named lists in network sets', () => {
  it('a relay category and a VPN feed: detected, patched without a push, and protected while in use', async () => {
    const relays = fresh('relays');
    const vpnAsns = fresh('vpn-asns');
    await putList(relays, 'cidr', ['203.0.113.0/24']);
    await putList(vpnAsns, 'asn', [64500]);
    const pushed = await push(
      policyWith({
        version: fresh('feeds'),
        network: { vpn: { lists: ['x4b-vpn', vpnAsns] }, categories: { relay: { lists: [relays] } } },
        score: { weights: { NETWORK_VPN: 50, NETWORK_LISTED: 60 }, challengeAt: 50, denyAt: 100 },
      }),
    );
    expect(pushed.status, await pushed.clone().text()).toBe(200);
    await pushed.body?.cancel();

    const relay = await check({ ip: '203.0.113.9', geo: { country: 'US' } });
    expect(relay).toMatchObject({ decision: 'challenge', score: 60, signals: { NETWORK_LISTED: true, NETWORK_VPN: false } });
    expect(evidenceOf(relay, 'NETWORK_LISTED')).toMatchObject({ networkCategory: 'relay', categories: ['relay'], matchedBy: 'ip', cidr: '203.0.113.0/24', source: relays });

    const vpn = await check({ geo: { country: 'US', asn: 64500 } });
    expect(vpn).toMatchObject({ score: 50, signals: { NETWORK_VPN: true } });
    expect(evidenceOf(vpn, 'NETWORK_VPN')).toMatchObject({ matchedBy: 'asn', asn: 64500, source: vpnAsns });

    // A relay range on a listed VPN ASN is one network: it counts once, under the heavier weight.
    const both = await check({ ip: '203.0.113.9', geo: { country: 'US', asn: 64500 } });
    expect(both).toMatchObject({ score: 60, signals: { NETWORK_VPN: true, NETWORK_LISTED: true } });

    // A newly found range: a list patch, no policy push.
    expect((await check({ ip: '198.51.100.7', geo: { country: 'US' } })).signals.NETWORK_LISTED).toBe(false);
    const patch = await adminFetch(`/v1/lists/${relays}`, { method: 'PATCH', body: { add: ['198.51.100.0/24'] } });
    expect(patch.status, await patch.clone().text()).toBe(200);
    await patch.body?.cancel();
    const patched = await check({ ip: '198.51.100.7', geo: { country: 'US' } });
    expect(patched).toMatchObject({ decision: 'challenge', signals: { NETWORK_LISTED: true } });
    expect(patched.snapshot).not.toBe(relay.snapshot);

    // In use by a network set: neither deleted nor turned into a kind the set cannot use.
    const del = await adminFetch(`/v1/lists/${relays}`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect((await del.json<ErrorBody>()).error.code).toBe('LIST_IN_USE');
    const toAccounts = await adminFetch(`/v1/lists/${relays}`, { method: 'PUT', body: { kind: 'account', items: ['a1'] }, headers: await preconditionFor(`/v1/lists/${relays}`) });
    expect(toAccounts.status).toBe(400);
    const refusal = await toAccounts.json<ErrorBody>();
    expect(refusal.error.code).toBe('INVALID_LIST');
    expect(refusal.error.issues?.[0]).toMatchObject({ path: 'network.categories.relay.lists.0' });
  });

  it('a policy naming a list that does not exist in a network set is refused at its path', async () => {
    const res = await push(policyWith({ version: fresh('missing'), network: { categories: { relay: { lists: ['no-such-list'] } } } }));
    expect(res.status).toBe(400);
    const body = await res.json<ErrorBody>();
    expect(body.error.issues).toEqual([expect.objectContaining({ path: 'network.categories.relay.lists.0', message: 'no list named "no-such-list"' })]);
  });

  it('a list of the wrong kind in a network set is refused', async () => {
    const accounts = fresh('accounts');
    await putList(accounts, 'account', ['a1']);
    const res = await push(policyWith({ version: fresh('wrong-kind'), network: { vpn: { lists: [accounts] } } }));
    expect(res.status).toBe(400);
    const body = await res.json<ErrorBody>();
    expect(body.error.issues?.[0]?.message).toBe(`list "${accounts}" holds account items; a network set takes asn or cidr lists`);
  });
});
