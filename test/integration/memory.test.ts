// Account and organisation memory (issue 8) through the Worker: /v1/check and /v1/authorize in
// workerd, with the real ACCOUNT_ACTIVITY and ORG_ACTIVITY Durable Objects. The clock is pinned
// with vitest's fake Date, which the Worker and the objects share (one isolate), so windows are
// crossed by moving the clock, never by sleeping. Most tests store the default policy with
// `history.mode = "sync"`, so each check awaits its objects and is judged on their answer; the
// last block runs the default policy as shipped (async).
import { createExecutionContext, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryCache } from '../../src/accounts/memory';
import { MEMORY_SIGNAL_NAMES } from '../../src/engine/types';
import worker from '../../src/index';
import { ADMIN_TOKEN, CHECK_TOKEN, defaultDocument, postCheck, resetPolicyState, storePolicy } from '../helpers';
import { DAY, HOUR, MINUTE, SECOND } from '../memory-helpers';

/** The memory signals, in the order the engine lists them. */
const MEMORY_SIGNALS = MEMORY_SIGNAL_NAMES;
type MemorySignal = (typeof MEMORY_SIGNALS)[number];

interface Reason {
  code: string;
  rule: string;
  action: string;
  message: string;
  evidence: Record<string, unknown>;
}

/** The decision body, as far as these tests read it. */
interface DecisionBody {
  decision: 'allow' | 'challenge' | 'deny';
  score: number;
  reasons: Reason[];
  signals: Record<string, boolean | 'undetermined'>;
  memory?: { mode: string; account: string; org: string };
  evaluatedAt: string;
}


/**
 * The pinned start of every test: the next whole hour a day from now. Ahead of the real clock on
 * purpose, so that the objects' idle-wipe alarms (set from the pinned clock, fired by the real
 * one) never go off during a test.
 */
const T0 = Math.ceil(Date.now() / HOUR) * HOUR + DAY;

/** The default policy, with the memory awaited (within the largest budget a policy may set: a busy 2-core machine must not turn a test into a timeout). */
const SYNC_POLICY = { ...defaultDocument(), version: 'memory-sync-1', history: { mode: 'sync', syncBudgetMs: 5000 } };

/** Pins the clock of the Worker and the objects. */
function at(ms: number): void {
  vi.setSystemTime(ms);
}

/** A fresh id, so that no test reads another's memory. */
const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** POSTs a check and reads its decision. */
async function check(body: unknown): Promise<DecisionBody> {
  const res = await postCheck(body);
  expect(res.status).toBe(200);
  return res.json<DecisionBody>();
}

/** The memory signals of a decision. */
function memorySignals(body: DecisionBody): Record<MemorySignal, boolean | 'undetermined' | undefined> {
  return Object.fromEntries(MEMORY_SIGNALS.map((s) => [s, body.signals[s]])) as Record<MemorySignal, boolean | 'undetermined' | undefined>;
}

/** The reason a signal added, failing the test when it is absent. */
function reasonFor(body: DecisionBody, code: string): Reason {
  const r = body.reasons.find((x) => x.code === code);
  if (!r) throw new Error(`no ${code} reason in ${JSON.stringify(body.reasons.map((x) => x.code))}`);
  return r;
}

