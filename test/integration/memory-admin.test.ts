// The investigator's API over the account and organisation memory (GET / DELETE
// /v1/accounts/{id}/activity and /v1/orgs/{id}/activity), and what the memory objects keep: no
// raw IP or device id anywhere in their storage, and at most MEMORY_ITEM_CAP values per dimension
// whatever the traffic. Real Durable Objects in workerd; the clock is vitest's fake Date, which
// the Worker and the objects share.
import { createExecutionContext, runInDurableObject, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryCache } from '../../src/accounts/memory';
import worker from '../../src/index';
import { ADMIN_TOKEN, CHECK_TOKEN, defaultDocument, postCheck, resetPolicyState, storePolicy } from '../helpers';
import { DAY, HOUR, MINUTE, SECOND } from '../memory-helpers';


/** The next whole hour a day from now: ahead of the real clock, so the objects' idle alarms never fire mid-test. */
const T0 = Math.ceil(Date.now() / HOUR) * HOUR + DAY;

const SYNC_POLICY = { ...defaultDocument(), version: 'memory-admin-sync-1', history: { mode: 'sync', syncBudgetMs: 5000 } };

/** Distinct values an object keeps per dimension (src/engine/history.ts), restated as the contract. */
const ITEM_CAP = 256;

interface DecisionBody {
  decision: string;
  signals: Record<string, boolean | 'undetermined'>;
  memory?: { mode: string; account: string; org: string };
}

interface ErrorBody {
  error: { code: string; message: string };
}

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** An address in its own /24: shared address space (100.64.0.0/10), on no VPN or datacenter list. */
const addressIn = (network: number, host = 7) => `100.${64 + (network >> 8)}.${network & 255}.${host}`;

