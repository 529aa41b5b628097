// The load suite's traffic: which requests the driver sends, how often, and what each must get.
//
// One list of cases (end users as the origin describes them, written as /v1/check bodies) is sent
// over all three surfaces: POST /v1/check (the JSON body), ALL /v1/authorize (the same facts as
// the Geogate-* headers a forward-auth proxy sets, mapped with src/facts/forward-headers.ts's own
// table) and AccessCheck.check over a service binding (the body as the RPC argument, through the
// caller Worker test/fixtures/workers/rpc-origin.js). Malformed requests are per surface.
//
// The facts come from the golden cases of the default policy (test/fixtures/golden/*.json), minus
// the fields written against the golden files' instant (client clocks and offsets: over HTTP the
// Worker uses its own clock, and an offset is DST-dependent); browsers send their clock, so the
// cases that have one get the current instant at send time.
//
// Account memory is real here (Durable Objects), so what a case sends about an account is
// consistent: each case that names accounts draws from its own small pool, each account always
// from the same network, so that no memory signal (fan-out, travel, restricted history) turns one
// outcome into another over the run. Organisations are only named by allowed cases (an
// organisation whose staff show restricted evidence is a signal of its own).
import { GEOGATE_HEADERS, CLIENT_HEADERS } from '../../src/facts/forward-headers';
import type { CheckRequestInput } from '../../src/facts/check-request';

/** The three ways an origin asks geogate. */
export const SURFACES = ['check', 'authorize', 'rpc'] as const;
export type Surface = (typeof SURFACES)[number];

