// Dry-run rules through the Worker (SELF.fetch in workerd, real local KV): /v1/check and
// /v1/authorize report `dryRun` beside a decision that the dry-run rules never change.
import { SELF } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { activePolicyStore } from '../../src/store/active-policy';
import { CHECK_TOKEN, policyWith, postCheck, resetPolicyState, storePolicy } from '../helpers';

beforeEach(resetPolicyState);

/** Sanctions enforced; RU and a relay network watched before enforcing them. */
const watching = policyWith({
  version: 'watch-1',
  rules: [
    { id: 'sanctioned', type: 'country', action: 'deny', countries: ['CN'] },
    { id: 'ru-candidate', type: 'country', action: 'deny', countries: ['RU'], mode: 'dry-run' },
    { id: 'new-relays', type: 'asn', action: 'deny', asns: [64500], mode: 'dry-run' },
  ],
});

function authorize(headers: Record<string, string>) {
  return SELF.fetch('https://geogate.test/v1/authorize', { headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'geogate-response': 'full', ...headers } });
}

describe('POST /v1/check with dry-run rules', () => {
  it('allows what only a dry-run rule denies, and says dryRun would deny', async () => {
    await storePolicy(watching);
    const res = await postCheck({ geo: { country: 'RU', asn: 8359 } });
    expect(res.status).toBe(200);
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision: 'allow', reasons: [], score: 0, failed: false, policyVersion: 'watch-1', policySource: 'kv' });
    expect(body).not.toHaveProperty('challenge');
    expect(body.dryRun).toEqual({
      decision: 'deny',
      changed: true,
      reasons: [{ code: 'COUNTRY_DENIED', rule: 'ru-candidate', action: 'deny', message: "The IP's country RU is listed by rule ru-candidate.", evidence: { country: 'RU', geoSource: 'forwarded' } }],
      score: 0,
      summary: "Denied: The IP's country RU is listed by rule ru-candidate.",
      matched: ['ru-candidate'],
    });
  });

  it('reports dryRun unchanged on every request under such a policy, so dashboards can count', async () => {
    await storePolicy(watching);
    const cn = await (await postCheck({ geo: { country: 'CN', asn: 64500 } })).json<Record<string, unknown>>();
    expect(cn).toMatchObject({ decision: 'deny', reasons: [{ code: 'COUNTRY_DENIED', rule: 'sanctioned' }] });
    expect(cn.dryRun).toMatchObject({ decision: 'deny', changed: false, matched: ['new-relays'] });
    const us = await (await postCheck({ geo: { country: 'US', asn: 7922 } })).json<Record<string, unknown>>();
    expect(us).toMatchObject({ decision: 'allow', dryRun: { decision: 'allow', changed: false, reasons: [], matched: [] } });
  });

  it('has no dryRun when the policy has no dry-run rules', async () => {
    await storePolicy(policyWith({ rules: [{ id: 'sanctioned', type: 'country', action: 'deny', countries: ['CN'], mode: 'enforce' }] }));
    const body = await (await postCheck({ geo: { country: 'RU' } })).json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision: 'allow' });
    expect(body).not.toHaveProperty('dryRun');
  });

  it('keeps reporting the last good policy\'s dryRun when the current one is corrupt', async () => {
    await storePolicy(watching);
    await postCheck({ geo: { country: 'US' } });
    await storePolicy('{ corrupt');
    activePolicyStore.invalidate();
    const body = await (await postCheck({ geo: { country: 'RU' } })).json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision: 'allow', failed: true, policySource: 'last-known-good', policyVersion: 'watch-1' });
    expect(body.dryRun).toMatchObject({ decision: 'deny', changed: true, matched: ['ru-candidate'] });
  });

  it('has no dryRun when the fail mode decides', async () => {
    await storePolicy('{ corrupt');
    const body = await (await postCheck({ geo: { country: 'RU' } })).json<Record<string, unknown>>();
    expect(body).toMatchObject({ decision: 'deny', failed: true, policySource: 'none' });
    expect(body).not.toHaveProperty('dryRun');
  });

  it('rejects a policy with an unknown mode, so it is never evaluated', async () => {
    await storePolicy(policyWith({ version: 'typo-1', rules: [{ id: 'r', type: 'country', action: 'deny', countries: ['RU'], mode: 'dryrun' as 'dry-run' }] }));
    const body = await (await postCheck({ geo: { country: 'US' } })).json<Record<string, unknown>>();
    expect(body).toMatchObject({ failed: true, policySource: 'none' });
  });
});

describe('/v1/authorize with dry-run rules', () => {
  it('answers the status of the real decision, and names the dry-run outcome in headers', async () => {
    await storePolicy(watching);
    const res = await authorize({ 'geogate-country': 'RU' });
    expect(res.status).toBe(200);
    expect(res.headers.get('geogate-decision')).toBe('allow');
    expect(res.headers.get('geogate-reasons')).toBe('');
    expect(res.headers.get('geogate-dry-run-decision')).toBe('deny');
    expect(res.headers.get('geogate-dry-run-rules')).toBe('ru-candidate');
    expect(await res.json()).toMatchObject({ decision: 'allow', dryRun: { decision: 'deny', changed: true } });
  });

  it('never lowers a real deny, whatever dryRun says', async () => {
    await storePolicy(watching);
    const res = await authorize({ 'geogate-country': 'CN', 'geogate-asn': '64500' });
    expect(res.status).toBe(403);
    expect(res.headers.get('geogate-dry-run-decision')).toBe('deny');
    expect(res.headers.get('geogate-dry-run-rules')).toBe('new-relays');
  });

  it('sends no dry-run headers without dry-run rules', async () => {
    const res = await authorize({ 'geogate-country': 'US', 'geogate-asn': '7922' });
    expect(res.status).toBe(200);
    expect(res.headers.has('geogate-dry-run-decision')).toBe(false);
    expect(res.headers.has('geogate-dry-run-rules')).toBe(false);
  });
});
