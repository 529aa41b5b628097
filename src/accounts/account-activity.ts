// Per-account memory: one SQLite-backed Durable Object per account id (binding ACCOUNT_ACTIVITY,
// named by the id). Every check that names the account records what it showed (network prefix,
// ASN, country, client zones, keyed hashes of the IP and device id, restricted evidence, city
// coordinates) and gets back the account's summary (src/engine/history.ts), which the check's
// isolate caches. The engine judges summaries; this object only counts, within windows.
//
// Bounded whatever the traffic: at most MEMORY_ITEM_CAP distinct values per dimension (the least
// recently seen go first), one row per second of the fan-out window for check counts, at most
// MARK_CAP restricted marks of each kind, one last location and one travel finding. Everything
// older than its window is deleted on each record; an account idle for longer than its longest window is wiped
// by an alarm. Raw IPs and device ids are never stored: they are HMAC-SHA-256'd with a key derived
// from a random salt this object generates for itself (so hashes cannot be compared across
// accounts) and, when set, the MEMORY_HASH_SECRET secret (see sql.ts); kept until the reset. Documented in docs/storage-schema.md ("Account and organisation memory").
import {
  impossibleTravel,
  MARK_CAP,
  MEMORY_ITEM_CAP,
  SUMMARY_ITEMS,
  type AccountHistory,
  type AccountObservation,
  type DistinctSeen,
  type Located,
  type MemoryWindows,
  type RestrictedMark,
  type TravelFinding,
} from '../engine/history';
import { MemoryObject } from './memory-object';
import { hmacHex, loadOrCreateKey, sqlText } from './sql';

/** The dimensions whose distinct values an account counts. */
type Dim = 'network' | 'asn' | 'country' | 'tz' | 'ip' | 'device';

