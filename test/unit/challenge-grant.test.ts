// What a passed challenge earns (src/challenge/grant.ts): the ticket fixes the reasons, the
// network and the kinds that may pass; without one, the policy's kinds and the caller's reasons.
// Every refusal names the field at fault.
import { describe, expect, it } from 'vitest';
import { grantClearance, planClearance, signPlanned, type GrantRequest } from '../../src/challenge/grant';
import { readClearance, signTicket } from '../../src/challenge/tokens';
import { compile, NOW, policyWith } from '../helpers';

const SECRET = 'unit-clearance-secret-0123456789abcdef';
const POLICY = compile(policyWith({ version: 'p-7', challenge: { kinds: ['turnstile', 'step-up', 'sso'], clearanceTtlSeconds: 900, bind: { ipv4Prefix: 16, ipv6Prefix: 56 } } }));

async function ticket(over: Partial<Parameters<typeof signTicket>[1]> = {}): Promise<string> {
  return signTicket(SECRET, { requestId: 'r-1', account: 'acct-1', network: '198.51.0.0/16', reasons: ['NETWORK_VPN', 'TZ_MISMATCH'], kinds: ['step-up', 'turnstile'], policyVersion: 'p-6', issuedAt: NOW, expiresAt: NOW + 600_000, ...over });
}

const REQ: GrantRequest = { kind: 'step-up', method: 'kyc', account: 'acct-1', ip: '198.51.7.7' };

describe('planClearance', () => {
  it('with a ticket: its reasons and network, the policy in force and its TTL', async () => {
    const plan = await planClearance({ ...REQ, ticket: await ticket(), requestId: 'r-1' }, POLICY, [SECRET], NOW);
    expect(plan).toEqual({
      ok: true,
      grant: { kind: 'step-up', method: 'kyc', account: 'acct-1', network: '198.51.0.0/16', reasons: ['NETWORK_VPN', 'TZ_MISMATCH'], policyVersion: 'p-7', issuedAt: NOW, expiresAt: NOW + 900_000 },
    });
  });

  it('with reasons: deduplicated and sorted, the network at the policy binding', async () => {
    const plan = await planClearance({ ...REQ, ip: '2001:db8:1:2345::1', reasons: ['TOR', 'GEO_MISSING', 'TOR'] }, POLICY, [SECRET], NOW);
    expect(plan.ok && plan.grant).toMatchObject({ network: '2001:db8:1:2300::/56', reasons: ['GEO_MISSING', 'TOR'] });
  });

  it('an accountless ticket clears a visitor without an account', async () => {
    const plan = await planClearance({ kind: 'turnstile', ip: '198.51.1.1', ticket: await ticket({ account: undefined }) }, POLICY, [SECRET], NOW);
    expect(plan.ok && plan.grant).not.toHaveProperty('account');
  });

  it.each<[string, () => Promise<GrantRequest>, string, string]>([
    ['neither ticket nor reasons', () => Promise.resolve(REQ), 'INVALID_REQUEST', 'ticket'],
    ['a ticket of another account', async () => ({ ...REQ, account: 'acct-2', ticket: await ticket() }), 'TICKET_MISMATCH', 'account.id'],
    ['an accountless ticket for an account', async () => ({ ...REQ, ticket: await ticket({ account: undefined }) }), 'TICKET_MISMATCH', 'account.id'],
    ['a ticket of another network', async () => ({ ...REQ, ip: '198.52.0.1', ticket: await ticket() }), 'TICKET_MISMATCH', 'ip'],
    ['a ticket of a request without an IP', async () => ({ ...REQ, ticket: await ticket({ network: undefined }) }), 'TICKET_MISMATCH', 'ip'],
    ['a ticket of another request id', async () => ({ ...REQ, requestId: 'r-2', ticket: await ticket() }), 'TICKET_MISMATCH', 'requestId'],
    ['an expired ticket', async () => ({ ...REQ, ticket: await ticket({ expiresAt: NOW }) }), 'TICKET_INVALID', 'ticket'],
    ['a ticket signed with another secret', async () => ({ ...REQ, ticket: await signTicket('another-secret-0123456789abcdefghijk', { requestId: 'r', account: 'acct-1', network: '198.51.0.0/16', reasons: [], kinds: ['step-up'], policyVersion: 'p', issuedAt: NOW, expiresAt: NOW + 1000 }) }), 'TICKET_INVALID', 'ticket'],
    ['a kind the ticket did not offer', async () => ({ ...REQ, kind: 'sso', ticket: await ticket() }), 'KIND_NOT_OFFERED', 'kind'],
    ['turnstile when the ticket offered only step-up', async () => ({ kind: 'turnstile', account: 'acct-1', ip: REQ.ip, ticket: await ticket({ kinds: ['step-up'] }) }), 'KIND_NOT_OFFERED', 'token'],
    ['a kind the policy does not list', () => Promise.resolve({ ...REQ, kind: 'kyc-video', reasons: ['TOR'] }), 'KIND_NOT_OFFERED', 'kind'],
  ])('refuses %s', async (_name, req, code, path) => {
    const plan = await planClearance(await req(), POLICY, [SECRET], NOW);
    expect(plan.ok ? undefined : [plan.refusal.code, plan.refusal.path]).toEqual([code, path]);
  });
});

describe('grantClearance', () => {
  it('signs what it planned, with whole-second times', async () => {
    const now = NOW + 123;
    const g = await grantClearance({ ...REQ, reasons: ['TOR'] }, POLICY, [SECRET], now);
    if (!g.ok) throw new Error(g.refusal.message);
    expect(g.granted).toEqual({ clearance: expect.any(String) as unknown, id: expect.any(String) as unknown, expiresAt: new Date(NOW + 900_000).toISOString(), kind: 'step-up', reasons: ['TOR'], account: 'acct-1', network: '198.51.0.0/16', policyVersion: 'p-7' });
    const read = await readClearance(g.granted.clearance, [SECRET]);
    expect(read).toEqual({ status: 'signed', claims: { id: g.granted.id, kind: 'step-up', account: 'acct-1', network: '198.51.0.0/16', reasons: ['TOR'], policyVersion: 'p-7', issuedAt: NOW, expiresAt: NOW + 900_000 } });
  });

  it('a planned clearance signed later lives its whole TTL from the signing (after a slow siteverify)', async () => {
    const plan = await planClearance({ ...REQ, reasons: ['TOR'] }, POLICY, [SECRET], NOW);
    if (!plan.ok) throw new Error(plan.refusal.message);
    const g = await signPlanned(plan.grant, SECRET, NOW + 3000);
    expect(g.expiresAt).toBe(new Date(NOW + 3000 + 900_000).toISOString());
    expect(await readClearance(g.clearance, [SECRET])).toMatchObject({ claims: { issuedAt: NOW + 3000, expiresAt: NOW + 903_000 } });
  });
});