/** The investigator's view of an account (admin API). */
async function activityOf(account: string): Promise<{ history: { events: number; ips: number; networks: { count: number } } | null }> {
  const res = await SELF.fetch(`https://geogate.test/v1/accounts/${encodeURIComponent(account)}/activity`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.json();
}

/** An address in its own /24: shared address space (100.64.0.0/10), so on no VPN or datacenter list. */
const addressIn = (network: number, host = 7) => `100.${64 + (network >> 8)}.${network & 255}.${host}`;

const RELAY_COUNTRIES = ['US', 'DE', 'SG', 'JP', 'GB', 'FR'] as const;
const RELAY_ZONES = ['America/New_York', 'Europe/Berlin', 'Asia/Singapore', 'Asia/Tokyo', 'Asia/Shanghai'] as const;
const RELAY_REQUESTS = 42;

/**
 * A relay: one account's traffic from RELAY_REQUESTS networks in six allowed countries, its
 * clients showing five time zones (one of them Shanghai's), every 7 s from `start` (under 5 min).
 */
async function runRelay(account: string, start: number): Promise<void> {
  for (let i = 0; i < RELAY_REQUESTS; i++) {
    at(start + i * 7 * SECOND);
    await check({
      ip: addressIn(i),
      geo: { country: RELAY_COUNTRIES[i % RELAY_COUNTRIES.length] },
      client: { timezone: RELAY_ZONES[i % RELAY_ZONES.length], userAgent: 'python-httpx/0.27.0' },
      account: { id: account },
    });
  }
}

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  at(T0);
  memoryCache.clear();
  await resetPolicyState();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('sync mode: each check is judged on its account memory', () => {
  beforeEach(async () => {
    await storePolicy(SYNC_POLICY);
  });

  it('a relay (42 networks, 6 countries, 5 client zones with Shanghai in 5 min) is denied on an API call that shows nothing itself', async () => {
    const account = unique('relay');
    await runRelay(account, T0);
    at(T0 + 4 * MINUTE + 59 * SECOND);
    const body = await check({ ip: addressIn(900), geo: { country: 'US' }, surface: 'api', account: { id: account } });

    expect(body.memory).toEqual({ mode: 'sync', account: 'object', org: 'none' });
    expect(body.evaluatedAt).toBe(new Date(T0 + 4 * MINUTE + 59 * SECOND).toISOString());
    // Nothing about the request itself is suspicious: the memory alone decides.
    expect(body.signals).toMatchObject({ TZ_RESTRICTED: 'undetermined', NETWORK_VPN: false });
    expect(memorySignals(body)).toEqual({
      RELAY_FANOUT: true,
      RELAY_TZ_FANOUT: true,
      RELAY_DEVICE_FANOUT: false,
      RELAY_SIGNATURE: false,
      IMPOSSIBLE_TRAVEL: 'undetermined',
      TZ_RESTRICTED_HISTORY: true,
      RESTRICTED_IP_HISTORY: false,
      ORG_RESTRICTED_SHARE: 'undetermined',
    });
    expect(body).toMatchObject({ decision: 'deny', score: 50 + 40 + 50 });
    expect(body.reasons[0]).toMatchObject({ code: 'SCORE_DENY', rule: 'score', action: 'deny', evidence: { signals: ['RELAY_FANOUT', 'RELAY_TZ_FANOUT', 'TZ_RESTRICTED_HISTORY'] } });
    expect(reasonFor(body, 'RELAY_FANOUT').evidence).toMatchObject({
      networks: RELAY_REQUESTS + 1,
      countries: [...RELAY_COUNTRIES].sort(),
      ips: RELAY_REQUESTS + 1,
      events: RELAY_REQUESTS + 1,
      firstSeen: new Date(T0).toISOString(),
      windowSeconds: 600,
      memory: 'object',
      weight: 50,
    });
    expect(reasonFor(body, 'RELAY_TZ_FANOUT').evidence).toMatchObject({ timezones: [...RELAY_ZONES].sort(), count: 5, threshold: 3, weight: 40 });
    // Shanghai was the zone of every fifth request: i = 4, 9, ..., 39 (the last from JP).
    expect(reasonFor(body, 'TZ_RESTRICTED_HISTORY').evidence).toMatchObject({
      timezone: 'Asia/Shanghai',
      places: ['CN'],
      ipCountry: RELAY_COUNTRIES[39 % RELAY_COUNTRIES.length],
      count: 8,
      firstSeen: new Date(T0 + 4 * 7 * SECOND).toISOString(),
      lastSeen: new Date(T0 + 39 * 7 * SECOND).toISOString(),
      windowDays: 30,
      weight: 50,
    });
  });

  it('the relay fan-out expires with its window: 11 minutes without traffic, RELAY_FANOUT is false again (the Shanghai clock is still remembered)', async () => {
    const account = unique('relay-quiet');
    await runRelay(account, T0);
    const lastRelay = T0 + (RELAY_REQUESTS - 1) * 7 * SECOND;
    at(lastRelay + 11 * MINUTE);
    const body = await check({ ip: addressIn(0), geo: { country: 'US' }, surface: 'api', account: { id: account } });
    expect(memorySignals(body)).toMatchObject({ RELAY_FANOUT: false, RELAY_TZ_FANOUT: false, TZ_RESTRICTED_HISTORY: true });
    expect(body).toMatchObject({ decision: 'challenge', score: 50 });
    expect((await activityOf(account)).history).toMatchObject({ events: 1, networks: { count: 1 } });
  });

  it('a person with a phone and a laptop (2 networks, 1 country, 1 zone) stays allowed over 40 requests in 4 hours', async () => {
    const account = unique('person');
    const home = { ip: addressIn(300, 21), deviceId: 'laptop-5b1e' };
    const mobile = { ip: addressIn(301, 88), deviceId: 'phone-93c0' };
    for (let i = 0; i < 40; i++) {
      at(T0 + i * 6 * MINUTE);
      const { ip, deviceId } = i % 3 === 0 ? mobile : home;
      const body = await check({
        ip,
        geo: { country: 'US', city: 'Chicago', latitude: 41.88, longitude: -87.63 },
        client: { timezone: 'America/Chicago', acceptLanguage: 'en-US,en;q=0.9', deviceId, userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15' },
        account: { id: account },
      });
      expect({ i, decision: body.decision, score: body.score }).toEqual({ i, decision: 'allow', score: 0 });
      expect(memorySignals(body)).toEqual({
        RELAY_FANOUT: false,
        RELAY_TZ_FANOUT: false,
        RELAY_DEVICE_FANOUT: false,
        RELAY_SIGNATURE: false,
        IMPOSSIBLE_TRAVEL: false,
        TZ_RESTRICTED_HISTORY: false,
        RESTRICTED_IP_HISTORY: false,
        ORG_RESTRICTED_SHARE: 'undetermined',
      });
    }
  });

  describe('impossible travel', () => {
    it('Tokyo -> San Francisco in 11 hours is a flight, not IMPOSSIBLE_TRAVEL', async () => {
      const account = unique('flyer');
      await check({ ip: addressIn(400), geo: { country: 'JP', city: 'Tokyo', latitude: 35.68, longitude: 139.69 }, client: { timezone: 'Asia/Tokyo' }, account: { id: account } });
      at(T0 + 11 * HOUR);
      const body = await check({
        ip: addressIn(401),
        geo: { country: 'US', city: 'San Francisco', latitude: 37.77, longitude: -122.42 },
        client: { timezone: 'America/Los_Angeles' },
        account: { id: account },
      });
      expect(body.signals.IMPOSSIBLE_TRAVEL).toBe(false);
      expect(body.decision).toBe('allow');
    });

    it('Beijing -> New York in 20 minutes is IMPOSSIBLE_TRAVEL, and with the Beijing IP remembered the New York request is denied', async () => {
      const account = unique('teleport');
      const beijing = await check({ ip: addressIn(410), geo: { country: 'CN', city: 'Beijing', latitude: 39.9, longitude: 116.41 }, account: { id: account } });
      expect(beijing.decision).toBe('deny');
      expect(beijing.reasons[0]).toMatchObject({ code: 'COUNTRY_DENIED', rule: 'sanctioned-countries' });

      at(T0 + 20 * MINUTE);
      const body = await check({
        ip: addressIn(411),
        geo: { country: 'US', city: 'New York', latitude: 40.71, longitude: -74.01 },
        client: { timezone: 'America/New_York' },
        account: { id: account },
      });
      expect(memorySignals(body)).toMatchObject({ IMPOSSIBLE_TRAVEL: true, RESTRICTED_IP_HISTORY: true, TZ_RESTRICTED_HISTORY: false });
      expect(body).toMatchObject({ decision: 'deny', score: 100 });
      expect(body.reasons[0]).toMatchObject({ code: 'SCORE_DENY', action: 'deny', evidence: { signals: ['IMPOSSIBLE_TRAVEL', 'RESTRICTED_IP_HISTORY'] } });
      const travel = reasonFor(body, 'IMPOSSIBLE_TRAVEL').evidence;
      expect(travel).toMatchObject({
        from: { at: new Date(T0).toISOString(), country: 'CN', city: 'Beijing' },
        to: { at: new Date(T0 + 20 * MINUTE).toISOString(), country: 'US', city: 'New York' },
        hours: 0.33,
        maxKmh: 1000,
      });
      // Beijing to New York is about 11,000 km: three times that per hour.
      expect(travel.km).toBeGreaterThan(10_900);
      expect(travel.km).toBeLessThan(11_100);
      expect(travel.kmh).toBeCloseTo((travel.km as number) * 3, -2);
      expect(reasonFor(body, 'RESTRICTED_IP_HISTORY').evidence).toMatchObject({ ipPlace: 'CN', places: ['CN'], ipCountry: 'CN', lastSeen: new Date(T0).toISOString(), count: 1 });
    });
  });

  it('coordinates without a city prove nothing about travel: Beijing -> New York in 20 minutes by country-level coordinates is undetermined', async () => {
    const account = unique('no-city');
    await check({ ip: addressIn(420), geo: { country: 'CN', latitude: 39.9, longitude: 116.41 }, account: { id: account } });
    at(T0 + 20 * MINUTE);
    const body = await check({ ip: addressIn(421), geo: { country: 'US', latitude: 40.71, longitude: -74.01 }, account: { id: account } });
    expect(body.signals).toMatchObject({ IMPOSSIBLE_TRAVEL: 'undetermined', RESTRICTED_IP_HISTORY: true });
  });

  it('a Shanghai clock seen once is remembered for 30 days, whatever the clock says later, and forgotten after', async () => {
    const account = unique('shanghai-clock');
    const first = await check({ ip: addressIn(500), geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' }, account: { id: account } });
    expect(first.signals).toMatchObject({ TZ_RESTRICTED: true });

    at(T0 + 2 * HOUR);
    const newClock = await check({ ip: addressIn(501), geo: { country: 'US' }, client: { timezone: 'America/New_York' }, account: { id: account } });
    expect(newClock.signals).toMatchObject({ TZ_RESTRICTED: false, TZ_RESTRICTED_HISTORY: true });
    expect(reasonFor(newClock, 'TZ_RESTRICTED_HISTORY').evidence).toMatchObject({ timezone: 'Asia/Shanghai', places: ['CN'], ipCountry: 'SG', lastSeen: new Date(T0).toISOString() });
    expect(newClock).toMatchObject({ decision: 'challenge', score: 50 });

    at(T0 + 10 * DAY);
    const api = await check({ ip: addressIn(500), geo: { country: 'SG' }, surface: 'api', account: { id: account } });
    expect(api.signals).toMatchObject({ TZ_RESTRICTED: 'undetermined', TZ_RESTRICTED_HISTORY: true });
    expect(api).toMatchObject({ decision: 'challenge', score: 50 });

    at(T0 + 29 * DAY);
    expect((await check({ ip: addressIn(501), geo: { country: 'US' }, client: { timezone: 'America/New_York' }, account: { id: account } })).signals.TZ_RESTRICTED_HISTORY).toBe(true);

    at(T0 + 31 * DAY);
    const later = await check({ ip: addressIn(501), geo: { country: 'US' }, client: { timezone: 'America/New_York' }, account: { id: account } });
    expect(later.signals.TZ_RESTRICTED_HISTORY).toBe(false);
    expect(later).toMatchObject({ decision: 'allow', score: 0 });
  });

  describe('organisations', () => {
    /** One check per account of `org`, all at once: `restricted` of them on a Shanghai clock from Singapore. */
    async function populate(org: string, accounts: string[], restricted: number): Promise<void> {
      await Promise.all(
        accounts.map((id, i) =>
          check({
            ip: addressIn(600 + i),
            geo: { country: 'SG' },
            client: { timezone: i < restricted ? 'Asia/Shanghai' : 'Asia/Singapore' },
            account: { id, orgId: org },
          }),
        ),
      );
    }

    it('8 of 20 accounts on Shanghai clocks from Singapore: a clean account of the organisation gets ORG_RESTRICTED_SHARE on an API call', async () => {
      const org = unique('subsidiary');
      const accounts = Array.from({ length: 20 }, (_, i) => `${org}-user-${i}`);
      await populate(org, accounts, 8);
      at(T0 + HOUR);
      const clean = accounts[19];
      const body = await check({ ip: addressIn(619), geo: { country: 'SG' }, surface: 'api', account: { id: clean, orgId: org } });
      expect(body.memory).toEqual({ mode: 'sync', account: 'object', org: 'object' });
      expect(memorySignals(body)).toMatchObject({ ORG_RESTRICTED_SHARE: true, TZ_RESTRICTED_HISTORY: false, RESTRICTED_IP_HISTORY: false });
      expect(reasonFor(body, 'ORG_RESTRICTED_SHARE').evidence).toMatchObject({ activeAccounts: 20, restrictedAccounts: 8, share: 0.4, minShare: 0.3, minAccounts: 3, windowDays: 30, memory: 'object' });
      // Affinity, not location: it challenges, it can never deny on its own.
      expect(body).toMatchObject({ decision: 'challenge', score: 50 });
    });

    it('a multinational of 50 accounts with one traveller on a Shanghai clock does not get ORG_RESTRICTED_SHARE', async () => {
      const org = unique('multinational');
      const accounts = Array.from({ length: 50 }, (_, i) => `${org}-user-${i}`);
      await populate(org, accounts, 1);
      at(T0 + HOUR);
      const body = await check({ ip: addressIn(649), geo: { country: 'SG' }, surface: 'api', account: { id: accounts[49], orgId: org } });
      expect(body.signals.ORG_RESTRICTED_SHARE).toBe(false);
      expect(body).toMatchObject({ decision: 'allow', score: 0 });
    });
  });

  it('RELAY_SIGNATURE: 30 checks in a minute from a datacenter, whatever client fields they carry; a home ISP at the same rate does not count, and a quiet minute clears it', async () => {
    const sdk = unique('sdk');
    const home = unique('home');
    const from = { ip: addressIn(950), geo: { country: 'US', asn: 16509 }, surface: 'api' };
    for (let i = 0; i < 30; i++) {
      at(T0 + i * 2 * SECOND);
      // Every other check forges a browser and a locale: client fields never take a check out of the count.
      const client = i % 2 === 0 ? { userAgent: 'python-httpx/0.27.0' } : { userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', acceptLanguage: 'en-US' };
      const relayed = await check({ ...from, client, account: { id: sdk } });
      expect({ i, RELAY_SIGNATURE: relayed.signals.RELAY_SIGNATURE }).toEqual({ i, RELAY_SIGNATURE: i === 29 });
      const human = await check({ ip: addressIn(951), geo: { country: 'US', asn: 7922 }, client: { userAgent: 'python-httpx/0.27.0' }, account: { id: home } });
      expect(human.signals.RELAY_SIGNATURE).toBe(false);
    }
    at(T0 + 29 * 2 * SECOND);
    const last = await check({ ...from, client: { userAgent: 'python-httpx/0.27.0' }, account: { id: sdk } });
    expect(last.signals).toMatchObject({ NETWORK_HOSTING: true, RELAY_SIGNATURE: true });
    expect(reasonFor(last, 'RELAY_SIGNATURE').evidence).toMatchObject({ requests: 31, bare: 16, windowSeconds: 60, threshold: 30, firstSeen: new Date(T0).toISOString(), weight: 40 });

    at(T0 + 29 * 2 * SECOND + 61 * SECOND);
    expect((await check({ ...from, client: { userAgent: 'python-httpx/0.27.0' }, account: { id: sdk } })).signals.RELAY_SIGNATURE).toBe(false);
  });

  it('60 parallel checks of one account lose no event', async () => {
    const account = unique('burst');
    const bodies = await Promise.all(
      Array.from({ length: 60 }, (_, i) => check({ ip: addressIn(700 + (i % 12), 10 + i), geo: { country: 'US' }, client: { timezone: 'America/New_York' }, account: { id: account } })),
    );
    expect(bodies.every((b) => b.memory?.account === 'object')).toBe(true);
    expect((await activityOf(account)).history).toMatchObject({ events: 60, ips: 60, networks: { count: 12 } });
  });

  it('forward-auth: Geogate-Device-Id from 6 devices of one Geogate-Account-Id makes RELAY_DEVICE_FANOUT', async () => {
    const account = unique('shared-login');
    let last: DecisionBody | undefined;
    for (let d = 0; d < 6; d++) {
      at(T0 + d * 20 * SECOND);
      const res = await SELF.fetch('https://geogate.test/v1/authorize', {
        headers: {
          authorization: `Bearer ${CHECK_TOKEN}`,
          'geogate-response': 'full',
          'geogate-ip': addressIn(800),
          'geogate-country': 'US',
          'geogate-client-timezone': 'America/New_York',
          'geogate-account-id': account,
          'geogate-device-id': `device-${d}`,
        },
      });
      last = await res.json<DecisionBody>();
      expect(last.signals.RELAY_DEVICE_FANOUT).toBe(d >= 4);
    }
    expect(last && reasonFor(last, 'RELAY_DEVICE_FANOUT').evidence).toMatchObject({ devices: 6, threshold: 5, events: 6, memory: 'object' });
  });
});

describe('without memory', () => {
  it('a check that names no account consults nothing: the memory signals are undetermined, never false', async () => {
    await storePolicy(SYNC_POLICY);
    const body = await check({ ip: addressIn(960), geo: { country: 'US' }, client: { timezone: 'America/New_York' } });
    expect(body.memory).toEqual({ mode: 'sync', account: 'none', org: 'none' });
    expect(memorySignals(body)).toEqual(Object.fromEntries(MEMORY_SIGNALS.map((s) => [s, 'undetermined'])));
    expect(body.decision).toBe('allow');
  });

  it('history.mode "off": the signals are undetermined and the account object is never written', async () => {
    await storePolicy({ ...defaultDocument(), version: 'memory-off-1', history: { mode: 'off' } });
    const account = unique('off');
    const body = await check({ ip: addressIn(961), geo: { country: 'SG' }, client: { timezone: 'Asia/Shanghai' }, account: { id: account, orgId: unique('off-org') } });
    expect(body.memory).toEqual({ mode: 'off', account: 'off', org: 'off' });
    expect(memorySignals(body)).toEqual(Object.fromEntries(MEMORY_SIGNALS.map((s) => [s, 'undetermined'])));
    expect((await activityOf(account)).history).toBeNull();
  });
});

describe('async mode (the default policy): checks never wait for the memory', () => {
  /** Calls the Worker with an ExecutionContext and waits for its background work (the record). */
  async function checkAndSettle(body: unknown): Promise<DecisionBody> {
    const request = new Request('https://geogate.test/v1/check', {
      method: 'POST',
      headers: { authorization: `Bearer ${CHECK_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    return res.json<DecisionBody>();
  }

  it("a cold isolate's first check has the memory undetermined; once its record is back, the next is judged on the cached summary", async () => {
    const account = unique('async');
    const org = unique('async-org');
    const request = {
      ip: addressIn(900),
      geo: { country: 'US', city: 'Boston', latitude: 42.36, longitude: -71.06 },
      client: { timezone: 'America/New_York' },
      account: { id: account, orgId: org },
    };
    const first = await checkAndSettle(request);
    expect(first.memory).toEqual({ mode: 'async', account: 'cold', org: 'cold' });
    expect(memorySignals(first)).toEqual(Object.fromEntries(MEMORY_SIGNALS.map((s) => [s, 'undetermined'])));
    expect(first.decision).toBe('allow');

    at(T0 + 30 * SECOND);
    const second = await check(request);
    expect(second.memory).toEqual({ mode: 'async', account: 'cache', org: 'cache' });
    expect(memorySignals(second)).toEqual(Object.fromEntries(MEMORY_SIGNALS.map((s) => [s, false])));
    // Both checks reached the object, the second in the background too.
    await vi.waitFor(async () => expect((await activityOf(account)).history?.events).toBe(2), { timeout: 5000, interval: 20 });
  });
});