/** What a request must get. `cleared`: an allow because a valid clearance lifted its challenge. */
export const OUTCOMES = ['allow', 'deny', 'challenge', 'cleared', 'invalid'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Share of the traffic per surface and per outcome (each sums to 1). */
export const SURFACE_SHARE: Readonly<Record<Surface, number>> = { check: 0.4, authorize: 0.35, rpc: 0.25 };
export const OUTCOME_SHARE: Readonly<Record<Outcome, number>> = { allow: 0.5, deny: 0.15, challenge: 0.15, cleared: 0.12, invalid: 0.08 };

/** A clearance as the case presents it: none, the account's valid one, or that one altered. */
type ClearanceUse = 'none' | 'valid' | 'tampered';

/** One kind of end user. */
export interface Case {
  readonly name: string;
  readonly outcome: Exclude<Outcome, 'invalid'>;
  /** The check request; `ip` may contain `{k}` (the account's index) or `{r}` (random 1-254). */
  readonly body: CheckRequestInput;
  /** Accounts drawn from `acct-<name>-<k>` (k < accounts, the body's `{k}` set to k); 0: none. */
  readonly accounts: number;
  /** Adds `account.orgId` (`org-<name>-<k mod orgs>`). */
  readonly orgs?: number;
  /** Sends `client.clock` as the current instant. */
  readonly clock?: boolean;
  readonly clearance?: ClearanceUse;
  /** A reason code every answer must carry (not lifted). */
  readonly reason?: string;
}

const UA_CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';
const UA_SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

/**
 * Every case. Expected outcomes are the default policy's (the golden files say why); the test
 * checks each once before the load starts, so that a change of policy shows as one clear failure.
 */
export const CASES: readonly Case[] = [
  // Allowed: residential and mobile networks with clocks and languages that fit.
  {
    name: 'us-comcast-ny',
    outcome: 'allow',
    accounts: 0,
    clock: true,
    body: { ip: '73.1.2.{r}', geo: { country: 'US', regionCode: 'NY', timezone: 'America/New_York', asn: 7922, asOrganization: 'Comcast Cable' }, client: { timezone: 'America/New_York', acceptLanguage: 'en-US,en;q=0.9', userAgent: UA_CHROME }, surface: 'web' },
  },
  {
    name: 'us-verizon-la-acct',
    outcome: 'allow',
    accounts: 48,
    orgs: 6,
    clock: true,
    body: { ip: '198.51.100.{k}', geo: { country: 'US', regionCode: 'CA', timezone: 'America/Los_Angeles', asn: 701, asOrganization: 'Verizon Business' }, client: { timezone: 'America/Los_Angeles', acceptLanguage: 'en-US,en;q=0.9', userAgent: UA_SAFARI }, surface: 'web' },
  },
  {
    name: 'us-att-api-acct',
    outcome: 'allow',
    accounts: 16,
    body: { ip: '192.0.2.{k}', geo: { country: 'US', regionCode: 'TX', timezone: 'America/Chicago', asn: 7018 }, account: { ownerCountry: 'US' }, surface: 'api' },
  },
  {
    name: 'jp-kddi-tokyo',
    outcome: 'allow',
    accounts: 0,
    clock: true,
    body: { ip: '198.51.100.{r}', geo: { country: 'JP', regionCode: '13', timezone: 'Asia/Tokyo', asn: 2516 }, client: { timezone: 'Asia/Tokyo', acceptLanguage: 'ja-JP,ja;q=0.9,en-US;q=0.8', userAgent: UA_SAFARI }, surface: 'web' },
  },
  {
    name: 'de-telekom-berlin-acct',
    outcome: 'allow',
    accounts: 24,
    orgs: 3,
    body: { ip: '192.0.2.{k}', geo: { country: 'DE', regionCode: 'BE', timezone: 'Europe/Berlin', asn: 3320 }, client: { timezone: 'Europe/Berlin', acceptLanguage: 'de-DE,de;q=0.9,en;q=0.7', userAgent: UA_CHROME }, surface: 'web' },
  },
  {
    name: 'us-isp-zh-locale-only',
    outcome: 'allow',
    accounts: 0,
    body: { ip: '203.0.113.{r}', geo: { country: 'US', asn: 7922 }, client: { acceptLanguage: 'zh-CN,zh;q=0.9,en;q=0.8' }, surface: 'web' },
  },
  {
    name: 'us-aws-api',
    outcome: 'allow',
    accounts: 0,
    body: { ip: '3.5.140.{r}', geo: { country: 'US', asn: 16509, asOrganization: 'Amazon.com, Inc.' }, surface: 'api' },
  },
  {
    name: 'in-kolkata',
    outcome: 'allow',
    accounts: 0,
    body: { ip: '203.0.113.{r}', geo: { country: 'IN', timezone: 'Asia/Kolkata', asn: 55836 }, client: { timezone: 'Asia/Calcutta', acceptLanguage: 'en-IN,hi;q=0.9' }, surface: 'web' },
  },
  // Denied: restricted countries and regions, a score that locates the user, a restricted owner.
  {
    name: 'cn-chinanet',
    outcome: 'deny',
    accounts: 0,
    body: { ip: '36.112.0.{r}', geo: { country: 'CN', regionCode: 'GD', timezone: 'Asia/Shanghai', asn: 4134 }, client: { timezone: 'Asia/Shanghai', acceptLanguage: 'zh-CN,zh;q=0.9' }, surface: 'web' },
  },
  {
    name: 'ru-rostelecom-acct',
    outcome: 'deny',
    accounts: 8,
    body: { ip: '192.0.2.{k}', geo: { country: 'RU', timezone: 'Europe/Moscow', asn: 12389 }, client: { timezone: 'Europe/Moscow', acceptLanguage: 'ru-RU' }, surface: 'web' },
  },
  {
    name: 'ua-crimea-43',
    outcome: 'deny',
    accounts: 0,
    body: { ip: '192.0.2.{r}', geo: { country: 'UA', regionCode: '43', timezone: 'Europe/Simferopol', asn: 201776 }, client: { timezone: 'Europe/Simferopol' }, surface: 'web' },
  },
  {
    name: 'us-vpn-shanghai-zh',
    outcome: 'deny',
    accounts: 0,
    body: { ip: '185.153.176.9', geo: { country: 'US', asn: 209854, timezone: 'America/Chicago' }, client: { timezone: 'Asia/Shanghai', acceptLanguage: 'zh-CN,zh;q=0.9' }, surface: 'web' },
  },
  {
    name: 'sg-owner-cn-acct',
    outcome: 'deny',
    accounts: 8,
    body: { ip: '198.51.100.{k}', geo: { country: 'SG', asn: 4773, timezone: 'Asia/Singapore' }, client: { timezone: 'Asia/Singapore', acceptLanguage: 'en-SG' }, account: { ownerCountry: 'CN' }, surface: 'web' },
  },
  // Challenged: Tor, a VPN, a restricted country's clock from a clean network, no geo at all.
  {
    name: 'tor-t1',
    outcome: 'challenge',
    accounts: 0,
    reason: 'TOR',
    body: { ip: '192.0.2.{r}', geo: { country: 'T1' }, surface: 'web' },
  },
  {
    name: 'us-vpn-la-acct',
    outcome: 'challenge',
    accounts: 8,
    reason: 'NETWORK_VPN',
    body: { ip: '185.153.176.9', geo: { country: 'US', asn: 209854, timezone: 'America/Los_Angeles' }, client: { timezone: 'America/Los_Angeles', acceptLanguage: 'en-US' }, surface: 'web' },
  },
  {
    name: 'us-isp-shanghai-clock-acct',
    outcome: 'challenge',
    accounts: 8,
    reason: 'TZ_RESTRICTED',
    body: { ip: '203.0.113.{k}', geo: { country: 'US', asn: 7922, timezone: 'America/New_York' }, client: { timezone: 'Asia/Shanghai', acceptLanguage: 'en-US' }, surface: 'web' },
  },
  {
    name: 'no-geo',
    outcome: 'challenge',
    accounts: 0,
    reason: 'GEO_MISSING',
    body: { client: { timezone: 'America/New_York', acceptLanguage: 'en-US' }, surface: 'web' },
  },
  {
    name: 'tor-t1-tampered-clearance-acct',
    outcome: 'challenge',
    accounts: 8,
    clearance: 'tampered',
    reason: 'CLEARANCE_INVALID',
    body: { ip: '198.51.100.{k}', geo: { country: 'T1' }, surface: 'web' },
  },
  // Cleared: the challenged users above, back with the clearance a step-up earned them.
  {
    name: 'tor-t1-cleared-acct',
    outcome: 'cleared',
    accounts: 8,
    clearance: 'valid',
    body: { ip: '198.51.100.{k}', geo: { country: 'T1' }, surface: 'web' },
  },
  {
    name: 'us-vpn-la-cleared-acct',
    outcome: 'cleared',
    accounts: 8,
    clearance: 'valid',
    // A VPN recognised by its ASN alone: an address on no intel list, so no datacenter either (a
    // datacenter address at this volume would also raise RELAY_SIGNATURE, which the clearance does not cover).
    body: { ip: '198.18.{k}.1', geo: { country: 'US', asn: 209854, timezone: 'America/Los_Angeles' }, client: { timezone: 'America/Los_Angeles', acceptLanguage: 'en-US' }, surface: 'web' },
  },
];

/** A malformed request of one surface: what a buggy origin or a misconfigured proxy sends. */
export interface Malformed {
  readonly name: string;
  readonly surface: Surface;
  /** /v1/check: the raw body. /v1/authorize: the headers. rpc: the argument. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly input?: unknown;
}

export const MALFORMED: readonly Malformed[] = [
  { name: 'check-bad-json', surface: 'check', body: '{"ip":"203.0.113.1","geo":{"country":"US"' },
  { name: 'check-wrong-types', surface: 'check', body: JSON.stringify({ ip: 2130706433, geo: { country: ['US'], asn: '7922' }, surface: 'web' }) },
  { name: 'check-unknown-field', surface: 'check', body: JSON.stringify({ ipAddress: '203.0.113.1', geo: { country: 'US' } }) },
  { name: 'check-bad-country', surface: 'check', body: JSON.stringify({ ip: '203.0.113.1', geo: { country: 'USA' }, client: { timezone: 'America/New_York' } }) },
  { name: 'authorize-joined-country', surface: 'authorize', headers: { 'geogate-ip': '203.0.113.1', 'geogate-country': 'US, CN' } },
  { name: 'authorize-bad-asn', surface: 'authorize', headers: { 'geogate-ip': '203.0.113.1', 'geogate-country': 'US', 'geogate-asn': 'AS7922' } },
  { name: 'authorize-bad-ip', surface: 'authorize', headers: { 'geogate-ip': '999.1.2.3', 'geogate-country': 'US' } },
  { name: 'rpc-wrong-types', surface: 'rpc', input: { ip: 2130706433, geo: { country: 5 } } },
  { name: 'rpc-unknown-field', surface: 'rpc', input: { ipAddress: '203.0.113.1' } },
  { name: 'rpc-bad-region', surface: 'rpc', input: { ip: '203.0.113.1', geo: { country: 'UA', regionCode: 'Crimea!' } } },
];

/** Clearances per case and account index, issued by the Worker before the load (step-up). */
export type Clearances = Readonly<Record<string, readonly string[]>>;

/** The account index `k` of a case that names accounts. */
export const accountId = (c: Case, k: number): string => `acct-${c.name}-${k}`;

/** The case's body for account `k` (the account and organisation set, `{k}` filled), without `{r}` filled. */
export function bodyFor(c: Case, k: number, random: () => number, clearances: Clearances, now: number): CheckRequestInput {
  const ip = c.body.ip?.replace('{k}', String(10 + k)).replace('{r}', String(1 + Math.floor(random() * 254)));
  const body: CheckRequestInput = { ...c.body, ...(ip !== undefined ? { ip } : {}) };
  if (c.accounts > 0) body.account = { ...c.body.account, id: accountId(c, k), ...(c.orgs !== undefined ? { orgId: `org-${c.name}-${k % c.orgs}` } : {}) };
  if (c.clock) body.client = { ...c.body.client, clock: new Date(now).toISOString() };
  if (c.clearance !== undefined && c.clearance !== 'none') {
    const token = clearances[c.name]?.[k];
    if (token === undefined) throw new Error(`${c.name}: no clearance for account ${k}`);
    body.clearance = c.clearance === 'tampered' ? tamper(token) : token;
  }
  return body;
}

/** The clearance with one character of its signature changed (still well-formed, no longer valid). */
export function tamper(token: string): string {
  const at = token.lastIndexOf('.') + 10;
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

/** A header's text for a field value (scalars only: a check body has no nested values there). */
function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(headerText).join(', ');
  return undefined;
}

/** The Geogate-* (and client) headers a forward-auth proxy would set for `body`. */
export function headersFor(body: CheckRequestInput): Record<string, string> {
  const headers: Record<string, string> = {};
  const fields = body as Record<string, unknown>;
  for (const f of GEOGATE_HEADERS) {
    const [first, second] = f.path;
    const top = fields[first];
    const text = headerText(second === undefined ? top : typeof top === 'object' && top !== null ? (top as Record<string, unknown>)[second] : undefined);
    if (text !== undefined) headers[f.header] = text;
  }
  const client = (body.client ?? {}) as Record<string, unknown>;
  for (const [field, header] of Object.entries(CLIENT_HEADERS)) {
    const text = headerText(client[field]);
    if (text !== undefined) headers[header] = text;
  }
  return headers;
}

/** Small, fast, seeded PRNG (mulberry32, the benches' own): the same seed sends the same mix. */
export { prng } from '../../bench/lib/stats.mjs';