/** One admin-API request on an activity path. */
function activity(kind: 'accounts' | 'orgs', id: string, init: { method?: string; token?: string | null } = {}): Promise<Response> {
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  return SELF.fetch(`https://geogate.test/v1/${kind}/${encodeURIComponent(id)}/activity`, {
    method: init.method ?? 'GET',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

async function check(body: unknown): Promise<DecisionBody> {
  const res = await postCheck(body);
  expect(res.status).toBe(200);
  return res.json<DecisionBody>();
}

/**
 * Every row of every table the object's code can write, as JSON text, and its key-value entries.
 * The `_cf_*` tables are the runtime's own (SQLITE_AUTH to user code); what the object could put
 * in them through the key-value API is read with `storage.list()` instead.
 */
async function dumpStorage(state: DurableObjectState): Promise<{ tables: string[]; text: string }> {
  const sql = state.storage.sql;
  const tables = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
    .toArray()
    .map((r) => r.name);
  const rows = tables.map((t) => `${t}: ${JSON.stringify(sql.exec(`SELECT * FROM "${t}"`).toArray())}`);
  const kv = [...(await state.storage.list())].map(([k, v]) => `kv ${k}: ${JSON.stringify(v)}`);
  return { tables, text: [...rows, ...kv].join('\n') };
}

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  memoryCache.clear();
  await resetPolicyState();
  await storePolicy(SYNC_POLICY);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('GET activity (admin token)', () => {
  it("shows an account's counts, first and last check, its newest instant and the windows it keeps", async () => {
    const account = unique('acct');
    await check({ ip: addressIn(1), geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai', deviceId: 'laptop-1' }, account: { id: account } });
    vi.setSystemTime(T0 + MINUTE);
    await check({ ip: addressIn(2), geo: { country: 'US' }, client: { timezone: 'America/New_York', deviceId: 'laptop-1' }, account: { id: account } });
    vi.setSystemTime(T0 + 2 * MINUTE + 5 * SECOND);
    await check({ ip: addressIn(2, 8), geo: { country: 'US' }, surface: 'api', account: { id: account } });

    const res = await activity('accounts', account);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({
      account,
      history: {
        kind: 'account',
        asOf: T0 + 2 * MINUTE + 5 * SECOND,
        windowMs: 10 * MINUTE,
        events: 3,
        firstSeen: T0,
        lastSeen: T0 + 2 * MINUTE + 5 * SECOND,
        networks: { count: 2 },
        countries: { count: 2 },
        timezones: { count: 2 },
        ips: 3,
        devices: 1,
        restricted: [{ kind: 'tz', key: 'Asia/Shanghai', places: ['CN'], ipCountry: 'SG', firstSeen: T0, lastSeen: T0, count: 1 }],
        truncated: false,
      },
      windows: { fanoutMs: 10 * MINUTE, signatureMs: MINUTE, restrictedMs: 30 * DAY, orgMs: 30 * DAY, travel: { maxKmh: 1000, minKm: 500 } },
      rows: { checks: 3, marks: 1 },
    });
  });

  it("shows an organisation's active accounts and which of them showed restricted evidence", async () => {
    const org = unique('org');
    await check({ ip: addressIn(10), geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' }, account: { id: `${org}-a`, orgId: org } });
    vi.setSystemTime(T0 + HOUR);
    await check({ ip: addressIn(11), geo: { country: 'SG' }, client: { timezone: 'Asia/Singapore' }, account: { id: `${org}-b`, orgId: org } });

    const res = await activity('orgs', org);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      org,
      history: { kind: 'org', asOf: T0 + HOUR, windowMs: 30 * DAY, activeAccounts: 2, restrictedAccounts: 1, restrictedSample: [`${org}-a`], truncated: false },
      rows: { accounts: 2 },
    });
  });

  it.each(['accounts', 'orgs'] as const)('/v1/%s/{id}/activity of an id never seen: history null', async (kind) => {
    const res = await activity(kind, unique('nobody'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ history: null, windows: null });
  });

  it.each(['accounts', 'orgs'] as const)('/v1/%s/{id}/activity refuses an id over 256 characters (400)', async (kind) => {
    const res = await activity(kind, 'x'.repeat(257));
    expect(res.status).toBe(400);
    expect(await res.json<ErrorBody>()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
  });
});

describe('who may read and reset the memory', () => {
  it.each([
    ['GET', 'accounts'],
    ['DELETE', 'accounts'],
    ['GET', 'orgs'],
    ['DELETE', 'orgs'],
  ] as const)('%s /v1/%s/{id}/activity: the check token 403, no token 401, and the memory is untouched', async (method, kind) => {
    const id = unique('guarded');
    await check({ ip: addressIn(20), geo: { country: 'US' }, account: kind === 'accounts' ? { id } : { id: `${id}-member`, orgId: id } });

    const withCheckToken = await activity(kind, id, { method, token: CHECK_TOKEN });
    expect(withCheckToken.status).toBe(403);
    expect(await withCheckToken.json<ErrorBody>()).toMatchObject({ error: { code: 'FORBIDDEN' } });

    const anonymous = await activity(kind, id, { method, token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="geogate"');
    expect(await anonymous.json<ErrorBody>()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });

    expect(await (await activity(kind, id)).json()).toMatchObject({ history: { asOf: T0 } });
  });

  it.each([
    ['PUT', 'accounts'],
    ['POST', 'accounts'],
    ['PATCH', 'orgs'],
    ['POST', 'orgs'],
  ] as const)('%s /v1/%s/{id}/activity is 405 with Allow: GET, DELETE', async (method, kind) => {
    const res = await activity(kind, unique('method'), { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, DELETE');
    expect(await res.json<ErrorBody>()).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
  });
});

describe('DELETE activity (admin token)', () => {
  /** The audit entries about `target`, newest first. */
  async function auditOf(target: string): Promise<{ action: string; target: string; who: string; at: string }[]> {
    const res = await SELF.fetch('https://geogate.test/v1/audit?limit=100', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const { entries } = await res.json<{ entries: { action: string; target: string; who: string; at: string }[] }>();
    return entries.filter((e) => e.target === target);
  }

  it('forgets an account: GET shows no history, the next check starts fresh, and the reset is audited', async () => {
    const account = unique('forget-me');
    const countries = ['US', 'DE', 'FR'];
    for (const [i, country] of countries.entries()) {
      vi.setSystemTime(T0 + i * 10 * SECOND);
      await check({ ip: addressIn(30 + i), geo: { country }, client: { timezone: 'Asia/Shanghai' }, account: { id: account } });
    }
    vi.setSystemTime(T0 + 30 * SECOND);
    const before = await check({ ip: addressIn(33), geo: { country: 'GB' }, surface: 'api', account: { id: account } });
    expect(before.signals).toMatchObject({ RELAY_FANOUT: true, TZ_RESTRICTED_HISTORY: true });

    const res = await activity('accounts', account, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ account, reset: true });
    expect(await (await activity('accounts', account)).json()).toMatchObject({ account, history: null, windows: null });
    expect(await auditOf(account)).toMatchObject([{ action: 'account.reset', target: account, who: 'admin' }]);

    vi.setSystemTime(T0 + 40 * SECOND);
    const after = await check({ ip: addressIn(34), geo: { country: 'JP' }, surface: 'api', account: { id: account } });
    expect(after.signals).toMatchObject({ RELAY_FANOUT: false, TZ_RESTRICTED_HISTORY: false });
    expect(after.decision).toBe('allow');
    expect(await (await activity('accounts', account)).json()).toMatchObject({ history: { events: 1, firstSeen: T0 + 40 * SECOND, countries: { count: 1 }, restricted: [] } });
  });

  it('forgets an organisation: its restricted share starts over, and the reset is audited', async () => {
    const org = unique('forget-org');
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => check({ ip: addressIn(40 + i), geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' }, account: { id: `${org}-${i}`, orgId: org } })),
    );
    expect(await (await activity('orgs', org)).json()).toMatchObject({ history: { activeAccounts: 4, restrictedAccounts: 4 } });

    const res = await activity('orgs', org, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ org, reset: true });
    expect(await (await activity('orgs', org)).json()).toMatchObject({ org, history: null });
    expect(await auditOf(org)).toMatchObject([{ action: 'org.reset', target: org, who: 'admin' }]);

    vi.setSystemTime(T0 + MINUTE);
    const after = await check({ ip: addressIn(50), geo: { country: 'SG' }, surface: 'api', account: { id: `${org}-clean`, orgId: org } });
    expect(after.signals.ORG_RESTRICTED_SHARE).toBe(false);
    expect(await (await activity('orgs', org)).json()).toMatchObject({ history: { activeAccounts: 1, restrictedAccounts: 0 } });
  });

  it("async mode: a reset also drops this isolate's cached summary, so the next check is cold", async () => {
    await resetPolicyState();
    const account = unique('cached');
    const settled = async (body: unknown) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request('https://geogate.test/v1/check', { method: 'POST', headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res.json<DecisionBody>();
    };
    const request = { ip: addressIn(60), geo: { country: 'US' }, account: { id: account } };
    expect((await settled(request)).memory).toMatchObject({ mode: 'async', account: 'cold' });
    expect((await settled(request)).memory).toMatchObject({ mode: 'async', account: 'cache' });
    expect((await activity('accounts', account, { method: 'DELETE' })).status).toBe(200);
    expect((await settled(request)).memory).toMatchObject({ mode: 'async', account: 'cold' });
  });
});

describe('what the objects store', () => {
  it('no table of the account or organisation object holds the raw IP (v4 or v6) or the device id', async () => {
    const account = unique('private');
    const org = unique('private-org');
    const secrets = { v4: '198.51.100.77', v6: '2001:db8:1234:5678::abcd', device: 'device-7f3a9c51e2' };
    await check({ ip: secrets.v4, geo: { country: 'US', city: 'Denver', latitude: 39.74, longitude: -104.99 }, client: { deviceId: secrets.device }, account: { id: account, orgId: org } });
    vi.setSystemTime(T0 + MINUTE);
    await check({ ip: secrets.v6, geo: { country: 'US' }, client: { deviceId: secrets.device }, account: { id: account, orgId: org } });

    const stored = await runInDurableObject(env.ACCOUNT_ACTIVITY.get(env.ACCOUNT_ACTIVITY.idFromName(account)), (_instance, state) => dumpStorage(state));
    expect(stored.tables).toEqual(expect.arrayContaining(['meta', 'seen', 'checks', 'marks']));
    // The object did keep what it may: the /24 and /48, and the checks themselves.
    expect(stored.text).toContain('198.51.100.0/24');
    expect(stored.text).toContain('2001:db8:1234::/48');
    for (const secret of Object.values(secrets)) expect(stored.text).not.toContain(secret);
    expect(stored.text.toLowerCase()).not.toContain('2001:db8:1234:5678');

    const orgStored = await runInDurableObject(env.ORG_ACTIVITY.get(env.ORG_ACTIVITY.idFromName(org)), (_instance, state) => dumpStorage(state));
    expect(orgStored.text).toContain(account);
    for (const secret of Object.values(secrets)) expect(orgStored.text).not.toContain(secret);

    // And the investigator's view counts them without showing them.
    const view = await (await activity('accounts', account)).text();
    expect(view).toMatch(/"ips":2,/);
    expect(view).toMatch(/"devices":1,/);
    for (const secret of Object.values(secrets)) expect(view).not.toContain(secret);
  });

  it(`300 checks from 300 distinct /24s keep at most ${ITEM_CAP} network rows and report truncated`, async () => {
    const account = unique('flood');
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => check({ ip: addressIn(batch * 30 + i), geo: { country: 'US' }, surface: 'api', account: { id: account } })));
    }
    const rows = await runInDurableObject(env.ACCOUNT_ACTIVITY.get(env.ACCOUNT_ACTIVITY.idFromName(account)), (_instance, state) =>
      Object.fromEntries(state.storage.sql.exec<{ dim: string; n: number }>('SELECT dim, count(*) AS n FROM seen GROUP BY dim').toArray().map((r) => [r.dim, r.n])),
    );
    expect(rows).toMatchObject({ network: ITEM_CAP, ip: ITEM_CAP, country: 1 });

    const view = await (await activity('accounts', account)).json<{ history: { events: number; truncated: boolean; networks: { count: number; items: unknown[] } } }>();
    expect(view.history).toMatchObject({ events: 300, truncated: true, networks: { count: ITEM_CAP } });
    expect(view.history.networks.items.length).toBeLessThanOrEqual(64);
  });
});

describe('fixes from the review of the docs', () => {
  it('an IPv4 address and its IPv4-mapped IPv6 form are one IP; a blank device id is no device', async () => {
    const id = unique('canonical');
    await check({ ip: '100.64.9.7', geo: { country: 'US' }, client: { deviceId: '   ' }, account: { id } });
    const last = await check({ ip: '::FFFF:100.64.9.7', geo: { country: 'US' }, client: { deviceId: '' }, account: { id } });
    expect(last.memory).toMatchObject({ account: 'object' });
    const view = await (await activity('accounts', id)).json<{ history: { ips: number; devices: number; events: number } }>();
    expect(view.history).toMatchObject({ ips: 1, devices: 0, events: 2 });
  });

  it('an empty account or organisation id names no account: nothing is recorded, nothing is consulted', async () => {
    const body = await check({ ip: '100.64.9.7', geo: { country: 'US' }, account: { id: '', orgId: '' } });
    expect(body.memory).toEqual({ mode: 'sync', account: 'none', org: 'none' });
  });

  it('reading or resetting an id never recorded leaves no object behind', async () => {
    const id = unique('never-recorded');
    expect(await (await activity('accounts', id)).json()).toEqual({ account: id, history: null, windows: null, rows: {} });
    expect((await activity('orgs', id, { method: 'DELETE' })).status).toBe(200);
    for (const ns of [env.ACCOUNT_ACTIVITY, env.ORG_ACTIVITY]) {
      const stub = ns.get(ns.idFromName(id));
      const { tables } = await runInDurableObject(stub, (_o, state) => dumpStorage(state));
      expect(tables).toEqual([]);
    }
  });
});

describe('object layout', () => {
  it('an object whose tables an earlier layout made is started afresh on its next record, never broken', async () => {
    const id = unique('old-layout');
    const stub = env.ACCOUNT_ACTIVITY.get(env.ACCOUNT_ACTIVITY.idFromName(id));
    // The tables as the first version of this code made them (no `layout` key, checks.relay).
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec(`CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
        CREATE TABLE checks (second INTEGER PRIMARY KEY, n INTEGER NOT NULL, relay INTEGER NOT NULL);
        INSERT INTO meta VALUES ('asOf', '1'); INSERT INTO checks VALUES (1, 5, 0);`);
    });
    const body = await check({ ip: '100.64.9.7', geo: { country: 'US' }, account: { id } });
    expect(body.memory).toMatchObject({ account: 'object' });
    expect((await (await activity('accounts', id)).json<{ history: { events: number } }>()).history.events).toBe(1);
  });
});
