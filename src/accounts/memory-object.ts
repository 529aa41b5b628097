// What the account and organisation objects share: their tables, created on first record (and
// started afresh when an earlier layout made them), their meta values, and the idle wipe.
import { DurableObject } from 'cloudflare:workers';
import { ensureLayout, sqlText, type SqlRow } from './sql';

/** An object's tables: their layout version (bump it with any change), names and DDL. */
export interface MemoryLayout {
  readonly version: number;
  readonly tables: readonly string[];
  readonly schema: string;
}

/**
 * A memory object on SQLite. Its meta table holds JSON values, among them `touched` (the object's
 * clock at its last record) and `retention` (how long it is kept idle), which the alarm reads.
 */
export abstract class MemoryObject extends DurableObject<Env> {
  protected readonly sql: SqlStorage;
  readonly #layout: MemoryLayout;
  #ready = false;
  #alarmSet = false;

  constructor(ctx: DurableObjectState, env: Env, layout: MemoryLayout) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.#layout = layout;
  }

  /**
   * Creates the tables on first write. Not in the constructor: a GET of an id never recorded (or
   * just reset) must not leave an empty object behind that no alarm would ever wipe.
   */
  protected ensureSchema(): void {
    if (this.#ready) return;
    ensureLayout(this.sql, this.#layout.version, this.#layout.tables, this.#layout.schema);
    this.#ready = true;
  }

  /** Whether anything was ever recorded (the tables exist, in this layout: an older one is started afresh). */
  protected exists(): boolean {
    if (this.#ready) return true;
    if (this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length === 0) return false;
    this.ensureSchema();
    return true;
  }

  /** Forgets everything the object holds, its alarm included. */
  protected async wipe(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#alarmSet = false;
    this.#ready = false;
  }

  /** Sets the idle alarm, once per object life: `retention` from now. */
  protected async ensureAlarm(retention: number): Promise<void> {
    if (this.#alarmSet) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + retention);
    this.#alarmSet = true;
  }

  /** Wipes an object idle for its `retention`; otherwise waits for that moment. */
  override async alarm(): Promise<void> {
    if (!this.exists()) return;
    const touched = this.meta<number>('touched') ?? 0;
    const retention = this.meta<number>('retention') ?? 0;
    this.#alarmSet = false;
    if (Date.now() >= touched + retention) {
      await this.wipe();
      return;
    }
    await this.ctx.storage.setAlarm(touched + retention);
    this.#alarmSet = true;
  }

  /** The first row of a query. */
  protected one(query: string, ...params: SqlStorageValue[]): SqlRow | undefined {
    return this.sql.exec(query, ...params).toArray()[0];
  }

  /** A meta value. */
  protected meta<T>(k: string): T | undefined {
    const row = this.one('SELECT v FROM meta WHERE k = ?', k);
    return row === undefined ? undefined : (JSON.parse(sqlText(row.v)) as T);
  }

  protected setMeta(k: string, v: unknown): void {
    this.sql.exec('INSERT INTO meta VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', k, JSON.stringify(v));
  }
}
