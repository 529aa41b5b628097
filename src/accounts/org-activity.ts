// Per-organisation memory: one SQLite-backed Durable Object per organisation id (binding
// ORG_ACTIVITY, named by the id). Every check that names the organisation records which account
// acted and whether the check (or that account's memory) showed restricted location evidence; the
// object answers how many of the organisation's accounts were active within its window and how
// many of them showed such evidence (ORG_RESTRICTED_SHARE: a restricted-country company's staff
// using a foreign subsidiary's corporate accounts).
//
// Bounded: at most ORG_ACCOUNT_CAP accounts (the least recently active go first); accounts idle
// for longer than the window are deleted on each record, and an organisation idle that long is
// wiped by an alarm. Stores account ids (the origin's own opaque ids), never IPs.
// Documented in docs/storage-schema.md ("Account and organisation memory").
import type { MemoryWindows, OrgHistory, OrgObservation } from '../engine/history';
import { MemoryObject } from './memory-object';
import { sqlText } from './sql';

/** Accounts an organisation's memory keeps. */
export const ORG_ACCOUNT_CAP = 5000;

/** Restricted account ids a summary lists. */
const SAMPLE = 20;

/** The tables' layout version (see ensureLayout): bump it with any change to SCHEMA. */
const LAYOUT = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, n INTEGER NOT NULL, places TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accounts_by_time ON accounts (last_seen);
`;

/** The investigator's view (GET /v1/orgs/{id}/activity). */
export interface OrgActivityView {
  readonly history: OrgHistory | null;
  readonly windows: MemoryWindows | null;
  /** Accounts stored. */
  readonly rows: Readonly<Record<string, number>>;
}

/** Per-organisation memory (see the module comment). */
export class OrgActivity extends MemoryObject {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, { version: LAYOUT, tables: ['meta', 'accounts'], schema: SCHEMA });
  }

  /** Records checks of the organisation's accounts (one, or an isolate's batch); answers the summary as of the newest check. */
  async record(observations: readonly OrgObservation[], windows: MemoryWindows): Promise<OrgHistory> {
    this.ensureSchema();
    const history = this.ctx.storage.transactionSync(() => {
      for (const obs of observations) this.#apply(obs, windows);
      return this.#summary(windows);
    });
    await this.ensureAlarm(retentionOf(windows));
    return history;
  }

  /** The summary as of the newest check, with the accounts that showed restricted evidence. */
  view(): OrgActivityView {
    if (!this.exists()) return { history: null, windows: null, rows: { accounts: 0 } };
    const windows = this.meta<MemoryWindows>('windows');
    const rows = { accounts: Number(this.one('SELECT count(*) AS n FROM accounts')?.n ?? 0) };
    return { history: windows ? this.#summary(windows) : null, windows: windows ?? null, rows };
  }

  /** Forgets the organisation entirely. */
  async reset(): Promise<void> {
    await this.wipe();
  }

  #apply(obs: OrgObservation, windows: MemoryWindows): void {
    const at = obs.at;
    const asOf = Math.max(this.meta<number>('asOf') ?? at, at);
    // A check that names no account counts no account: it only reads the summary.
    if (obs.accountId !== undefined) {
      // Restricted places by the last instant the account showed evidence for them (a handful at
      // most: they are the policy's restricted countries and regions), pruned to the window.
      const row = this.one('SELECT places FROM accounts WHERE id = ?', obs.accountId);
      const places = row === undefined ? {} : (JSON.parse(sqlText(row.places)) as Record<string, number>);
      for (const p of obs.places) places[p] = Math.max(places[p] ?? 0, at);
      for (const [p, last] of Object.entries(places)) if (last < asOf - windows.orgMs) delete places[p];
      this.sql.exec(
        `INSERT INTO accounts VALUES (?, ?, ?, 1, ?) ON CONFLICT (id) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), n = n + 1, places = excluded.places`,
        obs.accountId,
        at,
        at,
        JSON.stringify(places),
      );
    }
    this.sql.exec('DELETE FROM accounts WHERE last_seen < ?', asOf - windows.orgMs);
    const count = Number(this.one('SELECT count(*) AS n FROM accounts')?.n ?? 0);
    if (count > ORG_ACCOUNT_CAP) {
      this.sql.exec('DELETE FROM accounts WHERE id IN (SELECT id FROM accounts ORDER BY last_seen ASC LIMIT ?)', count - ORG_ACCOUNT_CAP);
      this.setMeta('truncated', true);
    }
    this.setMeta('asOf', asOf);
    this.setMeta('windows', windows);
    this.setMeta('touched', Date.now());
    this.setMeta('retention', retentionOf(windows));
  }

  #summary(windows: MemoryWindows): OrgHistory {
    const asOf = this.meta<number>('asOf') ?? 0;
    const since = asOf - windows.orgMs;
    const active = Number(this.one('SELECT count(*) AS n FROM accounts WHERE last_seen >= ?', since)?.n ?? 0);
    // Restricted: active, with evidence within the window for a place the policy restricts NOW.
    const restricted = `SELECT a.id AS id, (SELECT max(p.value) FROM json_each(a.places) p WHERE p.value >= ? AND p.key IN (SELECT value FROM json_each(?))) AS r FROM accounts a WHERE a.last_seen >= ?`;
    const places = JSON.stringify(windows.restrictedPlaces);
    const count = Number(this.one(`SELECT count(*) AS n FROM (${restricted}) WHERE r IS NOT NULL`, since, places, since)?.n ?? 0);
    const sample = [...this.sql.exec(`SELECT id FROM (${restricted}) WHERE r IS NOT NULL ORDER BY r DESC LIMIT ?`, since, places, since, SAMPLE)].map((row) => sqlText(row.id));
    return { kind: 'org', asOf, windowMs: windows.orgMs, activeAccounts: active, restrictedAccounts: count, restrictedSample: sample, truncated: this.meta<boolean>('truncated') ?? false };
  }

}

/** How long an idle organisation is kept: its window, and a day to spare. */
function retentionOf(w: MemoryWindows): number {
  return w.orgMs + 86_400_000;
}