/** The tables' layout version (see ensureLayout): bump it with any change to SCHEMA. */
const LAYOUT = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (dim TEXT NOT NULL, key TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (dim, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_time ON seen (dim, last_seen);
CREATE TABLE IF NOT EXISTS checks (second INTEGER PRIMARY KEY, n INTEGER NOT NULL, dc INTEGER NOT NULL, bare INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS marks (kind TEXT NOT NULL, key TEXT NOT NULL, places TEXT NOT NULL, strength REAL NOT NULL, ip_country TEXT, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
`;

/** The investigator's view (GET /v1/accounts/{id}/activity): the summary, the windows it used, and the storage it takes. */
export interface AccountActivityView {
  readonly history: AccountHistory | null;
  readonly windows: MemoryWindows | null;
  /** Rows stored, by table: the bound in practice. */
  readonly rows: Readonly<Record<string, number>>;
}

/** Per-account memory (see the module comment). */
export class AccountActivity extends MemoryObject {
  #key: Promise<CryptoKey> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, { version: LAYOUT, tables: ['meta', 'seen', 'checks', 'marks'], schema: SCHEMA });
  }

  /**
   * Records checks (one, or an isolate's batch, in order) and answers the account's summary as of
   * its newest check. Concurrent calls are applied one by one, each in a transaction: no check is
   * lost.
   */
  async record(observations: readonly AccountObservation[], windows: MemoryWindows): Promise<AccountHistory> {
    this.ensureSchema();
    this.#key ??= loadOrCreateKey(this.sql, (this.env as { MEMORY_HASH_SECRET?: string }).MEMORY_HASH_SECRET);
    const key = await this.#key;
    const hashed = await Promise.all(
      observations.map(async (obs) => ({
        obs,
        ip: obs.ip === undefined ? undefined : await hmacHex(key, `ip:${obs.ip}`),
        devices: await Promise.all(obs.devices.map((d) => hmacHex(key, `device:${d}`))),
      })),
    );
    const history = this.ctx.storage.transactionSync(() => {
      // Again: a reset may have run while the hashes were computed.
      this.ensureSchema();
      for (const h of hashed) this.#apply(h.obs, windows, h.ip, h.devices);
      return this.#summary(windows);
    });
    await this.ensureAlarm(retentionOf(windows));
    return history;
  }

  /** The summary as of the newest check, and what is stored; null history when nothing is. */
  view(): AccountActivityView {
    if (!this.exists()) return { history: null, windows: null, rows: {} };
    const windows = this.meta<MemoryWindows>('windows');
    const rows: Record<string, number> = {};
    for (const t of ['seen', 'checks', 'marks', 'meta']) rows[t] = this.one(`SELECT count(*) AS n FROM ${t}`)?.n as number;
    return { history: windows ? this.#summary(windows) : null, windows: windows ?? null, rows };
  }

  /** Forgets the account entirely (its hashing key included). */
  async reset(): Promise<void> {
    await this.wipe();
  }

  protected override async wipe(): Promise<void> {
    await super.wipe();
    this.#key = undefined;
  }

  #apply(obs: AccountObservation, windows: MemoryWindows, ipHash: string | undefined, deviceHashes: readonly (string | undefined)[]): void {
    const at = obs.at;
    const asOf = Math.max(this.meta<number>('asOf') ?? at, at);
    const values: [Dim, string | undefined][] = [
      ['network', obs.network],
      ['asn', obs.asn === undefined ? undefined : String(obs.asn)],
      ['country', obs.country],
      ['ip', ipHash],
      ...deviceHashes.map((d): [Dim, string | undefined] => ['device', d]),
      ...obs.timezones.map((z): [Dim, string] => ['tz', z]),
    ];
    let truncated = this.meta<boolean>('truncated') ?? false;
    for (const [dim, key] of values) {
      if (key === undefined) continue;
      this.sql.exec(
        `INSERT INTO seen VALUES (?, ?, ?, ?, 1) ON CONFLICT (dim, key) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), n = n + 1`,
        dim,
        key,
        at,
        at,
      );
      const count = this.one('SELECT count(*) AS n FROM seen WHERE dim = ?', dim)?.n as number;
      if (count > MEMORY_ITEM_CAP) {
        truncated = true;
        this.sql.exec('DELETE FROM seen WHERE dim = ? AND key IN (SELECT key FROM seen WHERE dim = ? ORDER BY last_seen ASC LIMIT ?)', dim, dim, count - MEMORY_ITEM_CAP);
      }
    }
    this.sql.exec(
      'INSERT INTO checks VALUES (?, 1, ?, ?) ON CONFLICT (second) DO UPDATE SET n = n + 1, dc = dc + excluded.dc, bare = bare + excluded.bare',
      Math.floor(at / 1000),
      obs.datacenter ? 1 : 0,
      obs.datacenter && obs.bare ? 1 : 0,
    );
    for (const r of obs.restricted) {
      this.sql.exec(
        `INSERT INTO marks VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (kind, key) DO UPDATE SET places = excluded.places, strength = max(strength, excluded.strength), ip_country = excluded.ip_country, first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), n = n + 1`,
        r.kind,
        r.key,
        JSON.stringify(r.places),
        r.strength,
        r.ipCountry,
        at,
        at,
      );
    }
    // Capped per kind: many client zones must never push out a restricted IP the account was seen from.
    for (const kind of ['tz', 'ip']) {
      this.sql.exec('DELETE FROM marks WHERE kind = ? AND key IN (SELECT key FROM marks WHERE kind = ? ORDER BY strength DESC, last_seen DESC LIMIT -1 OFFSET ?)', kind, kind, MARK_CAP);
    }
    if (obs.location) {
      const here: Located = { at, ...obs.location };
      const last = this.meta<Located>('location');
      if (last) {
        const found = impossibleTravel(last, here, windows.travel);
        if (found) this.setMeta('travel', found);
      }
      if (!last || at >= last.at) this.setMeta('location', here);
    }
    // Prune what left its window (relative to the newest check, so an out-of-order check changes nothing).
    this.sql.exec('DELETE FROM seen WHERE last_seen < ?', asOf - windows.fanoutMs);
    this.sql.exec('DELETE FROM checks WHERE second < ?', Math.floor((asOf - Math.max(windows.fanoutMs, windows.signatureMs)) / 1000));
    this.sql.exec('DELETE FROM marks WHERE last_seen < ?', asOf - windows.restrictedMs);
    const travel = this.meta<TravelFinding>('travel');
    if (travel && travel.to.at < asOf - windows.fanoutMs) this.sql.exec("DELETE FROM meta WHERE k = 'travel'");
    const location = this.meta<Located>('location');
    if (location && location.at < asOf - windows.restrictedMs) this.sql.exec("DELETE FROM meta WHERE k = 'location'");
    this.setMeta('asOf', asOf);
    this.setMeta('windows', windows);
    this.setMeta('truncated', truncated);
    this.setMeta('touched', Date.now());
    this.setMeta('retention', retentionOf(windows));
  }

  #summary(windows: MemoryWindows): AccountHistory {
    const asOf = this.meta<number>('asOf') ?? 0;
    const fanStart = asOf - windows.fanoutMs;
    const checks = this.one('SELECT coalesce(sum(n), 0) AS n, min(second) AS first, max(second) AS last FROM checks WHERE second >= ?', Math.floor(fanStart / 1000));
    const dc = this.one('SELECT coalesce(sum(dc), 0) AS n, coalesce(sum(bare), 0) AS bare, min(second) AS first, max(second) AS last FROM checks WHERE dc > 0 AND second >= ?', Math.floor((asOf - windows.signatureMs) / 1000));
    const ms = (v: unknown) => (typeof v === 'number' ? v * 1000 : null);
    const marks: RestrictedMark[] = [];
    for (const r of this.sql.exec('SELECT * FROM marks WHERE last_seen >= ? ORDER BY strength DESC, last_seen DESC', asOf - windows.restrictedMs)) {
      marks.push({
        kind: r.kind === 'ip' ? 'ip' : 'tz',
        key: sqlText(r.key),
        places: JSON.parse(sqlText(r.places)) as string[],
        strength: Number(r.strength),
        ipCountry: typeof r.ip_country === 'string' ? r.ip_country : null,
        firstSeen: Number(r.first_seen),
        lastSeen: Number(r.last_seen),
        count: Number(r.n),
      });
    }
    return {
      kind: 'account',
      asOf,
      windowMs: windows.fanoutMs,
      events: Number(checks?.n ?? 0),
      firstSeen: ms(checks?.first),
      lastSeen: ms(checks?.last),
      networks: this.#distinct('network', fanStart),
      asns: this.#distinct('asn', fanStart),
      countries: this.#distinct('country', fanStart),
      timezones: this.#distinct('tz', fanStart),
      ips: this.#count('ip', fanStart),
      devices: this.#count('device', fanStart),
      signature: { windowMs: windows.signatureMs, requests: Number(dc?.n ?? 0), bare: Number(dc?.bare ?? 0), firstSeen: ms(dc?.first), lastSeen: ms(dc?.last) },
      lastLocation: this.meta<Located>('location') ?? null,
      travel: this.meta<TravelFinding>('travel') ?? null,
      restricted: marks,
      truncated: this.meta<boolean>('truncated') ?? false,
    };
  }

  #count(dim: Dim, since: number): number {
    return Number(this.one('SELECT count(*) AS n FROM seen WHERE dim = ? AND last_seen >= ?', dim, since)?.n ?? 0);
  }

  #distinct(dim: Dim, since: number): DistinctSeen {
    const items = [...this.sql.exec('SELECT key, first_seen, last_seen, n FROM seen WHERE dim = ? AND last_seen >= ? ORDER BY last_seen DESC LIMIT ?', dim, since, SUMMARY_ITEMS)].map((r) => ({
      key: sqlText(r.key),
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
      count: Number(r.n),
    }));
    return { count: items.length < SUMMARY_ITEMS ? items.length : this.#count(dim, since), items };
  }

}

/** How long an idle account is kept: its longest window, and a day to spare. */
function retentionOf(w: MemoryWindows): number {
  return Math.max(w.fanoutMs, w.signatureMs, w.restrictedMs) + 86_400_000;
}
